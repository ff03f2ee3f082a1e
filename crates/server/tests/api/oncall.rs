//! On call: who is on call, shifts and overrides, and the iCalendar feeds.

use super::*;

test_support::on_both_backends!(
    who_is_on_call_shifts_and_overrides,
    calendar_feeds_parse_back_to_the_same_shifts,
    default_feeds_keep_each_shifts_uid_and_times_as_time_passes,
    a_layer_in_its_own_time_zone_keeps_its_hours_across_the_schedules_dst,
);

async fn who_is_on_call_shifts_and_overrides(store: TestStore) {
    let app = app(store).await;
    app.apply("oncall.yaml", ONCALL).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let viewer = app
        .token("viewer", vec![Grant::company(Role::Viewer, "acme")], None)
        .await;
    let get = |path: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let (status, body) = app.call(Method::GET, &path, Some(&admin), None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            body
        }
    };
    let who = get("/api/v1/oncall?schedule=primary".into()).await;
    assert_eq!(who["schedules"][0]["user"], "bob");
    assert_eq!(who["schedules"][0]["until"], "2023-11-20T09:00:00Z");
    assert_eq!(who["schedules"][0]["next_user"], "cho");
    let levels = get("/api/v1/oncall?service=orders".into()).await;
    assert_eq!(levels["policy"], "shop");
    assert_eq!(levels["levels"][0]["people"], json!([]));
    assert_eq!(levels["levels"][1]["people"], json!(["bob"]));
    assert_eq!(levels["levels"][2]["people"], json!(["cho"]));
    let all = get("/api/v1/oncall".into()).await;
    assert_eq!(all["schedules"].as_array().unwrap().len(), 3);

    // New York: a weekly Monday 09:00 handoff is 167 hours across the spring change.
    let ny =
        get("/api/v1/schedules/ny/shifts?from=2026-03-02T14:00:00Z&to=2026-03-16T13:00:00Z".into())
            .await;
    assert_eq!(ny["time_zone"], "America/New_York");
    assert_eq!(ny["shifts"][0]["user"], "bob");
    assert_eq!(ny["shifts"][0]["start"], "2026-03-02T14:00:00Z");
    assert_eq!(ny["shifts"][0]["end"], "2026-03-09T13:00:00Z");
    assert_eq!(ny["shifts"][1]["user"], "cho");
    assert_eq!(ny["gaps"], json!([]));
    let days = get("/api/v1/schedules/days/shifts?from=2023-11-14T00:00:00Z&to=2023-11-15T00:00:00Z&layers=true".into()).await;
    assert_eq!(
        days["gaps"],
        json!([{"start": "2023-11-14T00:00:00Z", "end": "2023-11-14T09:00:00Z"},
               {"start": "2023-11-14T17:00:00Z", "end": "2023-11-15T00:00:00Z"}])
    );
    assert_eq!(days["layers"][0]["name"], "office");

    // An override puts cho on call for an hour, then is removed.
    let path = "/api/v1/schedules/primary/overrides";
    let body =
        json!({"user": "cho", "start": "2023-11-14T22:00:00Z", "end": "2023-11-14T23:00:00Z"});
    let (status, made) = app
        .call(Method::POST, path, Some(&viewer), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{made}");
    let (status, made) = app.call(Method::POST, path, Some(&admin), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let who = get("/api/v1/oncall?schedule=primary".into()).await;
    assert_eq!(who["schedules"][0]["user"], "cho");
    assert_eq!(who["schedules"][0]["until"], "2023-11-14T23:00:00Z");
    let shifts = get(
        "/api/v1/schedules/primary/shifts?from=2023-11-14T22:00:00Z&to=2023-11-15T00:00:00Z".into(),
    )
    .await;
    assert_eq!(shifts["shifts"][0]["source"], "override");
    assert_eq!(shifts["shifts"][1]["user"], "bob");
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("{path}/{}", made["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        get("/api/v1/oncall?schedule=primary".into()).await["schedules"][0]["user"],
        "bob"
    );

    for (bad, field) in [
        (
            json!({"user": "cho", "start": "2023-11-14T23:00:00Z", "end": "2023-11-14T22:00:00Z"}),
            "end",
        ),
        (
            json!({"user": "nobody", "start": "2023-11-14T22:00:00Z", "end": "2023-11-14T23:00:00Z"}),
            "user",
        ),
        (
            json!({"user": "cho", "start": "tonight", "end": "2023-11-14T23:00:00Z"}),
            "start",
        ),
    ] {
        let (status, body) = app.call(Method::POST, path, Some(&admin), Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["field"], field, "{body}");
    }
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/schedules/primary/shifts?from=2023-11-14T00:00:00Z&to=2023-11-13T00:00:00Z",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "to");
    // Another company's people see none of it.
    let gus = app
        .token("gus", vec![Grant::company(Role::Admin, "globex")], None)
        .await;
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/oncall?schedule=primary",
            Some(&gus),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, all) = app
        .call(Method::GET, "/api/v1/oncall", Some(&gus), None)
        .await;
    assert_eq!(all["schedules"], json!([]));
}

async fn calendar_feeds_parse_back_to_the_same_shifts(store: TestStore) {
    let app = app(store).await;
    app.apply("oncall.yaml", ONCALL).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let range = "from=2026-03-02T14:00:00Z&to=2026-03-30T13:00:00Z";
    let (_, shifts) = app
        .call(
            Method::GET,
            &format!("/api/v1/schedules/ny/shifts?{range}"),
            Some(&admin),
            None,
        )
        .await;
    let parse = |path: String| ical_events(&app, &admin, path);
    let feed = parse(format!("/api/v1/schedules/ny/calendar.ics?{range}")).await;
    assert!(feed["longest_line"].as_u64().unwrap() <= 75, "{feed}");
    let events = feed["events"].as_array().unwrap();
    let expected = shifts["shifts"].as_array().unwrap();
    assert_eq!(events.len(), expected.len());
    for (e, s) in events.iter().zip(expected) {
        let instant = |v: &Value| v.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
        assert_eq!(instant(&e["start"]), instant(&s["start"]));
        assert_eq!(instant(&e["end"]), instant(&s["end"]));
        let summary = e["summary"].as_str().unwrap();
        assert!(
            summary.starts_with(&format!(
                "On call: {} (ny, 月曜午前九時",
                s["user"].as_str().unwrap()
            )),
            "{summary}"
        );
        assert!(summary.len() > 200, "a summary of {} octets", summary.len());
    }
    // A person's feed holds only their shifts.
    let bob = parse(format!("/api/v1/users/bob/calendar.ics?{range}")).await;
    let bobs = bob["events"].as_array().unwrap();
    assert!(!bobs.is_empty());
    assert!(
        bobs.iter()
            .all(|e| e["summary"].as_str().unwrap().starts_with("On call: bob ")),
        "{bob}"
    );
    assert_eq!(bob["name"], "On call: bob");
}

/// An iCalendar feed fetched and read back with Python's `icalendar`: its events (uid,
/// start, end, summary), its name and its longest physical line.
async fn ical_events(app: &TestApp, token: &str, path: String) -> Value {
    let resp = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let ics = resp.bytes().await.unwrap();
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/senders/ical_parse.py"
            ))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run python3 (scripts/test provides it with icalendar)");
        child.stdin.take().unwrap().write_all(&ics).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "icalendar failed (run through scripts/test, which installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout).unwrap()
}

