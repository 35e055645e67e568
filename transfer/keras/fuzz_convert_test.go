package keras

import (
	"encoding/binary"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"fovea/graph"
	"fovea/training"
)

// transpose permutes the axes of a row-major array as numpy.transpose(a, perm) does: an independent
// account of the kernel layouts (depthwise: transpose (2, 3, 0, 1), then a reshape that keeps the order).
func transpose(src []float32, shape, perm []int) []float32 {
	strides := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	dst := make([]float32, 0, len(src))
	idx := make([]int, len(shape)) // index into the destination, whose axis k is source axis perm[k]
	for range src {
		off := 0
		for k, p := range perm {
			off += idx[k] * strides[p]
		}
		dst = append(dst, src[off])
		for k := len(perm) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < shape[perm[k]] {
				break
			}
			idx[k] = 0
		}
	}
	return dst
}

// FuzzConvertRoundTrip fuzzes what fovea writes itself. Keras weights of fuzzed shapes and values (any
// float32 bits, NaNs included) for a Conv2D, BatchNormalization, DepthwiseConv2D, SeparableConv2D and
// Dense layer are converted onto matching parameters and written as safetensors: each converted kernel
// must be the Keras kernel transposed as numpy would, and reading the file back must give every tensor
// and the metadata bit for bit.
func FuzzConvertRoundTrip(f *testing.F) {
	f.Add([]byte{2, 3, 1, 4, 2, 0, 0, 0x80, 0x3f, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3})
	f.Add([]byte{0, 0, 0, 0, 0, 0x01, 0x00, 0xc0, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 9 {
			return
		}
		kh, kw, in, out, mult := 1+int(b[0])%3, 1+int(b[1])%3, 1+int(b[2])%4, 1+int(b[3])%4, 1+int(b[4])%3
		raw := b[5:]
		next := 0
		values := func(shape ...int) []float32 {
			n := 1
			for _, d := range shape {
				n *= d
			}
			v := make([]float32, n)
			var w [4]byte
			for i := range v {
				for j := range w {
					w[j] = raw[next%len(raw)]
					next++
				}
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(w[:]))
			}
			return v
		}
		weight := func(name string, shape ...int) Weight {
			return Weight{Name: name, Shape: shape, Data: values(shape...)}
		}
		file := &File{Path: "fuzz.h5", SHA256: "00", Layout: SaveWeights, KerasVersion: "2.4.0", Layers: []Layer{
			{Name: "input_1"},
			{Name: "conv", Weights: []Weight{weight("conv/kernel:0", kh, kw, in, out), weight("conv/bias:0", out)}},
			{Name: "bn", Weights: []Weight{weight("bn/gamma:0", out), weight("bn/beta:0", out),
				weight("bn/moving_mean:0", out), weight("bn/moving_variance:0", out)}},
			{Name: "dw", Weights: []Weight{weight("dw/depthwise_kernel:0", kh, kw, out, mult), weight("dw/bias:0", out*mult)}},
			{Name: "sep", Weights: []Weight{weight("sep/depthwise_kernel:0", kh, kw, out*mult, 1), weight("sep/pointwise_kernel:0", 1, 1, out*mult, in)}},
			{Name: "dense", Weights: []Weight{weight("dense/kernel:0", in, out), weight("dense/bias:0", out)}},
		}}
		// The expected fovea tensors, in the parameters' order, by numpy-style transposes.
		type want struct {
			name  string
			shape []int
			data  []float32
		}
		var wants []want
		for _, l := range file.Layers {
			for _, w := range l.Weights {
				shape, data := w.Shape, w.Data
				switch kind := w.Kind(); {
				case kind == "kernel" && len(shape) == 4, kind == "pointwise_kernel":
					data, shape = transpose(data, shape, []int{3, 2, 0, 1}), []int{shape[3], shape[2], shape[0], shape[1]}
				case kind == "depthwise_kernel":
					data, shape = transpose(data, shape, []int{2, 3, 0, 1}), []int{shape[2] * shape[3], 1, shape[0], shape[1]}
				}
				wants = append(wants, want{l.Name + "/" + w.Kind(), shape, data})
			}
		}
		params := graph.NewParams()
		for _, w := range wants {
			if err := params.Add(&graph.Param{Name: w.name, Value: tensor.New(tensor.WithShape(w.shape...), tensor.Of(tensor.Float32))}); err != nil {
				t.Fatal(err)
			}
		}
		tensors, meta, err := Convert(file, params, Options{Model: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "w.safetensors")
		if err := training.SaveCheckpoint(path, tensors, meta); err != nil {
			t.Fatal(err)
		}
		back, meta2, err := training.LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(meta, meta2) || len(back) != len(wants) {
			t.Fatalf("metadata %v read back as %v; %d tensors read back, want %d", meta, meta2, len(back), len(wants))
		}
		bits := func(v []float32) []uint32 {
			out := make([]uint32, len(v))
			for i, x := range v {
				out[i] = math.Float32bits(x)
			}
			return out
		}
		for i, w := range wants {
			for _, got := range []training.NamedTensor{tensors[i], back[i]} {
				data, ok := got.Data.([]float32)
				if got.Name != w.name || got.DType != "F32" || !ok || !slices.Equal(got.Shape, w.shape) || !slices.Equal(bits(data), bits(w.data)) {
					t.Fatalf("%s: got %s %s %v, want %v %v", w.name, got.Name, got.DType, got.Shape, w.shape, w.data)
				}
			}
		}
	})
}
