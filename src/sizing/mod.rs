//! `llmops size`: predict what vLLM (V1 engine) allocates on each GPU at start-up, from config.json
//! and the checkpoint's metadata, and say whether a given `--max-model-len` fits.
//!
//! The accounting follows vLLM's own order (`gpu_worker.py`): a budget of
//! `total memory × gpu_memory_utilization`, minus weights, peak activation, non-torch memory and
//! (from v0.20) the CUDA-graph estimate; what remains is cut into KV blocks.

pub mod architectures;
pub mod config;
pub mod cuda_graphs;
mod fields;
pub mod fp8_marlin;
pub mod gpus;
pub mod kv;
pub mod lora;
pub mod mxfp4;
pub mod overhead;
pub mod params;
pub mod pipeline;
pub mod remote;
pub mod tool_calling;
pub mod verdict;
pub mod vllm_log;
pub mod weights;

use std::path::{Path, PathBuf};

use config::{Dtype, Mlp, ModelConfig};
use cuda_graphs::{Capture, CudaGraphMode};
use gpus::{Generation, Gpu};
use kv::{KvInputs, KvPlan};
use weights::{CheckpointWeights, WeightSource};

/// A config.json field that is missing, malformed or absurd.
#[derive(Debug, Clone, thiserror::Error)]
#[error("field `{field}` {problem}")]
pub struct InvalidConfig {
    pub field: String,
    pub problem: String,
}

/// Bad input that names the file, so the user can find it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("`{path}` does not exist")]
    Missing { path: PathBuf },
    #[error("`{dir}` has no config.json")]
    NoConfig { dir: PathBuf },
    #[error("cannot read `{path}`: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}`: {error}")]
    Invalid { path: PathBuf, error: InvalidConfig },
    #[error(transparent)]
    Weights(#[from] weights::WeightsError),
}

/// A model as `size` sees it: its normalised config, and exact weight bytes when the directory has them.
#[derive(Debug, Clone)]
pub struct Model {
    pub config_path: PathBuf,
    pub config: ModelConfig,
    pub checkpoint: Option<(CheckpointWeights, WeightSource)>,
}

impl Model {
    /// `path` is a config.json or a model directory.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        if !path.exists() {
            return Err(ModelError::Missing {
                path: path.to_path_buf(),
            });
        }
        let (config_path, dir) = if path.is_dir() {
            let config_path = path.join("config.json");
            if !config_path.is_file() {
                return Err(ModelError::NoConfig {
                    dir: path.to_path_buf(),
                });
            }
            (config_path, Some(path))
        } else {
            (path.to_path_buf(), None)
        };
        let text =
            std::fs::read_to_string(&config_path).map_err(|source| ModelError::Unreadable {
                path: config_path.clone(),
                source,
            })?;
        let config = ModelConfig::from_json_text(&text).map_err(|error| ModelError::Invalid {
            path: config_path.clone(),
            error,
        })?;
        let checkpoint = match dir {
            Some(dir) => weights::read_checkpoint(dir, config.num_layers())?,
            None => None,
        };
        Ok(Model {
            config_path,
            config,
            checkpoint,
        })
    }

    pub fn params(&self) -> params::ParamCount {
        params::count_params(&self.config)
    }

    pub fn is_moe(&self) -> bool {
        self.config.layers.iter().any(|l| l.mlp == Mlp::Experts)
    }

    /// vLLM's `--quantization fp8` on this checkpoint: an unquantized one has its linear layers and
    /// experts quantized to one byte as they load (`Fp8OnlineLinearMethod` and the online MoE method
    /// in `vllm/model_executor/layers/quantization/fp8.py`; embeddings and LM head stay), one
    /// already stored as fp8 is unchanged, and any other stored method is the mismatch vLLM refuses
    /// (`_verify_quantization` in `vllm/config/model.py`).
    pub fn quantize_at_load(&mut self, method: LoadQuantization) -> Result<(), SettingsError> {
        let LoadQuantization::Fp8 = method;
        match self.config.quantization.method.as_deref() {
            None => {
                self.config.quantization = config::Quantization {
                    method: Some("fp8".into()),
                    bytes_per_param: Some(1.0),
                    experts_only: false,
                    at_load: true,
                    weight_block: None,
                };
                Ok(())
            }
            Some("fp8") => Ok(()),
            Some(stored) => Err(SettingsError::QuantizationMismatch {
                stored: stored.to_string(),
            }),
        }
    }
}

