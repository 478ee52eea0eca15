package bbtoy

import (
	"embed"
	"io/fs"
)

// builtinFS is the default checkpoint: see builtin/README.md for the command
// that trained it.
//
//go:embed builtin/config.json builtin/model.safetensors
var builtinFS embed.FS

// Builtin returns the embedded default BB checkpoint as a directory at "."
// holding config.json and model.safetensors (open it with loader.OpenFS).
func Builtin() fs.FS {
	sub, err := fs.Sub(builtinFS, "builtin")
	if err != nil {
		panic(err) // "builtin" is a valid path; fs.Sub cannot fail on it
	}
	return sub
}
