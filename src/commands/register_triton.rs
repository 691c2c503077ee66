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

use super::register::{
    ChildModel, Created, MODEL_ARTIFACT_DIR, RegisterReport, pip_requirements, record_binaries,
    register_child, summary_tags, tags, user_tags,
};
use crate::cli::RegisterArgs;
use crate::env;
use crate::exit::UserError;
use crate::layout::staging::{self, SourceFile};
use crate::layout::triton::{self, TritonModel};
use crate::mlflow::model_ref::validate_registered_model_name;
use crate::mlflow::pyfunc;
use crate::mlflow::{self, lineage};
use crate::progress::Reporter;

/// Tags on the client version that say where its Triton model lives.
pub mod triton_tags {
    pub const TARGET: &str = "llmops.target";
    pub const MODEL_NAME: &str = "llmops.triton_model_name";
    pub const MODEL_VERSION: &str = "llmops.triton_model_version";
}

/// A folder beside the repository root (same filesystem, never inside it: every folder in the
/// root would be a model) where trees are built before they are renamed in.
/// Where `staging_area` is, without creating it (for `status`, which only reads).
pub fn staging_area_path(repo: &Path) -> Result<PathBuf, UserError> {
    let repo = repo
        .canonicalize()
        .map_err(|e| UserError::usage(format!("`{}`: {e}", repo.display())))?;
    let parent = repo
        .parent()
        .ok_or_else(|| UserError::usage("the Triton repository cannot be the filesystem root"))?;
    Ok(parent.join(format!(
        ".{}.llmops-staging",
        repo.file_name().and_then(|n| n.to_str()).unwrap_or("repo")
    )))
}

pub fn staging_area(repo: &Path) -> Result<PathBuf, UserError> {
    let area = staging_area_path(repo)?;
    std::fs::create_dir_all(&area).map_err(|e| {
        UserError::usage(format!("cannot create the staging folder `{}` beside the repository: {e}", area.display()))
            .with_hint("llmops stages Triton models next to the repository root, on the same filesystem; make its parent writable")
    })?;
    use std::os::unix::fs::MetadataExt;
    let device = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).ok();
    if device(&area) != device(repo) {
        return Err(UserError::usage(format!(
            "`{}` and the repository `{}` are on different filesystems; a rename between them would not be atomic",
            area.display(),
            repo.display()
        )));
    }
    Ok(area)
}

/// Checks the repository root is a writable folder, with a file probe (a folder would be a model).
pub fn check_repository(repo: &Path) -> Result<(), UserError> {
    let not_writable = |reason: String| {
        UserError::usage(format!(
            "the Triton repository `{}` is not writable: {reason}",
            repo.display()
        ))
        .with_hint("pass the dev model repository as `--dev-root` (it must exist and be writable)")
    };
    if !repo.is_dir() {
        return Err(not_writable(
            "it does not exist or is not a directory".into(),
        ));
    }
    let probe = repo.join(format!(".llmops-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| not_writable(e.to_string()))?;
    std::fs::remove_file(&probe).map_err(|e| not_writable(e.to_string()))
}

pub async fn run(args: &RegisterArgs, json: bool) -> anyhow::Result<RegisterReport> {
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
        crate::output::note(note);
    }
    let user_tags = user_tags(args)?;
    let code = match &args.python_model {
        Some(path) => pyfunc::read_user_code(path).map_err(|e| UserError::usage(e.to_string()))?,
        None => (
            "llmops_triton_proxy.py".to_string(),
            pyfunc::TRITON_TEMPLATE.to_string(),
        ),
    };
    let repo = args.dev_root.clone().or_else(|| std::env::var_os(env::LLMOPS_DEV_ROOT).map(PathBuf::from)).ok_or_else(|| {
        UserError::usage("no dev Triton repository: pass `--dev-root PATH` (the model repository Triton reads) or set LLMOPS_DEV_ROOT")
    })?;
    check_repository(&repo)?;
    let area = staging_area(&repo)?;
    let files =
        staging::scan(&model.version_source).map_err(|e| UserError::usage(e.to_string()))?;

    let session = super::register::open_session(args, json).await?;
    let (parent, mut created) = session
        .start_parent(
            &args.name,
            vec![(triton_tags::TARGET, "triton".into())],
            &user_tags,
        )
        .await?;
    let super::register::Session {
        client,
        server_version,
        experiment_id,
        user,
        reporter,
    } = session;
    let context = Context_ {
        args,
        model: &model,
        files,
        code,
        repo: &repo,
        area: &area,
        client_name: &client_name,
        user: &user,
        user_tags: &user_tags,
    };
    let result = register(
        &context,
        &client,
        &server_version,
        &experiment_id,
        &parent,
        reporter,
        &mut created,
    )
    .await;
    created.settle(result, &client, &args.name).await
}

/// What `register` needs besides the clients (one struct, to keep the argument lists short).
struct Context_<'a> {
    args: &'a RegisterArgs,
    model: &'a TritonModel,
    files: Vec<SourceFile>,
    /// (file name, code) of the proxy model.
    code: (String, String),
    repo: &'a Path,
    area: &'a Path,
    client_name: &'a str,
    user: &'a str,
    user_tags: &'a [(String, String)],
}

