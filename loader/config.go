package loader

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/sinkscope/sinkscope/internal/kernels"
)

// Config is the part of a Hugging Face config.json that sinkscope uses, with
// the defaults of the transformers config classes applied and validated.
type Config struct {
	Architecture          string                     // architectures[0], e.g. "LlamaForCausalLM" (the family is chosen by it)
	ModelType             string                     // model_type, e.g. "llama"
	HiddenSize            int                        // d_model
	IntermediateSize      int                        // MLP width
	NumLayers             int                        // num_hidden_layers
	NumHeads              int                        // num_attention_heads (query heads)
	NumKVHeads            int                        // num_key_value_heads (defaults to NumHeads)
	HeadDim               int                        // head_dim (defaults to HiddenSize/NumHeads)
	VocabSize             int                        // vocab_size
	MaxPositionEmbeddings int                        // 0 when absent
	RMSNormEps            float64                    // rms_norm_eps; 0 when absent (the family knows its default)
	RopeTheta             float64                    // RoPE base (rope_theta or rope_parameters.rope_theta); 0 when absent
	RopeScaling           *kernels.RopeScaling       // nil: no scaling ("default")
	RopeByLayerType       map[string]RopeParams      // transformers v5 rope_parameters per layer type (Gemma 3); nil when flat
	ClipQKV               float64                    // clamp q, k, v to ±ClipQKV after projection; 0 = none
	TieWordEmbeddings     bool                       // the output head shares the token embedding (no head tensor in the file)
	BOSTokenID            int                        // -1 = none or absent (Present tells which)
	EOSTokenID            int                        // -1 = none; the first one when config.json lists several
	TorchDType            string                     // torch_dtype (or dtype), e.g. "bfloat16"; "" when absent
	Raw                   map[string]json.RawMessage // every field as written, for family-specific extras
}

// RopeParams is one layer type's rotary embedding in transformers v5's
// per-layer-type rope_parameters.
type RopeParams struct {
	Theta   float64
	Scaling *kernels.RopeScaling // nil: default
}

// Fields returns config.json's fields for a family to read its own, with
// errors that name the field.
func (c *Config) Fields() Fields { return Fields(c.Raw) }

// Present reports whether config.json sets name to something other than
// null.
func (c *Config) Present(name string) bool {
	_, ok := Fields(c.Raw).Get(name)
	return ok
}

// ParseConfig parses and validates a config.json; file names it in errors.
func ParseConfig(file string, data []byte) (*Config, error) {
	c, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("loader: %s: %w", file, err)
	}
	return c, nil
}

// fieldError names the config field at fault.
func fieldError(field string, format string, args ...any) error {
	return fmt.Errorf("field %q: %s", field, fmt.Sprintf(format, args...))
}

