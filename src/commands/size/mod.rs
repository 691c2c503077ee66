//! `llmops size`: one report per (GPU, context length), built from the sizing library.

mod against_log;
mod lora;
mod render;

use std::sync::Arc;

use serde::Serialize;

use crate::mlflow;
use crate::progress::Reporter;
use crate::registry::names::tag;
use crate::registry::{self, ModelRef};
use crate::s3::S3Location;

use crate::cli::MaxModelLen;
use crate::cli::SizeArgs;
use crate::exit::UserError;
use crate::sizing::gpus::{self, Gpu};
use crate::sizing::tool_calling::{self, Templates, ToolCalling};
use crate::sizing::verdict::{self, Advice};
use crate::sizing::weights::WeightSource;
use crate::sizing::{
    Estimate, Model, ModelError, Problem, Resolved, Settings, SettingsError, VllmVersion,
    architectures,
    config::{Mixer, Window},
    estimate,
};
use crate::units::{gib, thousands};
use crate::{env, units};

/// The model where it already is: `models:/name/3` (or `@alias`), `runs:/<run>/<path>`, or
/// `s3://bucket/prefix/model/`. The registry says where a version's bytes are. A registered LoRA
/// adapter sizes its base, with the adapter to serve on it.
async fn load_remote(
    reference: &str,
    args: &SizeArgs,
    client: Option<&mlflow::MlflowClient>,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<(Model, Option<lora::AdapterEntry>, Option<String>)> {
    let destination = args.artifact_store.artifacts_destination.as_deref();
    let mut adapter = None;
    let mut parser_tag = None;
    let location = match (reference.strip_prefix("runs:/"), client) {
        _ if reference.starts_with("s3://") => {
            S3Location::parse(reference).map_err(UserError::usage)?
        }
        (Some(rest), Some(client)) => {
            let (run_id, path) = rest
                .split_once('/')
                .unwrap_or((rest, registry::MODEL_ARTIFACT_DIR));
            let run = client.get_run(run_id).await?;
            registry::artifact_location(&run.info.artifact_uri, run_id, destination)?.join(path)
        }
        (None, Some(client)) => {
            let mut model_ref = ModelRef::parse(reference, None).map_err(UserError::usage)?;
            let version = registry::resolve_version(client, &model_ref).await?;
            parser_tag = version.tag(tag::TOOL_CALL_PARSER).map(str::to_string);
            if let Some(entry) = lora::registered_entry(&version) {
                let (name, number) = (
                    version.tag(tag::BASE_NAME).unwrap_or_default(),
                    version.tag(tag::BASE_VERSION).unwrap_or_default(),
                );
                model_ref = ModelRef::parse(&format!("models:/{name}/{number}"), None)
                    .map_err(UserError::failed)?;
                adapter = Some(entry);
            }
            registry::locate(client, &model_ref, destination, reporter.as_ref())
                .await?
                .binaries()
        }
        (_, None) => return Err(UserError::usage("no MLflow client").into()),
    };
    let (s3, _) = crate::s3::clients().await;
    Ok((
        crate::sizing::remote::load_from(&s3, &location).await?,
        adapter,
        parser_tag,
    ))
}

/// The tool-call parser: from the chat template beside a local config.json, or the one `register`
/// recorded on a version.
fn tool_calling_of(args: &SizeArgs, model: &Model, parser_tag: Option<String>) -> ToolCalling {
    let model_type = model.config.model_type.as_str();
    if let Some(parser) = parser_tag {
        return tool_calling::from_recorded(model_type, &parser);
    }
    if crate::sizing::remote::is_remote(&args.model.to_string_lossy()) {
        return tool_calling::recommend(model_type, Templates::NotRead);
    }
    let dir = model
        .config_path
        .parent()
        .unwrap_or(std::path::Path::new("."));
    match registry::provenance::chat_templates(dir) {
        Ok(Some((templates, _))) => {
            tool_calling::recommend(model_type, Templates::Found(&templates))
        }
        Ok(None) => tool_calling::recommend(model_type, Templates::Absent),
        Err(_) => tool_calling::recommend(model_type, Templates::NotRead),
    }
}

/// The model and the adapters to size it for (`--lora`, or the model itself when it is an adapter).
fn load(
    args: &SizeArgs,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<(Model, Vec<lora::AdapterEntry>, ToolCalling)> {
    let reference = args.model.to_string_lossy().to_string();
    let (registered, folders): (Vec<&str>, Vec<&str>) = args
        .lora
        .iter()
        .map(String::as_str)
        .partition(|l| l.starts_with("models:/"));
    let remote = crate::sizing::remote::is_remote(&reference);
    let (mut model, mut adapters, parser_tag) = if remote || !registered.is_empty() {
        // Only the headers are fetched: config.json, and 8 + N bytes of each safetensors file.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let needs_client = !reference.starts_with("s3://") || !registered.is_empty();
            let client = match needs_client {
                true => Some(mlflow::client_from(
                    args.tracking.tracking_uri.as_deref(),
                    reporter.clone(),
                )?),
                false => None,
            };
            let (model, itself, parser_tag) = match remote {
                true => load_remote(&reference, args, client.as_ref(), reporter).await?,
                false => (Model::load(&args.model).map_err(model_error)?, None, None),
            };
            let mut adapters: Vec<lora::AdapterEntry> = itself.into_iter().collect();
            if let Some(client) = &client {
                adapters.extend(lora::resolve_registered(client, &registered).await?);
            }
            anyhow::Ok((model, adapters, parser_tag))
        })?
    } else {
        (
            Model::load(&args.model).map_err(model_error)?,
            Vec::new(),
            None,
        )
    };
    if let Some(method) = args.quantization {
        model.quantize_at_load(method).map_err(settings_error)?;
    }
    adapters.extend(lora::resolve_folders(&folders, &model.config)?);
    let tool_calling = tool_calling_of(args, &model, parser_tag);
    Ok((model, adapters, tool_calling))
}

