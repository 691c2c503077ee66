use std::process::ExitCode;

use clap::Parser;
use llmops::cli::{Cli, Command, OutputFormat};
use llmops::exit::{self, ExitStatus};
use llmops::{commands, output};

fn main() -> ExitCode {
    // Configuration files fill in what flags and variables leave unset; read before clap, which
    // takes its `env = …` defaults from the environment.
    let settings = match llmops::config::resolve() {
        Ok(settings) => settings,
        Err(error) => {
            let error = anyhow::Error::new(llmops::exit::UserError::usage(error.to_string()));
            output::print_error(&error);
            return ExitStatus::Usage.into();
        }
    };
    llmops::config::apply(&settings);
    // clap prints usage errors itself and exits 2 (0 for --help / --version).
    let cli = Cli::parse();
    match run(&cli, &settings) {
        Ok(status) => status.into(),
        Err(error) if exit::is_broken_pipe(&error) => ExitStatus::Success.into(),
        Err(error) => {
            output::print_error(&error);
            exit::status_for(&error).into()
        }
    }
}

fn run(cli: &Cli, settings: &[llmops::config::Setting]) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Size(args) => {
            let report = commands::size::run(args)?;
            output::print_size(&report, args.output)?;
            Ok(report.exit_status())
        }
        Command::Register(args) => {
            let json = args.output == OutputFormat::Json;
            let report = runtime()?.block_on(commands::register::run(args, json))?;
            output::print_record(&report, args.output)?;
            Ok(ExitStatus::Success)
        }
        Command::Publish(args) => {
            let json = args.output == OutputFormat::Json;
            let report = runtime()?.block_on(commands::publish::run(args, json))?;
            output::print_record(&report, args.output)?;
            Ok(ExitStatus::Success)
        }
        Command::Promote(args) => {
            let json = args.output == OutputFormat::Json;
            let report = runtime()?.block_on(commands::promote::run(args, json))?;
            output::print_promote(&report, args.output)?;
            Ok(ExitStatus::Success)
        }
        Command::Status(args) => {
            let report = runtime()?.block_on(commands::promote::status(args))?;
            output::print_status(&report, args.output)?;
            Ok(ExitStatus::Success)
        }
        Command::Verify(args) => {
            let report = runtime()?.block_on(commands::promote::verify(args))?;
            output::print_record(&report, args.output)?;
            Ok(if report.verified {
                ExitStatus::Success
            } else {
                ExitStatus::Failure
            })
        }
        Command::Doctor(args) => {
            let report = runtime()?.block_on(commands::doctor::run(args));
            output::print_doctor(&report, args.output)?;
            Ok(if report.ok {
                ExitStatus::Success
            } else {
                ExitStatus::Failure
            })
        }
        Command::Config(args) => {
            let llmops::cli::ConfigCommand::Show { output: format } = &args.what;
            output::print_config(&llmops::config::show(settings), *format)?;
            Ok(ExitStatus::Success)
        }
        Command::Generate(args) => {
            for path in commands::generate::run(&args.what)? {
                eprintln!("wrote {path}");
            }
            Ok(ExitStatus::Success)
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
