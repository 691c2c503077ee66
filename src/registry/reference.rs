//! Model references as MLflow users type them: `models:/name/3`, `models:/name@champion`,
//! `models:/name/latest`, or a bare `name` with `--version 3`.

use crate::mlflow::client::{MlflowClient, MlflowError, ModelVersion};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Version(u64),
    Alias(String),
    Latest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub name: String,
    pub selector: Selector,
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.selector {
            Selector::Version(v) => write!(f, "models:/{}/{v}", self.name),
            Selector::Alias(a) => write!(f, "models:/{}@{a}", self.name),
            Selector::Latest => write!(f, "models:/{}/latest", self.name),
        }
    }
}

impl ModelRef {
    /// `text` is the positional argument; `version` the optional `--version`.
    pub fn parse(text: &str, version: Option<&str>) -> Result<ModelRef, String> {
        let usage = "write `models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<name>/latest` or `<name> --version <N>`";
        let selector_of = |v: &str| -> Result<Selector, String> {
            if v.eq_ignore_ascii_case("latest") {
                Ok(Selector::Latest)
            } else {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Selector::Version)
                    .ok_or_else(|| {
                        format!(
                            "`{v}` is not a model version (a positive integer or `latest`); {usage}"
                        )
                    })
            }
        };
        if let Some(rest) = text.strip_prefix("models:/") {
            if version.is_some() {
                return Err(format!(
                    "`{text}` already says which version; drop `--version`"
                ));
            }
            if let Some((name, alias)) = rest.split_once('@') {
                validate_registered_model_name(name)?;
                if alias.is_empty() || alias.contains('/') {
                    return Err(format!("`{text}` has no valid alias after `@`; {usage}"));
                }
                return Ok(ModelRef {
                    name: name.into(),
                    selector: Selector::Alias(alias.into()),
                });
            }
            let Some((name, version)) = rest.rsplit_once('/') else {
                return Err(format!("`{text}` names no version; {usage}"));
            };
            validate_registered_model_name(name)?;
            return Ok(ModelRef {
                name: name.into(),
                selector: selector_of(version)?,
            });
        }
        if text.contains(":/") {
            return Err(format!(
                "`{text}` is not a registered model reference; {usage}"
            ));
        }
        validate_registered_model_name(text)?;
        let Some(version) = version else {
            return Err(format!("`{text}` names no version; {usage}"));
        };
        Ok(ModelRef {
            name: text.into(),
            selector: selector_of(version)?,
        })
    }

    /// The model version this reference points at, now.
    pub async fn resolve(&self, client: &MlflowClient) -> Result<ModelVersion, ResolveError> {
        let result = match &self.selector {
            Selector::Version(v) => client.get_model_version(&self.name, &v.to_string()).await,
            Selector::Alias(alias) => client.get_model_version_by_alias(&self.name, alias).await,
            Selector::Latest => {
                let versions = client.search_model_versions(&self.name).await?;
                return versions
                    .into_iter()
                    .next()
                    .ok_or_else(|| ResolveError::NotFound(self.clone()));
            }
        };
        match result {
            Ok(version) => Ok(version),
            // An unknown alias is a 400 INVALID_PARAMETER_VALUE on both 2.x and 3.x.
            Err(e)
                if e.is_not_found()
                    || (matches!(self.selector, Selector::Alias(_)) && e.status() == Some(400)) =>
            {
                Err(ResolveError::NotFound(self.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("`{0}` does not exist in the model registry")]
    NotFound(ModelRef),
    #[error(transparent)]
    Mlflow(#[from] MlflowError),
}

/// Registered model names end up in `models:/<name>/<version>` URIs and in folder names, so refuse
/// what would make those ambiguous or unsafe.
pub fn validate_registered_model_name(name: &str) -> Result<(), String> {
    let rule = "use letters, digits, `-`, `_`, `.` and spaces (no `/`, `\\`, `@`, `:`, `%` or control characters)";
    if name.trim().is_empty() {
        return Err(format!("the registered model name is empty; {rule}"));
    }
    if name != name.trim() {
        return Err(format!(
            "the registered model name `{name}` starts or ends with whitespace; {rule}"
        ));
    }
    if name.chars().count() > 256 {
        return Err(format!(
            "the registered model name is longer than 256 characters; {rule}"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\' | '@' | ':' | '%') || c.is_control())
    {
        return Err(format!(
            "the registered model name `{}` contains `{}`; {rule}",
            name.escape_debug(),
            bad.escape_debug()
        ));
    }
    if name.contains('\'') && name.contains('"') {
        return Err(format!(
            "the registered model name `{}` contains both `'` and `\"`, which MLflow's search cannot quote; {rule}",
            name.escape_debug()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!(
            "`{name}` is not a usable registered model name; {rule}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_mlflow_users_type() {
        assert_eq!(
            ModelRef::parse("models:/llama/3", None).unwrap().selector,
            Selector::Version(3)
        );
        assert_eq!(
            ModelRef::parse("models:/llama@champion", None)
                .unwrap()
                .selector,
            Selector::Alias("champion".into())
        );
        assert_eq!(
            ModelRef::parse("models:/llama/latest", None)
                .unwrap()
                .selector,
            Selector::Latest
        );
        let bare = ModelRef::parse("llama", Some("7")).unwrap();
        assert_eq!(
            (bare.name.as_str(), bare.selector),
            ("llama", Selector::Version(7))
        );
        assert_eq!(
            ModelRef::parse("models:/my model/2", None)
                .unwrap()
                .to_string(),
            "models:/my model/2"
        );
    }

    #[test]
    fn refuses_what_is_ambiguous() {
        assert!(
            ModelRef::parse("llama", None)
                .unwrap_err()
                .contains("names no version")
        );
        assert!(ModelRef::parse("models:/llama/0", None).is_err());
        assert!(ModelRef::parse("models:/llama/x", None).is_err());
        assert!(
            ModelRef::parse("models:/llama/3", Some("3"))
                .unwrap_err()
                .contains("drop `--version`")
        );
        assert!(ModelRef::parse("runs:/abc/model", None).is_err());
        assert!(
            ModelRef::parse("models:/a/b/3", None)
                .unwrap_err()
                .contains("contains `/`")
        );
        assert!(validate_registered_model_name("ok-name_1.2 x").is_ok());
        assert!(validate_registered_model_name(" x").is_err());
        assert!(validate_registered_model_name("a\u{0}b").is_err());
    }
}
