//! `llmops register`: a parent run that holds the binaries (under `model/`, uploaded only with
//! `--publish`), the binaries staged in the dev dataset, a nested child run with a small pyfunc
//! model whose context names the parent, and a model version registered from the child. Everything
//! is checked before the first run is created; a failure midway marks the runs FAILED and removes
//! the staged copy, so nothing half-registered looks healthy.
//!
//! This file is what both targets share (the session, the parent run, the child run and its
//! version, the roll-back, the tags every version carries); `llm.rs` stages into
//! `<dev-root>/llm-models/<parent-run-id>/`, `triton.rs` into a Triton repository.

mod adapter;
mod llm;
mod provenance;
mod report;
mod triton;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

pub use report::RegisterReport;

use crate::cli::{RegisterArgs, Target};
use crate::exit::UserError;
use crate::layout::staging;
use crate::manifest::{MANIFEST_ARTIFACT, Manifest};
use crate::mlflow::client::{MlflowClient, ModelVersion, Run};
use crate::mlflow::logged_models::{self, Finalized, LoggedModelInfo};
use crate::mlflow::proxied_artifact_path;
use crate::mlflow::pyfunc::PyfuncModel;
use crate::progress::Reporter;
use crate::registry::names::{mlflow_tag, param, tag, value};
use crate::registry::{MODEL_ARTIFACT_DIR, lineage};
use crate::{env, mlflow, transfer};
use provenance::Provenance;

