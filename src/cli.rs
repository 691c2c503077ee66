//! The command line, as clap derive types only. Commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env;
use crate::sizing::cuda_graphs::CudaGraphMode;
use crate::sizing::{DtypeChoice, KvCacheDtype, LoadQuantization};

#[derive(Debug, Parser)]
#[command(
    name = "llmops",
    version,
    about = "Move large language models from experiment to production safely, and tell CI whether they fit on the GPU",
    after_help = env::help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after its name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: tables for people, or one JSON document on stdout for scripts
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Print only results and errors: no progress, no notes (warnings still go to stderr)
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// No progress bars or progress lines (also LLMOPS_NO_PROGRESS=1)
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// When to colour the output; `auto` colours a terminal unless NO_COLOR is set
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The MLflow tracking server.
#[derive(Debug, Clone, Args)]
pub struct TrackingArgs {
    /// MLflow tracking server, http(s)://host:port
    #[arg(long, env = env::MLFLOW_TRACKING_URI)]
    pub tracking_uri: Option<String>,
}

/// Where the MLflow server keeps artifacts, for reading them from S3 directly.
#[derive(Debug, Clone, Args)]
pub struct ArtifactStoreArgs {
    /// The MLflow server's artifact store, s3://BUCKET[/PREFIX], for mlflow-artifacts:/ runs
    #[arg(long, env = env::LLMOPS_ARTIFACTS_DESTINATION)]
    pub artifacts_destination: Option<String>,
}

/// The dev dataset root (or dev Triton repository).
#[derive(Debug, Args)]
pub struct DevRootArgs {
    /// The dev dataset root (binaries are staged at <DEV_ROOT>/llm-models/<parent-run-id>/), or the dev Triton repository
    #[arg(long, env = env::LLMOPS_DEV_ROOT)]
    pub dev_root: Option<PathBuf>,
}

/// The prod dataset root (or prod Triton repository).
#[derive(Debug, Clone, Args)]
pub struct ProdRootArgs {
    /// The prod dataset root (models land in <PROD_ROOT>/llm-models/<parent-run-id>/), or the prod Triton repository
    #[arg(long, env = env::LLMOPS_PROD_ROOT)]
    pub prod_root: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register a model folder in MLflow: parent run with the binaries, dev staging, child pyfunc, version
    Register(RegisterArgs),
    /// Upload a registered version's binaries into its parent run, once it is tested
    Publish(PublishArgs),
    /// Put a registered version's binaries into the prod dataset, from S3, verified and atomic
    Promote(PromoteArgs),
    /// Record a manifest for a version registered by another tool, hashed from its bytes in S3
    Adopt(AdoptArgs),
    /// Move an alias back to the version it pointed to before, after checking its prod copy
    Rollback(RollbackArgs),
    /// Where a version came from and where it went: source, runs, datasets, metrics, aliases, promotions
    Lineage(LineageArgs),
    /// Remove prod folders of versions nothing serves: not aliased, not among the N last promoted, no adapter's base
    Prune(PruneArgs),
    /// Show every version of a registered model: staged in dev, published, promoted, verified
    Status(StatusArgs),
    /// Re-hash the prod copy of a version against its manifest
    Verify(VerifyArgs),
    /// Predict the GPU memory vLLM will allocate for a model, and whether it fits
    Size(SizeArgs),
    /// Check the setup for a role: tracking server, authentication, AWS credentials, roots, Triton, clock
    Doctor(DoctorArgs),
    /// Show the resolved configuration: every setting, its value, and where it came from
    Config(ConfigArgs),
    /// Write shell completions and man pages (for packagers)
    #[command(hide = true)]
    Generate(GenerateArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables for people
    Table,
    /// One JSON document on stdout, for scripts
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 fits, 1 does not fit, 2 usage error or unreadable/invalid input."
)]
pub struct SizeArgs {
    /// A model directory (config.json plus safetensors files), a config.json, or where a model already
    /// is: models:/<name>/<version>, models:/<name>@<alias>, runs:/<run>/<path>, s3://bucket/prefix
    pub model: PathBuf,

    #[command(flatten)]
    pub tracking: TrackingArgs,

    #[command(flatten)]
    pub artifact_store: ArtifactStoreArgs,

    /// Context length(s) to size for, as vLLM reads them (32k, 32K, or auto: the longest that fits); comma-separated for a sweep [default: the config's]
    #[arg(long, value_delimiter = ',', value_parser = parse_max_model_len, allow_hyphen_values = true)]
    pub max_model_len: Vec<MaxModelLen>,

