//! Sentry integration-platform webhooks (`POST /integrations/sentry/{key}`), sent by an
//! internal integration the user creates in Sentry and adds as an alert rule action.
//!
//! Sentry names the kind of webhook in the `Sentry-Hook-Resource` header and signs the raw
//! body with the integration's client secret (`Sentry-Hook-Signature`, see [`verify`]).
//! What shinrai acts on:
//!
//! - `metric_alert` (`critical` / `warning` / `resolved`): a metric alert rule's incident,
//!   keyed by the incident id (`data.metric_alert.id`), so its resolve closes its trigger.
//! - `event_alert` (always `triggered`): an issue alert rule fired. It has no resolve of its
//!   own, so it is keyed by the Sentry issue (`data.event.issue_id`)…
//! - `issue` with `resolved`: …and the issue's resolution (`data.issue.id`) resolves it.
//!
//! Everything else (installation, comment, error, the other issue actions) is [`Ignored`]:
//! Sentry sends those to any integration subscribed to them, and none of them is a page.
//!
//! Sentry writes ids as strings in its documented payloads but numbers in some; both are
//! accepted and give the same dedup key.
//!
//! [`Ignored`]: Outcome::Ignored
//!
//! Longer than 600 lines because Sentry's webhook resources, signature and translation are
//! one format, and half the file is its tests.

use domain::mac::Mac;
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::event::{Action, AlertBody, Event, Link, Severity};
use crate::pagerduty::{MAX_SUMMARY, parse_timestamp};

/// Dedup-key prefix of a metric alert's incident.
const METRIC_ALERT_KEY: &str = "sentry-metric-alert:";
/// Dedup-key prefix used when a metric alert names only its rule, not the incident: a rule
/// id and an incident id are different numbers, so they must not share a prefix.
const METRIC_ALERT_RULE_KEY: &str = "sentry-metric-alert-rule:";
/// Dedup-key prefix of a Sentry issue: `event_alert` triggers it, `issue` resolves it.
const ISSUE_KEY: &str = "sentry-issue:";