pub async fn run(
    args: &RegisterArgs,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<RegisterReport> {
    match args.target {
        Target::Triton if args.base.is_some() => Err(UserError::usage(
            "--base registers a LoRA adapter for vLLM; it does not go with --target triton",
        )
        .into()),
        Target::Llm => llm::run(args, reporter).await,
        Target::Triton => triton::run(args, reporter).await,
    }
}

/// What every registration needs before its first run: a client that answers, the experiment, the
/// user to record, and the progress reporter.
struct Session {
    client: MlflowClient,
    server_version: String,
    experiment_id: String,
    user: String,
    reporter: Arc<dyn Reporter>,
}

impl Session {
    async fn open(args: &RegisterArgs, reporter: Arc<dyn Reporter>) -> anyhow::Result<Session> {
        let client = mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter.clone())?;
        let server_version = client.server_version().await.map_err(|e| {
            UserError::failed(format!("the MLflow tracking server does not answer: {e}")).with_hint(
                format!(
                    "check `MLFLOW_TRACKING_URI` ({}) and that the server is up",
                    client.tracking_uri()
                ),
            )
        })?;
        let experiment_name = args
            .experiment
            .clone()
            .or_else(|| std::env::var(env::MLFLOW_EXPERIMENT_NAME).ok())
            .unwrap_or_else(|| args.name.clone());
        let experiment = client
            .get_or_create_experiment(&experiment_name)
            .await
            .context("getting the experiment")?;
        let user = env::user_name().unwrap_or_else(|| "llmops".into());
        Ok(Session {
            client,
            server_version,
            experiment_id: experiment.experiment_id,
            user,
            reporter,
        })
    }

    /// The parent run (`<name>-binaries`) with the standard tags, `extra` and the user's tags.
    async fn start_parent(
        &self,
        name: &str,
        mut extra: Vec<(&'static str, String)>,
        (user_tags, provenance): (&[(String, String)], &Provenance),
    ) -> anyhow::Result<(Run, Created)> {
        provenance.check(self).await?;
        let run_name = format!("{name}-binaries");
        let mut tags = standard_tags(&run_name, &self.user);
        tags.push((tag::ROLE, value::ROLE_PARENT.into()));
        extra.extend(provenance.parent_tags());
        tags.extend(extra);
        tags.extend(user_tags.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let parent = self
            .client
            .create_run(&self.experiment_id, &run_name, &tags)
            .await?;
        let created = Created {
            parent: Some(parent.info.run_id.clone()),
            ..Created::default()
        };
        Ok((parent, created))
    }

    /// Logs the child run and its model, then registers the version from it; returns (child run
    /// id, version). On an MLflow 3 server the model is a logged model (`models:/m-<id>`, an output
    /// of the child run), as `mlflow.pyfunc.log_model` makes it; on 2.x it is the child run's
    /// `model/` artifacts. Each thing is recorded in `created` as soon as it exists, for the
    /// roll-back.
    async fn register_child(
        &self,
        created: &mut Created,
        child: ChildModel<'_>,
    ) -> anyhow::Result<(String, ModelVersion)> {
        let client = &self.client;
        let run = self.start_child_run(created, &child).await?;
        let child_id = run.info.run_id.clone();
        let logged = match self.logs_models() {
            true => Some(self.create_logged_model(created, &child, &child_id).await?),
            false => None,
        };
        let (destination, source) = match &logged {
            Some(model) => (
                proxied_artifact_path(&model.artifact_uri).ok_or_else(|| {
                    UserError::failed(format!(
                        "logged model {} stores artifacts at `{}`, not through the MLflow artifact proxy (mlflow-artifacts:/); start the server with --serve-artifacts",
                        model.model_id,
                        crate::text::printable(&model.artifact_uri)
                    ))
                })?,
                format!("{}{}", logged_models::SOURCE_PREFIX, model.model_id),
            ),
            None => (
                format!("{}/{MODEL_ARTIFACT_DIR}", lineage::artifact_path(&run)?),
                format!(
                    "{}/{MODEL_ARTIFACT_DIR}",
                    run.info.artifact_uri.trim_end_matches('/')
                ),
            ),
        };
        let model_id = logged.as_ref().map(|m| m.model_id.clone());
        self.upload_pyfunc(&child, &child_id, model_id.clone(), &destination)
            .await?;
        if let Some(id) = &model_id {
            client.finalize_logged_model(id, Finalized::Ready).await?;
            client.log_model_output(&child_id, id).await?;
        }
        client.finish_run(&child_id, "FINISHED").await?;

        client
            .get_or_create_registered_model(child.registered_name, child.description)
            .await?;
        let version = client
            .create_model_version(
                child.registered_name,
                &source,
                &child_id,
                model_id.as_deref(),
                child.version_tags,
                child.description,
            )
            .await?;
        // From here a failure (the parent's final update) must not leave a healthy-looking version.
        created
            .versions
            .push((child.registered_name.to_string(), version.version.clone()));
        Ok((child_id, version))
    }

    /// MLflow 3 and later have logged models; 2.x does not.
    fn logs_models(&self) -> bool {
        let major = self.server_version.split('.').next().unwrap_or_default();
        major.parse::<u32>().is_ok_and(|major| major >= 3)
    }

    /// The nested child run (`mlflow.parentRunId`), with its params.
    async fn start_child_run(
        &self,
        created: &mut Created,
        child: &ChildModel<'_>,
    ) -> anyhow::Result<Run> {
        let run_name = format!("{}-model", child.registered_name);
        let mut tags = standard_tags(&run_name, &self.user);
        tags.push((mlflow_tag::PARENT_RUN_ID, child.parent_id.to_string()));
        tags.push((tag::ROLE, value::ROLE_CHILD.into()));
        let run = self
            .client
            .create_run(&self.experiment_id, &run_name, &tags)
            .await?;
        created.child = Some(run.info.run_id.clone());
        for (key, value) in &child.params {
            self.client.log_param(&run.info.run_id, key, value).await?;
        }
        Ok(run)
    }

    /// MLflow 3: a PENDING logged model produced by the child run, tagged with the parent run and
    /// the manifest digest so the model page names the binaries it stands for.
    async fn create_logged_model(
        &self,
        created: &mut Created,
        child: &ChildModel<'_>,
        child_id: &str,
    ) -> anyhow::Result<LoggedModelInfo> {
        let mut tags: Vec<(String, String)> = child
            .version_tags
            .iter()
            .filter(|(key, _)| [tag::PARENT_RUN_ID, tag::MANIFEST_DIGEST].contains(&key.as_str()))
            .cloned()
            .collect();
        // The run's standard tags (user, source: the UI's "Logged from"), less its name.
        tags.extend(
            standard_tags("", &self.user)
                .into_iter()
                .filter(|(key, _)| *key != mlflow_tag::RUN_NAME)
                .map(|(key, value)| (key.to_string(), value)),
        );
        tags.push((tag::ROLE.to_string(), value::ROLE_CHILD.to_string()));
        let model = self
            .client
            .create_logged_model(
                &self.experiment_id,
                &logged_models::logged_model_name(child.registered_name),
                child_id,
                &tags,
            )
            .await?;
        if !logged_models::is_model_id(&model.model_id) {
            return Err(UserError::failed(format!(
                "the tracking server answered a logged model id `{}`, which is not `m-` and 32 hex characters",
                crate::text::printable(&model.model_id)
            ))
            .into());
        }
        created.logged_model = Some(model.model_id.clone());
        Ok(model)
    }

    /// Writes the pyfunc model folder and uploads it to `destination` under the artifact proxy.
    async fn upload_pyfunc(
        &self,
        child: &ChildModel<'_>,
        child_id: &str,
        model_id: Option<String>,
        destination: &str,
    ) -> anyhow::Result<()> {
        let uuid = model_id.clone().unwrap_or_else(|| child_id.to_string());
        let model = PyfuncModel {
            code_file_name: child.code.0.clone(),
            code: child.code.1.clone(),
            context: child.context.clone(),
            pip_requirements: child.pip_requirements.clone(),
            python_version: local_python_version(),
            mlflow_version: self.server_version.clone(),
            child_run_id: child_id.to_string(),
            model_id,
        };
        let model_dir = tempfile::tempdir()?;
        model.write_to(model_dir.path(), &mlflow::pyfunc::utc_time_created(), &uuid)?;
        for file in staging::scan(model_dir.path())? {
            self.client
                .upload_artifact(destination, &file.relative, &file.path, |_: &[u8]| {})
                .await?;
        }
        Ok(())
    }
}

/// The nested child run (tag `mlflow.parentRunId`) holding a small pyfunc model, and the registered
/// version made from it: the same for the LLM layout and for Triton's proxy.
struct ChildModel<'a> {
    registered_name: &'a str,
    parent_id: &'a str,
    params: Vec<(&'a str, String)>,
    /// (file name, code) of the model from code.
    code: &'a (String, String),
    context: serde_json::Value,
    pip_requirements: Vec<String>,
    version_tags: &'a [(String, String)],
    description: Option<&'a str>,
}

/// What a failure must clean up.
#[derive(Default)]
struct Created {
    parent: Option<String>,
    child: Option<String>,
    staged: Option<PathBuf>,
    /// MLflow 3: the child's logged model, marked FAILED on roll-back.
    logged_model: Option<String>,
    /// Where a copy is built before it is renamed to `staged` (removed if the copy was cut short).
    partial: Option<PathBuf>,
    /// Versions registered before the failure (Triton's binary holder, the child's version),
    /// deleted on roll-back.
    versions: Vec<(String, String)>,
}

impl Created {
    async fn roll_back(&self, client: &MlflowClient, reporter: &dyn Reporter) {
        for (name, version) in &self.versions {
            if let Err(e) = client.delete_model_version(name, version).await {
                reporter.warn(&format!(
                    "could not delete model version {name}/{version}: {e}"
                ));
            }
        }
        if let Some(model_id) = &self.logged_model
            && let Err(e) = client
                .finalize_logged_model(model_id, Finalized::Failed)
                .await
        {
            reporter.warn(&format!(
                "could not mark logged model {model_id} FAILED: {e}"
            ));
        }
        for run in [&self.child, &self.parent].into_iter().flatten() {
            if let Err(e) = client.finish_run(run, "FAILED").await {
                reporter.warn(&format!("could not mark run {run} FAILED: {e}"));
            }
        }
        for folder in [&self.staged, &self.partial].into_iter().flatten() {
            let _ = std::fs::remove_dir_all(folder);
        }
    }

    /// A registration's outcome: on failure, roll back and say what happened and what to re-run.
    async fn settle<T>(
        &self,
        result: anyhow::Result<T>,
        session: &Session,
        name: &str,
    ) -> anyhow::Result<T> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => {
                self.roll_back(&session.client, session.reporter.as_ref())
                    .await;
                Err(error.context(format!(
                    "registration of `{name}` failed; {}; fix the cause and run `llmops register` again",
                    self.describe()
                )))
            }
        }
    }

    fn describe(&self) -> String {
        let runs: Vec<&str> = [&self.parent, &self.child]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let mut text = if runs.is_empty() {
            "no run was created".to_string()
        } else {
            format!("runs {} are marked FAILED", runs.join(" and "))
        };
        if let Some(model_id) = &self.logged_model {
            text.push_str(&format!(", logged model {model_id} is marked FAILED"));
        }
        if let Some(staged) = &self.staged {
            text.push_str(&format!(
                " and the staged copy {} was removed",
                staged.display()
            ));
        }
        for (name, version) in &self.versions {
            text.push_str(&format!("; model version {name}/{version} was deleted"));
        }
        text
    }
}

