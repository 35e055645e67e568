package keras

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/scigolib/hdf5"
)

// h5attr is an attribute as the library parsed it (its datatype, dimensions and raw bytes); fovea decodes
// the values itself, because the library allocates from the claimed element count before checking it
// and trusts the sizes in the global heap.
type h5attr struct {
	class     uint8
	size      uint32
	classBits uint32
	dims      []uint64
	data      []byte
}

// HDF5 datatype classes.
const (
	classFloat  = 1
	classString = 3
	classVarLen = 9
)

// attributes returns the attributes of the library's group g by name.
func attributes(g *hdf5.Group, path string) (map[string]h5attr, error) {
	out := map[string]h5attr{}
	err := safely("reading the attributes of "+path, func() error {
		list, err := g.Attributes()
		if err != nil {
			return fmt.Errorf("%w: attributes of %s: %v", ErrCorrupt, path, err)
		}
		for _, a := range list {
			if a == nil || a.Datatype == nil || a.Dataspace == nil {
				continue
			}
			out[a.Name] = h5attr{
				class: uint8(a.Datatype.Class), size: a.Datatype.Size, classBits: a.Datatype.ClassBitField,
				dims: a.Dataspace.Dimensions, data: a.Data,
			}
		}
		return nil
	})
	return out, err
}

// strings decodes a string attribute (a scalar or a one-dimensional array) of fixed-length strings,
// padded with NULs or spaces as h5py writes numpy bytes, or of variable-length strings kept in the global
// heap. An empty array of any type (Keras writes an empty float64 array for a layer without weights) is
// an empty list.
func (c *h5check) strings(a h5attr, what string) ([]string, error) {
	n := uint64(1)
	for _, d := range a.dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return nil, fmt.Errorf("%w: attribute %s has dimensions %v", ErrCorrupt, what, a.dims)
		}
		n = lo
	}
	if n == 0 {
		return nil, nil
	}
	switch {
	case a.class == classString && a.size > 0:
		if n > uint64(len(a.data))/uint64(a.size) {
			return nil, fmt.Errorf("%w: attribute %s: %d strings of %d bytes in %d bytes", ErrCorrupt, what, n, a.size, len(a.data))
		}
		out := make([]string, n)
		for i := range out {
			s := string(a.data[uint64(i)*uint64(a.size) : uint64(i+1)*uint64(a.size)])
			if a.classBits&0x0F == 2 { // space-padded
				s = strings.TrimRight(s, " ")
			} else if j := strings.IndexByte(s, 0); j >= 0 { // NUL-terminated or NUL-padded
				s = s[:j]
			}
			out[i] = s
		}
		return out, nil
	case a.class == classVarLen && a.classBits&0x0F == 1:
		const ref = 16 // length (4), collection address (8), object index (4)
		if n > uint64(len(a.data))/ref {
			return nil, fmt.Errorf("%w: attribute %s: %d strings in %d bytes", ErrCorrupt, what, n, len(a.data))
		}
		out := make([]string, n)
		heaps := map[uint64]map[uint64][]byte{}
		for i := range out {
			r := a.data[uint64(i)*ref:]
			length, addr, index := le32(r), le64(r[4:]), le32(r[12:])
			if addr == 0 && length == 0 {
				continue
			}
			objects, ok := heaps[addr]
			if !ok {
				var err error
				if objects, err = c.globalHeap(addr, what); err != nil {
					return nil, err
				}
				heaps[addr] = objects
			}
			obj, ok := objects[index]
			if !ok || length > uint64(len(obj)) {
				return nil, fmt.Errorf("%w: attribute %s: string %d not in the global heap", ErrCorrupt, what, i)
			}
			out[i] = strings.TrimRight(string(obj[:length]), "\x00")
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: attribute %s is not a string array (HDF5 type class %d)", ErrNotKeras, what, a.class)
}

// globalHeap reads the global heap collection at addr and returns its objects by index.
func (c *h5check) globalHeap(addr uint64, what string) (map[uint64][]byte, error) {
	h, err := c.read(addr, 16, "global heap for attribute "+what)
	if err != nil {
		return nil, err
	}
	if string(h[:4]) != "GCOL" || h[4] != 1 {
		return nil, fmt.Errorf("%w: attribute %s: no global heap at byte %d", ErrCorrupt, what, addr)
	}
	size := le64(h[8:])
	if size < 16 {
		return nil, fmt.Errorf("%w: attribute %s: global heap of %d bytes", ErrCorrupt, what, size)
	}
	b, err := c.read(addr, size, "global heap for attribute "+what)
	if err != nil {
		return nil, err
	}
	objects := map[uint64][]byte{}
	for off := uint64(16); off+16 <= size; {
		index, n := le16(b[off:]), le64(b[off+8:])
		if index == 0 { // free space: the rest of the collection
			break
		}
		start := off + 16
		if n > size-start {
			return nil, fmt.Errorf("%w: attribute %s: global heap object of %d bytes overruns its collection", ErrCorrupt, what, n)
		}
		objects[index] = b[start : start+n]
		off = start + (n+7)&^7
	}
	return objects, nil
}
