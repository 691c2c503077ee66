//! `llmops verify`: re-hash the prod copy of a version against its manifest, and record when it
//! was last verified.

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::cli::VerifyArgs;
use crate::exit::{ExitStatus, UserError};
use crate::layout::destination::{Destination, PromotedState, Verification};
use crate::layout::roots::{self, RootKind};
use crate::mlflow;
use crate::output::{Render, Style, Tone, write_fields};
use crate::progress::Reporter;
use crate::registry::{self, ManifestFrom, ModelRef, Served, lineage};
use crate::text::printable;
use crate::transfer::verify;
use crate::units::{human_bytes, now_rfc3339};

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub schema_version: u32,
    pub name: String,
    pub version: String,
    pub path: String,
    pub files: usize,
    pub bytes: u64,
    pub verified: bool,
    /// `registry` (logged by register or adopt), or `promote` for a version without one.
    pub manifest_from: ManifestFrom,
    pub problems: Vec<String>,
}

pub async fn run(args: &VerifyArgs, reporter: Arc<dyn Reporter>) -> anyhow::Result<VerifyReport> {
    let reference =
        ModelRef::parse(&args.model, args.version.as_deref()).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter)?;
    let prod_root = roots::resolve(RootKind::Prod, args.prod.prod_root.as_deref())
        .map_err(|e| UserError::usage(e.to_string()))?;
    let version = registry::resolve_version(&client, &reference).await?;
    let lineage = lineage::resolve(&client, &version).await?;
    let served = registry::served_as(&version)?;
    let dest = Destination::plan(&prod_root.path, &served, &lineage.parent.info.run_id)?;
    let promoted = match served {
        Served::Llm => dest.manifest_root.is_dir(),
        Served::Triton { .. } => dest.target.is_dir(),
    };
    if !promoted {
        return Err(UserError::failed(format!(
            "{reference} is not promoted: `{}` does not exist",
            dest.target.display()
        ))
        .with_hint(format!("run `llmops promote {reference}`"))
        .into());
    }
    let computed = dest.read_state().and_then(|s| s.computed_manifest);
    let (manifest, manifest_from) =
        registry::manifest_for_prod(&client, &version, &lineage, computed).await?;
    // The manifest's paths are relative to the run folder (LLM) or the model folder (Triton).
    let dir = dest.manifest_root.clone();
    // Production reads the target: the whole run folder, or this version's folder of a Triton model
    // (the model folder also holds other versions). Anything there the manifest does not list is
    // foreign.
    let scope = dest.target.clone();
    let expected = manifest.clone();
    let checked = dir.clone();
    let problems =
        tokio::task::spawn_blocking(move || verify::check_copy(&checked, &scope, &expected))
            .await?;
    let verified = problems.is_empty();
    if verified {
        let mut state = dest.read_state().unwrap_or_else(|| PromotedState {
            name: version.name.clone(),
            version: version.version.clone(),
            manifest_digest: Some(manifest.digest()),
            promoted_at: "unknown".into(),
            verification: if manifest.has_blake3() {
                Verification::Blake3
            } else {
                Verification::Sha256
            },
            verified_at: String::new(),
            computed_manifest: None,
        });
        state.verified_at = now_rfc3339();
        dest.write_state(&state)?;
    }
    Ok(VerifyReport {
        schema_version: 1,
        name: version.name,
        version: version.version,
        path: dir.display().to_string(),
        files: manifest.files.len(),
        bytes: manifest.total_bytes(),
        verified,
        manifest_from,
        problems: problems.iter().map(ToString::to_string).collect(),
    })
}

impl Render for VerifyReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let uri = printable(&format!("models:/{}/{}", self.name, self.version));
        let size = format!("{} files, {}", self.files, human_bytes(self.bytes));
        if self.verified {
            writeln!(out, "{} {uri}", style.paint(Tone::Good, "Verified"))?;
            let rows = [
                ("at", printable(&self.path)),
                ("files", format!("{size}: every sha256 matches the manifest")),
                (
                    "manifest",
                    match self.manifest_from {
                        ManifestFrom::Registry => "recorded in the registry (by register or adopt)".to_string(),
                        ManifestFrom::Promote => "computed by promote from the bytes it promoted (the version has none; `llmops adopt` records one)".to_string(),
                    },
                ),
            ];
            return write_fields(out, style, &rows);
        }
        let headline = format!(
            "Does not match its manifest: {} {} ({} files registered)",
            self.problems.len(),
            if self.problems.len() == 1 {
                "problem"
            } else {
                "problems"
            },
            self.files
        );
        writeln!(out, "{} {uri}", style.paint(Tone::Bad, &headline))?;
        write_fields(
            out,
            style,
            &[("at", printable(&self.path)), ("files", size)],
        )?;
        for problem in &self.problems {
            writeln!(out, "  - {problem}")?;
        }
        writeln!(
            out,
            "Promote the version again to restore it: llmops promote {uri}"
        )
    }

    fn exit_status(&self) -> ExitStatus {
        if self.verified {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}