/// `--quantization` for a checkpoint stored unquantized: what vLLM quantizes the weights to as it
/// loads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadQuantization {
    /// fp8 (e4m3) weights with one scale per tensor.
    Fp8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KvCacheDtype {
    /// The model's serving dtype.
    Auto,
    /// One byte per element (fp8_e4m3 / fp8_e5m2).
    Fp8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DtypeChoice {
    Auto,
    Bfloat16,
    Float16,
    Float32,
}

impl DtypeChoice {
    /// vLLM's `--dtype` words (`vllm/config/model.py`: `half` and `float16`, `float` and `float32`).
    pub fn from_vllm(word: &str) -> Option<DtypeChoice> {
        match word {
            "auto" => Some(DtypeChoice::Auto),
            "bfloat16" => Some(DtypeChoice::Bfloat16),
            "float16" | "half" => Some(DtypeChoice::Float16),
            "float32" | "float" => Some(DtypeChoice::Float32),
            _ => None,
        }
    }
}

impl KvCacheDtype {
    /// vLLM's `--kv-cache-dtype` words: `auto`, or any one-byte `fp8*` form; others (`nvfp4`, …)
    /// are not modelled.
    pub fn from_vllm(word: &str) -> Option<KvCacheDtype> {
        match word {
            "auto" => Some(KvCacheDtype::Auto),
            fp8 if fp8.starts_with("fp8") => Some(KvCacheDtype::Fp8),
            _ => None,
        }
    }
}

/// The vLLM release whose accounting to reproduce, 0.10 to 0.33. What changed at which release, read
/// from each release's source archive on PyPI, is tabled in `docs/sizing-model.md` §vLLM versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VllmVersion {
    pub major: u32,
    pub minor: u32,
}

impl VllmVersion {
    /// The newest behaviour llmops models; later releases are answered as this one.
    pub const LATEST: VllmVersion = VllmVersion::new(0, 33);
    /// The oldest: the V1 engine's accounting (earlier releases default to the V0 engine).
    pub const OLDEST: VllmVersion = VllmVersion::new(0, 10);

    pub const fn new(major: u32, minor: u32) -> VllmVersion {
        VllmVersion { major, minor }
    }

    pub fn parse(text: &str) -> Result<VllmVersion, String> {
        if text.eq_ignore_ascii_case("latest") {
            return Ok(Self::LATEST);
        }
        let mut parts = text.trim_start_matches('v').split('.');
        let number = |part: Option<&str>| part.and_then(|p| p.parse::<u32>().ok());
        let version = match (number(parts.next()), number(parts.next())) {
            (Some(major), Some(minor)) => VllmVersion { major, minor },
            _ => {
                return Err(format!(
                    "`{text}` is not a vLLM version; write it like `0.20` or `latest`"
                ));
            }
        };
        if version < Self::OLDEST {
            return Err(format!(
                "vLLM {version} is older than llmops models: its V0 engine accounts memory \
                 differently; give 0.10 or later"
            ));
        }
        Ok(version)
    }

    /// Top-k/top-p sampling on batches of 8 and more runs in a Triton kernel instead of sorting the
    /// whole vocabulary in PyTorch (`apply_top_k_top_p_triton`, `vllm/v1/sample/ops/`, 0.17.0).
    pub fn samples_without_sorting(self) -> bool {
        self >= Self::new(0, 17)
    }

    /// Full graphs for decode beside the piecewise ones by default (`CUDAGraphMode.FULL_AND_PIECEWISE`
    /// in `vllm/config/compilation.py`, 0.11.0); piecewise only before.
    pub fn default_cudagraph_mode(self) -> CudaGraphMode {
        if self >= Self::new(0, 11) {
            CudaGraphMode::FullAndPiecewise
        } else {
            CudaGraphMode::Piecewise
        }
    }

    /// CUDA-graph estimate charged to the KV budget (`VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS`
    /// defaults to 1 in `vllm/envs.py` from 0.20.0).
    pub fn charges_cuda_graphs(self) -> bool {
        self >= Self::new(0, 20)
    }

    /// `GPU KV cache size` derived from the concurrency (vllm-project/vllm#40694, in 0.21.0).
    pub fn reports_tokens_from_concurrency(self) -> bool {
        self >= Self::new(0, 21)
    }

    /// The profile counts all device memory consumed since the worker started, the caching
    /// allocator's unused reserve included (`total_consumed` in `vllm/utils/mem_utils.py`, 0.27.0).
    pub fn counts_allocator_reserve(self) -> bool {
        self >= Self::new(0, 27)
    }

    /// `vllm serve` gives GPUs of 160 GiB and more 16,384 batched tokens (`arg_utils.py`, 0.28.0).
    pub fn has_large_gpu_batch_tier(self) -> bool {
        self >= Self::new(0, 28)
    }

    /// `GPU KV cache size` and `Maximum concurrency` on one line (`kv_cache_utils.py`, 0.28.0).
    pub fn logs_capacity_on_one_line(self) -> bool {
        self >= Self::new(0, 28)
    }

    /// The fit check plans against one block fewer, the null block the pool holds back
    /// (`check_enough_kv_cache_memory` in `vllm/v1/core/kv_cache_planning.py`, 0.29.0).
    pub fn reserves_null_block_in_fit_check(self) -> bool {
        self >= Self::new(0, 29)
    }

    /// The auto-fit line names "available KV cache memory (X GiB GPU)", X less the null block
    /// (`_auto_fit_max_model_len`, 0.32.0).
    pub fn words_auto_fit_by_kv_memory(self) -> bool {
        self >= Self::new(0, 32)
    }

