//! `llmops register`: a parent run that holds the binaries (under `model/`, uploaded only with
//! `--publish`), the binaries staged in the dev dataset at `<dev-root>/llm-models/<parent-run-id>/`,
//! a nested child run with a small pyfunc model whose context names the parent, and a model version
//! registered from the child. Everything is checked before the first run is created; a failure
//! midway marks the runs FAILED and removes the staged copy, so nothing half-registered looks healthy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use crate::cli::RegisterArgs;
use crate::exit::UserError;
use crate::layout::roots::{self, RootKind};
use crate::layout::{LLM_MODELS_DIR, staging};
use crate::manifest::{MANIFEST_ARTIFACT, Manifest};
use crate::mlflow::client::{MlflowClient, Run};
use crate::mlflow::model_ref::validate_registered_model_name;
use crate::mlflow::pyfunc::{self, PyfuncModel};
use crate::mlflow::{self, lineage};
use crate::progress::{self, Reporter};
use crate::sizing::config::ModelConfig;
use crate::{env, transfer};

/// Version tags `register` sets and `publish`, `promote` and `status` read.
pub mod tags {
    pub const PARENT_RUN_ID: &str = "llmops.parent_run_id";
    pub const MANIFEST_DIGEST: &str = "llmops.manifest_digest";
    pub const FILE_COUNT: &str = "llmops.file_count";
    pub const TOTAL_BYTES: &str = "llmops.total_bytes";
    pub const ARCHITECTURE: &str = "llmops.architecture";
    pub const PARAMS: &str = "llmops.params";
    pub const PUBLISHED: &str = "llmops.published";
    pub const DEV_STAGED_PATH: &str = "llmops.dev_staged_path";
}

/// Where the binaries go in the parent run.
pub const MODEL_ARTIFACT_DIR: &str = "model";

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

/// What is known before anything is created.
struct Plan {
    model_dir: PathBuf,
    files: Vec<staging::SourceFile>,
    config: Option<ModelConfig>,
    code: (String, String),
    user_tags: Vec<(String, String)>,
    dev_root: roots::DatasetRoot,
}

pub async fn run(args: &RegisterArgs, json: bool) -> anyhow::Result<RegisterReport> {
    if args.target == crate::cli::Target::Triton {
        return super::register_triton::run(args, json).await;
    }
    let plan = plan(args)?;
    let session = open_session(args, json).await?;
    let (parent, mut created) = session
        .start_parent(
            &args.name,
            vec![("llmops.source_dir", plan.model_dir.display().to_string())],
            &plan.user_tags,
        )
        .await?;
    let Session {
        client,
        server_version,
        experiment_id,
        user,
        reporter,
    } = session;
    let result = register_into(
        args,
        &plan,
        &client,
        &server_version,
        &experiment_id,
        &parent,
        &user,
        reporter,
        &mut created,
    )
    .await;
    created.settle(result, &client, &args.name).await
}

/// What every registration needs before its first run: a client that answers, the experiment, the
/// user to record, and the progress reporter.
pub(crate) struct Session {
    pub client: MlflowClient,
    pub server_version: String,
    pub experiment_id: String,
    pub user: String,
    pub reporter: Arc<dyn Reporter>,
}

pub(crate) async fn open_session(args: &RegisterArgs, json: bool) -> anyhow::Result<Session> {
    let client = mlflow::client_from(args.tracking_uri.as_deref())?;
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
    let user = std::env::var(env::DOMINO_STARTING_USERNAME)
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "llmops".into());
    Ok(Session {
        client,
        server_version,
        experiment_id: experiment.experiment_id,
        user,
        reporter: progress::reporter(progress::mode(json)),
    })
}

