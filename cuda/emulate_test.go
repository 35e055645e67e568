package cuda

// emulate_test.go owns the tests of the kernel twins: each Go emulation (emulate.go) against the fovea
// CPU op it stands for (graph's ops, training's optimizer), the CUDA C source (kernels/fovea.cu) against
// the catalogue's signatures, and the compiled PTX (kernels/fovea.ptx) against the catalogue.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"fovea/graph"
)

// ---- launching emulations and CPU ops ----

// launch runs kernel name's emulation over n items with the given arguments (after n), which must
// match the catalogue's parameter types: []float32, []int32, []int64 or []float64 for pointers (a nil
// slice of the pointer's type for a null pointer), int for i32, float32 for f32, float64 for f64, uint64
// for u64.
func launch(t *testing.T, name string, n int, vals ...any) {
	t.Helper()
	spec, ok := Spec(name)
	if !ok {
		t.Fatalf("%s is not in the catalogue", name)
	}
	if len(vals) != len(spec.Params) {
		t.Fatalf("%s takes %d arguments after n, test passes %d", name, len(spec.Params), len(vals))
	}
	k := len(vals)
	a := &Args{F32: make([][]float32, k), I32: make([][]int32, k), I64: make([][]int64, k), F64: make([][]float64, k),
		Int: make([]int, k), Float: make([]float32, k), Double: make([]float64, k), U64: make([]uint64, k)}
	for i, v := range vals {
		want := spec.Params[i].Type
		got := ParamType(-1)
		switch v := v.(type) {
		case []float32:
			a.F32[i], got = v, PtrF32
		case []int32:
			a.I32[i], got = v, PtrI32
		case []int64:
			a.I64[i], got = v, PtrI64
		case []float64:
			a.F64[i], got = v, PtrF64
		case int:
			a.Int[i], got = v, I32
		case float32:
			a.Float[i], got = v, F32
		case float64:
			a.Double[i], got = v, F64
		case uint64:
			a.U64[i], got = v, U64
		}
		if got != want {
			t.Fatalf("%s: argument %d (%s) is %T, want %v", name, i, spec.Params[i].Name, v, want)
		}
	}
	emulations[name](n, a)
}

// cpuOp is a fovea graph op run through its CPU kernel.
type cpuOp interface {
	Exec(e *graph.Exec, out *tensor.Dense, ins []*tensor.Dense) error
}

// execOp runs op on ins into a new float32 tensor of the given shape and returns its data.
func execOp(t *testing.T, op cpuOp, shape []int, ins ...*tensor.Dense) []float32 {
	t.Helper()
	e := graph.NewExec(1)
	defer e.Close()
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
	if err := op.Exec(e, out, ins); err != nil {
		t.Fatalf("%T: %v", op, err)
	}
	return out.Float32s()
}

// execScalar runs op, whose output is a float32 scalar, and returns it.
func execScalar(t *testing.T, op cpuOp, ins ...*tensor.Dense) float32 {
	t.Helper()
	e := graph.NewExec(1)
	defer e.Close()
	out := tensor.New(tensor.FromScalar(float32(0)))
	if err := op.Exec(e, out, ins); err != nil {
		t.Fatalf("%T: %v", op, err)
	}
	return out.Data().(float32)
}

func dense[T float32 | int32](data []T, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

func randomFloats(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// positiveFloats draws from [0.25, 2.25), as variances.
func positiveFloats(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = 0.25 + 2*rng.Float32()
	}
	return out
}

// tiedFloats draws from a few values only, so windows and rows have ties.
func tiedFloats(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.IntN(4)) - 1.5
	}
	return out
}

// ---- comparisons ----

// requireExact fails unless got and want are identical bit for bit.
func requireExact(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v (bit for bit)", what, i, got[i], want[i])
		}
	}
}

// requireClose fails unless every |got − want| is at most tol·max|want| (relative error in the
// maximum norm, so that values near zero in a sum with cancellation are judged at the sum's scale).
func requireClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	scale = math.Max(scale, 1e-30)
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			t.Fatalf("%s: [%d] = %v, want %v (relative error %.3g > %g)", what, i, got[i], want[i], d/scale, tol)
		}
	}
}

const tolerance = 1e-5

// ---- catalogue and sources ----

func TestEveryKernelHasAnEmulation(t *testing.T) {
	for _, k := range Kernels {
		if emulations[k.Name] == nil {
			t.Errorf("kernel %s has no emulation", k.Name)
		}
	}
	for name := range emulations {
		if _, ok := Spec(name); !ok {
			t.Errorf("emulation %s has no catalogue entry", name)
		}
	}
}

// cTypes maps the CUDA C parameter types to the catalogue's.
var cTypes = map[string]ParamType{
	"float*": PtrF32, "const float*": PtrF32, "const int*": PtrI32, "const long long*": PtrI64,
	"int": I32, "float": F32, "unsigned long long": U64,
	"double*": PtrF64, "const double*": PtrF64, "double": F64,
}

