//! `llmops size` as a user runs it: exit codes, output on stdout and stderr, bad input.

use predicates::prelude::*;
use tempfile::TempDir;

use crate::common::{fixture, llmops, size_json};

fn config_with(edit: impl FnOnce(&mut serde_json::Value)) -> (TempDir, std::path::PathBuf) {
    let mut config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("llama-3.1-8b").join("config.json")).unwrap(),
    )
    .unwrap();
    edit(&mut config);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    (dir, path)
}

#[test]
fn a_model_that_fits_exits_0_and_prints_vllm_lines() {
    llmops()
        .args(["size"])
        .arg(fixture("llama-3.1-8b"))
        .args([
            "--gpu",
            "h100",
            "--max-model-len",
            "16384",
            "--gpu-memory-utilization",
            "0.95",
            "--vllm-version",
            "0.19",
        ])
        .assert()
        .code(0)
        // vLLM 0.19 logged 58.11 GiB and 476,016 tokens on this H100 (llm-d-planner's raw log,
        // fixtures/vllm-logs/logs.json); the line is printed to two decimals, so allow one step.
        .stdout(predicate::str::is_match("Available KV cache memory: 58\\.1[012] GiB").unwrap())
        .stdout(predicate::str::contains("GPU KV cache size: 476,"))
        .stdout(predicate::str::contains(
            "Maximum concurrency for 16,384 tokens per request: 29.0",
        ))
        .stdout(predicate::str::contains(
            "vLLM arguments: --max-model-len 16384 --gpu-memory-utilization 0.95",
        ));
}

#[test]
fn json_has_the_documented_fields() {
    let (report, code) = size_json(&[
        fixture("llama-3.1-8b").to_str().unwrap(),
        "--max-model-len",
        "8192",
    ]);
    assert_eq!(code, 0);
    assert_eq!(report["schema_version"], 1);
    for field in [
        "weights_bytes",
        "activation_bytes",
        "non_torch_bytes",
        "cuda_graph_bytes",
        "available_kv_bytes",
        "kv_bytes_per_token",
        "kv_tokens",
    ] {
        assert!(
            report["per_gpu"][field].is_i64() || report["per_gpu"][field].is_u64(),
            "per_gpu.{field}: {report}"
        );
    }
    assert!(report["max_concurrency"].is_f64());
    assert_eq!(report["fits"], true);
    assert!(report["max_model_len_that_fits"].as_u64().unwrap() >= 131_072);
    assert_eq!(report["model"]["architecture"], "LlamaForCausalLM");
    assert_eq!(report["model"]["params"], 8_030_261_248u64);
    assert_eq!(report["model"]["vllm_supported"], true);
    assert!(
        report["vllm_args"]
            .as_str()
            .unwrap()
            .starts_with("--max-model-len 8192")
    );
}

