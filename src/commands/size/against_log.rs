//! `llmops size MODEL --against-log vllm.log`: the model sized with the settings a real vLLM
//! start-up log shows, each printed figure beside its prediction with the error, and a verdict on
//! whether `size` agrees with vLLM. Every log a user adds this way is a test of the model.

use std::io::Write;

use serde::Serialize;

use crate::cli::SizeArgs;
use crate::exit::{ExitStatus, UserError};
use crate::output::{Render, Style, Tone};
use crate::sizing::cuda_graphs::CudaGraphMode;
use crate::sizing::gpus::{self, Gpu};
use crate::sizing::vllm_log::{self, LoggedSettings, StartupLog};
use crate::sizing::{
    DtypeChoice, KvCacheDtype, LoadQuantization, Model, Settings, VllmVersion, estimate,
};
use crate::text::printable;
use crate::units::GIB;

#[derive(Debug, Serialize)]
pub struct AgainstLogReport {
    pub schema_version: u32,
    pub log: String,
    pub vllm_version: String,
    pub gpu_memory_bytes: u64,
    /// What the log showed and was used.
    pub settings_from_log: LoggedSettings,
    pub figures: Vec<Comparison>,
    pub logged_started: bool,
    pub predicted_fits: bool,
    pub tolerance_percent: f64,
    /// The verdicts agree and available KV is within the tolerance.
    pub agrees: bool,
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub figure: &'static str,
    pub logged: f64,
    pub predicted: f64,
    pub error_percent: f64,
}

pub fn run(
    args: &SizeArgs,
    model: &Model,
    path: &std::path::Path,
) -> anyhow::Result<AgainstLogReport> {
    let text = read_log(path)?;
    let log = vllm_log::parse(&text);
    if log.figures.available_kv_gib.is_none() && log.figures.kv_tokens.is_none() {
        return Err(UserError::usage(format!(
            "`{}` shows neither `Available KV cache memory` nor `GPU KV cache size`",
            path.display()
        ))
        .with_hint("pass the start-up log of a vLLM V1 server, from its first line to `Maximum concurrency`")
        .into());
    }
    let version_text = log
        .vllm_version
        .clone()
        .unwrap_or_else(|| args.vllm_version.clone());
    let version = VllmVersion::parse(&version_text).map_err(UserError::usage)?;
    let gpu = gpu_of(args, &log)?;
    let settings = settings_of(args, &log.settings, version);
    let quantized;
    let model = match log.settings.quantization.as_deref() {
        // `size` was given the checkpoint; the log says vLLM quantized it as it loaded.
        Some("fp8") if args.quantization.is_none() => {
            let mut at_load = model.clone();
            at_load
                .quantize_at_load(LoadQuantization::Fp8)
                .map_err(|e| UserError::usage(e.to_string()))?;
            quantized = at_load;
            &quantized
        }
        _ => model,
    };
    let predicted =
        estimate(model, &gpu, &settings).map_err(|e| UserError::usage(e.to_string()))?;
    let mut figures = Vec::new();
    let mut compare = |figure, logged: Option<f64>, predicted: f64| {
        if let Some(logged) = logged {
            figures.push(Comparison {
                figure,
                logged,
                predicted,
                error_percent: if logged == 0.0 {
                    0.0
                } else {
                    (predicted - logged) / logged.abs() * 100.0
                },
            });
        }
    };
    let f = &log.figures;
    compare(
        "weights GiB",
        f.weights_gib,
        predicted.weights_bytes as f64 / GIB,
    );
    compare(
        "available KV GiB",
        f.available_kv_gib,
        predicted.available_kv_bytes as f64 / GIB,
    );
    compare(
        "KV cache tokens",
        f.kv_tokens.map(|t| t as f64),
        predicted.kv_tokens as f64,
    );
    compare(
        "maximum concurrency",
        f.max_concurrency.map(|(x, _)| x),
        predicted.max_concurrency,
    );
    let logged_started = f.available_kv_gib.is_none_or(|kv| kv > 0.0);
    let kv_within = figures
        .iter()
        .filter(|c| c.figure == "available KV GiB")
        .all(|c| c.error_percent.abs() <= args.tolerance);
    Ok(AgainstLogReport {
        schema_version: 1,
        log: path.display().to_string(),
        vllm_version: version.to_string(),
        gpu_memory_bytes: gpu.memory_bytes,
        settings_from_log: log.settings,
        figures,
        logged_started,
        predicted_fits: predicted.fits(),
        tolerance_percent: args.tolerance,
        agrees: logged_started == predicted.fits() && kv_within,
    })
}

