//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"fovea/arch"
	"fovea/graph"

	"gorgonia.org/tensor"
)

// engineCase is a training program to run on the GPU (TestEngineKernels' table lists the catalogue
// kernels they do not launch; training's GPU test runs adam, sgd, scale and moving_average). The residual,
// BatchNorm and depthwise cases are plan_test.go's.
var engineCases = []struct {
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
}

// engineProgram compiles an engine case's training program.
func engineProgram(t *testing.T, i int) (*graph.Program, []*tensor.Dense) {
	tc := engineCases[i]
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

// TestEngineKernels runs each plan launch by launch on the GPU and in the interpreter from identical
// device states, and compares every buffer after every launch: a table of each kernel's worst relative
// error (float32), NaNs, and elements the GPU left unwritten (buffers start as NaN on both sides).
func TestEngineKernels(t *testing.T) {
	stats := map[string]*kernelStats{}
	for i, tc := range engineCases {
		prog, _ := engineProgram(t, i)
		plan := mustLower(t, prog)
		interp, err := NewInterpreter(plan)
		if err != nil {
			t.Fatal(err)
		}
		eng, err := NewEngine(plan)
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
		fillNaN(eng)
		for i, l := range plan.Launches {
			if err := interp.RunLaunch(i); err != nil {
				t.Fatal(err)
			}
			if err := eng.RunLaunch(i); err != nil {
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
				got, err := eng.Buffer(b)
				if err != nil {
					t.Fatal(err)
				}
				rel, unwritten := compareFloats(got, want)
				st.maxRel = max(st.maxRel, rel)
				st.unwritten += unwritten
				// Continue from identical states so each kernel is judged on its own inputs.
				if err := eng.SetBuffer(b, want); err != nil {
					t.Fatal(err)
				}
			}
		}
		eng.Close()
		interp.Close()
	}
	var names []string
	for k := range stats {
		names = append(names, k)
	}
	sort.Strings(names)
	var table strings.Builder
	fmt.Fprintf(&table, "%-20s %9s %12s %10s %s\n", "kernel", "launches", "max rel err", "unwritten", "verdict")
	for _, k := range names {
		st := stats[k]
		verdict := "ok"
		if st.maxRel > 1e-4 || math.IsNaN(st.maxRel) || st.unwritten > 0 {
			verdict = "FAIL"
			t.Errorf("kernel %s: max relative error %.3g, %d unwritten or NaN elements", k, st.maxRel, st.unwritten)
		}
		fmt.Fprintf(&table, "%-20s %9d %12.3g %10d %s\n", k, st.launches, st.maxRel, st.unwritten, verdict)
	}
	for _, spec := range Kernels {
		if stats[spec.Name] == nil {
			fmt.Fprintf(&table, "%-20s %9d %12s %10s %s\n", spec.Name, 0, "-", "-", "not launched by these programs")
		}
	}
	t.Log("\n" + table.String())
	if out := os.Getenv("OUT"); out != "" {
		_ = os.WriteFile(out+"/kernels.txt", []byte(table.String()), 0o644)
	}
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

// TestEngineMatchesProgram runs whole training steps on the GPU: loss, accuracy and every gradient
// must match the CPU program.
func TestEngineMatchesProgram(t *testing.T) {
	for i, tc := range engineCases {
		t.Run(tc.name, func(t *testing.T) {
			prog, outs := engineProgram(t, i)
			plan := mustLower(t, prog)
			eng, err := NewEngine(plan)
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			checkAgainstProgram(t, eng, plan, prog, outs)
			t.Logf("%s on %s: %d launches, loss %.5f", tc.name, eng.Device(), len(plan.Launches), outs[0].Float32s()[0])
		})
	}
}

// TestEngineProfile times every launch of the CNN's forward and backward pass at batch 256 on its own
// (launch and wait, best of five) and prints the time per kernel, most expensive first: where the GPU
// step's time goes.
func TestEngineProfile(t *testing.T) {
	prog, _ := trainingProgram(t, arch.FashionCNN{}, 256, 0)
	plan := mustLower(t, prog)
	eng, err := NewEngine(plan)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, in := range plan.Inputs {
		if err := eng.Upload(in); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Run(); err != nil {
		t.Fatal(err)
	}
	perKernel := map[string]time.Duration{}
	var total time.Duration
	for i, l := range plan.Launches {
		best := time.Duration(math.MaxInt64)
		for r := 0; r < 5; r++ {
			start := time.Now()
			if err := eng.RunLaunch(i); err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
		}
		name := l.Kernel
		if l.Gemm != nil {
			name = fmt.Sprintf("gemm %dx%dx%d", l.Gemm.M, l.Gemm.N, l.Gemm.K)
		}
		perKernel[name] += best
		total += best
	}
	var names []string
	for k := range perKernel {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return perKernel[names[i]] > perKernel[names[j]] })
	var b strings.Builder
	fmt.Fprintf(&b, "CNN forward+backward, batch 256, %d launches, %.3f ms in all (each launch timed alone, with its wait)\n", len(plan.Launches), total.Seconds()*1e3)
	for _, k := range names {
		fmt.Fprintf(&b, "%-28s %8.3f ms %5.1f%%\n", k, perKernel[k].Seconds()*1e3, 100*perKernel[k].Seconds()/total.Seconds())
	}
	t.Log("\n" + b.String())
	if out := os.Getenv("OUT"); out != "" {
		_ = os.WriteFile(out+"/profile.txt", []byte(b.String()), 0o644)
	}
}

// TestEngineOutOfMemory asks for a buffer no GPU has: NewEngine must fail with an error naming the
// buffer and its size, and leave the device usable (an engine made right after works).
func TestEngineOutOfMemory(t *testing.T) {
	huge := &Plan{Buffers: []Buffer{{Name: "small", Bytes: 1 << 10}, {Name: "huge activations", Bytes: 1 << 46}}}
	_, err := NewEngine(huge)
	if err == nil {
		t.Fatal("a 64 TiB buffer was allocated")
	}
	for _, want := range []string{"out of device memory", "huge activations", "70368744.2 MB"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	t.Logf("error: %v", err)
	e, err := NewEngine(&Plan{Buffers: []Buffer{{Name: "after", Bytes: 1 << 20}}})
	if err != nil {
		t.Fatalf("after an out-of-memory failure: %v", err)
	}
	e.Close()
}
