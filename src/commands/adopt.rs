//! `llmops adopt`: give a version registered by another tool (the reference notebooks,
//! `mlflow.pyfunc.log_model`) what `register` gives its own: a manifest of its binaries, logged to
//! the parent run as `llmops/manifest.json`, and the version tags that anchor it. The manifest is
//! computed from the bytes in S3 as they stream past; nothing is written locally. From then on
//! `promote`, `verify` and `status` treat the version like any other.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::cli::AdoptArgs;
use crate::env;
use crate::exit::UserError;
use crate::manifest::{MANIFEST_ARTIFACT, Manifest};
use crate::mlflow;
use crate::output::{Render, Style, Tone, write_fields};
use crate::progress::Reporter;
use crate::registry::names::tag;
use crate::registry::{self, Located, ModelRef};
use crate::s3;
use crate::text::printable;
use crate::transfer::remote_manifest;
use crate::units::{human_bytes, human_duration, now_rfc3339};

#[derive(Debug, Serialize)]
pub struct AdoptReport {
    pub schema_version: u32,
    pub outcome: AdoptOutcome,
    pub name: String,
    pub version: String,
    pub parent_run_id: String,
    pub source: String,
    pub files: usize,
    pub bytes: u64,
    pub manifest_digest: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdoptOutcome {
    Adopted,
    /// The version already carries a manifest anchored to its registration.
    AlreadyAnchored,
    DryRun,
}

pub async fn run(args: &AdoptArgs, reporter: Arc<dyn Reporter>) -> anyhow::Result<AdoptReport> {
    let started = Instant::now();
    let reference =
        ModelRef::parse(&args.model, args.version.as_deref()).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter.clone())?;
    let destination = args.artifact_store.artifacts_destination.as_deref();
    let located = registry::locate(&client, &reference, destination, reporter.as_ref()).await?;
    let logged = registry::find_manifest(&client, &located.lineage).await?;
    let recorded = located.version.tag(tag::MANIFEST_DIGEST);
    if let (Some(recorded), Some(logged)) = (recorded, &logged)
        && logged.digest() == recorded
    {
        return Ok(report(
            &located,
            logged,
            AdoptOutcome::AlreadyAnchored,
            started,
        ));
    }
    if let Some(recorded) = recorded {
        return Err(UserError::failed(format!(
            "{reference} records manifest {recorded}, but its parent run {}: adopting it again would hide that",
            match &logged {
                Some(found) => format!("holds a different one ({})", found.digest()),
                None => format!("has no `{MANIFEST_ARTIFACT}`"),
            }
        ))
        .with_hint("compare the parent run's files with what was registered; register the model anew if they changed")
        .into());
    }

    let (s3, _) = s3::clients().await;
    let binaries = located.binaries();
    let computed = remote_manifest::manifest_of(&s3, &binaries, reporter.as_ref()).await?;
    if computed.files.is_empty() {
        return Err(UserError::failed(format!(
            "{reference} has no binaries in {binaries}: there is nothing to adopt"
        ))
        .into());
    }
    if let Some(logged) = &logged
        && logged.digest() != computed.digest()
    {
        return Err(UserError::failed(format!(
            "the parent run's `{MANIFEST_ARTIFACT}` ({}) does not describe the bytes in {binaries} ({})",
            logged.digest(),
            computed.digest()
        ))
        .with_hint("nothing was recorded; find out which is right before promoting this version")
        .into());
    }
    if args.dry_run {
        return Ok(report(&located, &computed, AdoptOutcome::DryRun, started));
    }
    record(&client, &located, &computed, logged.is_none()).await?;
    Ok(report(&located, &computed, AdoptOutcome::Adopted, started))
}

/// The manifest in the parent run (unless it is there already), its digest on the parent run, and
/// on the version the tags `register` sets, plus who adopted it and when.
async fn record(
    client: &mlflow::MlflowClient,
    located: &Located,
    manifest: &Manifest,
    upload: bool,
) -> anyhow::Result<()> {
    let parent_id = located.parent_run_id();
    if upload {
        client
            .upload_bytes(
                &located.lineage.parent_artifact_path,
                MANIFEST_ARTIFACT,
                &manifest.to_canonical_json(),
            )
            .await?;
    }
    let digest = manifest.digest();
    client
        .set_run_tag(parent_id, tag::MANIFEST_DIGEST, &digest)
        .await?;
    let user = env::user_name().unwrap_or_else(|| "unknown".into());
    let tags = [
        (tag::PARENT_RUN_ID, parent_id.to_string()),
        (tag::FILE_COUNT, manifest.files.len().to_string()),
        (tag::TOTAL_BYTES, manifest.total_bytes().to_string()),
        (tag::PUBLISHED, "true".to_string()),
        (tag::ADOPTED_AT, now_rfc3339()),
        (tag::ADOPTED_BY, user),
        // Last: the digest is what makes the version count as anchored.
        (tag::MANIFEST_DIGEST, digest),
    ];
    let version = &located.version;
    for (key, value) in tags {
        client
            .set_model_version_tag(&version.name, &version.version, key, &value)
            .await?;
    }
    Ok(())
}

fn report(
    located: &Located,
    manifest: &Manifest,
    outcome: AdoptOutcome,
    started: Instant,
) -> AdoptReport {
    AdoptReport {
        schema_version: 1,
        outcome,
        name: located.version.name.clone(),
        version: located.version.version.clone(),
        parent_run_id: located.parent_run_id().to_string(),
        source: located.binaries().to_string(),
        files: manifest.files.len(),
        bytes: manifest.total_bytes(),
        manifest_digest: manifest.digest(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

impl Render for AdoptReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let uri = printable(&format!("models:/{}/{}", self.name, self.version));
        let (tone, headline) = match self.outcome {
            AdoptOutcome::Adopted => (Tone::Good, "Adopted"),
            AdoptOutcome::AlreadyAnchored => (Tone::Good, "Already carries its manifest:"),
            AdoptOutcome::DryRun => (Tone::Strong, "Dry run: would adopt"),
        };
        writeln!(out, "{} {uri}", style.paint(tone, headline))?;
        let rows = [
            ("from", printable(&self.source)),
            ("parent run", self.parent_run_id.clone()),
            (
                "files",
                format!(
                    "{} files, {} hashed in {}",
                    self.files,
                    human_bytes(self.bytes),
                    human_duration(self.seconds)
                ),
            ),
            ("manifest", self.manifest_digest.clone()),
            ("next", format!("llmops promote {uri}")),
        ];
        write_fields(out, style, &rows)
    }
}