    /// `gpu_memory_utilization` default in `vllm/config/cache.py`: 0.92 from 0.20.0.
    pub fn default_gpu_memory_utilization(self) -> f64 {
        if self >= Self::new(0, 20) { 0.92 } else { 0.9 }
    }
}

impl std::fmt::Display for VllmVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What the user asked vLLM to do; `None` means vLLM's default.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub max_model_len: Option<u64>,
    pub tensor_parallel_size: u64,
    /// `--pipeline-parallel-size`: stages, each on its own `tensor_parallel_size` GPUs.
    pub pipeline_parallel_size: u64,
    /// `--data-parallel-size`: replicas, each on its own `tensor_parallel_size` GPUs.
    pub data_parallel_size: u64,
    /// `--enable-expert-parallel`: MoE experts spread whole over the `tensor × data` GPUs
    /// instead of each expert split by tensor parallelism.
    pub expert_parallel: bool,
    pub gpu_memory_utilization: Option<f64>,
    pub kv_cache_dtype: KvCacheDtype,
    pub dtype: DtypeChoice,
    pub max_num_seqs: Option<u64>,
    pub max_num_batched_tokens: Option<u64>,
    pub enforce_eager: bool,
    /// `cudagraph_mode` in vLLM's `--compilation-config`.
    pub cudagraph_mode: Option<CudaGraphMode>,
    /// `--max-cudagraph-capture-size`.
    pub max_cudagraph_capture_size: Option<u64>,
    pub vllm_version: VllmVersion,
    /// `--enable-lora` with these slots and rank.
    pub lora: Option<lora::LoraServing>,
    /// `--kv-cache-memory-bytes`: the KV cache per GPU, instead of what the budget leaves.
    pub kv_cache_memory_bytes: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_model_len: None,
            tensor_parallel_size: 1,
            pipeline_parallel_size: 1,
            data_parallel_size: 1,
            expert_parallel: false,
            gpu_memory_utilization: None,
            kv_cache_dtype: KvCacheDtype::Auto,
            dtype: DtypeChoice::Auto,
            max_num_seqs: None,
            max_num_batched_tokens: None,
            enforce_eager: false,
            cudagraph_mode: None,
            max_cudagraph_capture_size: None,
            vllm_version: VllmVersion::LATEST,
            lora: None,
            kv_cache_memory_bytes: None,
        }
    }
}

/// Settings after vLLM's defaults are applied.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Resolved {
    pub max_model_len: u64,
    pub tensor_parallel_size: u64,
    pub pipeline_parallel_size: u64,
    pub data_parallel_size: u64,
    pub expert_parallel: bool,
    pub gpu_memory_utilization: f64,
    pub dtype: Dtype,
    pub kv_cache_dtype: KvCacheDtype,
    pub max_num_seqs: u64,
    pub max_num_batched_tokens: u64,
    pub enforce_eager: bool,
    /// The CUDA graphs vLLM captures (none with `--enforce-eager`).
    pub cuda_graphs: Capture,
    pub block_size: u64,
    /// `--kv-cache-memory-bytes`, when given.
    pub kv_cache_memory_bytes: Option<u64>,
    /// `--quantization fp8`: the weights are quantized as they load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantization: Option<LoadQuantization>,
}

/// The context vLLM assumes when config.json has none of its context keys and no `--max-model-len`
/// is given (`vllm/config/model.py`, `_get_and_verify_max_len`: "Assuming the model's maximum
/// length is 2048").
pub const ASSUMED_MAX_MODEL_LEN: u64 = 2048;

