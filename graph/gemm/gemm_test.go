package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmCase is one multiply checked against the float64 reference.
type gemmCase struct {
	m, n, k        int
	transA, transB bool
	alpha, beta    float64
	pad            int  // extra elements added to every leading dimension
	nanC           bool // fill C with NaN (only meaningful with beta == 0)
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/a=%g/b=%g/pad=%d/nan=%v",
		tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.alpha, tc.beta, tc.pad, tc.nanC)
}

// cases builds the shape × transpose × scalar table shared by all kernels.
func cases() []gemmCase {
	shapes := [][3]int{
		{1, 1, 1}, {2, 3, 4}, {17, 31, 13}, {13, 17, 31}, {31, 13, 17},
		{1, 100, 1}, {100, 1, 1}, {1, 1, 100}, {1, 70, 90}, {70, 1, 90},
		{300, 2, 40}, {2, 300, 40}, {5, 5, 600}, {33, 65, 257},
		{130, 67, 300}, {211, 97, 61}, {64, 128, 49}, {400, 50, 20}, {3, 4200, 5},
		{11, 64, 40}, {5, 128, 9}, {1, 192, 3},
	}
	scalars := [][2]float64{{1, 0}, {-1.5, 0}, {1, 1}, {0.5, -0.75}, {0, 2}}
	var out []gemmCase
	for si, s := range shapes {
		for t := range 4 {
			for ai, ab := range scalars {
				tc := gemmCase{m: s[0], n: s[1], k: s[2], transA: t&1 != 0, transB: t&2 != 0, alpha: ab[0], beta: ab[1]}
				// Vary padding and NaN-filled outputs across the table.
				tc.pad = (si + t + ai) % 3 * 3
				tc.nanC = ab[1] == 0 && (si+t)%2 == 0
				out = append(out, tc)
			}
		}
	}
	// k == 0 and empty outputs.
	out = append(out,
		gemmCase{m: 5, n: 7, k: 0, alpha: 1, beta: 0, nanC: true},
		gemmCase{m: 5, n: 7, k: 0, alpha: 1, beta: 3},
		gemmCase{m: 0, n: 7, k: 3, alpha: 1, beta: 1},
		gemmCase{m: 7, n: 0, k: 3, alpha: 1, beta: 1, transA: true, transB: true},
	)
	return out
}

// matrices holds one case's operands in float64.
type matrices struct {
	a, b, c                    []float64
	lda, ldb, ldc              int
	rowsA, colsA, rowsB, colsB int
}

func makeMatrices(tc gemmCase, rng *rand.Rand) matrices {
	var x matrices
	x.rowsA, x.colsA = tc.m, tc.k
	if tc.transA {
		x.rowsA, x.colsA = tc.k, tc.m
	}
	x.rowsB, x.colsB = tc.k, tc.n
	if tc.transB {
		x.rowsB, x.colsB = tc.n, tc.k
	}
	x.lda, x.ldb, x.ldc = max(1, x.colsA+tc.pad), max(1, x.colsB+tc.pad), max(1, tc.n+tc.pad)
	fill := func(rows, ld int) []float64 {
		s := make([]float64, rows*ld)
		for i := range s {
			s[i] = rng.Float64()*2 - 1
		}
		return s
	}
	x.a, x.b, x.c = fill(x.rowsA, x.lda), fill(x.rowsB, x.ldb), fill(tc.m, x.ldc)
	if tc.nanC {
		for i := range x.c {
			x.c[i] = math.NaN()
		}
	}
	return x
}

// reference returns the exact-ish result and, per element, Σ|terms| for the
// error bound.
func reference(tc gemmCase, x matrices) (want, mag []float64) {
	want = append([]float64(nil), x.c...)
	mag = make([]float64, len(x.c))
	for i := range tc.m {
		for j := range tc.n {
			var s, sa float64
			for p := range tc.k {
				ai, bi := i*x.lda+p, p*x.ldb+j
				if tc.transA {
					ai = p*x.lda + i
				}
				if tc.transB {
					bi = j*x.ldb + p
				}
				av, bv := x.a[ai], x.b[bi]
				s += av * bv
				sa += math.Abs(av * bv)
			}
			o := i*x.ldc + j
			old := x.c[o]
			if tc.beta == 0 {
				old = 0
			}
			want[o] = tc.alpha*s + tc.beta*old
			mag[o] = math.Abs(tc.alpha)*sa + math.Abs(tc.beta*old)
		}
	}
	return want, mag
}

