//! `llmops status <name>`: per version, what is where: aliases, the parent run, staged in dev,
//! published, promoted, and when the prod copy was last verified. It only reads.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::cli::StatusArgs;
use crate::exit::UserError;
use crate::layout::LLM_MODELS_DIR;
use crate::layout::audit;
use crate::layout::destination::Destination;
use crate::layout::roots::{self, DatasetRoot, RootKind};
use crate::mlflow::{self, client::ModelVersion};
use crate::output::{Render, Style};
use crate::progress::Reporter;
use crate::registry::names::tag;
use crate::registry::{self, reference::validate_registered_model_name};
use crate::text::printable;

#[derive(Debug, Serialize)]
pub struct VersionStatus {
    pub version: String,
    pub aliases: Vec<String>,
    pub parent_run_id: Option<String>,
    pub dev_staged: Option<bool>,
    pub published: bool,
    pub promoted_to: Option<String>,
    pub promoted: bool,
    pub verified: Option<String>,
    /// The version's last entry in the prod root's audit log (promote, rollback or prune).
    pub last_action: Option<LastAction>,
    /// A LoRA adapter: its base, `models:/<name>/<version>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// A base: the adapters registered on this version.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adapters: Vec<AdapterOnBase>,
}

#[derive(Debug, Serialize)]
pub struct LastAction {
    pub action: String,
    pub at: String,
    pub by: String,
}

#[derive(Debug, Serialize)]
pub struct AdapterOnBase {
    /// `models:/<name>/<version>`.
    pub model: String,
    /// Where its promote put it, if it was promoted.
    pub promoted_to: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub schema_version: u32,
    pub name: String,
    pub versions: Vec<VersionStatus>,
}

pub async fn run(args: &StatusArgs, reporter: Arc<dyn Reporter>) -> anyhow::Result<StatusReport> {
    validate_registered_model_name(&args.name).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter)?;
    let versions = client.search_model_versions(&args.name).await?;
    if versions.is_empty() {
        return Err(UserError::usage(format!(
            "registered model `{}` has no versions (or does not exist)",
            args.name
        ))
        .into());
    }
    let dev_root = roots::resolve(RootKind::Dev, args.dev.dev_root.as_deref()).ok();
    let prod_root = roots::resolve(RootKind::Prod, args.prod.prod_root.as_deref()).ok();
    let aliases = client
        .registered_model_aliases(&args.name)
        .await
        .unwrap_or_default();
    // Only for listing: a server that cannot search by tag leaves the list empty.
    let adapters = client
        .search_model_versions_tagged(tag::BASE_NAME, &args.name)
        .await
        .unwrap_or_default();
    // Each audit log is read once, however many versions it records.
    let mut logs = HashMap::new();
    let versions = versions
        .iter()
        .map(|version| {
            let mut row =
                version_status(version, (dev_root.as_ref(), prod_root.as_ref()), &mut logs);
            row.aliases = aliases
                .iter()
                .filter(|(_, v)| *v == version.version)
                .map(|(a, _)| a.clone())
                .collect();
            row.adapters = adapters
                .iter()
                .filter(|a| a.tag(tag::BASE_VERSION) == Some(version.version.as_str()))
                .map(|a| AdapterOnBase {
                    model: format!("models:/{}/{}", a.name, a.version),
                    promoted_to: a.tag(tag::PROMOTED_TO).map(str::to_string),
                })
                .collect();
            row
        })
        .collect();
    Ok(StatusReport {
        schema_version: 1,
        name: args.name.clone(),
        versions,
    })
}

fn version_status(
    version: &ModelVersion,
    (dev_root, prod_root): (Option<&DatasetRoot>, Option<&DatasetRoot>),
    logs: &mut HashMap<PathBuf, Vec<audit::AuditEntry>>,
) -> VersionStatus {
    let parent = registry::recorded_parent(version).map(str::to_string);
    // Where `register` staged it (recorded on the version), else the LLM layout under --dev-root.
    let dev_staged = match (version.tag(tag::DEV_STAGED_PATH), dev_root, &parent) {
        (Some(path), _, _) => Some(Path::new(path).is_dir()),
        (None, Some(root), Some(parent)) => {
            Some(root.path.join(LLM_MODELS_DIR).join(parent).is_dir())
        }
        _ => None,
    };
    let served = registry::served_as(version).ok();
    let destination = match (prod_root, &parent, &served) {
        (Some(root), Some(parent), Some(served)) => {
            Destination::plan(&root.path, served, parent).ok()
        }
        _ => None,
    };
    let promoted_to = version.tag(tag::PROMOTED_TO).map(str::to_string);
    let promoted = promoted_to
        .as_deref()
        .is_some_and(|p| Path::new(p).is_dir())
        || destination.as_ref().is_some_and(|d| d.target.is_dir());
    let last_action = destination.as_ref().and_then(|d| {
        let path = audit::log_path(d);
        logs.entry(path.clone())
            .or_insert_with(|| audit::read(&path))
            .iter()
            .rfind(|e| e.name == version.name && e.version == version.version)
            .map(|e| LastAction {
                action: e.action.clone(),
                at: e.at.clone(),
                by: e.by.clone(),
            })
    });
    let verified = destination
        .and_then(|d| d.read_state())
        .map(|s| format!("{} at {}", s.verification.label(), s.verified_at));
    VersionStatus {
        version: version.version.clone(),
        aliases: Vec::new(),
        parent_run_id: parent,
        dev_staged,
        published: registry::is_published(version),
        promoted_to,
        promoted,
        verified,
        last_action,
        base: version
            .tag(tag::BASE_NAME)
            .zip(version.tag(tag::BASE_VERSION))
            .map(|(name, number)| format!("models:/{name}/{number}")),
        adapters: Vec::new(),
    }
}

impl Render for StatusReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let mut rows = style.table();
        rows.set_header(vec![
            "version",
            "aliases",
            "parent run",
            "dev staged",
            "published",
            "promoted",
            "verified",
            "last action",
        ]);
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        for v in &self.versions {
            let aliases: Vec<String> = v
                .aliases
                .iter()
                .map(|a| format!("@{}", printable(a)))
                .collect();
            rows.add_row(vec![
                v.version.clone(),
                aliases.join(", "),
                v.parent_run_id.as_deref().map_or("-".into(), printable),
                v.dev_staged.map_or("?".into(), |b| yes_no(b).into()),
                yes_no(v.published).into(),
                match (&v.promoted_to, v.promoted) {
                    (Some(to), true) => printable(to),
                    (None, true) => "yes".into(),
                    (_, false) => "no".into(),
                },
                v.verified.as_deref().map_or("-".into(), printable),
                v.last_action.as_ref().map_or("-".into(), |a| {
                    printable(&format!("{} at {} by {}", a.action, a.at, a.by))
                }),
            ]);
        }
        writeln!(
            out,
            "{}",
            style.paint(crate::output::Tone::Strong, &printable(&self.name))
        )?;
        writeln!(out, "{rows}")?;
        for v in &self.versions {
            if let Some(base) = &v.base {
                writeln!(
                    out,
                    "version {}: a LoRA adapter on {}",
                    v.version,
                    printable(base)
                )?;
            }
            for adapter in &v.adapters {
                let place = adapter
                    .promoted_to
                    .as_deref()
                    .map_or("not promoted".to_string(), |p| {
                        format!("promoted to {}", printable(p))
                    });
                writeln!(
                    out,
                    "version {}: adapter {} ({place})",
                    v.version,
                    printable(&adapter.model)
                )?;
            }
        }
        Ok(())
    }
}
