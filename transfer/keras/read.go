package keras

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/scigolib/hdf5"
)

// Layout says where a Keras HDF5 file keeps its weights.
type Layout string

const (
	// SaveWeights is the layout of model.save_weights("x.h5"): layer groups at the root.
	SaveWeights Layout = "save_weights"
	// FullModel is the layout of model.save("x.h5"): layer groups under /model_weights, beside the
	// model's configuration and optimizer state.
	FullModel Layout = "model"
)

// File is a Keras weights file read into memory.
type File struct {
	Path   string // as given to ReadWeights
	SHA256 string // of the file's bytes, lowercase hex
	Layout Layout
	// KerasVersion and Backend are the file's keras_version and backend attributes ("" when absent).
	KerasVersion, Backend string
	// Layers in the file's order (its layer_names), including layers without weights.
	Layers []Layer
}

// Layer is one Keras layer and its weights in the file's order (its weight_names).
type Layer struct {
	Name    string
	Weights []Weight
}

// Weight is one weight array, in Keras' layout (channels last; convolution kernels are (kh, kw, in, out)).
type Weight struct {
	Name  string // as listed in weight_names, "conv1_3/kernel:0"
	Shape []int  // empty for a scalar
	Data  []float32
}

// Kind is the weight's role, the last element of its name without the ":0" suffix: "kernel", "bias",
// "depthwise_kernel", "pointwise_kernel", "gamma", "beta", "moving_mean" or "moving_variance".
func (w Weight) Kind() string {
	k := w.Name[strings.LastIndexByte(w.Name, '/')+1:]
	if i := strings.LastIndexByte(k, ':'); i >= 0 {
		k = k[:i]
	}
	return k
}

