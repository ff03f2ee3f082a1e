//! The one shape every sender's event is translated into.

use std::fmt;

use domain::Timestamp;
use serde::{Deserialize, Serialize};

/// What an event asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Something is wrong: open an alert, or add to the open one with this dedup key.
    Trigger,
    /// Someone is on it: acknowledge the open alert with this dedup key.
    Acknowledge,
    /// It is fixed: resolve the open alert with this dedup key.
    Resolve,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Trigger => "trigger",
            Action::Acknowledge => "acknowledge",
            Action::Resolve => "resolve",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use domain::Severity;

/// A link shown with an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// An image shown with an alert (a graph, say).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// What a trigger says about the problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertBody {
    pub summary: String,
    pub source: String,
    pub severity: Severity,
    /// When the sender saw it happen, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Anything else the sender attached, kept as it came.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    /// The sending tool (`Alertmanager`) and where to see the alert in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
}

/// An event from any sender, addressed to an integration by its key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The integration key the sender used (`routing_key`, `service_key`, or the key in
    /// the URL).
    pub routing_key: String,
    pub action: Action,
    /// Which alert the event is about. `None` only for a trigger that named none: the
    /// caller gives it a fresh key, so it opens a new alert.
    pub dedup_key: Option<String>,
    /// Present on triggers.
    pub body: Option<AlertBody>,
    /// The sender's group (Alertmanager's `groupKey`): alerts of one group share an
    /// incident while it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl AlertBody {
    /// Makes the body what may be kept: every free-text field cleaned by
    /// [`domain::text`] to its stated limit, the custom details (labels included) at
    /// every depth.
    pub fn clean(&mut self) {
        use domain::text::{MAX_DETAIL, MAX_FIELD, MAX_SUMMARY, clean_in_place, clean_json};
        clean_in_place(&mut self.summary, MAX_SUMMARY);
        clean_in_place(&mut self.source, MAX_FIELD);
        let optional = [
            &mut self.component,
            &mut self.group,
            &mut self.class,
            &mut self.client,
            &mut self.client_url,
        ];
        for s in optional.into_iter().flatten() {
            clean_in_place(s, MAX_FIELD);
        }
        for l in &mut self.links {
            clean_in_place(&mut l.href, MAX_FIELD);
            if let Some(t) = &mut l.text {
                clean_in_place(t, MAX_FIELD);
            }
        }
        for i in &mut self.images {
            clean_in_place(&mut i.src, MAX_FIELD);
            for s in [&mut i.href, &mut i.alt].into_iter().flatten() {
                clean_in_place(s, MAX_FIELD);
            }
        }
        clean_json(&mut self.details, MAX_DETAIL);
    }
}

impl Event {
    /// Refuses keys that cannot be kept (a dedup key or group with NUL, naming the
    /// field) and cleans the body's free text: the one check every sender's event passes
    /// before it is queued.
    pub fn guard(&mut self) -> Result<(), domain::text::TextError> {
        if let Some(k) = &self.dedup_key {
            domain::text::check_key("dedup_key", k)?;
        }
        if let Some(g) = &self.group {
            domain::text::check_key("group", g)?;
        }
        if let Some(b) = &mut self.body {
            b.clean();
        }
        Ok(())
    }
}
