//! The PagerDuty Events API: v2 (`POST /v2/enqueue`) and the legacy v1
//! (`POST /generic/2010-04-15/create_event.json`), requests and answers as PagerDuty
//! documents them, so that a sender pointed at shinrai works unchanged.
//!
//! Parsing collects every problem of an event, as PagerDuty's `errors` array does, and
//! ignores fields it does not know (senders add their own).

use domain::Timestamp;
use serde_json::{Map, Value, json};

use crate::event::{Action, AlertBody, Event, Image, Link, Severity};

/// PagerDuty's limit on a request body.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
/// Longest dedup key accepted.
pub const MAX_DEDUP_KEY: usize = domain::text::MAX_KEY;
/// Longest summary kept; longer ones are cut at a character boundary, as PagerDuty does.
pub const MAX_SUMMARY: usize = domain::text::MAX_SUMMARY;

/// The answer to an accepted v2 event (HTTP 202).
pub fn accepted(dedup_key: &str) -> Value {
    json!({ "status": "success", "message": "Event processed", "dedup_key": dedup_key })
}

/// The answer to an invalid event (HTTP 400), v1 and v2 alike.
pub fn invalid(errors: &[String]) -> Value {
    json!({ "status": "invalid event", "message": "Event object is invalid", "errors": errors })
}

/// The answer to an accepted v1 event (HTTP 200).
pub fn accepted_v1(incident_key: &str) -> Value {
    json!({ "status": "success", "message": "Event processed", "incident_key": incident_key })
}

/// Parses a v2 event. `Err` holds one message per problem.
pub fn parse_v2(body: &[u8]) -> Result<Event, Vec<String>> {
    let obj = object(body)?;
    let mut errors = Vec::new();
    let routing_key = required_str(&obj, "routing_key", "routing_key", &mut errors);
    let action = match obj.get("event_action") {
        None | Some(Value::Null) => {
            errors.push("'event_action' is missing or blank".to_owned());
            None
        }
        Some(Value::String(s)) => match s.as_str() {
            "trigger" => Some(Action::Trigger),
            "acknowledge" => Some(Action::Acknowledge),
            "resolve" => Some(Action::Resolve),
            other => {
                errors.push(format!(
                    "'event_action' is invalid ({other:?}): must be one of trigger, acknowledge, resolve"
                ));
                None
            }
        },
        Some(_) => {
            errors.push("'event_action' must be a string".to_owned());
            None
        }
    };
    let dedup_key = dedup_key(&obj, "dedup_key", action, &mut errors);
    let body = match action {
        Some(Action::Trigger) => match obj.get("payload") {
            Some(Value::Object(p)) => trigger_body(p, &obj, &mut errors),
            None | Some(Value::Null) => {
                errors.push("'payload' is missing: a trigger needs payload.summary, payload.source and payload.severity".to_owned());
                None
            }
            Some(_) => {
                errors.push("'payload' must be an object".to_owned());
                None
            }
        },
        _ => None,
    };
    match (routing_key, action) {
        (Some(routing_key), Some(action)) if errors.is_empty() => Ok(Event {
            routing_key,
            action,
            dedup_key,
            body,
            group: None,
        }),
        _ => Err(errors),
    }
}