/// Checks `Sentry-Hook-Signature`: the hex HMAC-SHA256 of the raw body with the
/// integration's client secret. Constant-time comparison (hmac's `verify_slice`).
///
/// Anything that is not the full hex digest (empty, not hex, truncated) is refused.
pub fn verify(secret: &[u8], body: &[u8], signature_hex: &str) -> bool {
    let signature = match hex::decode(signature_hex.trim()) {
        Ok(s) if !s.is_empty() => s,
        _ => return false,
    };
    let mut mac = domain::mac::hmac::<Sha256>(secret);
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// What a Sentry webhook means for shinrai.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // One per webhook, matched at once: boxing buys nothing.
pub enum Outcome {
    Event(Event),
    /// A resource shinrai does not act on (installation, comment, error, issue
    /// created/assigned/...), with a short reason.
    Ignored(&'static str),
}

/// Parses a webhook; `resource` is the `Sentry-Hook-Resource` header. `Err` names every
/// problem by its field path.
pub fn parse(resource: &str, body: &[u8], routing_key: &str) -> Result<Outcome, Vec<String>> {
    let resource = resource.trim().to_ascii_lowercase();
    if resource.is_empty() {
        return Err(vec![
            "the Sentry-Hook-Resource header is missing: send the webhook from a Sentry \
             integration, which always sets it"
                .to_owned(),
        ]);
    }
    let hook = match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return Err(vec!["the webhook must be a JSON object".into()]),
        Err(e) => return Err(vec![format!("the body is not valid JSON: {e}")]),
    };
    match resource.as_str() {
        "metric_alert" => metric_alert(&hook, routing_key).map(Outcome::Event),
        "event_alert" => event_alert(&hook, routing_key).map(Outcome::Event),
        "issue" => issue(&hook, routing_key),
        "installation" => Ok(Outcome::Ignored(
            "installation webhooks are about the integration, not an alert",
        )),
        "comment" => Ok(Outcome::Ignored("comments on issues do not page")),
        "error" => Ok(Outcome::Ignored(
            "error webhooks fire for every error; shinrai pages on alert rules (event_alert)",
        )),
        _ => Ok(Outcome::Ignored(
            "shinrai does not act on this Sentry resource",
        )),
    }
}

/// `metric_alert`: a metric alert rule's incident went critical, warning or resolved.
fn metric_alert(hook: &Value, routing_key: &str) -> Result<Event, Vec<String>> {
    let mut errors = Vec::new();
    let action = match text(hook, "action") {
        Some("critical") => Some((Action::Trigger, Severity::Critical)),
        Some("warning") => Some((Action::Trigger, Severity::Warning)),
        Some("resolved") => Some((Action::Resolve, Severity::Info)),
        Some(other) => {
            errors.push(format!(
                "action {other:?} is not a metric alert action shinrai knows: Sentry sends \
                 critical, warning or resolved"
            ));
            None
        }
        None => {
            errors.push(
                "action is missing: a Sentry metric alert webhook says critical, warning or \
                 resolved there"
                    .to_owned(),
            );
            None
        }
    };
    let dedup_key = if get(hook, "data.metric_alert").is_some_and(Value::is_object) {
        match id(hook, "data.metric_alert.id", &mut errors) {
            Some(id) => Some(format!("{METRIC_ALERT_KEY}{id}")),
            None if errors
                .iter()
                .any(|e| e.starts_with("data.metric_alert.id ")) =>
            {
                None
            }
            None => match id(hook, "data.metric_alert.alert_rule.id", &mut Vec::new()) {
                Some(rule) => Some(format!("{METRIC_ALERT_RULE_KEY}{rule}")),
                None => {
                    errors.push(
                        "data.metric_alert.id is missing (and so is \
                         data.metric_alert.alert_rule.id): Sentry puts the metric alert's \
                         incident id there"
                            .to_owned(),
                    );
                    None
                }
            },
        }
    } else {
        errors.push(
            "data.metric_alert is missing: is the Sentry-Hook-Resource header right for this \
             body?"
                .to_owned(),
        );
        None
    };
    let (Some((action, severity)), Some(dedup_key)) = (action, dedup_key) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let web_url = text(hook, "data.web_url");
    let body = (action == Action::Trigger).then(|| {
        let summary = text(hook, "data.description_title")
            .or_else(|| text(hook, "data.metric_alert.alert_rule.name"))
            .unwrap_or("Sentry metric alert");
        let projects = get(hook, "data.metric_alert.projects")
            .or_else(|| get(hook, "data.metric_alert.alert_rule.projects"))
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty());
        let timestamp = text(hook, "data.metric_alert.date_detected")
            .or_else(|| text(hook, "data.metric_alert.date_started"))
            .and_then(parse_timestamp);
        let details = object(&[
            ("description", get(hook, "data.description_text")),
            ("alert_rule", get(hook, "data.metric_alert.alert_rule.name")),
            ("query", get(hook, "data.metric_alert.alert_rule.query")),
            (
                "aggregate",
                get(hook, "data.metric_alert.alert_rule.aggregate"),
            ),
            ("dataset", get(hook, "data.metric_alert.alert_rule.dataset")),
            (
                "environment",
                get(hook, "data.metric_alert.alert_rule.environment"),
            ),
            (
                "time_window",
                get(hook, "data.metric_alert.alert_rule.time_window"),
            ),
            ("projects", get(hook, "data.metric_alert.projects")),
        ]);
        AlertBody {
            summary: summary.chars().take(MAX_SUMMARY).collect(),
            source: projects.unwrap_or_else(|| "sentry".to_owned()),
            severity,
            timestamp,
            component: None,
            group: None,
            class: None,
            details,
            links: sentry_link(web_url),
            images: Vec::new(),
            client: Some("Sentry".into()),
            client_url: web_url.map(str::to_owned),
        }
    });
    Ok(Event {
        routing_key: routing_key.to_owned(),
        action,
        dedup_key: Some(dedup_key),
        body,
        group: None,
    })
}

