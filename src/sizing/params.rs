//! Parameter counts from config.json, split by how vLLM stores them: embeddings and norms stay in the
//! serving dtype, linear layers may be quantized, and mxfp4 quantizes only the experts. Formulas in
//! `docs/sizing-model.md` §Parameter counting, checked against published counts in fixture tests.

use super::config::{AttentionShape, Indexer, Mixer, Mla, Mlp, ModelConfig, StateSpace};

/// Parameters by storage class. Counts are u128 because config.json is untrusted: bounded
/// dimensions multiplied together can still exceed u64.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParamCount {
    /// Token embedding, LM head, norms, routers, biases, vision tower: never quantized.
    pub unquantized: u128,
    /// Attention, dense MLP and state-space projections.
    pub linear: u128,
    /// Routed and shared MoE experts.
    pub experts: u128,
}

impl ParamCount {
    pub fn total(&self) -> u128 {
        self.unquantized + self.linear + self.experts
    }
}

pub fn count_params(config: &ModelConfig) -> ParamCount {
    let h = config.hidden_size as u128;
    let v = config.vocab_size as u128;
    let mut count = ParamCount::default();

    count.unquantized += v * h * config.vocabulary_matrices() as u128;
    if config.holds_last_stage() {
        count.unquantized += h; // final norm
    }
    if config.holds_first_stage() {
        count.unquantized += config.vision_params as u128;
    }

    for layer in &config.layers {
        count.unquantized += config.norms_per_layer as u128 * h;
        match layer.mixer {
            Mixer::Attention(window) => {
                let (linear, small) = attention_params(config, config.attention_shape(window));
                count.linear += linear;
                count.unquantized += small;
            }
            Mixer::Mamba | Mixer::LinearAttention => {
                let (linear, small) = state_space_params(config);
                count.linear += linear;
                count.unquantized += small;
            }
            Mixer::None => {}
        }
        match layer.mlp {
            Mlp::Dense { width, gated } => {
                count.linear += h * width as u128 * if gated { 3 } else { 2 };
            }
            Mlp::Experts => {
                if let Some(moe) = config.moe {
                    let e = moe.experts as u128;
                    let w = moe.expert_width as u128;
                    let projections = if moe.gated { 3 } else { 2 };
                    let expert_h = moe.latent.map_or(h, |l| l as u128);
                    count.experts +=
                        e * projections * expert_h * w + moe.shared_width as u128 * projections * h;
                    if let Some(latent) = moe.latent {
                        count.linear += 2 * h * latent as u128;
                    }
                    count.unquantized += h * e; // router
                    if moe.router_bias {
                        count.unquantized += e;
                    }
                    if moe.shared_gate {
                        count.unquantized += h;
                    }
                    if moe.biased {
                        count.unquantized += e * (2 * w + h) + e;
                    }
                }
            }
            Mlp::None => {}
        }
    }
    count
}

/// The part of `count_params` every tensor-parallel rank holds whole rather than a slice of: MoE
/// routers (`ReplicatedLinear` / `GateLinear`), and in MLA the down-projections to the q and kv
/// latents (`q_a_proj`, `kv_a_proj_with_mqa`, fused with `disable_tp=True`) and the sparse-attention
/// indexer's projections (`wq_b`, `wk_weights_proj`), all in
/// `vllm/model_executor/models/deepseek_v2.py`.
pub fn replicated_params(config: &ModelConfig) -> ParamCount {
    let h = config.hidden_size as u128;
    let mut count = ParamCount::default();
    for layer in &config.layers {
        if let (Mixer::Attention(_), Some(mla)) = (layer.mixer, config.mla) {
            let latents = mla.kv_lora_rank + mla.qk_rope_head_dim + mla.q_lora_rank.unwrap_or(0);
            count.linear += h * latents as u128;
            if let Some(indexer) = mla.indexer {
                let (query, keys_and_weights) = indexer_projections(&mla, indexer, h);
                count.linear += query;
                count.unquantized += keys_and_weights;
            }
        }
        if let (Mlp::Experts, Some(moe)) = (layer.mlp, config.moe) {
            count.unquantized += h * moe.experts as u128;
        }
    }
    count
}

/// The sparse-attention indexer's projections: (its query projection from the q latent, quantized
/// with the model; its key and per-head weight projections, one unquantized linear
/// `wk_weights_proj`) (`Indexer` in `vllm/model_executor/models/deepseek_v2.py`).
fn indexer_projections(mla: &Mla, indexer: Indexer, h: u128) -> (u128, u128) {
    let dim = indexer.head_dim as u128;
    let q_rank = mla.q_lora_rank.map_or(h, u128::from);
    (
        q_rank * indexer.heads as u128 * dim,
        h * (dim + indexer.heads as u128),
    )
}

