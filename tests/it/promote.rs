//! `promote`, `status` and `verify` end to end: a version registered and published with `llmops`,
//! then promoted from moto's S3 with web-identity (IRSA) credentials only, through faults
//! (503 SlowDown, a connection dropped mid-object, a stalled body), an interruption and a resume,
//! hostile keys, and the errors a deployer meets.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use predicates::prelude::*;
use serde_json::Value;

use crate::fault_proxy::{Fault, FaultProxy};
use crate::stack::Stack;

/// fixtures/tiny-model plus one 2 MiB shard, so ranged parts and resume have something to split.
fn model_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny-model");
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let big: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("extra-shard.safetensors"), big).unwrap();
    dir
}

fn test_model_code() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/staged_files_model.py")
}

fn json_of(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

fn tag<'a>(tags: &'a Value, key: &str) -> Option<&'a str> {
    tags.as_array()?.iter().find(|t| t["key"] == key)?["value"].as_str()
}

/// Every file of `a` is in `b` with the same bytes, and nothing else is.
fn assert_same_tree(a: &Path, b: &Path) {
    let list = |root: &Path| -> Vec<(String, String)> {
        llmops::layout::staging::scan(root)
            .unwrap()
            .into_iter()
            .map(|f| {
                (
                    f.relative.clone(),
                    llmops::layout::staging::sha256_file(&f.path).unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        list(a),
        list(b),
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

#[test]
fn promote_from_s3_with_web_identity() {
    let stack = Stack::start("3");
    // The deployer's pod: web identity only, no static keys anywhere.
    assert!(stack.env.contains_key("AWS_WEB_IDENTITY_TOKEN_FILE"));
    assert!(!stack.env.contains_key("AWS_ACCESS_KEY_ID"));
    let model = model_folder();
    let dev = tempfile::tempdir().unwrap();
    let name = "promote-e2e";
    let registered = json_of(
        &stack
            .llmops()
            .args([
                "register",
                model.path().to_str().unwrap(),
                "--name",
                name,
                "--publish",
                "--output",
                "json",
            ])
            .args([
                "--dev-root",
                dev.path().to_str().unwrap(),
                "--python-model",
                test_model_code().to_str().unwrap(),
            ])
            .output()
            .unwrap(),
    );
    let parent = registered["parent_run_id"].as_str().unwrap().to_string();
    let staged = PathBuf::from(registered["staged_path"].as_str().unwrap());
    let destination = stack.var("LLMOPS_ARTIFACTS_DESTINATION").to_string();
    let prod = tempfile::tempdir().unwrap();
    let promote = |extra: &[&str]| {
        let mut command = stack.llmops();
        command
            .args([
                "promote",
                &format!("models:/{name}/1"),
                "--prod-root",
                prod.path().to_str().unwrap(),
            ])
            .args(["--artifacts-destination", &destination])
            .args(extra);
        command
    };

    // --dry-run: who, from where, what, to where; nothing downloaded.
    let plan = json_of(
        &promote(&["--dry-run", "--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(plan["outcome"], "dry_run");
    assert!(
        plan["caller_arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/mlflow-s3-access-role"),
        "{plan}"
    );
    assert!(
        plan["credential_source"]
            .as_str()
            .unwrap()
            .starts_with("web identity (IRSA)"),
        "{plan}"
    );
    assert_eq!(plan["parent_run_id"], parent.as_str());
    assert!(
        plan["source"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{parent}/artifacts/model"))
    );
    assert_eq!(plan["plan"].as_array().unwrap().len(), 9);
    assert!(!prod.path().join("llm-models").join(&parent).exists());

    // The real thing, in 512 KiB parts, moving an alias.
    let report = json_of(
        &promote(&[
            "--alias",
            "champion",
            "--part-size",
            "512KiB",
            "--output",
            "json",
        ])
        .output()
        .unwrap(),
    );
    assert_eq!(report["outcome"], "promoted");
    assert_eq!(report["verified"], "sha256");
    let target = prod.path().join("llm-models").join(&parent);
    assert_same_tree(&staged, &target);
    let leftovers: Vec<_> = std::fs::read_dir(prod.path().join("llm-models"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The audit trail and the alias.
    let version = stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={name}&version=1"
    ));
    let tags = &version["model_version"]["tags"];
    assert_eq!(
        tag(tags, "llmops.promoted_to"),
        Some(target.to_str().unwrap())
    );
    assert!(
        tag(tags, "llmops.promoted_by")
            .unwrap()
            .contains("assumed-role"),
        "{tags}"
    );
    assert_eq!(
        tag(tags, "llmops.promoted_manifest_digest"),
        registered["manifest_digest"].as_str()
    );
    assert!(tag(tags, "llmops.promoted_at").unwrap().starts_with("20"));
    let by_alias = stack.rest_get(&format!(
        "/api/2.0/mlflow/registered-models/alias?name={name}&alias=champion"
    ));
    assert_eq!(by_alias["model_version"]["version"], "1");

    // Again: an identical copy is a no-op that says so; rolling back is this, plus the alias.
    promote(&[])
        .assert()
        .success()
        .stderr(predicate::str::contains("already promoted"));

    // status and verify.
    let status = json_of(
        &stack
            .llmops()
            .args([
                "status",
                name,
                "--prod-root",
                prod.path().to_str().unwrap(),
                "--dev-root",
                dev.path().to_str().unwrap(),
            ])
            .args(["--output", "json"])
            .output()
            .unwrap(),
    );
    let row = &status["versions"][0];
    assert_eq!(
        (
            row["version"].as_str(),
            row["published"].as_bool(),
            row["promoted"].as_bool()
        ),
        (Some("1"), Some(true), Some(true))
    );
    assert_eq!(row["dev_staged"], true);
    assert_eq!(row["aliases"], serde_json::json!(["champion"]));
    assert!(row["verified"].as_str().unwrap().starts_with("sha256 at"));
    let verify = |model: &str| {
        let mut command = stack.llmops();
        command.args([
            "verify",
            model,
            "--prod-root",
            prod.path().to_str().unwrap(),
            "--output",
            "json",
        ]);
        command
    };
    verify(&format!("models:/{name}@champion"))
        .assert()
        .success()
        .stdout(predicate::str::contains("\"verified\": true"));
    // A byte changed in production is found.
    let shard = target.join("extra-shard.safetensors");
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&shard, &bytes).unwrap();
    verify(&format!("models:/{name}/1"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "`extra-shard.safetensors` differs from the manifest",
        ));

    // Promoting again replaces the damaged copy by an atomic swap.
    let again = json_of(&promote(&["--output", "json"]).output().unwrap());
    assert_eq!(again["outcome"], "replaced");
    assert_same_tree(&staged, &target);

    size_from_the_registry_reads_only_headers(&stack, &destination);
    doctor_names_each_failure_and_its_fix(&stack, &destination);
    faults_are_survived(&stack, name, &staged, &destination);
    an_interrupted_promote_resumes(&stack, name, &staged, &destination);
    hostile_keys_are_refused(&stack, &model, &destination);
    a_long_listing_streams_into_the_downloads(&stack, &model, &destination);
    without_a_manifest_sizes_and_etags_are_checked(&stack, &model, &destination);
    deployer_errors_are_clear(&stack, &model, &destination);
}

/// 503 SlowDown, a connection dropped mid-object, and a body that stalls: each promote completes
/// and verifies.
fn faults_are_survived(stack: &Stack, name: &str, staged: &Path, destination: &str) {
    let faults = [
        (
            "503 SlowDown",
            Fault::S3SlowDown {
                path: "/artifacts/model/",
                times: 4,
            },
        ),
        (
            "connection dropped mid-object",
            Fault::DropBody {
                path: "extra-shard",
                after: 100_000,
                times: 2,
            },
        ),
        (
            "stalled body",
            Fault::StallBody {
                path: "extra-shard",
                after: 50_000,
                seconds: 4,
                times: 1,
            },
        ),
    ];
    for (what, fault) in faults {
        let proxy = FaultProxy::start(stack.var("MOTO_URL"), fault);
        let prod = tempfile::tempdir().unwrap();
        let output = stack
            .llmops()
            .env("AWS_ENDPOINT_URL_S3", &proxy.url)
            .args([
                "promote",
                &format!("models:/{name}/1"),
                "--prod-root",
                prod.path().to_str().unwrap(),
            ])
            .args([
                "--artifacts-destination",
                destination,
                "--part-size",
                "1MiB",
                "--stall-timeout",
                "1",
                "--output",
                "json",
            ])
            .output()
            .unwrap();
        let report = json_of(&output);
        assert_eq!(report["verified"], "sha256", "{what}");
        assert!(
            proxy.faults.load(std::sync::atomic::Ordering::SeqCst) >= 1,
            "{what}: the fault was injected"
        );
        // The SDK retries throttling itself; dropped and stalled bodies are llmops' own retries.
        if !what.contains("503") {
            assert!(
                String::from_utf8_lossy(&output.stderr).contains("retry 1 of"),
                "{what}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let target = prod
            .path()
            .join("llm-models")
            .join(report["parent_run_id"].as_str().unwrap());
        assert_same_tree(staged, &target);
    }
}

/// Killed halfway: the destination is untouched, and the next run fetches only what is missing.
/// While it runs, a second promote of the same model is refused by the lock.
fn an_interrupted_promote_resumes(stack: &Stack, name: &str, staged: &Path, destination: &str) {
    let proxy = FaultProxy::start(
        stack.var("MOTO_URL"),
        Fault::Delay {
            path: "extra-shard",
            millis: 150,
        },
    );
    let prod = tempfile::tempdir().unwrap();
    let args = |command: &mut std::process::Command| {
        command
            .args([
                "promote",
                &format!("models:/{name}/1"),
                "--prod-root",
                prod.path().to_str().unwrap(),
            ])
            .args([
                "--artifacts-destination",
                destination,
                "--part-size",
                "64KiB",
                "--concurrency",
                "1",
                "--output",
                "json",
            ]);
    };
    let mut slow = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmops"));
    slow.env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .envs(&stack.env)
        .env("AWS_ENDPOINT_URL_S3", &proxy.url);
    args(&mut slow);
    let mut child = slow
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // 32 parts × 150 ms: stop it once a few of the shard's parts are recorded.
    let shard_state = llmops::layout::staging::sha256_hex(b"extra-shard.safetensors") + ".parts";
    let models = prod.path().join("llm-models");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let parts_done = std::fs::read_dir(&models)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with("llmops-partial"))
            .filter_map(|e| std::fs::read_to_string(e.path().join("state").join(&shard_state)).ok())
            .map(|text| text.lines().count().saturating_sub(1))
            .max()
            .unwrap_or(0);
        if parts_done >= 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slow promote never got going"
        );
    }
    // Meanwhile a second promote of the same model is refused, naming the one running.
    let mut second = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmops"));
    second
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .envs(&stack.env);
    args(&mut second);
    assert_cmd::assert::OutputAssertExt::assert(&mut second)
        .code(1)
        .stderr(predicate::str::contains(format!(
            "another promote of this model is running (pid {}",
            child.id()
        )));
    child.kill().unwrap();
    child.wait().unwrap();
    let target_exists = std::fs::read_dir(prod.path().join("llm-models"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().len() == 32);
    assert!(
        !target_exists,
        "an interrupted promote must not publish anything"
    );

    let mut resume = stack.llmops();
    resume
        .args([
            "promote",
            &format!("models:/{name}/1"),
            "--prod-root",
            prod.path().to_str().unwrap(),
        ])
        .args([
            "--artifacts-destination",
            destination,
            "--part-size",
            "64KiB",
            "--output",
            "json",
        ]);
    let report = json_of(&resume.output().unwrap());
    let (fetched, resumed, total) = (
        report["fetched_bytes"].as_u64().unwrap(),
        report["resumed_bytes"].as_u64().unwrap(),
        report["bytes"].as_u64().unwrap(),
    );
    assert!(
        resumed > 0 && fetched < total,
        "resumed {resumed}, fetched {fetched} of {total}"
    );
    assert_eq!(fetched + resumed, total);
    assert_eq!(report["verified"], "sha256");
    assert_same_tree(
        staged,
        &prod
            .path()
            .join("llm-models")
            .join(report["parent_run_id"].as_str().unwrap()),
    );
}

/// Keys with `..`, absolute paths and empty segments under the run's prefix: refused, nothing
/// written outside (or inside) the destination. Then bytes that differ from the manifest.
fn hostile_keys_are_refused(stack: &Stack, model: &tempfile::TempDir, destination: &str) {
    let (_, root) = register_published(stack, model, "hostile");
    let prefix = format!("{root}/model");
    for key in ["../../../../escaped.txt", "/etc/escaped.txt", "a//b.txt"] {
        stack.s3_python(&format!(
            "import boto3, os\nboto3.client('s3').put_object(Bucket=os.environ['LLMOPS_STACK_BUCKET'], Key={:?}, Body=b'evil')\n",
            format!("{prefix}/{key}")
        ));
        let outside = tempfile::tempdir().unwrap();
        let prod = outside.path().join("prod");
        std::fs::create_dir_all(&prod).unwrap();
        stack
            .llmops()
            .args([
                "promote",
                "models:/hostile/1",
                "--prod-root",
                prod.to_str().unwrap(),
                "--artifacts-destination",
                destination,
            ])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("refusing S3 key"));
        let written: Vec<_> = walk(outside.path())
            .into_iter()
            .filter(|p| p.ends_with("escaped.txt") || p.ends_with("b.txt"))
            .collect();
        assert!(written.is_empty(), "{key}: {written:?}");
        stack.s3_python(&format!(
            "import boto3, os\nboto3.client('s3').delete_object(Bucket=os.environ['LLMOPS_STACK_BUCKET'], Key={:?})\n",
            format!("{prefix}/{key}")
        ));
    }

    // The shard in S3 no longer has the registered bytes (same size, one byte flipped): the digest
    // taken while it downloads says so, it is fetched once more, and the promote fails naming it.
    stack.s3_python(&format!(
        "import boto3, os\ns3 = boto3.client('s3')\nb, k = os.environ['LLMOPS_STACK_BUCKET'], {:?}\nbody = bytearray(s3.get_object(Bucket=b, Key=k)['Body'].read())\nbody[1_500_000] ^= 0xFF\ns3.put_object(Bucket=b, Key=k, Body=bytes(body))\n",
        format!("{prefix}/extra-shard.safetensors")
    ));
    let prod = tempfile::tempdir().unwrap();
    stack
        .llmops()
        .args([
            "promote",
            "models:/hostile/1",
            "--prod-root",
            prod.path().to_str().unwrap(),
            "--artifacts-destination",
            destination,
            "--part-size",
            "512KiB",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`extra-shard.safetensors` does not match; fetching it again",
        ))
        .stderr(predicate::str::contains(
            "checksum mismatch after a second fetch: extra-shard.safetensors",
        ));
    let published: Vec<_> = std::fs::read_dir(prod.path().join("llm-models"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().len() == 32)
        .collect();
    assert!(
        published.is_empty(),
        "a corrupt copy was published: {published:?}"
    );
}

/// A model of more than one listing page (1,000 keys): downloads start from the first page while
/// the next is still being listed, and the whole model arrives and verifies.
fn a_long_listing_streams_into_the_downloads(
    stack: &Stack,
    model: &tempfile::TempDir,
    destination: &str,
) {
    let (parent, root) = register_published(stack, model, "paged");
    // 1,000 more small files, straight into S3, and into the manifest with their sha256.
    stack.s3_python(&format!(
        "import boto3, hashlib, json, os\n\
         s3 = boto3.client('s3')\n\
         b, root = os.environ['LLMOPS_STACK_BUCKET'], {root:?}\n\
         key = root + '/llmops/manifest.json'\n\
         m = json.loads(s3.get_object(Bucket=b, Key=key)['Body'].read())\n\
         for i in range(1000):\n\
         \x20   body, path = f'file {{i}}\\n'.encode(), f'many/f{{i:04}}.txt'\n\
         \x20   s3.put_object(Bucket=b, Key=root + '/model/' + path, Body=body)\n\
         \x20   m['files'].append({{'path': path, 'size': len(body), 'sha256': hashlib.sha256(body).hexdigest()}})\n\
         m['files'].sort(key=lambda e: e['path'])\n\
         s3.put_object(Bucket=b, Key=key, Body=json.dumps(m).encode())\n",
    ));
    let proxy = FaultProxy::start(
        stack.var("MOTO_URL"),
        Fault::DelayLaterListingPages { millis: 1500 },
    );
    let prod = tempfile::tempdir().unwrap();
    let report = json_of(
        &stack
            .llmops()
            .env("AWS_ENDPOINT_URL_S3", &proxy.url)
            .args([
                "promote",
                "models:/paged/1",
                "--prod-root",
                prod.path().to_str().unwrap(),
                "--artifacts-destination",
                destination,
                "--output",
                "json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(report["verified"], "sha256");
    let fixture_files = std::fs::read_dir(model.path()).unwrap().count();
    assert_eq!(
        report["files"].as_u64().unwrap() as usize,
        fixture_files + 1000
    );
    let gets = proxy
        .gets_while_delayed
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        gets > 0,
        "no object was fetched while the second listing page was pending"
    );
    let target = prod.path().join("llm-models").join(&parent);
    assert_eq!(
        std::fs::read_to_string(target.join("many/f0999.txt")).unwrap(),
        "file 999\n"
    );
    assert_eq!(walk(&target).len(), fixture_files + 1000);
}

/// A version registered by another tool has no llmops manifest: the promote says its check is
/// weaker, checks sizes and single-part ETags (MD5, taken while downloading), and the copy is whole.
fn without_a_manifest_sizes_and_etags_are_checked(
    stack: &Stack,
    model: &tempfile::TempDir,
    destination: &str,
) {
    let (parent, root) = register_published(stack, model, "no-manifest");
    stack.s3_python(&format!(
        "import boto3, os\nboto3.client('s3').delete_object(Bucket=os.environ['LLMOPS_STACK_BUCKET'], Key={:?})\n",
        format!("{root}/llmops/manifest.json")
    ));
    let prod = tempfile::tempdir().unwrap();
    let output = stack
        .llmops()
        .args([
            "promote",
            "models:/no-manifest/1",
            "--prod-root",
            prod.path().to_str().unwrap(),
            "--artifacts-destination",
            destination,
            "--part-size",
            "512KiB",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no llmops manifest in the parent run")
            && stderr.contains("checked by size and single-part ETag only"),
        "{stderr}"
    );
    let report = json_of(&output);
    assert_eq!(report["verified"], "size_and_etag");
    assert_same_tree(model.path(), &prod.path().join("llm-models").join(&parent));
}

/// Registers `model` as `name` with its binaries published; returns the parent run id and the S3
/// key prefix of its artifacts (`mlflow/<experiment>/<run>/artifacts`).
fn register_published(stack: &Stack, model: &tempfile::TempDir, name: &str) -> (String, String) {
    let dev = tempfile::tempdir().unwrap();
    let registered = json_of(
        &stack
            .llmops()
            .args([
                "register",
                model.path().to_str().unwrap(),
                "--name",
                name,
                "--publish",
                "--output",
                "json",
            ])
            .args([
                "--dev-root",
                dev.path().to_str().unwrap(),
                "--python-model",
                test_model_code().to_str().unwrap(),
            ])
            .output()
            .unwrap(),
    );
    let parent = registered["parent_run_id"].as_str().unwrap().to_string();
    let run = stack.rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={parent}"));
    let relative = run["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("mlflow-artifacts:/")
        .to_string();
    (parent, format!("mlflow/{relative}"))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
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

/// An unpublished version, a wrong bucket, no credentials, a missing token file.
fn deployer_errors_are_clear(stack: &Stack, model: &tempfile::TempDir, destination: &str) {
    let dev = tempfile::tempdir().unwrap();
    stack
        .llmops()
        .args([
            "register",
            model.path().to_str().unwrap(),
            "--name",
            "unpublished",
            "--dev-root",
            dev.path().to_str().unwrap(),
        ])
        .args(["--python-model", test_model_code().to_str().unwrap()])
        .assert()
        .success();
    let prod = tempfile::tempdir().unwrap();
    let promote = |model: &str| {
        let mut command = stack.llmops();
        command.args([
            "promote",
            model,
            "--prod-root",
            prod.path().to_str().unwrap(),
        ]);
        command
    };
    promote("models:/unpublished/1")
        .args(["--artifacts-destination", destination])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("they were never published"))
        .stderr(predicate::str::contains(
            "llmops publish models:/unpublished/1",
        ));
    promote("models:/promote-e2e/1")
        .args(["--artifacts-destination", "s3://no-such-bucket/mlflow"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("NoSuchBucket"))
        .stderr(predicate::str::contains("hint: the bucket does not exist"));
    promote("models:/promote-e2e/1")
        .args(["--artifacts-destination", destination])
        .env_remove("AWS_ROLE_ARN")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("AWS credentials are not usable"))
        .stderr(predicate::str::contains(
            "credentials came from: none found",
        ));
    promote("models:/promote-e2e/1")
        .args(["--artifacts-destination", destination])
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("AWS credentials are not usable"))
        .stderr(predicate::str::contains("token file missing"));
    promote("models:/promote-e2e/1")
        .env_remove("LLMOPS_ARTIFACTS_DESTINATION")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--artifacts-destination"));
}

/// `size models:/…` gives the answer `size <local dir>` gives, and fetches config.json and the
/// safetensors headers only: a 16 MiB shard costs a few kilobytes, counted at a proxy in front of S3.
fn size_from_the_registry_reads_only_headers(stack: &Stack, destination: &str) {
    let model = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models/llama-3.2-1b/config.json"),
        model.path().join("config.json"),
    )
    .unwrap();
    let tensor_bytes = llmops::sizing::weights::write_sparse_safetensors(
        &model.path().join("model.safetensors"),
        &[
            ("model.embed_tokens.weight", "BF16", &[4096, 1024]),
            ("model.layers.0.mlp.up_proj.weight", "BF16", &[1024, 4096]),
        ],
    )
    .unwrap();
    assert_eq!(tensor_bytes, 16 * 1024 * 1024);
    let dev = tempfile::tempdir().unwrap();
    let registered = json_of(
        &stack
            .llmops()
            .args([
                "register",
                model.path().to_str().unwrap(),
                "--name",
                "sized",
                "--publish",
                "--output",
                "json",
            ])
            .args([
                "--dev-root",
                dev.path().to_str().unwrap(),
                "--python-model",
                test_model_code().to_str().unwrap(),
            ])
            .output()
            .unwrap(),
    );
    let parent = registered["parent_run_id"].as_str().unwrap().to_string();
    let local = json_of(
        &stack
            .llmops()
            .args(["size"])
            .arg(model.path())
            .args(["--max-model-len", "8192", "--output", "json"])
            .output()
            .unwrap(),
    );
    let proxy = FaultProxy::start(stack.var("MOTO_URL"), Fault::None);
    let remote = json_of(
        &stack
            .llmops()
            .env("AWS_ENDPOINT_URL_S3", &proxy.url)
            .args([
                "size",
                "models:/sized/1",
                "--artifacts-destination",
                destination,
                "--max-model-len",
                "8192",
                "--output",
                "json",
            ])
            .output()
            .unwrap(),
    );
    for field in ["per_gpu", "max_concurrency", "fits", "vllm_log"] {
        assert_eq!(remote[field], local[field], "{field}");
    }
    assert_eq!(remote["per_gpu"]["weights_bytes"], tensor_bytes);
    assert_eq!(remote["model"]["weights_source"], "safetensors_headers");
    // The same model by run and by S3 location gives the same answer.
    let run = stack.rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={parent}"));
    let relative = run["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("mlflow-artifacts:/")
        .to_string();
    for reference in [
        format!("runs:/{parent}/model"),
        format!("{destination}/{relative}/model"),
    ] {
        let other = json_of(
            &stack
                .llmops()
                .args([
                    "size",
                    &reference,
                    "--artifacts-destination",
                    destination,
                    "--max-model-len",
                    "8192",
                    "--output",
                    "json",
                ])
                .output()
                .unwrap(),
        );
        assert_eq!(other["per_gpu"], local["per_gpu"], "{reference}");
    }

    // promote --require-fit sizes the same way and refuses what will not start.
    let prod = tempfile::tempdir().unwrap();
    let promote_fit = |len: &str| {
        let mut command = stack.llmops();
        command
            .args([
                "promote",
                "models:/sized/1",
                "--prod-root",
                prod.path().to_str().unwrap(),
                "--artifacts-destination",
                destination,
            ])
            .args(["--require-fit", "--gpu", "T4", "--max-model-len", len]);
        command
    };
    promote_fit("500000")
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "refusing to promote: the model will not start on T4 with --max-model-len 500000",
        ));
    assert!(
        !prod
            .path()
            .join("llm-models")
            .read_dir()
            .unwrap()
            .any(|e| e.unwrap().file_name().len() == 32),
        "nothing promoted"
    );
    promote_fit("8192")
        .assert()
        .success()
        .stderr(predicates::str::contains("fits on T4"));
    let relayed = proxy
        .relayed_bytes
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        relayed < 64 * 1024,
        "{relayed} bytes came from S3 for a 16 MiB model: the tensors were downloaded"
    );
}

/// `doctor` passes on the working stack for both roles, and each broken piece fails with its fix.
fn doctor_names_each_failure_and_its_fix(stack: &Stack, destination: &str) {
    let roots = tempfile::tempdir().unwrap();
    let doctor = |role: &str| {
        let mut command = stack.llmops();
        command
            .args(["doctor", "--role", role, "--output", "json"])
            .env("LLMOPS_ARTIFACTS_DESTINATION", destination)
            .args(["--dev-root", roots.path().to_str().unwrap()])
            .env("LLMOPS_PROD_ROOT", roots.path())
            .env_remove("LLMOPS_TRITON_URL");
        command
    };
    let check = |output: &std::process::Output, name: &str| -> Value {
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {report}"))
            .clone()
    };
    for role in ["data-scientist", "prod-deployer"] {
        let output = doctor(role).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{role}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(
            check(&output, "tracking server")["detail"]
                .as_str()
                .unwrap()
                .contains("MLflow 3.17.2 (3.x)")
        );
    }
    let deployer = doctor("prod-deployer").output().unwrap();
    assert!(
        check(&deployer, "AWS credentials")["detail"]
            .as_str()
            .unwrap()
            .contains("web identity (IRSA)")
    );
    assert_eq!(check(&deployer, "artifact store")["status"], "ok");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    type Breaks = Box<dyn Fn(&mut assert_cmd::Command)>;
    let failures: Vec<(&str, Breaks, &str, &str)> = vec![
        (
            "server down",
            Box::new(move |c| {
                c.env("MLFLOW_TRACKING_URI", format!("http://127.0.0.1:{port}"))
                    .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0");
            }),
            "tracking server",
            "check MLFLOW_TRACKING_URI",
        ),
        (
            "no credentials",
            Box::new(|c| {
                c.env_remove("AWS_ROLE_ARN")
                    .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE");
            }),
            "AWS credentials",
            "provide credentials the standard way",
        ),
        (
            "token file missing",
            Box::new(|c| {
                c.env("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token");
            }),
            "AWS credentials",
            "IRSA annotation",
        ),
        (
            "unwritable root",
            Box::new(|c| {
                c.env("LLMOPS_PROD_ROOT", "/proc");
            }),
            "prod root",
            "mount the dataset read-write",
        ),
        (
            "Triton down",
            Box::new(move |c| {
                c.env("LLMOPS_TRITON_URL", format!("http://127.0.0.1:{port}"));
            }),
            "Triton",
            "check LLMOPS_TRITON_URL",
        ),
        (
            "wrong bucket",
            Box::new(|c| {
                c.env("LLMOPS_ARTIFACTS_DESTINATION", "s3://no-such-bucket/mlflow");
            }),
            "artifact store",
            "the bucket does not exist",
        ),
    ];
    for (what, breaks, name, fix) in failures {
        let mut command = doctor("prod-deployer");
        breaks(&mut command);
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{what}");
        let failed = check(&output, name);
        assert_eq!(failed["status"], "fail", "{what}: {failed}");
        assert!(
            failed["fix"].as_str().unwrap().contains(fix),
            "{what}: {failed}"
        );
    }
}

/// Parts start on 4 KiB boundaries (where direct I/O may write); anything else is a usage error
/// that says so, before any server is asked.
#[test]
fn a_part_size_off_the_block_boundary_is_refused() {
    for size in ["1000", "10MB", "4097B"] {
        crate::common::llmops()
            .args(["promote", "models:/any/1", "--part-size", size])
            .env("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "--part-size {size} is not a whole number of 4 KiB blocks"
            )))
            .stderr(predicate::str::contains("64MiB"));
    }
}