// TestKernelSourceMatchesCatalogue checks that fovea.cu defines every catalogue kernel as
// (long long n, params...) with the catalogue's names and types, in order.
func TestKernelSourceMatchesCatalogue(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("kernels", "fovea.cu"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(raw)
	// Expand the object-like macros that kernel signatures use (e.g. GEOMETRY_PARAMS).
	for _, m := range regexp.MustCompile(`(?m)^#define ([A-Z_]+) ([^\\\n]+)$`).FindAllStringSubmatch(src, -1) {
		src = regexp.MustCompile(`\b`+m[1]+`\b`).ReplaceAllString(src, m[2])
	}
	defined := map[string][]string{}
	for _, m := range regexp.MustCompile(`extern "C" __global__ void (\w+)\(([^)]*)\)`).FindAllStringSubmatch(src, -1) {
		defined[m[1]] = strings.Split(strings.Join(strings.Fields(m[2]), " "), ", ")
	}
	for _, k := range Kernels {
		params, ok := defined[k.Name]
		if !ok {
			t.Errorf("fovea.cu does not define kernel %s", k.Name)
			continue
		}
		delete(defined, k.Name)
		if len(params) != 1+len(k.Params) || params[0] != "long long n" {
			t.Errorf("%s: fovea.cu has (%s), want (long long n, %d parameters)", k.Name, strings.Join(params, ", "), len(k.Params))
			continue
		}
		for i, p := range k.Params {
			decl := params[i+1]
			cut := strings.LastIndexAny(decl, " *") + 1
			typ, name := strings.TrimSpace(decl[:cut]), decl[cut:]
			if ct, ok := cTypes[typ]; !ok || ct != p.Type || name != p.Name {
				t.Errorf("%s parameter %d: fovea.cu has %q, want %s %s", k.Name, i+1, decl, p.Type, p.Name)
			}
		}
	}
	for name := range defined {
		t.Errorf("fovea.cu defines kernel %s, which is not in the catalogue", name)
	}
}

// ptxTypes are the PTX parameter types each catalogue type may compile to.
var ptxTypes = map[ParamType][]string{
	PtrF32: {"u64", "b64"}, PtrI32: {"u64", "b64"}, PtrI64: {"u64", "b64"},
	I32: {"u32", "s32", "b32"}, F32: {"f32"}, U64: {"u64", "b64"},
	PtrF64: {"u64", "b64"}, F64: {"f64"},
}

// TestCatalogueCompiled checks that fovea.ptx (which kernels.PTX embeds) has an entry for every
// catalogue kernel, with 1+len(Params) parameters of the right types.
func TestCatalogueCompiled(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("kernels", "fovea.ptx"))
	if os.IsNotExist(err) {
		t.Skip("kernels/fovea.ptx is absent: run go generate ./cuda/kernels (needs nvcc)")
	}
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string][]string{}
	paramRE := regexp.MustCompile(`\.param\s+\.(\w+)\s+\w+`)
	for _, m := range regexp.MustCompile(`\.entry\s+(\w+)\s*\(([^)]*)\)`).FindAllStringSubmatch(string(raw), -1) {
		var types []string
		for _, p := range paramRE.FindAllStringSubmatch(m[2], -1) {
			types = append(types, p[1])
		}
		entries[m[1]] = types
	}
	for _, k := range Kernels {
		types, ok := entries[k.Name]
		if !ok {
			t.Errorf("fovea.ptx has no entry %s", k.Name)
			continue
		}
		delete(entries, k.Name)
		if len(types) != 1+len(k.Params) {
			t.Errorf("%s: %d PTX parameters, want %d", k.Name, len(types), 1+len(k.Params))
			continue
		}
		want := append([]string{"u64|s64|b64"}, make([]string, len(k.Params))...)
		for i, p := range k.Params {
			want[i+1] = strings.Join(ptxTypes[p.Type], "|")
		}
		for i, typ := range types {
			if !strings.Contains("|"+want[i]+"|", "|"+typ+"|") {
				t.Errorf("%s parameter %d is .%s, want .%s", k.Name, i, typ, want[i])
			}
		}
	}
	for name := range entries {
		t.Errorf("fovea.ptx has entry %s, which is not in the catalogue", name)
	}
}

// ---- elementwise ----

// specialFloats are values whose signs and NaNs the elementwise kernels must treat as the CPU does.
var specialFloats = []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)),
	math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00000), 1e-40, -1e-40}

func TestElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := append(randomFloats(rng, 61), specialFloats...)
	z := randomFloats(rng, len(x))
	n := len(x)

	y := make([]float32, n)
	launch(t, "fill", n, y, float32(2.5))
	for i, v := range y {
		if v != 2.5 {
			t.Fatalf("fill: [%d] = %v", i, v)
		}
	}
	launch(t, "copy", n, x, y)
	requireExact(t, "copy", y, x)

	launch(t, "add", n, x, z, y)
	requireExact(t, "add", y, execOp(t, graph.Add{}, []int{n}, dense(x, n), dense(z, n)))

	launch(t, "relu", n, x, y)
	requireExact(t, "relu", y, execOp(t, graph.ReLU{}, []int{n}, dense(x, n)))

	dx := make([]float32, n)
	launch(t, "relu_grad", n, y, z, dx)
	requireExact(t, "relu_grad of a ReLU output", dx, execOp(t, graph.ReLUGrad{}, []int{n}, dense(y, n), dense(z, n)))
	launch(t, "relu_grad", n, x, z, dx)
	requireExact(t, "relu_grad of any input", dx, execOp(t, graph.ReLUGrad{}, []int{n}, dense(x, n), dense(z, n)))
}

// ---- per-channel affine maps and layouts ----

// affineReference applies the epilogue to x (outer, C, inner) with loops of its own.
func affineReference(x, scale, bias []float32, outer, c, inner, flags int) []float32 {
	y := make([]float32, len(x))
	for o := range outer {
		for ch := range c {
			for q := range inner {
				i := (o*c+ch)*inner + q
				v := x[i]
				if flags&2 != 0 {
					v = float32(v * scale[ch])
				}
				if flags&1 != 0 {
					v += bias[ch]
				}
				if flags&4 != 0 && !(v > 0) && v == v {
					v = 0
				}
				y[i] = v
			}
		}
	}
	return y
}

func TestChannelAffine(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 1))
	for _, shape := range [][]int{{2, 3, 4, 5}, {4, 6}, {1, 1, 3, 3}} {
		n, c := shape[0], shape[1]
		size := 1
		for _, d := range shape {
			size *= d
		}
		inner := size / (n * c)
		x, scale, bias := randomFloats(rng, size), randomFloats(rng, c), randomFloats(rng, c)
		y := make([]float32, size)
		what := fmt.Sprint(shape)

		launch(t, "channel_affine", size, x, []float32(nil), bias, y, c, inner, 1)
		biased := execOp(t, graph.BiasAdd{}, shape, dense(x, shape...), dense(bias, c))
		requireExact(t, what+" bias vs BiasAdd", y, biased)

		launch(t, "channel_affine", size, x, []float32(nil), bias, y, c, inner, 5)
		requireExact(t, what+" bias+relu vs BiasAdd, ReLU", y, execOp(t, graph.ReLU{}, shape, dense(biased, shape...)))

		for _, flags := range []int{0, 2, 3, 4, 6, 7} {
			launch(t, "channel_affine", size, x, scale, bias, y, c, inner, flags)
			requireExact(t, fmt.Sprintf("%s flags %d", what, flags), y, affineReference(x, scale, bias, n, c, inner, flags))
		}
	}
}

func TestScatterGatherChannels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	nb, o, p := 3, 4, 5
	size := nb * o * p
	src, scale, bias := randomFloats(rng, size), randomFloats(rng, o), randomFloats(rng, o)
	// src is O × (nb·P); the reference reads it as (O, nb, P) and writes (nb, O, P).
	transposed := make([]float32, size)
	for c := range o {
		for img := range nb {
			for q := range p {
				transposed[(img*o+c)*p+q] = src[(c*nb+img)*p+q]
			}
		}
	}
	dst, back := make([]float32, size), make([]float32, size)
	for _, flags := range []int{0, 1, 3, 5, 7} {
		launch(t, "scatter_channels", size, src, scale, bias, dst, nb, o, p, flags)
		requireExact(t, fmt.Sprintf("scatter flags %d", flags), dst, affineReference(transposed, scale, bias, nb, o, p, flags))
	}
	launch(t, "scatter_channels", size, src, []float32(nil), []float32(nil), dst, nb, o, p, 0)
	launch(t, "gather_channels", size, dst, back, nb, o, p)
	requireExact(t, "gather∘scatter", back, src)
}

