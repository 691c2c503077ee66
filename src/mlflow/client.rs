//! An MLflow REST client over reqwest: the calls `register`, `publish` and `promote` need, against
//! MLflow 2.x and 3.x servers. The contract (paths, quirks, 2.x/3.x differences) is written down in
//! `docs/mlflow-rest.md` §Endpoints. Responses are deserialised leniently: unknown fields
//! are ignored, since 3.x adds them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::retry::{RetryPolicy, parse_retry_after};
use crate::env;
use crate::progress::Reporter;

/// The largest JSON answer llmops reads (a page of 200 model versions is well under 1 MiB).
const JSON_LIMIT: usize = 16 * 1024 * 1024;
/// The largest artifact llmops downloads through the tracking server (a manifest, a model context).
const ARTIFACT_LIMIT: usize = 64 * 1024 * 1024;
/// How much of an error answer is kept (enough for MLflow's JSON error with a long message).
const ERROR_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MlflowError {
    #[error("cannot reach the MLflow tracking server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("MLflow answered {status} to {method} {path}{}: {message}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api {
        method: String,
        path: String,
        status: u16,
        code: Option<String>,
        message: String,
    },
    #[error("MLflow sent a response llmops cannot read for {path}: {problem}")]
    Decode { path: String, problem: String },
    #[error("reading `{path}` for upload: {source}")]
    LocalFile {
        path: String,
        source: std::io::Error,
    },
}

impl MlflowError {
    pub fn status(&self) -> Option<u16> {
        match self {
            MlflowError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `RESOURCE_DOES_NOT_EXIST`, or a plain 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, MlflowError::Api { status: 404, .. })
            || matches!(self, MlflowError::Api { code: Some(c), .. } if c == "RESOURCE_DOES_NOT_EXIST")
    }

    pub fn is_already_exists(&self) -> bool {
        matches!(self, MlflowError::Api { code: Some(c), .. } if c == "RESOURCE_ALREADY_EXISTS")
    }

    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }
}

pub type Result<T> = std::result::Result<T, MlflowError>;

#[derive(Debug, Clone, Deserialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    #[serde(default)]
    pub artifact_location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    pub experiment_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub artifact_uri: String,
    #[serde(default)]
    pub run_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunData {
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub params: Vec<Tag>,
    /// The latest value of each metric (`runs/get` answers the latest step's).
    #[serde(default)]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Metric {
    pub key: String,
    /// MLflow sends NaN and infinities as strings; those are not values a gate can compare.
    #[serde(default)]
    pub value: serde_json::Value,
    #[serde(default)]
    pub step: i64,
}

impl Metric {
    pub fn number(&self) -> Option<f64> {
        self.value.as_f64().filter(|v| v.is_finite())
    }
}

/// The value of `key` in MLflow's key/value list (tags, params).
fn find_tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

