//! Governance on the MLflow 3 stack: promotion gates on metrics and tags logged the MLflow way,
//! a rollback of the alias, a prune that removes only what nothing serves, and the prod root's
//! audit log with one line per action. Dry runs change nothing (tree hash and version tags read
//! before and after).

use std::path::Path;

use serde_json::Value;

use crate::common::{sha256_of_file, unique};
use crate::stack::Stack;

fn stack() -> &'static Stack {
    Stack::shared("3")
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/data")
        .join(name)
}

/// Registers fixtures/tiny-model as a new version of `name`, published; returns its parent run.
fn register(name: &str, dev: &Path) -> String {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny-model");
    let output = stack()
        .llmops()
        .args([
            "register",
            fixture.to_str().unwrap(),
            "--name",
            name,
            "--publish",
        ])
        .args(["--dev-root", dev.to_str().unwrap(), "--output", "json"])
        .args([
            "--python-model",
            data("staged_files_model.py").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["parent_run_id"].as_str().unwrap().to_string()
}

/// Logs `metric = value` on the version's child run with the MLflow client, as an evaluation would.
fn log_metric(name: &str, version: u32, metric: &str, value: f64) {
    stack().python(
        &format!(
            "from mlflow import MlflowClient\n\
             c = MlflowClient()\n\
             run = c.get_model_version({name:?}, '{version}').run_id\n\
             c.log_metric(run, {metric:?}, {value}, step=1)\n"
        ),
        &[],
    );
}

fn llmops(args: &[&str], prod: &Path) -> std::process::Output {
    let stack = stack();
    stack
        .llmops()
        .args(args)
        .args(["--prod-root", prod.to_str().unwrap()])
        .env(
            "LLMOPS_ARTIFACTS_DESTINATION",
            stack.var("LLMOPS_ARTIFACTS_DESTINATION"),
        )
        .output()
        .unwrap()
}

fn ok(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// sha256 of every file under `dir` with its path: a change anywhere changes it.
fn tree_hash(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = walk(dir)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().display().to_string(),
                sha256_of_file(&p),
            )
        })
        .collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn tags(name: &str, version: u32) -> Value {
    stack().rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={name}&version={version}"
    ))["model_version"]["tags"]
        .clone()
}

