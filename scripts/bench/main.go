// Command bench times one training step (forward, backward, optimizer) of fovea's models and of the
// identical PyTorch models (scripts/torchref/fashion.py) one after the other on this machine, on the CPU
// or a GPU, and prints images/s, the fovea/PyTorch ratio and each process's peak memory. For Xception
// it times the forward pass at 224×224×3 in inference mode (scripts/torchref/xception.py).
//
//	go run ./scripts/bench                                   # CNN and FCN at batch 32 and 128, CPU, 2 threads
//	go run ./scripts/bench -models resnet34                  # ResNet-34 on 28×28×1
//	go run ./scripts/bench -models xception -batches 8 -steps 3   # Xception's forward pass
//	go run ./scripts/bench -models cnn -batches 32 -threads 2
//	go run -tags gpu ./scripts/bench -device cuda -batches 32,256   # on GPU 0, against PyTorch eager (cuDNN), both on TF32 tensor cores
//	go run -tags gpu ./scripts/bench -device cuda -precision fp32   # both sides in IEEE FP32
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"fovea/arch"
	"fovea/data"
	"fovea/training"
)

// result is one measurement, in the JSON form both sides print.
type result struct {
	Impl         string  `json:"impl"`
	Model        string  `json:"model"`
	Batch        int     `json:"batch"`
	ImagesPerSec float64 `json:"images_per_sec"`
	MsPerStep    float64 `json:"ms_per_step"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	// PyTorch's effective TF32 switches (cuDNN convolutions, matmuls).
	ConvTF32   bool `json:"conv_tf32"`
	MatmulTF32 bool `json:"matmul_tf32"`
}

func main() {
	models := flag.String("models", "cnn,fcn", "comma-separated models: cnn, fcn, resnet34 (28×28×1), xception (forward pass, 224×224×3)")
	batches := flag.String("batches", "32,128", "comma-separated batch sizes")
	threads := flag.Int("threads", 2, "threads for both fovea and PyTorch")
	device := flag.String("device", "cpu", "device for both fovea and PyTorch: cpu, or cuda (fovea needs a build with -tags gpu)")
	steps := flag.Int("steps", 10, "timed steps per repeat")
	repeats := flag.Int("repeats", 3, "repeats; the fastest counts")
	python := flag.String("python", defaultPython(), "Python with PyTorch (Debian's python3-torch at /usr/bin/python3 when it exists); empty skips PyTorch")
	precision := flag.String("precision", "", "GPU math for both sides: tf32 (tensor cores: fovea's GEMMs, PyTorch's convolutions and matmuls; the default with -device cuda, as both frameworks' convolutions default to it) or fp32 (IEEE; PyTorch's TF32 switched off; the only choice on the CPU)")
	graphs := flag.Bool("cuda-graphs", false, "with -device cuda: fovea replays each step as one CUDA graph")
	one := flag.String("one", "", "internal: measure fovea only for model:batch in this process")
	flag.Parse()
	if *precision == "" {
		*precision = "fp32"
		if *device == "cuda" {
			*precision = "tf32"
		}
	}
	if *precision != "fp32" && *precision != "tf32" {
		fmt.Fprintf(os.Stderr, "bench: -precision %q: want fp32 or tf32\n", *precision)
		os.Exit(2)
	}
	tf32 := *precision == "tf32"
	if tf32 && *device == "cpu" {
		fmt.Fprintln(os.Stderr, "bench: -precision tf32 needs -device cuda")
		os.Exit(2)
	}
	if *graphs && *device == "cpu" {
		fmt.Fprintln(os.Stderr, "bench: -cuda-graphs needs -device cuda")
		os.Exit(2)
	}
	if *one != "" {
		if err := measureOne(*one, *device, tf32, *graphs, *threads, *steps, *repeats); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Printf("%-8s %6s %14s %14s %7s %12s %12s\n", "model", "batch", "fovea img/s", "torch img/s", "ratio", "fovea MB", "torch MB")
	for _, m := range strings.Split(*models, ",") {
		for _, b := range strings.Split(*batches, ",") {
			ours, err := run(self, "-one", m+":"+b, "-device", *device, "-precision", *precision, "-cuda-graphs="+strconv.FormatBool(*graphs), "-threads", strconv.Itoa(*threads), "-steps", strconv.Itoa(*steps), "-repeats", strconv.Itoa(*repeats))
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench: fovea:", err)
				os.Exit(1)
			}
			var theirs result
			if *python != "" {
				script := "scripts/torchref/fashion.py"
				if m == "xception" {
					script = "scripts/torchref/xception.py"
				}
				args := []string{script, "bench", "--model", m, "--batch", b, "--threads", strconv.Itoa(*threads),
					"--device", *device, "--steps", strconv.Itoa(*steps), "--repeats", strconv.Itoa(*repeats)}
				if m != "xception" { // the Xception benchmark is a CPU forward pass, with no precision switch
					args = append(args, "--precision", *precision)
				}
				if theirs, err = run(*python, args...); err != nil {
					fmt.Fprintln(os.Stderr, "bench: pytorch:", err)
				}
			}
			ratio := "-"
			if theirs.ImagesPerSec > 0 {
				ratio = fmt.Sprintf("%.2f", ours.ImagesPerSec/theirs.ImagesPerSec)
			}
			fmt.Printf("%-8s %6s %14.1f %14.1f %7s %12.0f %12.0f\n", m, b, ours.ImagesPerSec, theirs.ImagesPerSec, ratio, ours.PeakRSSMB, theirs.PeakRSSMB)
			if theirs.Impl != "" && *device != "cpu" {
				fmt.Printf("%-8s %6s precision %s; PyTorch's TF32: convolutions %v, matmuls %v\n", "", "", *precision, theirs.ConvTF32, theirs.MatmulTF32)
			}
		}
	}
}

// defaultPython is Debian's Python, which has python3-torch here, or else the first python3 on PATH
// (the GPU machine's has PyTorch with CUDA).
func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// run executes a measuring process and parses the JSON line it prints last.
func run(name string, args ...string) (result, error) {
	var out, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		return result{}, fmt.Errorf("%s: output %q: %v", name, out.String(), err)
	}
	return r, nil
}

// measureOne times fovea's training step (Xception: its forward pass) for "model:batch" on random data
// and prints a result line.
func measureOne(spec, device string, tf32, graphs bool, threads, steps, repeats int) error {
	name, b, ok := strings.Cut(spec, ":")
	batch, err := strconv.Atoi(b)
	if !ok || err != nil || batch <= 0 {
		return fmt.Errorf("bad -one %q (want model:batch)", spec)
	}
	var model arch.Model
	switch name {
	case "cnn":
		model = arch.FashionCNN{}
	case "fcn":
		model = arch.FashionFCN{}
	case "resnet34":
		model = arch.ResNet34(1, 28, 28, 10)
	case "xception":
		if device != "cpu" {
			return fmt.Errorf("the xception forward-pass benchmark runs on the CPU only")
		}
		model = arch.Classifier{Backbone: arch.Xception{Height: 224, Width: 224}, NumClasses: 1000}
	default:
		return fmt.Errorf("unknown model %q", name)
	}
	t, err := training.NewTrainer(model, nil, training.Config{BatchSize: batch, EvalBatchSize: batch, Threads: threads, Device: device, TF32: tf32, CUDAGraphs: graphs,
		Optimizer: training.OptimizerConfig{Name: "nadam"}, Norm: &data.Standardizer{}})
	if err != nil {
		return err
	}
	defer t.Close()
	if name == "xception" {
		return measureForward(t, name, batch, steps, repeats)
	}
	c, h, w := model.InputShape()
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := make([]float32, batch*c*h*w), make([]int32, batch)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range y {
		y[i] = int32(rng.IntN(model.Classes()))
	}
	for i := 0; i < 3; i++ { // warm-up: buffers, caches, worker threads
		if _, _, err := t.TrainOnBatch(x, y, 1e-3); err != nil {
			return err
		}
	}
	best := time.Duration(1<<63 - 1)
	for r := 0; r < repeats; r++ {
		start := time.Now()
		for s := 0; s < steps; s++ {
			if _, _, err := t.TrainOnBatch(x, y, 1e-3); err != nil {
				return err
			}
		}
		best = min(best, time.Since(start))
	}
	res := result{Impl: "fovea", Model: name, Batch: batch,
		ImagesPerSec: float64(steps*batch) / best.Seconds(), MsPerStep: 1000 * best.Seconds() / float64(steps), PeakRSSMB: peakRSSMB()}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// measureForward times the model's inference-mode program (forward pass, loss and accuracy) on a batch
// of zeros: the compute does not depend on the values.
func measureForward(t *training.Trainer, name string, batch, steps, repeats int) error {
	p, err := t.Program(batch, false)
	if err != nil {
		return err
	}
	if err := p.Run(); err != nil { // warm-up: buffers, caches, worker threads
		return err
	}
	best := time.Duration(1<<63 - 1)
	for r := 0; r < repeats; r++ {
		start := time.Now()
		for s := 0; s < steps; s++ {
			if err := p.Run(); err != nil {
				return err
			}
		}
		best = min(best, time.Since(start))
	}
	res := result{Impl: "fovea", Model: name, Batch: batch,
		ImagesPerSec: float64(steps*batch) / best.Seconds(), MsPerStep: 1000 * best.Seconds() / float64(steps), PeakRSSMB: peakRSSMB()}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// peakRSSMB reads this process's peak resident memory (VmHWM) from /proc.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
