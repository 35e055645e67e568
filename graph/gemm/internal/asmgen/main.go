// Command asmgen writes the Go assembly micro-kernels of package gemm.
//
// Every kernel computes one MR×NR tile of C from a packed A micro-panel
// (k steps of MR values) and a packed B micro-panel (k steps of NR values):
//
//	C[r][j] = alpha*Σ_p A[p][r]*B[p][j] + beta*C[r][j]   (beta==0: C is not read)
//
// Rows are held in vector registers along N (NR = V vectors), the A values are
// broadcast one row at a time. Run it from the package directory:
//
//	go run ./internal/asmgen
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
)

// spec describes one micro-kernel.
type spec struct {
	name   string // Go function name
	isa    string // "avx512" or "avx2"
	double bool   // float64 instead of float32
	mr     int    // rows of the packed A panel (A values per k step)
	rows   int    // rows actually computed (≤ mr); 0 means mr
	edges  bool   // also emit variants for 1..mr-1 rows
	v      int    // vector registers per row; NR = v*lanes
	unroll int    // k-loop unroll factor
	pfA    int    // prefetch distance for A in bytes (0: none)
}

func (s spec) lanes() int {
	w := 32
	if s.isa == "avx512" {
		w = 64
	}
	return w / s.elem()
}

func (s spec) elem() int {
	if s.double {
		return 8
	}
	return 4
}

func (s spec) nr() int { return s.v * s.lanes() }

func (s spec) reg(i int) string {
	if s.isa == "avx512" {
		return fmt.Sprintf("Z%d", i)
	}
	return fmt.Sprintf("Y%d", i)
}

func (s spec) nregs() int {
	if s.isa == "avx512" {
		return 32
	}
	return 16
}

func (s spec) sfx() string {
	if s.double {
		return "PD"
	}
	return "PS"
}

func (s spec) bcast() string {
	if s.double {
		return "VBROADCASTSD"
	}
	return "VBROADCASTSS"
}

var kernels = []spec{
	{name: "sgemmAVX512x6x64", isa: "avx512", mr: 6, v: 4, unroll: 4, pfA: 512, edges: true},
	{name: "sgemmAVX512x8x48", isa: "avx512", mr: 8, v: 3, unroll: 4, pfA: 512},
	{name: "sgemmAVX2x6x16", isa: "avx2", mr: 6, v: 2, unroll: 4, pfA: 256, edges: true},
	{name: "dgemmAVX512x12x16", isa: "avx512", double: true, mr: 12, v: 2, unroll: 4, pfA: 512},
	{name: "dgemmAVX2x6x8", isa: "avx2", double: true, mr: 6, v: 2, unroll: 4, pfA: 256},
}

type writer struct{ bytes.Buffer }

func (w *writer) f(format string, args ...any) { fmt.Fprintf(&w.Buffer, format+"\n", args...) }

