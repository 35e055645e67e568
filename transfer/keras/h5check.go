package keras

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// This file walks an HDF5 file's metadata before github.com/scigolib/hdf5 opens it. The library trusts
// the sizes it reads (a corrupt local-heap size makes it allocate terabytes, a cyclic continuation list
// makes it loop forever), so fovea follows the same pointers the library will follow, the same way, and
// checks every size and address against the file length first. It accepts what h5py writes for Keras:
// superblock 0, 2 or 3 with 8-byte addresses, version 1 and 2 object headers, groups as symbol tables or
// compact links, compact attributes. Anything else is refused with ErrUnsupported, anything inconsistent
// with ErrCorrupt or ErrTruncated.

// Limits of the check. A Keras weights file has a few thousand objects, and its metadata blocks are small.
const (
	undefAddr      = ^uint64(0)
	maxObjects     = 1 << 16 // groups and datasets
	maxDepth       = 64      // group nesting
	maxBlocks      = 1 << 18 // object-header chunks, continuation blocks, B-tree nodes, symbol-table nodes
	maxMetaBlock   = 16 << 20
	maxRank        = 32
	maxElements    = 1 << 31 // elements of one dataset
	maxExpansion   = 4       // decoded weights may be at most this many times the file (plus expansionSlack)
	expansionSlack = 1 << 20
)

// HDF5 object-header message types (HDF5 file format specification, section IV.A.2).
const (
	msgDataspace     = 0x01
	msgLinkInfo      = 0x02
	msgDatatype      = 0x03
	msgLink          = 0x06
	msgLayout        = 0x08
	msgFilters       = 0x0B
	msgSharedTable   = 0x0F // the library reads this type as attribute info
	msgContinuation  = 0x10
	msgSymbolTable   = 0x11
	msgAttributeInfo = 0x15
)

// h5check is the result of the walk: every group and dataset by path ("/a/b"), with the header messages
// of datasets kept for the checks made before each read.
type h5check struct {
	r       io.ReaderAt
	size    uint64
	version uint8 // superblock version

	root                  uint64
	rootBTree, rootHeap   uint64 // v0: the root's symbol table as cached in the superblock
	objects               map[string]*h5object
	seenObject, seenBlock map[uint64]bool
}

type h5object struct {
	path  string
	addr  uint64
	group bool
	msgs  []h5msg
}

type h5msg struct {
	typ  uint16
	data []byte
}

// symtab is a group's symbol table: a v1 B-tree of symbol-table nodes and the local heap of its names.
type symtab struct{ btree, heap uint64 }