/// The nested child run (tag `mlflow.parentRunId`) holding a small pyfunc model, and the registered
/// version made from it: the same for the LLM layout and for Triton's proxy.
pub(crate) struct ChildModel<'a> {
    pub registered_name: &'a str,
    pub parent_id: &'a str,
    pub params: Vec<(&'a str, String)>,
    /// (file name, code) of the model from code.
    pub code: &'a (String, String),
    pub context: serde_json::Value,
    pub pip_requirements: Vec<String>,
    pub mlflow_version: &'a str,
    pub version_tags: &'a [(String, String)],
    pub description: Option<&'a str>,
}

/// Logs the child run and its model, then registers the version from it; returns (child run id,
/// version). The child is recorded in `created` as soon as it exists, for the roll-back.
pub(crate) async fn register_child(
    client: &MlflowClient,
    experiment_id: &str,
    user: &str,
    created: &mut Created,
    child: ChildModel<'_>,
) -> anyhow::Result<(String, crate::mlflow::client::ModelVersion)> {
    let run_name = format!("{}-model", child.registered_name);
    let mut tags = standard_tags(&run_name, user);
    tags.push(("mlflow.parentRunId", child.parent_id.to_string()));
    tags.push(("llmops.role", "child".into()));
    let run = client.create_run(experiment_id, &run_name, &tags).await?;
    let child_id = run.info.run_id.clone();
    created.child = Some(child_id.clone());
    for (key, value) in &child.params {
        client.log_param(&child_id, key, value).await?;
    }
    let model = PyfuncModel {
        code_file_name: child.code.0.clone(),
        code: child.code.1.clone(),
        context: child.context,
        pip_requirements: child.pip_requirements,
        python_version: local_python_version(),
        mlflow_version: child.mlflow_version.to_string(),
        child_run_id: child_id.clone(),
    };
    let model_dir = tempfile::tempdir()?;
    model.write_to(model_dir.path(), &utc_now(), &child_id)?;
    let destination = format!("{}/{MODEL_ARTIFACT_DIR}", lineage::artifact_path(&run)?);
    for file in staging::scan(model_dir.path())? {
        client
            .upload_artifact(&destination, &file.relative, &file.path, |_: &[u8]| {})
            .await?;
    }
    client.finish_run(&child_id, "FINISHED").await?;

    client
        .get_or_create_registered_model(child.registered_name, child.description)
        .await?;
    let source = format!(
        "{}/{MODEL_ARTIFACT_DIR}",
        run.info.artifact_uri.trim_end_matches('/')
    );
    let version = client
        .create_model_version(
            child.registered_name,
            &source,
            &child_id,
            child.version_tags,
            child.description,
        )
        .await?;
    Ok((child_id, version))
}

impl Session {
    /// The parent run (`<name>-binaries`) with the standard tags, `extra` and the user's tags.
    pub(crate) async fn start_parent(
        &self,
        name: &str,
        extra: Vec<(&'static str, String)>,
        user_tags: &[(String, String)],
    ) -> anyhow::Result<(Run, Created)> {
        let run_name = format!("{name}-binaries");
        let mut tags = standard_tags(&run_name, &self.user);
        tags.push(("llmops.role", "parent".into()));
        tags.extend(extra);
        tags.extend(user_tags.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let parent = self
            .client
            .create_run(&self.experiment_id, &run_name, &tags)
            .await?;
        let created = Created {
            parent: Some(parent.info.run_id.clone()),
            child: None,
            staged: None,
            version: None,
        };
        Ok((parent, created))
    }
}

/// What a failure must clean up.
pub(crate) struct Created {
    pub parent: Option<String>,
    pub child: Option<String>,
    pub staged: Option<PathBuf>,
    /// A version registered before the failure (Triton's binary holder), deleted on roll-back.
    pub version: Option<(String, String)>,
}

impl Created {
    pub async fn roll_back(&self, client: &MlflowClient) {
        if let Some((name, version)) = &self.version
            && let Err(e) = client.delete_model_version(name, version).await
        {
            crate::output::warn(&format!(
                "could not delete model version {name}/{version}: {e}"
            ));
        }
        for run in [&self.child, &self.parent].into_iter().flatten() {
            if let Err(e) = client.finish_run(run, "FAILED").await {
                crate::output::warn(&format!("could not mark run {run} FAILED: {e}"));
            }
        }
        if let Some(staged) = &self.staged {
            let _ = std::fs::remove_dir_all(staged);
        }
    }

    /// A registration's outcome: on failure, roll back and say what happened and what to re-run.
    pub async fn settle<T>(
        &self,
        result: anyhow::Result<T>,
        client: &MlflowClient,
        name: &str,
    ) -> anyhow::Result<T> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => {
                self.roll_back(client).await;
                Err(error.context(format!(
                    "registration of `{name}` failed; {}; fix the cause and run `llmops register` again",
                    self.describe()
                )))
            }
        }
    }

