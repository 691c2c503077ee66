//! `llmops lineage <MODEL_REF>`: a version's chain, from the registry alone (and the prod root's
//! audit log when given): the model it was registered from (a Hugging Face id, or an adapter's base
//! version), its runs with their logged datasets and latest metrics, the version with its aliases,
//! and every promotion. As a table, `--output json`, or `--format mermaid|dot`.

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::cli::{GraphFormat, LineageArgs};
use crate::exit::UserError;
use crate::layout::audit::{self, AuditEntry};
use crate::layout::destination::Destination;
use crate::mlflow::client::{Dataset, Run};
use crate::mlflow::{self};
use crate::output::{Render, Style, Tone, write_fields};
use crate::progress::Reporter;
use crate::registry::names::tag;
use crate::registry::{self, ModelRef, lineage};
use crate::text::printable;

#[derive(Debug, Serialize)]
pub struct LineageReport {
    pub schema_version: u32,
    pub name: String,
    pub version: String,
    pub aliases: Vec<String>,
    /// What the version was registered from: a Hugging Face id, when recorded.
    pub source_model: Option<String>,
    /// A LoRA adapter's base, `models:/<name>/<version>`.
    pub base: Option<String>,
    pub runs: Vec<RunLink>,
    /// MLflow 3: the logged model the version was registered from.
    pub logged_model_id: Option<String>,
    pub manifest_digest: Option<String>,
    pub promotions: Vec<Promotion>,
    #[serde(skip)]
    pub format: Option<GraphFormat>,
}

#[derive(Debug, Serialize)]
pub struct RunLink {
    /// `parent` (the binaries) or `child` (the registered model).
    pub role: String,
    pub run_id: String,
    pub datasets: Vec<Dataset>,
    /// Latest value of each metric.
    pub metrics: Vec<(String, f64)>,
}

#[derive(Debug, Serialize)]
pub struct Promotion {
    pub at: String,
    pub action: String,
    pub by: String,
    pub folder: String,
    pub manifest_digest: Option<String>,
    /// The version the alias pointed to before (what this promotion replaced).
    pub replaced: Option<String>,
}

pub async fn run(args: &LineageArgs, reporter: Arc<dyn Reporter>) -> anyhow::Result<LineageReport> {
    let reference =
        ModelRef::parse(&args.model, args.version.as_deref()).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter)?;
    let version = registry::resolve_version(&client, &reference).await?;
    let lineage = lineage::resolve(&client, &version).await?;
    let aliases = client
        .registered_model_aliases(&version.name)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| *v == version.version)
        .map(|(alias, _)| alias)
        .collect();
    let mut promotions = Vec::new();
    if let (Some(root), Ok(served)) = (&args.prod_root, registry::served_as(&version))
        && let Ok(dest) = Destination::plan(root, &served, &lineage.parent.info.run_id)
    {
        promotions = audit::read(&audit::log_path(&dest))
            .into_iter()
            .filter(|e| e.name == version.name && e.version == version.version)
            .map(promotion)
            .collect();
    }
    if promotions.is_empty()
        && let Some(at) = version.tag(tag::PROMOTED_AT)
    {
        // No audit log at hand: the last promotion, from the version's tags.
        promotions.push(Promotion {
            at: at.to_string(),
            action: "promote".into(),
            by: version
                .tag(tag::PROMOTED_BY)
                .unwrap_or_default()
                .to_string(),
            folder: version
                .tag(tag::PROMOTED_TO)
                .unwrap_or_default()
                .to_string(),
            manifest_digest: version.tag(tag::PROMOTED_DIGEST).map(str::to_string),
            replaced: None,
        });
    }
    Ok(LineageReport {
        schema_version: 1,
        name: version.name.clone(),
        version: version.version.clone(),
        aliases,
        source_model: version.tag(tag::SOURCE_MODEL).map(str::to_string),
        base: version
            .tag(tag::BASE_NAME)
            .zip(version.tag(tag::BASE_VERSION))
            .map(|(n, v)| format!("models:/{n}/{v}")),
        runs: vec![
            link("parent", &lineage.parent),
            link("child", &lineage.child),
        ],
        logged_model_id: lineage.model_id.clone(),
        manifest_digest: version.tag(tag::MANIFEST_DIGEST).map(str::to_string),
        promotions,
        format: args.format,
    })
}

fn link(role: &str, run: &Run) -> RunLink {
    RunLink {
        role: role.to_string(),
        run_id: run.info.run_id.clone(),
        datasets: run
            .inputs
            .dataset_inputs
            .iter()
            .map(|d| d.dataset.clone())
            .collect(),
        metrics: run
            .data
            .metrics
            .iter()
            .filter_map(|m| Some((m.key.clone(), m.number()?)))
            .collect(),
    }
}