#[test]
fn a_model_that_does_not_fit_exits_1_with_what_would_fit() {
    // Llama-3.1-8B's 14.96 GiB of weights on a 15 GiB T4.
    let (report, code) = size_json(&[
        fixture("llama-3.1-8b").to_str().unwrap(),
        "--gpu",
        "T4",
        "--max-model-len",
        "8192",
    ]);
    assert_eq!(code, 1);
    assert_eq!(report["fits"], false);
    assert!(
        report["per_gpu"]["available_kv_bytes"].as_i64().unwrap() < 0,
        "negative when weights do not fit"
    );
    assert_eq!(report["problems"][0]["kind"], "no_kv_memory");
    assert!(report["vllm_args"].is_null());
    assert_eq!(report["advice"]["min_tensor_parallel_size"], 2);
    assert_eq!(report["advice"]["fits_with_fp8_kv_cache"], false);
    assert_eq!(report["advice"]["smallest_gpu"], "A10G");

    llmops()
        .args(["size"])
        .arg(fixture("llama-3.1-8b"))
        .args(["--gpu", "T4", "--max-model-len", "8192"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Does not fit"))
        .stdout(predicate::str::contains("--tensor-parallel-size 2"));
}

#[test]
fn a_context_that_does_not_fit_names_the_longest_that_does() {
    // Full 131,072-token context on an L4: weights fit, one request's KV does not.
    let (report, code) = size_json(&[fixture("llama-3.1-8b").to_str().unwrap(), "--gpu", "L4"]);
    assert_eq!(code, 1);
    assert_eq!(report["problems"][0]["kind"], "request_does_not_fit");
    // 16.06 GB of weights leave ~3.90 GB of the L4's 24.15 GB for the KV cache (of vLLM's default
    // 0.92 share, less 0.47 GiB of activations at 2,048 batched tokens, 0.27 GiB non-torch and the
    // 0.6 GiB allocator reserve vLLM 0.27+ charges, and 0.29 + 0.0176 × 32 × 84/100 = 0.76 GiB of
    // CUDA graphs: 256 sequences capture 51 piecewise and 35 full decode graphs, 84 extrapolated
    // where the fit's logs had 100): at 131,072 bytes per token (32 layers × 8 KV heads × 128 dims
    // × K and V × 2 bytes) that is 1,859 whole 16-token blocks. vLLM 0.29 and later (the default
    // is 0.33) plan the fit without the null block the pool holds back: 1,858 blocks, 29,728 tokens.
    let longest = report["max_model_len_that_fits"].as_u64().unwrap();
    assert_eq!(longest, 29_728);
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("estimated maximum model length is 29728"),
        "{}",
        report["problems"][0]["message"]
    );
    // And that length really fits.
    let (report, code) = size_json(&[
        fixture("llama-3.1-8b").to_str().unwrap(),
        "--gpu",
        "L4",
        "--max-model-len",
        &longest.to_string(),
    ]);
    assert_eq!((code, report["fits"].as_bool()), (0, Some(true)));
    let (_, code) = size_json(&[
        fixture("llama-3.1-8b").to_str().unwrap(),
        "--gpu",
        "L4",
        "--max-model-len",
        &(longest + 16).to_string(),
    ]);
    assert_eq!(code, 1);
}

#[test]
fn a_context_above_the_config_limit_is_refused_unless_vllm_would_allow_it() {
    let model = fixture("llama-3.2-1b");
    let (report, code) = size_json(&[model.to_str().unwrap(), "--max-model-len", "200000"]);
    assert_eq!(code, 1);
    assert_eq!(report["problems"][0]["kind"], "context_too_long");
    let output = llmops()
        .args([
            "size",
            model.to_str().unwrap(),
            "--max-model-len",
            "200000",
            "--output",
            "json",
        ])
        .env("VLLM_ALLOW_LONG_MAX_MODEL_LEN", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_sweep_prints_one_matrix_and_one_json_array() {
    let model = fixture("qwen3-8b");
    llmops()
        .args([
            "size",
            model.to_str().unwrap(),
            "--gpu",
            "h100,l4",
            "--max-model-len",
            "8192,32768",
        ])
        .assert()
        .stdout(predicate::str::contains("GPU \\ max-model-len"))
        .stdout(predicate::str::contains("H100-80GB"))
        .stdout(predicate::str::contains("32,768"));
    let (reports, code) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "h100,l4",
        "--max-model-len",
        "8192,32768",
    ]);
    // Qwen3-8B: 16.4 GB of bf16 weights, 147,456 KV bytes per token. An H100 has ~58 GB left
    // for KV (~395k tokens): both lengths fit. An L4 (24 GB) has ~4 GB left (~27k tokens): 8,192
    // fits, one 32,768-token request does not; so the sweep exits 1.
    let verdicts: Vec<(&str, u64, bool)> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["gpu"]["name"].as_str().unwrap(),
                r["settings"]["max_model_len"].as_u64().unwrap(),
                r["fits"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("H100-80GB", 8192, true),
            ("H100-80GB", 32768, true),
            ("L4", 8192, true),
            ("L4", 32768, false),
        ]
    );
    assert_eq!(code, 1);
}

#[test]
fn gpu_memory_can_be_given_directly() {
    let (report, _) = size_json(&[
        fixture("qwen3-8b").to_str().unwrap(),
        "--gpu-memory",
        "81559MiB",
        "--max-model-len",
        "4096",
    ]);
    assert_eq!(report["gpu"]["memory_bytes"], 81559u64 * 1024 * 1024);
    assert_eq!(report["gpu"]["name"], "custom");
}

