package tokenizer

import "fmt"

// BOSPolicy says whether to prepend the beginning-of-sequence token.
type BOSPolicy int

const (
	// BOSAuto prepends the BOS when the tokenizer itself would (Llama 2 and
	// 3: yes; OLMo, GPT-2, Qwen2.5, Qwen3 and Phi-3: no).
	BOSAuto BOSPolicy = iota
	// BOSAlways prepends the BOS; it is an error if the tokenizer has none.
	BOSAlways
	// BOSNever never prepends it.
	BOSNever
)

// ParseBOSPolicy parses "auto", "always" or "never".
func ParseBOSPolicy(s string) (BOSPolicy, error) {
	switch s {
	case "auto":
		return BOSAuto, nil
	case "always":
		return BOSAlways, nil
	case "never":
		return BOSNever, nil
	}
	return 0, fmt.Errorf("BOS policy %q: want auto, always or never", s)
}

func (p BOSPolicy) String() string {
	switch p {
	case BOSAuto:
		return "auto"
	case BOSAlways:
		return "always"
	case BOSNever:
		return "never"
	}
	return fmt.Sprintf("BOSPolicy(%d)", int(p))
}
