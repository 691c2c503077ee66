//! `llmops publish`: the scientist is satisfied with a version tested in dev; upload its binaries from
//! the dev staging folder into the *same* parent run's `model/`, so the version that was tested is the
//! version that gets promoted. The local copy is checked against the manifest first; the upload is
//! checked by listing; publishing twice is a no-op that says so.

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::cli::PublishArgs;
use crate::exit::UserError;
use crate::layout::LLM_MODELS_DIR;
use crate::layout::roots::{self, RootKind};
use crate::mlflow;
use crate::output::{Render, Style, Tone, write_fields};
use crate::progress::Reporter;
use crate::registry::names::tag;
use crate::registry::{self, MODEL_ARTIFACT_DIR, ModelRef, Served, lineage};
use crate::transfer;
use crate::units::{human_bytes, human_duration};

#[derive(Debug, Serialize)]
pub struct PublishReport {
    pub schema_version: u32,
    pub name: String,
    pub version: String,
    pub parent_run_id: String,
    pub already_published: bool,
    pub files: usize,
    pub bytes: u64,
    pub uploaded_files: usize,
    pub uploaded_bytes: u64,
    /// Of the uploaded files, how many went straight to S3 in presigned parts.
    pub uploaded_in_parts: usize,
    pub seconds: f64,
}

pub async fn run(args: &PublishArgs, reporter: Arc<dyn Reporter>) -> anyhow::Result<PublishReport> {
    let started = std::time::Instant::now();
    let reference =
        ModelRef::parse(&args.model, args.version.as_deref()).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter.clone())?;
    let version = registry::resolve_version(&client, &reference).await?;
    let lineage = lineage::resolve(&client, &version).await?;
    let parent_id = lineage.parent.info.run_id.clone();
    let dest = format!("{}/{MODEL_ARTIFACT_DIR}", lineage.parent_artifact_path);
    let manifest = registry::read_manifest(&client, &lineage).await?;

    let report = |already: bool, summary: Option<transfer::UploadSummary>| PublishReport {
        schema_version: 1,
        name: version.name.clone(),
        version: version.version.clone(),
        parent_run_id: parent_id.clone(),
        already_published: already,
        files: manifest.files.len(),
        bytes: manifest.total_bytes(),
        uploaded_files: summary.map_or(0, |s| s.uploaded),
        uploaded_bytes: summary.map_or(0, |s| s.bytes),
        uploaded_in_parts: summary.map_or(0, |s| s.in_parts),
        seconds: started.elapsed().as_secs_f64(),
    };

    if registry::is_published(&version)
        && transfer::verify_uploaded(&client, &manifest, &dest)
            .await
            .is_ok()
    {
        reporter.note(&format!(
            "{reference} is already published: its parent run {parent_id} holds every file of the manifest"
        ));
        return Ok(report(true, None));
    }

    // The dev copy is the source; it must still be what was registered.
    let dev_root = roots::resolve(RootKind::Dev, args.dev.dev_root.as_deref())
        .map_err(|e| UserError::usage(e.to_string()))?;
    // A Triton version is staged as `<repo>/<model>/` (its manifest covers config.pbtxt and `<N>/`).
    let served = registry::served_as(&version)?;
    let staged = match &served {
        Served::Triton { model, .. } => dev_root.path.join(model),
        Served::Llm => dev_root.path.join(LLM_MODELS_DIR).join(&parent_id),
    };
    if !staged.is_dir() {
        return Err(UserError::usage(format!(
            "the staged binaries of {reference} are not at `{}`",
            staged.display()
        ))
        .with_hint("pass the `--dev-root` the model was registered with")
        .into());
    }
    let (dir, expected) = (staged.clone(), manifest.clone());
    let problems =
        tokio::task::spawn_blocking(move || transfer::verify::check_tree(&dir, &expected)).await?;
    if !problems.is_empty() {
        let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(UserError::usage(format!(
            "the staged copy at `{}` no longer matches what was registered: {}",
            staged.display(),
            listed.join(", ")
        ))
        .with_hint("register the model again; a changed copy would publish bytes nobody tested")
        .into());
    }

    let summary =
        transfer::upload_tree(&client, &staged, &manifest, &dest, reporter.as_ref()).await?;
    transfer::verify_uploaded(&client, &manifest, &dest).await?;
    client
        .set_run_tag(&parent_id, tag::PUBLISHED, "true")
        .await?;
    client
        .set_model_version_tag(&version.name, &version.version, tag::PUBLISHED, "true")
        .await?;
    if let Served::Triton { model, number } = &served
        && *model != version.name
    {
        client
            .set_model_version_tag(model, number, tag::PUBLISHED, "true")
            .await?;
    }
    Ok(report(false, Some(summary)))
}

impl Render for PublishReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let uri = format!("models:/{}/{}", self.name, self.version);
        let uri = crate::text::printable(&uri);
        if self.already_published {
            writeln!(
                out,
                "{} {uri} was already published",
                style.paint(Tone::Good, "Nothing to do:")
            )?;
        } else {
            writeln!(out, "{} {uri}", style.paint(Tone::Good, "Published"))?;
        }
        let rate = self.uploaded_bytes as f64 / self.seconds.max(1e-9);
        let rows = [
            ("parent run", self.parent_run_id.clone()),
            (
                "binaries",
                format!("{} files, {}", self.files, human_bytes(self.bytes)),
            ),
            (
                "uploaded",
                format!(
                    "{} files, {} in {} ({}/s){}",
                    self.uploaded_files,
                    human_bytes(self.uploaded_bytes),
                    human_duration(self.seconds),
                    human_bytes(rate as u64),
                    match self.uploaded_in_parts {
                        0 => String::new(),
                        n => format!("; {n} straight to S3 in presigned parts"),
                    }
                ),
            ),
            ("next", format!("llmops promote {uri}")),
        ];
        write_fields(out, style, &rows)
    }
}
