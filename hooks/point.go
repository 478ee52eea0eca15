package hooks

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says which activation a hook point names, independently of the layer.
type Kind uint8

// The hook kinds, in the order a forward pass reaches them within a layer.
const (
	Embed      Kind = iota // hook_embed: token embedding [T, d_model]
	ResidPre               // blocks.{l}.hook_resid_pre: residual stream entering layer l [T, d_model]
	AttnQ                  // blocks.{l}.attn.hook_q: queries after projection and bias (and clip/QK-norm), before RoPE [T, H, d_head]
	AttnK                  // blocks.{l}.attn.hook_k: keys, before RoPE [T, KV, d_head]
	AttnV                  // blocks.{l}.attn.hook_v: values, with their bias [T, KV, d_head]
	AttnScores             // blocks.{l}.attn.hook_attn_scores: scaled (and soft-capped) scores, causal- and window-masked, before softmax [H, T, T]
	Pattern                // blocks.{l}.attn.hook_pattern: attention probabilities [H, T(query), T(key)]
	Z                      // blocks.{l}.attn.hook_z: per-head attention output before o_proj [T, H, d_head]
	AttnOut                // blocks.{l}.hook_attn_out: attention output after o_proj and its bias (after OLMo-2's and Gemma 2/3's post-norm, which follows o_proj) [T, d_model]
	ResidMid               // blocks.{l}.hook_resid_mid: residual stream after the attention add; under GPT-NeoX's parallel residual x + attn_out, a state no sublayer reads [T, d_model]
	MLPOut                 // blocks.{l}.hook_mlp_out: MLP output (after OLMo-2's and Gemma 2/3's post-norm) [T, d_model]
	ResidPost              // blocks.{l}.hook_resid_post: residual stream leaving layer l [T, d_model]
	LnFinal                // ln_final.hook_normalized: output of the final norm [T, d_model]
	Logits                 // hook_logits: next-token logits [T, vocab]
	numKinds
)

// kindNames are the TransformerLens suffixes; per-layer kinds are prefixed by "blocks.{l}.".
var kindNames = [numKinds]string{
	Embed:      "hook_embed",
	ResidPre:   "hook_resid_pre",
	AttnQ:      "attn.hook_q",
	AttnK:      "attn.hook_k",
	AttnV:      "attn.hook_v",
	AttnScores: "attn.hook_attn_scores",
	Pattern:    "attn.hook_pattern",
	Z:          "attn.hook_z",
	AttnOut:    "hook_attn_out",
	ResidMid:   "hook_resid_mid",
	MLPOut:     "hook_mlp_out",
	ResidPost:  "hook_resid_post",
	LnFinal:    "ln_final.hook_normalized",
	Logits:     "hook_logits",
}

// PerLayer reports whether points of this kind exist once per layer.
func (k Kind) PerLayer() bool { return k != Embed && k != LnFinal && k != Logits && k < numKinds }

// String returns the kind's TransformerLens suffix.
func (k Kind) String() string {
	if k >= numKinds {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Point names one activation of a forward pass. Layer is ignored (and kept at -1)
// for the kinds that are not per layer.
type Point struct {
	Layer int
	Kind  Kind
}

// At returns the per-layer point of kind k at layer l.
func At(l int, k Kind) Point { return Point{Layer: l, Kind: k} }

// Global returns the point of a kind that is not per layer (Embed, LnFinal, Logits).
func Global(k Kind) Point { return Point{Layer: -1, Kind: k} }

// String prints the TransformerLens name, e.g. "blocks.3.attn.hook_pattern".
func (p Point) String() string {
	if !p.Kind.PerLayer() {
		return p.Kind.String()
	}
	return "blocks." + strconv.Itoa(p.Layer) + "." + p.Kind.String()
}

// Parse reads a TransformerLens hook name such as "blocks.0.attn.hook_z" or "hook_logits".
func Parse(s string) (Point, error) {
	for k := Kind(0); k < numKinds; k++ {
		if !k.PerLayer() && s == kindNames[k] {
			return Global(k), nil
		}
	}
	rest, ok := strings.CutPrefix(s, "blocks.")
	if !ok {
		return Point{}, fmt.Errorf("hooks: unknown hook point %q (want hook_embed, blocks.{l}.<name>, ln_final.hook_normalized or hook_logits)", s)
	}
	num, suffix, ok := strings.Cut(rest, ".")
	l, err := strconv.Atoi(num)
	if !ok || err != nil || l < 0 || num != strconv.Itoa(l) {
		return Point{}, fmt.Errorf("hooks: hook point %q: layer %q is not a non-negative integer", s, num)
	}
	for k := Kind(0); k < numKinds; k++ {
		if k.PerLayer() && suffix == kindNames[k] {
			return At(l, k), nil
		}
	}
	return Point{}, fmt.Errorf("hooks: hook point %q: unknown name %q after the layer", s, suffix)
}

// Points lists every hook point of an n-layer model in the order a forward pass reaches them.
func Points(nLayers int) []Point {
	ps := []Point{Global(Embed)}
	for l := 0; l < nLayers; l++ {
		for k := ResidPre; k <= ResidPost; k++ {
			ps = append(ps, At(l, k))
		}
	}
	return append(ps, Global(LnFinal), Global(Logits))
}

// Match expands a comma-separated list of hook names, where "*" stands for any layer
// index (e.g. "blocks.*.attn.hook_pattern"), against the points of an n-layer model.
// The result is in forward order without duplicates.
func Match(patterns string, nLayers int) ([]Point, error) {
	want := map[Point]bool{}
	for _, pat := range strings.Split(patterns, ",") {
		pat = strings.TrimSpace(pat)
		if pat == "" {
			continue
		}
		found := false
		for _, p := range Points(nLayers) {
			if matchName(pat, p) {
				want[p] = true
				found = true
			}
		}
		if !found {
			if _, err := Parse(strings.ReplaceAll(pat, "*", "0")); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("hooks: %q matches no hook point of a %d-layer model", pat, nLayers)
		}
	}
	var out []Point
	for _, p := range Points(nLayers) {
		if want[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func matchName(pat string, p Point) bool {
	if !strings.Contains(pat, "*") {
		return pat == p.String()
	}
	if !p.Kind.PerLayer() {
		return false
	}
	return strings.Replace(pat, "*", strconv.Itoa(p.Layer), 1) == p.String()
}
