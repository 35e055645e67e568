package training

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/maruel/safetensors"
)

// NamedTensor is one tensor of a checkpoint.
//
// DType is one of "F32", "F64", "I32", "I64", "U64" and Data is the slice
// type that matches it: []float32, []float64, []int32, []int64 or []uint64,
// holding the elements in row-major (C) order. Shape may be empty for a
// scalar (one element); a dimension of 0 gives an empty tensor.
type NamedTensor struct {
	Name  string
	DType string
	Shape []int
	Data  any
}

// SaveCheckpoint writes tensors and metadata to path in the safetensors
// format (little-endian, tensors in the given order).
//
// The file is replaced atomically: the data goes to a temporary file in the
// same directory, which is fsynced and then renamed over path, so a crash
// or a failed write leaves any previous checkpoint at path intact. At least
// one tensor is required (safetensors readers reject files without
// tensors); names must be unique, non-empty and not "__metadata__".
func SaveCheckpoint(path string, tensors []NamedTensor, metadata map[string]string) error {
	file, err := toSafetensors(tensors, metadata)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	return writeFileAtomic(path, file.Serialize)
}

// toSafetensors validates tensors and converts them to the library's form.
func toSafetensors(tensors []NamedTensor, metadata map[string]string) (*safetensors.File, error) {
	if len(tensors) == 0 {
		return nil, errors.New("no tensors")
	}
	file := &safetensors.File{
		Tensors:  make([]safetensors.Tensor, len(tensors)),
		Metadata: metadata,
	}
	seen := make(map[string]bool, len(tensors))
	for i, t := range tensors {
		if t.Name == "" {
			return nil, fmt.Errorf("tensor #%d has no name", i)
		}
		if t.Name == "__metadata__" {
			return nil, fmt.Errorf("tensor #%d: the name %q is reserved", i, t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		st, err := encodeTensor(t)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		file.Tensors[i] = st
	}
	return file, nil
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint (or any
// safetensors file whose tensors all have a supported dtype). Tensors come
// back in file order, each with a freshly allocated Data slice, and
// metadata is never nil. A corrupt or truncated file gives an error naming
// the file.
func LoadCheckpoint(path string) ([]NamedTensor, map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load checkpoint: %w", err)
	}
	tensors, metadata, err := decodeCheckpoint(data)
	if err != nil {
		return nil, nil, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	return tensors, metadata, nil
}

// decodeCheckpoint parses a whole safetensors file held in memory.
func decodeCheckpoint(data []byte) (tensors []NamedTensor, metadata map[string]string, err error) {
	file, err := parseSafetensors(data)
	if err != nil {
		return nil, nil, err
	}
	if len(file.Tensors) == 0 {
		return nil, nil, errors.New("no tensors")
	}
	tensors = make([]NamedTensor, len(file.Tensors))
	seen := make(map[string]bool, len(file.Tensors))
	for i, st := range file.Tensors {
		if seen[st.Name] {
			return nil, nil, fmt.Errorf("duplicate tensor name %q", st.Name)
		}
		seen[st.Name] = true
		t, err := decodeTensor(st)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", st.Name, err)
		}
		tensors[i] = t
	}
	metadata = make(map[string]string, len(file.Metadata))
	for k, v := range file.Metadata {
		metadata[k] = v
	}
	return tensors, metadata, nil
}

// parseSafetensors runs the library parser, turning any panic on malformed
// input into an error.
func parseSafetensors(data []byte) (file *safetensors.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			file, err = nil, fmt.Errorf("malformed safetensors data: %v", r)
		}
	}()
	file, err = safetensors.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("malformed safetensors data: %w", err)
	}
	return file, nil
}

// dtypeSize returns the bytes per element of a supported dtype, or 0.
func dtypeSize(dtype string) int {
	switch dtype {
	case "F32", "I32":
		return 4
	case "F64", "I64", "U64":
		return 8
	}
	return 0
}

// shapeElements returns the product of shape, checking for negative
// dimensions and overflow.
func shapeElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("shape %v overflows", shape)
		}
		n *= d
	}
	return n, nil
}

