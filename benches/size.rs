//! `cargo bench --bench size`: how long `llmops size` takes on a config file, in process and as a
//! whole command, beside the cheapest thing a Python estimator (hf-mem, `accelerate estimate-memory`,
//! a notebook) must do before any maths: start the interpreter and parse the same config.json.
//! Targets: the whole command under 5 ms wall (issue #2); a sweep of 10 GPUs × 5 context lengths
//! under 20 ms (issue #15).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use llmops::sizing::{Model, Settings, estimate, gpus};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time_command(program: &Path, args: &[&str], runs: usize) -> Option<Duration> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        samples.push(start.elapsed());
        // 0 fits, 1 does not fit: both are answers.
        if status.code().is_none_or(|c| c > 1) {
            return None;
        }
    }
    Some(median(samples))
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = root.join("fixtures/models/deepseek-v3/config.json");
    let config_arg = config.to_str().unwrap();

    // In process: parse, count, size.
    let h100 = gpus::find("H100").unwrap();
    let iterations = 2000;
    let start = Instant::now();
    for _ in 0..iterations {
        let model = Model::load(&config).unwrap();
        std::hint::black_box(
            estimate(
                &model,
                h100,
                &Settings {
                    max_model_len: Some(32768),
                    ..Settings::default()
                },
            )
            .unwrap(),
        );
    }
    let in_process = start.elapsed() / iterations;

    // The whole command, as CI runs it.
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(status.success(), "cargo build --release failed");
    // Where cargo put it: CARGO_TARGET_DIR when set, else the project's target/.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = target.join("release/llmops");
    let runs = 100;
    let command = time_command(
        &binary,
        &[
            "size",
            config_arg,
            "--max-model-len",
            "32768",
            "--output",
            "json",
        ],
        runs,
    )
    .expect("llmops size failed");
    // A CI sweep: every context length on every GPU, in one call.
    let sweep = time_command(
        &binary,
        &[
            "size",
            config_arg,
            "--gpu",
            "L4,A10G,L40S,A100-40GB,A100-80GB,H100,H200,B200,RTX-4090,RTX-A6000",
            "--max-model-len",
            "4096,8192,32768,65536,131072",
            "--output",
            "json",
        ],
        runs,
    )
    .expect("llmops size sweep failed");
    let python = which("python3").and_then(|python| {
        time_command(
            &python,
            &[
                "-c",
                &format!("import json; json.load(open({config_arg:?}))"),
            ],
            runs,
        )
    });

    println!(
        "llmops size on {} (DeepSeek-V3, MLA + MoE)",
        config.strip_prefix(&root).unwrap().display()
    );
    println!(
        "  in process (load + estimate):   {:>8.3} ms",
        in_process.as_secs_f64() * 1e3
    );
    println!(
        "  whole command, median of {runs}:   {:>8.3} ms   target < 5 ms: {}",
        command.as_secs_f64() * 1e3,
        if command < Duration::from_millis(5) {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  sweep, 10 GPUs x 5 lengths:      {:>8.3} ms   target < 20 ms: {}",
        sweep.as_secs_f64() * 1e3,
        if sweep < Duration::from_millis(20) {
            "met"
        } else {
            "MISSED"
        }
    );
    match python {
        Some(python) => println!(
            "  python3 start + json.load:      {:>8.3} ms   llmops is {:.1}x faster than a Python estimator's floor",
            python.as_secs_f64() * 1e3,
            python.as_secs_f64() / command.as_secs_f64()
        ),
        None => println!("  python3 not found: no comparison"),
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}
