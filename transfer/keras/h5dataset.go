package keras

import (
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
)

// h5dataset is a dataset as fovea checked it before the library reads it.
type h5dataset struct {
	shape    []int  // empty for a scalar
	elements uint64 // product of shape
	raw      uint64 // bytes once decoded
}

// HDF5 data-layout classes and filter identifiers.
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2

	filterDeflate  = 1
	filterShuffle  = 2
	filterFletcher = 3
)

// dataset checks, before any read, that the dataset at path is float data whose storage lies inside the
// file and decodes to what its dataspace says: contiguous or compact storage of the right size, or
// chunks (indexed by a version-1 B-tree, as h5py writes them) that each inflate to at most one chunk.
func (c *h5check) dataset(path string) (*h5dataset, error) {
	obj := c.objects[path]
	if obj == nil || obj.group {
		return nil, fmt.Errorf("%w: no dataset %s", ErrMissing, path)
	}
	last := func(typ uint16) []byte {
		var d []byte
		for _, m := range obj.msgs {
			if m.typ == typ {
				d = m.data // the library takes the last message of each type
			}
		}
		return d
	}
	dtype, space, layout, filters := last(msgDatatype), last(msgDataspace), last(msgLayout), last(msgFilters)
	if dtype == nil || space == nil || layout == nil {
		return nil, fmt.Errorf("%w: dataset %s lacks its datatype, dataspace or layout", ErrCorrupt, path)
	}
	elemSize, err := floatType(dtype, path)
	if err != nil {
		return nil, err
	}
	ds := &h5dataset{}
	dims, err := dataspace(space, path)
	if err != nil {
		return nil, err
	}
	ds.elements = 1
	for _, d := range dims {
		hi, lo := bits.Mul64(ds.elements, d)
		if hi != 0 || lo > maxElements {
			return nil, fmt.Errorf("%w: dataset %s has shape %v, more than %d elements", ErrTooLarge, path, dims, uint64(maxElements))
		}
		ds.elements = lo
		ds.shape = append(ds.shape, int(d))
	}
	ds.raw = ds.elements * elemSize
	if limit := maxExpansion*c.size + expansionSlack; ds.raw > limit {
		return nil, fmt.Errorf("%w: dataset %s claims %d bytes in a file of %d", ErrTooLarge, path, ds.raw, c.size)
	}
	if len(layout) < 2 || (layout[0] != 3 && layout[0] != 4) {
		return nil, fmt.Errorf("%w: dataset %s has a data layout message of an unknown version", ErrUnsupported, path)
	}
	if filters != nil && layout[1] != layoutChunked {
		return nil, fmt.Errorf("%w: dataset %s has filters but is not chunked", ErrCorrupt, path)
	}
	switch layout[1] {
	case layoutCompact:
		if len(layout) < 4 || uint64(len(layout)) < 4+le16(layout[2:]) || le16(layout[2:]) < ds.raw {
			return nil, fmt.Errorf("%w: dataset %s: compact data shorter than its %d bytes", ErrCorrupt, path, ds.raw)
		}
	case layoutContiguous:
		if len(layout) < 18 {
			return nil, fmt.Errorf("%w: dataset %s: short layout message", ErrCorrupt, path)
		}
		if addr := le64(layout[2:]); ds.raw > 0 && (addr == undefAddr || addr > c.size || ds.raw > c.size-addr) {
			return nil, fmt.Errorf("%w: dataset %s: its %d bytes at byte %d lie beyond the end of the file (%d bytes)",
				ErrCorrupt, path, ds.raw, addr, c.size)
		}
	case layoutChunked:
		if layout[0] != 3 {
			return nil, fmt.Errorf("%w: dataset %s uses the HDF5 1.10 chunk index", ErrUnsupported, path)
		}
		if err := c.chunked(layout, filters, dims, elemSize, path); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: dataset %s has layout class %d", ErrUnsupported, path, layout[1])
	}
	return ds, nil
}

// floatType returns the element size of an IEEE float datatype in little-endian order.
func floatType(d []byte, path string) (uint64, error) {
	if len(d) < 8 {
		return 0, fmt.Errorf("%w: dataset %s: short datatype message", ErrCorrupt, path)
	}
	class, size := d[0]&0x0F, le32(d[4:])
	if class != 1 || (size != 4 && size != 8) || d[1]&1 != 0 {
		return 0, fmt.Errorf("%w: dataset %s holds HDF5 type class %d of %d bytes, not little-endian float32 or float64",
			ErrUnsupported, path, class, size)
	}
	return size, nil
}