/// Parses a legacy v1 event (`service_key`, `event_type`, `incident_key`, `description`,
/// `details`, `client`, `client_url`). v1 has no severity: triggers are `error`.
pub fn parse_v1(body: &[u8]) -> Result<Event, Vec<String>> {
    let obj = object(body)?;
    let mut errors = Vec::new();
    let routing_key = required_str(&obj, "service_key", "service_key", &mut errors);
    let action = match obj.get("event_type").and_then(Value::as_str) {
        Some("trigger") => Some(Action::Trigger),
        Some("acknowledge") => Some(Action::Acknowledge),
        Some("resolve") => Some(Action::Resolve),
        Some(other) => {
            errors.push(format!(
                "'event_type' is invalid ({other:?}): must be one of trigger, acknowledge, resolve"
            ));
            None
        }
        None => {
            errors.push("'event_type' is missing or blank".to_owned());
            None
        }
    };
    let dedup_key = dedup_key(&obj, "incident_key", action, &mut errors);
    let body = match action {
        Some(Action::Trigger) => {
            let summary = required_str(&obj, "description", "description", &mut errors);
            summary.map(|summary| AlertBody {
                summary: truncate(summary),
                source: optional_str(&obj, "client")
                    .unwrap_or_else(|| "PagerDuty Events API v1".to_owned()),
                severity: Severity::Error,
                timestamp: None,
                component: None,
                group: None,
                class: None,
                details: obj.get("details").cloned().unwrap_or(Value::Null),
                links: Vec::new(),
                images: Vec::new(),
                client: optional_str(&obj, "client"),
                client_url: optional_str(&obj, "client_url"),
            })
        }
        _ => None,
    };
    match (routing_key, action) {
        (Some(routing_key), Some(action)) if errors.is_empty() => Ok(Event {
            routing_key,
            action,
            dedup_key,
            body,
            group: None,
        }),
        _ => Err(errors),
    }
}

/// A change event (`POST /v2/change/enqueue`): a deploy, a config push, a feature flag —
/// recorded on the service's timeline, never an alert.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChangeEvent {
    pub routing_key: String,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When the change happened, if the sender says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

/// The answer to an accepted change event (HTTP 202).
pub fn change_accepted() -> Value {
    json!({ "status": "success", "message": "Change event processed" })
}

/// Parses a change event; `Err` names every problem.
pub fn parse_change(body: &[u8]) -> Result<ChangeEvent, Vec<String>> {
    let obj = object(body)?;
    let mut errors = Vec::new();
    let routing_key = required_str(&obj, "routing_key", "routing_key", &mut errors);
    let payload = match obj.get("payload") {
        Some(Value::Object(p)) => p.clone(),
        _ => {
            errors.push("'payload' is missing: a change event needs payload.summary".to_owned());
            Map::new()
        }
    };
    let summary = if payload.is_empty() {
        None
    } else {
        required_str(&payload, "summary", "payload.summary", &mut errors)
    };
    let timestamp = match payload.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => parse_timestamp(s).or_else(|| {
            errors.push(format!(
                "'payload.timestamp' is not an ISO 8601 time ({s:?})"
            ));
            None
        }),
        Some(_) => {
            errors.push("'payload.timestamp' must be a string".to_owned());
            None
        }
    };
    let links = list(&obj, "links", &mut errors, |v| {
        let href = v.get("href").and_then(Value::as_str)?;
        Some(Link {
            href: href.to_owned(),
            text: v.get("text").and_then(Value::as_str).map(str::to_owned),
        })
    });
    match (routing_key, summary) {
        (Some(routing_key), Some(summary)) if errors.is_empty() => Ok(ChangeEvent {
            routing_key,
            summary: truncate(summary),
            source: optional_str(&payload, "source"),
            timestamp,
            details: payload
                .get("custom_details")
                .cloned()
                .unwrap_or(Value::Null),
            links,
        }),
        _ => Err(errors),
    }
}

fn object(body: &[u8]) -> Result<Map<String, Value>, Vec<String>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(vec!["the event must be a JSON object".to_owned()]),
        Err(e) => Err(vec![format!("the body is not valid JSON: {e}")]),
    }
}

fn required_str(
    obj: &Map<String, Value>,
    key: &str,
    shown: &str,
    errors: &mut Vec<String>,
) -> Option<String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            errors.push(format!("'{shown}' is missing or blank"));
            None
        }
        Some(_) => {
            errors.push(format!("'{shown}' must be a string"));
            None
        }
    }
}

