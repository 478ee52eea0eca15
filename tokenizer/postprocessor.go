package tokenizer

import (
	"encoding/json"
	"fmt"
)

// A postProcessor adds special tokens around an encoded sequence (when the
// caller asks for special tokens).
type postProcessor interface {
	process(ids []int) []int
	// leading returns the special-token ids put before the sequence.
	leading() []int
}

type postProcessorSeq []postProcessor

func (p postProcessorSeq) process(ids []int) []int {
	for _, x := range p {
		ids = x.process(ids)
	}
	return ids
}

func (p postProcessorSeq) leading() []int {
	var out []int
	for _, x := range p {
		out = append(out, x.leading()...)
	}
	return out
}

// noopProcessor is ByteLevel's post-processor: it only adjusts offsets.
type noopProcessor struct{}

func (noopProcessor) process(ids []int) []int { return ids }
func (noopProcessor) leading() []int          { return nil }

// templateProcessor is TemplateProcessing's single-sequence template: special
// tokens and the sequence ($A) in order.
type templateProcessor struct {
	pieces [][]int // nil entry = the sequence
}

func (t templateProcessor) process(ids []int) []int {
	var out []int
	for _, p := range t.pieces {
		if p == nil {
			out = append(out, ids...)
		} else {
			out = append(out, p...)
		}
	}
	return out
}

func (t templateProcessor) leading() []int {
	var out []int
	for _, p := range t.pieces {
		if p == nil {
			break
		}
		out = append(out, p...)
	}
	return out
}

func parsePostProcessor(raw json.RawMessage, field string) (postProcessor, error) {
	if isNull(raw) {
		return nil, nil
	}
	var h struct {
		Type       string            `json:"type"`
		Processors []json.RawMessage `json:"processors"`
		Single     []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int `json:"ids"`
		} `json:"special_tokens"`
		Sep json.RawMessage `json:"sep"`
		Cls json.RawMessage `json:"cls"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	switch h.Type {
	case "Sequence":
		var seq postProcessorSeq
		for i, r := range h.Processors {
			p, err := parsePostProcessor(r, fmt.Sprintf("%s.processors[%d]", field, i))
			if err != nil {
				return nil, err
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, nil
	case "ByteLevel":
		return noopProcessor{}, nil
	case "TemplateProcessing":
		var t templateProcessor
		for i, p := range h.Single {
			switch {
			case p.Sequence != nil:
				if p.Sequence.ID != "A" {
					return nil, fmt.Errorf("%s.single[%d]: sequence %q in a single-sequence template", field, i, p.Sequence.ID)
				}
				t.pieces = append(t.pieces, nil)
			case p.SpecialToken != nil:
				st, ok := h.SpecialTokens[p.SpecialToken.ID]
				if !ok {
					return nil, fmt.Errorf("%s.single[%d]: special token %q missing from special_tokens", field, i, p.SpecialToken.ID)
				}
				t.pieces = append(t.pieces, append([]int{}, st.IDs...))
			default:
				return nil, fmt.Errorf("%s.single[%d]: want SpecialToken or Sequence", field, i)
			}
		}
		return t, nil
	case "BertProcessing", "RobertaProcessing":
		var sep, cls struct {
			tok string
			id  int
		}
		for _, x := range []struct {
			raw json.RawMessage
			dst *struct {
				tok string
				id  int
			}
			name string
		}{{h.Sep, &sep, "sep"}, {h.Cls, &cls, "cls"}} {
			var pair []any
			if err := json.Unmarshal(x.raw, &pair); err != nil || len(pair) != 2 {
				return nil, fmt.Errorf("%s.%s: want [token, id]", field, x.name)
			}
			id, ok := pair[1].(float64)
			if !ok {
				return nil, fmt.Errorf("%s.%s: want [token, id]", field, x.name)
			}
			x.dst.id = int(id)
		}
		return templateProcessor{pieces: [][]int{{cls.id}, nil, {sep.id}}}, nil
	}
	return nil, fmt.Errorf("%s.type: unsupported post-processor %q (supported: Sequence, ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing)", field, h.Type)
}
