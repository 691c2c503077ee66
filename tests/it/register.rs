//! `register` and `publish` end to end against real MLflow 3.17.2 and 2.22.5 servers with S3 (moto)
//! behind them, the registered model loaded by the real `mlflow.pyfunc.load_model`, and the failure
//! modes: server down, transient 503s, unwritable dev root, missing config.json, bad name, and a
//! failure after the runs exist.
//!
//! Each scenario runs against both servers: `register::mlflow3::<scenario>` and
//! `register::mlflow2::<scenario>`, on the shared stack of that version, under its own model names.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value;

use crate::common::{llmops, sha256_hex, sha256_of_file, tag, unique};
use crate::fault_proxy::{Fault, FaultProxy};
use crate::stack::Stack;

/// A server version the scenarios run against.
struct Mlflow {
    major: &'static str,
    version: &'static str,
}

const MLFLOW_3: Mlflow = Mlflow {
    major: "3",
    version: "3.17.2",
};
const MLFLOW_2: Mlflow = Mlflow {
    major: "2",
    version: "2.22.5",
};

impl Mlflow {
    fn stack(&self) -> &'static Stack {
        let stack = Stack::shared(self.major);
        assert_eq!(stack.var("LLMOPS_STACK_MLFLOW_VERSION"), self.version);
        stack
    }
}

/// One `#[test]` per scenario and server: `mlflow3::<scenario>` and `mlflow2::<scenario>`.
macro_rules! against_both_servers {
    ($($scenario:ident),* $(,)?) => {
        mod mlflow3 {
            $(#[test]
            fn $scenario() {
                super::$scenario(&super::MLFLOW_3);
            })*
        }
        mod mlflow2 {
            $(#[test]
            fn $scenario() {
                super::$scenario(&super::MLFLOW_2);
            })*
        }
    };
}

against_both_servers!(
    register_stages_logs_and_registers,
    publish_uploads_the_staged_bytes_once,
    failure_after_runs_exist_marks_them_failed,
    a_failure_after_the_version_exists_deletes_it,
    a_name_with_an_apostrophe_is_found_again,
    transient_503s_are_retried,
    checks_come_before_any_run,
);

/// fixtures/tiny-model copied, with one file turned into a symlink into a `blobs/` folder, the way a
/// Hugging Face cache snapshot is laid out.
fn model_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let snapshot = root.path().join("snapshot");
    let blobs = root.path().join("blobs");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(&blobs).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny-model");
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "tokenizer.json" {
            std::fs::copy(entry.path(), blobs.join("0f3a9c")).unwrap();
            std::os::unix::fs::symlink(blobs.join("0f3a9c"), snapshot.join(&name)).unwrap();
        } else {
            std::fs::copy(entry.path(), snapshot.join(&name)).unwrap();
        }
    }
    root
}

fn snapshot(root: &tempfile::TempDir) -> PathBuf {
    root.path().join("snapshot")
}

fn test_model_code() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/staged_files_model.py")
}

/// The files of [`model_folder`]'s snapshot.
const EXPECTED_FILES: [&str; 8] = [
    "README.md",
    "config.json",
    "generation_config.json",
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
];