// ---- convolution lowering ----

// convCase is a convolution: input (n, c, h, w), o filters of kh×kw, strides and padding.
type convCase struct {
	name           string
	n, c, h, w, o  int
	kh, kw, sh, sw int
	mode           graph.PaddingMode
	pad            *graph.Padding // explicit padding instead of mode
}

func (cc convCase) padding(t *testing.T) graph.Padding {
	if cc.pad != nil {
		return *cc.pad
	}
	pad, err := graph.Pad2D(cc.mode, cc.h, cc.w, cc.kh, cc.kw, cc.sh, cc.sw)
	if err != nil {
		t.Fatal(err)
	}
	return pad
}

// geometryArgs is the geometry parameter block for the case.
func geometryArgs(n, c, h, w, kh, kw, sh, sw int, pad graph.Padding) (args []any, oh, ow int) {
	oh, ow = (h+pad.Top+pad.Bottom-kh)/sh+1, (w+pad.Left+pad.Right-kw)/sw+1
	return []any{n, c, h, w, kh, kw, sh, sw, pad.Top, pad.Left, oh, ow}, oh, ow
}

// matmul returns a·b for row-major a (m×k) and b (k×n), transposing either first when asked,
// accumulating in float64.
func matmul(a, b []float32, m, k, n int, transA, transB bool) []float32 {
	out := make([]float32, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for l := range k {
				av, bv := a[i*k+l], b[l*n+j]
				if transA {
					av = a[l*m+i]
				}
				if transB {
					bv = b[j*k+l]
				}
				s += float64(av) * float64(bv)
			}
			out[i*n+j] = float32(s)
		}
	}
	return out
}

var convCases = []convCase{
	{name: "7x7 s2 same, asymmetric", n: 2, c: 3, h: 11, w: 12, o: 4, kh: 7, kw: 7, sh: 2, sw: 2, mode: graph.Same},
	{name: "3x3 s2 same, pad 0/1", n: 2, c: 3, h: 8, w: 8, o: 5, kh: 3, kw: 3, sh: 2, sw: 2, mode: graph.Same},
	{name: "3x3 s1 same", n: 1, c: 2, h: 5, w: 6, o: 3, kh: 3, kw: 3, sh: 1, sw: 1, mode: graph.Same},
	{name: "3x3 same on 1x1, dead taps", n: 3, c: 4, h: 1, w: 1, o: 2, kh: 3, kw: 3, sh: 1, sw: 1, mode: graph.Same},
	{name: "1x1 s1 valid", n: 2, c: 3, h: 4, w: 4, o: 2, kh: 1, kw: 1, sh: 1, sw: 1, mode: graph.Valid},
	{name: "1x1 s2 valid", n: 2, c: 3, h: 5, w: 5, o: 2, kh: 1, kw: 1, sh: 2, sw: 2, mode: graph.Valid},
	{name: "2x3 s(1,2) valid", n: 2, c: 2, h: 6, w: 7, o: 3, kh: 2, kw: 3, sh: 1, sw: 2, mode: graph.Valid},
	{name: "3x3 explicit pad 2,0,1,2", n: 2, c: 2, h: 5, w: 4, o: 3, kh: 3, kw: 3, sh: 1, sw: 1, pad: &graph.Padding{Top: 2, Bottom: 0, Left: 1, Right: 2}},
	{name: "5x5 s3 same", n: 1, c: 2, h: 10, w: 9, o: 2, kh: 5, kw: 5, sh: 3, sw: 3, mode: graph.Same},
}

// TestConvolutionLowering runs Conv2D and its gradients the way a device plan lowers them (im2col,
// a GEMM, scatter_channels; gather_channels, a GEMM, col2im) and compares with graph's CPU ops.
func TestConvolutionLowering(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	for _, cc := range convCases {
		t.Run(cc.name, func(t *testing.T) {
			pad := cc.padding(t)
			geo, oh, ow := geometryArgs(cc.n, cc.c, cc.h, cc.w, cc.kh, cc.kw, cc.sh, cc.sw, pad)
			k, cols := cc.c*cc.kh*cc.kw, cc.n*oh*ow
			xShape, wShape, yShape := []int{cc.n, cc.c, cc.h, cc.w}, []int{cc.o, cc.c, cc.kh, cc.kw}, []int{cc.n, cc.o, oh, ow}
			x, w, bias := randomFloats(rng, cc.n*cc.c*cc.h*cc.w), randomFloats(rng, cc.o*k), randomFloats(rng, cc.o)
			dy := randomFloats(rng, cc.n*cc.o*oh*ow)
			conv := graph.Conv2D{StrideH: cc.sh, StrideW: cc.sw, Pad: pad}

			col := make([]float32, k*cols)
			launch(t, "im2col", len(col), append([]any{x, col}, geo...)...)
			product := matmul(w, col, cc.o, k, cols, false, false)
			y := make([]float32, len(dy))
			launch(t, "scatter_channels", len(y), product, []float32(nil), []float32(nil), y, cc.n, cc.o, oh*ow, 0)
			requireClose(t, "forward", y, execOp(t, conv, yShape, dense(x, xShape...), dense(w, wShape...)), tolerance)

			launch(t, "scatter_channels", len(y), product, []float32(nil), bias, y, cc.n, cc.o, oh*ow, 5)
			fused := execOp(t, graph.ConvBias{Conv2D: conv, ReLU: true}, yShape, dense(x, xShape...), dense(w, wShape...), dense(bias, cc.o))
			requireClose(t, "forward with bias and ReLU", y, fused, tolerance)

			// Conv2D → inference-mode BatchNorm (→ ReLU), as a plan lowers graph.ConvBN: the statistics
			// folded into a per-channel scale and shift that the scatter applies.
			const eps = 1e-3
			gamma, beta, mean, variance := randomFloats(rng, cc.o), randomFloats(rng, cc.o), randomFloats(rng, cc.o), positiveFloats(rng, cc.o)
			m64, v64 := make([]float64, cc.o), make([]float64, cc.o)
			scale, shift := make([]float32, cc.o), make([]float32, cc.o)
			launch(t, "widen", cc.o, mean, m64)
			launch(t, "widen", cc.o, variance, v64)
			launch(t, "batchnorm_fold", cc.o, gamma, beta, m64, v64, scale, shift, float64(eps))
			for _, relu := range []bool{false, true} {
				flags := flagScale | flagBias
				if relu {
					flags |= flagReLU
				}
				launch(t, "scatter_channels", len(y), product, scale, shift, y, cc.n, cc.o, oh*ow, flags)
				op := graph.ConvBN{Conv2D: conv, Eps: eps, ReLU: relu}
				want := execOp(t, op, yShape, dense(x, xShape...), dense(w, wShape...), dense(gamma, cc.o), dense(beta, cc.o), dense(mean, cc.o), dense(variance, cc.o))
				requireClose(t, op.Kind(), y, want, tolerance)
			}

			dyg := make([]float32, len(dy))
			launch(t, "gather_channels", len(dyg), dy, dyg, cc.n, cc.o, oh*ow)
			dcol := matmul(w, dyg, k, cc.o, cols, true, false)
			dx := make([]float32, len(x))
			launch(t, "col2im", len(dx), append([]any{dcol, dx}, geo...)...)
			backInput := graph.Conv2DBackpropInput{StrideH: cc.sh, StrideW: cc.sw, Pad: pad, InH: cc.h, InW: cc.w}
			requireClose(t, "input gradient", dx, execOp(t, backInput, xShape, dense(w, wShape...), dense(dy, yShape...)), tolerance)
			requireExact(t, "col2im vs its adjoint loop", dx, col2imReference(dcol, cc, pad, oh, ow))

			dw := matmul(dyg, col, cc.o, cols, k, false, true)
			backFilter := graph.Conv2DBackpropFilter{StrideH: cc.sh, StrideW: cc.sw, Pad: pad, KH: cc.kh, KW: cc.kw}
			requireClose(t, "kernel gradient", dw, execOp(t, backFilter, wShape, dense(x, xShape...), dense(dy, yShape...)), tolerance)
		})
	}
}

