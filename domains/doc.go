// Package domains reads the named sets of texts that sinkscope compares a
// model's heads on (DESIGN.md §6): a .txt file (one text per blank-line
// separated block), a .jsonl file (one object per line with a "text" string,
// or an "ids" array of token ids used exactly as given), or a directory (one
// text per file, in lexical order). It samples them with a seed, tokenizes
// and truncates them to a fixed length, and counts the texts too short to use.
//
// A Source is checked and indexed in one streaming pass and read back one
// item at a time, and a sampled Domain keeps which items it picked, not their
// tokens, so a domain of any size costs memory for its index only.
//
// Two small built-in domains, "prose" (original English paragraphs) and
// "code" (original Go-like source), let a first run work without any data.
package domains
