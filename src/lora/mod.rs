//! LoRA adapters (PEFT): what an adapter folder is, and whether it fits a base model the way vLLM
//! serves it. An adapter folder has `adapter_config.json` (`peft_type: "LORA"`, rank `r`,
//! `target_modules`) and `adapter_model.safetensors`, whose tensors are
//! `…layers.<i>.<path>.<module>.lora_A.weight` of shape `[r, in]` and `…lora_B.weight` of shape
//! `[out, r]` (PEFT's `peft/tuners/lora/layer.py`, keys from `peft/utils/save_and_load.py`).
//! Everything here is read from untrusted files: each refusal names the field or tensor.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::exit::UserError;
use crate::sizing::config::{Mixer, Mlp, ModelConfig};

pub const ADAPTER_CONFIG: &str = "adapter_config.json";
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";

/// The ranks vLLM accepts for `--max-lora-rank` (`vllm/config/lora.py`, `LoRAConfig.max_lora_rank`).
pub const VLLM_RANKS: &[u64] = &[1, 8, 16, 32, 64, 128, 256, 320, 512];

/// Whether `dir` is an adapter folder rather than a full model.
pub fn is_adapter_folder(dir: &Path) -> bool {
    dir.join(ADAPTER_CONFIG).is_file()
}

/// Which modules an adapter says it wraps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    Names(Vec<String>),
    /// PEFT's `"all-linear"`: every linear layer but the output head.
    AllLinear,
    /// A regular expression PEFT full-matches against module paths.
    Pattern(String),
}

#[derive(Debug, Clone)]
pub struct AdapterConfig {
    pub rank: u64,
    pub alpha: Option<f64>,
    pub targets: Targets,
    pub base_model_name_or_path: Option<String>,
    /// The model class it was trained on, when PEFT recorded it (`auto_mapping.base_model_class`).
    pub base_model_class: Option<String>,
}

/// One wrapped linear layer as the weights file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoraPair {
    /// `q_proj`, `down_proj`, …
    pub module: String,
    pub layer: u64,
    pub rank: u64,
    pub in_features: u64,
    pub out_features: u64,
}

#[derive(Debug, Clone)]
pub struct Adapter {
    pub config: AdapterConfig,
    pub pairs: Vec<LoraPair>,
    /// The largest rank of any pair (PEFT's `rank_pattern` can vary it per module).
    pub max_rank: u64,
}

fn refuse(message: String) -> UserError {
    UserError::usage(message)
}

/// Reads and checks `adapter_config.json` and the adapter's safetensors header.
pub fn read_adapter(dir: &Path) -> Result<Adapter, UserError> {
    let config_path = dir.join(ADAPTER_CONFIG);
    let text = std::fs::read_to_string(&config_path)
        .map_err(|e| refuse(format!("cannot read `{}`: {e}", config_path.display())))?;
    let config = parse_config(&text)?;
    let weights = dir.join(ADAPTER_WEIGHTS);
    if !weights.is_file() {
        let hint = if dir.join("adapter_model.bin").is_file() {
            "it has adapter_model.bin, a pickle: save it with safetensors (PEFT's `save_pretrained(..., safe_serialization=True)`), which vLLM and llmops read without running code"
        } else {
            "save the adapter with PEFT's `save_pretrained`, which writes adapter_model.safetensors"
        };
        return Err(
            refuse(format!("`{}` has no {ADAPTER_WEIGHTS}", dir.display())).with_hint(hint),
        );
    }
    let header = crate::sizing::weights::read_header(&weights)
        .map_err(|problem| refuse(format!("`{}`: {problem}", weights.display())))?;
    let pairs = pairs_from_header(&header)?;
    let max_rank = pairs.iter().map(|p| p.rank).max().unwrap_or(0);
    if pairs.is_empty() {
        return Err(refuse(format!(
            "`{}` holds no lora_A/lora_B tensors",
            weights.display()
        )));
    }
    Ok(Adapter {
        config,
        pairs,
        max_rank,
    })
}