func parseConfig(data []byte) (*Config, error) {
	members, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("not a valid config.json: %w", err)
	}
	f := Fields(make(map[string]json.RawMessage, len(members)))
	for _, m := range members {
		f[m.key] = m.raw
	}
	c := &Config{Raw: f}

	var archs []string
	raw, ok := f["architectures"]
	if !ok || isNull(raw) {
		return nil, fieldError("architectures", "missing; want e.g. [\"LlamaForCausalLM\"]")
	}
	if err := json.Unmarshal(raw, &archs); err != nil || len(archs) == 0 {
		return nil, fieldError("architectures", "%s: want a non-empty list of strings", clip(raw))
	}
	c.Architecture = archs[0]
	if c.Architecture == "" {
		return nil, fieldError("architectures", "%s: the first entry is empty", clip(raw))
	}
	if c.ModelType, _, err = f.String("model_type"); err != nil {
		return nil, err
	}
	if c.TorchDType, _, err = f.String("torch_dtype"); err != nil {
		return nil, err
	}
	if c.TorchDType == "" {
		if c.TorchDType, _, err = f.String("dtype"); err != nil {
			return nil, err
		}
	}

	// Sizes under their common names: positive when present. Which are
	// required, and any other spelling (GPT-2's n_embd), is the family's.
	sizes := []struct {
		dst  *int
		name string
	}{
		{&c.HiddenSize, "hidden_size"},
		{&c.IntermediateSize, "intermediate_size"},
		{&c.NumLayers, "num_hidden_layers"},
		{&c.NumHeads, "num_attention_heads"},
		{&c.VocabSize, "vocab_size"},
	}
	for _, s := range sizes {
		v, present, err := f.PositiveInt(s.name)
		if err != nil {
			return nil, err
		}
		_ = present
		*s.dst = v
	}
	if c.MaxPositionEmbeddings, _, err = f.PositiveInt("max_position_embeddings"); err != nil {
		return nil, err
	}
	kv, present, err := f.PositiveInt("num_key_value_heads")
	if err != nil {
		return nil, err
	}
	if !present {
		kv = c.NumHeads
	}
	c.NumKVHeads = kv
	if c.NumHeads > 0 && c.NumKVHeads > 0 && c.NumHeads%c.NumKVHeads != 0 {
		return nil, fieldError("num_key_value_heads", "%d does not divide num_attention_heads %d", c.NumKVHeads, c.NumHeads)
	}
	hd, present, err := f.PositiveInt("head_dim")
	if err != nil {
		return nil, err
	}
	if !present && c.NumHeads > 0 && c.HiddenSize > 0 {
		if c.HiddenSize%c.NumHeads != 0 {
			return nil, fieldError("hidden_size", "%d is not divisible by num_attention_heads %d (and there is no head_dim)", c.HiddenSize, c.NumHeads)
		}
		hd = c.HiddenSize / c.NumHeads
	}
	c.HeadDim = hd
	if err := parseRope(c, f); err != nil {
		return nil, err
	}

	eps, present, err := f.Float("rms_norm_eps")
	if err != nil {
		return nil, err
	}
	if present && !(eps > 0) {
		return nil, fieldError("rms_norm_eps", "%v: want a positive number", eps)
	}
	c.RMSNormEps = eps
	clipQKV, present, err := f.Float("clip_qkv")
	if err != nil {
		return nil, err
	}
	if present && (!(clipQKV > 0) || math.IsInf(clipQKV, 0)) {
		return nil, fieldError("clip_qkv", "%v: want a positive number or null", clipQKV)
	}
	c.ClipQKV = clipQKV
	if c.TieWordEmbeddings, _, err = f.Bool("tie_word_embeddings"); err != nil {
		return nil, err
	}
	if c.BOSTokenID, err = f.tokenID("bos_token_id", -1); err != nil {
		return nil, err
	}
	if c.EOSTokenID, err = f.tokenID("eos_token_id", -1); err != nil {
		return nil, err
	}
	return c, nil
}

// parseRope reads rope_theta and the scaling from either spelling:
// legacy top-level rope_theta + rope_scaling, or transformers v5's
// rope_parameters holding rope_theta, rope_type and the scaling fields.
func parseRope(c *Config, f Fields) error {
	theta, present, err := f.Float("rope_theta")
	if err != nil {
		return err
	}
	if present && !(theta > 0) {
		return fieldError("rope_theta", "%v: want a positive number", theta)
	}
	legacy, err := parseScaling("rope_scaling", f["rope_scaling"])
	if err != nil {
		return err
	}
	c.RopeScaling = legacy
	if raw, ok := f["rope_parameters"]; ok && !isNull(raw) {
		if byType, err := parseRopeByLayerType(raw); err != nil || byType != nil {
			if err != nil {
				return err
			}
			c.RopeByLayerType = byType
			c.RopeTheta = theta
			return nil
		}
		params, err := parseScaling("rope_parameters", raw)
		if err != nil {
			return err
		}
		pf, err := objectFields(raw)
		if err != nil {
			return fieldError("rope_parameters", "%v", err)
		}
		pt, ptPresent, err := pf.Float("rope_theta")
		if err != nil {
			return fmt.Errorf("field %q: %w", "rope_parameters", err)
		}
		if ptPresent {
			if !(pt > 0) {
				return fieldError("rope_parameters.rope_theta", "%v: want a positive number", pt)
			}
			if present && pt != theta {
				return fieldError("rope_parameters.rope_theta", "%v disagrees with rope_theta %v", pt, theta)
			}
			theta = pt
		}
		if legacy != nil && params != nil && *legacy != *params {
			return fieldError("rope_parameters", "%+v disagrees with rope_scaling %+v", *params, *legacy)
		}
		if params != nil {
			c.RopeScaling = params
		}
	}
	c.RopeTheta = theta
	return nil
}