// WeightLayers returns the layers that have weights, in order: the layers that correspond to a model's
// parameterised layers.
func (f *File) WeightLayers() []Layer {
	var out []Layer
	for _, l := range f.Layers {
		if len(l.Weights) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// ReadWeights reads a Keras HDF5 weights file, in the save_weights or the full-model layout. Errors name
// the file and wrap ErrNotHDF5, ErrTruncated, ErrCorrupt, ErrTooLarge, ErrUnsupported, ErrNotKeras or
// ErrMissing. Weights are converted from the file's float32 (or float64) to float32.
func ReadWeights(path string) (*File, error) {
	f, err := readWeights(path)
	if err != nil {
		return nil, fmt.Errorf("read Keras weights %s: %w", path, err)
	}
	return f, nil
}

func readWeights(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(fh, 0, st.Size())); err != nil {
		return nil, err
	}
	check, err := checkHDF5(fh, st.Size())
	if err != nil {
		return nil, err
	}
	var lib *hdf5.File
	if err := safely("opening the file", func() error {
		var err error
		if lib, err = hdf5.Open(path); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	defer lib.Close()
	// The library opened the file again by name: make sure it is still the file fovea checked.
	if st2, err := os.Stat(path); err != nil || !os.SameFile(st, st2) || st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
		return nil, fmt.Errorf("the file changed while it was read")
	}
	r := &reader{check: check, objects: map[string]hdf5.Object{}}
	if err := safely("listing the file", func() error {
		lib.Walk(func(p string, o hdf5.Object) {
			if p != "/" {
				p = strings.TrimSuffix(p, "/")
			}
			r.objects[p] = o
		})
		return nil
	}); err != nil {
		return nil, err
	}
	// The library skips members it fails to load; fovea's check and the library must see the same tree.
	for _, p := range slices.Sorted(maps.Keys(check.objects)) {
		if r.objects[p] == nil {
			return nil, fmt.Errorf("%w: the HDF5 reader could not load %s", ErrUnsupported, p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(r.objects)) {
		if check.objects[p] == nil {
			return nil, fmt.Errorf("%w: the HDF5 reader found %s where fovea's check did not", ErrCorrupt, p)
		}
	}
	f := &File{Path: path, SHA256: hex.EncodeToString(h.Sum(nil))}
	if err := r.keras(f); err != nil {
		return nil, err
	}
	return f, nil
}

// safely runs fn, turning a panic in the HDF5 library into an error.
func safely(what string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: the HDF5 reader failed %s: %v", ErrCorrupt, what, p)
		}
	}()
	return fn()
}

// reader reads the Keras layout from a checked file through the library.
type reader struct {
	check   *h5check
	objects map[string]hdf5.Object // the library's objects by path
	decoded uint64                 // bytes of weights decoded so far
}

// group returns the library's group at path, checked by fovea too.
func (r *reader) group(path string) (*hdf5.Group, bool) {
	g, ok := r.objects[path].(*hdf5.Group)
	obj := r.check.objects[path]
	return g, ok && obj != nil && obj.group
}

// stringList reads a string-array attribute that Keras may have split into name0, name1, … because it
// was larger than an object header allows. It reports whether the attribute was there.
func (r *reader) stringList(attrs map[string]h5attr, name, where string) ([]string, bool, error) {
	if a, ok := attrs[name]; ok {
		s, err := r.check.strings(a, where+" "+name)
		return s, true, err
	}
	var out []string
	found := false
	for i := 0; ; i++ {
		key := name + strconv.Itoa(i)
		a, ok := attrs[key]
		if !ok {
			break
		}
		found = true
		s, err := r.check.strings(a, where+" "+key)
		if err != nil {
			return nil, true, err
		}
		out = append(out, s...)
	}
	return out, found, nil
}

// text reads an optional scalar string attribute such as keras_version.
func (r *reader) text(attrs map[string]h5attr, name, where string) (string, error) {
	a, ok := attrs[name]
	if !ok {
		return "", nil
	}
	s, err := r.check.strings(a, where+" "+name)
	if err != nil || len(s) == 0 {
		return "", err
	}
	return s[0], nil
}

// keras finds the weights (at the root or under /model_weights) and reads every listed layer and weight.
func (r *reader) keras(f *File) error {
	root, ok := r.group("/")
	if !ok {
		return fmt.Errorf("%w: no root group", ErrCorrupt)
	}
	rootAttrs, err := attributes(root, "/")
	if err != nil {
		return err
	}
	base, attrs := "/", rootAttrs
	f.Layout = SaveWeights
	names, found, err := r.stringList(attrs, "layer_names", "/")
	if err != nil {
		return err
	}
	if !found {
		g, ok := r.group("/model_weights")
		if !ok {
			return fmt.Errorf("%w: no layer_names attribute at the root and no /model_weights group", ErrNotKeras)
		}
		base, f.Layout = "/model_weights", FullModel
		if attrs, err = attributes(g, base); err != nil {
			return err
		}
		if names, found, err = r.stringList(attrs, "layer_names", base); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: /model_weights has no layer_names attribute", ErrNotKeras)
		}
	}
	for _, a := range []map[string]h5attr{attrs, rootAttrs} {
		if f.KerasVersion == "" {
			if f.KerasVersion, err = r.text(a, "keras_version", base); err != nil {
				return err
			}
		}
		if f.Backend == "" {
			if f.Backend, err = r.text(a, "backend", base); err != nil {
				return err
			}
		}
	}
	seen := map[string]bool{}
	for _, name := range names {
		if err := checkKerasName(name); err != nil {
			return fmt.Errorf("%w: layer_names: %v", ErrCorrupt, err)
		}
		if seen[name] {
			return fmt.Errorf("%w: layer %q is listed twice in layer_names", ErrCorrupt, name)
		}
		seen[name] = true
		l, err := r.layer(joinPath(base, name), name)
		if err != nil {
			return err
		}
		f.Layers = append(f.Layers, l)
	}
	return nil
}

// checkKerasName refuses layer and weight names that are not relative HDF5 paths.
func checkKerasName(name string) error {
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.ContainsRune(part, 0) {
			return fmt.Errorf("name %q is not a relative path", name)
		}
	}
	return nil
}

