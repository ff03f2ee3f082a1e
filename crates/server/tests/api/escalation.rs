//! Escalation and holds: maintenance windows, flapping, acknowledgement timeouts and
//! snoozes, escalating and reassigning, and escalations level by level.

use super::*;

test_support::on_both_backends!(
    maintenance_windows_hold_alerts_and_release_those_still_firing,
    acknowledgements_time_out_and_snoozes_end,
    responders_escalate_and_reassign,
    flapping_alerts_are_held,
    escalations_page_level_by_level_until_someone_acknowledges,
);

async fn timeline_kinds(app: &TestApp, token: &str, id: &Value) -> Vec<String> {
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(token),
            None,
        )
        .await;
    shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn maintenance_windows_hold_alerts_and_release_those_still_firing(store: TestStore) {
    let app = app(store).await;
    // t0 is 2023-11-14T22:13:20Z: the window runs 22:00 to 23:00 UTC, every Tuesday.
    app.apply(
        "maintenance.yaml",
        r#"
apiVersion: shinrai/v1
kind: MaintenanceWindow
metadata: {name: db-upgrade, labels: {company: acme}}
spec:
  description: Postgres 17 upgrade
  selector: product=shop
  start: "2023-11-07T23:00"
  duration_minutes: 60
  time_zone: Europe/Berlin
  rrule: FREQ=WEEKLY;BYDAY=TU
"#,
    )
    .await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    for dedup in ["disk", "flaky"] {
        let (status, body) = enqueue(
            &app,
            trigger("acme-checkout-key-0001", Some(dedup), "Disk 91%"),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    // Another company's service is not covered.
    enqueue(
        &app,
        trigger("globex-bidder-key-0001", Some("bids"), "Bids failing"),
    )
    .await;
    assert!(
        incidents_of(&app, &admin, "checkout").await.is_empty(),
        "held: no incident"
    );
    assert_eq!(incidents_of(&app, &admin, "bidder").await.len(), 1);
    let (_, held) = app
        .call(Method::GET, "/api/v1/alerts?held=true", Some(&admin), None)
        .await;
    let held = held["items"].as_array().unwrap();
    assert_eq!(held.len(), 2, "{held:?}");
    assert_eq!(
        held[0]["held"],
        "maintenance: db-upgrade (Postgres 17 upgrade)"
    );
    assert_eq!(held[0]["incident"], Value::Null);
    // One recovers during the window; the other still fires when it ends at 23:00Z.
    enqueue(
        &app,
        json!({"routing_key": "acme-checkout-key-0001", "event_action": "resolve", "dedup_key": "flaky"}),
    )
    .await;
    app.clock
        .advance(std::time::Duration::from_secs(46 * 60 + 40));
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    let open = incidents_of(&app, &admin, "checkout").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["dedup_keys"], json!(["disk"]));
    assert_eq!(
        timeline_kinds(&app, &admin, &open[0]["id"]).await,
        ["alert.triggered", "alert.released"]
    );
    // After the window, alerts page as usual.
    let (status, _) = enqueue(
        &app,
        trigger("acme-checkout-key-0001", Some("cpu"), "CPU 99%"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(incidents_of(&app, &admin, "checkout").await.len(), 2);

    // A window that does not hold together is refused, field by field.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/maintenance-windows",
            Some(&admin),
            Some(json!({"metadata": {"name": "bad", "labels": {"company": "acme"}},
                        "spec": {"services": ["checkout"], "start": "2023-11-07", "duration_minutes": 60,
                                 "rrule": "FREQ=YEARLY"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .map(|p| p.iter().filter_map(|x| x["field"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        fields.contains(&"spec.start") && fields.contains(&"spec.rrule"),
        "{body}"
    );
}

const PATIENT: &str = r#"
apiVersion: shinrai/v1
kind: Service
metadata: {name: payments, labels: {company: acme, product: shop}}
spec:
  owner_team: shop
  acknowledgement_timeout_minutes: 30
  flapping: {changes: 3, minutes: 10}
  integrations: [{name: prom, type: pagerduty, key: acme-payments-key-0001}]
"#;

async fn open_one(app: &TestApp, admin: &str, dedup: &str) -> Value {
    let (status, body) = enqueue(
        app,
        trigger("acme-payments-key-0001", Some(dedup), "Payments failing"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let list = incidents_of(app, admin, "payments").await;
    list.iter()
        .find(|i| i["dedup_keys"][0] == dedup && i["status"] != "resolved")
        .expect("an open incident")["id"]
        .clone()
}

async fn acknowledgements_time_out_and_snoozes_end(store: TestStore) {
    let app = app(store).await;
    app.apply("payments.yaml", PATIENT).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let id = open_one(&app, &admin, "errors").await;
    let act = |what: &'static str, body: Option<Value>| {
        let app = &app;
        let admin = admin.clone();
        let id = id.clone();
        async move {
            app.call(
                Method::POST,
                &format!("/api/v1/incidents/{id}/{what}"),
                Some(&admin),
                body,
            )
            .await
        }
    };
    let (status, body) = act("snooze", Some(json!({"minutes": 15}))).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a triggered incident is not snoozed: {body}"
    );
    let (status, body) = act("acknowledge", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "acknowledged");
    app.clock
        .advance(std::time::Duration::from_secs(30 * 60 - 1));
    assert_eq!(app.timers.tick().await.unwrap(), 0);
    app.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        shown["status"], "triggered",
        "the acknowledgement timed out"
    );
    let last = shown["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "incident.unacknowledged");
    assert_eq!(
        last["data"]["reason"],
        "the acknowledgement timed out after 30 minutes"
    );

    act("acknowledge", None).await;
    let (status, body) = act("snooze", Some(json!({"minutes": 15}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["snoozed_until"].is_string(), "{body}");
    let (status, body) = act("snooze", Some(json!({"minutes": 0}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "minutes");
    // The snooze replaced the timeout: it wakes at 15 minutes, not 30.
    app.clock.advance(std::time::Duration::from_secs(15 * 60));
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(shown["status"], "triggered");
    assert_eq!(shown["snoozed_until"], Value::Null);
    assert_eq!(
        shown["timeline"].as_array().unwrap().last().unwrap()["data"]["reason"],
        "the snooze ended"
    );
    // Resolving ends every timer of the incident.
    act("acknowledge", None).await;
    act("resolve", None).await;
    assert!(timers(&app).await.is_empty());
}

async fn responders_escalate_and_reassign(store: TestStore) {
    let app = app(store).await;
    app.apply("payments.yaml", PATIENT).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let id = open_one(&app, &admin, "errors").await;
    let path = |what: &str| format!("/api/v1/incidents/{id}/{what}");
    app.call(Method::POST, &path("acknowledge"), Some(&admin), None)
        .await;
    let (status, body) = app
        .call(Method::POST, &path("escalate"), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "triggered", "escalating pages again");
    let (status, body) = app
        .call(
            Method::POST,
            &path("reassign"),
            Some(&admin),
            Some(json!({"to": ["ann"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["assignees"], json!(["ann"]));
    let (status, body) = app
        .call(
            Method::POST,
            &path("reassign"),
            Some(&admin),
            Some(json!({"to": ["ann", "nobody"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "to[1]");
    // The service has no escalation policy; the person it was given to is paged anyway.
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    let kinds = timeline_kinds(&app, &admin, &id).await;
    assert_eq!(
        kinds,
        [
            "alert.triggered",
            "incident.acknowledged",
            "incident.escalated",
            "incident.retriggered",
            "incident.reassigned",
            "escalation.reassigned"
        ]
    );
    let queued = app
        .store
        .list_notifications(&store::NotificationQuery {
            incident: id.as_i64(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        queued.iter().map(|n| n.user.as_str()).collect::<Vec<_>>(),
        ["ann"]
    );
    app.call(Method::POST, &path("resolve"), Some(&admin), None)
        .await;
    let (status, body) = app
        .call(Method::POST, &path("escalate"), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

async fn flapping_alerts_are_held(store: TestStore) {
    let app = app(store).await;
    app.apply("payments.yaml", PATIENT).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let resolve = json!({"routing_key": "acme-payments-key-0001", "event_action": "resolve", "dedup_key": "flappy"});
    // Changes 1 to 3 page as usual; a trigger as the 5th change within 10 minutes is
    // flapping (the 4th, a resolve, is never held).
    let first = open_one(&app, &admin, "flappy").await;
    enqueue(&app, resolve.clone()).await;
    app.clock.advance(std::time::Duration::from_secs(60));
    open_one(&app, &admin, "flappy").await;
    enqueue(&app, resolve.clone()).await;
    let (status, _) = enqueue(
        &app,
        trigger("acme-payments-key-0001", Some("flappy"), "Payments failing"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let list = incidents_of(&app, &admin, "payments").await;
    assert_eq!(
        list.len(),
        2,
        "the flapping trigger opened no incident: {list:?}"
    );
    assert!(list.iter().all(|i| i["status"] == "resolved"));
    let latest = list
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .max()
        .unwrap();
    assert!(latest > first.as_i64().unwrap());
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{latest}"),
            Some(&admin),
            None,
        )
        .await;
    let held = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "alert.held")
        .cloned();
    assert_eq!(
        held.expect("the reason is on the timeline")["data"]["reason"],
        "flapping: 5 changes in 10 minutes"
    );
}

/// The timeline's escalation lines: (kind, people).
async fn escalations(app: &TestApp, token: &str, id: i64) -> Vec<(String, Vec<String>)> {
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(token),
            None,
        )
        .await;
    shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"].as_str().unwrap().starts_with("escalation."))
        .map(|l| {
            let people = l["data"]["people"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect();
            (l["kind"].as_str().unwrap().to_owned(), people)
        })
        .collect()
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

async fn escalations_page_level_by_level_until_someone_acknowledges(store: TestStore) {
    let app = app(store).await;
    app.apply("oncall.yaml", ONCALL).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let minutes = |m: u64| std::time::Duration::from_secs(m * 60);

    // t0 is 22:13Z: the office-hours schedule of level 1 has a gap, so level 2 (bob, on
    // call on `primary`) is paged at once, and the timeline says why.
    let first = page_orders(&app, "one").await;
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    assert_eq!(
        escalations(&app, &admin, first).await,
        [("escalation.level".into(), owned(&["bob"]))]
    );
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{first}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(shown["assignees"], json!(["bob"]));
    let line = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "escalation.level")
        .unwrap()
        .clone();
    assert_eq!(line["data"]["level"], 2);
    assert_eq!(
        line["data"]["skipped"],
        json!([
            "level 1: schedule days has nobody on call",
            "level 1: nobody to page; escalated at once"
        ])
    );
    // Nobody acknowledges: after level 2's 15 minutes, level 3; after its 5, the fallback
    // (the team has no admins of its own: acme's admin, ann).
    app.clock
        .advance(minutes(15) - std::time::Duration::from_secs(1));
    assert_eq!(app.timers.tick().await.unwrap(), 0);
    app.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    app.clock.advance(minutes(5));
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    assert_eq!(
        escalations(&app, &admin, first).await,
        [
            ("escalation.level".into(), owned(&["bob"])),
            ("escalation.level".into(), owned(&["cho"])),
            ("escalation.exhausted".into(), owned(&["ann"])),
        ]
    );
    app.clock.advance(minutes(60));
    assert_eq!(
        app.timers.tick().await.unwrap(),
        0,
        "an exhausted escalation is over"
    );

    // An acknowledgement stops escalation.
    let second = page_orders(&app, "two").await;
    app.timers.tick().await.unwrap();
    app.call(
        Method::POST,
        &format!("/api/v1/incidents/{second}/acknowledge"),
        Some(&admin),
        None,
    )
    .await;
    app.clock.advance(minutes(60));
    assert_eq!(app.timers.tick().await.unwrap(), 0);
    assert_eq!(escalations(&app, &admin, second).await.len(), 1);

    // Escalate now pages the next level without waiting.
    let third = page_orders(&app, "three").await;
    app.timers.tick().await.unwrap();
    app.call(
        Method::POST,
        &format!("/api/v1/incidents/{third}/escalate"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    assert_eq!(
        escalations(&app, &admin, third).await,
        [
            ("escalation.level".into(), owned(&["bob"])),
            ("escalation.level".into(), owned(&["cho"]))
        ]
    );

    // The policy was copied onto the incident: editing it changes no running escalation.
    let fourth = page_orders(&app, "four").await;
    app.timers.tick().await.unwrap();
    app.apply(
        "oncall.yaml",
        &ONCALL.replace(
            "{targets: [{user: cho}], delay_minutes: 5}",
            "{targets: [{user: ann}], delay_minutes: 5}",
        ),
    )
    .await;
    app.clock.advance(minutes(15));
    app.timers.tick().await.unwrap();
    assert_eq!(
        escalations(&app, &admin, fourth).await[1].1,
        owned(&["cho"])
    );
    // A new incident follows the new policy.
    app.call(
        Method::POST,
        &format!("/api/v1/incidents/{fourth}/resolve"),
        Some(&admin),
        None,
    )
    .await;
    let fifth = page_orders(&app, "five").await;
    app.timers.tick().await.unwrap();
    app.clock.advance(minutes(15));
    app.timers.tick().await.unwrap();
    assert_eq!(escalations(&app, &admin, fifth).await[1].1, owned(&["ann"]));

    // Reassigning an acknowledged incident pages the new person at once, where the
    // escalation stands (level 2); if they do not acknowledge within that level's 15
    // minutes, level 3 follows.
    app.call(
        Method::POST,
        &format!("/api/v1/incidents/{fifth}/resolve"),
        Some(&admin),
        None,
    )
    .await;
    let sixth = page_orders(&app, "six").await;
    app.timers.tick().await.unwrap();
    let act = |what: &str, body: Option<Value>| {
        let (app, admin) = (&app, admin.clone());
        let path = format!("/api/v1/incidents/{sixth}/{what}");
        async move {
            let (status, body) = app.call(Method::POST, &path, Some(&admin), body).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            body
        }
    };
    act("acknowledge", None).await;
    let reassigned = act("reassign", Some(json!({"to": ["cho"]}))).await;
    assert_eq!(reassigned["status"], "triggered");
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    assert_eq!(
        escalations(&app, &admin, sixth).await,
        [
            ("escalation.level".into(), owned(&["bob"])),
            ("escalation.reassigned".into(), owned(&["cho"])),
        ]
    );
    let paged: Vec<String> = app
        .store
        .list_notifications(&store::NotificationQuery {
            incident: Some(sixth),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|n| n.user.to_string())
        .collect();
    assert!(paged.contains(&"cho".to_owned()), "{paged:?}");
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{sixth}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(shown["assignees"], json!(["cho"]));
    app.clock
        .advance(minutes(15) - std::time::Duration::from_secs(1));
    assert_eq!(app.timers.tick().await.unwrap(), 0);
    app.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    assert_eq!(
        escalations(&app, &admin, sixth).await[2],
        ("escalation.level".into(), owned(&["ann"]))
    );
}
