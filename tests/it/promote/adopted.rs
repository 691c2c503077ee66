//! A version registered the MLflow 3 way by the Python client, as the reference notebooks do (a
//! parent run with `log_artifacts(…, "model")`, a nested child with `mlflow.pyfunc.log_model(name=…,
//! artifacts={"model_context": …}, registered_model_name=…)`): promote finds its parent through the
//! logged model's context, verify works from the manifest promote computed, and after `adopt` the
//! version carries a manifest like one llmops registered.

use std::path::Path;

use serde_json::Value;

use super::{json_of, model_folder, promote, stack, tag};
use crate::common::{assert_same_tree, sha256_of_file, unique};

/// Registers `model` with the MLflow Python client the reference way; returns the parent run id.
fn register_the_reference_way(model: &Path, name: &str) -> String {
    let code = format!(
        r#"
import json, os, tempfile, mlflow
class LLMModel(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input
mlflow.set_experiment("reference-way")
with mlflow.start_run(run_name="binaries") as parent:
    mlflow.log_artifacts({model:?}, "model")
    context = os.path.join(tempfile.mkdtemp(), "model_context.json")
    json.dump({{"run_id": parent.info.run_id}}, open(context, "w"))
    with mlflow.start_run(run_name="model", nested=True):
        mlflow.pyfunc.log_model(name="llm", python_model=LLMModel(),
                                artifacts={{"model_context": context}}, registered_model_name={name:?})
print(parent.info.run_id)
"#,
        model = model.to_str().unwrap(),
    );
    let out = stack().python(&code, &[]);
    out.trim().lines().last().unwrap().to_string()
}

fn llmops_json(args: &[&str]) -> Value {
    let stack = stack();
    json_of(
        &stack
            .llmops()
            .args(args)
            .args([
                "--artifacts-destination",
                stack.var("LLMOPS_ARTIFACTS_DESTINATION"),
            ])
            .args(["--output", "json"])
            .output()
            .unwrap(),
    )
}

fn verify_json(uri: &str, prod: &Path) -> Value {
    json_of(
        &stack()
            .llmops()
            .args(["verify", uri, "--prod-root", prod.to_str().unwrap()])
            .args(["--output", "json"])
            .output()
            .unwrap(),
    )
}

#[test]
fn a_version_registered_the_reference_way_is_promoted_verified_and_adopted() {
    let stack = stack();
    let model = model_folder();
    let name = unique("reference-way");
    let parent = register_the_reference_way(model.path(), &name);
    let uri = format!("models:/{name}/1");
    let version = stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={name}&version=1"
    ));
    let source = version["model_version"]["source"].as_str().unwrap();
    assert!(source.starts_with("models:/m-"), "{source}");

    // Without a manifest, promote needs --allow-unverified; the parent is found through the
    // logged model's model_context.json.
    let prod = tempfile::tempdir().unwrap();
    promote(&uri, prod.path()).assert().code(1);
    let promoted = json_of(
        &promote(&uri, prod.path())
            .args(["--allow-unverified", "--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(promoted["parent_run_id"], parent.as_str());
    assert_eq!(promoted["parent_found_by"], "logged_model_context");
    assert_eq!(promoted["logged_model_id"], &source["models:/".len()..]);
    assert_eq!(promoted["verified"], "size_and_etag");
    let copy = prod.path().join("llm-models").join(&parent);
    assert_same_tree(model.path(), &copy);

    // verify works from the manifest promote computed, and says so.
    let verified = verify_json(&uri, prod.path());
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["manifest_from"], "promote");
    // ...and it is a real yardstick: a changed byte in prod is caught.
    let shard = copy.join("extra-shard.safetensors");
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&shard, &bytes).unwrap();
    stack
        .llmops()
        .args(["verify", &uri, "--prod-root", prod.path().to_str().unwrap()])
        .assert()
        .code(1);
    bytes[1000] ^= 0xff;
    std::fs::write(&shard, &bytes).unwrap();

    // adopt: the manifest is hashed from S3 and recorded; each entry is the file's own sha256.
    let adopted = llmops_json(&["adopt", &uri]);
    assert_eq!(adopted["outcome"], "adopted");
    assert_eq!(adopted["files"], 9);
    let version = stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={name}&version=1"
    ));
    let tags = &version["model_version"]["tags"];
    let digest = adopted["manifest_digest"].as_str().unwrap();
    assert_eq!(tag(tags, "llmops.manifest_digest"), Some(digest));
    assert_eq!(tag(tags, "llmops.parent_run_id"), Some(parent.as_str()));
    assert_eq!(tag(tags, "llmops.published"), Some("true"));
    let manifest_text = stack.python(
        &format!(
            "import mlflow\nprint(mlflow.artifacts.load_text('runs:/{parent}/llmops/manifest.json'))"
        ),
        &[],
    );
    let manifest_text = manifest_text.trim();
    assert_eq!(crate::common::sha256_hex(manifest_text.as_bytes()), digest);
    let manifest: Value = serde_json::from_str(manifest_text).unwrap();
    for entry in manifest["files"].as_array().unwrap() {
        let file = model.path().join(entry["path"].as_str().unwrap());
        assert_eq!(entry["sha256"], sha256_of_file(&file), "{file:?}");
    }
    // Adopting again changes nothing.
    assert_eq!(llmops_json(&["adopt", &uri])["outcome"], "already_anchored");

    // status shows it as published; verify now uses the registered manifest.
    let status = json_of(
        &stack
            .llmops()
            .args(["status", &name, "--output", "json"])
            .output()
            .unwrap(),
    );
    let row = &status["versions"][0];
    assert_eq!(row["published"], true, "{status}");
    let verified = verify_json(&uri, prod.path());
    assert_eq!(verified["manifest_from"], "registry");
    // A promote now checks every byte against the adopted manifest.
    let again = json_of(
        &promote(&uri, prod.path())
            .args(["--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(again["outcome"], "already_promoted");
    assert_eq!(again["verified"], "blake3");
}
