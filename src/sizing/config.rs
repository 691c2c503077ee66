//! config.json, normalised. Families spell the same facts differently (see
//! `docs/sizing-model.md` §config.json); this module reduces them to one [`ModelConfig`] that the
//! parameter, weight and KV-cache code can read without knowing which family it came from.

use serde_json::{Map, Value};

use super::InvalidConfig;
use super::fields::Fields;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Float32,
    Bfloat16,
    Float16,
    Fp8,
}

impl Dtype {
    pub fn bytes(self) -> u64 {
        match self {
            Dtype::Float32 => 4,
            Dtype::Bfloat16 | Dtype::Float16 => 2,
            Dtype::Fp8 => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::Float32 => "float32",
            Dtype::Bfloat16 => "bfloat16",
            Dtype::Float16 => "float16",
            Dtype::Fp8 => "fp8",
        }
    }

    pub fn parse(name: &str) -> Option<Dtype> {
        match name
            .trim_start_matches("torch.")
            .to_ascii_lowercase()
            .as_str()
        {
            "float32" | "fp32" | "float" => Some(Dtype::Float32),
            "bfloat16" | "bf16" => Some(Dtype::Bfloat16),
            "float16" | "fp16" | "half" => Some(Dtype::Float16),
            "float8_e4m3fn" | "fp8" | "float8" => Some(Dtype::Fp8),
            _ => None,
        }
    }
}

/// Which tokens an attention layer keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Full,
    Sliding(u64),
    ChunkedLocal(u64),
}

/// What mixes tokens in one decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mixer {
    Attention(Window),
    /// Mamba (v1 or v2) state-space block: constant-size state per sequence.
    Mamba,
    /// Gated DeltaNet linear attention (Qwen3-Next): constant-size state per sequence.
    LinearAttention,
    /// An MLP-only block (Nemotron-H `-` / `E`).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mlp {
    Dense { width: u64, gated: bool },
    Experts,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    pub mixer: Mixer,
    pub mlp: Mlp,
}

/// Head size and KV heads of an attention layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    pub head_dim: u64,
    pub kv_heads: u64,
}

/// Multi-head latent attention (DeepSeek V2/V3/R1, Kimi K2).
#[derive(Debug, Clone, Copy)]
pub struct Mla {
    pub q_lora_rank: Option<u64>,
    pub kv_lora_rank: u64,
    pub qk_nope_head_dim: u64,
    pub qk_rope_head_dim: u64,
    pub v_head_dim: u64,
    /// DeepSeek sparse attention's lightning indexer (DeepSeek-V3.2, GLM-5), when the config has one.
    pub indexer: Option<Indexer>,
}

/// The indexer that picks the `index_topk` tokens each query attends to: its own small key cache per
/// layer and a few projections (`Indexer` in `vllm/model_executor/models/deepseek_v2.py`).
#[derive(Debug, Clone, Copy)]
pub struct Indexer {
    pub heads: u64,
    pub head_dim: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Moe {
    pub experts: u64,
    pub experts_per_token: Option<u64>,
    pub expert_width: u64,
    /// Width of the always-on shared expert MLP, 0 when there is none.
    pub shared_width: u64,
    /// Qwen-style sigmoid gate on the shared expert (`H` parameters).
    pub shared_gate: bool,
    /// gpt-oss experts and router carry biases.
    pub biased: bool,
    /// Gate, up and down projections per expert (SwiGLU); `false` for up and down only.
    pub gated: bool,
    /// Nemotron-H latent MoE: experts work at this width, with projections in and out of it.
    pub latent: Option<u64>,
    /// A per-expert routing bias (Nemotron-H's `e_score_correction_bias`).
    pub router_bias: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum StateSpace {
    /// Jamba's Mamba-1 block.
    Mamba1 {
        inner: u64,
        d_state: u64,
        d_conv: u64,
        dt_rank: u64,
    },
    /// Mamba-2 (Nemotron-H, granite-4.0-h, Zamba2).
    Mamba2 {
        heads: u64,
        head_dim: u64,
        groups: u64,
        d_state: u64,
        d_conv: u64,
    },
    /// Gated DeltaNet (Qwen3-Next).
    GatedDeltaNet {
        key_heads: u64,
        key_dim: u64,
        value_heads: u64,
        value_dim: u64,
        conv: u64,
    },
}

/// How linear layers are stored (`quantization_config`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Quantization {
    /// `quant_method` as written, e.g. `gptq`, `fp8`, `mxfp4`; `None` for unquantized checkpoints.
    pub method: Option<String>,
    /// Bytes per parameter of quantized linear layers, scales and zero points included.
    pub bytes_per_param: Option<f64>,
    /// mxfp4 (gpt-oss) quantizes only the MoE experts.
    pub experts_only: bool,
    /// Quantized by vLLM as it loads an unquantized checkpoint (`--quantization fp8`), not stored so.
    pub at_load: bool,
    /// fp8 `weight_block_size` [rows, columns]: one float32 scale per block.
    pub weight_block: Option<(u64, u64)>,
}

#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub architecture: Option<String>,
    pub model_type: String,
    /// `torch_dtype` / `dtype` of the checkpoint, if stated.
    pub checkpoint_dtype: Option<Dtype>,
    pub hidden_size: u64,
    pub vocab_size: u64,
    pub num_attention_heads: u64,
    pub num_kv_heads: u64,
    pub head_dim: u64,
    /// Full-attention layers' own head size and KV heads where they differ from the sliding ones
    /// (Gemma 4: `global_head_dim`, and `num_global_key_value_heads` with `attention_k_eq_v`).
    pub full_attention: Option<AttentionShape>,
    pub tie_word_embeddings: bool,
    /// Largest context vLLM derives from the config (it refuses a longer `--max-model-len`).
    pub max_model_len_limit: Option<u64>,
    /// What vLLM uses when no `--max-model-len` is given.
    pub default_max_model_len: Option<u64>,
    pub layers: Vec<Layer>,
    pub mla: Option<Mla>,
    pub moe: Option<Moe>,
    pub state_space: Option<StateSpace>,
    pub quantization: Quantization,
    pub qkv_bias: bool,
    pub output_bias: bool,
    pub qk_norm: bool,
    /// Qwen3-Next full-attention layers carry an output gate as wide as the queries.
    pub gated_attention: bool,
    /// Attention sinks (gpt-oss): one learned logit per head.
    pub attention_sinks: bool,
    pub norms_per_layer: u64,
    /// Parameters of a vision tower, if the config describes one (estimated from `vision_config`).
    pub vision_params: u64,
    /// DeepSeek's multi-token-prediction layers: in the checkpoint, not loaded by default.
    pub mtp_layers: u64,
    /// Set on the part of the model one pipeline stage holds (`pipeline::stage_model`).
    pub pipeline_stage: Option<PipelineRole>,
}

