//! The dev dataset root: `--dev-root`, then `LLMOPS_DEV_ROOT`, then Domino's dataset mounts.

use std::path::{Path, PathBuf};

use crate::env;

pub const DEFAULT_DEV_DATASET: &str = "domino-models-dev";

#[derive(Debug, Clone)]
pub struct DevRoot {
    pub path: PathBuf,
    /// Where the path came from, for messages (`--dev-root`, `LLMOPS_DEV_ROOT`, …).
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DevRootError {
    #[error(
        "no dev dataset root: pass `--dev-root PATH` or set `LLMOPS_DEV_ROOT` (inside Domino, the dataset `{dataset}` under DOMINO_IMPORTED_DATA_DIR or DOMINO_DATASETS_DIR is used when mounted)"
    )]
    Unresolved { dataset: String },
    #[error("the dev root `{path}` (from {source_name}) is not writable: {reason}")]
    NotWritable {
        path: PathBuf,
        source_name: String,
        reason: String,
    },
}

pub fn resolve(flag: Option<&Path>) -> Result<DevRoot, DevRootError> {
    if let Some(path) = flag {
        return Ok(DevRoot {
            path: path.to_path_buf(),
            source: "--dev-root".into(),
        });
    }
    if let Some(path) = std::env::var_os(env::LLMOPS_DEV_ROOT).filter(|p| !p.is_empty()) {
        return Ok(DevRoot {
            path: PathBuf::from(path),
            source: env::LLMOPS_DEV_ROOT.into(),
        });
    }
    let dataset =
        std::env::var(env::LLMOPS_DEV_DATASET).unwrap_or_else(|_| DEFAULT_DEV_DATASET.to_string());
    // Shared datasets first: the dev dataset is shared between the scientists' projects.
    for variable in [env::DOMINO_IMPORTED_DATA_DIR, env::DOMINO_DATASETS_DIR] {
        if let Some(base) = std::env::var_os(variable).filter(|p| !p.is_empty()) {
            let candidate = PathBuf::from(base).join(&dataset);
            if candidate.is_dir() {
                return Ok(DevRoot {
                    path: candidate,
                    source: format!("{variable}/{dataset}"),
                });
            }
        }
    }
    if let Ok(git_based) = std::env::var(env::DOMINO_IS_GIT_BASED) {
        let base = if matches!(git_based.to_ascii_lowercase().as_str(), "true" | "1") {
            "/mnt/imported/data"
        } else {
            "/domino/datasets"
        };
        let candidate = Path::new(base).join(&dataset);
        if candidate.is_dir() {
            return Ok(DevRoot {
                path: candidate,
                source: format!("{}={git_based}", env::DOMINO_IS_GIT_BASED),
            });
        }
    }
    Err(DevRootError::Unresolved { dataset })
}

/// Proves the root is writable by creating and removing a probe file in `llm-models/`, before any
/// MLflow run exists.
pub fn check_writable(root: &DevRoot) -> Result<(), DevRootError> {
    let not_writable = |reason: String| DevRootError::NotWritable {
        path: root.path.clone(),
        source_name: root.source.clone(),
        reason,
    };
    if !root.path.is_dir() {
        return Err(not_writable(
            "it does not exist or is not a directory".into(),
        ));
    }
    let models = root.path.join(super::LLM_MODELS_DIR);
    std::fs::create_dir_all(&models).map_err(|e| not_writable(e.to_string()))?;
    let probe = models.join(format!(".llmops-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| not_writable(e.to_string()))?;
    std::fs::remove_file(&probe).map_err(|e| not_writable(e.to_string()))?;
    Ok(())
}
