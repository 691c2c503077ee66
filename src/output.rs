//! The only place that prints data. Tables and `--output json` come from the same report structs, so
//! they cannot disagree. stdout carries data only; errors, warnings and hints go to stderr.

use std::io::{IsTerminal, Write};

use comfy_table::{Cell, CellAlignment, Table, presets};

use crate::cli::OutputFormat;
use crate::commands::size::{SizeOutput, SizeReport};
use crate::exit::UserError;
use crate::sizing::KvCacheDtype;
use crate::units::{GIB, gib, thousands};

/// `error: <what failed>`, its causes, then `hint: <what to do>`.
pub fn print_error(error: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {error}");
    for cause in error.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    if let Some(hint) = error
        .chain()
        .find_map(|c| c.downcast_ref::<UserError>())
        .and_then(|u| u.hint.as_ref())
    {
        let _ = writeln!(stderr, "hint: {hint}");
    }
}

pub fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// Something the user may want to know while a command runs (a retry, a skipped step): stderr.
pub fn note(message: &str) {
    eprintln!("note: {message}");
}

fn table() -> Table {
    let mut table = Table::new();
    table.load_style(if std::io::stdout().is_terminal() {
        presets::UTF8_FULL_CONDENSED
    } else {
        presets::ASCII_MARKDOWN
    });
    table
}

pub fn print_size(output: &SizeOutput, format: OutputFormat) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let reports: Vec<&SizeReport> = match output {
        SizeOutput::One(report) => vec![report],
        SizeOutput::Sweep(reports) => reports.iter().collect(),
    };
    let mut warned = std::collections::BTreeSet::new();
    for warning in reports.iter().flat_map(|r| &r.warnings) {
        if warned.insert(warning) {
            warn(warning);
        }
    }
    match (format, output) {
        (OutputFormat::Json, SizeOutput::One(report)) => {
            serde_json::to_writer_pretty(&mut stdout, report)?;
            writeln!(stdout)?;
        }
        (OutputFormat::Json, SizeOutput::Sweep(reports)) => {
            serde_json::to_writer_pretty(&mut stdout, reports)?;
            writeln!(stdout)?;
        }
        (OutputFormat::Table, SizeOutput::One(report)) => write_size_table(&mut stdout, report)?,
        (OutputFormat::Table, SizeOutput::Sweep(reports)) => {
            write_sweep_table(&mut stdout, reports)?
        }
    }
    stdout.flush()?;
    Ok(())
}

fn gib_cell(bytes: impl Into<f64>) -> Cell {
    Cell::new(format!("{:.2} GiB", bytes.into() / GIB)).set_alignment(CellAlignment::Right)
}

fn write_size_table(out: &mut impl Write, r: &SizeReport) -> std::io::Result<()> {
    let params_b = r.model.params as f64 / 1e9;
    writeln!(
        out,
        "Model   {} ({}, {:.2}B parameters{}{})",
        r.model.path,
        r.model.architecture.as_deref().unwrap_or("no architecture"),
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
    writeln!(out)?;

    let p = &r.per_gpu;
    let mut components = table();
    components.set_header(vec!["component", "per GPU", "all GPUs"]);
    let tp = r.gpu.count as f64;
    let mut row = |name: &str, bytes: f64| {
        components.add_row(vec![Cell::new(name), gib_cell(bytes), gib_cell(bytes * tp)]);
    };
    row("weights", p.weights_bytes as f64);
    row("activation peak", p.activation_bytes as f64);
    row("non-torch (CUDA context, NCCL)", p.non_torch_bytes as f64);
    row("CUDA graphs", p.cuda_graph_bytes as f64);
    row("KV cache available", p.available_kv_bytes as f64);
    writeln!(out, "{components}")?;
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
    writeln!(out)?;

    if r.fits {
        writeln!(
            out,
            "Fits: {:.2} concurrent requests of {} tokens.",
            r.max_concurrency,
            thousands(s.max_model_len)
        )?;
        if let Some(args) = &r.vllm_args {
            writeln!(out, "vLLM arguments: {args}")?;
        }
        return Ok(());
    }
    writeln!(out, "Does not fit:")?;
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
    Ok(())
}

/// Max concurrency per GPU × context length.
fn write_sweep_table(out: &mut impl Write, reports: &[SizeReport]) -> std::io::Result<()> {
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
            first.model.path, first.settings.vllm_version, first.gpu.count
        )?;
    }
    let mut matrix = table();
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

