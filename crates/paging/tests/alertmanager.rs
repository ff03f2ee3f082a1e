//! Alertmanager's webhook: the whole group per POST, alerts by fingerprint, Grafana's
//! extra fields ignored.

use paging::alertmanager::{events, mentioned, parse, severity};
use paging::{Action, Severity};
use serde_json::json;

fn message(alerts: serde_json::Value, truncated: u64) -> serde_json::Value {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": truncated,
        "status": "firing", "receiver": "shinrai",
        "groupLabels": {"alertname": "HighLatency"}, "commonLabels": {"alertname": "HighLatency"},
        "commonAnnotations": {}, "externalURL": "http://am.example:9093",
        "alerts": alerts,
        "orgId": 1, "title": "Grafana adds this", "state": "alerting"
    })
}

fn alert(fp: &str, status: &str, labels: serde_json::Value) -> serde_json::Value {
    json!({"status": status, "labels": labels, "annotations": {"summary": "p99 above 800ms"},
           "startsAt": "2026-11-25T10:00:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
           "generatorURL": "http://prometheus.example/graph?g0.expr=x", "fingerprint": fp,
           "silenceURL": "grafana extra", "valueString": "grafana extra"})
}

#[test]
fn a_group_becomes_one_event_per_alert_keyed_by_fingerprint() {
    let body = message(
        json!([
            alert(
                "aaa",
                "firing",
                json!({"alertname": "HighLatency", "instance": "web-1", "severity": "page"})
            ),
            alert(
                "bbb",
                "resolved",
                json!({"alertname": "HighLatency", "instance": "web-2"})
            ),
        ]),
        0,
    );
    let msg = parse(body.to_string().as_bytes()).unwrap();
    let evs = events(&msg, "key");
    assert_eq!(evs.len(), 2);
    assert_eq!(
        (evs[0].action, evs[0].dedup_key.as_deref()),
        (Action::Trigger, Some("aaa"))
    );
    assert_eq!(
        evs[0].group.as_deref(),
        Some("{}:{alertname=\"HighLatency\"}")
    );
    let b = evs[0].body.as_ref().unwrap();
    assert_eq!(b.summary, "HighLatency: p99 above 800ms");
    assert_eq!(b.source, "web-1");
    assert_eq!(b.severity, Severity::Critical);
    assert_eq!(b.details["labels"]["instance"], "web-1");
    assert_eq!(b.links[0].href, "http://prometheus.example/graph?g0.expr=x");
    assert_eq!(b.client_url.as_deref(), Some("http://am.example:9093"));
    assert!(b.timestamp.is_some());
    assert_eq!(
        (evs[1].action, evs[1].dedup_key.as_deref()),
        (Action::Resolve, Some("bbb"))
    );
    assert!(evs[1].body.is_none());
    assert_eq!(mentioned(&msg), ["aaa", "bbb"]);
}

#[test]
fn severity_labels_map_to_the_four_levels() {
    let s = |v: &str| severity(&[("severity".to_owned(), v.to_owned())].into());
    assert_eq!(s("critical"), Severity::Critical);
    assert_eq!(s("Warning"), Severity::Warning);
    assert_eq!(s("info"), Severity::Info);
    assert_eq!(s("whatever"), Severity::Error);
    assert_eq!(severity(&Default::default()), Severity::Error);
}

#[test]
fn bad_messages_name_their_problems() {
    let errs = parse(b"{}").unwrap_err();
    assert!(
        errs[0].starts_with("not an Alertmanager webhook message"),
        "{errs:?}"
    );
    let body = message(json!([alert("", "pending", json!({}))]), 0);
    let errs = parse(body.to_string().as_bytes()).unwrap_err();
    assert_eq!(
        errs,
        [
            "'alerts[0].fingerprint' is empty",
            "'alerts[0].status' is \"pending\": must be firing or resolved"
        ]
    );
}