// col2imReference adds every column entry into the pixel its tap reads, looping over the columns as
// graph's col2im does (taps outermost), so each pixel sums its taps in the same order.
func col2imReference(col []float32, cc convCase, pad graph.Padding, oh, ow int) []float32 {
	dx := make([]float32, cc.n*cc.c*cc.h*cc.w)
	cols := cc.n * oh * ow
	for c := range cc.c {
		for ki := range cc.kh {
			for kj := range cc.kw {
				row := (c*cc.kh+ki)*cc.kw + kj
				for img := range cc.n {
					for oy := range oh {
						for ox := range ow {
							iy, ix := oy*cc.sh-pad.Top+ki, ox*cc.sw-pad.Left+kj
							if iy >= 0 && iy < cc.h && ix >= 0 && ix < cc.w {
								dx[((img*cc.c+c)*cc.h+iy)*cc.w+ix] += col[row*cols+(img*oh+oy)*ow+ox]
							}
						}
					}
				}
			}
		}
	}
	return dx
}

// ---- pooling ----

func TestPooling(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 1))
	cases := []struct {
		name           string
		n, c, h, w     int
		kh, kw, sh, sw int
		mode           graph.PaddingMode
	}{
		{"2x2 s2 valid, 4x6", 2, 3, 4, 6, 2, 2, 2, 2, graph.Valid},
		{"2x2 s2 valid, odd 5x5", 1, 2, 5, 5, 2, 2, 2, 2, graph.Valid},
		{"2x2 s2 same, odd 5x7", 2, 2, 5, 7, 2, 2, 2, 2, graph.Same},
		{"3x3 s2 same, pad 0/1", 2, 2, 6, 6, 3, 3, 2, 2, graph.Same},
		{"3x3 s2 same, pad 1/1", 1, 3, 7, 7, 3, 3, 2, 2, graph.Same},
		{"3x3 s1 same", 2, 2, 5, 4, 3, 3, 1, 1, graph.Same},
		{"3x3 s2 valid", 1, 2, 7, 8, 3, 3, 2, 2, graph.Valid},
		{"2x3 s(1,2) same", 1, 2, 5, 6, 2, 3, 1, 2, graph.Same},
	}
	for _, pc := range cases {
		for _, draw := range []struct {
			name string
			f    func(*rand.Rand, int) []float32
		}{{"random", randomFloats}, {"ties", tiedFloats}} {
			t.Run(pc.name+", "+draw.name, func(t *testing.T) {
				pad, err := graph.Pad2D(pc.mode, pc.h, pc.w, pc.kh, pc.kw, pc.sh, pc.sw)
				if err != nil {
					t.Fatal(err)
				}
				window := graph.Window{KH: pc.kh, KW: pc.kw, StrideH: pc.sh, StrideW: pc.sw, Pad: pad}
				geo, oh, ow := geometryArgs(pc.n, pc.c, pc.h, pc.w, pc.kh, pc.kw, pc.sh, pc.sw, pad)
				xShape, yShape := []int{pc.n, pc.c, pc.h, pc.w}, []int{pc.n, pc.c, oh, ow}
				x, dy := draw.f(rng, pc.n*pc.c*pc.h*pc.w), randomFloats(rng, pc.n*pc.c*oh*ow)
				y, dx := make([]float32, len(dy)), make([]float32, len(x))

				launch(t, "maxpool", len(y), append([]any{x, y}, geo...)...)
				launch(t, "maxpool_grad", len(dx), append([]any{x, y, dy, dx}, geo...)...)
				wantY, wantDx := maxPoolReference(x, dy, pc.n*pc.c, pc.h, pc.w, oh, ow, window)
				requireExact(t, "maxpool vs reference", y, wantY)
				requireExact(t, "maxpool_grad vs reference", dx, wantDx)
				requireExact(t, "maxpool", y, execOp(t, graph.MaxPool2D{Window: window}, yShape, dense(x, xShape...)))
				want := execOp(t, graph.MaxPool2DGrad{Window: window}, xShape, dense(x, xShape...), dense(y, yShape...), dense(dy, yShape...))
				requireExact(t, "maxpool_grad", dx, want)
				launch(t, "maxpool_relu_grad", len(dx), append([]any{x, y, dy, dx}, geo...)...)
				want = execOp(t, graph.MaxPoolReLUGrad{Window: window}, xShape, dense(x, xShape...), dense(y, yShape...), dense(dy, yShape...))
				requireExact(t, "maxpool_relu_grad", dx, want)

				launch(t, "avgpool", len(y), append([]any{x, y}, geo...)...)
				requireExact(t, "avgpool", y, execOp(t, graph.AvgPool2D{Window: window}, yShape, dense(x, xShape...)))
				launch(t, "avgpool_grad", len(dx), append([]any{dy, dx}, geo...)...)
				grad := graph.AvgPool2DGrad{Window: window, InH: pc.h, InW: pc.w}
				requireExact(t, "avgpool_grad", dx, execOp(t, grad, xShape, dense(dy, yShape...)))
			})
		}
	}
}

