package loader

import (
	"fmt"

	"github.com/sinkscope/sinkscope/tokenizer"
)

// Tokenizer loads the checkpoint's tokenizer.json. A checkpoint without one
// (e.g. the random OLMo fixtures) is an error saying so; pass a tokenizer file
// explicitly instead.
func (c *Checkpoint) Tokenizer() (*tokenizer.Tokenizer, error) {
	switch {
	case c.tokenizerData != nil:
		return tokenizer.Parse(c.TokenizerPath, c.tokenizerData)
	case c.TokenizerPath != "":
		return tokenizer.Load(c.TokenizerPath)
	}
	return nil, fmt.Errorf("loader: %s: no %s in the checkpoint directory", c.Dir, TokenizerFile)
}
