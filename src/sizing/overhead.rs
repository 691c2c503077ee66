//! The memory vLLM spends besides weights and KV cache, modelled per term from the model's shape,
//! with each fitted constant named beside its source. `docs/sizing-model.md` §Activation peak to
//! §CUDA graphs gives the formulas and their error per log.

use crate::units::GIB;

/// How many float32 copies of the sampled logits (`max_num_seqs × vocab`) the profile run's sampler
/// holds at its peak (the logits in the model dtype, then float32 logits, probabilities and the
/// sorted values and indices of top-k/top-p). Least-squares fit to the `torch peak memory increase`
/// of the 15 text-only vLLM 0.19 logs in `fixtures/vllm-logs/logs.json` that print it (median of the
/// per-log ratios 3.68–3.77; 8 models,
/// vocabularies of 128K–256K, hidden 2,880–8,192, TP 1–4, bf16 and quantized): every one within
/// 0.06 GiB (Gemma 2, whose 256K vocabulary makes the sampler 94 % of the peak, is the worst). TP does not split it: vLLM gathers the full vocabulary before sampling.
const SAMPLER_LOGIT_COPIES: f64 = 3.73;

/// The same before vLLM 0.17, whose top-k/top-p sorted the whole vocabulary in PyTorch (float32
/// values and int64 indices, their radix-sort buffers, the softmax and cumulative sum of the sorted
/// values, and a scattered copy): the four logs that print it, implied by `Available KV cache memory`
/// less the weights, give 9.37 (Qwen3-14B, 0.16), 9.39 (gpt-oss-120b, 0.10.1), 9.39 (gpt-oss-20b,
/// 0.11) and 9.58 (gpt-oss-120b, 0.11, 1,024 batched tokens) copies; the median is 9.39.
const SAMPLER_LOGIT_COPIES_SORTED: f64 = 9.39;

/// A multimodal model's profile run also runs its encoder on a dummy image batch; the two Gemma 3
/// logs (12B and 27B, same SigLIP tower) peak 0.16 and 0.18 GiB above the text-only formula.
const MULTIMODAL_ENCODER_GIB: f64 = 0.18;

/// What the profile run keeps alive at its peak, on one GPU.
#[derive(Debug, Clone, Copy)]
pub struct ActivationInputs {
    pub hidden_size: u64,
    pub vocab_size: u64,
    /// Bytes per element of activations (the serving dtype).
    pub activation_dtype_bytes: u64,
    pub max_num_batched_tokens: u64,
    pub max_num_seqs: u64,
    /// GPUs each expert's width is split over (the tensor-parallel size, 1 with expert parallelism).
    pub expert_width_shards: u64,
    /// The sampler sorts the vocabulary for top-k/top-p (vLLM before 0.17).
    pub sorts_vocabulary: bool,
    /// The fused-MoE kernels' workspace, `None` for dense models and kernels without one.
    pub experts: Option<ExpertWorkspace>,
    /// MoE caches allocated per call (widths already per GPU), `None` when the kernel has none.
    pub transient_experts: Option<ExpertWorkspace>,
    pub multimodal: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct ExpertWorkspace {
    pub experts_per_token: u64,
    /// Width of one expert's MLP, before tensor parallelism splits it.
    pub expert_width: u64,
    /// Width the experts read and write (the hidden size, or a latent width).
    pub io_width: u64,
    /// Gate and up projections fused (SwiGLU) rather than up only.
    pub gated: bool,
}

/// The profile run's peak, term by term (`GPUModelRunner.profile_run` in
/// `vllm/v1/worker/gpu_model_runner.py`: a forward pass of `max_num_batched_tokens` tokens, then a
/// dummy sampler run on `max_num_seqs` rows while the hidden states are still held).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivationPeak {
    /// The forward pass's output, `batched tokens × hidden`, alive during sampling.
    pub hidden_states_bytes: u64,
    /// The sampler's logits and their float32 copies.
    pub sampler_bytes: u64,
    /// Fused-MoE workspaces, which vLLM keeps between calls.
    pub moe_workspace_bytes: u64,
    /// MoE caches allocated per call and freed before sampling (Marlin's, for mxfp4 experts): they
    /// peak in the forward pass, so only the larger of them and the sampler counts.
    pub transient_moe_bytes: u64,
    pub encoder_bytes: u64,
}

impl ActivationPeak {
    pub fn total(&self) -> u64 {
        self.hidden_states_bytes
            + self.sampler_bytes.max(self.transient_moe_bytes)
            + self.moe_workspace_bytes
            + self.encoder_bytes
    }
}

