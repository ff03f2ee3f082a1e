//! Label sets and label selectors.
//!
//! Labels are how one SRE team serving several companies slices everything it runs:
//! `company` and `product` at least, and whatever else teams add (`tier`, `region`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A set of `key: value` labels, ordered by key so that it prints and compares stably.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Labels(pub BTreeMap<String, String>);

/// Why a label is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("label key {0:?} must be 1 to 63 characters of letters, digits, '.', '_', '/' or '-'")]
    BadKey(String),
    #[error("label value for {0:?} must be at most 253 characters without control characters")]
    BadValue(String),
}

impl Labels {
    pub fn new() -> Self {
        Labels::default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Checks every key and value; returns one error per bad label.
    pub fn validate(&self) -> Vec<(String, LabelError)> {
        let mut errors = Vec::new();
        for (k, v) in &self.0 {
            if !valid_key(k) {
                errors.push((k.clone(), LabelError::BadKey(k.clone())));
            } else if v.len() > 253 || v.chars().any(char::is_control) {
                errors.push((k.clone(), LabelError::BadValue(k.clone())));
            }
        }
        errors
    }
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 63
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
}

impl<const N: usize> From<[(&str, &str); N]> for Labels {
    fn from(pairs: [(&str, &str); N]) -> Self {
        Labels(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }
}

/// One requirement of a selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
}

/// A label selector as in Kubernetes' equality-based form:
/// `company=acme,product!=shop,tier` (a bare key means "has this label").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector(pub Vec<Requirement>);

/// Why a selector string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad label selector term {term:?}: {reason}")]
pub struct SelectorError {
    pub term: String,
    pub reason: &'static str,
}

impl Selector {
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let bad = |reason| SelectorError {
                term: term.to_owned(),
                reason,
            };
            let req = if let Some((k, v)) = term.split_once("!=") {
                Requirement::NotEquals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = term.split_once('=') {
                let v = v.strip_prefix('=').unwrap_or(v);
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else {
                Requirement::Exists(term.to_owned())
            };
            let key = match &req {
                Requirement::Equals(k, _)
                | Requirement::NotEquals(k, _)
                | Requirement::Exists(k) => k,
            };
            if !valid_key(key) {
                return Err(bad("the key must be a valid label key"));
            }
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v.as_str()),
            Requirement::Exists(k) => labels.get(k).is_some(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match r {
                Requirement::Equals(k, v) => write!(f, "{k}={v}")?,
                Requirement::NotEquals(k, v) => write!(f, "{k}!={v}")?,
                Requirement::Exists(k) => f.write_str(k)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_matches_equality_inequality_and_existence() {
        let labels = Labels::from([("company", "acme"), ("product", "shop")]);
        let sel = |s| Selector::parse(s).unwrap();
        assert!(sel("company=acme").matches(&labels));
        assert!(sel("company==acme,product").matches(&labels));
        assert!(!sel("company=globex").matches(&labels));
        assert!(sel("company!=globex").matches(&labels));
        assert!(!sel("tier").matches(&labels));
        assert!(sel("").matches(&labels));
        assert_eq!(sel("company=acme,tier").to_string(), "company=acme,tier");
        assert!(Selector::parse("bad key=1").is_err());
    }

    #[test]
    fn label_validation_names_each_bad_label() {
        let labels = Labels::from([("ok", "1"), ("bad key", "x"), ("ctl", "a\nb")]);
        let errors = labels.validate();
        assert_eq!(errors.len(), 2);
    }
}