/// Which ends of the model a pipeline stage holds: the first embeds tokens (and runs a vision
/// tower), the last normalises, projects to the vocabulary and samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineRole {
    pub first: bool,
    pub last: bool,
}

impl ModelConfig {
    /// Head size and KV heads of an attention layer with this window.
    pub fn attention_shape(&self, window: Window) -> AttentionShape {
        match (window, self.full_attention) {
            (Window::Full, Some(shape)) => shape,
            _ => AttentionShape {
                head_dim: self.head_dim,
                kv_heads: self.num_kv_heads,
            },
        }
    }

    /// `vocab × hidden` matrices this model (or stage) holds: the embedding and the LM head, one
    /// shared matrix when tied. Under pipeline parallelism vLLM gives a tied last stage its own
    /// copy of the embedding to tie the head to (`LlamaModel.__init__`, `vllm/model_executor/models/llama.py`).
    pub fn vocabulary_matrices(&self) -> u64 {
        match self.pipeline_stage {
            None => {
                if self.tie_word_embeddings {
                    1
                } else {
                    2
                }
            }
            Some(role) => u64::from(role.first) + u64::from(role.last),
        }
    }

    pub fn holds_first_stage(&self) -> bool {
        self.pipeline_stage.is_none_or(|role| role.first)
    }

    pub fn holds_last_stage(&self) -> bool {
        self.pipeline_stage.is_none_or(|role| role.last)
    }
}

/// model_type values that vLLM serves with MLA when `kv_lora_rank` is set (`ModelConfig.is_deepseek_mla`).
const MLA_MODEL_TYPES: &[&str] = &[
    "deepseek_v2",
    "deepseek_v3",
    "deepseek_v32",
    "deepseek_mtp",
    "glm_moe_dsa",
    "glm4_moe_lite",
    "kimi_k2",
    "kimi_linear",
    "longcat_flash",
    "pangu_ultra_moe",
];

/// Keys vLLM reads to derive the maximum context (`derive_max_model_len_info`); it takes the minimum.
const CONTEXT_KEYS: &[&str] = &[
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "model_max_length",
    "max_target_positions",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
];

impl ModelConfig {
    pub fn from_json_text(text: &str) -> Result<ModelConfig, InvalidConfig> {
        let text = replace_non_finite_numbers(text);
        let value: Value = serde_json::from_str(&text).map_err(|error| InvalidConfig {
            field: "(document)".into(),
            problem: format!("is not valid JSON: {error}"),
        })?;
        let Value::Object(top) = value else {
            return Err(InvalidConfig {
                field: "(document)".into(),
                problem: "must be a JSON object".into(),
            });
        };
        Self::from_object(&top)
    }

