//! NVIDIA Triton model repositories: `<repo>/<model>/config.pbtxt` and `<repo>/<model>/<N>/model.*`.
//! The rules that bite (`docs/triton.md` §Repository rules): every folder in the root is
//! a model (hidden ones too), a version folder must be a positive integer without leading zeros
//! (`2.partial` parses as version 2), `config.pbtxt` is read only beside the version folders and its
//! `name` must equal the folder name, and the model file must be the one the backend looks for.

use std::path::{Path, PathBuf};

use crate::exit::UserError;
use crate::layout::roots::RootKind;

/// The model configuration Triton reads beside the version folders.
pub const CONFIG_FILE: &str = "config.pbtxt";

/// Where a model's files come from in the folder a scientist registers, and what they are.
#[derive(Debug, Clone)]
pub struct TritonModel {
    /// The folder whose files become `<model>/<N>/` (the registered folder, or its one version folder).
    pub version_source: PathBuf,
    /// `config.pbtxt` with `name` set to the model folder's name, or `None` when Triton can
    /// auto-complete one.
    pub config: Option<String>,
    pub backend: Backend,
    /// Notes for the user (a rewritten name, an inferred backend).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Onnx,
    TensorRt,
    PyTorch,
    TorchAoti,
    TensorFlowGraphDef,
    TensorFlowSavedModel,
    OpenVino,
    Python,
    Dali,
    Ensemble,
}

impl Backend {
    /// The file (or folder) Triton looks for in a version folder (`constants.h`).
    pub fn default_file(self) -> &'static str {
        match self {
            Backend::Onnx => "model.onnx",
            Backend::TensorRt => "model.plan",
            Backend::PyTorch => "model.pt",
            Backend::TorchAoti => "model.pt2",
            Backend::TensorFlowGraphDef => "model.graphdef",
            Backend::TensorFlowSavedModel => "model.savedmodel",
            Backend::OpenVino => "model.xml",
            Backend::Python => "model.py",
            Backend::Dali => "model.dali",
            Backend::Ensemble => "",
        }
    }

    /// Whether Triton can fill in a missing `config.pbtxt` (§3.2). Python needs `auto_complete_config`
    /// in `model.py`, which is checked separately.
    fn auto_completes(self) -> bool {
        matches!(
            self,
            Backend::Onnx
                | Backend::TensorRt
                | Backend::TensorFlowSavedModel
                | Backend::OpenVino
                | Backend::PyTorch
        )
    }

    fn from_config(platform: Option<&str>, backend: Option<&str>) -> Option<Backend> {
        Some(match (platform, backend) {
            (Some("onnxruntime_onnx"), _) | (_, Some("onnxruntime")) => Backend::Onnx,
            (Some("tensorrt_plan"), _) | (_, Some("tensorrt")) => Backend::TensorRt,
            (Some("pytorch_libtorch"), _) | (_, Some("pytorch")) => Backend::PyTorch,
            (Some("torch_aoti"), _) => Backend::TorchAoti,
            (Some("tensorflow_graphdef"), _) => Backend::TensorFlowGraphDef,
            (Some("tensorflow_savedmodel"), _) | (_, Some("tensorflow")) => {
                Backend::TensorFlowSavedModel
            }
            (_, Some("openvino")) => Backend::OpenVino,
            (_, Some("python")) => Backend::Python,
            (_, Some("dali")) => Backend::Dali,
            (Some("ensemble"), _) => Backend::Ensemble,
            _ => return None,
        })
    }

    const ALL: [Backend; 9] = [
        Backend::Onnx,
        Backend::TensorRt,
        Backend::PyTorch,
        Backend::TorchAoti,
        Backend::TensorFlowGraphDef,
        Backend::TensorFlowSavedModel,
        Backend::OpenVino,
        Backend::Python,
        Backend::Dali,
    ];
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{path}`: {rule}")]
pub struct LayoutError {
    pub path: String,
    pub rule: String,
}

fn layout_error(path: &Path, rule: impl Into<String>) -> LayoutError {
    LayoutError {
        path: path.display().to_string(),
        rule: rule.into(),
    }
}

/// A Triton model folder name: what `ValidateModelName` accepts, minus what makes trouble in a
/// shared repository (hidden names are models too; spaces break tools).
pub fn validate_model_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` cannot be a Triton model folder: use letters, digits, `_`, `-` and `.`, not starting with `.` (every folder in the repository root is a model, hidden ones too)"
        ))
    }
}

