//! The memory vLLM spends besides weights and KV cache, modelled per term with the constant and its
//! source. Sources are summarised in `docs/sizing-model.md` §Activation peak to §CUDA graphs.

use crate::units::GIB;

/// Peak activation of the profile run, in GiB, at `max_num_batched_tokens = 8192` on an H100, by
/// architecture. From llm-d-planner's `vllm_memory_constants.json`, calibrated on vLLM 0.19 (its
/// accuracy report: 49 runs, 28 models). Architectures sharing a modelling file share a figure.
const ACTIVATION_GIB_AT_8192: &[(&str, f64)] = &[
    ("LlamaForCausalLM", 1.89),
    ("MistralForCausalLM", 1.89), // same modelling code as Llama
    ("Qwen2ForCausalLM", 2.25),
    ("Qwen3ForCausalLM", 2.21),
    ("Mistral3ForConditionalGeneration", 2.10),
    ("DeepseekV2ForCausalLM", 1.93),
    ("DeepseekV3ForCausalLM", 1.93),
    ("GraniteForCausalLM", 0.85),
    ("LlavaNextForConditionalGeneration", 0.79),
    ("MixtralForCausalLM", 1.21),
    ("Phi3ForCausalLM", 1.52),
    ("Qwen2MoeForCausalLM", 2.47),
    ("Qwen3MoeForCausalLM", 2.68),
    ("Gemma2ForCausalLM", 3.65),
    ("Gemma3ForCausalLM", 3.94),
    ("Gemma3ForConditionalGeneration", 3.94),
    ("GemmaForCausalLM", 3.63),
    ("GptOssForCausalLM", 2.9),
];

/// llm-d-planner's fall-backs for architectures it did not measure.
const DEFAULT_DENSE_ACTIVATION_GIB: f64 = 2.0;
const DEFAULT_MOE_ACTIVATION_GIB: f64 = 2.5;
const CALIBRATION_TOKENS: f64 = 8192.0;

/// Non-torch memory (CUDA context, cuBLAS workspaces; NCCL and custom all-reduce buffers when
/// tensor-parallel), llm-d-planner: 0.27 GiB at TP=1, 2.10 GiB per GPU at TP≥2.
const NON_TORCH_GIB_SINGLE: f64 = 0.27;
const NON_TORCH_GIB_TENSOR_PARALLEL: f64 = 2.10;

/// The CUDA-graph pool vLLM estimates (and, from 0.21, subtracts before sizing the KV cache), as a
/// function of the decoder layers a GPU runs: `BASE + PER_LAYER × layers`. Fitted by least squares to
/// the 17 `Estimated CUDA graph memory` lines in `fixtures/vllm-logs/logs.json` (vLLM 0.19, H100,
/// 24–80 layers, TP 1–4, default capture sizes): median error 0.12 GiB, against 0.25 GiB for the
/// single 0.84 GiB figure used before; the worst is Llama-3.1-8B at TP 2 (vLLM estimated 1.69 GiB,
/// then captured 0.76). `docs/size-accuracy.md` lists the error per log.
const CUDA_GRAPH_BASE_GIB: f64 = 0.29;
const CUDA_GRAPH_PER_LAYER_GIB: f64 = 0.0176;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationSource {
    /// Measured for this architecture.
    Calibrated,
    /// The dense or MoE fall-back.
    Default,
}

pub fn activation_bytes(
    architecture: Option<&str>,
    is_moe: bool,
    max_num_batched_tokens: u64,
) -> (u64, ActivationSource) {
    let calibrated = architecture
        .and_then(|name| {
            ACTIVATION_GIB_AT_8192
                .iter()
                .find(|(arch, _)| *arch == name)
        })
        .map(|(_, gib)| *gib);
    let (gib, source) = match calibrated {
        Some(gib) => (gib, ActivationSource::Calibrated),
        None if is_moe => (DEFAULT_MOE_ACTIVATION_GIB, ActivationSource::Default),
        None => (DEFAULT_DENSE_ACTIVATION_GIB, ActivationSource::Default),
    };
    // V1 always chunks prefill, so the profile run's peak grows with the tokens in one step.
    let scaled = gib * GIB * max_num_batched_tokens as f64 / CALIBRATION_TOKENS;
    (scaled as u64, source)
}

pub fn non_torch_bytes(tensor_parallel_size: u64) -> u64 {
    let gib = if tensor_parallel_size > 1 {
        NON_TORCH_GIB_TENSOR_PARALLEL
    } else {
        NON_TORCH_GIB_SINGLE
    };
    (gib * GIB) as u64
}

pub fn cuda_graph_bytes(num_layers: u64, enforce_eager: bool) -> u64 {
    if enforce_eager {
        0
    } else {
        ((CUDA_GRAPH_BASE_GIB + CUDA_GRAPH_PER_LAYER_GIB * num_layers as f64) * GIB) as u64
    }
}
