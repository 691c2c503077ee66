//! `llmops register <ADAPTER_DIR> --base <MODEL_REF>`: a LoRA adapter is registered alone, against
//! a base version already in the registry, never as a second copy of the base. Before any run is
//! created the base is resolved, its `config.json` read through the registry (no tensor is
//! downloaded) and the adapter checked against it (`lora::check_fits`).

use std::path::Path;

use super::Session;
use crate::cli::RegisterArgs;
use crate::exit::UserError;
use crate::lora::{self, Adapter, Fit};
use crate::mlflow::client::ModelVersion;
use crate::progress::Reporter;
use crate::registry::names::{context, tag};
use crate::registry::{self, MODEL_ARTIFACT_DIR, ModelRef, Served, lineage};
use crate::sizing::config::ModelConfig;

/// The base an adapter is registered against, as checked.
pub(super) struct Base {
    pub version: ModelVersion,
    pub parent_run_id: String,
    pub config: ModelConfig,
    pub fit: Fit,
}

/// An adapter folder without `--base`: the error, with a hint naming the registered version the
/// adapter's `base_model_name_or_path` leads to when exactly one was registered from it. Never a
/// guess that is acted on.
pub(super) async fn missing_base(session: &Session, adapter: &Adapter, dir: &Path) -> UserError {
    let error = UserError::usage(format!(
        "`{}` is a LoRA adapter (adapter_config.json): it is registered against its base version",
        dir.display()
    ));
    let Some(said) = &adapter.config.base_model_name_or_path else {
        return error.with_hint("pass `--base models:/<name>/<version>` of the registered base");
    };
    let shown = crate::text::printable(said);
    let candidates = session
        .client
        .search_model_versions_tagged(tag::SOURCE_MODEL, said)
        .await
        .unwrap_or_default();
    match candidates.as_slice() {
        [one] => error.with_hint(format!(
            "the adapter says it was trained on `{shown}`, and models:/{}/{} was registered from it: pass `--base models:/{}/{}` if that is the base",
            one.name, one.version, one.name, one.version
        )),
        [] => error.with_hint(format!(
            "pass `--base models:/<name>/<version>` of the registered base; the adapter says it was trained on `{shown}`, and no version records it as its source"
        )),
        many => error.with_hint(format!(
            "pass `--base` with one of {}: each was registered from `{shown}`, which the adapter names",
            many.iter()
                .map(|v| format!("models:/{}/{}", v.name, v.version))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Resolves `--base`, reads its config.json and checks the adapter fits it.
pub(super) async fn resolve_base(
    session: &Session,
    args: &RegisterArgs,
    adapter: &Adapter,
    reporter: &dyn Reporter,
) -> anyhow::Result<Base> {
    let text = args.base.as_deref().unwrap_or_default();
    let reference =
        ModelRef::parse(text, None).map_err(|e| UserError::usage(format!("--base: {e}")))?;
    let client = &session.client;
    let version = registry::resolve_version(client, &reference).await?;
    if let Some(base_of_base) = version.tag(tag::BASE_NAME) {
        return Err(UserError::usage(format!(
            "--base {reference} is itself an adapter (on {}): register against the full model",
            crate::text::printable(base_of_base)
        ))
        .into());
    }
    if registry::served_as(&version)? != Served::Llm {
        return Err(UserError::usage(format!(
            "--base {reference} was registered for Triton; vLLM serves adapters on LLM-layout models"
        ))
        .into());
    }
    let lineage = lineage::resolve(client, &version).await?;
    let (config_text, from) = base_config_text(client, &version, &lineage).await?;
    let config = ModelConfig::from_json_text(&config_text)
        .map_err(|e| UserError::usage(format!("the base's config.json ({from}): {e}")))?;
    let fit = lora::check_fits(adapter, &config).map_err(|e| {
        let message = format!("the adapter does not fit {reference}: {}", e.message);
        match e.hint {
            Some(hint) => UserError::usage(message).with_hint(hint),
            None => UserError::usage(message),
        }
    })?;
    warn_on_other_source(adapter, &config_text, &reference, reporter);
    Ok(Base {
        parent_run_id: lineage.parent.info.run_id.clone(),
        version,
        config,
        fit,
    })
}

/// The base's `config.json`: from its parent run's `model/` when published, else from its staged
/// dev copy; says which.
async fn base_config_text(
    client: &crate::mlflow::MlflowClient,
    version: &ModelVersion,
    lineage: &lineage::Lineage,
) -> anyhow::Result<(String, String)> {
    let folder = format!("{}/{MODEL_ARTIFACT_DIR}", lineage.parent_artifact_path);
    // List first: fetching a missing artifact answers 500, which would be retried for minutes.
    let listed = client.list_artifacts(&folder).await?;
    if listed
        .iter()
        .any(|f| f.path.ends_with("/config.json") || f.path == "config.json")
    {
        let bytes = client
            .download_artifact(&format!("{folder}/config.json"))
            .await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| UserError::usage("the base's config.json is not UTF-8"))?;
        return Ok((text, format!("{folder}/config.json in MLflow")));
    }
    if let Some(staged) = version.tag(tag::DEV_STAGED_PATH) {
        let path = Path::new(staged).join("config.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok((text, path.display().to_string()));
        }
    }
    Err(UserError::usage(format!(
        "cannot read the config.json of {}/{}: it is not published and its dev copy is not here",
        version.name, version.version
    ))
    .with_hint("publish the base (`llmops publish`), or register on a machine with the dev dataset mounted")
    .into())
}

/// `base_model_name_or_path` naming another model than the base's own `_name_or_path` is worth a
/// warning (a local path at training time is common), never a refusal.
fn warn_on_other_source(
    adapter: &Adapter,
    base_config: &str,
    reference: &ModelRef,
    reporter: &dyn Reporter,
) {
    let base_source = serde_json::from_str::<serde_json::Value>(base_config)
        .ok()
        .and_then(|v| v.get("_name_or_path")?.as_str().map(str::to_string));
    if let (Some(said), Some(recorded)) = (&adapter.config.base_model_name_or_path, base_source)
        && said != &recorded
    {
        reporter.warn(&format!(
            "the adapter names its base `{}`; {reference} records `{}`",
            crate::text::printable(said),
            crate::text::printable(&recorded)
        ));
    }
}

/// The version tags that tie an adapter to its base and say what vLLM needs for it.
pub(super) fn tags(base: &Base, adapter: &Adapter) -> Vec<(String, String)> {
    let mut tags = vec![
        (tag::BASE_NAME, base.version.name.clone()),
        (tag::BASE_VERSION, base.version.version.clone()),
        (tag::BASE_PARENT_RUN_ID, base.parent_run_id.clone()),
        (
            tag::LORA_RANK,
            adapter.max_rank.max(adapter.config.rank).to_string(),
        ),
        (tag::LORA_MAX_LORA_RANK, base.fit.max_lora_rank.to_string()),
    ];
    if let Some(digest) = base.version.tag(tag::MANIFEST_DIGEST) {
        tags.push((tag::BASE_MANIFEST_DIGEST, digest.to_string()));
    }
    if let Some(architecture) = &base.config.architecture {
        tags.push((tag::ARCHITECTURE, architecture.clone()));
    }
    tags.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The model context of an adapter's child: its own parent run and its base's.
pub(super) fn context_entries(base: &Base) -> [(&'static str, serde_json::Value); 3] {
    [
        (context::BASE_RUN_ID, base.parent_run_id.clone().into()),
        (context::BASE_MODEL_NAME, base.version.name.clone().into()),
        (
            context::BASE_MODEL_VERSION,
            base.version.version.clone().into(),
        ),
    ]
}
