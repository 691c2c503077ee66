//! One large file uploaded in parts through MLflow's multipart protocol (`mlflow::multipart`):
//! parts straight to S3 in parallel, each retried on its own, streamed from disk so memory stays
//! bounded; completed when every part is in, aborted when one fails for good.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::env;
use crate::mlflow::MlflowClient;
use crate::mlflow::multipart::{NotOffered, UploadedPart};
use crate::progress::FileProgress;

/// S3's limits on a multipart upload (`UploadPart`): at most 10,000 parts, each at least 5 MiB
/// but the last.
const MAX_PARTS: u64 = 10_000;
const MIN_PART: u64 = 5 * 1024 * 1024;
const DEFAULT_THRESHOLD: u64 = 64 * 1024 * 1024;
const DEFAULT_PART: u64 = 16 * 1024 * 1024;
/// Parts in flight at once, over every file of an upload.
pub const PART_CONCURRENCY: usize = 8;

/// When and how files are uploaded in parts, from MLflow's own variables.
#[derive(Debug, Clone, Copy)]
pub struct MultipartPolicy {
    pub enabled: bool,
    /// Files of at least this many bytes go in parts.
    pub threshold: u64,
    pub part_size: u64,
}

impl MultipartPolicy {
    pub fn from_env() -> Result<MultipartPolicy, String> {
        let bytes = |name: &str, default: u64| -> Result<u64, String> {
            match std::env::var(name) {
                Err(_) => Ok(default),
                Ok(text) => text
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{name}={text:?} is not a number of bytes")),
            }
        };
        let enabled = !matches!(
            std::env::var(env::MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD)
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "false" | "0" | "no"
        );
        let part_size = bytes(env::MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE, DEFAULT_PART)?;
        if part_size < MIN_PART {
            return Err(format!(
                "{}={part_size} is below S3's smallest part ({MIN_PART} bytes)",
                env::MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE
            ));
        }
        Ok(MultipartPolicy {
            enabled,
            threshold: bytes(
                env::MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE,
                DEFAULT_THRESHOLD,
            )?,
            part_size,
        })
    }

    pub fn applies_to(&self, size: u64) -> bool {
        self.enabled && size >= self.threshold && size > 0
    }

    /// (part size, number of parts) for a file: the configured size, grown in whole MiB when the
    /// file would need more than S3's 10,000 parts.
    pub fn parts_for(&self, size: u64) -> (u64, u32) {
        const MIB: u64 = 1024 * 1024;
        let mut part = self.part_size;
        if size.div_ceil(part) > MAX_PARTS {
            part = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
        }
        (part, size.div_ceil(part).max(1) as u32)
    }
}

/// What became of a file sent in parts.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    InParts(u32),
    /// The server does not do multipart uploads: send the file whole.
    NotOffered,
}

/// Uploads `local` (`size` bytes) as `<folder>/<file_name>` in parts.
pub async fn upload_in_parts(
    client: &MlflowClient,
    (folder, file_name): (&str, &str),
    (local, size): (&Path, u64),
    policy: &MultipartPolicy,
    slots: &Arc<Semaphore>,
    progress: &Arc<dyn FileProgress>,
) -> anyhow::Result<Sent> {
    let (part_size, count) = policy.parts_for(size);
    let upload = match client
        .create_multipart_upload(folder, file_name, count)
        .await
    {
        Ok(upload) => upload,
        Err(error) if error.is::<NotOffered>() => {
            client
                .reporter()
                .note(&format!("{error}; sending files whole"));
            return Ok(Sent::NotOffered);
        }
        Err(error) => return Err(error),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for credential in upload.credentials.clone() {
        let offset = u64::from(credential.part_number - 1) * part_size;
        let len = part_size.min(size - offset);
        let (client, local, slots) = (client.clone(), local.to_path_buf(), slots.clone());
        let advance = progress.clone();
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await?;
            let etag = client
                .put_part(&credential, &local, (offset, len), move |n| {
                    advance.advance(n as u64)
                })
                .await?;
            anyhow::Ok(UploadedPart {
                part_number: credential.part_number,
                etag,
                url: credential.url,
            })
        });
    }
    let mut parts = Vec::with_capacity(count as usize);
    while let Some(done) = tasks.join_next().await {
        match done.map_err(anyhow::Error::from).and_then(|part| part) {
            Ok(part) => parts.push(part),
            Err(error) => {
                tasks.abort_all();
                if let Err(abort) = client
                    .abort_multipart_upload(folder, file_name, &upload.upload_id)
                    .await
                {
                    client.reporter().warn(&format!(
                        "could not abort the multipart upload of `{file_name}` ({abort}); S3 keeps its parts until a lifecycle rule removes them"
                    ));
                }
                return Err(error.context(format!("uploading `{file_name}` in parts")));
            }
        }
    }
    parts.sort_by_key(|p| p.part_number);
    client
        .complete_multipart_upload(folder, file_name, &upload.upload_id, &parts)
        .await?;
    Ok(Sent::InParts(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_stay_within_s3_limits() {
        let policy = MultipartPolicy {
            enabled: true,
            threshold: DEFAULT_THRESHOLD,
            part_size: DEFAULT_PART,
        };
        // 70 MiB in 16 MiB parts: 5 parts, the last 6 MiB.
        assert_eq!(policy.parts_for(70 << 20), (16 << 20, 5));
        // 400 GiB would need 25,600 parts of 16 MiB: parts grow to 41 MiB, 9,991 parts.
        let (part, count) = policy.parts_for(400 << 30);
        assert_eq!(part, 41 << 20);
        assert!(u64::from(count) <= MAX_PARTS && u64::from(count) * part >= 400 << 30);
        assert!(!policy.applies_to(DEFAULT_THRESHOLD - 1));
        assert!(policy.applies_to(DEFAULT_THRESHOLD));
    }
}
