//! Multipart uploads through MLflow's artifact proxy: the tracking server creates the S3 multipart
//! upload and hands out one presigned URL per part; the client PUTs each part straight to S3 and
//! asks the server to complete (or abort). No S3 credentials are needed on the client, and no
//! request through the tracking server (or the ingress in front of it) carries file bytes.
//!
//! Routes and bodies from MLflow's `mlflow/server/handlers.py` (`_create_multipart_upload_artifact`,
//! `_complete_multipart_upload_artifact`, `_abort_multipart_upload_artifact`) and the client side
//! in `mlflow/store/artifact/http_artifact_repo.py` (`_try_multipart_upload`). The server names the
//! object `<artifact path>/<basename of "path">`, so the route carries the folder and the body the
//! file name.

use std::collections::HashMap;
use std::path::Path;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::{MlflowClient, MlflowError, Result, describe_transport_error, encode_path};

#[derive(Debug, Clone, Deserialize)]
pub struct PartCredential {
    pub part_number: u32,
    pub url: String,
    #[serde(default)]
    pub headers: HashMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MultipartUpload {
    pub upload_id: String,
    #[serde(default)]
    pub credentials: Vec<PartCredential>,
}

/// A part S3 accepted, as `complete` needs it.
#[derive(Debug, Clone, Serialize)]
pub struct UploadedPart {
    pub part_number: u32,
    pub etag: String,
    pub url: String,
}

/// The server cannot do multipart uploads (its artifact store has none, its MLflow predates them,
/// or a proxy in front refuses the route): the caller falls back to one PUT per file.
#[derive(Debug, thiserror::Error)]
#[error("the tracking server does not offer multipart uploads: {0}")]
pub struct NotOffered(pub MlflowError);

impl MlflowClient {
    /// Starts a multipart upload of `<folder>/<file_name>` in `parts` parts. `Err(NotOffered)`
    /// when the server cannot.
    pub async fn create_multipart_upload(
        &self,
        folder: &str,
        file_name: &str,
        parts: u32,
    ) -> std::result::Result<MultipartUpload, anyhow::Error> {
        let path = format!(
            "/api/2.0/mlflow-artifacts/mpu/create/{}",
            encode_path(folder)
        );
        let body = json!({"path": file_name, "num_parts": parts});
        let created = match self.call(Method::POST, &path, &[], Some(&body)).await {
            Ok(value) => value,
            Err(error) if is_not_offered(&error) => return Err(NotOffered(error).into()),
            Err(error) => return Err(error.into()),
        };
        let upload: MultipartUpload =
            serde_json::from_value(created).map_err(|e| MlflowError::Decode {
                path: path.clone(),
                problem: e.to_string(),
            })?;
        let numbered = (1..=parts).all(|n| upload.credentials.iter().any(|c| c.part_number == n));
        if upload.upload_id.is_empty() || upload.credentials.len() != parts as usize || !numbered {
            return Err(MlflowError::Decode {
                path,
                problem: format!(
                    "asked for {parts} part URLs, got {} (upload id `{}`)",
                    upload.credentials.len(),
                    crate::text::excerpt(&upload.upload_id, 80)
                ),
            }
            .into());
        }
        if let Some(bad) = upload
            .credentials
            .iter()
            .find(|c| !(c.url.starts_with("https://") || c.url.starts_with("http://")))
        {
            return Err(MlflowError::Decode {
                path,
                problem: format!(
                    "part {} has no http(s) URL: `{}`",
                    bad.part_number,
                    crate::text::excerpt(&bad.url, 80)
                ),
            }
            .into());
        }
        Ok(upload)
    }

