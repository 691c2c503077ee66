//! `--target triton` against real Triton 2.51 servers (CPU-only, python backend): register into a dev
//! repository, serve from it, predict through the registered proxy with the real MLflow loader,
//! promote to a prod repository with `--load`, and the production hazard: promote version 2 into a
//! repository a polling Triton serves from, while requests keep flowing and a watcher looks for
//! partial or stray folders.
//!
//! Each test registers the add_sub fixture under a name of its own on the shared MLflow 3 stack,
//! and starts the Tritons it needs (stopped when it ends).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::common::{json_of, unique};
use crate::stack::{Stack, Tritons};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/triton/add_sub")
}

const INFER_BODY: &str = r#"{"inputs":[{"name":"INPUT0","shape":[4],"datatype":"FP32","data":[1,2,3,4]},{"name":"INPUT1","shape":[4],"datatype":"FP32","data":[1,1,1,1]}]}"#;

/// One inference through Triton's HTTP API; returns (OUTPUT0, VERSION).
fn infer(stack: &Stack, url: &str, path: &str) -> (Value, Value) {
    let code = format!(
        "import json, urllib.request\n\
         r = urllib.request.Request({:?}, data={INFER_BODY:?}.encode(), headers={{'Content-Type': 'application/json'}})\n\
         out = {{o['name']: o['data'] for o in json.loads(urllib.request.urlopen(r, timeout=30).read())['outputs']}}\n\
         print(json.dumps([out['OUTPUT0'], out['VERSION']]))\n",
        format!("{url}{path}")
    );
    let printed: Value = serde_json::from_str(stack.python(&code, &[]).trim()).unwrap();
    (printed[0].clone(), printed[1].clone())
}

fn load(stack: &Stack, url: &str, model: &str, version: &str) {
    let code = format!(
        "import time, urllib.request\n\
         urllib.request.urlopen(urllib.request.Request('{url}/v2/repository/models/{model}/load', data=b'{{}}', method='POST'), timeout=60)\n\
         for _ in range(240):\n\
         \x20   try:\n\
         \x20       if urllib.request.urlopen('{url}/v2/models/{model}/versions/{version}/ready', timeout=5).status == 200: break\n\
         \x20   except Exception: pass\n\
         \x20   time.sleep(0.25)\n\
         else: raise SystemExit('not ready')\n"
    );
    stack.python(&code, &[]);
}

/// A model of this test on the shared stack: the add_sub fixture registered under a unique name
/// (Triton model `<name>`, client `<name>-client`) into a dev repository of its own.
struct Registered {
    work: tempfile::TempDir,
    name: String,
}

impl Registered {
    fn new(subject: &str) -> Registered {
        let work = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(work.path().join("dev-repo")).unwrap();
        Registered {
            work,
            name: unique(&format!("add_sub-{subject}")),
        }
    }

    fn dev_repo(&self) -> PathBuf {
        self.work.path().join("dev-repo")
    }

    /// An empty repository `name` beside the dev one.
    fn repo(&self, name: &str) -> PathBuf {
        let repo = self.work.path().join(name);
        std::fs::create_dir_all(&repo).unwrap();
        repo
    }

    fn client(&self) -> String {
        format!("{}-client", self.name)
    }

    /// `register <fixture> --name <name> --target triton --publish`; the report.
    fn register(&self) -> Value {
        json_of(
            &stack()
                .llmops()
                .args([
                    "register",
                    fixture().to_str().unwrap(),
                    "--name",
                    &self.name,
                    "--target",
                    "triton",
                    "--publish",
                ])
                .args([
                    "--dev-root",
                    self.dev_repo().to_str().unwrap(),
                    "--output",
                    "json",
                ])
                .output()
                .unwrap(),
        )
    }

    /// `promote models:/<client>/<version> --target triton --prod-root <repo>` with `extra`.
    fn promote(&self, version: &str, repo: &Path, extra: &[&str]) -> assert_cmd::Command {
        let stack = stack();
        let mut command = stack.llmops();
        command
            .args([
                "promote",
                &format!("models:/{}/{version}", self.client()),
                "--target",
                "triton",
                "--prod-root",
                repo.to_str().unwrap(),
            ])
            .args([
                "--artifacts-destination",
                stack.var("LLMOPS_ARTIFACTS_DESTINATION"),
            ])
            .args(extra);
        command
    }
}

