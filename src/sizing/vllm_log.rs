//! A vLLM start-up log, read for what `size` needs to reproduce it: the settings the server ran
//! with (its `non-default args` line and the defaults it logs), the GPU's total memory, the version,
//! and the figures it printed (`Model loading took`, `Available KV cache memory`, `GPU KV cache
//! size`, `Maximum concurrency`). The line formats are vLLM's own (`vllm/entrypoints/utils.py`,
//! `vllm/engine/arg_utils.py`, `vllm/v1/worker/gpu_worker.py`, `vllm/v1/core/kv_cache_utils.py`);
//! a log is untrusted text, so anything unrecognised is skipped, never an error.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// Settings the log shows, each `None` when it does not.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoggedSettings {
    pub model: Option<String>,
    pub max_model_len: Option<u64>,
    pub gpu_memory_utilization: Option<f64>,
    pub tensor_parallel_size: Option<u64>,
    pub pipeline_parallel_size: Option<u64>,
    pub kv_cache_dtype: Option<String>,
    pub dtype: Option<String>,
    pub max_num_seqs: Option<u64>,
    pub max_num_batched_tokens: Option<u64>,
    pub enforce_eager: Option<bool>,
    pub kv_cache_memory_bytes: Option<u64>,
    /// `--quantization`, as given (`fp8` quantizes an unquantized checkpoint at load).
    pub quantization: Option<String>,
    /// `cudagraph_mode` and `max_cudagraph_capture_size`, from the non-default args or the
    /// engine's compilation config.
    pub cudagraph_mode: Option<String>,
    pub max_cudagraph_capture_size: Option<u64>,
}

/// The figures vLLM printed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoggedFigures {
    pub weights_gib: Option<f64>,
    pub available_kv_gib: Option<f64>,
    pub kv_tokens: Option<u64>,
    /// (requests, tokens per request).
    pub max_concurrency: Option<(f64, u64)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StartupLog {
    pub vllm_version: Option<String>,
    pub total_memory_gib: Option<f64>,
    pub settings: LoggedSettings,
    pub figures: LoggedFigures,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

static NON_DEFAULT: LazyLock<Regex> = LazyLock::new(|| re(r"non-default args: \{(.*)\}"));
static PAIR: LazyLock<Regex> = LazyLock::new(|| re(r"'(\w+)': ('[^']*'|[^,}]+)"));
static CUDAGRAPH_MODE: LazyLock<Regex> =
    LazyLock::new(|| re(r#"['"]cudagraph_mode['"]:\s*<?['"]?(?:CUDAGraphMode\.)?([A-Z_]+)"#));
static MAX_CAPTURE: LazyLock<Regex> =
    LazyLock::new(|| re(r#"['"]max_cudagraph_capture_size['"]:\s*(\d+)"#));
static DEFAULTING: LazyLock<Regex> =
    LazyLock::new(|| re(r"Defaulting (max_num_batched_tokens|max_num_seqs) to (\d+)"));
static TOTAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"total_memory=([\d.]+)GiB|total_gpu_memory \(([\d.]+)GiB\)|Free memory on device \([\d.]+/([\d.]+) GiB\)",
    )
});
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    re(r"vLLM API server version ([0-9][\w.+-]*)|Initializing a V1 LLM engine \(v([0-9][\w.+-]*)\)")
});
static WEIGHTS: LazyLock<Regex> = LazyLock::new(|| re(r"Model loading took ([\d.]+) ?GiB"));
static AVAILABLE: LazyLock<Regex> =
    LazyLock::new(|| re(r"Available KV cache memory: (-?[\d.]+) ?GiB"));
static TOKENS: LazyLock<Regex> = LazyLock::new(|| re(r"GPU KV cache size: ([\d,]+) tokens"));
static CONCURRENCY: LazyLock<Regex> =
    LazyLock::new(|| re(r"Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x?"));

/// The longest log read; start-up lines come first, and a server's whole life is not needed.
pub const MAX_LOG_BYTES: usize = 64 << 20;

fn count(text: &str) -> Option<u64> {
    text.replace(',', "").parse().ok()
}

