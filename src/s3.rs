//! S3 access for `promote`: the standard AWS credential chain (environment, profile, web identity /
//! IRSA, container, IMDS) and endpoint variables from aws-config, path-style addressing whenever an
//! endpoint is overridden (there is no variable for it), and the one function that turns an S3 key
//! into a local path.

use std::path::{Path, PathBuf};

use aws_config::BehaviorVersion;

/// Where `promote` reads a run's artifacts: `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct S3Location {
    pub bucket: String,
    /// No leading or trailing `/`; may be empty.
    pub prefix: String,
}

impl S3Location {
    pub fn parse(uri: &str) -> Result<S3Location, String> {
        let rest = uri.strip_prefix("s3://").ok_or_else(|| {
            format!("`{uri}` is not an s3:// URI; write it like `s3://bucket/prefix`")
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(format!(
                "`{bucket}` in `{uri}` is not a valid S3 bucket name"
            ));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    pub fn join(&self, path: &str) -> S3Location {
        let path = path.trim_matches('/');
        let prefix = match (self.prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{path}", self.prefix),
        };
        S3Location {
            bucket: self.bucket.clone(),
            prefix,
        }
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Where the credentials come from, read from the same variables aws-config reads, for messages and
/// `--dry-run` (the chain's order: environment keys, profile, web identity, container, IMDS).
pub fn credential_source() -> String {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        return "environment (AWS_ACCESS_KEY_ID)".into();
    }
    if set("AWS_PROFILE") {
        return format!(
            "profile `{}`",
            std::env::var("AWS_PROFILE").unwrap_or_default()
        );
    }
    if set("AWS_ROLE_ARN") && set("AWS_WEB_IDENTITY_TOKEN_FILE") {
        let token = std::env::var("AWS_WEB_IDENTITY_TOKEN_FILE").unwrap_or_default();
        let age = std::fs::metadata(&token)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map(|d| {
                format!(
                    "token file {} minutes old{}",
                    d.as_secs() / 60,
                    token_expiry(&token)
                )
            })
            .unwrap_or_else(|| "token file missing".into());
        return format!(
            "web identity (IRSA): role {}, token {token} ({age})",
            std::env::var("AWS_ROLE_ARN").unwrap_or_default()
        );
    }
    if set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        return "container credentials endpoint".into();
    }
    if std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        return "none found (no keys, profile or web identity; instance metadata disabled)".into();
    }
    "instance metadata (IMDS), or the shared credentials file".into()
}

/// `, expires in N minutes` (or `, EXPIRED …`) from the token's `exp` claim.
fn token_expiry(path: &str) -> String {
    let Some(exp) = token_exp(path) else {
        return String::new();
    };
    let now = unix_now();
    if exp > now {
        format!(", expires in {} minutes", (exp - now) / 60)
    } else {
        format!(
            ", EXPIRED {} minutes ago: the pod's token is not being refreshed",
            (now - exp) / 60
        )
    }
}

/// Whether the configured web-identity token's `exp` claim is in the past.
pub fn web_identity_token_expired() -> bool {
    std::env::var("AWS_WEB_IDENTITY_TOKEN_FILE")
        .ok()
        .and_then(|path| token_exp(&path))
        .is_some_and(|exp| exp <= unix_now())
}

/// The `exp` claim of the JWT in `path`. Only the payload is decoded, never verified (STS does
/// that).
fn token_exp(path: &str) -> Option<i64> {
    use base64::Engine;
    let token = std::fs::read_to_string(path).ok()?;
    let payload = token.trim().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["exp"].as_i64())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An S3 client from the standard chain; path-style addressing when an endpoint is overridden
/// (MinIO, moto, rclone), because virtual-hosted names do not resolve there.
pub async fn clients() -> (aws_sdk_s3::Client, aws_sdk_sts::Client) {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let overridden = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(overridden)
        .build();
    (
        aws_sdk_s3::Client::from_conf(s3_config),
        aws_sdk_sts::Client::new(&config),
    )
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("refusing S3 key `{key}`: {reason}; nothing is written outside the destination")]
pub struct UnsafeKey {
    pub key: String,
    pub reason: &'static str,
}

/// `key` relative to the listing `prefix` it was found under, checked by `safe_path`'s rule
/// (no `..`, `.`, absolute paths, empty segments, backslashes or control characters). `Ok(None)`
/// for folder markers (`key/`) and the prefix itself.
pub fn relative_key<'k>(prefix: &str, key: &'k str) -> Result<Option<&'k str>, UnsafeKey> {
    let unsafe_key = |reason| UnsafeKey {
        key: crate::text::printable(key),
        reason,
    };
    let prefix = prefix.trim_end_matches('/');
    let relative = if prefix.is_empty() {
        key
    } else {
        key.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/').or((rest.is_empty()).then_some("")))
            .ok_or_else(|| unsafe_key("it is not under the listed prefix"))?
    };
    if relative.is_empty() || relative.ends_with('/') {
        return Ok(None);
    }
    match crate::safe_path::problem(relative) {
        Some(reason) => Err(unsafe_key(reason)),
        None => Ok(Some(relative)),
    }
}