// maxPoolReference pools planes of h×w through the window as graph's general maxpool path does: y is
// the maximum over each window's in-image pixels, and dx routes each dy to the first pixel (row-major)
// of its window equal to the maximum.
func maxPoolReference(x, dy []float32, planes, h, w, oh, ow int, win graph.Window) (y, dx []float32) {
	y, dx = make([]float32, planes*oh*ow), make([]float32, planes*h*w)
	for p := range planes {
		in := x[p*h*w : (p+1)*h*w]
		for oy := range oh {
			for ox := range ow {
				y0, x0 := max(oy*win.StrideH-win.Pad.Top, 0), max(ox*win.StrideW-win.Pad.Left, 0)
				y1, x1 := min(oy*win.StrideH-win.Pad.Top+win.KH, h), min(ox*win.StrideW-win.Pad.Left+win.KW, w)
				best := in[y0*w+x0]
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						best = max(best, in[iy*w+ix])
					}
				}
				o := (p*oh+oy)*ow + ox
				y[o] = best
				at := y0*w + x0
			search:
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						if in[iy*w+ix] == best {
							at = iy*w + ix
							break search
						}
					}
				}
				dx[p*h*w+at] += dy[o]
			}
		}
	}
	return y, dx
}

// ---- depthwise convolution and depthwise max pooling ----

// TestDepthwiseConv runs DepthwiseConv2D and its gradients as a plan lowers them (depthwise_conv;
// depthwise_conv_grad_input; depthwise_conv_grad_filter, channel_sums, narrow) and compares with
// graph's CPU ops. cc.o is the depth multiplier.
func TestDepthwiseConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	for _, cc := range []convCase{
		{name: "3x3 s2 same, pad 0/1", n: 2, c: 3, h: 8, w: 8, o: 1, kh: 3, kw: 3, sh: 2, sw: 2, mode: graph.Same},
		{name: "3x3 s2 same, odd 7x9, multiplier 2", n: 2, c: 2, h: 7, w: 9, o: 2, kh: 3, kw: 3, sh: 2, sw: 2, mode: graph.Same},
		{name: "3x3 s1 same", n: 2, c: 4, h: 6, w: 5, o: 1, kh: 3, kw: 3, sh: 1, sw: 1, mode: graph.Same},
		{name: "3x3 s1 same, multiplier 3", n: 1, c: 2, h: 5, w: 6, o: 3, kh: 3, kw: 3, sh: 1, sw: 1, mode: graph.Same},
		{name: "3x3 same on 1x1, dead taps", n: 3, c: 2, h: 1, w: 1, o: 1, kh: 3, kw: 3, sh: 1, sw: 1, mode: graph.Same},
		{name: "4x4 s2 same, pad 1/1", n: 2, c: 2, h: 8, w: 6, o: 2, kh: 4, kw: 4, sh: 2, sw: 2, mode: graph.Same},
		{name: "2x3 s(1,2) valid", n: 2, c: 3, h: 6, w: 7, o: 1, kh: 2, kw: 3, sh: 1, sw: 2, mode: graph.Valid},
		{name: "5x5 s3 same, multiplier 2", n: 1, c: 2, h: 10, w: 9, o: 2, kh: 5, kw: 5, sh: 3, sw: 3, mode: graph.Same},
		{name: "3x3 explicit pad 2,0,1,2", n: 2, c: 2, h: 5, w: 4, o: 1, kh: 3, kw: 3, sh: 1, sw: 1, pad: &graph.Padding{Top: 2, Bottom: 0, Left: 1, Right: 2}},
	} {
		t.Run(cc.name, func(t *testing.T) {
			pad := cc.padding(t)
			geo, oh, ow := geometryArgs(cc.n, cc.c, cc.h, cc.w, cc.kh, cc.kw, cc.sh, cc.sw, pad)
			geo = append(geo, cc.o)
			o, weights := cc.c*cc.o, cc.c*cc.o*cc.kh*cc.kw
			xShape, wShape, yShape := []int{cc.n, cc.c, cc.h, cc.w}, []int{o, 1, cc.kh, cc.kw}, []int{cc.n, o, oh, ow}
			x, w, dy := randomFloats(rng, cc.n*cc.c*cc.h*cc.w), randomFloats(rng, weights), randomFloats(rng, cc.n*o*oh*ow)

			y := make([]float32, len(dy))
			launch(t, "depthwise_conv", len(y), append([]any{x, w, y}, geo...)...)
			conv := graph.DepthwiseConv2D{StrideH: cc.sh, StrideW: cc.sw, Pad: pad}
			requireClose(t, "forward", y, execOp(t, conv, yShape, dense(x, xShape...), dense(w, wShape...)), tolerance)

			dx := make([]float32, len(x))
			launch(t, "depthwise_conv_grad_input", len(dx), append([]any{w, dy, dx}, geo...)...)
			backInput := graph.DepthwiseConv2DBackpropInput{StrideH: cc.sh, StrideW: cc.sw, Pad: pad, InC: cc.c, InH: cc.h, InW: cc.w}
			requireClose(t, "input gradient", dx, execOp(t, backInput, xShape, dense(w, wShape...), dense(dy, yShape...)), tolerance)

			partial, sums, dw := make([]float64, cc.n*weights), make([]float64, weights), make([]float32, weights)
			launch(t, "depthwise_conv_grad_filter", len(partial), append([]any{x, dy, partial}, geo...)...)
			launch(t, "channel_sums", weights, partial, sums, cc.n, weights, 1)
			launch(t, "narrow", weights, sums, dw)
			backFilter := graph.DepthwiseConv2DBackpropFilter{StrideH: cc.sh, StrideW: cc.sw, Pad: pad, KH: cc.kh, KW: cc.kw}
			requireClose(t, "kernel gradient", dw, execOp(t, backFilter, wShape, dense(x, xShape...), dense(dy, yShape...)), tolerance)
		})
	}
}

