//go:build hostcuda

package training

// With the hostcuda tag the device tests run fovea.cu's kernels compiled for the host instead of their
// Go emulations: the optimizer, weight-decay and moving-average kernels too, which the cuda package's
// kernel cases do not launch.
func init() { emulatedDevice = "hostcuda" }
