//! Triton's HTTP API, the part `promote --load` needs: ask it to load a model (explicit mode) and
//! wait until the version is ready, with a timeout and Triton's own error text.

use std::time::{Duration, Instant};

use crate::exit::UserError;

pub async fn load_and_wait(
    url: &str,
    model: &str,
    version: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(timeout).build()?;
    let base = url.trim_end_matches('/');
    let load = http
        .post(format!("{base}/v2/repository/models/{model}/load"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .map_err(|e| UserError::failed(format!("Triton at {base} does not answer: {e}")))?;
    if !load.status().is_success() {
        let status = load.status();
        let text = load.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or(text);
        return Err(UserError::failed(format!("Triton refused to load `{model}` ({status}): {}", crate::text::excerpt(&message, 300)))
            .with_hint(if status.as_u16() == 503 {
                "this Triton polls its repository (--model-control-mode=poll): it loads the new version by itself; drop --load"
            } else {
                "check the model's config.pbtxt and files, and Triton's log"
            })
            .into());
    }
    let deadline = Instant::now() + timeout;
    loop {
        let ready = http
            .get(format!("{base}/v2/models/{model}/versions/{version}/ready"))
            .send()
            .await;
        if ready.as_ref().is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(UserError::failed(format!(
                "Triton did not report `{model}` version {version} ready within {} s",
                timeout.as_secs_f64()
            ))
            .with_hint("an empty or partial version folder makes Triton's python backend hang; check Triton's log")
            .into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
