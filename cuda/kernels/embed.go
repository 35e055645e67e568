package kernels

// embed.go owns the compiled kernels: fovea.ptx (generated from fovea.cu by gen.go), embedded so a
// binary carries its kernels and loads them with the CUDA driver's JIT.

import _ "embed"

// PTX is fovea.ptx, the PTX of every kernel in the catalogue (cuda/abi.go), for compute capability 9.0.
//
//go:embed fovea.ptx
var PTX string
