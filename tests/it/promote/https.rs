//! Real S3 is HTTPS: promote through a TLS front in front of moto, its self-signed certificate
//! trusted through `SSL_CERT_FILE`, as a private CA would be.

use std::sync::atomic::Ordering;

use super::{promote, promote_verified, register_published, stack};
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
    let certificate = front.certificate().to_str().unwrap().to_string();
    let stderr = promote_verified(
        &published,
        &[
            ("AWS_ENDPOINT_URL_S3", &front.url),
            ("SSL_CERT_FILE", &certificate),
        ],
        &["--part-size", "1MiB", "--concurrency", "2"],
    );
    assert!(!stderr.contains("SDK's HTTP client"), "{stderr}");
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
