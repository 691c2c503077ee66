use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use llmops::cli::{Cli, Command, ConfigCommand, OutputFormat};
use llmops::exit::{self, ExitStatus, UserError};
use llmops::output::{self, Printer};
use llmops::progress::{self, Messages, Reporter};
use llmops::{commands, config};

fn main() -> ExitCode {
    // Configuration files fill in what flags and variables leave unset; read before clap, which
    // takes its `env = …` defaults from the environment.
    let settings = match config::resolve() {
        Ok(settings) => settings,
        Err(error) => {
            let error = anyhow::Error::new(UserError::usage(error.to_string()));
            output::print_error(&error, false);
            return ExitStatus::Usage.into();
        }
    };
    config::apply(&settings);
    // clap prints usage errors itself and exits 2 (0 for --help / --version).
    let cli = Cli::parse();
    let global = &cli.global;
    let printer = Printer::new(global.output, global.color);
    let silenced = global.quiet || global.no_progress || global.output == OutputFormat::Json;
    let messages = Messages {
        notes: !global.quiet,
        color: printer.stderr_color,
    };
    let reporter = progress::reporter(progress::mode(silenced), messages);
    match run(&cli, &settings, &printer, reporter) {
        Ok(status) => status.into(),
        Err(error) if exit::is_broken_pipe(&error) => ExitStatus::Success.into(),
        Err(error) => {
            printer.print_error(&error);
            exit::status_for(&error).into()
        }
    }
}

/// Runs the command and prints its report; the report decides the exit status.
fn run(
    cli: &Cli,
    settings: &[config::Setting],
    printer: &Printer,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Size(args) => printer.print(&commands::size::run(args, reporter)?),
        Command::Register(args) => {
            printer.print(&runtime()?.block_on(commands::register::run(args, reporter))?)
        }
        Command::Publish(args) => printer
            .print(&runtime()?.block_on(or_interrupted(commands::publish::run(args, reporter)))?),
        Command::Promote(args) => printer
            .print(&runtime()?.block_on(or_interrupted(commands::promote::run(args, reporter)))?),
        Command::Rollback(args) => printer.print(&runtime()?.block_on(or_interrupted(
            commands::promote::rollback::run(args, reporter),
        ))?),
        Command::Lineage(args) => {
            printer.print(&runtime()?.block_on(commands::lineage::run(args, reporter))?)
        }
        Command::Prune(args) => printer
            .print(&runtime()?.block_on(or_interrupted(commands::prune::run(args, reporter)))?),
        Command::Adopt(args) => printer
            .print(&runtime()?.block_on(or_interrupted(commands::adopt::run(args, reporter)))?),
        Command::Status(args) => {
            printer.print(&runtime()?.block_on(commands::status::run(args, reporter))?)
        }
        Command::Verify(args) => {
            printer.print(&runtime()?.block_on(commands::verify::run(args, reporter))?)
        }
        Command::Doctor(args) => {
            printer.print(&runtime()?.block_on(commands::doctor::run(args, reporter)))
        }
        Command::Config(args) => match args.what {
            ConfigCommand::Show => printer.print(&commands::config::show(settings)),
        },
        Command::Generate(args) => {
            for path in commands::generate::run(&args.what)? {
                reporter.note(&format!("wrote {path}"));
            }
            Ok(ExitStatus::Success)
        }
    }
}

/// `work`, unless SIGINT or SIGTERM comes first: then the error that exits 130 or 143. For
/// `publish` and `promote`, which have nothing to roll back: the next run resumes what they leave
/// (`register` races the signals itself, to roll back first).
async fn or_interrupted<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::select! {
        result = work => result,
        signal = llmops::signals::interrupted() => Err(signal),
    }
}

/// Async workers: one per core, and at least this many. A download's full buffers are written by
/// the worker that filled them (`transfer::download::write`), so there are as many writes in flight
/// as workers, and a disk behind a network (cloud block storage) needs several: on a 2-core VM's
/// virtio disk, 2 in flight took 2.66 s for 2 GiB and 8 took 2.2 s (docs/benchmarks.md).
const MIN_WORKERS: usize = 8;

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.max(MIN_WORKERS))
        .enable_all()
        .build()
}
