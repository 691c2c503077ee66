//! `llmops prune <NAME> --prod-root P --keep N [--dry-run]`: removes the prod folders of versions
//! nothing serves. Kept, whatever N: every version an alias points to, the N most recently
//! promoted, and every base a promoted adapter needs. A folder whose promote holds the lock is
//! skipped. Each removal is one rename out of the served folder, then a delete; it is recorded on
//! the version and in the prod root's audit log.

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::cli::PruneArgs;
use crate::exit::UserError;
use crate::layout::audit::{self, AuditEntry};
use crate::layout::destination::Destination;
use crate::layout::roots::{self, RootKind};
use crate::layout::swap::SwapError;
use crate::mlflow::client::MlflowError;
use crate::mlflow::{self, MlflowClient};
use crate::output::{Render, Style, Tone};
use crate::progress::Reporter;
use crate::registry::names::tag;
use crate::registry::{self, reference::validate_registered_model_name};
use crate::text::printable;
use crate::units::{human_bytes, now_rfc3339};

#[derive(Debug, Serialize)]
pub struct PruneReport {
    pub schema_version: u32,
    pub name: String,
    pub dry_run: bool,
    pub versions: Vec<PruneRow>,
    /// Bytes removed (or, in a dry run, that would be).
    pub freed_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct PruneRow {
    pub version: String,
    pub folder: String,
    pub promoted_at: Option<String>,
    /// `removed`, `would remove`, or `kept: <why>`.
    pub action: String,
    pub bytes: u64,
}

/// A version with a folder in this prod root.
struct InProd {
    version: String,
    dest: Destination,
    promoted_at: String,
}

pub async fn run(args: &PruneArgs, reporter: Arc<dyn Reporter>) -> anyhow::Result<PruneReport> {
    validate_registered_model_name(&args.name).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter.clone())?;
    let prod_root = roots::resolve(RootKind::Prod, args.prod.prod_root.as_deref())
        .map_err(|e| UserError::usage(e.to_string()))?;
    let keep = protected(&client, &args.name).await?;
    let mut in_prod = promoted_versions(&client, &args.name, &prod_root.path).await?;
    // Newest promotion first (RFC 3339 in UTC sorts as text).
    in_prod.sort_by(|a, b| b.promoted_at.cmp(&a.promoted_at));
    let mut report = PruneReport {
        schema_version: 1,
        name: args.name.clone(),
        dry_run: args.dry_run,
        versions: Vec::new(),
        freed_bytes: 0,
    };
    for (rank, entry) in in_prod.iter().enumerate() {
        let bytes = tree_bytes(&entry.dest.target);
        let why_kept = keep
            .iter()
            .find(|(v, _)| *v == entry.version)
            .map(|(_, why)| why.clone())
            .or_else(|| {
                ((rank as u64) < args.keep)
                    .then(|| format!("among the {} most recently promoted", args.keep))
            });
        let action = match (why_kept, args.dry_run) {
            (Some(why), _) => format!("kept: {why}"),
            (None, true) => {
                report.freed_bytes += bytes;
                "would remove".into()
            }
            (None, false) => match remove(&client, args, entry, bytes, reporter.as_ref()).await? {
                true => {
                    report.freed_bytes += bytes;
                    "removed".into()
                }
                false => "kept: a promote holds its lock".into(),
            },
        };
        report.versions.push(PruneRow {
            version: entry.version.clone(),
            folder: entry.dest.target.display().to_string(),
            promoted_at: Some(entry.promoted_at.clone()),
            action,
            bytes,
        });
    }
    Ok(report)
}

/// The versions of `name` whose prod folder exists under `root`, with when each was promoted.
async fn promoted_versions(
    client: &MlflowClient,
    name: &str,
    root: &std::path::Path,
) -> anyhow::Result<Vec<InProd>> {
    let mut found = Vec::new();
    for version in client.search_model_versions(name).await? {
        let (Some(parent), Ok(served)) = (
            registry::recorded_parent(&version),
            registry::served_as(&version),
        ) else {
            continue;
        };
        let Ok(dest) = Destination::plan(root, &served, parent) else {
            continue;
        };
        if !dest.target.is_dir() {
            continue;
        }
        let promoted_at = dest
            .read_state()
            .map(|s| s.promoted_at)
            .or_else(|| version.tag(tag::PROMOTED_AT).map(str::to_string))
            .unwrap_or_default();
        found.push(InProd {
            version: version.version.clone(),
            dest,
            promoted_at,
        });
    }
    Ok(found)
}

