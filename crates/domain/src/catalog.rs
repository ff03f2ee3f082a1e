//! The catalog: teams, users and services, as declared in configuration or through the
//! API. Each kind's `spec` is plain data; [`Kind`] names them and the per-object rules
//! live next to each spec in its `validate` method.
//!
//! Longer than 600 lines because the catalog specs and their validation belong together,
//! and the file ends with their tests.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::access::{Grant, Role};
use crate::name::Name;

/// The kinds of configured objects this build knows. Later capabilities add theirs.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Kind {
    Team,
    User,
    Service,
    /// Who is on call when: layers of rotations, restrictions and overrides.
    Schedule,
    /// Who is paged for an incident, in which order, and when.
    EscalationPolicy,
    /// A team's router: one integration whose rules pick the service.
    Router,
    /// A time when some services' alerts page no one.
    MaintenanceWindow,
}

impl Kind {
    /// Every kind, in the order `apply` creates them: what others refer to comes first.
    pub const ALL: [Kind; 7] = [
        Kind::User,
        Kind::Team,
        Kind::Schedule,
        Kind::EscalationPolicy,
        Kind::Service,
        Kind::Router,
        Kind::MaintenanceWindow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Team => "Team",
            Kind::User => "User",
            Kind::Service => "Service",
            Kind::Schedule => "Schedule",
            Kind::EscalationPolicy => "EscalationPolicy",
            Kind::Router => "Router",
            Kind::MaintenanceWindow => "MaintenanceWindow",
        }
    }

    /// The collection name used in API paths (`/api/v1/teams`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Team => "teams",
            Kind::User => "users",
            Kind::Service => "services",
            Kind::Schedule => "schedules",
            Kind::EscalationPolicy => "escalation-policies",
            Kind::Router => "routers",
            Kind::MaintenanceWindow => "maintenance-windows",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown kind {s:?}; known kinds: {}", known.join(", "))
            })
    }
}

/// A rule broken by one field of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path below `spec` (`members[2]`, `time_zone`).
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A team: people who own services and share on-call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamSpec {
    /// A human-friendly name; the object name is used when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What the team does and how to reach it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Names of the users in the team.
    #[serde(default)]
    pub members: Vec<Name>,
}

impl TeamSpec {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            if self.members[..i].contains(m) {
                errors.push(FieldError::new(
                    format!("members[{i}]"),
                    format!("user {m} is listed twice"),
                ));
            }
        }
        errors
    }
}

/// A person who can sign in, be on call and be paged. Passwords and tokens are not part
/// of the spec: they never live in configuration files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The person's full name, as shown to others.
    pub full_name: String,
    /// Where email notifications go; also the login name in the console.
    pub email: String,
    /// IANA time zone (`Europe/Berlin`) used to show times to this person.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Roles this person holds, each global or limited to a company or a team.
    #[serde(default)]
    pub roles: Vec<Grant>,
    /// Ways to reach the person besides `email` (which is always one, named `email`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_methods: Vec<crate::contact::ContactMethod>,
    /// Which contact methods to use for each urgency, and when, while an incident is
    /// unacknowledged. Without rules, the person is emailed at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_rules: Option<crate::contact::NotificationRules>,
}

fn default_time_zone() -> String {
    "UTC".to_owned()
}

impl UserSpec {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.full_name.trim().is_empty() {
            errors.push(FieldError::new("full_name", "must not be empty"));
        }
        if let Err(why) = check_email(&self.email) {
            errors.push(FieldError::new("email", why));
        }
        if jiff::tz::db().get(&self.time_zone).is_err() {
            errors.push(FieldError::new(
                "time_zone",
                format!(
                    "{:?} is not an IANA time zone (for example Europe/Berlin or America/New_York)",
                    self.time_zone
                ),
            ));
        }
        errors.extend(crate::contact::validate(
            &self.contact_methods,
            self.notification_rules.as_ref(),
        ));
        for (i, g) in self.roles.iter().enumerate() {
            if g.company.is_some() && g.team.is_some() {
                errors.push(FieldError::new(
                    format!("roles[{i}]"),
                    "a role is limited to a company or to a team, not both",
                ));
            }
            if g.company.as_deref() == Some("") {
                errors.push(FieldError::new(
                    format!("roles[{i}].company"),
                    "must not be empty",
                ));
            }
        }
        errors
    }

    /// The grants of a user; a user with none may still sign in and see themselves.
    pub fn grants(&self) -> Vec<Grant> {
        self.roles.clone()
    }

    /// The highest role this user holds anywhere, for lists.
    pub fn highest_role(&self) -> Option<Role> {
        self.roles.iter().map(|g| g.role).max()
    }
}

