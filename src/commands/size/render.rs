//! How `size` looks to a person: the memory breakdown, the lines vLLM would log, the verdict and
//! what would fit; a sweep as one matrix of concurrency per GPU and context length.

use std::io::Write;

use comfy_table::{Cell, CellAlignment};

use super::{SizeOutput, SizeReport};
use crate::exit::ExitStatus;
use crate::output::{Render, Style, Tone};
use crate::sizing::KvCacheDtype;
use crate::sizing::pipeline::StageEstimate;
use crate::text::printable;
use crate::units::{GIB, gib, thousands};

impl Render for SizeOutput {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        match self {
            SizeOutput::One(report) => write_size_table(out, style, report),
            SizeOutput::Sweep(reports) => write_sweep_table(out, style, reports),
            SizeOutput::AgainstLog(report) => report.render(out, style),
        }
    }

    /// Each distinct warning once, even across a sweep.
    fn warnings(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for warning in self.reports().flat_map(|r| &r.warnings) {
            if !seen.contains(warning) {
                seen.push(warning.clone());
            }
        }
        seen
    }

    /// 0 when the model fits (in a sweep: every combination), else 1.
    fn exit_status(&self) -> ExitStatus {
        if let SizeOutput::AgainstLog(report) = self {
            return report.exit_status();
        }
        if self.reports().all(|r| r.fits) {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}

impl SizeOutput {
    fn reports(&self) -> Box<dyn Iterator<Item = &SizeReport> + '_> {
        match self {
            SizeOutput::One(report) => Box::new(std::iter::once(report.as_ref())),
            SizeOutput::Sweep(reports) => Box::new(reports.iter()),
            SizeOutput::AgainstLog(_) => Box::new(std::iter::empty()),
        }
    }
}

/// One row per pipeline stage, per GPU of that stage.
fn write_stages(
    out: &mut dyn Write,
    style: &Style,
    stages: &[StageEstimate],
) -> std::io::Result<()> {
    let mut table = style.table();
    table.set_header(vec![
        "stage",
        "layers",
        "weights",
        "activation",
        "CUDA graphs",
        "KV available",
        "KV blocks",
    ]);
    let fewest = stages.iter().map(|s| s.num_blocks).min().unwrap_or(0);
    for s in stages {
        table.add_row(vec![
            Cell::new(s.stage),
            Cell::new(format!(
                "{}-{}",
                s.first_layer,
                s.end_layer.saturating_sub(1)
            )),
            gib_cell(s.weights_bytes as f64),
            gib_cell(s.activation_bytes as f64),
            gib_cell(s.cuda_graph_bytes as f64),
            gib_cell(s.available_kv_bytes as f64),
            Cell::new(format!(
                "{}{}",
                thousands(s.num_blocks),
                if s.num_blocks == fewest {
                    " (fewest)"
                } else {
                    ""
                }
            ))
            .set_alignment(CellAlignment::Right),
        ]);
    }
    writeln!(out, "Pipeline stages (every stage gets the fewest blocks):")?;
    writeln!(out, "{table}")
}

fn gib_cell(bytes: impl Into<f64>) -> Cell {
    Cell::new(format!("{:.2} GiB", bytes.into() / GIB)).set_alignment(CellAlignment::Right)
}

fn write_size_table(out: &mut dyn Write, style: &Style, r: &SizeReport) -> std::io::Result<()> {
    write_setting_lines(out, r)?;
    write_breakdown(out, style, r)?;
    write_verdict(out, style, r)
}