fn promotion(entry: AuditEntry) -> Promotion {
    Promotion {
        at: entry.at,
        action: entry.action,
        by: entry.by,
        folder: entry.folder,
        manifest_digest: entry.manifest_digest,
        replaced: entry.alias_before,
    }
}

/// (id, label) of each node, and (from, to, label) of each edge.
type Graph = (Vec<(String, String)>, Vec<(String, String, String)>);

impl LineageReport {
    /// The chain as nodes and edges, for the graph formats.
    fn graph(&self) -> Graph {
        let version = format!("models:/{}/{}", self.name, self.version);
        let mut nodes = vec![("version".to_string(), version)];
        let mut edges = Vec::new();
        if let Some(source) = self.source_model.as_ref().or(self.base.as_ref()) {
            nodes.push(("source".into(), source.clone()));
            let label = if self.base.is_some() {
                "base of"
            } else {
                "registered from"
            };
            edges.push(("source".into(), "version".into(), label.into()));
        }
        for run in &self.runs {
            let id = format!("run_{}", run.role);
            nodes.push((id.clone(), format!("{} run {}", run.role, run.run_id)));
            edges.push((id.clone(), "version".into(), "produced".into()));
            for (i, dataset) in run.datasets.iter().enumerate() {
                let data = format!("{id}_data{i}");
                nodes.push((data.clone(), format!("dataset {}", dataset.name)));
                edges.push((data, id.clone(), "input of".into()));
            }
        }
        for (i, p) in self.promotions.iter().enumerate() {
            let id = format!("{}{i}", p.action);
            nodes.push((id.clone(), format!("{} {} at {}", p.action, p.folder, p.at)));
            edges.push(("version".into(), id, p.action.clone()));
        }
        (nodes, edges)
    }

    fn write_graph(&self, out: &mut dyn Write, format: GraphFormat) -> std::io::Result<()> {
        let (nodes, edges) = self.graph();
        // Labels are quoted; a quote inside becomes an apostrophe, other text is made printable.
        let label = |text: &str| printable(text).replace('"', "'");
        match format {
            GraphFormat::Mermaid => {
                writeln!(out, "flowchart LR")?;
                for (id, text) in &nodes {
                    writeln!(out, "  {id}[\"{}\"]", label(text))?;
                }
                for (from, to, text) in &edges {
                    writeln!(out, "  {from} -->|{}| {to}", label(text))?;
                }
            }
            GraphFormat::Dot => {
                writeln!(out, "digraph lineage {{\n  rankdir=LR;")?;
                for (id, text) in &nodes {
                    writeln!(out, "  {id} [label=\"{}\"];", label(text))?;
                }
                for (from, to, text) in &edges {
                    writeln!(out, "  {from} -> {to} [label=\"{}\"];", label(text))?;
                }
                writeln!(out, "}}")?;
            }
        }
        Ok(())
    }
}

impl Render for LineageReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        if let Some(format) = self.format {
            return self.write_graph(out, format);
        }
        let uri = printable(&format!("models:/{}/{}", self.name, self.version));
        writeln!(out, "{} {uri}", style.paint(Tone::Strong, "Lineage of"))?;
        let mut rows = vec![
            (
                "aliases",
                self.aliases
                    .iter()
                    .map(|a| format!("@{}", printable(a)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (
                "source",
                self.source_model.as_deref().map_or("-".into(), printable),
            ),
        ];
        if let Some(base) = &self.base {
            rows.push(("base", printable(base)));
        }
        if let Some(id) = &self.logged_model_id {
            rows.push(("logged model", printable(id)));
        }
        rows.push((
            "manifest",
            self.manifest_digest.clone().unwrap_or_else(|| "-".into()),
        ));
        for run in &self.runs {
            let metrics: Vec<String> = run
                .metrics
                .iter()
                .map(|(k, v)| format!("{}={v}", printable(k)))
                .collect();
            let datasets: Vec<String> = run.datasets.iter().map(|d| printable(&d.name)).collect();
            rows.push((
                if run.role == "parent" {
                    "parent run"
                } else {
                    "child run"
                },
                format!(
                    "{}; metrics: {}; datasets: {}",
                    run.run_id,
                    if metrics.is_empty() {
                        "-".into()
                    } else {
                        metrics.join(", ")
                    },
                    if datasets.is_empty() {
                        "-".into()
                    } else {
                        datasets.join(", ")
                    }
                ),
            ));
        }
        write_fields(out, style, &rows)?;
        let mut table = style.table();
        table.set_header(vec!["when", "action", "by", "where", "replaced"]);
        for p in &self.promotions {
            table.add_row(vec![
                printable(&p.at),
                printable(&p.action),
                printable(&p.by),
                printable(&p.folder),
                p.replaced
                    .as_deref()
                    .map_or("-".into(), |v| format!("version {}", printable(v))),
            ]);
        }
        writeln!(out, "{table}")
    }
}
