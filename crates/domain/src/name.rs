//! Object names: the stable, human-chosen key of every configured object.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The name of a configured object (`metadata.name`): 1 to 63 characters of lowercase
/// ASCII letters, digits and `-`, starting with a letter or digit and not ending with
/// `-`. The same rule as a DNS label, so names are safe in URLs, file names and labels.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

/// Why a string is not a valid [`Name`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 63 characters, not {0}")]
    TooLong(usize),
    #[error("may hold only lowercase letters, digits and '-' (found {0:?})")]
    BadChar(char),
    #[error("must start and end with a letter or digit")]
    BadEdge,
}

impl Name {
    pub fn new(s: impl Into<String>) -> Result<Self, NameError> {
        let s = s.into();
        check_name(&s)?;
        Ok(Name(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a string against the [`Name`] rule without taking ownership.
pub fn check_name(s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if s.len() > 63 {
        return Err(NameError::TooLong(s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(NameError::BadChar(c));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(NameError::BadEdge);
    }
    Ok(())
}

impl TryFrom<String> for Name {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Name::new(s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels_and_rejects_the_rest() {
        assert!(Name::new("payments-api").is_ok());
        assert!(Name::new("a").is_ok());
        assert_eq!(Name::new(""), Err(NameError::Empty));
        assert_eq!(Name::new("Payments"), Err(NameError::BadChar('P')));
        assert_eq!(Name::new("a_b"), Err(NameError::BadChar('_')));
        assert_eq!(Name::new("-a"), Err(NameError::BadEdge));
        assert_eq!(Name::new("a".repeat(64)), Err(NameError::TooLong(64)));
    }
}
