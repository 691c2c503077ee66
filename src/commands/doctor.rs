//! `llmops doctor`: one table of checks for a role, each with its status and, when it fails, the
//! fix. Exit 0 only when every check for the role passes. The checks make only the calls the
//! commands make themselves (no bucket-wide listing, no HeadBucket).

use std::path::Path;
use std::time::Duration;

use std::io::Write;
use std::sync::Arc;

use serde::Serialize;

use crate::cli::{DoctorArgs, Role};
use crate::env;
use crate::exit::ExitStatus;
use crate::layout::roots::{self, RootKind};
use crate::output::{Render, Style, Tone};
use crate::progress::Reporter;
use crate::text::printable;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Fail,
    Skipped,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    /// What to do, when it failed.
    pub fix: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DoctorReport {
    pub schema_version: u32,
    pub role: Role,
    pub ok: bool,
    pub checks: Vec<Check>,
}

fn ok(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        status: Status::Ok,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        status: Status::Fail,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn skipped(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        status: Status::Skipped,
        detail: detail.into(),
        fix: None,
    }
}

pub async fn run(args: &DoctorArgs, reporter: Arc<dyn Reporter>) -> DoctorReport {
    let mut checks = Vec::new();
    tracking_server(args, reporter, &mut checks).await;
    if args.role == Role::ProdDeployer {
        aws(args, &mut checks).await;
    }
    checks.push(root_check(args));
    triton(&mut checks).await;
    let ok = checks.iter().all(|c| c.status != Status::Fail);
    DoctorReport {
        schema_version: 1,
        role: args.role,
        ok,
        checks,
    }
}

async fn tracking_server(args: &DoctorArgs, reporter: Arc<dyn Reporter>, checks: &mut Vec<Check>) {
    let client = match crate::mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter) {
        Ok(client) => client.with_max_retries(1),
        Err(error) => {
            checks.push(fail(
                "tracking server",
                error.message,
                error.hint.unwrap_or_default(),
            ));
            checks.push(skipped("authentication", "no tracking server"));
            return;
        }
    };
    let started = std::time::SystemTime::now();
    match client.server_version().await {
        Ok(version) => {
            let major = if version.starts_with('2') {
                "2.x"
            } else if version.starts_with('3') {
                "3.x"
            } else {
                "unknown"
            };
            checks.push(ok(
                "tracking server",
                format!(
                    "{} answers: MLflow {version} ({major})",
                    client.tracking_uri()
                ),
            ));
        }
        // A server with a login refuses even `/version` to the wrong credentials: it answers, the
        // login is what failed.
        Err(error) if error.is_auth() => {
            checks.push(ok(
                "tracking server",
                format!("{} answers (and asks for a login)", client.tracking_uri()),
            ));
            checks.push(auth_failure(&client, &error));
            return;
        }
        Err(error) => {
            checks.push(fail(
                "tracking server",
                format!("{error}"),
                format!("check MLFLOW_TRACKING_URI ({}) and that the server is up and reachable from here", client.tracking_uri()),
            ));
            checks.push(skipped("authentication", "the server does not answer"));
            return;
        }
    }
    // `/version` needs no login on MLflow; an API call does.
    match client.search_experiments_probe().await {
        Ok(server_date) => {
            checks.push(ok(
                "authentication",
                format!("accepted ({})", client.auth().describe()),
            ));
            checks.push(match server_date {
                Some(date) => clock_skew(started, date),
                None => fail(
                    "clock",
                    "the tracking server sent no readable `Date` header, so the clock cannot be compared",
                    "check this machine's clock against NTP (AWS rejects requests signed more than 5 minutes off); a proxy in front of MLflow may be dropping `Date`",
                ),
            });
        }
        Err(error) if error.is_auth() => checks.push(auth_failure(&client, &error)),
        Err(error) => checks.push(fail(
            "authentication",
            format!("{error}"),
            "see the error; the server answered /version but not the API",
        )),
    }
}

