//! `promote`, `status` and `verify` end to end: versions registered and published with `llmops`,
//! then promoted from moto's S3 with web-identity (IRSA) credentials only ([`flow`]), through faults
//! and an interruption ([`faults`]), a matrix of faults and kills watched by a poller of the live
//! folder ([`matrix`]), a full disk ([`full_disk`]), an interrupted publish
//! ([`publish_interrupted`]), S3 contents that are not what was registered ([`s3_contents`]), the
//! errors a deployer meets ([`errors`]), and sizing from the registry ([`size`]).
//!
//! Every test registers and publishes its own model under a unique name on the shared MLflow 3
//! stack, so each runs alone (`cargo test hostile`) or beside the others.

mod adopted;
mod errors;
mod faults;
mod flow;
mod full_disk;
mod https;
mod matrix;
mod planted;
mod proxy;
mod publish_interrupted;
mod s3_contents;
mod size;

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::common::{json_of, tag, unique};
use crate::stack::Stack;

/// The stack these tests share.
fn stack() -> &'static Stack {
    Stack::shared("3")
}

/// fixtures/tiny-model plus one 2 MiB shard, so ranged parts and resume have something to split.
fn model_folder() -> tempfile::TempDir {
    let dir = crate::common::tiny_model_copy();
    let big: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("extra-shard.safetensors"), big).unwrap();
    dir
}

fn test_model_code() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/staged_files_model.py")
}

/// A model folder registered with its binaries published, as version 1 of its own name.
struct Published {
    /// The files that were registered.
    model: tempfile::TempDir,
    /// The dev root it was staged in.
    dev: tempfile::TempDir,
    name: String,
    parent: String,
    /// S3 key prefix of the parent run's artifacts (`mlflow/<experiment>/<run>/artifacts`).
    root: String,
}

impl Published {
    /// `models:/<name>/1`.
    fn uri(&self) -> String {
        format!("models:/{}/1", self.name)
    }

    /// Where a promote to `prod` puts the copy.
    fn promoted_copy(&self, prod: &Path) -> PathBuf {
        prod.join("llm-models").join(&self.parent)
    }
}

/// Registers a fresh [`model_folder`] with `--publish`, under a unique name made from `subject`.
fn register_published(subject: &str) -> Published {
    register_published_folder(subject, model_folder())
}

/// [`register_published`] for a model folder of the test's own.
fn register_published_folder(subject: &str, model: tempfile::TempDir) -> Published {
    register_folder(subject, model, true)
}

/// A fresh [`model_folder`] registered without `--publish`: nothing in S3 yet.
fn register_unpublished(subject: &str) -> Published {
    register_folder(subject, model_folder(), false)
}

fn register_folder(subject: &str, model: tempfile::TempDir, publish: bool) -> Published {
    let stack = stack();
    let dev = tempfile::tempdir().unwrap();
    let name = unique(subject);
    let registered = json_of(
        &stack
            .register(model.path(), &name, dev.path(), "staged_files_model.py")
            .args(publish.then_some("--publish"))
            .output()
            .unwrap(),
    );
    let parent = registered["parent_run_id"].as_str().unwrap().to_string();
    let run = stack.rest_get(&format!("/api/2.0/mlflow/runs/get?run_id={parent}"));
    let relative = run["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("mlflow-artifacts:/")
        .to_string();
    Published {
        model,
        dev,
        name,
        parent,
        root: format!("mlflow/{relative}"),
    }
}

/// `llmops promote <model> --prod-root <prod> --artifacts-destination <the stack's>` on the shared
/// stack, for more arguments.
fn promote(model: &str, prod: &Path) -> assert_cmd::Command {
    let stack = stack();
    let mut command = stack.llmops();
    command
        .args(["promote", model, "--prod-root", prod.to_str().unwrap()])
        .args([
            "--artifacts-destination",
            stack.var("LLMOPS_ARTIFACTS_DESTINATION"),
        ]);
    command
}

/// Promotes `published` into a fresh prod root with `env` and `args` added (and `--output json`);
/// asserts that it succeeded, verified every byte with BLAKE3 and left a copy identical to the
/// registered folder. Returns what it printed on stderr.
fn promote_verified(published: &Published, env: &[(&str, &str)], args: &[&str]) -> String {
    let prod = tempfile::tempdir().unwrap();
    let output = promote(&published.uri(), prod.path())
        .envs(env.iter().copied())
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert_eq!(json_of(&output)["verified"], "blake3");
    crate::common::assert_same_tree(
        published.model.path(),
        &published.promoted_copy(prod.path()),
    );
    stderr
}

/// Runs Python with boto3 against the stack's bucket: `b` is the bucket, `s3` a client.
fn s3(code: &str) {
    stack().s3_python(&format!(
        "import boto3, os\ns3 = boto3.client('s3')\nb = os.environ['LLMOPS_STACK_BUCKET']\n{code}\n"
    ));
}

// Where promote keeps things under the prod root. These move soon (to `<prod>/.llmops/partial/<run>/`,
// `<prod>/.llmops/state/<run>.json`, `<prod>/.llmops/locks/`): change them here.

/// Published copies under `prod`: `llm-models/<32-hex run id>`.
fn published_copies(prod: &Path) -> Vec<PathBuf> {
    entries(&prod.join("llm-models"))
        .into_iter()
        .filter(|p| p.file_name().unwrap().len() == 32)
        .collect()
}

/// Partial downloads under `prod`: `.llmops/partial/<run>/`, beside the served `llm-models/`
/// (which must hold none).
fn partial_downloads(prod: &Path) -> Vec<PathBuf> {
    let stray: Vec<PathBuf> = entries(&prod.join("llm-models"))
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        stray.is_empty(),
        "llm-models/ holds more than models: {stray:?}"
    );
    entries(&prod.join(".llmops/partial"))
}

/// The most parts of one file a (running or interrupted) promote into `prod` has recorded as
/// done: today one `<sha256 of the path>.parts` file per file in the partial download's `state/`,
/// a header line then one line per part (the last one as `complete`).
fn most_parts_recorded(prod: &Path) -> usize {
    entries(&prod.join(".llmops/partial"))
        .iter()
        .flat_map(|partial| entries(&partial.join("state")))
        .filter(|p| p.extension().is_some_and(|e| e == "parts"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|text| text.lines().count().saturating_sub(1))
        .max()
        .unwrap_or(0)
}

/// The record (see [`most_parts_recorded`]) with the most lines, and its lines.
fn fullest_record(prod: &Path) -> (PathBuf, Vec<String>) {
    entries(&prod.join(".llmops/partial"))
        .iter()
        .flat_map(|partial| entries(&partial.join("state")))
        .filter(|p| p.extension().is_some_and(|e| e == "parts"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text.lines().map(str::to_string).collect::<Vec<_>>())
        })
        .max_by_key(|(_, lines)| lines.len())
        .expect("an interrupted promote leaves records")
}

/// The entries of `dir`, none when it does not exist.
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect()
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in entries(dir) {
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The sum of the file sizes under `dir`, counted here.
fn total_bytes(dir: &Path) -> u64 {
    walk(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

/// Parts start on 4 KiB boundaries (where direct I/O may write); anything else is a usage error
/// that says so, before any server is asked.
#[test]
fn a_part_size_off_the_block_boundary_is_refused() {
    for size in ["1000", "10MB", "4097B"] {
        crate::common::llmops()
            .args(["promote", "models:/any/1", "--part-size", size])
            .env("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "--part-size {size} is not a whole number of 4 KiB blocks"
            )))
            .stderr(predicate::str::contains("64MiB"));
    }
}
