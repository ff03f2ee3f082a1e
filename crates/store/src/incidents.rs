//! Alerts, incidents and their timeline, as the store keeps them.

use domain::{Name, Timestamp};
use paging::{Action, AlertBody, Status, Urgency};
use serde_json::Value;

use crate::{Result, WriteContext};

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
    /// What the service's settings add: holds, flapping, acknowledgement timeouts, timers.
    pub handling: Handling,
}

/// How an event is handled beyond what it says, from its service's settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Handling {
    /// Keep a new alert without opening an incident (a maintenance window is on).
    pub hold: Option<Hold>,
    /// Hold a new alert whose dedup key changed state too often lately.
    pub flapping: Option<FlapRule>,
    /// An acknowledgement this event makes times out after this long.
    pub ack_timeout: Option<std::time::Duration>,
    /// A timer to set in the same transaction (a heartbeat's next deadline).
    pub arm: Option<NewTimer>,
}

/// Why a new alert is kept without an incident, and until when.
#[derive(Clone, Debug, PartialEq)]
pub struct Hold {
    /// Shown on the alert (`maintenance: db-upgrade`).
    pub reason: String,
    /// When the hold ends: an alert still firing then opens its incident.
    pub until: Option<Timestamp>,
}

/// More than `changes` state changes (triggers and resolves) of one dedup key within
/// `window` is flapping: new alerts of it are held until it settles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlapRule {
    pub changes: u32,
    pub window: std::time::Duration,
}

/// A timer to set. One per `(kind, subject)`: setting it again moves it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTimer {
    /// What is due (`heartbeat`, `incident.wake`, `alert.release`).
    pub kind: String,
    /// What it is about (`incident:12`, `heartbeat:checkout/cron`).
    pub subject: String,
    pub due_at: Timestamp,
    pub data: Value,
}

/// The kinds of timer the store sets itself.
pub const WAKE: &str = "incident.wake";
pub const RELEASE: &str = "alert.release";
/// A heartbeat's deadline, set by each ping.
pub const HEARTBEAT: &str = "heartbeat";
/// An incident's next escalation step.
pub const ESCALATE: &str = "incident.escalate";

/// A timer as stored, or as a claim returned it.
#[derive(Clone, Debug, PartialEq)]
pub struct TimerRecord {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub due_at: Timestamp,
    pub data: Value,
    /// Bumped by every claim and every move: finishing with an older value does nothing.
    pub fence: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    /// How many times it was claimed.
    pub attempts: i64,
}

/// What finishing a due timer does, in the transaction that removes it.
#[derive(Clone, Debug, PartialEq)]
pub enum TimerEffect {
    /// Ingest an event (a missed heartbeat opens its alert).
    Ingest(Box<IngestEvent>),
    /// An acknowledged incident goes back to triggered (an acknowledgement timed out, a
    /// snooze ended).
    Wake { incident: i64, reason: String },
    /// A held alert still firing opens its incident, with this urgency (its severity's
    /// default when `None`).
    Release {
        alert: i64,
        reason: String,
        urgency: Option<Urgency>,
    },
    /// An escalation step: the people a level pages, recorded once, and the step after.
    Escalate(Box<EscalationStep>),
    /// Nothing is left to do (the integration was removed).
    Drop,
}

/// One escalation step, as the timer worker worked it out.
#[derive(Clone, Debug, PartialEq)]
pub struct EscalationStep {
    pub incident: i64,
    /// The step this is (`round`, `level`); the store acts only if the incident still
    /// stands there and is triggered.
    pub round: u32,
    pub level: usize,
    /// Who is paged now (assigned to the incident).
    pub people: Vec<Name>,
    /// Targets that gave nobody, and why.
    pub skipped: Vec<String>,
    /// `true` when this pages the fallback after the policy ran out.
    pub fallback: bool,
    /// `true` when this pages the people an incident was reassigned to, at the level
    /// where its escalation stands (also for an incident without a policy).
    pub reassigned: bool,
    /// The next step and when it is due; `None` once the fallback is paged.
    pub next: Option<(u32, usize, Timestamp)>,
    /// What to send to the people paged, by their notification rules.
    pub notifications: Vec<crate::NewNotification>,
}

/// Where an incident's escalation stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Escalation {
    pub policy: Name,
    /// The policy's spec as it was when the incident opened.
    pub spec: Value,
    pub round: u32,
    pub level: usize,
    /// `true` once the policy ran out and the fallback was paged.
    pub exhausted: bool,
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
    /// A new alert kept without an incident (a maintenance window, flapping).
    Held {
        alert: i64,
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
    /// The people it is assigned to.
    pub assignees: Vec<String>,
    /// Until when an acknowledged incident is snoozed.
    pub snoozed_until: Option<Timestamp>,
    /// The escalation it follows, when its service has a policy.
    pub escalation: Option<Escalation>,
    /// The dedup keys of its alerts, oldest first.
    pub dedup_keys: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    /// `None` while the alert is held.
    pub incident_id: Option<i64>,
    pub service: Name,
    pub integration: Name,
    pub dedup_key: String,
    pub status: Status,
    pub body: AlertBody,
    pub occurrences: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// Why it opened no incident (`maintenance: db-upgrade`); `None` once it has one.
    pub held: Option<String>,
}

/// One line of an incident's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    pub id: i64,
    pub at: Timestamp,
    /// `alert.triggered`, `incident.acknowledged`, `escalation.level`,
    /// `notification.sent`, `note`, …: every kind the store writes is said in words by
    /// `paging::timeline`, which lists them in its tests.
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

