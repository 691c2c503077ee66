//! SIGINT and SIGTERM as an error a command can race its work against, so it cleans up (marks
//! runs FAILED, removes a half-staged copy) before it exits 130 or 143, as shells and Kubernetes
//! expect.

use crate::exit::UserError;

/// Resolves when the process receives SIGINT or SIGTERM, as the error to end the command with.
pub async fn interrupted() -> anyhow::Error {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without handlers the default action (exit) applies; never resolve.
        return std::future::pending().await;
    };
    let error = tokio::select! {
        _ = interrupt.recv() => UserError::interrupted(2, "SIGINT"),
        _ = terminate.recv() => UserError::interrupted(15, "SIGTERM"),
    };
    error.into()
}