// TestDepthwiseMaxPool compares depthwise_maxpool and its gradient with graph's ops bit for bit, with
// ties (the first maximum of a group wins) and without.
func TestDepthwiseMaxPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	for _, pc := range []struct{ n, c, h, w, k int }{{2, 6, 3, 4, 3}, {1, 4, 5, 5, 2}, {3, 3, 2, 3, 1}, {2, 8, 1, 1, 4}, {1, 3, 4, 4, 3}} {
		for _, draw := range []struct {
			name string
			f    func(*rand.Rand, int) []float32
		}{{"random", randomFloats}, {"ties", tiedFloats}} {
			t.Run(fmt.Sprintf("%v k=%d, %s", []int{pc.n, pc.c, pc.h, pc.w}, pc.k, draw.name), func(t *testing.T) {
				xShape, yShape := []int{pc.n, pc.c, pc.h, pc.w}, []int{pc.n, pc.c / pc.k, pc.h, pc.w}
				plane := pc.h * pc.w
				x, dy := draw.f(rng, pc.n*pc.c*plane), randomFloats(rng, pc.n*pc.c/pc.k*plane)
				y, dx := make([]float32, len(dy)), make([]float32, len(x))
				launch(t, "depthwise_maxpool", len(y), x, y, pc.k, plane)
				requireExact(t, "depthwise_maxpool", y, execOp(t, graph.DepthwiseMaxPool{K: pc.k}, yShape, dense(x, xShape...)))
				launch(t, "depthwise_maxpool_grad", len(dx), x, dy, dx, pc.k, plane)
				want := execOp(t, graph.DepthwiseMaxPoolGrad{K: pc.k}, xShape, dense(x, xShape...), dense(dy, yShape...))
				requireExact(t, "depthwise_maxpool_grad", dx, want)
			})
		}
	}
}

// ---- dropout ----

func TestDropoutBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	x := randomFloats(rng, 1000)
	y := make([]float32, len(x))
	for _, rate := range []float64{0, 0.1, 0.3, 0.5, 0.9} {
		for _, step := range []int64{0, 7, 123456789, -1} {
			seed := uint64(42) + uint64(step)
			threshold, scale := int(uint32(rate*(1<<24))), float32(1/(1-rate))
			launch(t, "dropout", len(x), x, []int64{step}, y, threshold, scale, seed)
			stepTensor := tensor.New(tensor.FromScalar(step))
			what := fmt.Sprintf("rate %g step %d", rate, step)
			requireExact(t, what, y, execOp(t, graph.Dropout{Rate: rate, Seed: seed}, []int{len(x)}, dense(x, len(x)), stepTensor))
			requireExact(t, what+" (gradient)", y, execOp(t, graph.DropoutGrad{Rate: rate, Seed: seed}, []int{len(x)}, dense(x, len(x)), stepTensor))
		}
	}
}

// ---- softmax cross-entropy ----

func TestSoftmaxCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	n, k := 6, 10
	for _, smoothing := range []float32{0, 0.1} {
		for _, spread := range []float32{1, 60} {
			t.Run(fmt.Sprintf("smoothing %g spread %g", smoothing, spread), func(t *testing.T) {
				logits := randomFloats(rng, n*k)
				for i := range logits {
					logits[i] *= spread
				}
				labels := make([]int32, n)
				for i := range labels {
					labels[i] = int32(rng.IntN(k))
				}
				rows := make([]float32, n)
				launch(t, "softmax_xent_rows", n, logits, labels, rows, k, smoothing)
				var mean float64
				for _, v := range rows {
					mean += float64(v)
				}
				mean /= float64(n)
				loss := execScalar(t, graph.SoftmaxCrossEntropy{Smoothing: float64(smoothing)}, dense(logits, n, k), dense(labels, n))
				requireClose(t, "mean loss", []float32{float32(mean)}, []float32{loss}, tolerance)

				g := float32(0.7)
				d := make([]float32, n*k)
				launch(t, "softmax_xent_grad", n*k, logits, labels, []float32{g}, d, k, smoothing, float32(1/float64(n)))
				op := graph.SoftmaxCrossEntropyGrad{Smoothing: float64(smoothing)}
				requireClose(t, "gradient", d, execOp(t, op, []int{n, k}, dense(logits, n, k), dense(labels, n), tensor.New(tensor.FromScalar(g))), tolerance)
			})
		}
	}
}

func TestSoftmaxCrossEntropyBadLabel(t *testing.T) {
	logits, rows, d := []float32{1, 2, 3}, make([]float32, 1), make([]float32, 3)
	launch(t, "softmax_xent_rows", 1, logits, []int32{3}, rows, 3, float32(0))
	launch(t, "softmax_xent_grad", 3, logits, []int32{-1}, []float32{1}, d, 3, float32(0), float32(1))
	if !math.IsNaN(float64(rows[0])) || !math.IsNaN(float64(d[0])) {
		t.Fatalf("an out-of-range label gave loss %v, gradient %v; want NaN", rows[0], d)
	}
}

func TestCorrectRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	n, k := 40, 5
	for _, draw := range []func(*rand.Rand, int) []float32{randomFloats, tiedFloats} {
		logits := draw(rng, n*k)
		labels := make([]int32, n)
		for i := range labels {
			labels[i] = int32(rng.IntN(k))
		}
		correct := make([]float32, n)
		launch(t, "correct_rows", n, logits, labels, correct, k)
		var total float32
		for i, v := range correct {
			row, first := logits[i*k:(i+1)*k], 0
			for j, l := range row {
				if l > row[first] {
					first = j
				}
			}
			if want := first == int(labels[i]); (v == 1) != want || (v != 0 && v != 1) {
				t.Fatalf("row %d %v label %d: correct = %v", i, row, labels[i], v)
			}
			total += v
		}
		if want := execScalar(t, graph.CountCorrect{}, dense(logits, n, k), dense(labels, n)); total != want {
			t.Fatalf("%v rows correct, CountCorrect says %v", total, want)
		}
	}
}

// ---- concatenation ----

// TestConcat checks copy_blocks, launched as the plan lowers Concat and ConcatGrad (one launch per
// input, offsets in the pointers), against the graph ops, along every axis.
func TestConcat(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 1))
	shapes := [][]int{{2, 3, 4, 5}, {2, 1, 4, 5}, {2, 4, 4, 5}}
	for axis := range 4 {
		var ins []*tensor.Dense
		outShape := append([]int(nil), shapes[0]...)
		outShape[axis] = 0
		for _, base := range shapes {
			s := append([]int(nil), base...)
			s[1], s[axis] = shapes[0][1], base[1] // vary the concatenated axis only
			ins = append(ins, dense(randomFloats(rng, tensor.Shape(s).TotalSize()), s...))
			outShape[axis] += s[axis]
		}
		want := execOp(t, graph.Concat{Axis: axis, N: len(ins)}, outShape, ins...)
		outer, inner := graph.SplitAt(tensor.Shape(outShape), axis)
		total := outShape[axis] * inner
		got := make([]float32, len(want))
		offset := 0
		for _, x := range ins {
			size := x.Shape()[axis] * inner
			launch(t, "copy_blocks", outer*size, x.Float32s(), got[offset:], size, size, total)
			offset += size
		}
		requireExact(t, fmt.Sprintf("axis %d concat", axis), got, want)

		dy := dense(randomFloats(rng, len(want)), outShape...)
		offset = 0
		for i, x := range ins {
			c := x.Shape()[axis]
			wantDx := execOp(t, graph.ConcatGrad{Axis: axis, Offset: offset, Size: c}, x.Shape(), dy)
			gotDx := make([]float32, len(wantDx))
			launch(t, "copy_blocks", outer*c*inner, dy.Float32s()[offset*inner:], gotDx, c*inner, total, c*inner)
			requireExact(t, fmt.Sprintf("axis %d concat grad %d", axis, i), gotDx, wantDx)
			offset += c
		}
	}
}

