//! Every fixture's parameter count and KV bytes per token, against figures published for the model
//! (sources in each fixture's SOURCE.md). Where the checkpoint's `metadata.total_size` is known and
//! all tensors are bf16, params = total_size / 2 is an independent count.

use llmops::sizing::{Model, Settings, estimate, gpus};

use crate::common::{assert_close, fixture};

struct Expected {
    fixture: &'static str,
    /// Published parameter count, and how far the config-derived count may be from it.
    params: u64,
    tolerance: f64,
    /// Attention KV bytes per token on one GPU, bf16/fp16, TP 1.
    kv_bytes_per_token: u64,
}

const EXPECTED: &[Expected] = &[
    // "Stored parameters 8,030,261,248, all BF16" and total_size 16,060,522,496.
    Expected {
        fixture: "llama-3.1-8b",
        params: 8_030_261_248,
        tolerance: 0.0,
        kv_bytes_per_token: 131_072,
    },
    // total_size 13,476,839,424 / 2 (fp16). The checkpoint also holds 32 × 64 fp32 rotary
    // `inv_freq` buffers (8 KiB), which are not parameters.
    Expected {
        fixture: "llama-2-7b",
        params: 6_738_419_712,
        tolerance: 1e-6,
        kv_bytes_per_token: 524_288,
    },
    // model.safetensors 2,471,645,608 bytes incl. a ~17 KB header, all BF16 → 1.2358 B.
    Expected {
        fixture: "llama-3.2-1b",
        params: 1_235_814_400,
        tolerance: 1e-4,
        kv_bytes_per_token: 32_768,
    },
    // total_size 14,483,464,192 / 2 (Mistral-7B-Instruct-v0.2, same tensor shapes).
    Expected {
        fixture: "mistral-7b-v0.1",
        params: 7_241_732_096,
        tolerance: 0.0,
        kv_bytes_per_token: 131_072,
    },
    // total_size 15,231,233,024 / 2; model card "7.61B".
    Expected {
        fixture: "qwen2.5-7b-instruct",
        params: 7_615_616_512,
        tolerance: 0.0,
        kv_bytes_per_token: 57_344,
    },
    // 8,190,735,360 parameters (16,381,470,720 bytes).
    Expected {
        fixture: "qwen3-8b",
        params: 8_190_735_360,
        tolerance: 0.0,
        kv_bytes_per_token: 147_456,
    },
    // total_size 61,064,245,248 / 2.
    Expected {
        fixture: "qwen3-30b-a3b",
        params: 30_532_122_624,
        tolerance: 0.0,
        kv_bytes_per_token: 98_304,
    },
    // total_size 93,405,585,408 / 2.
    Expected {
        fixture: "mixtral-8x7b-v0.1",
        params: 46_702_792_704,
        tolerance: 0.0,
        kv_bytes_per_token: 131_072,
    },
    // Model card: "671B of the Main Model weights and 14B of the Multi-Token Prediction (MTP) Module".
    Expected {
        fixture: "deepseek-v3",
        params: 671_000_000_000,
        tolerance: 0.001,
        kv_bytes_per_token: 70_272,
    },
    // Model card: "16B total params" (DeepSeek-V2 paper: 15.7B).
    Expected {
        fixture: "deepseek-v2-lite",
        params: 15_700_000_000,
        tolerance: 0.005,
        kv_bytes_per_token: 31_104,
    },
    // total_size 18,483,411,968 / 2.
    Expected {
        fixture: "gemma-2-9b-it",
        params: 9_241_705_984,
        tolerance: 0.0,
        kv_bytes_per_token: 344_064,
    },
    // total_size 54,864,813,280 / 2, vision tower included; ours estimates the SigLIP tower from vision_config.
    Expected {
        fixture: "medgemma-27b-it",
        params: 27_432_406_640,
        tolerance: 0.001,
        kv_bytes_per_token: 507_904,
    },
    // Model card: "21B parameters with 3.6B active parameters".
    Expected {
        fixture: "gpt-oss-20b",
        params: 21_000_000_000,
        tolerance: 0.01,
        kv_bytes_per_token: 49_152,
    },
    // The Hub's safetensors metadata: 116,829,156,672 parameters (model card: 116.8B). KV: 36 layers
    // × 8 KV heads × 64 × K and V × 2 bytes.
    Expected {
        fixture: "gpt-oss-120b",
        params: 116_829_156_672,
        tolerance: 0.0,
        kv_bytes_per_token: 73_728,
    },
    // total_size 7,642,159,104 / 2.
    Expected {
        fixture: "phi-3-mini-4k-instruct",
        params: 3_821_079_552,
        tolerance: 0.0,
        kv_bytes_per_token: 393_216,
    },
    // LLaMA-30B ("33B" in the LLaMA paper: 32.5B), quantized to 4 bits with GPTQ; no KV-heads key (MHA).
    Expected {
        fixture: "wizard-vicuna-30b-uncensored-gptq",
        params: 32_528_943_616,
        tolerance: 0.001,
        kv_bytes_per_token: 1_597_440,
    },
    // Hub safetensors metadata 81,324,862,720 BF16 parameters include a multi-token-prediction layer
    // (~1.65 B) that config.json does not declare and vLLM loads only for speculative decoding;
    // the model card's "80B" is the main model.
    Expected {
        fixture: "qwen3-next-80b-a3b-instruct",
        params: 80_000_000_000,
        tolerance: 0.005,
        kv_bytes_per_token: 24_576,
    },
    // Hub safetensors metadata: 8,100,852,736 BF16 parameters.
    Expected {
        fixture: "nemotron-h-8b-base-8k",
        params: 8_100_852_736,
        tolerance: 0.0,
        kv_bytes_per_token: 16_384,
    },
    // Hub safetensors metadata: 32,207,337,984 BF16 parameters.
    Expected {
        fixture: "granite-4.0-h-small",
        params: 32_207_337_984,
        tolerance: 0.0,
        kv_bytes_per_token: 16_384,
    },
    // Model card: "7B total"; no exact count was published that we found.
    Expected {
        fixture: "granite-4.0-h-tiny",
        params: 7_000_000_000,
        tolerance: 0.01,
        kv_bytes_per_token: 8_192,
    },
];

