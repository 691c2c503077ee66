//! What a version was made from, as `register` records it: the model it came from (`--source`, or
//! a Hugging Face cache snapshot's path, or `_name_or_path`), the datasets (`--dataset`, logged as
//! the parent run's inputs the way `mlflow.log_input` logs them), and the chat template's digest,
//! since a prompt format change is a model change. The training run is a run id; `lineage` follows it.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::mlflow::client::Dataset;

/// What a version was registered from: a Hugging Face id with its revision, or another URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `org/name` for a Hugging Face model, else the URI as given.
    pub model: String,
    /// A Hugging Face revision (a commit or a branch), when known.
    pub revision: Option<String>,
}

const SOURCE_SCHEMES: &[&str] = &["hf://", "s3://", "gs://", "https://", "http://", "models:/"];

static HF_ID: LazyLock<Regex> = LazyLock::new(|| {
    // Hugging Face repository ids: `org/name`, letters, digits, `-_.`.
    Regex::new(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$").expect("a valid pattern")
});

static REVISION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9._/-]{1,128}$").expect("a valid pattern"));

impl Source {
    /// `--source`: `hf://org/name[@revision]`, or an `s3://`, `gs://`, `http(s)://` or `models:/` URI.
    pub fn parse(text: &str) -> Result<Source, String> {
        let text = text.trim();
        if text.len() > 1000 || text.chars().any(char::is_control) {
            return Err("a source is a URI of at most 1000 printable characters".into());
        }
        if let Some(rest) = text.strip_prefix("hf://") {
            let (id, revision) = match rest.split_once('@') {
                Some((id, revision)) => (id, Some(revision)),
                None => (rest, None),
            };
            if !HF_ID.is_match(id) {
                return Err(format!(
                    "`{id}` is not a Hugging Face model id (`org/name`)"
                ));
            }
            if let Some(revision) = revision
                && !REVISION.is_match(revision)
            {
                return Err(format!(
                    "`{revision}` is not a revision (a commit or branch)"
                ));
            }
            return Ok(Source {
                model: id.to_string(),
                revision: revision.map(str::to_string),
            });
        }
        if !SOURCE_SCHEMES.iter().any(|s| text.starts_with(s)) {
            return Err(format!(
                "`{text}` is not a source URI; use hf://org/name@revision, or a URI starting with {}",
                SOURCE_SCHEMES[1..].join(", ")
            ));
        }
        Ok(Source {
            model: text.to_string(),
            revision: None,
        })
    }

    /// The source a folder shows: a Hugging Face cache snapshot's path
    /// (`…/models--org--name/snapshots/<revision>`), else `_name_or_path` in its `config.json` when
    /// that is an id. (An adapter's `base_model_name_or_path` names its base, not its source.)
    pub fn detect(model_dir: &Path) -> Option<Source> {
        let canonical = model_dir.canonicalize().ok()?;
        let parts: Vec<&str> = canonical
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .collect();
        let from_cache = parts.iter().enumerate().rev().find_map(|(i, part)| {
            let (org, name) = part.strip_prefix("models--")?.split_once("--")?;
            let id = format!("{org}/{name}");
            let revision = (parts.get(i + 1) == Some(&"snapshots"))
                .then(|| parts.get(i + 2).map(|r| r.to_string()))
                .flatten()
                .filter(|r| REVISION.is_match(r));
            HF_ID.is_match(&id).then_some(Source {
                model: id,
                revision,
            })
        });
        let from_config = || {
            let text = std::fs::read_to_string(model_dir.join("config.json")).ok()?;
            let value: serde_json::Value = serde_json::from_str(&text).ok()?;
            let id = value.get("_name_or_path")?.as_str()?;
            HF_ID.is_match(id).then(|| Source {
                model: id.to_string(),
                revision: None,
            })
        };
        from_cache.or_else(from_config)
    }

    /// The source as one URI: `hf://org/name@revision` for a Hugging Face id.
    pub fn uri(&self) -> String {
        if HF_ID.is_match(&self.model) {
            match &self.revision {
                Some(revision) => format!("hf://{}@{revision}", self.model),
                None => format!("hf://{}", self.model),
            }
        } else {
            self.model.clone()
        }
    }
}