func le16(b []byte) uint64 { return uint64(binary.LittleEndian.Uint16(b)) }
func le32(b []byte) uint64 { return uint64(binary.LittleEndian.Uint32(b)) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// checkHDF5 walks the file's metadata from the superblock down. r must hold size bytes.
func checkHDF5(r io.ReaderAt, size int64) (*h5check, error) {
	c := &h5check{
		r: r, size: uint64(max(size, 0)),
		objects:    map[string]*h5object{},
		seenObject: map[uint64]bool{}, seenBlock: map[uint64]bool{},
	}
	if err := c.superblock(); err != nil {
		return nil, err
	}
	if err := c.object(c.root, "/", 0, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// read returns n bytes at off, refusing ranges outside the file before allocating anything.
func (c *h5check) read(off, n uint64, what string) ([]byte, error) {
	if off > c.size || n > c.size-off {
		return nil, fmt.Errorf("%w: %s at byte %d (%d bytes) lies beyond the end of the file (%d bytes)",
			ErrCorrupt, what, off, n, c.size)
	}
	if n > maxMetaBlock {
		return nil, fmt.Errorf("%w: %s at byte %d claims %d bytes", ErrTooLarge, what, off, n)
	}
	b := make([]byte, n)
	if _, err := c.r.ReadAt(b, int64(off)); err != nil {
		return nil, fmt.Errorf("read %s at byte %d: %w", what, off, err)
	}
	return b, nil
}

// block counts one more metadata block at addr, refusing blocks reached twice (cycles) and files with
// more blocks than any weights file has.
func (c *h5check) block(addr uint64, what string) error {
	if c.seenBlock[addr] {
		return fmt.Errorf("%w: %s at byte %d is reached twice", ErrCorrupt, what, addr)
	}
	if len(c.seenBlock) >= maxBlocks {
		return fmt.Errorf("%w: more than %d metadata blocks", ErrTooLarge, maxBlocks)
	}
	c.seenBlock[addr] = true
	return nil
}

func (c *h5check) superblock() error {
	const signature = "\x89HDF\r\n\x1a\n"
	if c.size < 8 {
		return fmt.Errorf("%w: %d bytes", ErrNotHDF5, c.size)
	}
	sig := make([]byte, 8)
	if _, err := c.r.ReadAt(sig, 0); err != nil {
		return fmt.Errorf("read signature: %w", err)
	}
	if string(sig) != signature {
		return fmt.Errorf("%w: the file does not start with the HDF5 signature", ErrNotHDF5)
	}
	b := make([]byte, min(c.size, 96))
	if _, err := c.r.ReadAt(b, 0); err != nil {
		return fmt.Errorf("read superblock: %w", err)
	}
	if len(b) < 48 {
		return fmt.Errorf("%w: %d bytes cannot hold a superblock", ErrTruncated, c.size)
	}
	var base, eof uint64
	c.version = b[8]
	switch c.version {
	case 0:
		if len(b) < 96 {
			return fmt.Errorf("%w: %d bytes cannot hold a superblock", ErrTruncated, c.size)
		}
		if b[13] != 8 || b[14] != 8 {
			return fmt.Errorf("%w: %d-byte addresses and %d-byte lengths (h5py writes 8)", ErrUnsupported, b[13], b[14])
		}
		base, eof = le64(b[24:]), le64(b[40:])
		// The root group's symbol-table entry: name offset, header address, cache type, reserved, and the
		// scratch pad that caches the root's symbol table. The library uses the scratch pad whatever the
		// cache type says.
		c.root, c.rootBTree, c.rootHeap = le64(b[64:]), le64(b[80:]), le64(b[88:])
	case 2, 3:
		if b[9] != 8 || b[10] != 8 {
			return fmt.Errorf("%w: %d-byte addresses and %d-byte lengths (h5py writes 8)", ErrUnsupported, b[9], b[10])
		}
		base, eof, c.root = le64(b[12:]), le64(b[28:]), le64(b[36:])
	case 1:
		return fmt.Errorf("%w: superblock version 1", ErrUnsupported)
	default:
		return fmt.Errorf("%w: unknown superblock version %d", ErrCorrupt, c.version)
	}
	if base != 0 {
		return fmt.Errorf("%w: base address %d (a user block)", ErrUnsupported, base)
	}
	if eof > c.size {
		return fmt.Errorf("%w: the file has %d bytes but its superblock says it ends at byte %d", ErrTruncated, c.size, eof)
	}
	if c.root == 0 || c.root >= c.size {
		return fmt.Errorf("%w: root group address %d outside the file", ErrCorrupt, c.root)
	}
	return nil
}

// object checks the object whose header is at addr, reached by path, and below it if it is a group.
// cached is the symbol table a parent's symbol-table entry caches for it: the library then reads the
// group's members from there, without looking at the header.
func (c *h5check) object(addr uint64, path string, depth int, cached *symtab) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: %s is nested more than %d groups deep", ErrCorrupt, path, maxDepth)
	}
	if len(c.objects) >= maxObjects {
		return fmt.Errorf("%w: more than %d objects", ErrTooLarge, maxObjects)
	}
	if addr == 0 || addr >= c.size {
		return fmt.Errorf("%w: %s: object address %d outside the file", ErrCorrupt, path, addr)
	}
	if c.seenObject[addr] {
		return fmt.Errorf("%w: %s: the object at byte %d is reached twice", ErrCorrupt, path, addr)
	}
	c.seenObject[addr] = true
	msgs, err := c.header(addr, path)
	if err != nil {
		return err
	}
	if err := checkAttributeStorage(msgs, path); err != nil {
		return err
	}
	obj := &h5object{path: path, addr: addr}
	c.objects[path] = obj
	switch classify(msgs) {
	case msgDataspace:
		if cached != nil {
			return fmt.Errorf("%w: %s is a dataset but its parent caches a symbol table for it", ErrCorrupt, path)
		}
		obj.msgs = msgs
		return nil
	case 0:
		// A version-0 root group may carry no messages at all: its symbol table is then in the superblock.
		if !(addr == c.root && c.version == 0) {
			return fmt.Errorf("%w: %s is neither a group nor a dataset", ErrUnsupported, path)
		}
	}
	obj.group = true
	return c.group(msgs, path, depth, cached)
}

// classify mirrors how the library tells groups from datasets: by the first message that decides it.
// It returns msgSymbolTable for a group, msgDataspace for a dataset, or 0.
func classify(msgs []h5msg) uint16 {
	for _, m := range msgs {
		switch m.typ {
		case msgSymbolTable, msgLinkInfo, msgLink:
			return msgSymbolTable
		case msgDataspace:
			return msgDataspace
		}
	}
	return 0
}

// checkAttributeStorage refuses dense attribute storage (a fractal heap), which Keras never produces.
// The library takes message type 0x0F for attribute info and reads a fractal heap at any non-zero
// address in it; the real attribute-info message (0x15) points to one unless its address is undefined.
func checkAttributeStorage(msgs []h5msg, path string) error {
	for _, m := range msgs {
		d := m.data
		switch m.typ {
		case msgSharedTable, msgAttributeInfo:
			if len(d) < 2 {
				continue
			}
			off := 2
			if d[1]&1 != 0 {
				off += 4
			}
			if off+8 > len(d) {
				continue
			}
			heap := le64(d[off:])
			if (m.typ == msgSharedTable && heap != 0) || (m.typ == msgAttributeInfo && heap != undefAddr) {
				return fmt.Errorf("%w: %s keeps its attributes in dense storage", ErrUnsupported, path)
			}
		}
	}
	return nil
}

// group checks a group's members: hard links in link messages, or else its symbol table.
func (c *h5check) group(msgs []h5msg, path string, depth int, cached *symtab) error {
	var st *symtab
	hasLinks := false
	for _, m := range msgs {
		switch m.typ {
		case msgLink:
			hasLinks = true
			name, target, hard, err := parseLink(m.data)
			if err != nil {
				return fmt.Errorf("%w: %s: link message: %v", ErrCorrupt, path, err)
			}
			if !hard {
				continue // soft and external links are not followed (nor by the library)
			}
			if err := checkName(name, path); err != nil {
				return err
			}
			if err := c.object(target, joinPath(path, name), depth+1, nil); err != nil {
				return err
			}
		case msgSymbolTable:
			if len(m.data) >= 16 {
				st = &symtab{btree: le64(m.data), heap: le64(m.data[8:])}
			}
		}
	}
	if cached != nil {
		if hasLinks || (st != nil && *st != *cached) {
			return fmt.Errorf("%w: %s: the symbol table cached by its parent differs from its own", ErrCorrupt, path)
		}
		st = cached
	}
	if hasLinks {
		return nil
	}
	for _, m := range msgs {
		if m.typ != msgLinkInfo {
			continue
		}
		dense, err := linkInfoDense(m.data)
		if err != nil {
			return fmt.Errorf("%w: %s: link info message: %v", ErrCorrupt, path, err)
		}
		if dense {
			return fmt.Errorf("%w: %s keeps its members in dense link storage", ErrUnsupported, path)
		}
	}
	if st == nil && c.version == 0 && path == "/" && c.rootBTree != 0 && c.rootHeap != 0 {
		st = &symtab{btree: c.rootBTree, heap: c.rootHeap}
	}
	if st == nil {
		return nil
	}
	return c.symbolTable(*st, path, depth)
}

// checkName refuses member names that cannot be a path element.
func checkName(name, path string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w: %s has a member named %q", ErrCorrupt, path, name)
	}
	return nil
}

func joinPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// parseLink decodes a link message (version 1) as the library does.
func parseLink(d []byte) (name string, target uint64, hard bool, err error) {
	if len(d) < 2 || d[0] != 1 {
		return "", 0, false, fmt.Errorf("version or length wrong")
	}
	flags, cur := d[1], 2
	typ := byte(0)
	if flags&0x08 != 0 {
		if cur >= len(d) {
			return "", 0, false, fmt.Errorf("truncated")
		}
		typ = d[cur]
		cur++
	}
	if flags&0x04 != 0 {
		cur += 8
	}
	if flags&0x10 != 0 {
		cur++
	}
	width := 1 << (flags & 3)
	if cur+width > len(d) {
		return "", 0, false, fmt.Errorf("truncated")
	}
	var n uint64
	switch width {
	case 1:
		n = uint64(d[cur])
	case 2:
		n = le16(d[cur:])
	case 4:
		n = le32(d[cur:])
	case 8:
		n = le64(d[cur:])
	}
	cur += width
	if n == 0 || n > uint64(len(d)-cur) {
		return "", 0, false, fmt.Errorf("name length %d", n)
	}
	name = string(d[cur : cur+int(n)])
	cur += int(n)
	switch typ {
	case 0:
		if cur+8 > len(d) {
			return "", 0, false, fmt.Errorf("truncated")
		}
		return name, le64(d[cur:]), true, nil
	case 1:
		if cur+2 > len(d) {
			return "", 0, false, fmt.Errorf("truncated")
		}
		if l := int(le16(d[cur:])); l == 0 || cur+2+l > len(d) {
			return "", 0, false, fmt.Errorf("soft link path")
		}
	default:
		if cur+2 > len(d) {
			return "", 0, false, fmt.Errorf("truncated")
		}
	}
	return name, 0, false, nil
}

