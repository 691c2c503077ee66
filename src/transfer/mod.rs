//! Moving model files: up to MLflow's artifact proxy (`register --publish`, `publish`), and down
//! from S3 (`promote`), checked against the manifest.

pub mod cpu;
pub mod digest;
pub mod download;
pub mod listing;
pub mod remote_manifest;
pub mod sink;
pub mod verify;

use std::path::Path;
use std::sync::Arc;

use crate::manifest::Manifest;
use crate::mlflow::client::MlflowClient;
use crate::progress::Reporter;

/// Files uploaded at once: the proxy streams each to S3; more than a few only queue on its worker.
const UPLOAD_CONCURRENCY: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("after upload, {count} file(s) in MLflow do not match the manifest: {details}")]
    Mismatch { count: usize, details: String },
}

/// Uploads every manifest file from `local_dir` to `<dest>/<path>`, skipping files already there
/// with the right size (so a publish cut short resumes), four at a time.
pub async fn upload_tree(
    client: &MlflowClient,
    local_dir: &Path,
    manifest: &Manifest,
    dest: &str,
    reporter: &dyn Reporter,
) -> anyhow::Result<UploadSummary> {
    let present = client.list_artifacts_recursive(dest).await?;
    let pending: Vec<_> = manifest
        .files
        .iter()
        .filter(|entry| {
            !present
                .iter()
                .any(|(path, size)| *path == entry.path && *size == entry.size)
        })
        .cloned()
        .collect();
    let skipped = manifest.files.len() - pending.len();
    reporter.start(
        "uploading",
        pending.iter().map(|e| e.size).sum(),
        pending.len(),
    );
    let semaphore = Arc::new(tokio::sync::Semaphore::new(UPLOAD_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for entry in &pending {
        let permit = semaphore.clone().acquire_owned().await?;
        let client = client.clone();
        let local = local_dir.join(&entry.path);
        let dest = dest.to_string();
        let path = entry.path.clone();
        let progress: Arc<dyn crate::progress::FileProgress> =
            reporter.file(&entry.path, entry.size).into();
        tasks.spawn(async move {
            let advance = progress.clone();
            let result = client
                .upload_artifact(&dest, &path, &local, move |chunk: &[u8]| {
                    advance.advance(chunk.len() as u64)
                })
                .await;
            progress.done();
            drop(permit);
            result
        });
        // Surface the first failure without waiting for every upload.
        while let Some(done) = tasks.try_join_next() {
            done??;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    reporter.finish();
    Ok(UploadSummary {
        uploaded: pending.len(),
        skipped,
        bytes: pending.iter().map(|e| e.size).sum(),
    })
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct UploadSummary {
    pub uploaded: usize,
    pub skipped: usize,
    pub bytes: u64,
}

/// Lists `dest` and checks every manifest file is there with its size.
pub async fn verify_uploaded(
    client: &MlflowClient,
    manifest: &Manifest,
    dest: &str,
) -> anyhow::Result<()> {
    let present = client.list_artifacts_recursive(dest).await?;
    let problems: Vec<String> = manifest
        .files
        .iter()
        .filter_map(
            |entry| match present.iter().find(|(path, _)| *path == entry.path) {
                None => Some(format!("`{}` missing", entry.path)),
                Some((_, size)) if *size != entry.size => Some(format!(
                    "`{}` is {size} bytes, expected {}",
                    entry.path, entry.size
                )),
                Some(_) => None,
            },
        )
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TransferError::Mismatch {
            count: problems.len(),
            details: problems.join(", "),
        }
        .into())
    }
}
