//! Prometheus Alertmanager (Debian's `prometheus-alertmanager`, which scripts/test
//! installs) as a real sender: its `pagerduty_configs` pointed at shinrai, alerts fired,
//! re-fired and resolved through its own API. The incident opens once and resolves.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use domain::{Grant, Role};
use reqwest::Method;
use serde_json::{Value, json};
use test_support::app::TestApp;

const AM: &str = "/usr/bin/prometheus-alertmanager";

const ORG: &str = r#"
apiVersion: shinrai/v1
kind: Team
metadata: {name: shop}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout, labels: {company: acme}}
spec:
  owner_team: shop
  integrations:
    - {name: alertmanager, type: pagerduty, key: acme-checkout-am-0001}
    - {name: am-webhook, type: alertmanager, key: acme-checkout-hook-0001}
"#;

struct Alertmanager {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago. Alertmanager cannot report the port it bound, so
/// this is the one place a test picks a port itself.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How the test's Alertmanager reaches shinrai.
enum Receiver {
    Pagerduty,
    Webhook,
}

fn start_alertmanager(shinrai: &str, receiver: Receiver) -> Alertmanager {
    assert!(
        std::path::Path::new(AM).exists(),
        "{AM} is missing: run the tests through scripts/test, which installs prometheus-alertmanager"
    );
    let dir = tempfile::tempdir().unwrap();
    let receiver = match receiver {
        Receiver::Pagerduty => format!(
            "pagerduty_configs:\n      - routing_key: acme-checkout-am-0001\n        url: {shinrai}/v2/enqueue\n        send_resolved: true"
        ),
        Receiver::Webhook => format!(
            "webhook_configs:\n      - url: {shinrai}/integrations/alertmanager/acme-checkout-hook-0001\n        send_resolved: true"
        ),
    };
    let config = format!(
        r#"
route:
  receiver: shinrai
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: shinrai
    {receiver}
"#
    );
    std::fs::write(dir.path().join("am.yml"), config).unwrap();
    let port = free_port();
    let child = Command::new(AM)
        .arg(format!(
            "--config.file={}",
            dir.path().join("am.yml").display()
        ))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alertmanager");
    Alertmanager {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

/// Polls until `check` holds, with a deadline: waits on the event, not on a fixed time.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_pagerduty_receiver_opens_one_incident_and_resolves_it() {
    let app = TestApp::start(test_support::sqlite_store().await).await;
    app.apply("org.yaml", ORG).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let am = start_alertmanager(&app.base, Receiver::Pagerduty);
    let http = reqwest::Client::new();

    eventually("alertmanager is ready", async || {
        let r = http.get(format!("{}/-/ready", am.base)).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;

    let alert = |ends_in: i64| {
        json!([{
            "labels": {"alertname": "HighLatency", "service": "checkout", "severity": "critical"},
            "annotations": {"summary": "p99 above 800ms"},
            "endsAt": end_time(ends_in),
        }])
    };
    // Fire, then fire again (as Prometheus re-sends every evaluation).
    for _ in 0..2 {
        let r = http
            .post(format!("{}/api/v2/alerts", am.base))
            .json(&alert(3600))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    let incident = eventually("the incident opens", async || {
        let (_, list) = app
            .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
            .await;
        list["items"].as_array().and_then(|i| i.first().cloned())
    })
    .await;
    assert_eq!(incident["service"], "checkout");
    assert!(
        incident["summary"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING:1] HighLatency"),
        "{incident}"
    );

    // Resolve it in Alertmanager: it sends a resolve with the same dedup key.
    let r = http
        .post(format!("{}/api/v2/alerts", am.base))
        .json(&alert(-1))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let path = format!("/api/v1/incidents/{}", incident["id"]);
    let resolved: Value = eventually("the incident resolves", async || {
        let (_, shown) = app.call(Method::GET, &path, Some(&admin), None).await;
        (shown["status"] == "resolved").then_some(shown)
    })
    .await;
    assert_eq!(resolved["resolved_by"], "integration:checkout/alertmanager");
    let (_, all) = app
        .call(
            Method::GET,
            "/api/v1/incidents?status=triggered,acknowledged,resolved",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        1,
        "the incident opened once: {all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_webhook_receiver_keeps_the_group_on_one_incident() {
    let app = TestApp::start(test_support::sqlite_store().await).await;
    app.apply("org.yaml", ORG).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let am = start_alertmanager(&app.base, Receiver::Webhook);
    let http = reqwest::Client::new();
    eventually("alertmanager is ready", async || {
        let r = http.get(format!("{}/-/ready", am.base)).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    let alert = |instance: &str, ends_in: i64| {
        json!({
            "labels": {"alertname": "HighLatency", "instance": instance, "severity": "critical"},
            "annotations": {"summary": "p99 above 800ms"},
            "endsAt": end_time(ends_in),
        })
    };
    let fire = |alerts: Value| {
        let http = http.clone();
        let url = format!("{}/api/v2/alerts", am.base);
        async move {
            let r = http.post(url).json(&alerts).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    };
    fire(json!([alert("web-1", 3600), alert("web-2", 3600)])).await;
    let incident = eventually("both alerts are on one incident", async || {
        let (_, list) = app
            .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
            .await;
        let first = list["items"].as_array()?.first()?.clone();
        (first["dedup_keys"].as_array()?.len() == 2).then_some(first)
    })
    .await;
    assert_eq!(incident["urgency"], "high");

    // web-1 recovers: Alertmanager reports it resolved; the incident stays open for web-2.
    fire(json!([alert("web-1", -1)])).await;
    let path = format!("/api/v1/incidents/{}", incident["id"]);
    eventually("web-1 resolves", async || {
        let (_, shown) = app.call(Method::GET, &path, Some(&admin), None).await;
        let resolved = shown["alerts"]
            .as_array()?
            .iter()
            .filter(|a| a["status"] == "resolved")
            .count();
        (resolved == 1 && shown["status"] == "triggered").then_some(())
    })
    .await;
    fire(json!([alert("web-2", -1)])).await;
    eventually("the incident resolves with its last alert", async || {
        let (_, shown) = app.call(Method::GET, &path, Some(&admin), None).await;
        (shown["status"] == "resolved").then_some(())
    })
    .await;
    let (_, all) = app
        .call(
            Method::GET,
            "/api/v1/incidents?status=triggered,acknowledged,resolved",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");
}

/// An RFC 3339 time `seconds` from now, for Alertmanager's `endsAt`.
fn end_time(seconds: i64) -> String {
    let now = runtime::SystemClock::shared();
    let at = now.now() + jiff::SignedDuration::from_secs(seconds);
    at.to_string()
}
