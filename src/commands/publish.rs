//! `llmops publish`: the scientist is satisfied with a version tested in dev; upload its binaries from
//! the dev staging folder into the *same* parent run's `model/`, so the version that was tested is the
//! version that gets promoted. The local copy is checked against the manifest first; the upload is
//! checked by listing; publishing twice is a no-op that says so.

use serde::Serialize;

use crate::cli::PublishArgs;
use crate::commands::register::{MODEL_ARTIFACT_DIR, tags};
use crate::exit::UserError;
use crate::layout::roots::{self, RootKind};
use crate::layout::{LLM_MODELS_DIR, staging};
use crate::manifest::{MANIFEST_ARTIFACT, Manifest};
use crate::mlflow::client::MlflowClient;
use crate::mlflow::model_ref::{ModelRef, ResolveError};
use crate::mlflow::{self, lineage};
use crate::progress;
use crate::transfer;

#[derive(Debug, Serialize)]
pub struct PublishReport {
    pub schema_version: u32,
    pub name: String,
    pub version: String,
    pub parent_run_id: String,
    pub already_published: bool,
    pub files: usize,
    pub bytes: u64,
    pub uploaded_files: usize,
    pub uploaded_bytes: u64,
    pub seconds: f64,
}

pub async fn run(args: &PublishArgs, json: bool) -> anyhow::Result<PublishReport> {
    let started = std::time::Instant::now();
    let reference =
        ModelRef::parse(&args.model, args.version.as_deref()).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking_uri.as_deref())?;
    let version = reference.resolve(&client).await.map_err(|e| match e {
        ResolveError::NotFound(r) => anyhow::Error::new(
            UserError::usage(format!("`{r}` does not exist in the model registry")).with_hint(
                "check the name and version with `llmops status <name>` or the MLflow UI",
            ),
        ),
        ResolveError::Mlflow(e) => e.into(),
    })?;
    let lineage = lineage::resolve(&client, &version).await?;
    let parent_id = lineage.parent.info.run_id.clone();
    let dest = format!("{}/{MODEL_ARTIFACT_DIR}", lineage.parent_artifact_path);
    let manifest = read_manifest(&client, &lineage.parent_artifact_path).await?;

    let report = |already: bool, uploaded_files: usize, uploaded_bytes: u64| PublishReport {
        schema_version: 1,
        name: version.name.clone(),
        version: version.version.clone(),
        parent_run_id: parent_id.clone(),
        already_published: already,
        files: manifest.files.len(),
        bytes: manifest.total_bytes(),
        uploaded_files,
        uploaded_bytes,
        seconds: started.elapsed().as_secs_f64(),
    };

    if version.tag(tags::PUBLISHED) == Some("true")
        && transfer::verify_uploaded(&client, &manifest, &dest)
            .await
            .is_ok()
    {
        crate::output::note(&format!(
            "{reference} is already published: its parent run {parent_id} holds every file of the manifest"
        ));
        return Ok(report(true, 0, 0));
    }

    // The dev copy is the source; it must still be what was registered.
    let dev_root = roots::resolve(RootKind::Dev, args.dev_root.as_deref())
        .map_err(|e| UserError::usage(e.to_string()))?;
    // A Triton version is staged as `<repo>/<model>/` (its manifest covers config.pbtxt and `<N>/`).
    let triton_model = triton_model_of(&version)?;
    let staged = match &triton_model {
        Some((model, _)) => dev_root.path.join(model),
        None => dev_root.path.join(LLM_MODELS_DIR).join(&parent_id),
    };
    if !staged.is_dir() {
        return Err(UserError::usage(format!(
            "the staged binaries of {reference} are not at `{}`",
            staged.display()
        ))
        .with_hint("pass the `--dev-root` the model was registered with")
        .into());
    }
    let local = verify_local(&staged, &manifest)?;
    if !local.is_empty() {
        return Err(UserError::usage(format!(
            "the staged copy at `{}` no longer matches what was registered: {}",
            staged.display(),
            local.join(", ")
        ))
        .with_hint("register the model again; a changed copy would publish bytes nobody tested")
        .into());
    }

    let reporter = progress::reporter(progress::mode(json));
    let summary =
        transfer::upload_tree(&client, &staged, &manifest, &dest, reporter.as_ref()).await?;
    transfer::verify_uploaded(&client, &manifest, &dest).await?;
    client
        .set_run_tag(&parent_id, tags::PUBLISHED, "true")
        .await?;
    client
        .set_model_version_tag(&version.name, &version.version, tags::PUBLISHED, "true")
        .await?;
    if let Some((model, number)) = &triton_model
        && *model != version.name
    {
        client
            .set_model_version_tag(model, number, tags::PUBLISHED, "true")
            .await?;
    }
    Ok(report(false, summary.uploaded, summary.bytes))
}

