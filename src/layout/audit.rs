//! The prod root's own history: one JSON line per promotion, rollback and prune, appended to
//! `<prod-root>/.llmops/audit.jsonl` (a Triton repository's beside it, in its staging area). Tags in
//! the registry can be edited; this file is where the prod root records what happened to it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::destination::Destination;

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339, UTC.
    pub at: String,
    /// `promote`, `rollback` or `prune`.
    pub action: String,
    pub name: String,
    pub version: String,
    pub by: String,
    /// The folder acted on.
    pub folder: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    /// An alias moved by the action, and the version it pointed to before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_before: Option<String>,
    /// The gates a promotion passed, as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<String>,
    /// Bytes a prune freed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freed_bytes: Option<u64>,
}

/// The audit log of the prod root `dest` belongs to.
pub fn log_path(dest: &Destination) -> PathBuf {
    dest.state
        .parent()
        .and_then(Path::parent)
        .expect("the state file sits two levels below llmops' folder")
        .join("audit.jsonl")
}

/// Appends `entry` as one line, never through a symlink, and syncs it.
pub fn append(dest: &Destination, entry: &AuditEntry) -> anyhow::Result<()> {
    let path = log_path(dest);
    if let Some(dir) = path.parent() {
        crate::safe_fs::create_dirs(&dest.own_base(), dir)?;
    }
    let mut line = serde_json::to_vec(entry)?;
    line.push(b'\n');
    let mut file = crate::safe_fs::no_follow()
        .append(true)
        .create(true)
        .open(&path)?;
    file.write_all(&line)?;
    file.sync_all()?;
    Ok(())
}

/// Every entry of the log at `path`, oldest first; lines that are not entries are skipped (the log
/// is in the prod root, which others can write).
pub fn read(path: &Path) -> Vec<AuditEntry> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}
