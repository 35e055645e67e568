//go:build gpu

package cuda

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/cu"
	cublas "gorgonia.org/cu/blas"
)

// TestProbe checks that a cross-built binary loads the CUDA driver and the
// machine's cuBLAS (see scripts/gpu), and that one cuBLAS call computes.
func TestProbe(t *testing.T) {
	runtime.LockOSThread() // a CUDA context is current per OS thread
	defer runtime.UnlockOSThread()

	n, err := cu.NumDevices()
	if err != nil || n == 0 {
		t.Fatalf("NumDevices: %d, %v", n, err)
	}
	dev := cu.Device(0)
	name, err := dev.Name()
	if err != nil {
		t.Fatalf("device name: %v", err)
	}
	major, minor, _ := dev.ComputeCapability()
	mem, _ := dev.TotalMem()
	t.Logf("%d device(s); device 0: %s, compute %d.%d, %.1f GiB; driver API %d",
		n, name, major, minor, float64(mem)/(1<<30), cu.Version())

	// cuBLAS works in the device's primary context; make it current here.
	ctx, err := dev.RetainPrimaryCtx()
	if err != nil {
		t.Fatalf("retain primary context: %v", err)
	}
	defer dev.ReleasePrimaryCtx()
	if err := cu.SetCurrentContext(ctx); err != nil {
		t.Fatalf("set context: %v", err)
	}

	h := cublas.New()
	defer h.Close()
	t.Log("cuBLAS handle created")

	// C = A·B for 2×2 column-major matrices in managed memory.
	const bytes = 12 * 4
	ptr, err := cu.MemAllocManaged(bytes, cu.AttachGlobal)
	if err != nil {
		t.Fatalf("MemAllocManaged: %v", err)
	}
	defer cu.MemFree(ptr)
	buf := unsafe.Slice((*float32)(*(*unsafe.Pointer)(unsafe.Pointer(&ptr))), 12)
	a, b, c := buf[0:4], buf[4:8], buf[8:12]
	copy(a, []float32{1, 3, 2, 4}) // [[1 2] [3 4]]
	copy(b, []float32{5, 7, 6, 8}) // [[5 6] [7 8]]
	h.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	if err := h.Err(); err != nil {
		t.Fatalf("Sgemm: %v", err)
	}
	if err := cu.Synchronize(); err != nil {
		t.Fatalf("synchronize: %v", err)
	}
	want := []float32{19, 43, 22, 50} // [[19 22] [43 50]]
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("Sgemm: got %v, want %v", c, want)
		}
	}
	t.Logf("cuBLAS Sgemm ok: %v", c)
}

// TestNoDeviceMessage runs this test binary again with every GPU hidden (CUDA_VISIBLE_DEVICES empty): it
// must exit at start-up with fovea's explanation (cuda/internal/driverprobe), not gorgonia.org/cu's.
func TestNoDeviceMessage(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run", "^$")
	cmd.Env = append(os.Environ(), "CUDA_VISIBLE_DEVICES=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("with no visible GPU the binary ended with %v, want exit status 1; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "fovea: this program was built with -tags gpu, but the CUDA driver finds no usable GPU") {
		t.Fatalf("with no visible GPU the binary said:\n%s", out)
	}
}