/// `adapter_config.json`: a LoRA, with nothing vLLM cannot serve as one.
pub fn parse_config(text: &str) -> Result<AdapterConfig, UserError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| refuse(format!("{ADAPTER_CONFIG} is not valid JSON: {e}")))?;
    let field = |name: &str| value.get(name).filter(|v| !v.is_null());
    let peft_type = field("peft_type").and_then(Value::as_str).unwrap_or("");
    if peft_type != "LORA" {
        return Err(refuse(format!(
            "{ADAPTER_CONFIG}: `peft_type` is `{}`, and only LORA adapters can be served by vLLM as adapters",
            crate::text::printable(peft_type)
        )));
    }
    if let Some(modules) = field("modules_to_save")
        && modules.as_array().is_none_or(|a| !a.is_empty())
    {
        return Err(refuse(format!(
            "{ADAPTER_CONFIG}: `modules_to_save` is {}: vLLM serves LoRA weights only, not fully trained modules beside them",
            crate::text::excerpt(&modules.to_string(), 120)
        ))
        .with_hint("merge the adapter into the base and register the result as a full model"));
    }
    if field("use_dora").and_then(Value::as_bool) == Some(true) {
        return Err(refuse(format!(
            "{ADAPTER_CONFIG}: `use_dora` is true: vLLM does not serve DoRA adapters"
        )));
    }
    let rank = field("r")
        .and_then(Value::as_u64)
        .filter(|r| *r > 0)
        .ok_or_else(|| refuse(format!("{ADAPTER_CONFIG}: `r` must be a positive integer")))?;
    let targets = match field("target_modules") {
        Some(Value::String(s)) if s == "all-linear" => Targets::AllLinear,
        Some(Value::String(s)) => Targets::Pattern(s.clone()),
        Some(Value::Array(items)) => Targets::Names(
            items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    refuse(format!("{ADAPTER_CONFIG}: `target_modules` must be names"))
                })?,
        ),
        _ => {
            return Err(refuse(format!(
                "{ADAPTER_CONFIG}: `target_modules` is missing"
            )));
        }
    };
    Ok(AdapterConfig {
        rank,
        alpha: field("lora_alpha").and_then(Value::as_f64),
        targets,
        base_model_name_or_path: field("base_model_name_or_path")
            .and_then(Value::as_str)
            .map(str::to_string),
        base_model_class: field("auto_mapping")
            .and_then(|m| m.get("base_model_class"))
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// The A/B pairs of a safetensors header (`name -> {dtype, shape, data_offsets}`).
pub fn pairs_from_header(header: &BTreeMap<String, Value>) -> Result<Vec<LoraPair>, UserError> {
    // `<module path>` -> (lora_A shape, lora_B shape), as found.
    type Halves = (Option<Vec<u64>>, Option<Vec<u64>>);
    let mut halves: BTreeMap<String, Halves> = BTreeMap::new();
    for (name, tensor) in header {
        // PEFT saves the base weights of a targeted embedding or LM head beside its LoRA; vLLM
        // skips them (`is_base_embedding_weights` in `vllm/lora/utils.py`).
        if name == "__metadata__" || name.ends_with(".base_layer.weight") {
            continue;
        }
        let shape: Vec<u64> = tensor
            .get("shape")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let (prefix, is_a) = if let Some(p) = name.strip_suffix(".lora_A.weight") {
            (p, true)
        } else if let Some(p) = name.strip_suffix(".lora_B.weight") {
            (p, false)
        } else {
            return Err(refuse(format!(
                "tensor `{}` is not a LoRA A or B matrix (embedding LoRA, DoRA magnitudes and full modules cannot be served by vLLM as an adapter)",
                crate::text::printable(name)
            )));
        };
        if shape.len() != 2 {
            return Err(refuse(format!(
                "tensor `{}` has shape {shape:?}; a LoRA matrix has two dimensions",
                crate::text::printable(name)
            )));
        }
        let entry = halves.entry(prefix.to_string()).or_default();
        if is_a {
            entry.0 = Some(shape);
        } else {
            entry.1 = Some(shape);
        }
    }
    let mut pairs = Vec::new();
    for (prefix, halves) in halves {
        let shown = crate::text::printable(&prefix);
        let (Some(a), Some(b)) = halves else {
            return Err(refuse(format!(
                "`{shown}` has only one of lora_A and lora_B"
            )));
        };
        if a[0] != b[1] {
            return Err(refuse(format!(
                "`{shown}`: lora_A is {a:?} and lora_B is {b:?}; their ranks differ"
            )));
        }
        let module = prefix.rsplit('.').next().unwrap_or_default().to_string();
        let layer = prefix
            .split(".layers.")
            .nth(1)
            .and_then(|rest| rest.split('.').next())
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| {
                refuse(format!(
                    "`{shown}` is not inside a decoder layer (`….layers.<i>.…`): LoRA on the embeddings or the LM head is served by vLLM for some model classes only, and llmops does not register it"
                ))
            })?;
        pairs.push(LoraPair {
            module,
            layer,
            rank: a[0],
            in_features: a[1],
            out_features: b[0],
        });
    }
    Ok(pairs)
}

/// The linear layers of a dense decoder layer as Llama, Mistral, Qwen and Gemma name them:
/// `module -> (in_features, out_features, the config fields they come from)`.
pub fn base_linear_layers(base: &ModelConfig) -> BTreeMap<&'static str, (u64, u64, &'static str)> {
    let (h, q, kv) = (
        base.hidden_size,
        base.num_attention_heads * base.head_dim,
        base.num_kv_heads * base.head_dim,
    );
    let mut layers = BTreeMap::from([
        (
            "q_proj",
            (h, q, "hidden_size → num_attention_heads × head_dim"),
        ),
        (
            "k_proj",
            (h, kv, "hidden_size → num_key_value_heads × head_dim"),
        ),
        (
            "v_proj",
            (h, kv, "hidden_size → num_key_value_heads × head_dim"),
        ),
        (
            "o_proj",
            (q, h, "num_attention_heads × head_dim → hidden_size"),
        ),
    ]);
    let width = base.layers.iter().find_map(|layer| match layer.mlp {
        Mlp::Dense { width, gated } => Some((width, gated)),
        _ => None,
    });
    if let Some((width, gated)) = width {
        if gated {
            layers.insert("gate_proj", (h, width, "hidden_size → intermediate_size"));
        }
        layers.insert("up_proj", (h, width, "hidden_size → intermediate_size"));
        layers.insert("down_proj", (width, h, "intermediate_size → hidden_size"));
    }
    layers
}