/// A deliberately loose check: one `@`, something on each side, a dot in the domain.
/// Deliverability is the mail server's to judge.
pub fn check_email(email: &str) -> Result<(), String> {
    let Some((local, domain)) = email.split_once('@') else {
        return Err(format!("{email:?} is not an email address (no '@')"));
    };
    if local.is_empty() || domain.is_empty() || !domain.contains('.') || domain.contains('@') {
        return Err(format!("{email:?} is not an email address"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{email:?} must not contain spaces"));
    }
    Ok(())
}

/// The form of an email address that no two users may share, and that sign-in looks up:
/// ASCII letters folded to lower case. Only ASCII is folded so that the store's SQL
/// (`lower()` on SQLite, and on PostgreSQL under the "C" collation) folds exactly the same.
pub fn email_key(email: &str) -> String {
    email.to_ascii_lowercase()
}

/// A link to a runbook or a dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// What the link is, as shown to a responder.
    pub title: String,
    /// An absolute `http` or `https` URL.
    pub url: String,
}

/// A service: something a team runs and answers for. Its `company` and `product` labels
/// place it in the organisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// What the service does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The team that owns the service and is paged for it.
    pub owner_team: Name,
    /// Criticality, 1 (most critical) to 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 4)]
    pub tier: Option<u8>,
    /// Runbooks and dashboards a responder needs.
    #[serde(default)]
    pub runbooks: Vec<Link>,
    /// Where alerts for this service come in: one entry per sender, each with its own
    /// key. shinrai generates a key when none is given and keeps it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<Integration>,
    /// When the owning team is at work, for urgency rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<crate::hours::BusinessHours>,
    /// Rules that set an alert's urgency, first match wins. Without a match, `critical`
    /// and `error` are high, `warning` and `info` low.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urgency_rules: Vec<UrgencyRule>,
    /// Put alerts with the same values of some labels on one incident. Without it, each
    /// alert opens its own incident (Alertmanager's webhook groups by its `groupKey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grouping: Option<Grouping>,
    /// When a new alert joins an acknowledged incident, put the incident back to
    /// triggered so that it pages again. On by default: a second problem deserves a second
    /// look.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub retrigger_on_new_alert: bool,
    /// Minutes after which an acknowledgement times out and the incident pages again.
    /// Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10080)]
    pub acknowledgement_timeout_minutes: Option<u32>,
    /// Hold alerts that flap: more than `changes` triggers and resolves of one alert
    /// within `minutes` open no new incident until it settles. Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flapping: Option<Flapping>,
    /// Who is paged for the service's incidents, in which order. Without one, incidents
    /// are recorded but page no one. Must name an `EscalationPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<Name>,
    /// Where the service's incidents are announced as they open, are acknowledged and
    /// resolve: a Slack channel, outbound webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<Announce>,
}

/// A service's channels: every incident's opening, acknowledgement and resolution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Announce {
    /// A Slack channel id (`C024BE91L`); the bot must be in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_channel: Option<String>,
    /// URLs that receive each event as signed JSON (`X-Shinrai-Signature`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<String>,
}

/// When an alert flaps: more than `changes` state changes within `minutes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Flapping {
    /// State changes (triggers and resolves) allowed within the window.
    #[schema(minimum = 2, maximum = 1000)]
    pub changes: u32,
    /// The window, in minutes. A held alert still firing after it opens its incident.
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: u32,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Alerts whose `by` labels have the same values join the incident their group opened, if
/// it is still open and opened within the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grouping {
    /// The labels that make a group (`alertname`, `cluster`).
    pub by: Vec<String>,
    /// Minutes after an incident opens during which new alerts of its group join it.
    #[serde(default = "default_window")]
    #[schema(minimum = 1, maximum = 10080)]
    pub window_minutes: u32,
}

