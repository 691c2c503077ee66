//! The one place exit codes are decided. Listed in the README; clap's own usage errors are 2 too.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked; for `size`, the model fits.
    Success,
    /// The operation failed, or `size` says the model does not fit.
    Failure,
    /// Bad usage or unreadable / invalid input: fix the command line or the file.
    Usage,
    /// Stopped by SIGINT (130) or SIGTERM (143), after cleaning up, as shells report signals.
    Interrupted(u8),
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Interrupted(signal) => 128 + signal,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// An error with a message written for the user, a hint, and the exit status it ends with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
    pub status: ExitStatus,
}

impl UserError {
    /// Bad usage or invalid input: fix the command line or the file ([`ExitStatus::Usage`]).
    pub fn usage(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
            hint: None,
            status: ExitStatus::Usage,
        }
    }

    /// The operation could not be done, e.g. a server is down ([`ExitStatus::Failure`]).
    pub fn failed(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
            hint: None,
            status: ExitStatus::Failure,
        }
    }

    /// Stopped by a signal (`SIGINT` 2, `SIGTERM` 15) ([`ExitStatus::Interrupted`]).
    pub fn interrupted(signal: u8, name: &str) -> Self {
        UserError {
            message: format!("interrupted by {name}"),
            hint: None,
            status: ExitStatus::Interrupted(signal),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The exit status for an error that ended a command.
pub fn status_for(error: &anyhow::Error) -> ExitStatus {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<UserError>())
        .map_or(ExitStatus::Failure, |e| e.status)
}

/// A closed stdout (`llmops size … | head`) is not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            == broken
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == broken
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::Failure.code(), 1);
        assert_eq!(ExitStatus::Usage.code(), 2);
    }

    #[test]
    fn usage_errors_anywhere_in_the_chain_exit_2() {
        let error = anyhow::Error::new(UserError::usage("bad")).context("while sizing");
        assert_eq!(status_for(&error), ExitStatus::Usage);
        assert_eq!(status_for(&anyhow::anyhow!("boom")), ExitStatus::Failure);
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let error = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("printing");
        assert!(is_broken_pipe(&error));
    }
}
