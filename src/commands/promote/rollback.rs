//! `llmops rollback <NAME> [--alias champion] [--to V]`: the alias goes back to the version it
//! pointed to before (the prod root's audit log says which), once that version's prod copy is
//! checked against its manifest; a copy that is gone or damaged is promoted again first. Both
//! versions and the audit log record the rollback. It lives beside `promote` because putting a
//! version back is a promotion of it.

use std::io::Write;
use std::sync::Arc;

use clap::Parser;
use serde::Serialize;

use crate::cli::{PromoteArgs, RollbackArgs};
use crate::exit::UserError;
use crate::layout::audit::{self, AuditEntry};
use crate::layout::destination::Destination;
use crate::layout::roots::{self, RootKind};
use crate::mlflow::{self, MlflowClient};
use crate::output::{Render, Style, Tone, write_fields};
use crate::progress::Reporter;
use crate::registry::names::tag;
use crate::registry::{self, lineage};
use crate::text::printable;
use crate::units::now_rfc3339;

#[derive(Debug, Serialize)]
pub struct RollbackReport {
    pub schema_version: u32,
    pub name: String,
    pub alias: String,
    pub from_version: String,
    pub to_version: String,
    /// The prod folder of the version the alias goes back to.
    pub folder: String,
    /// `verified`, or `promoted again` when the folder was gone or damaged (`would …` in a dry run).
    pub prod_copy: String,
    pub dry_run: bool,
}

/// `promote` as a command line would give it, so a copy that is gone is promoted the usual way.
#[derive(Parser)]
struct PromoteLine {
    #[command(flatten)]
    args: PromoteArgs,
}

pub async fn run(
    args: &RollbackArgs,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<RollbackReport> {
    let client = mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter.clone())?;
    let prod_root = roots::resolve(RootKind::Prod, args.prod.prod_root.as_deref())
        .map_err(|e| UserError::usage(e.to_string()))?;
    let current = client
        .get_model_version_by_alias(&args.name, &args.alias)
        .await
        .map_err(|_| {
            UserError::usage(format!(
                "no version of `{}` holds @{}: there is nothing to roll back",
                printable(&args.name),
                printable(&args.alias)
            ))
        })?;
    // The audit log sits beside the current version's prod state (LLM layout or Triton).
    let current_lineage = lineage::resolve(&client, &current).await?;
    let current_dest = Destination::plan(
        &prod_root.path,
        &registry::served_as(&current)?,
        &current_lineage.parent.info.run_id,
    )?;
    let log = audit::log_path(&current_dest);
    let target = previous_holder(args, &client, &log, &current.version).await?;
    let lineage = lineage::resolve(&client, &target).await?;
    let served = registry::served_as(&target)?;
    let dest = Destination::plan(&prod_root.path, &served, &lineage.parent.info.run_id)?;
    let sound = copy_is_sound(&client, &target, &lineage, &dest).await?;
    let mut report = RollbackReport {
        schema_version: 1,
        name: args.name.clone(),
        alias: args.alias.clone(),
        from_version: current.version.clone(),
        to_version: target.version.clone(),
        folder: dest.target.display().to_string(),
        prod_copy: match (sound, args.dry_run) {
            (true, _) => "verified".into(),
            (false, true) => "would be promoted again (gone or damaged)".into(),
            (false, false) => "promoted again (it was gone or damaged)".into(),
        },
        dry_run: args.dry_run,
    };
    if args.dry_run {
        return Ok(report);
    }
    if !sound {
        repromote(args, &target.version, &prod_root.path, reporter.clone()).await?;
        if !copy_is_sound(&client, &target, &lineage, &dest).await? {
            report.prod_copy = "promoted again, but it does not verify".into();
            return Err(UserError::failed(format!(
                "the prod copy of version {} does not verify after promoting it again; the alias was not moved",
                target.version
            ))
            .into());
        }
    }
    client
        .set_alias(&args.name, &args.alias, &target.version)
        .await?;
    // What the served copy was verified against: the digest its promotion recorded.
    let digest = target
        .tag(tag::PROMOTED_DIGEST)
        .or_else(|| target.tag(tag::MANIFEST_DIGEST))
        .map(str::to_string);
    record(
        args,
        &client,
        (&current.version, &target.version),
        (&dest, digest),
    )
    .await?;
    Ok(report)
}