/// `event_alert`: an issue alert rule fired on an event. Keyed by the event's issue, so
/// that the issue's `resolved` webhook resolves it.
fn event_alert(hook: &Value, routing_key: &str) -> Result<Event, Vec<String>> {
    let mut errors = Vec::new();
    match text(hook, "action") {
        Some("triggered") => {}
        Some(other) => errors.push(format!(
            "action {other:?} is not an issue alert action shinrai knows: Sentry sends \
             triggered"
        )),
        None => errors.push(
            "action is missing: a Sentry issue alert webhook says triggered there".to_owned(),
        ),
    }
    let issue_id = if get(hook, "data.event").is_some_and(Value::is_object) {
        let issue_id = id(hook, "data.event.issue_id", &mut errors);
        if issue_id.is_none() && !errors.iter().any(|e| e.starts_with("data.event.issue_id ")) {
            errors.push(
                "data.event.issue_id is missing: Sentry puts the id of the event's issue there"
                    .to_owned(),
            );
        }
        issue_id
    } else {
        errors.push(
            "data.event is missing: is the Sentry-Hook-Resource header right for this body?"
                .to_owned(),
        );
        None
    };
    let Some(issue_id) = issue_id else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let severity = match text(hook, "data.event.level")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("fatal") => Severity::Critical,
        Some("warning" | "warn") => Severity::Warning,
        Some("info" | "debug") => Severity::Info,
        _ => Severity::Error,
    };
    let summary = text(hook, "data.event.title")
        .or_else(|| text(hook, "data.triggered_rule"))
        .or_else(|| text(hook, "data.issue_alert.title"))
        .unwrap_or("Sentry issue alert");
    // The project's slug is only in the event's API URL
    // (`…/api/0/projects/{org}/{project}/events/{id}/`); the culprit is the code location.
    let project = text(hook, "data.event.url").and_then(project_slug);
    let culprit = text(hook, "data.event.culprit");
    let web_url = text(hook, "data.event.web_url");
    let mut details = Map::new();
    if let Some(tags) = get(hook, "data.event.tags").and_then(tags_object) {
        details.insert("tags".into(), tags);
    }
    if let Some(rule) = text(hook, "data.triggered_rule") {
        details.insert("triggered_rule".into(), rule.into());
    }
    Ok(Event {
        routing_key: routing_key.to_owned(),
        action: Action::Trigger,
        dedup_key: Some(format!("{ISSUE_KEY}{issue_id}")),
        body: Some(AlertBody {
            summary: summary.chars().take(MAX_SUMMARY).collect(),
            source: project.or(culprit).unwrap_or("sentry").to_owned(),
            severity,
            timestamp: text(hook, "data.event.datetime").and_then(parse_timestamp),
            component: project.and(culprit).map(str::to_owned),
            group: None,
            class: text(hook, "data.event.metadata.type").map(str::to_owned),
            details: if details.is_empty() {
                Value::Null
            } else {
                Value::Object(details)
            },
            links: sentry_link(web_url),
            images: Vec::new(),
            client: Some("Sentry".into()),
            client_url: web_url.map(str::to_owned),
        }),
        group: None,
    })
}

/// `issue`: only its resolution matters, as the resolve of the issue's `event_alert`.
fn issue(hook: &Value, routing_key: &str) -> Result<Outcome, Vec<String>> {
    match text(hook, "action") {
        Some("resolved") => {}
        Some("created") => {
            return Ok(Outcome::Ignored(
                "a new issue does not page by itself; an issue alert rule (event_alert) does",
            ));
        }
        Some("assigned") => return Ok(Outcome::Ignored("issue assignments do not page")),
        Some("ignored" | "archived") => {
            return Ok(Outcome::Ignored(
                "an archived issue leaves its alert open; resolve it in Sentry or shinrai",
            ));
        }
        Some("unresolved") => {
            return Ok(Outcome::Ignored(
                "a reopened issue pages when an issue alert rule (event_alert) fires",
            ));
        }
        Some(_) => {
            return Ok(Outcome::Ignored(
                "shinrai does not act on this issue action",
            ));
        }
        None => {
            return Err(vec![
                "action is missing: a Sentry issue webhook says created, resolved, assigned, \
                 archived or unresolved there"
                    .to_owned(),
            ]);
        }
    }
    let mut errors = Vec::new();
    let issue_id = id(hook, "data.issue.id", &mut errors);
    let Some(issue_id) = issue_id else {
        if errors.is_empty() {
            errors.push(
                "data.issue.id is missing: Sentry puts the resolved issue's id there".to_owned(),
            );
        }
        return Err(errors);
    };
    Ok(Outcome::Event(Event {
        routing_key: routing_key.to_owned(),
        action: Action::Resolve,
        dedup_key: Some(format!("{ISSUE_KEY}{issue_id}")),
        body: None,
        group: None,
    }))
}