/// `1`, `2`, `10`: a positive integer without leading zeros, as Triton parses version folders.
pub fn is_version_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('0')
        && name.bytes().all(|b| b.is_ascii_digit())
        && name.len() <= 18
}

/// Reads the folder a scientist registers with `--target triton`: either the version's files with a
/// `config.pbtxt` beside them, or a Triton model folder with one version folder (`1/`) inside.
/// `config_override` is `--config-pbtxt`.
pub fn read_model_folder(
    dir: &Path,
    model_name: &str,
    config_override: Option<&Path>,
) -> Result<TritonModel, LayoutError> {
    let mut notes = Vec::new();
    let version_source = find_version_source(dir, &mut notes)?;
    let config = ConfigSource::read(dir, config_override)?;
    let files: Vec<String> = std::fs::read_dir(&version_source)
        .map_err(|e| layout_error(&version_source, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| file_name_of(&e.path())))
        .collect();
    let backend = choose_backend(&config, dir, &version_source, &files, &mut notes)?;
    check_model_file(backend, &config, &version_source, &files, &mut notes)?;
    if config.text.is_none() {
        check_config_can_be_auto_completed(dir, &version_source, backend)?;
    }
    let config = match config.text {
        Some(text) => {
            let (rewritten, note) = with_model_name(&text, model_name);
            notes.extend(note);
            Some(rewritten)
        }
        None => None,
    };
    Ok(TritonModel {
        version_source,
        config,
        backend,
        notes,
    })
}

/// The last component of `path` as a string (empty when it has none or is not UTF-8).
fn file_name_of(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string()
}

/// The folder whose files become the version: `dir` itself, or its one version folder.
/// Numbered folders mean a Triton model folder; check each name the way Triton would.
fn find_version_source(dir: &Path, notes: &mut Vec<String>) -> Result<PathBuf, LayoutError> {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| layout_error(dir, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let mut version_dirs = Vec::new();
    for path in entries.iter().filter(|p| p.is_dir()) {
        let name = file_name_of(path);
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            if !is_version_name(&name) {
                return Err(layout_error(
                    path,
                    "a version folder must be a positive integer without leading zeros (Triton ignores `07` and reads `2.partial` as version 2)",
                ));
            }
            version_dirs.push(path.clone());
        }
    }
    let version_source = match version_dirs.len() {
        0 => dir.to_path_buf(),
        1 => {
            notes.push(format!(
                "using version folder `{}` as the version's files",
                file_name_of(&version_dirs[0])
            ));
            version_dirs[0].clone()
        }
        _ => {
            return Err(layout_error(
                dir,
                "has several version folders; register one version at a time (the registered version number becomes the folder name)",
            ));
        }
    };
    if version_source.join("config.pbtxt").is_file() && version_source != dir {
        return Err(layout_error(
            &version_source.join("config.pbtxt"),
            "config.pbtxt inside a version folder is ignored by Triton; put it beside the version folders (or pass --config-pbtxt)",
        ));
    }
    Ok(version_source)
}

/// The `config.pbtxt` to register (`--config-pbtxt`, else the one beside the version folders, if
/// any), with its top-level fields parsed once.
struct ConfigSource {
    path: Option<PathBuf>,
    text: Option<String>,
    fields: Vec<(String, String)>,
}

impl ConfigSource {
    fn read(dir: &Path, config_override: Option<&Path>) -> Result<Self, LayoutError> {
        let path = match config_override {
            Some(path) => Some(path.to_path_buf()),
            None => Some(dir.join("config.pbtxt")).filter(|p| p.is_file()),
        };
        let text = match &path {
            Some(path) => {
                Some(std::fs::read_to_string(path).map_err(|e| layout_error(path, e.to_string()))?)
            }
            None => None,
        };
        let fields = text.as_deref().map(top_level_fields).unwrap_or_default();
        Ok(ConfigSource { path, text, fields })
    }

    fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The backend `config.pbtxt` names; without `platform`/`backend`, the one whose default model file
/// is among the version's `files`. A platform or backend llmops does not know is an error, not a
/// guess.
fn choose_backend(
    config: &ConfigSource,
    dir: &Path,
    version_source: &Path,
    files: &[String],
    notes: &mut Vec<String>,
) -> Result<Backend, LayoutError> {
    let (platform, named_backend) = (config.field("platform"), config.field("backend"));
    match Backend::from_config(platform, named_backend) {
        Some(backend) => Ok(backend),
        None if platform.is_some() || named_backend.is_some() => {
            let path = config.path.as_deref().unwrap_or(dir);
            Err(layout_error(
                path,
                format!(
                    "platform/backend `{}` is not one llmops knows (onnxruntime_onnx, tensorrt_plan, pytorch_libtorch, tensorflow_savedmodel, tensorflow_graphdef, python, openvino, dali, ensemble)",
                    platform.or(named_backend).unwrap_or_default()
                ),
            ))
        }
        None => infer_backend(version_source, files, notes),
    }
}

/// The backend whose default model file is among `files`, for a folder without a config naming one.
fn infer_backend(
    version_source: &Path,
    files: &[String],
    notes: &mut Vec<String>,
) -> Result<Backend, LayoutError> {
    let inferred = Backend::ALL
        .into_iter()
        .find(|b| files.iter().any(|f| f == b.default_file()));
    match inferred {
        Some(backend) => {
            notes.push(format!(
                "backend inferred from `{}`",
                backend.default_file()
            ));
            Ok(backend)
        }
        None => Err(layout_error(
            version_source,
            format!(
                "no model file Triton recognises (model.onnx, model.plan, model.pt, model.savedmodel/, model.graphdef, model.py, model.xml, …) and no config.pbtxt naming a platform or backend; found: {}",
                if files.is_empty() {
                    "nothing".into()
                } else {
                    files.join(", ")
                }
            ),
        )),
    }
}

/// The version's files must hold the file the backend loads (`default_model_filename`, else the
/// backend's default); an ensemble loads nothing, so its files are only noted.
fn check_model_file(
    backend: Backend,
    config: &ConfigSource,
    version_source: &Path,
    files: &[String],
    notes: &mut Vec<String>,
) -> Result<(), LayoutError> {
    let expected = config
        .field("default_model_filename")
        .unwrap_or(backend.default_file());
    if backend != Backend::Ensemble && !files.iter().any(|f| f == expected) {
        return Err(layout_error(
            version_source,
            format!(
                "the {backend:?} backend loads `{expected}`, which is not in the version's files ({})",
                files.join(", ")
            ),
        ));
    }
    if backend == Backend::Ensemble && !files.is_empty() {
        notes.push(
            "ensemble: the version folder is kept although Triton reads nothing from it".into(),
        );
    }
    Ok(())
}

/// Without a `config.pbtxt`, Triton must be able to fill one in: some backends always can, Python
/// only when `model.py` defines `auto_complete_config`.
fn check_config_can_be_auto_completed(
    dir: &Path,
    version_source: &Path,
    backend: Backend,
) -> Result<(), LayoutError> {
    let python_autocompletes = backend == Backend::Python
        && std::fs::read_to_string(version_source.join("model.py"))
            .is_ok_and(|code| code.contains("def auto_complete_config"));
    if backend.auto_completes() || python_autocompletes {
        return Ok(());
    }
    Err(layout_error(
        dir,
        format!(
            "no config.pbtxt, and Triton cannot auto-complete one for the {backend:?} backend{}; add config.pbtxt or pass --config-pbtxt",
            if backend == Backend::Python {
                " (model.py has no auto_complete_config)"
            } else {
                ""
            }
        ),
    ))
}

/// `(key, value)` of the top-level scalar fields of a pbtxt (strings unquoted), e.g. `name`,
/// `platform`, `backend`, `default_model_filename`. Nested blocks are skipped.
pub fn top_level_fields(text: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut depth = 0i32;
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or("");
        if depth == 0
            && let Some((key, value)) = code.split_once(':')
        {
            let key = key.trim();
            let value = value.trim().trim_end_matches(',');
            if !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !value.starts_with(['{', '['])
            {
                fields.push((key.to_string(), value.trim_matches('"').to_string()));
            }
        }
        depth += code.matches(['{', '[']).count() as i32 - code.matches(['}', ']']).count() as i32;
    }
    fields
}

