//! Incidents: responders' actions, opening by hand, merging, the searched list, urgency
//! rules, grouping and the analytics report.
//!
//! Longer than 600 lines because each test is one end-to-end story run on both backends,
//! read top to bottom; splitting a story would hide its steps.

use super::*;

test_support::on_both_backends!(
    responders_act_on_incidents_in_their_scope,
    analytics_report_mtta_and_mttr_per_service_product_and_company,
    people_open_incidents_by_hand,
    the_incident_list_is_searched_sorted_and_paged,
    responders_merge_incidents_they_may_act_on,
    urgency_rules_follow_the_services_business_hours,
    alerts_with_the_same_labels_share_an_incident,
);

async fn responders_act_on_incidents_in_their_scope(store: TestStore) {
    let app = app(store).await;
    for (key, dedup) in [
        ("acme-checkout-key-0001", "a"),
        ("globex-bidder-key-0001", "g"),
    ] {
        assert_eq!(
            enqueue(&app, trigger(key, Some(dedup), "down")).await.0,
            StatusCode::ACCEPTED
        );
    }
    let sre = app
        .token("sre", vec![Grant::global(Role::Viewer)], None)
        .await;
    let (_, all) = app
        .call(Method::GET, "/api/v1/incidents", Some(&sre), None)
        .await;
    let id_of = |service: &str| {
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["service"] == service)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (acme_id, globex_id) = (id_of("checkout"), id_of("bidder"));

    let responder = app
        .token(
            "acme-oncall",
            vec![Grant::company(Role::Responder, "acme")],
            None,
        )
        .await;
    let (_, mine) = app
        .call(Method::GET, "/api/v1/incidents", Some(&responder), None)
        .await;
    let services: Vec<_> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        ["checkout"],
        "a company sees only its own incidents"
    );
    // Every incident route refuses another company's incident as if it did not exist.
    for r in server::routes::all()
        .list
        .iter()
        .filter(|r| r.path.contains("/incidents/{id}"))
    {
        let path = r.path.replace("{id}", &globex_id.to_string());
        let body = if r.path.ends_with("/merge") {
            json!({"incidents": [acme_id]})
        } else if r.path.ends_with("/snooze") {
            json!({"minutes": 5})
        } else if r.path.ends_with("/reassign") {
            json!({"to": ["ann"]})
        } else {
            json!({"text": "hi"})
        };
        let (status, body) = app
            .call(method(r.method), &path, Some(&responder), Some(body))
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{} {path}: {body}",
            r.method.as_str()
        );
    }

    let ack = format!("/api/v1/incidents/{acme_id}/acknowledge");
    let (status, body) = app.call(Method::POST, &ack, Some(&responder), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "acknowledged");
    assert_eq!(body["acknowledged_by"], "token:acme-oncall");
    let note = format!("/api/v1/incidents/{acme_id}/notes");
    let (status, body) = app
        .call(
            Method::POST,
            &note,
            Some(&responder),
            Some(json!({"text": "  "})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("text"))
    );
    let (status, _) = app
        .call(
            Method::POST,
            &note,
            Some(&responder),
            Some(json!({"text": "rolled back 4.2"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{acme_id}/resolve"),
            Some(&responder),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.call(Method::POST, &ack, Some(&responder), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("state_conflict"))
    );

    // Filters and bad filters.
    let (_, open) = app
        .call(
            Method::GET,
            "/api/v1/incidents?status=triggered,acknowledged",
            Some(&sre),
            None,
        )
        .await;
    assert_eq!(open["items"].as_array().unwrap().len(), 1);
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/incidents?status=burning",
            Some(&sre),
            None,
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("status"))
    );
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/incidents?since=yesterday",
            Some(&sre),
            None,
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("since"))
    );
    // Alerts are scoped the same way.
    let (_, alerts) = app
        .call(Method::GET, "/api/v1/alerts", Some(&responder), None)
        .await;
    let keys: Vec<_> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["dedup_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["a"], "{alerts}");
    assert_eq!(alerts["items"][0]["incident"], acme_id);
    let (_, open) = app
        .call(
            Method::GET,
            "/api/v1/alerts?status=triggered",
            Some(&sre),
            None,
        )
        .await;
    assert_eq!(
        open["items"].as_array().unwrap().len(),
        1,
        "only globex's alert is still open"
    );
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/incidents/not-a-number",
            Some(&sre),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A viewer sees an incident but may not act on it.
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{globex_id}/acknowledge"),
            Some(&sre),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn analytics_report_mtta_and_mttr_per_service_product_and_company(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let step = |s: u64| app.clock.advance(std::time::Duration::from_secs(s));
    enqueue(&app, trigger("acme-checkout-key-0001", Some("one"), "x")).await;
    enqueue(&app, trigger("globex-bidder-key-0001", Some("two"), "x")).await;
    let (_, list) = app
        .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
        .await;
    let id = |service: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["service"] == service)
            .unwrap()["id"]
            .clone()
    };
    let (checkout, bidder) = (id("checkout"), id("bidder"));
    step(60);
    app.call(
        Method::POST,
        &format!("/api/v1/incidents/{checkout}/acknowledge"),
        Some(&admin),
        None,
    )
    .await;
    step(240);
    app.call(
        Method::POST,
        &format!("/api/v1/incidents/{checkout}/resolve"),
        Some(&admin),
        None,
    )
    .await;
    app.call(
        Method::POST,
        &format!("/api/v1/incidents/{bidder}/resolve"),
        Some(&admin),
        None,
    )
    .await;

    let (status, by_service) = app
        .call(
            Method::GET,
            "/api/v1/analytics/incidents",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_service}");
    let rows = by_service["rows"].as_array().unwrap();
    let checkout_row = rows.iter().find(|r| r["key"] == "checkout").unwrap();
    assert_eq!(checkout_row["mtta_seconds"], 60.0);
    assert_eq!(checkout_row["mttr_seconds"], 300.0);
    let bidder_row = rows.iter().find(|r| r["key"] == "bidder").unwrap();
    assert_eq!(
        bidder_row["mtta_seconds"],
        Value::Null,
        "resolved without an acknowledgement"
    );
    assert_eq!(by_service["total"]["incidents"], 2);
    assert_eq!(by_service["total"]["mttr_seconds"], 300.0);

    let (_, by_company) = app
        .call(
            Method::GET,
            "/api/v1/analytics/incidents?by=company",
            Some(&admin),
            None,
        )
        .await;
    let keys: Vec<_> = by_company["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["acme", "globex"]);
    let (_, by_product) = app
        .call(
            Method::GET,
            "/api/v1/analytics/incidents?by=product",
            Some(&admin),
            None,
        )
        .await;
    let keys: Vec<_> = by_product["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["ads", "shop"]);
    // Per person: the people paged. No page was sent, so no one has a row, and the total
    // still counts every incident.
    let (status, by_person) = app
        .call(
            Method::GET,
            "/api/v1/analytics/incidents?by=person",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_person}");
    assert_eq!(by_person["rows"], json!([]));
    assert_eq!(
        (
            &by_person["total"]["incidents"],
            &by_person["total"]["pages"]
        ),
        (&json!(2), &json!(0))
    );
    // A company sees only its own figures.
    let acme = app
        .token("acme", vec![Grant::company(Role::Viewer, "acme")], None)
        .await;
    let (_, mine) = app
        .call(
            Method::GET,
            "/api/v1/analytics/incidents?by=all",
            Some(&acme),
            None,
        )
        .await;
    assert_eq!(mine["total"]["incidents"], 1, "{mine}");
    // A range that holds nothing, and bad parameters.
    let (_, later) = app
        .call(
            Method::GET,
            "/api/v1/analytics/incidents?since=2030-01-01T00:00:00Z&until=2030-02-01T00:00:00Z",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(later["total"]["incidents"], 0);
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/analytics/incidents?by=team",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("by"))
    );
}

async fn people_open_incidents_by_hand(store: TestStore) {
    let app = app(store).await;
    let oncall = app
        .token(
            "acme-oncall",
            vec![Grant::company(Role::Responder, "acme")],
            None,
        )
        .await;
    let page = |service: &str| json!({"service": service, "summary": "Database replication stopped; need the DB team now"});
    let (status, made) = app
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(&oncall),
            Some(page("checkout")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        (made["service"].as_str(), made["urgency"].as_str()),
        (Some("checkout"), Some("high"))
    );
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{}", made["id"]),
            Some(&oncall),
            None,
        )
        .await;
    assert_eq!(
        shown["timeline"][0]["actor"], "token:acme-oncall",
        "the person, not an integration"
    );
    assert_eq!(shown["alerts"][0]["integration"], "manual");

    // Another company's service does not exist for this caller; bad fields are named.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(&oncall),
            Some(page("bidder")),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("service"))
    );
    let bad = json!({"service": "checkout", "summary": " ", "severity": "apocalyptic"});
    let (status, body) = app
        .call(Method::POST, "/api/v1/incidents", Some(&oncall), Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["summary", "severity"]);
    let viewer = app
        .token(
            "acme-viewer",
            vec![Grant::company(Role::Viewer, "acme")],
            None,
        )
        .await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(&viewer),
            Some(page("checkout")),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn responders_merge_incidents_they_may_act_on(store: TestStore) {
    let app = app(store).await;
    for (key, dedup) in [
        ("acme-checkout-key-0001", "a"),
        ("acme-checkout-key-0001", "b"),
        ("globex-bidder-key-0001", "g"),
    ] {
        enqueue(&app, trigger(key, Some(dedup), "down")).await;
    }
    let sre = app
        .token("sre", vec![Grant::global(Role::Responder)], None)
        .await;
    let (_, all) = app
        .call(Method::GET, "/api/v1/incidents", Some(&sre), None)
        .await;
    let id_of = |dedup: &str| {
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["dedup_keys"][0] == dedup)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (a, b, g) = (id_of("a"), id_of("b"), id_of("g"));
    let acme = app
        .token(
            "acme-oncall",
            vec![Grant::company(Role::Responder, "acme")],
            None,
        )
        .await;
    // A company responder may not pull another company's incident in.
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{a}/merge"),
            Some(&acme),
            Some(json!({"incidents": [g]})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, merged) = app
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{a}/merge"),
            Some(&acme),
            Some(json!({"incidents": [b]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["dedup_keys"], json!(["a", "b"]));
    let (_, gone) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{b}"),
            Some(&acme),
            None,
        )
        .await;
    assert_eq!(gone["status"], "resolved");
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{a}/merge"),
            Some(&acme),
            Some(json!({"incidents": [b]})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("state_conflict"))
    );
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{a}/merge"),
            Some(&acme),
            Some(json!({"incidents": []})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("incidents"))
    );
}

