//! `llmops register` for the LLM layout: the binaries staged at
//! `<dev-root>/llm-models/<parent-run-id>/`, the child's model context naming the parent run.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use super::{ChildModel, Created, Provenance, RegisterReport, Session, adapter};
use crate::cli::RegisterArgs;
use crate::exit::UserError;
use crate::layout::roots::{self, RootKind};
use crate::layout::{LLM_MODELS_DIR, staging};
use crate::mlflow::client::Run;
use crate::mlflow::pyfunc;
use crate::progress::Reporter;
use crate::registry::lineage;
use crate::registry::names::{context, param, tag};
use crate::registry::reference::validate_registered_model_name;
use crate::sizing::config::ModelConfig;

/// What is known before anything is created.
struct Plan {
    model_dir: PathBuf,
    files: Vec<staging::SourceFile>,
    config: Option<ModelConfig>,
    /// A LoRA adapter folder (adapter_config.json), registered against `--base`.
    adapter: Option<crate::lora::Adapter>,
    code: (String, String),
    user_tags: Vec<(String, String)>,
    provenance: Provenance,
    dev_root: roots::DatasetRoot,
}

pub(super) async fn run(
    args: &RegisterArgs,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<RegisterReport> {
    let plan = plan(args, reporter.as_ref())?;
    let models = plan.dev_root.path.join(LLM_MODELS_DIR);
    staging::reclaim_interrupted(&models, reporter.as_ref());
    let session = Session::open(args, reporter.clone()).await?;
    let base = match (&plan.adapter, &args.base) {
        (Some(adapter), Some(_)) => {
            Some(adapter::resolve_base(&session, args, adapter, reporter.as_ref()).await?)
        }
        (Some(adapter), None) => {
            return Err(adapter::missing_base(&session, adapter, &plan.model_dir)
                .await
                .into());
        }
        (None, _) => None,
    };
    let (parent, mut created) = session
        .start_parent(
            &args.name,
            vec![(tag::SOURCE_DIR, plan.model_dir.display().to_string())],
            (&plan.user_tags, &plan.provenance),
        )
        .await?;
    // A signal stops the work where it is; the roll-back then runs as for any failure.
    let result = tokio::select! {
        result = register_into(args, (&plan, base.as_ref()), &session, &parent, &mut created) => result,
        signal = crate::signals::interrupted() => Err(signal),
    };
    created.settle(result, &session, &args.name).await
}

fn plan(args: &RegisterArgs, reporter: &dyn Reporter) -> anyhow::Result<Plan> {
    validate_registered_model_name(&args.name).map_err(UserError::usage)?;
    let model_dir = args.model_dir.clone();
    if !model_dir.is_dir() {
        return Err(
            UserError::usage(format!("`{}` is not a directory", model_dir.display()))
                .with_hint("pass the folder that holds config.json and the weights")
                .into(),
        );
    }
    let adapter = if crate::lora::is_adapter_folder(&model_dir) {
        let adapter = crate::lora::read_adapter(&model_dir)?;
        if args.gpu.is_some() {
            return Err(UserError::usage("--gpu sizes full models; size an adapter with its base: `llmops size models:/<adapter>/<version>`").into());
        }
        Some(adapter)
    } else if args.base.is_some() {
        return Err(UserError::usage(format!(
            "--base is for LoRA adapter folders, and `{}` has no adapter_config.json",
            model_dir.display()
        ))
        .into());
    } else {
        None
    };
    let config = match &adapter {
        Some(_) => None,
        None => read_config(&model_dir, reporter)?,
    };
    let user_tags = super::user_tags(args)?;
    let model_type = config.as_ref().map(|c| c.model_type.as_str());
    let provenance = super::provenance::read(args, (&model_dir, model_type), reporter)?;
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
    let dev_root = roots::resolve(RootKind::Dev, args.dev.dev_root.as_deref())
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
        adapter,
        code,
        user_tags,
        provenance,
        dev_root,
    })
}

