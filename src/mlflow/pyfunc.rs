//! The child run's model: a pyfunc "model from code" that `mlflow.pyfunc.load_model` loads without
//! pickle (`loader_module: mlflow.pyfunc.loaders.code_model`; the loader joins the basename of
//! `model_code_path` to the model directory). Its only artifact is `model_context.json`, naming the
//! parent run that holds the binaries. Shape: `docs/mlflow-rest.md` §The pyfunc model.

use std::path::{Path, PathBuf};

/// The built-in `transformers` template.
pub const TRANSFORMERS_TEMPLATE: &str = include_str!("templates/transformers_model.py");

/// The built-in `triton` template: a proxy that forwards KServe v2 infer bodies to Triton.
pub const TRITON_TEMPLATE: &str = include_str!("templates/triton_model.py");

/// What goes into the model folder.
#[derive(Debug, Clone)]
pub struct PyfuncModel {
    /// File name of the model code inside the model folder, e.g. `llmops_model.py`.
    pub code_file_name: String,
    pub code: String,
    /// JSON object written to `artifacts/model_context.json`.
    pub context: serde_json::Value,
    pub pip_requirements: Vec<String>,
    pub python_version: String,
    pub mlflow_version: String,
    pub child_run_id: String,
    /// MLflow 3: the logged model (`m-<id>`) this folder is the artifacts of.
    pub model_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PyfuncError {
    #[error(
        "`{0}` must be a Python file whose name is letters, digits, `_`, `-` or `.` and ends in `.py`"
    )]
    BadCodeFileName(String),
    #[error("cannot read the model code `{path}`: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "`{0}` does not call `mlflow.models.set_model(...)`, which a model-from-code file must do"
    )]
    NoSetModel(PathBuf),
}

/// Reads a user's `--python-model` file and checks it can be a model from code.
pub fn read_user_code(path: &Path) -> Result<(String, String), PyfuncError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    if !is_safe_code_name(&name) {
        return Err(PyfuncError::BadCodeFileName(path.display().to_string()));
    }
    let code = std::fs::read_to_string(path).map_err(|source| PyfuncError::Unreadable {
        path: path.into(),
        source,
    })?;
    if !code.contains("set_model(") {
        return Err(PyfuncError::NoSetModel(path.into()));
    }
    Ok((name, code))
}