async fn default_feeds_keep_each_shifts_uid_and_times_as_time_passes(store: TestStore) {
    let app = app(store).await;
    app.apply("oncall.yaml", ONCALL).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    // (uid, start, end) of every event, start and end as instants.
    let events = |feed: Value| -> Vec<(String, jiff::Timestamp, jiff::Timestamp)> {
        let instant = |v: &Value| v.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
        feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["uid"].as_str().unwrap().to_owned(),
                    instant(&e["start"]),
                    instant(&e["end"]),
                )
            })
            .collect()
    };
    let schedule = "/api/v1/schedules/primary/calendar.ics".to_owned();
    let person = "/api/v1/users/bob/calendar.ics".to_owned();
    // The weekly turns hand off on Mondays at 09:00 UTC from 2023-11-13. Two weeks after
    // the clock's start, it is Tuesday 2023-11-28 22:13:20Z: the default window (7 days
    // back, 90 ahead) cuts a turn at each end, to the second.
    app.clock
        .advance(std::time::Duration::from_secs(14 * 24 * 3600));
    let first = events(ical_events(&app, &admin, schedule.clone()).await);
    let bobs = events(ical_events(&app, &admin, person.clone()).await);
    let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    assert_eq!(first.len(), 14, "{first:?}");
    // The turns at the window's edges are shown whole.
    assert_eq!(first[0].1, at("2023-11-20T09:00:00Z"), "{first:?}");
    assert_eq!(first[13].2, at("2024-02-26T09:00:00Z"), "{first:?}");
    for w in first.windows(2) {
        assert_eq!(w[0].2, w[1].1, "{first:?}");
        assert_eq!(w[0].2.duration_since(w[0].1).as_hours(), 7 * 24);
    }
    // A second, an hour, a day later: the same events, with the same UIDs and times.
    for step in [1, 3600, 23 * 3600] {
        app.clock.advance(std::time::Duration::from_secs(step));
        assert_eq!(
            events(ical_events(&app, &admin, schedule.clone()).await),
            first
        );
        assert_eq!(
            events(ical_events(&app, &admin, person.clone()).await),
            bobs
        );
    }
    // A week on, the oldest turn has left the window and a new one has come in; the turns
    // in both feeds are unchanged.
    app.clock
        .advance(std::time::Duration::from_secs(7 * 24 * 3600));
    let later = events(ical_events(&app, &admin, schedule.clone()).await);
    assert_eq!(later[..13], first[1..], "{later:?}");
    assert_eq!(later[13].1, first[13].2);
}