#[test]
fn weights_come_from_safetensors_headers_in_a_model_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("llama-3.2-1b").join("config.json"),
        dir.path().join("config.json"),
    )
    .unwrap();
    // A real header over a sparse data region: ~0.56 GB of "tensors" that take no disk and are
    // never read: (128,256 × 2,048 + 8,192 × 2,048) bf16 values × 2 bytes.
    const TENSOR_BYTES: u64 = (128_256 * 2048 + 8192 * 2048) * 2;
    llmops::sizing::weights::write_sparse_safetensors(
        &dir.path().join("model.safetensors"),
        &[
            ("model.embed_tokens.weight", "BF16", &[128_256, 2048]),
            ("model.layers.0.mlp.up_proj.weight", "BF16", &[8192, 2048]),
        ],
    )
    .unwrap();
    let (report, _) = size_json(&[dir.path().to_str().unwrap(), "--max-model-len", "4096"]);
    assert_eq!(report["model"]["weights_source"], "safetensors_headers");
    assert_eq!(report["per_gpu"]["weights_bytes"], TENSOR_BYTES);
}

#[test]
fn an_unknown_architecture_is_a_warning_on_stderr_not_a_crash() {
    let (dir, _) = config_with(|c| c["architectures"] = serde_json::json!(["MadeUpForCausalLM"]));
    let output = llmops()
        .args(["size", dir.path().to_str().unwrap(), "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: `MadeUpForCausalLM` is not in vLLM 0.33's model registry"),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout stays pure JSON");
    assert_eq!(report["model"]["vllm_supported"], false);
}

/// (edit to config.json, text the error must contain)
#[test]
fn bad_config_fields_name_the_field_and_the_file_and_exit_2() {
    type Edit = fn(&mut serde_json::Value);
    let cases: &[(Edit, &str)] = &[
        (
            |c| {
                c.as_object_mut().unwrap().remove("hidden_size");
            },
            "field `hidden_size` is missing",
        ),
        (
            |c| c["num_hidden_layers"] = serde_json::json!(0),
            "field `num_hidden_layers` must be a positive integer, found 0",
        ),
        (
            |c| c["num_attention_heads"] = serde_json::json!(-32),
            "field `num_attention_heads` must be a positive integer, found -32",
        ),
        (
            |c| c["vocab_size"] = serde_json::json!("lots"),
            "field `vocab_size` must be a positive integer, found \"lots\"",
        ),
        (
            |c| c["hidden_size"] = serde_json::json!(1u64 << 40),
            "field `hidden_size` 1099511627776 is larger than any real model uses",
        ),
        (
            |c| c["num_hidden_layers"] = serde_json::json!(100_000),
            "field `num_hidden_layers` 100000 layers is more than any real model has",
        ),
        (
            |c| c["num_key_value_heads"] = serde_json::json!(64),
            "field `num_key_value_heads` 64 is more than num_attention_heads (32)",
        ),
        (
            |c| c["torch_dtype"] = serde_json::json!("int3"),
            "field `torch_dtype` `int3` is not a dtype",
        ),
        (
            |c| c["layer_types"] = serde_json::json!(["full_attention"]),
            "field `layer_types` has 1 entries but num_hidden_layers is 32",
        ),
        (
            |c| c["text_config"] = serde_json::json!({"hidden_size": 64}),
            "field `text_config.num_hidden_layers` is missing",
        ),
    ];
    for (edit, expected) in cases {
        let (_dir, path) = config_with(*edit);
        llmops()
            .args(["size"])
            .arg(&path)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(*expected))
            .stderr(predicate::str::contains(path.to_str().unwrap()))
            .stderr(predicate::str::contains("hint:"));
    }
}

