//! `llmops lineage <MODEL_REF>`: a version's chain, from the registry alone (and the prod root's
//! audit log when given): the model it was registered from (a Hugging Face id, or an adapter's base
//! version), its runs with their logged datasets and latest metrics, the version with its aliases,
//! and every promotion. As a table, `--output json`, or `--format mermaid|dot`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::cli::{GraphFormat, LineageArgs};
use crate::exit::UserError;
use crate::layout::audit::{self, AuditEntry};
use crate::layout::destination::Destination;
use crate::mlflow::client::{Dataset, Metric, Run};
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
    /// What the version was registered from: a Hugging Face id (`org/name`) or a URI, when recorded.
    pub source_model: Option<String>,
    /// The Hugging Face revision of `source_model`, when recorded.
    pub source_revision: Option<String>,
    /// A LoRA adapter's base, `models:/<name>/<version>`.
    pub base: Option<String>,
    pub runs: Vec<RunLink>,
    /// MLflow 3: the logged model the version was registered from, and the metrics logged on it.
    pub logged_model_id: Option<String>,
    pub logged_model_metrics: BTreeMap<String, f64>,
    pub manifest_digest: Option<String>,
    /// The chat template recorded at register time.
    pub chat_template: Option<ChatTemplateRecord>,
    pub promotions: Vec<Promotion>,
    #[serde(skip)]
    pub format: Option<GraphFormat>,
}

#[derive(Debug, Serialize)]
pub struct ChatTemplateRecord {
    pub sha256: String,
    pub tool_use: bool,
}

#[derive(Debug, Serialize)]
pub struct RunLink {
    /// `child` (the registered model), `parent` (the binaries) or `training` (nearest first).
    pub role: String,
    pub run_id: String,
    pub run_name: Option<String>,
    pub datasets: Vec<LinkedDataset>,
    /// Latest value of each metric.
    pub metrics: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize)]
pub struct LinkedDataset {
    #[serde(flatten)]
    pub dataset: Dataset,
    /// What the run used it for (`mlflow.data.context`: `training`, `evaluation`…).
    pub context: Option<String>,
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
    let training = lineage::training_runs(&client, &version, &lineage).await?;
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
        source_revision: version.tag(tag::SOURCE_REVISION).map(str::to_string),
        base: version
            .tag(tag::BASE_NAME)
            .zip(version.tag(tag::BASE_VERSION))
            .map(|(n, v)| format!("models:/{n}/{v}")),
        runs: [("child", &lineage.child), ("parent", &lineage.parent)]
            .into_iter()
            .chain(training.iter().map(|run| ("training", run)))
            .map(|(role, run)| link(role, run))
            .collect(),
        logged_model_id: lineage.model_id.clone(),
        logged_model_metrics: numbers(&lineage.model_metrics),
        manifest_digest: version.tag(tag::MANIFEST_DIGEST).map(str::to_string),
        chat_template: version
            .tag(tag::CHAT_TEMPLATE_SHA256)
            .map(|sha256| ChatTemplateRecord {
                sha256: sha256.to_string(),
                tool_use: version.tag(tag::CHAT_TEMPLATE_TOOL_USE) == Some("true"),
            }),
        promotions,
        format: args.format,
    })
}

fn link(role: &str, run: &Run) -> RunLink {
    RunLink {
        role: role.to_string(),
        run_id: run.info.run_id.clone(),
        run_name: run.info.run_name.clone(),
        datasets: run
            .inputs
            .dataset_inputs
            .iter()
            .map(|input| LinkedDataset {
                dataset: input.dataset.clone(),
                context: input.context().map(str::to_string),
            })
            .collect(),
        metrics: numbers(&run.data.metrics),
    }
}

/// key → value of each metric whose value is a number (NaN and infinities are left out).
fn numbers(metrics: &[Metric]) -> BTreeMap<String, f64> {
    metrics
        .iter()
        .filter_map(|m| Some((m.key.clone(), m.number()?)))
        .collect()
}

