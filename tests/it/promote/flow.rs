//! The deployer's way: a dry run, the promote with an alias and its audit trail, then `status`,
//! `verify` and a promote that repairs a damaged copy.

use predicates::prelude::*;

use super::{
    json_of, partial_downloads, promote, published_copies, register_published, stack, tag,
    total_bytes,
};
use crate::common::{assert_same_tree, sha256_hex};

/// --dry-run: who, from where, what, to where; nothing downloaded.
#[test]
fn promote_dry_run_names_the_caller_and_the_plan_and_downloads_nothing() {
    let stack = stack();
    // The deployer's pod: web identity only, no static keys anywhere.
    assert!(stack.env.contains_key("AWS_WEB_IDENTITY_TOKEN_FILE"));
    assert!(!stack.env.contains_key("AWS_ACCESS_KEY_ID"));
    let published = register_published("dry-run");
    let prod = tempfile::tempdir().unwrap();
    let plan = json_of(
        &promote(&published.uri(), prod.path())
            .args(["--dry-run", "--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(plan["outcome"], "dry_run");
    assert!(
        plan["caller_arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/mlflow-s3-access-role"),
        "{plan}"
    );
    assert!(
        plan["credential_source"]
            .as_str()
            .unwrap()
            .starts_with("web identity (IRSA)"),
        "{plan}"
    );
    assert_eq!(plan["parent_run_id"], published.parent.as_str());
    assert!(
        plan["source"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{}/artifacts/model", published.parent)),
        "{plan}"
    );
    // fixtures/tiny-model's 8 files and the extra shard.
    assert_eq!(plan["plan"].as_array().unwrap().len(), 9);
    assert!(!published.promoted_copy(prod.path()).exists());
    assert!(published_copies(prod.path()).is_empty());
}

/// The real thing, in 512 KiB parts, moving an alias; the version records where, by whom, what;
/// again, an identical copy is a no-op that says so.
#[test]
fn promote_with_web_identity_copies_verifies_and_records_the_audit_trail() {
    let stack = stack();
    let published = register_published("audited");
    let prod = tempfile::tempdir().unwrap();
    let report = json_of(
        &promote(&published.uri(), prod.path())
            .args([
                "--alias",
                "champion",
                "--part-size",
                "512KiB",
                "--output",
                "json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(report["outcome"], "promoted");
    assert_eq!(report["verified"], "blake3");
    assert_eq!(report["bytes"], total_bytes(published.model.path()));
    let target = published.promoted_copy(prod.path());
    assert_same_tree(published.model.path(), &target);
    assert_eq!(published_copies(prod.path()), [target.as_path()]);
    assert!(
        partial_downloads(prod.path()).is_empty(),
        "{:?}",
        partial_downloads(prod.path())
    );

    // The audit trail and the alias.
    let version = stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={}&version=1",
        published.name
    ));
    let tags = &version["model_version"]["tags"];
    assert_eq!(
        tag(tags, "llmops.promoted_to"),
        Some(target.to_str().unwrap())
    );
    assert!(
        tag(tags, "llmops.promoted_by")
            .unwrap()
            .contains("assumed-role"),
        "{tags}"
    );
    // The digest names the manifest logged at registration: sha256 of its bytes in S3.
    let manifest = stack.s3_python(&format!(
        "import boto3, hashlib, os\n\
         body = boto3.client('s3').get_object(Bucket=os.environ['LLMOPS_STACK_BUCKET'], Key={:?})['Body'].read()\n\
         print(body.decode())\n",
        format!("{}/llmops/manifest.json", published.root)
    ));
    let manifest = manifest.strip_suffix('\n').unwrap();
    assert_eq!(
        tag(tags, "llmops.promoted_manifest_digest"),
        Some(sha256_hex(manifest.as_bytes()).as_str())
    );
    assert!(tag(tags, "llmops.promoted_at").unwrap().starts_with("20"));
    let by_alias = stack.rest_get(&format!(
        "/api/2.0/mlflow/registered-models/alias?name={}&alias=champion",
        published.name
    ));
    assert_eq!(by_alias["model_version"]["version"], "1");

    // Again: an identical copy is a no-op that says so; rolling back is this, plus the alias.
    promote(&published.uri(), prod.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("already promoted"));
}

/// `status` and `verify` on a promoted version; a byte changed in production is found, and
/// promoting again replaces the damaged copy by an atomic swap.
#[test]
fn status_and_verify_find_a_changed_byte_and_promote_replaces_the_copy() {
    let stack = stack();
    let published = register_published("verified");
    let prod = tempfile::tempdir().unwrap();
    promote(&published.uri(), prod.path())
        .args(["--alias", "champion"])
        .assert()
        .success();
    let status = json_of(
        &stack
            .llmops()
            .args([
                "status",
                &published.name,
                "--prod-root",
                prod.path().to_str().unwrap(),
                "--dev-root",
                published.dev.path().to_str().unwrap(),
            ])
            .args(["--output", "json"])
            .output()
            .unwrap(),
    );
    let row = &status["versions"][0];
    assert_eq!(
        (
            row["version"].as_str(),
            row["published"].as_bool(),
            row["promoted"].as_bool()
        ),
        (Some("1"), Some(true), Some(true))
    );
    assert_eq!(row["dev_staged"], true);
    assert_eq!(row["aliases"], serde_json::json!(["champion"]));
    assert!(row["verified"].as_str().unwrap().starts_with("blake3 at"));
    let verify = |model: &str| {
        let mut command = stack.llmops();
        command.args([
            "verify",
            model,
            "--prod-root",
            prod.path().to_str().unwrap(),
            "--output",
            "json",
        ]);
        command
    };
    verify(&format!("models:/{}@champion", published.name))
        .assert()
        .success()
        .stdout(predicate::str::contains("\"verified\": true"));

    let target = published.promoted_copy(prod.path());
    // A file put beside the promoted one is foreign: the copy no longer verifies until it goes.
    let foreign = target.join("0000-evil.bin");
    std::fs::write(&foreign, b"not registered").unwrap();
    verify(&published.uri())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "`0000-evil.bin` is not in the manifest",
        ));
    // Promoting again does not take the copy for "already promoted": it swaps in a clean one.
    promote(&published.uri(), prod.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("already promoted").not());
    assert!(!foreign.exists());
    verify(&published.uri()).assert().success();

    let shard = target.join("extra-shard.safetensors");
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&shard, &bytes).unwrap();
    verify(&published.uri())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "`extra-shard.safetensors` differs from the manifest",
        ));

    let again = json_of(
        &promote(&published.uri(), prod.path())
            .args(["--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(again["outcome"], "replaced");
    assert_same_tree(published.model.path(), &target);
}