// linkInfoDense decodes a link-info message and reports whether it points to dense link storage.
func linkInfoDense(d []byte) (bool, error) {
	if len(d) < 2 || d[0] != 0 || d[1]&^3 != 0 {
		return false, fmt.Errorf("version or flags wrong")
	}
	off := 2
	if d[1]&1 != 0 {
		off += 8
	}
	if off+16 > len(d) {
		return false, fmt.Errorf("truncated")
	}
	heap, btree := le64(d[off:]), le64(d[off+8:])
	defined := func(a uint64) bool { return a != 0 && a != undefAddr }
	return defined(heap) && defined(btree), nil
}

// symbolTable checks a group's v1 B-tree (one leaf node: the library reads no other kind), the
// symbol-table nodes it points to, the local heap of names, and every member.
func (c *h5check) symbolTable(st symtab, path string, depth int) error {
	heap, err := c.localHeap(st.heap, path)
	if err != nil {
		return err
	}
	if err := c.block(st.btree, "group B-tree of "+path); err != nil {
		return err
	}
	h, err := c.read(st.btree, 24, "group B-tree of "+path)
	if err != nil {
		return err
	}
	if string(h[:4]) != "TREE" || h[4] != 0 {
		return fmt.Errorf("%w: %s: no group B-tree at byte %d", ErrCorrupt, path, st.btree)
	}
	if h[5] != 0 {
		return fmt.Errorf("%w: %s has so many members that its B-tree has %d levels", ErrUnsupported, path, h[5]+1)
	}
	entries := le16(h[6:])
	if entries == 0 {
		return nil
	}
	data, err := c.read(st.btree+24, entries*16+8, "group B-tree of "+path)
	if err != nil {
		return err
	}
	for i := range entries {
		child := le64(data[16*i+8:]) // keys and children alternate: key 0, child 0, key 1, …
		if child == 0 || child == undefAddr {
			continue
		}
		if err := c.symbolNode(child, heap, path, depth); err != nil {
			return err
		}
	}
	return nil
}

// localHeap returns the data segment of the local heap at addr.
func (c *h5check) localHeap(addr uint64, path string) ([]byte, error) {
	h, err := c.read(addr, 32, "local heap of "+path)
	if err != nil {
		return nil, err
	}
	if string(h[:4]) != "HEAP" {
		return nil, fmt.Errorf("%w: %s: no local heap at byte %d", ErrCorrupt, path, addr)
	}
	return c.read(le64(h[24:]), le64(h[8:]), "local heap data of "+path)
}

