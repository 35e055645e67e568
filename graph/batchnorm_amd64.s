//go:build amd64 && !purego

#include "textflag.h"

// Batch normalisation's row kernels. Each walks rows runs of width float32 values, stride floats
// apart, in chunks of 8 (float64 arithmetic) or 16 (float32 arithmetic), with a masked chunk for the
// remainder of each row. Width is in R9 on entry to TAIL_MASK.

// ZERO_ACCUMULATORS clears the sums' accumulators: Z0–Z3 for the first sum, Z4–Z7 for the second.
#define ZERO_ACCUMULATORS \
	VXORPD Z0, Z0, Z0; VXORPD Z1, Z1, Z1; VXORPD Z2, Z2, Z2; VXORPD Z3, Z3, Z3; \
	VXORPD Z4, Z4, Z4; VXORPD Z5, Z5, Z5; VXORPD Z6, Z6, Z6; VXORPD Z7, Z7, Z7

// SUM_ACCUMULATORS leaves the first sum's lanes in Z0 and the second's in Z4.
#define SUM_ACCUMULATORS \
	VADDPD Z1, Z0, Z0; VADDPD Z3, Z2, Z2; VADDPD Z2, Z0, Z0; \
	VADDPD Z5, Z4, Z4; VADDPD Z7, Z6, Z6; VADDPD Z6, Z4, Z4

// TAIL_MASK sets K1 to the lanes of a row's last, partial chunk: width & laneMask of them.
#define TAIL_MASK(laneMask) \
	MOVQ R9, CX; ANDQ laneMask, CX; MOVQ $1, AX; SHLQ CX, AX; DECQ AX; KMOVW AX, K1

// func deviationSumsAVX512(x *float32, rows, width, stride int, shift float64, out *[16]float64)
// out[0:8] gets lane sums of (x-shift), out[8:16] lane sums of (x-shift)².
TEXT ·deviationSumsAVX512(SB), NOSPLIT, $0-48
	MOVQ         x+0(FP), SI
	MOVQ         rows+8(FP), R8
	MOVQ         width+16(FP), R9
	MOVQ         stride+24(FP), R10
	SHLQ         $2, R10
	VBROADCASTSD shift+32(FP), Z31
	ZERO_ACCUMULATORS
	TAIL_MASK($7)
	SHRQ         $3, R9

dsrow:
	MOVQ SI, DI
	MOVQ R9, CX
	CMPQ CX, $4
	JLT  dsone

dsquad:
	VCVTPS2PD   (DI), Z8
	VCVTPS2PD   32(DI), Z9
	VCVTPS2PD   64(DI), Z10
	VCVTPS2PD   96(DI), Z11
	VSUBPD      Z31, Z8, Z8
	VSUBPD      Z31, Z9, Z9
	VSUBPD      Z31, Z10, Z10
	VSUBPD      Z31, Z11, Z11
	VADDPD      Z8, Z0, Z0
	VADDPD      Z9, Z1, Z1
	VADDPD      Z10, Z2, Z2
	VADDPD      Z11, Z3, Z3
	VFMADD231PD Z8, Z8, Z4
	VFMADD231PD Z9, Z9, Z5
	VFMADD231PD Z10, Z10, Z6
	VFMADD231PD Z11, Z11, Z7
	ADDQ        $128, DI
	SUBQ        $4, CX
	CMPQ        CX, $4
	JGE         dsquad

dsone:
	TESTQ       CX, CX
	JZ          dstail
	VCVTPS2PD   (DI), Z8
	VSUBPD      Z31, Z8, Z8
	VADDPD      Z8, Z0, Z0
	VFMADD231PD Z8, Z8, Z4
	ADDQ        $32, DI
	DECQ        CX
	JMP         dsone

dstail:
	KORTESTW    K1, K1
	JZ          dsnext
	VMOVAPD     Z31, Z8
	VCVTPS2PD   (DI), K1, Z8
	VSUBPD      Z31, Z8, Z8
	VADDPD      Z8, Z1, Z1
	VFMADD231PD Z8, Z8, Z5

dsnext:
	ADDQ R10, SI
	DECQ R8
	JNZ  dsrow

	SUM_ACCUMULATORS
	MOVQ    out+40(FP), DI
	VMOVUPD Z0, (DI)
	VMOVUPD Z4, 64(DI)
	VZEROUPPER
	RET

// func gradSumsAVX512(dy, x *float32, rows, width, stride int, mean float64, out *[16]float64)
// out[0:8] gets lane sums of dy, out[8:16] lane sums of dy·(x-mean).
TEXT ·gradSumsAVX512(SB), NOSPLIT, $0-56
	MOVQ         dy+0(FP), SI
	MOVQ         x+8(FP), DX
	MOVQ         rows+16(FP), R8
	MOVQ         width+24(FP), R9
	MOVQ         stride+32(FP), R10
	SHLQ         $2, R10
	VBROADCASTSD mean+40(FP), Z31
	ZERO_ACCUMULATORS
	TAIL_MASK($7)
	SHRQ         $3, R9

gsrow:
	MOVQ SI, DI
	MOVQ DX, BX
	MOVQ R9, CX
	CMPQ CX, $2
	JLT  gsone