// dataspace decodes a dataspace message the way the library does, including its choice between 4- and
// 8-byte dimensions by the message length. A scalar has no dimensions.
func dataspace(d []byte, path string) ([]uint64, error) {
	if len(d) < 4 || (d[0] != 1 && d[0] != 2) {
		return nil, fmt.Errorf("%w: dataset %s: bad dataspace message", ErrCorrupt, path)
	}
	if d[0] == 2 && d[3] == 2 {
		return nil, fmt.Errorf("%w: dataset %s has a null dataspace", ErrUnsupported, path)
	}
	rank, flags := int(d[1]), d[2]
	if rank == 0 {
		return nil, nil
	}
	if rank > maxRank {
		return nil, fmt.Errorf("%w: dataset %s has rank %d", ErrCorrupt, path, rank)
	}
	off := 8
	if d[0] == 2 {
		off = 4
	}
	count := rank
	if flags&1 != 0 {
		count *= 2
	}
	width := 8
	switch {
	case len(d) >= off+count*8:
	case len(d) >= off+count*4:
		width = 4
	default:
		return nil, fmt.Errorf("%w: dataset %s: short dataspace message", ErrCorrupt, path)
	}
	dims := make([]uint64, rank)
	for i := range dims {
		if width == 4 {
			dims[i] = le32(d[off+4*i:])
		} else {
			dims[i] = le64(d[off+8*i:])
		}
	}
	return dims, nil
}

