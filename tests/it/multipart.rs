//! `publish` through an ingress that caps request bodies: large files go straight to S3 in presigned
//! parts (MLflow's multipart upload through the artifact proxy), and a publish killed midway
//! re-sends only what is missing. The MLflow 3 stack, with a fault proxy in front of the tracking
//! server; the parts go to moto directly, as they would go to S3.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{sha256_of_file, unique};
use crate::fault_proxy::{Fault, FaultProxy};
use crate::stack::Stack;

const MIB: usize = 1024 * 1024;

fn stack() -> &'static Stack {
    Stack::shared("3")
}

/// fixtures/tiny-model plus `shards` files of `size` bytes each (distinct, deterministic bytes).
fn model_with_shards(shards: usize, size: usize) -> tempfile::TempDir {
    let dir = crate::common::tiny_model_copy();
    for shard in 0..shards {
        let seed = shard as u32 + 1;
        let bytes: Vec<u8> = (0..size as u32)
            .map(|i| {
                (i.wrapping_mul(2_654_435_761)
                    .wrapping_add(seed.wrapping_mul(40_503))
                    >> 11) as u8
            })
            .collect();
        std::fs::write(dir.path().join(format!("big-{shard}.safetensors")), bytes).unwrap();
    }
    dir
}

/// Registers `model` without publishing; returns (name, dev root, parent run id).
fn register(model: &Path, subject: &str) -> (String, tempfile::TempDir, String) {
    let dev = tempfile::tempdir().unwrap();
    let name = unique(subject);
    let output = stack()
        .register(model, &name, dev.path(), "staged_files_model.py")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let parent = report["parent_run_id"].as_str().unwrap().to_string();
    (name, dev, parent)
}

/// `llmops publish models:/<name>/1` with MLflow at `tracking_uri`.
fn publish(name: &str, dev: &Path, tracking_uri: &str) -> std::process::Command {
    let mut command = stack().llmops_std();
    command
        .env("MLFLOW_TRACKING_URI", tracking_uri)
        .args(["publish", &format!("models:/{name}/1")])
        .args(["--dev-root", dev.to_str().unwrap(), "--output", "json"]);
    command
}

/// The S3 prefix of the parent run's `model/` folder.
fn model_prefix(parent: &str) -> String {
    let run = stack().rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={parent}"));
    let root = run["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("mlflow-artifacts:/");
    format!("mlflow/{root}/model/")
}

/// `file -> (sha256, ETag)` of the objects under the parent run's `model/`, read by boto3.
fn objects(parent: &str) -> Value {
    let prefix = model_prefix(parent);
    let code = format!(
        "import boto3, hashlib, json, os\n\
         s3 = boto3.client('s3')\n\
         b = os.environ['LLMOPS_STACK_BUCKET']\n\
         out = {{}}\n\
         for page in s3.get_paginator('list_objects_v2').paginate(Bucket=b, Prefix={prefix:?}):\n\
         \x20   for o in page.get('Contents', []):\n\
         \x20       body = s3.get_object(Bucket=b, Key=o['Key'])['Body'].read()\n\
         \x20       out[o['Key'][len({prefix:?}):]] = [hashlib.sha256(body).hexdigest(), o['ETag']]\n\
         print(json.dumps(out))\n"
    );
    serde_json::from_str(stack().s3_python(&code).trim()).unwrap()
}

/// How many `big-*` objects are under the parent run's `model/` (keys only: a quick poll).
fn shard_keys(prefix: &str) -> usize {
    let code = format!(
        "import boto3, os\n\
         s3 = boto3.client('s3')\n\
         r = s3.list_objects_v2(Bucket=os.environ['LLMOPS_STACK_BUCKET'], Prefix={:?})\n\
         print(len(r.get('Contents', [])))\n",
        format!("{prefix}big-")
    );
    stack().s3_python(&code).trim().parse().unwrap()
}

/// Every file of `model` is in S3 with its own bytes (sha256 computed here from the source).
fn assert_objects_match(model: &Path, parent: &str) -> Value {
    let found = objects(parent);
    let mut files = 0;
    for entry in std::fs::read_dir(model).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(found[&name][0], sha256_of_file(&path), "{name}");
        files += 1;
    }
    assert_eq!(found.as_object().unwrap().len(), files, "{found}");
    found
}

#[test]
fn publish_through_a_body_limit_sends_large_files_in_parts() {
    let model = model_with_shards(1, 70 * MIB);
    let (name, dev, parent) = register(model.path(), "body-limit");
    let proxy = FaultProxy::start(stack().tracking_uri(), Fault::BodyLimit { bytes: 64 << 20 });

    // Every byte through the proxy: the 70 MiB PUT is refused, as an ingress would.
    let refused = publish(&name, dev.path(), &proxy.url)
        .env("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "false")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("413"), "{stderr}");

    // By default the shard goes to S3 in five 16 MiB parts; nothing over 64 MiB crosses the proxy.
    let output = publish(&name, dev.path(), &proxy.url).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["uploaded_in_parts"], 1);
    let found = assert_objects_match(model.path(), &parent);
    let etag = found["big-0.safetensors"][1].as_str().unwrap();
    assert!(
        etag.ends_with("-5\""),
        "a multipart ETag of 5 parts: {etag}"
    );
    // The refusals were the proxy's, for the whole-file PUT only.
    assert!(proxy.faults.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[test]
fn an_interrupted_publish_sends_only_what_is_missing() {
    let model = model_with_shards(6, 6 * MIB);
    let total: u64 = std::fs::read_dir(model.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let (name, dev, parent) = register(model.path(), "publish-resume");
    // Four files go at once and each completion waits 4 s at the proxy, so the first four shards
    // are in S3 about 4 s before the last two.
    let proxy = FaultProxy::start(
        stack().tracking_uri(),
        Fault::DelayRequests {
            path: "mpu/complete",
            millis: 4000,
        },
    );
    let in_parts = [
        ("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1048576"),
        ("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", "5242880"),
    ];
    let mut child = publish(&name, dev.path(), &proxy.url)
        .envs(in_parts)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let prefix = model_prefix(&parent);
    let shards_in_s3 = || shard_keys(&prefix);
    while shards_in_s3() == 0 {
        assert!(Instant::now() < deadline, "no shard was ever completed");
        assert!(
            child.try_wait().unwrap().is_none(),
            "publish ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = shards_in_s3();
    assert!((1..6).contains(&before), "{before} of 6 shards when killed");

    let output = publish(&name, dev.path(), stack().tracking_uri())
        .envs(in_parts)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let sent = report["uploaded_bytes"].as_u64().unwrap();
    assert!(
        sent < total && sent >= (6 - before as u64) * 6 * MIB as u64,
        "re-sent {sent} of {total} bytes with {before} shards already there"
    );
    eprintln!("publish resumed: {before} of 6 shards were in S3; re-sent {sent} of {total} bytes");
    assert_objects_match(model.path(), &parent);
}