fn audit_lines(prod: &Path) -> Vec<Value> {
    std::fs::read_to_string(prod.join(".llmops/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn gates_rollback_and_prune() {
    let name = unique("governed");
    let dev = tempfile::tempdir().unwrap();
    let prod = tempfile::tempdir().unwrap();
    let runs: Vec<String> = (1..=3).map(|_| register(&name, dev.path())).collect();
    log_metric(&name, 1, "accuracy", 0.84);
    log_metric(&name, 2, "accuracy", 0.90);
    log_metric(&name, 3, "accuracy", 0.80);
    let uri = |v: u32| format!("models:/{name}/{v}");

    // A failed gate: exit 1, a line per gate, nothing downloaded.
    let refused = llmops(
        &[
            "promote",
            &uri(1),
            "--require",
            "metric:accuracy >= 0.85",
            "--require",
            "tag:approved=yes",
        ],
        prod.path(),
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("2 of 2 promotion gates failed; nothing was downloaded"),
        "{stderr}"
    );
    assert!(
        stderr.contains("FAIL  metric:accuracy >= 0.85  0.84 (child run, step 1)"),
        "{stderr}"
    );
    assert!(stderr.contains("FAIL  tag:approved=yes"), "{stderr}");
    assert!(
        !prod.path().join("llm-models").exists(),
        "nothing was written"
    );

    // v1 then v2 pass their gates and take @champion in turn.
    ok(&llmops(
        &[
            "promote",
            &uri(1),
            "--require",
            "metric:accuracy >= 0.82",
            "--alias",
            "champion",
        ],
        prod.path(),
    ));
    ok(&llmops(
        &[
            "promote",
            &uri(2),
            "--require-better-than",
            "@champion:accuracy",
            "--alias",
            "champion",
        ],
        prod.path(),
    ));
    let gates = tags(&name, 2);
    let recorded = gates
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "llmops.promoted_gates")
        .unwrap();
    assert!(
        recorded["value"]
            .as_str()
            .unwrap()
            .contains("better than @champion:accuracy (0.9 against 0.84")
    );
    // v3 scores worse than the champion (v2): refused.
    let worse = llmops(
        &[
            "promote",
            &uri(3),
            "--require-better-than",
            "@champion:accuracy",
        ],
        prod.path(),
    );
    assert_eq!(worse.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&worse.stderr).contains(
        "FAIL  better than @champion:accuracy  0.8 against 0.9 of @champion (version 2)"
    ));

    // Dry runs change nothing: the prod tree and the tags are the same after.
    let (tree, tags_before) = (tree_hash(prod.path()), (tags(&name, 1), tags(&name, 2)));
    ok(&llmops(&["rollback", &name, "--dry-run"], prod.path()));
    ok(&llmops(
        &["prune", &name, "--keep", "0", "--dry-run"],
        prod.path(),
    ));
    assert_eq!(tree_hash(prod.path()), tree);
    assert_eq!((tags(&name, 1), tags(&name, 2)), tags_before);

    // Rollback: @champion back on v1, whose prod copy verifies.
    let rolled = ok(&llmops(
        &["rollback", &name, "--output", "json"],
        prod.path(),
    ));
    let rolled: Value = serde_json::from_str(&rolled).unwrap();
    assert_eq!(
        (
            rolled["from_version"].as_str(),
            rolled["to_version"].as_str()
        ),
        (Some("2"), Some("1"))
    );
    let holder = stack().rest_get(&format!(
        "/api/2.0/mlflow/registered-models/alias?name={name}&alias=champion"
    ));
    assert_eq!(holder["model_version"]["version"], "1");
    ok(&llmops(&["verify", &uri(1)], prod.path()));

    // Prune --keep 0: v2 goes (no alias, nothing needs it); v1 stays (aliased).
    let pruned: Value = serde_json::from_str(&ok(&llmops(
        &["prune", &name, "--keep", "0", "--output", "json"],
        prod.path(),
    )))
    .unwrap();
    let actions: Vec<(String, String)> = pruned["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("2".into(), "removed".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("1".into(), "kept: @champion points to it".into())),
        "{actions:?}"
    );
    assert!(!prod.path().join("llm-models").join(&runs[1]).exists());
    assert!(prod.path().join("llm-models").join(&runs[0]).is_dir());

    // The audit log: promote v1, promote v2, rollback, prune; one line each.
    let lines = audit_lines(prod.path());
    let kinds: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap(),
                l["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("promote", "1"),
            ("promote", "2"),
            ("rollback", "1"),
            ("prune", "2")
        ]
    );
    assert_eq!(lines[1]["alias_before"], "1");

    // lineage: the runs, the dataset and metric logged on them, the alias, every promotion.
    log_dataset(&name, 1, "support-tickets-2026-11");
    let seen: Value = serde_json::from_str(&ok(&llmops(
        &["lineage", &uri(1), "--output", "json"],
        prod.path(),
    )))
    .unwrap();
    assert_eq!(seen["aliases"], serde_json::json!(["champion"]));
    let child = seen["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "child")
        .unwrap();
    assert_eq!(child["metrics"], serde_json::json!([["accuracy", 0.84]]));
    assert_eq!(child["datasets"][0]["name"], "support-tickets-2026-11");
    assert_eq!(child["datasets"][0]["digest"], "d1g3st");
    let parent = seen["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "parent")
        .unwrap();
    assert_eq!(parent["run_id"], runs[0].as_str());
    let actions: Vec<&str> = seen["promotions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["promote", "rollback"]);
    assert_eq!(seen["promotions"][1]["replaced"], "2");
    let mermaid = ok(&llmops(
        &["lineage", &uri(1), "--format", "mermaid"],
        prod.path(),
    ));
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(
        mermaid.contains(&format!("version[\"models:/{name}/1\"]")),
        "{mermaid}"
    );
    assert!(mermaid.contains("-->|input of| run_child"), "{mermaid}");
}

/// Logs a dataset as an input of the version's child run, the MLflow way.
fn log_dataset(name: &str, version: u32, dataset: &str) {
    stack().python(
        &format!(
            "from mlflow import MlflowClient\n\
             from mlflow.entities import Dataset, DatasetInput\n\
             c = MlflowClient()\n\
             run = c.get_model_version({name:?}, '{version}').run_id\n\
             d = Dataset(name={dataset:?}, digest='d1g3st', source_type='s3', source='s3://data/{dataset}')\n\
             c.log_inputs(run, datasets=[DatasetInput(dataset=d)])\n"
        ),
        &[],
    );
}
