//! MLflow: the REST client, its retry policy, artifact URIs, and the small pyfunc model `register`
//! logs in the child run. What those calls mean for a version is `registry`'s.

pub mod client;
pub mod logged_models;
pub mod multipart;
pub mod pyfunc;
pub mod retry;

pub use client::{Auth, MlflowClient, MlflowError};

/// `mlflow-artifacts:/1/<run>/artifacts` → `1/<run>/artifacts`, the path under the artifact proxy
/// (and under `--artifacts-destination` in S3). `None` for other schemes: llmops needs the proxy.
pub fn proxied_artifact_path(artifact_uri: &str) -> Option<String> {
    let rest = artifact_uri.strip_prefix("mlflow-artifacts:")?;
    // MLflow allows `mlflow-artifacts://host:port/path`; the authority is not part of the path.
    let rest = match rest.strip_prefix("//") {
        Some(with_authority) => with_authority
            .split_once('/')
            .map(|(_, path)| path)
            .unwrap_or(""),
        None => rest.trim_start_matches('/'),
    };
    let rest = rest.trim_end_matches('/');
    (!rest.is_empty()).then(|| rest.to_string())
}

/// A client for `--tracking-uri` or `MLFLOW_TRACKING_URI`, with MLflow's auth and retry variables;
/// retries are reported through `reporter`.
pub fn client_from(
    tracking_uri: Option<&str>,
    reporter: std::sync::Arc<dyn crate::progress::Reporter>,
) -> Result<MlflowClient, crate::exit::UserError> {
    use crate::exit::UserError;
    let uri = match tracking_uri {
        Some(uri) => uri.to_string(),
        None => std::env::var(crate::env::MLFLOW_TRACKING_URI).map_err(|_| {
            UserError::usage("no MLflow tracking server given")
                .with_hint("pass `--tracking-uri http://host:port` or set `MLFLOW_TRACKING_URI`")
        })?,
    };
    let retry = retry::RetryPolicy::from_env().map_err(UserError::usage)?;
    MlflowClient::new(&uri, Auth::from_env(), retry, reporter).map_err(UserError::usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_proxied_uris() {
        assert_eq!(
            proxied_artifact_path("mlflow-artifacts:/1/abc/artifacts").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(
            proxied_artifact_path("mlflow-artifacts://host:5000/1/abc/artifacts/").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(proxied_artifact_path("s3://bucket/x"), None);
        assert_eq!(proxied_artifact_path("mlflow-artifacts:/"), None);
    }
}
