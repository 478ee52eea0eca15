package domains

import (
	"embed"
	"fmt"
	"sort"
)

//go:embed builtin/*.txt
var builtinFS embed.FS

// Builtins lists the built-in domain names.
func Builtins() []string {
	ents, _ := builtinFS.ReadDir("builtin")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name()[:len(e.Name())-len(".txt")])
	}
	sort.Strings(names)
	return names
}

// Builtin returns the items of a built-in domain ("code" or "prose").
func Builtin(name string) ([]Item, error) {
	data, err := builtinFS.ReadFile("builtin/" + name + ".txt")
	if err != nil {
		return nil, fmt.Errorf("domains: no built-in domain %q (have %v)", name, Builtins())
	}
	return ParseText("builtin:"+name, data)
}
