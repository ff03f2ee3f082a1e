//! Objects and their documents: CRUD, bad input, managed objects, configuration through
//! the API, integration keys, outside text, health and the OpenAPI document.
//!
//! Longer than 600 lines because each test is one end-to-end story run on both backends,
//! read top to bottom; splitting a story would hide its steps.

use super::*;

test_support::on_both_backends!(
    objects_from_files_are_read_only_and_name_their_file,
    crud_with_pagination_selectors_versions_and_references,
    bad_input_gets_a_clear_error_naming_the_field,
    every_route_is_in_the_openapi_document,
    health_readiness_and_metrics,
    configuration_is_planned_and_applied_through_the_api,
    integration_keys_are_generated_once_and_kept,
    text_with_nul_is_kept_cleaned_and_keys_with_nul_are_refused,
    key_changes_reach_the_event_endpoints,
);

async fn objects_from_files_are_read_only_and_name_their_file(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/services/checkout",
            Some(&admin),
            Some(json!({"metadata": {"name": "checkout"}, "spec": {"owner_team": "shop"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "managed_object");
    assert!(
        body["message"].as_str().unwrap().contains("org.yaml"),
        "{body}"
    );
    let (status, body) = app
        .call(
            Method::DELETE,
            "/api/v1/services/checkout",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, got) = app
        .call(Method::GET, "/api/v1/services/checkout", Some(&admin), None)
        .await;
    assert_eq!(got["metadata"]["managed_by"], "org.yaml");
}

async fn crud_with_pagination_selectors_versions_and_references(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    for i in 0..7 {
        let body = json!({"metadata": {"name": format!("svc-{i}"), "labels": {"company": "acme", "tier": if i % 2 == 0 {"even"} else {"odd"}}}, "spec": {"owner_team": "shop"}});
        let (status, b) = app
            .call(Method::POST, "/api/v1/services", Some(&admin), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
    }
    let mut names = Vec::new();
    let mut after = String::new();
    loop {
        let (_, page) = app
            .call(
                Method::GET,
                &format!("/api/v1/services?limit=3&selector=company%3Dacme{after}"),
                Some(&admin),
                None,
            )
            .await;
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned()),
        );
        match page["next_after"].as_str() {
            Some(a) => after = format!("&after={a}"),
            None => break,
        }
    }
    assert_eq!(
        names,
        [
            "checkout", "svc-0", "svc-1", "svc-2", "svc-3", "svc-4", "svc-5", "svc-6"
        ]
    );
    let (_, odd) = app
        .call(
            Method::GET,
            "/api/v1/services?selector=tier%3Dodd",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(odd["items"].as_array().unwrap().len(), 3);

    let update = |v: i64| json!({"metadata": {"name": "svc-0", "version": v}, "spec": {"owner_team": "shop", "tier": 2}});
    let (status, b) = app
        .call(
            Method::PUT,
            "/api/v1/services/svc-0",
            Some(&admin),
            Some(update(1)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["metadata"]["version"], 2);
    let (status, b) = app
        .call(
            Method::PUT,
            "/api/v1/services/svc-0",
            Some(&admin),
            Some(update(1)),
        )
        .await;
    assert_eq!(
        (status, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("version_conflict"))
    );

    // A reference to a missing team names the field.
    let bad = json!({"metadata": {"name": "orphan"}, "spec": {"owner_team": "nobody"}});
    let (status, b) = app
        .call(Method::POST, "/api/v1/services", Some(&admin), Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b["field"], "spec.owner_team");
    // A team still owning services cannot be deleted.
    let team = json!({"metadata": {"name": "temp", "labels": {"company": "acme"}}, "spec": {}});
    app.call(Method::POST, "/api/v1/teams", Some(&admin), Some(team))
        .await;
    let svc = json!({"metadata": {"name": "temp-svc"}, "spec": {"owner_team": "temp"}});
    app.call(Method::POST, "/api/v1/services", Some(&admin), Some(svc))
        .await;
    let (status, b) = app
        .call(Method::DELETE, "/api/v1/teams/temp", Some(&admin), None)
        .await;
    assert_eq!(
        (status, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("still_referenced")),
        "{b}"
    );
    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/v1/services/temp-svc",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(Method::DELETE, "/api/v1/teams/temp", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, b) = app
        .call(Method::GET, "/api/v1/teams/temp", Some(&admin), None)
        .await;
    assert_eq!(
        (status, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // Every change is in the audit log with who did it.
    let (_, audit) = app
        .call(
            Method::GET,
            "/api/v1/audit?kind=Team&name=temp",
            Some(&admin),
            None,
        )
        .await;
    let actions: Vec<_> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["delete", "create"]);
    assert_eq!(audit["items"][0]["actor"], "token:admin");
}

async fn bad_input_gets_a_clear_error_naming_the_field(store: TestStore) {
    let app = TestApp::start_with(
        store,
        server::Settings {
            max_body_bytes: 4096,
            ..server::Settings::default()
        },
    )
    .await;
    app.apply("org.yaml", ORG).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let url = format!("{}/api/v1/teams", app.base);
    let send = |body: String, ct: &'static str| {
        app.http
            .post(&url)
            .bearer_auth(&admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = send("{not json".into(), "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_json");
    let r = send("{}".into(), "text/plain").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = json!({"metadata": {"name": "big"}, "spec": {"description": "x".repeat(10_000)}})
        .to_string();
    let r = send(big, "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "payload_too_large"
    );
    let r = send(
        json!({"metadata": {"name": "x", "colour": 1}}).to_string(),
        "application/json",
    )
    .await
    .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "invalid_json");
    assert_eq!(body["field"], "metadata.colour", "{body}");
    let r = send(
        json!({"metadata": {"name": "x"}, "spec": {"members": "ann"}}).to_string(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["field"].as_str().unwrap().starts_with("spec.members"),
        "{body}"
    );
    let (status, body) = app
        .call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"metadata": {"name": "zed"}, "spec": {"full_name": "Z", "email": "nope", "time_zone": "Mars/Base"}})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["spec.email", "spec.time_zone"], "{body}");
    let (status, body) = app
        .call(Method::GET, "/api/v1/services?limit=0", Some(&admin), None)
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
    let (status, body) = app
        .call(Method::GET, "/api/v1/nothing-here", Some(&admin), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // Nothing of the refused requests was stored.
    let (_, teams) = app
        .call(Method::GET, "/api/v1/teams", Some(&admin), None)
        .await;
    assert_eq!(teams["items"].as_array().unwrap().len(), 2);
}

async fn every_route_is_in_the_openapi_document(store: TestStore) {
    let app = app(store).await;
    let (status, doc) = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for r in server::routes::all().list {
        let op = &doc["paths"][&r.path][r.method.as_str().to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} is missing from openapi.json",
            r.method.as_str(),
            r.path
        );
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()));
        if r.access != Access::Public {
            assert!(
                op["responses"]["401"].is_object(),
                "{} {} documents no 401",
                r.method.as_str(),
                r.path
            );
        }
        if r.doc.request.is_some() {
            assert!(
                op["responses"]["422"].is_object(),
                "{} {} documents no 422",
                r.method.as_str(),
                r.path
            );
        }
        for schema in [r.doc.request, r.doc.response].into_iter().flatten() {
            assert!(
                doc["components"]["schemas"][schema].is_object(),
                "schema {schema} of {} is not defined",
                r.path
            );
        }
    }
}

async fn health_readiness_and_metrics(store: TestStore) {
    let app = app(store).await;
    let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, metrics) = app.call(Method::GET, "/metrics", None, None).await;
    let text = metrics.as_str().unwrap();
    assert!(text.contains("shinrai_build_info"), "{text}");
    assert!(
        text.contains(r#"shinrai_http_requests_total{method="GET",route="/readyz",status="200"}"#),
        "{text}"
    );
    assert!(
        text.contains("shinrai_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

async fn configuration_is_planned_and_applied_through_the_api(store: TestStore) {
    let app = TestApp::start(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let files = |content: &str| json!({"files": [{"path": "org.yaml", "content": content}]});
    let (status, planned) = app
        .call(
            Method::POST,
            "/api/v1/config/plan",
            Some(&admin),
            Some(files(ORG)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{planned}");
    assert_eq!(planned["applied"], false);
    assert_eq!(planned["plan"]["changes"].as_array().unwrap().len(), 6);
    let (_, teams) = app
        .call(Method::GET, "/api/v1/teams", Some(&admin), None)
        .await;
    assert_eq!(teams["items"], json!([]), "plan changes nothing");

    let (status, applied) = app
        .call(
            Method::POST,
            "/api/v1/config/apply",
            Some(&admin),
            Some(files(ORG)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["applied"], true);
    let (_, again) = app
        .call(
            Method::POST,
            "/api/v1/config/apply",
            Some(&admin),
            Some(files(ORG)),
        )
        .await;
    assert_eq!(
        again["plan"]["changes"],
        json!([]),
        "a second apply changes nothing"
    );
    let (_, svc) = app
        .call(Method::GET, "/api/v1/services/checkout", Some(&admin), None)
        .await;
    assert_eq!(svc["metadata"]["managed_by"], "org.yaml");

    // Problems name file, line and field; nothing is applied.
    let bad =
        "apiVersion: shinrai/v1\nkind: Team\nmetadata: {name: extra}\nspec:\n  members: [nobody]\n";
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/config/apply",
            Some(&admin),
            Some(files(bad)),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["location"], "org.yaml:5", "{body}");
    assert_eq!(body["errors"][0]["field"], "spec.members[0]", "{body}");
    let (status, _) = app
        .call(Method::GET, "/api/v1/teams/extra", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Shape, value and reference problems come back together, in line order; a reference
    // to a stored object is fine whatever else is wrong with its document.
    let mixed = "apiVersion: shinrai/v1\nkind: Team\nmetadata: {name: extra}\nspec:\n  members: [nobody]\n  colour: red\n---\napiVersion: shinrai/v1\nkind: User\nmetadata: {name: zed}\nspec: {full_name: Zed, email: zed, time_zone: Mars/Olympus, roles: [{role: admin, team: shop}]}\n";
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/config/plan",
            Some(&admin),
            Some(files(mixed)),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let found: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["location"].as_str().unwrap().to_owned(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("org.yaml:5", "spec.members[0]"),
        ("org.yaml:6", "spec.colour"),
        ("org.yaml:11", "spec.email"),
        ("org.yaml:11", "spec.time_zone"),
    ];
    assert_eq!(
        found,
        expected.map(|(l, f)| (l.to_owned(), f.to_owned())),
        "{body}"
    );

    // Configuration describes the whole organisation: a company admin may not apply it.
    let acme = app
        .token("acme", vec![Grant::company(Role::Admin, "acme")], None)
        .await;
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/config/plan",
            Some(&acme),
            Some(files(ORG)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

async fn integration_keys_are_generated_once_and_kept(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let svc = |name: &str, integrations: Value| {
        json!({"metadata": {"name": name, "labels": {"company": "acme"}},
               "spec": {"owner_team": "shop", "integrations": integrations}})
    };
    let (status, made) = app
        .call(
            Method::POST,
            "/api/v1/services",
            Some(&admin),
            Some(svc(
                "payments",
                json!([{"name": "prom", "type": "pagerduty"}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let key = made["status"]["integrations"]["prom"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(key.len(), 32);
    assert!(
        made["spec"]["integrations"][0].get("key").is_none(),
        "generated keys stay out of the spec"
    );

    let (status, updated) = app
        .call(
            Method::PUT,
            "/api/v1/services/payments",
            Some(&admin),
            Some(svc(
                "payments",
                json!([{"name": "prom", "type": "pagerduty"}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["status"]["integrations"]["prom"]["key"], key,
        "the key is kept"
    );

    // Another service may not take that key.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/services",
            Some(&admin),
            Some(svc(
                "refunds",
                json!([{"name": "prom", "type": "pagerduty", "key": key}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "spec.integrations");
    assert!(
        body["message"].as_str().unwrap().contains("payments"),
        "{body}"
    );
    // A Sentry integration needs the name of the setting holding its secret.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/services",
            Some(&admin),
            Some(svc(
                "refunds",
                json!([{"name": "sentry", "type": "sentry"}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "spec.integrations[0].secret");
}

async fn key_changes_reach_the_event_endpoints(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let svc = |key: &str| {
        json!({"metadata": {"name": "pager", "labels": {"company": "acme"}},
               "spec": {"owner_team": "shop", "integrations": [{"name": "pd", "type": "pagerduty", "key": key}]}})
    };
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/services",
            Some(&admin),
            Some(svc("pager-key-number-0001")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        enqueue(&app, trigger("pager-key-number-0001", Some("a"), "x"))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    // A change through this server takes effect at once.
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/services/pager",
            Some(&admin),
            Some(svc("pager-key-number-0002")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        enqueue(&app, trigger("pager-key-number-0001", Some("b"), "x"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        enqueue(&app, trigger("pager-key-number-0002", Some("b"), "x"))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    // A change made elsewhere (another node, a command on the store) shows within the
    // cache's few seconds.
    let current = app
        .store
        .get_object(domain::Kind::Service, &Name::new("pager").unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut draft = store::ObjectDraft {
        kind: current.kind,
        name: current.name.clone(),
        labels: current.labels.clone(),
        spec: json!({"owner_team": "shop"}),
        source: None,
        references: vec![(domain::Kind::Team, Name::new("shop").unwrap())],
        status: None,
        lookup_keys: Vec::new(),
    };
    runtime::integrations::complete(&mut draft, Some(&current.status));
    let ctx = store::WriteContext {
        actor: "user:elsewhere".into(),
        at: test_support::t0(),
    };
    app.store
        .commit(
            vec![store::Change::Update {
                draft,
                expected_version: None,
                scope: Default::default(),
            }],
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(
        enqueue(&app, trigger("pager-key-number-0002", Some("c"), "x"))
            .await
            .0,
        StatusCode::ACCEPTED,
        "a change made elsewhere is seen once the cache entry expires"
    );
    app.clock.advance(server::KEY_CACHE_TTL);
    assert_eq!(
        enqueue(&app, trigger("pager-key-number-0002", Some("c"), "x"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

/// The document passes a real OpenAPI validator (`openapi-spec-validator`, installed by
/// scripts/test): every `$ref` resolves and every operation has the required parts.
#[tokio::test]
async fn the_openapi_document_is_valid_openapi() {
    let app = TestApp::start(test_support::sqlite_store().await).await;
    let (_, doc) = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .expect("run python3 (scripts/test provides it with openapi-spec-validator)");
    assert!(
        out.status.success(),
        "openapi-spec-validator rejects the document (run through scripts/test, which installs it):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_error_table_is_documented() {
    let doc = include_str!("../../../../docs/api.md");
    for (code, status, _) in server::error::ERROR_TABLE {
        assert!(
            doc.contains(&format!("| `{code}` | {status} |")),
            "docs/api.md lacks error code {code}"
        );
    }
}

/// Outside text with a NUL, from senders and people alike: free text is kept with U+FFFD
/// in its place, a key is refused with a 400 naming its field, and nothing answers 503.
async fn text_with_nul_is_kept_cleaned_and_keys_with_nul_are_refused(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let key = "acme-checkout-key-0001";

    // A person opening an incident by hand.
    let (status, made) = app
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(&admin),
            Some(
                json!({"service": "checkout", "summary": "Orders\u{0}failing",
                        "details": {"why\u{0}": "db\u{0}"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["summary"], "Orders\u{FFFD}failing");
    let id = made["id"].as_i64().unwrap();
    let (status, noted) = app
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{id}/notes"),
            Some(&admin),
            Some(json!({"text": "restarted\u{0}it"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{noted}");
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        shown["alerts"][0]["body"]["details"],
        json!({"why\u{FFFD}": "db\u{FFFD}"}),
        "{shown}"
    );
    let note = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "note")
        .unwrap();
    assert_eq!(note["data"]["text"], "restarted\u{FFFD}it");

    // A sender's free text, nested custom details and labels included.
    let mut event = trigger(key, Some("nul-summary"), "p99\u{0}high");
    event["payload"]["custom_details"] =
        json!({"labels": {"team\u{0}": "web\u{0}"}, "deep": [["x\u{0}"]]});
    let (status, body) = enqueue(&app, event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (_, alerts) = app
        .call(
            Method::GET,
            "/api/v1/alerts?dedup_key=nul-summary",
            Some(&admin),
            None,
        )
        .await;
    let alert = &alerts["items"][0];
    assert_eq!(alert["body"]["summary"], "p99\u{FFFD}high", "{alerts}");
    assert_eq!(
        alert["body"]["details"],
        json!({"labels": {"team\u{FFFD}": "web\u{FFFD}"}, "deep": [["x\u{FFFD}"]]})
    );

    // Keys with a NUL are refused, each naming its field in the sender's own terms.
    let (status, body) = enqueue(&app, trigger(key, Some("db\u{0}1"), "disk full")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["errors"],
        json!(["'dedup_key' contains a NUL character, which shinrai does not accept in keys"])
    );
    let (status, body) = app
        .call(
            Method::POST,
            "/generic/2010-04-15/create_event.json",
            None,
            Some(
                json!({"service_key": key, "event_type": "trigger", "incident_key": "a\u{0}",
                        "description": "disk full"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("'incident_key' contains a NUL"),
        "{body}"
    );
    let (status, body) = app
        .call(
            Method::POST,
            "/integrations/generic/acme-checkout-generic-01",
            None,
            Some(json!({"dedup_key": "g\u{0}", "status": "trigger", "summary": "disk full"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("'dedup_key' contains a NUL"),
        "{body}"
    );
    let (status, body) = app
        .call(
            Method::POST,
            "/integrations/alertmanager/acme-checkout-am-hook-01",
            None,
            Some(json!({"version": "4", "groupKey": "{}:{alertname=\"x\"}", "status": "firing",
                        "receiver": "shinrai", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                        "externalURL": "http://am", "truncatedAlerts": 0,
                        "alerts": [{"status": "firing", "labels": {"alertname": "x"}, "annotations": {},
                                    "fingerprint": "f\u{0}1"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("'alerts[0].fingerprint' contains a NUL"),
        "{body}"
    );
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/alerts?dedup_key=a%00b",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "dedup_key", "{body}");
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({"name": "ci\u{0}", "role": "viewer", "company": "acme"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "name", "{body}");
    // A routing key with a NUL names no integration.
    let (status, body) = enqueue(&app, trigger("acme\u{0}key", Some("x"), "disk full")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (_, list) = app
        .call(Method::GET, "/api/v1/incidents", Some(&admin), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
}
