//! Hostile servers and hostile input: a tracking server that redirects elsewhere, sends escape
//! sequences, a 20 MiB answer or one byte a second; numbers and settings that used to panic; a
//! password in the tracking URI; an expired web-identity token. The hostile answers come from the
//! fault proxy in front of the real MLflow server.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::common::{llmops, unique};
use crate::fault_proxy::{Fault, FaultProxy, Hostile};
use crate::stack::Stack;

/// A listener that records every request head it receives and answers `{}`.
fn recording_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20).flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buffer = [0u8; 8192];
            let n = stream.read(&mut buffer).unwrap_or(0);
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buffer[..n]).into_owned());
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        }
    });
    (url, heads)
}

fn status_through(proxy: &FaultProxy, extra_env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Stack::shared("3").llmops();
    command
        .env("MLFLOW_TRACKING_URI", &proxy.url)
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .args(["status", &unique("bad-server")]);
    for (name, value) in extra_env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// A `302` to another origin is not followed: the Domino API key (which reqwest does not know to
/// drop, unlike `Authorization`) never reaches the other server.
#[test]
fn a_redirect_to_another_origin_gets_no_credentials() {
    let (elsewhere, heads) = recording_server();
    let proxy = FaultProxy::start(
        Stack::shared("3").tracking_uri(),
        Fault::Hostile {
            path: "model-versions/search",
            answer: Hostile::Redirect(format!("{elsewhere}/steal")),
        },
    );
    let output = status_through(&proxy, &[("DOMINO_USER_API_KEY", "key-for-mlflow-only")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("redirected to another origin"), "{stderr}");
    std::thread::sleep(Duration::from_millis(200));
    let heads = heads.lock().unwrap();
    assert!(
        heads.iter().all(|h| !h.contains("key-for-mlflow-only")),
        "the key reached the other origin: {heads:?}"
    );
}

/// Escape sequences, a bidirectional override and 100 KB of text in an error answer: what
/// reaches the terminal is escaped and short.
#[test]
fn server_error_text_is_escaped_and_cut() {
    let message = format!("\u{1b}]0;pwned\u{7}\u{202e}{}", "x".repeat(100_000));
    let body = serde_json::json!({ "error_code": "BAD_REQUEST", "message": message });
    let proxy = FaultProxy::start(
        Stack::shared("3").tracking_uri(),
        Fault::Hostile {
            path: "model-versions/search",
            answer: Hostile::Body {
                status: 400,
                body: Arc::new(body.to_string().into_bytes()),
            },
        },
    );
    let output = status_through(&proxy, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}'));
    assert!(!stderr.contains('\u{202e}'), "{stderr}");
    assert!(stderr.contains("\\u{1b}]0;pwned"), "{stderr}");
    assert!(stderr.len() < 2_000, "{} bytes of stderr", stderr.len());
}

/// A 20 MiB answer is refused, naming the limit, instead of growing the process without bound.
#[test]
fn a_huge_answer_is_refused() {
    let padding = "x".repeat(20 * 1024 * 1024);
    let body = format!("{{\"model_versions\": [], \"padding\": \"{padding}\"}}");
    let proxy = FaultProxy::start(
        Stack::shared("3").tracking_uri(),
        Fault::Hostile {
            path: "model-versions/search",
            answer: Hostile::Body {
                status: 200,
                body: Arc::new(body.into_bytes()),
            },
        },
    );
    let output = status_through(&proxy, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("larger than 16777216 bytes"), "{stderr}");
}

/// An answer dripping one byte a second ends at the request timeout, whole-body, not per read.
#[test]
fn a_dripping_answer_times_out() {
    let proxy = FaultProxy::start(
        Stack::shared("3").tracking_uri(),
        Fault::Hostile {
            path: "model-versions/search",
            answer: Hostile::Drip {
                len: 60,
                interval_ms: 1000,
            },
        },
    );
    let started = Instant::now();
    let output = status_through(&proxy, &[("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not arrive within 3 s"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Numbers that do not fit a duration, and zero, are usage errors (exit 2), not panics (101).
#[test]
fn numbers_that_do_not_fit_are_usage_errors() {
    for value in ["nan", "inf", "1e300", "0", "-1"] {
        llmops()
            .args([
                "promote",
                "models:/m/1",
                &format!("--stall-timeout={value}"),
            ])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("more than 0 and at most 86400"));
    }
    for value in ["1e300", "0"] {
        llmops()
            .args(["status", "m", "--tracking-uri", "http://127.0.0.1:9"])
            .env("MLFLOW_HTTP_REQUEST_TIMEOUT", value)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("MLFLOW_HTTP_REQUEST_TIMEOUT"));
    }
}

/// A NUL in a settings file used to break every command, `--version` included.
#[test]
fn a_nul_in_a_settings_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("llmops.toml"),
        "tracking_uri = \"http://a\\u0000b\"\n",
    )
    .unwrap();
    llmops()
        .current_dir(dir.path())
        .arg("--version")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`tracking_uri` contains a control character",
        ));
}

/// A password in the tracking URI is masked in errors, `config show` and its JSON.
#[test]
fn a_password_in_the_tracking_uri_is_never_printed() {
    let uri = "http://ann:s3cret-pass@127.0.0.1:9";
    let status = llmops()
        .args(["status", "m"])
        .env("MLFLOW_TRACKING_URI", uri)
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .output()
        .unwrap();
    let config = llmops()
        .args(["config", "show", "--output", "json"])
        .env("MLFLOW_TRACKING_URI", uri)
        .output()
        .unwrap();
    for output in [&status, &config] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains("s3cret-pass"), "{all}");
    }
    assert!(String::from_utf8_lossy(&config.stdout).contains("http://ann:***@127.0.0.1:9"));
}

/// An expired web-identity token fails doctor's credentials check, even while STS still answers.
#[test]
fn an_expired_token_fails_doctor() {
    use base64::Engine;
    let stack = Stack::shared("3");
    let dir = tempfile::tempdir().unwrap();
    let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let token = format!(
        "{}.{}.sig",
        encode(r#"{"alg":"RS256"}"#),
        encode(r#"{"sub":"system:serviceaccount:ml:deployer","exp":1000000000}"#)
    );
    let token_file = dir.path().join("token.jwt");
    std::fs::write(&token_file, token).unwrap();
    let output = stack
        .llmops()
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env_remove("LLMOPS_TRITON_URL")
        .args(["doctor", "--role", "prod-deployer", "--output", "json"])
        .args(["--prod-root", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "AWS credentials")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("expired"),
        "{check}"
    );
}