/// Versions that must stay whatever `--keep` says, each with why: an alias points to it, or an
/// adapter registered on it was promoted.
async fn protected(client: &MlflowClient, name: &str) -> anyhow::Result<Vec<(String, String)>> {
    // An answer is required: without the aliases, an aliased version could look unserved.
    let aliases = match client.registered_model_aliases(name).await {
        Ok(aliases) => aliases,
        Err(MlflowError::Api { status: 404, .. }) => {
            return Err(UserError::usage(format!(
                "registered model `{}` does not exist",
                printable(name)
            ))
            .with_hint("check the name with `llmops status <name>` or in the MLflow UI")
            .into());
        }
        Err(other) => return Err(other.into()),
    };
    let mut keep: Vec<(String, String)> = aliases
        .into_iter()
        .map(|(alias, version)| (version, format!("@{} points to it", printable(&alias))))
        .collect();
    for adapter in client
        .search_model_versions_tagged(tag::BASE_NAME, name)
        .await?
    {
        if let (Some(base), Some(_)) = (
            adapter.tag(tag::BASE_VERSION),
            adapter.tag(tag::PROMOTED_TO),
        ) {
            keep.push((
                base.to_string(),
                format!("the base of adapter {}/{}", adapter.name, adapter.version),
            ));
        }
    }
    Ok(keep)
}

/// Removes one version's prod folder under its lock; `false` when a promote holds the lock.
async fn remove(
    client: &MlflowClient,
    args: &PruneArgs,
    entry: &InProd,
    bytes: u64,
    reporter: &dyn Reporter,
) -> anyhow::Result<bool> {
    let dest = &entry.dest;
    let _lock = match dest.lock(&crate::layout::swap::holder_description("prune")) {
        Ok(lock) => lock,
        Err(e) if matches!(e.downcast_ref(), Some(SwapError::Locked { .. })) => {
            reporter.warn(&format!(
                "version {} is being promoted (its lock is held): left in place",
                entry.version
            ));
            return Ok(false);
        }
        Err(other) => return Err(other),
    };
    // One rename takes it out of what endpoints see; the delete follows. A trash folder left by an
    // interrupted prune is ours (it sits under the lock's name) and goes first.
    let trash = dest.work.with_extension("pruned");
    if trash.exists() {
        std::fs::remove_dir_all(&trash)?;
    }
    std::fs::rename(&dest.target, &trash)?;
    std::fs::remove_dir_all(&trash)?;
    let _ = std::fs::remove_file(&dest.state);
    // Taking the lock made an empty work folder.
    let _ = std::fs::remove_dir_all(&dest.work);
    let at = now_rfc3339();
    let text = format!("{} removed at {at} by prune", dest.target.display());
    client
        .set_model_version_tag(&args.name, &entry.version, tag::PRUNED, &text)
        .await?;
    audit::append(
        dest,
        &AuditEntry {
            at,
            action: "prune".into(),
            name: args.name.clone(),
            version: entry.version.clone(),
            by: crate::env::user_name().unwrap_or_else(|| "unknown".into()),
            folder: dest.target.display().to_string(),
            manifest_digest: None,
            alias: None,
            alias_before: None,
            gates: Vec::new(),
            freed_bytes: Some(bytes),
        },
    )?;
    Ok(true)
}

/// Bytes of the regular files under `dir` (links are not followed).
fn tree_bytes(dir: &std::path::Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

impl Render for PruneReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let headline = match (self.dry_run, self.freed_bytes) {
            (true, bytes) => format!("Dry run: prune would free {}", human_bytes(bytes)),
            (false, 0) => "Nothing to prune".to_string(),
            (false, bytes) => format!("Pruned: {} freed", human_bytes(bytes)),
        };
        writeln!(
            out,
            "{} {}",
            style.paint(Tone::Strong, &headline),
            printable(&self.name)
        )?;
        let mut table = style.table();
        table.set_header(vec!["version", "promoted", "folder", "size", "action"]);
        for row in &self.versions {
            table.add_row(vec![
                row.version.clone(),
                row.promoted_at.clone().unwrap_or_default(),
                printable(&row.folder),
                human_bytes(row.bytes),
                row.action.clone(),
            ]);
        }
        writeln!(out, "{table}")
    }
}
