use std::path::PathBuf;

use assert_cmd::Command;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/models")
        .join(name)
}

/// The real binary with an environment that cannot leak the developer's settings into a test.
pub fn llmops() -> Command {
    let mut command =
        Command::cargo_bin("llmops").expect("the binary is built for integration tests");
    for (name, _) in std::env::vars() {
        if name.starts_with("LLMOPS_")
            || name.starts_with("VLLM_")
            || name.starts_with("MLFLOW_")
            || name.starts_with("AWS_")
        {
            command.env_remove(name);
        }
    }
    command.env("NO_COLOR", "1");
    // No user configuration file leaks in: an empty config home.
    command.env(
        "XDG_CONFIG_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/empty-config-home"),
    );
    command
}

/// Runs `llmops size … --output json` and parses stdout.
pub fn size_json(args: &[&str]) -> (serde_json::Value, i32) {
    let output = llmops()
        .arg("size")
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (value, output.status.code().unwrap())
}

pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// `actual` within `tolerance` (a fraction) of `expected`.
pub fn assert_close(what: &str, actual: f64, expected: f64, tolerance: f64) {
    let error = (actual - expected).abs() / expected.abs();
    assert!(
        error <= tolerance,
        "{what}: {actual} is {:.3}% from {expected} (allowed {:.3}%)",
        error * 100.0,
        tolerance * 100.0
    );
}
