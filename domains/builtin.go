package domains

import (
	"embed"
	"fmt"
)

//go:embed builtin/*.txt
var builtinFS embed.FS

// Builtins lists the built-in domain names: "prose" then "code", so that a
// difference of the first two is prose − code, as in the paper's Wikipedia −
// GitHub comparison.
func Builtins() []string { return []string{"prose", "code"} }

// Builtin returns a built-in domain's source ("prose" or "code").
func Builtin(name string) (*Source, error) {
	data, err := builtinFS.ReadFile("builtin/" + name + ".txt")
	if err != nil {
		return nil, fmt.Errorf("domains: no built-in domain %q (have %v)", name, Builtins())
	}
	return parse("builtin:"+name, formatText, data)
}
