package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPTXAssembles assembles fovea.ptx for the H100/H200 (sm_90) with ptxas, as the driver's JIT will
// there: a PTX error shows here instead of on a GPU machine. It also fails a kernel that spills
// registers to local memory. Skips without ptxas (scripts/gpu/setup.sh installs it).
func TestPTXAssembles(t *testing.T) {
	ptxas, err := exec.LookPath("ptxas")
	if err != nil {
		t.Skip("ptxas is not installed (scripts/gpu/setup.sh installs the CUDA toolkit)")
	}
	out, err := exec.Command(ptxas, "-arch=sm_90", "-v", "-o", filepath.Join(t.TempDir(), "fovea.cubin"), "fovea.ptx").CombinedOutput()
	if err != nil {
		t.Fatalf("ptxas: %v\n%s", err, out)
	}
	entry := ""
	for _, line := range strings.Split(string(out), "\n") {
		if m := regexp.MustCompile(`Compiling entry function '(\w+)'`).FindStringSubmatch(line); m != nil {
			entry = m[1]
		}
		if m := regexp.MustCompile(`(\d+) bytes spill stores`).FindStringSubmatch(line); m != nil && m[1] != "0" {
			t.Errorf("%s spills registers: %s", entry, strings.TrimSpace(line))
		}
	}
}

// TestPTXIsCurrent compiles fovea.cu as gen.go does and compares the result with the committed
// fovea.ptx, when this machine's nvcc is the release that generated it (other releases emit other
// PTX): an edit of fovea.cu without go generate fails here.
func TestPTXIsCurrent(t *testing.T) {
	nvcc, err := exec.LookPath("nvcc")
	if err != nil {
		t.Skip("nvcc is not installed (scripts/gpu/setup.sh installs the CUDA toolkit)")
	}
	committed, err := os.ReadFile("fovea.ptx")
	if err != nil {
		t.Fatal(err)
	}
	version, err := exec.Command(nvcc, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	release := regexp.MustCompile(`Cuda compilation tools, release [^\n]*`).Find(version)
	if release == nil || !bytes.Contains(committed, release) {
		t.Skipf("this nvcc (%s) is not the release that generated fovea.ptx", release)
	}
	// gen.go's go:generate line, writing elsewhere.
	gen, err := os.ReadFile("gen.go")
	if err != nil {
		t.Fatal(err)
	}
	directive := regexp.MustCompile(`(?m)^//go:generate nvcc (.*)$`).FindSubmatch(gen)
	if directive == nil {
		t.Fatal("gen.go has no go:generate nvcc line")
	}
	fresh := filepath.Join(t.TempDir(), "fovea.ptx")
	args := strings.Fields(string(directive[1]))
	for i := range args {
		if args[i] == "fovea.ptx" {
			args[i] = fresh
		}
	}
	if out, err := exec.Command(nvcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("nvcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	got, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Error("fovea.ptx is not fovea.cu's PTX: run go generate ./cuda/kernels")
	}
}
