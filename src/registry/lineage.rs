//! From a registered model version to the parent run that holds its binaries: the version's run is
//! the child, and the version's model has an `artifacts/model_context.json` that names the parent.
//! The model is where the version's source says: an MLflow 3 logged model (`models:/m-<id>`, its
//! artifacts under `<exp>/models/<id>/artifacts`), or a folder of the child run's artifacts
//! (`mlflow-artifacts:/…`, `runs:/<run>/<path>`; llmops' own 2.x versions use `model/`). Falls
//! back to the child's `mlflow.parentRunId` tag and `parent_run_id` param (what other tools and the
//! reference notebooks leave), and says which was used.

use super::names::{context, mlflow_tag, param, tag};
use crate::mlflow::client::{Metric, MlflowClient, MlflowError, ModelVersion, Run};
use crate::mlflow::logged_models::model_id_of_source;
use crate::mlflow::proxied_artifact_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParentSource {
    ModelContext,
    LoggedModelContext,
    ParentRunIdTag,
    ParentRunIdParam,
}

impl std::fmt::Display for ParentSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParentSource::ModelContext => "the child model's model_context.json",
            ParentSource::LoggedModelContext => "the logged model's model_context.json",
            ParentSource::ParentRunIdTag => "the child run's mlflow.parentRunId tag",
            ParentSource::ParentRunIdParam => "the child run's parent_run_id param",
        })
    }
}

#[derive(Debug, Clone)]
pub struct Lineage {
    pub child: Run,
    pub parent: Run,
    pub parent_source: ParentSource,
    /// MLflow 3: the logged model (`m-<id>`) the version was registered from.
    pub model_id: Option<String>,
    /// MLflow 3: metrics logged against that model, the latest step of each.
    pub model_metrics: Vec<Metric>,
    /// `<exp>/<parent>/artifacts`, the parent's path under the artifact proxy.
    pub parent_artifact_path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LineageError {
    #[error("model version {name}/{version} has no run; it was not registered from a run")]
    NoRun { name: String, version: String },
    #[error(
        "cannot find the parent run of child run {child}: no model_context.json, mlflow.parentRunId tag or parent_run_id param"
    )]
    NoParent { child: String },
    #[error(
        "run {run} stores artifacts at `{uri}`, not through the MLflow artifact proxy (mlflow-artifacts:/); start the server with --serve-artifacts"
    )]
    NotProxied { run: String, uri: String },
    #[error("`{id}` from {source_name} is not an MLflow run id (32 hex characters)")]
    BadParentId {
        id: String,
        source_name: ParentSource,
    },
    #[error(transparent)]
    Mlflow(#[from] MlflowError),
}

pub async fn resolve(
    client: &MlflowClient,
    version: &ModelVersion,
) -> Result<Lineage, LineageError> {
    if version.run_id.is_empty() {
        return Err(LineageError::NoRun {
            name: version.name.clone(),
            version: version.version.clone(),
        });
    }
    let child = client.get_run(&version.run_id).await?;
    let model_id = model_id_of_source(&version.source).map(str::to_string);
    let mut model_metrics = Vec::new();
    let (folder, context_source) = match &model_id {
        Some(id) => {
            let model = client.get_logged_model(id).await?;
            model_metrics = model.metrics;
            (
                proxied_artifact_path(&model.artifact_uri),
                ParentSource::LoggedModelContext,
            )
        }
        None => (model_folder(version, &child), ParentSource::ModelContext),
    };
    let context = match folder {
        Some(folder) => context_run_id(client, &folder).await?,
        None => None,
    };
    let (parent_id, parent_source) = match context {
        Some(id) => (id, context_source),
        None => match (
            child.tag(mlflow_tag::PARENT_RUN_ID),
            child.param(param::PARENT_RUN_ID),
        ) {
            (Some(id), _) => (id.to_string(), ParentSource::ParentRunIdTag),
            (None, Some(id)) => (id.to_string(), ParentSource::ParentRunIdParam),
            _ => {
                return Err(LineageError::NoParent {
                    child: child.info.run_id.clone(),
                });
            }
        },
    };
    if !is_run_id(&parent_id) {
        return Err(LineageError::BadParentId {
            id: crate::text::printable(&parent_id),
            source_name: parent_source,
        });
    }
    let parent = client.get_run(&parent_id).await?;
    let parent_artifact_path = artifact_path(&parent)?;
    Ok(Lineage {
        child,
        parent,
        parent_source,
        model_id,
        model_metrics,
        parent_artifact_path,
    })
}