func gen(w *writer, s spec) {
	rows := s.rows
	if rows == 0 {
		rows = s.mr
	}
	acc := rows * s.v
	nb := s.nregs() - acc - s.v
	if nb < 1 {
		log.Fatalf("%s: not enough registers", s.name)
	}
	breg := func(i int) string { return s.reg(acc + i) }          // B vectors
	creg := func(i int) string { return s.reg(acc + s.v + i%nb) } // broadcast registers
	areg := func(r, i int) string { return s.reg(r*s.v + i) }     // accumulators
	es, nr, vb := s.elem(), s.nr(), s.lanes()*s.elem()
	typ, frame := "float32", 48
	betaOff := 44
	if s.double {
		typ, frame, betaOff = "float64", 56, 48
	}
	w.f("// func %s(k int, a, b, c *%s, ldc int, alpha, beta %s)", s.name, typ, typ)
	w.f("// %s %dx%d tile (A panels of %d rows), k unrolled %d times.", s.isa, rows, nr, s.mr, s.unroll)
	w.f("TEXT ·%s(SB), NOSPLIT, $0-%d", s.name, frame)
	w.f("\tMOVQ k+0(FP), CX")
	w.f("\tMOVQ a+8(FP), SI")
	w.f("\tMOVQ b+16(FP), DI")
	w.f("\tMOVQ c+24(FP), DX")
	w.f("\tMOVQ ldc+32(FP), R8")
	if s.double {
		w.f("\tSHLQ $3, R8")
	} else {
		w.f("\tSHLQ $2, R8")
	}
	for i := 0; i < acc; i++ {
		if s.isa == "avx512" {
			w.f("\tVPXORD %s, %s, %s", areg(0, i), areg(0, i), areg(0, i))
		} else {
			w.f("\tVXORPS %s, %s, %s", areg(0, i), areg(0, i), areg(0, i))
		}
	}
	// Touch the C tile early so the final update does not wait on memory.
	w.f("\tMOVQ DX, R9")
	lines := (nr*es + 63) / 64
	for r := 0; r < rows; r++ {
		for l := 0; l < lines; l++ {
			w.f("\tPREFETCHT0 %d(R9)", l*64)
		}
		if r < rows-1 {
			w.f("\tADDQ R8, R9")
		}
	}
	step := func(u int) {
		for i := 0; i < s.v; i++ {
			w.f("\tVMOVUP%s %d(DI), %s", s.sfx()[1:], (u*nr)*es+i*vb, breg(i))
		}
		if s.pfA > 0 && (u*s.mr*es)%64 == 0 {
			w.f("\tPREFETCHT0 %d(SI)", s.pfA+u*s.mr*es)
		}
		for r := 0; r < rows; r++ {
			c := creg(u*rows + r)
			w.f("\t%s %d(SI), %s", s.bcast(), (u*s.mr+r)*es, c)
			for i := 0; i < s.v; i++ {
				w.f("\tVFMADD231%s %s, %s, %s", s.sfx(), breg(i), c, areg(r, i))
			}
		}
	}
	w.f("\tCMPQ CX, $%d", s.unroll)
	w.f("\tJLT %s_tail", s.name)
	w.f("%s_loop:", s.name)
	for u := 0; u < s.unroll; u++ {
		step(u)
	}
	w.f("\tADDQ $%d, SI", s.unroll*s.mr*es)
	w.f("\tADDQ $%d, DI", s.unroll*nr*es)
	w.f("\tSUBQ $%d, CX", s.unroll)
	w.f("\tCMPQ CX, $%d", s.unroll)
	w.f("\tJGE %s_loop", s.name)
	w.f("%s_tail:", s.name)
	w.f("\tTESTQ CX, CX")
	w.f("\tJEQ %s_update", s.name)
	w.f("%s_one:", s.name)
	step(0)
	w.f("\tADDQ $%d, SI", s.mr*es)
	w.f("\tADDQ $%d, DI", nr*es)
	w.f("\tDECQ CX")
	w.f("\tJNE %s_one", s.name)
	w.f("%s_update:", s.name)
	alpha, beta := breg(0), creg(0)
	w.f("\t%s alpha+40(FP), %s", s.bcast(), alpha)
	if s.double {
		w.f("\tMOVQ beta+%d(FP), AX", betaOff)
		w.f("\tSHLQ $1, AX")
	} else {
		w.f("\tMOVL beta+%d(FP), AX", betaOff)
		w.f("\tANDL $0x7fffffff, AX")
	}
	w.f("\tJEQ %s_store", s.name)
	w.f("\t%s beta+%d(FP), %s", s.bcast(), betaOff, beta)
	for r := 0; r < rows; r++ {
		for i := 0; i < s.v; i++ {
			a := areg(r, i)
			w.f("\tVMUL%s %s, %s, %s", s.sfx(), alpha, a, a)
			w.f("\tVFMADD231%s %d(DX), %s, %s", s.sfx(), i*vb, beta, a)
			w.f("\tVMOVUP%s %s, %d(DX)", s.sfx()[1:], a, i*vb)
		}
		if r < rows-1 {
			w.f("\tADDQ R8, DX")
		}
	}
	w.f("\tVZEROUPPER")
	w.f("\tRET")
	w.f("%s_store:", s.name)
	for r := 0; r < rows; r++ {
		for i := 0; i < s.v; i++ {
			a := areg(r, i)
			w.f("\tVMUL%s %s, %s, %s", s.sfx(), alpha, a, a)
			w.f("\tVMOVUP%s %s, %d(DX)", s.sfx()[1:], a, i*vb)
		}
		if r < rows-1 {
			w.f("\tADDQ R8, DX")
		}
	}
	w.f("\tVZEROUPPER")
	w.f("\tRET")
	w.f("")
}

