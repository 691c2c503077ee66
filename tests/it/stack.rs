//! The real servers: `scripts/stack` starts MLflow (2.x or 3.x) and moto (S3 + STS) on free loopback
//! ports, and CPU Tritons.
//!
//! Most tests share one stack per MLflow major version, started on first use ([`Stack::shared`])
//! and never dropped; each test registers models under its own names ([`crate::common::unique`]),
//! so parallel tests do not meet. Every stack is started with `--owner-pid <this process>
//! --remove-dir`: a watcher stops its servers and removes its folder when the test process exits,
//! however it exits (normally, on a panic, or killed with SIGKILL). Stacks a test needs for itself
//! (MLflow's basic-auth app, Tritons) are also stopped when dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A folder `scripts/stack` keeps a stack in: stack.env, pids, logs, the MLflow database.
struct StackDir {
    path: PathBuf,
    /// Stopped and removed on drop; a shared stack is never dropped (its watcher cleans up).
    owned: bool,
}

impl StackDir {
    fn new(owned: bool) -> StackDir {
        let path = tempfile::Builder::new()
            .prefix("llmops-stack-")
            .tempdir()
            .unwrap()
            .keep();
        StackDir { path, owned }
    }

    /// Runs `scripts/stack <command> --dir DIR --owner-pid <us> --remove-dir ARGS`; returns the
    /// variables of the env file it prints.
    fn start(&self, command: &str, args: &[&str], what: &str) -> HashMap<String, String> {
        let output = Command::new(script())
            .args([command, "--dir", self.path.to_str().unwrap()])
            .args([
                "--owner-pid",
                &std::process::id().to_string(),
                "--remove-dir",
            ])
            .args(args)
            .output()
            .expect("scripts/stack runs");
        assert!(
            output.status.success(),
            "{what} did not start (run `scripts/stack install --all`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let env_file = String::from_utf8(output.stdout).unwrap().trim().to_string();
        std::fs::read_to_string(&env_file)
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

impl Drop for StackDir {
    fn drop(&mut self) {
        if self.owned {
            let _ = Command::new(script())
                .args(["stop", "--dir", self.path.to_str().unwrap()])
                .output();
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stack")
}

pub struct Stack {
    dir: StackDir,
    pub env: HashMap<String, String>,
}

static MLFLOW_3: OnceLock<Stack> = OnceLock::new();
static MLFLOW_2: OnceLock<Stack> = OnceLock::new();

impl Stack {
    /// The stack of this test process for `mlflow` ("3" or "2"), started by the first test that
    /// asks. Panics with the script's output when it cannot start: the README's test command
    /// installs it (`scripts/stack install --all`).
    pub fn shared(mlflow: &str) -> &'static Stack {
        let cell = match mlflow {
            "3" => &MLFLOW_3,
            "2" => &MLFLOW_2,
            other => panic!("no MLflow {other} stack"),
        };
        cell.get_or_init(|| Stack::launch(mlflow, &[], false))
    }

    /// A stack of its own, with extra `scripts/stack start` flags (e.g. `--auth` for MLflow's
    /// basic-auth app); stopped when dropped.
    pub fn start_with(mlflow: &str, extra: &[&str]) -> Stack {
        Stack::launch(mlflow, extra, true)
    }

    fn launch(mlflow: &str, extra: &[&str], owned: bool) -> Stack {
        let dir = StackDir::new(owned);
        let mut args = vec!["--mlflow", mlflow];
        args.extend_from_slice(extra);
        let env = dir.start("start", &args, &format!("the MLflow {mlflow} stack"));
        Stack { dir, env }
    }

    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("stack.env has no {name}"))
    }

    pub fn tracking_uri(&self) -> &str {
        self.var("MLFLOW_TRACKING_URI")
    }

    /// The real binary with this stack's environment (MLflow URI and the IRSA variables) on top of
    /// the isolated one of [`crate::common::llmops`].
    pub fn llmops(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.llmops_std())
    }

    /// `llmops register <folder> --name <name> --dev-root <dev> --python-model <tests/it/data/…>
    /// --output json`: the registration every suite starts from; callers add their own flags.
    pub fn register(
        &self,
        folder: &Path,
        name: &str,
        dev: &Path,
        python_model: &str,
    ) -> assert_cmd::Command {
        let mut command = self.llmops();
        command
            .args(["register", folder.to_str().unwrap(), "--name", name])
            .args(["--dev-root", dev.to_str().unwrap(), "--output", "json"])
            .args([
                "--python-model",
                crate::common::test_data(python_model).to_str().unwrap(),
            ]);
        command
    }

    /// [`Stack::llmops`] as a std `Command`, for a child the test spawns and kills itself.
    pub fn llmops_std(&self) -> std::process::Command {
        let mut command = crate::common::llmops_std();
        command.envs(&self.env);
        // Fast retries in tests; the policy itself is unit-tested.
        command
            .env("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0.05")
            .env("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0");
        command
    }

    /// Runs Python code with the venv whose mlflow matches the server; returns stdout.
    pub fn python(&self, code: &str, extra_env: &[(&str, &str)]) -> String {
        self.run_python(self.var("LLMOPS_STACK_PYTHON"), code, extra_env)
    }

    /// Python with boto3, for looking into the S3 bucket with the IRSA credentials.
    pub fn s3_python(&self, code: &str) -> String {
        self.run_python(self.var("LLMOPS_STACK_S3_PYTHON"), code, &[])
    }

    fn run_python(&self, python: &str, code: &str, extra_env: &[(&str, &str)]) -> String {
        let output = Command::new(python)
            .args(["-c", code])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.dir.path)
            .envs(&self.env)
            .envs(extra_env.iter().copied())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "python failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// GET on the tracking server's REST API (through the Python venv's urllib, no client library).
    pub fn rest_get(&self, path_and_query: &str) -> serde_json::Value {
        let code = format!(
            "import json, os, urllib.request, urllib.error\n\
             try:\n    r = urllib.request.urlopen(os.environ['MLFLOW_TRACKING_URI'] + {path_and_query:?})\n    print(r.read().decode())\n\
             except urllib.error.HTTPError as e:\n    print(json.dumps({{'http_status': e.code}}))\n"
        );
        serde_json::from_str(self.python(&code, &[]).trim()).unwrap()
    }

    /// MLflow's REST API, asked with a JSON POST in the stack's Python, not through llmops.
    pub fn rest_post(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let code = format!(
            "import os, urllib.request\n\
             r = urllib.request.Request(os.environ['MLFLOW_TRACKING_URI'] + {path:?}, data={body:?}.encode(), headers={{'Content-Type': 'application/json'}})\n\
             print(urllib.request.urlopen(r).read().decode())\n",
            body = body.to_string()
        );
        serde_json::from_str(self.python(&code, &[]).trim()).unwrap()
    }
}

/// CPU Tritons of one test, in a folder of their own (no MLflow): stopped when dropped.
pub struct Tritons {
    dir: StackDir,
}

impl Tritons {
    pub fn new() -> Tritons {
        Tritons {
            dir: StackDir::new(true),
        }
    }

    /// Starts a Triton (`name`: `triton` or `triton-<x>`) on `repo` in `mode` (`explicit` or
    /// `poll`, rescanning every second); returns its URL.
    pub fn start(&self, name: &str, repo: &Path, mode: &str) -> String {
        let env = self.dir.start(
            "start-triton",
            &["--repo", repo.to_str().unwrap()]
                .into_iter()
                .chain(["--name", name, "--mode", mode, "--poll-secs", "1"])
                .collect::<Vec<_>>(),
            &format!("Triton {name}"),
        );
        let key = format!("LLMOPS_{}_URL", name.to_ascii_uppercase().replace('-', "_"));
        env.get(&key)
            .unwrap_or_else(|| panic!("stack.env has no {key}"))
            .clone()
    }
}