/// `--to`, else the version the alias pointed to before it came to `current`, from the audit log.
async fn previous_holder(
    args: &RollbackArgs,
    client: &MlflowClient,
    log: &std::path::Path,
    current: &str,
) -> anyhow::Result<crate::mlflow::client::ModelVersion> {
    let version = match &args.to {
        Some(version) => version.clone(),
        None => audit::read(log)
            .into_iter()
            .rev()
            .find(|e| {
                e.name == args.name
                    && e.alias.as_deref() == Some(args.alias.as_str())
                    && e.version == current
                    && e.alias_before.is_some()
            })
            .and_then(|e| e.alias_before)
            .ok_or_else(|| {
                UserError::usage(format!(
                    "the audit log `{}` records no version @{} pointed to before version {current}",
                    log.display(),
                    printable(&args.alias)
                ))
                .with_hint("pass `--to <VERSION>`")
            })?,
    };
    if version == current {
        return Err(UserError::usage(format!(
            "@{} already points to version {current}",
            printable(&args.alias)
        ))
        .into());
    }
    client
        .get_model_version(&args.name, &version)
        .await
        .map_err(|_| {
            let reference = registry::ModelRef::parse(&args.name, Some(&version));
            match reference {
                Ok(r) => registry::not_found(&r).into(),
                Err(e) => anyhow::Error::new(UserError::usage(e)),
            }
        })
}

/// Whether the version's prod copy is there, matches its manifest and holds nothing else.
async fn copy_is_sound(
    client: &MlflowClient,
    version: &crate::mlflow::client::ModelVersion,
    lineage: &lineage::Lineage,
    dest: &Destination,
) -> anyhow::Result<bool> {
    if !dest.manifest_root.is_dir() || !dest.target.is_dir() {
        return Ok(false);
    }
    let computed = dest.read_state().and_then(|s| s.computed_manifest);
    let (manifest, _) = registry::manifest_for_prod(client, version, lineage, computed).await?;
    let (dir, scope) = (dest.manifest_root.clone(), dest.target.clone());
    let problems = tokio::task::spawn_blocking(move || {
        crate::transfer::verify::check_copy(&dir, &scope, &manifest)
    })
    .await?;
    Ok(problems.is_empty())
}

async fn repromote(
    args: &RollbackArgs,
    version: &str,
    prod_root: &std::path::Path,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<()> {
    let mut line = vec![
        "promote".to_string(),
        format!("models:/{}/{version}", args.name),
        "--prod-root".into(),
        prod_root.display().to_string(),
    ];
    if let Some(destination) = &args.artifact_store.artifacts_destination {
        line.extend(["--artifacts-destination".into(), destination.clone()]);
    }
    if let Some(uri) = &args.tracking.tracking_uri {
        line.extend(["--tracking-uri".into(), uri.clone()]);
    }
    let promote = PromoteLine::try_parse_from(line)
        .map_err(|e| UserError::usage(e.to_string()))?
        .args;
    reporter.note(&format!(
        "the prod copy of version {version} is gone or damaged: promoting it again"
    ));
    Box::pin(super::run(&promote, reporter)).await.map(drop)
}

/// The rollback on both versions' tags and in the audit log.
async fn record(
    args: &RollbackArgs,
    client: &MlflowClient,
    (from, to): (&str, &str),
    (dest, manifest_digest): (&Destination, Option<String>),
) -> anyhow::Result<()> {
    let at = now_rfc3339();
    let by = crate::env::user_name().unwrap_or_else(|| "unknown".into());
    let text = format!(
        "@{} moved from version {from} to {to} by {by} at {at}",
        args.alias
    );
    for version in [from, to] {
        client
            .set_model_version_tag(&args.name, version, tag::ROLLBACK, &text)
            .await?;
    }
    audit::append(
        dest,
        &AuditEntry {
            at,
            action: "rollback".into(),
            name: args.name.clone(),
            version: to.to_string(),
            by,
            folder: dest.target.display().to_string(),
            manifest_digest,
            alias: Some(args.alias.clone()),
            alias_before: Some(from.to_string()),
            gates: Vec::new(),
            freed_bytes: None,
        },
    )
}

impl Render for RollbackReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let (tone, headline) = if self.dry_run {
            (Tone::Strong, "Dry run: would roll back")
        } else {
            (Tone::Good, "Rolled back")
        };
        writeln!(
            out,
            "{} {} @{}",
            style.paint(tone, headline),
            printable(&self.name),
            printable(&self.alias)
        )?;
        let rows = [
            ("from", format!("version {}", self.from_version)),
            ("to", format!("version {}", self.to_version)),
            (
                "prod copy",
                format!("{} ({})", printable(&self.folder), self.prod_copy),
            ),
        ];
        write_fields(out, style, &rows)
    }
}
