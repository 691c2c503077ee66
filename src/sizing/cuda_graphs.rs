//! The CUDA graphs vLLM captures and the pool it estimates for them before sizing the KV cache
//! (charged to the budget from 0.20). vLLM profiles the largest two graphs of each mode and
//! extrapolates: `max(first capture) + Σ_modes per_graph × (graphs − 1)`
//! (`GPUModelRunner.profile_cudagraph_memory`, `vllm/v1/worker/gpu_model_runner.py`). Which graphs
//! there are follows from the capture sizes and the mode (`VllmConfig._set_cudagraph_sizes` in
//! `vllm/config/vllm.py`; `CudagraphDispatcher.initialize_cudagraph_keys` in
//! `vllm/v1/cudagraph_dispatcher.py`).

use super::{Settings, VllmVersion};
use crate::units::GIB;

/// vLLM's `cudagraph_mode` (`CUDAGraphMode`, `vllm/config/compilation.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CudaGraphMode {
    #[value(name = "NONE")]
    None,
    /// The model between attention layers, one graph per capture size.
    #[value(name = "PIECEWISE")]
    Piecewise,
    /// Whole forward passes, one per capture size, for every batch.
    #[value(name = "FULL")]
    Full,
    /// Whole forward passes for decode batches only (up to `max_num_seqs`); prefill runs eager.
    #[value(name = "FULL_DECODE_ONLY")]
    FullDecodeOnly,
    /// Piecewise graphs for every batch and full graphs for decode batches: the default from 0.11.
    #[value(name = "FULL_AND_PIECEWISE")]
    FullAndPiecewise,
}

impl CudaGraphMode {
    /// The name vLLM logs and takes in `--compilation-config`.
    pub fn vllm_name(self) -> &'static str {
        match self {
            CudaGraphMode::None => "NONE",
            CudaGraphMode::Piecewise => "PIECEWISE",
            CudaGraphMode::Full => "FULL",
            CudaGraphMode::FullDecodeOnly => "FULL_DECODE_ONLY",
            CudaGraphMode::FullAndPiecewise => "FULL_AND_PIECEWISE",
        }
    }

    /// From a log's `cudagraph_mode`, with or without the `CUDAGraphMode.` prefix.
    pub fn from_vllm(text: &str) -> Option<CudaGraphMode> {
        let name = text.trim().trim_start_matches("CUDAGraphMode.");
        [
            CudaGraphMode::None,
            CudaGraphMode::Piecewise,
            CudaGraphMode::Full,
            CudaGraphMode::FullDecodeOnly,
            CudaGraphMode::FullAndPiecewise,
        ]
        .into_iter()
        .find(|mode| mode.vllm_name().eq_ignore_ascii_case(name))
    }
}

/// What vLLM captures: its mode and batch sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Capture {
    pub mode: CudaGraphMode,
    /// The largest batch (in tokens) a graph is captured for.
    pub max_capture_size: u64,
    /// Piecewise graphs (one per capture size) and full graphs.
    pub piecewise_graphs: u64,
    pub full_graphs: u64,
    /// The mode was given rather than vLLM's default (for the argument line).
    #[serde(skip)]
    pub mode_given: bool,
    /// The largest size was given rather than vLLM's default (for the argument line).
    #[serde(skip)]
    pub size_given: bool,
}

/// What vLLM captures for `settings`: nothing in eager mode, else the mode given or the version's
/// default, over the capture sizes up to the largest given or defaulted, within a step's tokens.
pub fn resolve(
    architecture: Option<&str>,
    settings: &Settings,
    max_num_seqs: u64,
    max_num_batched_tokens: u64,
) -> Capture {
    let mode = if settings.enforce_eager {
        CudaGraphMode::None
    } else {
        settings
            .cudagraph_mode
            .unwrap_or(settings.vllm_version.default_cudagraph_mode())
    };
    // gpt-oss raises the default to 1,024 "for performance" (`GptOssForCausalLMConfig` in
    // `vllm/model_executor/models/config.py`, from 0.11; 992 there, two sizes fewer).
    let model_default = (architecture == Some("GptOssForCausalLM")
        && settings.vllm_version >= VllmVersion::new(0, 11))
    .then_some(GPT_OSS_MAX_CAPTURE_SIZE);
    let largest = settings
        .max_cudagraph_capture_size
        .or(model_default)
        .unwrap_or_else(|| default_max_capture_size(max_num_seqs, max_num_batched_tokens))
        .min(max_num_batched_tokens);
    Capture {
        mode_given: settings.cudagraph_mode.is_some(),
        size_given: settings.max_cudagraph_capture_size.is_some(),
        ..Capture::new(mode, largest, max_num_seqs)
    }
}

