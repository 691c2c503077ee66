//! The adapters `size` sizes a base for: `--lora models:/<adapter>/<v>` (a registered adapter;
//! its rank and parent run come from its tags), `--lora <DIR>` (an adapter folder, checked against
//! the base's config), and a `models:/<adapter>/<v>` given as the model itself.

use serde::Serialize;

use crate::cli::SizeArgs;
use crate::exit::UserError;
use crate::lora::{self, VLLM_RANKS};
use crate::mlflow::MlflowClient;
use crate::mlflow::client::ModelVersion;
use crate::registry::names::tag;
use crate::registry::{self, ModelRef};
use crate::sizing::config::ModelConfig;
use crate::sizing::lora::LoraServing;

/// One adapter as vLLM's `--lora-modules` names it.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterEntry {
    pub name: String,
    /// As the prod endpoint sees it (`/llm-models/<adapter-run>`), or the folder given.
    pub path: String,
    pub rank: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoraSummary {
    #[serde(flatten)]
    pub serving: LoraServing,
    pub adapters: Vec<AdapterEntry>,
}

/// A registered adapter version as an entry; `None` when the version is not an adapter.
pub fn registered_entry(version: &ModelVersion) -> Option<AdapterEntry> {
    version.tag(tag::BASE_NAME)?;
    let rank = version.tag(tag::LORA_RANK)?.parse().ok()?;
    let parent = registry::recorded_parent(version)?;
    Some(AdapterEntry {
        name: version.name.clone(),
        path: format!("/llm-models/{parent}"),
        rank,
    })
}

/// `--lora` values that are registered adapters.
pub async fn resolve_registered(
    client: &MlflowClient,
    references: &[&str],
) -> anyhow::Result<Vec<AdapterEntry>> {
    let mut entries = Vec::new();
    for text in references {
        let reference =
            ModelRef::parse(text, None).map_err(|e| UserError::usage(format!("--lora: {e}")))?;
        let version = registry::resolve_version(client, &reference).await?;
        entries.push(registered_entry(&version).ok_or_else(|| {
            UserError::usage(format!(
                "--lora {reference} is not a LoRA adapter registered by llmops (no {} tag)",
                tag::BASE_NAME
            ))
        })?);
    }
    Ok(entries)
}

/// `--lora` values that are adapter folders, each checked against the base.
pub fn resolve_folders(folders: &[&str], base: &ModelConfig) -> anyhow::Result<Vec<AdapterEntry>> {
    let mut entries = Vec::new();
    for folder in folders {
        let dir = std::path::Path::new(folder);
        let adapter = lora::read_adapter(dir)?;
        lora::check_fits(&adapter, base)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "adapter".into());
        entries.push(AdapterEntry {
            name,
            path: dir.display().to_string(),
            rank: adapter.max_rank.max(adapter.config.rank),
        });
    }
    Ok(entries)
}

/// `--max-loras` and `--max-lora-rank` for these adapters: the flags when given (the rank checked
/// against what vLLM accepts and every adapter's rank), else vLLM's default of one slot and the
/// smallest rank vLLM accepts that holds them all.
pub fn serving(args: &SizeArgs, adapters: &[AdapterEntry]) -> anyhow::Result<Option<LoraSummary>> {
    if adapters.is_empty() {
        if args.max_loras.is_some() || args.max_lora_rank.is_some() {
            return Err(UserError::usage(
                "--max-loras and --max-lora-rank size LoRA slots: give the adapters with --lora (or size a registered adapter)",
            )
            .into());
        }
        return Ok(None);
    }
    let largest = adapters.iter().map(|a| a.rank).max().unwrap_or(1);
    let max_lora_rank = match args.max_lora_rank {
        Some(rank) if !VLLM_RANKS.contains(&rank) => {
            return Err(UserError::usage(format!(
                "--max-lora-rank {rank} is not one vLLM accepts ({})",
                VLLM_RANKS
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        Some(rank) if rank < largest => {
            return Err(UserError::usage(format!(
                "--max-lora-rank {rank} is below an adapter's rank ({largest}); vLLM refuses to load it"
            ))
            .into());
        }
        Some(rank) => rank,
        None => lora::vllm_rank_for(largest).ok_or_else(|| {
            UserError::usage(format!(
                "an adapter has rank {largest}, above what vLLM serves"
            ))
        })?,
    };
    Ok(Some(LoraSummary {
        serving: LoraServing {
            max_loras: args.max_loras.unwrap_or(1),
            max_lora_rank,
        },
        adapters: adapters.to_vec(),
    }))
}

/// The `vllm serve` arguments for LoRA.
pub fn vllm_args(summary: &LoraSummary) -> String {
    let modules: Vec<String> = summary
        .adapters
        .iter()
        // vLLM splits the list on spaces and each item on `=` (`LoRAParserAction`).
        .map(|a| format!("{}={}", a.name.replace(['=', ',', ' '], "-"), a.path))
        .collect();
    format!(
        " --enable-lora --max-lora-rank {} --max-loras {} --lora-modules {}",
        summary.serving.max_lora_rank,
        summary.serving.max_loras,
        modules.join(" ")
    )
}