async fn register(
    cx: &Context_<'_>,
    client: &mlflow::MlflowClient,
    server_version: &str,
    experiment_id: &str,
    parent: &mlflow::client::Run,
    reporter: Arc<dyn Reporter>,
    created: &mut Created,
) -> anyhow::Result<RegisterReport> {
    let args = cx.args;
    let parent_id = parent.info.run_id.clone();
    let parent_path = lineage::artifact_path(parent)?;

    // The binary holder's version number names the version folder, so it comes first.
    client
        .get_or_create_registered_model(&args.name, args.description.as_deref())
        .await?;
    let source = format!(
        "{}/{MODEL_ARTIFACT_DIR}",
        parent.info.artifact_uri.trim_end_matches('/')
    );
    let binary_tags = vec![
        (tags::PARENT_RUN_ID.to_string(), parent_id.clone()),
        (triton_tags::TARGET.to_string(), "triton".to_string()),
        ("llmops.role".to_string(), "binaries".to_string()),
    ];
    let binary = client
        .create_model_version(
            &args.name,
            &source,
            &parent_id,
            &binary_tags,
            args.description.as_deref(),
        )
        .await?;
    created.version = Some((args.name.clone(), binary.version.clone()));
    let version = binary.version.clone();

    // Build `<name>/{config.pbtxt, N/…}` beside the repository, then move it in.
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
            relative: "config.pbtxt".into(),
            path: config_file.path().to_path_buf(),
            size: config.len() as u64,
        });
    }
    let staging_reporter = reporter.clone();
    let built_for_copy = built.clone();
    let manifest = tokio::task::spawn_blocking(move || {
        staging::stage_atomically(&files, &built_for_copy, staging_reporter.as_ref())
    })
    .await?
    .context("staging the Triton model")?;
    let model_dir = cx.repo.join(&args.name);
    let version_dir = model_dir.join(&version);
    move_into_repository(&built, &model_dir, &version)
        .with_context(|| format!("moving the model into {}", cx.repo.display()))?;
    created.staged = Some(version_dir.clone());

    record_binaries(
        client,
        (&parent_id, &parent_path),
        &manifest,
        args.publish.then_some(model_dir.as_path()),
        reporter.as_ref(),
    )
    .await?;

    // Tags on both versions: the binary holder and the client deployers promote.
    let mut summary = summary_tags(&parent_id, &manifest, args.publish, &version_dir);
    summary.extend([
        (triton_tags::TARGET.to_string(), "triton".to_string()),
        (triton_tags::MODEL_NAME.to_string(), args.name.clone()),
        (triton_tags::MODEL_VERSION.to_string(), version.clone()),
    ]);
    summary.extend(cx.user_tags.iter().cloned());
    for (key, value) in &summary {
        client
            .set_model_version_tag(&args.name, &version, key, value)
            .await?;
    }
    // The child run with the proxy model, registered as the client.
    let (child_id, client_version) = register_child(
        client,
        experiment_id,
        cx.user,
        created,
        ChildModel {
            registered_name: cx.client_name,
            parent_id: &parent_id,
            params: vec![
                ("parent_run_id", parent_id.clone()),
                ("triton_model_name", args.name.clone()),
                ("triton_model_version", version.clone()),
            ],
            code: &cx.code,
            context: serde_json::json!({
                "parent_run_id": parent_id,
                "inference_server_name": args.inference_server,
                "model_name": args.name,
                "model_version": version,
            }),
            pip_requirements: pip_requirements_for_proxy(args),
            mlflow_version: server_version,
            version_tags: &summary,
            description: args.description.as_deref(),
        },
    )
    .await?;
    client.finish_run(&parent_id, "FINISHED").await?;

    Ok(RegisterReport {
        schema_version: 1,
        model_uri: format!("models:/{}/{}", cx.client_name, client_version.version),
        name: cx.client_name.to_string(),
        version: client_version.version,
        parent_run_id: parent_id,
        child_run_id: child_id,
        experiment_id: experiment_id.to_string(),
        staged_path: version_dir.display().to_string(),
        manifest_digest: manifest.digest(),
        files: manifest.files.len(),
        bytes: manifest.total_bytes(),
        published: args.publish,
        tracking_uri: client.tracking_uri().to_string(),
        triton_model: Some(args.name.clone()),
        triton_version: Some(version),
    })
}

fn pip_requirements_for_proxy(args: &RegisterArgs) -> Vec<String> {
    if args.python_model.is_some() {
        pip_requirements(args)
    } else {
        args.pip_requirement.clone()
    }
}

/// `built` holds `config.pbtxt` (maybe) and `<version>/`. A new model folder moves in whole; into an
/// existing one the version folder moves first (it is new), then `config.pbtxt` replaces the old
/// one by rename. Either way Triton never sees a partial folder.
pub fn move_into_repository(built: &Path, model_dir: &Path, version: &str) -> std::io::Result<()> {
    if !model_dir.exists() {
        std::fs::rename(built, model_dir)?;
    } else {
        let version_dir = model_dir.join(version);
        if version_dir.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} already exists; llmops never writes into a live version folder",
                    version_dir.display()
                ),
            ));
        }
        std::fs::rename(built.join(version), &version_dir)?;
        if built.join("config.pbtxt").exists() {
            std::fs::rename(built.join("config.pbtxt"), model_dir.join("config.pbtxt"))?;
        }
        let _ = std::fs::remove_dir_all(built);
    }
    std::fs::File::open(model_dir).and_then(|d| d.sync_all())?;
    Ok(())
}