/// What serving `adapter` on `base` needs from vLLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    /// The smallest `--max-lora-rank` vLLM accepts that holds the adapter's rank.
    pub max_lora_rank: u64,
}

/// The smallest rank vLLM accepts at or above `rank`, if any.
pub fn vllm_rank_for(rank: u64) -> Option<u64> {
    VLLM_RANKS.iter().copied().find(|r| *r >= rank)
}

/// Checks `adapter` against the base's `config.json`: every target and tensor is a linear layer
/// the base has, every shape agrees with the base's sizes, and the rank is one vLLM serves.
pub fn check_fits(adapter: &Adapter, base: &ModelConfig) -> Result<Fit, UserError> {
    let architecture = base.architecture.as_deref().unwrap_or(&base.model_type);
    if base.moe.is_some()
        || base.mla.is_some()
        || base
            .layers
            .iter()
            .any(|l| !matches!(l.mixer, Mixer::Attention(_)))
    {
        return Err(refuse(format!(
            "the base is a {architecture}: llmops checks adapters on dense attention models only (Llama, Mistral, Qwen, Gemma and the like)"
        )));
    }
    if let (Some(trained_on), Some(base_class)) =
        (&adapter.config.base_model_class, &base.architecture)
        && trained_on != base_class
    {
        return Err(refuse(format!(
            "the adapter was trained on a {} ({ADAPTER_CONFIG} `auto_mapping.base_model_class`), and the base is a {base_class}",
            crate::text::printable(trained_on)
        ))
        .with_hint("register the adapter against a base of the architecture it was trained on"));
    }
    let layers = base_linear_layers(base);
    let known = || layers.keys().copied().collect::<Vec<_>>().join(", ");
    if let Targets::Names(names) = &adapter.config.targets {
        for name in names {
            let module = name.rsplit('.').next().unwrap_or(name);
            if !layers.contains_key(module) {
                return Err(refuse(format!(
                    "{ADAPTER_CONFIG}: target module `{}` is not a linear layer of the base ({architecture} has {})",
                    crate::text::printable(name),
                    known()
                ))
                .with_hint("register the adapter against the base it was trained on"));
            }
        }
    }
    let num_layers = base.num_layers();
    for pair in &adapter.pairs {
        let Some((want_in, want_out, fields)) = layers.get(pair.module.as_str()) else {
            return Err(refuse(format!(
                "the adapter wraps `{}`, which the base ({architecture}) does not have; it has {}",
                crate::text::printable(&pair.module),
                known()
            )));
        };
        if pair.layer >= num_layers {
            return Err(refuse(format!(
                "the adapter has weights for layer {} but the base has {num_layers} layers",
                pair.layer
            )));
        }
        if (pair.in_features, pair.out_features) != (*want_in, *want_out) {
            return Err(refuse(format!(
                "layer {} `{}`: the adapter maps {} → {} features, the base {} → {} ({fields})",
                pair.layer, pair.module, pair.in_features, pair.out_features, want_in, want_out
            ))
            .with_hint(
                "the adapter was trained on a base of another size; register it against that base",
            ));
        }
    }
    let rank = adapter.max_rank.max(adapter.config.rank);
    let max_lora_rank = vllm_rank_for(rank).ok_or_else(|| {
        refuse(format!(
            "rank {rank} is above the largest --max-lora-rank vLLM accepts ({})",
            VLLM_RANKS.last().copied().unwrap_or_default()
        ))
        .with_hint("train the adapter with r of at most 512")
    })?;
    Ok(Fit { max_lora_rank })
}

#[cfg(test)]
mod tests;
