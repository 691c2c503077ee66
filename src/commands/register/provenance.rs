//! `--source`, `--training-run`, `--dataset` and the folder's chat template: read and checked
//! before any run exists, then recorded on the parent run (datasets as its inputs, the training
//! run as a tag) and on the version (tags). What they mean is `registry::provenance`'s.

use std::path::Path;

use super::Session;
use crate::cli::RegisterArgs;
use crate::exit::UserError;
use crate::mlflow::MlflowClient;
use crate::mlflow::client::{Dataset, MlflowError};
use crate::progress::Reporter;
use crate::registry::lineage::is_run_id;
use crate::registry::names::tag;
use crate::registry::provenance::{self, ChatTemplate, Source};
use crate::sizing::tool_calling::{self, Templates};

/// The context MLflow's `log_input` gives a dataset a model was trained on.
const TRAINING_CONTEXT: &str = "training";

#[derive(Debug, Default)]
pub(super) struct Provenance {
    source: Option<Source>,
    training_run: Option<String>,
    datasets: Vec<Dataset>,
    chat_template: Option<ChatTemplate>,
    /// What `size` will suggest as `--tool-call-parser` (a parser, `none` or `unknown`).
    tool_call_parser: Option<String>,
}

/// The flags and the folder, checked; a template that cannot be read is a warning, not a refusal.
pub(super) fn read(
    args: &RegisterArgs,
    (model_dir, model_type): (&Path, Option<&str>),
    reporter: &dyn Reporter,
) -> Result<Provenance, UserError> {
    let source = match &args.source {
        Some(text) => {
            Some(Source::parse(text).map_err(|e| UserError::usage(format!("--source: {e}")))?)
        }
        None => Source::detect(model_dir),
    };
    if let Some(id) = &args.training_run
        && !is_run_id(id)
    {
        return Err(UserError::usage(format!(
            "--training-run `{}` is not an MLflow run id (32 lower-case hex characters)",
            crate::text::printable(id)
        )));
    }
    let datasets = args
        .dataset
        .iter()
        .map(|text| provenance::parse_dataset(text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| UserError::usage(format!("--dataset: {e}")))?;
    let templates = provenance::chat_templates(model_dir).unwrap_or_else(|problem| {
        reporter.warn(&format!(
            "the chat template is not recorded: {}",
            crate::text::printable(&problem)
        ));
        None
    });
    let chat_template = templates
        .as_ref()
        .map(|(t, file)| provenance::template_of(t.clone(), file));
    // Only a full model's template says how it calls tools; an adapter's base decides.
    let tool_call_parser = match (model_type, &templates) {
        (Some(model_type), Some((t, _))) => {
            Some(tool_calling::recommend(model_type, Templates::Found(t)).recorded())
        }
        _ => None,
    };
    Ok(Provenance {
        source,
        training_run: args.training_run.clone(),
        datasets,
        chat_template,
        tool_call_parser,
    })
}

impl Provenance {
    /// A `--training-run` that does not exist is refused before anything is created.
    pub(super) async fn check(&self, session: &Session) -> anyhow::Result<()> {
        let Some(id) = &self.training_run else {
            return Ok(());
        };
        match session.client.get_run(id).await {
            Ok(_) => Ok(()),
            Err(MlflowError::Api { status: 404, .. }) => Err(UserError::usage(format!(
                "--training-run `{id}` is not a run on this tracking server"
            ))
            .with_hint("pass the run id the training logged to (`mlflow.active_run().info.run_id`)")
            .into()),
            Err(other) => Err(other.into()),
        }
    }

    /// Tags for the parent run, at its creation.
    pub(super) fn parent_tags(&self) -> Vec<(&'static str, String)> {
        self.training_run
            .iter()
            .map(|id| (tag::TRAINING_RUN_ID, id.clone()))
            .collect()
    }

    /// The datasets, as the parent run's inputs.
    pub(super) async fn log_inputs(
        &self,
        client: &MlflowClient,
        parent_id: &str,
    ) -> anyhow::Result<()> {
        if self.datasets.is_empty() {
            return Ok(());
        }
        let inputs: Vec<(Dataset, &str)> = self
            .datasets
            .iter()
            .map(|d| (d.clone(), TRAINING_CONTEXT))
            .collect();
        client.log_inputs(parent_id, &inputs).await?;
        Ok(())
    }

    /// Tags for the version.
    pub(super) fn version_tags(&self) -> Vec<(String, String)> {
        let mut tags = Vec::new();
        if let Some(source) = &self.source {
            tags.push((tag::SOURCE_MODEL.to_string(), source.model.clone()));
            if let Some(revision) = &source.revision {
                tags.push((tag::SOURCE_REVISION.to_string(), revision.clone()));
            }
        }
        if let Some(id) = &self.training_run {
            tags.push((tag::TRAINING_RUN_ID.to_string(), id.clone()));
        }
        if let Some(template) = &self.chat_template {
            tags.push((
                tag::CHAT_TEMPLATE_SHA256.to_string(),
                template.sha256.clone(),
            ));
            tags.push((
                tag::CHAT_TEMPLATE_TOOL_USE.to_string(),
                template.tool_use.to_string(),
            ));
        }
        if let Some(parser) = &self.tool_call_parser {
            tags.push((tag::TOOL_CALL_PARSER.to_string(), parser.clone()));
        }
        tags
    }
}