async fn register_into(
    args: &RegisterArgs,
    (plan, base): (&Plan, Option<&adapter::Base>),
    session: &Session,
    parent: &Run,
    created: &mut Created,
) -> anyhow::Result<RegisterReport> {
    let client = &session.client;
    let parent_id = parent.info.run_id.clone();
    let parent_path = lineage::artifact_path(parent)?;
    plan.provenance.log_inputs(client, &parent_id).await?;

    // Stage into the dev dataset (hashing as it copies).
    let staged = plan.dev_root.path.join(LLM_MODELS_DIR).join(&parent_id);
    created.partial = Some(staging::partial_path(&staged));
    let files = plan.files.clone();
    let staged_for_copy = staged.clone();
    let staging_reporter = session.reporter.clone();
    let manifest = tokio::task::spawn_blocking(move || {
        staging::stage_atomically(&files, &staged_for_copy, staging_reporter.as_ref())
    })
    .await?
    .with_context(|| format!("staging into {}", staged.display()))?;
    created.staged = Some(staged.clone());

    let source_dir = plan.model_dir.display().to_string();
    client
        .log_param(&parent_id, param::SOURCE_DIR, &source_dir)
        .await?;
    let publish = args.publish.then_some(staged.as_path());
    super::record_binaries(session, (&parent_id, &parent_path), &manifest, publish).await?;
    let mut version_tags = super::summary_tags(&parent_id, &manifest, args.publish, &staged);
    if let Some(gpu) = &args.gpu {
        version_tags.extend(sizing_tags(&plan.model_dir, gpu, args.max_model_len)?);
    }
    version_tags.extend(plan.provenance.version_tags());
    if let Some(config) = &plan.config {
        if let Some(architecture) = &config.architecture {
            version_tags.push((tag::ARCHITECTURE.to_string(), architecture.clone()));
        }
        let params = crate::sizing::params::count_params(config).total();
        version_tags.push((tag::PARAMS.to_string(), params.to_string()));
    }
    if let (Some(base), Some(adapter)) = (base, &plan.adapter) {
        version_tags.extend(adapter::tags(base, adapter));
    }
    version_tags.extend(plan.user_tags.iter().cloned());
    let own_parent = (context::RUN_ID, serde_json::Value::from(parent_id.clone()));
    let model_context = match base {
        Some(base) => {
            let [a, b, c] = adapter::context_entries(base);
            super::model_context([own_parent, a, b, c])
        }
        None => super::model_context([own_parent]),
    };

    // The child run with its small model, and the version registered from it.
    let (child_id, version) = session
        .register_child(
            created,
            ChildModel {
                registered_name: &args.name,
                parent_id: &parent_id,
                params: vec![(param::PARENT_RUN_ID, parent_id.clone())],
                code: &plan.code,
                context: model_context,
                pip_requirements: super::pip_requirements(args),
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
        experiment_id: session.experiment_id.clone(),
        staged_path: staged.display().to_string(),
        manifest_digest: manifest.digest(),
        files: manifest.files.len(),
        bytes: manifest.total_bytes(),
        published: args.publish,
        tracking_uri: client.tracking_uri(),
        triton_model: None,
        triton_version: None,
    })
}

/// The folder's `config.json`, parsed; a config llmops cannot read only costs the version its
/// architecture and parameter tags.
fn read_config(
    model_dir: &std::path::Path,
    reporter: &dyn Reporter,
) -> anyhow::Result<Option<ModelConfig>> {
    let config_path = model_dir.join("config.json");
    if !config_path.is_file() {
        return Err(UserError::usage(format!("`{}` has no config.json", model_dir.display()))
            .with_hint("register the model's own folder (a Hugging Face snapshot or a fine-tune with config.json beside the weights), or a LoRA adapter folder with --base")
            .into());
    }
    match std::fs::read_to_string(&config_path)
        .map_err(|e| e.to_string())
        .and_then(|t| ModelConfig::from_json_text(&t).map_err(|e| e.to_string()))
    {
        Ok(config) => Ok(Some(config)),
        Err(problem) => {
            reporter.warn(&format!(
                "`{}`: {problem}; the version gets no architecture or parameter tags",
                config_path.display()
            ));
            Ok(None)
        }
    }
}

/// `llmops.size.*` tags: the verdict for `gpu`, as `llmops size` would give it.
fn sizing_tags(
    model_dir: &std::path::Path,
    gpu: &str,
    max_model_len: Option<u64>,
) -> Result<Vec<(String, String)>, UserError> {
    let model = crate::sizing::Model::load(model_dir)
        .map_err(|e| UserError::usage(format!("--gpu: {e}")))?;
    let estimate = crate::sizing::verdict::verdict_for(&model, gpu, max_model_len, 1)
        .map_err(UserError::usage)?;
    let longest = estimate
        .max_model_len_that_fits
        .map_or("none".into(), |n| n.to_string());
    Ok([
        (tag::SIZE_GPU, gpu.to_string()),
        (
            tag::SIZE_MAX_MODEL_LEN,
            estimate.settings.max_model_len.to_string(),
        ),
        (tag::SIZE_FITS, estimate.fits().to_string()),
        (
            tag::SIZE_MAX_CONCURRENCY,
            format!("{:.2}", estimate.max_concurrency),
        ),
        (tag::SIZE_KV_TOKENS, estimate.kv_tokens.to_string()),
        (tag::SIZE_MAX_MODEL_LEN_THAT_FITS, longest),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value))
    .collect())
}
