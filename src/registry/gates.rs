//! Promotion gates: conditions a version's records must meet before `promote` moves a byte.
//!
//! - `metric:<key> <op> <number>` (`>=`, `<=`, `>`, `<`, `==`): the metric's latest value, looked
//!   for on the version's child run, its parent run, its training runs, then (MLflow 3) its logged
//!   model;
//! - `tag:<key>=<value>`: a tag on the version, else on its child or parent run (an approval
//!   another team sets, say);
//! - `--require-better-than @<alias>:<metric>` (append `:lower` when lower is better): the
//!   candidate's metric against the version that holds the alias now.

use std::sync::LazyLock;

use regex::Regex;

use super::lineage::{self, Lineage};
use crate::exit::UserError;
use crate::mlflow::MlflowClient;
use crate::mlflow::client::{ModelVersion, Run};

static METRIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^metric:([^\s<>=!]+)\s*(>=|<=|==|>|<)\s*([-+0-9.eE]+)$").expect("a valid pattern")
});

#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    Metric {
        key: String,
        op: Op,
        threshold: f64,
    },
    Tag {
        key: String,
        value: String,
    },
    BetterThan {
        alias: String,
        key: String,
        lower_is_better: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
}

impl Op {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Ge => value >= threshold,
            Op::Le => value <= threshold,
            Op::Gt => value > threshold,
            Op::Lt => value < threshold,
            Op::Eq => value == threshold,
        }
    }
}

/// A `--require` expression.
pub fn parse_require(text: &str) -> Result<Gate, String> {
    let text = text.trim();
    if let Some(caps) = METRIC.captures(text) {
        let threshold: f64 = caps[3]
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite())
            .ok_or_else(|| format!("`{}` is not a number", &caps[3]))?;
        let op = match &caps[2] {
            ">=" => Op::Ge,
            "<=" => Op::Le,
            ">" => Op::Gt,
            "<" => Op::Lt,
            _ => Op::Eq,
        };
        return Ok(Gate::Metric {
            key: caps[1].to_string(),
            op,
            threshold,
        });
    }
    if let Some((key, value)) = text.strip_prefix("tag:").and_then(|t| t.split_once('='))
        && !key.is_empty()
    {
        return Ok(Gate::Tag {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Err(format!(
        "`{}` is not a gate: write `metric:<key> >= <number>` (or <=, >, <, ==) or `tag:<key>=<value>`",
        crate::text::printable(text)
    ))
}

/// A `--require-better-than` expression: `@<alias>:<metric>[:lower]`.
pub fn parse_better_than(text: &str) -> Result<Gate, String> {
    let bad = || {
        format!(
            "`{}` is not `@<alias>:<metric>` (append `:lower` when lower is better)",
            crate::text::printable(text)
        )
    };
    let rest = text.trim().strip_prefix('@').ok_or_else(bad)?;
    let (alias, metric) = rest.split_once(':').ok_or_else(bad)?;
    let (key, lower_is_better) = match metric.strip_suffix(":lower") {
        Some(key) => (key, true),
        None => (metric, false),
    };
    if alias.is_empty() || key.is_empty() {
        return Err(bad());
    }
    Ok(Gate::BetterThan {
        alias: alias.to_string(),
        key: key.to_string(),
        lower_is_better,
    })
}

/// One gate, evaluated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    pub gate: String,
    /// What was found (`none` when nothing was).
    pub value: String,
    pub passed: bool,
}

/// The records a version's metrics are looked for in: its runs and its logged model.
pub struct Evidence<'a> {
    lineage: &'a Lineage,
    training: Vec<Run>,
}

impl<'a> Evidence<'a> {
    pub async fn gather(
        client: &MlflowClient,
        version: &ModelVersion,
        lineage: &'a Lineage,
    ) -> anyhow::Result<Evidence<'a>> {
        let training = lineage::training_runs(client, version, lineage).await?;
        Ok(Evidence { lineage, training })
    }

    /// The latest value of `key` on the child run, the parent run, the training runs (nearest
    /// first), then the logged model; with where it was found.
    fn metric(&self, key: &str) -> Option<(f64, String)> {
        let runs = [
            (&self.lineage.child, "child run"),
            (&self.lineage.parent, "parent run"),
        ]
        .into_iter()
        .chain(self.training.iter().map(|run| (run, "training run")));
        let on_runs = runs.into_iter().find_map(|(run, which)| {
            let metric = run.metric(key)?;
            Some((metric.number()?, format!("{which}, step {}", metric.step)))
        });
        on_runs.or_else(|| {
            let metric = self.lineage.model_metrics.iter().find(|m| m.key == key)?;
            Some((
                metric.number()?,
                format!("logged model, step {}", metric.step),
            ))
        })
    }
}