// ---- optimiser ----

// adaptiveScalars are the adam kernel's per-step scalars, computed as training's optimizer does.
type adaptiveScalars struct {
	nesterov        bool
	b1, b2, eps, lr float64
	t               int
	uProduct        float64
}

// next advances to the following step and returns its kernel arguments after (p, g, m, v).
func (s *adaptiveScalars) next() []any {
	s.t++
	t := float64(s.t)
	cm, cg, cv, lr := 1.0, 0.0, 1.0, s.lr*math.Sqrt(1-math.Pow(s.b2, t))/(1-math.Pow(s.b1, t))
	if s.nesterov {
		ut := s.b1 * (1 - 0.5*math.Pow(0.96, t))
		ut1 := s.b1 * (1 - 0.5*math.Pow(0.96, t+1))
		prodT := s.uProduct * ut
		prodT1 := prodT * ut1
		s.uProduct = prodT
		cm, cg, cv, lr = ut1/(1-prodT1), (1-ut)/(1-prodT), 1/(1-math.Pow(s.b2, t)), s.lr
	}
	return []any{1 - float32(s.b1), 1 - float32(s.b2), float32(cm), float32(cg), float32(cv), float32(lr), float32(s.eps)}
}

// TestAdamMatchesKeras checks the adam kernel against Keras' Adam and Nadam written out in float64
// (training's device test checks it against fovea's own optimizer).
func TestAdamMatchesKeras(t *testing.T) {
	for _, name := range []string{"adam", "nadam"} {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 1))
			const size, lr, b1, b2, eps = 37, 1e-2, 0.9, 0.999, 1e-7
			start := randomFloats(rng, size)
			p, m, v := append([]float32(nil), start...), make([]float32, size), make([]float32, size)
			w64, m64, v64 := make([]float64, size), make([]float64, size), make([]float64, size)
			for i, x := range start {
				w64[i] = float64(x)
			}
			scalars := adaptiveScalars{nesterov: name == "nadam", b1: b1, b2: b2, eps: eps, lr: lr, uProduct: 1}
			uProduct := 1.0
			for step := 1; step <= 5; step++ {
				g := randomFloats(rng, size)
				launch(t, "adam", size, append([]any{p, g, m, v}, scalars.next()...)...)
				st := float64(step)
				ut := b1 * (1 - 0.5*math.Pow(0.96, st))
				ut1 := b1 * (1 - 0.5*math.Pow(0.96, st+1))
				prodT := uProduct * ut
				uProduct = prodT
				for i, gf := range g {
					gi := float64(gf)
					// Keras keeps β in float32 variables, so 1−β is a float32 difference.
					m64[i] += (gi - m64[i]) * float64(1-float32(b1))
					v64[i] += (gi*gi - v64[i]) * float64(1-float32(b2))
					if name == "adam" {
						alpha := lr * math.Sqrt(1-math.Pow(b2, st)) / (1 - math.Pow(b1, st))
						w64[i] -= alpha * m64[i] / (math.Sqrt(v64[i]) + eps)
					} else {
						mHat := ut1*m64[i]/(1-prodT*ut1) + (1-ut)*gi/(1-prodT)
						vHat := v64[i] / (1 - math.Pow(b2, st))
						w64[i] -= lr * mHat / (math.Sqrt(vHat) + eps)
					}
				}
				requireClose(t, fmt.Sprintf("step %d parameter", step), p, toFloat32s(w64), tolerance)
			}
			requireClose(t, "m", m, toFloat32s(m64), tolerance)
			requireClose(t, "v", v, toFloat32s(v64), tolerance)
		})
	}
}

// TestSGDMatchesKeras checks the sgd kernel against Keras' SGD (plain, momentum, Nesterov momentum)
// written out in float64, and bit for bit against the same update in float32 with every product
// rounded (training's sgdJob; training's device test checks it against fovea's own optimizer).
func TestSGDMatchesKeras(t *testing.T) {
	for _, tc := range []struct {
		name     string
		momentum float64
		nesterov bool
	}{{"plain", 0, false}, {"momentum", 0.9, false}, {"nesterov", 0.9, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 1))
			const size = 41
			start := randomFloats(rng, size)
			p, exact := append([]float32(nil), start...), append([]float32(nil), start...)
			var v, vExact []float32
			if tc.momentum != 0 {
				v, vExact = make([]float32, size), make([]float32, size)
			}
			w64, v64 := make([]float64, size), make([]float64, size)
			for i, x := range start {
				w64[i] = float64(x)
			}
			mu := float32(tc.momentum)
			for step := 1; step <= 5; step++ {
				lr := 0.05 / (1 + 0.01*float64(step-1)) // Keras' legacy decay, as the schedule gives it
				g := randomFloats(rng, size)
				launch(t, "sgd", size, p, g, v, mu, float32(lr), boolInt(tc.nesterov))
				rate := float32(lr)
				for i, gi := range g {
					if vExact == nil {
						exact[i] -= float32(rate * gi)
					} else {
						vExact[i] = float32(mu*vExact[i]) - float32(rate*gi)
						if tc.nesterov {
							exact[i] += float32(mu*vExact[i]) - float32(rate*gi)
						} else {
							exact[i] += vExact[i]
						}
					}
					v64[i] = float64(mu)*v64[i] - lr*float64(gi)
					if tc.nesterov {
						w64[i] += float64(mu)*v64[i] - lr*float64(gi)
					} else {
						w64[i] += v64[i]
					}
				}
				requireExact(t, fmt.Sprintf("step %d parameter", step), p, exact)
				requireClose(t, fmt.Sprintf("step %d parameter (Keras)", step), p, toFloat32s(w64), tolerance)
			}
			if v != nil {
				requireExact(t, "velocity", v, vExact)
				requireClose(t, "velocity (Keras)", v, toFloat32s(v64), tolerance)
			}
		})
	}
}

func toFloat32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// ---- global average pooling ----

func TestGlobalAvgPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 1))
	for _, shape := range [][]int{{2, 3, 4, 5}, {1, 2, 7, 7}, {3, 4, 1, 1}} {
		n, c, h, w := shape[0], shape[1], shape[2], shape[3]
		x, dy := randomFloats(rng, n*c*h*w), randomFloats(rng, n*c)
		y, dx := make([]float32, n*c), make([]float32, n*c*h*w)
		launch(t, "global_avgpool", n*c, x, y, h*w)
		requireExact(t, fmt.Sprint(shape, " global_avgpool"), y, execOp(t, graph.GlobalAvgPool{}, []int{n, c}, dense(x, shape...)))
		launch(t, "global_avgpool_grad", len(dx), dy, dx, h*w)
		requireExact(t, fmt.Sprint(shape, " global_avgpool_grad"), dx, execOp(t, graph.GlobalAvgPoolGrad{H: h, W: w}, shape, dense(dy, n, c)))
	}
}

// ---- batch normalisation ----

// channelReduce runs a plan's per-channel reduction of x (n, c, inner): plane_sums, then channel_sums
// dividing by count.
func channelReduce(t *testing.T, x, w []float32, mean []float64, n, c, inner, count int) []float64 {
	t.Helper()
	planes, out := make([]float64, n*c), make([]float64, c)
	launch(t, "plane_sums", n*c, x, w, mean, planes, c, inner)
	launch(t, "channel_sums", c, planes, out, n, c, count)
	return out
}

// TestBatchNorm runs every batch normalisation kind as a plan lowers it and compares with graph's CPU
// ops, on images (N, C, H, W) and dense activations (N, C).
func TestBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	const eps = 1e-3
	for _, shape := range [][]int{{2, 3, 4, 5}, {6, 4}, {1, 2, 3, 3}, {3, 5, 1, 1}, {2, 1, 1, 1}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			n, c := shape[0], shape[1]
			size := 1
			for _, d := range shape {
				size *= d
			}
			inner, count := size/(n*c), size/c
			x, dy := randomFloats(rng, size), randomFloats(rng, size)
			for i := range x {
				x[i] = 2*x[i] + float32(i/inner%c) // channels with means of their own
			}
			gamma, beta := randomFloats(rng, c), randomFloats(rng, c)
			movingMean, movingVar := randomFloats(rng, c), positiveFloats(rng, c)
			xT, dyT := dense(x, shape...), dense(dy, shape...)
			vec := func(v []float32) *tensor.Dense { return dense(v, c) }
			y, dx := make([]float32, size), make([]float32, size)
			scale, shift, dgamma := make([]float32, c), make([]float32, c), make([]float32, c)

			// Training mode: the batch's statistics.
			mean := channelReduce(t, x, nil, nil, n, c, inner, count)
			variance := channelReduce(t, x, nil, mean, n, c, inner, count)
			launch(t, "batchnorm_fold", c, gamma, beta, mean, variance, scale, shift, float64(eps))
			launch(t, "channel_affine", size, x, scale, shift, y, c, inner, flagScale|flagBias)
			requireClose(t, "batchnorm_train", y, execOp(t, graph.BatchNormTrain{Eps: eps}, shape, xT, vec(gamma), vec(beta)), tolerance)

			stats := make([]float32, 2*c)
			launch(t, "narrow", c, mean, stats)
			launch(t, "narrow", c, variance, stats[c:])
			requireClose(t, "batch_stats", stats, execOp(t, graph.BatchStats{Rank: len(shape)}, []int{2, c}, xT), tolerance)

			meanDy := channelReduce(t, dy, nil, nil, n, c, inner, count)
			meanDyXc := channelReduce(t, x, dy, mean, n, c, inner, count)
			launch(t, "batchnorm_train_grad", size, x, dy, gamma, mean, variance, meanDy, meanDyXc, dx, c, inner, float64(eps))
			requireClose(t, "batchnorm_train_grad", dx, execOp(t, graph.BatchNormTrainGrad{Eps: eps}, shape, xT, vec(gamma), dyT), tolerance)

			sum := channelReduce(t, x, dy, mean, n, c, inner, 1)
			launch(t, "batchnorm_gamma_grad", c, sum, variance, dgamma, float64(eps))
			requireClose(t, "batchnorm_gamma_grad", dgamma, execOp(t, graph.BatchNormGammaGrad{Eps: eps, Rank: len(shape)}, []int{c}, xT, dyT), tolerance)

			// Inference mode: given (moving) statistics.
			m64, v64 := make([]float64, c), make([]float64, c)
			launch(t, "widen", c, movingMean, m64)
			launch(t, "widen", c, movingVar, v64)
			launch(t, "batchnorm_fold", c, gamma, beta, m64, v64, scale, shift, float64(eps))
			launch(t, "channel_affine", size, x, scale, shift, y, c, inner, flagScale|flagBias)
			infer := execOp(t, graph.BatchNormInfer{Eps: eps}, shape, xT, vec(gamma), vec(beta), vec(movingMean), vec(movingVar))
			requireExact(t, "batchnorm_infer", y, infer)

			launch(t, "batchnorm_fold", c, gamma, []float32(nil), []float64(nil), v64, scale, shift, float64(eps))
			launch(t, "channel_affine", size, dy, scale, shift, dx, c, inner, flagScale|flagBias)
			requireExact(t, "batchnorm_infer_grad", dx, execOp(t, graph.BatchNormInferGrad{Eps: eps}, shape, vec(gamma), vec(movingVar), dyT))

			sum = channelReduce(t, x, dy, m64, n, c, inner, 1)
			launch(t, "batchnorm_gamma_grad", c, sum, v64, dgamma, float64(eps))
			op := graph.BatchNormInferGammaGrad{Eps: eps, Rank: len(shape)}
			requireClose(t, "batchnorm_infer_gamma_grad", dgamma, execOp(t, op, []int{c}, xT, vec(movingMean), vec(movingVar), dyT), tolerance)
		})
	}
}

// TestScale checks the scale kernel against training's decoupled weight decay (w *= float32(1 − lr·rate)).
func TestScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	for _, factor := range []float32{1 - 0.05*0.1, 0.5, 1, 0} {
		p := randomFloats(rng, 37)
		want := append([]float32(nil), p...)
		for i := range want {
			want[i] *= factor
		}
		launch(t, "scale", len(p), p, factor)
		requireExact(t, fmt.Sprintf("factor %g", factor), p, want)
	}
}

// TestMovingAverage checks the moving_average kernel against training's update of moving statistics
// (training.stateUpdate: param = m·param + (1−m)·value in float32), on a slice of a longer value as
// BatchStats' variances are.
func TestMovingAverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	const c = 19
	for _, momentum := range []float64{0.99, 0.9, 0} {
		p, value := randomFloats(rng, c), randomFloats(rng, 2*c)
		want := append([]float32(nil), p...)
		m := float32(momentum)
		for i, v := range value[c:] {
			want[i] = m*want[i] + (1-m)*v
		}
		launch(t, "moving_average", c, p, value[c:], m)
		requireExact(t, fmt.Sprintf("momentum %g", momentum), p, want)
	}
}