    pub fn from_object(top_object: &Map<String, Value>) -> Result<ModelConfig, InvalidConfig> {
        let top = Fields::new(top_object, "");
        let text = text_config(top)?;

        let architecture = top
            .strings("architectures")?
            .and_then(|names| names.first().map(|s| s.to_string()));
        let model_type = text
            .text("model_type")?
            .or(top.text("model_type")?)
            .unwrap_or("")
            .to_string();

        let checkpoint_dtype = read_dtype(&top)?.or(read_dtype(&text)?);
        let dimensions = Dimensions::read(&text)?;

        let tie_word_embeddings = text
            .flag("tie_word_embeddings")?
            .or(top.flag("tie_word_embeddings")?)
            // transformers' PretrainedConfig default
            .unwrap_or(true);

        let (max_model_len_limit, default_max_model_len) = context_length(&text, &model_type)?;

        let mla = read_mla(&text, &model_type)?;
        let state_space = read_state_space(&text, dimensions.hidden_size)?;
        let moe = read_moe(&text, &model_type)?;
        let layers = read_layers(
            &text,
            &model_type,
            dimensions.num_layers,
            moe.is_some(),
            state_space.is_some(),
        )?;

        let quantization = read_any_quantization(&top, &text)?;
        let family = FamilyTraits::read(&text, &model_type)?;
        let vision_params = match top.object("vision_config")? {
            Some(v) => vision_tower_params(&top.nested(v, "vision_config."))?,
            None => 0,
        };
        let mtp_layers = text.count_or_zero("num_nextn_predict_layers")?.unwrap_or(0);
        let full_attention = full_attention_shape(&text, &dimensions)?;

        Ok(ModelConfig {
            architecture,
            model_type: model_type.clone(),
            checkpoint_dtype,
            hidden_size: dimensions.hidden_size,
            vocab_size: dimensions.vocab_size,
            num_attention_heads: dimensions.num_attention_heads,
            num_kv_heads: dimensions.num_kv_heads,
            head_dim: dimensions.head_dim,
            full_attention,
            tie_word_embeddings,
            max_model_len_limit,
            default_max_model_len,
            layers,
            mla,
            moe,
            state_space,
            quantization,
            qkv_bias: family.qkv_bias,
            output_bias: family.output_bias,
            qk_norm: family.qk_norm,
            gated_attention: family.gated_attention,
            attention_sinks: family.attention_sinks,
            norms_per_layer: family.norms_per_layer,
            vision_params,
            mtp_layers,
            pipeline_stage: None,
        })
    }

    pub fn num_layers(&self) -> u64 {
        self.layers.len() as u64
    }

    pub fn attention_layers(&self) -> impl Iterator<Item = Window> + '_ {
        self.layers.iter().filter_map(|layer| match layer.mixer {
            Mixer::Attention(window) => Some(window),
            _ => None,
        })
    }
}