/// gpt-oss's own default for `max_cudagraph_capture_size`.
const GPT_OSS_MAX_CAPTURE_SIZE: u64 = 1024;

/// `max_cudagraph_capture_size` when not given: twice `max_num_seqs`, at most 512, and no more
/// than a step's tokens.
fn default_max_capture_size(max_num_seqs: u64, max_num_batched_tokens: u64) -> u64 {
    (max_num_seqs.saturating_mul(2))
        .min(512)
        .min(max_num_batched_tokens)
        .max(1)
}

/// vLLM's default capture sizes up to `max`: 1, 2, 4, then every 8 below 256, then every 16.
pub fn capture_sizes(max: u64) -> Vec<u64> {
    let mut sizes: Vec<u64> = [1, 2, 4].into_iter().filter(|s| *s <= max).collect();
    sizes.extend((8..max.saturating_add(1).min(256)).step_by(8));
    if max >= 256 {
        sizes.extend((256..=max).step_by(16));
    }
    sizes
}

impl Capture {
    /// The graphs `mode` captures with capture sizes up to `max_capture_size`, full decode graphs
    /// only for the sizes a decode batch of `max_num_seqs` can reach.
    pub fn new(mode: CudaGraphMode, max_capture_size: u64, max_num_seqs: u64) -> Capture {
        let sizes = capture_sizes(max_capture_size);
        let all = sizes.len() as u64;
        let decode = sizes.iter().filter(|s| **s <= max_num_seqs).count() as u64;
        let (piecewise_graphs, full_graphs) = match mode {
            CudaGraphMode::None => (0, 0),
            CudaGraphMode::Piecewise => (all, 0),
            CudaGraphMode::Full => (0, all),
            CudaGraphMode::FullDecodeOnly => (0, decode),
            CudaGraphMode::FullAndPiecewise => (all, decode),
        };
        Capture {
            mode,
            max_capture_size,
            piecewise_graphs,
            full_graphs,
            mode_given: false,
            size_given: false,
        }
    }

    /// The `vllm serve` flags for a mode or largest size that was given.
    pub fn vllm_args(&self) -> String {
        let mut args = String::new();
        if self.mode_given {
            args.push_str(&format!(
                " --compilation-config '{{\"cudagraph_mode\": \"{}\"}}'",
                self.mode.vllm_name()
            ));
        }
        if self.size_given && self.mode != CudaGraphMode::None {
            args.push_str(&format!(
                " --max-cudagraph-capture-size {}",
                self.max_capture_size
            ));
        }
        args
    }

    /// Graphs vLLM extrapolates from the second capture of each mode: `Σ (graphs − 1)`.
    fn extrapolated_graphs(&self) -> u64 {
        self.piecewise_graphs.saturating_sub(1) + self.full_graphs.saturating_sub(1)
    }
}

/// The first capture of the largest batch, the part that does not grow with the number of graphs.
const FIRST_CAPTURE_GIB: f64 = 0.29;
/// The rest per decoder layer, at the capture set the fit's logs used.
const PER_LAYER_GIB: f64 = 0.0176;
/// The fit's logs (vLLM 0.19 on H100s, `max_num_seqs` 1024 and 8,192 batched tokens): 51 capture
/// sizes up to 512 in both modes, so `Σ (graphs − 1)` = 100.
const FITTED_EXTRAPOLATED_GRAPHS: f64 = 100.0;

