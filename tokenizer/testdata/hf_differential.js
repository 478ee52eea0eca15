// hf_differential.js writes Hugging Face tokenizers' encodings of seeded
// random strings, for tokenizer's opt-in TestHFDifferential.
//
//   npm install @anush008/tokenizers@0.6.0
//   node hf_differential.js FIXTURES_DIR N SEED [VARIANT_DIR] > diff.json
//   SINKSCOPE_TOKENIZER_DIFF=diff.json go test ./tokenizer -run HFDifferential
//
// With VARIANT_DIR, it also writes there variants of the fixture tokenizers
// that use the components the fixtures do not (Metaspace with both prepend
// schemes, Digits, ByteLevel with a prefix space, NFKC, Lowercase, Split
// behaviours, lstrip/rstrip/single_word added tokens, RobertaProcessing) and
// compares those too; their paths in the output are absolute.
//
// Output: {"files": {name: path relative to FIXTURES_DIR}, "cases": [{"text",
// "results": {name: {"ids", "ids_special", "decoded", "random_ids",
// "random_decoded"}}}]}. random_ids are uniform random ids (any sequence, so
// byte tokens may form invalid UTF-8) and random_decoded their decode.
const { Tokenizer } = require("@anush008/tokenizers");
const fs = require("fs");
const path = require("path");

const files = {
  llama2: "tokenizers/llama2/tokenizer.json",
  stories260K: "hf/stories260K_hf/tokenizer.json",
  llama3: "tokenizers/llama3/tokenizer.json",
  dolma2: "tokenizers/olmo/allenai_dolma2.json",
  neox_pii: "tokenizers/olmo/allenai_eleuther-ai-gpt-neox-20b-pii-special.json",
  dolma_v1_5: "tokenizers/olmo/allenai_gpt-neox-olmo-dolma-v1_5.json",
  gpt2: "tokenizers/gpt2/tokenizer.json",
  qwen2_5: "tokenizers/qwen2_5/tokenizer.json",
  qwen3: "tokenizers/qwen3/tokenizer.json",
  phi3: "tokenizers/phi3/tokenizer.json",
};

// A small deterministic PRNG (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const classes = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "0123456789",
  "²³¹٣٤۵०१๓①⑳𝟘𝟙Ⅻ",
  [" ", " ", " ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u200b", "\u2028", "\u000b", "\u0085"],
  ".,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&~`",
  "éèêëàâäçñöüßÆøåÉÑ",
  "αβγδεζηθλμπσωΩΣΔ",
  "абвгдежзийклмнопрстЖЩЯ",
  "日本語中文字漢我想在工作天的是",
  "한국어가나다라",
  "العربيةمرحبا",
  "हिन्दीनमस्ते",
  "ภาษาไทยกขค",
  ["😀", "😁", "🦙", "🚀", "👍🏽", "😶\u200d🌫️", "🇺🇸", "✅", "❤️"],
  "∑∫√∞≈≠≤≥±×÷½¾€£¥©®™",
  ["e\u0301", "A\u030a", "\u1100\u1161", "o\u0308", "\u0301", "n\u0303"],
  ["'s", "'T", "'re", "'VE", "'ll", "'d", "'M", "'ſ", "'t"],
  ["<s>", "</s>", "<unk>", "<|endoftext|>", "<|begin_of_text|>", "<|eot_id|>", "|||EMAIL_ADDRESS|||", "<|extra_id_0|>", "<|padding|>", "<0x0A>",
    "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|user|>", "<|assistant|>", "<|end|>", "<|placeholder1|>"],
];

function piece(r) {
  const c = classes[Math.floor(r() * classes.length)];
  const arr = typeof c === "string" ? Array.from(c) : c;
  let s = "";
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) s += arr[Math.floor(r() * arr.length)];
  return s;
}

function randomString(r) {
  const k = r();
  if (k < 0.05) return " ".repeat(1 + Math.floor(r() * 30)) + piece(r);
  if (k < 0.08) return "1234567890".repeat(1 + Math.floor(r() * 3)).slice(0, 1 + Math.floor(r() * 25));
  let s = "";
  const n = 1 + Math.floor(r() * 60);
  for (let i = 0; i < n; i++) s += piece(r);
  return s;
}