/// The fields that describe the language model: the top level, or the nested object multimodal
/// models keep it under (vLLM's get_text_config).
fn text_config(top: Fields<'_>) -> Result<Fields<'_>, InvalidConfig> {
    for (key, prefix) in [
        ("text_config", "text_config."),
        ("llm_config", "llm_config."),
        ("language_config", "language_config."),
    ] {
        if let Some(nested) = top.object(key)? {
            return Ok(top.nested(nested, prefix));
        }
    }
    Ok(top)
}

/// The transformer's basic sizes, each spelling tried in vLLM's order and checked for sense.
struct Dimensions {
    hidden_size: u64,
    num_layers: u64,
    vocab_size: u64,
    num_attention_heads: u64,
    num_kv_heads: u64,
    head_dim: u64,
}

impl Dimensions {
    fn read(text: &Fields<'_>) -> Result<Dimensions, InvalidConfig> {
        let hidden_size = text.required_first_count(&["hidden_size", "n_embd", "d_model"])?;
        let num_layers =
            text.required_first_count(&["num_hidden_layers", "n_layer", "num_layers", "n_layers"])?;
        if num_layers > 4096 {
            return Err(InvalidConfig {
                field: format!("{}num_hidden_layers", text.prefix()),
                problem: format!("{num_layers} layers is more than any real model has"),
            });
        }
        let vocab_size = text.required_first_count(&["vocab_size", "padded_vocab_size"])?;
        let num_attention_heads =
            text.required_first_count(&["num_attention_heads", "n_head", "num_heads"])?;
        let num_kv_heads = kv_heads(text, num_attention_heads)?;
        if num_kv_heads > num_attention_heads {
            return Err(InvalidConfig {
                field: format!("{}num_key_value_heads", text.prefix()),
                problem: format!(
                    "{num_kv_heads} is more than num_attention_heads ({num_attention_heads})"
                ),
            });
        }
        let head_dim = head_dim(text, hidden_size, num_attention_heads)?;
        Ok(Dimensions {
            hidden_size,
            num_layers,
            vocab_size,
            num_attention_heads,
            num_kv_heads,
            head_dim,
        })
    }
}

/// Gemma 4's full-attention layers: a wider head (`global_head_dim`) and, when keys double as values
/// (`attention_k_eq_v`), their own KV-head count. vLLM still allocates the V slots and loads the keys
/// into both (`Gemma4DecoderLayer` in `vllm/model_executor/models/gemma4.py`).
fn full_attention_shape(
    text: &Fields<'_>,
    dimensions: &Dimensions,
) -> Result<Option<AttentionShape>, InvalidConfig> {
    let head_dim = text.count("global_head_dim")?;
    let kv_heads = if text.flag("attention_k_eq_v")? == Some(true) {
        text.count("num_global_key_value_heads")?
    } else {
        None
    };
    if head_dim.is_none() && kv_heads.is_none() {
        return Ok(None);
    }
    let shape = AttentionShape {
        head_dim: head_dim.unwrap_or(dimensions.head_dim),
        kv_heads: kv_heads.unwrap_or(dimensions.num_kv_heads).max(1),
    };
    if shape.kv_heads > dimensions.num_attention_heads {
        return Err(InvalidConfig {
            field: format!("{}num_global_key_value_heads", text.prefix()),
            problem: format!(
                "{} is more than num_attention_heads ({})",
                shape.kv_heads, dimensions.num_attention_heads
            ),
        });
    }
    Ok(Some(shape))
}

/// `head_dim` as stated, else the hidden size split evenly across the attention heads.
fn head_dim(
    text: &Fields<'_>,
    hidden_size: u64,
    num_attention_heads: u64,
) -> Result<u64, InvalidConfig> {
    if let Some(d) =
        text.first_count(&["head_dim", "hidden_size_per_head", "attention_head_dim"])?
    {
        return Ok(d);
    }
    if hidden_size < num_attention_heads {
        return Err(InvalidConfig {
            field: format!("{}num_attention_heads", text.prefix()),
            problem: format!("{num_attention_heads} heads do not fit in hidden_size {hidden_size}"),
        });
    }
    Ok(hidden_size / num_attention_heads)
}

/// `quantization_config` at the top level, else inside the text config, else the older
/// `compression_config`; unquantized when there is none.
fn read_any_quantization(
    top: &Fields<'_>,
    text: &Fields<'_>,
) -> Result<Quantization, InvalidConfig> {
    if let Some(q) = top.object("quantization_config")? {
        return read_quantization(&top.nested(q, "quantization_config."));
    }
    if let Some(q) = text.object("quantization_config")? {
        return read_quantization(&text.nested(q, "text_config.quantization_config."));
    }
    if let Some(q) = top.object("compression_config")? {
        return read_quantization(&top.nested(q, "compression_config."));
    }
    Ok(Quantization {
        method: None,
        bytes_per_param: None,
        experts_only: false,
        at_load: false,
        weight_block: None,
    })
}

/// Family details that add small per-layer tensors (biases, norms, gates, sinks); most are implied
/// by `model_type` rather than stated in config.json.
struct FamilyTraits {
    qkv_bias: bool,
    output_bias: bool,
    qk_norm: bool,
    gated_attention: bool,
    attention_sinks: bool,
    norms_per_layer: u64,
}

impl FamilyTraits {
    fn read(text: &Fields<'_>, model_type: &str) -> Result<FamilyTraits, InvalidConfig> {
        let is = |types: &[&str]| types.contains(&model_type);
        let qkv_bias = text.flag("attention_bias")?.unwrap_or(false)
            || is(&["qwen", "qwen2", "qwen2_moe", "qwen2_vl", "qwen2_5_vl"]);
        // Llama's `attention_bias` also biases o_proj; gpt-oss has an o_proj bias too.
        let output_bias = text.flag("attention_bias")?.unwrap_or(false) && !is(&["qwen3_next"]);
        let qk_norm = is(&[
            "qwen3",
            "qwen3_moe",
            "qwen3_next",
            "gemma3",
            "gemma3_text",
            "olmo2",
        ]);
        let norms_per_layer = if is(&["gemma2", "gemma3", "gemma3_text"]) {
            4
        } else if is(&["nemotron_h"]) {
            1
        } else {
            2
        };
        Ok(FamilyTraits {
            qkv_bias,
            output_bias,
            qk_norm,
            gated_attention: is(&["qwen3_next"]),
            attention_sinks: is(&["gpt_oss"]),
            norms_per_layer,
        })
    }
}

fn read_dtype(fields: &Fields<'_>) -> Result<Option<Dtype>, InvalidConfig> {
    for key in ["dtype", "torch_dtype"] {
        if let Some(name) = fields.text(key)? {
            return match Dtype::parse(name) {
                Some(dtype) => Ok(Some(dtype)),
                None => Err(InvalidConfig {
                    field: format!("{}{key}", fields.prefix()),
                    problem: format!(
                        "`{name}` is not a dtype llmops knows (float32, bfloat16, float16)"
                    ),
                }),
            };
        }
    }
    Ok(None)
}

/// Python's `json.dump` writes `Infinity`, `-Infinity` and `NaN`, which are not JSON; transformers
/// configs carry them (Nemotron-H's `time_step_limit: [0.0, Infinity]`). None of them is a size, so
/// they become `null` outside strings.
fn replace_non_finite_numbers(text: &str) -> std::borrow::Cow<'_, str> {
    if !(text.contains("Infinity") || text.contains("NaN")) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(token) = ["-Infinity", "Infinity", "NaN"]
            .iter()
            .find(|t| rest.starts_with(**t))
        {
            out.push_str("null");
            rest = &rest[token.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// vLLM's `get_total_num_kv_heads`: the first of several spellings, MQA flags, else MHA.
fn kv_heads(text: &Fields<'_>, num_attention_heads: u64) -> Result<u64, InvalidConfig> {
    if text.flag("multi_query")? == Some(true)
        && text.flag("new_decoder_architecture")? != Some(true)
    {
        return Ok(1);
    }
    if let Some(attn) = text.object("attn_config")?
        && let Some(n) = text.nested(attn, "attn_config.").count("kv_n_heads")?
    {
        return Ok(n);
    }
    Ok(text
        .first_count(&[
            "n_head_kv",
            "num_kv_heads",
            "num_key_value_heads",
            "multi_query_group_num",
        ])?
        .unwrap_or(num_attention_heads))
}

/// vLLM's `derive_max_model_len_info`: the minimum of the context keys, times the RoPE factor
/// except for rope types that already state the extended length.
fn context_length(
    text: &Fields<'_>,
    model_type: &str,
) -> Result<(Option<u64>, Option<u64>), InvalidConfig> {
    let mut limit: Option<u64> = None;
    for key in CONTEXT_KEYS {
        if let Some(n) = text.count(key)? {
            limit = Some(limit.map_or(n, |l| l.min(n)));
        }
    }
    let Some(base) = limit else {
        return Ok((None, None));
    };
    let rope = match text.object("rope_scaling")? {
        Some(r) => Some(text.nested(r, "rope_scaling.")),
        None => text
            .object("rope_parameters")?
            .map(|r| text.nested(r, "rope_parameters.")),
    };
    let Some(rope) = rope else {
        return Ok((Some(base), Some(base)));
    };
    let rope_type = rope.text("rope_type")?.or(rope.text("type")?).unwrap_or("");
    let original = rope.count("original_max_position_embeddings")?;
    let factor = rope.float("factor")?.unwrap_or(1.0);
    if matches!(rope_type, "su" | "longrope") {
        // Phi-3/3.5: the long context is already in max_position_embeddings; vLLM starts at the
        // original length unless told otherwise.
        return Ok((Some(base), Some(original.unwrap_or(base).min(base))));
    }
    if rope_type == "llama3" || model_type.starts_with("gemma3") || rope_type.is_empty() {
        return Ok((Some(base), Some(base)));
    }
    let start = if rope_type == "yarn" {
        original.unwrap_or(base)
    } else {
        base
    };
    let scaled = (start as f64 * factor).min(u32::MAX as f64) as u64;
    Ok((Some(scaled), Some(scaled)))
}

fn read_mla(text: &Fields<'_>, model_type: &str) -> Result<Option<Mla>, InvalidConfig> {
    if !MLA_MODEL_TYPES.contains(&model_type) {
        return Ok(None);
    }
    let Some(kv_lora_rank) = text.count("kv_lora_rank")? else {
        return Ok(None);
    };
    Ok(Some(Mla {
        q_lora_rank: text.count("q_lora_rank")?,
        kv_lora_rank,
        qk_nope_head_dim: text.required_count("qk_nope_head_dim")?,
        qk_rope_head_dim: text.required_count("qk_rope_head_dim")?,
        v_head_dim: text.required_count("v_head_dim")?,
        indexer: match text.count("index_head_dim")? {
            Some(head_dim) => Some(Indexer {
                heads: text.required_count("index_n_heads")?,
                head_dim,
            }),
            None => None,
        },
    }))
}

fn read_state_space(text: &Fields<'_>, hidden: u64) -> Result<Option<StateSpace>, InvalidConfig> {
    if text.has("linear_num_value_heads") {
        return Ok(Some(StateSpace::GatedDeltaNet {
            key_heads: text.required_count("linear_num_key_heads")?,
            key_dim: text.required_count("linear_key_head_dim")?,
            value_heads: text.required_count("linear_num_value_heads")?,
            value_dim: text.required_count("linear_value_head_dim")?,
            conv: text.count("linear_conv_kernel_dim")?.unwrap_or(4),
        }));
    }
    // Mamba-2: Nemotron-H spells it `mamba_num_heads`, Granite 4 `mamba_n_heads`, Zamba2 `n_mamba_heads`.
    if let Some(heads) = text.first_count(&["mamba_num_heads", "mamba_n_heads", "n_mamba_heads"])? {
        return Ok(Some(StateSpace::Mamba2 {
            heads,
            head_dim: text.required_first_count(&[
                "mamba_head_dim",
                "mamba_d_head",
                "mamba_headdim",
            ])?,
            groups: text
                .first_count(&["n_groups", "mamba_n_groups", "mamba_ngroups"])?
                .unwrap_or(1),
            d_state: text.required_first_count(&["ssm_state_size", "mamba_d_state"])?,
            d_conv: text
                .first_count(&["conv_kernel", "mamba_d_conv"])?
                .unwrap_or(4),
        }));
    }
    if text.has("mamba_d_state") {
        let expand = text.count("mamba_expand")?.unwrap_or(2);
        return Ok(Some(StateSpace::Mamba1 {
            inner: expand * hidden,
            d_state: text.required_count("mamba_d_state")?,
            d_conv: text.count("mamba_d_conv")?.unwrap_or(4),
            dt_rank: text.count("mamba_dt_rank")?.unwrap_or(hidden.div_ceil(16)),
        }));
    }
    Ok(None)
}

fn read_moe(text: &Fields<'_>, model_type: &str) -> Result<Option<Moe>, InvalidConfig> {
    let experts = text.first_count(&[
        "num_local_experts",
        "num_experts",
        "n_routed_experts",
        "moe_num_experts",
    ])?;
    let Some(experts) = experts.filter(|e| *e > 1) else {
        return Ok(None);
    };
    let dense_width = text.first_count(&["intermediate_size", "ffn_hidden_size"])?;
    let expert_width = match text.count("moe_intermediate_size")? {
        Some(width) => width,
        None => dense_width.ok_or_else(|| InvalidConfig {
            field: format!("{}moe_intermediate_size", text.prefix()),
            problem: "is missing (and so is intermediate_size); the expert width is needed".into(),
        })?,
    };
    // Nemotron-H: experts and shared experts are squared-ReLU MLPs, up and down only
    // (`vllm/model_executor/models/nemotron_h.py`: `is_act_and_mul=False`, `NemotronHMLP`), the
    // shared width its own key; a latent MoE runs its experts at `moe_latent_size`.
    let nemotron_h = model_type.starts_with("nemotron_h");
    let shared_count = text.count_or_zero("n_shared_experts")?;
    let (shared_width, shared_gate) = if let (true, Some(n)) = (nemotron_h, shared_count) {
        let width = text.count("moe_shared_expert_intermediate_size")?;
        (n * width.unwrap_or(expert_width), false)
    } else if let Some(n) = shared_count {
        (n * expert_width, false)
    } else if let Some(width) = text.count_or_zero("shared_expert_intermediate_size")? {
        (width, width > 0)
    } else if let Some(width) = text.count_or_zero("shared_intermediate_size")? {
        (width, false) // Granite 4: an always-on shared MLP, no gate
    } else if text.flag("enable_moe_block")? == Some(true) {
        // Gemma 4: the dense MLP runs beside the routed experts in every layer, like a shared
        // expert (`Gemma4DecoderLayer` in `vllm/model_executor/models/gemma4.py`).
        (dense_width.unwrap_or(0), false)
    } else {
        (0, false)
    };
    Ok(Some(Moe {
        experts,
        experts_per_token: text.first_count(&[
            "num_experts_per_tok",
            "experts_per_token",
            "moe_topk",
            "top_k",
            "top_k_experts",
        ])?,
        expert_width,
        shared_width,
        shared_gate,
        biased: model_type == "gpt_oss",
        gated: !nemotron_h,
        router_bias: nemotron_h,
        latent: if nemotron_h {
            text.count("moe_latent_size")?
        } else {
            None
        },
    }))
}

/// The per-layer structure: which mixer and which MLP each decoder layer has.
fn read_layers(
    text: &Fields<'_>,
    model_type: &str,
    num_layers: u64,
    has_moe: bool,
    has_state_space: bool,
) -> Result<Vec<Layer>, InvalidConfig> {
    let dense_width = text.first_count(&["intermediate_size", "ffn_hidden_size", "n_inner"])?;
    let hidden = text.required_first_count(&["hidden_size", "n_embd", "d_model"])?;
    let dense_width = dense_width.unwrap_or(4 * hidden);
    // Qwen (v1) states the two halves of its MLP together: each projection is half as wide
    // (`vllm/model_executor/models/qwen.py`: `QWenMLP(…, config.intermediate_size // 2)`).
    let dense_width = if model_type == "qwen" {
        dense_width / 2
    } else {
        dense_width
    };

    if let Some(pattern) = text.text("hybrid_override_pattern")? {
        return layers_from_hybrid_pattern(text.prefix(), pattern, num_layers, dense_width);
    }

    let dense = Mlp::Dense {
        width: dense_width,
        gated: true,
    };
    let schedule = LayerSchedule::read(text, num_layers)?;
    let mut layers = Vec::with_capacity(num_layers as usize);
    for i in 0..num_layers {
        let mixer = schedule.mixer(i, text.prefix(), model_type, has_state_space)?;
        layers.push(Layer {
            mixer,
            mlp: if schedule.is_moe_layer(i, has_moe) {
                Mlp::Experts
            } else {
                dense
            },
        });
    }
    Ok(layers)
}

/// Nemotron-H spells the whole stack out: M = Mamba-2, * = attention, - = MLP, E = MoE.
fn layers_from_hybrid_pattern(
    prefix: &str,
    pattern: &str,
    num_layers: u64,
    dense_width: u64,
) -> Result<Vec<Layer>, InvalidConfig> {
    if pattern.chars().count() as u64 != num_layers {
        return Err(InvalidConfig {
            field: format!("{prefix}hybrid_override_pattern"),
            problem: format!(
                "has {} entries but num_hidden_layers is {num_layers}",
                pattern.chars().count()
            ),
        });
    }
    let plain = Mlp::Dense {
        width: dense_width,
        gated: false,
    };
    pattern
        .chars()
        .map(|c| match c {
            'M' => Ok(Layer {
                mixer: Mixer::Mamba,
                mlp: Mlp::None,
            }),
            '*' => Ok(Layer {
                mixer: Mixer::Attention(Window::Full),
                mlp: Mlp::None,
            }),
            '-' => Ok(Layer {
                mixer: Mixer::None,
                mlp: plain,
            }),
            'E' => Ok(Layer {
                mixer: Mixer::None,
                mlp: Mlp::Experts,
            }),
            other => Err(InvalidConfig {
                field: format!("{prefix}hybrid_override_pattern"),
                problem: format!("has `{other}`; expected only M, *, - or E"),
            }),
        })
        .collect()
}

/// The config keys that say which layers attend how and which carry experts, read (and checked)
/// once before the per-layer loop.
struct LayerSchedule<'a> {
    sliding_window: Option<u64>,
    layer_types: Option<Vec<&'a str>>,
    chunk: Option<u64>,
    mlp_only: Vec<u64>,
    sparse_step: Option<u64>,
    first_dense: Option<u64>,
    moe_freq: Option<u64>,
    expert_period: Option<u64>,
    expert_offset: u64,
    attn_period: Option<u64>,
    attn_offset: u64,
    full_interval: Option<u64>,
    sliding_pattern: Option<u64>,
}

impl<'a> LayerSchedule<'a> {
    fn read(text: &Fields<'a>, num_layers: u64) -> Result<LayerSchedule<'a>, InvalidConfig> {
        let sliding_window = if text.flag("use_sliding_window")? == Some(false) {
            None
        } else {
            text.count("sliding_window")?
        };
        let layer_types = text.strings("layer_types")?;
        if let Some(types) = &layer_types
            && types.len() as u64 != num_layers
        {
            return Err(InvalidConfig {
                field: format!("{}layer_types", text.prefix()),
                problem: format!(
                    "has {} entries but num_hidden_layers is {num_layers}",
                    types.len()
                ),
            });
        }
        Ok(LayerSchedule {
            sliding_window,
            layer_types,
            chunk: text.count("attention_chunk_size")?,
            mlp_only: text.indices("mlp_only_layers")?,
            sparse_step: text.count("decoder_sparse_step")?,
            first_dense: text.count_or_zero("first_k_dense_replace")?,
            moe_freq: text.count("moe_layer_freq")?,
            expert_period: text.count("expert_layer_period")?,
            expert_offset: text.count_or_zero("expert_layer_offset")?.unwrap_or(0),
            attn_period: text.count("attn_layer_period")?,
            attn_offset: text.count_or_zero("attn_layer_offset")?.unwrap_or(0),
            full_interval: text.count("full_attention_interval")?,
            sliding_pattern: text.count("sliding_window_pattern")?,
        })
    }

    /// Layer `i`'s mixer: `layer_types` when given, else the family's periodic layout.
    fn mixer(
        &self,
        i: u64,
        prefix: &str,
        model_type: &str,
        has_state_space: bool,
    ) -> Result<Mixer, InvalidConfig> {
        Ok(if let Some(types) = &self.layer_types {
            self.mixer_named(types[i as usize], prefix)?
                .ok_or_else(|| InvalidConfig {
                    field: format!("{prefix}layer_types"),
                    problem: format!(
                        "entry {i} is `{}`, a layer type llmops does not know",
                        types[i as usize]
                    ),
                })?
        } else if let (Some(period), true) = (self.attn_period, has_state_space) {
            // Jamba: one attention layer every `attn_layer_period`, Mamba elsewhere.
            if i % period == self.attn_offset {
                Mixer::Attention(Window::Full)
            } else {
                Mixer::Mamba
            }
        } else if let Some(interval) = self.full_interval {
            // Qwen3-Next: every `full_attention_interval`-th layer is full attention.
            if (i + 1).is_multiple_of(interval) {
                Mixer::Attention(Window::Full)
            } else {
                Mixer::LinearAttention
            }
        } else if let Some(window) = self.sliding_window {
            Mixer::Attention(if self.is_sliding(i, model_type) {
                Window::Sliding(window)
            } else {
                Window::Full
            })
        } else {
            Mixer::Attention(Window::Full)
        })
    }

    /// The mixer a `layer_types` entry names, `None` for a name llmops does not know.
    fn mixer_named(&self, name: &str, prefix: &str) -> Result<Option<Mixer>, InvalidConfig> {
        Ok(match name {
            "full_attention" | "attention" | "global_attention" => {
                Some(Mixer::Attention(Window::Full))
            }
            "sliding_attention" | "sliding_window" | "local_attention" => {
                let window = self.sliding_window.ok_or_else(|| InvalidConfig {
                    field: format!("{prefix}sliding_window"),
                    problem: "is missing but layer_types has sliding layers".into(),
                })?;
                Some(Mixer::Attention(Window::Sliding(window)))
            }
            "chunked_attention" => Some(Mixer::Attention(Window::ChunkedLocal(
                self.chunk.unwrap_or(8192),
            ))),
            "linear_attention" => Some(Mixer::LinearAttention),
            "mamba" | "mamba2" => Some(Mixer::Mamba),
            _ => None,
        })
    }

    /// With a sliding window but no `layer_types`: which layers slide, by family.
    fn is_sliding(&self, i: u64, model_type: &str) -> bool {
        match model_type {
            "gemma2" => i.is_multiple_of(2),
            "gemma3" | "gemma3_text" => !(i + 1).is_multiple_of(self.sliding_pattern.unwrap_or(6)),
            _ => match self.sliding_pattern {
                Some(p) => !(i + 1).is_multiple_of(p),
                None => true,
            },
        }
    }

    /// Whether layer `i` carries the experts rather than the dense MLP.
    fn is_moe_layer(&self, i: u64, has_moe: bool) -> bool {
        has_moe
            && !self.mlp_only.contains(&i)
            && self.first_dense.is_none_or(|k| i >= k)
            && self.moe_freq.is_none_or(|f| i.is_multiple_of(f))
            && self.sparse_step.is_none_or(|s| (i + 1).is_multiple_of(s))
            && self
                .expert_period
                .is_none_or(|p| i % p == self.expert_offset)
    }
}

fn read_quantization(q: &Fields<'_>) -> Result<Quantization, InvalidConfig> {
    let method = q.text("quant_method")?.unwrap_or("").to_ascii_lowercase();
    let mut weight_block = None;
    let group_bytes = |bits: f64, group: Option<u64>| -> f64 {
        // Packed weights plus an fp16 scale and a packed zero point per group.
        bits / 8.0 + group.map_or(0.0, |g| (2.0 + bits / 8.0) / g as f64)
    };
    let (bytes, experts_only) = match method.as_str() {
        "gptq" | "awq" | "gptq_marlin" | "awq_marlin" | "auto-round" | "autoround" => {
            let bits = q.count("bits")?.unwrap_or(4) as f64;
            let group = match q.raw("group_size") {
                Some(Value::Number(n)) if n.as_i64() == Some(-1) => None,
                _ => q.count("group_size")?.or(Some(128)),
            };
            (Some(group_bytes(bits, group)), false)
        }
        "fp8" | "fbgemm_fp8" | "ptpc_fp8" => {
            weight_block = match q.raw("weight_block_size") {
                Some(Value::Array(dims)) if dims.len() == 2 => {
                    match (dims[0].as_u64(), dims[1].as_u64()) {
                        (Some(rows), Some(columns)) if rows > 0 && columns > 0 => {
                            Some((rows, columns))
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            let block_scales =
                weight_block.map_or(0.0, |(rows, columns)| 4.0 / (rows as f64 * columns as f64));
            (Some(1.0 + block_scales), false)
        }
        // fp4 with an e8m0 scale per 32 values, MoE experts only (gpt-oss).
        "mxfp4" => (Some(0.5 + 1.0 / 32.0), true),
        "bitsandbytes" => {
            if q.flag("load_in_4bit")? == Some(true) {
                // nf4/fp4 with one fp32 absmax per 64 values.
                (Some(0.5 + 4.0 / 64.0), false)
            } else {
                (Some(1.0), false)
            }
        }
        "compressed-tensors" => (compressed_tensors_bytes(q)?, false),
        "" => (None, false),
        _ => (None, false),
    };
    Ok(Quantization {
        method: (!method.is_empty()).then_some(method),
        bytes_per_param: bytes,
        experts_only,
        at_load: false,
        weight_block,
    })
}

fn compressed_tensors_bytes(q: &Fields<'_>) -> Result<Option<f64>, InvalidConfig> {
    let Some(groups) = q.object("config_groups")? else {
        return Ok(None);
    };
    let Some(Value::Object(group)) = groups.values().next() else {
        return Ok(None);
    };
    let group = q.nested(group, "quantization_config.config_groups.*.");
    let Some(weights) = group.object("weights")? else {
        return Ok(None);
    };
    let weights = q.nested(weights, "quantization_config.config_groups.*.weights.");
    let bits = weights.count("num_bits")?.unwrap_or(8) as f64;
    let float = weights.text("type")? == Some("float");
    let per_group = weights.count("group_size")?;
    let format = q.text("format")?.unwrap_or("");
    let scale_bytes = if format.contains("nvfp4") {
        1.0
    } else if float {
        4.0
    } else {
        2.0
    };
    Ok(Some(
        bits / 8.0 + per_group.map_or(0.0, |g| scale_bytes / g as f64),
    ))
}

/// A ViT-style vision tower: attention (4·D²) and MLP (2·D·I) with biases per layer, plus the patch
/// embedding. SigLIP-So400m (Gemma 3): 1152 × 4304 × 27 layers ≈ 0.41 B, as published.
fn vision_tower_params(v: &Fields<'_>) -> Result<u64, InvalidConfig> {
    let Some(width) = v.first_count(&["hidden_size", "embed_dim", "width"])? else {
        return Ok(0);
    };
    let depth = v
        .first_count(&["num_hidden_layers", "depth", "num_layers"])?
        .unwrap_or(0);
    let mlp = v
        .first_count(&["intermediate_size", "mlp_dim"])?
        .unwrap_or(4 * width);
    let patch = v.count("patch_size")?.unwrap_or(14);
    let channels = v.count("num_channels")?.unwrap_or(3);
    let per_layer = 4 * width * width + 2 * width * mlp + 9 * width + mlp;
    Ok(depth * per_layer + channels * patch * patch * width + width)
}