/// The child model's `model_context.json`, from `registry::names::context` keys.
fn model_context<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> serde_json::Value {
    serde_json::Value::Object(
        pairs
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

/// `--tag KEY=VALUE` pairs.
fn user_tags(args: &RegisterArgs) -> Result<Vec<(String, String)>, UserError> {
    args.tag
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_string(), value.to_string()))
            }
            _ => Err(UserError::usage(format!("`--tag {pair}` is not KEY=VALUE"))),
        })
        .collect()
}

fn standard_tags<'a>(run_name: &str, user: &str) -> Vec<(&'a str, String)> {
    vec![
        (mlflow_tag::RUN_NAME, run_name.to_string()),
        (mlflow_tag::USER, user.to_string()),
        (mlflow_tag::SOURCE_NAME, "llmops".into()),
        (mlflow_tag::SOURCE_TYPE, "LOCAL".into()),
        (tag::LLMOPS_VERSION, env!("CARGO_PKG_VERSION").into()),
    ]
}

fn pip_requirements(args: &RegisterArgs) -> Vec<String> {
    let mut requirements = Vec::new();
    if args.python_model.is_none() {
        requirements.extend([
            "transformers".to_string(),
            "torch".to_string(),
            "accelerate".to_string(),
        ]);
        // The template applies an adapter on its base with PEFT.
        if args.base.is_some() {
            requirements.push("peft".to_string());
        }
    }
    requirements.extend(args.pip_requirement.iter().cloned());
    requirements
}