    /// GPU(s) from the catalogue, case-insensitive; comma-separated for a sweep [default: H100-80GB]
    #[arg(long, value_delimiter = ',', env = env::LLMOPS_GPU, conflicts_with = "gpu_memory")]
    pub gpu: Vec<String>,

    /// Total memory of one GPU as the CUDA runtime reports it, e.g. 79.19GiB or 81559MiB
    #[arg(long, value_parser = parse_memory)]
    pub gpu_memory: Option<u64>,

    /// GPUs one model is split across
    #[arg(long, visible_alias = "tp", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=512))]
    pub tensor_parallel_size: u64,

    /// Pipeline stages, each on its own --tensor-parallel-size GPUs; the stage with the fewest KV blocks sets every stage's
    #[arg(long, visible_alias = "pp", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub pipeline_parallel_size: u64,

    /// Replicas of the model, each on its own --tensor-parallel-size GPUs
    #[arg(long, visible_alias = "dp", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub data_parallel_size: u64,

    /// MoE experts spread whole over the tensor × data parallel GPUs, as vLLM's --enable-expert-parallel
    #[arg(long)]
    pub enable_expert_parallel: bool,

    /// Fraction of each GPU's total memory vLLM may use [default: vLLM's, 0.92 from 0.20, 0.9 before]
    #[arg(long, value_parser = parse_fraction)]
    pub gpu_memory_utilization: Option<f64>,

    /// KV cache element type
    #[arg(long, value_enum, default_value_t = KvCacheDtype::Auto)]
    pub kv_cache_dtype: KvCacheDtype,

    /// KV cache per GPU in bytes, as vLLM's --kv-cache-memory-bytes (8G = 8 GiB, 8g = 8 GB); replaces --gpu-memory-utilization's budget
    #[arg(long, value_parser = crate::units::parse_vllm_int, conflicts_with = "gpu_memory_utilization")]
    pub kv_cache_memory_bytes: Option<u64>,

    /// Weights and activations type; auto follows config.json (float32 checkpoints are served in bfloat16)
    #[arg(long, value_enum, default_value_t = DtypeChoice::Auto)]
    pub dtype: DtypeChoice,

    /// Quantize an unquantized checkpoint as it loads, as vLLM's --quantization fp8 (linear and expert weights to 1 byte; embeddings and LM head stay)
    #[arg(long, value_enum)]
    pub quantization: Option<LoadQuantization>,

    /// Maximum sequences per step [default: vLLM's, 1024 on large Hopper/Blackwell GPUs, else 256]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_num_seqs: Option<u64>,

    /// Maximum tokens per step [default: vLLM's, 8192 on large Hopper/Blackwell GPUs, else 2048]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_num_batched_tokens: Option<u64>,

    /// No CUDA graphs (vLLM's --enforce-eager)
    #[arg(long)]
    pub enforce_eager: bool,

    /// Which CUDA graphs vLLM captures (`cudagraph_mode` in its --compilation-config) [default: FULL_AND_PIECEWISE from vLLM 0.11, PIECEWISE before]
    #[arg(long, value_enum, conflicts_with = "enforce_eager")]
    pub cudagraph_mode: Option<CudaGraphMode>,

    /// The largest batch vLLM captures a graph for (its --max-cudagraph-capture-size) [default: 2 × max-num-seqs, at most 512]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000), conflicts_with = "enforce_eager")]
    pub max_cudagraph_capture_size: Option<u64>,

    /// The vLLM release whose accounting, defaults and log lines to reproduce, 0.10 to 0.33 (latest = 0.33)
    #[arg(long, default_value = "latest", env = env::LLMOPS_VLLM_VERSION)]
    pub vllm_version: String,

    /// A LoRA adapter to serve on the model: a registered adapter (models:/NAME/V) or an adapter folder (repeatable)
    #[arg(long, value_name = "ADAPTER")]
    pub lora: Vec<String>,

    /// vLLM's --max-loras: adapters in one batch, each a slot on every GPU [default: 1]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_loras: Option<u64>,

    /// vLLM's --max-lora-rank [default: the smallest vLLM accepts that holds every adapter's rank]
    #[arg(long)]
    pub max_lora_rank: Option<u64>,

    /// A real vLLM start-up log: size with the settings it shows (non-default args, defaults, GPU memory, version) and compare each figure it printed; exit 1 when the verdict differs or available KV is off by more than --tolerance
    #[arg(long, value_name = "LOG", conflicts_with = "max_model_len")]
    pub against_log: Option<PathBuf>,