#[test]
fn fifteen_families_are_covered() {
    assert!(EXPECTED.len() >= 15);
}

#[test]
fn parameter_counts_match_the_published_figures() {
    for expected in EXPECTED {
        let model = Model::load(&fixture(expected.fixture)).unwrap();
        let params = model.params().total() as f64;
        assert_close(
            expected.fixture,
            params,
            expected.params as f64,
            expected.tolerance,
        );
    }
}

#[test]
fn kv_bytes_per_token_match_vllm() {
    let h100 = gpus::find("H100").unwrap();
    for expected in EXPECTED {
        let model = Model::load(&fixture(expected.fixture)).unwrap();
        let estimate = estimate(
            &model,
            h100,
            &Settings {
                max_model_len: Some(4096),
                ..Settings::default()
            },
        )
        .unwrap();
        assert_eq!(
            estimate.kv_bytes_per_token, expected.kv_bytes_per_token,
            "{}",
            expected.fixture
        );
    }
}

#[test]
fn mla_kv_is_not_split_by_tensor_parallelism() {
    // DeepSeek-V3: 61 layers × (512 + 64) × 2 bytes on every GPU, whatever the TP size.
    let model = Model::load(&fixture("deepseek-v3")).unwrap();
    let h200 = gpus::find("H200").unwrap();
    for tp in [1, 8] {
        let settings = Settings {
            tensor_parallel_size: tp,
            max_model_len: Some(4096),
            ..Settings::default()
        };
        assert_eq!(
            estimate(&model, h200, &settings)
                .unwrap()
                .kv_bytes_per_token,
            70_272
        );
    }
    // MLA forces FlashMLA's 64-token blocks on Hopper.
    let settings = Settings {
        tensor_parallel_size: 8,
        max_model_len: Some(4096),
        ..Settings::default()
    };
    assert_eq!(
        estimate(&model, h200, &settings)
            .unwrap()
            .settings
            .block_size,
        64
    );
}

#[test]
fn kv_heads_are_replicated_when_tp_exceeds_them() {
    // Qwen3-30B-A3B has 4 KV heads: at TP 8 each GPU still holds one (max(1, 4 // 8)).
    let model = Model::load(&fixture("qwen3-30b-a3b")).unwrap();
    let h100 = gpus::find("H100").unwrap();
    let settings = Settings {
        tensor_parallel_size: 8,
        max_model_len: Some(4096),
        ..Settings::default()
    };
    assert_eq!(
        estimate(&model, h100, &settings)
            .unwrap()
            .kv_bytes_per_token,
        48 * 2 * 128 * 2
    );
}

#[test]
fn layer_patterns_are_read() {
    let count = |name: &str| {
        let model = Model::load(&fixture(name)).unwrap();
        let windows: Vec<_> = model.config.attention_layers().collect();
        let sliding = windows
            .iter()
            .filter(|w| matches!(w, llmops::sizing::config::Window::Sliding(_)))
            .count();
        (windows.len(), sliding)
    };
    assert_eq!(count("gemma-2-9b-it"), (42, 21)); // alternating
    assert_eq!(count("medgemma-27b-it"), (62, 52)); // 5 sliding : 1 global, from text_config.layer_types
    assert_eq!(count("gpt-oss-20b"), (24, 12)); // layer_types, window 128
    assert_eq!(count("mistral-7b-v0.1"), (32, 32)); // sliding_window everywhere
    assert_eq!(count("qwen2.5-7b-instruct"), (28, 0)); // use_sliding_window: false
}

#[test]
fn checkpoint_bytes_come_from_the_index_when_shards_are_absent() {
    let model = Model::load(&fixture("llama-3.1-8b")).unwrap();
    let (weights, source) = model.checkpoint.as_ref().unwrap();
    assert_eq!(
        *source,
        llmops::sizing::weights::WeightSource::SafetensorsIndex
    );
    assert_eq!(weights.tensor_bytes, 16_060_522_496);
}
