//! Snapshots of what people and scripts read: the human view and the `--output json` document of
//! `size`, `config show`, `promote --dry-run`, `status` and `doctor`, each with its exit code and
//! stderr. The snapshots live in `tests/it/snapshots/`; a change to any of these outputs shows up
//! as a diff there (review it, then accept with `INSTA_UPDATE=always cargo test --test it snapshot`).
//!
//! What varies from run to run is filtered: temporary paths, ports, run ids, digests, times, token
//! ages and durations; table padding is normalised because a filtered value changes a column's width.

use std::process::Output;

use crate::common::{fixture, llmops};
use crate::stack::Stack;

/// Exit code, stdout and stderr, as one text.
fn transcript(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or("signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The filters every snapshot here needs.
fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    // A temporary folder's own name, under whatever TMPDIR is (scripts/test sets its own); what
    // llmops built below it stays visible.
    let temp_dir = std::env::temp_dir();
    let temp = regex::escape(temp_dir.to_str().unwrap().trim_end_matches('/'));
    settings.add_filter(&format!("{temp}/[.A-Za-z0-9_-]+"), "[TMP]");
    for (pattern, replacement) in [
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        // The experiment's id depends on what other tests created first on the shared stack.
        (r"mlflow/\d+/", "mlflow/[EXPERIMENT]/"),
        (r"\b[0-9a-f]{64}\b", "[SHA256]"),
        (r"\b[0-9a-f]{32}\b", "[RUN_ID]"),
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
            "[TIME]",
        ),
        (
            r"token file \d+ minutes old, expires in \d+ minutes",
            "token file [AGE]",
        ),
        (r#""seconds": [0-9.e-]+"#, r#""seconds": [SECONDS]"#),
        (r"within \d+ s of", "within [N] s of"),
        (r" {2,}\|", " |"),
        (r"\| {2,}", "| "),
        (r"-{3,}", "---"),
    ] {
        settings.add_filter(pattern, replacement);
    }
    settings
}

fn size(args: &[&str]) -> String {
    let model = fixture("llama-3.1-8b");
    let output = llmops()
        .arg("size")
        .arg(&model)
        .args(args)
        .output()
        .unwrap();
    transcript(&output).replace(model.to_str().unwrap(), "[FIXTURES]/llama-3.1-8b")
}

#[test]
fn snapshot_size_that_fits() {
    settings().bind(|| {
        let args = ["--gpu", "H100", "--max-model-len", "32768"];
        insta::assert_snapshot!("size_fits_table", size(&args));
        insta::assert_snapshot!(
            "size_fits_json",
            size(&[&args[..], &["--output", "json"]].concat())
        );
    });
}

#[test]
fn snapshot_size_that_does_not_fit() {
    settings().bind(|| {
        let args = ["--gpu", "L4", "--max-model-len", "131072"];
        insta::assert_snapshot!("size_too_big_table", size(&args));
        insta::assert_snapshot!(
            "size_too_big_json",
            size(&[&args[..], &["--output", "json"]].concat())
        );
    });
}

#[test]
fn snapshot_size_sweep() {
    settings().bind(|| {
        let args = ["--gpu", "L4,H100", "--max-model-len", "8192,131072"];
        insta::assert_snapshot!("size_sweep_table", size(&args));
        insta::assert_snapshot!(
            "size_sweep_json",
            size(&[&args[..], &["--output", "json"]].concat())
        );
    });
}

#[test]
fn snapshot_config_show() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("llmops.toml"),
        "vllm_version = \"0.20\"\nprod_root = \"/mnt/prod\"\n\n[gates.\"support-bot\"]\nrequire = [\"metric:accuracy >= 0.82\", \"tag:approved=yes\"]\nrequire_better_than = \"@champion:accuracy\"\nrequire_fit = true\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("xdg/llmops")).unwrap();
    std::fs::write(
        dir.path().join("xdg/llmops/config.toml"),
        "tracking_uri = \"http://mlflow.internal:5000\"\n",
    )
    .unwrap();
    let show = |json: bool| {
        let mut command = llmops();
        command
            .current_dir(dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
            .env("LLMOPS_DEV_ROOT", "/mnt/dev")
            .env("MLFLOW_TRACKING_TOKEN", "secret-never-shown")
            .args(["config", "show"]);
        if json {
            command.args(["--output", "json"]);
        }
        transcript(&command.output().unwrap())
    };
    settings().bind(|| {
        insta::assert_snapshot!("config_show_table", show(false));
        insta::assert_snapshot!("config_show_json", show(true));
    });
    assert!(!show(false).contains("secret-never-shown"));
}

/// One registered, published and promoted version on a real stack, then the read-only commands.
#[test]
fn snapshot_registry_commands() {
    let stack = Stack::shared("3");
    let dev = tempfile::tempdir().unwrap();
    let prod = tempfile::tempdir().unwrap();
    let dev_root = dev.path().to_str().unwrap();
    let prod_root = prod.path().to_str().unwrap();
    let code = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/data/staged_files_model.py"
    );
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tiny-model");
    let run = |args: &[&str]| {
        let output = stack
            .llmops()
            .env_remove("LLMOPS_TRITON_URL")
            .args(args)
            .output()
            .unwrap();
        transcript(&output)
    };
    let registered = run(&[
        "register",
        model,
        "--name",
        "snap-tiny",
        "--dev-root",
        dev_root,
        "--python-model",
        code,
        "--publish",
        "--output",
        "json",
    ]);
    assert!(registered.starts_with("exit: 0"), "{registered}");
    let dry_run = [
        "promote",
        "models:/snap-tiny/1",
        "--prod-root",
        prod_root,
        "--dry-run",
    ];
    let status = [
        "status",
        "snap-tiny",
        "--dev-root",
        dev_root,
        "--prod-root",
        prod_root,
    ];
    let doctor = [
        "doctor",
        "--role",
        "prod-deployer",
        "--prod-root",
        prod_root,
    ];
    settings().bind(|| {
        insta::assert_snapshot!("promote_dry_run_table", run(&dry_run));
        insta::assert_snapshot!(
            "promote_dry_run_json",
            run(&[&dry_run[..], &["--output", "json"]].concat())
        );
        let promoted = run(&[
            "promote",
            "models:/snap-tiny/1",
            "--prod-root",
            prod_root,
            "--alias",
            "champion",
        ]);
        assert!(promoted.starts_with("exit: 0"), "{promoted}");
        insta::assert_snapshot!("status_table", run(&status));
        insta::assert_snapshot!(
            "status_json",
            run(&[&status[..], &["--output", "json"]].concat())
        );
        insta::assert_snapshot!("doctor_table", run(&doctor));
        insta::assert_snapshot!(
            "doctor_json",
            run(&[&doctor[..], &["--output", "json"]].concat())
        );
    });
}