#[derive(Debug, Clone, Deserialize)]
pub struct Run {
    pub info: RunInfo,
    #[serde(default)]
    pub data: RunData,
    /// Datasets logged as the run's inputs (`mlflow.log_input`).
    #[serde(default)]
    pub inputs: RunInputs,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunInputs {
    #[serde(default)]
    pub dataset_inputs: Vec<DatasetInput>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatasetInput {
    pub dataset: Dataset,
    /// `mlflow.data.context` (`training`, `evaluation`…) among them.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl DatasetInput {
    /// What the dataset was used for (`mlflow.data.context`), when said.
    pub fn context(&self) -> Option<&str> {
        find_tag(&self.tags, DATASET_CONTEXT)
    }
}

/// The input tag MLflow's `log_input(…, context=…)` sets (`mlflow/utils/mlflow_tags.py`).
pub const DATASET_CONTEXT: &str = "mlflow.data.context";

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct Dataset {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub source_type: String,
    #[serde(default)]
    pub source: String,
}

impl Run {
    pub fn tag(&self, key: &str) -> Option<&str> {
        find_tag(&self.data.tags, key)
    }

    pub fn metric(&self, key: &str) -> Option<&Metric> {
        self.data.metrics.iter().find(|m| m.key == key)
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        find_tag(&self.data.params, key)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl ModelVersion {
    pub fn tag(&self, key: &str) -> Option<&str> {
        find_tag(&self.tags, key)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileInfo {
    pub path: String,
    #[serde(default)]
    pub is_dir: bool,
    #[serde(default)]
    pub file_size: Option<u64>,
}

/// How requests authenticate. MLflow's own precedence: username+password (Basic), else token
/// (Bearer); Domino's API key is added as its own header.
#[derive(Clone, Default)]
pub struct Auth {
    basic: Option<(String, String)>,
    bearer: Option<String>,
    domino_api_key: Option<String>,
}

impl std::fmt::Debug for Auth {
    // Secrets never reach a log or an error message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("basic", &self.basic.as_ref().map(|(user, _)| user))
            .field("bearer", &self.bearer.as_ref().map(|_| "***"))
            .field(
                "domino_api_key",
                &self.domino_api_key.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

impl Auth {
    pub fn from_env() -> Auth {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Auth {
            basic: var(env::MLFLOW_TRACKING_USERNAME).zip(var(env::MLFLOW_TRACKING_PASSWORD)),
            bearer: var(env::MLFLOW_TRACKING_TOKEN),
            domino_api_key: var(env::DOMINO_USER_API_KEY),
        }
    }

    /// Which kind is in use, for messages (never the secret).
    pub fn describe(&self) -> &'static str {
        match (&self.basic, &self.bearer, &self.domino_api_key) {
            (Some(_), _, _) => "MLFLOW_TRACKING_USERNAME/PASSWORD (Basic)",
            (None, Some(_), _) => "MLFLOW_TRACKING_TOKEN (Bearer)",
            (None, None, Some(_)) => "DOMINO_USER_API_KEY",
            _ => "no credentials",
        }
    }

    fn headers(&self) -> HeaderMap {
        use base64::Engine;
        let mut headers = HeaderMap::new();
        let secret = |value: String| {
            let mut header =
                HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""));
            header.set_sensitive(true);
            header
        };
        if let Some((user, password)) = &self.basic {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            headers.insert(AUTHORIZATION, secret(format!("Basic {token}")));
        } else if let Some(token) = &self.bearer {
            headers.insert(AUTHORIZATION, secret(format!("Bearer {token}")));
        }
        if let Some(key) = &self.domino_api_key {
            headers.insert("X-Domino-Api-Key", secret(key.clone()));
        }
        headers
    }
}

#[derive(Clone)]
pub struct MlflowClient {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    auth: Auth,
    pub(super) retry: RetryPolicy,
    /// Where retries are reported (the client never prints).
    pub(super) reporter: Arc<dyn Reporter>,
}

impl std::fmt::Debug for MlflowClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlflowClient")
            .field("base", &crate::text::without_password(&self.base))
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl MlflowClient {
    pub fn new(
        tracking_uri: &str,
        auth: Auth,
        retry: RetryPolicy,
        reporter: Arc<dyn Reporter>,
    ) -> std::result::Result<Self, String> {
        let base = tracking_uri.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "tracking URI `{}` is not an http(s) URL; llmops talks to an MLflow tracking server",
                crate::text::without_password(tracking_uri)
            ));
        }
        let http = reqwest::Client::builder()
            .redirect(same_origin_redirects())
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(retry.timeout)
            .user_agent(concat!("llmops/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(MlflowClient {
            http,
            base,
            auth,
            retry,
            reporter,
        })
    }

    /// The same client with at most `retries` retries (doctor answers quickly rather than patiently).
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = self.retry.max_retries.min(retries);
        self
    }

    /// The tracking URI as it may be shown: a password in it is masked.
    pub fn tracking_uri(&self) -> String {
        crate::text::without_password(&self.base)
    }

    /// Where the client reports retries; callers report what they decide about its answers there too.
    pub fn reporter(&self) -> &Arc<dyn Reporter> {
        &self.reporter
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// One JSON call with MLflow's retry policy. `body` is sent as JSON for POST/PATCH (the server
    /// refuses other content types); `query` goes in the query string.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let response = self
            .send_with_retries(&method, path, || {
                let mut request = self
                    .http
                    .request(method.clone(), format!("{}{path}", self.base))
                    .headers(self.auth.headers())
                    .query(query);
                if let Some(body) = body {
                    request = request
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.to_string());
                }
                request
            })
            .await?;
        let bytes = self.read_body(response, path, JSON_LIMIT).await?;
        let text = String::from_utf8_lossy(&bytes);
        if text.trim().is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_str(&text).map_err(|e| MlflowError::Decode {
            path: path.into(),
            problem: format!("{e}: {}", snippet(&text)),
        })
    }