    pub fn describe(&self) -> String {
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
        if let Some(staged) = &self.staged {
            text.push_str(&format!(
                " and the staged copy {} was removed",
                staged.display()
            ));
        }
        if let Some((name, version)) = &self.version {
            text.push_str(&format!("; model version {name}/{version} was deleted"));
        }
        text
    }
}

fn plan(args: &RegisterArgs) -> anyhow::Result<Plan> {
    validate_registered_model_name(&args.name).map_err(UserError::usage)?;
    let model_dir = args.model_dir.clone();
    if !model_dir.is_dir() {
        return Err(
            UserError::usage(format!("`{}` is not a directory", model_dir.display()))
                .with_hint("pass the folder that holds config.json and the weights")
                .into(),
        );
    }
    let config_path = model_dir.join("config.json");
    if !config_path.is_file() {
        return Err(UserError::usage(format!("`{}` has no config.json", model_dir.display()))
            .with_hint("register the model's own folder (a Hugging Face snapshot or a fine-tune with config.json beside the weights)")
            .into());
    }
    let config = match std::fs::read_to_string(&config_path)
        .map_err(|e| e.to_string())
        .and_then(|t| ModelConfig::from_json_text(&t).map_err(|e| e.to_string()))
    {
        Ok(config) => Some(config),
        Err(problem) => {
            crate::output::warn(&format!(
                "`{}`: {problem}; the version gets no architecture or parameter tags",
                config_path.display()
            ));
            None
        }
    };
    let user_tags = user_tags(args)?;
    if let Some(gpu) = &args.gpu
        && crate::sizing::gpus::find(gpu).is_none()
    {
        return Err(UserError::usage(format!(
            "unknown GPU `{gpu}`; use one of {}",
            crate::sizing::gpus::names().join(", ")
        ))
        .into());
    }
    let code = match &args.python_model {
        Some(path) => pyfunc::read_user_code(path).map_err(|e| UserError::usage(e.to_string()))?,
        None => (
            "llmops_transformers_model.py".to_string(),
            pyfunc::TRANSFORMERS_TEMPLATE.to_string(),
        ),
    };
    let dev_root = roots::resolve(RootKind::Dev, args.dev_root.as_deref())
        .map_err(|e| UserError::usage(e.to_string()))?;
    roots::check_writable(RootKind::Dev, &dev_root).map_err(|e| {
        UserError::usage(e.to_string())
            .with_hint("pass a writable `--dev-root`, or mount the dev dataset read-write")
    })?;
    let files = staging::scan(&model_dir).map_err(|e| UserError::usage(e.to_string()))?;
    Ok(Plan {
        model_dir,
        files,
        config,
        code,
        user_tags,
        dev_root,
    })
}

/// `--tag KEY=VALUE` pairs.
pub(crate) fn user_tags(args: &RegisterArgs) -> Result<Vec<(String, String)>, UserError> {
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

pub(crate) fn standard_tags<'a>(run_name: &str, user: &str) -> Vec<(&'a str, String)> {
    vec![
        ("mlflow.runName", run_name.to_string()),
        ("mlflow.user", user.to_string()),
        ("mlflow.source.name", "llmops".into()),
        ("mlflow.source.type", "LOCAL".into()),
        ("llmops.version", env!("CARGO_PKG_VERSION").into()),
    ]
}

