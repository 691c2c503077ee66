//! `--target triton` against real Triton 2.51 servers (CPU-only, python backend): register into a dev
//! repository, serve from it, predict through the registered proxy with the real MLflow loader,
//! promote to a prod repository with `--load`, and the production hazard: promote version 2 into a
//! repository a polling Triton serves from, while requests keep flowing and a watcher looks for
//! partial or stray folders.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::stack::Stack;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/triton/add_sub")
}

fn json_of(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
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

#[test]
fn triton_dev_to_prod_and_a_safe_swap_under_polling() {
    let mut stack = Stack::start("3");
    let work = tempfile::tempdir().unwrap();
    let (dev_repo, prod_repo, poll_repo) = (
        work.path().join("dev-repo"),
        work.path().join("prod-repo"),
        work.path().join("poll-repo"),
    );
    for repo in [&dev_repo, &prod_repo, &poll_repo] {
        std::fs::create_dir_all(repo).unwrap();
    }
    let destination = stack.var("LLMOPS_ARTIFACTS_DESTINATION").to_string();
    let register = |stack: &Stack| {
        json_of(
            &stack
                .llmops()
                .args([
                    "register",
                    fixture().to_str().unwrap(),
                    "--name",
                    "add_sub",
                    "--target",
                    "triton",
                    "--publish",
                ])
                .args(["--dev-root", dev_repo.to_str().unwrap(), "--output", "json"])
                .output()
                .unwrap(),
        )
    };

    // Register: binary holder add_sub/1, client add_sub-client/1, staged as dev-repo/add_sub/{config.pbtxt,1/}.
    let first = register(&stack);
    assert_eq!(
        (first["name"].as_str(), first["version"].as_str()),
        (Some("add_sub-client"), Some("1"))
    );
    assert_eq!(
        (
            first["triton_model"].as_str(),
            first["triton_version"].as_str()
        ),
        (Some("add_sub"), Some("1"))
    );
    assert!(dev_repo.join("add_sub/config.pbtxt").is_file());
    assert!(dev_repo.join("add_sub/1/model.py").is_file());
    assert!(
        !dev_repo.join("add_sub/1/config.pbtxt").exists(),
        "config.pbtxt never goes inside a version folder"
    );
    let dev_entries: Vec<_> = std::fs::read_dir(&dev_repo)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        dev_entries,
        ["add_sub"],
        "nothing else in the repository root"
    );
    let params = stack.rest_get(&format!(
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
    assert_eq!(param("triton_model_name").as_deref(), Some("add_sub"));
    assert_eq!(param("triton_model_version").as_deref(), Some("1"));
    assert_eq!(
        param("parent_run_id").as_deref(),
        first["parent_run_id"].as_str()
    );

    // Dev: a real Triton (explicit mode) serves it, and the registered proxy predicts through it.
    let dev_url = stack.start_triton("triton", &dev_repo, "explicit");
    load(&stack, &dev_url, "add_sub", "1");
    let predicted = stack.python(
        &format!(
            "import json, mlflow\nm = mlflow.pyfunc.load_model('models:/add_sub-client/1')\nr = m.predict(json.loads({INFER_BODY:?}))\nprint(json.dumps({{o['name']: o['data'] for o in r['outputs']}}))\n"
        ),
        &[("LLMOPS_TRITON_URL", dev_url.as_str())],
    );
    let outputs: Value = serde_json::from_str(predicted.trim().lines().last().unwrap()).unwrap();
    assert_eq!(outputs["OUTPUT0"], serde_json::json!([2.0, 3.0, 4.0, 5.0]));
    assert_eq!(outputs["OUTPUT1"], serde_json::json!([0.0, 1.0, 2.0, 3.0]));
    assert_eq!(outputs["VERSION"], serde_json::json!([1]));

    // Prod: promote with --load into an explicit-mode Triton; it serves the model.
    let prod_url = stack.start_triton("triton-prod", &prod_repo, "explicit");
    let promoted = json_of(
        &stack
            .llmops()
            .args([
                "promote",
                "models:/add_sub-client/1",
                "--target",
                "triton",
                "--prod-root",
                prod_repo.to_str().unwrap(),
            ])
            .args([
                "--artifacts-destination",
                &destination,
                "--triton-url",
                &prod_url,
                "--load",
                "--output",
                "json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(promoted["verified"], "sha256");
    assert_eq!(
        promoted["destination"],
        prod_repo.join("add_sub/1").to_str().unwrap()
    );
    assert_eq!(
        infer(&stack, &prod_url, "/v2/models/add_sub/versions/1/infer"),
        (
            serde_json::json!([2.0, 3.0, 4.0, 5.0]),
            serde_json::json!([1])
        )
    );
    stack
        .llmops()
        .args([
            "verify",
            "models:/add_sub-client/1",
            "--prod-root",
            prod_repo.to_str().unwrap(),
        ])
        .assert()
        .success();

    // --dry-run, status and the audit trail work for this target too.
    let plan = json_of(
        &stack
            .llmops()
            .args(["promote", "models:/add_sub-client/1", "--target", "triton"])
            .args([
                "--prod-root",
                prod_repo.to_str().unwrap(),
                "--artifacts-destination",
                &destination,
            ])
            .args(["--dry-run", "--output", "json"])
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
                "add_sub-client",
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
        row["verified"].as_str().unwrap().starts_with("sha256"),
        "{row}"
    );
    let version =
        stack.rest_get("/api/2.0/mlflow/model-versions/get?name=add_sub-client&version=1");
    let tags = version["model_version"]["tags"].as_array().unwrap();
    let promoted_to = tags
        .iter()
        .find(|t| t["key"] == "llmops.promoted_to")
        .unwrap()["value"]
        .as_str()
        .unwrap();
    assert_eq!(promoted_to, prod_repo.join("add_sub/1").to_str().unwrap());

    // The hazard: a Triton polling every second serves version 1 while version 2 is promoted.
    stack
        .llmops()
        .args([
            "promote",
            "models:/add_sub-client/1",
            "--target",
            "triton",
            "--prod-root",
            poll_repo.to_str().unwrap(),
        ])
        .args(["--artifacts-destination", &destination])
        .assert()
        .success();
    let poll_url = stack.start_triton("triton-poll", &poll_repo, "poll");
    wait_ready(&stack, &poll_url, "1");
    let second = register(&stack);
    assert_eq!(
        (
            second["version"].as_str(),
            second["triton_version"].as_str()
        ),
        (Some("2"), Some("2"))
    );

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (repo, stop) = (poll_repo.clone(), stop.clone());
        let expected_model = std::fs::read(fixture().join("1/model.py")).unwrap();
        std::thread::spawn(move || watch_repository(&repo, &expected_model, &stop))
    };
    let client = std::process::Command::new(stack.var("LLMOPS_STACK_PYTHON"))
        .args(["-c", &request_loop(&poll_url)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stack
        .llmops()
        .args([
            "promote",
            "models:/add_sub-client/2",
            "--target",
            "triton",
            "--prod-root",
            poll_repo.to_str().unwrap(),
        ])
        .args(["--artifacts-destination", &destination])
        .assert()
        .success();
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
        infer(&stack, &poll_url, "/v2/models/add_sub/versions/2/infer").1,
        serde_json::json!([2])
    );
}

fn wait_ready(stack: &Stack, url: &str, version: &str) {
    let code = format!(
        "import time, urllib.request\n\
         for _ in range(240):\n\
         \x20   try:\n\
         \x20       if urllib.request.urlopen('{url}/v2/models/add_sub/versions/{version}/ready', timeout=5).status == 200: break\n\
         \x20   except Exception: pass\n\
         \x20   time.sleep(0.25)\n\
         else: raise SystemExit('not ready')\n"
    );
    stack.python(&code, &[]);
}

/// Requests without a version (Triton routes them to the newest ready one), bounded in count and
/// time; stops once version 2 has answered 20 times. Prints a JSON summary.
fn request_loop(url: &str) -> String {
    format!(
        "import json, time, urllib.request\n\
         body = {INFER_BODY:?}.encode()\n\
         ok = failed = seen2 = 0; errors = []\n\
         deadline = time.time() + 45\n\
         for _ in range(4000):\n\
         \x20   if time.time() > deadline or seen2 >= 20: break\n\
         \x20   try:\n\
         \x20       r = urllib.request.Request('{url}/v2/models/add_sub/infer', data=body, headers={{'Content-Type': 'application/json'}})\n\
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
fn watch_repository(repo: &Path, expected_model: &[u8], stop: &AtomicBool) -> Vec<String> {
    let mut problems = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        for entry in std::fs::read_dir(repo).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "add_sub" {
                problems.push(format!("stray entry in the repository root: {name}"));
            }
        }
        for entry in std::fs::read_dir(repo.join("add_sub"))
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