/// Why vLLM would refuse to start.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// `--max-model-len` above what the config allows.
    ContextTooLong { requested: u64, limit: u64 },
    /// Weights and overhead leave nothing for KV cache.
    NoKvMemory { available_bytes: i64 },
    /// `--kv-cache-memory-bytes` plus weights and overhead exceed the GPU: the allocation fails.
    PinnedKvCacheTooLarge { over_bytes: u64 },
    /// One request of `max_model_len` needs more KV than there is.
    RequestDoesNotFit {
        needed_bytes: u64,
        available_bytes: i64,
    },
    /// Hybrid models: each running sequence needs a state block for CUDA-graph capture.
    TooManySequencesForState {
        max_num_seqs: u64,
        state_blocks: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Estimate {
    pub settings: Resolved,
    pub total_memory_bytes: u64,
    pub requested_bytes: u64,
    pub weights_bytes: u64,
    pub weights_source: WeightSource,
    /// mxfp4 experts: the kernel vLLM holds them with, and the bytes it adds to the checkpoint's
    /// (included in `weights_bytes`).
    pub mxfp4_relayout: Option<(mxfp4::Mxfp4Kernel, u64)>,
    /// LoRA slots and their metadata (`--enable-lora`), loaded with the weights.
    pub lora_bytes: u64,
    pub activation_bytes: u64,
    pub non_torch_bytes: u64,
    /// Charged to the KV budget (vLLM ≥ 0.20).
    pub cuda_graph_bytes: u64,
    /// Not charged but still allocated later, in the `1 − gpu_memory_utilization` headroom (< 0.20).
    pub cuda_graph_outside_budget_bytes: u64,
    pub available_kv_bytes: i64,
    /// The `--kv-cache-memory-bytes` vLLM would suggest to pin this budget (its debug line).
    pub suggested_kv_cache_memory_bytes: i64,
    pub kv_bytes_per_token: u64,
    pub state_bytes_per_sequence: u64,
    pub num_blocks: u64,
    /// Every pipeline stage, when there are several; empty otherwise.
    pub pipeline_stages: Vec<pipeline::StageEstimate>,
    /// One KV block on one GPU, every layer's share of it.
    pub bytes_per_block: u64,
    pub blocks_per_request: u64,
    pub kv_tokens: u64,
    pub max_concurrency: f64,
    pub max_model_len_that_fits: Option<u64>,
    pub problems: Vec<Problem>,
}

impl Estimate {
    pub fn fits(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "`--tensor-parallel-size {tp}` does not divide the model's {heads} attention heads; vLLM refuses it"
    )]
    TensorParallelDoesNotDivideHeads { tp: u64, heads: u64 },
    #[error("{0}")]
    Unsupported(#[from] kv::UnsupportedLayout),
    #[error("{0}")]
    LoraNotModelled(#[from] lora::NotModelled),
    #[error(
        "`--pipeline-parallel-size {stages}` needs at least one decoder layer per stage; the model has {layers}"
    )]
    PipelineDeeperThanModel { stages: u64, layers: u64 },
    #[error(
        "the checkpoint is quantized with `{stored}`, and vLLM refuses `--quantization fp8` for it (config.json's method must match)"
    )]
    QuantizationMismatch { stored: String },
}

/// The dtype vLLM serves in: `--dtype`, else the checkpoint's, with float32 checkpoints served in
/// bfloat16 (vLLM's `auto` on Ampere and newer) and bfloat16 when the config states none.
pub fn serving_dtype(config: &ModelConfig, choice: DtypeChoice) -> Dtype {
    match choice {
        DtypeChoice::Bfloat16 => Dtype::Bfloat16,
        DtypeChoice::Float16 => Dtype::Float16,
        DtypeChoice::Float32 => Dtype::Float32,
        DtypeChoice::Auto => match config.checkpoint_dtype {
            Some(Dtype::Float16) => Dtype::Float16,
            _ => Dtype::Bfloat16,
        },
    }
}

/// How one GPU holds an MoE model's experts: every expert with its width split by tensor
/// parallelism, or (`--enable-expert-parallel`) whole experts, `ceil(E / (TP × DP))` of them
/// (`determine_expert_map` in `vllm/model_executor/layers/fused_moe/layer.py` gives the remainder to
/// the first ranks; the fullest is sized).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpertPlacement {
    pub experts: u64,
    pub experts_on_gpu: u64,
    pub width_shards: u64,
}

impl ExpertPlacement {
    pub fn of(config: &ModelConfig, resolved: &Resolved) -> ExpertPlacement {
        let experts = config.moe.map_or(1, |moe| moe.experts.max(1));
        let tp = resolved.tensor_parallel_size.max(1);
        if resolved.expert_parallel {
            let ranks = tp * resolved.data_parallel_size.max(1);
            ExpertPlacement {
                experts,
                experts_on_gpu: experts.div_ceil(ranks),
                width_shards: 1,
            }
        } else {
            ExpertPlacement {
                experts,
                experts_on_gpu: experts,
                width_shards: tp,
            }
        }
    }

    /// The share of all expert bytes on one GPU.
    pub fn share(&self) -> f64 {
        self.experts_on_gpu as f64 / (self.experts as f64 * self.width_shards as f64)
    }
}

/// Weight bytes on one GPU: the non-expert weights split by tensor parallelism, the experts as
/// `placement` spreads them (the same split unless expert parallelism is on).
pub fn weights_per_gpu(
    model: &Model,
    dtype: Dtype,
    tp: u64,
    placement: ExpertPlacement,
) -> (u64, WeightSource) {
    let (total, source) = match &model.checkpoint {
        Some((checkpoint, source)) => {
            let mut bytes = checkpoint.tensor_bytes as f64;
            let quantization = &model.config.quantization;
            let stored_quantized = quantization.bytes_per_param.is_some() && !quantization.at_load;
            let checkpoint_dtype = model.config.checkpoint_dtype.unwrap_or(Dtype::Bfloat16);
            if *source == WeightSource::SafetensorsHeaders && dtype != Dtype::Float32 {
                // vLLM casts full-precision tensors to the serving dtype as it loads them.
                bytes -=
                    checkpoint.full_precision_bytes as f64 * (1.0 - dtype.bytes() as f64 / 4.0);
            } else if !stored_quantized && dtype.bytes() != checkpoint_dtype.bytes() {
                bytes *= dtype.bytes() as f64 / checkpoint_dtype.bytes() as f64;
            }
            if quantization.at_load {
                // Linear and expert weights then shrink from the serving dtype to one byte.
                let count = model.params();
                bytes -= (count.linear + count.experts) as f64 * (dtype.bytes() as f64 - 1.0);
            }
            (bytes as u64, *source)
        }
        None => (
            weights_from_config(&model.config, dtype),
            WeightSource::Config,
        ),
    };
    let split_like_the_rest =
        placement.width_shards == tp && placement.experts_on_gpu == placement.experts;
    if split_like_the_rest || !model.is_moe() {
        return (total.div_ceil(tp), source);
    }
    // Known bytes are shared out between experts and the rest as config.json counts them.
    let (rest, experts) = config_weight_parts(&model.config, dtype);
    let experts = total as f64 * experts / (rest + experts).max(1.0);
    let rest = total as f64 - experts;
    (
        (rest / tp as f64 + experts * placement.share()) as u64,
        source,
    )
}

