//! `doctor` on the shared stack: it passes for both roles, and each broken piece fails with its
//! fix. And against a tracking server with a real login (MLflow's basic-auth app, a stack of its
//! own): the right credentials pass, a wrong password or a token the server does not know fail
//! with the fix.

use serde_json::Value;

use crate::stack::Stack;

fn auth_check(stack: &Stack, configure: impl FnOnce(&mut assert_cmd::Command)) -> (i32, Value) {
    let dev = tempfile::tempdir().unwrap();
    let mut command = stack.llmops();
    command
        .args([
            "doctor",
            "--output",
            "json",
            "--dev-root",
            dev.path().to_str().unwrap(),
        ])
        .env_remove("LLMOPS_TRITON_URL");
    configure(&mut command);
    let output = command.output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "authentication")
        .unwrap()
        .clone();
    (output.status.code().unwrap(), check)
}

#[test]
fn doctor_tells_a_wrong_login_from_a_down_server() {
    let stack = Stack::start_with("3", &["--auth"]);
    assert_eq!(stack.var("LLMOPS_STACK_AUTH"), "basic");

    let (code, check) = auth_check(&stack, |_| {});
    assert_eq!((code, check["status"].as_str()), (0, Some("ok")), "{check}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("MLFLOW_TRACKING_USERNAME/PASSWORD (Basic)")
    );

    let (code, check) = auth_check(&stack, |c| {
        c.env("MLFLOW_TRACKING_PASSWORD", "not-the-password");
    });
    assert_eq!(
        (code, check["status"].as_str()),
        (1, Some("fail")),
        "{check}"
    );
    assert!(check["detail"].as_str().unwrap().contains("401"), "{check}");
    assert!(check["fix"].as_str().unwrap().contains(
        "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
    ));

    let (code, check) = auth_check(&stack, |c| {
        c.env_remove("MLFLOW_TRACKING_USERNAME")
            .env_remove("MLFLOW_TRACKING_PASSWORD")
            .env("MLFLOW_TRACKING_TOKEN", "a-wrong-token");
    });
    assert_eq!(
        (code, check["status"].as_str()),
        (1, Some("fail")),
        "{check}"
    );
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("the server refused MLFLOW_TRACKING_TOKEN (Bearer)"),
        "{check}"
    );
}

/// `doctor` passes on the working stack for both roles, and each broken piece fails with its fix.
#[test]
fn doctor_names_each_failure_and_its_fix() {
    let stack = Stack::shared("3");
    let destination = stack.var("LLMOPS_ARTIFACTS_DESTINATION");
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

/// The tracking server's answers reach doctor through a proxy that removes their `Date` header, or
/// replaces it by text that is no HTTP date: the clock cannot be compared, so the clock check fails
/// and says why. The same proxy leaving `Date` alone passes, so the proxy is not what fails.
#[test]
fn doctor_fails_the_clock_check_without_a_readable_date() {
    use crate::fault_proxy::{Fault, FaultProxy};
    let stack = Stack::shared("3");
    let dev = tempfile::tempdir().unwrap();
    let doctor = |fault: Fault| {
        let proxy = FaultProxy::start(stack.tracking_uri(), fault);
        let output = stack
            .llmops()
            .args(["doctor", "--role", "data-scientist", "--output", "json"])
            .args(["--dev-root", dev.path().to_str().unwrap()])
            .env("MLFLOW_TRACKING_URI", &proxy.url)
            .env_remove("LLMOPS_TRITON_URL")
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let row = |name: &str| {
            report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name)
                .unwrap_or_else(|| panic!("no {name} row: {report}"))
                .clone()
        };
        let rewritten = proxy.faults.load(std::sync::atomic::Ordering::SeqCst);
        (
            output.status.code(),
            row("clock"),
            row("authentication"),
            rewritten,
        )
    };

    let (code, clock, _, _) = doctor(Fault::None);
    assert_eq!((code, &clock["status"]), (Some(0), &"ok".into()), "{clock}");

    let path = "experiments/get-by-name";
    for date in [
        None,
        Some("yesterday, around noon"),
        Some("Mon, 32 Foo 2026 99:00:00 GMT"),
    ] {
        let (code, clock, login, rewritten) = doctor(Fault::RewriteDate { path, date });
        assert!(
            rewritten >= 1,
            "{date:?}: the Date header was not rewritten"
        );
        assert_eq!(code, Some(1), "{date:?}: {clock}");
        assert_eq!(login["status"], "ok", "{date:?}: {login}");
        assert_eq!(clock["status"], "fail", "{date:?}: {clock}");
        assert!(
            clock["detail"]
                .as_str()
                .unwrap()
                .contains("no readable `Date` header"),
            "{date:?}: {clock}"
        );
        assert!(
            clock["fix"].as_str().unwrap().contains("NTP"),
            "{date:?}: {clock}"
        );
    }
}
