//! Sizing a model where it already is: `models:/name/3` (or `@alias`), `runs:/<run>/<path>`, or
//! `s3://bucket/prefix/model/`. config.json is fetched whole; each safetensors file contributes only
//! its header, read with two ranged GETs (8 bytes, then the header): the tensors are never fetched.

use aws_sdk_s3::Client;

use super::config::ModelConfig;
use super::weights::{self, CheckpointWeights, WeightSource};
use super::{InvalidConfig, Model};
use crate::commands::promote;
use crate::exit::UserError;
use crate::mlflow::model_ref::ModelRef;
use crate::mlflow::{self, proxied_artifact_path};
use crate::s3::{self, S3Location};
use crate::transfer::download::describe_sdk_error;

pub fn is_remote(model: &str) -> bool {
    model.starts_with("models:/") || model.starts_with("runs:/") || model.starts_with("s3://")
}

/// Where the model's files are in S3.
async fn locate(
    reference: &str,
    tracking_uri: Option<&str>,
    destination: Option<&str>,
) -> anyhow::Result<S3Location> {
    if reference.starts_with("s3://") {
        return Ok(S3Location::parse(reference).map_err(UserError::usage)?);
    }
    let client = mlflow::client_from(tracking_uri)?;
    if let Some(rest) = reference.strip_prefix("runs:/") {
        let (run_id, path) = rest.split_once('/').unwrap_or((rest, "model"));
        let run = client.get_run(run_id).await?;
        let base = if run.info.artifact_uri.starts_with("s3://") {
            S3Location::parse(&run.info.artifact_uri).map_err(UserError::failed)?
        } else {
            let relative = proxied_artifact_path(&run.info.artifact_uri).ok_or_else(|| {
                UserError::failed(format!(
                    "run {run_id} stores artifacts at `{}`",
                    run.info.artifact_uri
                ))
            })?;
            let destination = promote::artifacts_destination(destination)?;
            S3Location::parse(&destination)
                .map_err(UserError::usage)?
                .join(&relative)
        };
        return Ok(base.join(path));
    }
    let model_ref = ModelRef::parse(reference, None).map_err(UserError::usage)?;
    let resolved = promote::resolve(&client, &model_ref, destination).await?;
    Ok(resolved
        .location
        .join(crate::commands::register::MODEL_ARTIFACT_DIR))
}

pub async fn load(
    reference: &str,
    tracking_uri: Option<&str>,
    destination: Option<&str>,
) -> anyhow::Result<Model> {
    let location = locate(reference, tracking_uri, destination).await?;
    let (client, _) = s3::clients().await;
    load_from(&client, &location).await
}

/// The model whose files are under `location` (config.json and safetensors headers only).
pub async fn load_from(client: &Client, location: &S3Location) -> anyhow::Result<Model> {
    let root = std::path::Path::new("/nonexistent-remote-model");
    let files = promote::list_model(client, location, root).await?;
    let config_file = files.iter().find(|f| f.relative == "config.json").ok_or_else(|| {
        UserError::usage(format!("{location} has no config.json (listed {} files)", files.len()))
            .with_hint("for a registered version, publish its binaries first (`llmops publish`), or size the local folder")
    })?;
    let config_bytes = get_range(client, &location.bucket, &config_file.key, None).await?;
    let text = String::from_utf8(config_bytes)
        .map_err(|_| UserError::usage(format!("{location}/config.json is not UTF-8")))?;
    let config_path = std::path::PathBuf::from(format!("{location}/config.json"));
    let config = ModelConfig::from_json_text(&text).map_err(|error| {
        UserError::usage(
            super::ModelError::Invalid {
                path: config_path.clone(),
                error,
            }
            .to_string(),
        )
    })?;

    let mut total = CheckpointWeights {
        elements: Some(0),
        ..Default::default()
    };
    for file in files
        .iter()
        .filter(|f| f.relative.ends_with(".safetensors"))
    {
        let first = get_range(client, &location.bucket, &file.key, Some((0, 8))).await?;
        let first: [u8; 8] = first
            .try_into()
            .map_err(|_| invalid(&file.key, "shorter than 8 bytes".into()))?;
        let header_len =
            weights::header_length(first, file.size).map_err(|p| invalid(&file.key, p))?;
        let header = get_range(client, &location.bucket, &file.key, Some((8, header_len))).await?;
        weights::add_header_bytes(&header, file.size, config.num_layers(), &mut total)
            .map_err(|p| invalid(&file.key, p))?;
        total.files += 1;
    }
    let checkpoint = (total.files > 0).then_some((total, WeightSource::SafetensorsHeaders));
    Ok(Model {
        config_path,
        config,
        checkpoint,
    })
}

fn invalid(key: &str, problem: String) -> anyhow::Error {
    UserError::usage(
        InvalidConfig {
            field: format!("(safetensors {key})"),
            problem,
        }
        .to_string(),
    )
    .into()
}

/// `len` bytes from `start` (or the whole object).
async fn get_range(
    client: &Client,
    bucket: &str,
    key: &str,
    range: Option<(u64, u64)>,
) -> anyhow::Result<Vec<u8>> {
    let mut request = client.get_object().bucket(bucket).key(key);
    if let Some((start, len)) = range {
        request = request.range(format!("bytes={start}-{}", start + len.max(1) - 1));
    }
    let object = request.send().await.map_err(|e| {
        UserError::failed(format!(
            "cannot read s3://{bucket}/{key}: {}",
            describe_sdk_error(&e)
        ))
    })?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| UserError::failed(format!("reading s3://{bucket}/{key}: {e}")))?;
    Ok(bytes.into_bytes().to_vec())
}
