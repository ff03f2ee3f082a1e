//! From a sender's event to what the store ingests: the service it is for, and what that
//! service's settings add (urgency rules, grouping, flapping, acknowledgement timeouts,
//! maintenance windows, a heartbeat's next deadline). Integration endpoints and the timer
//! worker shape events here, so an alert means the same whichever way it arrives.

use std::time::Duration;

use domain::maintenance::MaintenanceWindowSpec;
use domain::{Labels, Name, ServiceSpec, Timestamp};
use paging::{AlertBody, Event};
use serde_json::{Value, json};
use store::{FlapRule, Handling, Hold, IngestEvent, NewTimer, ObjectRecord};

/// A service's integration that an event is addressed to.
#[derive(Clone, Debug)]
pub struct Target {
    pub service: Name,
    pub integration: Name,
    /// The service's labels, for maintenance windows that select by label.
    pub labels: Labels,
    /// `None` when the stored spec does not parse (then defaults apply).
    pub spec: Option<ServiceSpec>,
}

impl Target {
    pub fn new(service: &ObjectRecord, integration: Name) -> Target {
        Target {
            service: service.name.clone(),
            integration,
            labels: service.labels.clone(),
            spec: serde_json::from_value(service.spec.clone()).ok(),
        }
    }

    /// The integration's declaration on the service.
    pub fn declaration(&self) -> Option<&domain::Integration> {
        self.spec
            .as_ref()?
            .integrations
            .iter()
            .find(|i| i.name == self.integration)
    }

    /// Whether a new alert joining an acknowledged incident puts it back to triggered.
    pub fn retrigger(&self) -> bool {
        self.spec.as_ref().is_none_or(|s| s.retrigger_on_new_alert)
    }

    /// The group an alert joins, and for how long a group's incident takes new alerts.
    /// The service's label grouping wins over the sender's own group (Alertmanager's
    /// groupKey). Events without an alert keep the sender's group; it matters only when an
    /// alert opens.
    pub fn group(
        &self,
        body: Option<&AlertBody>,
        sender: Option<String>,
    ) -> (Option<String>, Option<Duration>) {
        match (self.spec.as_ref().and_then(|s| s.grouping.as_ref()), body) {
            (Some(g), Some(b)) => {
                let labels = labels_of(&b.details);
                let key = g.key(|k| labels.and_then(|l| l.get(k)).and_then(Value::as_str));
                (
                    Some(key),
                    Some(Duration::from_secs(u64::from(g.window_minutes) * 60)),
                )
            }
            _ => (sender, None),
        }
    }

    /// The urgency the service's rules give an alert arriving now (`None` for events that
    /// carry no alert).
    pub fn urgency(&self, body: Option<&AlertBody>, now: Timestamp) -> Option<domain::Urgency> {
        let body = body?;
        Some(match &self.spec {
            Some(spec) => spec.urgency(body.severity, now),
            None => domain::Urgency::from_severity(body.severity),
        })
    }

    /// The event as the store takes it. `dedup_key` is the event's, or a fresh one for a
    /// trigger that named none; `windows` are the maintenance windows in force.
    pub fn shape(
        &self,
        event: Event,
        dedup_key: String,
        now: Timestamp,
        windows: &[Maintenance],
    ) -> IngestEvent {
        let Event {
            routing_key,
            action,
            body,
            group,
            ..
        } = event;
        let (group, group_window) = self.group(body.as_ref(), group);
        let handling = Handling {
            hold: body
                .as_ref()
                .and_then(|_| maintenance_hold(windows, &self.service, &self.labels, now)),
            flapping: self
                .spec
                .as_ref()
                .and_then(ServiceSpec::flap_rule)
                .map(|(changes, window)| FlapRule { changes, window }),
            ack_timeout: self
                .spec
                .as_ref()
                .and_then(ServiceSpec::acknowledgement_timeout),
            arm: None,
        };
        IngestEvent {
            urgency: self.urgency(body.as_ref(), now),
            retrigger_acknowledged: self.retrigger(),
            service: self.service.clone(),
            integration: self.integration.clone(),
            routing_key,
            action,
            dedup_key,
            body,
            group,
            group_window,
            actor: None,
            received_at: now,
            handling,
        }
    }
}

/// An alert's labels: `details.labels` (Alertmanager, generic JSON), or the fields of
/// PagerDuty's `custom_details`.
pub fn labels_of(details: &Value) -> Option<&serde_json::Map<String, Value>> {
    details["labels"]
        .as_object()
        .or_else(|| details.as_object())
}

/// A maintenance window, ready to be asked whether it is on.
#[derive(Clone, Debug)]
pub struct Maintenance {
    pub name: Name,
    pub spec: MaintenanceWindowSpec,
    compiled: domain::maintenance::Compiled,
}

impl Maintenance {
    /// Every maintenance window among `records` whose spec holds together (validation
    /// keeps the others out of the store).
    pub fn all(records: &[ObjectRecord]) -> Vec<Maintenance> {
        records
            .iter()
            .filter_map(|r| {
                let spec: MaintenanceWindowSpec = serde_json::from_value(r.spec.clone()).ok()?;
                let compiled = spec.compile().ok()?;
                Some(Maintenance {
                    name: r.name.clone(),
                    spec,
                    compiled,
                })
            })
            .collect()
    }
}

/// The hold a window in force puts on a new alert of this service: the latest-ending
/// window that covers it.
pub fn maintenance_hold(
    windows: &[Maintenance],
    service: &Name,
    labels: &Labels,
    now: Timestamp,
) -> Option<Hold> {
    windows
        .iter()
        .filter(|w| w.compiled.covers(service, labels))
        .filter_map(|w| w.compiled.active_at(now).map(|(_, end)| (w, end)))
        .max_by_key(|(_, end)| *end)
        .map(|(w, end)| Hold {
            reason: match &w.spec.description {
                Some(d) => format!("maintenance: {} ({d})", w.name),
                None => format!("maintenance: {}", w.name),
            },
            until: Some(end),
        })
}

/// The dedup key of a heartbeat's alert.
pub fn heartbeat_key(integration: &Name) -> String {
    format!("heartbeat:{integration}")
}

/// A heartbeat's next deadline, set by each ping.
pub fn heartbeat_timer(service: &Name, integration: &Name, due_at: Timestamp) -> NewTimer {
    NewTimer {
        kind: store::HEARTBEAT.into(),
        subject: format!("{service}/{integration}"),
        due_at,
        data: json!({ "service": service, "integration": integration }),
    }
}