// pipeline decodes a filter pipeline message as the library does and returns the filter identifiers,
// refusing any filter but deflate, shuffle and Fletcher-32.
func pipeline(d []byte, path string) ([]uint64, error) {
	if len(d) < 2 || (d[0] != 1 && d[0] != 2) {
		return nil, fmt.Errorf("%w: dataset %s: bad filter pipeline message", ErrCorrupt, path)
	}
	v1 := d[0] == 1
	off := 2
	if v1 {
		off += 6
	}
	var ids []uint64
	for range int(d[1]) {
		if off+8 > len(d) {
			return nil, fmt.Errorf("%w: dataset %s: short filter pipeline message", ErrCorrupt, path)
		}
		id := le16(d[off:])
		off += 2
		nameLen := 0
		if v1 {
			nameLen = int(le16(d[off:]))
			off += 2
		}
		nclient := int(le16(d[off+2:]))
		off += 4
		if v1 && nameLen > 0 {
			off += (nameLen + 7) &^ 7
		}
		off += 4 * nclient
		if v1 && nclient%2 == 1 {
			off += 4
		}
		if off > len(d) {
			return nil, fmt.Errorf("%w: dataset %s: short filter pipeline message", ErrCorrupt, path)
		}
		if id != filterDeflate && id != filterShuffle && id != filterFletcher {
			return nil, fmt.Errorf("%w: dataset %s uses HDF5 filter %d (fovea reads deflate, shuffle and Fletcher-32)",
				ErrUnsupported, path, id)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// chunkWalk collects the chunks of one dataset from its B-tree.
type chunkWalk struct {
	path       string
	dims       []uint64 // dataset dimensions
	chunk      []uint64 // chunk dimensions, with the element size last
	need       uint64   // chunks that cover the dataset
	seen       map[string]bool
	chunks     []chunkRef
	chunkBytes uint64
}

type chunkRef struct{ addr, size uint64 }

// chunked checks a chunked dataset's layout, its chunk B-tree (every chunk present, once, inside the
// dataset and the file) and, when it is deflated, that no chunk inflates to more than a chunk's bytes.
func (c *h5check) chunked(layout, filters []byte, dims []uint64, elemSize uint64, path string) error {
	if len(layout) < 3 {
		return fmt.Errorf("%w: dataset %s: short layout message", ErrCorrupt, path)
	}
	n := int(layout[2])
	if n != len(dims)+1 || len(layout) < 11+4*n {
		return fmt.Errorf("%w: dataset %s: chunk layout of %d dimensions for rank %d", ErrCorrupt, path, n, len(dims))
	}
	w := &chunkWalk{path: path, dims: dims, chunk: make([]uint64, n), need: 1, seen: map[string]bool{}}
	w.chunkBytes = elemSize
	for i := range w.chunk {
		w.chunk[i] = le32(layout[11+4*i:])
		if w.chunk[i] == 0 {
			return fmt.Errorf("%w: dataset %s: chunk dimension 0", ErrCorrupt, path)
		}
		if i < len(dims) {
			hi, lo := bits.Mul64(w.chunkBytes, w.chunk[i])
			if hi != 0 || lo > maxElements*8 {
				return fmt.Errorf("%w: dataset %s: chunks of %v elements", ErrTooLarge, path, w.chunk[:len(dims)])
			}
			w.chunkBytes = lo
			w.need *= (dims[i] + w.chunk[i] - 1) / w.chunk[i]
		}
	}
	if w.chunk[len(dims)] != elemSize {
		return fmt.Errorf("%w: dataset %s: chunk element size %d for %d-byte elements", ErrCorrupt, path, w.chunk[len(dims)], elemSize)
	}
	var ids []uint64
	if filters != nil {
		var err error
		if ids, err = pipeline(filters, path); err != nil {
			return err
		}
	}
	if err := c.chunkNode(le64(layout[3:]), -1, w); err != nil {
		return err
	}
	// h5py stores every chunk of a dataset written whole, as Keras writes them; the library would
	// allocate the whole dataset for a few chunks all the same.
	if uint64(len(w.chunks)) != w.need {
		return fmt.Errorf("%w: dataset %s has %d of its %d chunks", ErrCorrupt, path, len(w.chunks), w.need)
	}
	if !slices.Contains(ids, filterDeflate) {
		return nil
	}
	for _, ch := range w.chunks {
		if err := c.inflates(ch, w.chunkBytes+8, path); err != nil {
			return err
		}
	}
	return nil
}

// chunkNode checks a node of a chunk B-tree (type 1) and below it; level is the level its parent
// expects (-1 at the root).
func (c *h5check) chunkNode(addr uint64, level int, w *chunkWalk) error {
	what := "chunk B-tree of " + w.path
	if err := c.block(addr, what); err != nil {
		return err
	}
	h, err := c.read(addr, 24, what)
	if err != nil {
		return err
	}
	if string(h[:4]) != "TREE" || h[4] != 1 || (level >= 0 && int(h[5]) != level) {
		return fmt.Errorf("%w: %s: no chunk B-tree node at byte %d", ErrCorrupt, w.path, addr)
	}
	level = int(h[5])
	entries := le16(h[6:])
	if entries == 0 {
		return nil
	}
	keySize := 8 + 8*uint64(len(w.chunk))
	data, err := c.read(addr+24, entries*(keySize+8)+keySize, what)
	if err != nil {
		return err
	}
	for i := range entries {
		key := data[i*(keySize+8):]
		child := le64(key[keySize:])
		if level > 0 {
			if err := c.chunkNode(child, level-1, w); err != nil {
				return err
			}
			continue
		}
		if err := c.chunkEntry(key, child, w); err != nil {
			return err
		}
	}
	return nil
}

// chunkEntry checks one chunk: its offset is a chunk boundary inside the dataset, seen once, and its
// bytes lie in the file.
func (c *h5check) chunkEntry(key []byte, addr uint64, w *chunkWalk) error {
	size, mask := le32(key), le32(key[4:])
	coords := key[8 : 8+8*len(w.chunk)]
	for j, d := range w.dims {
		off := le64(coords[8*j:])
		if off%w.chunk[j] != 0 || off >= d {
			return fmt.Errorf("%w: dataset %s: chunk at offset %d in dimension %d of %d", ErrCorrupt, w.path, off, j, d)
		}
	}
	if le64(coords[8*len(w.dims):]) != 0 {
		return fmt.Errorf("%w: dataset %s: chunk key with a non-zero element offset", ErrCorrupt, w.path)
	}
	if mask != 0 {
		return fmt.Errorf("%w: dataset %s has chunks stored with some filters skipped", ErrUnsupported, w.path)
	}
	if size == 0 || addr > c.size || size > c.size-addr {
		return fmt.Errorf("%w: dataset %s: chunk of %d bytes at byte %d lies beyond the end of the file", ErrCorrupt, w.path, size, addr)
	}
	if w.seen[string(coords)] {
		return fmt.Errorf("%w: dataset %s: a chunk is stored twice", ErrCorrupt, w.path)
	}
	w.seen[string(coords)] = true
	if uint64(len(w.chunks)) >= w.need {
		return fmt.Errorf("%w: dataset %s has more chunks than it needs (%d)", ErrCorrupt, w.path, w.need)
	}
	w.chunks = append(w.chunks, chunkRef{addr: addr, size: size})
	return nil
}

// inflates checks that a deflated chunk decompresses to at most limit bytes, without keeping them.
func (c *h5check) inflates(ch chunkRef, limit uint64, path string) error {
	zr, err := zlib.NewReader(io.NewSectionReader(c.r, int64(ch.addr), int64(ch.size)))
	if err != nil {
		return fmt.Errorf("%w: dataset %s: chunk at byte %d is not deflate data: %v", ErrCorrupt, path, ch.addr, err)
	}
	n, err := io.CopyN(io.Discard, zr, int64(limit)+1)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: dataset %s: chunk at byte %d does not inflate: %v", ErrCorrupt, path, ch.addr, err)
	}
	if uint64(n) > limit {
		return fmt.Errorf("%w: dataset %s: chunk at byte %d inflates beyond its %d bytes", ErrCorrupt, path, ch.addr, limit)
	}
	return nil
}
