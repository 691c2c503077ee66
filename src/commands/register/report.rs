//! What `register` tells: the version, where its binaries are, and what to run next.

use std::io::Write;

use serde::Serialize;

use crate::output::{Render, Style, Tone, write_fields};
use crate::text::printable;
use crate::units::human_bytes;

#[derive(Debug, Serialize)]
pub struct RegisterReport {
    pub schema_version: u32,
    pub name: String,
    pub version: String,
    pub parent_run_id: String,
    pub child_run_id: String,
    pub experiment_id: String,
    pub staged_path: String,
    pub manifest_digest: String,
    pub files: usize,
    pub bytes: u64,
    pub published: bool,
    pub model_uri: String,
    pub tracking_uri: String,
    /// With `--target triton`: the Triton model folder and version folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triton_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triton_version: Option<String>,
}

impl Render for RegisterReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let uri = printable(&self.model_uri);
        writeln!(out, "{} {uri}", style.paint(Tone::Good, "Registered"))?;
        let mut rows = vec![
            (
                "staged",
                format!(
                    "{} ({} files, {})",
                    printable(&self.staged_path),
                    self.files,
                    human_bytes(self.bytes)
                ),
            ),
            (
                "parent run",
                format!(
                    "{} (binaries), experiment {}",
                    self.parent_run_id, self.experiment_id
                ),
            ),
            ("child run", format!("{} (pyfunc model)", self.child_run_id)),
            ("manifest", format!("sha256 {}", self.manifest_digest)),
        ];
        if let (Some(model), Some(version)) = (&self.triton_model, &self.triton_version) {
            rows.push((
                "Triton",
                format!("model {} version {version}", printable(model)),
            ));
        }
        rows.push((
            "published",
            if self.published {
                "yes: the binaries are in the parent run".to_string()
            } else {
                format!("no: once tested in dev, run `llmops publish {uri}`")
            },
        ));
        write_fields(out, style, &rows)
    }
}
