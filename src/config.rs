//! One configuration for the settings users repeat. Precedence: flags > environment >
//! `./llmops.toml` > `$XDG_CONFIG_HOME/llmops/config.toml` (`~/.config/llmops/config.toml`) >
//! defaults. Every key stands for one environment variable; a file's value is used only where
//! neither a flag nor that variable says otherwise. Secrets never come from a file: they are read
//! from their own variables (MLFLOW_TRACKING_TOKEN, the AWS chain, DOMINO_USER_API_KEY).
//!
//! Promotion gates per registered model (`[gates."<name>"]`) are not settings: every file's gates
//! for a model apply to every promote of it, on top of its flags, so CI cannot forget them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::env;

/// (key in the files, the variable it stands for, what it sets).
pub const KEYS: &[(&str, &str, &str)] = &[
    (
        "tracking_uri",
        env::MLFLOW_TRACKING_URI,
        "the MLflow tracking server",
    ),
    (
        "artifacts_destination",
        env::LLMOPS_ARTIFACTS_DESTINATION,
        "the MLflow server's artifact store, s3://bucket/prefix",
    ),
    (
        "dev_root",
        env::LLMOPS_DEV_ROOT,
        "the dev dataset root (or dev Triton repository)",
    ),
    (
        "prod_root",
        env::LLMOPS_PROD_ROOT,
        "the prod dataset root (or prod Triton repository)",
    ),
    (
        "dev_dataset",
        env::LLMOPS_DEV_DATASET,
        "the dev dataset's name under Domino's mounts",
    ),
    (
        "prod_dataset",
        env::LLMOPS_PROD_DATASET,
        "the prod dataset's name under Domino's mounts",
    ),
    ("gpu", env::LLMOPS_GPU, "the default GPU for `size`"),
    (
        "vllm_version",
        env::LLMOPS_VLLM_VERSION,
        "the vLLM release `size` reproduces",
    ),
    (
        "triton_url",
        env::LLMOPS_TRITON_URL,
        "Triton's HTTP address",
    ),
    (
        "concurrency",
        env::LLMOPS_CONCURRENCY,
        "requests in flight for `promote`",
    ),
];

/// The table of per-model promotion gates.
const GATES_KEY: &str = "gates";

/// The gates a file sets for one registered model (`[gates."<name>"]`); the same expressions as
/// `promote --require`, `--require-better-than` and `--require-fit`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelGates {
    #[serde(default)]
    pub require: Vec<String>,
    #[serde(default)]
    pub require_better_than: Option<String>,
    #[serde(default)]
    pub require_fit: bool,
}

/// Gates for one model from one file.
#[derive(Debug, Clone, Serialize)]
pub struct ConfiguredGates {
    pub file: String,
    pub model: String,
    #[serde(flatten)]
    pub gates: ModelGates,
}

/// Every file's `[gates."<model>"]`, project file first.
pub fn gates_for(model: &str) -> Result<Vec<ConfiguredGates>, ConfigError> {
    Ok(all_gates()?
        .into_iter()
        .filter(|g| g.model == model)
        .collect())
}

fn all_gates() -> Result<Vec<ConfiguredGates>, ConfigError> {
    let mut all = Vec::new();
    for path in files().into_iter().filter(|p| p.is_file()) {
        let table = read_table(&path)?;
        if let Some(value) = table.get(GATES_KEY) {
            for (model, gates) in gates_table(&path, value.clone())? {
                all.push(ConfiguredGates {
                    file: path.display().to_string(),
                    model,
                    gates,
                });
            }
        }
    }
    Ok(all)
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let invalid = |problem: String| ConfigError::Invalid {
        file: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
    text.parse()
        .map_err(|e: toml::de::Error| invalid(e.to_string()))
}

fn gates_table(
    path: &Path,
    value: toml::Value,
) -> Result<BTreeMap<String, ModelGates>, ConfigError> {
    value.try_into().map_err(|e: toml::de::Error| ConfigError::Invalid {
        file: path.to_path_buf(),
        problem: format!(
            "[gates.\"<model>\"] takes require = [\"metric:<key> >= <number>\", \"tag:<key>=<value>\"], require_better_than = \"@<alias>:<metric>\" and require_fit = true: {}",
            e.message()
        ),
    })
}

/// Keys people try that must not be in a file.
const SECRET_KEYS: &[&str] = &[
    "tracking_token",
    "token",
    "password",
    "tracking_password",
    "api_key",
    "aws_secret_access_key",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("`{file}`: {problem}")]
    Invalid { file: PathBuf, problem: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub variable: &'static str,
    pub value: Option<String>,
    /// `environment`, a file's path, or `default`.
    pub source: String,
}

/// The project file and the user file, in precedence order.
pub fn files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("llmops.toml")];
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")));
    if let Some(dir) = config_home {
        files.push(dir.join("llmops").join("config.toml"));
    }
    files
}

