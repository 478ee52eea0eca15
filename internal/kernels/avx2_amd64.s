//go:build amd64 && !purego

#include "textflag.h"

// func kernel6x16AVX2(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool)
//
// The AVX2+FMA quarter of the 12×32 tile update (see microkernel.go):
// acc[r][c] += Σ_p a[r·ar + p·ap] · b[p·ldb + c] for r < 6, c < 16. With 16
// vector registers: Y4..Y15 hold the 6×16 tile (row r in Y(4+2r), Y(5+2r)),
// Y0/Y1 b's row p, Y2/Y3 a broadcast a[r][p].
TEXT ·kernel6x16AVX2(SB), NOSPLIT, $0-65
	MOVQ acc+0(FP), DI
	MOVQ ldc+8(FP), DX
	MOVQ a+16(FP), SI
	MOVQ ar+24(FP), R8
	MOVQ ap+32(FP), R12
	MOVQ b+40(FP), BX
	MOVQ ldb+48(FP), R13
	MOVQ kc+56(FP), CX

	// The tile starts from acc, or from zero when zero is set.
	MOVBLZX zero+64(FP), AX
	TESTQ   AX, AX
	JNZ     clear
	MOVQ DI, AX
	VMOVUPS (AX), Y4
	VMOVUPS 32(AX), Y5
	ADDQ    DX, AX
	VMOVUPS (AX), Y6
	VMOVUPS 32(AX), Y7
	ADDQ    DX, AX
	VMOVUPS (AX), Y8
	VMOVUPS 32(AX), Y9
	ADDQ    DX, AX
	VMOVUPS (AX), Y10
	VMOVUPS 32(AX), Y11
	ADDQ    DX, AX
	VMOVUPS (AX), Y12
	VMOVUPS 32(AX), Y13
	ADDQ    DX, AX
	VMOVUPS (AX), Y14
	VMOVUPS 32(AX), Y15
	JMP  ready

clear:
	VPXOR  Y4, Y4, Y4
	VPXOR  Y5, Y5, Y5
	VPXOR  Y6, Y6, Y6
	VPXOR  Y7, Y7, Y7
	VPXOR  Y8, Y8, Y8
	VPXOR  Y9, Y9, Y9
	VPXOR  Y10, Y10, Y10
	VPXOR  Y11, Y11, Y11
	VPXOR  Y12, Y12, Y12
	VPXOR  Y13, Y13, Y13
	VPXOR  Y14, Y14, Y14
	VPXOR  Y15, Y15, Y15

ready:

	LEAQ (R8)(R8*2), R9   // 3·ar
	LEAQ (SI)(R8*4), R10
	ADDQ R8, R10          // row 5

	TESTQ CX, CX
	JLE   store

loop:
	VMOVUPS (BX), Y0
	VMOVUPS 32(BX), Y1
	ADDQ    R13, BX
	VBROADCASTSS (SI), Y2
	VFMADD231PS  Y2, Y0, Y4
	VFMADD231PS  Y2, Y1, Y5
	VBROADCASTSS (SI)(R8*1), Y3
	VFMADD231PS  Y3, Y0, Y6
	VFMADD231PS  Y3, Y1, Y7
	VBROADCASTSS (SI)(R8*2), Y2
	VFMADD231PS  Y2, Y0, Y8
	VFMADD231PS  Y2, Y1, Y9
	VBROADCASTSS (SI)(R9*1), Y3
	VFMADD231PS  Y3, Y0, Y10
	VFMADD231PS  Y3, Y1, Y11
	VBROADCASTSS (SI)(R8*4), Y2
	VFMADD231PS  Y2, Y0, Y12
	VFMADD231PS  Y2, Y1, Y13
	VBROADCASTSS (R10), Y3
	VFMADD231PS  Y3, Y0, Y14
	VFMADD231PS  Y3, Y1, Y15
	ADDQ R12, SI
	ADDQ R12, R10
	DECQ CX
	JNZ  loop

store:
	MOVQ DI, AX
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, 32(AX)
	ADDQ    DX, AX
	VMOVUPS Y6, (AX)
	VMOVUPS Y7, 32(AX)
	ADDQ    DX, AX
	VMOVUPS Y8, (AX)
	VMOVUPS Y9, 32(AX)
	ADDQ    DX, AX
	VMOVUPS Y10, (AX)
	VMOVUPS Y11, 32(AX)
	ADDQ    DX, AX
	VMOVUPS Y12, (AX)
	VMOVUPS Y13, 32(AX)
	ADDQ    DX, AX
	VMOVUPS Y14, (AX)
	VMOVUPS Y15, 32(AX)
	VZEROUPPER
	RET

// func cvtBF16AVX2(dst *float32, src *byte, n int)
//
// Widens n bfloat16 (n a multiple of 8) to float32.
TEXT ·cvtBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   bf16done

bf16loop:
	VPMOVZXWD (SI), Y0
	VPSLLD    $16, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       bf16loop

bf16done:
	VZEROUPPER
	RET

// func cvtF16F16C(dst *float32, src *byte, n int)
//
// Widens n binary16 (n a multiple of 8) to float32 with F16C's VCVTPH2PS.
TEXT ·cvtF16F16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   f16done

