//! MLflow 3's logged models (`m-<32 hex>`): the first-class model a version is registered from on
//! a 3.x server. Routes and bodies from MLflow's `mlflow/protos/service.proto` and
//! `mlflow/store/tracking/rest_store.py` (`create_logged_model`, `finalize_logged_model`,
//! `log_outputs`); the server side is `mlflow/server/handlers.py`.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{Metric, MlflowClient, Result, field};

/// `models:/m-<id>`: the source a version registered from a logged model carries.
pub const SOURCE_PREFIX: &str = "models:/";

#[derive(Debug, Clone, Deserialize)]
pub struct LoggedModelInfo {
    pub model_id: String,
    #[serde(default)]
    pub experiment_id: String,
    #[serde(default)]
    pub name: String,
    /// `mlflow-artifacts:/<exp>/models/<id>/artifacts` behind the proxy.
    #[serde(default)]
    pub artifact_uri: String,
    /// `LOGGED_MODEL_PENDING`, `LOGGED_MODEL_READY` or `LOGGED_MODEL_UPLOAD_FAILED`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub source_run_id: String,
    /// Metrics logged against the model (`log_metric(…, model_id=…)`), the latest step of each;
    /// filled from the model's `data`, which only `logged-models/{id}` answers with.
    #[serde(skip)]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Deserialize)]
struct LoggedModel {
    info: LoggedModelInfo,
    #[serde(default)]
    data: LoggedModelData,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct LoggedModelData {
    #[serde(default)]
    metrics: Vec<Metric>,
}

impl LoggedModel {
    fn into_info(self) -> LoggedModelInfo {
        let mut latest: Vec<Metric> = Vec::new();
        for metric in self.data.metrics {
            match latest.iter_mut().find(|m| m.key == metric.key) {
                Some(seen) if seen.step <= metric.step => *seen = metric,
                Some(_) => {}
                None => latest.push(metric),
            }
        }
        LoggedModelInfo {
            metrics: latest,
            ..self.info
        }
    }
}

/// How a logged model ends: its artifacts are all there, or they are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finalized {
    Ready,
    Failed,
}

impl Finalized {
    fn proto_name(self) -> &'static str {
        match self {
            Finalized::Ready => "LOGGED_MODEL_READY",
            Finalized::Failed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }
}

/// A logged-model name for a registered name: MLflow refuses `/ : . % " '` in logged-model names
/// (but not in registered names), so each becomes `_`; an empty result is `model`.
pub fn logged_model_name(registered_name: &str) -> String {
    let name: String = registered_name
        .chars()
        .map(|c| match c {
            '/' | ':' | '.' | '%' | '"' | '\'' => '_',
            c => c,
        })
        .collect();
    if name.trim().is_empty() {
        "model".to_string()
    } else {
        name
    }
}

/// The logged model id in a version source `models:/m-<id>`, when the source is one. Anything else
/// (`models:/<name>/<version>`, run artifacts) is `None`.
pub fn model_id_of_source(source: &str) -> Option<&str> {
    let id = source.strip_prefix(SOURCE_PREFIX)?.trim_end_matches('/');
    is_model_id(id).then_some(id)
}

/// `m-` and 32 lower-case hex characters, as MLflow mints them; anything else is refused before
/// it becomes part of a URL.
pub fn is_model_id(text: &str) -> bool {
    text.strip_prefix("m-").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl MlflowClient {
    /// A PENDING logged model in `experiment_id`, produced by `source_run_id`.
    pub async fn create_logged_model(
        &self,
        experiment_id: &str,
        name: &str,
        source_run_id: &str,
        tags: &[(String, String)],
    ) -> Result<LoggedModelInfo> {
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        let body = json!({
            "experiment_id": experiment_id,
            "name": name,
            "source_run_id": source_run_id,
            "tags": tags,
        });
        let path = "/api/2.0/mlflow/logged-models";
        let value = self.call(Method::POST, path, &[], Some(&body)).await?;
        Ok(field::<LoggedModel>(value, "model", path)?.info)
    }

    pub async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModelInfo> {
        let path = format!("/api/2.0/mlflow/logged-models/{model_id}");
        let value = self.call(Method::GET, &path, &[], None).await?;
        Ok(field::<LoggedModel>(value, "model", &path)?.into_info())
    }

    /// READY once every artifact is uploaded; FAILED when a registration is rolled back.
    pub async fn finalize_logged_model(&self, model_id: &str, status: Finalized) -> Result<()> {
        let path = format!("/api/2.0/mlflow/logged-models/{model_id}");
        let body = json!({"model_id": model_id, "status": status.proto_name()});
        self.call(Method::PATCH, &path, &[], Some(&body))
            .await
            .map(drop)
    }

    /// Lists the logged model among the run's outputs (what makes a run a "training run" in the UI).
    pub async fn log_model_output(&self, run_id: &str, model_id: &str) -> Result<()> {
        let body = json!({"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]});
        self.call(
            Method::POST,
            "/api/2.0/mlflow/runs/outputs",
            &[],
            Some(&body),
        )
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_model_id_of_a_source() {
        let id = "m-932294c4a53d47fa99789e370f9cdf72";
        assert_eq!(model_id_of_source(&format!("models:/{id}")), Some(id));
        assert_eq!(model_id_of_source("models:/llama/3"), None);
        assert_eq!(model_id_of_source("models:/m-../../x"), None);
        assert_eq!(
            model_id_of_source("mlflow-artifacts:/1/abc/artifacts/model"),
            None
        );
        assert!(!is_model_id("m-932294C4A53D47FA99789E370F9CDF72"));
    }

    #[test]
    fn logged_model_names_avoid_what_mlflow_refuses() {
        assert_eq!(logged_model_name("o'brien's model-1"), "o_brien_s model-1");
        assert_eq!(logged_model_name("llama-3.1-8b/ft"), "llama-3_1-8b_ft");
        assert_eq!(logged_model_name("  "), "model");
    }
}