/// What the tensors every rank holds whole add on one GPU beyond the `1/tp` share the split above
/// gives them (`params::replicated_params`).
fn replicated_extra_bytes(config: &ModelConfig, dtype: Dtype, tp: u64) -> u64 {
    if tp <= 1 {
        return 0;
    }
    let replicated = params::replicated_params(config);
    let whole = replicated.linear as f64 * linear_bytes(config, dtype)
        + replicated.unquantized as f64 * dtype.bytes() as f64;
    (whole * (tp - 1) as f64 / tp as f64) as u64
}

/// Weight bytes estimated from the parameter count and the storage of each class of parameter.
pub fn weights_from_config(config: &ModelConfig, dtype: Dtype) -> u64 {
    let (rest, experts) = config_weight_parts(config, dtype);
    (rest + experts) as u64
}

/// (everything but the MoE experts, the experts) in bytes, from config.json.
fn config_weight_parts(config: &ModelConfig, dtype: Dtype) -> (f64, f64) {
    let count = params::count_params(config);
    let half = dtype.bytes() as f64;
    let expert_bytes = config.quantization.bytes_per_param.unwrap_or(half);
    (
        count.unquantized as f64 * half + count.linear as f64 * linear_bytes(config, dtype),
        count.experts as f64 * expert_bytes,
    )
}

/// Bytes of one linear (non-expert) weight: quantized unless the method quantizes only the experts
/// (mxfp4), else in the serving dtype.
fn linear_bytes(config: &ModelConfig, dtype: Dtype) -> f64 {
    match config.quantization.bytes_per_param {
        Some(bytes) if !config.quantization.experts_only => bytes,
        _ => dtype.bytes() as f64,
    }
}

/// vLLM's `vllm serve` defaults for the scheduler, by hardware (`EngineArgs.get_batch_defaults`,
/// `vllm/engine/arg_utils.py`): 8192 batched tokens and 1024 sequences on large non-A100 GPUs
/// (16,384 tokens from 160 GiB, from 0.28), else 2048 and 256.
fn default_batching(gpu: &Gpu, version: VllmVersion) -> (u64, u64) {
    if gpu.memory_gib() >= 160.0 && version.has_large_gpu_batch_tier() {
        (16_384, 1024)
    } else if gpu.memory_gib() >= 70.0 && gpu.generation != Generation::Ampere {
        (8192, 1024)
    } else {
        (2048, 256)
    }
}

/// Block size the MLA attention backend forces (`vllm/platforms/cuda.py`).
fn mla_block_size(gpu: &Gpu) -> u64 {
    match gpu.generation {
        Generation::Hopper => 64,     // FlashMLA
        Generation::Blackwell => 128, // CUTLASS MLA
        _ => kv::DEFAULT_BLOCK_SIZE,
    }
}

/// What vLLM allocates on each GPU for `model` under `settings`, and whether it would start. With
/// pipeline parallelism the figures are the limiting stage's (the fewest KV blocks, which every
/// stage then gets), and `pipeline_stages` has every stage's.
pub fn estimate(model: &Model, gpu: &Gpu, settings: &Settings) -> Result<Estimate, SettingsError> {
    let stages = settings.pipeline_parallel_size.max(1) as usize;
    if stages == 1 {
        return estimate_stage(model, gpu, settings);
    }
    let ranges = pipeline::stage_layers(model.config.layers.len(), stages)?;
    let mut estimates = Vec::with_capacity(stages);
    let mut summaries = Vec::with_capacity(stages);
    for (index, layers) in ranges.into_iter().enumerate() {
        let part = pipeline::stage_model(model, layers.clone(), index, stages);
        let stage = estimate_stage(&part, gpu, settings)?;
        summaries.push(pipeline::StageEstimate {
            stage: index as u64,
            first_layer: layers.start as u64,
            end_layer: layers.end as u64,
            weights_bytes: stage.weights_bytes,
            activation_bytes: stage.activation_bytes,
            non_torch_bytes: stage.non_torch_bytes,
            cuda_graph_bytes: stage.cuda_graph_bytes,
            available_kv_bytes: stage.available_kv_bytes,
            kv_bytes_per_token: stage.kv_bytes_per_token,
            num_blocks: stage.num_blocks,
        });
        estimates.push(stage);
    }
    // Ties go to the earliest stage, as `min` over vLLM's worker list does.
    let limiting = (0..stages)
        .min_by_key(|i| estimates[*i].num_blocks)
        .expect("at least two stages");
    let mut headline = estimates.swap_remove(limiting);
    headline.pipeline_stages = summaries;
    Ok(headline)
}