const FOLLOW_THE_SUN: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: kenji, labels: {company: acme}}
spec: {full_name: Kenji Acme, email: kenji@acme.test}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: yui, labels: {company: acme}}
spec: {full_name: Yui Acme, email: yui@acme.test}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: sun, labels: {company: acme}}
spec:
  time_zone: Europe/London
  layers:
    - {name: london, users: [ann], rotation: 1w, start: "2026-03-02T09:00"}
    - name: tokyo
      time_zone: Asia/Tokyo
      users: [kenji, yui]
      rotation: 1d
      start: "2026-03-02T09:00"
      restrictions: [{start: "09:00", end: "18:00"}]
"#;

async fn a_layer_in_its_own_time_zone_keeps_its_hours_across_the_schedules_dst(store: TestStore) {
    let app = app(store).await;
    app.apply("sun.yaml", FOLLOW_THE_SUN).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let at = |v: &Value| v.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    // A week across the start of British Summer Time (29 March) and one across its end
    // (25 October): Tokyo's 09:00-18:00 is 00:00-09:00 UTC every day.
    for from in ["2026-03-25T00:00:00Z", "2026-10-21T00:00:00Z"] {
        let from: jiff::Timestamp = from.parse().unwrap();
        let to = from
            .checked_add(jiff::SignedDuration::from_hours(8 * 24))
            .unwrap();
        let day = |d: i64| {
            let start = from
                .checked_add(jiff::SignedDuration::from_hours(d * 24))
                .unwrap();
            (
                start,
                start
                    .checked_add(jiff::SignedDuration::from_hours(9))
                    .unwrap(),
            )
        };
        let expected: Vec<_> = (0..8).map(day).collect();
        let range = format!("from={from}&to={to}");
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/api/v1/schedules/sun/shifts?{range}&layers=true"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["time_zone"], "Europe/London");
        assert_eq!(body["layers"][0]["time_zone"], "Europe/London");
        assert_eq!(body["layers"][1]["time_zone"], "Asia/Tokyo");
        let tokyo = |shifts: &Value| -> Vec<(jiff::Timestamp, jiff::Timestamp)> {
            shifts
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["source"] == "tokyo")
                .map(|s| (at(&s["start"]), at(&s["end"])))
                .collect()
        };
        assert_eq!(tokyo(&body["layers"][1]["shifts"]), expected, "{body}");
        assert_eq!(tokyo(&body["shifts"]), expected, "{body}");
        // The feed says the same.
        let feed = ical_events(
            &app,
            &admin,
            format!("/api/v1/schedules/sun/calendar.ics?{range}"),
        )
        .await;
        let events: Vec<_> = feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["summary"].as_str().unwrap().contains(", tokyo)"))
            .map(|e| (at(&e["start"]), at(&e["end"])))
            .collect();
        assert_eq!(events, expected, "{feed}");
    }
    // A layer's zone is checked like the schedule's, and named.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/schedules",
            Some(&admin),
            Some(json!({
                "metadata": {"name": "moon", "labels": {"company": "acme"}},
                "spec": {
                    "time_zone": "Europe/London",
                    "layers": [{"name": "l", "time_zone": "Moon/Tranquility", "users": ["ann"], "rotation": "1d", "start": "2026-03-02T09:00"}],
                },
            })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "spec.layers[0].time_zone", "{body}");
}
