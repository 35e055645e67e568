package keras

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// squeezeNetChecksums are SHA-256 sums of the float32 little-endian bytes of some weights of the real
// SqueezeNet file, computed once with h5py:
//
//	d = h5py.File(path)[layer][weight][()]; hashlib.sha256(np.ascontiguousarray(d, "<f4").tobytes()).hexdigest()
var squeezeNetChecksums = []struct {
	layer, weight string
	shape         []int
	sha256        string
}{
	{"conv1", "conv1_3/kernel:0", []int{3, 3, 3, 64}, "6f7c7eed95c1c77b0920a38a89f4fa2be4825ad98ea2880cef2b1d13e49068a2"},
	{"conv1", "conv1_3/bias:0", []int{64}, "4e8caa91adeec65565c160c5a3ef3cbfbd002ae24e1debd3b1b6ad3c9e624738"},
	{"fire2/squeeze1x1", "fire2/squeeze1x1_3/kernel:0", []int{1, 1, 64, 16}, "bda7798a24f2a25d39e586082285cdb32d012d4727e3fc68b5cf0a64fb72cc9d"},
	{"fire2/squeeze1x1", "fire2/squeeze1x1_3/bias:0", []int{16}, "b38cfdd1c6cd695186eaf84a84d8fcafab76e83ece87df9c4af81e55db41583e"},
	{"fire5/expand3x3", "fire5/expand3x3_3/kernel:0", []int{3, 3, 32, 128}, "c166f2cf2191832764877158253e926348148ad5302d36428ec6dab77e615a90"},
	{"fire9/expand3x3", "fire9/expand3x3_1/kernel:0", []int{3, 3, 64, 256}, "4f3e451e5c6d835c580b002959154df9a2b14051bbe2a46bce2f749e2c540a87"},
	{"fire9/expand3x3", "fire9/expand3x3_1/bias:0", []int{256}, "14980bca66efb7a3bf97b78085f36a8ccf122815659bad6f354282fd945e52ba"},
}

// findWeight returns the weight of f by layer and weight name.
func findWeight(f *File, layer, weight string) (Weight, bool) {
	for _, l := range f.Layers {
		if l.Name != layer {
			continue
		}
		for _, w := range l.Weights {
			if w.Name == weight {
				return w, true
			}
		}
	}
	return Weight{}, false
}

func TestReadSqueezeNet(t *testing.T) {
	path := realSqueezeNet(t)
	f, err := ReadWeights(path)
	if err != nil {
		t.Fatal(err)
	}
	// From the file's PROVENANCE.txt: 62 layers, 25 with weights (a kernel and a bias each), 722,496
	// values, sha256 2d935d8c…, Keras 2.0.0 on TensorFlow.
	values := 0
	for _, l := range f.WeightLayers() {
		if len(l.Weights) != 2 || l.Weights[0].Kind() != "kernel" || l.Weights[1].Kind() != "bias" {
			t.Errorf("layer %s: weights %v", l.Name, l.Weights)
		}
		for _, w := range l.Weights {
			values += len(w.Data)
		}
	}
	if len(f.Layers) != 62 || len(f.WeightLayers()) != 25 || values != 722496 {
		t.Errorf("%d layers, %d with weights, %d values; want 62, 25, 722496", len(f.Layers), len(f.WeightLayers()), values)
	}
	if f.Layout != SaveWeights || f.KerasVersion != "2.0.0" || f.Backend != "tensorflow" ||
		f.SHA256 != "2d935d8c102ad1232484a77da8e6fbdf3ff4ab608974a0d8b6283115ffff204f" {
		t.Errorf("layout %q, keras %q, backend %q, sha256 %s", f.Layout, f.KerasVersion, f.Backend, f.SHA256)
	}
	if f.Layers[0].Name != "input_4" || f.Layers[4].Name != "fire2/squeeze1x1" || f.Layers[61].Name != "fire9/concat" {
		t.Errorf("layer names: %s, %s, %s", f.Layers[0].Name, f.Layers[4].Name, f.Layers[61].Name)
	}
	for _, c := range squeezeNetChecksums {
		w, ok := findWeight(f, c.layer, c.weight)
		if !ok {
			t.Errorf("%s %s missing", c.layer, c.weight)
			continue
		}
		if !slices.Equal(w.Shape, c.shape) || sha32(w.Data) != c.sha256 {
			t.Errorf("%s %s: shape %v sha256 %s, want %v %s", c.layer, c.weight, w.Shape, sha32(w.Data), c.shape, c.sha256)
		}
	}
}

