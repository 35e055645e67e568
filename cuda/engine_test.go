//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"fovea/arch"

	"gorgonia.org/tensor"
)

// TestEngineKernels runs each plan launch by launch on the GPU and in the interpreter from identical
// device states, and compares every buffer after every launch: a table of each kernel's worst relative
// error (float32), NaNs, and elements the GPU left unwritten (buffers start as NaN on both sides).
func TestEngineKernels(t *testing.T) {
	table := compareKernels(t, func(p *Plan) (Executor, error) { return NewEngine(p) })
	writeKernelTable(t, "kernels.txt", table)
}

// TestEngineMatchesProgram runs whole training steps on the GPU: loss, accuracy and every gradient
// must match the CPU program.
func TestEngineMatchesProgram(t *testing.T) {
	for i, tc := range kernelCases {
		t.Run(tc.name, func(t *testing.T) {
			prog, outs := kernelCaseProgram(t, i)
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

// TestEngineGraphReplay runs training programs with Plan.Graphs: the first run launches kernel by
// kernel, the second captures the CUDA graph and replays it, the third and fourth replay it; each must
// match the CPU program. Every run gets a new batch and a new step (dropout's mask), so a replay that
// kept a captured value instead of reading the uploaded one fails.
func TestEngineGraphReplay(t *testing.T) {
	for i, tc := range kernelCases {
		t.Run(tc.name, func(t *testing.T) {
			prog, outs := kernelCaseProgram(t, i)
			plan := mustLower(t, prog)
			plan.Graphs = true
			eng, err := NewEngine(plan)
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			for run := 1; run <= 4; run++ {
				newBatch(plan, kernelCases[i].model, kernelCases[i].batch, run)
				checkAgainstProgram(t, eng, plan, prog, outs)
			}
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

// newBatch gives a plan's batch inputs new values for run: random images and labels, and the step
// (dropout's mask) set to run. Parameters keep theirs.
func newBatch(plan *Plan, m arch.Model, batch, run int) {
	rng := rand.New(rand.NewPCG(uint64(run), 11))
	c, h, w := m.InputShape()
	for _, in := range plan.Inputs {
		switch {
		case in.Dtype() == tensor.Int64:
			in.Int64s()[0] = int64(run)
		case in.Dtype() == tensor.Int32 && in.Shape().Eq(tensor.Shape{batch}):
			for j := range in.Int32s() {
				in.Int32s()[j] = int32(rng.IntN(m.Classes()))
			}
		case in.Dtype() == tensor.Float32 && in.Shape().Eq(tensor.Shape{batch, c, h, w}):
			for j := range in.Float32s() {
				in.Float32s()[j] = float32(rng.NormFloat64())
			}
		}
	}
}
