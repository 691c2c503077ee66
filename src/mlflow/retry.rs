//! The retry policy, named and explicit, mirroring MLflow's own client (`mlflow/utils/request_utils.py`)
//! so that users' `MLFLOW_HTTP_REQUEST_*` tuning carries over.

use std::time::Duration;

use crate::env;

/// Statuses MLflow's client treats as transient (`_TRANSIENT_FAILURE_RESPONSE_CODES`).
pub const TRANSIENT_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt (`MLFLOW_HTTP_REQUEST_MAX_RETRIES`, default 7 as in MLflow 2.22 and
    /// 3.17, capped at 10).
    pub max_retries: u32,
    /// urllib3 backoff factor: sleep `factor × 2^(n−1)` seconds before retry n (`…_BACKOFF_FACTOR`, 2).
    pub backoff_factor: f64,
    /// Random extra seconds added to each sleep (`…_BACKOFF_JITTER`, 1.0).
    pub backoff_jitter: f64,
    /// Per-request timeout (`MLFLOW_HTTP_REQUEST_TIMEOUT`, 120 s).
    pub timeout: Duration,
    /// Honour `Retry-After` on transient statuses (`MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER`, true).
    pub respect_retry_after: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 7,
            backoff_factor: 2.0,
            backoff_jitter: 1.0,
            timeout: Duration::from_secs(120),
            respect_retry_after: true,
        }
    }
}

/// urllib3 caps a single backoff at 120 s (`DEFAULT_BACKOFF_MAX`).
const BACKOFF_MAX: f64 = 120.0;

impl RetryPolicy {
    /// The policy from MLflow's variables; malformed values are errors that name the variable.
    pub fn from_env() -> Result<RetryPolicy, String> {
        let default = RetryPolicy::default();
        let number = |name: &str, fallback: f64| -> Result<f64, String> {
            match std::env::var(name) {
                Ok(text) => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| format!("`{name}={text}` must be a non-negative number")),
                Err(_) => Ok(fallback),
            }
        };
        let respect = match std::env::var(env::MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER) {
            Ok(v) => !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "0"),
            Err(_) => true,
        };
        Ok(RetryPolicy {
            max_retries: (number(
                env::MLFLOW_HTTP_REQUEST_MAX_RETRIES,
                default.max_retries as f64,
            )? as u32)
                .min(10),
            backoff_factor: number(
                env::MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
                default.backoff_factor,
            )?
            .min(BACKOFF_MAX),
            backoff_jitter: number(
                env::MLFLOW_HTTP_REQUEST_BACKOFF_JITTER,
                default.backoff_jitter,
            )?,
            timeout: request_timeout(number(env::MLFLOW_HTTP_REQUEST_TIMEOUT, 120.0)?)?,
            respect_retry_after: respect,
        })
    }

    pub fn is_transient(status: u16) -> bool {
        TRANSIENT_STATUSES.contains(&status)
    }

    /// How long to wait before retry number `retry` (1-based), given the server's `Retry-After`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if self.respect_retry_after
            && let Some(after) = retry_after
        {
            return after.min(Duration::from_secs_f64(BACKOFF_MAX));
        }
        let backoff =
            (self.backoff_factor * 2f64.powi(retry.saturating_sub(1) as i32)).min(BACKOFF_MAX);
        Duration::from_secs_f64(backoff + self.backoff_jitter * jitter_fraction())
    }
}

/// A cheap fraction in [0, 1) without a random-number dependency: the clock's nanoseconds.
fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos as f64 / 1e9
}

/// `Retry-After` in seconds (the HTTP-date form is rare from MLflow and is ignored); a value too
/// large for a duration is ignored too (the backoff caps it anyway).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

/// `MLFLOW_HTTP_REQUEST_TIMEOUT`: more than 0 and at most a day (0 would fail every request, and
/// 1e300 does not fit a duration).
fn request_timeout(seconds: f64) -> Result<Duration, String> {
    if seconds <= 0.0 || seconds > 86_400.0 {
        return Err(format!(
            "`{}={seconds}` must be more than 0 and at most 86400 seconds",
            env::MLFLOW_HTTP_REQUEST_TIMEOUT
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_that_do_not_fit_are_refused_not_panicked_on() {
        assert!(request_timeout(0.0).is_err());
        assert!(request_timeout(1e300).is_err());
        assert_eq!(request_timeout(2.5).unwrap(), Duration::from_millis(2500));
        assert_eq!(parse_retry_after("1e300"), None);
        assert_eq!(parse_retry_after("inf"), None);
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
    }

    #[test]
    fn backoff_doubles_and_respects_retry_after() {
        let policy = RetryPolicy {
            backoff_jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.delay(1, None), Duration::from_secs(2));
        assert_eq!(policy.delay(3, None), Duration::from_secs(8));
        assert_eq!(policy.delay(20, None), Duration::from_secs(120));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        let ignoring = RetryPolicy {
            respect_retry_after: false,
            ..policy
        };
        assert_eq!(
            ignoring.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn transient_statuses_are_mlflows() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(RetryPolicy::is_transient(status));
        }
        for status in [400, 401, 403, 404, 409] {
            assert!(!RetryPolicy::is_transient(status));
        }
    }
}
