// Package kernels owns fovea's CUDA C kernels (fovea.cu) and their PTX (fovea.ptx), which embed.go
// embeds. Regenerate the PTX after editing fovea.cu: go generate ./cuda/kernels (needs nvcc ≥ 11.8).
// -fmad=false keeps nvcc from fusing multiply-adds, so float32 results match the Go emulations
// (cuda/emulate.go) bit for bit.
package kernels

//go:generate nvcc -arch=compute_90 -ptx -O3 -fmad=false -o fovea.ptx fovea.cu