fn default_window() -> u32 {
    60
}

impl Grouping {
    /// The group an alert belongs to, given a way to read its labels (a missing label
    /// counts as empty).
    pub fn key<'a>(&self, label: impl Fn(&str) -> Option<&'a str>) -> String {
        let parts: Vec<String> = self
            .by
            .iter()
            .map(|k| format!("{k}={}", label(k).unwrap_or("")))
            .collect();
        format!("labels:{}", parts.join(","))
    }
}

/// When an urgency rule applies, relative to business hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum During {
    BusinessHours,
    OutsideBusinessHours,
}

/// Sets the urgency of the alerts it matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UrgencyRule {
    /// Only alerts of these severities; all when absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<crate::Severity>,
    /// Only during, or only outside, the service's business hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<During>,
    /// The urgency matching alerts get: `high` or `low`.
    pub urgency: crate::Urgency,
}

/// The senders shinrai takes alerts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationType {
    /// The PagerDuty Events API, v2 (`/v2/enqueue`) and v1.
    Pagerduty,
    /// Prometheus Alertmanager's webhook.
    Alertmanager,
    /// Sentry's integration webhooks.
    Sentry,
    /// Datadog's webhooks.
    Datadog,
    /// shinrai's documented generic JSON.
    Generic,
    /// A dead-man's switch: silence pages.
    Heartbeat,
}

impl IntegrationType {
    /// The types this build takes events for; the others are accepted by later versions.
    pub const SERVED: [IntegrationType; 6] = [
        IntegrationType::Pagerduty,
        IntegrationType::Alertmanager,
        IntegrationType::Generic,
        IntegrationType::Datadog,
        IntegrationType::Sentry,
        IntegrationType::Heartbeat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationType::Pagerduty => "pagerduty",
            IntegrationType::Alertmanager => "alertmanager",
            IntegrationType::Sentry => "sentry",
            IntegrationType::Datadog => "datadog",
            IntegrationType::Generic => "generic",
            IntegrationType::Heartbeat => "heartbeat",
        }
    }
}

/// One way alerts reach a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Integration {
    /// Unique within the service (`prometheus`, `sentry-web`).
    pub name: Name,
    /// Which sender speaks to it.
    #[serde(rename = "type")]
    pub kind: IntegrationType,
    /// The key senders use (PagerDuty's `routing_key`). Leave it out and shinrai
    /// generates one; set it to keep a key senders already have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Heartbeats only: a ping is expected at least this often, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 44640)]
    pub interval_minutes: Option<u32>,
    /// Heartbeats only: extra minutes allowed after the interval before an incident opens
    /// (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1440)]
    pub grace_minutes: Option<u32>,
    /// Sentry only: the name of the setting that holds the integration's client secret
    /// (`sentry-web` reads `SHINRAI_SECRET_SENTRY_WEB`). Secrets never live in
    /// configuration files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Integration {
    /// A heartbeat's deadline after a ping: interval plus grace.
    pub fn heartbeat_deadline(&self) -> Option<std::time::Duration> {
        let interval = self.interval_minutes?;
        let grace = self.grace_minutes.unwrap_or(1);
        Some(std::time::Duration::from_secs(
            u64::from(interval + grace) * 60,
        ))
    }

    /// Checks what depends on the type: heartbeats need an interval, Sentry a secret's
    /// name, and neither field belongs elsewhere. Paths are relative to the integration.
    pub fn validate_fields(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let heartbeat = self.kind == IntegrationType::Heartbeat;
        if heartbeat && self.interval_minutes.is_none() {
            errors.push(FieldError::new(
                "interval_minutes",
                "a heartbeat needs the longest time between pings, in minutes",
            ));
        }
        for (field, set) in [
            ("interval_minutes", self.interval_minutes.is_some()),
            ("grace_minutes", self.grace_minutes.is_some()),
        ] {
            if set && !heartbeat {
                errors.push(FieldError::new(
                    field,
                    "only heartbeat integrations have it",
                ));
            }
        }
        match (&self.secret, self.kind == IntegrationType::Sentry) {
            (None, true) => errors.push(FieldError::new(
                "secret",
                "a Sentry integration needs the name of the setting that holds its client secret",
            )),
            (Some(_), false) => {
                errors.push(FieldError::new(
                    "secret",
                    "only Sentry integrations have it",
                ));
            }
            (Some(name), true) if !is_secret_name(name) => errors.push(FieldError::new(
                "secret",
                format!("{name:?} must be 1 to 63 lowercase letters, digits and '-'"),
            )),
            _ => {}
        }
        errors
    }
}

