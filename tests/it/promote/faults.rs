//! A network that misbehaves between promote and S3 (a fault proxy in front of moto): each promote
//! completes and verifies. And a promote killed halfway resumes.

use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use predicates::prelude::*;

use super::{
    json_of, most_parts_recorded, promote, published_copies, register_published, stack, total_bytes,
};
use crate::common::assert_same_tree;
use crate::fault_proxy::{Fault, FaultProxy};

/// Promotes a freshly published model through a proxy injecting `fault`; the copy is whole and
/// verified, and the fault was met.
fn survives(subject: &str, fault: Fault) -> std::process::Output {
    let published = register_published(subject);
    let proxy = FaultProxy::start(stack().var("MOTO_URL"), fault);
    let prod = tempfile::tempdir().unwrap();
    let output = promote(&published.uri(), prod.path())
        .env("AWS_ENDPOINT_URL_S3", &proxy.url)
        .args([
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
    assert_eq!(report["verified"], "blake3");
    assert!(
        proxy.faults.load(Ordering::SeqCst) >= 1,
        "the fault was injected"
    );
    assert_same_tree(
        published.model.path(),
        &published.promoted_copy(prod.path()),
    );
    output
}

/// 503 SlowDown on object GETs: the SDK retries throttling itself.
#[test]
fn a_503_slowdown_is_survived() {
    survives(
        "slowdown",
        Fault::S3SlowDown {
            path: "/artifacts/model/",
            times: 4,
        },
    );
}

/// A connection dropped mid-object: llmops retries the part.
#[test]
fn a_connection_dropped_mid_object_is_survived() {
    let output = survives(
        "dropped",
        Fault::DropBody {
            path: "extra-shard",
            after: 100_000,
            times: 2,
        },
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("retry 1 of"), "{stderr}");
}

/// A body that stalls for longer than --stall-timeout: llmops gives up on it and retries.
#[test]
fn a_stalled_body_is_survived() {
    let output = survives(
        "stalled",
        Fault::StallBody {
            path: "extra-shard",
            after: 50_000,
            seconds: 4,
            times: 1,
        },
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("retry 1 of"), "{stderr}");
}

/// Killed halfway: the destination is untouched, and the next run fetches only what is missing.
/// While it runs, a second promote of the same model is refused by the lock.
#[test]
fn an_interrupted_promote_resumes() {
    let stack = stack();
    let published = register_published("resumed");
    let proxy = FaultProxy::start(
        stack.var("MOTO_URL"),
        Fault::Delay {
            path: "extra-shard",
            millis: 150,
        },
    );
    let prod = tempfile::tempdir().unwrap();
    let uri = published.uri();
    let args = [
        "promote",
        uri.as_str(),
        "--prod-root",
        prod.path().to_str().unwrap(),
        "--artifacts-destination",
        stack.var("LLMOPS_ARTIFACTS_DESTINATION"),
        "--part-size",
        "64KiB",
        "--concurrency",
        "1",
        "--output",
        "json",
    ]
    .map(str::to_string);
    let mut child = stack
        .llmops_std()
        .env("AWS_ENDPOINT_URL_S3", &proxy.url)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // 32 parts × 150 ms: stop it once a few of the shard's parts are recorded.
    let deadline = Instant::now() + Duration::from_secs(60);
    while most_parts_recorded(prod.path()) < 4 {
        assert!(
            Instant::now() < deadline,
            "the slow promote never got going"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Meanwhile a second promote of the same model is refused, naming the one running.
    let second = stack.llmops().args(&args).assert();
    let pid = child.id();
    child.kill().unwrap();
    child.wait().unwrap();
    second.code(1).stderr(predicate::str::contains(format!(
        "another promote of this model is running (pid {pid}"
    )));
    assert!(
        published_copies(prod.path()).is_empty(),
        "an interrupted promote must not publish anything"
    );

    let report = json_of(
        &promote(&published.uri(), prod.path())
            .args(["--part-size", "64KiB", "--output", "json"])
            .output()
            .unwrap(),
    );
    let (fetched, resumed, total) = (
        report["fetched_bytes"].as_u64().unwrap(),
        report["resumed_bytes"].as_u64().unwrap(),
        report["bytes"].as_u64().unwrap(),
    );
    assert_eq!(total, total_bytes(published.model.path()));
    assert!(
        resumed > 0 && fetched < total,
        "resumed {resumed}, fetched {fetched} of {total}"
    );
    assert_eq!(fetched + resumed, total);
    assert_eq!(report["verified"], "blake3");
    assert_same_tree(
        published.model.path(),
        &published.promoted_copy(prod.path()),
    );
}