    /// A response body of at most `limit` bytes, read within the request timeout: a server that
    /// sends gigabytes, or one byte a second, is an error that names the path, not an exhausted
    /// machine or a hung command.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        path: &str,
        limit: usize,
    ) -> Result<Vec<u8>> {
        let decode = |problem: String| MlflowError::Decode {
            path: path.into(),
            problem,
        };
        let read = async {
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| decode(e.to_string()))? {
                if body.len() + chunk.len() > limit {
                    return Err(decode(format!("the answer is larger than {limit} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        tokio::time::timeout(self.retry.timeout, read)
            .await
            .map_err(|_| {
                decode(format!(
                    "the answer did not arrive within {} s (MLFLOW_HTTP_REQUEST_TIMEOUT)",
                    self.retry.timeout.as_secs_f64()
                ))
            })?
    }

    /// The start of an error answer (enough for MLflow's JSON error; a proxy's page is cut).
    pub(super) async fn read_error_body(&self, mut response: reqwest::Response) -> String {
        let mut body = Vec::new();
        let read = async {
            while let Ok(Some(chunk)) = response.chunk().await {
                body.extend_from_slice(&chunk);
                if body.len() >= ERROR_BODY_LIMIT {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(self.retry.timeout, read).await;
        body.truncate(ERROR_BODY_LIMIT);
        String::from_utf8_lossy(&body).into_owned()
    }

    /// Sends `build()` with MLflow's retry policy.
    async fn send_with_retries(
        &self,
        method: &Method,
        path: &str,
        build: impl FnMut() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        self.send(method, path, self.retry.max_retries, build).await
    }

    /// Sends `build()` until it succeeds, fails for good, or `max_retries` retries are spent.
    async fn send(
        &self,
        method: &Method,
        path: &str,
        max_retries: u32,
        mut build: impl FnMut() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let mut attempt = 0u32;
        loop {
            let request = build();
            // No total deadline: `MLFLOW_HTTP_REQUEST_TIMEOUT` bounds each read (the client's
            // read_timeout), as in Python's requests, so a 5 GB upload is not cut off at 120 s.
            let outcome = request.send().await;
            let (retryable, retry_after, error) = match outcome {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    let error =
                        api_error(method, path, status, self.read_error_body(response).await);
                    (
                        RetryPolicy::is_transient(status.as_u16()),
                        retry_after,
                        error,
                    )
                }
                Err(error) => (
                    true,
                    None,
                    MlflowError::Unreachable {
                        url: self.tracking_uri(),
                        reason: describe_transport_error(&error),
                    },
                ),
            };
            if !retryable || attempt >= max_retries {
                return Err(error);
            }
            attempt += 1;
            let delay = self.retry.delay(attempt, retry_after);
            self.reporter.note(&format!(
                "MLflow {method} {path} failed ({error}); retry {attempt} of {} in {:.1} s",
                self.retry.max_retries,
                delay.as_secs_f64()
            ));
            tokio::time::sleep(delay).await;
        }
    }

    /// An authenticated API call that changes nothing (`/version` needs no login). Returns the
    /// server's `Date`, for the clock check. A missing experiment still proves the login worked.
    pub async fn search_experiments_probe(&self) -> Result<Option<std::time::SystemTime>> {
        let path = "/api/2.0/mlflow/experiments/get-by-name";
        let result = self
            .send_with_retries(&Method::GET, path, || {
                self.http
                    .get(format!("{}{path}", self.base))
                    .headers(self.auth.headers())
                    .query(&[("experiment_name", "Default")])
            })
            .await;
        match result {
            Ok(response) => Ok(response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /version`: `3.17.2` as plain text. Also the reachability check.
    pub async fn server_version(&self) -> Result<String> {
        let response = self
            .send_with_retries(&Method::GET, "/version", || {
                self.http
                    .get(format!("{}/version", self.base))
                    .headers(self.auth.headers())
            })
            .await?;
        let bytes = self
            .read_body(response, "/version", ERROR_BODY_LIMIT)
            .await?;
        Ok(String::from_utf8_lossy(&bytes).trim().to_string())
    }

    pub async fn get_or_create_experiment(&self, name: &str) -> Result<Experiment> {
        match self.get_experiment_by_name(name).await {
            Ok(experiment) => return Ok(experiment),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        match self
            .call(
                Method::POST,
                "/api/2.0/mlflow/experiments/create",
                &[],
                Some(&json!({ "name": name })),
            )
            .await
        {
            Ok(_) => {}
            // Another process created it between our get and create: take theirs.
            Err(e) if e.is_already_exists() => {}
            Err(e) => return Err(e),
        }
        self.get_experiment_by_name(name).await
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let value = self
            .call(
                Method::GET,
                "/api/2.0/mlflow/experiments/get-by-name",
                &[("experiment_name", name)],
                None,
            )
            .await?;
        field(
            value,
            "experiment",
            "/api/2.0/mlflow/experiments/get-by-name",
        )
    }

    pub async fn create_run(
        &self,
        experiment_id: &str,
        run_name: &str,
        tags: &[(&str, String)],
    ) -> Result<Run> {
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        let body = json!({
            "experiment_id": experiment_id,
            "run_name": run_name,
            "start_time": now_ms(),
            "tags": tags,
        });
        let value = self
            .call(
                Method::POST,
                "/api/2.0/mlflow/runs/create",
                &[],
                Some(&body),
            )
            .await?;
        field(value, "run", "/api/2.0/mlflow/runs/create")
    }

    pub async fn get_run(&self, run_id: &str) -> Result<Run> {
        let value = self
            .call(
                Method::GET,
                "/api/2.0/mlflow/runs/get",
                &[("run_id", run_id)],
                None,
            )
            .await?;
        field(value, "run", "/api/2.0/mlflow/runs/get")
    }

    pub async fn set_run_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        let body = json!({"run_id": run_id, "key": key, "value": value});
        self.call(
            Method::POST,
            "/api/2.0/mlflow/runs/set-tag",
            &[],
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// Datasets as the run's inputs, each with its `mlflow.data.context`, as `mlflow.log_input` does
    /// (`POST runs/log-inputs`, `mlflow/store/tracking/rest_store.py::log_inputs`).
    pub async fn log_inputs(&self, run_id: &str, datasets: &[(Dataset, &str)]) -> Result<()> {
        let inputs: Vec<Value> = datasets
            .iter()
            .map(|(dataset, context)| {
                json!({
                    "tags": [{"key": DATASET_CONTEXT, "value": context}],
                    "dataset": dataset,
                })
            })
            .collect();
        let body = json!({"run_id": run_id, "datasets": inputs});
        self.call(
            Method::POST,
            "/api/2.0/mlflow/runs/log-inputs",
            &[],
            Some(&body),
        )
        .await
        .map(drop)
    }

    pub async fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        let body = json!({"run_id": run_id, "key": key, "value": value});
        self.call(
            Method::POST,
            "/api/2.0/mlflow/runs/log-parameter",
            &[],
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// `status`: `FINISHED`, `FAILED` or `KILLED`.
    pub async fn finish_run(&self, run_id: &str, status: &str) -> Result<()> {
        let body = json!({"run_id": run_id, "status": status, "end_time": now_ms()});
        self.call(
            Method::POST,
            "/api/2.0/mlflow/runs/update",
            &[],
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// Uploads `bytes` as `<artifact_rel>/<name>` (a manifest, a small JSON file).
    pub async fn upload_bytes(&self, artifact_rel: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let local = |source| MlflowError::LocalFile {
            path: name.to_string(),
            source,
        };
        let file = tempfile::NamedTempFile::new().map_err(local)?;
        std::fs::write(file.path(), bytes).map_err(local)?;
        self.upload_artifact(artifact_rel, name, file.path(), |_: &[u8]| {})
            .await
    }

    /// Uploads one file through the artifact proxy, streamed from disk, to `<artifact_rel>/<path>`.
    /// `on_chunk` sees every chunk as it leaves; a retried upload starts over and shows the file again.
    pub async fn upload_artifact(
        &self,
        artifact_rel: &str,
        path: &str,
        local: &Path,
        on_chunk: impl Fn(&[u8]) + Clone + Send + Sync + 'static,
    ) -> Result<()> {
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}",
            self.base,
            encode_path(&format!("{artifact_rel}/{path}"))
        );
        let api_path = format!("/api/2.0/mlflow-artifacts/artifacts/{artifact_rel}/{path}");
        let local_err = |source| MlflowError::LocalFile {
            path: local.display().to_string(),
            source,
        };
        let mut attempt = 0u32;
        loop {
            let file = tokio::fs::File::open(local).await.map_err(local_err)?;
            let length = file.metadata().await.map_err(local_err)?.len();
            let on_chunk = on_chunk.clone();
            let stream = futures_util::StreamExt::inspect(
                tokio_util::io::ReaderStream::with_capacity(file, 1 << 20),
                move |chunk| {
                    if let Ok(bytes) = chunk {
                        on_chunk(bytes);
                    }
                },
            );
            let request = self
                .http
                .put(&url)
                .headers(self.auth.headers())
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(reqwest::header::CONTENT_LENGTH, length)
                .body(reqwest::Body::wrap_stream(stream));
            // A streamed body cannot be replayed: each attempt reopens the file and restarts it.
            let mut once = Some(request);
            let take = move || once.take().expect("sent once");
            match self.send(&Method::PUT, &api_path, 0, take).await {
                Ok(_) => return Ok(()),
                Err(error) if attempt < self.retry.max_retries && is_retryable(&error) => {
                    attempt += 1;
                    let delay = self.retry.delay(attempt, None);
                    self.reporter.note(&format!(
                        "upload of `{path}` failed ({error}); retry {attempt} in {:.1} s",
                        delay.as_secs_f64()
                    ));
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Lists one directory of artifacts; a missing directory is empty (the server answers `{}`).
    pub async fn list_artifacts(&self, artifact_rel: &str) -> Result<Vec<FileInfo>> {
        let value = self
            .call(
                Method::GET,
                "/api/2.0/mlflow-artifacts/artifacts",
                &[("path", artifact_rel)],
                None,
            )
            .await?;
        match value.get("files") {
            None => Ok(Vec::new()),
            Some(files) => serde_json::from_value(files.clone()).map_err(|e| MlflowError::Decode {
                path: "/api/2.0/mlflow-artifacts/artifacts".into(),
                problem: e.to_string(),
            }),
        }
    }

    /// Every file under `artifact_rel`, recursively, as (path relative to it, size).
    pub async fn list_artifacts_recursive(&self, artifact_rel: &str) -> Result<Vec<(String, u64)>> {
        let mut files = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(dir) = pending.pop() {
            let listing_path = if dir.is_empty() {
                artifact_rel.to_string()
            } else {
                format!("{artifact_rel}/{dir}")
            };
            for entry in self.list_artifacts(&listing_path).await? {
                // Entries are relative to the listed directory; older servers give the full path.
                let name = entry
                    .path
                    .rsplit('/')
                    .next()
                    .unwrap_or(&entry.path)
                    .to_string();
                let relative = if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                };
                if entry.is_dir {
                    pending.push(relative);
                } else {
                    files.push((relative, entry.file_size.unwrap_or(0)));
                }
            }
        }
        files.sort();
        Ok(files)
    }

    /// Downloads a small artifact into memory. List first: a missing file answers 500, which is
    /// retried as transient.
    pub async fn download_artifact(&self, artifact_rel_file: &str) -> Result<Vec<u8>> {
        let api_path = format!("/api/2.0/mlflow-artifacts/artifacts/{artifact_rel_file}");
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}",
            self.base,
            encode_path(artifact_rel_file)
        );
        let response = self
            .send_with_retries(&Method::GET, &api_path, || {
                self.http.get(&url).headers(self.auth.headers())
            })
            .await?;
        self.read_body(response, &api_path, ARTIFACT_LIMIT).await
    }

    pub async fn get_or_create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<()> {
        let mut body = json!({"name": name});
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        match self
            .call(
                Method::POST,
                "/api/2.0/mlflow/registered-models/create",
                &[],
                Some(&body),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_already_exists() => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        model_id: Option<&str>,
        tags: &[(String, String)],
        description: Option<&str>,
    ) -> Result<ModelVersion> {
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        let mut body = json!({"name": name, "source": source, "run_id": run_id, "tags": tags});
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        // MLflow 3: a `models:/m-<id>` source must come with the same id (`_validate_source_model`).
        if let Some(model_id) = model_id {
            body["model_id"] = json!(model_id);
        }
        let value = self
            .call(
                Method::POST,
                "/api/2.0/mlflow/model-versions/create",
                &[],
                Some(&body),
            )
            .await?;
        field(
            value,
            "model_version",
            "/api/2.0/mlflow/model-versions/create",
        )
    }

    pub async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        let value = self
            .call(
                Method::GET,
                "/api/2.0/mlflow/model-versions/get",
                &[("name", name), ("version", version)],
                None,
            )
            .await?;
        field(value, "model_version", "/api/2.0/mlflow/model-versions/get")
    }

    /// An unknown alias answers 400 `INVALID_PARAMETER_VALUE`, not 404; callers get it as is.
    pub async fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion> {
        let value = self
            .call(
                Method::GET,
                "/api/2.0/mlflow/registered-models/alias",
                &[("name", name), ("alias", alias)],
                None,
            )
            .await?;
        field(
            value,
            "model_version",
            "/api/2.0/mlflow/registered-models/alias",
        )
    }

    /// Every version of a registered model, newest first.
    pub async fn search_model_versions(&self, name: &str) -> Result<Vec<ModelVersion>> {
        let mut versions = self
            .search_model_versions_where(&format!("name={}", quoted(name)))
            .await?;
        versions.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<u64>().unwrap_or(0)));
        Ok(versions)
    }

    /// Every version whose tag `key` is `value`, over all registered models.
    pub async fn search_model_versions_tagged(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<ModelVersion>> {
        self.search_model_versions_where(&format!("tags.`{key}`={}", quoted(value)))
            .await
    }

    /// Every version `filter` matches, all pages read.
    async fn search_model_versions_where(&self, filter: &str) -> Result<Vec<ModelVersion>> {
        let mut versions = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("filter", filter), ("max_results", "200")];
            if let Some(token) = &token {
                query.push(("page_token", token));
            }
            let value = self
                .call(
                    Method::GET,
                    "/api/2.0/mlflow/model-versions/search",
                    &query,
                    None,
                )
                .await?;
            if let Some(page) = value.get("model_versions") {
                let page: Vec<ModelVersion> =
                    serde_json::from_value(page.clone()).map_err(|e| MlflowError::Decode {
                        path: "/api/2.0/mlflow/model-versions/search".into(),
                        problem: e.to_string(),
                    })?;
                versions.extend(page);
            }
            token = value
                .get("next_page_token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(versions)
    }

    /// Deletes a model version (rolling back a registration that failed midway).
    pub async fn delete_model_version(&self, name: &str, version: &str) -> Result<()> {
        let body = json!({"name": name, "version": version});
        self.call(
            Method::DELETE,
            "/api/2.0/mlflow/model-versions/delete",
            &[],
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// (alias, version) pairs of a registered model.
    pub async fn registered_model_aliases(&self, name: &str) -> Result<Vec<(String, String)>> {
        let value = self
            .call(
                Method::GET,
                "/api/2.0/mlflow/registered-models/get",
                &[("name", name)],
                None,
            )
            .await?;
        Ok(value
            .pointer("/registered_model/aliases")
            .and_then(Value::as_array)
            .map(|aliases| {
                aliases
                    .iter()
                    .filter_map(|a| {
                        Some((
                            a.get("alias")?.as_str()?.to_string(),
                            a.get("version")?.as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Points `alias` at `version` (moving it from any other version).
    pub async fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<()> {
        let body = json!({"name": name, "alias": alias, "version": version});
        self.call(
            Method::POST,
            "/api/2.0/mlflow/registered-models/alias",
            &[],
            Some(&body),
        )
        .await
        .map(drop)
    }

    pub async fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let body = json!({"name": name, "version": version, "key": key, "value": value});
        self.call(
            Method::POST,
            "/api/2.0/mlflow/model-versions/set-tag",
            &[],
            Some(&body),
        )
        .await
        .map(drop)
    }
}

fn is_retryable(error: &MlflowError) -> bool {
    match error {
        MlflowError::Unreachable { .. } => true,
        MlflowError::Api { status, .. } => RetryPolicy::is_transient(*status),
        _ => false,
    }
}

fn api_error(method: &Method, path: &str, status: StatusCode, body: String) -> MlflowError {
    let parsed: Option<Value> = serde_json::from_str(&body).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("error_code"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(|message| crate::text::excerpt(message, 500))
        .unwrap_or_else(|| {
            let text = snippet(&body);
            if text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                text
            }
        });
    MlflowError::Api {
        method: method.to_string(),
        path: path.to_string(),
        status: status.as_u16(),
        code,
        message,
    }
}

/// Redirects within the tracking server's origin are followed (up to 10); one to another origin
/// is refused, because the credentials headers (`X-Domino-Api-Key` among them, which reqwest does
/// not know to drop) would follow it.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(|u| u.origin());
        if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else if first.is_some_and(|origin| origin != attempt.url().origin()) {
            let to = crate::text::without_password(attempt.url().as_str());
            attempt.error(format!(
                "the tracking server redirected to another origin ({to}); llmops does not send credentials there"
            ))
        } else {
            attempt.follow()
        }
    })
}

pub(super) fn describe_transport_error(error: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "connection refused or unreachable".to_string()
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// The first line of a body, short and free of control characters, for error messages.
fn snippet(text: &str) -> String {
    let line: String = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    line.chars().filter(|c| !c.is_control()).collect()
}

pub(super) fn field<T: serde::de::DeserializeOwned>(
    mut value: Value,
    name: &str,
    path: &str,
) -> Result<T> {
    let inner = value
        .get_mut(name)
        .map(Value::take)
        .ok_or_else(|| MlflowError::Decode {
            path: path.into(),
            problem: format!("no `{name}` in the response"),
        })?;
    serde_json::from_value(inner).map_err(|e| MlflowError::Decode {
        path: path.into(),
        problem: e.to_string(),
    })
}

/// A string for MLflow's search filters: its parser strips the quotes and does not unescape, so a
/// value with `'` is quoted with `"` (names with both are refused at registration).
fn quoted(value: &str) -> String {
    if value.contains('\'') {
        format!("\"{value}\"")
    } else {
        format!("'{value}'")
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Percent-encodes each segment of an artifact path, keeping the `/` separators.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            segment
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(
            encode_path("1/abc/artifacts/model/a b.json"),
            "1/abc/artifacts/model/a%20b.json"
        );
        assert_eq!(encode_path("x/ü?#"), "x/%C3%BC%3F%23");
    }

    #[test]
    fn auth_never_shows_secrets() {
        let auth = Auth {
            basic: Some(("ann".into(), "hunter2".into())),
            bearer: Some("tok".into()),
            domino_api_key: Some("key".into()),
        };
        let shown = format!("{auth:?}");
        assert!(shown.contains("ann"));
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok\"") && !shown.contains("\"key\""),
            "{shown}"
        );
        let headers = auth.headers();
        assert!(
            headers[AUTHORIZATION]
                .to_str()
                .unwrap()
                .starts_with("Basic "),
            "Basic wins, as in MLflow"
        );
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers["X-Domino-Api-Key"], "key");
    }
}