#[allow(clippy::too_many_arguments)]
async fn register_into(
    args: &RegisterArgs,
    plan: &Plan,
    client: &MlflowClient,
    server_version: &str,
    experiment_id: &str,
    parent: &Run,
    user: &str,
    reporter: Arc<dyn Reporter>,
    created: &mut Created,
) -> anyhow::Result<RegisterReport> {
    let parent_id = parent.info.run_id.clone();
    let parent_path = lineage::artifact_path(parent)?;

    // Stage into the dev dataset (hashing as it copies).
    let staged = plan.dev_root.path.join(LLM_MODELS_DIR).join(&parent_id);
    let files = plan.files.clone();
    let staged_for_copy = staged.clone();
    let staging_reporter = reporter.clone();
    let manifest = tokio::task::spawn_blocking(move || {
        staging::stage_atomically(&files, &staged_for_copy, staging_reporter.as_ref())
    })
    .await?
    .with_context(|| format!("staging into {}", staged.display()))?;
    created.staged = Some(staged.clone());

    client
        .log_param(
            &parent_id,
            "source_dir",
            &plan.model_dir.display().to_string(),
        )
        .await?;
    record_binaries(
        client,
        (&parent_id, &parent_path),
        &manifest,
        args.publish.then_some(staged.as_path()),
        reporter.as_ref(),
    )
    .await?;
    let mut version_tags = summary_tags(&parent_id, &manifest, args.publish, &staged);
    if let Some(gpu) = &args.gpu {
        version_tags.extend(sizing_tags(&plan.model_dir, gpu, args.max_model_len)?);
    }
    if let Some(config) = &plan.config {
        if let Some(architecture) = &config.architecture {
            version_tags.push((tags::ARCHITECTURE.to_string(), architecture.clone()));
        }
        version_tags.push((
            tags::PARAMS.to_string(),
            crate::sizing::params::count_params(config)
                .total()
                .to_string(),
        ));
    }
    version_tags.extend(plan.user_tags.iter().cloned());

    // The child run with its small model, and the version registered from it.
    let (child_id, version) = register_child(
        client,
        experiment_id,
        user,
        created,
        ChildModel {
            registered_name: &args.name,
            parent_id: &parent_id,
            params: vec![("parent_run_id", parent_id.clone())],
            code: &plan.code,
            context: serde_json::json!({ "run_id": parent_id }),
            pip_requirements: pip_requirements(args),
            mlflow_version: server_version,
            version_tags: &version_tags,
            description: args.description.as_deref(),
        },
    )
    .await?;
    client.finish_run(&parent_id, "FINISHED").await?;

    Ok(RegisterReport {
        schema_version: 1,
        model_uri: format!("models:/{}/{}", args.name, version.version),
        name: args.name.clone(),
        version: version.version,
        parent_run_id: parent_id,
        child_run_id: child_id,
        experiment_id: experiment_id.to_string(),
        staged_path: staged.display().to_string(),
        manifest_digest: manifest.digest(),
        files: manifest.files.len(),
        bytes: manifest.total_bytes(),
        published: args.publish,
        tracking_uri: client.tracking_uri().to_string(),
        triton_model: None,
        triton_version: None,
    })
}

pub(crate) fn pip_requirements(args: &RegisterArgs) -> Vec<String> {
    let mut requirements = Vec::new();
    if args.python_model.is_none() {
        requirements.extend([
            "transformers".to_string(),
            "torch".to_string(),
            "accelerate".to_string(),
        ]);
    }
    requirements.extend(args.pip_requirement.iter().cloned());
    requirements
}

