//! Exact weight bytes from a model directory, read from metadata only: each safetensors file's header
//! (8-byte little-endian length, then a JSON table of tensors) or `model.safetensors.index.json`.
//! The tensors themselves are never read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::InvalidConfig;

/// Headers larger than this are refused: real ones are kilobytes to a few megabytes.
const MAX_HEADER_BYTES: u64 = 100 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightSource {
    SafetensorsHeaders,
    SafetensorsIndex,
    Config,
}

#[derive(Debug, Clone, Default)]
pub struct CheckpointWeights {
    pub tensor_bytes: u64,
    /// Bytes stored as F32/F64, which vLLM casts to the half-precision serving dtype.
    pub full_precision_bytes: u64,
    /// Elements, when known from headers (packed quantized tensors count their storage elements).
    pub elements: Option<u64>,
    /// Bytes of layers vLLM does not load by default (DeepSeek's multi-token-prediction layers).
    pub skipped_bytes: u64,
    pub files: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid safetensors file: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

/// Weight bytes of the model in `dir`, or `None` when it holds no safetensors metadata.
/// `num_layers` lets layers past the decoder stack (MTP heads) be left out, as vLLM leaves them.
pub fn read_checkpoint(
    dir: &Path,
    num_layers: u64,
) -> Result<Option<(CheckpointWeights, WeightSource)>, WeightsError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WeightsError::Io { path, source }
    };
    let mut shards: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors") && p.is_file())
        .collect();
    shards.sort();

    let index_path = dir.join("model.safetensors.index.json");
    let index = if index_path.is_file() {
        Some(read_index(&index_path)?)
    } else {
        None
    };

    // Headers are exact and let us skip unloaded layers; use them when every shard is present.
    let all_shards_present = index.as_ref().is_none_or(|(_, files)| {
        files.iter().all(|name| {
            shards
                .iter()
                .any(|s| s.file_name().is_some_and(|f| f == name.as_str()))
        })
    });
    if !shards.is_empty() && all_shards_present {
        let mut total = CheckpointWeights {
            elements: Some(0),
            ..Default::default()
        };
        for shard in &shards {
            add_header(shard, num_layers, &mut total)?;
        }
        total.files = shards.len();
        return Ok(Some((total, WeightSource::SafetensorsHeaders)));
    }
    if let Some((total_size, files)) = index {
        return Ok(Some((
            CheckpointWeights {
                tensor_bytes: total_size,
                files: files.len(),
                ..Default::default()
            },
            WeightSource::SafetensorsIndex,
        )));
    }
    Ok(None)
}

fn read_index(path: &Path) -> Result<(u64, Vec<String>), WeightsError> {
    let invalid = |problem: String| WeightsError::Invalid {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| invalid(format!("invalid JSON: {e}")))?;
    let total = value
        .pointer("/metadata/total_size")
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        })
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            invalid("`metadata.total_size` is missing or not a positive integer".into())
        })?;
    let mut files: Vec<String> = value
        .get("weight_map")
        .and_then(Value::as_object)
        .map(|map| {
            map.values()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.dedup();
    Ok((total, files))
}

/// Bytes per element of a safetensors dtype.
fn dtype_bytes(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F64" | "I64" | "U64" => 8,
        "F32" | "I32" | "U32" => 4,
        "F16" | "BF16" | "I16" | "U16" => 2,
        "F8_E4M3" | "F8_E5M2" | "F8_E8M0" | "I8" | "U8" | "BOOL" => 1,
        _ => return None,
    })
}

fn add_header(
    path: &Path,
    num_layers: u64,
    total: &mut CheckpointWeights,
) -> Result<(), WeightsError> {
    let invalid = |problem: String| WeightsError::Invalid {
        path: path.to_path_buf(),
        problem,
    };
    let (header, file_len) = read_header_bytes(path).map_err(|e| match e {
        HeaderError::Io(source) => WeightsError::Io {
            path: path.to_path_buf(),
            source,
        },
        HeaderError::Invalid(problem) => invalid(problem),
    })?;
    add_header_bytes(&header, file_len, num_layers, total).map_err(invalid)
}

enum HeaderError {
    Io(std::io::Error),
    Invalid(String),
}

/// A safetensors file's header (the JSON after the 8-byte length) and the file's length.
fn read_header_bytes(path: &Path) -> Result<(Vec<u8>, u64), HeaderError> {
    let mut file = File::open(path).map_err(HeaderError::Io)?;
    let file_len = file.metadata().map_err(HeaderError::Io)?.len();
    let mut length = [0u8; 8];
    file.read_exact(&mut length)
        .map_err(|_| HeaderError::Invalid("shorter than the 8-byte header length".into()))?;
    let header_len = header_length(length, file_len).map_err(HeaderError::Invalid)?;
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header).map_err(HeaderError::Io)?;
    Ok((header, file_len))
}

/// The tensor table of a safetensors file (`name -> {dtype, shape, data_offsets}`), its sizes
/// checked as for a checkpoint; the data is never read.
pub fn read_header(path: &Path) -> Result<BTreeMap<String, Value>, String> {
    let (header, file_len) = read_header_bytes(path).map_err(|e| match e {
        HeaderError::Io(error) => error.to_string(),
        HeaderError::Invalid(problem) => format!("not a valid safetensors file: {problem}"),
    })?;
    add_header_bytes(
        &header,
        file_len,
        u64::MAX,
        &mut CheckpointWeights::default(),
    )?;
    serde_json::from_slice(&header).map_err(|e| format!("header is not JSON: {e}"))
}

