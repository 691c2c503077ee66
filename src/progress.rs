//! Progress and notes, as an interface the core calls (commands, transfers and clients never print).
//! On a terminal: a bar for the total and one for each large file (bytes, rate, ETA). Off a terminal
//! (CI, Domino jobs): a plain line every few seconds, so a long job never looks hung.
//! `--no-progress`, `--quiet`, `LLMOPS_NO_PROGRESS=1` or `--output json` silence progress; notes (a
//! retry, a fallback) go to stderr unless `--quiet`; warnings always do.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::env;

/// Files at least this large get a bar of their own.
const OWN_BAR_BYTES: u64 = 64 * 1024 * 1024;
/// How often the plain reporter prints.
const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

pub trait Reporter: Send + Sync {
    /// Work of `total_bytes` in `files` files begins.
    fn start(&self, label: &str, total_bytes: u64, files: usize);
    /// A file begins; returns a handle that receives its bytes.
    fn file(&self, name: &str, size: u64) -> Box<dyn FileProgress>;
    fn finish(&self);
    /// Something worth knowing while a command runs (a retry, a fallback taken).
    fn note(&self, message: &str);
    /// Something that may be wrong but does not stop the command.
    fn warn(&self, message: &str);
}

/// Where notes and warnings go: stderr, notes only without `--quiet`, `warning:` coloured when
/// colour is on.
#[derive(Debug, Clone, Copy)]
pub struct Messages {
    pub notes: bool,
    pub color: bool,
}

impl Messages {
    fn note(self, message: &str) {
        if self.notes {
            eprintln!("note: {message}");
        }
    }

    fn warn(self, message: &str) {
        let label = crate::output::paint(self.color, crate::output::Tone::Warn, "warning:");
        eprintln!("{label} {message}");
    }
}

pub trait FileProgress: Send + Sync {
    fn advance(&self, bytes: u64);
    /// Bytes an earlier, interrupted run completed: counted as done, but not in the rate.
    fn resumed(&self, _bytes: u64) {}
    fn done(&self);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Plain,
    Silent,
}

/// Decided once at start-up, from the global flags.
pub fn mode(silenced: bool) -> Mode {
    if silenced || env::is_truthy(env::LLMOPS_NO_PROGRESS) {
        Mode::Silent
    } else if std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
    {
        Mode::Bars
    } else {
        Mode::Plain
    }
}

pub fn reporter(mode: Mode, messages: Messages) -> Arc<dyn Reporter> {
    match mode {
        Mode::Bars => Arc::new(Bars {
            multi: MultiProgress::new(),
            total: Default::default(),
            messages,
        }),
        Mode::Plain => Arc::new(Plain {
            state: Default::default(),
            messages,
        }),
        Mode::Silent => Arc::new(Silent { messages }),
    }
}

/// No progress; notes and warnings as `messages` says.
pub struct Silent {
    pub messages: Messages,
}

impl Silent {
    /// Nothing at all, not even notes (warnings still reach stderr): for work done twice on purpose.
    pub fn quiet() -> Silent {
        Silent {
            messages: Messages {
                notes: false,
                color: false,
            },
        }
    }
}

impl Reporter for Silent {
    fn start(&self, _: &str, _: u64, _: usize) {}
    fn file(&self, _: &str, _: u64) -> Box<dyn FileProgress> {
        Box::new(SilentFile)
    }
    fn finish(&self) {}
    fn note(&self, message: &str) {
        self.messages.note(message);
    }
    fn warn(&self, message: &str) {
        self.messages.warn(message);
    }
}

struct SilentFile;

impl FileProgress for SilentFile {
    fn advance(&self, _: u64) {}
    fn done(&self) {}
}

struct Bars {
    multi: MultiProgress,
    total: std::sync::Mutex<Option<ProgressBar>>,
    messages: Messages,
}

impl Reporter for Bars {
    fn start(&self, label: &str, total_bytes: u64, files: usize) {
        self.multi.set_draw_target(ProgressDrawTarget::stderr());
        let bar = self.multi.add(ProgressBar::new(total_bytes));
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(format!("{label} ({files} files)"));
        bar.enable_steady_tick(Duration::from_millis(200));
        *self.total.lock().unwrap() = Some(bar);
    }

    fn file(&self, name: &str, size: u64) -> Box<dyn FileProgress> {
        let total = self.total.lock().unwrap().clone();
        let own = (size >= OWN_BAR_BYTES).then(|| {
            let bar = self.multi.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template(
                    "  {msg:30!} [{bar:20}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(crate::text::printable(name));
            bar
        });
        Box::new(BarFile { total, own })
    }

    fn finish(&self) {
        if let Some(bar) = self.total.lock().unwrap().take() {
            bar.finish_and_clear();
        }
    }

    // Printed above the bars, so they are not torn.
    fn note(&self, message: &str) {
        self.multi.suspend(|| self.messages.note(message));
    }

    fn warn(&self, message: &str) {
        self.multi.suspend(|| self.messages.warn(message));
    }
}

struct BarFile {
    total: Option<ProgressBar>,
    own: Option<ProgressBar>,
}

impl FileProgress for BarFile {
    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.total {
            bar.inc(bytes);
        }
        if let Some(bar) = &self.own {
            bar.inc(bytes);
        }
    }

