//! `doctor` against a tracking server with a real login (MLflow's basic-auth app): the right
//! credentials pass, a wrong password or a token the server does not know fail with the fix. The
//! other failing configurations are tested on the plain stack in `promote.rs`.

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
