//! `publish` interrupted midway, killed with SIGKILL or stopped by SIGTERM, while its uploads go
//! through a proxy in front of MLflow that holds each artifact PUT: the next run completes, and the
//! objects in S3 are the model's files byte for byte (read by boto3, hashed by `hashlib`; the model
//! folder hashed by `sha2`).

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Published, json_of, register_unpublished, stack, tag};
use crate::common::tree_digests;
use crate::fault_proxy::{Fault, FaultProxy};

/// Relative path → sha256 of every object under the version's `model/` prefix, read back by boto3.
fn objects(published: &Published) -> BTreeMap<String, String> {
    let prefix = format!("{}/model/", published.root);
    let listed = stack().s3_python(&format!(
        "import boto3, hashlib, json, os\n\
         s3 = boto3.client('s3')\n\
         b = os.environ['LLMOPS_STACK_BUCKET']\n\
         out = {{}}\n\
         for page in s3.get_paginator('list_objects_v2').paginate(Bucket=b, Prefix={prefix:?}):\n\
         \x20   for o in page.get('Contents', []):\n\
         \x20       body = s3.get_object(Bucket=b, Key=o['Key'])['Body'].read()\n\
         \x20       out[o['Key'][len({prefix:?}):]] = hashlib.sha256(body).hexdigest()\n\
         print(json.dumps(out))\n"
    ));
    serde_json::from_str(listed.trim()).unwrap()
}

fn publish(published: &Published) -> std::process::Command {
    let mut command = stack().llmops_std();
    command
        .args(["publish", &published.uri(), "--dev-root"])
        .arg(published.dev.path())
        .args(["--output", "json"]);
    command
}

/// Publishes a fresh version with each artifact PUT held 600 ms, sends `signal` once six PUTs were
/// held (four at a time: the first are in S3, the rest are not), and checks the upload was cut
/// midway; then publishes again without the proxy, and checks what S3 holds. Returns the
/// interrupted run's status and stderr.
fn interrupt_then_publish_again(subject: &str, signal: i32) -> (std::process::ExitStatus, String) {
    let published = register_unpublished(subject);
    let expected = tree_digests(published.model.path());
    let proxy = FaultProxy::start(
        stack().tracking_uri(),
        Fault::DelayRequests {
            path: "PUT /api/2.0/mlflow-artifacts/artifacts/",
            millis: 600,
        },
    );
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = publish(&published)
        .env("MLFLOW_TRACKING_URI", &proxy.url)
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.delayed.load(Ordering::SeqCst) < 6 {
        assert!(child.try_wait().unwrap().is_none(), "publish ended first");
        assert!(
            Instant::now() < deadline,
            "publish never got to its uploads"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) on the child we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(log.path()).unwrap();
    let midway = objects(&published);
    let whole = midway
        .iter()
        .filter(|(path, digest)| expected.get(*path) == Some(*digest))
        .count();
    assert!(
        whole >= 1 && whole < expected.len(),
        "not cut midway: {whole} of {} objects in S3",
        expected.len()
    );

    let report = json_of(&publish(&published).output().unwrap());
    assert_eq!(report["already_published"], false, "{report}");
    let uploaded = report["uploaded_files"].as_u64().unwrap() as usize;
    assert!(
        uploaded < expected.len(),
        "what the first run uploaded is kept: {report}"
    );
    assert_eq!(objects(&published), expected);
    let version = stack().rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={}&version=1",
        published.name
    ));
    assert_eq!(
        tag(&version["model_version"]["tags"], "llmops.published"),
        Some("true")
    );
    (status, stderr)
}

#[test]
fn a_publish_killed_midway_completes_on_the_next_run() {
    let (status, stderr) = interrupt_then_publish_again("publish-killed", libc::SIGKILL);
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{stderr}");
}

#[test]
fn a_sigterm_during_publish_exits_143_and_the_next_run_completes() {
    let (status, stderr) = interrupt_then_publish_again("publish-sigterm", libc::SIGTERM);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
}