#[test]
fn unreadable_input_exits_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, "{ not json").unwrap();
    llmops()
        .args(["size"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not valid JSON"));
    std::fs::write(&path, "[1, 2]").unwrap();
    llmops()
        .args(["size"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must be a JSON object"));
    llmops()
        .args(["size"])
        .arg(dir.path().join("nope"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not exist"));
    let empty = tempfile::tempdir().unwrap();
    llmops()
        .args(["size"])
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no config.json"));
}

#[test]
fn bad_flags_exit_2() {
    let model = fixture("llama-3.1-8b");
    let model = model.to_str().unwrap();
    for (args, expected) in [
        (vec!["--gpu", "tpu-v5"], "unknown GPU `tpu-v5`"),
        (
            vec!["--tensor-parallel-size", "3"],
            "does not divide the model's 32 attention heads",
        ),
        (
            vec!["--gpu-memory-utilization", "1.5"],
            "must be a fraction",
        ),
        (vec!["--gpu-memory-utilization", "0"], "must be a fraction"),
        (vec!["--max-model-len", "0"], "invalid value"),
        (
            vec!["--max-model-len", "-5"],
            "is not an integer like vLLM takes",
        ),
        (vec!["--gpu-memory", "0GiB"], "must be a positive size"),
        (vec!["--vllm-version", "banana"], "is not a vLLM version"),
        (
            vec!["--gpu", "h100", "--gpu-memory", "80GiB"],
            "cannot be used with",
        ),
    ] {
        llmops()
            .args(["size", model])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expected));
    }
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    use std::io::Read;
    use std::process::Stdio;
    // Enough output to fill the pipe, then the reader goes away (`llmops size … | head -c 100`).
    let lengths: Vec<String> = (1..=200).map(|i| (i * 512).to_string()).collect();
    let mut child = crate::common::llmops_std()
        .args([
            "size",
            fixture("qwen3-8b").to_str().unwrap(),
            "--output",
            "json",
            "--max-model-len",
            &lengths.join(","),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("error"));
}

#[test]
fn help_lists_only_working_commands_and_the_environment() {
    llmops()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("size"))
        .stdout(predicate::str::contains("generate").not())
        .stdout(predicate::str::contains("LLMOPS_GPU"))
        .stdout(predicate::str::contains("Exit codes"));
}

/// A config.json with none of the context keys: vLLM assumes 2,048 tokens and warns
/// (`vllm/config/model.py`, `_get_and_verify_max_len`); so does size, instead of refusing.
#[test]
fn a_config_without_a_context_length_is_sized_at_vllms_2048() {
    let (_dir, path) = config_with(|c| {
        c.as_object_mut().unwrap().remove("max_position_embeddings");
    });
    let (report, code) = size_json(&[path.to_str().unwrap(), "--gpu", "L4"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["settings"]["max_model_len"], 2048);
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("vLLM assumes 2048")),
        "{report}"
    );
    // A length the user gives is taken as is: vLLM checks it against nothing.
    let (report, code) = size_json(&[path.to_str().unwrap(), "--max-model-len", "32768"]);
    assert_eq!(
        (code, report["settings"]["max_model_len"].as_u64()),
        (0, Some(32768)),
        "{report}"
    );
}

/// `--kv-cache-memory-bytes` replaces the budget, as vLLM's does: the KV cache is the figure given
/// (`8G` is 8 GiB, as vLLM reads it), the vLLM arguments carry it instead of the utilization, and a
/// figure the GPU cannot hold beside the weights is refused with exit 1.
#[test]
fn a_pinned_kv_cache_replaces_the_budget() {
    let model = fixture("llama-3.1-8b");
    let (report, code) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "H100",
        "--max-model-len",
        "16384",
        "--kv-cache-memory-bytes",
        "20G",
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["per_gpu"]["available_kv_bytes"], 21_474_836_480u64);
    assert_eq!(
        report["vllm_args"],
        "--max-model-len 16384 --kv-cache-memory-bytes 21474836480"
    );
    assert!(report["kv_cache_memory_bytes_to_pin"].is_null());
    // 20 GiB of KV beside 14.96 GiB of weights is more than an L4's 22.49 GiB.
    let (report, code) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "L4",
        "--max-model-len",
        "8192",
        "--kv-cache-memory-bytes",
        "20G",
    ]);
    assert_eq!(code, 1);
    assert_eq!(report["problems"][0]["kind"], "pinned_kv_cache_too_large");
    llmops()
        .args([
            "size",
            model.to_str().unwrap(),
            "--kv-cache-memory-bytes",
            "8G",
        ])
        .args(["--gpu-memory-utilization", "0.9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

/// `--max-model-len auto` is vLLM's auto-fit: the config's length when it fits, else the longest
/// that does (29,728 tokens for Llama-3.1-8B on an L4, as `a_context_that_does_not_fit…` derives
/// by hand; 29,744 before vLLM 0.29 held back the null block), with the line the release logs;
/// lengths are read as vLLM reads them (`32K` is 32,768).
#[test]
fn max_model_len_auto_fits_the_context_as_vllm_does() {
    let model = fixture("llama-3.1-8b");
    let (report, code) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "L4",
        "--max-model-len",
        "auto",
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["settings"]["max_model_len"], 29_728);
    // 0.32 and later print the memory they planned with: the 3.63 GiB less one 2 MiB block.
    assert_eq!(
        report["auto_fit"],
        "Auto-fit max_model_len: reduced from 131072 to 29728 to fit in available KV cache memory (3.63 GiB GPU)"
    );
    let (report, _) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "L4",
        "--max-model-len",
        "auto",
        "--vllm-version",
        "0.28",
    ]);
    assert_eq!(report["settings"]["max_model_len"], 29_744);
    assert_eq!(
        report["auto_fit"],
        "Auto-fit max_model_len: reduced from 131072 to 29744 to fit in available GPU memory (3.63 GiB available for KV cache)"
    );
    let (report, _) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "H100",
        "--max-model-len",
        "-1",
    ]);
    assert_eq!(report["settings"]["max_model_len"], 131_072);
    for (given, tokens) in [("32K", 32_768), ("32k", 32_000)] {
        let (report, _) = size_json(&[model.to_str().unwrap(), "--max-model-len", given]);
        assert_eq!(report["settings"]["max_model_len"], tokens, "{given}");
    }
    llmops()
        .args(["size", model.to_str().unwrap(), "--max-model-len", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a context length"));
}

/// MIG slices by name (`H100:1g.20gb`, with the memory `nvidia-smi mig -lgip` prints), and the
/// smallest slice that fits. Llama-3.1-8B's 14.96 GiB of weights cannot fit 1g.10gb (9.62 GiB); on
/// 1g.20gb (19.50 GiB × 0.92 = 17.94 GiB) weights, a 0.47 GiB activation peak at 2,048 batched
/// tokens, 0.87 GiB non-torch (0.27 and the 0.6 GiB allocator reserve vLLM 0.27+ charges) and
/// 0.76 GiB of graphs (256 sequences) leave 0.88 GiB, more than the 0.5 GiB of KV one 4,096-token
/// request needs (131,072 bytes a token), less than the 1 GiB of an 8,192-token one.
#[test]
fn mig_slices_are_sized_and_the_smallest_that_fits_is_named() {
    let model = fixture("llama-3.1-8b");
    let (report, code) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "H100",
        "--max-model-len",
        "4096",
    ]);
    assert_eq!(code, 0);
    assert_eq!(report["advice"]["smallest_mig_slice"], "H100-80GB:1g.20gb");
    let (report, code) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "h100:1g.20gb",
        "--max-model-len",
        "4096",
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["gpu"]["name"], "H100-80GB:1g.20gb");
    assert_eq!(report["gpu"]["memory_bytes"], 1950u64 * (1 << 30) / 100);
    let (report, code) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "H100:1g.10gb",
        "--max-model-len",
        "4096",
    ]);
    assert_eq!(code, 1);
    assert!(
        report["advice"]["min_tensor_parallel_size"].is_null(),
        "no TP across slices"
    );
    llmops()
        .args(["size", model.to_str().unwrap(), "--gpu", "H100:9g.1gb"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a MIG slice such as `H100:3g.40gb`",
        ));
}