fn optional_str(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn dedup_key(
    obj: &Map<String, Value>,
    key: &str,
    action: Option<Action>,
    errors: &mut Vec<String>,
) -> Option<String> {
    let value = match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        None | Some(Value::Null) => None,
        Some(Value::String(_)) => None,
        Some(_) => {
            errors.push(format!("'{key}' must be a string"));
            return None;
        }
    };
    if let Some(Err(e)) = value
        .as_deref()
        .map(|v| domain::text::check_key_length(key, v))
    {
        errors.push(e.to_string());
    }
    if value.is_none() && matches!(action, Some(Action::Acknowledge | Action::Resolve)) {
        errors.push(format!(
            "'{key}' is required for acknowledge and resolve events"
        ));
    }
    value
}

fn truncate(s: String) -> String {
    match s.char_indices().nth(MAX_SUMMARY) {
        Some((at, _)) => s[..at].to_owned(),
        None => s,
    }
}

/// Parses an ISO 8601 instant as senders write it: `Z`, `+00:00` or `+0000`.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    // A `+0000` offset (no colon) is common; put the colon in and try again.
    let split = s.len().checked_sub(5)?;
    let (head, offset) = (s.get(..split)?, s.get(split..)?);
    let (sign, digits) = offset.split_at(1);
    if !matches!(sign, "+" | "-") || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    format!("{head}{sign}{}:{}", &digits[..2], &digits[2..])
        .parse()
        .ok()
}

fn trigger_body(
    p: &Map<String, Value>,
    top: &Map<String, Value>,
    errors: &mut Vec<String>,
) -> Option<AlertBody> {
    let before = errors.len();
    let summary = required_str(p, "summary", "payload.summary", errors);
    let source = required_str(p, "source", "payload.source", errors);
    let severity = match p.get("severity") {
        Some(Value::String(s)) => match s.parse::<Severity>() {
            Ok(v) => Some(v),
            Err(()) => {
                errors.push(format!(
                    "'payload.severity' is invalid ({s:?}): must be one of critical, error, warning, info"
                ));
                None
            }
        },
        _ => {
            errors.push("'payload.severity' is missing or blank".to_owned());
            None
        }
    };
    let timestamp = match p.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match parse_timestamp(s) {
            Some(t) => Some(t),
            None => {
                errors.push(format!(
                    "'payload.timestamp' is not an ISO 8601 time ({s:?})"
                ));
                None
            }
        },
        Some(_) => {
            errors.push("'payload.timestamp' must be a string".to_owned());
            None
        }
    };
    let links = list(top, "links", errors, |v| {
        let href = v.get("href").and_then(Value::as_str)?;
        Some(Link {
            href: href.to_owned(),
            text: v.get("text").and_then(Value::as_str).map(str::to_owned),
        })
    });
    let images = list(top, "images", errors, |v| {
        let src = v.get("src").and_then(Value::as_str)?;
        Some(Image {
            src: src.to_owned(),
            href: v.get("href").and_then(Value::as_str).map(str::to_owned),
            alt: v.get("alt").and_then(Value::as_str).map(str::to_owned),
        })
    });
    if errors.len() > before {
        return None;
    }
    Some(AlertBody {
        summary: truncate(summary?),
        source: source?,
        severity: severity?,
        timestamp,
        component: optional_str(p, "component"),
        group: optional_str(p, "group"),
        class: optional_str(p, "class"),
        details: p.get("custom_details").cloned().unwrap_or(Value::Null),
        links,
        images,
        client: optional_str(top, "client"),
        client_url: optional_str(top, "client_url"),
    })
}

/// Reads an optional list of objects; an entry without its required field is an error
/// naming its index.
fn list<T>(
    obj: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<String>,
    item: impl Fn(&Value) -> Option<T>,
) -> Vec<T> {
    match obj.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, v) in items.iter().enumerate() {
                match item(v) {
                    Some(t) => out.push(t),
                    None => errors.push(format!(
                        "'{key}[{i}]' is invalid: needs {}",
                        if key == "links" { "href" } else { "src" }
                    )),
                }
            }
            out
        }
        Some(_) => {
            errors.push(format!("'{key}' must be a list"));
            Vec::new()
        }
    }
}
