//! `llmops register --target triton`: the parent run holds the binaries and is registered as
//! `<NAME>` version N (the binary holder); the files are staged into the dev Triton repository as
//! `<repo>/<NAME>/N/…` with `config.pbtxt` beside the version folders; a nested child run logs the
//! proxy pyfunc (context `parent_run_id`, `inference_server_name`, `model_name`, `model_version`;
//! params `parent_run_id`, `triton_model_name`, `triton_model_version`, as the reference notebooks
//! read them) and is registered as `<client-name>`.
//!
//! Nothing appears in the repository half-written: the model folder (or the new version folder) is
//! built outside the repository root, on the same filesystem, and renamed in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::{ChildModel, Created, Provenance, RegisterReport, Session};
use crate::cli::RegisterArgs;
use crate::env;
use crate::exit::UserError;
use crate::layout::roots::RootKind;
use crate::layout::staging::{self, SourceFile};
use crate::layout::triton::{self, TritonModel};
use crate::mlflow::client::Run;
use crate::mlflow::pyfunc;
use crate::progress::Reporter;
use crate::registry::MODEL_ARTIFACT_DIR;
use crate::registry::lineage;
use crate::registry::names::{context, param, tag, value};
use crate::registry::reference::validate_registered_model_name;

pub(super) async fn run(
    args: &RegisterArgs,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<RegisterReport> {
    validate_registered_model_name(&args.name).map_err(UserError::usage)?;
    triton::validate_model_name(&args.name).map_err(UserError::usage)?;
    let client_name = args
        .client_name
        .clone()
        .unwrap_or_else(|| format!("{}-client", args.name));
    validate_registered_model_name(&client_name).map_err(UserError::usage)?;
    if !args.model_dir.is_dir() {
        return Err(
            UserError::usage(format!("`{}` is not a directory", args.model_dir.display())).into(),
        );
    }
    let model =
        triton::read_model_folder(&args.model_dir, &args.name, args.config_pbtxt.as_deref())
            .map_err(|e| {
                UserError::usage(e.to_string())
                    .with_hint("see docs/triton.md for the repository rules")
            })?;
    for note in &model.notes {
        reporter.note(note);
    }
    let user_tags = super::user_tags(args)?;
    let provenance = super::provenance::read(args, (&args.model_dir, None), reporter.as_ref())?;
    let code = match &args.python_model {
        Some(path) => pyfunc::read_user_code(path).map_err(|e| UserError::usage(e.to_string()))?,
        None => (
            "llmops_triton_proxy.py".to_string(),
            pyfunc::TRITON_TEMPLATE.to_string(),
        ),
    };
    let repo = args.dev.dev_root.clone().or_else(|| std::env::var_os(env::LLMOPS_DEV_ROOT).map(PathBuf::from)).ok_or_else(|| {
        UserError::usage("no dev Triton repository: pass `--dev-root PATH` (the model repository Triton reads) or set LLMOPS_DEV_ROOT")
    })?;
    triton::check_repository(&repo, RootKind::Dev)?;
    let area = triton::staging_area(&repo)?;
    staging::reclaim_interrupted(&area, reporter.as_ref());
    let files =
        staging::scan(&model.version_source).map_err(|e| UserError::usage(e.to_string()))?;

    let session = Session::open(args, reporter).await?;
    let (parent, mut created) = session
        .start_parent(
            &args.name,
            vec![(tag::TARGET, value::TARGET_TRITON.into())],
            (&user_tags, &provenance),
        )
        .await?;
    let plan = Plan {
        args,
        model: &model,
        files,
        code,
        repo: &repo,
        area: &area,
        client_name: &client_name,
        user_tags: &user_tags,
        provenance: &provenance,
    };
    let result = tokio::select! {
        result = register(&plan, &session, &parent, &mut created) => result,
        signal = crate::signals::interrupted() => Err(signal),
    };
    created.settle(result, &session, &args.name).await
}

/// What is known before anything is created (one struct, to keep the argument lists short).
struct Plan<'a> {
    args: &'a RegisterArgs,
    model: &'a TritonModel,
    files: Vec<SourceFile>,
    /// (file name, code) of the proxy model.
    code: (String, String),
    repo: &'a Path,
    area: &'a Path,
    client_name: &'a str,
    user_tags: &'a [(String, String)],
    provenance: &'a Provenance,
}

