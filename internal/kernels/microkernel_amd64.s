//go:build amd64 && !purego

#include "textflag.h"

// func kernelAVX512(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool)
//
// acc[r][c] += Σ_p a[r·ar + p·ap] · b[p·ldb + c] for r < 12, c < 32 (byte
// offsets). Registers: Z4..Z27 hold the 12×32 tile (row r in Z(4+2r) and
// Z(5+2r)), Z0/Z1 the 32 floats of b's row p, Z2/Z3 a broadcast a[r][p].
// Each step of p is 2 vector loads, 12 broadcasts and 24 FMAs (12 cycles
// on two 512-bit FMA ports). The a rows are addressed from three bases
// (rows 0-3, 4-7, 8-11) with index registers ar and 3·ar.
TEXT ·kernelAVX512(SB), NOSPLIT, $0-65
	MOVQ acc+0(FP), DI
	MOVQ ldc+8(FP), DX
	MOVQ a+16(FP), SI
	MOVQ ar+24(FP), R8
	MOVQ ap+32(FP), R12
	MOVQ b+40(FP), BX
	MOVQ ldb+48(FP), R13
	MOVQ kc+56(FP), CX

	// Load the tile.
	// The tile starts from acc, or from zero when zero is set.
	MOVBLZX zero+64(FP), AX
	TESTQ   AX, AX
	JNZ     clear
	MOVQ DI, AX
	VMOVUPS (AX), Z4
	VMOVUPS 64(AX), Z5
	ADDQ    DX, AX
	VMOVUPS (AX), Z6
	VMOVUPS 64(AX), Z7
	ADDQ    DX, AX
	VMOVUPS (AX), Z8
	VMOVUPS 64(AX), Z9
	ADDQ    DX, AX
	VMOVUPS (AX), Z10
	VMOVUPS 64(AX), Z11
	ADDQ    DX, AX
	VMOVUPS (AX), Z12
	VMOVUPS 64(AX), Z13
	ADDQ    DX, AX
	VMOVUPS (AX), Z14
	VMOVUPS 64(AX), Z15
	ADDQ    DX, AX
	VMOVUPS (AX), Z16
	VMOVUPS 64(AX), Z17
	ADDQ    DX, AX
	VMOVUPS (AX), Z18
	VMOVUPS 64(AX), Z19
	ADDQ    DX, AX
	VMOVUPS (AX), Z20
	VMOVUPS 64(AX), Z21
	ADDQ    DX, AX
	VMOVUPS (AX), Z22
	VMOVUPS 64(AX), Z23
	ADDQ    DX, AX
	VMOVUPS (AX), Z24
	VMOVUPS 64(AX), Z25
	ADDQ    DX, AX
	VMOVUPS (AX), Z26
	VMOVUPS 64(AX), Z27
	JMP  ready

clear:
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27

ready:

	LEAQ (R8)(R8*2), R9   // 3·ar
	LEAQ (SI)(R8*4), R10  // row 4
	LEAQ (R10)(R8*4), R11 // row 8

	TESTQ CX, CX
	JLE   store