/// `llmops register <snapshot> --name <name> --dev-root <dev> --python-model … --output json` with
/// `extra` arguments; the report.
fn register(
    stack: &Stack,
    model: &tempfile::TempDir,
    name: &str,
    dev: &Path,
    extra: &[&str],
) -> Value {
    let output = stack
        .llmops()
        .args([
            "register",
            snapshot(model).to_str().unwrap(),
            "--name",
            name,
            "--output",
            "json",
        ])
        .args([
            "--dev-root",
            dev.to_str().unwrap(),
            "--python-model",
            test_model_code().to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "register failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

/// The artifact root of a run, relative to the artifact store (`<experiment>/<run>/artifacts`).
fn artifact_root(stack: &Stack, run: &str) -> String {
    let got = stack.rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={run}"));
    got["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("mlflow-artifacts:/")
        .to_string()
}

/// The text of the manifest logged to the parent run, through the tracking server.
fn logged_manifest(stack: &Stack, parent: &str) -> String {
    let root = artifact_root(stack, parent);
    stack.python(
        &format!(
            "import os, sys, urllib.request\n\
             sys.stdout.buffer.write(urllib.request.urlopen(os.environ['MLFLOW_TRACKING_URI'] + '/api/2.0/mlflow-artifacts/artifacts/{root}/llmops/manifest.json').read())"
        ),
        &[],
    )
}

/// `key -> sha256` of the objects under `prefix` in the stack's bucket, read by boto3.
fn s3_listing(stack: &Stack, prefix: &str) -> Value {
    let code = format!(
        "import boto3, hashlib, json, os\n\
         s3 = boto3.client('s3')\n\
         out = {{}}\n\
         for page in s3.get_paginator('list_objects_v2').paginate(Bucket=os.environ['LLMOPS_STACK_BUCKET'], Prefix={prefix:?}):\n\
         \x20   for o in page.get('Contents', []):\n\
         \x20       body = s3.get_object(Bucket=os.environ['LLMOPS_STACK_BUCKET'], Key=o['Key'])['Body'].read()\n\
         \x20       out[o['Key'][len({prefix:?}):]] = hashlib.sha256(body).hexdigest()\n\
         print(json.dumps(out))\n"
    );
    serde_json::from_str(stack.s3_python(&code).trim()).unwrap()
}

/// Register without publishing: staged in dev (the symlink followed), the runs, their tags and the
/// manifest in MLflow, the version registered from the child with tags summarising the manifest, the
/// real MLflow loader sees the staged files, and nothing under the parent's model/ in S3.
fn register_stages_logs_and_registers(mlflow: &Mlflow) {
    let stack = mlflow.stack();
    let model = model_folder();
    let dev = tempfile::tempdir().unwrap();
    let name = unique("registered");
    let report = register(
        stack,
        &model,
        &name,
        dev.path(),
        &[
            "--tag",
            "team=nlp",
            "--description",
            "tiny test model",
            "--gpu",
            "L4",
            "--max-model-len",
            "8192",
        ],
    );
    let parent = report["parent_run_id"].as_str().unwrap().to_string();
    let child = report["child_run_id"].as_str().unwrap().to_string();
    assert_eq!(report["version"], "1");
    assert_eq!(report["published"], false);
    let staged = dev.path().join("llm-models").join(&parent);
    assert_eq!(report["staged_path"], staged.to_str().unwrap());

    // The staged copy: the tree, the symlink followed into a real file, the same bytes.
    for file in EXPECTED_FILES {
        assert_eq!(
            sha256_of_file(&staged.join(file)),
            sha256_of_file(&snapshot(&model).join(file)),
            "{file}"
        );
    }
    assert!(
        !std::fs::symlink_metadata(staged.join("tokenizer.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // The real MLflow loader: the model sees the parent run id and the staged files.
    let predicted = stack.python(
        &format!("import mlflow\nm = mlflow.pyfunc.load_model('models:/{name}/1')\nprint(m.predict(['hello'])[0])"),
        &[("LOCAL_ROOT_FOLDER", dev.path().to_str().unwrap()), ("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")],
    );
    let predicted: Value = serde_json::from_str(predicted.trim().lines().last().unwrap()).unwrap();
    assert_eq!(predicted["run_id"], parent.as_str());
    assert_eq!(predicted["files"], serde_json::json!(EXPECTED_FILES));

    // The manifest logged to the parent run lists the source files, hashed here; its digest is
    // the sha256 of its bytes.
    let manifest_text = logged_manifest(stack, &parent);
    let manifest_digest = sha256_hex(manifest_text.as_bytes());
    let manifest: Value = serde_json::from_str(&manifest_text).unwrap();
    let entries = manifest["files"].as_array().unwrap();
    assert_eq!(entries.len(), EXPECTED_FILES.len());
    for (entry, file) in entries.iter().zip(EXPECTED_FILES) {
        let source = snapshot(&model).join(file);
        assert_eq!(entry["path"], file);
        assert_eq!(entry["sha256"], sha256_of_file(&source), "{file}");
        let blake3 = blake3::hash(&std::fs::read(&source).unwrap()).to_hex();
        assert_eq!(entry["blake3"], blake3.as_str(), "{file}");
        assert_eq!(entry["size"], std::fs::metadata(&source).unwrap().len());
    }
    assert_eq!(report["manifest_digest"], manifest_digest.as_str());

    // Runs and their tags.
    let parent_run = stack.rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={parent}"));
    let child_run = stack.rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={child}"));
    assert_eq!(parent_run["run"]["info"]["status"], "FINISHED");
    assert_eq!(child_run["run"]["info"]["status"], "FINISHED");
    assert_eq!(
        tag(&child_run["run"]["data"]["tags"], "mlflow.parentRunId"),
        Some(parent.as_str())
    );
    assert_eq!(
        tag(&parent_run["run"]["data"]["tags"], "llmops.role"),
        Some("parent")
    );
    assert_eq!(tag(&parent_run["run"]["data"]["tags"], "team"), Some("nlp"));
    assert_eq!(
        tag(&parent_run["run"]["data"]["tags"], "llmops.manifest_digest"),
        Some(manifest_digest.as_str())
    );

    // The version: registered from the child, its tags summarise the manifest.
    let version = stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={name}&version=1"
    ));
    let version = &version["model_version"];
    assert_eq!(version["run_id"], child.as_str());
    let source = version["source"].as_str().unwrap();
    if mlflow.major == "3" {
        assert_is_logged_model(stack, source, &child, &parent, &manifest_digest);
    } else {
        assert!(
            source.ends_with(&format!("{child}/artifacts/model")),
            "{source}"
        );
    }
    let tags = &version["tags"];
    assert_eq!(tag(tags, "llmops.parent_run_id"), Some(parent.as_str()));
    assert_eq!(tag(tags, "llmops.published"), Some("false"));
    assert_eq!(tag(tags, "llmops.file_count"), Some("8"));
    let source_bytes: u64 = EXPECTED_FILES
        .iter()
        .map(|f| std::fs::metadata(snapshot(&model).join(f)).unwrap().len())
        .sum();
    assert_eq!(
        tag(tags, "llmops.total_bytes"),
        Some(source_bytes.to_string().as_str())
    );
    assert_eq!(
        tag(tags, "llmops.manifest_digest"),
        Some(manifest_digest.as_str())
    );
    assert_eq!(tag(tags, "llmops.architecture"), Some("LlamaForCausalLM"));
    // Llama-3.2-1B's published parameter count (the config is its; the tensors are tiny).
    assert_eq!(tag(tags, "llmops.params"), Some("1235814400"));
    assert_eq!(tag(tags, "team"), Some("nlp"));
    // The sizing verdict recorded by --gpu: the weights are ~57 KB, so nearly all of an L4's
    // 24,152,899,584 bytes within vLLM's budget (× 0.92) go to the KV cache, less activations (the
    // L4's default 2,048 batched tokens × 2,048 hidden × 2 bytes, and 3.73 copies of 256 sequences
    // × 128,256 float32 logits: 0.46 GiB), 0.87 GiB non-torch memory (0.27, and the 0.6 GiB
    // allocator reserve vLLM 0.27+ charges) and 0.29 + 0.0176 × 16 × 84/100 = 0.53 GiB of CUDA
    // graphs (256 sequences: 51 piecewise and 35 full graphs): ~20.22 GB; at Llama-3.2-1B's 32,768
    // bytes per token (16 layers × 8 KV heads × 64 dims × K and V × 2 bytes) that is 617,136 tokens
    // in whole 16-token blocks.
    assert_eq!(tag(tags, "llmops.size.gpu"), Some("L4"));
    assert_eq!(tag(tags, "llmops.size.fits"), Some("true"));
    assert_eq!(tag(tags, "llmops.size.max_model_len"), Some("8192"));
    assert_eq!(tag(tags, "llmops.size.kv_tokens"), Some("617136"));

    // Nothing under the parent's model/ in S3 until publish.
    let model_prefix = format!("mlflow/{}/model/", artifact_root(stack, &parent));
    assert_eq!(s3_listing(stack, &model_prefix), serde_json::json!({}));
}

/// MLflow 3: the version's source is a logged model (`models:/m-<id>`) produced by the child run,
/// listed among the child's outputs and by the experiment's logged-model search, READY, and tagged
/// with the parent run and the manifest digest.
fn assert_is_logged_model(stack: &Stack, source: &str, child: &str, parent: &str, digest: &str) {
    let model_id = source
        .strip_prefix("models:/")
        .filter(|id| id.starts_with("m-") && id.len() == 34)
        .unwrap_or_else(|| panic!("the source is not a logged model: {source}"));
    let child_run = stack.rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={child}"));
    assert_eq!(
        child_run["run"]["outputs"]["model_outputs"],
        serde_json::json!([{ "model_id": model_id, "step": 0 }])
    );
    let experiment = child_run["run"]["info"]["experiment_id"].clone();
    let found = stack.rest_post(
        "/api/2.0/mlflow/logged-models/search",
        &serde_json::json!({ "experiment_ids": [experiment] }),
    );
    let models = found["models"].as_array().unwrap();
    let model = models
        .iter()
        .find(|m| m["info"]["model_id"] == model_id)
        .unwrap_or_else(|| panic!("logged-models/search does not list {model_id}: {found}"));
    assert_eq!(model["info"]["status"], "LOGGED_MODEL_READY");
    assert_eq!(model["info"]["source_run_id"], child);
    let tags = &model["info"]["tags"];
    assert_eq!(tag(tags, "llmops.parent_run_id"), Some(parent));
    assert_eq!(tag(tags, "llmops.manifest_digest"), Some(digest));
}

/// Publish into the same parent run: the S3 objects then have the source's bytes, the version says
/// so; publishing twice is a no-op that says so; an unknown alias is a usage error.
fn publish_uploads_the_staged_bytes_once(mlflow: &Mlflow) {
    let stack = mlflow.stack();
    let model = model_folder();
    let dev = tempfile::tempdir().unwrap();
    let name = unique("published");
    let report = register(stack, &model, &name, dev.path(), &[]);
    let parent = report["parent_run_id"].as_str().unwrap().to_string();
    let model_prefix = format!("mlflow/{}/model/", artifact_root(stack, &parent));
    assert_eq!(s3_listing(stack, &model_prefix), serde_json::json!({}));

    let output = stack
        .llmops()
        .args([
            "publish",
            &format!("models:/{name}/1"),
            "--dev-root",
            dev.path().to_str().unwrap(),
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "publish failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let published: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(published["already_published"], false);
    assert_eq!(published["parent_run_id"], parent.as_str());
    let expected: serde_json::Map<String, Value> = EXPECTED_FILES
        .iter()
        .map(|f| {
            let digest = sha256_of_file(&snapshot(&model).join(f));
            (f.to_string(), Value::String(digest))
        })
        .collect();
    assert_eq!(s3_listing(stack, &model_prefix), Value::Object(expected));
    let version = stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={name}&version=1"
    ));
    assert_eq!(
        tag(&version["model_version"]["tags"], "llmops.published"),
        Some("true")
    );

    // Publishing twice is a no-op that says so.
    stack
        .llmops()
        .args([
            "publish",
            &name,
            "--version",
            "1",
            "--dev-root",
            dev.path().to_str().unwrap(),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("already published"));

    // An unknown version or alias is a clear usage error.
    stack
        .llmops()
        .args([
            "publish",
            &format!("models:/{name}@nobody"),
            "--dev-root",
            dev.path().to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "`models:/{name}@nobody` does not exist"
        )));
}

/// The registry holds no version of `name` (asked through MLflow's REST API, not llmops).
fn assert_no_version(stack: &Stack, name: &str) {
    let versions = stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/search?filter=name%3D%27{name}%27"
    ));
    assert!(
        versions
            .get("model_versions")
            .is_none_or(|v| v.as_array().unwrap().is_empty()),
        "a version of {name} is left: {versions}"
    );
}

/// `register` of `model` as `name` with MLflow behind `proxy`.
fn register_through(
    stack: &Stack,
    proxy: &FaultProxy,
    model: &tempfile::TempDir,
    name: &str,
    dev: &Path,
) -> std::process::Output {
    stack
        .llmops()
        .env("MLFLOW_TRACKING_URI", &proxy.url)
        .args([
            "register",
            snapshot(model).to_str().unwrap(),
            "--name",
            name,
            "--dev-root",
            dev.to_str().unwrap(),
        ])
        .args(["--python-model", test_model_code().to_str().unwrap()])
        .output()
        .unwrap()
}

/// The version cannot be created: both runs end FAILED, the staged copy is removed, no version exists.
fn failure_after_runs_exist_marks_them_failed(mlflow: &Mlflow) {
    let stack = mlflow.stack();
    let model = &model_folder();
    let proxy = FaultProxy::start(
        stack.tracking_uri(),
        Fault::Reject {
            path: "model-versions/create",
            status: 400,
        },
    );
    let dev = tempfile::tempdir().unwrap();
    let name = unique("midway-failure");
    let output = register_through(stack, &proxy, model, &name, dev.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("are marked FAILED") && stderr.contains("run `llmops register` again"),
        "{stderr}"
    );
    assert!(
        stderr.contains("injected rejection"),
        "the server's own message is shown: {stderr}"
    );
    assert_eq!(
        proxy.faults.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "a 400 is not retried"
    );
    // MLflow 3: the child's logged model is marked FAILED with the runs.
    let logged_model = stderr
        .split_once("logged model m-")
        .map(|(_, rest)| format!("m-{}", &rest[..32]));
    match (mlflow.major, &logged_model) {
        ("3", Some(id)) => {
            let got = stack.rest_get(&format!("/api/2.0/mlflow/logged-models/{id}"));
            assert_eq!(got["model"]["info"]["status"], "LOGGED_MODEL_UPLOAD_FAILED");
        }
        ("2", None) => {}
        _ => panic!("MLflow {}: {stderr}", mlflow.version),
    }
    let run_ids: std::collections::BTreeSet<String> = stderr
        .split(|c: char| !c.is_ascii_hexdigit() && c != '-')
        .filter(|word| word.len() == 32)
        .map(str::to_string)
        .collect();
    assert_eq!(run_ids.len(), 2, "{stderr}");
    for run in &run_ids {
        let got = stack.rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={run}"));
        assert_eq!(got["run"]["info"]["status"], "FAILED", "run {run}");
    }
    assert_eq!(
        std::fs::read_dir(dev.path().join("llm-models"))
            .unwrap()
            .count(),
        0,
        "no staged copy is left"
    );
    assert_no_version(stack, &name);
}

/// A server that answers 503 and then recovers: the request is retried (up to MLflow's default 7
/// times), the user is told.
fn transient_503s_are_retried(mlflow: &Mlflow) {
    let stack = mlflow.stack();
    let model = &model_folder();
    let proxy = FaultProxy::start(stack.tracking_uri(), Fault::Unavailable { count: 3 });
    let dev = tempfile::tempdir().unwrap();
    stack
        .llmops()
        .env("MLFLOW_TRACKING_URI", &proxy.url)
        .args([
            "register",
            snapshot(model).to_str().unwrap(),
            "--name",
            &unique("flaky"),
            "--publish",
        ])
        .args([
            "--dev-root",
            dev.path().to_str().unwrap(),
            "--python-model",
            test_model_code().to_str().unwrap(),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("retry 1 of 7"))
        .stderr(predicate::str::contains("retry 3 of 7"));
    assert_eq!(proxy.faults.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst) > 10);
}

/// Bad input is refused before any run or experiment exists.
fn checks_come_before_any_run(mlflow: &Mlflow) {
    let stack = mlflow.stack();
    let model = &model_folder();
    let experiment = unique("never-created");
    let dev = tempfile::tempdir().unwrap();
    let register = |name: &str, dir: &Path, dev_root: &Path| {
        let mut command = stack.llmops();
        command
            .args([
                "register",
                dir.to_str().unwrap(),
                "--name",
                name,
                "--experiment",
                &experiment,
            ])
            .args([
                "--dev-root",
                dev_root.to_str().unwrap(),
                "--python-model",
                test_model_code().to_str().unwrap(),
            ]);
        command
    };
    // /proc refuses new folders even to root.
    register("ok-name", &snapshot(model), Path::new("/proc"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the dev root `/proc` (from --dev-root) is not writable",
        ))
        .stderr(predicate::str::contains(
            "hint: pass a writable `--dev-root`",
        ));
    let empty = tempfile::tempdir().unwrap();
    register("ok-name", empty.path(), dev.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no config.json"));
    register("team/model", &snapshot(model), dev.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the registered model name `team/model` contains `/`",
        ));
    let experiment_lookup = stack.rest_get(&format!(
        "/api/2.0/mlflow/experiments/get-by-name?experiment_name={experiment}"
    ));
    assert_eq!(
        experiment_lookup["http_status"], 404,
        "no experiment was created: {experiment_lookup}"
    );
}

#[test]
fn a_tracking_server_that_is_down_is_named() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let model = model_folder();
    let dev = tempfile::tempdir().unwrap();
    llmops()
        .env("MLFLOW_TRACKING_URI", format!("http://127.0.0.1:{port}"))
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        .env("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0.01")
        .args([
            "register",
            snapshot(&model).to_str().unwrap(),
            "--name",
            "down",
            "--dev-root",
            dev.path().to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the MLflow tracking server does not answer",
        ))
        .stderr(predicate::str::contains(format!("127.0.0.1:{port}")))
        .stderr(predicate::str::contains(
            "hint: check `MLFLOW_TRACKING_URI`",
        ));
    assert_eq!(
        std::fs::read_dir(dev.path().join("llm-models"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn no_tracking_server_configured_is_a_usage_error() {
    let model = model_folder();
    let dev = tempfile::tempdir().unwrap();
    llmops()
        .args([
            "register",
            snapshot(&model).to_str().unwrap(),
            "--name",
            "x",
            "--dev-root",
            dev.path().to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no MLflow tracking server given"))
        .stderr(predicate::str::contains("MLFLOW_TRACKING_URI"));
}

/// The parent run's final update fails after the version was created (the second `runs/update`:
/// the child's finish is the first): the roll-back deletes the version too, so no version is left
/// that looks healthy and cannot be published.
fn a_failure_after_the_version_exists_deletes_it(mlflow: &Mlflow) {
    let stack = mlflow.stack();
    let model = &model_folder();
    let proxy = FaultProxy::start(
        stack.tracking_uri(),
        Fault::RejectNth {
            path: "runs/update",
            nth: 2,
            status: 400,
        },
    );
    let dev = tempfile::tempdir().unwrap();
    let name = unique("orphan-version");
    let output = register_through(stack, &proxy, model, &name, dev.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("model version {name}/1 was deleted")),
        "{stderr}"
    );
    assert_no_version(stack, &name);
}

/// A registered name with `'` is accepted at registration, so `status` (MLflow's search) must
/// find it too.
fn a_name_with_an_apostrophe_is_found_again(mlflow: &Mlflow) {
    let stack = mlflow.stack();
    let model = model_folder();
    let dev = tempfile::tempdir().unwrap();
    let name = unique("o'brien's model");
    register(stack, &model, &name, dev.path(), &[]);
    let output = stack
        .llmops()
        .args(["status", &name, "--output", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["name"], name.as_str());
    assert_eq!(report["versions"][0]["version"], "1");
}

/// SIGTERM while a registration waits on the server (after the copy is staged): the runs are
/// marked FAILED, the staged copy is removed, and it exits 143, as Kubernetes and shells expect.
#[test]
fn a_sigterm_mid_registration_rolls_back() {
    let stack = Stack::shared("3");
    let model = model_folder();
    let proxy = FaultProxy::start(
        stack.tracking_uri(),
        Fault::Hostile {
            path: "runs/log-parameter",
            answer: crate::fault_proxy::Hostile::Drip {
                len: 120,
                interval_ms: 1000,
            },
        },
    );
    let dev = tempfile::tempdir().unwrap();
    let name = unique("sigterm");
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmops"));
    let child = command
        .envs(&stack.env)
        .env("MLFLOW_TRACKING_URI", &proxy.url)
        .args([
            "register",
            snapshot(&model).to_str().unwrap(),
            "--name",
            &name,
            "--dev-root",
            dev.path().to_str().unwrap(),
        ])
        .args(["--python-model", test_model_code().to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the copy is staged and the dripping request is under way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while proxy.faults.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "register never reached the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: kill(2) on the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    let run_ids: std::collections::BTreeSet<String> = stderr
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|word| word.len() == 32)
        .map(str::to_string)
        .collect();
    assert_eq!(run_ids.len(), 1, "the parent run is named: {stderr}");
    for run in &run_ids {
        let got = stack.rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={run}"));
        assert_eq!(got["run"]["info"]["status"], "FAILED", "run {run}");
    }
    let left: Vec<_> = std::fs::read_dir(dev.path().join("llm-models"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "nothing staged is left: {left:?}");
}

/// What an interrupted registration left (a half-built copy of a process that is gone) is removed
/// by the next registration into the same dev root; a live process's copy is not touched.
#[test]
fn the_next_registration_reclaims_what_an_interrupted_one_left() {
    let stack = Stack::shared("3");
    let model = model_folder();
    let dev = tempfile::tempdir().unwrap();
    let models = dev.path().join("llm-models");
    // pid_max is at most 4,194,304; 4,194,303 is not a live process here.
    let stale = models.join(".0123.llmops-partial-4194303");
    let live = models.join(format!(".4567.llmops-partial-{}", std::process::id()));
    for folder in [&stale, &live] {
        std::fs::create_dir_all(folder).unwrap();
        std::fs::write(folder.join("shard.safetensors"), vec![0u8; 1024]).unwrap();
    }
    register(stack, &model, &unique("reclaim"), dev.path(), &[]);
    assert!(!stale.exists(), "the stale copy is removed");
    assert!(live.exists(), "a running process's copy is left alone");
}
