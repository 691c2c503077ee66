//! Every environment variable llmops reads, declared once. clap wires them into `--help`
//! (`env = …`), and the README lists them.

/// Default for `llmops size --gpu`.
pub const LLMOPS_GPU: &str = "LLMOPS_GPU";
/// Default for `llmops size --vllm-version`.
pub const LLMOPS_VLLM_VERSION: &str = "LLMOPS_VLLM_VERSION";
/// vLLM's own switch to accept a `--max-model-len` above the config's limit; `size` honours it too.
pub const VLLM_ALLOW_LONG_MAX_MODEL_LEN: &str = "VLLM_ALLOW_LONG_MAX_MODEL_LEN";

/// (name, meaning) of every variable above, for the README and `--help` footers.
pub const ALL: &[(&str, &str)] = &[
    (
        LLMOPS_GPU,
        "default `--gpu` for `llmops size` (a catalogue name, or several comma-separated)",
    ),
    (
        LLMOPS_VLLM_VERSION,
        "default `--vllm-version` for `llmops size`",
    ),
    (
        VLLM_ALLOW_LONG_MAX_MODEL_LEN,
        "`1` or `true`: accept a `--max-model-len` above the config's limit, as vLLM does",
    ),
];

pub fn is_truthy(name: &str) -> bool {
    std::env::var(name)
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// The `Environment:` section of `llmops --help`, built from [`ALL`].
pub fn help() -> String {
    let width = ALL.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = String::from("Environment:\n");
    for (name, meaning) in ALL {
        text.push_str(&format!("  {name:<width$}  {}\n", meaning.replace('`', "")));
    }
    text.push_str("\nExit codes: 0 success (for `size`: fits), 1 failure (does not fit), 2 usage or invalid input.");
    text
}
