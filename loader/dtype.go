package loader

import (
	"fmt"

	"github.com/sinkscope/sinkscope/internal/kernels"
)

// DType is a safetensors element type. Only F32, F16 and BF16 can be read;
// the others exist so that errors can name what a file holds.
type DType uint8

// The element types. Invalid is the zero value.
const (
	Invalid DType = iota
	F32
	F16
	BF16
	// Types safetensors defines that sinkscope does not read.
	F64
	I64
	I32
	I16
	I8
	U8
	U16
	U32
	U64
	Bool
	F8E4M3
	F8E5M2
	numDTypes
)

var dtypeNames = [numDTypes]string{
	Invalid: "invalid", F32: "F32", F16: "F16", BF16: "BF16",
	F64: "F64", I64: "I64", I32: "I32", I16: "I16", I8: "I8", U8: "U8", U16: "U16",
	U32: "U32", U64: "U64", Bool: "BOOL", F8E4M3: "F8_E4M3", F8E5M2: "F8_E5M2",
}

// String returns the safetensors spelling ("F32", "BF16", ...).
func (d DType) String() string {
	if d < numDTypes {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Supported reports whether sinkscope can read tensors of this type.
func (d DType) Supported() bool { return d == F32 || d == F16 || d == BF16 }

// Size is the number of bytes per element (0 for Invalid).
func (d DType) Size() int {
	switch d {
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case F64, I64, U64:
		return 8
	case I8, U8, Bool, F8E4M3, F8E5M2:
		return 1
	}
	return 0
}

// Kernel returns the kernels package's name for a supported type. It panics
// for an unsupported one; tensors of a Checkpoint never have one.
func (d DType) Kernel() kernels.DType {
	switch d {
	case F32:
		return kernels.F32
	case F16:
		return kernels.F16
	case BF16:
		return kernels.BF16
	}
	panic("loader: no kernel dtype for " + d.String())
}

// ParseDType maps a safetensors dtype string to a DType. Unsupported but known
// types are returned with ok true; check Supported.
func ParseDType(s string) (d DType, ok bool) {
	for i, n := range dtypeNames {
		if i != int(Invalid) && n == s {
			return DType(i), true
		}
	}
	return Invalid, false
}
