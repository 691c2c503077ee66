//! What to do about an estimate: the vLLM arguments to paste when it fits, and when it does not, the
//! changes that would make it fit (shorter context, more GPUs, fp8 KV cache, a bigger GPU).

use super::gpus::{self, Gpu};
use super::{Estimate, KvCacheDtype, LoadQuantization, Model, Settings, estimate};

/// Tensor-parallel sizes worth suggesting: one node.
const TENSOR_PARALLEL_CHOICES: &[u64] = &[1, 2, 4, 8];

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Advice {
    /// The smallest `--tensor-parallel-size` (up to 8) at which the model fits on this GPU.
    pub min_tensor_parallel_size: Option<u64>,
    /// Whether `--kv-cache-dtype fp8` alone makes it fit (null when fp8 is already set).
    pub fits_with_fp8_kv_cache: Option<bool>,
    /// The smallest catalogue GPU on which it fits at this tensor-parallel size.
    pub smallest_gpu: Option<String>,
    /// The smallest MIG slice of this GPU on which it fits (one slice, no tensor parallelism); null
    /// when the GPU has no MIG profiles in the catalogue or none fits.
    pub smallest_mig_slice: Option<String>,
}

pub fn advise(model: &Model, gpu: &Gpu, settings: &Settings, current: &Estimate) -> Advice {
    let fits_with =
        |gpu: &Gpu, settings: &Settings| estimate(model, gpu, settings).is_ok_and(|e| e.fits());
    // Asked whether it fits or not: a model that fits a whole GPU may need only a slice of it.
    let smallest_mig_slice = (settings.tensor_parallel_size <= 1
        && settings.pipeline_parallel_size <= 1)
        .then(|| {
            gpus::mig_slices_of(gpu)
                .into_iter()
                .find(|slice| fits_with(slice, settings))
                .map(|slice| slice.name.to_string())
        })
        .flatten();
    if current.fits() {
        return Advice {
            smallest_mig_slice,
            ..Advice::default()
        };
    }
    // A MIG slice is one device to vLLM: tensor parallelism across slices is not a remedy.
    let is_slice = gpu.name.contains(':');
    let min_tensor_parallel_size = TENSOR_PARALLEL_CHOICES
        .iter()
        .copied()
        .filter(|tp| *tp > settings.tensor_parallel_size && !is_slice)
        .find(|tp| {
            fits_with(
                gpu,
                &Settings {
                    tensor_parallel_size: *tp,
                    ..*settings
                },
            )
        });
    let fits_with_fp8_kv_cache = (settings.kv_cache_dtype == KvCacheDtype::Auto).then(|| {
        fits_with(
            gpu,
            &Settings {
                kv_cache_dtype: KvCacheDtype::Fp8,
                ..*settings
            },
        )
    });
    let smallest_gpu = gpus::CATALOGUE
        .iter()
        .find(|candidate| fits_with(candidate, settings))
        .map(|candidate| candidate.name.to_string());
    Advice {
        min_tensor_parallel_size,
        fits_with_fp8_kv_cache,
        smallest_gpu,
        smallest_mig_slice,
    }
}

/// The argument line to paste into `vllm serve` for settings that fit.
pub fn vllm_args(estimate: &Estimate) -> String {
    let s = &estimate.settings;
    let mut args = match s.kv_cache_memory_bytes {
        Some(bytes) => format!(
            "--max-model-len {} --kv-cache-memory-bytes {bytes}",
            s.max_model_len
        ),
        None => format!(
            "--max-model-len {} --gpu-memory-utilization {}",
            s.max_model_len, s.gpu_memory_utilization
        ),
    };
    if s.tensor_parallel_size > 1 {
        args.push_str(&format!(
            " --tensor-parallel-size {}",
            s.tensor_parallel_size
        ));
    }
    if s.pipeline_parallel_size > 1 {
        args.push_str(&format!(
            " --pipeline-parallel-size {}",
            s.pipeline_parallel_size
        ));
    }
    if s.data_parallel_size > 1 {
        args.push_str(&format!(" --data-parallel-size {}", s.data_parallel_size));
    }
    if s.expert_parallel {
        args.push_str(" --enable-expert-parallel");
    }
    if s.quantization == Some(LoadQuantization::Fp8) {
        args.push_str(" --quantization fp8");
    }
    if s.kv_cache_dtype == KvCacheDtype::Fp8 {
        args.push_str(" --kv-cache-dtype fp8");
    }
    if s.enforce_eager {
        args.push_str(" --enforce-eager");
    }
    args.push_str(&s.cuda_graphs.vllm_args());
    args
}

/// Sizes `model` on the named catalogue GPU with vLLM's defaults and `max_model_len`, for the
/// verdicts `register --gpu` records and `promote --require-fit` enforces.
pub fn verdict_for(
    model: &Model,
    gpu_name: &str,
    max_model_len: Option<u64>,
    tensor_parallel_size: u64,
) -> Result<Estimate, String> {
    let gpu = gpus::find(gpu_name).ok_or_else(|| {
        format!(
            "unknown GPU `{gpu_name}`; use one of {}",
            gpus::names().join(", ")
        )
    })?;
    let settings = Settings {
        max_model_len,
        tensor_parallel_size,
        ..Settings::default()
    };
    estimate(model, gpu, &settings).map_err(|e| e.to_string())
}
