//! Real S3 is HTTPS: promote through a TLS front in front of moto, its self-signed certificate
//! trusted through `SSL_CERT_FILE`, as a private CA would be.

use std::sync::atomic::Ordering;

use super::{json_of, promote, register_published, stack};
use crate::common::assert_same_tree;
use crate::fault_proxy::{Fault, FaultProxy};
use crate::tls_front::TlsFront;

/// Listing (the SDK's client) and every object GET (promote's own connections) go over TLS; the
/// copy is whole and verified, and TLS connections are kept open between requests (moto closes
/// each connection, so a keep-alive proxy sits between the TLS front and moto, as a load balancer
/// would).
#[test]
fn a_promote_over_https_fetches_and_verifies() {
    let published = register_published("https");
    let keep_alive = FaultProxy::start(
        stack().var("MOTO_URL"),
        Fault::KeepAlive {
            requests_per_connection: 1000,
        },
    );
    let front = TlsFront::start(&keep_alive.url);
    let prod = tempfile::tempdir().unwrap();
    let output = promote(&published.uri(), prod.path())
        .env("AWS_ENDPOINT_URL_S3", &front.url)
        .env("SSL_CERT_FILE", front.certificate())
        .args([
            "--part-size",
            "1MiB",
            "--concurrency",
            "2",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report = json_of(&output);
    assert_eq!(report["verified"], "blake3");
    assert!(!stderr.contains("SDK's HTTP client"), "{stderr}");
    assert_same_tree(
        published.model.path(),
        &published.promoted_copy(prod.path()),
    );
    let handshakes = front.handshakes.load(Ordering::SeqCst);
    let requests = keep_alive.forwarded.load(Ordering::SeqCst);
    assert!(
        handshakes >= 1 && handshakes * 2 <= requests,
        "{handshakes} TLS handshakes for {requests} requests"
    );
}

/// A certificate nobody trusts: promote stops with an error that says so, and publishes nothing.
#[test]
fn an_untrusted_certificate_is_refused() {
    let published = register_published("https-untrusted");
    let front = TlsFront::start(stack().var("MOTO_URL"));
    let prod = tempfile::tempdir().unwrap();
    let output = promote(&published.uri(), prod.path())
        .env("AWS_ENDPOINT_URL_S3", &front.url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.to_ascii_lowercase().contains("certificate"),
        "names the certificate: {stderr}"
    );
    assert!(super::published_copies(prod.path()).is_empty());
}