// parseRopeByLayerType reads transformers v5's rope_parameters keyed by
// layer type ({"full_attention": {...}, "sliding_attention": {...}}, as
// Gemma 3 saves them). It returns nil, nil for the flat form.
func parseRopeByLayerType(raw json.RawMessage) (map[string]RopeParams, error) {
	members, err := decodeObject(raw)
	if err != nil {
		return nil, fieldError("rope_parameters", "%s: want an object or null (%v)", clip(raw), err)
	}
	var out map[string]RopeParams
	for _, m := range members {
		if m.key != "full_attention" && m.key != "sliding_attention" {
			continue
		}
		field := "rope_parameters." + m.key
		sc, err := parseScaling(field, m.raw)
		if err != nil {
			return nil, err
		}
		pf, err := objectFields(m.raw)
		if err != nil {
			return nil, fieldError(field, "%v", err)
		}
		theta, present, err := pf.Float("rope_theta")
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", field, err)
		}
		if !present || !(theta > 0) {
			return nil, fieldError(field+".rope_theta", "want a positive number")
		}
		if out == nil {
			out = make(map[string]RopeParams)
		}
		out[m.key] = RopeParams{Theta: theta, Scaling: sc}
	}
	return out, nil
}

// parseScaling parses a rope_scaling-style object; nil for none/default.
func parseScaling(field string, raw json.RawMessage) (*kernels.RopeScaling, error) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	f, err := objectFields(raw)
	if err != nil {
		return nil, fieldError(field, "%s: want an object or null (%v)", clip(raw), err)
	}
	typ, _, err := f.String("rope_type")
	if err != nil {
		return nil, fmt.Errorf("field %q: %w", field, err)
	}
	legacyType, _, err := f.String("type")
	if err != nil {
		return nil, fmt.Errorf("field %q: %w", field, err)
	}
	if typ == "" {
		typ = legacyType
	} else if legacyType != "" && legacyType != typ {
		return nil, fieldError(field, "rope_type %q and type %q disagree", typ, legacyType)
	}
	num := func(name string) (float64, error) {
		v, present, err := f.Float(name)
		if err != nil {
			return 0, fmt.Errorf("field %q: %w", field, err)
		}
		if !present || !(v > 0) || math.IsInf(v, 0) {
			return 0, fieldError(field+"."+name, "want a positive number for rope type %q", typ)
		}
		return v, nil
	}
	switch typ {
	case "", "default":
		return nil, nil
	case "longrope", "su":
		// Phi-3: the factor lists and original_max_position_embeddings are
		// read by the family; an explicit factor is kept.
		s := &kernels.RopeScaling{Type: "longrope"}
		if _, ok := f.Get("factor"); ok {
			if s.Factor, err = num("factor"); err != nil {
				return nil, err
			}
		}
		return s, nil
	case "linear":
		factor, err := num("factor")
		if err != nil {
			return nil, err
		}
		return &kernels.RopeScaling{Type: "linear", Factor: factor}, nil
	case "llama3":
		s := &kernels.RopeScaling{Type: "llama3"}
		if s.Factor, err = num("factor"); err != nil {
			return nil, err
		}
		if s.LowFreqFactor, err = num("low_freq_factor"); err != nil {
			return nil, err
		}
		if s.HighFreqFactor, err = num("high_freq_factor"); err != nil {
			return nil, err
		}
		if s.HighFreqFactor <= s.LowFreqFactor {
			return nil, fieldError(field+".high_freq_factor", "%v must exceed low_freq_factor %v", s.HighFreqFactor, s.LowFreqFactor)
		}
		n, present, err := f.PositiveInt("original_max_position_embeddings")
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", field, err)
		}
		if !present {
			return nil, fieldError(field+".original_max_position_embeddings", "missing; rope type \"llama3\" needs it")
		}
		s.OriginalMaxPositions = n
		return s, nil
	}
	return nil, fieldError(field, "unsupported rope type %q (sinkscope implements default, linear, llama3 and longrope)", typ)
}

