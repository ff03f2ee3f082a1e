//! The REST API end to end: access rules enumerated from the router, scoping between
//! companies, bad input, managed objects, sessions and the OpenAPI document. One module
//! per area; what several areas use (the example organisation, event helpers, the outbox
//! and timers as the store holds them) is here.

use domain::{Grant, Name, Role};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::routes::{Access, Method as M};
use test_support::TestStore;
use test_support::app::TestApp;

mod access;
mod email;
mod escalation;
mod incidents;
mod objects;
mod oncall;
mod phone;
mod senders;

const ORG: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ann, labels: {company: acme}}
spec: {full_name: Ann Acme, email: ann@acme.test, roles: [{role: admin, company: acme}]}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: gus, labels: {company: globex}}
spec: {full_name: Gus Globex, email: gus@globex.test}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: shop, labels: {company: acme}}
spec: {members: [ann]}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: ads, labels: {company: globex}}
spec: {members: [gus]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout, labels: {company: acme, product: shop}}
spec:
  owner_team: shop
  tier: 1
  integrations:
    - {name: prom, type: pagerduty, key: acme-checkout-key-0001}
    - {name: am, type: alertmanager, key: acme-checkout-am-hook-01}
    - {name: gen, type: generic, key: acme-checkout-generic-01}
    - {name: dd, type: datadog, key: acme-checkout-datadog-01}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: bidder, labels: {company: globex, product: ads}}
spec:
  owner_team: ads
  integrations: [{name: prom, type: pagerduty, key: globex-bidder-key-0001}]
"#;

async fn app(store: TestStore) -> TestApp {
    let app = TestApp::start(store).await;
    app.apply("org.yaml", ORG).await;
    app
}

fn method(m: M) -> Method {
    match m {
        M::Get => Method::GET,
        M::Post => Method::POST,
        M::Put => Method::PUT,
        M::Delete => Method::DELETE,
    }
}

/// Sends a PagerDuty v2 event; returns status and body.
async fn enqueue(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.call(Method::POST, "/v2/enqueue", None, Some(body))
        .await
}

fn trigger(key: &str, dedup: Option<&str>, summary: &str) -> Value {
    let mut e = json!({"routing_key": key, "event_action": "trigger",
        "payload": {"summary": summary, "source": "prometheus", "severity": "critical"}});
    if let Some(d) = dedup {
        e["dedup_key"] = json!(d);
    }
    e
}

/// The store's timers as `(kind, subject)`.
async fn timers(app: &TestApp) -> Vec<(String, String)> {
    app.store
        .list_timers()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.kind, t.subject))
        .collect()
}

async fn incidents_of(app: &TestApp, token: &str, service: &str) -> Vec<Value> {
    let (status, list) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents?service={service}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().clone()
}

const ONCALL: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: bob, labels: {company: acme}}
spec: {full_name: Bob Acme, email: bob@acme.test, roles: [{role: responder, company: acme}]}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: cho, labels: {company: acme}}
spec: {full_name: Cho Acme, email: cho@acme.test}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: primary, labels: {company: acme}}
spec:
  time_zone: UTC
  layers: [{name: weekly, users: [bob, cho], rotation: 1w, start: "2023-11-13T09:00"}]
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: days, labels: {company: acme}}
spec:
  time_zone: UTC
  layers:
    - name: office
      users: [cho]
      rotation: 1w
      start: "2023-11-13T09:00"
      restrictions: [{start: "09:00", end: "17:00"}]
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: ny, labels: {company: acme}}
spec:
  time_zone: America/New_York
  layers:
    - name: 月曜午前九時に交代する一週間ごとの主担当ローテーション、ニューヨーク時間で夏時間にも冬時間にも同じ時刻。祝日にも交代は変わりません
      users: [bob, cho]
      rotation: 1w
      start: "2026-03-02T09:00"
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {name: shop, labels: {company: acme}}
spec:
  team: shop
  levels:
    - {targets: [{schedule: days}], delay_minutes: 10}
    - {targets: [{schedule: primary}], delay_minutes: 15}
    - {targets: [{user: cho}], delay_minutes: 5}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: orders, labels: {company: acme, product: shop}}
spec:
  owner_team: shop
  escalation_policy: shop
  integrations: [{name: prom, type: pagerduty, key: acme-orders-key-000001}]
"#;

async fn page_orders(app: &TestApp, dedup: &str) -> i64 {
    let (status, body) = enqueue(
        app,
        trigger("acme-orders-key-000001", Some(dedup), "Orders failing"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.store
        .list_incidents(&store::IncidentQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id
}

/// `application/x-www-form-urlencoded` escaping.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A sender for one channel over the test server's store and manual clock, stepped by the
/// test.
fn outbox(
    app: &TestApp,
    channel: std::sync::Arc<dyn runtime::notify::Channel>,
) -> runtime::notify::OutboxWorker {
    runtime::notify::OutboxWorker {
        store: app.store.clone(),
        clock: std::sync::Arc::new(app.clock.clone()),
        channel,
        owner: "test".into(),
        lease: std::time::Duration::from_secs(120),
        max_attempts: 8,
        send_timeout: std::time::Duration::from_secs(60),
    }
}