/// How many runs up a training chain is followed; nesting deeper than this is not a lineage.
const MAX_TRAINING_CHAIN: usize = 8;

/// The runs that trained the model, nearest first: the version's (or parent run's)
/// `llmops.training_run_id` (`register --training-run`), else the run the parent run is nested
/// under (`mlflow.parentRunId`); then each one's own `mlflow.parentRunId`, up the chain. A run
/// that no longer exists ends the chain.
pub async fn training_runs(
    client: &MlflowClient,
    version: &ModelVersion,
    lineage: &Lineage,
) -> Result<Vec<Run>, LineageError> {
    let parent = &lineage.parent;
    let mut next = version
        .tag(tag::TRAINING_RUN_ID)
        .or_else(|| parent.tag(tag::TRAINING_RUN_ID))
        .or_else(|| parent.tag(mlflow_tag::PARENT_RUN_ID))
        .map(str::to_string);
    let mut seen = vec![
        lineage.child.info.run_id.clone(),
        parent.info.run_id.clone(),
    ];
    let mut runs = Vec::new();
    while let Some(id) = next.take() {
        if !is_run_id(&id) || seen.contains(&id) || runs.len() == MAX_TRAINING_CHAIN {
            break;
        }
        let run = match client.get_run(&id).await {
            Ok(run) => run,
            Err(MlflowError::Api { status: 404, .. }) => break,
            Err(other) => return Err(other.into()),
        };
        seen.push(id);
        next = run.tag(mlflow_tag::PARENT_RUN_ID).map(str::to_string);
        runs.push(run);
    }
    Ok(runs)
}

pub fn artifact_path(run: &Run) -> Result<String, LineageError> {
    proxied_artifact_path(&run.info.artifact_uri).ok_or_else(|| LineageError::NotProxied {
        run: run.info.run_id.clone(),
        uri: run.info.artifact_uri.clone(),
    })
}

/// The folder of the child run's artifacts that holds the version's model, under the proxy: from
/// a `mlflow-artifacts:/` or `runs:/<child>/<path>` source, else llmops' own `model/`.
fn model_folder(version: &ModelVersion, child: &Run) -> Option<String> {
    let child_root = proxied_artifact_path(&child.info.artifact_uri)?;
    if let Some(folder) = proxied_artifact_path(&version.source)
        && folder.starts_with(&format!("{child_root}/"))
    {
        return Some(folder);
    }
    let from_runs_uri = version
        .source
        .strip_prefix(&format!("runs:/{}/", child.info.run_id))
        .map(|path| path.trim_matches('/'))
        .filter(|path| !path.split('/').any(|part| part == ".." || part == "."));
    Some(match from_runs_uri {
        Some("") => child_root,
        Some(path) => format!("{child_root}/{path}"),
        None => format!("{child_root}/model"),
    })
}

/// `run_id` (or `parent_run_id`) from `<folder>/artifacts/model_context.json`, if it is there.
async fn context_run_id(
    client: &MlflowClient,
    folder: &str,
) -> Result<Option<String>, LineageError> {
    let dir = format!("{folder}/artifacts");
    // List first: fetching a missing artifact answers 500, which would be retried for minutes.
    let listed = client.list_artifacts(&dir).await?;
    if !listed
        .iter()
        .any(|f| f.path.rsplit('/').next() == Some("model_context.json"))
    {
        return Ok(None);
    }
    let bytes = client
        .download_artifact(&format!("{dir}/model_context.json"))
        .await?;
    let context: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    Ok(context
        .get(context::RUN_ID)
        .or_else(|| context.get(context::PARENT_RUN_ID))
        .and_then(|v| v.as_str())
        .map(str::to_string))
}

/// MLflow run ids are 32 lower-case hex characters; anything else in a context file is refused, as
/// it becomes a folder name.
pub fn is_run_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