    /// With --against-log: how far available KV may be from the log, in percent
    #[arg(long, default_value = "5%", value_parser = parse_percent, requires = "against_log")]
    pub tolerance: f64,
}

/// `5%` or `5`: a percentage between 0 and 100.
fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("`{text}` is not a percentage between 0 and 100")),
    }
}

fn parse_memory(text: &str) -> Result<u64, String> {
    crate::units::parse_bytes(text)
}

/// A number of seconds for a timeout: more than 0 and at most a day.
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "`{text}` must be a number of seconds more than 0 and at most 86400"
        )),
    }
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if f > 0.0 && f <= 1.0 => Ok(f),
        _ => Err(format!(
            "`{text}` must be a fraction greater than 0 and at most 1, such as 0.9"
        )),
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 registered, 1 failed (runs marked FAILED), 2 usage error or invalid input."
)]
pub struct RegisterArgs {
    /// The model folder: config.json, safetensors shards, tokenizer files (symlinks are followed)
    pub model_dir: PathBuf,

    /// Registered model name
    #[arg(long)]
    pub name: String,

    /// MLflow experiment for the runs [default: MLFLOW_EXPERIMENT_NAME, else the model name]
    #[arg(long)]
    pub experiment: Option<String>,

    /// Also upload the binaries into the parent run now (otherwise run `llmops publish` later)
    #[arg(long)]
    pub publish: bool,

    /// Where the binaries are served from: the LLM layout, or a Triton model repository
    #[arg(long, value_enum, default_value_t = Target::Llm)]
    pub target: Target,

    /// With --target triton: the registered name of the proxy (client) model [default: <NAME>-client]
    #[arg(long)]
    pub client_name: Option<String>,

    /// With --target triton: the inference server the proxy routes to (the reference's inference_server_name)
    #[arg(long, default_value = "triton-domino-pre-load-inference")]
    pub inference_server: String,

    /// With --target triton: the config.pbtxt to use instead of the folder's own
    #[arg(long)]
    pub config_pbtxt: Option<PathBuf>,

    /// Size the model for this GPU and record the verdict on the version (llmops.size.* tags)
    #[arg(long)]
    pub gpu: Option<String>,

    /// With --gpu: the context length to size for [default: the config's]
    #[arg(long, requires = "gpu", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_model_len: Option<u64>,

    #[command(flatten)]
    pub dev: DevRootArgs,

    /// Your model-from-code file (it must call mlflow.models.set_model); default: the transformers template
    #[arg(long, conflicts_with = "template")]
    pub python_model: Option<PathBuf>,

    /// A built-in model template
    #[arg(long, value_enum)]
    pub template: Option<Template>,

    /// Extra pip requirement for the model's environment (repeatable)
    #[arg(long, value_name = "SPEC")]
    pub pip_requirement: Vec<String>,

    /// Tag for the runs and the version, KEY=VALUE (repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
    pub tag: Vec<String>,

    /// Description of the registered model and version
    #[arg(long)]
    pub description: Option<String>,

    /// For a LoRA adapter folder: the registered base version it was trained on (models:/NAME/V, models:/NAME@ALIAS)
    #[arg(long, value_name = "MODEL_REF")]
    pub base: Option<String>,

    /// What the model came from: hf://ORG/NAME@REVISION, or an s3://, gs://, http(s):// or models:/ URI [default: read from a Hugging Face cache snapshot's path or config.json's _name_or_path]
    #[arg(long, value_name = "URI")]
    pub source: Option<String>,

    /// The MLflow run that trained the model; `llmops lineage` follows it and promotion gates read its metrics
    #[arg(long, value_name = "RUN_ID")]
    pub training_run: Option<String>,

    /// A dataset the model was trained on, NAME=URI (s3://, gs://, hf://ORG/NAME@REVISION, http(s)://, /path), logged as an input of the parent run (repeatable)
    #[arg(long, value_name = "NAME=URI")]
    pub dataset: Vec<String>,

    #[command(flatten)]
    pub tracking: TrackingArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// <root>/llm-models/<parent-run-id>/ (vLLM, transformers); --dev-root/--prod-root are dataset roots
    Llm,
    /// <repo>/<model>/config.pbtxt and <repo>/<model>/<version>/; --dev-root/--prod-root are Triton repositories
    Triton,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// A text-generation pipeline over $LOCAL_ROOT_FOLDER/llm-models/<run_id>
    Transformers,
    /// A proxy that forwards KServe v2 infer bodies to Triton (the default with --target triton)
    Triton,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 published (or already published), 1 failed, 2 usage error or invalid input."
)]
pub struct PublishArgs {
    /// models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/latest, or <name> with --version
    pub model: String,

