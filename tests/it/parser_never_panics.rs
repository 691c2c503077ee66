//! config.json is untrusted: whatever it holds, parsing and sizing return a value or an error, never
//! a panic (overflow, division by zero, indexing).

use llmops::sizing::config::ModelConfig;
use llmops::sizing::{KvCacheDtype, Model, Settings, estimate, gpus};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::common::fixture;

const FIXTURES: &[&str] = &[
    "llama-3.1-8b",
    "deepseek-v3",
    "gemma-2-9b-it",
    "medgemma-27b-it",
    "gpt-oss-20b",
    "mixtral-8x7b-v0.1",
    "qwen3-30b-a3b",
    "wizard-vicuna-30b-uncensored-gptq",
];

fn base_configs() -> Vec<Map<String, Value>> {
    FIXTURES
        .iter()
        .map(|name| {
            serde_json::from_str(
                &std::fs::read_to_string(fixture(name).join("config.json")).unwrap(),
            )
            .unwrap()
        })
        .collect()
}

/// Values that have broken config parsers: zeros, negatives, huge and fractional numbers, wrong types.
fn nasty_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1)),
        Just(json!(2)),
        Just(json!(3)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(1e300)),
        Just(json!(0.5)),
        Just(json!(16_777_216)),
        Just(json!(null)),
        Just(json!(true)),
        Just(json!("bfloat16")),
        Just(json!("")),
        Just(json!([])),
        Just(json!([0, -1])),
        Just(json!(["sliding_attention", "mamba", "bogus"])),
        Just(json!({})),
        Just(json!({"factor": 0.0, "rope_type": "yarn", "original_max_position_embeddings": 0})),
        Just(json!({"quant_method": "gptq", "bits": 0, "group_size": -1})),
        Just(
            json!({"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": {"num_bits": 0}}}})
        ),
        any::<u32>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
    ]
}

const KEYS: &[&str] = &[
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "vocab_size",
    "intermediate_size",
    "moe_intermediate_size",
    "num_experts",
    "n_routed_experts",
    "num_local_experts",
    "n_shared_experts",
    "first_k_dense_replace",
    "moe_layer_freq",
    "decoder_sparse_step",
    "mlp_only_layers",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_rope_head_dim",
    "qk_nope_head_dim",
    "v_head_dim",
    "sliding_window",
    "sliding_window_pattern",
    "layer_types",
    "max_position_embeddings",
    "rope_scaling",
    "quantization_config",
    "text_config",
    "vision_config",
    "tie_word_embeddings",
    "torch_dtype",
    "model_type",
    "architectures",
    "attn_layer_period",
    "attn_layer_offset",
    "full_attention_interval",
    "hybrid_override_pattern",
    "mamba_d_state",
    "mamba_num_heads",
    "linear_num_value_heads",
    "linear_num_key_heads",
    "attention_chunk_size",
];

fn run_everything(text: &str) {
    let Ok(config) = ModelConfig::from_json_text(text) else {
        return;
    };
    let model = Model {
        config_path: "config.json".into(),
        config,
        checkpoint: None,
    };
    let _ = model.params();
    for gpu in [gpus::find("T4").unwrap(), gpus::find("B200").unwrap()] {
        for settings in [
            Settings::default(),
            Settings {
                max_model_len: Some(1),
                tensor_parallel_size: 8,
                kv_cache_dtype: KvCacheDtype::Fp8,
                ..Settings::default()
            },
            Settings {
                max_model_len: Some(100_000_000),
                max_num_batched_tokens: Some(1),
                ..Settings::default()
            },
        ] {
            let _ = estimate(&model, gpu, &settings);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn mutated_real_configs_never_panic(
        base in 0..FIXTURES.len(),
        edits in proptest::collection::vec((0..KEYS.len(), nasty_value(), any::<bool>()), 1..6),
    ) {
        let mut config = base_configs()[base].clone();
        for (key, value, into_text_config) in edits {
            let target = match config.get_mut("text_config") {
                Some(Value::Object(text)) if into_text_config => text,
                _ => &mut config,
            };
            target.insert(KEYS[key].to_string(), value);
        }
        run_everything(&Value::Object(config).to_string());
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        run_everything(&text);
    }

    /// A start-up log is untrusted text: real lines with their numbers and separators mangled.
    #[test]
    fn mangled_vllm_logs_never_panic(
        cut in 0usize..2000,
        noise in "[0-9,.x{}':= -]{0,40}",
    ) {
        let real = "non-default args: {'model': 'm', 'max_model_len': 16384, 'gpu_memory_utilization': 0.95}\n\
            Defaulting max_num_seqs to 1024\ntotal_memory=79.19GiB\nModel loading took 14.99 GiB\n\
            Available KV cache memory: 58.11 GiB\nGPU KV cache size: 476,016 tokens\n\
            Maximum concurrency for 16,384 tokens per request: 29.05x\n";
        let at = real.char_indices().map(|(i, _)| i).nth(cut % real.len()).unwrap_or(0);
        let text = format!("{}{noise}{}", &real[..at], &real[at..]);
        let _ = llmops::sizing::vllm_log::parse(&text);
    }
}