/// `config.pbtxt` with `name: "<model>"`: Triton refuses a name that differs from the folder.
pub fn with_model_name(text: &str, model: &str) -> (String, Option<String>) {
    let mut depth = 0i32;
    let mut found = None;
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or("");
        if depth == 0
            && found.is_none()
            && code.trim_start().starts_with("name")
            && code.contains(':')
        {
            let old = code
                .split_once(':')
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
                .unwrap_or_default();
            found = Some(old);
            lines.push(format!("name: \"{model}\""));
        } else {
            lines.push(line.to_string());
        }
        depth += code.matches(['{', '[']).count() as i32 - code.matches(['}', ']']).count() as i32;
    }
    match found {
        Some(old) if old == model => (text.to_string(), None),
        Some(old) => (
            lines.join("\n") + "\n",
            Some(format!(
                "config.pbtxt name `{old}` rewritten to `{model}`: Triton requires it to equal the model folder"
            )),
        ),
        None => (
            format!("name: \"{model}\"\n{text}"),
            Some(format!("config.pbtxt had no name; `{model}` added")),
        ),
    }
}

/// The folder beside the repository root (same filesystem, never inside it: every folder in the
/// root would be a model) where trees are built before they are renamed in. Only computed: for
/// `status`, which reads.
pub fn staging_area_path(repo: &Path) -> Result<PathBuf, UserError> {
    let repo = repo
        .canonicalize()
        .map_err(|e| UserError::usage(format!("`{}`: {e}", repo.display())))?;
    let parent = repo
        .parent()
        .ok_or_else(|| UserError::usage("the Triton repository cannot be the filesystem root"))?;
    Ok(parent.join(format!(
        ".{}.llmops-staging",
        repo.file_name().and_then(|n| n.to_str()).unwrap_or("repo")
    )))
}

/// [`staging_area_path`], created, and checked to be on the repository's filesystem.
pub fn staging_area(repo: &Path) -> Result<PathBuf, UserError> {
    use std::os::unix::fs::MetadataExt;
    let area = staging_area_path(repo)?;
    std::fs::create_dir_all(&area).map_err(|e| {
        UserError::usage(format!("cannot create the staging folder `{}` beside the repository: {e}", area.display()))
            .with_hint("llmops stages Triton models next to the repository root, on the same filesystem; make its parent writable")
    })?;
    let device = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).ok();
    if device(&area) != device(repo) {
        return Err(UserError::usage(format!(
            "`{}` and the repository `{}` are on different filesystems; a rename between them would not be atomic",
            area.display(),
            repo.display()
        )));
    }
    Ok(area)
}

/// Checks the repository root is a writable folder, without creating anything in it: Triton
/// polling the repository would see any entry.
/// `kind` names the flag to fix: the dev repository for `register`, the prod one for `promote`.
pub fn check_repository(repo: &Path, kind: RootKind) -> Result<(), UserError> {
    let not_writable = |reason: String| {
        UserError::usage(format!(
            "the Triton repository `{}` is not writable: {reason}",
            repo.display()
        ))
        .with_hint(format!(
            "pass the {} model repository as `{}` (it must exist and be writable)",
            kind.name(),
            kind.flag()
        ))
    };
    if !repo.is_dir() {
        return Err(not_writable(
            "it does not exist or is not a directory".into(),
        ));
    }
    crate::safe_fs::check_writable_dir(repo).map_err(|e| not_writable(e.to_string()))
}

/// `built` holds `config.pbtxt` (maybe) and `<version>/`. A new model folder moves in whole; into an
/// existing one the version folder moves first (it is new), then `config.pbtxt` replaces the old
/// one by rename. Either way Triton never sees a partial folder.
pub fn move_into_repository(built: &Path, model_dir: &Path, version: &str) -> std::io::Result<()> {
    if !model_dir.exists() {
        std::fs::rename(built, model_dir)?;
    } else {
        let version_dir = model_dir.join(version);
        if version_dir.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} already exists; llmops never writes into a live version folder",
                    version_dir.display()
                ),
            ));
        }
        std::fs::rename(built.join(version), &version_dir)?;
        if built.join(CONFIG_FILE).exists() {
            std::fs::rename(built.join(CONFIG_FILE), model_dir.join(CONFIG_FILE))?;
        }
        let _ = std::fs::remove_dir_all(built);
    }
    std::fs::File::open(model_dir).and_then(|d| d.sync_all())?;
    Ok(())
}