pub fn activation_peak(inputs: &ActivationInputs) -> ActivationPeak {
    let tokens = inputs.max_num_batched_tokens;
    let sampled_rows = inputs.max_num_seqs.min(tokens);
    let logits = sampled_rows as f64 * inputs.vocab_size as f64 * 4.0;
    let kept_workspace = inputs.experts.map_or(0, |experts| {
        moe_workspace_bytes(&experts, inputs.expert_width_shards, tokens)
            * inputs.activation_dtype_bytes
    });
    ActivationPeak {
        hidden_states_bytes: tokens * inputs.hidden_size * inputs.activation_dtype_bytes,
        sampler_bytes: (logits
            * if inputs.sorts_vocabulary {
                SAMPLER_LOGIT_COPIES_SORTED
            } else {
                SAMPLER_LOGIT_COPIES
            }) as u64,
        moe_workspace_bytes: kept_workspace,
        transient_moe_bytes: inputs.transient_experts.map_or(0, |experts| {
            moe_workspace_bytes(&experts, 1, tokens) * inputs.activation_dtype_bytes
        }),
        encoder_bytes: if inputs.multimodal {
            (MULTIMODAL_ENCODER_GIB * GIB) as u64
        } else {
            0
        },
    }
}

/// Elements of the Triton fused-MoE workspaces (`TritonExperts.workspace_shapes` in
/// `vllm/model_executor/layers/fused_moe/fused_moe.py`): one of `tokens × top-k × max(N, K)` shared by
/// the first and last GEMM outputs, one of `tokens × top-k × N/2` for the activation, where `N` is
/// the first GEMM's width on this GPU and `K` the width the experts read. The modular kernel does
/// not chunk the batch, and a per-process workspace manager keeps the buffers (0.20 to 0.33).
fn moe_workspace_bytes(experts: &ExpertWorkspace, width_shards: u64, tokens: u64) -> u64 {
    let rows = tokens * experts.experts_per_token;
    let width = experts.expert_width.div_ceil(width_shards.max(1));
    let first_gemm = if experts.gated { 2 * width } else { width };
    let activated = if experts.gated {
        first_gemm / 2
    } else {
        first_gemm
    };
    rows * (first_gemm.max(experts.io_width) + activated)
}

/// Non-torch memory (CUDA context, cuBLAS workspaces; NCCL and custom all-reduce buffers when
/// tensor-parallel), llm-d-planner: 0.27 GiB at TP=1, 2.10 GiB per GPU at TP≥2 on H100s joined by
/// NVLink. Over PCIe alone vLLM's custom all-reduce is off for more than two GPUs and needs P2P
/// for two (`vllm/distributed/device_communicators/custom_all_reduce.py`), and NCCL opens few
/// channels, so the single-GPU figure is kept: the two-L4 logs (TP 2 14.38 GiB of KV cache, PP 2
/// 14.04 GiB, `fixtures/vllm-logs/logs.json`) leave no room for 1.8 GiB more per GPU.
const NON_TORCH_GIB_SINGLE: f64 = 0.27;
const NON_TORCH_GIB_TENSOR_PARALLEL: f64 = 2.10;

/// From vLLM 0.27 the profile charges everything the device lost since the worker started
/// (`total_consumed` from `mem_get_info`, `memory_profiling` in `vllm/utils/mem_utils.py`), which adds
/// what PyTorch's caching allocator still reserves but no tensor uses after the profile run. The ten
/// 0.27+ logs in `fixtures/vllm-logs/logs.json` (Qwen3-8B/14B/32B, bf16 and AWQ, L4, L40S, A10G, RTX
/// 5090) leave −1.11 to 1.72 GiB more than the rest of the model predicts; the median is 0.6 GiB.
const ALLOCATOR_RESERVE_GIB: f64 = 0.6;