    pub async fn complete_multipart_upload(
        &self,
        folder: &str,
        file_name: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<()> {
        let path = format!(
            "/api/2.0/mlflow-artifacts/mpu/complete/{}",
            encode_path(folder)
        );
        let body = json!({"path": file_name, "upload_id": upload_id, "parts": parts});
        self.call(Method::POST, &path, &[], Some(&body))
            .await
            .map(drop)
    }

    /// Frees the parts S3 holds for an upload that will not complete.
    pub async fn abort_multipart_upload(
        &self,
        folder: &str,
        file_name: &str,
        upload_id: &str,
    ) -> Result<()> {
        let path = format!(
            "/api/2.0/mlflow-artifacts/mpu/abort/{}",
            encode_path(folder)
        );
        let body = json!({"path": file_name, "upload_id": upload_id});
        self.call(Method::POST, &path, &[], Some(&body))
            .await
            .map(drop)
    }

    /// PUTs `len` bytes of `local` from `offset` to a presigned part URL, streamed from disk, with
    /// MLflow's retry policy; returns S3's ETag for the part. The request carries the headers the
    /// server gave and none of the tracking server's credentials: the URL is S3's, not MLflow's.
    pub async fn put_part(
        &self,
        credential: &PartCredential,
        local: &Path,
        (offset, len): (u64, u64),
        on_chunk: impl Fn(usize) + Clone + Send + Sync + 'static,
    ) -> Result<String> {
        let what = format!("part {} of `{}`", credential.part_number, local.display());
        let mut attempt = 0u32;
        loop {
            let error = match self
                .put_part_once(credential, local, (offset, len), on_chunk.clone())
                .await
            {
                Ok(etag) => return Ok(etag),
                Err((error, false)) => return Err(error),
                Err((error, true)) => error,
            };
            if attempt >= self.retry.max_retries {
                return Err(error);
            }
            attempt += 1;
            let delay = self.retry.delay(attempt, None);
            self.reporter.note(&format!(
                "upload of {what} failed ({error}); retry {attempt} of {} in {:.1} s",
                self.retry.max_retries,
                delay.as_secs_f64()
            ));
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt; the error says whether another may succeed.
    async fn put_part_once(
        &self,
        credential: &PartCredential,
        local: &Path,
        (offset, len): (u64, u64),
        on_chunk: impl Fn(usize) + Send + Sync + 'static,
    ) -> std::result::Result<String, (MlflowError, bool)> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let local_err = |source| {
            let error = MlflowError::LocalFile {
                path: local.display().to_string(),
                source,
            };
            (error, false)
        };
        let mut file = tokio::fs::File::open(local).await.map_err(local_err)?;
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(local_err)?;
        let stream = futures_util::StreamExt::inspect(
            tokio_util::io::ReaderStream::with_capacity(file.take(len), 1 << 20),
            move |chunk| {
                if let Ok(bytes) = chunk {
                    on_chunk(bytes.len());
                }
            },
        );
        let mut request = self
            .http
            .put(&credential.url)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(stream));
        for (name, value) in &credential.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let label = format!("part {}", credential.part_number);
        let response = request.send().await.map_err(|e| {
            let error = MlflowError::Unreachable {
                url: format!("S3 (presigned URL for {label})"),
                reason: describe_transport_error(&e),
            };
            (error, true)
        })?;
        let status = response.status();
        if !status.is_success() {
            let body = self.read_error_body(response).await;
            let error = MlflowError::Api {
                method: "PUT".into(),
                path: format!("S3 presigned URL for {label}"),
                status: status.as_u16(),
                code: None,
                message: crate::text::excerpt(&body, 300),
            };
            let transient = status.is_server_error() || status.as_u16() == 429;
            return Err((error, transient));
        }
        match response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
        {
            Some(etag) if !etag.is_empty() => Ok(etag.to_string()),
            _ => Err((
                MlflowError::Decode {
                    path: format!("S3 presigned URL for {label}"),
                    problem: "no ETag in the answer".into(),
                },
                false,
            )),
        }
    }
}

/// A refusal that means "no multipart here", as opposed to a failure of this upload.
fn is_not_offered(error: &MlflowError) -> bool {
    match error {
        MlflowError::Api {
            status, message, ..
        } => {
            matches!(status, 404 | 405 | 501)
                || message.to_ascii_lowercase().contains("not supported")
        }
        _ => false,
    }
}