/// One GPU's estimate for the model (or the pipeline stage) it holds.
fn estimate_stage(
    model: &Model,
    gpu: &Gpu,
    settings: &Settings,
) -> Result<Estimate, SettingsError> {
    let config = &model.config;
    let (resolved, plan) = resolve_settings(config, gpu, settings)?;
    let budget = memory_budget(model, gpu, settings, &resolved)?;
    let available_kv_bytes = budget.available_kv_bytes;
    let (max_model_len, max_num_batched_tokens) =
        (resolved.max_model_len, resolved.max_num_batched_tokens);

    let num_blocks = plan.num_blocks(available_kv_bytes);
    let blocks_per_request = plan.blocks_per_request(max_model_len, max_num_batched_tokens);
    let kv_tokens = plan.kv_tokens(
        num_blocks,
        max_model_len,
        max_num_batched_tokens,
        settings.vllm_version.reports_tokens_from_concurrency(),
    );
    let max_concurrency = num_blocks as f64 / blocks_per_request as f64;
    // From 0.29 the fit check and `--max-model-len auto` count without the null block; the
    // allocation, the token count and the concurrency still use every block.
    let fit_blocks = if settings.vllm_version.reserves_null_block_in_fit_check() {
        num_blocks.saturating_sub(1)
    } else {
        num_blocks
    };
    let mut problems = find_problems(
        config,
        &resolved,
        &plan,
        available_kv_bytes,
        fit_blocks,
        blocks_per_request,
    );
    if budget.over_memory_bytes > 0 {
        problems.push(Problem::PinnedKvCacheTooLarge {
            over_bytes: budget.over_memory_bytes,
        });
    }
    let max_model_len_that_fits = longest_context_that_fits(config, &plan, &resolved, fit_blocks);

    Ok(Estimate {
        settings: resolved,
        total_memory_bytes: gpu.memory_bytes,
        requested_bytes: budget.requested_bytes,
        weights_bytes: budget.weights_bytes,
        weights_source: budget.weights_source,
        mxfp4_relayout: budget.mxfp4_relayout,
        lora_bytes: budget.lora_bytes,
        activation_bytes: budget.activation.total(),
        non_torch_bytes: budget.non_torch_bytes,
        cuda_graph_bytes: budget.cuda_graph_bytes,
        cuda_graph_outside_budget_bytes: budget.cuda_graph_outside_budget_bytes,
        available_kv_bytes,
        suggested_kv_cache_memory_bytes: budget.suggested_kv_cache_memory_bytes,
        kv_bytes_per_token: plan.bytes_per_token,
        state_bytes_per_sequence: plan.state_bytes_per_sequence,
        num_blocks,
        pipeline_stages: Vec::new(),
        bytes_per_block: plan.bytes_per_block(),
        blocks_per_request,
        kv_tokens,
        max_concurrency,
        max_model_len_that_fits,
        problems,
    })
}

/// `settings` with vLLM's defaults applied (the hardware's batching, the release's memory
/// utilization, the serving dtype), and the KV-cache plan they give. Refuses what vLLM refuses
/// before it allocates anything.
fn resolve_settings(
    config: &ModelConfig,
    gpu: &Gpu,
    settings: &Settings,
) -> Result<(Resolved, KvPlan), SettingsError> {
    let tp = settings.tensor_parallel_size.max(1);
    if !config.num_attention_heads.is_multiple_of(tp) {
        return Err(SettingsError::TensorParallelDoesNotDivideHeads {
            tp,
            heads: config.num_attention_heads,
        });
    }
    let dtype = serving_dtype(config, settings.dtype);
    let kv_dtype_bytes = match settings.kv_cache_dtype {
        KvCacheDtype::Auto => dtype.bytes(),
        KvCacheDtype::Fp8 => 1,
    };
    let max_model_len = settings
        .max_model_len
        .or(config.default_max_model_len)
        .unwrap_or(ASSUMED_MAX_MODEL_LEN);
    let (default_tokens, default_seqs) = default_batching(gpu, settings.vllm_version);
    let max_num_batched_tokens = settings.max_num_batched_tokens.unwrap_or(default_tokens);
    let max_num_seqs = settings.max_num_seqs.unwrap_or(default_seqs);
    let gmu = settings
        .gpu_memory_utilization
        .unwrap_or_else(|| settings.vllm_version.default_gpu_memory_utilization());

    let plan = KvPlan::new(
        config,
        &KvInputs {
            tensor_parallel_size: tp,
            kv_dtype_bytes,
            state_dtype_bytes: dtype.bytes(),
            mla_block_size: mla_block_size(gpu),
        },
    )?;
    let resolved = Resolved {
        max_model_len,
        tensor_parallel_size: tp,
        pipeline_parallel_size: settings.pipeline_parallel_size.max(1),
        data_parallel_size: settings.data_parallel_size.max(1),
        expert_parallel: settings.expert_parallel,
        gpu_memory_utilization: gmu,
        dtype,
        kv_cache_dtype: settings.kv_cache_dtype,
        max_num_seqs,
        max_num_batched_tokens,
        enforce_eager: settings.enforce_eager,
        cuda_graphs: cuda_graphs::resolve(
            config.architecture.as_deref(),
            settings,
            max_num_seqs,
            max_num_batched_tokens,
        ),
        block_size: plan.block_size,
        kv_cache_memory_bytes: settings.kv_cache_memory_bytes,
        quantization: config.quantization.at_load.then_some(LoadQuantization::Fp8),
    };
    Ok((resolved, plan))
}

