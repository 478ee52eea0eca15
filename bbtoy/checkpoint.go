package bbtoy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/sinkscope/sinkscope/internal/atomicfile"

	"github.com/sinkscope/sinkscope/loader"
)

// TrainInfo records how a checkpoint was trained (config.json "training").
type TrainInfo struct {
	Step        int     `json:"step"`
	Optimizer   string  `json:"optimizer"` // "adamw" or "sgd"
	LR          float64 `json:"lr"`
	Beta1       float64 `json:"beta1,omitempty"`
	Beta2       float64 `json:"beta2,omitempty"`
	AdamEps     float64 `json:"adam_eps,omitempty"`
	Momentum    float64 `json:"momentum,omitempty"`
	WeightDecay float64 `json:"weight_decay"`
	Batch       int     `json:"batch"`
	Seed        uint64  `json:"seed"`
	Command     string  `json:"command,omitempty"` // the command line that trained it, when known
}

// fileConfig is config.json of a BB checkpoint.
type fileConfig struct {
	Architectures     []string   `json:"architectures"`
	ModelType         string     `json:"model_type"`
	HiddenSize        int        `json:"hidden_size"`
	IntermediateSize  int        `json:"intermediate_size"`
	NumLayers         int        `json:"num_hidden_layers"`
	NumHeads          int        `json:"num_attention_heads"`
	NumKVHeads        int        `json:"num_key_value_heads"`
	HeadDim           int        `json:"head_dim"`
	VocabSize         int        `json:"vocab_size"`
	MaxPos            int        `json:"max_position_embeddings"`
	Eps               float64    `json:"layer_norm_eps"`
	Attention         string     `json:"attention"`
	NoAttn            []bool     `json:"no_attn"`
	NoMLP             []bool     `json:"no_mlp"`
	BOS               int        `json:"bos_token_id"`
	TieWordEmbeddings bool       `json:"tie_word_embeddings"`
	TorchDType        string     `json:"torch_dtype"`
	Training          *TrainInfo `json:"training,omitempty"`
	Task              TaskSpec   `json:"task"`
}

func parseFileConfig(data []byte) (*fileConfig, error) {
	var fc fileConfig
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, err
	}
	if fc.NumKVHeads != 0 && fc.NumKVHeads != fc.NumHeads {
		return nil, fmt.Errorf("field \"num_key_value_heads\": %d, want num_attention_heads %d", fc.NumKVHeads, fc.NumHeads)
	}
	if fc.NumHeads > 0 && fc.HeadDim != 0 && fc.HeadDim*fc.NumHeads != fc.HiddenSize {
		return nil, fmt.Errorf("field \"head_dim\": %d × %d heads ≠ hidden_size %d", fc.HeadDim, fc.NumHeads, fc.HiddenSize)
	}
	if fc.TieWordEmbeddings {
		return nil, errors.New("field \"tie_word_embeddings\": true, but BB models have an untied output")
	}
	if fc.Attention == "" {
		fc.Attention = Softmax
	}
	if fc.Eps == 0 {
		fc.Eps = 1e-5
	}
	if fc.NoAttn == nil {
		fc.NoAttn = make([]bool, fc.NumLayers)
	}
	if fc.NoMLP == nil {
		fc.NoMLP = make([]bool, fc.NumLayers)
	}
	return &fc, nil
}

func (fc *fileConfig) config() Config {
	return Config{Vocab: fc.VocabSize, D: fc.HiddenSize, Layers: fc.NumLayers, Heads: fc.NumHeads, FF: fc.IntermediateSize,
		MaxPos: fc.MaxPos, Eps: fc.Eps, Attention: fc.Attention, NoAttn: fc.NoAttn, NoMLP: fc.NoMLP}
}

// SetTraining attaches training provenance, written by Save.
func (m *Model) SetTraining(ti *TrainInfo) { m.train = ti }

// Save writes the model as a checkpoint directory (created if needed):
// config.json and model.safetensors (float32), each replaced atomically.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bbtoy: saving checkpoint: %w", err)
	}
	c := m.cfg
	fc := fileConfig{Architectures: []string{Architecture}, ModelType: "bbtoy", HiddenSize: c.D, IntermediateSize: c.FF,
		NumLayers: c.Layers, NumHeads: c.Heads, NumKVHeads: c.Heads, HeadDim: c.HeadDim(), VocabSize: c.Vocab,
		MaxPos: c.MaxPos, Eps: c.Eps, Attention: c.Attention, NoAttn: c.NoAttn, NoMLP: c.NoMLP, BOS: m.task.BOS(),
		TorchDType: "float32", Task: m.task.Spec(), Training: m.train}
	cj, err := configJSON(&fc)
	if err != nil {
		return fmt.Errorf("bbtoy: saving %s: %w", dir, err)
	}
	tensors := make([]loader.WriteTensor, 0, len(m.lay.specs))
	for _, s := range m.lay.specs {
		b := make([]byte, 4*s.n)
		for i, v := range m.params[s.off : s.off+s.n] {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		tensors = append(tensors, loader.WriteTensor{Name: s.name, DType: loader.F32, Shape: s.shape, Data: b})
	}
	if err := loader.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("bbtoy: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "config.json"), cj); err != nil {
		return fmt.Errorf("bbtoy: %w", err)
	}
	return nil
}

// configJSON writes fc indented, with the task's bigram table one row per line.
func configJSON(fc *fileConfig) ([]byte, error) {
	task := fc.Task
	fc.Task = TaskSpec{}
	b, err := json.MarshalIndent(fc, "", " ")
	fc.Task = task
	if err != nil {
		return nil, err
	}
	// b ends with `"task": {...}\n}`: replace that member by the compact form.
	i := bytes.LastIndex(b, []byte(`"task":`))
	if i < 0 {
		return nil, errors.New("config.json: task field missing")
	}
	var out bytes.Buffer
	out.Write(b[:i])
	out.WriteString(`"task": `)
	out.Write(bytes.TrimSpace(compactSpec(task)))
	out.WriteString("\n}\n")
	return out.Bytes(), nil
}