/// The header length from a file's first 8 bytes, checked against the file's size (a remote
/// object's size for ranged reads), so a hostile length never makes us allocate or fetch more.
pub fn header_length(first_eight: [u8; 8], file_len: u64) -> Result<u64, String> {
    let header_len = u64::from_le_bytes(first_eight);
    if header_len > MAX_HEADER_BYTES || header_len + 8 > file_len {
        return Err(format!(
            "header length {header_len} does not fit in a {file_len}-byte file"
        ));
    }
    Ok(header_len)
}

/// Adds the tensors of one safetensors header (the JSON after the 8-byte length) to `total`.
pub fn add_header_bytes(
    header: &[u8],
    file_len: u64,
    num_layers: u64,
    total: &mut CheckpointWeights,
) -> Result<(), String> {
    let table: BTreeMap<String, Value> =
        serde_json::from_slice(header).map_err(|e| format!("header is not JSON: {e}"))?;
    let data_len = file_len - 8 - header.len() as u64;
    for (name, tensor) in &table {
        if name == "__metadata__" {
            continue;
        }
        let dtype = tensor.get("dtype").and_then(Value::as_str).unwrap_or("");
        let offsets: Vec<u64> = tensor
            .get("data_offsets")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let [start, end] = offsets[..] else {
            return Err(format!("tensor `{name}` has no valid `data_offsets`"));
        };
        if start > end || end > data_len {
            return Err(format!(
                "tensor `{name}` spans bytes {start}..{end}, outside the {data_len} data bytes"
            ));
        }
        let bytes = end - start;
        let shape: Vec<u64> = tensor
            .get("shape")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let elements = shape.iter().try_fold(1u64, |acc, d| acc.checked_mul(*d));
        if let (Some(size), Some(n)) = (dtype_bytes(dtype), elements)
            && n.checked_mul(size) != Some(bytes)
        {
            return Err(format!(
                "tensor `{name}` is {dtype} {shape:?} but spans {bytes} bytes"
            ));
        }
        if layer_index(name).is_some_and(|i| i >= num_layers) {
            total.skipped_bytes += bytes;
            continue;
        }
        total.tensor_bytes += bytes;
        if matches!(dtype, "F32" | "F64") {
            total.full_precision_bytes += bytes;
        }
        if let (Some(sum), Some(n)) = (total.elements.as_mut(), elements) {
            *sum += n;
        }
    }
    Ok(())
}

/// `model.layers.61.mlp…` → 61.
fn layer_index(tensor_name: &str) -> Option<u64> {
    let rest = tensor_name.split(".layers.").nth(1)?;
    rest.split('.').next()?.parse().ok()
}

/// Writes a safetensors file with the given tensors and sparse (unwritten) data, for tests and
/// fixtures: the header is real, the data region is a hole.
pub fn write_sparse_safetensors(
    path: &Path,
    tensors: &[(&str, &str, &[u64])],
) -> std::io::Result<u64> {
    let mut table = serde_json::Map::new();
    let mut offset = 0u64;
    for (name, dtype, shape) in tensors {
        let bytes = shape.iter().product::<u64>() * dtype_bytes(dtype).unwrap_or(1);
        table.insert(
            name.to_string(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    let header = serde_json::to_vec(&Value::Object(table))?;
    let file = File::create(path)?;
    use std::io::Write;
    let mut writer = std::io::BufWriter::new(&file);
    writer.write_all(&(header.len() as u64).to_le_bytes())?;
    writer.write_all(&header)?;
    writer.flush()?;
    drop(writer);
    file.set_len(8 + header.len() as u64 + offset)?;
    Ok(offset)
}

impl From<WeightsError> for InvalidConfig {
    fn from(error: WeightsError) -> Self {
        InvalidConfig {
            field: "(weights)".into(),
            problem: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_headers_and_skips_mtp_layers() {
        let dir = tempfile::tempdir().unwrap();
        write_sparse_safetensors(
            &dir.path().join("model-00001-of-00002.safetensors"),
            &[
                ("model.embed_tokens.weight", "BF16", &[1000, 64]),
                ("model.layers.0.w", "BF16", &[64, 64]),
            ],
        )
        .unwrap();
        write_sparse_safetensors(
            &dir.path().join("model-00002-of-00002.safetensors"),
            &[
                ("model.layers.1.w", "F32", &[64, 64]),
                ("model.layers.2.mtp", "BF16", &[64, 64]),
            ],
        )
        .unwrap();
        let (weights, source) = read_checkpoint(dir.path(), 2).unwrap().unwrap();
        assert_eq!(source, WeightSource::SafetensorsHeaders);
        assert_eq!(
            weights.tensor_bytes,
            1000 * 64 * 2 + 64 * 64 * 2 + 64 * 64 * 4
        );
        assert_eq!(weights.full_precision_bytes, 64 * 64 * 4);
        assert_eq!(weights.skipped_bytes, 64 * 64 * 2);
        assert_eq!(weights.files, 2);
    }

    #[test]
    fn refuses_a_header_longer_than_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, [0xff, 0xff, 0, 0, 0, 0, 0, 0, b'{']).unwrap();
        let error = read_checkpoint(dir.path(), 1).unwrap_err().to_string();
        assert!(error.contains("model.safetensors"), "{error}");
        assert!(error.contains("header length"), "{error}");
    }

    #[test]
    fn refuses_offsets_outside_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let header = br#"{"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8000]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0; 8]);
        std::fs::write(&path, bytes).unwrap();
        let error = read_checkpoint(dir.path(), 1).unwrap_err().to_string();
        assert!(error.contains("outside"), "{error}");
    }
}
