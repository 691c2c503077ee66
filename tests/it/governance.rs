//! Governance on the MLflow 3 stack: promotion gates on metrics and tags logged the MLflow way,
//! a rollback of the alias, a prune that removes only what nothing serves, and the prod root's
//! audit log with one line per action. Dry runs change nothing (tree hash and version tags read
//! before and after).

use std::path::Path;

use serde_json::Value;

use crate::common::{json_of, sha256_of_file, tag, unique};
use crate::stack::Stack;

fn stack() -> &'static Stack {
    Stack::shared("3")
}

/// fixtures/tiny-model with a chat template that takes tools, as a fine-tune would ship it.
fn model_folder() -> tempfile::TempDir {
    let dir = crate::common::tiny_model_copy();
    std::fs::write(
        dir.path().join("chat_template.jinja"),
        "{% if tools %}<tools>{{ tools | tojson }}</tools> Answer a call as <tool_call>{\"name\": …}</tool_call>{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}",
    )
    .unwrap();
    dir
}

/// Registers `folder` as a new version of `name`, published; returns register's JSON report.
fn register(name: &str, folder: &Path, dev: &Path, extra: &[&str]) -> Value {
    let output = stack()
        .register(folder, name, dev, "context_model.py")
        .arg("--publish")
        .args(extra)
        .output()
        .unwrap();
    json_of(&output)
}

/// A dev root, a prod root and a project folder (where an `llmops.toml` would be), all empty.
fn places() -> (tempfile::TempDir, tempfile::TempDir, tempfile::TempDir) {
    (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    )
}

/// A training run as a training script leaves it, logged with the MLflow client in `experiment`:
/// the training data as an input (`mlflow.log_input`), and `accuracy` at steps 1 and 2 (the
/// last is `accuracy`). Returns the run id and the digest MLflow gave the dataset.
fn train(experiment: &str, run_name: &str, accuracy: f64) -> (String, String) {
    let printed = stack().python(
        &format!(
            "import json, mlflow, pandas as pd\n\
             mlflow.set_experiment({experiment:?})\n\
             with mlflow.start_run(run_name={run_name:?}) as run:\n\
             \x20   df = pd.DataFrame({{'prompt': ['a', 'b'], 'answer': ['x', 'y']}})\n\
             \x20   ds = mlflow.data.from_pandas(df, source='s3://data/tickets-2026-11.parquet', name='tickets-2026-11')\n\
             \x20   mlflow.log_input(ds, context='training')\n\
             \x20   mlflow.log_metric('accuracy', {accuracy} - 0.1, step=1)\n\
             \x20   mlflow.log_metric('accuracy', {accuracy}, step=2)\n\
             print(json.dumps([run.info.run_id, ds.digest]))\n"
        ),
        &[],
    );
    let line = printed.lines().last().unwrap();
    serde_json::from_str(line).unwrap()
}

/// The digest MLflow's own `MetaDataset` gives a dataset known by its name and URI.
fn meta_dataset_digest(name: &str, uri: &str) -> String {
    let printed = stack().python(
        &format!(
            "from mlflow.data.meta_dataset import MetaDataset\n\
             from mlflow.data.dataset_source_registry import resolve_dataset_source\n\
             print(MetaDataset(resolve_dataset_source({uri:?}), name={name:?}).digest)\n"
        ),
        &[],
    );
    printed.lines().last().unwrap().trim().to_string()
}

/// The logged model a version was registered from (`models:/m-<id>`).
fn logged_model_id(name: &str, version: u32) -> String {
    let source = stack().rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={name}&version={version}"
    ))["model_version"]["source"]
        .as_str()
        .unwrap()
        .to_string();
    source.strip_prefix("models:/").unwrap().to_string()
}

/// An evaluation run that logs `metric` against the version's logged model (MLflow 3's
/// `log_metric(…, model_id=…)`), at steps 1 and 3; the last is `value`.
fn evaluate(experiment: &str, name: &str, version: u32, metric: &str, value: f64) {
    let model_id = logged_model_id(name, version);
    stack().python(
        &format!(
            "import mlflow\n\
             mlflow.set_experiment({experiment:?})\n\
             with mlflow.start_run(run_name='eval'):\n\
             \x20   mlflow.log_metric({metric:?}, {value} + 0.5, step=1, model_id={model_id:?})\n\
             \x20   mlflow.log_metric({metric:?}, {value}, step=3, model_id={model_id:?})\n"
        ),
        &[],
    );
}

