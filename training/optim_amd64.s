//go:build amd64 && !purego

#include "textflag.h"

// func adaptiveAVX512(w, grad, m, v *float32, n int, k *adaptiveConsts)
// k: oneMinusB1, oneMinusB2, cm, cg, cv, lr, eps (float32 each).
TEXT ·adaptiveAVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), AX
	VBROADCASTSS 0(AX), Z20  // 1-β1
	VBROADCASTSS 4(AX), Z21  // 1-β2
	VBROADCASTSS 8(AX), Z22  // cm
	VBROADCASTSS 12(AX), Z23 // cg
	VBROADCASTSS 16(AX), Z24 // cv
	VBROADCASTSS 20(AX), Z25 // lr
	VBROADCASTSS 24(AX), Z26 // ε
	SHRQ $4, CX
	JZ   done

loop:
	VMOVUPS     (SI), Z0      // g
	VMOVUPS     (R8), Z1      // m
	VMOVUPS     (R9), Z2      // v
	VSUBPS      Z1, Z0, Z3    // g - m
	VFMADD231PS Z20, Z3, Z1   // m += (g-m)·(1-β1)
	VMULPS      Z0, Z0, Z4    // g²
	VSUBPS      Z2, Z4, Z4    // g² - v
	VFMADD231PS Z21, Z4, Z2   // v += (g²-v)·(1-β2)
	VMULPS      Z22, Z1, Z5   // cm·m
	VFMADD231PS Z23, Z0, Z5   // + cg·g
	VMULPS      Z24, Z2, Z6   // cv·v
	VSQRTPS     Z6, Z6        // √
	VADDPS      Z26, Z6, Z6   // + ε
	VMULPS      Z25, Z5, Z5   // lr·(…)
	VDIVPS      Z6, Z5, Z5    // / (√(cv·v) + ε)
	VMOVUPS     (DI), Z7
	VSUBPS      Z5, Z7, Z7    // w -= step
	VMOVUPS     Z7, (DI)
	VMOVUPS     Z1, (R8)
	VMOVUPS     Z2, (R9)
	ADDQ        $64, DI
	ADDQ        $64, SI
	ADDQ        $64, R8
	ADDQ        $64, R9
	DECQ        CX
	JNZ         loop

done:
	VZEROUPPER
	RET
