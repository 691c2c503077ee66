//! The errors a deployer meets: an unpublished version, a wrong bucket, no credentials, a missing
//! token file, no artifacts destination.

use predicates::prelude::*;

use super::{json_of, model_folder, promote, register_published, stack};
use crate::common::unique;

#[test]
fn deployer_errors_are_clear() {
    let stack = stack();
    let model = model_folder();
    let dev = tempfile::tempdir().unwrap();
    let unpublished = unique("unpublished");
    json_of(
        &stack
            .register(
                model.path(),
                &unpublished,
                dev.path(),
                "staged_files_model.py",
            )
            .output()
            .unwrap(),
    );
    let published = register_published("deployer-errors");
    let prod = tempfile::tempdir().unwrap();
    // Without --artifacts-destination: each case gives its own.
    let promote_without_destination = || {
        let mut command = stack.llmops();
        command.args([
            "promote",
            &published.uri(),
            "--prod-root",
            prod.path().to_str().unwrap(),
        ]);
        command
    };

    promote(&format!("models:/{unpublished}/1"), prod.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("they were never published"))
        .stderr(predicate::str::contains(format!(
            "llmops publish models:/{unpublished}/1"
        )));
    promote_without_destination()
        .args(["--artifacts-destination", "s3://no-such-bucket/mlflow"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("NoSuchBucket"))
        .stderr(predicate::str::contains("hint: the bucket does not exist"));
    promote(&published.uri(), prod.path())
        .env_remove("AWS_ROLE_ARN")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("AWS credentials are not usable"))
        .stderr(predicate::str::contains(
            "credentials came from: none found",
        ));
    promote(&published.uri(), prod.path())
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("AWS credentials are not usable"))
        .stderr(predicate::str::contains("token file missing"));
    promote_without_destination()
        .env_remove("LLMOPS_ARTIFACTS_DESTINATION")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--artifacts-destination"));
}