/// `--dataset NAME=URI`: a dataset known by where it lives, as MLflow's `MetaDataset` records one
/// (`mlflow/data/meta_dataset.py`): the source type and source JSON of MLflow's own sources
/// (`http_dataset_source.py`, `huggingface_dataset_source.py`, `artifact_dataset_sources.py`), and
/// the digest MLflow computes for it, so the same dataset logged from Python has the same digest.
pub fn parse_dataset(text: &str) -> Result<Dataset, String> {
    let (name, uri) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=URI"))?;
    let (name, uri) = (name.trim(), uri.trim());
    // MLflow's limits (`mlflow/utils/validation.py`): a name of 500 characters, a source of 65,535.
    if name.is_empty() || name.chars().count() > 500 || name.chars().any(char::is_control) {
        return Err(format!(
            "`{name}` is not a dataset name (1 to 500 printable characters)"
        ));
    }
    if uri.len() > 60_000 || uri.chars().any(char::is_control) {
        return Err("a dataset URI is at most 60,000 printable characters".into());
    }
    let (source_type, source) = if let Some(rest) = uri.strip_prefix("hf://") {
        let (path, revision) = match rest.split_once('@') {
            Some((path, revision)) => (path, Some(revision)),
            None => (rest, None),
        };
        // The keys in the order HuggingFaceDatasetSource.to_dict writes them; `split` is `str(None)`.
        let fields = [
            ("path", Some(path)),
            ("config_name", None),
            ("data_dir", None),
            ("data_files", None),
            ("split", Some("None")),
            ("revision", revision),
        ];
        ("hugging_face", python_json_object(&fields))
    } else if uri.starts_with("https://") || uri.starts_with("http://") {
        ("http", python_json_object(&[("url", Some(uri))]))
    } else if let Some(scheme) = ["s3", "gs"]
        .iter()
        .find(|s| uri.starts_with(&format!("{s}://")))
    {
        (*scheme, python_json_object(&[("uri", Some(uri))]))
    } else if uri.starts_with("file://") || uri.starts_with('/') {
        ("local", python_json_object(&[("uri", Some(uri))]))
    } else {
        return Err(format!(
            "`{uri}` is not a dataset URI; use s3://, gs://, hf://org/name[@revision], http(s):// or an absolute path"
        ));
    };
    let digest = meta_dataset_digest(name, &source, source_type);
    Ok(Dataset {
        name: name.to_string(),
        digest,
        source_type: source_type.to_string(),
        source,
    })
}

/// `MetaDataset._compute_digest`: the first 8 hex characters of the sha256 of
/// `json.dumps({"name", "source", "source_type", "schema": ""})`.
fn meta_dataset_digest(name: &str, source: &str, source_type: &str) -> String {
    let config = python_json_object(&[
        ("name", Some(name)),
        ("source", Some(source)),
        ("source_type", Some(source_type)),
        ("schema", Some("")),
    ]);
    hex::encode(Sha256::digest(config.as_bytes()))[..8].to_string()
}

/// An object of strings (or nulls) as Python's `json.dumps` writes it: `", "` and `": "` between
/// items, keys in the order given.
fn python_json_object(fields: &[(&str, Option<&str>)]) -> String {
    let items: Vec<String> = fields
        .iter()
        .map(|(key, value)| {
            format!(
                "{}: {}",
                python_json_string(key),
                value.map_or("null".to_string(), python_json_string)
            )
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// A string as Python's `json.dumps` writes it (`ensure_ascii`: anything outside ASCII is a
/// `\uXXXX` escape of its UTF-16 units, lower-case hex).
fn python_json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Chat templates as (name, text); the one transformers uses by default is named `default`.
pub type NamedTemplates = Vec<(String, String)>;

/// The chat template a folder ships, as vLLM and transformers find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTemplate {
    /// sha256 of the template's text; with several named templates, of `name\0text\0` for each,
    /// sorted by name.
    pub sha256: String,
    /// A template named `tool_use`, or a default template that reads the `tools` variable.
    pub tool_use: bool,
    /// The file it came from.
    pub file: String,
}

/// Files larger than this are not a tokenizer's configuration.
const MAX_TEMPLATE_FILE: u64 = 64 << 20;

static TOOLS_VARIABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\btools\b").expect("a valid pattern"));

/// The folder's chat templates as (name, text), the default one named `default`, with the file
/// they came from, looked for where transformers saves them: `chat_template.jinja` (transformers
/// 4.50 and later), `chat_template.json`, then `tokenizer_config.json`'s `chat_template` (a string,
/// or a list of `{name, template}`). `Ok(None)` when there is none.
pub fn chat_templates(model_dir: &Path) -> Result<Option<(NamedTemplates, String)>, String> {
    let read = |file: &str| -> Result<Option<String>, String> {
        let path = model_dir.join(file);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Ok(None);
        };
        if meta.len() > MAX_TEMPLATE_FILE {
            return Err(format!(
                "`{file}` is {} bytes; not a tokenizer file",
                meta.len()
            ));
        }
        std::fs::read_to_string(&path)
            .map(Some)
            .map_err(|e| format!("`{file}`: {e}"))
    };
    if let Some(text) = read("chat_template.jinja")? {
        return Ok(Some((
            vec![("default".into(), text)],
            "chat_template.jinja".into(),
        )));
    }
    for file in ["chat_template.json", "tokenizer_config.json"] {
        let Some(text) = read(file)? else { continue };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("`{file}` is not JSON: {e}"))?;
        let templates = match value.get("chat_template") {
            Some(serde_json::Value::String(text)) => vec![("default".to_string(), text.clone())],
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|item| {
                    Some((
                        item.get("name")?.as_str()?.to_string(),
                        item.get("template")?.as_str()?.to_string(),
                    ))
                })
                .collect(),
            _ => continue,
        };
        if !templates.is_empty() {
            return Ok(Some((templates, file.to_string())));
        }
    }
    Ok(None)
}