/// Where the requested memory goes before the KV cache gets the rest, in vLLM's order.
struct MemoryBudget {
    requested_bytes: u64,
    weights_bytes: u64,
    mxfp4_relayout: Option<(mxfp4::Mxfp4Kernel, u64)>,
    weights_source: WeightSource,
    lora_bytes: u64,
    activation: overhead::ActivationPeak,
    non_torch_bytes: u64,
    cuda_graph_bytes: u64,
    cuda_graph_outside_budget_bytes: u64,
    /// Negative when weights and overhead exceed the request.
    available_kv_bytes: i64,
    suggested_kv_cache_memory_bytes: i64,
    /// With `--kv-cache-memory-bytes`: how far everything exceeds the GPU's memory.
    over_memory_bytes: u64,
}

fn memory_budget(
    model: &Model,
    gpu: &Gpu,
    settings: &Settings,
    resolved: &Resolved,
) -> Result<MemoryBudget, SettingsError> {
    let tp = resolved.tensor_parallel_size;
    let requested_bytes = (gpu.memory_bytes as f64 * resolved.gpu_memory_utilization) as u64;
    let placement = ExpertPlacement::of(&model.config, resolved);
    let (checkpoint_bytes, weights_source) = weights_per_gpu(model, resolved.dtype, tp, placement);
    let (relayout_bytes, mxfp4_kernel) = mxfp4::relayout_bytes(
        &model.config,
        gpu.generation,
        settings.vllm_version,
        placement,
    );
    let marlin_scale_bytes =
        fp8_marlin::scale_growth_bytes(&model.config, gpu.generation, tp, placement);
    let replicated_bytes = replicated_extra_bytes(&model.config, resolved.dtype, tp);
    let weights_bytes = checkpoint_bytes + relayout_bytes + marlin_scale_bytes + replicated_bytes;
    let activation = overhead::activation_peak(&activation_inputs(
        model,
        resolved,
        (settings.vllm_version, gpu.generation),
    ));
    let activation_bytes = activation.total();
    // Expert parallelism communicates across every rank it spans, as tensor parallelism does.
    let communicating_ranks = if resolved.expert_parallel {
        tp * resolved.data_parallel_size
    } else {
        tp
    };
    let non_torch_bytes = overhead::non_torch_bytes(
        communicating_ranks,
        gpu.nvlink,
        settings.vllm_version.counts_allocator_reserve(),
    );
    let lora_bytes = match settings.lora {
        Some(serving) => lora::lora_bytes(
            &model.config,
            serving,
            resolved.dtype.bytes(),
            tp,
            (resolved.max_num_batched_tokens, resolved.max_num_seqs),
        )?,
        None => 0,
    };
    // With LoRA, vLLM captures every size with and without adapters: about twice the graphs.
    let graphs =
        cuda_graphs::cuda_graph_bytes(model.config.layers.len() as u64, &resolved.cuda_graphs)
            * if settings.lora.is_some() { 2 } else { 1 };
    let (cuda_graph_bytes, cuda_graph_outside_budget_bytes) =
        if settings.vllm_version.charges_cuda_graphs() {
            (graphs, 0)
        } else {
            (0, graphs)
        };
    let non_kv_bytes =
        weights_bytes + lora_bytes + activation_bytes + non_torch_bytes + cuda_graph_bytes;
    // vLLM's suggestion to pin the budget: what fits the requested memory, less a 150 MiB margin
    // for the profile's underestimate (`gpu_worker.py`, `kv_cache_memory_bytes_to_requested_limit`).
    // vLLM counts the graphs it captured here whether or not its budget was charged for them.
    let suggested_kv_cache_memory_bytes = requested_bytes as i64
        - (non_kv_bytes + cuda_graph_outside_budget_bytes) as i64
        - PIN_MARGIN_BYTES as i64;
    // With --kv-cache-memory-bytes vLLM skips the budget and takes the figure as given.
    let available_kv_bytes = match settings.kv_cache_memory_bytes {
        Some(pinned) => pinned as i64,
        None => requested_bytes as i64 - non_kv_bytes as i64,
    };
    let over_memory_bytes = settings
        .kv_cache_memory_bytes
        .map(|pinned| (non_kv_bytes + pinned).saturating_sub(gpu.memory_bytes))
        .unwrap_or(0);
    Ok(MemoryBudget {
        requested_bytes,
        weights_bytes,
        mxfp4_relayout: mxfp4_kernel.map(|kernel| (kernel, relayout_bytes)),
        weights_source,
        lora_bytes,
        activation,
        non_torch_bytes,
        cuda_graph_bytes,
        cuda_graph_outside_budget_bytes,
        available_kv_bytes,
        suggested_kv_cache_memory_bytes,
        over_memory_bytes,
    })
}