fn auth_failure(client: &crate::mlflow::MlflowClient, error: &crate::mlflow::MlflowError) -> Check {
    fail(
        "authentication",
        format!("{error}"),
        format!(
            "the server refused {}: set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (inside Domino: DOMINO_USER_API_KEY)",
            client.auth().describe()
        ),
    )
}

fn clock_skew(local: std::time::SystemTime, server: std::time::SystemTime) -> Check {
    let skew = match server.duration_since(local) {
        Ok(ahead) => ahead.as_secs_f64(),
        Err(behind) => -behind.duration().as_secs_f64(),
    };
    // The HTTP date has one-second resolution; AWS refuses signatures more than 5 minutes off.
    if skew.abs() > 300.0 {
        fail(
            "clock",
            format!("this machine is {skew:.0} s off the tracking server's clock"),
            "sync the clock (NTP): AWS rejects requests signed more than 5 minutes off",
        )
    } else {
        ok(
            "clock",
            format!("within {:.0} s of the tracking server", skew.abs().max(1.0)),
        )
    }
}

async fn aws(args: &DoctorArgs, checks: &mut Vec<Check>) {
    let source = crate::s3::credential_source();
    if let (Ok(_), Ok(token)) = (
        std::env::var("AWS_ROLE_ARN"),
        std::env::var("AWS_WEB_IDENTITY_TOKEN_FILE"),
    ) && !Path::new(&token).is_file()
    {
        checks.push(fail(
            "AWS credentials",
            format!("web identity is configured but the token file `{token}` does not exist"),
            "in a pod: the service account needs the IRSA annotation (eks.amazonaws.com/role-arn) so the token is projected; elsewhere unset AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE",
        ));
        checks.push(skipped("artifact store", "no usable credentials"));
        return;
    }
    let (s3, sts) = crate::s3::clients().await;
    match tokio::time::timeout(Duration::from_secs(30), sts.get_caller_identity().send()).await {
        // STS may still honour a session made before the token expired; the next one will fail.
        Ok(Ok(_)) if crate::s3::web_identity_token_expired() => {
            checks.push(fail(
                "AWS credentials",
                format!("{source}: the web-identity token has expired"),
                "the pod's projected service-account token is not being refreshed: check the IRSA webhook and the token's mount, or restart the pod",
            ));
        }
        Ok(Ok(identity)) => checks.push(ok(
            "AWS credentials",
            format!("{source}; caller {}", identity.arn().unwrap_or("unknown")),
        )),
        Ok(Err(error)) => {
            checks.push(fail(
                "AWS credentials",
                format!("{source}: {}", crate::transfer::download::describe_sdk_error(&error)),
                "provide credentials the standard way: IRSA (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), AWS_PROFILE, or the environment keys",
            ));
            checks.push(skipped("artifact store", "no usable credentials"));
            return;
        }
        Err(_) => {
            checks.push(fail(
                "AWS credentials",
                format!("{source}: STS did not answer in 30 s"),
                "check AWS_ENDPOINT_URL_STS / network access to STS",
            ));
            checks.push(skipped("artifact store", "no usable credentials"));
            return;
        }
    }
    let destination = match crate::registry::artifacts_destination_or_env(
        args.artifact_store.artifacts_destination.as_deref(),
    ) {
        Ok(destination) => destination,
        Err(error) => {
            checks.push(fail(
                "artifact store",
                error.message,
                error.hint.unwrap_or_default(),
            ));
            return;
        }
    };
    let location = match crate::s3::S3Location::parse(&destination) {
        Ok(location) => location,
        Err(problem) => {
            checks.push(fail(
                "artifact store",
                problem,
                "write it like s3://bucket/prefix",
            ));
            return;
        }
    };
    // Only under the prefix the commands use: a policy may allow ListBucket with that prefix only.
    let prefix = if location.prefix.is_empty() {
        String::new()
    } else {
        format!("{}/", location.prefix)
    };
    match s3
        .list_objects_v2()
        .bucket(&location.bucket)
        .prefix(&prefix)
        .max_keys(1)
        .send()
        .await
    {
        Ok(_) => checks.push(ok("artifact store", format!("{location} is listable"))),
        Err(error) => {
            let text = crate::transfer::download::describe_sdk_error(&error);
            let fix = if text.contains("NoSuchBucket") {
                "the bucket does not exist: check --artifacts-destination / LLMOPS_ARTIFACTS_DESTINATION / MLFLOW_S3_BUCKET".to_string()
            } else {
                format!(
                    "the role needs s3:ListBucket on {} with prefix {prefix}*",
                    location.bucket
                )
            };
            checks.push(fail("artifact store", format!("{location}: {text}"), fix));
        }
    }
}