/// What was sized: the model, the GPU and vLLM's budget on it, the serving settings.
fn write_setting_lines(out: &mut dyn Write, r: &SizeReport) -> std::io::Result<()> {
    let params_b = r.model.params as f64 / 1e9;
    writeln!(
        out,
        "Model   {} ({}, {:.2}B parameters{}{})",
        printable(&r.model.path),
        printable(r.model.architecture.as_deref().unwrap_or("no architecture")),
        params_b,
        r.model
            .quantization
            .as_ref()
            .map(|q| format!(", {q}"))
            .unwrap_or_default(),
        if r.model.vllm_supported {
            ", supported by vLLM"
        } else {
            ", not in vLLM's registry"
        },
    )?;
    let s = &r.settings.resolved;
    writeln!(
        out,
        "GPU     {} × {}, {} each; vLLM {} may use {} × {} = {}",
        r.gpu.count,
        r.gpu.name,
        gib(r.gpu.memory_bytes as f64),
        r.settings.vllm_version,
        gib(r.per_gpu.total_memory_bytes as f64),
        s.gpu_memory_utilization,
        gib(r.per_gpu.requested_bytes as f64),
    )?;
    writeln!(
        out,
        "Serving max-model-len {}, {} weights, {} KV cache, max-num-seqs {}, max-num-batched-tokens {}, block size {}",
        thousands(s.max_model_len),
        s.dtype.name(),
        match s.kv_cache_dtype {
            KvCacheDtype::Auto => s.dtype.name(),
            KvCacheDtype::Fp8 => "fp8",
        },
        s.max_num_seqs,
        s.max_num_batched_tokens,
        s.block_size,
    )?;
    writeln!(out)
}

/// Where the memory goes, the KV cache layout, and the lines vLLM would log.
fn write_breakdown(out: &mut dyn Write, style: &Style, r: &SizeReport) -> std::io::Result<()> {
    let p = &r.per_gpu;
    let stages = &r.pipeline_stages;
    let mut components = style.table();
    components.set_header(vec![
        "component",
        if stages.is_empty() {
            "per GPU"
        } else {
            "per GPU (limiting stage)"
        },
        "all GPUs",
    ]);
    let gpus = r.gpu.count as f64;
    let tp = r.settings.resolved.tensor_parallel_size as f64;
    // With pipeline stages the GPUs differ: the total adds each stage's figure on its TP GPUs.
    let total = |bytes: f64, per_stage: fn(&StageEstimate) -> f64| {
        if stages.is_empty() {
            bytes * gpus
        } else {
            stages.iter().map(per_stage).sum::<f64>() * tp
        }
    };
    let lora = p.lora_bytes as f64;
    let rows = [
        (
            "weights",
            p.weights_bytes as f64,
            total(p.weights_bytes as f64, |s| s.weights_bytes as f64),
        ),
        ("LoRA slots (--enable-lora)", lora, lora * gpus),
        (
            "activation peak",
            p.activation_bytes as f64,
            total(p.activation_bytes as f64, |s| s.activation_bytes as f64),
        ),
        (
            "non-torch (CUDA context, NCCL)",
            p.non_torch_bytes as f64,
            total(p.non_torch_bytes as f64, |s| s.non_torch_bytes as f64),
        ),
        (
            "CUDA graphs",
            p.cuda_graph_bytes as f64,
            total(p.cuda_graph_bytes as f64, |s| s.cuda_graph_bytes as f64),
        ),
        (
            "KV cache available",
            p.available_kv_bytes as f64,
            total(p.available_kv_bytes as f64, |s| s.available_kv_bytes as f64),
        ),
    ];
    for (name, bytes, all) in rows {
        if name.starts_with("LoRA") && p.lora_bytes == 0 {
            continue;
        }
        components.add_row(vec![Cell::new(name), gib_cell(bytes), gib_cell(all)]);
    }
    writeln!(out, "{components}")?;
    if !stages.is_empty() {
        write_stages(out, style, stages)?;
    }
    writeln!(
        out,
        "KV cache: {} bytes per token per GPU{}, {} blocks",
        thousands(p.kv_bytes_per_token),
        if p.state_bytes_per_sequence > 0 {
            format!(
                " + {} bytes of recurrent state per sequence",
                thousands(p.state_bytes_per_sequence)
            )
        } else {
            String::new()
        },
        thousands(p.num_blocks),
    )?;
    writeln!(out)?;
    writeln!(out, "vLLM would log:")?;
    for line in &r.vllm_log {
        writeln!(out, "  {line}")?;
    }
    writeln!(out)
}

