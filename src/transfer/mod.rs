//! Moving model files: up to MLflow's artifact proxy (`register --publish`, `publish`), and down
//! from S3 (`promote`), checked against the manifest.

pub mod digest;
pub mod download;
pub mod listing;
pub mod multipart;
pub mod object_get;
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
/// with the right size (so a publish cut short resumes), four files at a time. Files of at least
/// the multipart threshold go straight to S3 in presigned parts when the server offers it (see
/// [`multipart`]); the others, and all of them where it does not, in one PUT through the proxy.
pub async fn upload_tree(
    client: &MlflowClient,
    local_dir: &Path,
    manifest: &Manifest,
    dest: &str,
    reporter: &dyn Reporter,
) -> anyhow::Result<UploadSummary> {
    let policy = multipart::MultipartPolicy::from_env().map_err(crate::exit::UserError::usage)?;
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
    let shared = Arc::new(Shared {
        client: client.clone(),
        dest: dest.to_string(),
        policy,
        offered: std::sync::atomic::AtomicBool::new(true),
        parts: Arc::new(tokio::sync::Semaphore::new(multipart::PART_CONCURRENCY)),
        in_parts: std::sync::atomic::AtomicUsize::new(0),
    });
    let semaphore = Arc::new(tokio::sync::Semaphore::new(UPLOAD_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for entry in &pending {
        let permit = semaphore.clone().acquire_owned().await?;
        let shared = shared.clone();
        let local = local_dir.join(&entry.path);
        let (path, size) = (entry.path.clone(), entry.size);
        let progress: Arc<dyn crate::progress::FileProgress> =
            reporter.file(&entry.path, entry.size).into();
        tasks.spawn(async move {
            let result = shared.upload_file(&path, &local, size, &progress).await;
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
        in_parts: shared.in_parts.load(std::sync::atomic::Ordering::SeqCst),
        bytes: pending.iter().map(|e| e.size).sum(),
    })
}

/// What the uploads of one tree share.
struct Shared {
    client: MlflowClient,
    dest: String,
    policy: multipart::MultipartPolicy,
    /// Cleared once the server says it has no multipart uploads, so it is asked once.
    offered: std::sync::atomic::AtomicBool,
    /// Part PUTs in flight, over every file.
    parts: Arc<tokio::sync::Semaphore>,
    in_parts: std::sync::atomic::AtomicUsize,
}

impl Shared {
    async fn upload_file(
        &self,
        path: &str,
        local: &Path,
        size: u64,
        progress: &Arc<dyn crate::progress::FileProgress>,
    ) -> anyhow::Result<()> {
        use std::sync::atomic::Ordering;
        if self.policy.applies_to(size) && self.offered.load(Ordering::SeqCst) {
            let (folder, name) = match path.rsplit_once('/') {
                Some((dir, name)) => (format!("{}/{dir}", self.dest), name),
                None => (self.dest.clone(), path),
            };
            let sent = multipart::upload_in_parts(
                &self.client,
                (&folder, name),
                (local, size),
                &self.policy,
                &self.parts,
                progress,
            )
            .await?;
            match sent {
                multipart::Sent::InParts(_) => {
                    self.in_parts.fetch_add(1, Ordering::SeqCst);
                    return Ok(());
                }
                multipart::Sent::NotOffered => self.offered.store(false, Ordering::SeqCst),
            }
        }
        let advance = progress.clone();
        self.client
            .upload_artifact(&self.dest, path, local, move |chunk: &[u8]| {
                advance.advance(chunk.len() as u64)
            })
            .await?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct UploadSummary {
    pub uploaded: usize,
    pub skipped: usize,
    /// Of the uploaded files, how many went to S3 in presigned parts.
    pub in_parts: usize,
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