// symbolNode checks one symbol-table node and the members it lists.
func (c *h5check) symbolNode(addr uint64, heap []byte, path string, depth int) error {
	if err := c.block(addr, "symbol-table node of "+path); err != nil {
		return err
	}
	h, err := c.read(addr, 8, "symbol-table node of "+path)
	if err != nil {
		return err
	}
	if string(h[:4]) != "SNOD" || h[4] != 1 {
		return fmt.Errorf("%w: %s: no symbol-table node at byte %d", ErrCorrupt, path, addr)
	}
	n := le16(h[6:])
	data, err := c.read(addr+8, n*40, "symbol-table node of "+path)
	if err != nil {
		return err
	}
	for i := range n {
		e := data[40*i:]
		nameOff, target, cache := le64(e), le64(e[8:]), le32(e[16:])
		if cache == 2 {
			continue // a soft link, not followed
		}
		if nameOff >= uint64(len(heap)) {
			return fmt.Errorf("%w: %s: member name at heap offset %d outside the heap", ErrCorrupt, path, nameOff)
		}
		name := heap[nameOff:]
		if j := strings.IndexByte(string(name), 0); j >= 0 {
			name = name[:j]
		}
		if err := checkName(string(name), path); err != nil {
			return err
		}
		var cached *symtab
		if cache == 1 && le64(e[24:]) != 0 {
			cached = &symtab{btree: le64(e[24:]), heap: le64(e[32:])}
		}
		if err := c.object(target, joinPath(path, string(name)), depth+1, cached); err != nil {
			return err
		}
	}
	return nil
}

// header reads the messages of the object header at addr, with all its continuation blocks, exactly as
// the library will, but refusing anything outside the file and continuation blocks reached twice.
func (c *h5check) header(addr uint64, path string) ([]h5msg, error) {
	if err := c.block(addr, "object header of "+path); err != nil {
		return nil, err
	}
	p, err := c.read(addr, 8, "object header of "+path)
	if err != nil {
		return nil, err
	}
	switch {
	case string(p[:4]) == "SNOD":
		return nil, fmt.Errorf("%w: %s: a symbol-table node where an object header should be", ErrCorrupt, path)
	case string(p[:4]) == "OHDR":
		if p[4] != 2 {
			return nil, fmt.Errorf("%w: %s: object header version %d", ErrCorrupt, path, p[4])
		}
		return c.headerV2(addr, p[5], path)
	case string(p[:4]) == "RDHO":
		return nil, fmt.Errorf("%w: %s: big-endian object header", ErrUnsupported, path)
	case p[0] == 1 && p[1] == 0:
		return c.headerV1(addr, path)
	}
	return nil, fmt.Errorf("%w: %s: no object header at byte %d", ErrCorrupt, path, addr)
}

func (c *h5check) headerV1(addr uint64, path string) ([]h5msg, error) {
	h, err := c.read(addr, 16, "object header of "+path)
	if err != nil {
		return nil, err
	}
	msgs, err := c.messagesV1(addr+16, le32(h[8:]), le16(h[2:]), path)
	if err != nil {
		return nil, err
	}
	return c.continuations(msgs, false, 0, path)
}

// messagesV1 parses version-1 messages in [start, start+n): at most limit messages of non-zero size,
// each aligned to 8 bytes, stopping (as the library does) at the first one that does not fit.
func (c *h5check) messagesV1(start, n, limit uint64, path string) ([]h5msg, error) {
	b, err := c.read(start, n, "object header messages of "+path)
	if err != nil {
		return nil, err
	}
	var msgs []h5msg
	for cur, count := uint64(0), uint64(0); cur+8 <= n && count < limit; {
		typ, size := le16(b[cur:]), le16(b[cur+2:])
		if size == 0 {
			cur += 8
			continue
		}
		if cur+8+size > n {
			break
		}
		msgs = append(msgs, h5msg{typ: uint16(typ), data: b[cur+8 : cur+8+size]})
		cur += (8 + size + 7) &^ 7
		count++
	}
	return msgs, nil
}