/// Whether a template takes tools: it is named `tool_use`, or it is the default one and reads the
/// `tools` variable (what transformers passes to `apply_chat_template(…, tools=…)`).
pub fn takes_tools(name: &str, text: &str) -> bool {
    name == "tool_use" || (name == "default" && TOOLS_VARIABLE.is_match(text))
}

pub fn template_of(mut templates: Vec<(String, String)>, file: &str) -> ChatTemplate {
    templates.sort();
    let sha256 = match templates.as_slice() {
        [(_, text)] => hex::encode(Sha256::digest(text.as_bytes())),
        many => {
            let mut hasher = Sha256::new();
            for (name, text) in many {
                hasher.update(name.as_bytes());
                hasher.update([0]);
                hasher.update(text.as_bytes());
                hasher.update([0]);
            }
            hex::encode(hasher.finalize())
        }
    };
    let tool_use = templates.iter().any(|(name, text)| takes_tools(name, text));
    ChatTemplate {
        sha256,
        tool_use,
        file: file.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        assert_eq!(
            Source::parse("hf://meta-llama/Llama-3.1-8B@0e9e39f").unwrap(),
            Source {
                model: "meta-llama/Llama-3.1-8B".into(),
                revision: Some("0e9e39f".into())
            }
        );
        assert_eq!(
            Source::parse("hf://Qwen/Qwen2.5-7B").unwrap().uri(),
            "hf://Qwen/Qwen2.5-7B"
        );
        assert_eq!(
            Source::parse("s3://models/base/").unwrap().uri(),
            "s3://models/base/"
        );
        for bad in [
            "meta-llama/Llama",
            "hf://a",
            "hf://a/b@x y",
            "ftp://x",
            "hf://a/\u{1b}b",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_hugging_face_cache_snapshot_names_its_model_and_revision() {
        let root = tempfile::tempdir().unwrap();
        let snapshot = root
            .path()
            .join("hub/models--meta-llama--Llama-3.1-8B/snapshots/0e9e39f249a16976918f6564b8830bc894c89659");
        std::fs::create_dir_all(&snapshot).unwrap();
        assert_eq!(
            Source::detect(&snapshot),
            Some(Source {
                model: "meta-llama/Llama-3.1-8B".into(),
                revision: Some("0e9e39f249a16976918f6564b8830bc894c89659".into()),
            })
        );
        // Elsewhere, config.json's `_name_or_path` when it is an id, never a local path.
        let plain = root.path().join("my-finetune");
        std::fs::create_dir_all(&plain).unwrap();
        std::fs::write(
            plain.join("config.json"),
            r#"{"_name_or_path": "Qwen/Qwen2.5-7B"}"#,
        )
        .unwrap();
        assert_eq!(
            Source::detect(&plain).unwrap().uri(),
            "hf://Qwen/Qwen2.5-7B"
        );
        std::fs::write(
            plain.join("config.json"),
            r#"{"_name_or_path": "/data/ckpt/step-900"}"#,
        )
        .unwrap();
        assert_eq!(Source::detect(&plain), None);
    }

    #[test]
    fn writes_json_as_python_does() {
        assert_eq!(
            python_json_object(&[("a", Some("é\"\n😀")), ("b", None)]),
            r#"{"a": "\u00e9\"\n\ud83d\ude00", "b": null}"#
        );
    }

    #[test]
    fn refuses_datasets_it_cannot_name() {
        for bad in [
            "no-equals",
            "=s3://b/k",
            "n=ftp://x",
            "n=relative/path",
            "n\u{7}=s3://b",
        ] {
            assert!(parse_dataset(bad).is_err(), "{bad}");
        }
        let dataset = parse_dataset("tickets=s3://data/tickets.parquet").unwrap();
        assert_eq!(dataset.source_type, "s3");
        assert_eq!(dataset.source, r#"{"uri": "s3://data/tickets.parquet"}"#);
        assert_eq!(dataset.digest.len(), 8);
    }

    #[test]
    fn finds_chat_templates_and_tool_use() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(chat_templates(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("tokenizer_config.json"),
            r#"{"chat_template": [{"name": "default", "template": "{{ messages }}"},
                                  {"name": "tool_use", "template": "{{ tools }}"}]}"#,
        )
        .unwrap();
        let (templates, file) = chat_templates(dir.path()).unwrap().unwrap();
        let found = template_of(templates, &file);
        assert!(found.tool_use);
        assert_eq!(found.file, "tokenizer_config.json");
        std::fs::write(dir.path().join("chat_template.jinja"), "{{ messages }}").unwrap();
        let (templates, file) = chat_templates(dir.path()).unwrap().unwrap();
        let found = template_of(templates, &file);
        assert_eq!(
            (found.sha256.as_str(), found.tool_use),
            (
                // `printf "{{ messages }}" | sha256sum`
                "f24189f08c85a1eb19a737306c3a13e85462ee33d964f28108d64a2485fa2171",
                false
            )
        );
    }
}