    /// The version, when MODEL is a bare name
    #[arg(long)]
    pub version: Option<String>,

    #[command(flatten)]
    pub dev: DevRootArgs,

    #[command(flatten)]
    pub tracking: TrackingArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 adopted (or already carrying a manifest), 1 failed, 2 usage error or invalid input."
)]
pub struct AdoptArgs {
    /// models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/latest, or <name> with --version
    pub model: String,

    /// The version, when MODEL is a bare name
    #[arg(long)]
    pub version: Option<String>,

    #[command(flatten)]
    pub artifact_store: ArtifactStoreArgs,

    /// Hash the bytes and show the manifest's digest; record nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub tracking: TrackingArgs,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit codes: 0 promoted (or already promoted, or a dry run), 1 failed, 2 usage error or invalid input."
)]
pub struct PromoteArgs {
    /// models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/latest, or <name> with --version
    pub model: String,

    /// The version, when MODEL is a bare name
    #[arg(long)]
    pub version: Option<String>,

    #[command(flatten)]
    pub prod: ProdRootArgs,

    #[command(flatten)]
    pub artifact_store: ArtifactStoreArgs,

    /// Move this alias to the promoted version
    #[arg(long)]
    pub alias: Option<String>,

    /// Show the caller, the source, the files and the destination; download nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Promote even when no manifest recorded at registration vouches for the files (a version
    /// registered by another tool, or whose manifest is gone): sizes and ETags only, said in the
    /// audit tags
    #[arg(long)]
    pub allow_unverified: bool,

    /// For a LoRA adapter: refuse, rather than promote its base first, when the base is not in prod
    #[arg(long)]
    pub no_base: bool,

    /// A gate the version must pass before anything is downloaded: 'metric:<key> >= <number>' (also <=, >, <, ==) or 'tag:<key>=<value>' (repeatable)
    #[arg(long, value_name = "GATE")]
    pub require: Vec<String>,

    /// The version's metric must beat the one of the version holding the alias now: '@<alias>:<metric>' (append ':lower' when lower is better)
    #[arg(long, value_name = "@ALIAS:METRIC")]
    pub require_better_than: Option<String>,

    /// Where the binaries are served from (for Triton, --prod-root is the model repository)
    #[arg(long, value_enum, default_value_t = Target::Llm)]
    pub target: Target,

    /// Refuse to promote a model that will not start on --gpu with --max-model-len (sized from the
    /// published safetensors headers, without downloading the tensors)
    #[arg(long, requires = "gpu")]
    pub require_fit: bool,

    /// With --require-fit: the GPU the endpoint runs on
    #[arg(long)]
    pub gpu: Option<String>,

    /// With --require-fit: the context length the endpoint serves [default: the config's]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_model_len: Option<u64>,

    /// With --require-fit: GPUs per endpoint
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=512))]
    pub tensor_parallel_size: u64,

    /// With --target triton: Triton's HTTP address, for --load
    #[arg(long, env = env::LLMOPS_TRITON_URL)]
    pub triton_url: Option<String>,

    /// With --target triton: ask Triton to load the version, and wait until it is ready
    #[arg(long, requires = "triton_url")]
    pub load: bool,

    /// Seconds to wait for Triton to report the version ready [default: 120]
    #[arg(long, default_value_t = 120.0, value_parser = parse_seconds)]
    pub load_timeout: f64,

    /// Requests in flight [default: 32]
    #[arg(long, env = env::LLMOPS_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: Option<u16>,

    /// Objects larger than this are fetched in ranged parts of this size [default: 64MiB]
    #[arg(long)]
    pub part_size: Option<String>,

    /// Seconds without a byte before a read is retried [default: 30]
    #[arg(long, value_parser = parse_seconds)]
    pub stall_timeout: Option<f64>,

    #[command(flatten)]
    pub tracking: TrackingArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 rolled back (or a dry run), 1 failed or refused, 2 usage error or invalid input."
)]
pub struct RollbackArgs {
    /// Registered model name
    pub name: String,

    /// The alias to move back
    #[arg(long, default_value = "champion")]
    pub alias: String,

    /// The version to move it to [default: the one it pointed to before, from the prod root's audit log]
    #[arg(long)]
    pub to: Option<String>,

    /// Show what would change; change nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub prod: ProdRootArgs,

    #[command(flatten)]
    pub artifact_store: ArtifactStoreArgs,