/// A Triton version's files are `config.pbtxt` and `<N>/…`, nothing else.
pub fn stray_file<'a>(
    relatives: impl IntoIterator<Item = &'a str>,
    number: &str,
) -> Option<&'a str> {
    let prefix = format!("{number}/");
    relatives
        .into_iter()
        .find(|r| *r != CONFIG_FILE && !r.starts_with(&prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_repository_names_the_flag_of_the_role() {
        let missing = Path::new("/nonexistent/triton-repo");
        let dev = check_repository(missing, RootKind::Dev).unwrap_err();
        assert_eq!(
            dev.hint.as_deref(),
            Some("pass the dev model repository as `--dev-root` (it must exist and be writable)")
        );
        let prod = check_repository(missing, RootKind::Prod).unwrap_err();
        assert_eq!(
            prod.hint.as_deref(),
            Some("pass the prod model repository as `--prod-root` (it must exist and be writable)")
        );
    }

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    const PY_CONFIG: &str = "name: \"other\"\nbackend: \"python\"\nmax_batch_size: 0\ninput [\n  { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 4 ] }\n]\n";

    #[test]
    fn reads_a_triton_model_folder_and_rewrites_the_name() {
        let dir = folder(&[
            ("config.pbtxt", PY_CONFIG),
            ("1/model.py", "class TritonPythonModel: pass"),
        ]);
        let model = read_model_folder(dir.path(), "add_sub", None).unwrap();
        assert_eq!(model.backend, Backend::Python);
        assert!(model.version_source.ends_with("1"));
        let config = model.config.unwrap();
        assert!(config.starts_with("name: \"add_sub\"\n"), "{config}");
        assert!(
            config.contains("name: \"INPUT0\""),
            "nested names are untouched: {config}"
        );
        assert!(model.notes.iter().any(|n| n.contains("rewritten")));
    }

    #[test]
    fn each_rule_names_the_file() {
        type Files<'a> = Vec<(&'a str, &'a str)>;
        let cases: Vec<(Files, &str, &str)> = vec![
            (
                vec![("config.pbtxt", PY_CONFIG), ("01/model.py", "x")],
                "01",
                "positive integer without leading zeros",
            ),
            (
                vec![("config.pbtxt", PY_CONFIG), ("2.partial/model.py", "x")],
                "2.partial",
                "positive integer without leading zeros",
            ),
            (
                vec![
                    ("config.pbtxt", PY_CONFIG),
                    ("1/model.py", "x"),
                    ("2/model.py", "x"),
                ],
                "",
                "several version folders",
            ),
            (
                vec![("1/config.pbtxt", PY_CONFIG), ("1/model.py", "x")],
                "1/config.pbtxt",
                "inside a version folder is ignored",
            ),
            (
                vec![
                    ("config.pbtxt", "platform: \"onnxruntime_onnx\"\n"),
                    ("model.pt", "x"),
                ],
                "",
                "loads `model.onnx`",
            ),
            (
                vec![("weights.bin", "x")],
                "",
                "no model file Triton recognises",
            ),
            (
                vec![("model.py", "class TritonPythonModel: pass")],
                "",
                "cannot auto-complete one for the Python backend",
            ),
            (
                vec![("config.pbtxt", "backend: \"fancy\"\n"), ("model.x", "x")],
                "config.pbtxt",
                "not one llmops knows",
            ),
        ];
        for (files, path, rule) in cases {
            let dir = folder(&files);
            let error = read_model_folder(dir.path(), "m", None).unwrap_err();
            assert!(error.path.ends_with(path), "{files:?}: {error}");
            assert!(error.rule.contains(rule), "{files:?}: {error}");
        }
    }

    #[test]
    fn auto_completing_backends_need_no_config() {
        let dir = folder(&[("model.onnx", "x"), ("tokenizer.json", "{}")]);
        let model = read_model_folder(dir.path(), "bert", None).unwrap();
        assert_eq!((model.backend, model.config), (Backend::Onnx, None));
        let python = folder(&[("model.py", "def auto_complete_config(c): return c")]);
        assert_eq!(
            read_model_folder(python.path(), "p", None).unwrap().backend,
            Backend::Python
        );
    }

    #[test]
    fn names_and_versions() {
        assert!(is_version_name("1") && is_version_name("42"));
        for bad in ["0", "01", "2.partial", "", "-1", "v1"] {
            assert!(!is_version_name(bad), "{bad}");
        }
        assert!(validate_model_name("add_sub-2.onnx").is_ok());
        assert!(validate_model_name(".staging").is_err());
        assert!(validate_model_name("a b").is_err());
    }
}
