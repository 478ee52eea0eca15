package hooks

import (
	"reflect"
	"strings"
	"testing"
)

// The full ordered list for a 2-layer model, as TransformerLens names it.
var twoLayerNames = []string{
	"hook_embed",
	"blocks.0.hook_resid_pre",
	"blocks.0.attn.hook_q",
	"blocks.0.attn.hook_k",
	"blocks.0.attn.hook_v",
	"blocks.0.attn.hook_attn_scores",
	"blocks.0.attn.hook_pattern",
	"blocks.0.attn.hook_z",
	"blocks.0.hook_attn_out",
	"blocks.0.hook_resid_mid",
	"blocks.0.hook_mlp_out",
	"blocks.0.hook_resid_post",
	"blocks.1.hook_resid_pre",
	"blocks.1.attn.hook_q",
	"blocks.1.attn.hook_k",
	"blocks.1.attn.hook_v",
	"blocks.1.attn.hook_attn_scores",
	"blocks.1.attn.hook_pattern",
	"blocks.1.attn.hook_z",
	"blocks.1.hook_attn_out",
	"blocks.1.hook_resid_mid",
	"blocks.1.hook_mlp_out",
	"blocks.1.hook_resid_post",
	"ln_final.hook_normalized",
	"hook_logits",
}

func TestPointsPinned(t *testing.T) {
	var got []string
	for _, p := range Points(2) {
		got = append(got, p.String())
	}
	if !reflect.DeepEqual(got, twoLayerNames) {
		t.Fatalf("Points(2) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(twoLayerNames, "\n"))
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, p := range Points(12) {
		q, err := Parse(p.String())
		if err != nil {
			t.Fatalf("Parse(%q): %v", p, err)
		}
		if q != p {
			t.Fatalf("Parse(%q) = %+v, want %+v", p, q, p)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "unknown hook point"},
		{"blocks.x.hook_resid_pre", `layer "x"`},
		{"blocks.-1.hook_resid_pre", `layer "-1"`},
		{"blocks.01.hook_resid_pre", `layer "01"`},
		{"blocks.3.attn.hook_nothing", `unknown name "attn.hook_nothing"`},
		{"blocks.3.hook_logits", `unknown name "hook_logits"`},
		{"hook_resid_pre", "unknown hook point"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pats string
		want []string
		err  string
	}{
		{pats: "blocks.*.attn.hook_pattern", want: []string{"blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern", "blocks.2.attn.hook_pattern"}},
		{pats: "hook_logits, blocks.1.hook_resid_post,hook_embed", want: []string{"hook_embed", "blocks.1.hook_resid_post", "hook_logits"}},
		{pats: "blocks.2.attn.hook_z,blocks.*.attn.hook_z", want: []string{"blocks.0.attn.hook_z", "blocks.1.attn.hook_z", "blocks.2.attn.hook_z"}},
		{pats: "blocks.7.hook_resid_post", err: "matches no hook point of a 3-layer model"},
		{pats: "blocks.*.hook_bogus", err: "unknown name"},
	} {
		ps, err := Match(tc.pats, 3)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Match(%q) error = %v, want %q", tc.pats, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Match(%q): %v", tc.pats, err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Match(%q) = %v, want %v", tc.pats, got, tc.want)
		}
	}
}
