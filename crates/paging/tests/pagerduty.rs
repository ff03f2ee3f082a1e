//! The PagerDuty Events API, as senders write it: every problem named, unknown fields
//! ignored, timestamps in both offset styles, long summaries cut as PagerDuty cuts them.

use paging::pagerduty::{self, parse_timestamp, parse_v1, parse_v2};
use serde_json::json;

/// Renders what parsing made of a body: the event as JSON, or one line per problem.
fn check(parse: fn(&[u8]) -> Result<paging::Event, Vec<String>>, body: &str) -> String {
    match parse(body.as_bytes()) {
        Ok(event) => serde_json::to_string_pretty(&event).unwrap(),
        Err(errors) => errors.join("\n"),
    }
}

#[test]
fn a_full_trigger_keeps_everything_the_sender_said() {
    let body = json!({
        "routing_key": "0123456789abcdef0123456789abcdef",
        "event_action": "trigger",
        "dedup_key": "srv01/HTTP",
        "payload": {
            "summary": "[FIRING:2] HighLatency checkout",
            "source": "prometheus",
            "severity": "critical",
            "timestamp": "2026-11-25T10:00:00.000+0000",
            "component": "checkout",
            "group": "prod",
            "class": "latency",
            "custom_details": {"firing": "2 alerts", "labels": {"cluster": "eu-1"}},
            "extra_field_from_a_new_sender": true
        },
        "client": "Alertmanager",
        "client_url": "http://am.example/#/alerts",
        "links": [{"href": "http://grafana.example/d/1", "text": "Dashboard"}],
        "images": [{"src": "http://grafana.example/render.png"}]
    });
    insta::assert_snapshot!(check(parse_v2, &body.to_string()), @r#"
    {
      "routing_key": "0123456789abcdef0123456789abcdef",
      "action": "trigger",
      "dedup_key": "srv01/HTTP",
      "body": {
        "summary": "[FIRING:2] HighLatency checkout",
        "source": "prometheus",
        "severity": "critical",
        "timestamp": "2026-11-25T10:00:00Z",
        "component": "checkout",
        "group": "prod",
        "class": "latency",
        "details": {
          "firing": "2 alerts",
          "labels": {
            "cluster": "eu-1"
          }
        },
        "links": [
          {
            "href": "http://grafana.example/d/1",
            "text": "Dashboard"
          }
        ],
        "images": [
          {
            "src": "http://grafana.example/render.png"
          }
        ],
        "client": "Alertmanager",
        "client_url": "http://am.example/#/alerts"
      }
    }
    "#);
}

#[test]
fn every_problem_of_an_event_is_named() {
    let body = json!({
        "routing_key": "",
        "event_action": "trigger",
        "dedup_key": "x".repeat(256),
        "payload": {"severity": "disaster", "timestamp": "yesterday"},
        "links": [{"text": "no href"}]
    });
    insta::assert_snapshot!(check(parse_v2, &body.to_string()), @r#"
    'routing_key' is missing or blank
    'dedup_key' is longer than 255 characters
    'payload.summary' is missing or blank
    'payload.source' is missing or blank
    'payload.severity' is invalid ("disaster"): must be one of critical, error, warning, info
    'payload.timestamp' is not an ISO 8601 time ("yesterday")
    'links[0]' is invalid: needs href
    "#);
}

#[test]
fn acknowledge_and_resolve_need_a_dedup_key_but_no_payload() {
    let ack = json!({"routing_key": "k", "event_action": "acknowledge"});
    insta::assert_snapshot!(check(parse_v2, &ack.to_string()), @"'dedup_key' is required for acknowledge and resolve events");
    let resolve = json!({"routing_key": "k", "event_action": "resolve", "dedup_key": "d"});
    let event = parse_v2(resolve.to_string().as_bytes()).unwrap();
    assert_eq!(event.action, paging::Action::Resolve);
    assert_eq!(event.dedup_key.as_deref(), Some("d"));
    assert_eq!(event.body, None);
}

#[test]
fn shapes_that_are_not_events() {
    insta::assert_snapshot!(check(parse_v2, "{not json"), @"the body is not valid JSON: key must be a string at line 1 column 2");
    insta::assert_snapshot!(check(parse_v2, "[1, 2]"), @"the event must be a JSON object");
    insta::assert_snapshot!(check(parse_v2, r#"{"routing_key": "k", "event_action": "page"}"#), @r#"'event_action' is invalid ("page"): must be one of trigger, acknowledge, resolve"#);
    insta::assert_snapshot!(check(parse_v2, r#"{"routing_key": "k", "event_action": "trigger"}"#), @"'payload' is missing: a trigger needs payload.summary, payload.source and payload.severity");
}

#[test]
fn a_trigger_without_a_dedup_key_leaves_it_to_the_caller() {
    let body = json!({"routing_key": "k", "event_action": "trigger",
        "payload": {"summary": "disk full", "source": "db1", "severity": "warning", "custom_details": "a string, as Alertmanager before 0.30 sends"}});
    let event = parse_v2(body.to_string().as_bytes()).unwrap();
    assert_eq!(event.dedup_key, None);
    assert_eq!(
        event.body.unwrap().details,
        json!("a string, as Alertmanager before 0.30 sends")
    );
}

#[test]
fn long_summaries_are_cut_at_1024_characters_not_bytes() {
    let summary = "信".repeat(1500);
    let body = json!({"routing_key": "k", "event_action": "trigger",
        "payload": {"summary": summary, "source": "s", "severity": "info"}});
    let event = parse_v2(body.to_string().as_bytes()).unwrap();
    let kept = event.body.unwrap().summary;
    assert_eq!(kept.chars().count(), 1024);
    assert!(summary.starts_with(&kept));
}

#[test]
fn timestamps_in_both_offset_styles() {
    let want = parse_timestamp("2026-03-08T07:30:00Z").unwrap();
    assert_eq!(parse_timestamp("2026-03-08T07:30:00+00:00"), Some(want));
    assert_eq!(parse_timestamp("2026-03-08T07:30:00.000+0000"), Some(want));
    assert_eq!(parse_timestamp("2026-03-08T02:30:00-0500"), Some(want));
    assert_eq!(parse_timestamp("2026-03-08"), None);
    assert_eq!(parse_timestamp("+0000"), None);
}

#[test]
fn legacy_v1_events() {
    let trigger = json!({"service_key": "k", "event_type": "trigger", "incident_key": "db/disk",
        "description": "Disk 95% full", "details": {"free": "5%"}, "client": "Nagios"});
    insta::assert_snapshot!(check(parse_v1, &trigger.to_string()), @r#"
    {
      "routing_key": "k",
      "action": "trigger",
      "dedup_key": "db/disk",
      "body": {
        "summary": "Disk 95% full",
        "source": "Nagios",
        "severity": "error",
        "details": {
          "free": "5%"
        },
        "client": "Nagios"
      }
    }
    "#);
    insta::assert_snapshot!(check(parse_v1, r#"{"service_key": "k", "event_type": "resolve"}"#), @"'incident_key' is required for acknowledge and resolve events");
    insta::assert_snapshot!(check(parse_v1, r#"{"event_type": "trigger"}"#), @r"
    'service_key' is missing or blank
    'description' is missing or blank
    ");
}

#[test]
fn answers_are_pagerdutys_own() {
    assert_eq!(
        pagerduty::accepted("abc"),
        json!({"status": "success", "message": "Event processed", "dedup_key": "abc"})
    );
    assert_eq!(
        pagerduty::invalid(&["'routing_key' is missing or blank".into()]),
        json!({"status": "invalid event", "message": "Event object is invalid", "errors": ["'routing_key' is missing or blank"]})
    );
    assert_eq!(pagerduty::accepted_v1("k")["incident_key"], "k");
}

#[test]
fn change_events() {
    let body = json!({"routing_key": "k", "payload": {"summary": "Deployed checkout 4.2", "source": "ci",
        "timestamp": "2026-11-25T09:00:00+0000", "custom_details": {"sha": "abc123"}},
        "links": [{"href": "https://ci.example/123", "text": "Build"}]});
    let change = pagerduty::parse_change(body.to_string().as_bytes()).unwrap();
    assert_eq!(change.summary, "Deployed checkout 4.2");
    assert_eq!(change.source.as_deref(), Some("ci"));
    assert_eq!(change.timestamp, parse_timestamp("2026-11-25T09:00:00Z"));
    assert_eq!(change.details["sha"], "abc123");
    assert_eq!(change.links[0].text.as_deref(), Some("Build"));
    let errors = pagerduty::parse_change(br#"{"payload": {"timestamp": "soon"}}"#).unwrap_err();
    assert_eq!(
        errors,
        [
            "'routing_key' is missing or blank",
            "'payload.summary' is missing or blank",
            "'payload.timestamp' is not an ISO 8601 time (\"soon\")"
        ]
    );
    assert_eq!(
        pagerduty::change_accepted()["message"],
        "Change event processed"
    );
}
