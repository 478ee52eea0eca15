package tokenizer

import (
	"os"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// BenchmarkLoadLlama3 measures loading the 9 MB Llama 3 tokenizer.json
// (128000 vocab, 280147 merges, 256 added tokens) from disk.
func BenchmarkLoadLlama3(b *testing.B) {
	path := fixtures.Path(b, "tokenizers/llama3/tokenizer.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadLlama2(b *testing.B) {
	path := fixtures.Path(b, "tokenizers/llama2/tokenizer.json")
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

// benchText is about 1 MB of English prose (Tiny Shakespeare) when the
// fixtures are present.
func benchText(b *testing.B) string {
	data, err := os.ReadFile(fixtures.Path(b, "tinyshakespeare/input.txt"))
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

func benchEncode(b *testing.B, tokenizer string, cold bool) {
	tok, err := Load(fixtures.Path(b, tokenizer))
	if err != nil {
		b.Fatal(err)
	}
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if cold {
			tok.model.mu.Lock()
			clear(tok.model.cache)
			tok.model.mu.Unlock()
		}
		tok.Encode(text, false)
	}
}

func BenchmarkEncodeLlama3(b *testing.B) { benchEncode(b, "tokenizers/llama3/tokenizer.json", false) }
func BenchmarkEncodeLlama3Cold(b *testing.B) {
	benchEncode(b, "tokenizers/llama3/tokenizer.json", true)
}
func BenchmarkEncodeNeoX(b *testing.B) {
	benchEncode(b, "tokenizers/olmo/allenai_gpt-neox-olmo-dolma-v1_5.json", false)
}

// BenchmarkEncodeQwen3 runs Qwen's pipeline: NFC, the single-digit Split
// (hand-written scanner) and ByteLevel.
func BenchmarkEncodeQwen3(b *testing.B) { benchEncode(b, "tokenizers/qwen3/tokenizer.json", false) }

// BenchmarkEncodeLlama2 encodes the whole text as one word (Llama 2 has no
// pre-tokenizer), so it measures the priority-queue merge on ~1M symbols.
func BenchmarkEncodeLlama2(b *testing.B) { benchEncode(b, "tokenizers/llama2/tokenizer.json", false) }

// BenchmarkScanCl100k compares the hand-written cl100k scanner with regexp2.
func BenchmarkScanCl100k(b *testing.B) { benchScan(b, cl100kPattern) }

// BenchmarkScanQwen2 does the same for Qwen2's single-digit variant.
func BenchmarkScanQwen2(b *testing.B) { benchScan(b, qwen2Pattern) }

func benchScan(b *testing.B, pattern string) {
	text := benchText(b)[:200000]
	re, err := newRegexMatcher(pattern)
	if err != nil {
		b.Fatal(err)
	}
	generic := newRegexp2(b, pattern)
	b.Run("hand", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			re.find(text, nil)
		}
	})
	b.Run("regexp2", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			generic.find(text, nil)
		}
	})
}