// compare checks got against want within (k+4)·2·eps·mag and checks that the
// padding of C was not touched.
func compare(t *testing.T, tc gemmCase, x matrices, got, want, mag []float64, eps float64) {
	t.Helper()
	bad := 0
	for i := range tc.m {
		for j := range x.ldc {
			o := i*x.ldc + j
			if j >= tc.n {
				if !same(got[o], x.c[o]) {
					t.Errorf("%v: padding C[%d][%d] changed: %v -> %v", tc, i, j, x.c[o], got[o])
					bad++
				}
				continue
			}
			tol := 2*float64(tc.k+4)*eps*mag[o] + 1e-30
			if d := math.Abs(got[o] - want[o]); !(d <= tol) {
				t.Errorf("%v: C[%d][%d] = %v, want %v (|diff| %g > tol %g)", tc, i, j, got[o], want[o], d, tol)
				bad++
			}
			if bad > 5 {
				t.FailNow()
			}
		}
	}
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func to32(s []float64) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v)
	}
	return out
}

func to64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// prepared is a case with its operands and reference result.
type prepared struct {
	tc        gemmCase
	x         matrices
	want, mag []float64
}

// prepare builds every case once; with round32 the operands are rounded to
// float32 first so the reference sees exactly what Sgemm sees.
func prepare(round32 bool, seed uint64) []prepared {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []prepared
	for _, tc := range cases() {
		x := makeMatrices(tc, rng)
		if round32 {
			x.a, x.b, x.c = to64(to32(x.a)), to64(to32(x.b)), to64(to32(x.c))
		}
		want, mag := reference(tc, x)
		out = append(out, prepared{tc, x, want, mag})
	}
	return out
}

func TestSgemm(t *testing.T) {
	all := prepare(true, 1)
	for _, k32 := range kernels32() {
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/threads=%d", k32.name, threads), func(t *testing.T) {
				e := newEngine(threads, k32, genericKernel[float64]())
				defer e.Close()
				for _, pc := range all {
					tc, x := pc.tc, pc.x
					a, b, c := to32(x.a), to32(x.b), to32(x.c)
					err := e.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, float32(tc.alpha), a, x.lda, b, x.ldb, float32(tc.beta), c, x.ldc)
					if err != nil {
						t.Fatalf("%v: %v", tc, err)
					}
					compare(t, tc, x, to64(c), pc.want, pc.mag, 0x1p-24)
				}
			})
		}
	}
}

func TestDgemm(t *testing.T) {
	all := prepare(false, 2)
	for _, k64 := range kernels64() {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", k64.name, threads), func(t *testing.T) {
				e := newEngine(threads, genericKernel[float32](), k64)
				defer e.Close()
				for _, pc := range all {
					tc, x := pc.tc, pc.x
					c := append([]float64(nil), x.c...)
					err := e.Dgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, x.a, x.lda, x.b, x.ldb, tc.beta, c, x.ldc)
					if err != nil {
						t.Fatalf("%v: %v", tc, err)
					}
					compare(t, tc, x, c, pc.want, pc.mag, 0x1p-53)
				}
			})
		}
	}
}

