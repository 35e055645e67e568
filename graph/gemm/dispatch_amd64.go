//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// cpuFeatures is the read-only result of feature detection.
var cpuFeatures = struct{ avx512, avx2 bool }{
	avx512: cpu.X86.HasAVX512F,
	avx2:   cpu.X86.HasAVX2 && cpu.X86.HasFMA,
}

// kernels32 lists the float32 kernels usable on this machine, best first.
func kernels32() []*kernel[float32] {
	var ks []*kernel[float32]
	if cpuFeatures.avx512 {
		ks = append(ks,
			&kernel[float32]{name: "avx512-6x64", mr: 6, nr: 64, mc: 384, kc: 256, nc: 3072, tile: tileAVX512x6x64, edges: edgesAVX512x6x64(), transpose: transpose16AVX512, tgroup: 16},
			&kernel[float32]{name: "avx512-8x48", mr: 8, nr: 48, mc: 384, kc: 256, nc: 3072, tile: tileAVX512x8x48, transpose: transpose16AVX512, tgroup: 16},
		)
	}
	if cpuFeatures.avx2 {
		ks = append(ks, &kernel[float32]{name: "avx2-6x16", mr: 6, nr: 16, mc: 144, kc: 256, nc: 4096, tile: tileAVX2x6x16, edges: edgesAVX2x6x16(), transpose: transpose8AVX2, tgroup: 8})
	}
	return append(ks, genericKernel[float32]())
}

// kernels64 lists the float64 kernels usable on this machine, best first.
func kernels64() []*kernel[float64] {
	var ks []*kernel[float64]
	if cpuFeatures.avx512 {
		ks = append(ks, &kernel[float64]{name: "avx512-12x16", mr: 12, nr: 16, mc: 144, kc: 256, nc: 2048, tile: tileAVX512x12x16d})
	}
	if cpuFeatures.avx2 {
		ks = append(ks, &kernel[float64]{name: "avx2-6x8", mr: 6, nr: 8, mc: 96, kc: 256, nc: 2048, tile: tileAVX2x6x8d})
	}
	return append(ks, genericKernel[float64]())
}

// transpose16AVX512 is interleave for 16 source rows: d[p*ld+i] =
// src[i*lds+p] for i < 16, p < kc.
func transpose16AVX512(d []float32, ld int, src []float32, lds, kc int) {
	nb := kc / 16
	if nb > 0 {
		_, _ = d[(16*nb-1)*ld+15], src[15*lds+16*nb-1]
		transpose16x16(&d[0], ld, &src[0], lds, nb)
	}
	for p := 16 * nb; p < kc; p++ {
		o := d[p*ld:][:16]
		for i := range o {
			o[i] = src[i*lds+p]
		}
	}
}

// transpose8AVX2 is interleave for 8 source rows: d[p*ld+i] = src[i*lds+p]
// for i < 8, p < kc.
func transpose8AVX2(d []float32, ld int, src []float32, lds, kc int) {
	nb := kc / 8
	if nb > 0 {
		_, _ = d[(8*nb-1)*ld+7], src[7*lds+8*nb-1]
		transpose8x8(&d[0], ld, &src[0], lds, nb)
	}
	for p := 8 * nb; p < kc; p++ {
		o := d[p*ld:][:8]
		for i := range o {
			o[i] = src[i*lds+p]
		}
	}
}