fn read_log(path: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| UserError::usage(format!("`{}`: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(vllm_log::MAX_LOG_BYTES as u64)
        .read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The GPU the log ran on: `--gpu` (its generation decides vLLM's defaults) with the total memory
/// the log shows, else a current data-centre GPU of that memory.
fn gpu_of(args: &SizeArgs, log: &StartupLog) -> anyhow::Result<Gpu> {
    let named = match args.gpu.first() {
        Some(name) => Some(
            *gpus::find(name).ok_or_else(|| UserError::usage(format!("unknown GPU `{name}`")))?,
        ),
        None => None,
    };
    let memory = log
        .total_memory_gib
        .map(|gib| (gib * GIB) as u64)
        .or(args.gpu_memory);
    match (named, memory) {
        (Some(gpu), Some(bytes)) => Ok(Gpu {
            memory_bytes: bytes,
            ..gpu
        }),
        (Some(gpu), None) => Ok(gpu),
        (None, Some(bytes)) => Ok(gpus::custom(bytes)),
        (None, None) => Err(
            UserError::usage("the log shows no GPU memory (`total_memory=`)")
                .with_hint("name the GPU with `--gpu`, or give its memory with `--gpu-memory`")
                .into(),
        ),
    }
}

/// The log's settings where it shows them, else the flags'.
fn settings_of(args: &SizeArgs, logged: &LoggedSettings, vllm_version: VllmVersion) -> Settings {
    let flags = super::settings_from_flags(args, vllm_version);
    Settings {
        max_model_len: logged.max_model_len,
        tensor_parallel_size: logged
            .tensor_parallel_size
            .unwrap_or(flags.tensor_parallel_size),
        gpu_memory_utilization: logged
            .gpu_memory_utilization
            .or(flags.gpu_memory_utilization),
        kv_cache_dtype: logged
            .kv_cache_dtype
            .as_deref()
            .and_then(KvCacheDtype::from_vllm)
            .unwrap_or(flags.kv_cache_dtype),
        dtype: logged
            .dtype
            .as_deref()
            .and_then(DtypeChoice::from_vllm)
            .unwrap_or(flags.dtype),
        max_num_seqs: logged.max_num_seqs.or(flags.max_num_seqs),
        max_num_batched_tokens: logged
            .max_num_batched_tokens
            .or(flags.max_num_batched_tokens),
        enforce_eager: logged.enforce_eager.unwrap_or(flags.enforce_eager),
        cudagraph_mode: logged
            .cudagraph_mode
            .as_deref()
            .and_then(CudaGraphMode::from_vllm)
            .or(flags.cudagraph_mode),
        max_cudagraph_capture_size: logged
            .max_cudagraph_capture_size
            .or(flags.max_cudagraph_capture_size),
        kv_cache_memory_bytes: logged.kv_cache_memory_bytes.or(flags.kv_cache_memory_bytes),
        ..flags
    }
}

impl Render for AgainstLogReport {
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        writeln!(
            out,
            "{} {} (vLLM {}, {:.2} GiB GPU)",
            style.paint(Tone::Strong, "Against"),
            printable(&self.log),
            self.vllm_version,
            self.gpu_memory_bytes as f64 / GIB
        )?;
        let mut table = style.table();
        table.set_header(vec!["figure", "logged", "predicted", "error"]);
        for c in &self.figures {
            table.add_row(vec![
                c.figure.to_string(),
                format!("{:.2}", c.logged),
                format!("{:.2}", c.predicted),
                format!("{:+.1} %", c.error_percent),
            ]);
        }
        writeln!(out, "{table}")?;
        let verdict = |started: bool| if started { "starts" } else { "does not start" };
        let (tone, word) = if self.agrees {
            (Tone::Good, "Agrees")
        } else {
            (Tone::Bad, "Disagrees")
        };
        writeln!(
            out,
            "{}: vLLM {}, size says it {}; available KV tolerance {} %",
            style.paint(tone, word),
            verdict(self.logged_started),
            verdict(self.predicted_fits),
            self.tolerance_percent
        )
    }

    fn exit_status(&self) -> ExitStatus {
        if self.agrees {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}