/// Fits (and the arguments to paste), or why not and what would fit.
fn write_verdict(out: &mut dyn Write, style: &Style, r: &SizeReport) -> std::io::Result<()> {
    let s = &r.settings.resolved;

    if let Some(line) = &r.auto_fit {
        writeln!(out, "{line}")?;
    }
    if r.fits {
        writeln!(
            out,
            "{} {:.2} concurrent requests of {} tokens.",
            style.paint(Tone::Good, "Fits:"),
            r.max_concurrency,
            thousands(s.max_model_len)
        )?;
        if let Some(args) = &r.vllm_args {
            writeln!(out, "vLLM arguments: {args}")?;
        }
        if let Some(bytes) = r.kv_cache_memory_bytes_to_pin {
            writeln!(
                out,
                "To pin this KV cache size: --kv-cache-memory-bytes {bytes} (vLLM's suggestion, {})",
                gib(bytes as f64)
            )?;
        }
        if let Some(slice) = &r.advice.smallest_mig_slice
            && *slice != r.gpu.name
        {
            writeln!(out, "Smallest MIG slice that fits: --gpu {slice}")?;
        }
        let tools = &r.tool_calling;
        match &tools.parser {
            Some(parser) => writeln!(
                out,
                "Tool calling: --tool-call-parser {parser} ({})",
                tools.reason
            )?,
            None => writeln!(out, "Tool calling: {}", tools.reason)?,
        }
        return Ok(());
    }
    writeln!(out, "{}", style.paint(Tone::Bad, "Does not fit:"))?;
    for problem in &r.problems {
        writeln!(out, "  - {}", problem.message)?;
    }
    writeln!(out, "What would fit:")?;
    match r.max_model_len_that_fits {
        Some(len) => writeln!(
            out,
            "  - --max-model-len {len} (the longest context that fits)"
        )?,
        None => writeln!(out, "  - no context length fits with these settings")?,
    }
    match r.advice.min_tensor_parallel_size {
        Some(tp) => writeln!(out, "  - --tensor-parallel-size {tp}")?,
        None => writeln!(out, "  - no tensor-parallel size up to 8 on this GPU")?,
    }
    match r.advice.fits_with_fp8_kv_cache {
        Some(true) => writeln!(out, "  - --kv-cache-dtype fp8")?,
        Some(false) => writeln!(out, "  - --kv-cache-dtype fp8 alone is not enough")?,
        None => {}
    }
    match &r.advice.smallest_gpu {
        Some(name) => writeln!(
            out,
            "  - --gpu {name} (the smallest catalogue GPU that fits)"
        )?,
        None => writeln!(
            out,
            "  - no catalogue GPU fits at this tensor-parallel size"
        )?,
    }
    if let Some(slice) = &r.advice.smallest_mig_slice {
        writeln!(
            out,
            "  - --gpu {slice} (the smallest MIG slice of this GPU that fits)"
        )?;
    }
    Ok(())
}

/// Max concurrency per GPU × context length.
fn write_sweep_table(
    out: &mut dyn Write,
    style: &Style,
    reports: &[SizeReport],
) -> std::io::Result<()> {
    let mut lengths: Vec<u64> = Vec::new();
    let mut gpus: Vec<&str> = Vec::new();
    for r in reports {
        if !lengths.contains(&r.settings.resolved.max_model_len) {
            lengths.push(r.settings.resolved.max_model_len);
        }
        if !gpus.contains(&r.gpu.name.as_str()) {
            gpus.push(&r.gpu.name);
        }
    }
    if let Some(first) = reports.first() {
        writeln!(
            out,
            "Maximum concurrency of {} on vLLM {} (tensor-parallel {}); `-` does not fit",
            printable(&first.model.path),
            first.settings.vllm_version,
            first.gpu.count
        )?;
    }
    let mut matrix = style.table();
    let mut header = vec![Cell::new("GPU \\ max-model-len")];
    header.extend(
        lengths
            .iter()
            .map(|l| Cell::new(thousands(*l)).set_alignment(CellAlignment::Right)),
    );
    matrix.set_header(header);
    for gpu in gpus {
        let mut row = vec![Cell::new(gpu)];
        for len in &lengths {
            let cell = reports
                .iter()
                .find(|r| r.gpu.name == gpu && r.settings.resolved.max_model_len == *len)
                .map(|r| {
                    if r.fits {
                        format!("{:.2}x", r.max_concurrency)
                    } else {
                        "-".into()
                    }
                })
                .unwrap_or_default();
            row.push(Cell::new(cell).set_alignment(CellAlignment::Right));
        }
        matrix.add_row(row);
    }
    writeln!(out, "{matrix}")
}
