//! Typed, bounded reads of config.json fields. config.json is untrusted: every number is checked
//! against a range no real model comes near, so later arithmetic cannot overflow, and every error
//! names the field (with its `text_config.` prefix) so the user can find it.

use serde_json::{Map, Value};

use super::InvalidConfig;

/// Upper bound for any count or width in config.json; real models stay far below (the widest
/// vocabularies are ~260k, the widest hidden sizes ~20k, the most experts 512).
const MAX_DIMENSION: u64 = 1 << 24;

#[derive(Clone, Copy)]
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    /// `""` at the top level, `"text_config."` inside a nested text config.
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Fields { object, prefix }
    }

    /// `""` or `"text_config."`, for naming fields in errors.
    pub fn prefix(&self) -> &'a str {
        self.prefix
    }

    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name).filter(|value| !value.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    fn invalid(&self, name: &str, problem: impl Into<String>) -> InvalidConfig {
        InvalidConfig {
            field: format!("{}{name}", self.prefix),
            problem: problem.into(),
        }
    }

    /// A positive integer, or `None` when absent or null.
    pub fn count(&self, name: &str) -> Result<Option<u64>, InvalidConfig> {
        let Some(value) = self.raw(name) else {
            return Ok(None);
        };
        let number = match value {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            }),
            _ => None,
        };
        match number {
            Some(0) => Err(self.invalid(name, "must be a positive integer, found 0")),
            Some(n) if n > MAX_DIMENSION => Err(self.invalid(
                name,
                format!("{n} is larger than any real model uses (limit {MAX_DIMENSION})"),
            )),
            Some(n) => Ok(Some(n)),
            None => Err(self.invalid(name, format!("must be a positive integer, found {value}"))),
        }
    }

    /// A non-negative integer (0 allowed), or `None`.
    pub fn count_or_zero(&self, name: &str) -> Result<Option<u64>, InvalidConfig> {
        if let Some(Value::Number(n)) = self.raw(name)
            && n.as_u64() == Some(0)
        {
            return Ok(Some(0));
        }
        self.count(name)
    }

    pub fn required_count(&self, name: &str) -> Result<u64, InvalidConfig> {
        self.count(name)?
            .ok_or_else(|| self.invalid(name, "is missing; it is needed to size the model"))
    }

    /// The first of several synonymous names that is present (families spell things differently).
    pub fn first_count(&self, names: &[&str]) -> Result<Option<u64>, InvalidConfig> {
        for name in names {
            if let Some(value) = self.count(name)? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    pub fn required_first_count(&self, names: &[&str]) -> Result<u64, InvalidConfig> {
        self.first_count(names)?.ok_or_else(|| {
            let listed = names
                .iter()
                .map(|n| format!("`{}{n}`", self.prefix))
                .collect::<Vec<_>>()
                .join(" or ");
            InvalidConfig {
                field: format!("{}{}", self.prefix, names[0]),
                problem: format!(
                    "is missing (looked for {listed}); it is needed to size the model"
                ),
            }
        })
    }

    pub fn float(&self, name: &str) -> Result<Option<f64>, InvalidConfig> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() && f > 0.0 && f < 1e9 => Ok(Some(f)),
                _ => Err(self.invalid(name, format!("must be a positive number, found {n}"))),
            },
            Some(other) => Err(self.invalid(name, format!("must be a number, found {other}"))),
        }
    }

    pub fn flag(&self, name: &str) -> Result<Option<bool>, InvalidConfig> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.invalid(name, format!("must be true or false, found {other}"))),
        }
    }

    pub fn text(&self, name: &str) -> Result<Option<&'a str>, InvalidConfig> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.invalid(name, format!("must be a string, found {other}"))),
        }
    }

    pub fn object(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, InvalidConfig> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(self.invalid(name, format!("must be an object, found {other}"))),
        }
    }

    /// A list of strings, such as `layer_types` or `architectures`.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<&'a str>>, InvalidConfig> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().ok_or_else(|| {
                        self.invalid(name, format!("must be a list of strings, found {item}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.invalid(name, format!("must be a list, found {other}"))),
        }
    }

    /// A list of non-negative integers, such as `mlp_only_layers`.
    pub fn indices(&self, name: &str) -> Result<Vec<u64>, InvalidConfig> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_u64()
                        .filter(|n| *n <= MAX_DIMENSION)
                        .ok_or_else(|| {
                            self.invalid(
                                name,
                                format!("must be a list of layer indices, found {item}"),
                            )
                        })
                })
                .collect(),
            Some(other) => Err(self.invalid(name, format!("must be a list, found {other}"))),
        }
    }

    pub fn nested(&self, object: &'a Map<String, Value>, prefix: &'a str) -> Fields<'a> {
        Fields { object, prefix }
    }
}
