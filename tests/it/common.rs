use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/models")
        .join(name)
}

/// Prefixes of the variables llmops, its libraries or Domino read: none may come from the caller.
pub const CALLER_PREFIXES: &[&str] = &["LLMOPS_", "VLLM_", "MLFLOW_", "AWS_", "DOMINO_", "XDG_"];

/// Empty folders of this test process: the binary's HOME and current directory, in
/// `$CARGO_TARGET_TMPDIR/isolation-<pid>/` (those of test processes that are gone are removed when
/// the next one starts).
pub struct Isolation {
    /// `HOME`: no `~/.aws`, no `~/.config/llmops`.
    pub home: PathBuf,
    /// The current directory: no `./llmops.toml`.
    pub cwd: PathBuf,
    /// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`: never created.
    pub no_aws_file: PathBuf,
}

pub static ISOLATION: LazyLock<Isolation> = LazyLock::new(|| {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for entry in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("isolation-")
            && pid.parse::<u32>().is_ok()
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let root = tmp.join(format!("isolation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (home, cwd) = (root.join("home"), root.join("cwd"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    Isolation {
        no_aws_file: root.join("no-aws-file"),
        home,
        cwd,
    }
});

/// Makes `command` blind to the caller's environment: every variable with a prefix in
/// [`CALLER_PREFIXES`] removed, `HOME` an empty folder, the current directory another one, the AWS
/// config and credentials files nonexistent, no instance metadata (IMDS) credentials. Tests pass
/// absolute paths, or set their own `current_dir` after this.
pub fn isolate(command: &mut std::process::Command) {
    for (name, _) in std::env::vars_os() {
        if let Some(text) = name.to_str()
            && CALLER_PREFIXES.iter().any(|p| text.starts_with(p))
        {
            command.env_remove(&name);
        }
    }
    let isolation = &*ISOLATION;
    command
        .current_dir(&isolation.cwd)
        .env("HOME", &isolation.home)
        .env("XDG_CONFIG_HOME", isolation.home.join(".config"))
        .env("AWS_CONFIG_FILE", &isolation.no_aws_file)
        .env("AWS_SHARED_CREDENTIALS_FILE", &isolation.no_aws_file)
        // Nor credentials from the machine (an EC2 CI runner's instance role).
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
}

/// The real binary as a std `Command`, isolated (see [`isolate`]): for children a test spawns and
/// kills itself.
pub fn llmops_std() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmops"));
    isolate(&mut command);
    command
}

/// The real binary with an environment that cannot leak the developer's settings into a test.
pub fn llmops() -> Command {
    Command::from_std(llmops_std())
}

/// `<subject>-<n>`: a registered model name (and so experiment name) no other test of this process
/// uses, for tests that share a stack.
pub fn unique(subject: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("{subject}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Every file under `root` (symlinks followed), relative path with `/` → sha256, by a walk of its
/// own and the `sha2` crate: an expectation that does not come from the code under test.
pub fn tree_digests(root: &Path) -> std::collections::BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut std::collections::BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let relative = format!("{prefix}{name}");
            let path = entry.path();
            if path.is_dir() {
                walk(&path, &format!("{relative}/"), out);
            } else {
                out.insert(relative, sha256_of_file(&path));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, "", &mut out);
    out
}

/// sha256 of a file's bytes, lower-case hex, with the `sha2` crate.
pub fn sha256_of_file(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Every file of `a` is in `b` with the same bytes, and nothing else is.
pub fn assert_same_tree(a: &Path, b: &Path) {
    assert_eq!(
        tree_digests(a),
        tree_digests(b),
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

/// Runs `llmops size … --output json` and parses stdout.
pub fn size_json(args: &[&str]) -> (serde_json::Value, i32) {
    let output = llmops()
        .arg("size")
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (value, output.status.code().unwrap())
}

pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// `actual` within `tolerance` (a fraction) of `expected`.
pub fn assert_close(what: &str, actual: f64, expected: f64, tolerance: f64) {
    let error = (actual - expected).abs() / expected.abs();
    assert!(
        error <= tolerance,
        "{what}: {actual} is {:.3}% from {expected} (allowed {:.3}%)",
        error * 100.0,
        tolerance * 100.0
    );
}

/// The value of `key` in an MLflow tag list (`[{"key": …, "value": …}]`).
pub fn tag<'a>(tags: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    tags.as_array()?.iter().find(|t| t["key"] == key)?["value"].as_str()
}

/// A file under `tests/it/data`.
pub fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/data")
        .join(name)
}

/// The stdout of a command that must have succeeded, as one JSON document.
pub fn json_of(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

/// A fresh copy of fixtures/tiny-model (config, tokenizer, two small shards) to add files to.
pub fn tiny_model_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny-model");
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}