// genTranspose16 writes transpose16x16: for each of n blocks of 16 k steps
// it loads 16 source rows (stride lds) of 16 floats, transposes them in
// registers and stores 16 destination rows (stride ldd) of 16 floats.
// Layout after each stage (rows r_i, columns 4L+o for 128-bit lane L):
// unpack pairs of rows, unpack pairs of pairs (a register per group of 4 rows
// and offset o), then two rounds of 128-bit lane shuffles gather lane L of
// the four groups.
func genTranspose16(w *writer) {
	const name = "transpose16x16"
	w.f("// func %s(dst *float32, ldd int, src *float32, lds int, n int)", name)
	w.f("TEXT ·%s(SB), NOSPLIT, $0-40", name)
	w.f("\tMOVQ dst+0(FP), DX")
	w.f("\tMOVQ ldd+8(FP), R12")
	w.f("\tMOVQ src+16(FP), SI")
	w.f("\tMOVQ lds+24(FP), R8")
	w.f("\tMOVQ n+32(FP), CX")
	w.f("\tSHLQ $2, R8")
	w.f("\tSHLQ $2, R12")
	// R9 = 3*lds, R10 = 5*lds, R11 = 7*lds; DI = src + 8*lds.
	w.f("\tLEAQ (R8)(R8*2), R9")
	w.f("\tLEAQ (R8)(R8*4), R10")
	w.f("\tLEAQ (R9)(R8*4), R11")
	w.f("\tLEAQ (SI)(R8*8), DI")
	// R13 = 3*ldd, R14 = 5*ldd, AX = 7*ldd; BX = dst + 8*ldd.
	w.f("\tLEAQ (R12)(R12*2), R13")
	w.f("\tLEAQ (R12)(R12*4), R14")
	w.f("\tLEAQ (R13)(R12*4), AX")
	w.f("\tLEAQ (DX)(R12*8), BX")
	w.f("\tTESTQ CX, CX")
	w.f("\tJEQ done")
	w.f("loop:")
	addr := func(base string, i int) string {
		switch i {
		case 0:
			return "(" + base + ")"
		case 1:
			return "(" + base + ")(%s*1)"
		case 2:
			return "(" + base + ")(%s*2)"
		case 3:
			return "(" + base + ")(%s*1)"
		case 4:
			return "(" + base + ")(%s*4)"
		case 5:
			return "(" + base + ")(%s*1)"
		case 6:
			return "(" + base + ")(%s*2)"
		default:
			return "(" + base + ")(%s*1)"
		}
	}
	srcAddr := func(i int) string {
		base, j := "SI", i
		if i >= 8 {
			base, j = "DI", i-8
		}
		idx := []string{"", "R8", "R8", "R9", "R8", "R10", "R9", "R11"}[j]
		a := addr(base, j)
		if j == 0 {
			return a
		}
		return fmt.Sprintf(a, idx)
	}
	dstAddr := func(i int) string {
		base, j := "DX", i
		if i >= 8 {
			base, j = "BX", i-8
		}
		idx := []string{"", "R12", "R12", "R13", "R12", "R14", "R13", "AX"}[j]
		a := addr(base, j)
		if j == 0 {
			return a
		}
		return fmt.Sprintf(a, idx)
	}
	z := func(i int) string { return fmt.Sprintf("Z%d", i) }
	for i := 0; i < 16; i++ {
		w.f("\tVMOVUPS %s, %s", srcAddr(i), z(i))
	}
	// Stage 1: t[2q], t[2q+1] = unpack lo/hi of rows 2q, 2q+1 (into Z16+).
	for q := 0; q < 8; q++ {
		w.f("\tVUNPCKLPS %s, %s, %s", z(2*q+1), z(2*q), z(16+2*q))
		w.f("\tVUNPCKHPS %s, %s, %s", z(2*q+1), z(2*q), z(16+2*q+1))
	}
	// Stage 2: x[g][o] (into Z0+, index 4g+o).
	for g := 0; g < 4; g++ {
		t := func(i int) string { return z(16 + 4*g + i) }
		w.f("\tVUNPCKLPD %s, %s, %s", t(2), t(0), z(4*g+0))
		w.f("\tVUNPCKHPD %s, %s, %s", t(2), t(0), z(4*g+1))
		w.f("\tVUNPCKLPD %s, %s, %s", t(3), t(1), z(4*g+2))
		w.f("\tVUNPCKHPD %s, %s, %s", t(3), t(1), z(4*g+3))
	}
	// Stage 3: for each o, combine groups (0,1) and (2,3) (into Z16+,
	// index 4o+{0:01a,1:01b,2:23a,3:23b}).
	for o := 0; o < 4; o++ {
		x := func(g int) string { return z(4*g + o) }
		w.f("\tVSHUFF32X4 $0x88, %s, %s, %s", x(1), x(0), z(16+4*o+0))
		w.f("\tVSHUFF32X4 $0xDD, %s, %s, %s", x(1), x(0), z(16+4*o+1))
		w.f("\tVSHUFF32X4 $0x88, %s, %s, %s", x(3), x(2), z(16+4*o+2))
		w.f("\tVSHUFF32X4 $0xDD, %s, %s, %s", x(3), x(2), z(16+4*o+3))
	}
	// Stage 4: column 4L+o into Z(4L+o).
	for o := 0; o < 4; o++ {
		y := func(i int) string { return z(16 + 4*o + i) }
		w.f("\tVSHUFF32X4 $0x88, %s, %s, %s", y(2), y(0), z(0+o))
		w.f("\tVSHUFF32X4 $0xDD, %s, %s, %s", y(2), y(0), z(8+o))
		w.f("\tVSHUFF32X4 $0x88, %s, %s, %s", y(3), y(1), z(4+o))
		w.f("\tVSHUFF32X4 $0xDD, %s, %s, %s", y(3), y(1), z(12+o))
	}
	for i := 0; i < 16; i++ {
		w.f("\tVMOVUPS %s, %s", z(i), dstAddr(i))
	}
	w.f("\tADDQ $64, SI")
	w.f("\tADDQ $64, DI")
	w.f("\tLEAQ (DX)(R12*8), DX")
	w.f("\tLEAQ (DX)(R12*8), DX")
	w.f("\tLEAQ (BX)(R12*8), BX")
	w.f("\tLEAQ (BX)(R12*8), BX")
	w.f("\tDECQ CX")
	w.f("\tJNE loop")
	w.f("done:")
	w.f("\tVZEROUPPER")
	w.f("\tRET")
	w.f("")
}