/// Which incidents to list, in `sort` order (newest first by default), before
/// `before_id`, skipping `offset`.
#[derive(Clone, Debug, Default)]
pub struct IncidentQuery {
    /// Only these statuses (all when empty).
    pub statuses: Vec<Status>,
    /// Only these urgencies (all when empty).
    pub urgencies: Vec<Urgency>,
    /// Only these services (all when `None`).
    pub services: Option<Vec<Name>>,
    /// Only incidents every term of this text matches; see [`SearchTerm`].
    pub search: Option<String>,
    /// Created at or after / before.
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub before_id: Option<i64>,
    pub sort: IncidentSort,
    /// How many of the matching incidents, in order, to skip.
    pub offset: u32,
    pub limit: u32,
}

/// The orders incidents are listed in: a closed set, so a list is never sorted by a
/// column the caller names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncidentSort {
    /// Most recently opened first.
    #[default]
    Newest,
    /// Longest open first.
    Oldest,
    /// High urgency first, then newest first.
    Urgency,
    /// Triggered, then acknowledged, then resolved; newest first within each.
    Status,
    /// Most recently changed first.
    Updated,
}

impl IncidentSort {
    pub const ALL: [IncidentSort; 5] = [
        IncidentSort::Newest,
        IncidentSort::Oldest,
        IncidentSort::Urgency,
        IncidentSort::Status,
        IncidentSort::Updated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentSort::Newest => "newest",
            IncidentSort::Oldest => "oldest",
            IncidentSort::Urgency => "urgency",
            IncidentSort::Status => "status",
            IncidentSort::Updated => "updated",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentSort> {
        IncidentSort::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One term of an incident search. Search text is split at whitespace and an incident
/// matches when every term does; letters match in either case (ASCII letters only, the
/// same on every backend), and `%`, `_` and `\` are plain characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchTerm {
    /// `key=value`: one of the incident's alerts has a label or custom detail `key`
    /// whose value is exactly `value`.
    Label { key: String, value: String },
    /// Any other text: found in the summary, the service's name, a dedup key, or
    /// anywhere in what an alert says (labels, details, source).
    Text(String),
}

impl SearchTerm {
    /// The terms of search text (none when it is blank).
    pub fn parse(text: &str) -> Vec<SearchTerm> {
        text.split_whitespace()
            .map(|t| match t.split_once('=') {
                Some((k, v)) if !k.is_empty() => SearchTerm::Label {
                    key: k.to_owned(),
                    value: v.to_owned(),
                },
                _ => SearchTerm::Text(t.to_owned()),
            })
            .collect()
    }
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
    /// Only alerts with this dedup key.
    pub dedup_key: Option<String>,
    /// Only held alerts (a maintenance window, flapping).
    pub held_only: bool,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// What a person does to an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentAction {
    /// Stops paging; with a timeout, the incident goes back to triggered after it.
    Acknowledge {
        timeout: Option<std::time::Duration>,
    },
    /// Resolves the incident and every alert of it: a later trigger opens a new one.
    Resolve,
    Note(String),
    /// An acknowledged incident goes back to triggered at `until`.
    Snooze {
        until: Timestamp,
    },
    /// Page again now: an acknowledged incident goes back to triggered.
    Escalate,
    /// Assign to these people instead and page them now (an acknowledged incident goes
    /// back to triggered); if none of them acknowledges within the current level's
    /// delay, the escalation goes on to the next level.
    Reassign {
        to: Vec<Name>,
    },
}

crate::store_trait! {
    /// Alerts and incidents: the group-commit ingest, reads for the console and the API, a
    /// person's actions, merges, and the changes recorded against a service.
    pub trait IncidentStore as __incident_store_methods {
        /// Acts on every event in one transaction (group commit): opens, counts,
        /// acknowledges or resolves alerts and their incidents, writing each to the timeline.
        /// Events naming the same alert are applied in order.
        async fn ingest(&self, events: Vec<IngestEvent>) -> Result<Vec<IngestOutcome>>;

        /// The dedup keys of a group's open alerts on a service.
        async fn open_alerts_of_group(&self, service: &Name, group: &str) -> Result<Vec<String>>;

        async fn list_incidents(&self, query: &IncidentQuery) -> Result<Vec<IncidentRecord>>;

        /// How many incidents match `query`, ignoring its `before_id`, `offset` and `limit`.
        async fn count_incidents(&self, query: &IncidentQuery) -> Result<u64>;

        /// Records a change to a service (durably, before it returns).
        async fn record_change(&self, change: NewChange) -> Result<ChangeRecord>;

        /// A service's changes at or after `from` and before `to`, oldest first.
        async fn changes_between(
            &self,
            service: &Name,
            from: Timestamp,
            to: Timestamp,
        ) -> Result<Vec<ChangeRecord>>;

        async fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>>;

        async fn get_incident(&self, id: i64) -> Result<Option<IncidentDetail>>;

        /// A person acknowledges, resolves or notes an incident.
        async fn act_on_incident(
            &self,
            id: i64,
            action: IncidentAction,
            ctx: &WriteContext,
        ) -> Result<IncidentRecord>;

        /// Merges incidents into `target`: their alerts move to it, each is resolved with a
        /// timeline line naming the target, and the target's timeline names each one. Only
        /// open incidents merge.
        async fn merge_incidents(
            &self,
            target: i64,
            sources: Vec<i64>,
            ctx: &WriteContext,
        ) -> Result<IncidentRecord>;
    }
}