/// The pool vLLM estimates for `capture` on a GPU running `num_layers` decoder layers.
/// `FIRST_CAPTURE + PER_LAYER × layers`, fitted by least squares to the 17 `Estimated CUDA graph
/// memory` lines in `fixtures/vllm-logs/logs.json` (vLLM 0.19, H100, 24–80 layers, TP 1–4, the
/// default capture set): median error 0.09 GiB, against 0.21 for the single 0.84 GiB figure used
/// before. The per-layer part scales with the graphs vLLM extrapolates over, so a smaller capture
/// set or a single mode costs less; published logs with small capture sets (`max_num_seqs` 1–8)
/// estimate 0.17–0.61 GiB, where the fit at the default set gives 0.8–1.4.
pub fn cuda_graph_bytes(num_layers: u64, capture: &Capture) -> u64 {
    if capture.piecewise_graphs + capture.full_graphs == 0 {
        return 0;
    }
    let share = capture.extrapolated_graphs() as f64 / FITTED_EXTRAPOLATED_GRAPHS;
    ((FIRST_CAPTURE_GIB + PER_LAYER_GIB * num_layers as f64 * share) * GIB) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_sizes_follow_vllm_defaults() {
        // max_num_seqs 1024 → min(2048, 512) = 512: 1, 2, 4, 8…248 (31), 256…512 (17) = 51.
        assert_eq!(default_max_capture_size(1024, 8192), 512);
        assert_eq!(capture_sizes(512).len(), 3 + 31 + 17);
        assert_eq!(capture_sizes(512).last(), Some(&512));
        // max_num_seqs 8 → 16: 1, 2, 4, 8, 16.
        assert_eq!(default_max_capture_size(8, 8192), 16);
        assert_eq!(capture_sizes(16), [1, 2, 4, 8, 16]);
        // A step of 12 tokens caps it below the sequences' 2×.
        assert_eq!(default_max_capture_size(64, 12), 12);
        assert_eq!(capture_sizes(12), [1, 2, 4, 8]);
        assert_eq!(capture_sizes(1), [1]);
    }

    #[test]
    fn modes_capture_their_own_graphs() {
        // 256 sequences, sizes up to 512: full decode graphs stop at 256 (1, 2, 4, 8…248, 256).
        let both = Capture::new(CudaGraphMode::FullAndPiecewise, 512, 256);
        assert_eq!((both.piecewise_graphs, both.full_graphs), (51, 35));
        let piecewise = Capture::new(CudaGraphMode::Piecewise, 512, 256);
        assert_eq!((piecewise.piecewise_graphs, piecewise.full_graphs), (51, 0));
        let decode = Capture::new(CudaGraphMode::FullDecodeOnly, 512, 256);
        assert_eq!((decode.piecewise_graphs, decode.full_graphs), (0, 35));
        assert_eq!(
            cuda_graph_bytes(32, &Capture::new(CudaGraphMode::None, 512, 256)),
            0
        );
    }

    #[test]
    fn the_per_layer_part_scales_with_the_graphs_extrapolated() {
        let gib = |bytes: u64| bytes as f64 / GIB;
        // The fitted set: 51 + 51 graphs, Σ (n − 1) = 100: 0.29 + 0.0176 × 32 = 0.8532.
        let fitted = Capture::new(CudaGraphMode::FullAndPiecewise, 512, 1024);
        assert!((gib(cuda_graph_bytes(32, &fitted)) - 0.8532).abs() < 1e-6);
        // Piecewise only: 50 of 100, 0.29 + 0.0176 × 32 × 0.5 = 0.5716.
        let piecewise = Capture::new(CudaGraphMode::Piecewise, 512, 1024);
        assert!((gib(cuda_graph_bytes(32, &piecewise)) - 0.5716).abs() < 1e-6);
        // One size in each mode: nothing to extrapolate, the first capture only.
        let single = Capture::new(CudaGraphMode::FullAndPiecewise, 1, 1);
        assert!((gib(cuda_graph_bytes(32, &single)) - 0.29).abs() < 1e-6);
    }
}
