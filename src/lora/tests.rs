use super::*;
use crate::sizing::weights::write_sparse_safetensors;

/// Llama-3.2-1B's sizes (fixtures/tiny-model's config): hidden 2048, 32 heads × 64, 8 KV heads,
/// intermediate 8192, 16 layers.
fn llama_1b() -> ModelConfig {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny-model/config.json"),
    )
    .unwrap();
    ModelConfig::from_json_text(&text).unwrap()
}

const CONFIG: &str = r#"{"peft_type": "LORA", "r": 16, "lora_alpha": 32,
  "target_modules": ["q_proj", "v_proj", "down_proj"], "modules_to_save": null,
  "base_model_name_or_path": "meta-llama/Llama-3.2-1B"}"#;

/// An adapter folder with `config` and, per layer, the given `(module, in, out)` pairs at rank `r`.
fn adapter(config: &str, r: u64, modules: &[(&str, u64, u64)], layers: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(ADAPTER_CONFIG), config).unwrap();
    let mut names = Vec::new();
    for layer in 0..layers {
        for (module, input, output) in modules {
            let path = if module.ends_with("_proj") && ["q", "k", "v", "o"].contains(&&module[..1])
            {
                "self_attn"
            } else {
                "mlp"
            };
            let base = format!("base_model.model.model.layers.{layer}.{path}.{module}");
            names.push((format!("{base}.lora_A.weight"), vec![r, *input]));
            names.push((format!("{base}.lora_B.weight"), vec![*output, r]));
        }
    }
    let tensors: Vec<(&str, &str, &[u64])> = names
        .iter()
        .map(|(n, s)| (n.as_str(), "BF16", s.as_slice()))
        .collect();
    write_sparse_safetensors(&dir.path().join(ADAPTER_WEIGHTS), &tensors).unwrap();
    dir
}

const FITTING: &[(&str, u64, u64)] = &[
    ("q_proj", 2048, 2048),
    ("v_proj", 2048, 512),
    ("down_proj", 8192, 2048),
];

#[test]
fn an_adapter_of_the_right_shapes_fits() {
    let dir = adapter(CONFIG, 16, FITTING, 16);
    let read = read_adapter(dir.path()).unwrap();
    assert_eq!(read.pairs.len(), 48);
    assert_eq!(
        read.config.base_model_name_or_path.as_deref(),
        Some("meta-llama/Llama-3.2-1B")
    );
    assert_eq!(check_fits(&read, &llama_1b()).unwrap().max_lora_rank, 16);
}

#[test]
fn each_misfit_is_refused_naming_it() {
    let base = llama_1b();
    // A shape from another base size.
    let dir = adapter(CONFIG, 16, &[("q_proj", 4096, 4096)], 1);
    let error = check_fits(&read_adapter(dir.path()).unwrap(), &base).unwrap_err();
    assert!(
        error
            .message
            .contains("4096 → 4096 features, the base 2048 → 2048"),
        "{}",
        error.message
    );
    // A target the base does not have (GPT-2's fused attention).
    let gpt2 = CONFIG.replace("\"down_proj\"", "\"c_attn\"");
    let dir = adapter(&gpt2, 16, FITTING, 1);
    let error = check_fits(&read_adapter(dir.path()).unwrap(), &base).unwrap_err();
    assert!(
        error.message.contains("target module `c_attn`"),
        "{}",
        error.message
    );
    // Rank 1024: above vLLM's largest.
    let big = CONFIG.replace("\"r\": 16", "\"r\": 1024");
    let dir = adapter(&big, 1024, FITTING, 1);
    let error = check_fits(&read_adapter(dir.path()).unwrap(), &base).unwrap_err();
    assert!(
        error
            .message
            .contains("rank 1024 is above the largest --max-lora-rank vLLM accepts (512)"),
        "{}",
        error.message
    );
    // A layer the base does not have.
    let dir = adapter(CONFIG, 16, FITTING, 17);
    let error = check_fits(&read_adapter(dir.path()).unwrap(), &base).unwrap_err();
    assert!(
        error
            .message
            .contains("layer 16 but the base has 16 layers"),
        "{}",
        error.message
    );
}

#[test]
fn ranks_round_up_to_what_vllm_accepts() {
    assert_eq!(vllm_rank_for(4), Some(8));
    assert_eq!(vllm_rank_for(300), Some(320));
    assert_eq!(vllm_rank_for(513), None);
}

#[test]
fn configs_vllm_cannot_serve_are_refused() {
    let saved = CONFIG.replace(
        "\"modules_to_save\": null",
        "\"modules_to_save\": [\"lm_head\"]",
    );
    assert!(
        parse_config(&saved)
            .unwrap_err()
            .message
            .contains("modules_to_save")
    );
    let dora = CONFIG.replace("\"r\": 16", "\"r\": 16, \"use_dora\": true");
    assert!(parse_config(&dora).unwrap_err().message.contains("DoRA"));
    let ia3 = CONFIG.replace("LORA", "IA3");
    assert!(
        parse_config(&ia3)
            .unwrap_err()
            .message
            .contains("`peft_type` is `IA3`")
    );
    let all = CONFIG.replace("[\"q_proj\", \"v_proj\", \"down_proj\"]", "\"all-linear\"");
    assert_eq!(parse_config(&all).unwrap().targets, Targets::AllLinear);
}

