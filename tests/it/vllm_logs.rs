//! Published vLLM start-up figures, reproduced. Each case cites the log it comes from; the quotes
//! and settings are recorded in `fixtures/vllm-logs/logs.json`.
//!
//! Tolerances are what the model earns, not what would make a test pass: uniform full-attention
//! models land within 0.3 %; hybrid sliding-window layouts within 2.5 %, because their activation
//! peak is calibrated per architecture and the weights are estimated from config.json.

use llmops::sizing::kv::{KvInputs, KvPlan};
use llmops::sizing::{DtypeChoice, KvCacheDtype, Model, Settings, VllmVersion, estimate, gpus};

use crate::common::{GIB, assert_close, fixture};

struct Logged {
    /// Where the lines were published.
    source: &'static str,
    fixture: &'static str,
    settings: Settings,
    available_kv_gib: f64,
    kv_tokens: u64,
    max_concurrency: Option<f64>,
    tolerance: f64,
}

fn v0_19(max_model_len: u64, gpu_memory_utilization: f64) -> Settings {
    Settings {
        max_model_len: Some(max_model_len),
        gpu_memory_utilization: Some(gpu_memory_utilization),
        vllm_version: VllmVersion::parse("0.19").unwrap(),
        ..Settings::default()
    }
}

const LLM_D: &str =
    "llm-d-incubation/llm-d-planner accuracy/results/v0.19.0 (vLLM 0.19.0, H100-80GB)";

fn cases() -> Vec<Logged> {
    vec![
        Logged {
            source: "llm-d-planner logs/meta-llama-llama-3-1-8b--h100-80gb--tp1pp1dp1--16384.log",
            fixture: "llama-3.1-8b",
            settings: v0_19(16384, 0.95),
            available_kv_gib: 58.11,
            kv_tokens: 476_016,
            max_concurrency: Some(29.05),
            tolerance: 0.003,
        },
        Logged {
            source: "llm-d-planner accuracy/tests/fixtures/llama_tp1_expected.json (the figure in issue #2)",
            fixture: "llama-3.1-8b",
            settings: v0_19(8192, 0.95),
            available_kv_gib: 58.11,
            kv_tokens: 476_000,
            max_concurrency: Some(58.11),
            tolerance: 0.003,
        },
        Logged {
            source: "llm-d-planner accuracy/accuracy_report.md, --kv-cache-dtype fp8",
            fixture: "llama-3.1-8b",
            settings: Settings {
                kv_cache_dtype: KvCacheDtype::Fp8,
                ..v0_19(8192, 0.95)
            },
            available_kv_gib: 58.11,
            kv_tokens: 952_032,
            max_concurrency: None,
            tolerance: 0.003,
        },
        Logged {
            source: "llm-d-planner accuracy/accuracy_report.md, --dtype float32",
            fixture: "llama-3.1-8b",
            settings: Settings {
                dtype: DtypeChoice::Float32,
                ..v0_19(8192, 0.95)
            },
            available_kv_gib: 42.80,
            kv_tokens: 175_296,
            max_concurrency: None,
            tolerance: 0.01,
        },
        Logged {
            source: "llm-d-planner accuracy/accuracy_report.md, Qwen2.5-7B-Instruct",
            fixture: "qwen2.5-7b-instruct",
            settings: v0_19(8192, 0.95),
            available_kv_gib: 58.53,
            kv_tokens: 1_096_000,
            max_concurrency: None,
            tolerance: 0.003,
        },
        Logged {
            source: "llm-d-planner accuracy/accuracy_report.md, Qwen2.5-7B-Instruct --kv-cache-dtype fp8",
            fixture: "qwen2.5-7b-instruct",
            settings: Settings {
                kv_cache_dtype: KvCacheDtype::Fp8,
                ..v0_19(8192, 0.95)
            },
            available_kv_gib: 58.53,
            kv_tokens: 2_192_000,
            max_concurrency: None,
            tolerance: 0.003,
        },
        Logged {
            source: "llm-d-planner logs: openai/gpt-oss-20b, 2 × H100, TP 2, utilisation 0.90",
            fixture: "gpt-oss-20b",
            settings: Settings {
                tensor_parallel_size: 2,
                ..v0_19(8192, 0.90)
            },
            available_kv_gib: 59.32,
            kv_tokens: 2_591_776,
            max_concurrency: Some(316.07),
            tolerance: 0.015,
        },
        Logged {
            source: "llm-d-planner logs: google/gemma-3-27b-it (8 padding layers), utilisation 0.95",
            fixture: "medgemma-27b-it",
            settings: v0_19(8192, 0.95),
            available_kv_gib: 19.53,
            kv_tokens: 36_560,
            max_concurrency: Some(4.46),
            tolerance: 0.025,
        },
    ]
}

#[test]
fn published_startup_figures_are_reproduced() {
    let h100 = gpus::find("H100-80GB").unwrap();
    for case in cases() {
        let model = Model::load(&fixture(case.fixture)).unwrap();
        let estimate = estimate(&model, h100, &case.settings).unwrap();
        let what = |field: &str| format!("{field} for {} ({}; {LLM_D})", case.fixture, case.source);
        assert_close(
            &what("available KV"),
            estimate.available_kv_bytes as f64 / GIB,
            case.available_kv_gib,
            case.tolerance,
        );
        assert_close(
            &what("KV tokens"),
            estimate.kv_tokens as f64,
            case.kv_tokens as f64,
            case.tolerance,
        );
        if let Some(concurrency) = case.max_concurrency {
            assert_close(
                &what("max concurrency"),
                estimate.max_concurrency,
                concurrency,
                case.tolerance,
            );
        }
        assert!(estimate.fits(), "{}", case.source);
    }
}

