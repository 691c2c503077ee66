//! Every environment variable llmops reads, declared once. clap wires them into `--help`
//! (`env = …`), and the README lists them.

/// Default for `llmops size --gpu`.
pub const LLMOPS_GPU: &str = "LLMOPS_GPU";
/// Default for `llmops size --vllm-version`.
pub const LLMOPS_VLLM_VERSION: &str = "LLMOPS_VLLM_VERSION";
/// vLLM's own switch to accept a `--max-model-len` above the config's limit; `size` honours it too.
pub const VLLM_ALLOW_LONG_MAX_MODEL_LEN: &str = "VLLM_ALLOW_LONG_MAX_MODEL_LEN";

pub const MLFLOW_TRACKING_URI: &str = "MLFLOW_TRACKING_URI";
pub const MLFLOW_TRACKING_TOKEN: &str = "MLFLOW_TRACKING_TOKEN";
pub const MLFLOW_TRACKING_USERNAME: &str = "MLFLOW_TRACKING_USERNAME";
pub const MLFLOW_TRACKING_PASSWORD: &str = "MLFLOW_TRACKING_PASSWORD";
pub const MLFLOW_EXPERIMENT_NAME: &str = "MLFLOW_EXPERIMENT_NAME";
pub const MLFLOW_HTTP_REQUEST_MAX_RETRIES: &str = "MLFLOW_HTTP_REQUEST_MAX_RETRIES";
pub const MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: &str = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR";
pub const MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: &str = "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER";
pub const MLFLOW_HTTP_REQUEST_TIMEOUT: &str = "MLFLOW_HTTP_REQUEST_TIMEOUT";
pub const MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER: &str = "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER";
/// MLflow's switch for multipart uploads through the artifact proxy (`mlflow/environment_variables.py`).
pub const MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: &str = "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD";
pub const MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: &str =
    "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE";
pub const MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: &str = "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE";
/// Domino's legacy API key, sent as `X-Domino-Api-Key`.
pub const DOMINO_USER_API_KEY: &str = "DOMINO_USER_API_KEY";
pub const DOMINO_STARTING_USERNAME: &str = "DOMINO_STARTING_USERNAME";
pub const DOMINO_IMPORTED_DATA_DIR: &str = "DOMINO_IMPORTED_DATA_DIR";
pub const DOMINO_DATASETS_DIR: &str = "DOMINO_DATASETS_DIR";
pub const DOMINO_IS_GIT_BASED: &str = "DOMINO_IS_GIT_BASED";
/// The dev dataset root (`…/domino-models-dev`), when not given by `--dev-root`.
pub const LLMOPS_DEV_ROOT: &str = "LLMOPS_DEV_ROOT";
/// The dev dataset's name under Domino's dataset mounts (default `domino-models-dev`).
pub const LLMOPS_DEV_DATASET: &str = "LLMOPS_DEV_DATASET";
/// The prod dataset root, when `--prod-root` is not given.
pub const LLMOPS_PROD_ROOT: &str = "LLMOPS_PROD_ROOT";
pub const LLMOPS_PROD_DATASET: &str = "LLMOPS_PROD_DATASET";
/// Where the MLflow server stores artifacts (`s3://bucket/prefix`), for `promote`.
pub const LLMOPS_ARTIFACTS_DESTINATION: &str = "LLMOPS_ARTIFACTS_DESTINATION";
/// The reference notebooks' name for the artifact bucket.
pub const MLFLOW_S3_BUCKET: &str = "MLFLOW_S3_BUCKET";
/// Triton's HTTP address, for `promote --target triton --load` (and read by the `triton` template).
pub const LLMOPS_TRITON_URL: &str = "LLMOPS_TRITON_URL";
/// Default `--concurrency` for `promote`.
pub const LLMOPS_CONCURRENCY: &str = "LLMOPS_CONCURRENCY";
/// `1`: no progress bars or progress lines.
pub const LLMOPS_NO_PROGRESS: &str = "LLMOPS_NO_PROGRESS";

/// Who is acting, for runs and audit records: Domino's starting user, else `$USER`.
pub fn user_name() -> Option<String> {
    std::env::var(DOMINO_STARTING_USERNAME)
        .or_else(|_| std::env::var("USER"))
        .ok()
        .filter(|u| !u.is_empty())
}