/// What the parent run records of the binaries, for either target: their count and size, the
/// manifest and its digest; with `publish` (the staged folder), the binaries themselves, checked
/// against the manifest once uploaded, and the `published` tag.
async fn record_binaries(
    session: &Session,
    (parent_id, parent_path): (&str, &str),
    manifest: &Manifest,
    publish: Option<&Path>,
) -> anyhow::Result<()> {
    let client = &session.client;
    let count = manifest.files.len().to_string();
    client
        .log_param(parent_id, param::FILE_COUNT, &count)
        .await?;
    let bytes = manifest.total_bytes().to_string();
    client
        .log_param(parent_id, param::TOTAL_BYTES, &bytes)
        .await?;
    client
        .upload_bytes(
            parent_path,
            MANIFEST_ARTIFACT,
            &manifest.to_canonical_json(),
        )
        .await?;
    client
        .set_run_tag(parent_id, tag::MANIFEST_DIGEST, &manifest.digest())
        .await?;
    if let Some(folder) = publish {
        let dest = format!("{parent_path}/{MODEL_ARTIFACT_DIR}");
        let reporter = session.reporter.as_ref();
        transfer::upload_tree(client, folder, manifest, &dest, reporter).await?;
        transfer::verify_uploaded(client, manifest, &dest).await?;
        client
            .set_run_tag(parent_id, tag::PUBLISHED, "true")
            .await?;
    }
    Ok(())
}

/// The tags every registered version carries, for either target: its parent run, manifest, size,
/// whether the binaries were published, and where they were staged in dev.
fn summary_tags(
    parent_id: &str,
    manifest: &Manifest,
    published: bool,
    staged: &Path,
) -> Vec<(String, String)> {
    vec![
        (tag::PARENT_RUN_ID.to_string(), parent_id.to_string()),
        (tag::MANIFEST_DIGEST.to_string(), manifest.digest()),
        (
            tag::FILE_COUNT.to_string(),
            manifest.files.len().to_string(),
        ),
        (
            tag::TOTAL_BYTES.to_string(),
            manifest.total_bytes().to_string(),
        ),
        (tag::PUBLISHED.to_string(), published.to_string()),
        (
            tag::DEV_STAGED_PATH.to_string(),
            staged.display().to_string(),
        ),
    ]
}

/// `python3 --version` of this machine, for `python_env.yaml`; 3.11 when there is none.
fn local_python_version() -> String {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().strip_prefix("Python ").map(str::to_string))
        .filter(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .unwrap_or_else(|| "3.11".into())
}