// Fields is a decoded JSON object, config.json or one of its objects. A null
// value reads as absent. Each reader returns the value, whether it is present,
// and an error naming the field when it has the wrong type.
type Fields map[string]json.RawMessage

func objectFields(raw json.RawMessage) (Fields, error) {
	members, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	f := make(Fields, len(members))
	for _, m := range members {
		f[m.key] = m.raw
	}
	return f, nil
}

func (f Fields) Get(name string) (json.RawMessage, bool) {
	raw, ok := f[name]
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

// integer parses a JSON integer (no fraction or exponent).
func integer(name string, raw json.RawMessage) (int, error) {
	s := string(bytes.TrimSpace(raw))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > math.MaxInt32 || v < math.MinInt32 {
		return 0, fieldError(name, "%s: want an integer", clip(raw))
	}
	return int(v), nil
}

func (f Fields) PositiveInt(name string) (int, bool, error) {
	raw, ok := f.Get(name)
	if !ok {
		return 0, false, nil
	}
	v, err := integer(name, raw)
	if err != nil {
		return 0, true, err
	}
	if v <= 0 {
		return 0, true, fieldError(name, "%d: want a positive integer", v)
	}
	return v, true, nil
}

func (f Fields) Float(name string) (float64, bool, error) {
	raw, ok := f.Get(name)
	if !ok {
		return 0, false, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, true, fieldError(name, "%s: want a number", clip(raw))
	}
	return v, true, nil
}

func (f Fields) String(name string) (string, bool, error) {
	raw, ok := f.Get(name)
	if !ok {
		return "", false, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", true, fieldError(name, "%s: want a string", clip(raw))
	}
	return v, true, nil
}

func (f Fields) Bool(name string) (bool, bool, error) {
	raw, ok := f.Get(name)
	if !ok {
		return false, false, nil
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, true, fieldError(name, "%s: want true or false", clip(raw))
	}
	return v, true, nil
}

// tokenID reads a special-token id that may be absent (def), null (-1), an
// integer, or a list of integers (the first; an empty list is -1).
func (f Fields) tokenID(name string, def int) (int, error) {
	raw, present := f[name]
	if !present {
		return def, nil
	}
	if isNull(raw) {
		return -1, nil
	}
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '[' {
		var ids []json.RawMessage
		if err := json.Unmarshal(t, &ids); err != nil {
			return 0, fieldError(name, "%s: want an integer, a list of integers or null", clip(raw))
		}
		if len(ids) == 0 {
			return -1, nil
		}
		for _, id := range ids {
			if _, err := integer(name, id); err != nil {
				return 0, err
			}
		}
		t = ids[0]
	}
	v, err := integer(name, t)
	if err != nil {
		return 0, fieldError(name, "%s: want an integer, a list of integers or null", clip(raw))
	}
	if v < 0 {
		return 0, fieldError(name, "%d: want a non-negative token id or null", v)
	}
	return v, nil
}