// encodeTensor converts t to the library's little-endian byte form.
func encodeTensor(t NamedTensor) (safetensors.Tensor, error) {
	size := dtypeSize(t.DType)
	if size == 0 {
		return safetensors.Tensor{}, fmt.Errorf("unsupported dtype %q (want F32, F64, I32, I64 or U64)", t.DType)
	}
	n, err := shapeElements(t.Shape)
	if err != nil {
		return safetensors.Tensor{}, err
	}
	length, ok := dataLen(t.DType, t.Data)
	if !ok {
		return safetensors.Tensor{}, fmt.Errorf("dtype %s needs Data of type %s, got %T", t.DType, dtypeGoType(t.DType), t.Data)
	}
	if length != n {
		return safetensors.Tensor{}, fmt.Errorf("shape %v has %d elements but Data has %d", t.Shape, n, length)
	}
	if n > math.MaxInt/size {
		return safetensors.Tensor{}, fmt.Errorf("shape %v is too large", t.Shape)
	}
	buf := make([]byte, n*size)
	le := binary.LittleEndian
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			le.PutUint32(buf[4*i:], math.Float32bits(v))
		}
	case []float64:
		for i, v := range d {
			le.PutUint64(buf[8*i:], math.Float64bits(v))
		}
	case []int32:
		for i, v := range d {
			le.PutUint32(buf[4*i:], uint32(v))
		}
	case []int64:
		for i, v := range d {
			le.PutUint64(buf[8*i:], uint64(v))
		}
	case []uint64:
		for i, v := range d {
			le.PutUint64(buf[8*i:], v)
		}
	}
	shape := make([]uint64, len(t.Shape)) // never nil: nil would encode as "shape":null
	for i, d := range t.Shape {
		shape[i] = uint64(d)
	}
	return safetensors.Tensor{
		Name:  t.Name,
		DType: safetensors.DType(t.DType),
		Shape: shape,
		Data:  buf,
	}, nil
}

// dtypeGoType names the Go slice type that holds a dtype's elements.
func dtypeGoType(dtype string) string {
	switch dtype {
	case "F32":
		return "[]float32"
	case "F64":
		return "[]float64"
	case "I32":
		return "[]int32"
	case "I64":
		return "[]int64"
	case "U64":
		return "[]uint64"
	}
	return "unknown"
}

// dataLen returns the length of data if its type matches dtype.
func dataLen(dtype string, data any) (int, bool) {
	var n int
	var ok bool
	switch dtype {
	case "F32":
		var d []float32
		d, ok = data.([]float32)
		n = len(d)
	case "F64":
		var d []float64
		d, ok = data.([]float64)
		n = len(d)
	case "I32":
		var d []int32
		d, ok = data.([]int32)
		n = len(d)
	case "I64":
		var d []int64
		d, ok = data.([]int64)
		n = len(d)
	case "U64":
		var d []uint64
		d, ok = data.([]uint64)
		n = len(d)
	}
	return n, ok
}

// decodeTensor converts a parsed tensor to a NamedTensor with its own data.
func decodeTensor(st safetensors.Tensor) (NamedTensor, error) {
	dtype := string(st.DType)
	size := dtypeSize(dtype)
	if size == 0 {
		return NamedTensor{}, fmt.Errorf("unsupported dtype %q", dtype)
	}
	shape := make([]int, len(st.Shape))
	for i, d := range st.Shape {
		if d > uint64(math.MaxInt) {
			return NamedTensor{}, fmt.Errorf("dimension %d too large", d)
		}
		shape[i] = int(d)
	}
	n, err := shapeElements(shape)
	if err != nil {
		return NamedTensor{}, err
	}
	if len(st.Data)%size != 0 || len(st.Data)/size != n {
		return NamedTensor{}, fmt.Errorf("shape %v needs %d bytes of %s, file has %d", shape, n*size, dtype, len(st.Data))
	}
	le := binary.LittleEndian
	b := st.Data
	var data any
	switch dtype {
	case "F32":
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		data = d
	case "F64":
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		data = d
	case "I32":
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(le.Uint32(b[4*i:]))
		}
		data = d
	case "I64":
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(le.Uint64(b[8*i:]))
		}
		data = d
	case "U64":
		d := make([]uint64, n)
		for i := range d {
			d[i] = le.Uint64(b[8*i:])
		}
		data = d
	}
	return NamedTensor{Name: st.Name, DType: dtype, Shape: shape, Data: data}, nil
}
