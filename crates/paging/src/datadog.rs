//! Datadog webhooks (`POST /integrations/datadog/{key}`). Datadog's body is a template the
//! user writes; docs/integrations.md gives the one to paste, which keys on Datadog's
//! documented variables:
//!
//! ```json
//! {"dedup_key": "$ALERT_CYCLE_KEY", "transition": "$ALERT_TRANSITION",
//!  "title": "$EVENT_TITLE", "alert_type": "$ALERT_TYPE", "priority": "$PRIORITY",
//!  "hostname": "$HOSTNAME", "tags": "$TAGS", "link": "$LINK", "body": "$EVENT_MSG"}
//! ```
//!
//! `$ALERT_CYCLE_KEY` stays the same from a monitor's trigger to its recovery, so it is
//! the dedup key; `$ALERT_TRANSITION` says what happened.

use serde_json::{Map, Value, json};

use crate::event::{Action, AlertBody, Event, Link, Severity};

/// Parses a webhook made from the documented template; `Err` names every problem.
pub fn parse(body: &[u8], routing_key: &str) -> Result<Event, Vec<String>> {
    let obj: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return Err(vec!["the webhook must be a JSON object".into()]),
        Err(e) => return Err(vec![format!("the body is not valid JSON: {e}")]),
    };
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.starts_with('$'))
    };
    let mut errors = Vec::new();
    let dedup_key = text("dedup_key");
    match dedup_key.map(|k| domain::text::check_key_length("dedup_key", k)) {
        None => errors.push(
            "'dedup_key' is missing: set it to $ALERT_CYCLE_KEY in the webhook's payload"
                .to_owned(),
        ),
        Some(Err(e)) => errors.push(e.to_string()),
        Some(Ok(())) => {}
    }
    let action = match text("transition").map(str::to_ascii_lowercase).as_deref() {
        Some(t) if t.contains("recovered") => Some(Action::Resolve),
        Some(
            "triggered" | "re-triggered" | "warn" | "re-warn" | "no data" | "re-no data"
            | "renotify",
        ) => Some(Action::Trigger),
        Some(other) => {
            errors.push(format!(
                "'transition' {other:?} is not one shinrai knows; use $ALERT_TRANSITION"
            ));
            None
        }
        None => {
            errors.push(
                "'transition' is missing: set it to $ALERT_TRANSITION in the webhook's payload"
                    .to_owned(),
            );
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let action = action.unwrap_or(Action::Trigger);
    let severity = match (
        text("priority").map(str::to_ascii_uppercase).as_deref(),
        text("alert_type"),
    ) {
        (Some("P1" | "P2"), _) => Severity::Critical,
        (Some("P3"), _) => Severity::Error,
        (Some("P4"), _) => Severity::Warning,
        (Some("P5"), _) => Severity::Info,
        (_, Some("warning")) => Severity::Warning,
        (_, Some("info" | "success")) => Severity::Info,
        _ => Severity::Error,
    };
    let tags: Vec<&str> = text("tags")
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(Event {
        routing_key: routing_key.to_owned(),
        action,
        dedup_key: dedup_key.map(str::to_owned),
        body: (action == Action::Trigger).then(|| AlertBody {
            summary: text("title").unwrap_or("Datadog monitor alert").chars().take(crate::pagerduty::MAX_SUMMARY).collect(),
            source: text("hostname").unwrap_or("datadog").to_owned(),
            severity,
            timestamp: None,
            component: None,
            group: None,
            class: None,
            details: json!({ "tags": tags, "message": text("body"), "transition": text("transition") }),
            links: text("link").map(|l| Link { href: l.to_owned(), text: Some("Datadog".into()) }).into_iter().collect(),
            images: Vec::new(),
            client: Some("Datadog".into()),
            client_url: text("link").map(str::to_owned),
        }),
        group: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(transition: &str) -> Vec<u8> {
        json!({"dedup_key": "1234567890", "transition": transition, "title": "[Triggered] CPU high on web-1",
               "alert_type": "error", "priority": "P2", "hostname": "web-1", "tags": "env:prod, team:web",
               "link": "https://app.datadoghq.com/monitors/1", "body": "CPU above 90%"})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn transitions_map_to_trigger_and_resolve() {
        let e = parse(&hook("Triggered"), "k").unwrap();
        assert_eq!(
            (e.action, e.dedup_key.as_deref()),
            (Action::Trigger, Some("1234567890"))
        );
        let b = e.body.unwrap();
        assert_eq!(
            (b.severity, b.source.as_str()),
            (Severity::Critical, "web-1")
        );
        assert_eq!(b.details["tags"], json!(["env:prod", "team:web"]));
        assert_eq!(
            parse(&hook("Re-Triggered"), "k").unwrap().action,
            Action::Trigger
        );
        assert_eq!(
            parse(&hook("Recovered"), "k").unwrap().action,
            Action::Resolve
        );
        assert_eq!(
            parse(&hook("Warn Recovered"), "k").unwrap().action,
            Action::Resolve
        );
    }

    #[test]
    fn an_unfilled_template_is_refused_with_advice() {
        let body =
            json!({"dedup_key": "$ALERT_CYCLE_KEY", "transition": "$ALERT_TRANSITION"}).to_string();
        let errors = parse(body.as_bytes(), "k").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("$ALERT_CYCLE_KEY"));
    }
}
