//! Events in: each sender's format (PagerDuty, Alertmanager, generic JSON, Datadog, Sentry,
//! heartbeats), rate limits, change events and routers.
//!
//! Longer than 600 lines because each test is one end-to-end story run on both backends,
//! read top to bottom; splitting a story would hide its steps.

use super::*;

test_support::on_both_backends!(
    pagerduty_events_open_repeat_and_resolve_incidents,
    the_pagerduty_python_client_works_unchanged,
    alertmanager_webhooks_keep_a_group_on_one_incident,
    generic_json_events_open_and_resolve_incidents,
    a_key_over_its_event_limit_gets_429_until_the_minute_refills,
    change_events_show_on_incidents_nearby,
    datadog_webhooks_trigger_and_recover,
    heartbeats_page_when_pings_stop_and_resolve_on_the_next,
    sentry_webhooks_are_verified_and_open_and_resolve_incidents,
    routers_send_each_alert_to_the_service_its_rules_pick,
);

async fn pagerduty_events_open_repeat_and_resolve_incidents(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let key = "acme-checkout-key-0001";
    let (status, body) = enqueue(&app, trigger(key, Some("latency"), "p99 above 800ms")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        body,
        json!({"status": "success", "message": "Event processed", "dedup_key": "latency"})
    );
    let (status, _) = enqueue(&app, trigger(key, Some("latency"), "p99 above 800ms")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "a retry is accepted");

    let (_, list) = app
        .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "a retried trigger opens no second incident: {list}"
    );
    let incident = &items[0];
    assert_eq!(incident["status"], "triggered");
    assert_eq!(incident["urgency"], "high");
    assert_eq!(incident["service"], "checkout");
    assert_eq!(incident["dedup_keys"], json!(["latency"]));
    assert_eq!(incident["number"], incident["id"]);
    let id = incident["id"].as_i64().unwrap();

    // A trigger without a dedup key gets one, and opens its own incident.
    let (_, body) = enqueue(&app, trigger(key, None, "disk full")).await;
    assert_eq!(body["dedup_key"].as_str().unwrap().len(), 32);

    let resolve = json!({"routing_key": key, "event_action": "resolve", "dedup_key": "latency"});
    let (status, _) = enqueue(&app, resolve.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(shown["status"], "resolved", "{shown}");
    assert_eq!(shown["resolved_by"], "integration:checkout/prom");
    assert_eq!(shown["alerts"][0]["occurrences"], 2);
    let kinds: Vec<_> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "alert.triggered",
            "alert.repeated",
            "alert.resolved",
            "incident.resolved"
        ]
    );
    // Resolving again, or with another service's key, is accepted and changes nothing.
    assert_eq!(enqueue(&app, resolve).await.0, StatusCode::ACCEPTED);
    let other = json!({"routing_key": "globex-bidder-key-0001", "event_action": "acknowledge", "dedup_key": "disk"});
    assert_eq!(enqueue(&app, other).await.0, StatusCode::ACCEPTED);

    // Bad input answers in PagerDuty's own format.
    let (status, body) = enqueue(
        &app,
        json!({"routing_key": key, "event_action": "trigger", "payload": {}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "invalid event");
    assert_eq!(body["message"], "Event object is invalid");
    assert_eq!(body["errors"].as_array().unwrap().len(), 3, "{body}");
    let (status, body) = enqueue(&app, trigger("no-such-key-000000001", Some("x"), "y")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["status"], "invalid event");
    let big = trigger(key, Some("big"), &"x".repeat(600 * 1024));
    let (status, body) = enqueue(&app, big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (_, list) = app
        .call(
            Method::GET,
            "/api/v1/incidents?status=triggered",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "nothing of the refused events was stored"
    );

    // The legacy v1 API.
    let v1 = json!({"service_key": key, "event_type": "trigger", "incident_key": "legacy", "description": "Nagios says no"});
    let (status, body) = app
        .call(
            Method::POST,
            "/generic/2010-04-15/create_event.json",
            None,
            Some(v1),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["incident_key"], "legacy");
}

/// PagerDuty's own Python client (`pdpyras`, installed by scripts/test) pointed at shinrai.
async fn the_pagerduty_python_client_works_unchanged(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/senders/pdpyras_events.py"
            ))
            .args([base.as_str(), "acme-checkout-key-0001"])
            .output()
            .expect("run python3 (scripts/test provides it with pdpyras)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "pdpyras failed (run through scripts/test, which installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["first"], "checkout/latency");
    assert_eq!(got["retry"], "checkout/latency");
    assert_eq!(got["generated"].as_str().unwrap().len(), 32);
    assert_eq!(got["invalid"]["status"], 400, "{got}");
    assert_eq!(got["invalid"]["body"]["status"], "invalid event");

    let (_, list) = app
        .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    let latency = items
        .iter()
        .find(|i| i["dedup_keys"] == json!(["checkout/latency"]))
        .unwrap();
    assert_eq!(latency["status"], "resolved");
    assert!(latency["acknowledged_at"].is_string());
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{}", latency["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(shown["alerts"][0]["body"]["details"]["p99_ms"], 870);
    assert_eq!(shown["alerts"][0]["body"]["links"][0]["text"], "Dashboard");
}

async fn alertmanager_webhooks_keep_a_group_on_one_incident(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let hook = "/integrations/alertmanager/acme-checkout-am-hook-01";
    let post = |alerts: Value, truncated: u64| {
        json!({"version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": truncated,
               "status": "firing", "receiver": "shinrai", "groupLabels": {}, "commonLabels": {},
               "commonAnnotations": {}, "externalURL": "http://am:9093", "alerts": alerts})
    };
    let alert = |fp: &str, status: &str| {
        json!({"status": status, "labels": {"alertname": "HighLatency", "instance": fp},
               "annotations": {"summary": "slow"}, "startsAt": "2026-11-25T10:00:00Z",
               "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": fp})
    };
    let send = |body: Value| app.call(Method::POST, hook, None, Some(body));
    let incidents = async || {
        let (_, list) = app
            .call(
                Method::GET,
                "/api/v1/incidents?status=triggered,acknowledged,resolved",
                Some(&admin),
                None,
            )
            .await;
        list["items"].as_array().unwrap().clone()
    };

    let both = post(json!([alert("aaa", "firing"), alert("bbb", "firing")]), 0);
    let (status, body) = send(both.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The second Alertmanager of an HA pair sends the same group: nothing new.
    assert_eq!(send(both).await.0, StatusCode::OK);
    let all = incidents().await;
    assert_eq!(all.len(), 1, "one incident per group: {all:?}");
    assert_eq!(all[0]["dedup_keys"], json!(["aaa", "bbb"]));
    let id = all[0]["id"].as_i64().unwrap();
    let shown = async || {
        app.call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&admin),
            None,
        )
        .await
        .1
    };

    // A truncated POST that leaves bbb out says nothing about bbb.
    send(post(json!([alert("aaa", "firing")]), 1)).await;
    let detail = shown().await;
    let open = detail["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] != "resolved")
        .count();
    assert_eq!(open, 2, "{detail}");
    // A complete POST without bbb means bbb resolved.
    send(post(json!([alert("aaa", "firing")]), 0)).await;
    let detail = shown().await;
    let statuses: Vec<_> = detail["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["triggered", "resolved"]);
    assert_eq!(detail["status"], "triggered");
    send(post(json!([alert("aaa", "resolved")]), 0)).await;
    assert_eq!(shown().await["status"], "resolved");

    // Bad input: 4xx, which Alertmanager does not retry.
    assert_eq!(send(json!({"alerts": []})).await.0, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .call(
            Method::POST,
            "/integrations/alertmanager/no-such-key-0000001",
            None,
            Some(post(json!([]), 0)),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A PagerDuty integration's key is not an Alertmanager one.
    let (status, _) = app
        .call(
            Method::POST,
            "/integrations/alertmanager/acme-checkout-key-0001",
            None,
            Some(post(json!([]), 0)),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn generic_json_events_open_and_resolve_incidents(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let url = "/integrations/generic/acme-checkout-generic-01";
    let trigger = json!({"dedup_key": "db1/disk", "status": "firing", "summary": "Disk 95% full",
        "severity": "warning", "source": "db1", "labels": {"team": "data"}});
    let (status, body) = app.call(Method::POST, url, None, Some(trigger)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["dedup_key"], "db1/disk");
    let (_, list) = app
        .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
        .await;
    let incident = list["items"][0].clone();
    assert_eq!(
        (incident["urgency"].as_str(), incident["summary"].as_str()),
        (Some("low"), Some("Disk 95% full"))
    );
    let (status, _) = app
        .call(
            Method::POST,
            url,
            None,
            Some(json!({"dedup_key": "db1/disk", "status": "ok"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{}", incident["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(shown["status"], "resolved");
    assert_eq!(
        shown["alerts"][0]["body"]["details"]["labels"]["team"],
        "data"
    );

    let (status, body) = app
        .call(Method::POST, url, None, Some(json!({"status": "trigger"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0],
        "'summary' is missing: a trigger says what is wrong"
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/integrations/generic/acme-checkout-key-0001",
            None,
            Some(json!({"status": "trigger", "summary": "x"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a PagerDuty integration's key is not a generic one"
    );
}

async fn a_key_over_its_event_limit_gets_429_until_the_minute_refills(store: TestStore) {
    let settings = server::Settings {
        event_rate_limit: Some(2),
        ..server::Settings::default()
    };
    let app = TestApp::start_with(store, settings).await;
    app.apply("org.yaml", ORG).await;
    let key = "acme-checkout-key-0001";
    for i in 0..2 {
        let (status, _) = enqueue(&app, trigger(key, Some(&format!("a{i}")), "x")).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (status, body) = enqueue(&app, trigger(key, Some("a2"), "x")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["status"], "throttle event");
    // v1 says it with 403, as PagerDuty's v1 did.
    let v1 = json!({"service_key": key, "event_type": "trigger", "incident_key": "b", "description": "x"});
    let (status, _) = app
        .call(
            Method::POST,
            "/generic/2010-04-15/create_event.json",
            None,
            Some(v1),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Another key has its own budget; the limited one refills with time.
    let (status, _) = enqueue(&app, trigger("globex-bidder-key-0001", Some("g"), "x")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.clock.advance(std::time::Duration::from_secs(30));
    let (status, _) = enqueue(&app, trigger(key, Some("a2"), "x")).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "half a minute refills one event"
    );
}

async fn change_events_show_on_incidents_nearby(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let key = "acme-checkout-key-0001";
    let change = |summary: &str, minutes_before: i64| {
        let at = test_support::t0() - jiff::SignedDuration::from_mins(minutes_before);
        json!({"routing_key": key, "payload": {"summary": summary, "source": "ci", "timestamp": at.to_string(),
            "custom_details": {"sha": "abc123"}}, "links": [{"href": "https://ci.example/1", "text": "Build"}]})
    };
    let (status, body) = app
        .call(
            Method::POST,
            "/v2/change/enqueue",
            None,
            Some(change("Deployed checkout 4.2", 10)),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["message"], "Change event processed");
    app.call(
        Method::POST,
        "/v2/change/enqueue",
        None,
        Some(change("Deployed checkout 4.1", 180)),
    )
    .await;
    enqueue(&app, trigger(key, Some("errors"), "5xx above 2%")).await;
    let (_, list) = app
        .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
        .await;
    let id = &list["items"][0]["id"];
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&admin),
            None,
        )
        .await;
    let changes = shown["changes"].as_array().unwrap();
    assert_eq!(
        changes.len(),
        1,
        "only the change within the hour before: {shown}"
    );
    assert_eq!(changes[0]["summary"], "Deployed checkout 4.2");
    assert_eq!(changes[0]["body"]["details"]["sha"], "abc123");
    let (status, body) = app
        .call(
            Method::POST,
            "/v2/change/enqueue",
            None,
            Some(json!({"routing_key": key})),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid event"))
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/v2/change/enqueue",
            None,
            Some(json!({"routing_key": "nope-nope-nope-nope", "payload": {"summary": "x"}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn datadog_webhooks_trigger_and_recover(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let url = "/integrations/datadog/acme-checkout-datadog-01";
    let hook = |transition: &str| {
        json!({"dedup_key": "5521398273", "transition": transition, "title": "[Triggered] 5xx rate high",
               "alert_type": "error", "priority": "P3", "hostname": "web-1", "tags": "env:prod",
               "link": "https://app.datadoghq.com/monitors/42", "body": "5xx above 2%"})
    };
    assert_eq!(
        app.call(Method::POST, url, None, Some(hook("Triggered")))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.call(Method::POST, url, None, Some(hook("Re-Triggered")))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    let (_, list) = app
        .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let id = list["items"][0]["id"].clone();
    assert_eq!(
        app.call(Method::POST, url, None, Some(hook("Recovered")))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(shown["status"], "resolved");
    assert_eq!(shown["alerts"][0]["occurrences"], 2);
    let (status, body) = app
        .call(Method::POST, url, None, Some(json!({"title": "no keys"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

const CRON: &str = r#"
apiVersion: shinrai/v1
kind: Service
metadata: {name: backups, labels: {company: acme, product: shop}}
spec:
  owner_team: shop
  integrations:
    - {name: nightly, type: heartbeat, key: acme-backups-heartbeat, interval_minutes: 10, grace_minutes: 2}
"#;

async fn heartbeats_page_when_pings_stop_and_resolve_on_the_next(store: TestStore) {
    let app = app(store).await;
    app.apply("cron.yaml", CRON).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let url = "/integrations/heartbeat/acme-backups-heartbeat";
    // Silence before the first ping is not an alarm: nothing is armed.
    assert!(timers(&app).await.is_empty());
    let (status, body) = app.call(Method::GET, url, None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resolved"], false);
    assert_eq!(
        timers(&app).await,
        [("heartbeat".to_owned(), "backups/nightly".to_owned())]
    );
    // Interval plus grace is 12 minutes; a second before it, nothing happens.
    app.clock
        .advance(std::time::Duration::from_secs(12 * 60 - 1));
    assert_eq!(app.timers.tick().await.unwrap(), 0);
    assert!(incidents_of(&app, &admin, "backups").await.is_empty());
    app.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    let open = incidents_of(&app, &admin, "backups").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["status"], "triggered");
    assert_eq!(open[0]["urgency"], "high");
    assert_eq!(
        open[0]["summary"],
        "No heartbeat from backups/nightly for 12 minutes"
    );
    assert_eq!(open[0]["dedup_keys"], json!(["heartbeat:nightly"]));
    assert!(
        timers(&app).await.is_empty(),
        "a missed heartbeat pages once"
    );
    assert_eq!(app.timers.tick().await.unwrap(), 0);

    // The next ping (by POST, as a job might send) resolves it and arms the deadline again.
    let (status, body) = app.call(Method::POST, url, None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resolved"], true);
    let open = incidents_of(&app, &admin, "backups").await;
    assert_eq!(open[0]["status"], "resolved");
    assert_eq!(timers(&app).await.len(), 1);

    let (status, body) = app
        .call(
            Method::GET,
            "/integrations/heartbeat/not-a-key-of-anything",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // A key of another type is not a heartbeat.
    let (status, _) = app
        .call(
            Method::GET,
            "/integrations/heartbeat/acme-checkout-key-0001",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn sentry_signature(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn sentry_webhooks_are_verified_and_open_and_resolve_incidents(store: TestStore) {
    let mut settings = server::Settings::default();
    settings.secrets.insert(
        "sentry-web".into(),
        "client-secret-of-the-sentry-app".into(),
    );
    let app = TestApp::start_with(store, settings).await;
    app.apply("org.yaml", ORG).await;
    app.apply(
        "web.yaml",
        r#"
apiVersion: shinrai/v1
kind: Service
metadata: {name: web, labels: {company: acme, product: shop}}
spec:
  owner_team: shop
  integrations:
    - {name: sentry, type: sentry, key: acme-web-sentry-0001, secret: sentry-web}
    - {name: unset, type: sentry, key: acme-web-sentry-0002, secret: sentry-nobody-set}
"#,
    )
    .await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let post =
        |key: &'static str, resource: &'static str, body: Value, signature: Option<String>| {
            let app = &app;
            async move {
                let raw = serde_json::to_vec(&body).unwrap();
                let signature = signature
                    .unwrap_or_else(|| sentry_signature("client-secret-of-the-sentry-app", &raw));
                let resp = app
                    .http
                    .post(format!("{}/integrations/sentry/{key}", app.base))
                    .header("content-type", "application/json")
                    .header("Sentry-Hook-Resource", resource)
                    .header("Sentry-Hook-Timestamp", "1700000000")
                    .header("Sentry-Hook-Signature", signature)
                    .body(raw)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                (status, resp.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
    let metric = |action: &str| {
        json!({"action": action, "installation": {"uuid": "7a4d-…"},
               "data": {"metric_alert": {"id": "4011", "alert_rule": {"id": 9, "name": "p95 latency"},
                                         "projects": ["web"], "date_detected": "2023-11-14T22:10:00Z"},
                        "description_title": "Critical: p95 latency above 800ms",
                        "description_text": "p95 is 1.2s", "web_url": "https://sentry.io/organizations/acme/alerts/rules/details/9/"}})
    };
    let (status, body) = post(
        "acme-web-sentry-0001",
        "metric_alert",
        metric("critical"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let open = incidents_of(&app, &admin, "web").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["summary"], "Critical: p95 latency above 800ms");
    assert_eq!(open[0]["urgency"], "high");

    // Unsigned, or signed with another secret, or a body changed after signing: refused.
    let forged = sentry_signature("not-the-secret", b"{}");
    for signature in [
        String::new(),
        forged,
        sentry_signature("client-secret-of-the-sentry-app", b"{}"),
    ] {
        let (status, body) = post(
            "acme-web-sentry-0001",
            "metric_alert",
            metric("resolved"),
            Some(signature),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    assert_eq!(
        incidents_of(&app, &admin, "web").await[0]["status"],
        "triggered"
    );

    let (status, body) = post(
        "acme-web-sentry-0001",
        "installation",
        json!({"action": "created", "data": {}}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ignored");
    let (status, body) = post(
        "acme-web-sentry-0001",
        "metric_alert",
        json!({"action": "critical", "data": {}}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("data.metric_alert"),
        "{body}"
    );

    let (status, body) = post(
        "acme-web-sentry-0001",
        "metric_alert",
        metric("resolved"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        incidents_of(&app, &admin, "web").await[0]["status"],
        "resolved"
    );

    // A secret the server was not given: the answer says which variable to set.
    let (status, body) = post(
        "acme-web-sentry-0002",
        "metric_alert",
        metric("critical"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("SHINRAI_SECRET_SENTRY_NOBODY_SET"),
        "{body}"
    );
    let (status, _) = post(
        "acme-checkout-key-0001",
        "metric_alert",
        metric("critical"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

const ROUTED: &str = r#"
apiVersion: shinrai/v1
kind: Service
metadata: {name: db, labels: {company: acme, product: shop}}
spec: {owner_team: shop}
---
apiVersion: shinrai/v1
kind: Router
metadata: {name: acme-alerts, labels: {company: acme}}
spec:
  team: shop
  integrations:
    - {name: prometheus, type: alertmanager, key: acme-router-am-00001}
    - {name: events, type: pagerduty, key: acme-router-pd-00001}
  rules:
    - when: ['team="db"']
      service: db
    - when: ['summary=~"(?i).*postgres.*"']
      service: db
  default: checkout
"#;

async fn routers_send_each_alert_to_the_service_its_rules_pick(store: TestStore) {
    let app = app(store).await;
    app.apply("routed.yaml", ROUTED).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    // PagerDuty events: by a custom_details label, by the summary, or the default.
    let event = |dedup: &str, summary: &str, details: Value| {
        json!({"routing_key": "acme-router-pd-00001", "event_action": "trigger", "dedup_key": dedup,
               "payload": {"summary": summary, "source": "x", "severity": "error", "custom_details": details}})
    };
    for e in [
        event("replica-lag", "Replica lag 30s", json!({"team": "db"})),
        event("pg-conn", "Postgres connections at 95%", json!({})),
        event("5xx", "5xx above 2%", json!({"team": "web"})),
    ] {
        let (status, body) = enqueue(&app, e).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let keys = |list: Vec<Value>| -> Vec<String> {
        let mut k: Vec<String> = list
            .iter()
            .map(|i| i["dedup_keys"][0].as_str().unwrap().to_owned())
            .collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(incidents_of(&app, &admin, "db").await),
        ["pg-conn", "replica-lag"]
    );
    assert_eq!(keys(incidents_of(&app, &admin, "checkout").await), ["5xx"]);
    // A resolve has no labels: it goes to the service that holds the alert.
    let (status, _) = enqueue(
        &app,
        json!({"routing_key": "acme-router-pd-00001", "event_action": "resolve", "dedup_key": "replica-lag"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let db = incidents_of(&app, &admin, "db").await;
    let lag = db
        .iter()
        .find(|i| i["dedup_keys"][0] == "replica-lag")
        .unwrap();
    assert_eq!(lag["status"], "resolved");

    // Alertmanager: each alert of the group by its own labels; one that leaves the group
    // resolves on its service.
    let alert = |name: &str, team: &str, fp: &str| {
        json!({"status": "firing", "labels": {"alertname": name, "team": team}, "annotations": {},
               "startsAt": "2023-11-14T22:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
               "generatorURL": "http://prometheus/graph", "fingerprint": fp})
    };
    let hook = |alerts: Vec<Value>| {
        json!({"version": "4", "groupKey": "{}:{env=\"prod\"}", "truncatedAlerts": 0, "status": "firing",
               "receiver": "acme", "groupLabels": {"env": "prod"}, "commonLabels": {}, "commonAnnotations": {},
               "externalURL": "http://alertmanager", "alerts": alerts})
    };
    let url = "/integrations/alertmanager/acme-router-am-00001";
    let (status, body) = app
        .call(
            Method::POST,
            url,
            None,
            Some(hook(vec![
                alert("DiskFull", "db", "aa01"),
                alert("Latency", "web", "bb02"),
            ])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(incidents_of(&app, &admin, "db").await.len(), 3);
    assert_eq!(incidents_of(&app, &admin, "checkout").await.len(), 2);
    let (status, _) = app
        .call(
            Method::POST,
            url,
            None,
            Some(hook(vec![alert("Latency", "web", "bb02")])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let db = incidents_of(&app, &admin, "db").await;
    let disk = db.iter().find(|i| i["dedup_keys"][0] == "aa01").unwrap();
    assert_eq!(
        disk["status"], "resolved",
        "absent from the group's next POST: resolved"
    );
    let checkout = incidents_of(&app, &admin, "checkout").await;
    let latency = checkout
        .iter()
        .find(|i| i["dedup_keys"][0] == "bb02")
        .unwrap();
    assert_eq!(latency["status"], "triggered");

    // A router whose rule does not parse is refused with the field named.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/routers",
            Some(&admin),
            Some(json!({"metadata": {"name": "bad", "labels": {"company": "acme"}},
                        "spec": {"team": "shop", "default": "checkout", "rules": [{"when": ["team"], "service": "db"}]}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "spec.rules[0].when[0]", "{body}");
}