async fn register(
    cx: &Plan<'_>,
    session: &Session,
    parent: &Run,
    created: &mut Created,
) -> anyhow::Result<RegisterReport> {
    let args = cx.args;
    let client = &session.client;
    let parent_id = parent.info.run_id.clone();
    let parent_path = lineage::artifact_path(parent)?;
    cx.provenance.log_inputs(client, &parent_id).await?;

    // The binary holder's version number names the version folder, so it comes first.
    client
        .get_or_create_registered_model(&args.name, args.description.as_deref())
        .await?;
    let source = format!(
        "{}/{MODEL_ARTIFACT_DIR}",
        parent.info.artifact_uri.trim_end_matches('/')
    );
    let binary_tags = vec![
        (tag::PARENT_RUN_ID.to_string(), parent_id.clone()),
        (tag::TARGET.to_string(), value::TARGET_TRITON.to_string()),
        (tag::ROLE.to_string(), value::ROLE_BINARIES.to_string()),
    ];
    let binary = client
        .create_model_version(
            &args.name,
            &source,
            &parent_id,
            None,
            &binary_tags,
            args.description.as_deref(),
        )
        .await?;
    created
        .versions
        .push((args.name.clone(), binary.version.clone()));
    let version = binary.version.clone();

    let (manifest, model_dir, version_dir) = stage_into_repository(cx, session, &version).await?;
    created.staged = Some(version_dir.clone());

    let publish = args.publish.then_some(model_dir.as_path());
    super::record_binaries(session, (&parent_id, &parent_path), &manifest, publish).await?;

    // Tags on both versions: the binary holder and the client deployers promote.
    let mut summary = super::summary_tags(&parent_id, &manifest, args.publish, &version_dir);
    summary.extend([
        (tag::TARGET.to_string(), value::TARGET_TRITON.to_string()),
        (tag::TRITON_MODEL_NAME.to_string(), args.name.clone()),
        (tag::TRITON_MODEL_VERSION.to_string(), version.clone()),
    ]);
    summary.extend(cx.provenance.version_tags());
    summary.extend(cx.user_tags.iter().cloned());
    for (key, value) in &summary {
        client
            .set_model_version_tag(&args.name, &version, key, value)
            .await?;
    }
    // The child run with the proxy model, registered as the client.
    let child = ChildModel {
        registered_name: cx.client_name,
        parent_id: &parent_id,
        params: vec![
            (param::PARENT_RUN_ID, parent_id.clone()),
            (param::TRITON_MODEL_NAME, args.name.clone()),
            (param::TRITON_MODEL_VERSION, version.clone()),
        ],
        code: &cx.code,
        context: super::model_context([
            (context::PARENT_RUN_ID, parent_id.clone().into()),
            (
                context::INFERENCE_SERVER_NAME,
                args.inference_server.clone().into(),
            ),
            (context::MODEL_NAME, args.name.clone().into()),
            (context::MODEL_VERSION, version.clone().into()),
        ]),
        pip_requirements: pip_requirements_for_proxy(args),
        version_tags: &summary,
        description: args.description.as_deref(),
    };
    let (child_id, client_version) = session.register_child(created, child).await?;
    client.finish_run(&parent_id, "FINISHED").await?;

    Ok(RegisterReport {
        schema_version: 1,
        model_uri: format!("models:/{}/{}", cx.client_name, client_version.version),
        name: cx.client_name.to_string(),
        version: client_version.version,
        parent_run_id: parent_id,
        child_run_id: child_id,
        experiment_id: session.experiment_id.clone(),
        staged_path: version_dir.display().to_string(),
        manifest_digest: manifest.digest(),
        files: manifest.files.len(),
        bytes: manifest.total_bytes(),
        published: args.publish,
        tracking_uri: client.tracking_uri(),
        triton_model: Some(args.name.clone()),
        triton_version: Some(version),
    })
}

/// Builds `<name>/{config.pbtxt, N/…}` beside the repository (hashing as it copies), then moves
/// it in; returns the manifest, the model folder and the version folder.
async fn stage_into_repository(
    cx: &Plan<'_>,
    session: &Session,
    version: &str,
) -> anyhow::Result<(crate::manifest::Manifest, PathBuf, PathBuf)> {
    let args = cx.args;
    let built = cx
        .area
        .join(format!("{}-{version}-{}", args.name, std::process::id()));
    let mut files: Vec<SourceFile> = cx
        .files
        .iter()
        .map(|f| SourceFile {
            relative: format!("{version}/{}", f.relative),
            ..f.clone()
        })
        .collect();
    let config_file = tempfile::NamedTempFile::new()?;
    if let Some(config) = &cx.model.config {
        std::fs::write(config_file.path(), config)?;
        files.push(SourceFile {
            relative: triton::CONFIG_FILE.into(),
            path: config_file.path().to_path_buf(),
            size: config.len() as u64,
        });
    }
    let staging_reporter = session.reporter.clone();
    let built_for_copy = built.clone();
    let manifest = tokio::task::spawn_blocking(move || {
        staging::stage_atomically(&files, &built_for_copy, staging_reporter.as_ref())
    })
    .await?
    .context("staging the Triton model")?;
    let model_dir = cx.repo.join(&args.name);
    let version_dir = model_dir.join(version);
    triton::move_into_repository(&built, &model_dir, version)
        .with_context(|| format!("moving the model into {}", cx.repo.display()))?;
    Ok((manifest, model_dir, version_dir))
}

fn pip_requirements_for_proxy(args: &RegisterArgs) -> Vec<String> {
    if args.python_model.is_some() {
        super::pip_requirements(args)
    } else {
        args.pip_requirement.clone()
    }
}