fn tag_of<'a>(version: &'a ModelVersion, lineage: &'a Lineage, key: &str) -> Option<&'a str> {
    version
        .tag(key)
        .or_else(|| lineage.child.tag(key))
        .or_else(|| lineage.parent.tag(key))
}

/// Evaluates every gate for `version` (whose runs are `lineage`).
pub async fn evaluate(
    client: &MlflowClient,
    version: &ModelVersion,
    lineage: &Lineage,
    gates: &[(String, Gate)],
) -> anyhow::Result<Vec<Checked>> {
    // Tag gates read the version and its runs only: the training chain is fetched for metrics.
    let evidence = match gates.iter().all(|(_, g)| matches!(g, Gate::Tag { .. })) {
        true => Evidence {
            lineage,
            training: Vec::new(),
        },
        false => Evidence::gather(client, version, lineage).await?,
    };
    let mut checked = Vec::new();
    for (text, gate) in gates {
        let (value, passed) = match gate {
            Gate::Metric { key, op, threshold } => match evidence.metric(key) {
                Some((value, from)) => (format!("{value} ({from})"), op.holds(value, *threshold)),
                None => ("none".to_string(), false),
            },
            Gate::Tag { key, value } => match tag_of(version, lineage, key) {
                Some(found) => (crate::text::printable(found), found == value),
                None => ("none".to_string(), false),
            },
            Gate::BetterThan {
                alias,
                key,
                lower_is_better,
            } => better_than(client, version, &evidence, (alias, key, *lower_is_better)).await?,
        };
        checked.push(Checked {
            gate: text.clone(),
            value,
            passed,
        });
    }
    Ok(checked)
}

async fn better_than(
    client: &MlflowClient,
    version: &ModelVersion,
    evidence: &Evidence<'_>,
    (alias, key, lower_is_better): (&str, &str, bool),
) -> anyhow::Result<(String, bool)> {
    let holder = match client
        .get_model_version_by_alias(&version.name, alias)
        .await
    {
        Ok(holder) => holder,
        // No version holds the alias yet: nothing to be better than.
        Err(_) => return Ok((format!("no version holds @{alias}"), true)),
    };
    let holder_lineage = lineage::resolve(client, &holder).await?;
    let holder_evidence = Evidence::gather(client, &holder, &holder_lineage).await?;
    let Some((candidate, _)) = evidence.metric(key) else {
        return Ok(("none".to_string(), false));
    };
    let Some((champion, _)) = holder_evidence.metric(key) else {
        return Ok((
            format!(
                "{candidate}; @{alias} (version {}) has none",
                holder.version
            ),
            true,
        ));
    };
    let better = if lower_is_better {
        candidate < champion
    } else {
        candidate > champion
    };
    Ok((
        format!(
            "{candidate} against {champion} of @{alias} (version {})",
            holder.version
        ),
        better,
    ))
}

/// The refusal when a gate failed: every gate with its value, and that nothing was downloaded.
pub fn refusal(checked: &[Checked]) -> Option<UserError> {
    let failed = checked.iter().filter(|c| !c.passed).count();
    if failed == 0 {
        return None;
    }
    let width = checked.iter().map(|c| c.gate.len()).max().unwrap_or(0);
    let rows: Vec<String> = checked
        .iter()
        .map(|c| {
            let mark = if c.passed { "pass" } else { "FAIL" };
            format!("  {mark}  {:<width$}  {}", c.gate, c.value)
        })
        .collect();
    Some(
        UserError::failed(format!(
            "{failed} of {} promotion gates failed; nothing was downloaded:\n{}",
            checked.len(),
            rows.join("\n")
        ))
        .with_hint(
            "log the missing metrics or tags on the version's runs, or promote another version",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gates() {
        assert_eq!(
            parse_require("metric:accuracy >= 0.82").unwrap(),
            Gate::Metric {
                key: "accuracy".into(),
                op: Op::Ge,
                threshold: 0.82
            }
        );
        assert_eq!(
            parse_require("metric:eval_loss<1.5").unwrap(),
            Gate::Metric {
                key: "eval_loss".into(),
                op: Op::Lt,
                threshold: 1.5
            }
        );
        assert_eq!(
            parse_require("tag:approved=yes").unwrap(),
            Gate::Tag {
                key: "approved".into(),
                value: "yes".into()
            }
        );
        assert!(parse_require("metric:accuracy >= nan").is_err());
        assert!(
            parse_require("accuracy > 1")
                .unwrap_err()
                .contains("is not a gate")
        );
        assert_eq!(
            parse_better_than("@champion:eval_loss:lower").unwrap(),
            Gate::BetterThan {
                alias: "champion".into(),
                key: "eval_loss".into(),
                lower_is_better: true
            }
        );
        assert!(parse_better_than("champion:accuracy").is_err());
    }
}
