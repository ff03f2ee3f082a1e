//! Prometheus Alertmanager's webhook (payload version 4), and Grafana's variant of it.
//!
//! Each POST carries a whole alert group. Alerts are tracked by `fingerprint` (the same on
//! every Alertmanager of an HA pair, so their duplicate sends are harmless); the group's
//! `groupKey` keeps its alerts on one incident. An alert of the group that is absent from a
//! later POST has resolved — unless `truncatedAlerts` says the POST was cut short, in which
//! case absence means nothing.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::event::{Action, AlertBody, Event, Link, Severity};

/// One webhook POST. Unknown fields (Grafana adds several) are ignored.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(default)]
    pub version: String,
    pub group_key: String,
    #[serde(default)]
    pub truncated_alerts: u64,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<Alert>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

/// Parses a webhook body; `Err` names every problem.
pub fn parse(body: &[u8]) -> Result<Message, Vec<String>> {
    let msg: Message = serde_json::from_slice(body)
        .map_err(|e| vec![format!("not an Alertmanager webhook message: {e}")])?;
    let mut errors = Vec::new();
    if msg.group_key.is_empty() {
        errors.push("'groupKey' is empty".to_owned());
    } else if let Err(e) = domain::text::check_key("groupKey", &msg.group_key) {
        errors.push(e.to_string());
    }
    for (i, a) in msg.alerts.iter().enumerate() {
        if a.fingerprint.is_empty() {
            errors.push(format!("'alerts[{i}].fingerprint' is empty"));
        } else if let Err(e) =
            domain::text::check_key(&format!("alerts[{i}].fingerprint"), &a.fingerprint)
        {
            errors.push(e.to_string());
        }
        if a.status != "firing" && a.status != "resolved" {
            errors.push(format!(
                "'alerts[{i}].status' is {:?}: must be firing or resolved",
                a.status
            ));
        }
    }
    if errors.is_empty() {
        Ok(msg)
    } else {
        Err(errors)
    }
}

/// The severity an alert's `severity` label names; `error` when it names none of the four
/// (Alertmanager's own PagerDuty default). `page` and `high` mean critical, as many rule
/// sets write it.
pub fn severity(labels: &BTreeMap<String, String>) -> Severity {
    match labels
        .get("severity")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("critical" | "page" | "high") => Severity::Critical,
        Some("warning" | "warn" | "medium") => Severity::Warning,
        Some("info" | "none" | "low") => Severity::Info,
        _ => Severity::Error,
    }
}

/// The events one POST means for `routing_key`, in order: a trigger per firing alert, a
/// resolve per resolved one. Each carries the group.
pub fn events(msg: &Message, routing_key: &str) -> Vec<Event> {
    msg.alerts
        .iter()
        .map(|a| {
            let action = if a.status == "resolved" {
                Action::Resolve
            } else {
                Action::Trigger
            };
            let alertname = a
                .labels
                .get("alertname")
                .cloned()
                .unwrap_or_else(|| "alert".to_owned());
            let summary = a
                .annotations
                .get("summary")
                .or_else(|| a.annotations.get("description"))
                .map(|s| format!("{alertname}: {s}"))
                .unwrap_or_else(|| {
                    let labels: Vec<String> = a
                        .labels
                        .iter()
                        .filter(|(k, _)| *k != "alertname")
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    format!("{alertname} {}", labels.join(" "))
                });
            let source = a
                .labels
                .get("instance")
                .or_else(|| a.labels.get("job"))
                .cloned()
                .unwrap_or_else(|| "alertmanager".to_owned());
            let links = (!a.generator_url.is_empty())
                .then(|| Link {
                    href: a.generator_url.clone(),
                    text: Some("Source".into()),
                })
                .into_iter()
                .collect();
            Event {
                routing_key: routing_key.to_owned(),
                action,
                dedup_key: Some(a.fingerprint.clone()),
                body: (action == Action::Trigger).then(|| AlertBody {
                    summary: summary
                        .chars()
                        .take(crate::pagerduty::MAX_SUMMARY)
                        .collect(),
                    source,
                    severity: severity(&a.labels),
                    timestamp: a
                        .starts_at
                        .as_deref()
                        .and_then(crate::pagerduty::parse_timestamp),
                    component: a.labels.get("job").cloned(),
                    group: None,
                    class: Some(alertname),
                    details: json!({ "labels": a.labels, "annotations": a.annotations }),
                    links,
                    images: Vec::new(),
                    client: Some("Alertmanager".into()),
                    client_url: (!msg.external_url.is_empty()).then(|| msg.external_url.clone()),
                }),
                group: Some(msg.group_key.clone()),
            }
        })
        .collect()
}

/// The fingerprints a POST mentions: open alerts of the group not among them have
/// resolved, when the POST was not truncated.
pub fn mentioned(msg: &Message) -> Vec<&str> {
    msg.alerts.iter().map(|a| a.fingerprint.as_str()).collect()
}

/// What shinrai answers: Alertmanager reads only the status code.
pub fn answer(ok: bool, message: &str) -> Value {
    json!({ "status": if ok { "success" } else { "error" }, "message": message })
}
