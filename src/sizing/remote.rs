//! Sizing a model where it already is in S3 (the `size` command resolves `models:/…` and `runs:/…`
//! to a location through the registry). config.json is fetched whole; each safetensors file
//! contributes only its header, read with two ranged GETs (8 bytes, then the header): the tensors
//! are never fetched.

use aws_sdk_s3::Client;

use super::config::ModelConfig;
use super::weights::{self, CheckpointWeights, WeightSource};
use super::{InvalidConfig, Model};
use crate::exit::UserError;
use crate::s3::{self, S3Location};
use crate::transfer::download::describe_sdk_error;
use crate::transfer::listing::Listing;

pub fn is_remote(model: &str) -> bool {
    model.starts_with("models:/") || model.starts_with("runs:/") || model.starts_with("s3://")
}

/// The model whose files are under `location` (config.json and safetensors headers only).
pub async fn load_from(client: &Client, location: &S3Location) -> anyhow::Result<Model> {
    // (relative name, key, size) of every object; a hostile key is refused like anywhere else.
    let mut files = Vec::new();
    for object in Listing::new(client, location).all().await? {
        if let Some(relative) = s3::relative_key(&location.prefix, &object.key)
            .map_err(|e| UserError::failed(e.to_string()))?
        {
            files.push(RemoteObject {
                relative: relative.to_string(),
                key: object.key.clone(),
                size: object.size,
            });
        }
    }
    let config_file = files.iter().find(|f| f.relative == "config.json").ok_or_else(|| {
        UserError::usage(format!("{location} has no config.json (listed {} files)", files.len()))
            .with_hint("for a registered version, publish its binaries first (`llmops publish`), or size the local folder")
    })?;
    if config_file.size > CONFIG_LIMIT {
        return Err(UserError::usage(format!(
            "{location}/config.json is {} bytes; a model's config.json is a few KB (at most {CONFIG_LIMIT} bytes are read)",
            config_file.size
        ))
        .into());
    }
    let config_bytes = get_range(
        client,
        &location.bucket,
        &config_file.key,
        (0, config_file.size),
    )
    .await?;
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
        let first = get_range(client, &location.bucket, &file.key, (0, 8)).await?;
        let first: [u8; 8] = first
            .try_into()
            .map_err(|_| invalid(&file.key, "shorter than 8 bytes".into()))?;
        let header_len =
            weights::header_length(first, file.size).map_err(|p| invalid(&file.key, p))?;
        let header = get_range(client, &location.bucket, &file.key, (8, header_len)).await?;
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

struct RemoteObject {
    relative: String,
    key: String,
    size: u64,
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

/// The largest config.json read (published ones are a few KB; a multimodal one, tens of KB).
const CONFIG_LIMIT: u64 = 16 * 1024 * 1024;

/// `len` bytes from `start`, and never more: a server that ignores the range is refused, not
/// read to the end.
async fn get_range(
    client: &Client,
    bucket: &str,
    key: &str,
    (start, len): (u64, u64),
) -> anyhow::Result<Vec<u8>> {
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .range(format!("bytes={start}-{}", start + len.max(1) - 1))
        .send()
        .await
        .map_err(|e| {
            UserError::failed(format!(
                "cannot read s3://{bucket}/{key}: {}",
                describe_sdk_error(&e)
            ))
        })?;
    let mut body = object.body;
    let mut bytes = Vec::with_capacity(len.min(CONFIG_LIMIT) as usize);
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| UserError::failed(format!("reading s3://{bucket}/{key}: {e}")))?
    {
        if (bytes.len() + chunk.len()) as u64 > len.max(1) {
            return Err(UserError::failed(format!(
                "s3://{bucket}/{key} sent more than the {len} bytes asked for"
            ))
            .into());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