/// Memory outside the weights, activations and graphs: the CUDA context and communication buffers,
/// and from vLLM 0.27 the allocator's reserve (`counts_allocator_reserve`).
pub fn non_torch_bytes(tensor_parallel_size: u64, nvlink: bool, allocator_reserve: bool) -> u64 {
    let gib = if tensor_parallel_size > 1 && nvlink {
        NON_TORCH_GIB_TENSOR_PARALLEL
    } else {
        NON_TORCH_GIB_SINGLE
    };
    let reserve = if allocator_reserve {
        ALLOCATOR_RESERVE_GIB
    } else {
        0.0
    };
    ((gib + reserve) * GIB) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(hidden_size: u64, vocab_size: u64, tp: u64) -> ActivationInputs {
        ActivationInputs {
            hidden_size,
            vocab_size,
            activation_dtype_bytes: 2,
            max_num_batched_tokens: 8192,
            max_num_seqs: 1024,
            expert_width_shards: tp,
            sorts_vocabulary: false,
            experts: None,
            transient_experts: None,
            multimodal: false,
        }
    }

    fn gib(bytes: u64) -> f64 {
        bytes as f64 / GIB
    }

    #[test]
    fn dense_peak_is_the_held_hidden_states_plus_the_sampler() {
        // Llama-3.1-8B at vLLM 0.19's H100 defaults: 8,192 × 4,096 bf16 hidden states (64 MiB) and
        // 1,024 × 128,256 float32 logits (501 MiB) held 3.73 times.
        let peak = activation_peak(&dense(4096, 128_256, 1));
        assert_eq!(peak.hidden_states_bytes, 8192 * 4096 * 2);
        assert_eq!(peak.sampler_bytes, (3.73 * 525_336_576.0) as u64);
        // vLLM logged a torch peak increase of 1.89 GiB for it, at TP 1, 2 and 4 alike.
        for tp in [1, 2, 4] {
            let total = gib(activation_peak(&dense(4096, 128_256, tp)).total());
            assert!((total - 1.89).abs() < 0.02, "TP {tp}: {total}");
        }
        // Gemma-2-27B (hidden 4,608, vocabulary 256,000): logged 3.66 GiB.
        let gemma = gib(activation_peak(&dense(4608, 256_000, 1)).total());
        assert!((gemma - 3.66).abs() < 0.06, "{gemma}");
    }

    #[test]
    fn before_0_17_the_sampler_holds_the_sorted_vocabulary_too() {
        // Qwen3-14B at vLLM 0.16's H100 defaults: 1,024 × 151,936 float32 logits (593 MiB) held
        // 9.39 times, 8,192 × 5,120 bf16 hidden states (80 MiB): 5.52 GiB, where 0.17 peaks at 2.19.
        let mut inputs = dense(5120, 151_936, 1);
        inputs.sorts_vocabulary = true;
        let peak = activation_peak(&inputs);
        assert_eq!(peak.sampler_bytes, (9.39 * 622_329_856.0) as u64);
        assert!(
            (gib(peak.total()) - 5.52).abs() < 0.01,
            "{}",
            gib(peak.total())
        );
    }

    #[test]
    fn per_call_moe_caches_count_only_when_larger_than_the_sampler() {
        // gpt-oss-120b's mxfp4 experts on Marlin (vLLM 0.11, H100): top-4, width 2,880 padded to
        // 2,944, hidden 2,880 padded to 3,072. At 8,192 tokens, 32,768 rows × (5,888 + 2,944) bf16
        // = 578,813,952 bytes (`fused_marlin_moe.py`: rows × max(2N, K) and rows × N).
        let mut inputs = dense(2880, 201_088, 1);
        inputs.sorts_vocabulary = true;
        inputs.max_num_seqs = 6;
        inputs.transient_experts = Some(ExpertWorkspace {
            experts_per_token: 4,
            expert_width: 2944,
            io_width: 3072,
            gated: true,
        });
        let peak = activation_peak(&inputs);
        assert_eq!(peak.transient_moe_bytes, 578_813_952);
        assert_eq!(peak.total(), 8192 * 2880 * 2 + 578_813_952);
        // With 1,024 sequences the sampler peaks higher, after the caches are freed.
        inputs.max_num_seqs = 1024;
        let peak = activation_peak(&inputs);
        assert!(peak.sampler_bytes > peak.transient_moe_bytes);
        assert_eq!(peak.total(), 8192 * 2880 * 2 + peak.sampler_bytes);
    }

    #[test]
    fn smaller_batches_shrink_the_sampler_not_only_the_tokens() {
        // The default on GPUs under 70 GiB: 2,048 tokens and 256 sequences.
        let mut inputs = dense(4096, 128_256, 1);
        inputs.max_num_batched_tokens = 2048;
        inputs.max_num_seqs = 256;
        let peak = activation_peak(&inputs);
        assert_eq!(peak.hidden_states_bytes, 2048 * 4096 * 2);
        assert_eq!(
            peak.sampler_bytes,
            (3.73 * (256 * 128_256 * 4) as f64) as u64
        );
        // Fewer sequences than tokens per step: never more rows than tokens.
        inputs.max_num_seqs = 4096;
        assert_eq!(
            activation_peak(&inputs).sampler_bytes,
            (3.73 * (2048 * 128_256 * 4) as f64) as u64
        );
    }

    #[test]
    fn fused_moe_workspace_follows_vllm_shapes() {
        // Mixtral-8x7B at TP 2: top-2 of experts 14,336 wide, split to 7,168 per GPU; the gate and
        // up GEMM writes 14,336 per row (wider than the 4,096 hidden), the activation 7,168.
        let mut inputs = dense(4096, 32_000, 2);
        inputs.experts = Some(ExpertWorkspace {
            experts_per_token: 2,
            expert_width: 14_336,
            io_width: 4096,
            gated: true,
        });
        let peak = activation_peak(&inputs);
        assert_eq!(peak.moe_workspace_bytes, 8192 * 2 * (14_336 + 7_168) * 2);
        // llm-d-planner measured 1.21 GiB for MixtralForCausalLM on vLLM 0.19.
        assert!(
            (gib(peak.total()) - 1.21).abs() < 0.1,
            "{}",
            gib(peak.total())
        );
        // Non-gated experts (squared ReLU): one GEMM as wide as the expert, an activation as wide.
        let narrow = ExpertWorkspace {
            experts_per_token: 6,
            expert_width: 1856,
            io_width: 1024,
            gated: false,
        };
        assert_eq!(
            moe_workspace_bytes(&narrow, 1, 8192),
            8192 * 6 * (1856 + 1856)
        );
        // No chunking: the workspace grows with the batch.
        assert_eq!(
            moe_workspace_bytes(&narrow, 1, 65_536),
            8 * moe_workspace_bytes(&narrow, 1, 8192)
        );
    }
}