// writeVariants writes the variant tokenizers into vdir and returns their
// names and absolute paths.
function writeVariants(dir, vdir) {
  const load = (rel) => JSON.parse(fs.readFileSync(path.join(dir, rel), "utf8"));
  const out = {};
  const put = (name, doc) => {
    const p = path.resolve(vdir, name + ".json");
    fs.writeFileSync(p, JSON.stringify(doc));
    out[name] = p;
  };
  let d = load(files.llama2);
  d.normalizer = null;
  d.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first", split: false };
  put("llama2_metaspace_first", d);
  d = load(files.llama2);
  d.normalizer = null;
  d.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true };
  d.decoder = { type: "Sequence", decoders: [{ type: "ByteFallback" },
    { type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true }] };
  put("llama2_metaspace_always", d);
  d = load(files.dolma_v1_5);
  d.pre_tokenizer = { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true },
    { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true }] };
  d.normalizer = { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] };
  d.added_tokens.push({ id: 50280, content: "<mask>", single_word: false, lstrip: true, rstrip: true, normalized: false, special: true });
  d.added_tokens.push({ id: 50281, content: "word", single_word: true, lstrip: false, rstrip: false, normalized: true, special: false });
  d.post_processor = { type: "RobertaProcessing", sep: ["<|endoftext|>", 50279], cls: ["<|padding|>", 1], trim_offsets: true, add_prefix_space: true };
  put("neox_variant", d);
  d = load(files.llama3);
  d.pre_tokenizer = { type: "Sequence", pretokenizers: [
    { type: "Split", pattern: { Regex: "\\s+|[a-z]+" }, behavior: "MergedWithPrevious", invert: false },
    { type: "Split", pattern: { String: "e" }, behavior: "Contiguous", invert: false },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }] };
  put("llama3_split_variant", d);
  return out;
}

(async () => {
  const [dir, nArg, seedArg, vdir] = process.argv.slice(2);
  const all = Object.assign({}, files, vdir ? writeVariants(dir, vdir) : {});
  const n = parseInt(nArg || "1000", 10);
  const r = rng(parseInt(seedArg || "1", 10));
  const toks = {};
  const sizes = {};
  for (const [name, rel] of Object.entries(all)) {
    toks[name] = Tokenizer.fromFile(path.isAbsolute(rel) ? rel : path.join(dir, rel));
    sizes[name] = toks[name].getVocabSize(true);
  }
  const cases = [];
  const texts = ["", " ", "  ", "\n", "Hello world", "a <mask> b", "a<mask>b", "a   <mask>   b",
    "<mask><mask>", "a word b", "awordb", "word!", "_word", "éword", "Word WORD word", "x  <mask>word",
    "ＡＢＣ ①②", "ﬁ word", "<mask> word <mask>"];
  while (texts.length < n) texts.push(randomString(r));
  for (const text of texts) {
    const results = {};
    for (const [name, tok] of Object.entries(toks)) {
      const plain = await tok.encode(text, null, { addSpecialTokens: false });
      const special = await tok.encode(text, null, { addSpecialTokens: true });
      const ids = Array.from(plain.getIds());
      const randomIDs = [];
      const m = 1 + Math.floor(r() * 12);
      for (let i = 0; i < m; i++) {
        // Half the time a byte-range id (3..258 are Llama 2's <0xNN>, 0..255 single bytes elsewhere).
        randomIDs.push(r() < 0.5 ? Math.floor(r() * 259) : Math.floor(r() * sizes[name]));
      }
      results[name] = {
        ids,
        ids_special: Array.from(special.getIds()),
        decoded: await tok.decode(ids, false),
        random_ids: randomIDs,
        random_decoded: await tok.decode(randomIDs, false),
      };
    }
    cases.push({ text, results });
  }
  process.stdout.write(JSON.stringify({ files: all, cases }));
})();