async fn urgency_rules_follow_the_services_business_hours(store: TestStore) {
    let app = TestApp::start(store).await;
    app.apply(
        "night.yaml",
        r#"
apiVersion: shinrai/v1
kind: Team
metadata: {name: ops}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: batch}
spec:
  owner_team: ops
  integrations: [{name: pd, type: pagerduty, key: batch-events-key-0001}]
  business_hours: {time_zone: Europe/Berlin, start: "09:00", end: "18:00"}
  urgency_rules:
    - {severity: [error], during: outside_business_hours, urgency: low}
"#,
    )
    .await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let urgency_of = async |dedup: &str| {
        let trigger = json!({"routing_key": "batch-events-key-0001", "event_action": "trigger", "dedup_key": dedup,
            "payload": {"summary": dedup, "source": "cron", "severity": "error"}});
        assert_eq!(enqueue(&app, trigger).await.0, StatusCode::ACCEPTED);
        let (_, list) = app
            .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
            .await;
        let found = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["summary"] == dedup)
            .unwrap()
            .clone();
        found["urgency"].as_str().unwrap().to_owned()
    };
    // The test clock starts on a Tuesday at 23:13 in Berlin: outside business hours.
    assert_eq!(urgency_of("night").await, "low");
    // Wednesday, 10:13 in Berlin.
    app.clock.advance(std::time::Duration::from_secs(11 * 3600));
    assert_eq!(urgency_of("morning").await, "high");
}

