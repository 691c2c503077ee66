//! What `promote` tells: what happened to which version, where, how much and how fast, verified
//! how, and what to run next. With `--dry-run`, the plan file by file.

use std::io::Write;

use comfy_table::{Cell, CellAlignment};
use serde::Serialize;

use crate::layout::destination::{Destination, Verification};
use crate::output::{Render, Style, Tone, write_fields};
use crate::registry::Located;
use crate::registry::lineage::ParentSource;
use crate::s3::S3Location;
use crate::text::printable;
use crate::transfer::download::RemoteFile;
use crate::units::{human_bytes, human_duration};

#[derive(Debug, Clone, Serialize)]
pub struct PlannedFile {
    pub path: String,
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub struct PromoteReport {
    pub schema_version: u32,
    pub outcome: Outcome,
    pub name: String,
    pub version: String,
    pub parent_run_id: String,
    pub parent_found_by: ParentSource,
    /// MLflow 3: the logged model the version was registered from (`models:/m-<id>`).
    pub logged_model_id: Option<String>,
    pub source: String,
    pub destination: String,
    pub credential_source: String,
    pub caller_arn: Option<String>,
    pub files: usize,
    pub bytes: u64,
    pub fetched_bytes: u64,
    pub resumed_bytes: u64,
    pub retries: u64,
    pub seconds: f64,
    pub mib_per_second: f64,
    pub verified: Option<Verification>,
    pub alias: Option<String>,
    /// A LoRA adapter: the base it is served on, and whether this promote put it in prod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<super::base::BaseInProd>,
    /// The file list, for `--dry-run`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<PlannedFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Promoted,
    Replaced,
    AlreadyPromoted,
    DryRun,
    WouldReplace,
}

impl PromoteReport {
    /// A report for `files` going from `binaries` to `dest`, before anything moved.
    pub fn new(
        located: &Located,
        binaries: &S3Location,
        dest: &Destination,
        files: &[RemoteFile],
    ) -> PromoteReport {
        PromoteReport {
            schema_version: 1,
            outcome: Outcome::Promoted,
            name: located.version.name.clone(),
            version: located.version.version.clone(),
            parent_run_id: located.parent_run_id().to_string(),
            parent_found_by: located.lineage.parent_source,
            logged_model_id: located.lineage.model_id.clone(),
            source: binaries.to_string(),
            destination: dest.target.display().to_string(),
            credential_source: String::new(),
            caller_arn: None,
            files: files.len(),
            bytes: files.iter().map(|f| f.size).sum(),
            fetched_bytes: 0,
            resumed_bytes: 0,
            retries: 0,
            seconds: 0.0,
            mib_per_second: 0.0,
            verified: None,
            alias: None,
            base: None,
            plan: Vec::new(),
        }
    }

    fn headline(&self) -> (Tone, &'static str) {
        match self.outcome {
            Outcome::Promoted => (Tone::Good, "Promoted"),
            Outcome::Replaced => (Tone::Good, "Promoted (replacing the previous copy)"),
            Outcome::AlreadyPromoted => (Tone::Good, "Already promoted"),
            Outcome::DryRun => (Tone::Strong, "Dry run: would promote"),
            Outcome::WouldReplace => (Tone::Warn, "Dry run: would replace the live copy with"),
        }
    }

    /// The parent run and how it was found: through which model's context, or which fallback.
    fn parent_line(&self) -> String {
        let mut text = format!("{}, from {}", self.parent_run_id, self.parent_found_by);
        if let Some(id) = &self.logged_model_id {
            text.push_str(&format!(" (models:/{id})"));
        }
        printable(&text)
    }

    fn transfer_line(&self) -> String {
        let mut text = format!(
            "{} fetched in {} ({}/s)",
            human_bytes(self.fetched_bytes),
            human_duration(self.seconds),
            human_bytes((self.mib_per_second * 1024.0 * 1024.0) as u64)
        );
        if self.resumed_bytes > 0 {
            text.push_str(&format!(
                ", {} kept from an interrupted run",
                human_bytes(self.resumed_bytes)
            ));
        }
        if self.retries > 0 {
            text.push_str(&format!(", {} retries", self.retries));
        }
        text
    }
}

impl Render for PromoteReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let uri = printable(&format!("models:/{}/{}", self.name, self.version));
        let (tone, headline) = self.headline();
        writeln!(out, "{} {uri}", style.paint(tone, headline))?;
        let dry_run = matches!(self.outcome, Outcome::DryRun | Outcome::WouldReplace);
        let mut rows = vec![
            ("to", printable(&self.destination)),
            ("from", printable(&self.source)),
            ("parent run", self.parent_line()),
            (
                "files",
                format!("{} files, {}", self.files, human_bytes(self.bytes)),
            ),
        ];
        if !dry_run && self.outcome != Outcome::AlreadyPromoted {
            rows.push(("transfer", self.transfer_line()));
        }
        if let Some(verified) = self.verified {
            let how = match verified {
                Verification::Blake3 => "every file's BLAKE3 matches the registered manifest",
                Verification::Sha256 => "every file's sha256 matches the registered manifest",
                Verification::SizeAndEtag => "sizes and single-part ETags only (no manifest)",
            };
            rows.push(("verified", format!("{}: {how}", verified.label())));
        }
        let caller = self.caller_arn.as_deref().unwrap_or("unknown (no STS)");
        rows.push(("caller", printable(caller)));
        rows.push(("credentials", printable(&self.credential_source)));
        if let Some(base) = &self.base {
            let how = match (base.promoted_first, dry_run) {
                (true, true) => "not in prod: would be promoted first",
                (true, false) => "promoted first",
                (false, _) => "already in prod",
            };
            rows.push((
                "base",
                printable(&format!(
                    "models:/{}/{} at {} ({how})",
                    base.name, base.version, base.folder
                )),
            ));
        }
        if let Some(alias) = &self.alias {
            rows.push((
                "alias",
                format!("@{} → version {}", printable(alias), self.version),
            ));
        }
        rows.push((
            "next",
            if dry_run {
                format!("llmops promote {uri} (without --dry-run)")
            } else {
                format!("llmops verify {uri}")
            },
        ));
        write_fields(out, style, &rows)?;
        if self.plan.is_empty() {
            return Ok(());
        }
        let mut files = style.table();
        files.set_header(vec!["file", "size"]);
        for file in &self.plan {
            files.add_row(vec![
                Cell::new(printable(&file.path)),
                Cell::new(human_bytes(file.size)).set_alignment(CellAlignment::Right),
            ]);
        }
        writeln!(out, "{files}")
    }
}