/// The value at a dotted path (`data.event.issue_id`): the same spelling errors use.
fn get<'a>(hook: &'a Value, path: &str) -> Option<&'a Value> {
    hook.pointer(&format!("/{}", path.replace('.', "/")))
}

/// A non-blank string at `path`, trimmed.
fn text<'a>(hook: &'a Value, path: &str) -> Option<&'a str> {
    get(hook, path)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A Sentry id at `path`, written as a string or a number. `None` if it is absent; an id
/// of another type also adds an error naming `path`.
fn id(hook: &Value, path: &str, errors: &mut Vec<String>) -> Option<String> {
    match get(hook, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        Value::Null => None,
        Value::String(_) => None,
        other => {
            errors.push(format!(
                "{path} must be a string or an integer, not {other}: Sentry writes ids as \
                 either"
            ));
            None
        }
    }
}

/// An object of the given fields, leaving out absent and null ones; `Null` if none is left.
fn object(fields: &[(&str, Option<&Value>)]) -> Value {
    let map: Map<String, Value> = fields
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_null())
                .map(|v| ((*k).to_owned(), v.clone()))
        })
        .collect();
    if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    }
}

/// Sentry's tags as one object. Events carry them as `[["key", "value"], …]`; the API
/// sometimes as `[{"key": …, "value": …}, …]`; an object is kept as it came.
fn tags_object(tags: &Value) -> Option<Value> {
    let map: Map<String, Value> = match tags {
        Value::Object(o) => o.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(k), v] => Some((k.clone(), v.clone())),
                    _ => None,
                },
                Value::Object(o) => match (o.get("key"), o.get("value")) {
                    (Some(Value::String(k)), Some(v)) => Some((k.clone(), v.clone())),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => return None,
    };
    (!map.is_empty()).then_some(Value::Object(map))
}

/// The project slug in a Sentry API URL `…/projects/{org}/{project}/…`.
fn project_slug(url: &str) -> Option<&str> {
    let mut rest = url.split_once("/projects/")?.1.split('/');
    let _organization = rest.next()?;
    rest.next().filter(|s| !s.is_empty())
}