#[test]
fn a_folder_without_safetensors_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(ADAPTER_CONFIG), CONFIG).unwrap();
    let error = read_adapter(dir.path()).unwrap_err();
    assert!(
        error.message.contains("has no adapter_model.safetensors"),
        "{}",
        error.message
    );
    std::fs::write(dir.path().join("adapter_model.bin"), b"pickle").unwrap();
    let error = read_adapter(dir.path()).unwrap_err();
    assert!(error.hint.unwrap().contains("adapter_model.bin, a pickle"));
}

#[test]
fn embedding_lora_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(ADAPTER_CONFIG), CONFIG).unwrap();
    let shape: &[u64] = &[16, 128256];
    write_sparse_safetensors(
        &dir.path().join(ADAPTER_WEIGHTS),
        &[(
            "base_model.model.model.embed_tokens.lora_embedding_A",
            "BF16",
            shape,
        )],
    )
    .unwrap();
    let error = read_adapter(dir.path()).unwrap_err();
    assert!(
        error.message.contains("not a LoRA A or B matrix"),
        "{}",
        error.message
    );
}

/// The published adapters in `fixtures/adapters/` against their bases in `fixtures/models/`: the
/// ones vLLM serves fit with the rank it needs; the others are refused naming why.
#[test]
fn published_adapters_against_their_bases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let cases: &[(&str, &str, Result<u64, &str>)] = &[
        ("llama31-8b-instruct-r64-attn", "llama-3.1-8b", Ok(64)),
        ("llama31-8b-r16-all", "llama-3.1-8b", Ok(16)),
        ("mistral-7b-r16-all", "mistral-7b-v0.1", Ok(16)),
        ("qwen25-7b-r32-all", "qwen2.5-7b-instruct", Ok(32)),
        ("gemma2-9b-it-r64-all", "gemma-2-9b-it", Ok(64)),
        ("llama2-7b-chat-r2-layer31", "llama-2-7b", Ok(8)),
        (
            "mistral-7b-r16-lmhead",
            "mistral-7b-v0.1",
            Err("lm_head` is not inside a decoder layer"),
        ),
        (
            "qwen25-3b-instruct-r32-modules-to-save",
            "qwen2.5-7b-instruct",
            Err("`modules_to_save` is"),
        ),
        // Mistral-7B has Llama-3.1-8B's sizes; the adapter records the class it was trained on.
        (
            "llama31-8b-r16-all",
            "mistral-7b-v0.1",
            Err(
                "trained on a LlamaForCausalLM (adapter_config.json `auto_mapping.base_model_class`), and the base is a MistralForCausalLM",
            ),
        ),
        // The right family, the wrong size: an 8B adapter on the 1B base.
        (
            "llama31-8b-r16-all",
            "llama-3.2-1b",
            Err(
                "the adapter maps 14336 → 4096 features, the base 8192 → 2048 (intermediate_size → hidden_size)",
            ),
        ),
    ];
    for (adapter, base, expected) in cases {
        let source = root.join("adapters").join(adapter);
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(source.join(ADAPTER_CONFIG), dir.path().join(ADAPTER_CONFIG)).unwrap();
        let listed: Value =
            serde_json::from_str(&std::fs::read_to_string(source.join("tensors.json")).unwrap())
                .unwrap();
        let dtype = listed["dtype"].as_str().unwrap();
        let shapes: Vec<(String, Vec<u64>)> = listed["tensors"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, shape)| {
                let dims = shape
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap());
                (name.clone(), dims.collect())
            })
            .collect();
        let tensors: Vec<(&str, &str, &[u64])> = shapes
            .iter()
            .map(|(name, dims)| (name.as_str(), dtype, dims.as_slice()))
            .collect();
        write_sparse_safetensors(&dir.path().join(ADAPTER_WEIGHTS), &tensors).unwrap();
        let text =
            std::fs::read_to_string(root.join("models").join(base).join("config.json")).unwrap();
        let config = ModelConfig::from_json_text(&text).unwrap();
        let outcome = read_adapter(dir.path()).and_then(|a| check_fits(&a, &config));
        match (expected, outcome) {
            (Ok(rank), Ok(fit)) => assert_eq!(fit.max_lora_rank, *rank, "{adapter}"),
            (Err(message), Err(error)) => {
                assert!(
                    error.message.contains(message),
                    "{adapter}: {}",
                    error.message
                )
            }
            (expected, outcome) => {
                panic!("{adapter} on {base}: expected {expected:?}, got {outcome:?}")
            }
        }
    }
}