/// `--against-log`: a real start-up log (llm-d-planner's Llama-3.1-8B run on an H100 with vLLM
/// 0.19, from fixtures/vllm-logs) is reproduced with the settings it shows; a log whose available
/// KV was altered is a disagreement (exit 1); a log without the figures is refused (exit 2).
#[test]
fn a_startup_log_is_reproduced_and_compared() {
    let entries: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vllm-logs/logs.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let quote = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "llmd-llama31-8b-h100-bf16-gmu095-mml16384")
        .unwrap()["quote"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let model = fixture("llama-3.1-8b");
    let against = |log: &str| {
        let path = dir.path().join("vllm.log");
        std::fs::write(&path, log).unwrap();
        size_json(&[
            model.to_str().unwrap(),
            "--gpu",
            "H100",
            "--vllm-version",
            "0.19",
            "--against-log",
            path.to_str().unwrap(),
        ])
    };
    let (report, code) = against(&quote);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["agrees"], true);
    assert_eq!(report["settings_from_log"]["max_model_len"], 16384);
    assert_eq!(report["settings_from_log"]["max_num_batched_tokens"], 8192);
    let logged: Vec<(String, f64)> = report["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["figure"].as_str().unwrap().to_string(),
                c["logged"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        logged,
        [
            ("weights GiB".to_string(), 14.99),
            ("available KV GiB".to_string(), 58.11),
            ("KV cache tokens".to_string(), 476_016.0),
            ("maximum concurrency".to_string(), 29.05),
        ]
    );
    let (report, code) = against(&quote.replace(
        "Available KV cache memory: 58.11 GiB",
        "Available KV cache memory: 48.11 GiB",
    ));
    assert_eq!((code, report["agrees"].as_bool()), (1, Some(false)));
    let path = dir.path().join("empty.log");
    std::fs::write(&path, "INFO starting\n").unwrap();
    llmops()
        .args([
            "size",
            model.to_str().unwrap(),
            "--against-log",
            path.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "shows neither `Available KV cache memory` nor `GPU KV cache size`",
        ));
}

