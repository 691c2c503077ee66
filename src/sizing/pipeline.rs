//! Pipeline parallelism (`--pipeline-parallel-size`): each stage holds a run of decoder layers, the
//! first also the embedding, the last the final norm, LM head and sampler. Every stage sizes its own
//! KV cache, and vLLM gives all of them the smallest stage's block count (`get_kv_cache_configs`
//! in `vllm/v1/core/kv_cache_utils.py`, `kv_cache_planning.py` from 0.33).

use std::ops::Range;

use super::config::PipelineRole;
use super::{Model, SettingsError, weights_from_config};

/// The decoder layers of each stage, as vLLM's `get_pp_indices` (`vllm/distributed/utils.py`)
/// splits them: evenly, with the remainder given one each to the stages before the last, from the
/// second-to-last backwards (the last stage also holds the LM head).
pub fn stage_layers(num_layers: usize, stages: usize) -> Result<Vec<Range<usize>>, SettingsError> {
    if stages == 0 || stages > num_layers {
        return Err(SettingsError::PipelineDeeperThanModel {
            stages: stages as u64,
            layers: num_layers as u64,
        });
    }
    let mut sizes = vec![num_layers / stages; stages];
    let remainder = num_layers % stages;
    for i in 2..remainder + 2 {
        sizes[stages - i] += 1;
    }
    let mut start = 0;
    Ok(sizes
        .into_iter()
        .map(|size| {
            let range = start..start + size;
            start += size;
            range
        })
        .collect())
}

/// The part of `model` stage `index` of `stages` holds. Checkpoint bytes, known only for the whole
/// model, are shared out in proportion to the stage's bytes as counted from config.json.
pub fn stage_model(model: &Model, layers: Range<usize>, index: usize, stages: usize) -> Model {
    let mut config = model.config.clone();
    config.layers = config.layers[layers].to_vec();
    config.pipeline_stage = Some(PipelineRole {
        first: index == 0,
        last: index + 1 == stages,
    });
    let checkpoint = model.checkpoint.clone().map(|(mut weights, source)| {
        let dtype = model
            .config
            .checkpoint_dtype
            .unwrap_or(super::config::Dtype::Bfloat16);
        let whole = weights_from_config(&model.config, dtype).max(1) as f64;
        let share = weights_from_config(&config, dtype) as f64 / whole;
        weights.tensor_bytes = (weights.tensor_bytes as f64 * share) as u64;
        weights.full_precision_bytes = (weights.full_precision_bytes as f64 * share) as u64;
        (weights, source)
    });
    Model {
        config_path: model.config_path.clone(),
        config,
        checkpoint,
    }
}

/// One stage's figures, per GPU, for the per-rank table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageEstimate {
    pub stage: u64,
    /// Decoder layers `first..end` (end exclusive), as vLLM numbers them.
    pub first_layer: u64,
    pub end_layer: u64,
    pub weights_bytes: u64,
    pub activation_bytes: u64,
    pub non_torch_bytes: u64,
    pub cuda_graph_bytes: u64,
    pub available_kv_bytes: i64,
    pub kv_bytes_per_token: u64,
    /// Blocks this stage could hold; every stage gets the smallest.
    pub num_blocks: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_split_as_vllm_does() {
        // vLLM's own examples: 32 layers on 4 stages are 8 each; the remainder goes to the
        // stages before the last, from the second-to-last backwards.
        assert_eq!(stage_layers(32, 4).unwrap(), [0..8, 8..16, 16..24, 24..32]);
        assert_eq!(stage_layers(10, 4).unwrap(), [0..2, 2..5, 5..8, 8..10]);
        assert_eq!(stage_layers(5, 3).unwrap(), [0..2, 2..4, 4..5]);
        assert_eq!(stage_layers(61, 2).unwrap(), [0..31, 31..61]);
        assert!(stage_layers(3, 4).is_err());
        assert!(stage_layers(3, 0).is_err());
    }
}