f16loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       f16loop

f16done:
	VZEROUPPER
	RET

// func kernel12x8AVX2(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool)
//
// The 12×32 tile update of microkernel.go on a 12×8 tile, for one to eight
// tokens: Y4..Y15 hold row r in Y(4+r), Y0 b's row p, Y1/Y2 a broadcast
// a[r][p]. AVX2+FMA, so every x86-64 kernel set can use it.
TEXT ·kernel12x8AVX2(SB), NOSPLIT, $0-65
	MOVQ acc+0(FP), DI
	MOVQ ldc+8(FP), DX
	MOVQ a+16(FP), SI
	MOVQ ar+24(FP), R8
	MOVQ ap+32(FP), R12
	MOVQ b+40(FP), BX
	MOVQ ldb+48(FP), R13
	MOVQ kc+56(FP), CX

	// The tile starts from acc, or from zero when zero is set.
	MOVBLZX zero+64(FP), AX
	TESTQ   AX, AX
	JNZ     clear
	MOVQ DI, AX
	VMOVUPS (AX), Y4
	ADDQ    DX, AX
	VMOVUPS (AX), Y5
	ADDQ    DX, AX
	VMOVUPS (AX), Y6
	ADDQ    DX, AX
	VMOVUPS (AX), Y7
	ADDQ    DX, AX
	VMOVUPS (AX), Y8
	ADDQ    DX, AX
	VMOVUPS (AX), Y9
	ADDQ    DX, AX
	VMOVUPS (AX), Y10
	ADDQ    DX, AX
	VMOVUPS (AX), Y11
	ADDQ    DX, AX
	VMOVUPS (AX), Y12
	ADDQ    DX, AX
	VMOVUPS (AX), Y13
	ADDQ    DX, AX
	VMOVUPS (AX), Y14
	ADDQ    DX, AX
	VMOVUPS (AX), Y15
	JMP  ready

clear:
	VPXOR  Y4, Y4, Y4
	VPXOR  Y5, Y5, Y5
	VPXOR  Y6, Y6, Y6
	VPXOR  Y7, Y7, Y7
	VPXOR  Y8, Y8, Y8
	VPXOR  Y9, Y9, Y9
	VPXOR  Y10, Y10, Y10
	VPXOR  Y11, Y11, Y11
	VPXOR  Y12, Y12, Y12
	VPXOR  Y13, Y13, Y13
	VPXOR  Y14, Y14, Y14
	VPXOR  Y15, Y15, Y15

ready:

	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	LEAQ (R10)(R8*4), R11

	TESTQ CX, CX
	JLE   store8

loop8:
	VMOVUPS (BX), Y0
	ADDQ    R13, BX
	VBROADCASTSS (SI), Y1
	VFMADD231PS  Y1, Y0, Y4
	VBROADCASTSS (SI)(R8*1), Y2
	VFMADD231PS  Y2, Y0, Y5
	VBROADCASTSS (SI)(R8*2), Y1
	VFMADD231PS  Y1, Y0, Y6
	VBROADCASTSS (SI)(R9*1), Y2
	VFMADD231PS  Y2, Y0, Y7
	VBROADCASTSS (R10), Y1
	VFMADD231PS  Y1, Y0, Y8
	VBROADCASTSS (R10)(R8*1), Y2
	VFMADD231PS  Y2, Y0, Y9
	VBROADCASTSS (R10)(R8*2), Y1
	VFMADD231PS  Y1, Y0, Y10
	VBROADCASTSS (R10)(R9*1), Y2
	VFMADD231PS  Y2, Y0, Y11
	VBROADCASTSS (R11), Y1
	VFMADD231PS  Y1, Y0, Y12
	VBROADCASTSS (R11)(R8*1), Y2
	VFMADD231PS  Y2, Y0, Y13
	VBROADCASTSS (R11)(R8*2), Y1
	VFMADD231PS  Y1, Y0, Y14
	VBROADCASTSS (R11)(R9*1), Y2
	VFMADD231PS  Y2, Y0, Y15
	ADDQ R12, SI
	ADDQ R12, R10
	ADDQ R12, R11
	DECQ CX
	JNZ  loop8

store8:
	MOVQ DI, AX
	VMOVUPS Y4, (AX)
	ADDQ    DX, AX
	VMOVUPS Y5, (AX)
	ADDQ    DX, AX
	VMOVUPS Y6, (AX)
	ADDQ    DX, AX
	VMOVUPS Y7, (AX)
	ADDQ    DX, AX
	VMOVUPS Y8, (AX)
	ADDQ    DX, AX
	VMOVUPS Y9, (AX)
	ADDQ    DX, AX
	VMOVUPS Y10, (AX)
	ADDQ    DX, AX
	VMOVUPS Y11, (AX)
	ADDQ    DX, AX
	VMOVUPS Y12, (AX)
	ADDQ    DX, AX
	VMOVUPS Y13, (AX)
	ADDQ    DX, AX
	VMOVUPS Y14, (AX)
	ADDQ    DX, AX
	VMOVUPS Y15, (AX)
	VZEROUPPER
	RET