fn stack() -> &'static Stack {
    Stack::shared("3")
}

/// Register: binary holder <name>/1, client <name>-client/1, staged as
/// dev-repo/<name>/{config.pbtxt,1/}, the child run's params as the reference notebooks read them.
#[test]
fn triton_register_stages_a_repository_folder_and_records_params() {
    let model = Registered::new("staged");
    let first = model.register();
    assert_eq!(
        (first["name"].as_str(), first["version"].as_str()),
        (Some(model.client().as_str()), Some("1"))
    );
    assert_eq!(
        (
            first["triton_model"].as_str(),
            first["triton_version"].as_str()
        ),
        (Some(model.name.as_str()), Some("1"))
    );
    let dev_repo = model.dev_repo();
    assert!(dev_repo.join(&model.name).join("config.pbtxt").is_file());
    assert!(dev_repo.join(&model.name).join("1/model.py").is_file());
    assert!(
        !dev_repo.join(&model.name).join("1/config.pbtxt").exists(),
        "config.pbtxt never goes inside a version folder"
    );
    let dev_entries: Vec<_> = std::fs::read_dir(&dev_repo)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        dev_entries,
        [model.name.as_str()],
        "nothing else in the repository root"
    );
    let params = stack().rest_get(&format!(
        "/api/2.0/mlflow/runs/get?run_id={}",
        first["child_run_id"].as_str().unwrap()
    ));
    let param = |key: &str| {
        params["run"]["data"]["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["key"] == key)
            .map(|p| p["value"].as_str().unwrap().to_string())
    };
    assert_eq!(
        param("triton_model_name").as_deref(),
        Some(model.name.as_str())
    );
    assert_eq!(param("triton_model_version").as_deref(), Some("1"));
    assert_eq!(
        param("parent_run_id").as_deref(),
        first["parent_run_id"].as_str()
    );
}

/// Dev: a real Triton (explicit mode) serves the registered folder, and the registered proxy
/// predicts through it with the real MLflow loader.
#[test]
fn triton_dev_serves_the_registered_model_through_the_proxy() {
    let stack = stack();
    let model = Registered::new("dev");
    model.register();
    let tritons = Tritons::new();
    let dev_url = tritons.start("triton", &model.dev_repo(), "explicit");
    load(stack, &dev_url, &model.name, "1");
    let predicted = stack.python(
        &format!(
            "import json, mlflow\nm = mlflow.pyfunc.load_model('models:/{}/1')\nr = m.predict(json.loads({INFER_BODY:?}))\nprint(json.dumps({{o['name']: o['data'] for o in r['outputs']}}))\n",
            model.client()
        ),
        &[("LLMOPS_TRITON_URL", dev_url.as_str())],
    );
    let outputs: Value = serde_json::from_str(predicted.trim().lines().last().unwrap()).unwrap();
    assert_eq!(outputs["OUTPUT0"], serde_json::json!([2.0, 3.0, 4.0, 5.0]));
    assert_eq!(outputs["OUTPUT1"], serde_json::json!([0.0, 1.0, 2.0, 3.0]));
    assert_eq!(outputs["VERSION"], serde_json::json!([1]));
}

