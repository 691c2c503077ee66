//! The only place that prints data. Every report implements [`Render`]: the human view (a short
//! summary or a table) and `--output json` come from the same struct, so they cannot disagree.
//! stdout carries data only; errors, warnings, notes and progress go to stderr. This module knows
//! no command: reports render themselves through the [`Style`] it hands them.

use std::io::{IsTerminal, Write};

use comfy_table::{Table, presets};

use crate::cli::{ColorChoice, OutputFormat};
use crate::exit::{ExitStatus, UserError};

/// A report a command returns: rendered for people, or serialised for scripts.
pub trait Render: serde::Serialize {
    /// What a person reads: a short summary or a table, sizes and durations in human units.
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()>;

    /// Warnings to print on stderr whatever the format (e.g. an architecture vLLM does not list).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// The process's exit status for this outcome (e.g. 1 when a model does not fit).
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

/// How the human view looks: colour or not, a terminal's box tables or plain Markdown tables.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub terminal: bool,
}

impl Style {
    pub fn table(&self) -> Table {
        let mut table = Table::new();
        table.load_style(if self.terminal {
            presets::UTF8_FULL_CONDENSED
        } else {
            presets::ASCII_MARKDOWN
        });
        table
    }

    pub fn paint(&self, tone: Tone, text: &str) -> String {
        paint(self.color, tone, text)
    }
}

/// What a piece of text says, for colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Warn,
    Strong,
    Dim,
}

/// `text` in the tone's colour when `color` is on, as is otherwise.
pub fn paint(color: bool, tone: Tone, text: &str) -> String {
    use anstyle::{AnsiColor, Style as Ansi};
    if !color {
        return text.to_string();
    }
    let style = match tone {
        Tone::Good => Ansi::new().fg_color(Some(AnsiColor::Green.into())),
        Tone::Bad => Ansi::new().fg_color(Some(AnsiColor::Red.into())).bold(),
        Tone::Warn => Ansi::new().fg_color(Some(AnsiColor::Yellow.into())).bold(),
        Tone::Strong => Ansi::new().bold(),
        Tone::Dim => Ansi::new().dimmed(),
    };
    format!("{style}{text}{style:#}")
}

/// Whether to colour a stream: `--color`, then `NO_COLOR` (any non-empty value, no-color.org),
/// then whether the stream is a terminal.
pub fn use_color(choice: ColorChoice, stream_is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && stream_is_terminal
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// Prints reports to stdout in the chosen format; built once in `main` from the global flags.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: OutputFormat,
    pub style: Style,
    /// Colour for stderr (warnings, errors).
    pub stderr_color: bool,
}

impl Printer {
    pub fn new(format: OutputFormat, color: ColorChoice) -> Printer {
        let terminal = std::io::stdout().is_terminal();
        Printer {
            format,
            style: Style {
                color: use_color(color, terminal),
                terminal,
            },
            stderr_color: use_color(color, std::io::stderr().is_terminal()),
        }
    }

    /// The report on stdout (its warnings on stderr); returns its exit status.
    pub fn print<R: Render>(&self, report: &R) -> anyhow::Result<ExitStatus> {
        for warning in report.warnings() {
            eprintln!(
                "{} {warning}",
                paint(self.stderr_color, Tone::Warn, "warning:")
            );
        }
        let mut stdout = std::io::stdout().lock();
        match self.format {
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut stdout, report)?;
                writeln!(stdout)?;
            }
            OutputFormat::Table => report.render(&mut stdout, &self.style)?,
        }
        stdout.flush()?;
        Ok(report.exit_status())
    }

    /// `error: <what failed>`, its causes, then `hint: <what to do>`, on stderr.
    pub fn print_error(&self, error: &anyhow::Error) {
        print_error(error, self.stderr_color);
    }
}

/// `error: <what failed>`, its causes, then `hint: <what to do>`, on stderr. Server text in an
/// error is untrusted: every line is made printable. The error itself may span lines (a table of
/// what failed); each is printed on its own, made printable.
pub fn print_error(error: &anyhow::Error, color: bool) {
    use crate::text::printable;
    let mut stderr = std::io::stderr().lock();
    let label = paint(color, Tone::Bad, "error:");
    let text = error.to_string();
    let lines: Vec<String> = text.split('\n').map(printable).collect();
    let _ = writeln!(stderr, "{label} {}", lines.join("\n"));
    for cause in error.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {}", printable(&cause.to_string()));
    }
    if let Some(hint) = error
        .chain()
        .find_map(|c| c.downcast_ref::<UserError>())
        .and_then(|u| u.hint.as_ref())
    {
        let _ = writeln!(
            stderr,
            "{} {}",
            paint(color, Tone::Strong, "hint:"),
            printable(hint)
        );
    }
}

/// Aligned `label  value` lines under a headline: the shape of every one-version summary.
pub fn write_fields(
    out: &mut dyn Write,
    style: &Style,
    rows: &[(&str, String)],
) -> std::io::Result<()> {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    for (label, value) in rows {
        let padded = format!("{label:<width$}");
        writeln!(out, "  {}  {value}", style.paint(Tone::Dim, &padded))?;
    }
    Ok(())
}