/// The capacity lines follow the release: two lines up to 0.27, one from 0.28
/// (`kv_cache_utils.py`); releases before 0.10 (the V0 engine) are refused.
#[test]
fn the_log_lines_follow_the_vllm_release() {
    let model = fixture("llama-3.1-8b");
    let lines = |version: &str| {
        let output = llmops()
            .args(["size", model.to_str().unwrap(), "--max-model-len", "8192"])
            .args(["--gpu", "H100", "--vllm-version", version])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{version}");
        String::from_utf8(output.stdout).unwrap()
    };
    let old = lines("0.27");
    assert!(old.contains(" tokens\n"), "{old}");
    assert!(!old.contains("tokens, Maximum concurrency"), "{old}");
    let new = lines("0.28");
    assert!(
        new.contains(" tokens, Maximum concurrency for 8,192 tokens per request: "),
        "{new}"
    );
    // 0.28 gave GPUs of 160 GiB and more (a B200) 16,384 batched tokens by default.
    for (version, tokens) in [("0.27", 8192), ("0.28", 16_384)] {
        let (report, _) = size_json(&[
            model.to_str().unwrap(),
            "--gpu",
            "B200",
            "--vllm-version",
            version,
        ]);
        assert_eq!(
            report["settings"]["max_num_batched_tokens"], tokens,
            "{version}"
        );
    }
    llmops()
        .args(["size", model.to_str().unwrap(), "--vllm-version", "0.9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("older than llmops models"));
}

/// `--pipeline-parallel-size`: layers split as vLLM's `get_pp_indices` does, the embedding on the
/// first stage, the final norm, LM head and sampler on the last, and every stage held to the
/// fewest KV blocks. Figures by hand from Llama-3.1-8B's config.
#[test]
fn pipeline_stages_hold_their_layers_and_share_the_fewest_blocks() {
    let model = fixture("llama-3.1-8b");
    let (report, code) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "H100",
        "--max-model-len",
        "8192",
        "--pp",
        "2",
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["gpu"]["count"], 2);
    let stages = report["pipeline_stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2);
    assert_eq!(
        (
            stages[0]["first_layer"].clone(),
            stages[0]["end_layer"].clone()
        ),
        (0.into(), 16.into())
    );
    assert_eq!(
        (
            stages[1]["first_layer"].clone(),
            stages[1]["end_layer"].clone()
        ),
        (16.into(), 32.into())
    );
    // A decoder layer: q and o 4,096 × 4,096, k and v 4,096 × 1,024, gate, up and down
    // 4,096 × 14,336, two norms of 4,096: 218,112,000 parameters. The embedding (and, untied, the
    // LM head) is 128,256 × 4,096 = 525,336,576. The checkpoint is bfloat16, 2 bytes each.
    let layer = 218_112_000_u64;
    let vocab = 525_336_576_u64;
    let first = 2 * (vocab + 16 * layer);
    let last = 2 * (16 * layer + 4096 + vocab);
    let weights = |i: usize| stages[i]["weights_bytes"].as_u64().unwrap();
    assert!(weights(0).abs_diff(first) <= 2, "{} vs {first}", weights(0));
    assert!(weights(1).abs_diff(last) <= 2, "{} vs {last}", weights(1));
    // Half the layers: 16 × 8 KV heads × 128 × K and V × 2 bytes per token.
    assert_eq!(stages[0]["kv_bytes_per_token"], 65_536);
    // Only the last stage samples: the first holds just 8,192 × 4,096 bf16 hidden states.
    assert_eq!(stages[0]["activation_bytes"], 8192 * 4096 * 2);
    assert!(stages[1]["activation_bytes"].as_u64().unwrap() > 1 << 30);
    // The last stage, with the sampler, has fewer blocks; the report is its.
    let blocks: Vec<u64> = stages
        .iter()
        .map(|s| s["num_blocks"].as_u64().unwrap())
        .collect();
    assert!(blocks[1] < blocks[0], "{blocks:?}");
    assert_eq!(report["per_gpu"]["num_blocks"], blocks[1]);
    assert_eq!(report["per_gpu"]["kv_tokens"], blocks[1] * 16);
    assert!(
        report["vllm_args"]
            .as_str()
            .unwrap()
            .contains("--pipeline-parallel-size 2"),
        "{report}"
    );
    // More stages than decoder layers is refused, naming the limit.
    llmops()
        .args(["size", model.to_str().unwrap(), "--pp", "33"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("use at most 32 pipeline stages"));
}

/// gpt-oss's mxfp4 experts load larger than they are stored: vLLM logged `Model loading took
/// 13.72 GiB` on an A100 (Marlin, vLLM 0.19, myoceane's log) and 13.47 GiB on an H100 (Triton,
/// llm-d-benchmark's report), both in fixtures/vllm-logs/logs.json; the checkpoint alone is ~12.8.
#[test]
fn mxfp4_weights_are_sized_as_the_kernel_holds_them() {
    let model = fixture("gpt-oss-20b");
    for (gpu, logged) in [("A100-80GB", 13.72), ("H100", 13.47)] {
        let (report, code) = size_json(&[
            model.to_str().unwrap(),
            "--gpu",
            gpu,
            "--max-model-len",
            "8192",
            "--vllm-version",
            "0.19",
        ]);
        assert_eq!(code, 0, "{report}");
        let weights = report["per_gpu"]["weights_bytes"].as_f64().unwrap() / (1u64 << 30) as f64;
        assert!(
            (weights / logged - 1.0).abs() < 0.02,
            "{gpu}: {weights} vs {logged}"
        );
        assert!(
            report["warnings"].as_array().unwrap().iter().any(|w| w
                .as_str()
                .unwrap()
                .contains("mxfp4 experts are counted as vLLM's")),
            "{report}"
        );
    }
}

/// `--data-parallel-size` with `--enable-expert-parallel`: whole experts spread over TP × DP GPUs,
/// the rest split by TP only. Qwen3-30B-A3B by hand: 48 layers × 128 experts × 3 × 2,048 × 768 =
/// 28,991,029,248 expert parameters (57,982,058,496 bf16 bytes) of the checkpoint's
/// 61,064,245,248 (`total_size` in its index); 3,082,186,752 bytes are the rest.
#[test]
fn expert_parallelism_spreads_whole_experts_over_every_rank() {
    let model = fixture("qwen3-30b-a3b");
    let weights = |extra: &[&str]| {
        let mut args = vec![
            model.to_str().unwrap(),
            "--gpu",
            "H100",
            "--max-model-len",
            "8192",
        ];
        args.extend_from_slice(extra);
        let (report, code) = size_json(&args);
        assert_eq!(code, 0, "{report}");
        (report["per_gpu"]["weights_bytes"].as_f64().unwrap(), report)
    };
    let experts = 57_982_058_496_f64;
    let rest = 3_082_186_752_f64;
    let close = |got: f64, want: f64| (got / want - 1.0).abs() < 0.005;
    // Without expert parallelism data parallelism only replicates: the same bytes per GPU.
    let (replicated, report) = weights(&["--dp", "8"]);
    assert!(close(replicated, experts + rest), "{replicated}");
    assert_eq!(report["gpu"]["count"], 8);
    // 8 ranks, 16 experts each.
    let (spread, report) = weights(&["--dp", "8", "--enable-expert-parallel"]);
    assert!(close(spread, experts / 8.0 + rest), "{spread}");
    assert!(
        report["vllm_args"]
            .as_str()
            .unwrap()
            .ends_with("--data-parallel-size 8 --enable-expert-parallel"),
        "{report}"
    );
    // TP 2 × DP 4: the rest halves, the experts still go 16 to a GPU.
    let (mixed, _) = weights(&["--tp", "2", "--dp", "4", "--enable-expert-parallel"]);
    assert!(close(mixed, experts / 8.0 + rest / 2.0), "{mixed}");
}

/// `--quantization fp8` on an unquantized checkpoint: vLLM quantizes linear weights to one byte as
/// it loads them and keeps the embeddings and LM head. Llama-3.1-8B by hand: per layer q and o
/// 4,096², k and v 4,096 × 1,024, gate, up and down 3 × 4,096 × 14,336 = 218,103,808, × 32 layers
/// = 6,979,321,856 one-byte parameters; embeddings and LM head 2 × 128,256 × 4,096 and the norms
/// 65 × 4,096 stay bfloat16 (2,101,878,784 bytes): 9,081,200,640 bytes. vLLM 0.19 logged 8.49 GiB
/// (llm-d-planner's accuracy report, `Runtime --quantization fp8`).
#[test]
fn quantization_at_load_shrinks_the_linear_weights_only() {
    let hand = 6_979_321_856.0 + 2_101_878_784.0;
    for model in [
        fixture("llama-3.1-8b"),
        fixture("llama-3.1-8b").join("config.json"),
    ] {
        let (report, code) = size_json(&[
            model.to_str().unwrap(),
            "--max-model-len",
            "8192",
            "--quantization",
            "fp8",
            "--vllm-version",
            "0.19",
        ]);
        assert_eq!(code, 0, "{report}");
        crate::common::assert_close(
            "weights",
            report["per_gpu"]["weights_bytes"].as_f64().unwrap(),
            hand,
            0.001,
        );
        assert!(
            report["vllm_args"]
                .as_str()
                .unwrap()
                .contains("--quantization fp8"),
            "{report}"
        );
        assert_eq!(report["model"]["quantization"], "fp8");
    }
    // A checkpoint stored with another method is the mismatch vLLM refuses.
    llmops()
        .args(["size", "--quantization", "fp8"])
        .arg(fixture("wizard-vicuna-30b-uncensored-gptq"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("quantized with `gptq`")
                .and(predicate::str::contains("drop --quantization")),
        );
}

/// `--cudagraph-mode` and `--max-cudagraph-capture-size` change the graphs vLLM extrapolates over:
/// Llama-3.1-8B on an H100 (1,024 sequences) captures 51 sizes up to 512 in both modes by default,
/// Σ (graphs − 1) = 100; piecewise only is 50 of them, 0.29 + 0.0176 × 32 × 0.5 = 0.5716 GiB; sizes up
/// to 16 are 1, 2, 4, 8, 16 in both modes, Σ = 8, 0.29 + 0.0176 × 32 × 0.08 = 0.335056 GiB.
#[test]
fn cuda_graph_mode_and_capture_size_scale_the_graph_estimate() {
    let model = fixture("llama-3.1-8b");
    let gib = |report: &serde_json::Value| {
        report["per_gpu"]["cuda_graph_bytes"].as_f64().unwrap() / crate::common::GIB
    };
    let (default, _) = size_json(&[model.to_str().unwrap(), "--gpu", "H100"]);
    assert_eq!(default["settings"]["cuda_graphs"]["piecewise_graphs"], 51);
    assert_eq!(default["settings"]["cuda_graphs"]["full_graphs"], 51);
    assert!((gib(&default) - 0.8532).abs() < 1e-6, "{}", gib(&default));

    let (piecewise, code) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "H100",
        "--cudagraph-mode",
        "PIECEWISE",
    ]);
    assert_eq!(code, 0);
    assert!(
        (gib(&piecewise) - 0.5716).abs() < 1e-6,
        "{}",
        gib(&piecewise)
    );
    assert!(
        piecewise["vllm_args"]
            .as_str()
            .unwrap()
            .contains(r#"--compilation-config '{"cudagraph_mode": "PIECEWISE"}'"#),
        "{}",
        piecewise["vllm_args"]
    );

    let (small, _) = size_json(&[
        model.to_str().unwrap(),
        "--gpu",
        "H100",
        "--max-cudagraph-capture-size",
        "16",
    ]);
    assert_eq!(small["settings"]["cuda_graphs"]["piecewise_graphs"], 5);
    assert!((gib(&small) - 0.335056).abs() < 1e-6, "{}", gib(&small));
    assert!(
        small["vllm_args"]
            .as_str()
            .unwrap()
            .ends_with("--max-cudagraph-capture-size 16")
    );

    llmops()
        .args(["size", model.to_str().unwrap(), "--enforce-eager"])
        .args(["--cudagraph-mode", "FULL"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}