/// llmops with `--prod-root prod`, run in `cwd` (where the project's `llmops.toml` is).
fn llmops(args: &[&str], prod: &Path, cwd: &Path) -> std::process::Output {
    let stack = stack();
    stack
        .llmops()
        .current_dir(cwd)
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

/// stderr of a refusal (exit 1), with runs of spaces collapsed (the gate table pads its columns).
fn failed(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    stderr
        .lines()
        .map(|l| {
            l.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One model's release history on the shared MLflow 3 stack: three trained versions registered
/// with their lineage, a prod root, and a project folder whose `llmops.toml` holds a gate.
struct Release {
    name: String,
    dev: tempfile::TempDir,
    prod: tempfile::TempDir,
    project: tempfile::TempDir,
    model: tempfile::TempDir,
    registered: Vec<Value>,
    /// (run id, dataset digest MLflow gave) of each version's training run.
    trainings: Vec<(String, String)>,
}

impl Release {
    /// v1, v2 and v3, trained to accuracy 0.84, 0.90 and 0.80, each registered with `--source`,
    /// `--training-run` and `--dataset`; the project gates every promote on toxicity.
    fn trained() -> Release {
        let name = unique("governed");
        let project = tempfile::tempdir().unwrap();
        std::fs::write(
            project.path().join("llmops.toml"),
            format!("[gates.\"{name}\"]\nrequire = [\"metric:toxicity <= 0.05\"]\n"),
        )
        .unwrap();
        let mut release = Release {
            name,
            dev: tempfile::tempdir().unwrap(),
            prod: tempfile::tempdir().unwrap(),
            project,
            model: model_folder(),
            registered: Vec::new(),
            trainings: Vec::new(),
        };
        for (i, accuracy) in [0.84, 0.90, 0.80].into_iter().enumerate() {
            let (run, digest) = train(&release.name, &format!("train-v{}", i + 1), accuracy);
            let registered = register(
                &release.name,
                release.model.path(),
                release.dev.path(),
                &[
                    "--source",
                    "hf://llmops-tests/tiny-llama@0123abcd",
                    "--training-run",
                    &run,
                    "--dataset",
                    "eval-2026-11=s3://data/eval-2026-11.jsonl",
                ],
            );
            release.registered.push(registered);
            release.trainings.push((run, digest));
        }
        release
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        llmops(args, self.prod.path(), self.project.path())
    }

    fn uri(&self, version: u32) -> String {
        format!("models:/{}/{version}", self.name)
    }

    fn served(&self, version: usize) -> std::path::PathBuf {
        let parent = self.registered[version - 1]["parent_run_id"]
            .as_str()
            .unwrap();
        self.prod.path().join("llm-models").join(parent)
    }

    /// A failed gate (the flags' and the file's): exit 1, a line per gate, nothing written. Then
    /// the evaluations log toxicity, and v1 and v2 pass their gates and take @champion in turn.
    fn gates_refuse_then_admit(&self) {
        let stderr = failed(&self.run(&[
            "promote",
            &self.uri(1),
            "--require",
            "metric:accuracy >= 0.85",
            "--require",
            "tag:approved=yes",
        ]));
        assert!(
            stderr.contains("3 of 3 promotion gates failed; nothing was downloaded"),
            "{stderr}"
        );
        for row in [
            "FAIL metric:accuracy >= 0.85 0.84 (training run, step 2)",
            "FAIL tag:approved=yes none",
            "FAIL metric:toxicity <= 0.05 [llmops.toml] none",
        ] {
            assert!(stderr.contains(row), "{row}\n{stderr}");
        }
        assert!(
            tree_hash(self.prod.path()).is_empty(),
            "nothing was written"
        );

        for (v, toxicity) in [(1, 0.01), (2, 0.02), (3, 0.03)] {
            evaluate(&self.name, &self.name, v, "toxicity", toxicity);
        }
        ok(&self.run(&[
            "promote",
            &self.uri(1),
            "--require",
            "metric:accuracy >= 0.82",
            "--alias",
            "champion",
        ]));
        assert_eq!(
            tag(&tags(&self.name, 1), "llmops.promoted_gates"),
            Some(
                "metric:accuracy >= 0.82 (0.84 (training run, step 2)); \
                 metric:toxicity <= 0.05 [llmops.toml] (0.01 (logged model, step 3))"
            )
        );
        ok(&self.run(&[
            "promote",
            &self.uri(2),
            "--require-better-than",
            "@champion:accuracy",
            "--alias",
            "champion",
        ]));
    }

    /// The bad release: v3 scores worse than the champion (v2) and is refused; it goes to prod
    /// as a shadow copy without an alias, and a LoRA adapter trained on it is promoted beside it.
    fn bad_release_is_refused(&self) -> String {
        let stderr = failed(&self.run(&[
            "promote",
            &self.uri(3),
            "--require-better-than",
            "@champion:accuracy",
        ]));
        assert!(
            stderr.contains(
                "FAIL better than @champion:accuracy 0.8 against 0.9 of @champion (version 2)"
            ),
            "{stderr}"
        );
        assert!(!self.served(3).exists());
        ok(&self.run(&["promote", &self.uri(3)]));
        let adapter_name = format!("{}-lora", self.name);
        let mut config = crate::adapters::lora_config(8, &["q_proj", "v_proj"]);
        config["base_model_name_or_path"] = serde_json::json!("llmops-tests/tiny-llama");
        let modules = [
            ("q_proj", crate::adapters::Q),
            ("v_proj", crate::adapters::V),
        ];
        let adapter = crate::adapters::adapter_folder(&config, 8, &modules, 16);
        let base = self.uri(3);
        register(
            &adapter_name,
            adapter.path(),
            self.dev.path(),
            &["--base", &base],
        );
        ok(&self.run(&["promote", &format!("models:/{adapter_name}/1")]));
        adapter_name
    }

    /// Rollback puts @champion back on v1, whose prod copy verifies; prune --keep 1 removes v2
    /// only (v3 is the most recent and the adapter's base, v1 is aliased).
    fn rollback_and_prune(&self) {
        let rolled: Value =
            serde_json::from_str(&ok(&self.run(&["rollback", &self.name, "--output", "json"])))
                .unwrap();
        assert_eq!(
            (
                rolled["from_version"].as_str(),
                rolled["to_version"].as_str()
            ),
            (Some("2"), Some("1"))
        );
        let holder = stack().rest_get(&format!(
            "/api/2.0/mlflow/registered-models/alias?name={}&alias=champion",
            self.name
        ));
        assert_eq!(holder["model_version"]["version"], "1");
        ok(&self.run(&["verify", &self.uri(1)]));
        // Both versions record the move.
        for v in [1, 2] {
            let said = tag(&tags(&self.name, v), "llmops.rollback")
                .unwrap_or_default()
                .to_string();
            assert!(
                said.starts_with("@champion moved from version 2 to 1 by "),
                "{said}"
            );
        }

        let pruned: Value = serde_json::from_str(&ok(
            &self.run(&["prune", &self.name, "--keep", "1", "--output", "json"])
        ))
        .unwrap();
        assert_eq!(
            actions(&pruned),
            [
                // Also the most recent; the reason that holds whatever --keep says is the one given.
                (
                    "3".into(),
                    format!("kept: the base of adapter {}-lora/1", self.name)
                ),
                ("2".into(), "removed".into()),
                ("1".into(), "kept: @champion points to it".into()),
            ]
        );
        assert!(!self.served(2).exists());
        assert!(self.served(1).is_dir() && self.served(3).is_dir());
        assert!(tag(&tags(&self.name, 2), "llmops.pruned").is_some());
    }

    /// The audit log has one line per action, in order, and `status` reads the same history.
    fn history_is_one_line_per_action(&self, adapter_name: &str) {
        let lines = audit_lines(self.prod.path());
        let kinds: Vec<(&str, &str, &str)> = lines
            .iter()
            .map(|l| {
                (
                    l["action"].as_str().unwrap(),
                    l["name"].as_str().unwrap(),
                    l["version"].as_str().unwrap(),
                )
            })
            .collect();
        let name = self.name.as_str();
        assert_eq!(
            kinds,
            [
                ("promote", name, "1"),
                ("promote", name, "2"),
                ("promote", name, "3"),
                ("promote", adapter_name, "1"),
                ("rollback", name, "1"),
                ("prune", name, "2"),
            ]
        );
        assert_eq!(lines[1]["alias_before"], "1");
        // The gates v1 passed are in its line too, as on its tags.
        assert_eq!(
            lines[0]["gates"],
            serde_json::json!([
                "metric:accuracy >= 0.82 (0.84 (training run, step 2))",
                "metric:toxicity <= 0.05 [llmops.toml] (0.01 (logged model, step 3))"
            ])
        );
        let status: Value =
            serde_json::from_str(&ok(&self.run(&["status", name, "--output", "json"]))).unwrap();
        let last: Vec<(String, Value)> = status["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_str().unwrap().to_string(),
                    v["last_action"]["action"].clone(),
                )
            })
            .collect();
        assert_eq!(
            last,
            [
                ("3".to_string(), Value::from("promote")),
                ("2".to_string(), Value::from("prune")),
                ("1".to_string(), Value::from("rollback")),
            ]
        );
    }

    /// The template's tool-call format, recorded at register time, reaches `size` of the version.
    fn tool_parser_reaches_size(&self) {
        assert_eq!(
            tag(&tags(&self.name, 1), "llmops.tool_call_parser"),
            Some("hermes")
        );
        let sized = stack()
            .llmops()
            .args([
                "size",
                &self.uri(1),
                "--gpu",
                "L4",
                "--max-model-len",
                "4096",
            ])
            .args(["--output", "json"])
            .env(
                "LLMOPS_ARTIFACTS_DESTINATION",
                stack().var("LLMOPS_ARTIFACTS_DESTINATION"),
            )
            .output()
            .unwrap();
        let sized: Value = serde_json::from_str(&ok(&sized)).unwrap();
        assert_eq!(sized["tool_calling"]["parser"], "hermes");
        assert!(
            sized["vllm_args"]
                .as_str()
                .unwrap()
                .ends_with("--enable-auto-tool-choice --tool-call-parser hermes"),
            "{sized}"
        );
    }
}

/// A release, a bad release and a rollback: three trained versions with sources, training runs,
/// datasets and metrics logged the MLflow way; gates (flags and the project's llmops.toml);
/// `--require-better-than` refusing a worse v3; a LoRA adapter on v3; rollback; prune; lineage.
#[test]
fn release_bad_release_and_rollback() {
    let release = Release::trained();
    release.gates_refuse_then_admit();
    let adapter_name = release.bad_release_is_refused();
    dry_runs_change_nothing(&release.name, release.prod.path(), release.project.path());
    release.rollback_and_prune();
    release.history_is_one_line_per_action(&adapter_name);
    // The adapter's lineage names its base version.
    let adapter_lineage: Value = serde_json::from_str(&ok(&release.run(&[
        "lineage",
        &format!("models:/{adapter_name}/1"),
        "--output",
        "json",
    ])))
    .unwrap();
    assert_eq!(adapter_lineage["base"], release.uri(3).as_str());
    release.tool_parser_reaches_size();
    lineage_shows_each_link(&release);
}

fn actions(pruned: &Value) -> Vec<(String, String)> {
    pruned["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `rollback --dry-run` and `prune --dry-run` say what they would do, and change nothing: the
/// prod tree and the versions' tags are the same after.
fn dry_runs_change_nothing(name: &str, prod: &Path, cwd: &Path) {
    let tags_of_all = || (1..=3).map(|v| tags(name, v)).collect::<Vec<_>>();
    let (tree, tags_before) = (tree_hash(prod), tags_of_all());
    let audit_before = audit_lines(prod).len();
    let said = ok(&llmops(&["rollback", name, "--dry-run"], prod, cwd));
    assert!(said.contains("2") && said.contains("1"), "{said}");
    let would: Value = serde_json::from_str(&ok(&llmops(
        &[
            "prune",
            name,
            "--keep",
            "0",
            "--dry-run",
            "--output",
            "json",
        ],
        prod,
        cwd,
    )))
    .unwrap();
    assert_eq!(
        actions(&would),
        [
            (
                "3".into(),
                format!("kept: the base of adapter {name}-lora/1")
            ),
            ("2".into(), "kept: @champion points to it".into()),
            ("1".into(), "would remove".into()),
        ]
    );
    assert_eq!(tree_hash(prod), tree);
    assert_eq!(tags_of_all(), tags_before);
    assert_eq!(audit_lines(prod).len(), audit_before);
}

/// `lineage` of v1 after the rollback, field by field, against what the test itself logged and
/// computed: the source, the runs (child, parent, training) with their datasets and metrics, the
/// logged model with its metric, the chat template, and each promotion.
fn lineage_shows_each_link(release: &Release) {
    let (name, registered, model) = (
        release.name.as_str(),
        &release.registered[0],
        &release.model,
    );
    let (training_run, training_digest) = &release.trainings[0];
    let (prod, cwd) = (release.prod.path(), release.project.path());
    let seen: Value = serde_json::from_str(&ok(&llmops(
        &["lineage", &format!("models:/{name}/1"), "--output", "json"],
        prod,
        cwd,
    )))
    .unwrap();
    let parent = registered["parent_run_id"].as_str().unwrap();
    let folder = prod.join("llm-models").join(parent);
    let expected = serde_json::json!({
        "schema_version": 1,
        "name": name,
        "version": "1",
        "aliases": ["champion"],
        "source_model": "llmops-tests/tiny-llama",
        "source_revision": "0123abcd",
        "base": null,
        "logged_model_id": logged_model_id(name, 1),
        "logged_model_metrics": {"toxicity": 0.01},
        "manifest_digest": registered["manifest_digest"],
        "chat_template": {
            "sha256": sha256_of_file(&model.path().join("chat_template.jinja")),
            "tool_use": true,
        },
        "runs": [
            {
                "role": "child",
                "run_id": registered["child_run_id"],
                "run_name": format!("{name}-model"),
                "datasets": [],
                "metrics": {},
            },
            {
                "role": "parent",
                "run_id": parent,
                "run_name": format!("{name}-binaries"),
                "datasets": [{
                    "name": "eval-2026-11",
                    "digest": meta_dataset_digest("eval-2026-11", "s3://data/eval-2026-11.jsonl"),
                    "source_type": "s3",
                    "source": "{\"uri\": \"s3://data/eval-2026-11.jsonl\"}",
                    "context": "training",
                }],
                "metrics": {},
            },
            {
                "role": "training",
                "run_id": training_run,
                "run_name": "train-v1",
                "datasets": [{
                    "name": "tickets-2026-11",
                    "digest": training_digest,
                    "source_type": "s3",
                    "source": "{\"uri\": \"s3://data/tickets-2026-11.parquet\"}",
                    "context": "training",
                }],
                "metrics": {"accuracy": 0.84},
            },
        ],
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&seen[key], value, "lineage field `{key}`");
    }
    // Promotions: v1's own promote, then the rollback that put it back (replacing v2).
    let audit = audit_lines(prod);
    let promotions = seen["promotions"].as_array().unwrap();
    let fields = |p: &Value| {
        (
            p["action"].clone(),
            p["folder"].clone(),
            p["manifest_digest"].clone(),
            p["replaced"].clone(),
        )
    };
    assert_eq!(
        promotions.iter().map(fields).collect::<Vec<_>>(),
        [
            (
                "promote".into(),
                folder.to_str().unwrap().into(),
                registered["manifest_digest"].clone(),
                Value::Null
            ),
            (
                "rollback".into(),
                folder.to_str().unwrap().into(),
                registered["manifest_digest"].clone(),
                "2".into()
            ),
        ]
    );
    assert_eq!(promotions[0]["at"], audit[0]["at"]);
    assert_eq!(promotions[1]["at"], audit[4]["at"]);
    assert_eq!(promotions[0]["by"], audit[0]["by"]);
    let mermaid = ok(&llmops(
        &[
            "lineage",
            &format!("models:/{name}/1"),
            "--format",
            "mermaid",
        ],
        prod,
        cwd,
    ));
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    for line in [
        format!("  version[\"models:/{name}/1\"]"),
        "  source[\"hf://llmops-tests/tiny-llama@0123abcd\"]".to_string(),
        "  run_training2 -->|trained| run_parent".to_string(),
        "  run_parent_data0 -->|input of| run_parent".to_string(),
    ] {
        assert!(mermaid.contains(&line), "{line}\n{mermaid}");
    }
}

/// Every refusal of the governance commands, and of register's lineage flags, names the problem
/// (exit 2, a usage problem) and changes nothing.
#[test]
fn refusals_name_the_problem() {
    let name = unique("refused");
    let (dev, prod, project) = places();
    let (prod_path, cwd) = (prod.path(), project.path());
    let model = model_folder();
    let refused = |args: &[&str], message: &str| {
        let output = llmops(args, prod_path, cwd);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?}: `{message}` not in\n{stderr}"
        );
    };
    register_refuses_what_it_cannot_record(&name, model.path(), dev.path());

    register(&name, model.path(), dev.path(), &[]);
    let v = |n: u32| format!("models:/{name}/{n}");
    refused(
        &["rollback", &name],
        &format!("no version of `{name}` holds @champion: there is nothing to roll back"),
    );
    refused(
        &["promote", &v(1), "--require", "metric:accuracy >> 1"],
        "--require: `metric:accuracy >> 1` is not a gate",
    );
    refused(
        &[
            "promote",
            &v(1),
            "--require-better-than",
            "champion:accuracy",
        ],
        "--require-better-than: `champion:accuracy` is not `@<alias>:<metric>`",
    );
    std::fs::write(
        cwd.join("llmops.toml"),
        format!("[gates.\"{name}\"]\nrequire = [\"accuracy above 0.8\"]\n"),
    )
    .unwrap();
    refused(
        &["promote", &v(1)],
        "llmops.toml: `accuracy above 0.8` is not a gate",
    );
    std::fs::remove_file(cwd.join("llmops.toml")).unwrap();
    assert!(
        tree_hash(prod_path).is_empty(),
        "a refused promote writes nothing"
    );

    ok(&llmops(
        &["promote", &v(1), "--alias", "champion"],
        prod_path,
        cwd,
    ));
    refused(
        &["rollback", &name],
        "records no version @champion pointed to before version 1",
    );
    refused(
        &["rollback", &name, "--to", "1"],
        "@champion already points to version 1",
    );
    refused(
        &["rollback", &name, "--to", "9"],
        &format!("`models:/{name}/9` does not exist in the model registry"),
    );
    refused(
        &["prune", &format!("{name}-typo"), "--keep", "1"],
        &format!("registered model `{name}-typo` does not exist"),
    );
    refused(
        &["lineage", &v(9)],
        &format!("`models:/{name}/9` does not exist in the model registry"),
    );
}

const SHARD: &str = "model-00001-of-00002.safetensors";

/// Two versions of one model registered and promoted in turn with @champion (v2 holds it), then one
/// byte in the middle of v1's first shard flipped in prod: the start of each rollback test.
struct ChampionWithV1Damaged {
    name: String,
    /// The dev root register staged into, kept for the test's lifetime.
    _dev: tempfile::TempDir,
    prod: tempfile::TempDir,
    project: tempfile::TempDir,
    model: tempfile::TempDir,
    parents: Vec<String>,
    /// v1's damaged shard in prod.
    shard: std::path::PathBuf,
}

impl ChampionWithV1Damaged {
    fn new(subject: &str) -> ChampionWithV1Damaged {
        let name = unique(subject);
        let (dev, prod, project) = places();
        let model = model_folder();
        let parents: Vec<String> = (0..2)
            .map(|_| {
                register(&name, model.path(), dev.path(), &[])["parent_run_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        for v in ["1", "2"] {
            let uri = format!("models:/{name}/{v}");
            ok(&llmops(
                &["promote", &uri, "--alias", "champion"],
                prod.path(),
                project.path(),
            ));
        }
        let shard = prod.path().join("llm-models").join(&parents[0]).join(SHARD);
        let mut bytes = std::fs::read(&shard).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&shard, bytes).unwrap();
        ChampionWithV1Damaged {
            name,
            _dev: dev,
            prod,
            project,
            model,
            parents,
            shard,
        }
    }
}

/// A rollback to a version whose prod copy was damaged promotes it again before the alias moves,
/// and a prune leaves a folder whose promote holds the lock.
#[test]
fn rollback_repairs_the_copy_and_prune_waits_for_the_lock() {
    let damaged = ChampionWithV1Damaged::new("repaired");
    let (name, model, parents, shard) = (
        &damaged.name,
        &damaged.model,
        &damaged.parents,
        &damaged.shard,
    );
    let (prod_path, cwd) = (damaged.prod.path(), damaged.project.path());
    let run = |args: &[&str]| llmops(args, prod_path, cwd);

    // What a dry run of `rollback [extra]` says of the target's copy.
    let planned_copy = |extra: &[&str]| {
        let mut args = vec!["rollback", name, "--dry-run", "--output", "json"];
        args.extend_from_slice(extra);
        let planned: Value = serde_json::from_str(&ok(&run(&args))).unwrap();
        planned["prod_copy"].clone()
    };
    let tree = tree_hash(prod_path);
    assert_eq!(
        planned_copy(&[]),
        "would be promoted again (gone or damaged)"
    );
    assert_eq!(tree_hash(prod_path), tree, "a dry run repairs nothing");
    let rolled: Value =
        serde_json::from_str(&ok(&run(&["rollback", name, "--output", "json"]))).unwrap();
    assert_eq!(
        rolled["prod_copy"],
        "promoted again (it was gone or damaged)"
    );
    let original = model.path().join(SHARD);
    assert_eq!(sha256_of_file(shard), sha256_of_file(&original));
    ok(&run(&["verify", &format!("models:/{name}/1")]));

    // A file nobody registered beside v2's copy makes it unsound too: a rollback to it would
    // promote it again (the dry run says so and changes nothing).
    let foreign = prod_path
        .join("llm-models")
        .join(&parents[1])
        .join("0000-evil.bin");
    std::fs::write(&foreign, b"not registered").unwrap();
    assert_eq!(
        planned_copy(&["--to", "2"]),
        "would be promoted again (gone or damaged)"
    );
    std::fs::remove_file(&foreign).unwrap();

    // A promote of v2 holds its lock (another process, flock as llmops takes it): prune leaves it.
    let lock = prod_path
        .join(".llmops/locks")
        .join(format!("{}.lock", parents[1]));
    let mut holder = std::process::Command::new(stack().var("LLMOPS_STACK_PYTHON"))
        .args([
            "-c",
            "import fcntl, sys\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()\n",
            lock.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut said,
    )
    .unwrap();
    assert_eq!(said.trim(), "held");
    let output = run(&["prune", name, "--keep", "0", "--output", "json"]);
    let pruned: Value = serde_json::from_str(&ok(&output)).unwrap();
    // v1 was promoted again by the rollback, so it is listed first; it holds @champion.
    assert_eq!(
        actions(&pruned),
        [
            ("1".into(), "kept: @champion points to it".into()),
            ("2".into(), "kept: a promote holds its lock".into()),
        ]
    );
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("version 2 is being promoted (its lock is held): left in place")
    );
    assert!(prod_path.join("llm-models").join(&parents[1]).is_dir());
    drop(holder.stdin.take());
    holder.wait().unwrap();
    let pruned: Value = serde_json::from_str(&ok(&run(&[
        "prune", name, "--keep", "0", "--output", "json",
    ])))
    .unwrap();
    assert_eq!(actions(&pruned)[1], ("2".into(), "removed".into()));
    assert!(!prod_path.join("llm-models").join(&parents[1]).exists());
}

/// A rollback whose target copy cannot be made sound (damaged in prod, and its registered bytes
/// changed in S3 so promoting it again fails its checksum) exits 1 and moves nothing: the alias
/// stays, no version gets a rollback tag, the audit log gets no rollback line.
#[test]
fn a_rollback_that_cannot_repair_the_copy_leaves_the_alias() {
    let damaged = ChampionWithV1Damaged::new("unrepairable");
    let (name, parents) = (damaged.name.as_str(), &damaged.parents);
    let (prod_path, cwd) = (damaged.prod.path(), damaged.project.path());
    let run = |args: &[&str]| llmops(args, prod_path, cwd);
    let shard = SHARD;
    let run_info = stack().rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={}", parents[0]));
    let key = format!(
        "mlflow/{}/model/{shard}",
        run_info["run"]["info"]["artifact_uri"]
            .as_str()
            .unwrap()
            .trim_start_matches("mlflow-artifacts:/")
    );
    stack().s3_python(&format!(
        "import boto3, os\ns3 = boto3.client('s3')\nb = os.environ['LLMOPS_STACK_BUCKET']\n\
         body = bytearray(s3.get_object(Bucket=b, Key={key:?})['Body'].read())\n\
         body[len(body) // 2] ^= 0xFF\ns3.put_object(Bucket=b, Key={key:?}, Body=bytes(body))\n"
    ));
    let audit_before = audit_lines(prod_path).len();

    let output = run(&["rollback", name]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(shard), "{stderr}");
    let holder = stack().rest_get(&format!(
        "/api/2.0/mlflow/registered-models/alias?name={name}&alias=champion"
    ));
    assert_eq!(
        holder["model_version"]["version"], "2",
        "the alias did not move"
    );
    for v in [1, 2] {
        assert!(tag(&tags(name, v), "llmops.rollback").is_none(), "v{v}");
    }
    assert_eq!(audit_lines(prod_path).len(), audit_before, "no audit line");
}

/// register's lineage flags are checked before anything exists: each refusal names the flag, and
/// no run or version is left.
fn register_refuses_what_it_cannot_record(name: &str, model: &Path, dev: &Path) {
    let folder = model.to_str().unwrap();
    let register_with = |flag: &str, value: &str| {
        let output = stack()
            .llmops()
            .args(["register", folder, "--name", name, flag, value])
            .args(["--dev-root", dev.to_str().unwrap()])
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    for (flag, value, message) in [
        (
            "--training-run",
            "run-1",
            "--training-run `run-1` is not an MLflow run id",
        ),
        (
            "--training-run",
            "0123456789abcdef0123456789abcdef",
            "--training-run `0123456789abcdef0123456789abcdef` is not a run on this tracking server",
        ),
        (
            "--dataset",
            "tickets",
            "--dataset: `tickets` is not NAME=URI",
        ),
        (
            "--dataset",
            "tickets=ftp://x",
            "--dataset: `ftp://x` is not a dataset URI",
        ),
        (
            "--source",
            "meta-llama/Llama-3.1-8B",
            "--source: `meta-llama/Llama-3.1-8B` is not a source URI",
        ),
    ] {
        let (code, stderr) = register_with(flag, value);
        assert_eq!(code, Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(message), "{flag} {value}: {stderr}");
    }
    // None of those created a run or a version.
    let versions = stack().rest_get(&format!(
        "/api/2.0/mlflow/model-versions/search?filter=name%3D%27{name}%27"
    ));
    assert!(
        versions["model_versions"]
            .as_array()
            .is_none_or(|v| v.is_empty()),
        "{versions}"
    );
}

/// `lineage` follows the training run up its `mlflow.parentRunId` chain: a training run nested
/// under a hyper-parameter sweep (as `mlflow.start_run(nested=True)` leaves it) lists both.
#[test]
fn lineage_follows_the_training_chain() {
    let name = unique("chained");
    let printed = stack().python(
        &format!(
            "import json, mlflow\n\
             mlflow.set_experiment({name:?})\n\
             with mlflow.start_run(run_name='sweep') as sweep:\n\
             \x20   mlflow.log_metric('best_accuracy', 0.9)\n\
             \x20   with mlflow.start_run(run_name='trial-3', nested=True) as trial:\n\
             \x20       mlflow.log_metric('accuracy', 0.9)\n\
             print(json.dumps([sweep.info.run_id, trial.info.run_id]))\n"
        ),
        &[],
    );
    let (sweep, trial): (String, String) =
        serde_json::from_str(printed.lines().last().unwrap()).unwrap();
    let (dev, prod, project) = places();
    let model = model_folder();
    register(&name, model.path(), dev.path(), &["--training-run", &trial]);
    let seen: Value = serde_json::from_str(&ok(&llmops(
        &["lineage", &format!("models:/{name}/1"), "--output", "json"],
        prod.path(),
        project.path(),
    )))
    .unwrap();
    let training: Vec<(Value, Value, Value)> = seen["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "training")
        .map(|r| {
            (
                r["run_id"].clone(),
                r["run_name"].clone(),
                r["metrics"].clone(),
            )
        })
        .collect();
    assert_eq!(
        training,
        [
            (
                Value::from(trial),
                Value::from("trial-3"),
                serde_json::json!({"accuracy": 0.9})
            ),
            (
                Value::from(sweep),
                Value::from("sweep"),
                serde_json::json!({"best_accuracy": 0.9})
            ),
        ]
    );
}