#[test]
fn model_loading_matches_the_logged_weights() {
    // "Model loading took 14.99 GiB" in the llm-d-planner Llama-3.1-8B log; the checkpoint holds
    // 14.96 GiB of tensors (vLLM also allocates a few small buffers).
    let model = Model::load(&fixture("llama-3.1-8b")).unwrap();
    let estimate = estimate(&model, gpus::find("H100").unwrap(), &v0_19(8192, 0.95)).unwrap();
    assert_close("weights", estimate.weights_bytes as f64 / GIB, 14.99, 0.005);
}

#[test]
fn newer_vllm_charges_cuda_graphs_and_counts_hybrid_tokens_from_concurrency() {
    let h100 = gpus::find("H100").unwrap();
    let model = Model::load(&fixture("medgemma-27b-it")).unwrap();
    let old = estimate(&model, h100, &v0_19(8192, 0.95)).unwrap();
    let new = estimate(
        &model,
        h100,
        &Settings {
            vllm_version: VllmVersion::LATEST,
            ..v0_19(8192, 0.95)
        },
    )
    .unwrap();
    assert_eq!(old.cuda_graph_bytes, 0);
    assert!(new.cuda_graph_bytes > 0);
    assert!(new.available_kv_bytes < old.available_kv_bytes);
    // vllm-project/vllm#40694: tokens = int(max_concurrency × max_model_len).
    assert_eq!(new.kv_tokens, (new.max_concurrency * 8192.0) as u64);
    // vLLM ≥ 0.22 defaults --gpu-memory-utilization to 0.92.
    let defaulted = estimate(
        &model,
        h100,
        &Settings {
            max_model_len: Some(8192),
            ..Settings::default()
        },
    )
    .unwrap();
    assert_eq!(defaulted.settings.gpu_memory_utilization, 0.92);
}

/// The KV layout alone, fed the `Available KV cache memory` vLLM logged: block size, groups, tokens
/// and concurrency must come out as logged, with no overhead model in between.
#[test]
fn kv_layouts_reproduce_logged_tokens_from_logged_memory() {
    struct Layout {
        source: &'static str,
        fixture: &'static str,
        tensor_parallel_size: u64,
        available_gib: f64,
        max_model_len: u64,
        block_size: u64,
        kv_tokens: u64,
        max_concurrency: f64,
    }
    let cases = [
        Layout {
            // vLLM 0.10.2, 2 × H200: "Setting attention block size to 544 tokens", "Padding mamba page
            // size by 1.49%", "Available KV cache memory: 44.59 GiB", "GPU KV cache size: 973,760
            // tokens", "Maximum concurrency for 262,144 tokens per request: 14.77x" (a user's pasted log).
            source: "Qwen3-Next-80B-A3B-Instruct, vLLM 0.10.2, TP 2",
            fixture: "qwen3-next-80b-a3b-instruct",
            tensor_parallel_size: 2,
            available_gib: 44.59,
            max_model_len: 262_144,
            block_size: 544,
            kv_tokens: 973_760,
            max_concurrency: 14.77,
        },
        Layout {
            source: "llm-d-planner gemma-3-27b-it log, vLLM 0.19.0",
            fixture: "medgemma-27b-it",
            tensor_parallel_size: 1,
            available_gib: 19.53,
            max_model_len: 8192,
            block_size: 16,
            kv_tokens: 36_560,
            max_concurrency: 4.46,
        },
        Layout {
            source: "llm-d-planner gpt-oss-20b log, vLLM 0.19.0, TP 2",
            fixture: "gpt-oss-20b",
            tensor_parallel_size: 2,
            available_gib: 59.32,
            max_model_len: 8192,
            block_size: 16,
            kv_tokens: 2_591_776,
            max_concurrency: 316.07,
        },
    ];
    for case in cases {
        let model = Model::load(&fixture(case.fixture)).unwrap();
        let plan = KvPlan::new(
            &model.config,
            &KvInputs {
                tensor_parallel_size: case.tensor_parallel_size,
                kv_dtype_bytes: 2,
                state_dtype_bytes: 2,
                mla_block_size: 64,
            },
        )
        .unwrap();
        assert_eq!(plan.block_size, case.block_size, "{}", case.source);
        let num_blocks = plan.num_blocks((case.available_gib * GIB) as i64);
        let tokens = plan.kv_tokens(num_blocks, case.max_model_len, 8192, false);
        // The logged GiB is rounded to 0.01, which moves the block count by up to 0.01 %.
        assert_close(
            &format!("tokens, {}", case.source),
            tokens as f64,
            case.kv_tokens as f64,
            0.0002,
        );
        let concurrency =
            num_blocks as f64 / plan.blocks_per_request(case.max_model_len, 8192) as f64;
        assert!(
            (concurrency - case.max_concurrency).abs() < 0.01,
            "{}: concurrency {concurrency}",
            case.source
        );
    }
}

#[test]
fn hybrid_state_padding_matches_the_log() {
    // "Padding mamba page size by 1.49%" for Qwen3-Next at TP 2: a 544-token attention page of
    // 1,024 bytes per token against 548,864 bytes of Gated DeltaNet state per layer.
    let model = Model::load(&fixture("qwen3-next-80b-a3b-instruct")).unwrap();
    let plan = KvPlan::new(
        &model.config,
        &KvInputs {
            tensor_parallel_size: 2,
            kv_dtype_bytes: 2,
            state_dtype_bytes: 2,
            mla_block_size: 64,
        },
    )
    .unwrap();
    assert_eq!(plan.state_bytes_per_sequence, 36 * 548_864);
    let padding: f64 = (544.0 * 1024.0) / 548_864.0 - 1.0;
    assert!((padding * 100.0 - 1.49).abs() < 0.005);
}
