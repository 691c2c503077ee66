//! A LoRA adapter is served on its base, so promoting an adapter needs the base in prod: the base
//! version the adapter was registered against (its name, version, parent run and manifest digest,
//! recorded on the adapter's version), promoted first when it is not there, with the same checks
//! and audit as any promote, or refused with `--no-base`.

use std::sync::Arc;

use serde::Serialize;

use crate::cli::PromoteArgs;
use crate::exit::UserError;
use crate::layout::destination::Destination;
use crate::layout::roots::DatasetRoot;
use crate::mlflow::MlflowClient;
use crate::mlflow::client::ModelVersion;
use crate::progress::Reporter;
use crate::registry::names::tag;
use crate::registry::{self, Served};

/// The base an adapter was promoted against.
#[derive(Debug, Clone, Serialize)]
pub struct BaseInProd {
    pub name: String,
    pub version: String,
    /// `<prod-root>/llm-models/<base-parent-run-id>`.
    pub folder: String,
    /// Whether this promote put it there (or, in a dry run, would).
    pub promoted_first: bool,
}

/// The base recorded on an adapter's version, if it is one.
pub fn recorded_base(version: &ModelVersion) -> Option<(&str, &str)> {
    Some((
        version.tag(tag::BASE_NAME)?,
        version.tag(tag::BASE_VERSION)?,
    ))
}

/// Makes sure the adapter's base is in prod: already there (its state names the version), or
/// promoted now; refused with `--no-base`, or when the registry's base is not the one recorded.
pub async fn ensure_base(
    args: &PromoteArgs,
    client: &MlflowClient,
    prod_root: &DatasetRoot,
    adapter: &ModelVersion,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<Option<BaseInProd>> {
    let Some((name, number)) = recorded_base(adapter) else {
        return Ok(None);
    };
    let uri = format!("models:/{name}/{number}");
    let base = client.get_model_version(name, number).await.map_err(|e| {
        UserError::failed(format!(
            "the adapter's base {} cannot be read from the registry: {e}",
            crate::text::printable(&uri)
        ))
    })?;
    let parent = adapter.tag(tag::BASE_PARENT_RUN_ID);
    let digest = adapter.tag(tag::BASE_MANIFEST_DIGEST);
    if parent != registry::recorded_parent(&base)
        || (digest.is_some() && digest != base.tag(tag::MANIFEST_DIGEST))
    {
        return Err(UserError::failed(format!(
            "{uri} is no longer the base {}/{} was registered against (its parent run or manifest digest changed)",
            adapter.name, adapter.version
        ))
        .with_hint("register the adapter again against the base it should run on")
        .into());
    }
    let parent = parent.unwrap_or_default();
    let dest = Destination::plan(&prod_root.path, &Served::Llm, parent)?;
    let in_prod = dest.target.is_dir()
        && dest
            .read_state()
            .is_some_and(|s| s.name == base.name && s.version == base.version);
    let mut report = BaseInProd {
        name: base.name.clone(),
        version: base.version.clone(),
        folder: dest.target.display().to_string(),
        promoted_first: false,
    };
    if in_prod {
        return Ok(Some(report));
    }
    let command = format!(
        "llmops promote {uri} --prod-root {}",
        prod_root.path.display()
    );
    if args.no_base {
        return Err(UserError::failed(format!(
            "the adapter's base {uri} is not in prod (no `{}`)",
            dest.target.display()
        ))
        .with_hint(format!("promote it first: `{command}`"))
        .into());
    }
    report.promoted_first = true;
    if args.dry_run {
        reporter.note(&format!(
            "the base {uri} is not in prod: promote would promote it first"
        ));
        return Ok(Some(report));
    }
    reporter.note(&format!(
        "the base {uri} is not in prod: promoting it first"
    ));
    let mut base_args = args.clone();
    base_args.model = uri;
    base_args.version = None;
    // The alias, the fit check and Triton's load belong to the adapter's promote.
    base_args.alias = None;
    base_args.require_fit = false;
    base_args.load = false;
    Box::pin(super::run(&base_args, reporter)).await?;
    Ok(Some(report))
}