fn run_label(role: &str) -> &'static str {
    match role {
        "parent" => "parent run",
        "child" => "child run",
        _ => "training run",
    }
}

/// `<id> (<name>); metrics: k=v, …; datasets: name (context), …`
fn run_text(run: &RunLink) -> String {
    let metrics = listed(run.metrics.iter().map(metric_text));
    let datasets = listed(run.datasets.iter().map(|d| match &d.context {
        Some(context) => format!("{} ({})", printable(&d.dataset.name), printable(context)),
        None => printable(&d.dataset.name),
    }));
    let name = run
        .run_name
        .as_deref()
        .map_or(String::new(), |n| format!(" ({})", printable(n)));
    format!(
        "{}{name}; metrics: {metrics}; datasets: {datasets}",
        run.run_id
    )
}

fn metric_text((key, value): (&String, &f64)) -> String {
    format!("{}={value}", printable(key))
}

/// Items joined by commas, or `-` when there are none.
fn listed(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
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
    /// The source as one URI (`hf://org/name@revision` for a Hugging Face id).
    fn source_uri(&self) -> Option<String> {
        let model = self.source_model.clone()?;
        Some(
            crate::registry::provenance::Source {
                model,
                revision: self.source_revision.clone(),
            }
            .uri(),
        )
    }

    /// The chain as nodes and edges, for the graph formats.
    fn graph(&self) -> Graph {
        let version = format!("models:/{}/{}", self.name, self.version);
        let mut nodes = vec![("version".to_string(), version)];
        let mut edges = Vec::new();
        let source = self.source_uri();
        if let Some(source) = source.as_ref().or(self.base.as_ref()) {
            nodes.push(("source".into(), source.clone()));
            let label = if self.base.is_some() {
                "base of"
            } else {
                "registered from"
            };
            edges.push(("source".into(), "version".into(), label.into()));
        }
        let mut below = "version".to_string();
        for (n, run) in self.runs.iter().enumerate() {
            let id = match run.role.as_str() {
                "training" => format!("run_training{n}"),
                role => format!("run_{role}"),
            };
            nodes.push((id.clone(), format!("{} run {}", run.role, run.run_id)));
            // Child and parent produced the version; each training run trained the run below it.
            if run.role == "training" {
                edges.push((id.clone(), below.clone(), "trained".into()));
                below = id.clone();
            } else {
                edges.push((id.clone(), "version".into(), "produced".into()));
                if run.role == "parent" {
                    below = id.clone();
                }
            }
            for (i, dataset) in run.datasets.iter().enumerate() {
                let data = format!("{id}_data{i}");
                nodes.push((data.clone(), format!("dataset {}", dataset.dataset.name)));
                edges.push((data, id.clone(), "input of".into()));
            }
        }
        if let Some(id) = &self.logged_model_id {
            let metrics: Vec<String> = self.logged_model_metrics.iter().map(metric_text).collect();
            let label = match metrics.is_empty() {
                true => format!("logged model {id}"),
                false => format!("logged model {id}; {}", metrics.join(", ")),
            };
            nodes.push(("logged_model".into(), label));
            edges.push((
                "logged_model".into(),
                "version".into(),
                "registered as".into(),
            ));
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
                self.source_uri().map_or("-".into(), |s| printable(&s)),
            ),
        ];
        if let Some(base) = &self.base {
            rows.push(("base", printable(base)));
        }
        if let Some(id) = &self.logged_model_id {
            let metrics = listed(self.logged_model_metrics.iter().map(metric_text));
            rows.push((
                "logged model",
                format!("{}; metrics: {metrics}", printable(id)),
            ));
        }
        rows.push((
            "manifest",
            self.manifest_digest.clone().unwrap_or_else(|| "-".into()),
        ));
        if let Some(template) = &self.chat_template {
            let tools = if template.tool_use {
                "takes tools"
            } else {
                "no tools"
            };
            rows.push((
                "chat template",
                format!("sha256 {} ({tools})", template.sha256),
            ));
        }
        for run in &self.runs {
            rows.push((run_label(&run.role), run_text(run)));
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