fn root_check(args: &DoctorArgs) -> Check {
    let (kind, flag, name) = match args.role {
        Role::DataScientist => (RootKind::Dev, args.dev.dev_root.as_deref(), "dev root"),
        Role::ProdDeployer => (RootKind::Prod, args.prod.prod_root.as_deref(), "prod root"),
    };
    let root = match roots::resolve(kind, flag) {
        Ok(root) => root,
        Err(error) => {
            return fail(
                name,
                error.to_string(),
                "mount the dataset, or pass the root explicitly",
            );
        }
    };
    match roots::check_writable(kind, &root) {
        Ok(()) => ok(
            name,
            format!(
                "{} (from {}) is mounted and writable",
                root.path.display(),
                root.source
            ),
        ),
        Err(error) => fail(
            name,
            error.to_string(),
            "mount the dataset read-write for this role, or pass a writable root",
        ),
    }
}

async fn triton(checks: &mut Vec<Check>) {
    let Ok(url) =
        std::env::var(env::LLMOPS_TRITON_URL).map(|u| u.trim_end_matches('/').to_string())
    else {
        checks.push(skipped("Triton", "LLMOPS_TRITON_URL is not set"));
        return;
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client builds");
    match http.get(format!("{url}/v2/health/live")).send().await {
        Ok(response) if response.status().is_success() => {
            let version = match http.get(format!("{url}/v2")).send().await {
                Ok(r) => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["version"].as_str().map(str::to_string)),
                Err(_) => None,
            };
            checks.push(ok(
                "Triton",
                format!(
                    "{url} is live (Triton {})",
                    version.unwrap_or_else(|| "?".into())
                ),
            ));
        }
        Ok(response) => checks.push(fail(
            "Triton",
            format!("{url} answered {}", response.status()),
            "check Triton's log",
        )),
        Err(error) => checks.push(fail(
            "Triton",
            format!(
                "{url} does not answer: {}",
                if error.is_connect() {
                    "connection refused".to_string()
                } else {
                    error.to_string()
                }
            ),
            "check LLMOPS_TRITON_URL and that Triton is running (its HTTP port, usually 8000)",
        )),
    }
}

impl Render for DoctorReport {
    /// One row per check; the fix beside each failure.
    fn render(&self, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
        let mut rows = style.table();
        rows.set_header(vec!["check", "status", "detail", "fix"]);
        for check in &self.checks {
            let status = match check.status {
                Status::Ok => style.paint(Tone::Good, "ok"),
                Status::Fail => style.paint(Tone::Bad, "FAIL"),
                Status::Skipped => style.paint(Tone::Dim, "skipped"),
            };
            rows.add_row(vec![
                check.name.to_string(),
                status,
                printable(&check.detail),
                printable(check.fix.as_deref().unwrap_or_default()),
            ]);
        }
        writeln!(out, "{rows}")?;
        let verdict = if self.ok {
            style.paint(Tone::Good, "All checks passed.")
        } else {
            style.paint(Tone::Bad, "Some checks failed: see the fix beside each.")
        };
        writeln!(out, "{verdict}")
    }

    fn exit_status(&self) -> ExitStatus {
        if self.ok {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}
