package keras

import (
	"fmt"
	"testing"

	"github.com/scigolib/hdf5"
)

func TestExplore(t *testing.T) {
	f, err := hdf5.Open("/work/shared/data/keras-weights/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Println("sb", f.SuperblockVersion())
	attrs, err := f.Root().Attributes()
	fmt.Println(err)
	for _, a := range attrs {
		v, err := a.ReadValue()
		fmt.Printf("root attr %s %T %v %v dt=%+v ds=%+v\n", a.Name, v, v, err, a.Datatype, a.Dataspace)
	}
	n := 0
	f.Walk(func(p string, o hdf5.Object) {
		n++
		if n > 12 {
			return
		}
		switch o := o.(type) {
		case *hdf5.Group:
			as, err := o.Attributes()
			fmt.Printf("G %q name=%q err=%v\n", p, o.Name(), err)
			for _, a := range as {
				v, err := a.ReadValue()
				fmt.Printf("   attr %s %T %q %v dt=%+v ds=%+v\n", a.Name, v, v, err, a.Datatype, a.Dataspace)
			}
		case *hdf5.Dataset:
			info, err := o.Info()
			fmt.Printf("D %q name=%q info=%q %v\n", p, o.Name(), info, err)
		}
	})
}