gspair:
	VCVTPS2PD   (DI), Z8
	VCVTPS2PD   32(DI), Z9
	VCVTPS2PD   (BX), Z10
	VCVTPS2PD   32(BX), Z11
	VADDPD      Z8, Z0, Z0
	VADDPD      Z9, Z1, Z1
	VSUBPD      Z31, Z10, Z10
	VSUBPD      Z31, Z11, Z11
	VFMADD231PD Z10, Z8, Z4
	VFMADD231PD Z11, Z9, Z5
	ADDQ        $64, DI
	ADDQ        $64, BX
	SUBQ        $2, CX
	CMPQ        CX, $2
	JGE         gspair

gsone:
	TESTQ       CX, CX
	JZ          gstail
	VCVTPS2PD   (DI), Z8
	VCVTPS2PD   (BX), Z10
	VADDPD      Z8, Z2, Z2
	VSUBPD      Z31, Z10, Z10
	VFMADD231PD Z10, Z8, Z6
	ADDQ        $32, DI
	ADDQ        $32, BX

gstail:
	KORTESTW    K1, K1
	JZ          gsnext
	VCVTPS2PD.Z (DI), K1, Z8
	VCVTPS2PD.Z (BX), K1, Z10
	VADDPD      Z8, Z3, Z3
	VSUBPD      Z31, Z10, Z10
	VFMADD231PD Z10, Z8, Z7

gsnext:
	ADDQ R10, SI
	ADDQ R10, DX
	DECQ R8
	JNZ  gsrow

	SUM_ACCUMULATORS
	MOVQ    out+48(FP), DI
	VMOVUPD Z0, (DI)
	VMOVUPD Z4, 64(DI)
	VZEROUPPER
	RET

// func normGradRowsAVX512(dy, x, dx *float32, rows, width, stride int, k *[4]float64)
// dx = k[0]·(dy-k[1]) - k[3]·(x-k[2]), in float64 and in the order the Go loop computes it.
TEXT ·normGradRowsAVX512(SB), NOSPLIT, $0-56
	MOVQ         dy+0(FP), SI
	MOVQ         x+8(FP), DX
	MOVQ         dx+16(FP), R11
	MOVQ         rows+24(FP), R8
	MOVQ         width+32(FP), R9
	MOVQ         stride+40(FP), R10
	SHLQ         $2, R10
	MOVQ         k+48(FP), AX
	VBROADCASTSD (AX), Z28
	VBROADCASTSD 8(AX), Z29
	VBROADCASTSD 16(AX), Z30
	VBROADCASTSD 24(AX), Z31
	TAIL_MASK($7)
	SHRQ         $3, R9

ngrow:
	MOVQ  SI, DI
	MOVQ  DX, BX
	MOVQ  R11, R12
	MOVQ  R9, CX
	TESTQ CX, CX
	JZ    ngtail

ngone:
	VCVTPS2PD (DI), Z8
	VCVTPS2PD (BX), Z9
	VSUBPD    Z29, Z8, Z8
	VMULPD    Z28, Z8, Z8
	VSUBPD    Z30, Z9, Z9
	VMULPD    Z31, Z9, Z9
	VSUBPD    Z9, Z8, Z8
	VCVTPD2PS Z8, Y8
	VMOVUPS   Y8, (R12)
	ADDQ      $32, DI
	ADDQ      $32, BX
	ADDQ      $32, R12
	DECQ      CX
	JNZ       ngone

ngtail:
	KORTESTW    K1, K1
	JZ          ngnext
	VCVTPS2PD.Z (DI), K1, Z8
	VCVTPS2PD.Z (BX), K1, Z9
	VSUBPD      Z29, Z8, Z8
	VMULPD      Z28, Z8, Z8
	VSUBPD      Z30, Z9, Z9
	VMULPD      Z31, Z9, Z9
	VSUBPD      Z9, Z8, Z8
	VCVTPD2PS   Z8, Y8
	VMOVUPS     Y8, K1, (R12)

ngnext:
	ADDQ R10, SI
	ADDQ R10, DX
	ADDQ R10, R11
	DECQ R8
	JNZ  ngrow
	VZEROUPPER
	RET

// func affineRowsAVX512(x, y *float32, rows, width, stride int, scale, shift float32)
// y = x·scale + shift (a multiply, then an add, as the Go loop rounds).
TEXT ·affineRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), R11
	MOVQ         rows+16(FP), R8
	MOVQ         width+24(FP), R9
	MOVQ         stride+32(FP), R10
	SHLQ         $2, R10
	VBROADCASTSS scale+40(FP), Z30
	VBROADCASTSS shift+44(FP), Z31
	TAIL_MASK($15)
	SHRQ         $4, R9

afrow:
	MOVQ  SI, DI
	MOVQ  R11, R12
	MOVQ  R9, CX
	TESTQ CX, CX
	JZ    aftail

afone:
	VMOVUPS (DI), Z8
	VMULPS  Z30, Z8, Z8
	VADDPS  Z31, Z8, Z8
	VMOVUPS Z8, (R12)
	ADDQ    $64, DI
	ADDQ    $64, R12
	DECQ    CX
	JNZ     afone

aftail:
	KORTESTW  K1, K1
	JZ        afnext
	VMOVUPS.Z (DI), K1, Z8
	VMULPS    Z30, Z8, Z8
	VADDPS    Z31, Z8, Z8
	VMOVUPS   Z8, K1, (R12)

afnext:
	ADDQ R10, SI
	ADDQ R10, R11
	DECQ R8
	JNZ  afrow
	VZEROUPPER
	RET
