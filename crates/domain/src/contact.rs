//! How people are reached: contact methods (email, SMS, voice, Slack, push, webhook) and
//! notification rules per urgency ("high: push and SMS at once, call after 5 minutes;
//! low: email"), followed while an incident is unacknowledged.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{FieldError, check_email};
use crate::{Name, Urgency};

/// A way to reach a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactMethod {
    /// Unique for the person (`work-email`, `phone`); notification rules name it.
    pub name: Name,
    /// How: `email`, `sms`, `voice`, `slack` (a Slack user id), `push` (an ntfy topic) or
    /// `webhook` (an http or https URL).
    #[serde(rename = "type")]
    pub kind: ContactType,
    /// Where: an email address, a phone number in E.164 form (`+4915112345678`), a Slack
    /// user id (`U024BE7LH`), an ntfy topic, or a URL.
    pub address: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContactType {
    Email,
    Sms,
    Voice,
    Slack,
    Push,
    Webhook,
}

impl ContactType {
    pub const ALL: [ContactType; 6] = [
        ContactType::Email,
        ContactType::Sms,
        ContactType::Voice,
        ContactType::Slack,
        ContactType::Push,
        ContactType::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactType::Email => "email",
            ContactType::Sms => "sms",
            ContactType::Voice => "voice",
            ContactType::Slack => "slack",
            ContactType::Push => "push",
            ContactType::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<ContactType> {
        ContactType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Checks an address of this type.
    pub fn check(self, address: &str) -> Result<(), String> {
        let ok = match self {
            ContactType::Email => return check_email(address),
            ContactType::Sms | ContactType::Voice => {
                let digits = address.strip_prefix('+').unwrap_or("");
                (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
            }
            ContactType::Slack => {
                (address.starts_with('U') || address.starts_with('W'))
                    && (3..=32).contains(&address.len())
                    && address
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            }
            ContactType::Push => {
                (1..=64).contains(&address.len())
                    && address
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            }
            ContactType::Webhook => {
                (address.starts_with("https://") || address.starts_with("http://"))
                    && !address.chars().any(|c| c.is_whitespace() || c.is_control())
            }
        };
        if ok {
            Ok(())
        } else {
            Err(match self {
                ContactType::Email => unreachable!("checked above"),
                ContactType::Sms | ContactType::Voice => format!(
                    "{address:?} is not a phone number in E.164 form (`+` and 8 to 15 digits, like +4915112345678)"
                ),
                ContactType::Slack => {
                    format!("{address:?} is not a Slack user id (like U024BE7LH)")
                }
                ContactType::Push => format!(
                    "{address:?} is not an ntfy topic (1 to 64 letters, digits, '-' and '_')"
                ),
                ContactType::Webhook => format!(
                    "{address:?} must be an http or https URL, without spaces or control characters"
                ),
            })
        }
    }
}

/// One step of a person's notification rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationRule {
    /// The contact method to use, by name (`email` is the person's email address unless a
    /// contact method of that name says otherwise).
    pub contact: Name,
    /// Minutes after being paged, if the incident is still unacknowledged (0: at once).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1440)]
    pub after_minutes: u32,
}

/// What to do for each urgency. Without rules, a person is emailed at once for both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationRules {
    /// For high-urgency incidents.
    #[serde(default)]
    pub high: Vec<NotificationRule>,
    /// For low-urgency incidents.
    #[serde(default)]
    pub low: Vec<NotificationRule>,
}

/// The implicit contact method of every person: their `email`.
pub fn email_method(email: &str) -> ContactMethod {
    ContactMethod {
        name: Name::new("email").expect("a valid name"),
        kind: ContactType::Email,
        address: email.to_owned(),
    }
}

/// The contact methods a person's rules may name: theirs, and `email` unless they named one
/// so.
pub fn methods(email: &str, declared: &[ContactMethod]) -> Vec<ContactMethod> {
    let mut all = declared.to_vec();
    if !all.iter().any(|m| m.name.as_str() == "email") {
        all.push(email_method(email));
    }
    all
}

/// Which contact methods to use, and how long after being paged, for an urgency.
pub fn plan(
    email: &str,
    declared: &[ContactMethod],
    rules: Option<&NotificationRules>,
    urgency: Urgency,
) -> Vec<(ContactMethod, Duration)> {
    let all = methods(email, declared);
    let rules = match (rules, urgency) {
        (None, _) => {
            return vec![(email_method(email), Duration::ZERO)];
        }
        (Some(r), Urgency::High) => &r.high,
        (Some(r), Urgency::Low) => &r.low,
    };
    rules
        .iter()
        .filter_map(|r| {
            let m = all.iter().find(|m| m.name == r.contact)?;
            Some((
                m.clone(),
                Duration::from_secs(u64::from(r.after_minutes) * 60),
            ))
        })
        .collect()
}

/// Checks contact methods and rules; paths are relative to the user's spec.
pub fn validate(declared: &[ContactMethod], rules: Option<&NotificationRules>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, m) in declared.iter().enumerate() {
        if declared[..i].iter().any(|o| o.name == m.name) {
            errors.push(FieldError::new(
                format!("contact_methods[{i}].name"),
                format!("{} is listed twice", m.name),
            ));
        }
        if let Err(why) = m.kind.check(&m.address) {
            errors.push(FieldError::new(
                format!("contact_methods[{i}].address"),
                why,
            ));
        }
    }
    if let Some(rules) = rules {
        for (urgency, list) in [("high", &rules.high), ("low", &rules.low)] {
            for (i, r) in list.iter().enumerate() {
                let known =
                    r.contact.as_str() == "email" || declared.iter().any(|m| m.name == r.contact);
                if !known {
                    errors.push(FieldError::new(
                        format!("notification_rules.{urgency}[{i}].contact"),
                        format!("no contact method is named {}", r.contact),
                    ));
                }
                if r.after_minutes > 1440 {
                    errors.push(FieldError::new(
                        format!("notification_rules.{urgency}[{i}].after_minutes"),
                        "must be 0 to 1440",
                    ));
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, kind: ContactType, address: &str) -> ContactMethod {
        ContactMethod {
            name: Name::new(name).unwrap(),
            kind,
            address: address.into(),
        }
    }

    fn rule(contact: &str, after: u32) -> NotificationRule {
        NotificationRule {
            contact: Name::new(contact).unwrap(),
            after_minutes: after,
        }
    }

    #[test]
    fn rules_pick_methods_per_urgency_and_email_is_the_default() {
        let declared = vec![
            m("phone", ContactType::Sms, "+4915112345678"),
            m("call", ContactType::Voice, "+4915112345678"),
        ];
        let rules = NotificationRules {
            high: vec![rule("phone", 0), rule("call", 5)],
            low: vec![rule("email", 0)],
        };
        let high = plan("ann@acme.test", &declared, Some(&rules), Urgency::High);
        let names: Vec<(&str, u64)> = high
            .iter()
            .map(|(m, d)| (m.name.as_str(), d.as_secs()))
            .collect();
        assert_eq!(names, [("phone", 0), ("call", 300)]);
        let low = plan("ann@acme.test", &declared, Some(&rules), Urgency::Low);
        assert_eq!(low[0].0.address, "ann@acme.test");
        let default = plan("ann@acme.test", &[], None, Urgency::High);
        assert_eq!(default, [(email_method("ann@acme.test"), Duration::ZERO)]);
    }

    #[test]
    fn addresses_and_rules_are_checked() {
        let declared = vec![
            m("phone", ContactType::Sms, "015112345678"),
            m("slack", ContactType::Slack, "U024BE7LH"),
            m("slack", ContactType::Push, "ann alerts"),
            m("hook", ContactType::Webhook, "ftp://x"),
            m("nul", ContactType::Webhook, "https://hooks.test/\0"),
        ];
        let rules = NotificationRules {
            high: vec![rule("pager", 0), rule("email", 2000)],
            low: vec![],
        };
        let paths: Vec<String> = validate(&declared, Some(&rules))
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            [
                "contact_methods[0].address",
                "contact_methods[2].name",
                "contact_methods[2].address",
                "contact_methods[3].address",
                "contact_methods[4].address",
                "notification_rules.high[0].contact",
                "notification_rules.high[1].after_minutes"
            ]
        );
    }
}