// layer reads the layer group at path and its weights.
func (r *reader) layer(path, name string) (Layer, error) {
	l := Layer{Name: name}
	g, ok := r.group(path)
	if !ok {
		return l, fmt.Errorf("%w: layer %q is in layer_names but the file has no group %s", ErrMissing, name, path)
	}
	attrs, err := attributes(g, path)
	if err != nil {
		return l, err
	}
	weights, found, err := r.stringList(attrs, "weight_names", path)
	if err != nil {
		return l, err
	}
	if !found {
		return l, fmt.Errorf("%w: layer group %s has no weight_names attribute", ErrNotKeras, path)
	}
	for _, wname := range weights {
		if err := checkKerasName(wname); err != nil {
			return l, fmt.Errorf("%w: weight_names of %s: %v", ErrCorrupt, path, err)
		}
		w, err := r.weight(path+"/"+wname, wname, name)
		if err != nil {
			return l, err
		}
		l.Weights = append(l.Weights, w)
	}
	return l, nil
}

// weight reads one weight dataset, after fovea's checks of its size and storage.
func (r *reader) weight(path, name, layer string) (Weight, error) {
	w := Weight{Name: name}
	ds, ok := r.objects[path].(*hdf5.Dataset)
	if !ok || r.check.objects[path] == nil || r.check.objects[path].group {
		return w, fmt.Errorf("%w: layer %q lists weight %q but the file has no dataset %s", ErrMissing, layer, name, path)
	}
	meta, err := r.check.dataset(path)
	if err != nil {
		return w, err
	}
	r.decoded += meta.raw
	if limit := maxExpansion*r.check.size + expansionSlack; r.decoded > limit {
		return w, fmt.Errorf("%w: the weights decode to more than %d bytes in a file of %d", ErrTooLarge, limit, r.check.size)
	}
	var values []float64
	err = safely("reading "+path, func() error {
		info, err := ds.Info()
		if err != nil {
			return fmt.Errorf("%w: dataset %s: %v", ErrCorrupt, path, err)
		}
		dims, err := infoShape(info)
		if err != nil || !slices.Equal(dims, meta.shape) {
			return fmt.Errorf("%w: dataset %s: the reader sees %q, fovea's check shape %v", ErrCorrupt, path, info, meta.shape)
		}
		if values, err = ds.Read(); err != nil {
			return fmt.Errorf("%w: dataset %s: %v", ErrCorrupt, path, err)
		}
		return nil
	})
	if err != nil {
		return w, err
	}
	if uint64(len(values)) != meta.elements {
		return w, fmt.Errorf("%w: dataset %s: read %d values, its shape %v holds %d", ErrCorrupt, path, len(values), meta.shape, meta.elements)
	}
	w.Shape = meta.shape
	w.Data = make([]float32, len(values))
	for i, v := range values {
		w.Data[i] = float32(v) // exact: the values are float32 widened by the library (or float64 narrowed)
	}
	return w, nil
}

// infoPattern matches the dataspace part of the library's Dataset.Info(), which is the library's only
// account of a dataset's shape: "Dataset: float (size=4 bytes), 4D array [3 3 3 64], contiguous (…)".
var infoPattern = regexp.MustCompile(`^Dataset: [^,]*, (scalar|1D array \[(\d+)\]|2D array \[(\d+) x (\d+)\]|\d+D array \[([\d ]+)\]),`)

// infoShape extracts the dimensions from Dataset.Info() (none for a scalar).
func infoShape(info string) ([]int, error) {
	m := infoPattern.FindStringSubmatch(info)
	if m == nil {
		return nil, fmt.Errorf("unrecognised dataset info %q", info)
	}
	var fields []string
	switch {
	case m[1] == "scalar":
	case m[2] != "":
		fields = []string{m[2]}
	case m[3] != "":
		fields = []string{m[3], m[4]}
	default:
		fields = strings.Fields(m[5])
	}
	dims := make([]int, len(fields))
	for i, s := range fields {
		d, err := strconv.Atoi(s)
		if err != nil {
			return nil, err
		}
		dims[i] = d
	}
	return dims, nil
}