// wrapperName is the Go wrapper of a kernel: sgemmAVX512x6x64 becomes
// tileAVX512x6x64, dgemmAVX2x6x8 becomes tileAVX2x6x8d.
func wrapperName(s spec) string {
	n := "tile" + s.name[len("sgemm"):]
	if s.double {
		n += "d"
	}
	return n
}

func edgesName(s spec) string { return "edges" + s.name[len("sgemm"):] }

// declare writes the assembly function's declaration and a wrapper that
// checks the slice bounds the assembly relies on, so that a packing bug
// panics in Go instead of corrupting memory.
func declare(g *writer, s spec) {
	typ := "float32"
	if s.double {
		typ = "float64"
	}
	rows := s.rows
	if rows == 0 {
		rows = s.mr
	}
	g.f("\n// %s computes a %dx%d tile from A panels of %d rows (%s).\n//\n//go:noescape\nfunc %s(k int, a, b, c *%s, ldc int, alpha, beta %s)",
		s.name, rows, s.nr(), s.mr, s.isa, s.name, typ, typ)
	g.f("\nfunc %s(k int, a, b, c []%s, ldc int, alpha, beta %s) {", wrapperName(s), typ, typ)
	g.f("\t_, _, _ = a[%d*k-1], b[%d*k-1], c[%d*ldc+%d]", s.mr, s.nr(), rows-1, s.nr()-1)
	g.f("\t%s(k, &a[0], &b[0], &c[0], ldc, alpha, beta)\n}", s.name)
}

