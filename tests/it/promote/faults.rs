//! A network that misbehaves between promote and S3 (a fault proxy in front of moto): each promote
//! completes and verifies. And a promote killed halfway resumes.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use predicates::prelude::*;

use super::{
    Published, fullest_record, json_of, most_parts_recorded, promote, promote_verified,
    published_copies, register_published, stack, total_bytes,
};
use crate::common::assert_same_tree;
use crate::fault_proxy::{Fault, FaultProxy};

/// Promotes a freshly published model through a proxy injecting `fault`; the copy is whole and
/// verified, and the fault was met. Returns promote's stderr.
fn survives(subject: &str, fault: Fault) -> String {
    let published = register_published(subject);
    let proxy = FaultProxy::start(stack().var("MOTO_URL"), fault);
    let stderr = promote_verified(
        &published,
        &[("AWS_ENDPOINT_URL_S3", &proxy.url)],
        &["--part-size", "1MiB", "--stall-timeout", "1"],
    );
    assert!(
        proxy.faults.load(Ordering::SeqCst) >= 1,
        "the fault was injected"
    );
    stderr
}

/// 503 SlowDown on object GETs: retried with backoff, like any throttling.
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

/// A server that sends object bodies chunked, without `Content-Length`: promote's own GET path
/// needs the length up front, so it hands over to the SDK's client, says so once, and the copy is
/// still whole and verified.
#[test]
fn a_chunked_object_body_falls_back_to_the_sdk_client() {
    let stderr = survives(
        "chunked",
        Fault::Chunked {
            path: "/artifacts/model/",
        },
    );
    assert_eq!(
        stderr.matches("chunked body").count(),
        1,
        "said once: {stderr}"
    );
    assert!(!stderr.contains("retry"), "no retry was needed: {stderr}");
}

/// Connections kept open between requests are reused, and one the server closed while it sat idle
/// costs a new connection, not a retry.
#[test]
fn kept_alive_connections_are_reused_and_a_closed_one_is_replaced() {
    let published = register_published("keep-alive");
    let proxy = FaultProxy::start(
        stack().var("MOTO_URL"),
        Fault::KeepAlive {
            requests_per_connection: 3,
        },
    );
    let stderr = promote_verified(
        &published,
        &[("AWS_ENDPOINT_URL_S3", &proxy.url)],
        &["--part-size", "1MiB", "--concurrency", "2"],
    );
    assert!(!stderr.contains("retry"), "no retry was needed: {stderr}");
    let (requests, connections) = (
        proxy.forwarded.load(Ordering::SeqCst),
        proxy.connections.load(Ordering::SeqCst),
    );
    // Every connection but the last few served its 3 requests; without reuse, one each.
    assert!(
        requests >= 6 && connections * 2 <= requests,
        "{requests} requests on {connections} connections"
    );
}

/// A connection dropped mid-object: llmops retries the part.
#[test]
fn a_connection_dropped_mid_object_is_survived() {
    let stderr = survives(
        "dropped",
        Fault::DropBody {
            path: "extra-shard",
            after: 100_000,
            times: 2,
        },
    );
    assert!(stderr.contains("retry 1 of"), "{stderr}");
}

/// A body that stalls for longer than --stall-timeout: llmops gives up on it and retries.
#[test]
fn a_stalled_body_is_survived() {
    let stderr = survives(
        "stalled",
        Fault::StallBody {
            path: "extra-shard",
            after: 50_000,
            seconds: 4,
            times: 1,
        },
    );
    assert!(stderr.contains("retry 1 of"), "{stderr}");
}

/// A promote of `published` into `prod` at one request and 64 KiB parts, slowed by a proxy, once
/// it has recorded `parts` parts of a file: the running child, its arguments and the proxy (which
/// must outlive the child).
fn slow_promote_underway(
    published: &Published,
    prod: &Path,
    parts: usize,
) -> (std::process::Child, [String; 12], FaultProxy) {
    let stack = stack();
    let proxy = FaultProxy::start(
        stack.var("MOTO_URL"),
        Fault::Delay {
            path: "extra-shard",
            millis: 150,
        },
    );
    let uri = published.uri();
    let args = [
        "promote",
        uri.as_str(),
        "--prod-root",
        prod.to_str().unwrap(),
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
    let child = stack
        .llmops_std()
        .env("AWS_ENDPOINT_URL_S3", &proxy.url)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // 32 parts × 150 ms: stop waiting once enough of the shard's parts are recorded.
    let deadline = Instant::now() + Duration::from_secs(60);
    while most_parts_recorded(prod) < parts {
        assert!(
            Instant::now() < deadline,
            "the slow promote never got going"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, args, proxy)
}

/// Killed halfway: the destination is untouched, and the next run fetches only what is missing.
/// While it runs, a second promote of the same model is refused by the lock.
#[test]
fn an_interrupted_promote_resumes() {
    let stack = stack();
    let published = register_published("resumed");
    let prod = tempfile::tempdir().unwrap();
    let (mut child, args, _proxy) = slow_promote_underway(&published, prod.path(), 4);
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

/// Resume records are written without fsync, so a crash can keep a record whose bytes never reached
/// the disk, or a line cut short. Both are simulated on an interrupted promote's leftovers: a
/// recorded part is zeroed and a part never fetched is claimed. The next run re-hashes what the
/// records claim, fetches the file again, and publishes the registered bytes.
#[test]
fn a_record_the_disk_does_not_back_costs_a_refetch_not_a_wrong_file() {
    let published = register_published("lying-record");
    let prod = tempfile::tempdir().unwrap();
    let (mut child, _, _proxy) = slow_promote_underway(&published, prod.path(), 3);
    child.kill().unwrap();
    child.wait().unwrap();

    let (record, lines) = fullest_record(prod.path());
    let header = lines.first().expect("a record starts with its header");
    // The header ends with the file's path relative to the model folder.
    let relative = header.splitn(4, ' ').nth(3).unwrap();
    let part_size = 64 * 1024;
    let recorded: Vec<u64> = lines[1..].iter().filter_map(|l| l.parse().ok()).collect();
    let partial = record.parent().unwrap().parent().unwrap();
    let data = partial.join("files").join(relative);
    let file = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
    file.write_all_at(&[0u8; 4096], recorded[0] * part_size)
        .unwrap();
    let never_fetched = recorded.iter().max().unwrap() + 2;
    let mut text = std::fs::read_to_string(&record).unwrap();
    text.push_str(&never_fetched.to_string()); // no newline: a line cut short
    std::fs::write(&record, text).unwrap();

    let output = promote(&published.uri(), prod.path())
        .args(["--part-size", "64KiB", "--output", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("`{relative}` does not match; fetching it again")),
        "{stderr}"
    );
    assert_eq!(json_of(&output)["verified"], "blake3");
    assert_same_tree(
        published.model.path(),
        &published.promoted_copy(prod.path()),
    );
}