/// Names of secrets held in settings: `sentry-web`.
pub fn is_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The environment variable that holds a named secret: `sentry-web` is
/// `SHINRAI_SECRET_SENTRY_WEB`.
pub fn secret_variable(name: &str) -> String {
    format!(
        "SHINRAI_SECRET_{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// Checks an integration key given in configuration: 16 to 128 characters of letters,
/// digits, `-` and `_`, so that it is safe in URLs and hard to guess.
pub fn check_integration_key(key: &str) -> Result<(), String> {
    let n = key.chars().count();
    if !(16..=128).contains(&n) {
        return Err(format!("must be 16 to 128 characters, not {n}"));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "may hold only letters, digits, '-' and '_' (found {c:?})"
        ));
    }
    Ok(())
}

impl ServiceSpec {
    /// The urgency of an alert of `severity` arriving at `at`: the first matching rule's,
    /// or the default for the severity.
    pub fn urgency(&self, severity: crate::Severity, at: jiff::Timestamp) -> crate::Urgency {
        let in_hours = self.business_hours.as_ref().map(|h| h.contains(at));
        self.urgency_rules
            .iter()
            .find(|r| {
                (r.severity.is_empty() || r.severity.contains(&severity))
                    && match (r.during, in_hours) {
                        (None, _) => true,
                        (Some(During::BusinessHours), Some(inside)) => inside,
                        (Some(During::OutsideBusinessHours), Some(inside)) => !inside,
                        (Some(_), None) => false,
                    }
            })
            .map_or_else(|| crate::Urgency::from_severity(severity), |r| r.urgency)
    }

    /// How the service's settings handle its events, beyond what they say.
    pub fn flap_rule(&self) -> Option<(u32, std::time::Duration)> {
        self.flapping.map(|f| {
            (
                f.changes,
                std::time::Duration::from_secs(u64::from(f.minutes) * 60),
            )
        })
    }

    pub fn acknowledgement_timeout(&self) -> Option<std::time::Duration> {
        self.acknowledgement_timeout_minutes
            .map(|m| std::time::Duration::from_secs(u64::from(m) * 60))
    }

