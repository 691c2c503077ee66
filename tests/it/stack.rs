//! The real servers: `scripts/stack` starts MLflow (2.x or 3.x) and moto (S3 + STS) on free loopback
//! ports; the stack is stopped (by process group) when the value is dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Stack {
    pub dir: tempfile::TempDir,
    pub env: HashMap<String, String>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stack")
}

impl Stack {
    /// `mlflow`: "3" or "2". Panics with the script's output when the stack cannot start: the README's
    /// test command installs it (`scripts/stack install`).
    pub fn start(mlflow: &str) -> Stack {
        Stack::start_with(mlflow, &[])
    }

    /// With extra `scripts/stack start` flags, e.g. `--auth` for MLflow's basic-auth app.
    pub fn start_with(mlflow: &str, extra: &[&str]) -> Stack {
        let dir = tempfile::Builder::new()
            .prefix("llmops-stack-")
            .tempdir()
            .unwrap();
        let output = Command::new(script())
            .args([
                "start",
                "--dir",
                dir.path().to_str().unwrap(),
                "--mlflow",
                mlflow,
            ])
            .args(extra)
            .output()
            .expect("scripts/stack runs");
        assert!(
            output.status.success(),
            "the MLflow {mlflow} stack did not start (run `scripts/stack install --mlflow all`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let env_file = String::from_utf8(output.stdout).unwrap().trim().to_string();
        let env = std::fs::read_to_string(&env_file)
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Stack { dir, env }
    }

    /// Starts a Triton (`name`: `triton` or `triton-<x>`) on `repo`; returns its URL.
    pub fn start_triton(&mut self, name: &str, repo: &Path, mode: &str) -> String {
        let output = Command::new(script())
            .args([
                "start-triton",
                "--dir",
                self.dir.path().to_str().unwrap(),
                "--repo",
                repo.to_str().unwrap(),
            ])
            .args(["--name", name, "--mode", mode, "--poll-secs", "1"])
            .output()
            .expect("scripts/stack runs");
        assert!(
            output.status.success(),
            "Triton did not start (scripts/stack install --triton):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let env_file = String::from_utf8(output.stdout).unwrap().trim().to_string();
        for line in std::fs::read_to_string(env_file).unwrap().lines() {
            if let Some((k, v)) = line.split_once('=') {
                self.env.insert(k.to_string(), v.to_string());
            }
        }
        let key = format!("LLMOPS_{}_URL", name.to_ascii_uppercase().replace('-', "_"));
        self.var(&key).to_string()
    }

    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("stack.env has no {name}"))
    }

    pub fn tracking_uri(&self) -> &str {
        self.var("MLFLOW_TRACKING_URI")
    }

    /// The real binary with this stack's environment (MLflow URI and the IRSA variables).
    pub fn llmops(&self) -> assert_cmd::Command {
        let mut command = crate::common::llmops();
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
            .env("HOME", self.dir.path())
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
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop", "--dir", self.dir.path().to_str().unwrap()])
            .output();
    }
}