/// Bumped only when a field is renamed or removed; new fields may appear within a version.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct SizeReport {
    pub schema_version: u32,
    pub model: ModelSummary,
    pub gpu: GpuSummary,
    pub settings: SettingsSummary,
    pub per_gpu: PerGpu,
    pub total: Total,
    pub max_concurrency: f64,
    pub fits: bool,
    pub problems: Vec<ProblemSummary>,
    pub max_model_len_that_fits: Option<u64>,
    pub advice: Advice,
    /// Arguments to paste into `vllm serve` (null when the model does not fit as asked).
    pub vllm_args: Option<String>,
    /// `--kv-cache-memory-bytes` that pins this KV budget, as vLLM suggests it (the requested memory
    /// less weights, activations, non-torch and CUDA-graph memory, less 150 MiB); null when pinned
    /// already or when nothing is left.
    pub kv_cache_memory_bytes_to_pin: Option<u64>,
    /// `--pipeline-parallel-size` above 1: each stage's figures per GPU (`per_gpu` is the stage
    /// with the fewest KV blocks, the count every stage gets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pipeline_stages: Vec<crate::sizing::pipeline::StageEstimate>,
    /// `--enable-lora`: the slots, the rank and the adapters sized for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lora: Option<lora::LoraSummary>,
    /// With `--max-model-len auto`: what vLLM's auto-fit would log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_fit: Option<String>,
    /// `--tool-call-parser` for the model's chat template, and whether auto tool choice applies.
    pub tool_calling: ToolCalling,
    /// The lines vLLM would log at start-up, to compare with a real log.
    pub vllm_log: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ModelSummary {
    pub path: String,
    pub architecture: Option<String>,
    pub model_type: String,
    pub vllm_supported: bool,
    pub params: u64,
    pub weights_source: WeightSource,
    pub quantization: Option<String>,
    pub max_model_len_limit: Option<u64>,
    pub layers: LayerCounts,
}

#[derive(Debug, Default, Serialize)]
pub struct LayerCounts {
    pub full_attention: u64,
    pub sliding_window: u64,
    pub chunked_local: u64,
    pub state_space: u64,
    pub mlp_only: u64,
}

