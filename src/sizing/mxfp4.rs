//! mxfp4 experts (gpt-oss) as vLLM holds them, not as they are stored: the MoE kernel vLLM picks for
//! the GPU pads the expert widths (`mxfp4_round_up_hidden_size_and_intermediate_size`, in
//! `vllm/model_executor/layers/quantization/mxfp4.py`, from 0.20
//! `vllm/model_executor/layers/fused_moe/oracle/mxfp4.py`), and before 0.25 the Triton path kept the
//! checkpoint's scales beside its swizzled copy. Kernel choice by GPU, for gpt-oss
//! (`select_mxfp4_moe_backend`): FlashInfer TRT-LLM on Blackwell, Triton on Hopper (from 0.12),
//! Marlin below.

use super::config::ModelConfig;
use super::gpus::Generation;
use super::{ExpertPlacement, VllmVersion};

/// Bytes per mxfp4 element: 4 bits, and one e8m0 scale per 32 elements.
const MXFP4_BYTES_PER_ELEMENT: f64 = 0.5 + 1.0 / 32.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mxfp4Kernel {
    /// Ampere, Ada, Turing: the width padded to 128, the hidden size to 256.
    Marlin,
    /// Hopper: the width padded to 64; scales held twice before 0.25.
    Triton,
    /// Blackwell: width and hidden size padded to 256 (the width to 128 from 0.27).
    FlashinferTrtllm,
}

impl std::fmt::Display for Mxfp4Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mxfp4Kernel::Marlin => "Marlin",
            Mxfp4Kernel::Triton => "Triton",
            Mxfp4Kernel::FlashinferTrtllm => "FlashInfer TRT-LLM",
        })
    }
}

/// The kernel vLLM picks for mxfp4 experts on this GPU generation. Hopper used Marlin until 0.12
/// made the Triton kernels the default there (`get_mxfp4_backend`; vllm-project/vllm#23278 shows
/// 0.10.1 on an H100 loading gpt-oss-120b through Marlin).
pub fn kernel(generation: Generation, version: VllmVersion) -> Mxfp4Kernel {
    match generation {
        Generation::Blackwell => Mxfp4Kernel::FlashinferTrtllm,
        Generation::Hopper if version >= VllmVersion::new(0, 12) => Mxfp4Kernel::Triton,
        Generation::Hopper | Generation::Turing | Generation::Ampere | Generation::Ada => {
            Mxfp4Kernel::Marlin
        }
    }
}

fn round_up(value: u64, multiple: u64) -> u64 {
    value.div_ceil(multiple) * multiple
}

/// The Marlin kernel's expert width (per GPU) and hidden size, padded, when it runs this model's
/// mxfp4 experts: its per-call intermediate caches (`fused_marlin_moe.py`) are that wide.
pub fn marlin_padded_widths(
    config: &ModelConfig,
    generation: Generation,
    version: VllmVersion,
    placement: ExpertPlacement,
) -> Option<(u64, u64)> {
    let moe = config.moe?;
    if config.quantization.method.as_deref() != Some("mxfp4")
        || kernel(generation, version) != Mxfp4Kernel::Marlin
    {
        return None;
    }
    let width = moe.expert_width.div_ceil(placement.width_shards.max(1));
    Some((round_up(width, 128), round_up(config.hidden_size, 256)))
}