/// Untrusted names (S3 keys, MLflow strings, file names) with control characters escaped, so they
/// cannot move the cursor or recolour a terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// A flat report (register, publish) as a two-column table, or as one JSON document.
pub fn print_record<T: serde::Serialize>(report: &T, format: OutputFormat) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if format == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut stdout, report)?;
        writeln!(stdout)?;
        return Ok(stdout.flush()?);
    }
    let value = serde_json::to_value(report)?;
    let mut rows = table();
    if let serde_json::Value::Object(fields) = value {
        for (key, value) in fields {
            if key == "schema_version" || key == "plan" {
                continue;
            }
            let shown = match value {
                serde_json::Value::String(s) => printable(&s),
                other => other.to_string(),
            };
            rows.add_row(vec![Cell::new(key.replace('_', " ")), Cell::new(shown)]);
        }
    }
    writeln!(stdout, "{rows}")?;
    Ok(stdout.flush()?)
}

/// `promote`: the report, and with `--dry-run` the file list.
pub fn print_promote(
    report: &crate::commands::promote::PromoteReport,
    format: OutputFormat,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json || report.plan.is_empty() {
        return print_record(report, format);
    }
    print_record(report, format)?;
    let mut stdout = std::io::stdout().lock();
    let mut files = table();
    files.set_header(vec!["file", "bytes"]);
    for file in &report.plan {
        files.add_row(vec![
            Cell::new(printable(&file.path)),
            Cell::new(file.size).set_alignment(CellAlignment::Right),
        ]);
    }
    writeln!(stdout, "{files}")?;
    Ok(stdout.flush()?)
}

/// `status`: one row per version.
pub fn print_status(
    report: &crate::commands::promote::StatusReport,
    format: OutputFormat,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_record(report, format);
    }
    let mut stdout = std::io::stdout().lock();
    let mut rows = table();
    rows.set_header(vec![
        "version",
        "aliases",
        "parent run",
        "dev staged",
        "published",
        "promoted",
        "verified",
    ]);
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    for v in &report.versions {
        rows.add_row(vec![
            v.version.clone(),
            v.aliases.join(", "),
            v.parent_run_id.clone().unwrap_or_else(|| "-".into()),
            v.dev_staged.map_or("?".into(), |b| yes_no(b).into()),
            yes_no(v.published).into(),
            if v.promoted {
                v.promoted_to.clone().unwrap_or_else(|| "yes".into())
            } else {
                "no".into()
            },
            v.verified.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    writeln!(stdout, "{}", printable(&report.name))?;
    writeln!(stdout, "{rows}")?;
    Ok(stdout.flush()?)
}

/// `config show`: key, value, source; then the files read and the secrets (set or not).
pub fn print_config(
    report: &crate::config::ConfigReport,
    format: OutputFormat,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_record(report, format);
    }
    let mut stdout = std::io::stdout().lock();
    let mut rows = table();
    rows.set_header(vec!["key", "variable", "value", "source"]);
    for s in &report.settings {
        rows.add_row(vec![
            s.key,
            s.variable,
            s.value.as_deref().unwrap_or("-"),
            s.source.as_str(),
        ]);
    }
    writeln!(stdout, "{rows}")?;
    writeln!(stdout, "files: {}", report.files.join(", "))?;
    let secrets: Vec<String> = report
        .secrets
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    writeln!(stdout, "secrets: {}", secrets.join(", "))?;
    Ok(stdout.flush()?)
}

/// `doctor`: one row per check; the fix beside each failure.
pub fn print_doctor(
    report: &crate::commands::doctor::DoctorReport,
    format: OutputFormat,
) -> anyhow::Result<()> {
    use crate::commands::doctor::Status;
    if format == OutputFormat::Json {
        return print_record(report, format);
    }
    let mut stdout = std::io::stdout().lock();
    let mut rows = table();
    rows.set_header(vec!["check", "status", "detail", "fix"]);
    for check in &report.checks {
        let status = match check.status {
            Status::Ok => "ok",
            Status::Fail => "FAIL",
            Status::Skipped => "skipped",
        };
        rows.add_row(vec![
            check.name.to_string(),
            status.into(),
            printable(&check.detail),
            check.fix.clone().unwrap_or_default(),
        ]);
    }
    writeln!(stdout, "{rows}")?;
    writeln!(
        stdout,
        "{}",
        if report.ok {
            "All checks passed."
        } else {
            "Some checks failed: see the fix beside each."
        }
    )?;
    Ok(stdout.flush()?)
}
