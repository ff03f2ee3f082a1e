//! shinrai's own generic JSON, for senders that speak neither PagerDuty nor Alertmanager
//! (`POST /integrations/generic/{key}`), documented in docs/integrations.md:
//!
//! ```json
//! {"dedup_key": "db1/disk", "status": "trigger", "summary": "Disk 95% full",
//!  "severity": "warning", "source": "db1", "labels": {"team": "data"},
//!  "links": [{"href": "https://grafana.example/d/disk", "text": "Disk"}], "details": {}}
//! ```
//!
//! `status` takes `trigger`, `acknowledge` or `resolve`, and the words monitoring tools
//! use for them (`firing`, `triggered`, `problem`; `acknowledged`; `resolved`, `ok`,
//! `recovered`).

use serde_json::{Map, Value, json};

use crate::event::{Action, AlertBody, Event, Link, Severity};

/// Parses a generic event for `routing_key` (the key in the URL); `Err` names every problem.
pub fn parse(body: &[u8], routing_key: &str) -> Result<Event, Vec<String>> {
    let obj: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return Err(vec!["the event must be a JSON object".into()]),
        Err(e) => return Err(vec![format!("the body is not valid JSON: {e}")]),
    };
    let mut errors = Vec::new();
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let action = match text("status").map(str::to_ascii_lowercase).as_deref() {
        Some("trigger" | "triggered" | "firing" | "problem" | "alert") => Some(Action::Trigger),
        Some("acknowledge" | "acknowledged" | "ack") => Some(Action::Acknowledge),
        Some("resolve" | "resolved" | "ok" | "recovered") => Some(Action::Resolve),
        Some(other) => {
            errors.push(format!(
                "'status' is invalid ({other:?}): use trigger, acknowledge or resolve"
            ));
            None
        }
        None => {
            errors.push("'status' is missing: use trigger, acknowledge or resolve".into());
            None
        }
    };
    let dedup_key = text("dedup_key").map(str::to_owned);
    if let Some(Err(e)) = dedup_key
        .as_deref()
        .map(|k| domain::text::check_key_length("dedup_key", k))
    {
        errors.push(e.to_string());
    }
    if dedup_key.is_none() && matches!(action, Some(Action::Acknowledge | Action::Resolve)) {
        errors.push("'dedup_key' is required to acknowledge or resolve".into());
    }
    let severity = match text("severity") {
        None => Severity::Error,
        Some(s) => s.to_ascii_lowercase().parse().unwrap_or_else(|()| {
            errors.push(format!(
                "'severity' is invalid ({s:?}): use critical, error, warning or info"
            ));
            Severity::Error
        }),
    };
    let summary = text("summary").map(str::to_owned);
    if summary.is_none() && action == Some(Action::Trigger) {
        errors.push("'summary' is missing: a trigger says what is wrong".into());
    }
    let labels = match obj.get("labels") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) if m.values().all(Value::is_string) => m.clone(),
        Some(_) => {
            errors.push("'labels' must be an object of strings".into());
            Map::new()
        }
    };
    let links = match obj.get("links") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v.get("href").and_then(Value::as_str) {
                Some(href) => Some(Link {
                    href: href.to_owned(),
                    text: v.get("text").and_then(Value::as_str).map(str::to_owned),
                }),
                None => {
                    errors.push(format!("'links[{i}]' needs href"));
                    None
                }
            })
            .collect(),
        Some(_) => {
            errors.push("'links' must be a list".into());
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let action = action.unwrap_or(Action::Trigger);
    Ok(Event {
        routing_key: routing_key.to_owned(),
        action,
        dedup_key,
        body: (action == Action::Trigger).then(|| AlertBody {
            summary: summary.unwrap_or_default().chars().take(crate::pagerduty::MAX_SUMMARY).collect(),
            source: text("source").unwrap_or("generic").to_owned(),
            severity,
            timestamp: None,
            component: None,
            group: None,
            class: None,
            details: json!({ "labels": labels, "details": obj.get("details").cloned().unwrap_or(Value::Null) }),
            links,
            images: Vec::new(),
            client: None,
            client_url: None,
        }),
        group: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_event_and_the_words_tools_use() {
        let body = json!({"dedup_key": "db1/disk", "status": "FIRING", "summary": "Disk 95% full", "severity": "Warning",
            "source": "db1", "labels": {"team": "data"}, "links": [{"href": "https://g/d", "text": "Disk"}], "details": {"free": "5%"}});
        let e = parse(body.to_string().as_bytes(), "k").unwrap();
        assert_eq!(
            (e.action, e.dedup_key.as_deref()),
            (Action::Trigger, Some("db1/disk"))
        );
        let b = e.body.unwrap();
        assert_eq!(
            (b.summary.as_str(), b.severity, b.source.as_str()),
            ("Disk 95% full", Severity::Warning, "db1")
        );
        assert_eq!(b.details["labels"]["team"], "data");
        assert_eq!(b.details["details"]["free"], "5%");
        assert_eq!(b.links[0].text.as_deref(), Some("Disk"));
        for (word, action) in [
            ("ok", Action::Resolve),
            ("recovered", Action::Resolve),
            ("acknowledged", Action::Acknowledge),
        ] {
            let e = parse(
                json!({"dedup_key": "x", "status": word})
                    .to_string()
                    .as_bytes(),
                "k",
            )
            .unwrap();
            assert_eq!(e.action, action, "{word}");
        }
    }

    #[test]
    fn every_problem_is_named() {
        let body =
            json!({"status": "resolve", "severity": "fatal", "labels": {"n": 1}, "links": [{}]});
        assert_eq!(
            parse(body.to_string().as_bytes(), "k").unwrap_err(),
            [
                "'dedup_key' is required to acknowledge or resolve",
                "'severity' is invalid (\"fatal\"): use critical, error, warning or info",
                "'labels' must be an object of strings",
                "'links[0]' needs href"
            ]
        );
        let e = parse(br#"{"summary": "x"}"#, "k").unwrap_err();
        assert_eq!(
            e,
            ["'status' is missing: use trigger, acknowledge or resolve"]
        );
        let e = parse(br#"{"status": "trigger"}"#, "k").unwrap_err();
        assert_eq!(e, ["'summary' is missing: a trigger says what is wrong"]);
    }
}
