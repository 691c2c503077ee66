//! `llmops config show`: every setting, its value and where it came from; the files read; the
//! secrets only as set or not set.

use std::io::Write;

use crate::config::{ConfigReport, Setting};
use crate::output::{Render, Style};
use crate::text::printable;

pub fn show(settings: &[Setting]) -> ConfigReport {
    crate::config::show(settings)
}

impl Render for ConfigReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let mut rows = style.table();
        rows.set_header(vec!["key", "variable", "value", "source"]);
        for s in &self.settings {
            rows.add_row(vec![
                s.key.to_string(),
                s.variable.to_string(),
                s.value.as_deref().map_or("-".into(), printable),
                printable(s.source.as_str()),
            ]);
        }
        writeln!(out, "{rows}")?;
        let files: Vec<String> = self.files.iter().map(|f| printable(f)).collect();
        writeln!(out, "files: {}", files.join(", "))?;
        let secrets: Vec<String> = self
            .secrets
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(out, "secrets: {}", secrets.join(", "))?;
        for configured in &self.gates {
            let gates = &configured.gates;
            let mut listed: Vec<String> = gates.require.iter().map(|g| printable(g)).collect();
            listed.extend(
                gates
                    .require_better_than
                    .iter()
                    .map(|g| format!("better than {}", printable(g))),
            );
            if gates.require_fit {
                listed.push("fits".into());
            }
            writeln!(
                out,
                "gates for {} ({}): {}",
                printable(&configured.model),
                printable(&configured.file),
                listed.join("; ")
            )?;
        }
        Ok(())
    }
}
