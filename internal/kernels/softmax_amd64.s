//go:build amd64 && !purego

#include "textflag.h"

// EXPBODY computes Z4 = exp(Z0 − Z20) lane-wise with the constants that
// expShiftAVX512 keeps in Z21..Z31 (clobbers Z0..Z3 and K1): Cephes' expf
// scheme. The argument t is clamped to ≥ −87.33654 (e^−87.33654 is the
// smallest normal float32) and split as n·ln2 + r with |r| ≤ ln2/2 (ln2 in
// two parts, Cody–Waite); e^r is a degree-6 polynomial and VSCALEFPS applies
// the 2^n. Within 2 ulp; arguments below the clamp (masked −Inf scores) give
// exactly 0, and NaNs stay NaN. Step by step: t = x − shift; K1 = lanes
// with t ≥ clamp or NaN (not-less-than, unordered); t = max(clamp, t)
// keeping a NaN t; n = round(t·log2 e); r = t − n·ln2hi − n·ln2lo;
// p = ((((c0·r + c1)·r + c2)·r + c3)·r + c4)·r + 0.5; y = p·r² + r + 1;
// Z4 = y·2^n, zeroed outside K1.
#define EXPBODY \
	VSUBPS       Z20, Z0, Z0 \
	VCMPPS       $5, Z21, Z0, K1 \
	VMAXPS       Z0, Z21, Z0 \
	VMULPS       Z22, Z0, Z1 \
	VRNDSCALEPS  $0, Z1, Z1 \
	VFNMADD231PS Z23, Z1, Z0 \
	VFNMADD231PS Z24, Z1, Z0 \
	VMOVAPS      Z25, Z2 \
	VFMADD213PS  Z26, Z0, Z2 \
	VFMADD213PS  Z27, Z0, Z2 \
	VFMADD213PS  Z28, Z0, Z2 \
	VFMADD213PS  Z29, Z0, Z2 \
	VFMADD213PS  Z30, Z0, Z2 \
	VMULPS       Z0, Z0, Z3 \
	VADDPS       Z31, Z0, Z4 \
	VFMADD231PS  Z3, Z2, Z4 \
	VSCALEFPS    Z1, Z4, Z4 \
	VMOVAPS.Z    Z4, K1, Z4

// func expShiftAVX512(dst, src *float32, n int, shift float32) float32
//
// dst[i] = exp(src[i] − shift) for i < n (dst may be src); returns Σ dst[i] as 16 partial
// sums (element i in lane i mod 16) added at the end. The last n mod 16
// elements are loaded under a mask with −Inf in the other lanes, so a row's
// result does not depend on how many masked (−Inf) entries follow it.
TEXT ·expShiftAVX512(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS shift+24(FP), Z20
	MOVL         $0xc2aeac4f, AX // -87.33654 = ln(smallest normal)
	VPBROADCASTD AX, Z21
	MOVL         $0x3fb8aa3b, AX // log2(e)
	VPBROADCASTD AX, Z22
	MOVL         $0x3f318000, AX // ln2 high part 0.693359375
	VPBROADCASTD AX, Z23
	MOVL         $0xb95e8083, AX // ln2 low part -2.12194440e-4
	VPBROADCASTD AX, Z24
	MOVL         $0x39506967, AX // 1.9875691500e-4
	VPBROADCASTD AX, Z25
	MOVL         $0x3ab743ce, AX // 1.3981999507e-3
	VPBROADCASTD AX, Z26
	MOVL         $0x3c088908, AX // 8.3334519073e-3
	VPBROADCASTD AX, Z27
	MOVL         $0x3d2aa9c1, AX // 4.1665795894e-2
	VPBROADCASTD AX, Z28
	MOVL         $0x3e2aaaaa, AX // 1.6666665459e-1
	VPBROADCASTD AX, Z29
	MOVL         $0x3f000000, AX // 0.5
	VPBROADCASTD AX, Z30
	MOVL         $0x3f800000, AX // 1
	VPBROADCASTD AX, Z31
	MOVL         $0xff800000, AX // -Inf, for the lanes past n
	VPBROADCASTD AX, Z18
	VPXORD       Z19, Z19, Z19   // sums
	MOVQ         CX, DX
	ANDQ         $15, DX         // tail length
	SHRQ         $4, CX
	JZ           exptail

exploop:
	VMOVUPS (SI), Z0
	EXPBODY
	VMOVUPS Z4, (DI)
	VADDPS  Z4, Z19, Z19
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     exploop

exptail:
	TESTQ   DX, DX
	JZ      expdone
	MOVQ    DX, CX
	MOVQ    $1, AX
	SHLQ    CX, AX
	DECQ    AX
	KMOVW   AX, K2       // lanes below the tail length
	VMOVAPS Z18, Z0
	VMOVUPS (SI), K2, Z0 // -Inf in the other lanes
	EXPBODY
	VMOVUPS Z4, K2, (DI)
	VADDPS  Z4, Z19, Z19

expdone:
	VEXTRACTF64X4 $1, Z19, Y1
	VADDPS        Y1, Y19, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VADDPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VADDPS        X1, X0, X0
	VMOVSS        X0, ret+32(FP)
	VZEROUPPER
	RET

// func maxAVX512(x *float32, n int) float32
//
// The largest of x[0..n), n > 0, with the last n mod 16 elements loaded
// under a mask (−Inf in the other lanes). With NaNs in x the result may or
// may not be NaN; Softmax's output is NaN either way.
TEXT ·maxAVX512(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVL         $0xff800000, AX
	VPBROADCASTD AX, Z0
	MOVQ         CX, DX
	ANDQ         $15, DX
	SHRQ         $4, CX
	JZ           maxtail

maxloop:
	VMAXPS (SI), Z0, Z0
	ADDQ   $64, SI
	DECQ   CX
	JNZ    maxloop

maxtail:
	TESTQ        DX, DX
	JZ           maxreduce
	MOVQ         DX, CX
	MOVQ         $1, AX
	SHLQ         CX, AX
	DECQ         AX
	KMOVW        AX, K2
	MOVL         $0xff800000, AX
	VPBROADCASTD AX, Z1
	VMOVUPS      (SI), K2, Z1
	VMAXPS       Z1, Z0, Z0

maxreduce:
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VMAXPS        X1, X0, X0
	VMOVSS        X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX512(x *float32, n int, s float32)
//
// x[i] *= s for i < n (the last n mod 16 under a mask).
TEXT ·scaleAVX512(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Z1
	MOVQ         CX, DX
	ANDQ         $15, DX
	SHRQ         $4, CX
	JZ           scaletail

scaleloop:
	VMULPS  (SI), Z1, Z0
	VMOVUPS Z0, (SI)
	ADDQ    $64, SI
	DECQ    CX
	JNZ     scaleloop

scaletail:
	TESTQ   DX, DX
	JZ      scaledone
	MOVQ    DX, CX
	MOVQ    $1, AX
	SHLQ    CX, AX
	DECQ    AX
	KMOVW   AX, K2
	VMOVUPS.Z (SI), K2, Z0
	VMULPS  Z0, Z1, Z0
	VMOVUPS Z0, K2, (SI)

scaledone:
	VZEROUPPER
	RET