#[derive(Debug, Serialize)]
pub struct GpuSummary {
    pub name: String,
    pub memory_bytes: u64,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct SettingsSummary {
    #[serde(flatten)]
    pub resolved: Resolved,
    pub vllm_version: String,
}

#[derive(Debug, Serialize)]
pub struct PerGpu {
    pub total_memory_bytes: u64,
    pub requested_bytes: u64,
    pub weights_bytes: u64,
    /// LoRA slots and metadata (0 without --lora).
    pub lora_bytes: u64,
    pub activation_bytes: u64,
    pub non_torch_bytes: u64,
    pub cuda_graph_bytes: u64,
    pub cuda_graph_outside_budget_bytes: u64,
    pub available_kv_bytes: i64,
    pub kv_bytes_per_token: u64,
    pub state_bytes_per_sequence: u64,
    pub num_blocks: u64,
    pub kv_tokens: u64,
}

#[derive(Debug, Serialize)]
pub struct Total {
    pub gpus: u64,
    pub weights_bytes: u64,
    pub kv_cache_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct ProblemSummary {
    #[serde(flatten)]
    pub problem: Problem,
    pub message: String,
}

/// One report, or a sweep's array of them (one per GPU × context length).
#[derive(Serialize)]
#[serde(untagged)]
pub enum SizeOutput {
    One(Box<SizeReport>),
    Sweep(Vec<SizeReport>),
    AgainstLog(Box<against_log::AgainstLogReport>),
}

pub fn run(args: &SizeArgs, reporter: Arc<dyn Reporter>) -> anyhow::Result<SizeOutput> {
    let (model, adapters, tool_calling) = load(args, reporter)?;
    if let Some(log) = &args.against_log {
        return Ok(SizeOutput::AgainstLog(Box::new(against_log::run(
            args, &model, log,
        )?)));
    }
    let lora = lora::serving(args, &adapters)?;
    let gpus = resolve_gpus(args)?;
    let vllm_version = VllmVersion::parse(&args.vllm_version).map_err(UserError::usage)?;
    let lengths: Vec<Option<MaxModelLen>> = if args.max_model_len.is_empty() {
        vec![None]
    } else {
        args.max_model_len.iter().copied().map(Some).collect()
    };

    let mut reports = Vec::new();
    for gpu in &gpus {
        for max_model_len in &lengths {
            let mut settings = Settings {
                max_model_len: match max_model_len {
                    Some(MaxModelLen::Tokens(n)) => Some(*n),
                    _ => None,
                },
                lora: lora.as_ref().map(|l| l.serving),
                ..settings_from_flags(args, vllm_version)
            };
            let auto_fit = match max_model_len {
                Some(MaxModelLen::Auto) => Some(auto_fit(&model, gpu, &mut settings)?),
                _ => None,
            };
            let mut sized = report(&model, gpu, &settings, (lora.as_ref(), &tool_calling))?;
            sized.auto_fit = auto_fit;
            reports.push(sized);
        }
    }
    Ok(if reports.len() == 1 {
        SizeOutput::One(Box::new(reports.remove(0)))
    } else {
        SizeOutput::Sweep(reports)
    })
}

/// The settings the flags give (no context length, no LoRA: those vary per report).
fn settings_from_flags(args: &SizeArgs, vllm_version: VllmVersion) -> Settings {
    Settings {
        max_model_len: None,
        tensor_parallel_size: args.tensor_parallel_size,
        pipeline_parallel_size: args.pipeline_parallel_size,
        data_parallel_size: args.data_parallel_size,
        expert_parallel: args.enable_expert_parallel,
        gpu_memory_utilization: args.gpu_memory_utilization,
        kv_cache_dtype: args.kv_cache_dtype,
        dtype: args.dtype,
        max_num_seqs: args.max_num_seqs,
        max_num_batched_tokens: args.max_num_batched_tokens,
        enforce_eager: args.enforce_eager,
        cudagraph_mode: args.cudagraph_mode,
        max_cudagraph_capture_size: args.max_cudagraph_capture_size,
        vllm_version,
        lora: None,
        kv_cache_memory_bytes: args.kv_cache_memory_bytes,
    }
}

/// `--max-model-len auto`: the config's length if it fits, else the longest that does, with the
/// line vLLM logs for it (`_auto_fit_max_model_len` in `kv_cache_utils.py`, from 0.26
/// `kv_cache_planning.py`; reworded in 0.32).
fn auto_fit(model: &Model, gpu: &Gpu, settings: &mut Settings) -> anyhow::Result<String> {
    let full = estimate(model, gpu, settings).map_err(|e| UserError::usage(e.to_string()))?;
    let original = full.settings.max_model_len;
    // From 0.29 vLLM plans without the null block, and 0.32 prints that figure.
    let version = settings.vllm_version;
    let planned = if version.reserves_null_block_in_fit_check() {
        full.available_kv_bytes - full.bytes_per_block as i64
    } else {
        full.available_kv_bytes
    };
    let memory = planned as f64 / units::GIB;
    let reworded = version.words_auto_fit_by_kv_memory();
    Ok(match full.max_model_len_that_fits {
        Some(fitted) if fitted >= original => {
            if reworded {
                format!("Auto-fit max_model_len: full model context length {original} fits in available KV cache memory ({memory:.2} GiB GPU)")
            } else {
                format!("Auto-fit max_model_len: full model context length {original} fits in available GPU memory")
            }
        }
        Some(fitted) => {
            settings.max_model_len = Some(fitted);
            if reworded {
                format!("Auto-fit max_model_len: reduced from {original} to {fitted} to fit in available KV cache memory ({memory:.2} GiB GPU)")
            } else {
                format!("Auto-fit max_model_len: reduced from {original} to {fitted} to fit in available GPU memory ({memory:.2} GiB available for KV cache)")
            }
        }
        None => "Cannot auto-fit max_model_len: not enough GPU memory available to serve even a single token. Try increasing `gpu_memory_utilization`.".into(),
    })
}

fn model_error(error: ModelError) -> anyhow::Error {
    let hint = match &error {
        ModelError::Missing { .. } => "pass a model directory or the path of its config.json",
        ModelError::NoConfig { .. } => {
            "`size` reads the model's config.json; download it beside the weights"
        }
        ModelError::Invalid { .. } => {
            "fix the field in config.json, or use the file published with the model"
        }
        _ => "check the file is complete (a partial download?) and readable",
    };
    UserError::usage(error.to_string()).with_hint(hint).into()
}

fn resolve_gpus(args: &SizeArgs) -> anyhow::Result<Vec<Gpu>> {
    if let Some(bytes) = args.gpu_memory {
        return Ok(vec![gpus::custom(bytes)]);
    }
    if args.gpu.is_empty() {
        return Ok(vec![
            *gpus::find("H100-80GB").expect("the catalogue has the H100"),
        ]);
    }
    args.gpu
        .iter()
        .map(|name| {
            gpus::find(name).copied().ok_or_else(|| {
                UserError::usage(format!("unknown GPU `{name}`"))
                    .with_hint(format!(
                        "use one of {}, a MIG slice such as `H100:3g.40gb` (profiles of {}), or give its memory with `--gpu-memory 79.19GiB`",
                        gpus::names().join(", "),
                        ["A100-40GB", "A100-80GB", "H100-80GB", "H200", "B200"].join(", ")
                    ))
                    .into()
            })
        })
        .collect()
}

/// A setting vLLM would refuse, with what to change.
fn settings_error(error: SettingsError) -> anyhow::Error {
    let hint = match &error {
        SettingsError::TensorParallelDoesNotDivideHeads { heads, .. } => {
            format!("use a `--tensor-parallel-size` that divides {heads}")
        }
        SettingsError::Unsupported(_) => "this model's layout is not one vLLM can serve".into(),
        SettingsError::LoraNotModelled(_) => "size the base without --lora".into(),
        SettingsError::PipelineDeeperThanModel { layers, .. } => {
            format!("use at most {layers} pipeline stages")
        }
        SettingsError::QuantizationMismatch { .. } => {
            "drop --quantization: vLLM serves the checkpoint as it is quantized".into()
        }
    };
    UserError::usage(error.to_string()).with_hint(hint).into()
}

fn report(
    model: &Model,
    gpu: &Gpu,
    settings: &Settings,
    (lora, tool_calling): (Option<&lora::LoraSummary>, &ToolCalling),
) -> anyhow::Result<SizeReport> {
    let mut current = estimate(model, gpu, settings).map_err(settings_error)?;
    if env::is_truthy(env::VLLM_ALLOW_LONG_MAX_MODEL_LEN) {
        current
            .problems
            .retain(|p| !matches!(p, Problem::ContextTooLong { .. }));
    }
    let config = &model.config;
    let architecture = config.architecture.clone();
    let vllm_supported = architecture
        .as_deref()
        .is_some_and(|name| architectures::is_supported(name, settings.vllm_version));
    let warnings = warnings(model, settings, &current, vllm_supported);

    let advice = verdict::advise(model, gpu, settings, &current);
    let tp = current.settings.tensor_parallel_size;
    let gpus = tp * current.settings.pipeline_parallel_size * current.settings.data_parallel_size;
    let fits = current.fits();
    // Totals add every stage's GPUs; without stages every GPU holds the same.
    let (weights_total, kv_total) = if current.pipeline_stages.is_empty() {
        (
            current.weights_bytes * tp,
            current.available_kv_bytes.max(0) as u64 * tp,
        )
    } else {
        let stages = &current.pipeline_stages;
        (
            stages.iter().map(|s| s.weights_bytes * tp).sum(),
            stages
                .iter()
                .map(|s| s.available_kv_bytes.max(0) as u64 * tp)
                .sum(),
        )
    };
    Ok(SizeReport {
        schema_version: SCHEMA_VERSION,
        model: ModelSummary {
            path: model.config_path.display().to_string(),
            architecture,
            model_type: config.model_type.clone(),
            vllm_supported,
            params: u64::try_from(model.params().total()).unwrap_or(u64::MAX),
            weights_source: current.weights_source,
            quantization: config.quantization.method.clone(),
            max_model_len_limit: config.max_model_len_limit,
            layers: layer_counts(model),
        },
        gpu: GpuSummary {
            name: gpu.name.to_string(),
            memory_bytes: gpu.memory_bytes,
            count: gpus,
        },
        settings: SettingsSummary {
            resolved: current.settings,
            vllm_version: settings.vllm_version.to_string(),
        },
        per_gpu: PerGpu {
            total_memory_bytes: current.total_memory_bytes,
            requested_bytes: current.requested_bytes,
            weights_bytes: current.weights_bytes,
            lora_bytes: current.lora_bytes,
            activation_bytes: current.activation_bytes,
            non_torch_bytes: current.non_torch_bytes,
            cuda_graph_bytes: current.cuda_graph_bytes,
            cuda_graph_outside_budget_bytes: current.cuda_graph_outside_budget_bytes,
            available_kv_bytes: current.available_kv_bytes,
            kv_bytes_per_token: current.kv_bytes_per_token,
            state_bytes_per_sequence: current.state_bytes_per_sequence,
            num_blocks: current.num_blocks,
            kv_tokens: current.kv_tokens,
        },
        total: Total {
            gpus,
            weights_bytes: weights_total,
            kv_cache_bytes: kv_total,
        },
        max_concurrency: current.max_concurrency,
        fits,
        problems: current
            .problems
            .iter()
            .map(|problem| ProblemSummary {
                problem: problem.clone(),
                message: problem_message(problem, &current),
            })
            .collect(),
        max_model_len_that_fits: current.max_model_len_that_fits,
        advice,
        vllm_args: fits.then(|| {
            verdict::vllm_args(&current)
                + &lora.map(lora::vllm_args).unwrap_or_default()
                + &tool_calling.vllm_args()
        }),
        auto_fit: None,
        kv_cache_memory_bytes_to_pin: (current.settings.kv_cache_memory_bytes.is_none()
            && current.suggested_kv_cache_memory_bytes > 0)
            .then_some(current.suggested_kv_cache_memory_bytes as u64),
        pipeline_stages: current.pipeline_stages.clone(),
        lora: lora.cloned(),
        tool_calling: tool_calling.clone(),
        vllm_log: vllm_log(&current, settings.vllm_version),
        warnings,
    })
}

/// What the user should know that is not a reason vLLM refuses to start.
fn warnings(
    model: &Model,
    settings: &Settings,
    current: &Estimate,
    vllm_supported: bool,
) -> Vec<String> {
    let config = &model.config;
    let mut warnings = Vec::new();
    if config.max_model_len_limit.is_none() && settings.max_model_len.is_none() {
        // vLLM's own warning, and what it does.
        warnings.push(format!(
            "config.json does not contain any of the keys that give the model's maximum length; vLLM assumes {} (pass --max-model-len to choose)",
            crate::sizing::ASSUMED_MAX_MODEL_LEN
        ));
    }
    match &config.architecture {
        None => warnings.push("config.json names no `architectures`; vLLM needs one to pick the model code".into()),
        Some(name) if !vllm_supported => warnings.push(format!(
            "`{name}` is not in vLLM {}'s model registry; vLLM may still serve it through its Transformers backend{}",
            settings.vllm_version,
            match crate::sizing::architectures::first_release_listing(name) {
                Some(first) if first > settings.vllm_version => format!(" (vLLM {first} and later list it)"),
                _ => String::new(),
            }
        )),
        _ => {}
    }
    if let Some((kernel, relayout)) = current.mxfp4_relayout.filter(|(_, bytes)| *bytes > 0) {
        let why = match kernel {
            crate::sizing::mxfp4::Mxfp4Kernel::Triton => {
                "it keeps the checkpoint's scales beside its own copy before vLLM 0.25"
            }
            _ => "it pads the expert widths",
        };
        warnings.push(format!(
            "mxfp4 experts are counted as vLLM's {kernel} MoE kernel holds them on this GPU, {} per GPU over the checkpoint: {why}",
            crate::units::gib(relayout as f64),
        ));
    }
    if let Some(method) = &config.quantization.method
        && config.quantization.bytes_per_param.is_none()
        && model.checkpoint.is_none()
    {
        warnings.push(format!(
            "quantization `{method}` is not modelled; weights are sized as unquantized (give the model directory for exact bytes)"
        ));
    }
    if current.cuda_graph_outside_budget_bytes > 0 {
        warnings.push(format!(
            "vLLM {} captures CUDA graphs (~{}) outside --gpu-memory-utilization; keep that much free",
            settings.vllm_version,
            gib(current.cuda_graph_outside_budget_bytes as f64)
        ));
    }
    warnings
}

fn layer_counts(model: &Model) -> LayerCounts {
    let mut counts = LayerCounts::default();
    for layer in &model.config.layers {
        match layer.mixer {
            Mixer::Attention(Window::Full) => counts.full_attention += 1,
            Mixer::Attention(Window::Sliding(_)) => counts.sliding_window += 1,
            Mixer::Attention(Window::ChunkedLocal(_)) => counts.chunked_local += 1,
            Mixer::Mamba | Mixer::LinearAttention => counts.state_space += 1,
            Mixer::None => counts.mlp_only += 1,
        }
    }
    counts
}

/// vLLM's start-up lines for this estimate, in its own format (`gpu_model_runner.py`,
/// `gpu_worker.py`, `kv_cache_utils.py`).
fn vllm_log(estimate: &Estimate, vllm_version: VllmVersion) -> Vec<String> {
    let mut lines = vec![
        format!(
            "Model loading took {:.4} GiB memory",
            (estimate.weights_bytes + estimate.lora_bytes) as f64 / units::GIB
        ),
        format!(
            "Available KV cache memory: {}",
            gib(estimate.available_kv_bytes as f64)
        ),
    ];
    if estimate.available_kv_bytes > 0 {
        let tokens = format!(
            "GPU KV cache size: {} tokens",
            thousands(estimate.kv_tokens)
        );
        let concurrency = format!(
            "Maximum concurrency for {} tokens per request: {:.2}x",
            thousands(estimate.settings.max_model_len),
            estimate.max_concurrency
        );
        if vllm_version.logs_capacity_on_one_line() {
            lines.push(format!("{tokens}, {concurrency}"));
        } else {
            lines.extend([tokens, concurrency]);
        }
    }
    lines
}

/// The error vLLM would raise, in its words where it has them.
fn problem_message(problem: &Problem, estimate: &Estimate) -> String {
    match problem {
        Problem::ContextTooLong { requested, limit } => format!(
            "User-specified max_model_len ({requested}) is greater than the derived max_model_len ({limit}); \
             vLLM refuses it unless VLLM_ALLOW_LONG_MAX_MODEL_LEN=1"
        ),
        Problem::PinnedKvCacheTooLarge { over_bytes } => format!(
            "--kv-cache-memory-bytes with the weights and overhead exceeds the GPU's memory by {}: \
             vLLM runs out of memory allocating the KV cache",
            gib(*over_bytes as f64)
        ),
        Problem::NoKvMemory { available_bytes } => format!(
            "No available memory for the cache blocks: weights and overhead leave {} for the KV cache",
            gib(*available_bytes as f64)
        ),
        Problem::RequestDoesNotFit {
            needed_bytes,
            available_bytes,
        } => format!(
            "To serve at least one request with the model's max seq len ({}), ({}) KV cache is needed, \
             which is larger than the available KV cache memory ({}).{}",
            estimate.settings.max_model_len,
            gib(*needed_bytes as f64),
            gib(*available_bytes as f64),
            estimate
                .max_model_len_that_fits
                .map(|len| format!(
                    " Based on the available memory, the estimated maximum model length is {len}."
                ))
                .unwrap_or_default()
        ),
        Problem::TooManySequencesForState {
            max_num_seqs,
            state_blocks,
        } => format!(
            "max_num_seqs ({max_num_seqs}) exceeds available Mamba cache blocks ({state_blocks}); \
             lower --max-num-seqs to at most {state_blocks}"
        ),
    }
}