/// The profile run's inputs: the batch limits, the model's widths, and its MoE kernel's workspace.
fn activation_inputs(
    model: &Model,
    resolved: &Resolved,
    (version, generation): (VllmVersion, gpus::Generation),
) -> overhead::ActivationInputs {
    let config = &model.config;
    let placement = ExpertPlacement::of(config, resolved);
    // mxfp4 experts run on kernels that keep no workspace between calls: gpt-oss-20b's logged peak
    // is the sampler's alone (`llmd-gptoss20b-h100-tp2-gmu090-mml8192`).
    let fused_triton_experts = config.quantization.method.as_deref() != Some("mxfp4");
    let experts = config
        .moe
        .filter(|_| model.is_moe() && fused_triton_experts)
        .map(|moe| overhead::ExpertWorkspace {
            experts_per_token: moe.experts_per_token.unwrap_or(1),
            expert_width: moe.expert_width,
            io_width: moe.latent.unwrap_or(config.hidden_size),
            gated: moe.gated,
        });
    overhead::ActivationInputs {
        hidden_size: config.hidden_size,
        // Only the last pipeline stage computes logits and samples.
        vocab_size: if config.holds_last_stage() {
            config.vocab_size
        } else {
            0
        },
        activation_dtype_bytes: resolved.dtype.bytes(),
        max_num_batched_tokens: resolved.max_num_batched_tokens,
        max_num_seqs: resolved.max_num_seqs,
        expert_width_shards: placement.width_shards,
        sorts_vocabulary: !version.samples_without_sorting(),
        experts,
        transient_experts: config
            .moe
            .zip(mxfp4::marlin_padded_widths(
                config, generation, version, placement,
            ))
            .map(|(moe, (width, hidden))| overhead::ExpertWorkspace {
                experts_per_token: moe.experts_per_token.unwrap_or(1),
                expert_width: width,
                io_width: hidden,
                gated: moe.gated,
            }),
        multimodal: config.vision_params > 0 && config.holds_first_stage(),
    }
}

/// The margin vLLM leaves when it suggests `--kv-cache-memory-bytes` (150 MiB).
const PIN_MARGIN_BYTES: u64 = 150 << 20;

/// Why vLLM would refuse to start with these settings; empty when it starts.
fn find_problems(
    config: &ModelConfig,
    resolved: &Resolved,
    plan: &KvPlan,
    available_kv_bytes: i64,
    num_blocks: u64,
    blocks_per_request: u64,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(limit) = config.max_model_len_limit
        && resolved.max_model_len > limit
    {
        problems.push(Problem::ContextTooLong {
            requested: resolved.max_model_len,
            limit,
        });
    }
    if available_kv_bytes <= 0 {
        problems.push(Problem::NoKvMemory {
            available_bytes: available_kv_bytes,
        });
    } else if blocks_per_request > num_blocks {
        problems.push(Problem::RequestDoesNotFit {
            needed_bytes: blocks_per_request * plan.bytes_per_block(),
            available_bytes: available_kv_bytes,
        });
    } else if plan.has_state() && !resolved.enforce_eager && resolved.max_num_seqs > num_blocks {
        problems.push(Problem::TooManySequencesForState {
            max_num_seqs: resolved.max_num_seqs,
            state_blocks: num_blocks,
        });
    }
    problems
}

/// The longest context that fits in `num_blocks`: blocks needed grow with the length, so bisect.
fn longest_context_that_fits(
    config: &ModelConfig,
    plan: &KvPlan,
    resolved: &Resolved,
    num_blocks: u64,
) -> Option<u64> {
    let max_model_len = resolved.max_model_len;
    let ceiling = config
        .max_model_len_limit
        .unwrap_or(max_model_len)
        .max(max_model_len);
    let fits_len =
        |len: u64| plan.blocks_per_request(len, resolved.max_num_batched_tokens) <= num_blocks;
    if num_blocks == 0 || !fits_len(1) {
        return None;
    }
    let limit = config.max_model_len_limit.unwrap_or(ceiling).min(ceiling);
    let (mut low, mut high) = (1u64, limit);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if fits_len(mid) {
            low = mid
        } else {
            high = mid - 1
        }
    }
    Some(low)
}