loop:
	VMOVUPS (BX), Z0
	VMOVUPS 64(BX), Z1
	ADDQ    R13, BX
	VBROADCASTSS (SI), Z2
	VFMADD231PS  Z2, Z0, Z4
	VFMADD231PS  Z2, Z1, Z5
	VBROADCASTSS (SI)(R8*1), Z3
	VFMADD231PS  Z3, Z0, Z6
	VFMADD231PS  Z3, Z1, Z7
	VBROADCASTSS (SI)(R8*2), Z2
	VFMADD231PS  Z2, Z0, Z8
	VFMADD231PS  Z2, Z1, Z9
	VBROADCASTSS (SI)(R9*1), Z3
	VFMADD231PS  Z3, Z0, Z10
	VFMADD231PS  Z3, Z1, Z11
	VBROADCASTSS (R10), Z2
	VFMADD231PS  Z2, Z0, Z12
	VFMADD231PS  Z2, Z1, Z13
	VBROADCASTSS (R10)(R8*1), Z3
	VFMADD231PS  Z3, Z0, Z14
	VFMADD231PS  Z3, Z1, Z15
	VBROADCASTSS (R10)(R8*2), Z2
	VFMADD231PS  Z2, Z0, Z16
	VFMADD231PS  Z2, Z1, Z17
	VBROADCASTSS (R10)(R9*1), Z3
	VFMADD231PS  Z3, Z0, Z18
	VFMADD231PS  Z3, Z1, Z19
	VBROADCASTSS (R11), Z2
	VFMADD231PS  Z2, Z0, Z20
	VFMADD231PS  Z2, Z1, Z21
	VBROADCASTSS (R11)(R8*1), Z3
	VFMADD231PS  Z3, Z0, Z22
	VFMADD231PS  Z3, Z1, Z23
	VBROADCASTSS (R11)(R8*2), Z2
	VFMADD231PS  Z2, Z0, Z24
	VFMADD231PS  Z2, Z1, Z25
	VBROADCASTSS (R11)(R9*1), Z3
	VFMADD231PS  Z3, Z0, Z26
	VFMADD231PS  Z3, Z1, Z27
	ADDQ R12, SI
	ADDQ R12, R10
	ADDQ R12, R11
	DECQ CX
	JNZ  loop

store:
	MOVQ DI, AX
	VMOVUPS Z4, (AX)
	VMOVUPS Z5, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z6, (AX)
	VMOVUPS Z7, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z8, (AX)
	VMOVUPS Z9, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z10, (AX)
	VMOVUPS Z11, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z12, (AX)
	VMOVUPS Z13, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z14, (AX)
	VMOVUPS Z15, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z16, (AX)
	VMOVUPS Z17, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z18, (AX)
	VMOVUPS Z19, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z20, (AX)
	VMOVUPS Z21, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z22, (AX)
	VMOVUPS Z23, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z24, (AX)
	VMOVUPS Z25, 64(AX)
	ADDQ    DX, AX
	VMOVUPS Z26, (AX)
	VMOVUPS Z27, 64(AX)
	VZEROUPPER
	RET

// func cvtBF16AVX512(dst *float32, src *byte, n int)
//
// Widens n bfloat16 (n a multiple of 16) to float32: zero-extend each
// 16-bit word to 32 bits and shift it into the upper half.
TEXT ·cvtBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   bf16done

bf16loop:
	VPMOVZXWD (SI), Z0
	VPSLLD    $16, Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       bf16loop

bf16done:
	VZEROUPPER
	RET

// func cvtF16AVX512(dst *float32, src *byte, n int)
//
// Widens n IEEE binary16 values (n a multiple of 16) to float32 with
// VCVTPH2PS (exact, subnormals included).
TEXT ·cvtF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   f16done

f16loop:
	VCVTPH2PS (SI), Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       f16loop

f16done:
	VZEROUPPER
	RET