/// Bytes one GPU holds beyond the checkpoint's mxfp4 experts, and the kernel responsible; zero for
/// models without mxfp4 experts.
pub fn relayout_bytes(
    config: &ModelConfig,
    generation: Generation,
    version: VllmVersion,
    placement: ExpertPlacement,
) -> (u64, Option<Mxfp4Kernel>) {
    let Some(moe) = config.moe else {
        return (0, None);
    };
    if config.quantization.method.as_deref() != Some("mxfp4") {
        return (0, None);
    }
    let kernel = kernel(generation, version);
    let width = moe.expert_width.div_ceil(placement.width_shards.max(1));
    let hidden = config.hidden_size;
    let (padded_width, padded_hidden) = match kernel {
        Mxfp4Kernel::Marlin => (round_up(width, 128), round_up(hidden, 256)),
        Mxfp4Kernel::Triton => (round_up(width, 64), hidden),
        Mxfp4Kernel::FlashinferTrtllm if version >= VllmVersion::new(0, 27) => {
            (round_up(width, 128), round_up(hidden, 256))
        }
        Mxfp4Kernel::FlashinferTrtllm => (round_up(width, 256), round_up(hidden, 256)),
    };
    // Gate and up fused (2 × width) and down (width), each `hidden` wide, per expert and layer.
    let projections = if moe.gated { 3 } else { 2 };
    let expert_layers = config
        .layers
        .iter()
        .filter(|layer| layer.mlp == super::config::Mlp::Experts)
        .count() as f64;
    let elements = |w: u64, h: u64| {
        expert_layers * placement.experts_on_gpu as f64 * projections as f64 * (w * h) as f64
    };
    let padding =
        (elements(padded_width, padded_hidden) - elements(width, hidden)) * MXFP4_BYTES_PER_ELEMENT;
    let kept_scales = if kernel == Mxfp4Kernel::Triton && version < VllmVersion::new(0, 25) {
        elements(width, hidden) / 32.0
    } else {
        0.0
    };
    ((padding + kept_scales) as u64, Some(kernel))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpt_oss_20b() -> ModelConfig {
        ModelConfig::from_json_text(include_str!(
            "../../fixtures/models/gpt-oss-20b/config.json"
        ))
        .unwrap()
    }

    fn v(text: &str) -> VllmVersion {
        VllmVersion::parse(text).unwrap()
    }

    /// All 32 experts on every GPU, their width split `tp` ways.
    fn split(tp: u64) -> ExpertPlacement {
        ExpertPlacement {
            experts: 32,
            experts_on_gpu: 32,
            width_shards: tp,
        }
    }

    #[test]
    fn padding_and_kept_scales_by_kernel() {
        // gpt-oss-20b: 24 MoE layers of 32 experts, width and hidden size 2,880; gate+up and down
        // are 3 × 2,880 × 2,880 elements per expert, at 0.53125 bytes each.
        let config = gpt_oss_20b();
        let experts = 24 * 32 * 3;
        // Marlin: width to 2,944 (128), hidden to 3,072 (256).
        let marlin = relayout_bytes(&config, Generation::Ampere, v("0.19"), split(1));
        let padded = (experts * (2944 * 3072 - 2880 * 2880)) as f64 * 0.53125;
        assert_eq!(marlin, (padded as u64, Some(Mxfp4Kernel::Marlin)));
        // Triton: 2,880 is a multiple of 64, so only the second copy of the scales, until 0.25.
        let triton = relayout_bytes(&config, Generation::Hopper, v("0.19"), split(1));
        assert_eq!(triton.0, experts * 2880 * 2880 / 32);
        assert_eq!(
            relayout_bytes(&config, Generation::Hopper, v("0.25"), split(1)).0,
            0
        );
        // TRT-LLM: both to 3,072 until 0.26; from 0.27 the width to 2,944.
        let old = (experts * (3072 * 3072 - 2880 * 2880)) as f64 * 0.53125;
        let new = (experts * (2944 * 3072 - 2880 * 2880)) as f64 * 0.53125;
        assert_eq!(
            relayout_bytes(&config, Generation::Blackwell, v("0.26"), split(1)).0,
            old as u64
        );
        assert_eq!(
            relayout_bytes(&config, Generation::Blackwell, v("0.27"), split(1)).0,
            new as u64
        );
        // Tensor parallelism pads each GPU's share: 1,440 → 1,536 on Marlin.
        let tp2 = (experts * (1536 * 3072 - 1440 * 2880)) as f64 * 0.53125;
        assert_eq!(
            relayout_bytes(&config, Generation::Ampere, v("0.19"), split(2)).0,
            tp2 as u64
        );
    }

    #[test]
    fn other_models_are_untouched() {
        let llama = ModelConfig::from_json_text(include_str!(
            "../../fixtures/models/llama-3.1-8b/config.json"
        ))
        .unwrap();
        assert_eq!(
            relayout_bytes(&llama, Generation::Ampere, v("0.19"), split(1)),
            (0, None)
        );
    }
}