/// One settings file, checked key by key (public for the parser's property tests).
pub fn read(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let invalid = |problem: String| ConfigError::Invalid {
        file: path.to_path_buf(),
        problem,
    };
    let table = read_table(path)?;
    let mut values = BTreeMap::new();
    for (key, value) in table {
        if key == GATES_KEY {
            // Checked here so a mistake fails every command, not only the next promote.
            gates_table(path, value)?;
            continue;
        }
        if SECRET_KEYS.contains(&key.as_str()) {
            return Err(invalid(format!(
                "`{key}` is a secret and is never read from a file; set it in its environment variable (MLFLOW_TRACKING_TOKEN, DOMINO_USER_API_KEY, the AWS chain)"
            )));
        }
        if !KEYS.iter().any(|(k, _, _)| *k == key) {
            let known: Vec<&str> = KEYS.iter().map(|(k, _, _)| *k).chain([GATES_KEY]).collect();
            return Err(invalid(format!(
                "unknown key `{key}`; the keys are {}",
                known.join(", ")
            )));
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            other => {
                return Err(invalid(format!(
                    "`{key}` must be a string or an integer, found a {}",
                    other.type_str()
                )));
            }
        };
        // Values become environment variables, which cannot hold NUL; no setting needs a control
        // character, and one in a path or URL is a mistake to name, not to pass on.
        if text.chars().any(char::is_control) {
            return Err(invalid(format!(
                "`{key}` contains a control character (\\u{{…}}); settings are paths, URLs, names and numbers"
            )));
        }
        values.insert(key, text);
    }
    Ok(values)
}

/// Every key's value and where it came from (flags are not known here: they win over all of it).
pub fn resolve() -> Result<Vec<Setting>, ConfigError> {
    let layers: Vec<(PathBuf, BTreeMap<String, String>)> = files()
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| read(&p).map(|v| (p, v)))
        .collect::<Result<_, _>>()?;
    Ok(KEYS
        .iter()
        .map(|(key, variable, _)| {
            if let Ok(value) = std::env::var(variable)
                && !value.is_empty()
            {
                return Setting {
                    key,
                    variable,
                    value: Some(value),
                    source: "environment".into(),
                };
            }
            for (path, values) in &layers {
                if let Some(value) = values.get(*key) {
                    return Setting {
                        key,
                        variable,
                        value: Some(value.clone()),
                        source: path.display().to_string(),
                    };
                }
            }
            Setting {
                key,
                variable,
                value: None,
                source: "default".into(),
            }
        })
        .collect())
}

/// Secret variables `config show` reports as set or not, never their values.
const SECRET_VARIABLES: &[&str] = &[
    env::MLFLOW_TRACKING_TOKEN,
    env::MLFLOW_TRACKING_PASSWORD,
    env::DOMINO_USER_API_KEY,
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

#[derive(Debug, Serialize)]
pub struct ConfigReport {
    pub schema_version: u32,
    pub files: Vec<String>,
    pub settings: Vec<Setting>,
    /// Secret variables: `set` or `not set`.
    pub secrets: BTreeMap<&'static str, &'static str>,
    /// Promotion gates per registered model, from the files.
    pub gates: Vec<ConfiguredGates>,
}

/// `llmops config show`.
pub fn show(settings: &[Setting]) -> ConfigReport {
    ConfigReport {
        // The files were read once already at start-up; one that fails now changed since.
        gates: all_gates().unwrap_or_default(),
        schema_version: 1,
        files: files()
            .iter()
            .map(|p| {
                format!(
                    "{}{}",
                    p.display(),
                    if p.is_file() { "" } else { " (absent)" }
                )
            })
            .collect(),
        // A URL's password (`http://user:pass@host`) is a secret too.
        settings: settings
            .iter()
            .map(|setting| Setting {
                value: setting.value.as_deref().map(crate::text::without_password),
                ..setting.clone()
            })
            .collect(),
        secrets: SECRET_VARIABLES
            .iter()
            .map(|v| {
                (
                    *v,
                    if std::env::var(v).is_ok_and(|x| !x.is_empty()) {
                        "set (hidden)"
                    } else {
                        "not set"
                    },
                )
            })
            .collect(),
    }
}

/// Puts file values into the environment where it says nothing, so clap's `env = …` sees them
/// behind flags and variables. Called once, first thing in `main`, before any thread starts.
pub fn apply(settings: &[Setting]) {
    for setting in settings {
        if setting.source != "environment"
            && let Some(value) = &setting.value
        {
            // SAFETY: called at start-up before any other thread exists (the tokio runtime is
            // built later), so nothing reads the environment concurrently.
            unsafe { std::env::set_var(setting.variable, value) };
        }
    }
}
