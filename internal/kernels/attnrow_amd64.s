//go:build amd64 && !purego

#include "textflag.h"

// func attnRowAVX512(mass, colT *float64, a, sc *float32, n int, c float64) (z, t, m float64)
//
// AttnRow in 8 float64 lanes, n > 0; the last n mod 8 elements are loaded
// and stored under a mask (zeros in the other lanes, which add nothing).
TEXT ·attnRowAVX512(SB), NOSPLIT, $0-72
	MOVQ         mass+0(FP), DI
	MOVQ         colT+8(FP), BX
	MOVQ         a+16(FP), SI
	MOVQ         sc+24(FP), DX
	MOVQ         n+32(FP), CX
	VBROADCASTSD c+40(FP), Z8
	VPXORQ       Z0, Z0, Z0   // zero
	VPXORQ       Z9, Z9, Z9   // z lanes
	VPXORQ       Z10, Z10, Z10 // t lanes
	VPXORQ       Z11, Z11, Z11 // m lanes
	MOVQ         CX, R8
	ANDQ         $7, R8
	SHRQ         $3, CX
	JZ           rowtail

rowloop:
	VCVTPS2PD (SI), Z1            // x
	VCVTPS2PD (DX), Z2            // s
	VADDPD    Z2, Z11, Z11        // m += s
	VADDPD    Z1, Z9, Z9          // z += x
	VADDPD    (DI), Z1, Z3
	VMOVUPD   Z3, (DI)            // mass += x
	VCMPPD    $0x1e, Z0, Z1, K1   // x > 0
	VSUBPD    Z8, Z2, Z4
	VMULPD    Z4, Z1, Z4          // xl = x·(s − c)
	VADDPD    Z4, Z10, K1, Z10    // t += xl where x > 0
	VADDPD    (BX), Z4, Z5
	VMOVUPD   Z5, K1, (BX)        // colT += xl where x > 0
	ADDQ      $32, SI
	ADDQ      $32, DX
	ADDQ      $64, DI
	ADDQ      $64, BX
	DECQ      CX
	JNZ       rowloop

rowtail:
	TESTQ       R8, R8
	JZ          rowreduce
	MOVQ        R8, CX
	MOVQ        $1, AX
	SHLQ        CX, AX
	DECQ        AX
	KMOVW       AX, K2
	VCVTPS2PD.Z (SI), K2, Z1
	VCVTPS2PD.Z (DX), K2, Z2
	VADDPD      Z2, Z11, Z11
	VADDPD      Z1, Z9, Z9
	VMOVUPD.Z   (DI), K2, Z3
	VADDPD      Z1, Z3, Z3
	VMOVUPD     Z3, K2, (DI)
	VCMPPD      $0x1e, Z0, Z1, K2, K1 // x > 0, within the tail
	VSUBPD      Z8, Z2, Z4
	VMULPD      Z4, Z1, Z4
	VADDPD      Z4, Z10, K1, Z10
	VMOVUPD.Z   (BX), K1, Z5
	VADDPD      Z4, Z5, Z5
	VMOVUPD     Z5, K1, (BX)

rowreduce:
	VEXTRACTF64X4 $1, Z9, Y1
	VADDPD        Y1, Y9, Y9
	VEXTRACTF128  $1, Y9, X1
	VADDPD        X1, X9, X9
	VPERMILPD     $1, X9, X1
	VADDSD        X1, X9, X9
	VMOVSD        X9, z+48(FP)
	VEXTRACTF64X4 $1, Z10, Y1
	VADDPD        Y1, Y10, Y10
	VEXTRACTF128  $1, Y10, X1
	VADDPD        X1, X10, X10
	VPERMILPD     $1, X10, X1
	VADDSD        X1, X10, X10
	VMOVSD        X10, t+56(FP)
	VEXTRACTF64X4 $1, Z11, Y1
	VADDPD        Y1, Y11, Y11
	VEXTRACTF128  $1, Y11, X1
	VADDPD        X1, X11, X11
	VPERMILPD     $1, X11, X1
	VADDSD        X1, X11, X11
	VMOVSD        X11, m+64(FP)
	VZEROUPPER
	RET
