package main

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// TestTokensReferenceRows compares the rows of `tokens MODEL --ids ...` with
// the reference forward: resid_norm = resid_post_norm (1e-4 relative),
// attn_received = the mean over heads of attn_mass (1e-5 absolute), and
// value_norm = the mean over heads of wo_value_norm (1e-4 relative).
func TestTokensReferenceRows(t *testing.T) {
	for _, tc := range []struct{ ckpt, ref string }{
		{"hf/stories260K_hf", "stories260K_hf_reference.json"},
		{"hf/olmo_tiny_bf16", "olmo_tiny_bf16_reference.json"},
		{"hf/olmo2_tiny", "olmo2_tiny_reference.json"},
	} {
		t.Run(filepath.Base(tc.ckpt), func(t *testing.T) {
			var ref struct {
				headsRef
				ResidPostNorm [][]float64 `json:"resid_post_norm"`
			}
			fixtures.ReadJSON(t, "reference/"+tc.ref, &ref)
			out, _ := runOK(t, "tokens", fixtures.Path(t, tc.ckpt), "--ids", idList(ref.InputIDs), "--format", "json")
			rows := jsonRows(t, out)
			L, T, H := len(ref.ResidPostNorm), len(ref.InputIDs), len(ref.BOSAttn[0])
			if len(rows) != L*T {
				t.Fatalf("%d rows, want %d", len(rows), L*T)
			}
			var dRes, dAttn, dVal float64
			for _, row := range rows {
				l, k := int(num(t, row, "layer")), int(num(t, row, "position"))
				if int(num(t, row, "token_id")) != ref.InputIDs[k] {
					t.Errorf("row %d.%d: token_id %v, want %d", l, k, row["token_id"], ref.InputIDs[k])
				}
				if _, ok := row["extreme"].(bool); !ok {
					t.Errorf("row %d.%d: extreme is %T, want a boolean", l, k, row["extreme"])
				}
				var mass, val float64
				for h := 0; h < H; h++ {
					mass += ref.AttnMass[l][h][k] / float64(H)
					val += ref.WOValueNorm[l][h][k] / float64(H)
				}
				want := ref.ResidPostNorm[l][k]
				dRes = math.Max(dRes, math.Abs(num(t, row, "resid_norm")-want)/want)
				dAttn = math.Max(dAttn, math.Abs(num(t, row, "attn_received")-mass))
				dVal = math.Max(dVal, math.Abs(num(t, row, "value_norm")-val)/val)
			}
			t.Logf("max diff: resid_norm %.3g (rel), attn_received %.3g (abs), value_norm %.3g (rel)", dRes, dAttn, dVal)
			if dRes > 1e-4 || dAttn > 1e-5 || dVal > 1e-4 {
				t.Errorf("resid_norm %.3g (want ≤ 1e-4 rel), attn_received %.3g (≤ 1e-5), value_norm %.3g (≤ 1e-4 rel)", dRes, dAttn, dVal)
			}
		})
	}
}

// TestTokensText checks --text encoding (BOS first under auto, token strings
// from the tokenizer), the csv header, and byte-identical repeated output.
func TestTokensText(t *testing.T) {
	dir := fixtures.Path(t, "hf/stories260K_hf")
	a, _ := runOK(t, "tokens", dir, "--text", "Once upon a time", "--format", "csv")
	b, _ := runOK(t, "tokens", dir, "--text", "Once upon a time", "--format", "csv")
	if a != b {
		t.Error("two runs differ")
	}
	lines := strings.Split(strings.TrimSpace(a), "\n")
	if lines[0] != "layer,position,token_id,token,resid_norm,attn_received,value_norm,massive_max,extreme" {
		t.Errorf("header %q", lines[0])
	}
	// The reference prompt: [1, 403, 407, 261, 378] = <s> ▁Once ▁upon ▁a ▁time; 5 layers.
	if len(lines) != 1+5*5 || !strings.HasPrefix(lines[1], "0,0,1,<s>,") || !strings.HasPrefix(lines[2], "0,1,403,▁Once,") {
		t.Errorf("got %d rows starting %q, %q; want 25 rows starting with <s> then ▁Once", len(lines)-1, lines[1], lines[2])
	}
}

func TestTokensUsage(t *testing.T) {
	dir := fixtures.Path(t, "hf/stories260K_hf")
	noTok := fixtures.Path(t, "hf/olmo_tiny")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"tokens", dir}, 2, "exactly one of --text and --ids"},
		{[]string{"tokens", dir, "--text", "a", "--ids", "1,2"}, 2, "exactly one"},
		{[]string{"tokens", "--ids", "1,2"}, 2, "exactly one MODEL"},
		{[]string{"tokens", dir, "--ids", "1,2", "--format", "yaml"}, 2, "--format"},
		{[]string{"tokens", dir, "--ids", "1,x"}, 2, `"x" is not a token id`},
		{[]string{"tokens", noTok, "--text", "hello"}, 1, "no tokenizer"},
		{[]string{"tokens", dir, "--ids", "1,999"}, 1, "outside the vocabulary"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, %d bytes on stdout; want exit %d mentioning %q and no output", tc.args[1:], code, stderr.String(), stdout.Len(), tc.code, tc.msg)
		}
	}
}