    fn resumed(&self, bytes: u64) {
        for bar in self.total.iter().chain(&self.own) {
            bar.inc(bytes);
            bar.reset_eta();
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.own {
            bar.finish_and_clear();
        }
    }
}

/// One line every few seconds: `staging: 1.2 GiB of 4.0 GiB (30 %), 3 of 12 files, 410 MiB/s, ETA 7 s`.
struct Plain {
    state: Arc<PlainState>,
    messages: Messages,
}

#[derive(Default)]
struct PlainState {
    bytes: AtomicU64,
    /// Of `bytes`, those from an earlier run: left out of the rate.
    resumed: AtomicU64,
    files_done: AtomicU64,
    stopped: AtomicBool,
}

impl Reporter for Plain {
    fn start(&self, label: &str, total_bytes: u64, files: usize) {
        let state = self.state.clone();
        let label = label.to_string();
        eprintln!("{label}: {} in {files} files", human_bytes(total_bytes));
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut next = started + PLAIN_INTERVAL;
            while !state.stopped.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if Instant::now() < next {
                    continue;
                }
                next += PLAIN_INTERVAL;
                eprintln!(
                    "{}",
                    plain_line(
                        &label,
                        (
                            state.bytes.load(Ordering::Relaxed),
                            state.resumed.load(Ordering::Relaxed),
                            total_bytes,
                        ),
                        (state.files_done.load(Ordering::Relaxed), files),
                        started.elapsed(),
                    )
                );
            }
        });
    }

    fn file(&self, _: &str, _: u64) -> Box<dyn FileProgress> {
        Box::new(PlainFile {
            state: self.state.clone(),
        })
    }

    fn finish(&self) {
        self.state.stopped.store(true, Ordering::Relaxed);
    }

    fn note(&self, message: &str) {
        self.messages.note(message);
    }

    fn warn(&self, message: &str) {
        self.messages.warn(message);
    }
}

/// `staging: 1.2 GiB of 4.0 GiB (30 %), 3 of 12 files, 410 MiB/s, ETA 7 s`; the rate counts only
/// the bytes moved in this run, not those `resumed` from an earlier one.
fn plain_line(
    label: &str,
    (done, resumed, total): (u64, u64, u64),
    (files_done, files): (u64, usize),
    elapsed: Duration,
) -> String {
    let rate = done.saturating_sub(resumed) as f64 / elapsed.as_secs_f64().max(0.001);
    let eta = if rate > 0.0 {
        total.saturating_sub(done) as f64 / rate
    } else {
        0.0
    };
    format!(
        "{label}: {} of {} ({:.0} %), {files_done} of {files} files, {}/s, ETA {eta:.0} s",
        human_bytes(done),
        human_bytes(total),
        100.0 * done as f64 / total.max(1) as f64,
        human_bytes(rate as u64),
    )
}

struct PlainFile {
    state: Arc<PlainState>,
}

impl FileProgress for PlainFile {
    fn advance(&self, bytes: u64) {
        self.state.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn resumed(&self, bytes: u64) {
        self.state.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.state.resumed.fetch_add(bytes, Ordering::Relaxed);
    }

    fn done(&self) {
        self.state.files_done.fetch_add(1, Ordering::Relaxed);
    }
}

use crate::units::human_bytes;

/// Counts what the core reports, and keeps its notes and warnings, for tests.
#[derive(Default)]
pub struct Counting {
    pub bytes: Arc<AtomicU64>,
    pub files: Arc<AtomicU64>,
    pub messages: std::sync::Mutex<Vec<String>>,
}

impl Reporter for Counting {
    fn start(&self, _: &str, _: u64, _: usize) {}
    fn file(&self, _: &str, _: u64) -> Box<dyn FileProgress> {
        Box::new(CountingFile {
            bytes: self.bytes.clone(),
            files: self.files.clone(),
        })
    }
    fn finish(&self) {}
    fn note(&self, message: &str) {
        self.messages
            .lock()
            .unwrap()
            .push(format!("note: {message}"));
    }
    fn warn(&self, message: &str) {
        self.messages
            .lock()
            .unwrap()
            .push(format!("warning: {message}"));
    }
}

struct CountingFile {
    bytes: Arc<AtomicU64>,
    files: Arc<AtomicU64>,
}

impl FileProgress for CountingFile {
    fn advance(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    fn done(&self) {
        self.files.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_rate_leaves_out_what_an_earlier_run_did() {
        const MIB: u64 = 1024 * 1024;
        // 600 MiB done of 1000, 400 of them from an earlier run, in 2 s: 100 MiB/s, 4 s to go.
        let line = plain_line(
            "downloading",
            (600 * MIB, 400 * MIB, 1000 * MIB),
            (3, 12),
            Duration::from_secs(2),
        );
        assert_eq!(
            line,
            "downloading: 600.00 MiB of 1000.00 MiB (60 %), 3 of 12 files, 100.00 MiB/s, ETA 4 s"
        );
    }
}
