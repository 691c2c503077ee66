//! One configuration: flags > environment > ./llmops.toml > $XDG_CONFIG_HOME/llmops/config.toml >
//! defaults, tested layer by layer through a setting every user repeats (the default GPU).

use predicates::prelude::*;

use crate::common::{fixture, llmops};

struct Layers {
    dir: tempfile::TempDir,
}

impl Layers {
    fn new(project: Option<&str>, user: Option<&str>) -> Layers {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = project {
            std::fs::write(dir.path().join("llmops.toml"), text).unwrap();
        }
        if let Some(text) = user {
            std::fs::create_dir_all(dir.path().join("xdg/llmops")).unwrap();
            std::fs::write(dir.path().join("xdg/llmops/config.toml"), text).unwrap();
        }
        Layers { dir }
    }

    fn llmops(&self) -> assert_cmd::Command {
        let mut command = llmops();
        command
            .current_dir(self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"));
        command
    }

    fn gpu(&self, extra: &[&str], env: Option<&str>) -> String {
        let mut command = self.llmops();
        command
            .arg("size")
            .arg(fixture("qwen3-8b"))
            .args(["--max-model-len", "4096", "--output", "json"])
            .args(extra);
        if let Some(gpu) = env {
            command.env("LLMOPS_GPU", gpu);
        }
        let output = command.output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
        report["gpu"]["name"].as_str().unwrap().to_string()
    }
}

#[test]
fn each_layer_wins_over_the_next() {
    assert_eq!(
        Layers::new(None, None).gpu(&[], None),
        "H100-80GB",
        "default"
    );
    let user = Layers::new(None, Some("gpu = \"T4\"\n"));
    assert_eq!(user.gpu(&[], None), "T4", "user file over default");
    let project = Layers::new(Some("gpu = \"L4\"\n"), Some("gpu = \"T4\"\n"));
    assert_eq!(project.gpu(&[], None), "L4", "project file over user file");
    assert_eq!(
        project.gpu(&[], Some("A10G")),
        "A10G",
        "environment over files"
    );
    assert_eq!(
        project.gpu(&["--gpu", "B200"], Some("A10G")),
        "B200",
        "flag over environment"
    );
}

#[test]
fn config_show_says_where_each_value_came_from() {
    let layers = Layers::new(
        Some("gpu = \"L4\"\ntracking_uri = \"http://mlflow.project:5000\"\n"),
        Some("gpu = \"T4\"\nconcurrency = 8\n"),
    );
    let output = layers
        .llmops()
        .args(["config", "show"])
        .env("LLMOPS_DEV_ROOT", "/data/dev")
        .env("MLFLOW_TRACKING_TOKEN", "s3cr3t-token")
        .output()
        .unwrap();
    assert!(output.status.success());
    let shown = String::from_utf8(output.stdout)
        .unwrap()
        .replace(layers.dir.path().to_str().unwrap(), "[TMP]");
    let rows: Vec<Vec<String>> = shown
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| key"))
        .map(|l| {
            l.split('|')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    let expected_rows = [
        [
            "tracking_uri",
            "MLFLOW_TRACKING_URI",
            "http://mlflow.project:5000",
            "llmops.toml",
        ],
        [
            "artifacts_destination",
            "LLMOPS_ARTIFACTS_DESTINATION",
            "-",
            "default",
        ],
        ["dev_root", "LLMOPS_DEV_ROOT", "/data/dev", "environment"],
        ["prod_root", "LLMOPS_PROD_ROOT", "-", "default"],
        ["dev_dataset", "LLMOPS_DEV_DATASET", "-", "default"],
        ["prod_dataset", "LLMOPS_PROD_DATASET", "-", "default"],
        ["gpu", "LLMOPS_GPU", "L4", "llmops.toml"],
        ["vllm_version", "LLMOPS_VLLM_VERSION", "-", "default"],
        ["triton_url", "LLMOPS_TRITON_URL", "-", "default"],
        [
            "concurrency",
            "LLMOPS_CONCURRENCY",
            "8",
            "[TMP]/xdg/llmops/config.toml",
        ],
    ];
    assert_eq!(rows, expected_rows.map(|r| r.map(str::to_string).to_vec()));
    assert!(
        shown.contains("MLFLOW_TRACKING_TOKEN set (hidden)"),
        "{shown}"
    );
    assert!(
        !shown.contains("s3cr3t-token"),
        "a secret was printed: {shown}"
    );
}

#[test]
fn bad_files_name_the_file_and_the_key() {
    Layers::new(Some("colour = \"blue\"\n"), None)
        .llmops()
        .args(["config", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`llmops.toml`: unknown key `colour`",
        ));
    Layers::new(None, Some("tracking_token = \"x\"\n"))
        .llmops()
        .args(["size", "whatever"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`tracking_token` is a secret and is never read from a file",
        ));
    Layers::new(Some("gpu = [1, 2]\n"), None)
        .llmops()
        .args(["config", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`gpu` must be a string or an integer",
        ));
    // A gates table with a key it does not take: every command refuses, naming what it takes.
    Layers::new(
        Some("[gates.\"support-bot\"]\nrequires = [\"metric:accuracy >= 0.8\"]\n"),
        None,
    )
    .llmops()
    .args(["config", "show"])
    .assert()
    .code(2)
    .stderr(predicate::str::contains(
        "[gates.\"<model>\"] takes require = [",
    ))
    .stderr(predicate::str::contains("unknown field `requires`"));
}