    #[command(flatten)]
    pub tracking: TrackingArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Exit codes: 0 shown, 1 failed, 2 usage error or invalid input.")]
pub struct LineageArgs {
    /// models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/latest, or <name> with --version
    pub model: String,

    /// The version, when MODEL is a bare name
    #[arg(long)]
    pub version: Option<String>,

    /// The graph as text for a review or a wiki, instead of the table
    #[arg(long, value_enum)]
    pub format: Option<GraphFormat>,

    /// Also read the promotions recorded in this prod root's audit log
    #[arg(long, env = env::LLMOPS_PROD_ROOT)]
    pub prod_root: Option<PathBuf>,

    #[command(flatten)]
    pub tracking: TrackingArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 pruned (or nothing to prune, or a dry run), 1 failed, 2 usage error or invalid input."
)]
pub struct PruneArgs {
    /// Registered model name
    pub name: String,

    /// Keep the N most recently promoted versions, besides every aliased one
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub keep: u64,

    /// Show what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub prod: ProdRootArgs,

    #[command(flatten)]
    pub tracking: TrackingArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Registered model name
    pub name: String,

    #[command(flatten)]
    pub dev: DevRootArgs,

    #[command(flatten)]
    pub prod: ProdRootArgs,

    #[command(flatten)]
    pub tracking: TrackingArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 every file matches, 1 a file differs or is missing, 2 usage error."
)]
pub struct VerifyArgs {
    /// models:/<name>/<version>, models:/<name>@<alias>, or <name> with --version
    pub model: String,

    /// The version, when MODEL is a bare name
    #[arg(long)]
    pub version: Option<String>,

    #[command(flatten)]
    pub prod: ProdRootArgs,

    #[command(flatten)]
    pub tracking: TrackingArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Precedence: flags > environment > ./llmops.toml > $XDG_CONFIG_HOME/llmops/config.toml > defaults."
)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub what: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting with its value and source; secrets only as set or not set
    Show,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: Generate,
}

#[derive(Debug, Subcommand)]
pub enum Generate {
    /// Shell completion scripts for bash, zsh, fish, powershell and elvish
    Completions {
        /// Directory to write them to
        dir: PathBuf,
    },
    /// Man pages (llmops.1 and one per command)
    Man {
        /// Directory to write them to
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// register and publish: tracking server, dev root
    DataScientist,
    /// promote: tracking server, AWS credentials, artifact store, prod root
    ProdDeployer,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 every check for the role passes, 1 a check failed (its fix is printed), 2 usage error."
)]
pub struct DoctorArgs {
    /// Whose setup to check
    #[arg(long, value_enum, default_value_t = Role::DataScientist)]
    pub role: Role,

    #[command(flatten)]
    pub tracking: TrackingArgs,

    #[command(flatten)]
    pub artifact_store: ArtifactStoreArgs,

    #[command(flatten)]
    pub dev: DevRootArgs,

    #[command(flatten)]
    pub prod: ProdRootArgs,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    /// The help states promote's transfer defaults by hand; they must be the engine's.
    #[test]
    fn promote_help_names_the_download_defaults() {
        use clap::CommandFactory;
        let defaults = crate::transfer::download::DownloadOptions::default();
        let mut command = super::Cli::command();
        let promote = command.find_subcommand_mut("promote").expect("promote");
        let help_of = |name: &str| {
            promote
                .get_arguments()
                .find(|a| a.get_id() == name)
                .and_then(|a| a.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default()
        };
        let concurrency = format!("[default: {}]", defaults.concurrency);
        assert!(help_of("concurrency").contains(&concurrency));
        let part_mib = defaults.part_size / (1024 * 1024);
        assert!(help_of("part_size").contains(&format!("[default: {part_mib}MiB]")));
    }
}

/// `--max-model-len` as vLLM takes it: a count (`human_readable_int_or_auto`), or `auto` / `-1`,
/// the longest context that fits (`vllm/v1/core/kv_cache_utils.py`, `_auto_fit_max_model_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxModelLen {
    Tokens(u64),
    Auto,
}

fn parse_max_model_len(text: &str) -> Result<MaxModelLen, String> {
    if text.trim() == "-1" || text.trim().eq_ignore_ascii_case("auto") {
        return Ok(MaxModelLen::Auto);
    }
    match crate::units::parse_vllm_int(text)? {
        n @ 1..=100_000_000 => Ok(MaxModelLen::Tokens(n)),
        n => Err(format!(
            "{n} is not a context length between 1 and 100,000,000 tokens"
        )),
    }
}
