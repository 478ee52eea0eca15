package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/metrics"
)

// synthGrids is a model's grids with every column filled from a seeded
// generator.
func synthGrids(layers, heads, domains int, seed uint64) *Grids {
	rng := rand.New(rand.NewPCG(seed, 1))
	g := &Grids{Model: "synthetic", Arch: "LlamaForCausalLM", Layers: layers, Heads: heads}
	for d := range domains {
		grid := Grid{Name: fmt.Sprintf("domain%d", d), NSeqs: 100, Loss: 2.5, Values: map[string][]Num{}}
		for _, c := range columns {
			v := make([]Num, layers*heads)
			for i := range v {
				v[i] = Num(rng.Float64())
			}
			grid.Values[c.name] = v
		}
		g.Domains = append(g.Domains, grid)
	}
	return g
}

// synthSample is a sample of T tokens whose statistics come from a seeded
// generator, with the patterns of the heads keep selects.
func synthSample(layers, heads, T int, keep func(int) bool, rng *rand.Rand) Sample {
	r := &metrics.TokenReport{IDs: make([]int, T), T: T, Layers: layers, Heads: heads, KVHeads: heads,
		AttnMass: make([]float64, layers*heads*T), ValueNorm: make([]float64, layers*heads*T),
		ResidNorm: make([]float64, layers*T), MaxAbs: make([]float64, layers*T), Massive: make([]int, layers*T)}
	for _, xs := range [][]float64{r.AttnMass, r.ValueNorm, r.ResidNorm, r.MaxAbs} {
		for i := range xs {
			xs[i] = rng.Float64() * 10
		}
	}
	s := Sample{Name: "synthetic", IDs: r.IDs, T: T, blobs: map[string][]byte{}}
	for i := range T {
		s.Tokens = append(s.Tokens, fmt.Sprintf("tok%d", i))
	}
	for i := 0; i < layers*heads; i++ {
		if keep(i) {
			s.PatternHeads = append(s.PatternHeads, i)
		}
	}
	pat := make([]byte, len(s.PatternHeads)*T*(T+1)/2)
	for i := range pat {
		pat[i] = byte(rng.IntN(256))
	}
	s.blobs["patterns"] = pat
	s.fill(r)
	return s
}

// TestSizeBudget checks the budget: a 32-layer × 32-head model
// with 4 domains and 4 sample sequences of 256 tokens, patterns chosen
// within the default budget, is at most 5 MB.
func TestSizeBudget(t *testing.T) {
	const L, H, T, samples = 32, 32, 256, 4
	g := synthGrids(L, H, 4, 1)
	c := Config{}
	specs := make([]SampleSpec, samples)
	for i := range specs {
		specs[i].IDs = make([]int, T)
	}
	want, err := c.patternHeads(g, specs, L, H)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	var ss []Sample
	for s := range samples {
		ss = append(ss, synthSample(L, H, T, func(i int) bool { return want(s, i) }, rng))
	}
	var b bytes.Buffer
	if err := NewPage(g, metrics.DefaultClassifier(), ss).WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	kept := len(ss[0].PatternHeads)
	t.Logf("32×32 heads, 4 domains, 4 samples of 256 tokens: %d bytes, patterns of %d heads kept", b.Len(), kept)
	if b.Len() > 5_000_000 {
		t.Errorf("report of the budget case: %d bytes, want ≤ 5,000,000", b.Len())
	}
	if kept < 1 || kept*samples*T*(T+1)/2 > DefaultPatternBudget {
		t.Errorf("kept the patterns of %d heads: want at least one and at most the budget %d bytes", kept, DefaultPatternBudget)
	}
}