/// (name, meaning) of every variable above, for the README and `--help` footers.
pub const ALL: &[(&str, &str)] = &[
    (
        LLMOPS_GPU,
        "default `--gpu` for `llmops size` (a catalogue name, or several comma-separated)",
    ),
    (
        LLMOPS_VLLM_VERSION,
        "default `--vllm-version` for `llmops size`",
    ),
    (
        VLLM_ALLOW_LONG_MAX_MODEL_LEN,
        "`1` or `true`: accept a `--max-model-len` above the config's limit, as vLLM does",
    ),
    (
        MLFLOW_TRACKING_URI,
        "the MLflow tracking server (`http(s)://host:port`)",
    ),
    (
        MLFLOW_TRACKING_TOKEN,
        "sent as `Authorization: Bearer …` (never printed)",
    ),
    (
        MLFLOW_TRACKING_USERNAME,
        "with the password, sent as `Authorization: Basic …` (wins over the token, as in MLflow)",
    ),
    (
        MLFLOW_TRACKING_PASSWORD,
        "see MLFLOW_TRACKING_USERNAME (never printed)",
    ),
    (
        DOMINO_USER_API_KEY,
        "sent as `X-Domino-Api-Key` (never printed)",
    ),
    (
        MLFLOW_EXPERIMENT_NAME,
        "default `--experiment` for `register`",
    ),
    (
        MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD,
        "`false`: upload every file through the artifact proxy in one PUT; otherwise large files go to S3 in presigned parts when the server offers it",
    ),
    (
        MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE,
        "files of at least this many bytes are uploaded in parts (default 64 MiB; MLflow's Python client: 500 MiB)",
    ),
    (
        MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE,
        "bytes per part of a multipart upload (default 16 MiB, at least 5 MiB; MLflow's Python client: 10 MiB)",
    ),
    (
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        "retries of a transient MLflow failure (default 7, as MLflow's client; at most 10)",
    ),
    (
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
        "backoff factor: sleep factor × 2^(n−1) s before retry n (default 2)",
    ),
    (
        MLFLOW_HTTP_REQUEST_BACKOFF_JITTER,
        "random seconds added to each backoff (default 1)",
    ),
    (
        MLFLOW_HTTP_REQUEST_TIMEOUT,
        "seconds before an MLflow request times out (default 120)",
    ),
    (
        MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER,
        "`false`: ignore the server's Retry-After (default true)",
    ),
    (
        LLMOPS_DEV_ROOT,
        "the dev dataset root, when `--dev-root` is not given",
    ),
    (
        LLMOPS_DEV_DATASET,
        "the dev dataset's name under Domino's mounts (default domino-models-dev)",
    ),
    (
        DOMINO_IMPORTED_DATA_DIR,
        "Domino: where shared datasets are mounted (dev root fallback)",
    ),
    (
        DOMINO_DATASETS_DIR,
        "Domino: where datasets are mounted (dev root fallback)",
    ),
    (
        DOMINO_IS_GIT_BASED,
        "Domino: git-based project, datasets under /mnt/imported/data (dev root fallback)",
    ),
    (
        DOMINO_STARTING_USERNAME,
        "recorded as the MLflow run's user",
    ),
    (
        LLMOPS_PROD_ROOT,
        "the prod dataset root, when `--prod-root` is not given",
    ),
    (
        LLMOPS_PROD_DATASET,
        "the prod dataset's name under Domino's mounts (default domino-models-prod)",
    ),
    (
        LLMOPS_ARTIFACTS_DESTINATION,
        "the MLflow server's artifact store, `s3://bucket/prefix`, for `promote`",
    ),
    (
        MLFLOW_S3_BUCKET,
        "the artifact bucket, when LLMOPS_ARTIFACTS_DESTINATION is not set (the reference notebooks' variable)",
    ),
    (
        LLMOPS_TRITON_URL,
        "Triton's HTTP address for `promote --target triton --load` (also read by the triton template)",
    ),
    (LLMOPS_CONCURRENCY, "default `--concurrency` for `promote`"),
    (
        LLMOPS_NO_PROGRESS,
        "`1`: no progress bars or periodic progress lines",
    ),
];

pub fn is_truthy(name: &str) -> bool {
    std::env::var(name)
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// The `Environment:` section of `llmops --help`, built from [`ALL`].
pub fn help() -> String {
    let width = ALL.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = String::from("Environment:\n");
    for (name, meaning) in ALL {
        text.push_str(&format!("  {name:<width$}  {}\n", meaning.replace('`', "")));
    }
    text.push_str("\nExit codes: 0 success (for `size`: fits), 1 failure (does not fit), 2 usage or invalid input.");
    text
}