/// (linear weights, small tensors such as biases and q/k norms) of one attention layer.
fn attention_params(config: &ModelConfig, shape: AttentionShape) -> (u128, u128) {
    let h = config.hidden_size as u128;
    let heads = config.num_attention_heads as u128;
    if let Some(mla) = config.mla {
        let qk = (mla.qk_nope_head_dim + mla.qk_rope_head_dim) as u128;
        let kv_lora = mla.kv_lora_rank as u128;
        let q = match mla.q_lora_rank {
            Some(r) => h * r as u128 + r as u128 * heads * qk,
            None => h * heads * qk,
        };
        let kv = h * (kv_lora + mla.qk_rope_head_dim as u128)
            + kv_lora * heads * (mla.qk_nope_head_dim + mla.v_head_dim) as u128;
        let out = heads * mla.v_head_dim as u128 * h;
        let norms = kv_lora + mla.q_lora_rank.unwrap_or(0) as u128;
        let (indexer_linear, indexer_small) = mla.indexer.map_or((0, 0), |indexer| {
            let (query, keys_and_weights) = indexer_projections(&mla, indexer, h);
            // Plus the LayerNorm on its keys.
            (query, keys_and_weights + 2 * indexer.head_dim as u128)
        });
        return (q + kv + out + indexer_linear, norms + indexer_small);
    }
    let d = shape.head_dim as u128;
    let kv = shape.kv_heads as u128;
    let q_width = heads * d * if config.gated_attention { 2 } else { 1 };
    let linear = h * q_width + 2 * h * kv * d + heads * d * h;
    let mut small = 0;
    if config.qkv_bias {
        small += (heads + 2 * kv) * d;
    }
    if config.output_bias {
        small += h;
    }
    if config.qk_norm {
        small += 2 * d;
    }
    if config.attention_sinks {
        small += heads;
    }
    (linear, small)
}