// genTranspose8 writes transpose8x8, the AVX version of transpose16x16 for
// 8×8 blocks: unpack pairs of rows, unpack pairs of pairs, then swap 128-bit
// lanes.
func genTranspose8(w *writer) {
	const name = "transpose8x8"
	w.f("// func %s(dst *float32, ldd int, src *float32, lds int, n int)", name)
	w.f("TEXT ·%s(SB), NOSPLIT, $0-40", name)
	w.f("\tMOVQ dst+0(FP), DX")
	w.f("\tMOVQ ldd+8(FP), R12")
	w.f("\tMOVQ src+16(FP), SI")
	w.f("\tMOVQ lds+24(FP), R8")
	w.f("\tMOVQ n+32(FP), CX")
	w.f("\tSHLQ $2, R8")
	w.f("\tSHLQ $2, R12")
	w.f("\tLEAQ (R8)(R8*2), R9")
	w.f("\tLEAQ (R8)(R8*4), R10")
	w.f("\tLEAQ (R9)(R8*4), R11")
	w.f("\tLEAQ (R12)(R12*2), R13")
	w.f("\tLEAQ (R12)(R12*4), R14")
	w.f("\tLEAQ (R13)(R12*4), AX")
	w.f("\tTESTQ CX, CX")
	w.f("\tJEQ done")
	w.f("loop:")
	at := func(base string, idx []string, i int) string {
		scale := []string{"", "*1", "*2", "*1", "*4", "*1", "*2", "*1"}[i]
		if i == 0 {
			return "(" + base + ")"
		}
		return "(" + base + ")(" + idx[i] + scale + ")"
	}
	sidx := []string{"", "R8", "R8", "R9", "R8", "R10", "R9", "R11"}
	didx := []string{"", "R12", "R12", "R13", "R12", "R14", "R13", "AX"}
	y := func(i int) string { return fmt.Sprintf("Y%d", i) }
	for i := 0; i < 8; i++ {
		w.f("\tVMOVUPS %s, %s", at("SI", sidx, i), y(i))
	}
	// Stage 1 (into Y8+): pairs of rows.
	for q := 0; q < 4; q++ {
		w.f("\tVUNPCKLPS %s, %s, %s", y(2*q+1), y(2*q), y(8+2*q))
		w.f("\tVUNPCKHPS %s, %s, %s", y(2*q+1), y(2*q), y(8+2*q+1))
	}
	// Stage 2 (into Y0+, index 4g+o): column 4L+o of rows 4g..4g+3.
	for g := 0; g < 2; g++ {
		t := func(i int) string { return y(8 + 4*g + i) }
		w.f("\tVUNPCKLPD %s, %s, %s", t(2), t(0), y(4*g+0))
		w.f("\tVUNPCKHPD %s, %s, %s", t(2), t(0), y(4*g+1))
		w.f("\tVUNPCKLPD %s, %s, %s", t(3), t(1), y(4*g+2))
		w.f("\tVUNPCKHPD %s, %s, %s", t(3), t(1), y(4*g+3))
	}
	// Stage 3 (into Y8+): column o from the low lanes, 4+o from the high.
	for o := 0; o < 4; o++ {
		w.f("\tVPERM2F128 $0x20, %s, %s, %s", y(4+o), y(o), y(8+o))
		w.f("\tVPERM2F128 $0x31, %s, %s, %s", y(4+o), y(o), y(12+o))
	}
	for i := 0; i < 8; i++ {
		w.f("\tVMOVUPS %s, %s", y(8+i), at("DX", didx, i))
	}
	w.f("\tADDQ $32, SI")
	w.f("\tLEAQ (DX)(R12*8), DX")
	w.f("\tDECQ CX")
	w.f("\tJNE loop")
	w.f("done:")
	w.f("\tVZEROUPPER")
	w.f("\tRET")
	w.f("")
}

const header = "// Code generated by internal/asmgen; DO NOT EDIT.\n\n"

func main() {
	var s, g writer
	s.WriteString(header)
	s.WriteString("//go:build amd64 && !purego\n\n#include \"textflag.h\"\n\n")
	g.WriteString(header)
	g.WriteString("//go:build amd64 && !purego\n\npackage gemm\n")
	for _, k := range kernels {
		variants := []spec{k}
		if k.edges {
			for r := 1; r < k.mr; r++ {
				e := k
				e.name, e.rows = fmt.Sprintf("%sr%d", k.name, r), r
				variants = append(variants, e)
			}
		}
		for _, v := range variants {
			gen(&s, v)
			declare(&g, v)
		}
		if k.edges {
			typ := "float32"
			if k.double {
				typ = "float64"
			}
			g.f("\n// %s returns the tiles for 1..%d rows of %s, indexed by rows.", edgesName(k), k.mr-1, k.name)
			g.f("func %s() []tileFunc[%s] {", edgesName(k), typ)
			g.f("\treturn []tileFunc[%s]{\n\t\tnil,", typ)
			for _, v := range variants[1:] {
				g.f("\t\t%s,", wrapperName(v))
			}
			g.f("\t}\n}")
		}
	}
	genTranspose16(&s)
	genTranspose8(&s)
	g.f("\n// transpose8x8 transposes n blocks of 8×8 floats (AVX): block b reads\n// src[i*lds+8b+j] and writes dst[(8b+j)*ldd+i] for i, j < 8.\n//\n//go:noescape\nfunc transpose8x8(dst *float32, ldd int, src *float32, lds int, n int)")
	g.f("\n// transpose16x16 transposes n blocks of 16×16 floats (AVX-512F): block b\n// reads src[i*lds+16b+j] and writes dst[(16b+j)*ldd+i] for i, j < 16.\n//\n//go:noescape\nfunc transpose16x16(dst *float32, ldd int, src *float32, lds int, n int)")
	if err := os.WriteFile("kernels_amd64.s", s.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("kernels_amd64.go", g.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