func (c *h5check) headerV2(addr uint64, flags byte, path string) ([]h5msg, error) {
	cur := addr + 6
	if flags&0x20 != 0 {
		cur += 16
	}
	if flags&0x10 != 0 {
		cur += 4
	}
	width := uint64(1) << (flags & 3)
	s, err := c.read(cur, width, "object header of "+path)
	if err != nil {
		return nil, err
	}
	var n uint64
	switch width {
	case 1:
		n = uint64(s[0])
	case 2:
		n = le16(s)
	case 4:
		n = le32(s)
	case 8:
		n = le64(s)
	}
	msgs, err := c.messagesV2(cur+width, n, flags, path)
	if err != nil {
		return nil, err
	}
	return c.continuations(msgs, true, flags, path)
}

// messagesV2 parses version-2 messages whose headers start in [start, start+n). Like the library it reads
// each message's data even where it runs past the chunk; fovea only asks that it stays in the file.
func (c *h5check) messagesV2(start, n uint64, flags byte, path string) ([]h5msg, error) {
	if n > c.size {
		return nil, fmt.Errorf("%w: %s: object header chunk of %d bytes", ErrCorrupt, path, n)
	}
	hdr := uint64(4)
	if flags&0x04 != 0 {
		hdr = 6
	}
	// The library reads 6 bytes of message header and up to 65535 bytes of data from any start below n.
	span := min(n+6+65535, c.size-min(start, c.size))
	b, err := c.read(start, span, "object header messages of "+path)
	if err != nil {
		return nil, err
	}
	var msgs []h5msg
	for cur := uint64(0); cur < n; {
		if cur+6 > span {
			return nil, fmt.Errorf("%w: %s: object header runs past the end of the file", ErrCorrupt, path)
		}
		// Where fewer bytes than a message header are left (a gap), the library still reads a message.
		gap := n-cur < hdr
		typ, size := uint64(b[cur]), le16(b[cur+1:])
		if size == 0 {
			cur += hdr
			continue
		}
		if cur+hdr+size > span {
			if gap {
				return nil, fmt.Errorf("%w: %s: the HDF5 reader cannot parse the gap at the end of its object header "+
					"(h5py writes such headers with libver='latest'; re-save the file with h5py's default format)", ErrUnsupported, path)
			}
			return nil, fmt.Errorf("%w: %s: object header message runs past the end of the file", ErrCorrupt, path)
		}
		if gap && typ != 0 {
			return nil, fmt.Errorf("%w: %s: object header ends in a non-zero gap", ErrCorrupt, path)
		}
		msgs = append(msgs, h5msg{typ: uint16(typ), data: b[cur+hdr : cur+hdr+size]})
		cur += hdr + size
	}
	return msgs, nil
}

// continuations follows continuation messages breadth-first, as the library does, adding the messages of
// every continuation block.
func (c *h5check) continuations(msgs []h5msg, v2 bool, flags byte, path string) ([]h5msg, error) {
	for i := 0; i < len(msgs); i++ {
		m := msgs[i]
		if m.typ != msgContinuation || len(m.data) < 16 {
			continue
		}
		addr, size := le64(m.data), le64(m.data[8:])
		if size == 0 {
			continue
		}
		if err := c.block(addr, "object header continuation of "+path); err != nil {
			return nil, err
		}
		if addr > c.size || size > c.size-addr {
			return nil, fmt.Errorf("%w: %s: object header continuation at byte %d (%d bytes) beyond the end of the file",
				ErrCorrupt, path, addr, size)
		}
		var more []h5msg
		var err error
		if v2 {
			if size < 8 {
				return nil, fmt.Errorf("%w: %s: continuation block of %d bytes", ErrCorrupt, path, size)
			}
			sig, err := c.read(addr, 4, "object header continuation of "+path)
			if err != nil {
				return nil, err
			}
			if string(sig) != "OCHK" {
				return nil, fmt.Errorf("%w: %s: no continuation block at byte %d", ErrCorrupt, path, addr)
			}
			more, err = c.messagesV2(addr+4, size-8, flags, path)
			if err != nil {
				return nil, err
			}
		} else if more, err = c.messagesV1(addr, size, 0xFFFF, path); err != nil {
			return nil, err
		}
		msgs = append(msgs, more...)
	}
	return msgs, nil
}
