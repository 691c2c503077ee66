//! Dataset roots: dev (where `register` stages) and prod (where `promote` publishes). Each resolves
//! from its flag, then its variable, then Domino's dataset mounts.

use std::path::{Path, PathBuf};

use crate::env;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    Dev,
    Prod,
}

impl RootKind {
    pub fn flag(self) -> &'static str {
        match self {
            RootKind::Dev => "--dev-root",
            RootKind::Prod => "--prod-root",
        }
    }

    fn variable(self) -> &'static str {
        match self {
            RootKind::Dev => env::LLMOPS_DEV_ROOT,
            RootKind::Prod => env::LLMOPS_PROD_ROOT,
        }
    }

    fn dataset(self) -> String {
        let (variable, default) = match self {
            RootKind::Dev => (env::LLMOPS_DEV_DATASET, "domino-models-dev"),
            RootKind::Prod => (env::LLMOPS_PROD_DATASET, "domino-models-prod"),
        };
        std::env::var(variable).unwrap_or_else(|_| default.to_string())
    }

    pub fn name(self) -> &'static str {
        match self {
            RootKind::Dev => "dev",
            RootKind::Prod => "prod",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DatasetRoot {
    pub path: PathBuf,
    /// Where the path came from, for messages (`--dev-root`, `LLMOPS_DEV_ROOT`, …).
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error(
        "no {kind} dataset root: pass `{flag}` or set `{variable}` (inside Domino, the dataset `{dataset}` under DOMINO_IMPORTED_DATA_DIR or DOMINO_DATASETS_DIR is used when mounted)"
    )]
    Unresolved {
        kind: &'static str,
        flag: &'static str,
        variable: &'static str,
        dataset: String,
    },
    #[error("the {kind} root `{path}` (from {source_name}) is not writable: {reason}")]
    NotWritable {
        kind: &'static str,
        path: PathBuf,
        source_name: String,
        reason: String,
    },
}

pub fn resolve(kind: RootKind, flag: Option<&Path>) -> Result<DatasetRoot, RootError> {
    if let Some(path) = flag {
        return Ok(DatasetRoot {
            path: path.to_path_buf(),
            source: kind.flag().into(),
        });
    }
    if let Some(path) = std::env::var_os(kind.variable()).filter(|p| !p.is_empty()) {
        return Ok(DatasetRoot {
            path: PathBuf::from(path),
            source: kind.variable().into(),
        });
    }
    let dataset = kind.dataset();
    // Shared datasets first: the dev and prod datasets are shared between projects.
    for variable in [env::DOMINO_IMPORTED_DATA_DIR, env::DOMINO_DATASETS_DIR] {
        if let Some(base) = std::env::var_os(variable).filter(|p| !p.is_empty()) {
            let candidate = PathBuf::from(base).join(&dataset);
            if candidate.is_dir() {
                return Ok(DatasetRoot {
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
            return Ok(DatasetRoot {
                path: candidate,
                source: format!("{}={git_based}", env::DOMINO_IS_GIT_BASED),
            });
        }
    }
    Err(RootError::Unresolved {
        kind: kind.name(),
        flag: kind.flag(),
        variable: kind.variable(),
        dataset,
    })
}

/// Checks the root's `llm-models/` can be written, before any run exists or any byte is fetched,
/// without putting anything in it.
pub fn check_writable(kind: RootKind, root: &DatasetRoot) -> Result<(), RootError> {
    let not_writable = |reason: String| RootError::NotWritable {
        kind: kind.name(),
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
    crate::safe_fs::check_writable_dir(&models).map_err(|e| not_writable(e.to_string()))
}