fn is_safe_code_name(name: &str) -> bool {
    name.len() > 3
        && name.ends_with(".py")
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl PyfuncModel {
    /// `MLmodel`, emitted by hand with a fixed key order (MLflow's loader reads YAML; every value
    /// here is a plain scalar that needs no quoting, which `write_to` guarantees).
    pub fn mlmodel(&self, utc_time_created: &str, model_uuid: &str) -> String {
        format!(
            "artifact_path: model
flavors:
  python_function:
    artifacts:
      model_context:
        path: artifacts/model_context.json
    code: null
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.pyfunc.loaders.code_model
    model_code_path: {code}
    python_version: {python}
    streamable: false
mlflow_version: {mlflow}
{model_id}model_uuid: {uuid}
run_id: {run}
utc_time_created: '{time}'
",
            code = self.code_file_name,
            python = self.python_version,
            mlflow = self.mlflow_version,
            model_id = self
                .model_id
                .as_ref()
                .map(|id| format!("model_id: {id}\n"))
                .unwrap_or_default(),
            uuid = model_uuid,
            run = self.child_run_id,
            time = utc_time_created,
        )
    }

    fn requirements(&self) -> String {
        let mut lines = vec![format!("mlflow=={}", self.mlflow_version)];
        lines.extend(self.pip_requirements.iter().cloned());
        lines.join("\n") + "\n"
    }

    /// Writes the model folder (`MLmodel`, code, `artifacts/model_context.json`, environments).
    pub fn write_to(
        &self,
        dir: &Path,
        utc_time_created: &str,
        model_uuid: &str,
    ) -> std::io::Result<Vec<PathBuf>> {
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
        };
        for value in [
            &self.python_version,
            &self.mlflow_version,
            &self.child_run_id,
            &model_uuid.to_string(),
            self.model_id.as_ref().unwrap_or(&self.child_run_id),
        ] {
            if !plain(value) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("`{value}` cannot go into MLmodel unquoted"),
                ));
            }
        }
        if !is_safe_code_name(&self.code_file_name) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "unsafe model code file name",
            ));
        }
        std::fs::create_dir_all(dir.join("artifacts"))?;
        let python_minor = self
            .python_version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".");
        let files = [
            (
                "MLmodel".to_string(),
                self.mlmodel(utc_time_created, model_uuid),
            ),
            (self.code_file_name.clone(), self.code.clone()),
            (
                "artifacts/model_context.json".into(),
                serde_json::to_string_pretty(&self.context)? + "\n",
            ),
            ("requirements.txt".into(), self.requirements()),
            (
                "python_env.yaml".into(),
                format!(
                    "python: {}\nbuild_dependencies:\n- pip\n- setuptools\n- wheel\ndependencies:\n- -r requirements.txt\n",
                    self.python_version
                ),
            ),
            (
                "conda.yaml".into(),
                format!(
                    "channels:\n- conda-forge\ndependencies:\n- python={python_minor}\n- pip\n- pip:\n{}name: mlflow-env\n",
                    self.requirements()
                        .lines()
                        .map(|l| format!("  - {l}\n"))
                        .collect::<String>()
                ),
            ),
        ];
        let mut written = Vec::new();
        for (name, content) in files {
            let path = dir.join(&name);
            std::fs::write(&path, content)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Now as MLflow writes `utc_time_created` in an MLmodel (`2026-11-30 21:05:27.415977`, UTC).
pub fn utc_time_created() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> PyfuncModel {
        PyfuncModel {
            code_file_name: "llmops_model.py".into(),
            code: "import mlflow\nmlflow.models.set_model(None)\n".into(),
            context: serde_json::json!({ "parent": "abc" }),
            pip_requirements: vec!["transformers==4.56.0".into()],
            python_version: "3.11.7".into(),
            mlflow_version: "3.17.2".into(),
            child_run_id: "def".into(),
            model_id: None,
        }
    }

    #[test]
    fn mlmodel_is_the_verified_shape() {
        let golden = "artifact_path: model
flavors:
  python_function:
    artifacts:
      model_context:
        path: artifacts/model_context.json
    code: null
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.pyfunc.loaders.code_model
    model_code_path: llmops_model.py
    python_version: 3.11.7
    streamable: false
mlflow_version: 3.17.2
model_uuid: 0123456789abcdef0123456789abcdef
run_id: def
utc_time_created: '2026-11-22 08:00:00.000000'
";
        assert_eq!(
            model().mlmodel(
                "2026-11-22 08:00:00.000000",
                "0123456789abcdef0123456789abcdef"
            ),
            golden
        );
    }

    #[test]
    fn a_logged_model_names_itself() {
        let mut logged = model();
        logged.model_id = Some("m-0123456789abcdef0123456789abcdef".into());
        let text = logged.mlmodel(
            "2026-12-01 01:00:00.000000",
            "m-0123456789abcdef0123456789abcdef",
        );
        assert!(text.contains(
            "mlflow_version: 3.17.2\nmodel_id: m-0123456789abcdef0123456789abcdef\nmodel_uuid: m-0123456789abcdef0123456789abcdef\n"
        ));
    }

    #[test]
    fn writes_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = model()
            .write_to(dir.path(), "2026-11-22 08:00:00.000000", "0123")
            .unwrap();
        assert_eq!(files.len(), 6);
        let context =
            std::fs::read_to_string(dir.path().join("artifacts/model_context.json")).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&context).unwrap()["parent"],
            "abc"
        );
        let requirements = std::fs::read_to_string(dir.path().join("requirements.txt")).unwrap();
        assert_eq!(requirements, "mlflow==3.17.2\ntransformers==4.56.0\n");
    }

    #[test]
    fn refuses_unsafe_values() {
        let mut bad = model();
        bad.child_run_id = "x\nflavors: {}".into();
        assert!(
            bad.write_to(tempfile::tempdir().unwrap().path(), "t", "u")
                .is_err()
        );
        assert!(!is_safe_code_name("../x.py"));
        assert!(!is_safe_code_name(".py"));
        assert!(is_safe_code_name("my_model-2.py"));
    }
}
