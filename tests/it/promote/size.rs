//! `size` of a registered model, and `promote --require-fit`.

use std::path::Path;
use std::sync::atomic::Ordering;

use super::{json_of, promote, published_copies, register_published_folder, stack};
use crate::fault_proxy::{Fault, FaultProxy};

/// `size models:/…` gives the answer `size <local dir>` gives, and fetches config.json and the
/// safetensors headers only: a 16 MiB shard costs a few kilobytes, counted at a proxy in front of S3.
#[test]
fn size_from_the_registry_reads_only_headers() {
    let stack = stack();
    let destination = stack.var("LLMOPS_ARTIFACTS_DESTINATION");
    let model = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models/llama-3.2-1b/config.json"),
        model.path().join("config.json"),
    )
    .unwrap();
    // 4096 × 1024 + 1024 × 4096 bf16 values: 16 MiB of tensors.
    const TENSOR_BYTES: u64 = 16 * 1024 * 1024;
    llmops::sizing::weights::write_sparse_safetensors(
        &model.path().join("model.safetensors"),
        &[
            ("model.embed_tokens.weight", "BF16", &[4096, 1024]),
            ("model.layers.0.mlp.up_proj.weight", "BF16", &[1024, 4096]),
        ],
    )
    .unwrap();
    let local = json_of(
        &stack
            .llmops()
            .args(["size"])
            .arg(model.path())
            .args(["--max-model-len", "8192", "--output", "json"])
            .output()
            .unwrap(),
    );
    let published = register_published_folder("sized", model);
    let proxy = FaultProxy::start(stack.var("MOTO_URL"), Fault::None);
    let remote = json_of(
        &stack
            .llmops()
            .env("AWS_ENDPOINT_URL_S3", &proxy.url)
            .args([
                "size",
                &published.uri(),
                "--artifacts-destination",
                destination,
                "--max-model-len",
                "8192",
                "--output",
                "json",
            ])
            .output()
            .unwrap(),
    );
    for field in ["per_gpu", "max_concurrency", "fits", "vllm_log"] {
        assert_eq!(remote[field], local[field], "{field}");
    }
    assert_eq!(remote["per_gpu"]["weights_bytes"], TENSOR_BYTES);
    assert_eq!(remote["model"]["weights_source"], "safetensors_headers");
    // The same model by run and by S3 location gives the same answer.
    for reference in [
        format!("runs:/{}/model", published.parent),
        format!(
            "{destination}/{}/model",
            published.root.trim_start_matches("mlflow/")
        ),
    ] {
        let other = json_of(
            &stack
                .llmops()
                .args([
                    "size",
                    &reference,
                    "--artifacts-destination",
                    destination,
                    "--max-model-len",
                    "8192",
                    "--output",
                    "json",
                ])
                .output()
                .unwrap(),
        );
        assert_eq!(other["per_gpu"], local["per_gpu"], "{reference}");
    }

    // promote --require-fit sizes the same way and refuses what will not start.
    let prod = tempfile::tempdir().unwrap();
    let promote_fit = |len: &str| {
        let mut command = promote(&published.uri(), prod.path());
        command.args(["--require-fit", "--gpu", "T4", "--max-model-len", len]);
        command
    };
    promote_fit("500000")
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "refusing to promote: the model will not start on T4 with --max-model-len 500000",
        ));
    assert!(published_copies(prod.path()).is_empty(), "nothing promoted");
    promote_fit("8192")
        .assert()
        .success()
        .stderr(predicates::str::contains("fits on T4"));
    let relayed = proxy.relayed_bytes.load(Ordering::SeqCst);
    assert!(
        relayed < 64 * 1024,
        "{relayed} bytes came from S3 for a 16 MiB model: the tensors were downloaded"
    );
}
