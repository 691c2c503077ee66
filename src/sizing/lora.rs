//! What vLLM allocates on each GPU to serve LoRA adapters on a base model (`--enable-lora`).
//!
//! At start-up vLLM wraps every supported linear layer of the base, whatever adapters come later,
//! and gives each `max_loras` slots of rank `max_lora_rank` (`LoRAModelManager._create_lora_modules`
//! in `vllm/lora/model_manager.py`; the buffer shapes are each layer's `create_lora_weights` in
//! `vllm/lora/layers/`). So the memory depends on the base, `--max-loras` and `--max-lora-rank`,
//! not on an adapter's own rank or targets. It is allocated inside the measurement behind "Model
//! loading took …" (`GPUModelRunner.load_model` calls `load_lora_model` there), and with CUDA
//! graphs on, vLLM captures each size with and without LoRA (`CudagraphDispatcher._get_lora_cases`
//! in `vllm/v1/cudagraph_dispatcher.py`), about twice the graphs.

use super::config::{Mixer, Mlp, ModelConfig};

/// `--max-loras` and `--max-lora-rank` as vLLM will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LoraServing {
    pub max_loras: u64,
    pub max_lora_rank: u64,
}

/// Classes whose `embedding_modules` wrap the input embeddings and the LM head too (vLLM's
/// `vllm/model_executor/models/llama.py`, `qwen3.py`, `qwen3_moe.py`, `mixtral.py`); Mistral, Qwen2
/// and Gemma leave them out.
const EMBEDDING_LORA_CLASSES: &[&str] = &[
    "LlamaForCausalLM",
    "Qwen3ForCausalLM",
    "Qwen3MoeForCausalLM",
    "MixtralForCausalLM",
];

#[derive(Debug, thiserror::Error)]
#[error("LoRA memory is modelled for dense attention models only; {0} is not one")]
pub struct NotModelled(pub String);

/// Bytes of LoRA buffers and their metadata on one GPU, with the default (not fully sharded)
/// layout: column-parallel layers (qkv, gate_up) keep A whole and split B by TP, row-parallel ones
/// (o, down) split A and keep B whole; embedding buffers are whole on every GPU.
pub fn lora_bytes(
    config: &ModelConfig,
    serving: LoraServing,
    dtype_bytes: u64,
    tp: u64,
    (max_num_batched_tokens, max_num_seqs): (u64, u64),
) -> Result<u64, NotModelled> {
    let name = || {
        config
            .architecture
            .clone()
            .unwrap_or(config.model_type.clone())
    };
    if config.moe.is_some()
        || config.mla.is_some()
        || config
            .layers
            .iter()
            .any(|l| !matches!(l.mixer, Mixer::Attention(_)))
    {
        return Err(NotModelled(name()));
    }
    let (r, t, h) = (serving.max_lora_rank, tp.max(1), config.hidden_size);
    let q_t = config.num_attention_heads * config.head_dim / t;
    // Fewer KV heads than GPUs: vLLM replicates one head per GPU (`QKVParallelLinear`).
    let kv_t = (config.num_kv_heads / t).max(1) * config.head_dim;
    let mut elements = 0u64;
    for layer in &config.layers {
        // qkv: A is three [R, H] slices, B is [q_t + 2 kv_t, R]; o: A [R, q_t], B [H, R].
        let mut per_layer = r * (3 * h + q_t + 2 * kv_t) + r * (q_t + h);
        if let Mlp::Dense { width, gated } = layer.mlp {
            let (slices, i_t) = (if gated { 2 } else { 1 }, width / t);
            // gate_up: A slices × [R, H], B slices × [I_t, R]; down: A [R, I_t], B [H, R].
            per_layer += r * slices * (h + i_t) + r * (i_t + h);
        }
        elements += per_layer;
    }
    if config
        .architecture
        .as_deref()
        .is_some_and(|a| EMBEDDING_LORA_CLASSES.contains(&a))
    {
        // embed_tokens: A [V, R], B [H, R]; lm_head: A [R, H], B [V, R].
        elements += 2 * r * (config.vocab_size + h);
    }
    // Punica's index tensors (`punica_base.py`, `lora_kernel_metadata.py`): int64 and int32 per
    // batched token and per sequence, plus a few small ones.
    let metadata = 56 * max_num_batched_tokens + 24 * max_num_seqs + 3 * 1024;
    Ok(serving.max_loras * dtype_bytes * elements + metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Llama-3.1-8B at max_lora_rank 16 in bf16, worked by hand from the buffer shapes: per layer
    /// 16 × (7·4096 + 2·4096 + 2·1024 + 3·14336) = 1,310,720 elements; × 32 layers × 2 bytes =
    /// 83,886,080 B; embeddings 2 × 16 × (128,256 + 4,096) × 2 = 8,470,528 B; 92,356,608 B a slot.
    #[test]
    fn llama_3_1_8b_at_rank_16() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/models/llama-3.1-8b/config.json"),
        )
        .unwrap();
        let config = ModelConfig::from_json_text(&text).unwrap();
        let metadata = 56 * 8192 + 24 * 1024 + 3072;
        for (loras, slots) in [(1, 92_356_608u64), (4, 369_426_432)] {
            let serving = LoraServing {
                max_loras: loras,
                max_lora_rank: 16,
            };
            assert_eq!(
                lora_bytes(&config, serving, 2, 1, (8192, 1024)).unwrap(),
                slots + metadata
            );
        }
    }
}
