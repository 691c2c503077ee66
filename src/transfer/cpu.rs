//! Whether this machine has CPU to spare, from `/proc/stat`. It decides what a download part
//! ahead of its file's hash does when the lookahead memory is spent: where the network is the
//! limit (a real S3 endpoint, about 100 MB/s a connection) the CPU idles, and the part should go on
//! and leave its bytes to be read back later; where the CPU is the limit (hashing every byte on a
//! small machine), reading back would cost the CPU everything else needs, and the part should wait.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Idle share of all CPUs above which reading back is worth it.
const SPARE_IDLE_SHARE: f64 = 0.3;
/// Shorter intervals are mostly noise (the kernel counts in 10 ms ticks).
const MIN_INTERVAL: Duration = Duration::from_millis(200);

pub struct CpuGauge {
    last: Mutex<Option<Reading>>,
}

/// When, the all-CPU (total, idle) ticks, and the idle share since the reading before.
#[derive(Clone, Copy)]
struct Reading {
    at: Instant,
    ticks: (u64, u64),
    idle_share: f64,
}

impl Default for CpuGauge {
    fn default() -> Self {
        CpuGauge::new()
    }
}

impl CpuGauge {
    pub fn new() -> CpuGauge {
        let gauge = CpuGauge {
            last: Mutex::new(None),
        };
        gauge.idle_share();
        gauge
    }

    /// Whether at least `SPARE_IDLE_SHARE` of the CPUs idled lately. Without `/proc/stat` (not
    /// Linux), yes: reading back is what a download did before it could wait.
    pub fn has_spare(&self) -> bool {
        self.idle_share()
            .is_none_or(|idle| idle >= SPARE_IDLE_SHARE)
    }

    /// The idle share of all CPUs over the last interval of at least `MIN_INTERVAL`.
    fn idle_share(&self) -> Option<f64> {
        let mut last = self.last.lock().expect("gauge lock");
        let now = Instant::now();
        match *last {
            Some(reading) if now.duration_since(reading.at) < MIN_INTERVAL => {
                Some(reading.idle_share)
            }
            previous => {
                let ticks = parse_cpu_line(&std::fs::read_to_string("/proc/stat").ok()?)?;
                let idle_share = previous.map(|before| idle_share_between(before.ticks, ticks));
                *last = Some(Reading {
                    at: now,
                    ticks,
                    idle_share: idle_share.unwrap_or(0.0),
                });
                idle_share
            }
        }
    }
}

/// (total, idle + iowait) ticks from the `cpu` line of `/proc/stat`.
fn parse_cpu_line(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if fields.len() < 5 {
        return None;
    }
    Some((fields.iter().sum(), fields[3] + fields[4]))
}

fn idle_share_between((total0, idle0): (u64, u64), (total1, idle1): (u64, u64)) -> f64 {
    let total = total1.saturating_sub(total0);
    if total == 0 {
        return 1.0;
    }
    idle1.saturating_sub(idle0) as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_line_gives_total_and_idle_ticks() {
        let stat = "cpu  100 5 50 800 40 0 5 0 0 0\ncpu0 50 2 25 400 20 0 3 0 0 0\nintr 1\n";
        assert_eq!(parse_cpu_line(stat), Some((1000, 840)));
        assert_eq!(parse_cpu_line("intr 1\n"), None);
        assert_eq!(parse_cpu_line("cpu  1 x 3\n"), None);
    }

    #[test]
    fn the_idle_share_is_of_the_ticks_between_readings() {
        assert_eq!(idle_share_between((1000, 840), (1200, 860)), 0.1);
        assert_eq!(idle_share_between((1000, 840), (1000, 840)), 1.0);
    }

    #[test]
    fn a_reading_on_linux_is_a_share() {
        let gauge = CpuGauge::new();
        std::thread::sleep(MIN_INTERVAL);
        if let Some(share) = gauge.idle_share() {
            assert!((0.0..=1.0).contains(&share), "{share}");
        }
    }
}
