//go:build amd64 && !purego

package training

import "golang.org/x/sys/cpu"

// haveAVX512 is read once at start-up; the vector update needs AVX-512F.
var haveAVX512 = cpu.X86.HasAVX512F

// adaptiveAVX512 applies the update to n elements (a multiple of 16) with 16-lane AVX-512 arithmetic.
//
//go:noescape
func adaptiveAVX512(w, grad, m, v *float32, n int, k *adaptiveConsts)

// adaptiveUpdate updates w, m and v from g (see adaptiveConsts), 16 elements at a time where the CPU
// has AVX-512, the remainder in Go.
func adaptiveUpdate(w, g, m, v []float32, k *adaptiveConsts) {
	n := len(g)
	if len(w) < n || len(m) < n || len(v) < n {
		panic("training: adaptive update slices of different lengths") // unreachable: checkStep validated them
	}
	vec := 0
	if haveAVX512 {
		vec = n &^ 15
		if vec > 0 {
			adaptiveAVX512(&w[0], &g[0], &m[0], &v[0], vec, k)
		}
	}
	adaptiveUpdateGo(w[vec:n], g[vec:n], m[vec:n], v[vec:n], k)
}
