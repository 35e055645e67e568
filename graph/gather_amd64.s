//go:build amd64 && !purego

#include "textflag.h"

// func gather16AVX512(dst, src *float32, idx *int32, n int)
TEXT ·gather16AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ idx+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX

loop:
	VMOVDQU32  (DX), Z1
	KXNORW     K1, K1, K1
	VGATHERDPS (SI)(Z1*4), K1, Z0
	VMOVUPS    Z0, (DI)
	ADDQ       $64, DX
	ADDQ       $64, DI
	DECQ       CX
	JNZ        loop
	VZEROUPPER
	RET

// func copyRows16AVX512(dst, src *float32, rows, width, srcStride, dstStride int)
// Copies rows runs of width (1..16) floats from src rows srcStride floats apart to dst rows dstStride
// floats apart.
TEXT ·copyRows16AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ width+24(FP), CX
	MOVQ srcStride+32(FP), DX
	MOVQ dstStride+40(FP), BX
	SHLQ $2, DX
	SHLQ $2, BX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1

rowloop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS   Z0, K1, (DI)
	ADDQ      DX, SI
	ADDQ      BX, DI
	DECQ      R8
	JNZ       rowloop
	VZEROUPPER
	RET