/// Prod: promote with --load into an explicit-mode Triton, which serves the model; --dry-run,
/// status, verify and the audit trail work for this target too.
#[test]
fn triton_promote_loads_into_prod_and_is_audited() {
    let stack = stack();
    let model = Registered::new("prod");
    model.register();
    let prod_repo = model.repo("prod-repo");
    let tritons = Tritons::new();
    let prod_url = tritons.start("triton-prod", &prod_repo, "explicit");
    let promoted = json_of(
        &model
            .promote(
                "1",
                &prod_repo,
                &["--triton-url", &prod_url, "--load", "--output", "json"],
            )
            .output()
            .unwrap(),
    );
    assert_eq!(promoted["verified"], "blake3");
    let destination = prod_repo.join(&model.name).join("1");
    assert_eq!(promoted["destination"], destination.to_str().unwrap());
    assert_eq!(
        infer(
            stack,
            &prod_url,
            &format!("/v2/models/{}/versions/1/infer", model.name)
        ),
        (
            serde_json::json!([2.0, 3.0, 4.0, 5.0]),
            serde_json::json!([1])
        )
    );
    stack
        .llmops()
        .args([
            "verify",
            &format!("models:/{}/1", model.client()),
            "--prod-root",
            prod_repo.to_str().unwrap(),
        ])
        .assert()
        .success();

    let plan = json_of(
        &model
            .promote("1", &prod_repo, &["--dry-run", "--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(plan["outcome"], "dry_run");
    let planned: Vec<&str> = plan["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(planned, ["1/model.py", "config.pbtxt"]);
    let status = json_of(
        &stack
            .llmops()
            .args([
                "status",
                &model.client(),
                "--prod-root",
                prod_repo.to_str().unwrap(),
                "--output",
                "json",
            ])
            .output()
            .unwrap(),
    );
    let row = &status["versions"][0];
    assert_eq!(
        (
            row["published"].as_bool(),
            row["promoted"].as_bool(),
            row["dev_staged"].as_bool()
        ),
        (Some(true), Some(true), Some(true))
    );
    assert!(
        row["verified"].as_str().unwrap().starts_with("blake3"),
        "{row}"
    );
    let version = stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={}&version=1",
        model.client()
    ));
    let tags = version["model_version"]["tags"].as_array().unwrap();
    let promoted_to = tags
        .iter()
        .find(|t| t["key"] == "llmops.promoted_to")
        .unwrap()["value"]
        .as_str()
        .unwrap();
    assert_eq!(promoted_to, destination.to_str().unwrap());
}

/// The hazard: a Triton polling every second serves version 1 while version 2 is promoted into its
/// repository; requests keep flowing and none fails, and the repository never shows a partial or
/// stray folder.
#[test]
fn triton_promote_under_polling_swaps_versions_safely() {
    let stack = stack();
    let model = Registered::new("poll");
    model.register();
    let poll_repo = model.repo("poll-repo");
    model.promote("1", &poll_repo, &[]).assert().success();
    let tritons = Tritons::new();
    let poll_url = tritons.start("triton-poll", &poll_repo, "poll");
    wait_ready(stack, &poll_url, &model.name, "1");
    let second = model.register();
    assert_eq!(
        (
            second["version"].as_str(),
            second["triton_version"].as_str()
        ),
        (Some("2"), Some("2"))
    );

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (repo, name, stop) = (poll_repo.clone(), model.name.clone(), stop.clone());
        let expected_model = std::fs::read(fixture().join("1/model.py")).unwrap();
        std::thread::spawn(move || watch_repository(&repo, &name, &expected_model, &stop))
    };
    let client = std::process::Command::new(stack.var("LLMOPS_STACK_PYTHON"))
        .args(["-c", &request_loop(&poll_url, &model.name)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    model.promote("2", &poll_repo, &[]).assert().success();
    let client = client.wait_with_output().unwrap();
    stop.store(true, Ordering::SeqCst);
    let problems = watcher.join().unwrap();
    let summary: Value = serde_json::from_slice(&client.stdout).unwrap_or_else(|e| {
        panic!(
            "request loop: {e}: {}",
            String::from_utf8_lossy(&client.stderr)
        )
    });
    assert_eq!(
        summary["failed"], 0,
        "requests failed during the swap: {summary}"
    );
    assert!(summary["ok"].as_u64().unwrap() > 20, "{summary}");
    assert_eq!(
        summary["saw_version_2"], true,
        "version 2 was never served: {summary}"
    );
    assert!(
        problems.is_empty(),
        "the repository showed a partial or stray folder: {problems:?}"
    );
    assert_eq!(
        infer(
            stack,
            &poll_url,
            &format!("/v2/models/{}/versions/2/infer", model.name)
        )
        .1,
        serde_json::json!([2])
    );
}

/// `prune` on a Triton repository removes a version folder nothing serves, and leaves the model's
/// `config.pbtxt` and the aliased version, which a polling Triton keeps serving.
#[test]
fn triton_prune_removes_version_folders_nothing_serves() {
    let stack = stack();
    let model = Registered::new("prune");
    let repo = model.repo("prune-repo");
    for version in ["1", "2"] {
        model.register();
        let alias: &[&str] = if version == "2" {
            &["--alias", "champion"]
        } else {
            &[]
        };
        model.promote(version, &repo, alias).assert().success();
    }
    let tritons = Tritons::new();
    let url = tritons.start("triton-prune", &repo, "poll");
    wait_ready(stack, &url, &model.name, "2");
    let prune = |extra: &[&str]| {
        json_of(
            &stack
                .llmops()
                .args(["prune", &model.client(), "--keep", "0", "--output", "json"])
                .args(["--prod-root", repo.to_str().unwrap()])
                .args(extra)
                .output()
                .unwrap(),
        )
    };
    let folder = |v: &str| repo.join(&model.name).join(v);
    let would = prune(&["--dry-run"]);
    assert_eq!(would["versions"][1]["action"], "would remove");
    assert!(folder("1").is_dir(), "a dry run removes nothing");
    let pruned = prune(&[]);
    let rows: Vec<(&str, &str, &str)> = pruned["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap(),
                r["folder"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "2",
                folder("2").to_str().unwrap(),
                "kept: @champion points to it"
            ),
            ("1", folder("1").to_str().unwrap(), "removed"),
        ]
    );
    assert!(pruned["freed_bytes"].as_u64().unwrap() > 0);
    assert!(!folder("1").exists());
    assert!(repo.join(&model.name).join("config.pbtxt").is_file());
    stack
        .llmops()
        .args(["verify", &format!("models:/{}/2", model.client())])
        .args(["--prod-root", repo.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(
        infer(
            stack,
            &url,
            &format!("/v2/models/{}/versions/2/infer", model.name)
        )
        .1,
        serde_json::json!([2])
    );
}

fn wait_ready(stack: &Stack, url: &str, model: &str, version: &str) {
    let code = format!(
        "import time, urllib.request\n\
         for _ in range(240):\n\
         \x20   try:\n\
         \x20       if urllib.request.urlopen('{url}/v2/models/{model}/versions/{version}/ready', timeout=5).status == 200: break\n\
         \x20   except Exception: pass\n\
         \x20   time.sleep(0.25)\n\
         else: raise SystemExit('not ready')\n"
    );
    stack.python(&code, &[]);
}

/// Requests without a version (Triton routes them to the newest ready one), bounded in count and
/// time; stops once version 2 has answered 20 times. Prints a JSON summary.
fn request_loop(url: &str, model: &str) -> String {
    format!(
        "import json, time, urllib.request\n\
         body = {INFER_BODY:?}.encode()\n\
         ok = failed = seen2 = 0; errors = []\n\
         deadline = time.time() + 45\n\
         for _ in range(4000):\n\
         \x20   if time.time() > deadline or seen2 >= 20: break\n\
         \x20   try:\n\
         \x20       r = urllib.request.Request('{url}/v2/models/{model}/infer', data=body, headers={{'Content-Type': 'application/json'}})\n\
         \x20       out = {{o['name']: o['data'] for o in json.loads(urllib.request.urlopen(r, timeout=10).read())['outputs']}}\n\
         \x20       ok += 1\n\
         \x20       if out['VERSION'] == [2]: seen2 += 1\n\
         \x20   except Exception as e:\n\
         \x20       failed += 1; errors.append(str(e)[:200])\n\
         \x20   time.sleep(0.02)\n\
         print(json.dumps({{'ok': ok, 'failed': failed, 'saw_version_2': seen2 > 0, 'errors': errors[:5]}}))\n"
    )
}

/// Looks at the repository every few milliseconds until told to stop: the root may hold only the
/// model folder; the model folder only `config.pbtxt` and complete version folders.
fn watch_repository(
    repo: &Path,
    model: &str,
    expected_model: &[u8],
    stop: &AtomicBool,
) -> Vec<String> {
    let mut problems = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        for entry in std::fs::read_dir(repo).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != model {
                problems.push(format!("stray entry in the repository root: {name}"));
            }
        }
        for entry in std::fs::read_dir(repo.join(model))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            match name.as_str() {
                "config.pbtxt" => {}
                "1" | "2" => {
                    // A version folder is complete the moment it appears (model.py whole).
                    let model = entry.path().join("model.py");
                    match std::fs::read(&model) {
                        Ok(bytes) if bytes == expected_model => {}
                        Ok(bytes) => problems.push(format!(
                            "{name}/model.py is {} of {} bytes",
                            bytes.len(),
                            expected_model.len()
                        )),
                        Err(e) if entry.path().exists() => {
                            problems.push(format!("{name}/ without model.py ({e})"))
                        }
                        Err(_) => {}
                    }
                }
                other => problems.push(format!("unexpected entry in the model folder: {other}")),
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    problems.dedup();
    problems
}