/// The local path for `key` under `root`: the only place S3 keys become paths, always inside
/// `root` (see [`relative_key`]).
pub fn local_path_for_key(
    root: &Path,
    prefix: &str,
    key: &str,
) -> Result<Option<PathBuf>, UnsafeKey> {
    Ok(relative_key(prefix, key)?.map(|relative| root.join(relative)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_paths_inside_the_root() {
        let root = Path::new("/prod/stage");
        let path = |key| local_path_for_key(root, "mlflow/1/abc/artifacts/model", key);
        assert_eq!(
            path("mlflow/1/abc/artifacts/model/config.json").unwrap(),
            Some(root.join("config.json"))
        );
        assert_eq!(
            path("mlflow/1/abc/artifacts/model/sub/t.json").unwrap(),
            Some(root.join("sub/t.json"))
        );
        assert_eq!(path("mlflow/1/abc/artifacts/model/sub/").unwrap(), None);
        assert_eq!(path("mlflow/1/abc/artifacts/model/").unwrap(), None);
    }

    #[test]
    fn hostile_keys_are_refused() {
        let root = Path::new("/prod/stage");
        let prefix = "p/model";
        for (key, reason) in [
            ("p/model/../x", "`.` or `..`"),
            ("p/model/a/../../x", "`.` or `..`"),
            ("p/model/./x", "`.` or `..`"),
            ("p/model//etc/x", "absolute"),
            ("p/model/a//b", "empty path segment"),
            ("p/model/a\0b", "control character"),
            ("p/model/a\nb", "control character"),
            ("p/model/a\\..\\b", "backslash"),
            ("p/modelx/y", "not under the listed prefix"),
            ("other/x", "not under the listed prefix"),
        ] {
            let error = local_path_for_key(root, prefix, key).unwrap_err();
            assert!(error.to_string().contains(reason), "{key:?}: {error}");
        }
    }

    #[test]
    fn token_expiry_reads_the_jwt_exp_claim() {
        use base64::Engine;
        let dir = tempfile::tempdir().unwrap();
        let write = |exp: i64| {
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(format!("{{\"exp\": {exp}}}"));
            let path = dir.path().join(format!("t{exp}"));
            std::fs::write(&path, format!("e30.{payload}.sig")).unwrap();
            path.to_string_lossy().into_owned()
        };
        assert!(token_expiry(&write(1)).contains("EXPIRED"));
        assert!(token_expiry(&write(4_000_000_000)).contains("expires in"));
        assert_eq!(token_expiry("/nonexistent"), "");
    }

    #[test]
    fn locations_parse_and_join() {
        let location = S3Location::parse("s3://bucket-1/mlflow/").unwrap();
        assert_eq!(location.prefix, "mlflow");
        assert_eq!(
            location.join("1/abc/artifacts").to_string(),
            "s3://bucket-1/mlflow/1/abc/artifacts"
        );
        assert_eq!(S3Location::parse("s3://b1c").unwrap().join("x").prefix, "x");
        assert!(S3Location::parse("https://x").is_err());
        assert!(S3Location::parse("s3://Bad_Bucket/x").is_err());
    }
}
