//! HTTP proxy variables, as the AWS SDK's own client reads them (`HTTP_PROXY`, `HTTPS_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`): an S3 endpoint they send through a proxy goes through it; one that
//! `NO_PROXY` excludes is fetched on promote's own connections, as it would be with no proxy set.

use std::sync::atomic::Ordering;

use super::{promote_verified, register_published, stack};
use crate::fault_proxy::{Fault, FaultProxy};

/// A port nothing listens on: a proxy there refuses every connection.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// With a proxy set for everything but 127.0.0.1, object GETs still take promote's own path: the
/// S3 front answers them chunked, which only that path notices (and hands over to the SDK's
/// client, saying so once). Were the proxy variable alone to decide, the SDK's client would have
/// fetched everything and the note would not appear.
#[test]
fn an_endpoint_no_proxy_excludes_keeps_promotes_own_connections() {
    let published = register_published("no-proxy");
    let chunked = FaultProxy::start(
        stack().var("MOTO_URL"),
        Fault::Chunked {
            path: "/artifacts/model/",
        },
    );
    let dead_proxy = closed_port_url();
    let stderr = promote_verified(
        &published,
        &[
            ("AWS_ENDPOINT_URL_S3", &chunked.url),
            ("HTTP_PROXY", &dead_proxy),
            ("HTTPS_PROXY", &dead_proxy),
            ("NO_PROXY", "localhost,127.0.0.1"),
        ],
        &["--part-size", "1MiB"],
    );
    assert_eq!(
        stderr.matches("chunked body").count(),
        1,
        "promote's own GET path was tried: {stderr}"
    );
    assert!(!stderr.contains("proxy variable"), "{stderr}");
    assert!(chunked.faults.load(Ordering::SeqCst) >= 1);
}

/// An S3 endpoint a proxy variable covers: every S3 and STS request goes through the proxy (here
/// a forwarding proxy in front of moto), by the SDK's client, and promote says once why its own
/// connections are not used. MLflow, on `localhost`, is excluded by `NO_PROXY`.
#[test]
fn an_endpoint_behind_a_proxy_is_fetched_through_it() {
    let stack = stack();
    let published = register_published("behind-proxy");
    let forward = FaultProxy::start(stack.var("MOTO_URL"), Fault::None);
    let mlflow_on_localhost = stack
        .var("MLFLOW_TRACKING_URI")
        .replace("127.0.0.1", "localhost");
    let stderr = promote_verified(
        &published,
        &[
            ("MLFLOW_TRACKING_URI", &mlflow_on_localhost),
            ("HTTP_PROXY", &forward.url),
            ("NO_PROXY", "localhost"),
        ],
        &["--part-size", "1MiB"],
    );
    assert_eq!(
        stderr.matches("a proxy variable").count(),
        1,
        "said once: {stderr}"
    );
    let files = crate::common::tree_digests(published.model.path()).len();
    let forwarded = forward.forwarded.load(Ordering::SeqCst);
    assert!(
        forwarded > files,
        "{forwarded} requests went through the proxy for {files} files"
    );
}