async fn alerts_with_the_same_labels_share_an_incident(store: TestStore) {
    let app = TestApp::start(store).await;
    app.apply(
        "grouped.yaml",
        r#"
apiVersion: shinrai/v1
kind: Team
metadata: {name: ops}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: storage}
spec:
  owner_team: ops
  integrations: [{name: gen, type: generic, key: storage-events-key-01}]
  grouping: {by: [alertname, cluster], window_minutes: 30}
"#,
    )
    .await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let send = async |dedup: &str, cluster: &str| {
        let event = json!({"dedup_key": dedup, "status": "trigger", "summary": format!("disk full on {dedup}"),
            "labels": {"alertname": "DiskFull", "cluster": cluster, "host": dedup}});
        let (status, body) = app
            .call(
                Method::POST,
                "/integrations/generic/storage-events-key-01",
                None,
                Some(event),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    };
    send("db1", "eu").await;
    send("db2", "eu").await;
    send("db3", "us").await;
    let (_, list) = app
        .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
        .await;
    let mut groups: Vec<Vec<String>> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["dedup_keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    groups.sort();
    assert_eq!(groups, [vec!["db1", "db2"], vec!["db3"]]);
    // After the window, the same labels start a new incident.
    app.clock.advance(std::time::Duration::from_secs(31 * 60));
    send("db4", "eu").await;
    let (_, list) = app
        .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
}

async fn the_incident_list_is_searched_sorted_and_paged(store: TestStore) {
    let app = app(store).await;
    let oncall = app
        .token(
            "acme-oncall",
            vec![Grant::company(Role::Responder, "acme")],
            None,
        )
        .await;
    let mut ids = Vec::new();
    for (summary, urgency, details) in [
        ("Disk full in rack one", "low", json!({"team": "data"})),
        ("Checkout 100% errors", "high", json!({"team": "web"})),
        (
            "Replica lag in rack two",
            "high",
            json!("team=data is only text"),
        ),
    ] {
        let (status, made) = app
            .call(
                Method::POST,
                "/api/v1/incidents",
                Some(&oncall),
                Some(json!({"service": "checkout", "summary": summary, "urgency": urgency, "details": details})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["urgency"], urgency, "the urgency asked for");
        ids.push(made["id"].as_i64().unwrap());
    }
    // Another company's incident is never found. (Words searched for here have letters
    // no hex digit has, so the random dedup keys of incidents opened by hand never match.)
    let globex = app
        .token(
            "globex-oncall",
            vec![Grant::company(Role::Responder, "globex")],
            None,
        )
        .await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(&globex),
            Some(json!({"service": "bidder", "summary": "rack full of stuck bids"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let list = |query: &str| {
        let url = format!("/api/v1/incidents{query}");
        let app = &app;
        let oncall = &oncall;
        async move {
            let (status, body) = app.call(Method::GET, &url, Some(oncall), None).await;
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap())
                .collect::<Vec<i64>>()
        }
    };
    let (disk, checkout, replica) = (ids[0], ids[1], ids[2]);
    assert_eq!(list("?q=FULL").await, [disk]);
    assert_eq!(list("?q=rack").await, [replica, disk]);
    assert_eq!(list("?q=100%25").await, [checkout]);
    assert_eq!(
        list("?q=team%3Ddata").await,
        [disk],
        "a custom detail, exactly"
    );
    assert_eq!(list("?q=lag+two").await, [replica]);
    assert_eq!(list("?sort=oldest").await, [disk, checkout, replica]);
    assert_eq!(list("?sort=urgency").await, [replica, checkout, disk]);
    assert_eq!(list("?sort=oldest&offset=1&limit=1").await, [checkout]);
    // Bad parameters name themselves.
    let long = "x".repeat(201);
    for (query, field) in [
        ("?sort=summary".to_owned(), "sort"),
        ("?sort=oldest&before=9".to_owned(), "before"),
        (format!("?q={long}"), "q"),
    ] {
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/api/v1/incidents{query}"),
                Some(&oncall),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let (status, body) = app
        .call(Method::GET, "/api/v1/alerts?q=rack", Some(&oncall), None)
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("q"))
    );
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(&oncall),
            Some(json!({"service": "checkout", "summary": "x", "urgency": "urgent"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "urgency", "{body}");
}