/// (Triton model folder, version folder) for a version registered with `--target triton`, checked
/// before they become paths.
pub fn triton_model_of(
    version: &crate::mlflow::client::ModelVersion,
) -> anyhow::Result<Option<(String, String)>> {
    use crate::commands::register_triton::triton_tags;
    if version.tag(triton_tags::TARGET) != Some("triton") {
        return Ok(None);
    }
    let (Some(model), Some(number)) = (
        version.tag(triton_tags::MODEL_NAME),
        version.tag(triton_tags::MODEL_VERSION),
    ) else {
        return Err(UserError::failed(
            "a Triton version without llmops.triton_model_name/version tags",
        )
        .into());
    };
    crate::layout::triton::validate_model_name(model).map_err(UserError::failed)?;
    if !crate::layout::triton::is_version_name(number) {
        return Err(UserError::failed(format!(
            "`{}` is not a Triton version number",
            crate::output::printable(number)
        ))
        .into());
    }
    Ok(Some((model.to_string(), number.to_string())))
}

/// The manifest `register` logged to the parent run.
pub async fn read_manifest(
    client: &MlflowClient,
    parent_artifact_path: &str,
) -> anyhow::Result<Manifest> {
    let listed = client
        .list_artifacts(&format!("{parent_artifact_path}/llmops"))
        .await?;
    if !listed.iter().any(|f| f.path.ends_with("manifest.json")) {
        return Err(UserError::usage(format!(
            "the parent run has no `{MANIFEST_ARTIFACT}`: this version was not registered by llmops"
        ))
        .into());
    }
    let bytes = client
        .download_artifact(&format!("{parent_artifact_path}/{MANIFEST_ARTIFACT}"))
        .await?;
    read_manifest_bytes(&bytes)
}

/// A manifest from untrusted bytes: its paths become local paths, so each must be a plain relative path.
pub fn read_manifest_bytes(bytes: &[u8]) -> anyhow::Result<Manifest> {
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| UserError::failed(format!("the parent run's manifest is not valid: {e}")))?;
    for entry in &manifest.files {
        let plain = !entry.path.is_empty()
            && entry
                .path
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'))
            && !entry.path.chars().any(char::is_control);
        if !plain || entry.sha256.len() != 64 {
            return Err(UserError::failed(format!(
                "the manifest has an unsafe or malformed entry `{}`",
                crate::output::printable(&entry.path)
            ))
            .into());
        }
    }
    Ok(manifest)
}

/// Files of the staged copy that differ from the manifest (size, then sha256), hashed in parallel.
fn verify_local(dir: &std::path::Path, manifest: &Manifest) -> anyhow::Result<Vec<String>> {
    let problems = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(entry) = manifest.files.get(i) else {
                        break;
                    };
                    let path = dir.join(&entry.path);
                    let problem = match std::fs::metadata(&path) {
                        Err(_) => Some(format!("`{}` is missing", entry.path)),
                        Ok(meta) if meta.len() != entry.size => Some(format!(
                            "`{}` is {} bytes, registered as {}",
                            entry.path,
                            meta.len(),
                            entry.size
                        )),
                        Ok(_) => match staging::sha256_file(&path) {
                            Ok(hash) if hash == entry.sha256 => None,
                            Ok(_) => Some(format!("`{}` has different content", entry.path)),
                            Err(e) => Some(format!("`{}`: {e}", entry.path)),
                        },
                    };
                    if let Some(problem) = problem {
                        problems.lock().unwrap().push(problem);
                    }
                }
            });
        }
    });
    let mut problems = problems.into_inner().unwrap();
    problems.sort();
    Ok(problems)
}
