//! Block-FP8 checkpoints on GPUs without FP8 tensor cores (compute capability 7.5 to 8.9, Turing and
//! Ampere): vLLM serves them with Marlin's weight-only FP8 kernel, which reads group-wise scales. The
//! one float32 scale per `[rows × columns]` block becomes one 16-bit scale per output column for
//! each group of `columns` inputs (`prepare_fp8_layer_for_marlin`, `prepare_fp8_moe_layer_for_marlin`
//! in `vllm/model_executor/layers/quantization/utils/marlin_utils_fp8.py`; the kernel choice in
//! `vllm/model_executor/kernels/linear/scaled_mm/marlin.py`): 2/columns bytes per weight instead of
//! 4/(rows·columns). Per-tensor and per-channel scales stay one value per column, a rounding error.

use super::config::ModelConfig;
use super::gpus::Generation;
use super::{ExpertPlacement, params};

/// Bytes the Marlin scales add on one GPU over the checkpoint's block scales.
pub fn scale_growth_bytes(
    config: &ModelConfig,
    generation: Generation,
    tp: u64,
    placement: ExpertPlacement,
) -> u64 {
    let marlin = matches!(generation, Generation::Turing | Generation::Ampere);
    let quantization = &config.quantization;
    let Some((rows, columns)) = quantization.weight_block else {
        return 0;
    };
    if !marlin || quantization.at_load || quantization.method.as_deref() != Some("fp8") {
        return 0;
    }
    let per_weight = 2.0 / columns as f64 - 4.0 / (rows as f64 * columns as f64);
    let count = params::count_params(config);
    let on_gpu = count.linear as f64 / tp as f64 + count.experts as f64 * placement.share();
    (on_gpu * per_weight) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two layers of hidden 1,024 and MLP width 4,096: 4 × 1,024² attention + 3 × 1,024 × 4,096 MLP
    /// = 16,777,216 linear weights per layer, 33,554,432 in all (embeddings stay unquantized).
    const DENSE_FP8_BLOCK: &str = r#"{
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 2,
        "num_attention_heads": 8, "num_key_value_heads": 8, "vocab_size": 1000,
        "max_position_embeddings": 4096, "torch_dtype": "bfloat16",
        "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}
    }"#;

    fn dense(tp: u64) -> ExpertPlacement {
        ExpertPlacement {
            experts: 1,
            experts_on_gpu: 1,
            width_shards: tp,
        }
    }

    #[test]
    fn ampere_reads_one_16_bit_scale_per_column_per_128_inputs() {
        let config = ModelConfig::from_json_text(DENSE_FP8_BLOCK).unwrap();
        // Marlin: 33,554,432 / 128 columns-groups × 2 bytes = 524,288; the checkpoint's block
        // scales, 33,554,432 / (128 × 128) × 4 bytes = 8,192, are replaced.
        assert_eq!(
            scale_growth_bytes(&config, Generation::Ampere, 1, dense(1)),
            524_288 - 8_192
        );
        assert_eq!(
            scale_growth_bytes(&config, Generation::Ampere, 2, dense(2)),
            (524_288 - 8_192) / 2
        );
        // Ada and newer run FP8 natively and keep the block scales.
        assert_eq!(scale_growth_bytes(&config, Generation::Ada, 1, dense(1)), 0);
        assert_eq!(
            scale_growth_bytes(&config, Generation::Hopper, 1, dense(1)),
            0
        );
    }

    #[test]
    fn per_channel_fp8_keeps_its_scales() {
        let text = DENSE_FP8_BLOCK.replace(r#", "weight_block_size": [128, 128]"#, "");
        let config = ModelConfig::from_json_text(&text).unwrap();
        assert_eq!(
            scale_growth_bytes(&config, Generation::Ampere, 1, dense(1)),
            0
        );
    }
}