fn sentry_link(web_url: Option<&str>) -> Vec<Link> {
    web_url
        .map(|href| Link {
            href: href.to_owned(),
            text: Some("Sentry".into()),
        })
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A metric alert webhook shaped like Sentry's documented example.
    fn metric_hook(action: &str) -> Value {
        let title = match action {
            "critical" => "Critical: Checkout error rate",
            "warning" => "Warning: Checkout error rate",
            _ => "Resolved: Checkout error rate",
        };
        json!({
            "action": action,
            "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
            "data": {
                "description_text": "142 events in the last 5 minutes\nFilter: level:error",
                "description_title": title,
                "metric_alert": {
                    "alert_rule": {
                        "aggregate": "count()",
                        "created_by": null,
                        "dataset": "events",
                        "date_created": "2024-05-02T08:11:03.000000Z",
                        "date_modified": "2024-05-02T08:11:03.000000Z",
                        "environment": "production",
                        "id": "31",
                        "include_all_projects": false,
                        "name": "Checkout error rate",
                        "organization_id": "12",
                        "projects": ["checkout-api"],
                        "query": "level:error",
                        "resolution": 1,
                        "resolve_threshold": null,
                        "status": 0,
                        "threshold_period": 1,
                        "threshold_type": 0,
                        "time_window": 5,
                        "triggers": []
                    },
                    "date_closed": null,
                    "date_created": "2024-05-03T14:20:00.000000Z",
                    "date_detected": "2024-05-03T14:19:00.000000Z",
                    "date_started": "2024-05-03T14:19:00.000000Z",
                    "id": "908",
                    "identifier": "17",
                    "organization_id": "12",
                    "projects": ["checkout-api"],
                    "status": 2,
                    "status_method": 3,
                    "title": "Brave Heron",
                    "type": 2
                },
                "web_url": "https://sentry.io/organizations/acme/alerts/17/"
            },
            "installation": {"uuid": "0b4d1f53-8e0c-4f6a-9a51-3a1f8c1e7d22"}
        })
    }

    /// An issue alert webhook shaped like Sentry's documented example (trimmed).
    fn event_hook() -> Value {
        json!({
            "action": "triggered",
            "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
            "data": {
                "event": {
                    "_ref": 4,
                    "_ref_version": 2,
                    "contexts": {"runtime": {"name": "CPython", "type": "runtime", "version": "3.12.3"}},
                    "culprit": "checkout.views in submit_order",
                    "datetime": "2024-05-03T14:21:07.512000Z",
                    "event_id": "9c3f0e5a1b2d4c6e8f7a6b5c4d3e2f1a",
                    "exception": {"values": [{"type": "KeyError", "value": "'cart_id'",
                                              "mechanism": {"type": "django", "handled": false}}]},
                    "fingerprint": ["{{ default }}"],
                    "hashes": ["5e2b8c0c3f0d4a7e9b1c2d3e4f5a6b7c"],
                    "issue_url": "https://sentry.io/api/0/issues/4507023019/",
                    "issue_id": "4507023019",
                    "key_id": "88231",
                    "level": "error",
                    "location": "checkout/views.py",
                    "logger": "",
                    "message": "",
                    "metadata": {"filename": "checkout/views.py", "type": "KeyError", "value": "'cart_id'"},
                    "platform": "python",
                    "project": 42,
                    "received": 1714746067.512,
                    "release": "checkout@2.14.0",
                    "tags": [
                        ["environment", "production"],
                        ["handled", "no"],
                        ["level", "error"],
                        ["release", "checkout@2.14.0"],
                        ["server_name", "web-3"],
                        ["url", "https://shop.example.com/checkout/submit"]
                    ],
                    "timestamp": 1714746067.512,
                    "title": "KeyError: 'cart_id'",
                    "type": "error",
                    "url": "https://sentry.io/api/0/projects/acme/checkout-api/events/9c3f0e5a1b2d4c6e8f7a6b5c4d3e2f1a/",
                    "version": "7",
                    "web_url": "https://sentry.io/organizations/acme/issues/4507023019/events/9c3f0e5a1b2d4c6e8f7a6b5c4d3e2f1a/"
                },
                "triggered_rule": "Checkout errors page on-call",
                "issue_alert": {
                    "title": "Checkout errors page on-call",
                    "settings": [{"name": "service", "value": "checkout"}]
                }
            },
            "installation": {"uuid": "0b4d1f53-8e0c-4f6a-9a51-3a1f8c1e7d22"}
        })
    }

    /// An issue webhook shaped like Sentry's documented example.
    fn issue_hook(action: &str) -> Value {
        json!({
            "action": action,
            "actor": {"id": 7, "name": "Aiko Tanaka", "type": "user"},
            "data": {
                "issue": {
                    "annotations": [],
                    "assignedTo": null,
                    "count": "23",
                    "culprit": "checkout.views in submit_order",
                    "firstSeen": "2024-05-03T14:21:07.512000Z",
                    "hasSeen": true,
                    "id": "4507023019",
                    "isBookmarked": false,
                    "isPublic": false,
                    "isSubscribed": true,
                    "lastSeen": "2024-05-03T14:40:51.004000Z",
                    "level": "error",
                    "logger": null,
                    "metadata": {"filename": "checkout/views.py", "type": "KeyError", "value": "'cart_id'"},
                    "numComments": 0,
                    "permalink": "https://sentry.io/organizations/acme/issues/4507023019/",
                    "platform": "python",
                    "project": {"id": "42", "name": "checkout-api", "platform": "python", "slug": "checkout-api"},
                    "shareId": null,
                    "shortId": "CHECKOUT-API-3F",
                    "status": "resolved",
                    "statusDetails": {"inNextRelease": true},
                    "subscriptionDetails": null,
                    "substatus": null,
                    "title": "KeyError: 'cart_id'",
                    "type": "error",
                    "userCount": 9
                }
            },
            "installation": {"uuid": "0b4d1f53-8e0c-4f6a-9a51-3a1f8c1e7d22"}
        })
    }

    fn bytes(v: &Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    fn event(resource: &str, v: &Value) -> Event {
        match parse(resource, &bytes(v), "KEY") {
            Ok(Outcome::Event(e)) => e,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    fn errors(resource: &str, v: &Value) -> Vec<String> {
        parse(resource, &bytes(v), "KEY").unwrap_err()
    }

    #[test]
    fn metric_alert_critical_triggers_a_critical_alert() {
        let e = event("metric_alert", &metric_hook("critical"));
        assert_eq!(e.routing_key, "KEY");
        assert_eq!(e.action, Action::Trigger);
        assert_eq!(e.dedup_key.as_deref(), Some("sentry-metric-alert:908"));
        assert_eq!(e.group, None);
        let b = e.body.unwrap();
        assert_eq!(b.severity, Severity::Critical);
        assert_eq!(b.summary, "Critical: Checkout error rate");
        assert_eq!(b.source, "checkout-api");
        assert_eq!(b.client.as_deref(), Some("Sentry"));
        assert_eq!(
            b.client_url.as_deref(),
            Some("https://sentry.io/organizations/acme/alerts/17/")
        );
        assert_eq!(
            b.links[0].href,
            "https://sentry.io/organizations/acme/alerts/17/"
        );
        assert_eq!(b.timestamp, Some("2024-05-03T14:19:00Z".parse().unwrap()));
        assert_eq!(b.details["alert_rule"], "Checkout error rate");
        assert_eq!(b.details["query"], "level:error");
    }

    #[test]
    fn metric_alert_warning_triggers_a_warning() {
        let e = event("metric_alert", &metric_hook("warning"));
        assert_eq!(e.action, Action::Trigger);
        assert_eq!(e.dedup_key.as_deref(), Some("sentry-metric-alert:908"));
        assert_eq!(e.body.unwrap().severity, Severity::Warning);
    }

    #[test]
    fn metric_alert_resolved_resolves_the_same_key() {
        let e = event("metric_alert", &metric_hook("resolved"));
        assert_eq!(e.action, Action::Resolve);
        assert_eq!(e.dedup_key.as_deref(), Some("sentry-metric-alert:908"));
        assert_eq!(e.body, None);
    }

    #[test]
    fn metric_alert_ids_may_be_numbers_and_the_rule_id_is_a_fallback() {
        let mut h = metric_hook("critical");
        h["data"]["metric_alert"]["id"] = json!(908);
        assert_eq!(
            event("metric_alert", &h).dedup_key.as_deref(),
            Some("sentry-metric-alert:908")
        );
        h["data"]["metric_alert"]
            .as_object_mut()
            .unwrap()
            .remove("id");
        assert_eq!(
            event("metric_alert", &h).dedup_key.as_deref(),
            Some("sentry-metric-alert-rule:31")
        );
    }

    #[test]
    fn metric_alert_summary_falls_back_to_the_rule_name() {
        let mut h = metric_hook("critical");
        h["data"]
            .as_object_mut()
            .unwrap()
            .remove("description_title");
        assert_eq!(
            event("metric_alert", &h).body.unwrap().summary,
            "Checkout error rate"
        );
    }

    #[test]
    fn event_alert_triggers_on_the_issue() {
        let e = event("event_alert", &event_hook());
        assert_eq!(e.routing_key, "KEY");
        assert_eq!(e.action, Action::Trigger);
        assert_eq!(e.dedup_key.as_deref(), Some("sentry-issue:4507023019"));
        assert_eq!(e.group, None);
        let b = e.body.unwrap();
        assert_eq!(b.severity, Severity::Error);
        assert_eq!(b.summary, "KeyError: 'cart_id'");
        assert_eq!(b.source, "checkout-api");
        assert_eq!(
            b.component.as_deref(),
            Some("checkout.views in submit_order")
        );
        assert_eq!(b.class.as_deref(), Some("KeyError"));
        assert_eq!(
            b.timestamp,
            Some("2024-05-03T14:21:07.512Z".parse().unwrap())
        );
        let web = "https://sentry.io/organizations/acme/issues/4507023019/events/9c3f0e5a1b2d4c6e8f7a6b5c4d3e2f1a/";
        assert_eq!(b.client.as_deref(), Some("Sentry"));
        assert_eq!(b.client_url.as_deref(), Some(web));
        assert_eq!(b.links[0].href, web);
        assert_eq!(b.details["triggered_rule"], "Checkout errors page on-call");
        assert_eq!(b.details["tags"]["server_name"], "web-3");
        assert_eq!(b.details["tags"]["environment"], "production");
    }

    #[test]
    fn event_alert_levels_map_to_severities() {
        for (level, severity) in [
            (json!("fatal"), Severity::Critical),
            (json!("error"), Severity::Error),
            (json!("warning"), Severity::Warning),
            (json!("info"), Severity::Info),
            (json!("debug"), Severity::Info),
            (json!("sample"), Severity::Error),
            (Value::Null, Severity::Error),
        ] {
            let mut h = event_hook();
            h["data"]["event"]["level"] = level.clone();
            assert_eq!(
                event("event_alert", &h).body.unwrap().severity,
                severity,
                "{level}"
            );
        }
    }

    #[test]
    fn event_alert_falls_back_to_the_rule_and_the_culprit() {
        let mut h = event_hook();
        let ev = h["data"]["event"].as_object_mut().unwrap();
        ev.remove("title");
        ev.remove("url");
        ev.remove("tags");
        ev["issue_id"] = json!(4507023019_u64);
        let e = event("event_alert", &h);
        assert_eq!(e.dedup_key.as_deref(), Some("sentry-issue:4507023019"));
        let b = e.body.unwrap();
        assert_eq!(b.summary, "Checkout errors page on-call");
        assert_eq!(b.source, "checkout.views in submit_order");
        assert_eq!(b.component, None);
        assert_eq!(
            b.details,
            json!({"triggered_rule": "Checkout errors page on-call"})
        );
    }

    #[test]
    fn issue_resolved_resolves_the_event_alert() {
        let trigger = event("event_alert", &event_hook());
        let resolve = event("issue", &issue_hook("resolved"));
        assert_eq!(resolve.action, Action::Resolve);
        assert_eq!(resolve.dedup_key, trigger.dedup_key);
        assert_eq!(resolve.routing_key, "KEY");
        assert_eq!(resolve.body, None);
        let mut numeric = issue_hook("resolved");
        numeric["data"]["issue"]["id"] = json!(4507023019_u64);
        assert_eq!(event("issue", &numeric).dedup_key, trigger.dedup_key);
    }

    #[test]
    fn other_issue_actions_are_ignored() {
        for action in [
            "created",
            "assigned",
            "ignored",
            "archived",
            "unresolved",
            "merged",
        ] {
            let outcome = parse("issue", &bytes(&issue_hook(action)), "KEY").unwrap();
            assert!(
                matches!(outcome, Outcome::Ignored(r) if !r.is_empty()),
                "{action}"
            );
        }
    }

    #[test]
    fn other_resources_are_ignored() {
        let installation = json!({
            "action": "created",
            "actor": {"id": 7, "name": "Aiko Tanaka", "type": "user"},
            "data": {"installation": {
                "status": "pending",
                "organization": {"slug": "acme"},
                "app": {"uuid": "6f1e3b0a-2c4d-4e5f-8a9b-0c1d2e3f4a5b", "slug": "shinrai"},
                "code": "2d0c5a9e7b4f4c1a8e6d3b2a1f0e9d8c",
                "uuid": "0b4d1f53-8e0c-4f6a-9a51-3a1f8c1e7d22"
            }},
            "installation": {"uuid": "0b4d1f53-8e0c-4f6a-9a51-3a1f8c1e7d22"}
        });
        for resource in ["installation", "comment", "error", "activity_alert", "seer"] {
            let outcome = parse(resource, &bytes(&installation), "KEY").unwrap();
            assert!(
                matches!(outcome, Outcome::Ignored(r) if !r.is_empty()),
                "{resource}"
            );
        }
    }

    #[test]
    fn bad_bodies_are_refused() {
        let e = parse("metric_alert", b"{not json", "KEY").unwrap_err();
        assert!(e[0].contains("not valid JSON"), "{e:?}");
        let e = parse("event_alert", b"[1, 2]", "KEY").unwrap_err();
        assert!(e[0].contains("JSON object"), "{e:?}");
        let e = parse("", &bytes(&event_hook()), "KEY").unwrap_err();
        assert!(e[0].contains("Sentry-Hook-Resource"), "{e:?}");
    }

    #[test]
    fn metric_alert_errors_name_the_field() {
        let mut h = metric_hook("critical");
        let ma = h["data"]["metric_alert"].as_object_mut().unwrap();
        ma.remove("id");
        ma["alert_rule"].as_object_mut().unwrap().remove("id");
        let e = errors("metric_alert", &h);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("data.metric_alert.id is missing"), "{e:?}");

        let mut h = metric_hook("firing");
        h["data"]["metric_alert"]["id"] = json!({"nested": true});
        let e = errors("metric_alert", &h);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("action \"firing\""), "{e:?}");
        assert!(e[1].starts_with("data.metric_alert.id must be"), "{e:?}");

        let e = errors("metric_alert", &json!({"action": "critical", "data": {}}));
        assert!(e[0].starts_with("data.metric_alert is missing"), "{e:?}");
        let e = errors(
            "metric_alert",
            &json!({"data": {"metric_alert": {"id": "1"}}}),
        );
        assert!(e[0].starts_with("action is missing"), "{e:?}");
    }

    #[test]
    fn event_alert_and_issue_errors_name_the_field() {
        let mut h = event_hook();
        h["data"]["event"]
            .as_object_mut()
            .unwrap()
            .remove("issue_id");
        let e = errors("event_alert", &h);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("data.event.issue_id is missing"), "{e:?}");

        let e = errors("event_alert", &json!({"action": "triggered", "data": {}}));
        assert!(e[0].starts_with("data.event is missing"), "{e:?}");

        let mut h = event_hook();
        h["action"] = json!("resolved");
        let e = errors("event_alert", &h);
        assert!(e[0].starts_with("action \"resolved\""), "{e:?}");

        let mut h = issue_hook("resolved");
        h["data"]["issue"].as_object_mut().unwrap().remove("id");
        let e = errors("issue", &h);
        assert!(e[0].starts_with("data.issue.id is missing"), "{e:?}");

        let e = errors("issue", &json!({"data": {"issue": {"id": "1"}}}));
        assert!(e[0].starts_with("action is missing"), "{e:?}");
    }

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = domain::mac::hmac::<Sha256>(secret);
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn verify_accepts_the_right_signature() {
        let body = bytes(&event_hook());
        let secret = b"4f2c0e9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e";
        let signature = sign(secret, &body);
        assert!(verify(secret, &body, &signature));
        assert!(verify(secret, &body, &signature.to_ascii_uppercase()));
        assert!(verify(
            b"key",
            b"The quick brown fox jumps over the lazy dog",
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        ));
    }

    #[test]
    fn verify_refuses_anything_else() {
        let body = bytes(&event_hook());
        let secret = b"client-secret";
        let signature = sign(secret, &body);
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert!(!verify(secret, &tampered, &signature));
        assert!(!verify(b"another-secret", &body, &signature));
        assert!(!verify(secret, &body, "not hex at all"));
        assert!(!verify(secret, &body, ""));
        assert!(!verify(secret, &body, &signature[..32]));
        assert!(!verify(secret, &body, &signature[..63]));
        assert!(!verify(
            b"key",
            b"The quick brown fox jumps over the lazy cog",
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        ));
    }
}