func TestBadArguments(t *testing.T) {
	e := New(1)
	defer e.Close()
	s := make([]float32, 100)
	tests := []struct {
		name           string
		transA, transB bool
		m, n, k        int
		a              []float32
		lda            int
		b              []float32
		ldb            int
		c              []float32
		ldc            int
	}{
		{"negative m", false, false, -1, 2, 2, s, 2, s, 2, s, 2},
		{"negative k", false, false, 2, 2, -2, s, 2, s, 2, s, 2},
		{"lda too small", false, false, 4, 4, 5, s, 4, s, 4, s, 4},
		{"lda too small transA", true, false, 5, 4, 4, s, 4, s, 4, s, 4},
		{"ldb too small transB", false, true, 4, 5, 4, s, 4, s, 3, s, 5},
		{"ldc too small", false, false, 4, 5, 4, s, 4, s, 5, s, 4},
		{"zero ld", false, false, 0, 0, 0, s, 0, s, 1, s, 1},
		{"short a", false, false, 11, 2, 10, s, 10, s, 2, s, 2},
		{"short b", false, false, 2, 10, 11, s, 11, s, 10, s, 10},
		{"short c", false, false, 11, 10, 1, s, 1, s, 10, s, 10},
		{"short c k=0", false, false, 11, 10, 0, nil, 1, nil, 10, s, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.Sgemm(tt.transA, tt.transB, tt.m, tt.n, tt.k, 1, tt.a, tt.lda, tt.b, tt.ldb, 0, tt.c, tt.ldc); err == nil {
				t.Errorf("Sgemm: no error")
			}
			d := make([]float64, 100)
			if err := e.Dgemm(tt.transA, tt.transB, tt.m, tt.n, tt.k, 1, d[:len(tt.a)], tt.lda, d[:len(tt.b)], tt.ldb, 0, d[:len(tt.c)], tt.ldc); err == nil {
				t.Errorf("Dgemm: no error")
			}
		})
	}
	// Exactly long enough slices and empty operands are fine.
	if err := e.Sgemm(false, false, 2, 3, 4, 1, s[:1*6+4], 6, s[:3*5+3], 5, 0, s[:1*7+3], 7); err != nil {
		t.Errorf("minimal slices: %v", err)
	}
	if err := e.Sgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1); err != nil {
		t.Errorf("empty: %v", err)
	}
}

func TestPlanCoversC(t *testing.T) {
	tests := []struct{ threads, m, n, k, mr, nr int }{
		{2, 128, 6272, 576, 12, 32},
		{2, 2304, 1568, 256, 12, 32},
		{3, 100, 100, 100, 8, 48},
		{4, 1, 1000, 1000, 14, 32},
		{4, 1000, 1, 1000, 14, 32},
		{2, 10, 10, 10, 4, 4},
		{7, 50, 40, 3000, 6, 64},
	}
	for _, tt := range tests {
		s := &state{threads: tt.threads, spans: make([]span, tt.threads)}
		parts := s.plan(tt.m, tt.n, tt.k, tt.mr, tt.nr)
		if parts < 1 || parts > tt.threads {
			t.Fatalf("%+v: %d parts", tt, parts)
		}
		cover := make([]int, tt.m*tt.n)
		for _, sp := range s.spans[:parts] {
			if sp.m0 >= sp.m1 || sp.n0 >= sp.n1 {
				t.Errorf("%+v: empty span %+v", tt, sp)
			}
			for i := sp.m0; i < sp.m1; i++ {
				for j := sp.n0; j < sp.n1; j++ {
					cover[i*tt.n+j]++
				}
			}
		}
		for i, v := range cover {
			if v != 1 {
				t.Fatalf("%+v: element %d covered %d times", tt, i, v)
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	for _, threads := range []int{1, 2} {
		e := New(threads)
		m, n, k := 96, 200, 300
		a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		ad, bd, cd := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
		run := func() {
			for _, tr := range [][2]bool{{false, false}, {true, true}} {
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				if err := e.Sgemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0.5, c, n); err != nil {
					t.Fatal(err)
				}
				if err := e.Dgemm(tr[0], tr[1], m, n, k, 1, ad, lda, bd, ldb, 0.5, cd, n); err != nil {
					t.Fatal(err)
				}
			}
		}
		run()
		if got := testing.AllocsPerRun(20, run); got != 0 {
			t.Errorf("threads=%d: %v allocations per run, want 0", threads, got)
		}
		e.Close()
	}
}

func TestClose(t *testing.T) {
	e := New(2)
	e.Close()
	e.Close()
	a := []float32{1, 2, 3, 4}
	c := make([]float32, 4)
	if err := e.Sgemm(false, false, 2, 2, 2, 1, a, 2, a, 2, 0, c, 2); err != nil {
		t.Fatal(err)
	}
	if want := []float32{7, 10, 15, 22}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", c, want)
	}
}

func TestKernelNames(t *testing.T) {
	names := Kernels()
	if len(names) == 0 || names[len(names)-1] != "generic-4x4" {
		t.Fatalf("Kernels() = %v", names)
	}
	for _, name := range names {
		e, err := NewWithKernel(1, name)
		if err != nil {
			t.Fatal(err)
		}
		if e.Kernel() != name {
			t.Errorf("Kernel() = %q, want %q", e.Kernel(), name)
		}
		e.Close()
	}
	if _, err := NewWithKernel(1, "nope"); err == nil {
		t.Error("unknown kernel accepted")
	}
}
