//! The command line, as clap derive types only. Commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env;
use crate::sizing::{DtypeChoice, KvCacheDtype};

#[derive(Debug, Parser)]
#[command(
    name = "llmops",
    version,
    about = "Move large language models from experiment to production safely, and tell CI whether they fit on the GPU",
    after_help = env::help(),
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Predict the GPU memory vLLM will allocate for a model, and whether it fits
    Size(SizeArgs),
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
    /// A model directory (config.json plus safetensors files) or a config.json
    pub model: PathBuf,

    /// Context length(s) to size for; comma-separated for a sweep [default: the config's]
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_model_len: Vec<u64>,

    /// GPU(s) from the catalogue, case-insensitive; comma-separated for a sweep [default: H100-80GB]
    #[arg(long, value_delimiter = ',', env = env::LLMOPS_GPU, conflicts_with = "gpu_memory")]
    pub gpu: Vec<String>,

    /// Total memory of one GPU as the CUDA runtime reports it, e.g. 79.19GiB or 81559MiB
    #[arg(long, value_parser = parse_memory)]
    pub gpu_memory: Option<u64>,

    /// GPUs one model is split across
    #[arg(long, visible_alias = "tp", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=512))]
    pub tensor_parallel_size: u64,

    /// Fraction of each GPU's total memory vLLM may use [default: vLLM's, 0.92 from 0.22, 0.9 before]
    #[arg(long, value_parser = parse_fraction)]
    pub gpu_memory_utilization: Option<f64>,

    /// KV cache element type
    #[arg(long, value_enum, default_value_t = KvCacheDtype::Auto)]
    pub kv_cache_dtype: KvCacheDtype,

    /// Weights and activations type; auto follows config.json (float32 checkpoints are served in bfloat16)
    #[arg(long, value_enum, default_value_t = DtypeChoice::Auto)]
    pub dtype: DtypeChoice,

    /// Maximum sequences per step [default: vLLM's, 1024 on large Hopper/Blackwell GPUs, else 256]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_num_seqs: Option<u64>,

    /// Maximum tokens per step [default: vLLM's, 8192 on large Hopper/Blackwell GPUs, else 2048]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_num_batched_tokens: Option<u64>,

    /// No CUDA graphs (vLLM's --enforce-eager)
    #[arg(long)]
    pub enforce_eager: bool,

    /// The vLLM release whose accounting to reproduce, e.g. 0.20 (before CUDA graphs were charged)
    #[arg(long, default_value = "latest", env = env::LLMOPS_VLLM_VERSION)]
    pub vllm_version: String,

    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

fn parse_memory(text: &str) -> Result<u64, String> {
    crate::units::parse_bytes(text)
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