/// (linear weights, small tensors) of one Mamba / Gated DeltaNet layer.
fn state_space_params(config: &ModelConfig) -> (u128, u128) {
    let h = config.hidden_size as u128;
    match config.state_space {
        Some(StateSpace::Mamba1 {
            inner,
            d_state,
            d_conv,
            dt_rank,
        }) => {
            let (i, s, c, r) = (
                inner as u128,
                d_state as u128,
                d_conv as u128,
                dt_rank as u128,
            );
            let linear = h * 2 * i + i * (r + 2 * s) + r * i + i * h;
            // conv weights + bias, dt bias, A_log, D, Jamba's inner layernorms
            let small = i * c + i + i + i * s + i + r + 2 * s;
            (linear, small)
        }
        Some(StateSpace::Mamba2 {
            heads,
            head_dim,
            groups,
            d_state,
            d_conv,
        }) => {
            let i = (heads * head_dim) as u128;
            let gs = (groups * d_state) as u128;
            let nh = heads as u128;
            let linear = h * (2 * i + 2 * gs + nh) + i * h;
            let small = (i + 2 * gs) * (d_conv as u128 + 1) + 3 * nh + i;
            (linear, small)
        }
        Some(StateSpace::GatedDeltaNet {
            key_heads,
            key_dim,
            value_heads,
            value_dim,
            conv,
        }) => {
            let k = (key_heads * key_dim) as u128;
            let vv = (value_heads * value_dim) as u128;
            let nv = value_heads as u128;
            let linear = h * (2 * k + 2 * vv) + h * 2 * nv + vv * h;
            let small = (2 * k + vv) * conv as u128 + 2 * nv + value_dim as u128;
            (linear, small)
        }
        None => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_3_1_8b_matches_the_published_count() {
        let config = ModelConfig::from_json_text(
            r#"{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":4096,
            "intermediate_size":14336,"num_attention_heads":32,"num_key_value_heads":8,
            "num_hidden_layers":32,"vocab_size":128256,"tie_word_embeddings":false,
            "max_position_embeddings":131072,"torch_dtype":"bfloat16"}"#,
        )
        .unwrap();
        assert_eq!(count_params(&config).total(), 8_030_261_248);
    }

    #[test]
    fn glm_5_1_replicates_its_latent_and_indexer_projections_and_routers() {
        let config =
            ModelConfig::from_json_text(include_str!("../../fixtures/models/glm-5.1/config.json"))
                .unwrap();
        // Per layer, H = 6,144: latents 6,144 × (2,048 + 512 + 64) = 16,121,856 and the indexer's
        // query 2,048 × 32 × 128 = 8,388,608, quantizable; its key and head weights 6,144 × (128 +
        // 32) = 983,040 and, on the 75 MoE layers after `first_k_dense_replace` 3, the router
        // 6,144 × 256 = 1,572,864, unquantized.
        let replicated = replicated_params(&config);
        assert_eq!(replicated.linear, 78 * (16_121_856 + 8_388_608));
        assert_eq!(replicated.unquantized, 78 * 983_040 + 75 * 1_572_864);
        assert_eq!(replicated.experts, 0);
    }

    #[test]
    fn gemma_4_full_attention_layers_have_their_own_heads_and_the_mlp_runs_beside_the_experts() {
        let config = ModelConfig::from_json_text(include_str!(
            "../../fixtures/models/gemma-4-26b-a4b/config.json"
        ))
        .unwrap();
        let count = count_params(&config);
        // H = 2,816, 16 query heads. 25 sliding layers: qkv 2,816 × (16 + 8 + 8) × 256 and o
        // 16 × 256 × 2,816 = 34,603,008; 5 full layers: qkv 2,816 × (16 + 2 + 2) × 512 (keys loaded
        // into the V slots too) and o 16 × 512 × 2,816 = 51,904,512.
        assert_eq!(count.linear, 25 * 34_603_008 + 5 * 51_904_512);
        // 30 layers of 128 experts 3 × 2,816 × 704 = 761,266,176, plus the dense MLP beside them
        // 3 × 2,816 × 2,112 = 17,842,176.
        assert_eq!(count.experts, 30 * (761_266_176 + 17_842_176));
    }

    #[test]
    fn dense_models_replicate_nothing() {
        let config = ModelConfig::from_json_text(include_str!(
            "../../fixtures/models/llama-3.1-8b/config.json"
        ))
        .unwrap();
        assert_eq!(replicated_params(&config), ParamCount::default());
    }

    #[test]
    fn qwen_v1_counts_each_mlp_projection_at_half_the_stated_width() {
        // Qwen-7B's config.json; vLLM's qwen.py builds w1/w2 at intermediate_size // 2 = 11008.
        let config = ModelConfig::from_json_text(
            r#"{"architectures":["QWenLMHeadModel"],"model_type":"qwen","hidden_size":4096,
            "intermediate_size":22016,"num_attention_heads":32,"num_hidden_layers":32,
            "vocab_size":151936,"kv_channels":128,"seq_length":8192,
            "max_position_embeddings":32768,"no_bias":true,"tie_word_embeddings":false}"#,
        )
        .unwrap();
        let embeddings: u128 = 2 * 151_936 * 4096;
        let c_attn: u128 = 4096 * 3 * 4096 + 3 * 4096; // fused q, k, v with bias
        let c_proj: u128 = 4096 * 4096;
        let mlp: u128 = 2 * 4096 * 11_008 + 11_008 * 4096; // w1, w2, c_proj
        let norms: u128 = 2 * 4096;
        let expected = embeddings + 32 * (c_attn + c_proj + mlp + norms) + 4096;
        assert_eq!(expected, 7_721_324_544);
        assert_eq!(count_params(&config).total(), expected);
    }

    #[test]
    fn nemotron_h_experts_are_not_gated() {
        // NVIDIA-Nemotron-3-Nano-30B-A3B (fixtures/models/nemotron-3-nano-30b-a3b); vLLM's
        // nemotron_h.py: experts `is_act_and_mul=False` (up, down), the shared expert a plain MLP
        // at moe_shared_expert_intermediate_size, a router with an fp32 correction bias.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/models/nemotron-3-nano-30b-a3b/config.json"
        ))
        .unwrap();
        let config = ModelConfig::from_json_text(&text).unwrap();
        let (h, vocab) = (2688u128, 131_072u128);
        let (mamba_layers, attention_layers, moe_layers) = (23u128, 6u128, 23u128);
        let mamba_inner = 64 * 64;
        let conv_channels = mamba_inner + 2 * 8 * 128;
        let mamba = h * (2 * mamba_inner + 2 * 8 * 128 + 64) // in_proj: z, x, B, C, dt
            + conv_channels * 4 + conv_channels // conv1d weight and bias
            + 3 * 64 // A_log, D, dt_bias
            + mamba_inner // gated norm
            + mamba_inner * h; // out_proj
        let attention = h * 32 * 128 + 2 * h * 2 * 128 + 32 * 128 * h;
        let moe = 128 * 2 * h * 1856 + 2 * h * 3712 + h * 128 + 128;
        let expected = 2 * vocab * h
            + h // final norm
            + 52 * h // one norm per block
            + mamba_layers * mamba
            + attention_layers * attention
            + moe_layers * moe;
        assert_eq!(expected, 31_577_940_288); // the model card's 31.6 B
        assert_eq!(count_params(&config).total(), expected);
    }
}
