//! LoRA adapters end to end, on MLflow 3 and 2: a base registered, an adapter registered against
//! it (and the refusals, each message asserted), the adapter loaded by the real
//! `mlflow.pyfunc.load_model` with both parent runs in its context, published, and promoted into
//! an empty prod root, which promotes the base first; both trees byte for byte, the tags on both
//! versions, `status` on both.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{assert_same_tree, json_of, tag, unique};
use crate::stack::Stack;

/// Llama-3.2-1B's sizes, as fixtures/tiny-model's config.json states them: hidden 2048, 32 query
/// heads and 8 KV heads of 64, intermediate 8192, 16 layers.
pub(crate) const Q: (u64, u64) = (2048, 2048);
pub(crate) const V: (u64, u64) = (2048, 512);
const DOWN: (u64, u64) = (8192, 2048);

/// Writes a safetensors file whose header lists `tensors` (BF16, zero data), as PEFT names them.
fn write_safetensors(path: &Path, tensors: &[(String, Vec<u64>)]) {
    let mut header = serde_json::Map::new();
    let mut offset = 0u64;
    for (name, shape) in tensors {
        let bytes = shape.iter().product::<u64>() * 2;
        header.insert(
            name.clone(),
            json!({"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    let mut text = Value::Object(header).to_string().into_bytes();
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut file = (text.len() as u64).to_le_bytes().to_vec();
    file.extend(text);
    file.resize(file.len() + offset as usize, 0);
    std::fs::write(path, file).unwrap();
}

/// An adapter folder: `config` as adapter_config.json, and rank-`r` A/B pairs on every layer for
/// `modules` (name, (in, out)).
pub(crate) fn adapter_folder(
    config: &Value,
    r: u64,
    modules: &[(&str, (u64, u64))],
    layers: u64,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("adapter_config.json"), config.to_string()).unwrap();
    let mut tensors = Vec::new();
    for layer in 0..layers {
        for (module, (input, output)) in modules {
            let block = if module.starts_with(['q', 'k', 'v', 'o']) {
                "self_attn"
            } else {
                "mlp"
            };
            let prefix = format!("base_model.model.model.layers.{layer}.{block}.{module}");
            tensors.push((format!("{prefix}.lora_A.weight"), vec![r, *input]));
            tensors.push((format!("{prefix}.lora_B.weight"), vec![*output, r]));
        }
    }
    write_safetensors(&dir.path().join("adapter_model.safetensors"), &tensors);
    dir
}

/// fixtures/tiny-model with `_name_or_path` set to `source_id` in its config.json.
fn base_folder(source_id: &str) -> tempfile::TempDir {
    let dir = crate::common::tiny_model_copy();
    let path = dir.path().join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["_name_or_path"] = json!(source_id);
    std::fs::write(&path, config.to_string()).unwrap();
    dir
}

pub(crate) fn lora_config(r: u64, targets: &[&str]) -> Value {
    json!({
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": 2 * r,
        "lora_dropout": 0.05, "target_modules": targets, "modules_to_save": null,
        "base_model_name_or_path": "meta-llama/Llama-3.2-1B", "bias": "none"
    })
}

fn register(
    stack: &Stack,
    folder: &Path,
    name: &str,
    dev: &Path,
    extra: &[&str],
) -> std::process::Output {
    stack
        .register(folder, name, dev, "context_model.py")
        .args(extra)
        .output()
        .unwrap()
}

fn version_tags(stack: &Stack, name: &str) -> Value {
    stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={name}&version=1"
    ))["model_version"]["tags"]
        .clone()
}

fn end_to_end(major: &'static str) {
    let stack = Stack::shared(major);
    let dev = tempfile::tempdir().unwrap();
    let base_name = unique("lora-base");
    // The base folder records the Hugging Face id it came from, as a downloaded model does.
    let source_id = format!("llmops-tests/{}", unique("tiny-llama"));
    let fixture = base_folder(&source_id);
    let fixture = fixture.path();
    let base = json_of(&register(
        stack,
        fixture,
        &base_name,
        dev.path(),
        &["--publish"],
    ));
    let base_run = base["parent_run_id"].as_str().unwrap().to_string();
    let base_ref = format!("models:/{base_name}/1");

    let mut config = lora_config(16, &["q_proj", "v_proj", "down_proj"]);
    config["base_model_name_or_path"] = json!(source_id);
    let modules = [("q_proj", Q), ("v_proj", V), ("down_proj", DOWN)];
    let adapter = adapter_folder(&config, 16, &modules, 16);
    let name = unique("lora-adapter");
    // Without --base: refused, and the hint names the one version registered from that id.
    let output = register(stack, adapter.path(), &name, dev.path(), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let hint = format!("pass `--base {base_ref}` if that is the base");
    assert!(stderr.contains(&hint), "{stderr}");
    let registered = json_of(&register(
        stack,
        adapter.path(),
        &name,
        dev.path(),
        &["--base", &base_ref, "--publish"],
    ));
    let adapter_run = registered["parent_run_id"].as_str().unwrap().to_string();
    assert_eq!(registered["files"], 2, "the adapter alone, never the base");

    // The real loader sees both parent runs.
    let predicted = stack.python(
        &format!("import mlflow\nm = mlflow.pyfunc.load_model('models:/{name}/1')\nprint(m.predict(['x'])[0])"),
        &[("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")],
    );
    let context: Value = serde_json::from_str(predicted.trim().lines().last().unwrap()).unwrap();
    assert_eq!(context["run_id"], adapter_run.as_str());
    assert_eq!(context["base_run_id"], base_run.as_str());
    assert_eq!(context["base_model_name"], base_name.as_str());
    assert_eq!(context["base_model_version"], "1");
    let tags = version_tags(stack, &name);
    assert_eq!(tag(&tags, "llmops.base.name"), Some(base_name.as_str()));
    assert_eq!(tag(&tags, "llmops.base.version"), Some("1"));
    assert_eq!(
        tag(&tags, "llmops.base.parent_run_id"),
        Some(base_run.as_str())
    );
    assert_eq!(
        tag(&tags, "llmops.base.manifest_digest"),
        base["manifest_digest"].as_str()
    );
    assert_eq!(tag(&tags, "llmops.lora.max_lora_rank"), Some("16"));

    // Promote the adapter into an empty prod root: the base goes first.
    let prod = tempfile::tempdir().unwrap();
    let promoted = json_of(
        &stack
            .llmops()
            .args([
                "promote",
                &format!("models:/{name}/1"),
                "--prod-root",
                prod.path().to_str().unwrap(),
            ])
            .args([
                "--artifacts-destination",
                stack.var("LLMOPS_ARTIFACTS_DESTINATION"),
                "--output",
                "json",
            ])
            .output()
            .unwrap(),
    );
    let base_folder = prod.path().join("llm-models").join(&base_run);
    assert_eq!(promoted["base"]["promoted_first"], true);
    assert_eq!(promoted["base"]["folder"], base_folder.to_str().unwrap());
    assert_same_tree(fixture, &base_folder);
    assert_same_tree(
        adapter.path(),
        &prod.path().join("llm-models").join(&adapter_run),
    );
    let base_tags = version_tags(stack, &base_name);
    assert_eq!(tag(&base_tags, "llmops.promoted_to"), base_folder.to_str());
    let tags = version_tags(stack, &name);
    assert_eq!(tag(&tags, "llmops.promoted_base_to"), base_folder.to_str());

    // status: the base lists the adapter, the adapter names its base.
    let status = |model: &str| {
        json_of(
            &stack
                .llmops()
                .args([
                    "status",
                    model,
                    "--prod-root",
                    prod.path().to_str().unwrap(),
                    "--output",
                    "json",
                ])
                .output()
                .unwrap(),
        )
    };
    let on_base = status(&base_name);
    assert_eq!(
        on_base["versions"][0]["adapters"][0]["model"],
        format!("models:/{name}/1")
    );
    assert_eq!(status(&name)["versions"][0]["base"], base_ref.as_str());
    sized_with_lora(stack, &name, &adapter_run);
    refusals(stack, &base_ref, dev.path());
}

/// `size models:/<adapter>/1` sizes the base with LoRA slots; the bytes are worked out here from
/// the base's shapes (Llama-3.2-1B: H 2048, I 8192, 16 layers, 32 × 64 query and 8 × 64 KV dims,
/// vocab 128,256) at max_lora_rank 16 in bf16, one GPU:
/// - per layer and slot: qkv A 3 × 16 × 2048 + B 16 × (2048 + 512 + 512); o A 16 × 2048 + B
///   2048 × 16; gate_up A 2 × 16 × 2048 + B 2 × 8192 × 16; down A 16 × 8192 + B 2048 × 16
///   = 704,512 elements; × 16 layers = 11,272,192;
/// - Llama also wraps the embeddings and LM head: 2 × 16 × (128,256 + 2048) = 4,169,728;
/// - 15,441,920 elements × 2 bytes = 30,883,840 bytes a slot;
/// - Punica's index tensors at the L4's defaults (2048 batched tokens, 256 sequences):
///   56 × 2048 + 24 × 256 + 3 KiB = 123,904 bytes.
fn sized_with_lora(stack: &Stack, adapter: &str, adapter_run: &str) {
    for (max_loras, expected) in [
        (1u64, 30_883_840u64 + 123_904),
        (4, 4 * 30_883_840 + 123_904),
    ] {
        let sized = json_of(
            &stack
                .llmops()
                .args([
                    "size",
                    &format!("models:/{adapter}/1"),
                    "--gpu",
                    "L4",
                    "--max-model-len",
                    "4096",
                ])
                .args(["--max-loras", &max_loras.to_string(), "--output", "json"])
                .args([
                    "--artifacts-destination",
                    stack.var("LLMOPS_ARTIFACTS_DESTINATION"),
                ])
                .output()
                .unwrap(),
        );
        assert_eq!(
            sized["per_gpu"]["lora_bytes"], expected,
            "max_loras {max_loras}"
        );
        let args = sized["vllm_args"].as_str().unwrap();
        let expected_args = format!(
            "--enable-lora --max-lora-rank 16 --max-loras {max_loras} --lora-modules {adapter}=/llm-models/{adapter_run}"
        );
        assert!(args.ends_with(&expected_args), "{args}");
    }
}

/// Each refusal names what is wrong, before any run exists.
fn refusals(stack: &Stack, base_ref: &str, dev: &Path) {
    let refused = |folder: &Path, base: &str, expected: &str| {
        let output = register(stack, folder, &unique("refused"), dev, &["--base", base]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected `{expected}` in: {stderr}"
        );
    };
    let fits = [("q_proj", Q), ("v_proj", V)];
    // Another base architecture: the adapter says it was trained on a Qwen2 model.
    let mut qwen = lora_config(16, &["q_proj", "v_proj"]);
    qwen["auto_mapping"] = json!({"base_model_class": "Qwen2ForCausalLM"});
    let qwen = adapter_folder(&qwen, 16, &fits, 1);
    refused(
        qwen.path(),
        base_ref,
        "the adapter was trained on a Qwen2ForCausalLM (adapter_config.json `auto_mapping.base_model_class`), and the base is a LlamaForCausalLM",
    );
    // A shape from another base size (Llama-3.1-8B's q_proj: 4096 → 4096).
    let wrong_size = adapter_folder(
        &lora_config(16, &["q_proj"]),
        16,
        &[("q_proj", (4096, 4096))],
        1,
    );
    refused(
        wrong_size.path(),
        base_ref,
        "the adapter maps 4096 → 4096 features, the base 2048 → 2048",
    );
    // A target module the base lacks (GPT-2's fused attention).
    let gpt2 = adapter_folder(&lora_config(16, &["c_attn"]), 16, &fits, 1);
    refused(
        gpt2.path(),
        base_ref,
        "target module `c_attn` is not a linear layer of the base",
    );
    // Rank 1024.
    let big = adapter_folder(
        &lora_config(1024, &["q_proj", "v_proj"]),
        1024,
        &[("q_proj", (2048, 2048))],
        1,
    );
    refused(
        big.path(),
        base_ref,
        "rank 1024 is above the largest --max-lora-rank vLLM accepts (512)",
    );
    // A base that does not exist.
    let good = adapter_folder(&lora_config(16, &["q_proj", "v_proj"]), 16, &fits, 1);
    refused(
        good.path(),
        "models:/no-such-base-model/1",
        "`models:/no-such-base-model/1` does not exist in the model registry",
    );
    // No safetensors.
    std::fs::remove_file(good.path().join("adapter_model.safetensors")).unwrap();
    refused(good.path(), base_ref, "has no adapter_model.safetensors");
}

#[test]
fn an_adapter_is_registered_and_promoted_with_its_base_on_mlflow3() {
    end_to_end("3");
}

#[test]
fn an_adapter_is_registered_and_promoted_with_its_base_on_mlflow2() {
    end_to_end("2");
}
