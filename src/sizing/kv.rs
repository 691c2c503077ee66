//! The KV cache as vLLM V1 lays it out (`vllm/v1/kv_cache_interface.py`,
//! `vllm/v1/core/kv_cache_utils.py`; explained in `docs/sizing-model.md` §KV cache):
//! a page per layer and block, layers grouped by spec, one block pool shared by every group.

use std::collections::BTreeMap;

use super::config::{Indexer, Mixer, Mla, ModelConfig, StateSpace, Window};

/// vLLM's `CacheConfig.DEFAULT_BLOCK_SIZE`.
pub const DEFAULT_BLOCK_SIZE: u64 = 16;
const SPARSE_INDEXER_BLOCK_SIZE: u64 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SpecKind {
    Full,
    Sliding(u64),
    ChunkedLocal(u64),
    /// Mamba / linear-attention state: one page per running sequence.
    State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LayerSpec {
    kind: SpecKind,
    block_size: u64,
    page_bytes: u64,
}

/// How the pool is shared, which decides both the pool size in blocks and a request's need.
#[derive(Debug, Clone)]
enum Layout {
    /// Every layer identical: memory split evenly, each block id costs one page per layer.
    Uniform { spec: LayerSpec, layers: u64 },
    /// Full attention everywhere but pages of different sizes (`UniformTypeKVCacheSpecs`).
    UniformType { block_size: u64, page_sum: u64 },
    /// Hybrid: pages unified, layers of each type cut into groups of `group_size`.
    Hybrid {
        group_size: u64,
        page_bytes: u64,
        groups: Vec<LayerSpec>,
    },
}

#[derive(Debug, Clone)]
pub struct KvPlan {
    layout: Layout,
    /// Attention KV bytes per token on one GPU, summed over its layers.
    pub bytes_per_token: u64,
    /// Mamba / linear-attention state per sequence on one GPU (before page padding).
    pub state_bytes_per_sequence: u64,
    /// Attention block size after MLA / hybrid adjustments.
    pub block_size: u64,
}

pub struct KvInputs {
    pub tensor_parallel_size: u64,
    pub kv_dtype_bytes: u64,
    /// Mamba/GDN state dtype bytes (the model's dtype; vLLM's `mamba_cache_dtype` auto).
    pub state_dtype_bytes: u64,
    /// Block size the attention backend forces for MLA (FlashMLA 64 on Hopper, CUTLASS 128 on Blackwell).
    pub mla_block_size: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnsupportedLayout(String);

impl KvPlan {
    pub fn new(config: &ModelConfig, inputs: &KvInputs) -> Result<KvPlan, UnsupportedLayout> {
        // The block size follows the full-attention layers' bytes per token (hybrid state pages
        // are grown to it); layers of another shape get their own page (`layer_specs`).
        let attention_per_token = attention_bytes_per_token(config, inputs, Window::Full);
        let state_bytes = state_bytes_per_rank(
            config,
            inputs.tensor_parallel_size,
            inputs.state_dtype_bytes,
        );
        let has_state = config
            .layers
            .iter()
            .any(|l| matches!(l.mixer, Mixer::Mamba | Mixer::LinearAttention));
        let block_size =
            attention_block_size(config, inputs, has_state, state_bytes, attention_per_token);
        let attention_page = block_size * attention_per_token;
        let specs = layer_specs(config, inputs, block_size, attention_page, state_bytes);

        let Some(first) = specs.first().copied() else {
            return Err(UnsupportedLayout(
                "the model has no attention or state layers, so it has no KV cache to size".into(),
            ));
        };
        let layout = if specs.iter().all(|s| *s == first) {
            Layout::Uniform {
                spec: first,
                layers: specs.len() as u64,
            }
        } else if specs.iter().all(|s| s.kind == SpecKind::Full) {
            let page_sum = specs.iter().map(|s| s.page_bytes).sum();
            Layout::UniformType {
                block_size,
                page_sum,
            }
        } else {
            hybrid_layout(&specs)?
        };

        let attention_layers = specs.iter().filter(|s| s.kind != SpecKind::State).count() as u64;
        Ok(KvPlan {
            layout,
            bytes_per_token: config
                .layers
                .iter()
                .filter_map(|layer| match layer.mixer {
                    Mixer::Attention(window) => {
                        Some(attention_bytes_per_token(config, inputs, window))
                    }
                    _ => None,
                })
                .sum(),
            state_bytes_per_sequence: if has_state {
                state_bytes * (specs.len() as u64 - attention_layers)
            } else {
                0
            },
            block_size,
        })
    }

    /// Bytes the pool spends per block id.
    pub fn bytes_per_block(&self) -> u64 {
        match &self.layout {
            Layout::Uniform { spec, layers } => spec.page_bytes * layers,
            Layout::UniformType { page_sum, .. } => *page_sum,
            Layout::Hybrid {
                group_size,
                page_bytes,
                ..
            } => group_size * page_bytes,
        }
    }

    pub fn num_blocks(&self, available_bytes: i64) -> u64 {
        if available_bytes <= 0 {
            return 0;
        }
        available_bytes as u64 / self.bytes_per_block()
    }

    /// Blocks one request of `max_model_len` tokens holds (`get_max_concurrency_for_kv_cache_config`).
    pub fn blocks_per_request(&self, max_model_len: u64, max_num_batched_tokens: u64) -> u64 {
        let need = |spec: &LayerSpec| -> u64 {
            let bs = spec.block_size;
            match spec.kind {
                SpecKind::Full => max_model_len.div_ceil(bs),
                SpecKind::Sliding(window) => {
                    (window.saturating_sub(1) + max_num_batched_tokens)
                        .min(max_model_len)
                        .div_ceil(bs)
                        + 1
                }
                SpecKind::ChunkedLocal(chunk) => (chunk + max_num_batched_tokens)
                    .min(max_model_len)
                    .div_ceil(bs),
                SpecKind::State => 1,
            }
        };
        match &self.layout {
            Layout::Uniform { spec, .. } => need(spec),
            Layout::UniformType { block_size, .. } => max_model_len.div_ceil(*block_size),
            Layout::Hybrid { groups, .. } => groups.iter().map(need).sum(),
        }
    }

    /// What vLLM logs as `GPU KV cache size: N tokens`. Until 0.19 it was
    /// `num_blocks // groups × smallest block size`; since vllm-project/vllm#40694 (April 2026, in 0.20)
    /// it is `max_concurrency × max_model_len`. The two agree when every layer is full attention.
    pub fn kv_tokens(
        &self,
        num_blocks: u64,
        max_model_len: u64,
        max_num_batched_tokens: u64,
        from_concurrency: bool,
    ) -> u64 {
        let (groups, smallest_block) = match &self.layout {
            Layout::Uniform { spec, .. } => (1, spec.block_size),
            Layout::UniformType { block_size, .. } => (1, *block_size),
            Layout::Hybrid { groups, .. } => (
                groups.len() as u64,
                groups
                    .iter()
                    .map(|g| g.block_size)
                    .min()
                    .unwrap_or(DEFAULT_BLOCK_SIZE),
            ),
        };
        if from_concurrency {
            let per_request = self.blocks_per_request(max_model_len, max_num_batched_tokens);
            (num_blocks as f64 / per_request as f64 * max_model_len as f64) as u64
        } else {
            num_blocks / groups * smallest_block
        }
    }

    pub fn has_state(&self) -> bool {
        self.state_bytes_per_sequence > 0
    }
}

/// Attention bytes per token per layer on one rank.
fn attention_bytes_per_token(config: &ModelConfig, inputs: &KvInputs, window: Window) -> u64 {
    match config.mla {
        // MLA decodes as MQA over the compressed latent: one "head", never split by TP.
        Some(mla) => match mla.indexer {
            None => (mla.kv_lora_rank + mla.qk_rope_head_dim) * inputs.kv_dtype_bytes,
            Some(indexer) => sparse_mla_bytes_per_token(&mla, indexer, inputs.kv_dtype_bytes),
        },
        None => {
            let shape = config.attention_shape(window);
            let heads = (shape.kv_heads / inputs.tensor_parallel_size).max(1);
            2 * heads * shape.head_dim * inputs.kv_dtype_bytes
        }
    }
}

/// DeepSeek sparse attention: the latent cache plus the indexer's key cache, both per layer with
/// the same block size. In fp8 the latent is vLLM's `fp8_ds_mla` layout, an fp32 scale per 128
/// values and the rotary part kept in 16 bits (656 bytes for DeepSeek-V3.2,
/// `MLAAttentionSpec.real_page_size_bytes` in `vllm/v1/kv_cache_interface.py`); the indexer keys
/// are always fp8 with an fp32 scale per 128 (`DeepseekV32IndexerCache` in
/// `vllm/model_executor/models/deepseek_v2.py`).
fn sparse_mla_bytes_per_token(mla: &Mla, indexer: Indexer, kv_dtype_bytes: u64) -> u64 {
    const SCALE_GROUP: u64 = 128;
    let latent = if kv_dtype_bytes == 1 {
        mla.kv_lora_rank + mla.kv_lora_rank / SCALE_GROUP * 4 + mla.qk_rope_head_dim * 2
    } else {
        (mla.kv_lora_rank + mla.qk_rope_head_dim) * kv_dtype_bytes
    };
    latent + indexer.head_dim + indexer.head_dim / SCALE_GROUP * 4
}

/// Tokens per attention block: the MLA backend's size or vLLM's default, grown for hybrid models.
fn attention_block_size(
    config: &ModelConfig,
    inputs: &KvInputs,
    has_state: bool,
    state_bytes: u64,
    attention_per_token: u64,
) -> u64 {
    if has_state && attention_per_token > 0 {
        // HybridAttentionMambaModelConfig: grow the attention block until its page holds the state.
        return DEFAULT_BLOCK_SIZE
            * state_bytes
                .div_ceil(DEFAULT_BLOCK_SIZE * attention_per_token)
                .max(1);
    }
    if config.mla.is_some_and(|mla| mla.indexer.is_some()) {
        // The indexer's kernels take 64-token blocks only (`DeepseekV32IndexerBackend`,
        // `vllm/v1/attention/backends/mla/indexer.py`), and vLLM sets every block to that.
        SPARSE_INDEXER_BLOCK_SIZE
    } else if config.mla.is_some() {
        inputs.mla_block_size
    } else {
        DEFAULT_BLOCK_SIZE
    }
}

/// One spec per layer that holds KV or state (MLP-only layers hold none); state pages are at least
/// as large as an attention page.
fn layer_specs(
    config: &ModelConfig,
    inputs: &KvInputs,
    block_size: u64,
    attention_page: u64,
    state_bytes: u64,
) -> Vec<LayerSpec> {
    config
        .layers
        .iter()
        .filter_map(|layer| {
            let kind = match layer.mixer {
                Mixer::Attention(Window::Full) => SpecKind::Full,
                Mixer::Attention(Window::Sliding(w)) => SpecKind::Sliding(w),
                Mixer::Attention(Window::ChunkedLocal(c)) => SpecKind::ChunkedLocal(c),
                Mixer::Mamba | Mixer::LinearAttention => SpecKind::State,
                Mixer::None => return None,
            };
            let page_bytes = match layer.mixer {
                // Each attention layer's own shape (Gemma 4's full layers differ from its sliding ones).
                Mixer::Attention(window) => {
                    block_size * attention_bytes_per_token(config, inputs, window)
                }
                _ => attention_page.max(state_bytes),
            };
            Some(LayerSpec {
                kind,
                block_size,
                page_bytes,
            })
        })
        .collect()
}

/// Hybrid: every page must have one size (vLLM grows block sizes to get there), then the layers of
/// each type are cut into groups of one size.
fn hybrid_layout(specs: &[LayerSpec]) -> Result<Layout, UnsupportedLayout> {
    let page_bytes = specs.iter().map(|s| s.page_bytes).max().unwrap_or(0);
    if specs.iter().any(|s| page_bytes % s.page_bytes != 0) {
        return Err(UnsupportedLayout(
            "the layers' KV pages cannot be unified to one size, which vLLM also refuses".into(),
        ));
    }
    let mut per_type: BTreeMap<SpecKind, (LayerSpec, u64)> = BTreeMap::new();
    for spec in specs {
        let unified = LayerSpec {
            block_size: spec.block_size * (page_bytes / spec.page_bytes),
            page_bytes,
            ..*spec
        };
        per_type.entry(spec.kind).or_insert((unified, 0)).1 += 1;
    }
    let min = per_type.values().map(|(_, n)| *n).min().unwrap_or(1);
    let max = per_type.values().map(|(_, n)| *n).max().unwrap_or(1);
    // _get_kv_cache_groups_uniform_page_size: avoid padding when the counts are close.
    let group_size = if (max as f64) < 1.5 * min as f64 {
        max
    } else {
        min
    };
    let groups = per_type
        .values()
        .flat_map(|(spec, n)| std::iter::repeat_n(*spec, n.div_ceil(group_size) as usize))
        .collect();
    Ok(Layout::Hybrid {
        group_size,
        page_bytes,
        groups,
    })
}

/// Bytes of Mamba / Gated DeltaNet state one sequence holds in one layer on one rank
/// (`vllm/model_executor/layers/mamba/mamba_utils.py`).
fn state_bytes_per_rank(config: &ModelConfig, tp: u64, dtype_bytes: u64) -> u64 {
    let elements = match config.state_space {
        Some(StateSpace::Mamba1 {
            inner,
            d_state,
            d_conv,
            ..
        }) => {
            let i = inner / tp;
            i * (d_conv - 1) + i * d_state
        }
        Some(StateSpace::Mamba2 {
            heads,
            head_dim,
            groups,
            d_state,
            d_conv,
        }) => {
            let groups = groups.div_ceil(tp) * tp; // n_groups padded up to a multiple of TP
            let conv = (heads * head_dim + 2 * groups * d_state) / tp * (d_conv - 1);
            let ssm = heads / tp * head_dim * d_state;
            conv + ssm
        }
        Some(StateSpace::GatedDeltaNet {
            key_heads,
            key_dim,
            value_heads,
            value_dim,
            conv,
        }) => {
            let conv_state = (2 * key_heads * key_dim + value_heads * value_dim) / tp * (conv - 1);
            let recurrent = value_heads / tp * value_dim * key_dim;
            conv_state + recurrent
        }
        None => 0,
    };
    elements * dtype_bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glm_5_1_plan(kv_dtype_bytes: u64, mla_block_size: u64) -> KvPlan {
        let config =
            ModelConfig::from_json_text(include_str!("../../fixtures/models/glm-5.1/config.json"))
                .unwrap();
        let inputs = KvInputs {
            tensor_parallel_size: 8,
            kv_dtype_bytes,
            state_dtype_bytes: 2,
            mla_block_size,
        };
        KvPlan::new(&config, &inputs).unwrap()
    }

    #[test]
    fn gemma_4_full_attention_pages_use_the_global_heads() {
        let config = ModelConfig::from_json_text(include_str!(
            "../../fixtures/models/gemma-4-26b-a4b/config.json"
        ))
        .unwrap();
        let inputs = KvInputs {
            tensor_parallel_size: 1,
            kv_dtype_bytes: 2,
            state_dtype_bytes: 2,
            mla_block_size: 16,
        };
        let plan = KvPlan::new(&config, &inputs).unwrap();
        // 25 sliding layers of 2 × 8 heads × 256 × 2 bytes = 8,192 and 5 full layers of
        // 2 × 2 heads × 512 × 2 bytes = 4,096 bytes per token.
        assert_eq!(plan.bytes_per_token, 25 * 8_192 + 5 * 4_096);
    }

    #[test]
    fn sparse_attention_adds_the_indexer_keys_to_every_layer() {
        // 78 layers × 64-token blocks. bf16: latent (512 + 64) × 2 = 1,152 bytes and indexer keys
        // 128 + 128 / 128 × 4 = 132 bytes per token; fp8 (`fp8_ds_mla`): 512 + 4 × 4 + 64 × 2 = 656.
        let bf16 = glm_5_1_plan(2, 128);
        assert_eq!(bf16.block_size, 64, "the indexer's block size wins");
        assert_eq!(bf16.bytes_per_block(), 78 * 64 * (1_152 + 132));
        let fp8 = glm_5_1_plan(1, 64);
        assert_eq!(fp8.bytes_per_block(), 78 * 64 * (656 + 132));
    }
}