// TestReadSqueezeNetAgainstH5py compares every weight of the real file, bit for bit, with what h5py reads.
func TestReadSqueezeNetAgainstH5py(t *testing.T) {
	path := realSqueezeNet(t)
	needH5py(t)
	script := `
import sys, hashlib, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
for ln in f.attrs["layer_names"]:
    g = f[ln]
    for wn in g.attrs["weight_names"]:
        d = np.ascontiguousarray(g[wn][()], "<f4")
        print(ln.decode(), wn.decode(), "x".join(map(str, d.shape)), hashlib.sha256(d.tobytes()).hexdigest())
`
	out, err := exec.Command(h5py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
	f, err := ReadWeights(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range f.Layers {
		for _, w := range l.Weights {
			shape := strings.Trim(strings.ReplaceAll(fmt.Sprint(w.Shape), " ", "x"), "[]")
			got = append(got, fmt.Sprintf("%s %s %s %s", l.Name, w.Name, shape, sha32(w.Data)))
		}
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(want) != 50 {
		t.Fatalf("h5py lists %d weights, want 50", len(want))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("fovea reads\n%s\nh5py reads\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadSynthetic reads files written by h5py in both layouts, with "/" in layer names, layers
// without weights, gzip+shuffle chunked datasets, variable-length string attributes and attributes
// split into name0, name1, … as Keras does for large ones, and compares every weight bit for bit.
func TestReadSynthetic(t *testing.T) {
	dir, m := syntheticFiles(t)
	for _, name := range []string{"small_weights.h5", "small_gzip.h5", "nested.h5", "separable.h5", "chunked_attrs.h5", "small_model.h5"} {
		t.Run(name, func(t *testing.T) {
			want := m[name]
			f, err := ReadWeights(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if string(f.Layout) != want.Layout || f.KerasVersion != want.KerasVersion || f.Backend != want.Backend {
				t.Errorf("layout %q keras %q backend %q, want %q %q %q", f.Layout, f.KerasVersion, f.Backend, want.Layout, want.KerasVersion, want.Backend)
			}
			if len(f.Layers) != len(want.Layers) {
				t.Fatalf("%d layers, want %d", len(f.Layers), len(want.Layers))
			}
			for i, wl := range want.Layers {
				l := f.Layers[i]
				if l.Name != wl.Name || len(l.Weights) != len(wl.Weights) {
					t.Errorf("layer %d: %s with %d weights, want %s with %d", i, l.Name, len(l.Weights), wl.Name, len(wl.Weights))
					continue
				}
				for j, ww := range wl.Weights {
					w := l.Weights[j]
					if w.Name != ww.Name || !slices.Equal(w.Shape, ww.Shape) || sha32(w.Data) != ww.SHA256 {
						t.Errorf("%s: %s %v %s, want %s %v %s", l.Name, w.Name, w.Shape, sha32(w.Data), ww.Name, ww.Shape, ww.SHA256)
					}
					if float64(w.Data[0]) != ww.First[0] {
						t.Errorf("%s: first value %v, want %v", w.Name, w.Data[0], ww.First[0])
					}
				}
			}
		})
	}
}

// TestReadErrors checks the errors for files that are not Keras weights or lack what they list.
func TestReadErrors(t *testing.T) {
	dir, _ := syntheticFiles(t)
	writeFile := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		mustWrite(t, p, b)
		return p
	}
	tests := []struct {
		name, path string
		want       error
		text       string
	}{
		{"missing weight", filepath.Join(dir, "missing_weight.h5"), ErrMissing, `layer "dense" lists weight "dense/bias:0" but the file has no dataset /dense/dense/bias:0`},
		{"no layer_names", filepath.Join(dir, "not_keras.h5"), ErrNotKeras, "no layer_names attribute"},
		{"not HDF5", writeFile("text.h5", []byte("version https://git-lfs.github.com/spec/v1\n")), ErrNotHDF5, "HDF5 signature"},
		{"empty", writeFile("empty.h5", nil), ErrNotHDF5, "0 bytes"},
		{"no such file", filepath.Join(dir, "absent.h5"), nil, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadWeights(tc.path)
			if err == nil {
				t.Fatal("no error")
			}
			if (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("error %q, want %v mentioning %q and the file", err, tc.want, tc.text)
			}
		})
	}
}

// TestReadLatestFormat checks that a file written with h5py's libver="latest", which the HDF5 library
// cannot read reliably, is refused with an error that says so rather than read with layers missing.
func TestReadLatestFormat(t *testing.T) {
	needH5py(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "latest.h5")
	script := `
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w", libver="latest") as f:
    names = ["layer_%d" % i for i in range(6)]
    f.attrs["layer_names"] = np.asarray([n.encode() for n in names])
    for n in names:
        g = f.create_group(n)
        g.attrs["weight_names"] = np.asarray([(n + "/kernel:0").encode()])
        g.create_dataset(n + "/kernel:0", data=np.ones((20, 30), np.float32))
`
	if out, err := exec.Command(h5py, "-c", script, path).CombinedOutput(); err != nil {
		t.Fatalf("h5py: %v\n%s", err, out)
	}
	_, err := ReadWeights(path)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "libver='latest'") {
		t.Fatalf("error %v, want ErrUnsupported naming libver='latest'", err)
	}
}
