//! Alerts, incidents and their timeline, as the store keeps them.

use domain::{Name, Timestamp};
use paging::{Action, AlertBody, Status, Urgency};
use serde_json::Value;

/// An event for the store to act on, already addressed to its service's integration.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestEvent {
    pub service: Name,
    pub integration: Name,
    pub routing_key: String,
    pub action: Action,
    /// Always set: a trigger that came without one was given a fresh key.
    pub dedup_key: String,
    /// Present on triggers.
    pub body: Option<AlertBody>,
    /// The sender's group: a new alert joins the group's open incident.
    pub group: Option<String>,
    /// When set, only a group incident opened within this long joins new alerts; an older
    /// one stops taking them and the alert opens a new incident.
    pub group_window: Option<std::time::Duration>,
    /// When a new alert joins an acknowledged incident, put it back to triggered.
    pub retrigger_acknowledged: bool,
    /// Who the timeline names: a person who opened the incident by hand; the
    /// integration (`integration:SERVICE/NAME`) when `None`.
    pub actor: Option<String>,
    /// The urgency the service's rules give it; the severity's default when `None`.
    pub urgency: Option<Urgency>,
    pub received_at: Timestamp,
}

/// What an ingested event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    /// A new alert, and the incident it opened.
    Opened {
        incident: i64,
    },
    /// A new alert that joined its group's open incident.
    Joined {
        incident: i64,
    },
    /// Counted on the open alert of this incident; nobody is paged again.
    Repeated {
        incident: i64,
    },
    Acknowledged {
        incident: i64,
    },
    Resolved {
        incident: i64,
    },
    /// Accepted, and changed nothing.
    Ignored {
        reason: &'static str,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct IncidentRecord {
    /// Also the number people see: #id.
    pub id: i64,
    pub service: Name,
    pub status: Status,
    pub urgency: Urgency,
    pub summary: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    /// The dedup keys of its alerts, oldest first.
    pub dedup_keys: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    pub incident_id: i64,
    pub service: Name,
    pub integration: Name,
    pub dedup_key: String,
    pub status: Status,
    pub body: AlertBody,
    pub occurrences: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

/// One line of an incident's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    pub id: i64,
    pub at: Timestamp,
    /// `alert.triggered`, `alert.repeated`, `alert.acknowledged`, `alert.resolved`,
    /// `incident.acknowledged`, `incident.resolved`, `note`.
    pub kind: String,
    pub actor: String,
    pub data: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IncidentDetail {
    pub incident: IncidentRecord,
    pub alerts: Vec<AlertRecord>,
    pub log: Vec<LogEntry>,
}

/// Which incidents to list: newest first, before `before_id`.
#[derive(Clone, Debug, Default)]
pub struct IncidentQuery {
    /// Only these statuses (all when empty).
    pub statuses: Vec<Status>,
    /// Only these services (all when `None`).
    pub services: Option<Vec<Name>>,
    /// Created at or after / before.
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// A change to a service, to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChange {
    pub service: Name,
    pub integration: Name,
    /// When it happened: the sender's time, or when it arrived.
    pub at: Timestamp,
    pub summary: String,
    /// Everything the sender said.
    pub body: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChangeRecord {
    pub id: i64,
    pub service: Name,
    pub integration: Name,
    pub at: Timestamp,
    pub summary: String,
    pub body: Value,
}

/// Which alerts to list: newest first, before `before_id`.
#[derive(Clone, Debug, Default)]
pub struct AlertQuery {
    /// Only these statuses (all when empty).
    pub statuses: Vec<Status>,
    /// Only these services (all when `None`).
    pub services: Option<Vec<Name>>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// What a person does to an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentAction {
    Acknowledge,
    /// Resolves the incident and every alert of it: a later trigger opens a new one.
    Resolve,
    Note(String),
}
