package cuda

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"unsafe"

	"fovea/arch"
	"fovea/graph"

	"gorgonia.org/tensor"
)

// kernelCases are the training programs whose every launch the kernel checks compare between an
// executor and the Go emulations: on the GPU (TestEngineKernels) and as host-compiled CUDA C
// (TestHostKernels). Their table lists the catalogue kernels these programs do not launch; training's
// GPU test runs adam, sgd, scale and moving_average. The residual, BatchNorm and depthwise models are
// plan_test.go's.
var kernelCases = []struct {
	name      string
	model     arch.Model
	batch     int
	smoothing float64
	params    func(t *testing.T) *graph.Params // nil: new parameters
}{
	{"fcn", arch.FashionFCN{}, 16, 0, nil},
	{"cnn", arch.FashionCNN{}, 8, 0.1, nil},
	{"resnet-small", smallResNet, 8, 0.1, nil},
	{"resnet-small frozen batchnorm", smallResNet, 8, 0, func(t *testing.T) *graph.Params {
		return prepared(t, smallResNet, func(name string) bool { return strings.Contains(name, "batch_normalization") })
	}},
	{"bn-infer", bnInferNet{}, 8, 0, func(t *testing.T) *graph.Params {
		return prepared(t, bnInferNet{}, func(name string) bool { return name == "dense/bias" })
	}},
	{"squeezenet", arch.Classifier{Backbone: arch.SqueezeNet{Height: 48, Width: 48}, NumClasses: 5, Dropout: 0.2}, 4, 0.1, nil},
	{"depthwise", depthwiseNet{}, 8, 0, nil},
	{"oblong", oblongNet{}, 5, 0, nil},
}

// kernelCaseProgram compiles a kernel case's training program.
func kernelCaseProgram(t *testing.T, i int) (*graph.Program, []*tensor.Dense) {
	tc := kernelCases[i]
	params := graph.NewParams()
	if tc.params != nil {
		params = tc.params(t)
	}
	return trainingProgramWith(t, tc.model, params, tc.batch, tc.smoothing)
}

// kernelStats accumulates one kernel's worst error over its launches.
type kernelStats struct {
	launches  int
	maxRel    float64
	unwritten int
}

// compareKernels runs each kernel case's plan launch by launch on the executor newExec makes and in the
// interpreter (the Go emulations) from identical states, and compares every buffer after every launch.
// It fails a kernel whose worst relative error (float32) is over 1e-4, or that leaves elements NaN
// (buffers start as NaN on both sides, so an unwritten element stays NaN), and returns the table of
// every kernel: launches, worst relative error, unwritten elements, verdict.
func compareKernels(t *testing.T, newExec func(*Plan) (Executor, error)) string {
	stats := map[string]*kernelStats{}
	for i, tc := range kernelCases {
		prog, _ := kernelCaseProgram(t, i)
		plan := mustLower(t, prog)
		interp, err := NewInterpreter(plan)
		if err != nil {
			t.Fatal(err)
		}
		exec, err := newExec(plan)
		if err != nil {
			t.Fatal(err)
		}
		fillNaN := func(x Executor) {
			for i, b := range plan.Buffers {
				if plan.Buffers[i].Name == "ones" {
					continue
				}
				nan := make([]byte, b.Bytes)
				for j := 0; j+4 <= len(nan); j += 4 {
					*(*uint32)(unsafe.Pointer(&nan[j])) = 0x7fc00000
				}
				if err := x.SetBuffer(i, nan); err != nil {
					t.Fatal(err)
				}
			}
			for _, in := range plan.Inputs {
				if err := x.Upload(in); err != nil {
					t.Fatal(err)
				}
			}
		}
		fillNaN(interp)
		fillNaN(exec)
		for i, l := range plan.Launches {
			if err := interp.RunLaunch(i); err != nil {
				t.Fatal(err)
			}
			if err := exec.RunLaunch(i); err != nil {
				t.Fatalf("%s launch %d (%s, %s): %v", tc.name, i, l.Kernel, l.Step, err)
			}
			st := stats[l.Kernel]
			if st == nil {
				st = &kernelStats{}
				stats[l.Kernel] = st
			}
			st.launches++
			for b := range plan.Buffers {
				want, _ := interp.Buffer(b)
				got, err := exec.Buffer(b)
				if err != nil {
					t.Fatal(err)
				}
				rel, unwritten := compareFloats(got, want)
				st.maxRel = max(st.maxRel, rel)
				st.unwritten += unwritten
				// Continue from identical states so each kernel is judged on its own inputs.
				if err := exec.SetBuffer(b, want); err != nil {
					t.Fatal(err)
				}
			}
		}
		exec.Close()
		interp.Close()
	}
	var names []string
	for k := range stats {
		names = append(names, k)
	}
	sort.Strings(names)
	var table strings.Builder
	fmt.Fprintf(&table, "%-26s %9s %12s %10s %s\n", "kernel", "launches", "max rel err", "unwritten", "verdict")
	for _, k := range names {
		st := stats[k]
		verdict := "ok"
		if st.maxRel > 1e-4 || math.IsNaN(st.maxRel) || st.unwritten > 0 {
			verdict = "FAIL"
			t.Errorf("kernel %s: max relative error %.3g, %d unwritten or NaN elements", k, st.maxRel, st.unwritten)
		}
		fmt.Fprintf(&table, "%-26s %9d %12.3g %10d %s\n", k, st.launches, st.maxRel, st.unwritten, verdict)
	}
	for _, spec := range Kernels {
		if stats[spec.Name] == nil {
			fmt.Fprintf(&table, "%-26s %9d %12s %10s %s\n", spec.Name, 0, "-", "-", "not launched by these programs")
		}
	}
	return table.String()
}

// compareFloats compares two buffers as float32s: the relative error (max |a−b| over max |b|) where b
// is finite, and the count of elements finite in want but not in got.
func compareFloats(gotB, wantB []byte) (float64, int) {
	n := len(wantB) / 4
	if n == 0 {
		return 0, 0
	}
	got := unsafe.Slice((*float32)(unsafe.Pointer(&gotB[0])), n)
	want := unsafe.Slice((*float32)(unsafe.Pointer(&wantB[0])), n)
	var diff, scale float64
	bad := 0
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsNaN(w) || math.IsInf(w, 0) {
			continue
		}
		if math.IsNaN(g) || math.IsInf(g, 0) {
			bad++
			continue
		}
		diff = max(diff, math.Abs(g-w))
		scale = max(scale, math.Abs(w))
	}
	if scale == 0 {
		return diff, bad
	}
	return diff / scale, bad
}

// writeKernelTable logs a kernel table and, when $OUT is set, writes it to $OUT/name.
func writeKernelTable(t *testing.T, name, table string) {
	t.Log("\n" + table)
	if out := os.Getenv("OUT"); out != "" {
		_ = os.WriteFile(out+"/"+name, []byte(table), 0o644)
	}
}