fn finite(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Reads what it can from `text`; the first occurrence of each figure wins (a restarted server
/// logs them again).
pub fn parse(text: &str) -> StartupLog {
    let mut log = StartupLog::default();
    for line in text.lines() {
        read_settings(line, &mut log.settings);
        if log.vllm_version.is_none()
            && let Some(caps) = VERSION.captures(line)
        {
            log.vllm_version = caps.get(1).or(caps.get(2)).map(|m| m.as_str().to_string());
        }
        if log.total_memory_gib.is_none()
            && let Some(caps) = TOTAL.captures(line)
        {
            log.total_memory_gib = (1..=3)
                .find_map(|i| caps.get(i))
                .and_then(|m| finite(m.as_str()));
        }
        read_figures(line, &mut log.figures);
    }
    log
}

fn read_settings(line: &str, settings: &mut LoggedSettings) {
    if settings.cudagraph_mode.is_none()
        && let Some(caps) = CUDAGRAPH_MODE.captures(line)
    {
        settings.cudagraph_mode = Some(caps[1].to_string());
    }
    if settings.max_cudagraph_capture_size.is_none()
        && let Some(caps) = MAX_CAPTURE.captures(line)
    {
        settings.max_cudagraph_capture_size = count(&caps[1]);
    }
    if let Some(caps) = DEFAULTING.captures(line) {
        let value = count(&caps[2]);
        match &caps[1] {
            "max_num_batched_tokens" => {
                settings.max_num_batched_tokens = settings.max_num_batched_tokens.or(value)
            }
            _ => settings.max_num_seqs = settings.max_num_seqs.or(value),
        }
    }
    let Some(dict) = NON_DEFAULT.captures(line) else {
        return;
    };
    for pair in PAIR.captures_iter(&dict[1]) {
        let value = pair[2].trim().trim_matches('\'');
        match &pair[1] {
            "model" => settings.model = Some(value.to_string()),
            "max_model_len" => settings.max_model_len = count(value),
            "gpu_memory_utilization" => settings.gpu_memory_utilization = finite(value),
            "tensor_parallel_size" => settings.tensor_parallel_size = count(value),
            "pipeline_parallel_size" => settings.pipeline_parallel_size = count(value),
            "kv_cache_dtype" => settings.kv_cache_dtype = Some(value.to_string()),
            "dtype" => settings.dtype = Some(value.to_string()),
            "max_num_seqs" => settings.max_num_seqs = count(value),
            "max_num_batched_tokens" => settings.max_num_batched_tokens = count(value),
            "enforce_eager" => settings.enforce_eager = Some(value == "True"),
            "kv_cache_memory_bytes" => settings.kv_cache_memory_bytes = count(value),
            "quantization" => settings.quantization = Some(value.to_string()),
            _ => {}
        }
    }
}

fn read_figures(line: &str, figures: &mut LoggedFigures) {
    if figures.weights_gib.is_none()
        && let Some(caps) = WEIGHTS.captures(line)
    {
        figures.weights_gib = finite(&caps[1]);
    }
    if figures.available_kv_gib.is_none()
        && let Some(caps) = AVAILABLE.captures(line)
    {
        figures.available_kv_gib = finite(&caps[1]);
    }
    if figures.kv_tokens.is_none()
        && let Some(caps) = TOKENS.captures(line)
    {
        figures.kv_tokens = count(&caps[1]);
    }
    if figures.max_concurrency.is_none()
        && let Some(caps) = CONCURRENCY.captures(line)
        && let (Some(x), Some(tokens)) = (finite(&caps[2]), count(&caps[1]))
    {
        figures.max_concurrency = Some((x, tokens));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_lines_vllm_prints() {
        let log = parse(
            "INFO [entrypoints/utils.py:233] non-default args: {'model_tag': 'm', 'model': 'meta-llama/Llama-3.1-8B-Instruct', 'max_model_len': 16384, 'gpu_memory_utilization': 0.95, 'enable_prefix_caching': False}\n\
             DEBUG Defaulting max_num_batched_tokens to 8192 for OPENAI_API_SERVER usage context.\n\
             DEBUG worker init memory snapshot: torch_peak=0.0GiB, free_memory=78.68GiB, total_memory=79.19GiB\n\
             INFO Model loading took 14.99 GiB memory and 9.8 seconds\n\
             INFO Available KV cache memory: 58.11 GiB\n\
             INFO GPU KV cache size: 476,016 tokens\n\
             INFO Maximum concurrency for 16,384 tokens per request: 29.05x\n",
        );
        assert_eq!(log.total_memory_gib, Some(79.19));
        assert_eq!(log.settings.max_model_len, Some(16384));
        assert_eq!(log.settings.gpu_memory_utilization, Some(0.95));
        assert_eq!(log.settings.max_num_batched_tokens, Some(8192));
        assert_eq!(
            log.settings.model.as_deref(),
            Some("meta-llama/Llama-3.1-8B-Instruct")
        );
        assert_eq!(
            log.figures,
            LoggedFigures {
                weights_gib: Some(14.99),
                available_kv_gib: Some(58.11),
                kv_tokens: Some(476_016),
                max_concurrency: Some((29.05, 16_384)),
            }
        );
        // The one-line form of newer releases.
        let newer = parse(
            "GPU KV cache size: 1,000 tokens, Maximum concurrency for 500 tokens per request: 2.00",
        );
        assert_eq!(newer.figures.kv_tokens, Some(1000));
        assert_eq!(newer.figures.max_concurrency, Some((2.0, 500)));
        assert_eq!(
            parse("garbage \u{1b}]0;x\u{7} {'a': }"),
            StartupLog::default()
        );
    }

    #[test]
    fn reads_the_cuda_graph_mode_from_the_args_or_the_engine_config() {
        // As given: `--compilation-config '{"cudagraph_mode": "PIECEWISE"}'`.
        let given = parse(
            r#"non-default args: {'model': 'm', 'compilation_config': {"cudagraph_mode": "PIECEWISE"}, 'max_num_seqs': 8}"#,
        );
        assert_eq!(given.settings.cudagraph_mode.as_deref(), Some("PIECEWISE"));
        assert_eq!(given.settings.max_num_seqs, Some(8));
        // As the engine prints its resolved compilation config.
        let resolved = parse(
            "Initializing a V1 LLM engine with config: compilation_config={'level': 3, 'cudagraph_mode': <CUDAGraphMode.FULL_AND_PIECEWISE: (2, 1)>, 'max_cudagraph_capture_size': 16}",
        );
        assert_eq!(
            resolved.settings.cudagraph_mode.as_deref(),
            Some("FULL_AND_PIECEWISE")
        );
        assert_eq!(resolved.settings.max_cudagraph_capture_size, Some(16));
    }
}