    pub fn validate(&self) -> Vec<FieldError> {
        // The tier's range (1 to 4) is part of its schema, checked with the document's
        // structure.
        let mut errors = Vec::new();
        if let Some(h) = &self.business_hours {
            for e in h.validate() {
                errors.push(FieldError::new(
                    format!("business_hours.{}", e.path),
                    e.message,
                ));
            }
        }
        if let Some(g) = &self.grouping {
            if g.by.is_empty() {
                errors.push(FieldError::new("grouping.by", "name at least one label"));
            }
            for (i, k) in g.by.iter().enumerate() {
                if k.is_empty() || k.len() > 63 {
                    errors.push(FieldError::new(
                        format!("grouping.by[{i}]"),
                        "must be a label key",
                    ));
                }
            }
        }
        for (i, r) in self.urgency_rules.iter().enumerate() {
            if r.during.is_some() && self.business_hours.is_none() {
                errors.push(FieldError::new(
                    format!("urgency_rules[{i}].during"),
                    "needs business_hours on the service",
                ));
            }
        }
        for (i, integration) in self.integrations.iter().enumerate() {
            if self.integrations[..i]
                .iter()
                .any(|o| o.name == integration.name)
            {
                errors.push(FieldError::new(
                    format!("integrations[{i}].name"),
                    format!("integration {} is listed twice", integration.name),
                ));
            }
            if !IntegrationType::SERVED.contains(&integration.kind) {
                errors.push(FieldError::new(
                    format!("integrations[{i}].type"),
                    format!(
                        "{} integrations are not supported by this version yet; supported: {}",
                        integration.kind.as_str(),
                        IntegrationType::SERVED
                            .map(IntegrationType::as_str)
                            .join(", ")
                    ),
                ));
            }
            if let Some(key) = &integration.key
                && let Err(why) = check_integration_key(key)
            {
                errors.push(FieldError::new(format!("integrations[{i}].key"), why));
            }
            for e in integration.validate_fields() {
                errors.push(FieldError::new(
                    format!("integrations[{i}].{}", e.path),
                    e.message,
                ));
            }
        }
        if let Some(a) = &self.announce {
            if let Some(c) = &a.slack_channel
                && (c.is_empty()
                    || c.len() > 80
                    || !c
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'))
            {
                errors.push(FieldError::new(
                    "announce.slack_channel",
                    format!("{c:?} is not a Slack channel id (like C024BE91L)"),
                ));
            }
            for (i, url) in a.webhooks.iter().enumerate() {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    errors.push(FieldError::new(
                        format!("announce.webhooks[{i}]"),
                        format!("{url:?} must be an http or https URL"),
                    ));
                }
            }
        }
        for (i, l) in self.runbooks.iter().enumerate() {
            if !(l.url.starts_with("https://") || l.url.starts_with("http://")) {
                errors.push(FieldError::new(
                    format!("runbooks[{i}].url"),
                    format!("{:?} must be an absolute http or https URL", l.url),
                ));
            }
            if l.title.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("runbooks[{i}].title"),
                    "must not be empty",
                ));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_validation_reports_every_bad_field() {
        let user = UserSpec {
            full_name: " ".into(),
            email: "nobody".into(),
            time_zone: "Mars/Olympus".into(),
            roles: vec![Grant {
                role: Role::Admin,
                company: Some("acme".into()),
                team: Some(Name::new("shop").unwrap()),
            }],
            contact_methods: Vec::new(),
            notification_rules: None,
        };
        let paths: Vec<_> = user.validate().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["full_name", "email", "time_zone", "roles[0]"]);
    }

    #[test]
    fn bundled_time_zones_are_known() {
        let user = UserSpec {
            full_name: "Ann".into(),
            email: "ann@example.com".into(),
            time_zone: "Asia/Tokyo".into(),
            roles: vec![],
            contact_methods: Vec::new(),
            notification_rules: None,
        };
        assert!(user.validate().is_empty());
    }

    #[test]
    fn urgency_rules_lower_what_can_wait_for_office_hours() {
        let spec: ServiceSpec = serde_json::from_value(serde_json::json!({
            "owner_team": "core",
            "business_hours": {"time_zone": "Europe/Berlin", "start": "09:00", "end": "18:00"},
            "urgency_rules": [
                {"severity": ["error"], "during": "outside_business_hours", "urgency": "low"},
                {"severity": ["warning"], "during": "business_hours", "urgency": "high"}
            ]
        }))
        .unwrap();
        assert!(spec.validate().is_empty(), "{:?}", spec.validate());
        let monday_noon: jiff::Timestamp = "2026-11-23T11:00:00Z".parse().unwrap();
        let monday_night: jiff::Timestamp = "2026-11-23T23:00:00Z".parse().unwrap();
        use crate::{Severity, Urgency};
        assert_eq!(spec.urgency(Severity::Error, monday_noon), Urgency::High);
        assert_eq!(spec.urgency(Severity::Error, monday_night), Urgency::Low);
        assert_eq!(spec.urgency(Severity::Warning, monday_noon), Urgency::High);
        assert_eq!(
            spec.urgency(Severity::Warning, monday_night),
            Urgency::Low,
            "no rule: the default"
        );
        assert_eq!(
            spec.urgency(Severity::Critical, monday_night),
            Urgency::High
        );

        let mut no_hours = spec.clone();
        no_hours.business_hours = None;
        let paths: Vec<_> = no_hours.validate().into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            ["urgency_rules[0].during", "urgency_rules[1].during"]
        );
    }

    #[test]
    fn kinds_parse_by_name() {
        assert_eq!("Service".parse::<Kind>(), Ok(Kind::Service));
        assert!(
            "Servce"
                .parse::<Kind>()
                .unwrap_err()
                .contains("known kinds")
        );
    }
}