// TestDeterministic writes the same page twice, and a page whose data
// would close its script element.
func TestDeterministic(t *testing.T) {
	g := synthGrids(2, 3, 2, 7)
	g.Domains[0].Note = "</script><script>alert(1)</script>"
	render := func() []byte {
		rng := rand.New(rand.NewPCG(3, 3))
		s := synthSample(2, 3, 9, func(i int) bool { return i%2 == 0 }, rng)
		s.Tokens[0] = "</script>"
		var b bytes.Buffer
		if err := NewPage(g, metrics.DefaultClassifier(), []Sample{s}).WriteHTML(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := render(), render()
	if !bytes.Equal(a, b) {
		t.Fatal("the same page rendered twice differs")
	}
	if n := bytes.Count(a, []byte("</script>")); n != 5 { // data, three blobs, the script
		t.Errorf("%d </script> in the page, want 5: page data escaped its element", n)
	}
}

func TestQuantise(t *testing.T) {
	for _, tc := range []struct {
		p    float32
		want byte
	}{{0, 0}, {-1e-9, 0}, {float32(math.NaN()), 0}, {1, 255}, {1.5, 255}, {0.5, 128}, {0.99 / 510, 0}, {1.01 / 510, 1}, {0.999, 255}, {0.3, 77}} {
		got := quantise(tc.p)
		if got != tc.want {
			t.Errorf("quantise(%v) = %d, want %d", tc.p, got, tc.want)
		}
		if p := float64(tc.p); p >= 0 && p <= 1 && math.Abs(float64(got)/Levels-p) > 0.5/Levels+1e-7 {
			t.Errorf("quantise(%v) = %d reads back as %v: more than half a step off", tc.p, got, float64(got)/Levels)
		}
	}
}

// jrow writes one heads row with the given overrides.
func jrow(domain string, l, h int, extra string) string {
	return fmt.Sprintf(`{"domain":%q,"layer":%d,"head":%d,"n_seqs":3,"first_attn":%g,"head_out_norm":%d%s}`, domain, l, h, 0.1*float64(l*2+h), 1+h, extra)
}

func TestReadRows(t *testing.T) {
	var lines []string
	for _, d := range []string{"a", "b"} {
		for l := range 2 {
			for h := range 2 {
				lines = append(lines, jrow(d, l, h, `,"ablation_dloss":null`))
			}
		}
	}
	g, err := ReadRows(strings.NewReader(strings.Join(lines, "\n")+"\n"), "rows")
	if err != nil {
		t.Fatal(err)
	}
	if g.Layers != 2 || g.Heads != 2 || len(g.Domains) != 2 || g.Steps != nil {
		t.Fatalf("grids %d×%d, %d domains, steps %v", g.Layers, g.Heads, len(g.Domains), g.Steps)
	}
	if got := float64(g.Domains[1].Values["first_attn"][3]); math.Abs(got-0.3) > 1e-12 {
		t.Errorf("b head 1.1 first_attn = %v, want 0.3", got)
	}
	// out_norm = 1 − head_out_norm / layer mean: heads 1 and 2 → mean 1.5
	if got := float64(g.Domains[0].Values["out_norm"][0]); math.Abs(got-(1-1/1.5)) > 1e-12 {
		t.Errorf("out_norm of head 0.0 = %v, want %v", got, 1-1/1.5)
	}
	if !math.IsNaN(float64(g.Domains[0].Values[ablationColumn][0])) {
		t.Errorf("ablation_dloss null read as %v, want NaN", g.Domains[0].Values[ablationColumn][0])
	}
	// a series
	var series []string
	for _, step := range []int{2000, 500} {
		for l := range 2 {
			for h := range 2 {
				series = append(series, jrow("a", l, h, fmt.Sprintf(`,"checkpoint":"c%d","revision":"step%d","step":%d,"tokens_seen":null`, step, step, step)))
			}
		}
	}
	g, err = ReadRows(strings.NewReader(strings.Join(series, "\n")), "diff")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Steps) != 2 || g.Steps[0].Label != "step 2000" || g.Steps[1].Step != 500 || g.Steps[1].Tokens != -1 {
		t.Errorf("steps %+v", g.Steps)
	}

	for _, tc := range []struct{ name, in, want string }{
		{"empty", "\n\n", "holds no rows"},
		{"not json", "{", "not a JSON object"},
		{"no domain", `{"layer":0,"head":0,"first_attn":1}`, `no field "domain"`},
		{"bad layer", `{"domain":"a","layer":-1,"head":0,"first_attn":1}`, `field "layer" = -1`},
		{"fraction layer", `{"domain":"a","layer":0.5,"head":0,"first_attn":1}`, `field "layer" = 0.5`},
		{"string number", `{"domain":"a","layer":0,"head":0,"first_attn":"x"}`, `field "first_attn" = "x"`},
		{"no first_attn", `{"domain":"a","layer":0,"head":0}`, "not a row of sinkscope heads or diff"},
		{"twice", jrow("a", 0, 0, "") + "\n" + jrow("a", 0, 0, ""), "appears twice"},
		{"hole", jrow("a", 0, 0, "") + "\n" + jrow("a", 1, 1, ""), "has 2 heads, want 4"},
		{"two models", jrow("a", 0, 0, `,"model":"x"`) + "\n" + jrow("a", 0, 1, `,"model":"y"`), "rows of two models"},
		{"mixed", jrow("a", 0, 0, `,"checkpoint":"c"`) + "\n" + jrow("a", 0, 1, ""), "no checkpoint among rows with one"},
		{"huge", `{"domain":"a","layer":4095,"head":4095,"first_attn":1}`, "more than 4096 heads"},
		{"domains differ", jrow("a", 0, 0, `,"checkpoint":"c1"`) + "\n" + jrow("b", 0, 0, `,"checkpoint":"c2"`), "has domains"},
	} {
		_, err := ReadRows(strings.NewReader(tc.in), "rows")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestInterest: a head whose class differs between domains comes first,
// then the most dormant and the most active in turn.
func TestInterest(t *testing.T) {
	g := &Grids{Layers: 1, Heads: 4, Domains: []Grid{
		{Values: map[string][]Num{"first_attn": {0.6, 0.95, 0.1, 0.9}}},
		{Values: map[string][]Num{"first_attn": {0.6, 0.95, 0.1, 0.2}}},
	}}
	got := fmt.Sprint(Interest(g, 4))
	if want := "[3 1 2 0]"; got != want {
		t.Errorf("Interest = %s, want %s", got, want)
	}
}

func FuzzReadRows(f *testing.F) {
	f.Add(jrow("a", 0, 0, "") + "\n")
	f.Add(jrow("a", 0, 0, `,"checkpoint":"c","step":5,"tokens_seen":1000`) + "\n" + jrow("a", 0, 0, `,"checkpoint":"d","step":7`))
	f.Add(`{"domain":"a","layer":0,"head":1,"first_attn":null}` + "\n" + `{"domain":"a","layer":0,"head":0,"first_attn":1e400}`)
	f.Add("{}\n[]\n")
	f.Fuzz(func(t *testing.T, in string) {
		g, err := ReadRows(strings.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		n := g.Layers * g.Heads
		if n < 1 || n > maxHeads {
			t.Fatalf("accepted a grid of %d×%d", g.Layers, g.Heads)
		}
		for _, d := range g.Domains {
			for k, v := range d.Values {
				if len(v) != n {
					t.Fatalf("domain %q %s: %d values for %d heads", d.Name, k, len(v), n)
				}
			}
		}
		if _, err := json.Marshal(NewPage(g, metrics.DefaultClassifier(), nil)); err != nil {
			t.Fatalf("page of accepted rows does not encode: %v", err)
		}
	})
}