// func prefetchRows(p unsafe.Pointer, stride uintptr, rows, nbytes int)
//
// Asks for the cache lines of rows × nbytes bytes at p (rows stride bytes
// apart) ahead of use, so that the next weight panel, which the hardware
// prefetchers do not predict (short runs in many rows), arrives from
// memory while the current one is being multiplied.
TEXT ·prefetchRows(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ rows+16(FP), CX
	MOVQ nbytes+24(FP), BX
	TESTQ CX, CX
	JLE   pfdone
	TESTQ BX, BX
	JLE   pfdone

pfrow:
	XORQ AX, AX

pfline:
	PREFETCHT0 (SI)(AX*1)
	ADDQ       $64, AX
	CMPQ       AX, BX
	JLT        pfline
	ADDQ       DX, SI
	DECQ       CX
	JNZ        pfrow

pfdone:
	RET

// func dotAVX512(a, b *float32, n int) float32
//
// Σ a[i]·b[i] for n a multiple of 16, in four 16-lane accumulators (64
// elements per iteration) that are added at the end.
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ  a+0(FP), SI
	MOVQ  b+8(FP), DI
	MOVQ  n+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

dot64:
	CMPQ        CX, $64
	JLT         dot16
	VMOVUPS     (SI), Z4
	VMOVUPS     64(SI), Z5
	VMOVUPS     128(SI), Z6
	VMOVUPS     192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         dot64

dot16:
	CMPQ        CX, $16
	JLT         dotsum
	VMOVUPS     (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         dot16

dotsum:
	// Z0+Z1+Z2+Z3, then halve the width down to one lane.
	VADDPS        Z1, Z0, Z0
	VADDPS        Z3, Z2, Z2
	VADDPS        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VADDPS        X1, X0, X0
	VMOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX512(alpha float32, x, y *float32, n int)
//
// y[i] += alpha·x[i] (fused) for n a multiple of 16.
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Z0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	SHRQ         $4, CX
	JZ           axpydone

axpyloop:
	VMOVUPS     (DI), Z1
	VFMADD231PS (SI), Z0, Z1
	VMOVUPS     Z1, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         axpyloop

axpydone:
	VZEROUPPER
	RET

// func kernelAVX512x16(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool)
//
// kernelAVX512 on a 12×16 tile (for a few tokens): Z4..Z15 hold row r in
// Z(4+r), Z0 b's row p; each a[r][p] is broadcast from memory inside the
// FMA (embedded broadcast).
TEXT ·kernelAVX512x16(SB), NOSPLIT, $0-65
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
	VMOVUPS (AX), Z4
	ADDQ    DX, AX
	VMOVUPS (AX), Z5
	ADDQ    DX, AX
	VMOVUPS (AX), Z6
	ADDQ    DX, AX
	VMOVUPS (AX), Z7
	ADDQ    DX, AX
	VMOVUPS (AX), Z8
	ADDQ    DX, AX
	VMOVUPS (AX), Z9
	ADDQ    DX, AX
	VMOVUPS (AX), Z10
	ADDQ    DX, AX
	VMOVUPS (AX), Z11
	ADDQ    DX, AX
	VMOVUPS (AX), Z12
	ADDQ    DX, AX
	VMOVUPS (AX), Z13
	ADDQ    DX, AX
	VMOVUPS (AX), Z14
	ADDQ    DX, AX
	VMOVUPS (AX), Z15
	JMP  ready

clear:
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

ready:

	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	LEAQ (R10)(R8*4), R11

	TESTQ CX, CX
	JLE   store16

loop16:
	VMOVUPS (BX), Z0
	ADDQ    R13, BX
	VFMADD231PS.BCST (SI), Z0, Z4
	VFMADD231PS.BCST (SI)(R8*1), Z0, Z5
	VFMADD231PS.BCST (SI)(R8*2), Z0, Z6
	VFMADD231PS.BCST (SI)(R9*1), Z0, Z7
	VFMADD231PS.BCST (R10), Z0, Z8
	VFMADD231PS.BCST (R10)(R8*1), Z0, Z9
	VFMADD231PS.BCST (R10)(R8*2), Z0, Z10
	VFMADD231PS.BCST (R10)(R9*1), Z0, Z11
	VFMADD231PS.BCST (R11), Z0, Z12
	VFMADD231PS.BCST (R11)(R8*1), Z0, Z13
	VFMADD231PS.BCST (R11)(R8*2), Z0, Z14
	VFMADD231PS.BCST (R11)(R9*1), Z0, Z15
	ADDQ R12, SI
	ADDQ R12, R10
	ADDQ R12, R11
	DECQ CX
	JNZ  loop16

store16:
	MOVQ DI, AX
	VMOVUPS Z4, (AX)
	ADDQ    DX, AX
	VMOVUPS Z5, (AX)
	ADDQ    DX, AX
	VMOVUPS Z6, (AX)
	ADDQ    DX, AX
	VMOVUPS Z7, (AX)
	ADDQ    DX, AX
	VMOVUPS Z8, (AX)
	ADDQ    DX, AX
	VMOVUPS Z9, (AX)
	ADDQ    DX, AX
	VMOVUPS Z10, (AX)
	ADDQ    DX, AX
	VMOVUPS Z11, (AX)
	ADDQ    DX, AX
	VMOVUPS Z12, (AX)
	ADDQ    DX, AX
	VMOVUPS Z13, (AX)
	ADDQ    DX, AX
	VMOVUPS Z14, (AX)
	ADDQ    DX, AX
	VMOVUPS Z15, (AX)
	VZEROUPPER
	RET