/// What the parent run records of the binaries, for either target: their count and size, the
/// manifest and its digest; with `publish` (the staged folder), the binaries themselves, checked
/// against the manifest once uploaded, and the `published` tag.
pub(crate) async fn record_binaries(
    client: &MlflowClient,
    (parent_id, parent_path): (&str, &str),
    manifest: &Manifest,
    publish: Option<&Path>,
    reporter: &dyn Reporter,
) -> anyhow::Result<()> {
    client
        .log_param(parent_id, "file_count", &manifest.files.len().to_string())
        .await?;
    client
        .log_param(
            parent_id,
            "total_bytes",
            &manifest.total_bytes().to_string(),
        )
        .await?;
    upload_bytes(
        client,
        parent_path,
        MANIFEST_ARTIFACT,
        &manifest.to_canonical_json(),
    )
    .await?;
    client
        .set_run_tag(parent_id, tags::MANIFEST_DIGEST, &manifest.digest())
        .await?;
    if let Some(folder) = publish {
        let dest = format!("{parent_path}/{MODEL_ARTIFACT_DIR}");
        transfer::upload_tree(client, folder, manifest, &dest, reporter).await?;
        transfer::verify_uploaded(client, manifest, &dest).await?;
        client
            .set_run_tag(parent_id, tags::PUBLISHED, "true")
            .await?;
    }
    Ok(())
}

/// The tags every registered version carries, for either target: its parent run, manifest, size,
/// whether the binaries were published, and where they were staged in dev.
pub(crate) fn summary_tags(
    parent_id: &str,
    manifest: &Manifest,
    published: bool,
    staged: &Path,
) -> Vec<(String, String)> {
    vec![
        (tags::PARENT_RUN_ID.to_string(), parent_id.to_string()),
        (tags::MANIFEST_DIGEST.to_string(), manifest.digest()),
        (
            tags::FILE_COUNT.to_string(),
            manifest.files.len().to_string(),
        ),
        (
            tags::TOTAL_BYTES.to_string(),
            manifest.total_bytes().to_string(),
        ),
        (tags::PUBLISHED.to_string(), published.to_string()),
        (
            tags::DEV_STAGED_PATH.to_string(),
            staged.display().to_string(),
        ),
    ]
}

pub(crate) async fn upload_bytes(
    client: &MlflowClient,
    artifact_path: &str,
    name: &str,
    bytes: &[u8],
) -> anyhow::Result<()> {
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), bytes)?;
    client
        .upload_artifact(artifact_path, name, file.path(), |_: &[u8]| {})
        .await?;
    Ok(())
}

/// `python3 --version` of this machine, for `python_env.yaml`; 3.11 when there is none.
pub(crate) fn local_python_version() -> String {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().strip_prefix("Python ").map(str::to_string))
        .filter(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .unwrap_or_else(|| "3.11".into())
}

pub fn utc_now() -> String {
    // MLflow writes `YYYY-MM-DD HH:MM:SS.ffffff`; computed without a date crate.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    )
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `llmops.size.*` tags: the verdict for `gpu`, as `llmops size` would give it.
pub(crate) fn sizing_tags(
    model_dir: &std::path::Path,
    gpu: &str,
    max_model_len: Option<u64>,
) -> Result<Vec<(String, String)>, UserError> {
    let model = crate::sizing::Model::load(model_dir)
        .map_err(|e| UserError::usage(format!("--gpu: {e}")))?;
    let estimate = crate::sizing::verdict::verdict_for(&model, gpu, max_model_len, 1)
        .map_err(UserError::usage)?;
    Ok(vec![
        ("llmops.size.gpu".into(), gpu.to_string()),
        (
            "llmops.size.max_model_len".into(),
            estimate.settings.max_model_len.to_string(),
        ),
        ("llmops.size.fits".into(), estimate.fits().to_string()),
        (
            "llmops.size.max_concurrency".into(),
            format!("{:.2}", estimate.max_concurrency),
        ),
        (
            "llmops.size.kv_tokens".into(),
            estimate.kv_tokens.to_string(),
        ),
        (
            "llmops.size.max_model_len_that_fits".into(),
            estimate
                .max_model_len_that_fits
                .map_or("none".into(), |n| n.to_string()),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_414), (2025, 11, 22));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
