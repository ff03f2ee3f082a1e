//! The REST API end to end: access rules enumerated from the router, scoping between
//! companies, bad input, managed objects, sessions and the OpenAPI document.

use domain::{Grant, Name, Role};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::routes::{Access, Method as M};
use test_support::TestStore;
use test_support::app::TestApp;

test_support::on_both_backends!(
    every_protected_route_refuses_a_missing_or_wrong_token,
    a_viewer_is_refused_on_every_route_that_needs_more,
    a_company_admin_sees_and_touches_nothing_of_another_company,
    objects_from_files_are_read_only_and_name_their_file,
    crud_with_pagination_selectors_versions_and_references,
    bad_input_gets_a_clear_error_naming_the_field,
    a_user_token_holds_the_users_scopes_capped_at_its_role,
    tokens_are_shown_once_stored_hashed_and_revocable,
    console_sessions_sign_in_with_a_password_and_writes_need_the_csrf_token,
    every_route_is_in_the_openapi_document,
    health_readiness_and_metrics,
    configuration_is_planned_and_applied_through_the_api,
    integration_keys_are_generated_once_and_kept,
    pagerduty_events_open_repeat_and_resolve_incidents,
    responders_act_on_incidents_in_their_scope,
    the_pagerduty_python_client_works_unchanged,
    alertmanager_webhooks_keep_a_group_on_one_incident,
    generic_json_events_open_and_resolve_incidents,
    a_key_over_its_event_limit_gets_429_until_the_minute_refills,
    analytics_report_mtta_and_mttr_per_service_product_and_company,
    change_events_show_on_incidents_nearby,
    datadog_webhooks_trigger_and_recover,
    people_open_incidents_by_hand,
    the_incident_list_is_searched_sorted_and_paged,
    text_with_nul_is_kept_cleaned_and_keys_with_nul_are_refused,
    responders_merge_incidents_they_may_act_on,
    urgency_rules_follow_the_services_business_hours,
    alerts_with_the_same_labels_share_an_incident,
    key_changes_reach_the_event_endpoints,
    heartbeats_page_when_pings_stop_and_resolve_on_the_next,
    sentry_webhooks_are_verified_and_open_and_resolve_incidents,
    routers_send_each_alert_to_the_service_its_rules_pick,
    maintenance_windows_hold_alerts_and_release_those_still_firing,
    acknowledgements_time_out_and_snoozes_end,
    responders_escalate_and_reassign,
    flapping_alerts_are_held,
    escalations_page_level_by_level_until_someone_acknowledges,
    who_is_on_call_shifts_and_overrides,
    calendar_feeds_parse_back_to_the_same_shifts,
    default_feeds_keep_each_shifts_uid_and_times_as_time_passes,
    a_layer_in_its_own_time_zone_keeps_its_hours_across_the_schedules_dst,
    pages_reach_people_by_email_and_webhook_and_one_channel_never_holds_up_another,
    an_unacknowledged_incident_escalates_by_email_and_slack_until_a_link_acknowledges_it,
    pages_go_out_by_sms_voice_and_push_and_replies_act,
    the_pager_watches_itself,
    test_notifications_and_the_unreachable_report_say_which_contact_methods_work,
    services_announce_their_incidents_to_slack_and_webhooks,
    each_email_address_belongs_to_one_user_on_every_path,
    failed_sign_ins_wait_then_get_429_survive_a_restart_and_are_audited,
    sign_ins_are_counted_per_client_address_behind_trusted_proxies_only,
    a_replayed_twilio_callback_acts_once,
);

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

fn concrete(path: &str, name: &str) -> String {
    path.replace("{name}", name)
}

fn method(m: M) -> Method {
    match m {
        M::Get => Method::GET,
        M::Post => Method::POST,
        M::Put => Method::PUT,
        M::Delete => Method::DELETE,
    }
}

async fn every_protected_route_refuses_a_missing_or_wrong_token(store: TestStore) {
    let app = app(store).await;
    for r in server::routes::all().list {
        if r.access == Access::Public {
            continue;
        }
        let path = concrete(&r.path, "checkout");
        for token in [None, Some("shr_not-a-real-token")] {
            let (status, body) = app
                .call(method(r.method), &path, token, Some(json!({})))
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{} {path} with {token:?}",
                r.method.as_str()
            );
            assert_eq!(body["code"], "unauthorized", "{} {path}", r.method.as_str());
        }
    }
}

async fn a_viewer_is_refused_on_every_route_that_needs_more(store: TestStore) {
    let app = app(store).await;
    let viewer = app
        .token("viewer", vec![Grant::global(Role::Viewer)], None)
        .await;
    let mut checked = 0;
    for r in server::routes::all().list {
        let Access::Role(role) = r.access else {
            continue;
        };
        if role == Role::Viewer {
            continue;
        }
        let path = concrete(&r.path, "checkout");
        let (status, body) = app
            .call(method(r.method), &path, Some(&viewer), Some(json!({})))
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{} {path}: {body}",
            r.method.as_str()
        );
        assert_eq!(body["code"], "forbidden");
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} routes checked");
}

async fn a_company_admin_sees_and_touches_nothing_of_another_company(store: TestStore) {
    let app = app(store).await;
    let acme = app
        .token(
            "acme-admin",
            vec![Grant::company(Role::Admin, "acme")],
            None,
        )
        .await;
    let globex_objects = [("users", "gus"), ("teams", "ads"), ("services", "bidder")];
    for r in server::routes::all().list {
        if !r.path.contains("{name}") || r.path.starts_with("/api/v1/tokens") {
            continue;
        }
        for (plural, name) in globex_objects {
            if !r.path.starts_with(&format!("/api/v1/{plural}/")) {
                continue;
            }
            let path = concrete(&r.path, name);
            let body = if r.path.ends_with("/password") {
                json!({"password": "long enough password"})
            } else {
                json!({"metadata": {"name": name}, "spec": {}})
            };
            let (status, resp) = app
                .call(method(r.method), &path, Some(&acme), Some(body))
                .await;
            assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
                "{} {path} answered {status}: {resp}",
                r.method.as_str()
            );
        }
    }
    for plural in ["users", "teams", "services"] {
        let (status, list) = app
            .call(Method::GET, &format!("/api/v1/{plural}"), Some(&acme), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let items = list["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{plural}: acme sees its own");
        for o in items {
            assert_eq!(o["metadata"]["labels"]["company"], "acme", "{plural}: {o}");
        }
    }
    // Creating into another company is refused; into one's own works. Another
    // company's team does not exist for acme, so naming it is a validation error.
    let svc = |company: &str, team: &str| json!({"metadata": {"name": format!("new-{company}"), "labels": {"company": company}}, "spec": {"owner_team": team}});
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/services",
            Some(&acme),
            Some(svc("globex", "ads")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/services",
            Some(&acme),
            Some(svc("globex", "shop")),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/services",
            Some(&acme),
            Some(svc("acme", "shop")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The audit log shows acme's rows only.
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit", Some(&acme), None)
        .await;
    let rows = audit["items"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["name"] == "new-acme"));
    assert!(
        rows.iter()
            .all(|r| r["name"] != "bidder" && r["name"] != "gus" && r["name"] != "ads"),
        "{audit}"
    );
    // The global SRE team sees both.
    let sre = app
        .token("sre", vec![Grant::global(Role::Viewer)], None)
        .await;
    let (_, list) = app
        .call(Method::GET, "/api/v1/services", Some(&sre), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
}

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

async fn a_user_token_holds_the_users_scopes_capped_at_its_role(store: TestStore) {
    let app = app(store).await;
    let ann = app
        .token("ann-ci", vec![Grant::global(Role::Viewer)], Some("ann"))
        .await;
    let (_, me) = app
        .call(Method::GET, "/api/v1/whoami", Some(&ann), None)
        .await;
    assert_eq!(me["subject"], "user:ann");
    assert_eq!(me["grants"], json!([{"role": "viewer", "company": "acme"}]));
    let (status, _) = app
        .call(Method::GET, "/api/v1/services/bidder", Some(&ann), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(Method::GET, "/api/v1/services/checkout", Some(&ann), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn tokens_are_shown_once_stored_hashed_and_revocable(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let (status, made) = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({"name": "ci", "role": "viewer", "company": "acme"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let secret = made["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("shr_"));
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/services/checkout",
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app
        .call(Method::GET, "/api/v1/tokens", Some(&admin), None)
        .await;
    assert!(
        !list.to_string().contains(&secret),
        "secrets are never listed"
    );
    let stored = app.store.list_tokens().await.unwrap();
    assert!(
        stored
            .iter()
            .all(|t| t.hash != secret && !t.hash.contains("shr_"))
    );
    let (status, _) = app
        .call(Method::DELETE, "/api/v1/tokens/ci", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/services/checkout",
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A company admin cannot mint a global token.
    let acme = app
        .token(
            "acme-admin",
            vec![Grant::company(Role::Admin, "acme")],
            None,
        )
        .await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&acme),
            Some(json!({"name": "wide", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn console_sessions_sign_in_with_a_password_and_writes_need_the_csrf_token(store: TestStore) {
    let app = app(store).await;
    let hash = server::api::session::hash_password("correct horse battery").unwrap();
    let ann = Name::new("ann").unwrap();
    app.store
        .set_password(
            &ann,
            &hash,
            &store::WriteContext {
                actor: "system".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(json!({"email": "ann@acme.test", "password": "wrong password!"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let resp = app
        .http
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"email": "ANN@acme.test", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let csrf = resp.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = app
        .http
        .get(format!("{}/api/v1/whoami", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(get.json::<Value>().await.unwrap()["subject"], "user:ann");
    let body =
        json!({"metadata": {"name": "via-console", "labels": {"company": "acme"}}, "spec": {}});
    let post = |csrf: Option<&str>| {
        let mut req = app
            .http
            .post(format!("{}/api/v1/teams", app.base))
            .header("cookie", &session)
            .json(&body);
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.send()
    };
    let r = post(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "csrf_failed");
    let r = post(Some(&csrf)).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Sessions expire.
    app.clock.advance(std::time::Duration::from_secs(13 * 3600));
    let get = app
        .http
        .get(format!("{}/api/v1/whoami", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::UNAUTHORIZED);
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
    let doc = include_str!("../../../docs/api.md");
    for (code, status, _) in server::error::ERROR_TABLE {
        assert!(
            doc.contains(&format!("| `{code}` | {status} |")),
            "docs/api.md lacks error code {code}"
        );
    }
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

/// A real SMTP server (Python's aiosmtpd) writing what it receives to a maildir.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("inbox"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run python3 -m aiosmtpd (scripts/test installs it)");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return SmtpServer {
                    child,
                    port,
                    maildir,
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "aiosmtpd did not start on port {port} (run through scripts/test, which installs it)"
        );
    }

    /// Every message received, raw.
    fn messages(&self) -> Vec<String> {
        let dir = self.maildir.path().join("inbox").join("new");
        let mut out: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver that holds every request until released, then answers 200.
#[derive(Clone)]
struct Receiver {
    got: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
    release: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver {
            got: Default::default(),
            release: std::sync::Arc::new(tokio::sync::Semaphore::new(0)),
        }
    }
}

async fn receive(
    axum::extract::State(r): axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
    body: String,
) -> &'static str {
    r.got.lock().unwrap().push((headers, body));
    r.release.acquire().await.unwrap().forget();
    "thanks"
}

async fn pages_reach_people_by_email_and_webhook_and_one_channel_never_holds_up_another(
    store: TestStore,
) {
    let app = app(store).await;
    let smtp = SmtpServer::start().await;
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    // bob is paged by email at once and by webhook; a call would come after 5 minutes.
    let bob = format!(
        "spec:\n  full_name: Bob Acme\n  email: bob@acme.test\n  roles: [{{role: responder, company: acme}}]\n  \
         contact_methods: [{{name: hook, type: webhook, address: \"{hook}\"}}, {{name: phone, type: voice, address: \"+15551234567\"}}, {{name: slack, type: slack, address: U0BOB0001}}]\n  \
         notification_rules: {{high: [{{contact: email}}, {{contact: hook}}, {{contact: slack}}, {{contact: phone, after_minutes: 5}}]}}"
    );
    app.apply(
        "oncall.yaml",
        &ONCALL.replace(
            "spec: {full_name: Bob Acme, email: bob@acme.test, roles: [{role: responder, company: acme}]}",
            &bob,
        ),
    )
    .await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let worker = |channel| outbox(&app, channel);
    let link_secret = app.link_secret().await;
    let email = worker(std::sync::Arc::new(
        runtime::notify::Email::new(
            &format!("smtp://127.0.0.1:{}", smtp.port),
            "shinrai <pager@shinrai.test>",
            &app.base,
            link_secret.into_bytes(),
            std::sync::Arc::new(app.clock.clone()),
        )
        .unwrap(),
    ));
    let webhook = worker(std::sync::Arc::new(runtime::notify::Webhook {
        egress: test_support::loopback_egress(),
        secret: Some(b"hook-signing-secret".to_vec()),
        public_url: app.base.clone(),
    }));
    let voice = worker(std::sync::Arc::new(runtime::notify::Unconfigured {
        channel: "voice",
        hint: "none in tests",
    }));
    // Slack hangs, too.
    let slack = SlackStandIn {
        hold: Some(std::sync::Arc::new(tokio::sync::Semaphore::new(0))),
        ..SlackStandIn::default()
    };
    slack.calls.store(1, std::sync::atomic::Ordering::SeqCst);
    let slack_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slack_url = format!("http://{}/api", slack_listener.local_addr().unwrap());
    let slack_router = axum::Router::new()
        .route("/api/{method}", axum::routing::post(slack_api))
        .with_state(slack.clone());
    tokio::spawn(async move { axum::serve(slack_listener, slack_router).await.unwrap() });
    let slack_sender = worker(std::sync::Arc::new(
        runtime::notify::Slack::new(&slack_url, "xoxb-test-token").unwrap(),
    ));

    let id = page_orders(&app, "pages").await;
    assert_eq!(app.timers.tick().await.unwrap(), 1, "level 2 pages bob");
    let hanging_slack = tokio::spawn(async move { slack_sender.tick().await });
    while slack.arrived.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // The webhook receiver hangs; email goes out all the same.
    let slow = tokio::spawn(async move { webhook.tick().await });
    while receiver.got.lock().unwrap().is_empty() {
        tokio::task::yield_now().await;
    }
    assert_eq!(email.tick().await.unwrap(), 1);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "aiosmtpd received the page");
    assert!(mails[0].contains("To: bob@acme.test"), "{}", mails[0]);
    assert!(
        mails[0].contains(&format!(
            "Subject: [shinrai] #{id} triggered (high urgency) on orders: Orders failing"
        )),
        "{}",
        mails[0]
    );
    assert!(
        !slow.is_finished(),
        "the webhook is still waiting for its receiver"
    );
    assert!(!hanging_slack.is_finished(), "Slack is still hanging");
    let links = mail_links(&mails[0]);
    receiver.release.add_permits(100);
    slack.hold.as_ref().unwrap().add_permits(100);
    assert_eq!(hanging_slack.await.unwrap().unwrap(), 1);
    assert_eq!(slow.await.unwrap().unwrap(), 1);

    // The webhook was signed, and carries the delivery id the email's Message-ID also uses
    // its own of.
    let (headers, body) = receiver.got.lock().unwrap()[0].clone();
    assert_eq!(
        headers["x-shinrai-signature"].to_str().unwrap(),
        runtime::notify::signature(b"hook-signing-secret", body.as_bytes())
    );
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["event"], "incident.triggered");
    assert_eq!(payload["incident"]["id"], id);
    assert_eq!(
        payload["delivery_id"],
        headers["x-shinrai-delivery"].to_str().unwrap()
    );

    // The call is due after 5 minutes, and there is no voice provider: a dead letter that
    // says so.
    assert_eq!(voice.tick().await.unwrap(), 0, "not due yet");
    app.clock.advance(std::time::Duration::from_secs(300));
    assert_eq!(voice.tick().await.unwrap(), 1);
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&admin),
            None,
        )
        .await;
    let lines: Vec<(String, String)> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"].as_str().unwrap().starts_with("notification."))
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["data"]["channel"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lines[0],
        ("notification.sent".to_owned(), "email".to_owned()),
        "email went first, while Slack and the webhook hung"
    );
    let mut rest = lines[1..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        [
            ("notification.dead".to_owned(), "voice".to_owned()),
            ("notification.sent".to_owned(), "slack".to_owned()),
            ("notification.sent".to_owned(), "webhook".to_owned()),
        ]
    );
    let sent = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["data"]["channel"] == "email")
        .unwrap()
        .clone();
    let message_id = format!(
        "Message-ID: <{}@shinrai>",
        sent["data"]["delivery_id"].as_str().unwrap()
    );
    assert!(
        mails[0].contains(&message_id),
        "{message_id} in {}",
        mails[0]
    );
    assert!(
        sent["data"]["answer"]
            .as_str()
            .unwrap()
            .starts_with("SMTP 250"),
        "{sent}"
    );
    let (status, dead) = app
        .call(
            Method::GET,
            "/api/v1/notifications?status=dead",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dead}");
    assert_eq!(dead["items"][0]["channel"], "voice");
    assert!(
        dead["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("no voice provider"),
        "{dead}"
    );
    // Another company's viewer sees none of these pages.
    let globex = app
        .token("globex", vec![Grant::company(Role::Viewer, "globex")], None)
        .await;
    let (status, theirs) = app
        .call(Method::GET, "/api/v1/notifications", Some(&globex), None)
        .await;
    assert_eq!(
        (status, &theirs["items"]),
        (StatusCode::OK, &json!([])),
        "{theirs}"
    );
    // Per person, the pages sent count (the dead voice call does not).
    let (status, by_person) = app
        .call(
            Method::GET,
            "/api/v1/analytics/incidents?by=person",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_person}");
    let bob = &by_person["rows"][0];
    assert_eq!(
        (
            by_person["rows"].as_array().map(Vec::len),
            &bob["key"],
            &bob["incidents"],
            &bob["pages"],
            &bob["pages_out_of_hours"]
        ),
        (Some(1), &json!("bob"), &json!(1), &json!(3), &json!(0)),
        "{by_person}"
    );

    follow_links(&app, &admin, id, &links).await;

    // Acknowledging stops what was not sent yet.
    let id2 = page_orders(&app, "acked").await;
    app.timers.tick().await.unwrap();
    app.call(
        Method::POST,
        &format!("/api/v1/incidents/{id2}/acknowledge"),
        Some(&admin),
        None,
    )
    .await;
    app.clock.advance(std::time::Duration::from_secs(600));
    assert_eq!(voice.tick().await.unwrap(), 0, "the call was cancelled");
}

/// The acknowledge and resolve links of a raw email (quoted-printable decoded).
fn mail_links(raw: &str) -> (String, String) {
    let unfolded = raw.replace("=\r\n", "").replace("=\n", "");
    let mut decoded = String::new();
    let mut chars = unfolded.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '=' {
            let hex: String = chars.by_ref().take(2).collect();
            match u8::from_str_radix(&hex, 16) {
                Ok(b) => decoded.push(b as char),
                Err(_) => {
                    decoded.push('=');
                    decoded.push_str(&hex);
                }
            }
        } else {
            decoded.push(c);
        }
    }
    let find = |label: &str| {
        decoded
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} line in {decoded}"))
            .trim()
            .to_owned()
    };
    (find("Acknowledge: "), find("Resolve: "))
}

/// Follows an email's links as a mail scanner and a person would.
async fn follow_links(app: &TestApp, admin: &str, id: i64, (ack, resolve): &(String, String)) {
    let http = reqwest::Client::new();
    let status_of = |id: i64| async move {
        let (_, shown) = app
            .call(
                Method::GET,
                &format!("/api/v1/incidents/{id}"),
                Some(admin),
                None,
            )
            .await;
        shown["status"].as_str().unwrap().to_owned()
    };
    // A GET only asks.
    let page = http.get(ack).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("Acknowledge incident #{id}?"))
            && html.contains("<form method=\"post\">"),
        "{html}"
    );
    assert_eq!(
        status_of(id).await,
        "triggered",
        "following the link changed nothing"
    );
    // A changed token, or a token for another action, is refused.
    let (base, token) = ack.rsplit_once('/').unwrap();
    let mut changed: Vec<char> = token.chars().collect();
    let last = changed.len() - 1;
    changed[last] = if changed[last] == 'A' { 'B' } else { 'A' };
    let changed: String = changed.into_iter().collect();
    assert_eq!(
        http.post(format!("{base}/{changed}"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let wrong = ack.replace("/l/ack/", "/l/resolve/");
    assert_eq!(
        http.post(&wrong).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // The POST acts, as the person the link was sent to, once.
    let done = http.post(ack).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(shown["status"], "acknowledged");
    assert_eq!(shown["acknowledged_by"], "user:bob");
    assert_eq!(
        http.post(ack).send().await.unwrap().status(),
        StatusCode::GONE,
        "used already"
    );
    // A day later the resolve link has expired.
    app.clock.advance(std::time::Duration::from_secs(25 * 3600));
    assert_eq!(
        http.post(resolve).send().await.unwrap().status(),
        StatusCode::GONE
    );
    assert_eq!(status_of(id).await, "acknowledged");
}

/// A stand-in for Slack's Web API: checks the bot token and the required fields as Slack
/// does, answers the first postMessage with 429 and `Retry-After`, records the rest.
#[derive(Clone, Default)]
struct SlackStandIn {
    posted: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>,
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// When set, every call waits for a permit: Slack hanging.
    hold: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    /// Calls that reached the stand-in, answered or not.
    arrived: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn slack_api(
    axum::extract::State(s): axum::extract::State<SlackStandIn>,
    axum::extract::Path(method): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer xoxb-test-token")
    {
        return axum::Json(json!({"ok": false, "error": "invalid_auth"})).into_response();
    }
    s.arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if let Some(hold) = &s.hold {
        hold.acquire().await.unwrap().forget();
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return axum::Json(json!({"ok": false, "error": "invalid_json"})).into_response();
    };
    let required: &[&str] = match method.as_str() {
        "chat.postMessage" => &["channel", "text"],
        "chat.update" => &["channel", "ts", "text"],
        _ => return axum::Json(json!({"ok": false, "error": "unknown_method"})).into_response(),
    };
    if required.iter().any(|f| !body[*f].is_string()) {
        return axum::Json(json!({"ok": false, "error": "invalid_arguments"})).into_response();
    }
    if method == "chat.postMessage"
        && s.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
    {
        return (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "30")],
            "",
        )
            .into_response();
    }
    let channel = body["channel"].as_str().unwrap().to_owned();
    s.posted.lock().unwrap().push((method, body));
    axum::Json(json!({"ok": true, "channel": channel, "ts": "1700000000.000100"})).into_response()
}

async fn an_unacknowledged_incident_escalates_by_email_and_slack_until_a_link_acknowledges_it(
    store: TestStore,
) {
    let smtp = SmtpServer::start().await;
    let slack = SlackStandIn::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slack_url = format!("http://{}/api", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/api/{method}", axum::routing::post(slack_api))
        .with_state(slack.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let mut settings = server::Settings::default();
    settings
        .secrets
        .insert("slack-bot-token".into(), "xoxb-test-token".into());
    settings.secrets.insert(
        "slack-signing-secret".into(),
        "slack-signing-secret-0".into(),
    );
    settings.slack_api_url = slack_url.clone();
    let app = TestApp::start_with(store, settings).await;
    app.apply("org.yaml", ORG).await;
    // Level 1 is the schedule's current on-call (bob: email and Slack); level 2 is cho.
    let bob = "spec:\n  full_name: Bob Acme\n  email: bob@acme.test\n  roles: [{role: responder, company: acme}]\n  \
               contact_methods: [{name: slack, type: slack, address: U0BOB0001}]\n  \
               notification_rules: {high: [{contact: email}, {contact: slack}]}";
    let fixture = ONCALL
        .replace("spec: {full_name: Bob Acme, email: bob@acme.test, roles: [{role: responder, company: acme}]}", bob)
        .replace(
            "    - {targets: [{schedule: days}], delay_minutes: 10}\n    - {targets: [{schedule: primary}], delay_minutes: 15}\n    - {targets: [{user: cho}], delay_minutes: 5}",
            "    - {targets: [{schedule: primary}], delay_minutes: 10}\n    - {targets: [{user: cho}], delay_minutes: 10}",
        );
    app.apply("oncall.yaml", &fixture).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let clock: std::sync::Arc<dyn runtime::Clock> = std::sync::Arc::new(app.clock.clone());
    let worker = |channel| outbox(&app, channel);
    let secret = app.link_secret().await;
    let email = worker(std::sync::Arc::new(
        runtime::notify::Email::new(
            &format!("smtp://127.0.0.1:{}", smtp.port),
            "pager@shinrai.test",
            &app.base,
            secret.into_bytes(),
            clock.clone(),
        )
        .unwrap(),
    ));
    let slack_sender = worker(std::sync::Arc::new(
        runtime::notify::Slack::new(&slack_url, "xoxb-test-token").unwrap(),
    ));
    let minutes = |m: u64| std::time::Duration::from_secs(m * 60);

    // An event opens an incident; level 1 pages bob by email and Slack.
    let id = page_orders(&app, "e2e").await;
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    assert_eq!(email.tick().await.unwrap(), 1);
    assert_eq!(smtp.messages().len(), 1);
    assert!(smtp.messages()[0].contains("To: bob@acme.test"));
    // Slack is rate limited at first: retried no earlier than its Retry-After.
    assert_eq!(slack_sender.tick().await.unwrap(), 1);
    assert!(slack.posted.lock().unwrap().is_empty());
    app.clock.advance(std::time::Duration::from_secs(29));
    assert_eq!(
        slack_sender.tick().await.unwrap(),
        0,
        "not before Retry-After"
    );
    app.clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(slack_sender.tick().await.unwrap(), 1);
    let (method, message) = slack.posted.lock().unwrap()[0].clone();
    assert_eq!(
        (method.as_str(), message["channel"].as_str()),
        ("chat.postMessage", Some("U0BOB0001"))
    );
    assert_eq!(
        message["blocks"][1]["elements"][0]["action_id"],
        "shinrai_ack"
    );
    assert_eq!(message["blocks"][1]["elements"][0]["value"], id.to_string());

    // Nobody acknowledges: after level 1's delay, level 2 (cho) is paged.
    app.clock.advance(minutes(10));
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    assert_eq!(email.tick().await.unwrap(), 1);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2);
    let bobs = mails
        .iter()
        .find(|m| m.contains("To: bob@acme.test"))
        .unwrap();
    assert!(mails.iter().any(|m| m.contains("To: cho@acme.test")));

    // bob follows the acknowledge link in his email: the escalation stops.
    let (ack, _) = mail_links(bobs);
    let http = reqwest::Client::new();
    assert_eq!(
        http.post(&ack).send().await.unwrap().status(),
        StatusCode::OK
    );
    app.clock.advance(minutes(30));
    assert_eq!(
        app.timers.tick().await.unwrap(),
        0,
        "no level after the acknowledgement"
    );

    // The timeline shows every step.
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&admin),
            None,
        )
        .await;
    let steps: Vec<String> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let k = l["kind"].as_str().unwrap();
            match k {
                "escalation.level" => format!("{k} {} {}", l["data"]["level"], l["data"]["people"]),
                k if k.starts_with("notification.") => format!(
                    "{k} {} {}",
                    l["data"]["channel"].as_str().unwrap(),
                    l["data"]["user"].as_str().unwrap()
                ),
                _ => format!("{k} {}", l["actor"].as_str().unwrap()),
            }
        })
        .collect();
    assert_eq!(
        steps,
        [
            "alert.triggered integration:orders/prom",
            "escalation.level 1 [\"bob\"]",
            "notification.sent email bob",
            "notification.failed slack bob",
            "notification.sent slack bob",
            "escalation.level 2 [\"cho\"]",
            "notification.sent email cho",
            "incident.acknowledged user:bob",
        ]
    );

    // Slack's Resolve button, signed as Slack signs: bob resolves it from Slack.
    let payload = json!({"type": "block_actions", "user": {"id": "U0BOB0001", "username": "bob"},
        "actions": [{"action_id": "shinrai_resolve", "block_id": format!("incident-{id}"), "value": id.to_string(), "type": "button"}],
        "channel": {"id": "D0BOB"}, "message": {"ts": "1700000000.000100"}, "response_url": "http://unused"});
    let body = format!("payload={}", form_encode(&payload.to_string()));
    let post = |timestamp: i64, signature: String, body: String| {
        let http = http.clone();
        let url = format!("{}/integrations/slack/interactions", app.base);
        async move {
            http.post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-slack-request-timestamp", timestamp.to_string())
                .header("x-slack-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let now = runtime::Clock::now(&app.clock).as_second();
    let sign = |ts: i64, body: &str| {
        server::slack::signature(b"slack-signing-secret-0", &ts.to_string(), body.as_bytes())
    };
    assert_eq!(
        post(now, "v0=deadbeef".into(), body.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(now - 301, sign(now - 301, &body), body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "too old"
    );
    assert_eq!(
        post(now, sign(now, &body), body.clone()).await,
        StatusCode::OK
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
    assert_eq!(shown["resolved_by"], "user:bob");
    let updated = slack.posted.lock().unwrap().last().unwrap().clone();
    assert_eq!(updated.0, "chat.update");
    assert!(
        updated.1["text"]
            .as_str()
            .unwrap()
            .contains("resolved by bob"),
        "{updated:?}"
    );
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

/// Stand-ins for Twilio's REST API and an ntfy server: they check what the real ones
/// require (Basic auth with the account, `To`/`From`/`Body` or `Twiml`) and record it.
#[derive(Clone, Default)]
struct Providers {
    got: std::sync::Arc<std::sync::Mutex<Vec<(String, axum::http::HeaderMap, String)>>>,
}

async fn twilio_api(
    axum::extract::State(p): axum::extract::State<Providers>,
    axum::extract::Path((account, resource)): axum::extract::Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("AC0123:twilio-token")
    );
    if account != "AC0123"
        || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
    {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(json!({"code": 20003, "message": "Authenticate", "status": 401})),
        )
            .into_response();
    }
    let form: std::collections::HashMap<String, String> = url_decode(&body);
    let needs: &[&str] = match resource.as_str() {
        "Messages.json" => &["To", "From", "Body"],
        "Calls.json" => &["To", "From", "Twiml"],
        _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
    };
    if let Some(missing) = needs.iter().find(|f| !form.contains_key(**f)) {
        return (axum::http::StatusCode::BAD_REQUEST, axum::Json(json!({"code": 21604, "message": format!("A '{missing}' is required"), "status": 400}))).into_response();
    }
    p.got
        .lock()
        .unwrap()
        .push((resource.clone(), headers, body));
    let sid = if resource == "Calls.json" {
        "CA0001"
    } else {
        "SM0001"
    };
    (
        axum::http::StatusCode::CREATED,
        axum::Json(json!({"sid": sid, "status": "queued"})),
    )
        .into_response()
}

async fn ntfy_api(
    axum::extract::State(p): axum::extract::State<Providers>,
    axum::extract::Path(topic): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::Json<Value> {
    p.got
        .lock()
        .unwrap()
        .push((format!("ntfy:{topic}"), headers, body));
    axum::Json(json!({"id": "n1", "topic": topic, "event": "message"}))
}

fn url_decode(body: &str) -> std::collections::HashMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode_component(k), decode_component(v)))
        .collect()
}

fn decode_component(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Signs an inbound Twilio webhook with the `twilio` Python library.
async fn twilio_signature(url: &str, params: &[(&str, &str)]) -> String {
    let req = json!({"token": "twilio-token", "url": url,
                     "params": params.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>()});
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/senders/twilio_sign.py"
            ))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run python3 (scripts/test provides it with twilio)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(req.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "twilio failed (run through scripts/test, which installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn pages_go_out_by_sms_voice_and_push_and_replies_act(store: TestStore) {
    let providers = Providers::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/{resource}",
            axum::routing::post(twilio_api),
        )
        .route("/ntfy/{topic}", axum::routing::post(ntfy_api))
        .with_state(providers.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let public = "https://shinrai.example.com";
    let mut settings = server::Settings {
        public_url: public.into(),
        ..Default::default()
    };
    settings
        .secrets
        .insert("twilio-auth-token".into(), "twilio-token".into());
    let app = TestApp::start_with(store, settings).await;
    app.apply("org.yaml", ORG).await;
    let cho = "spec:\n  full_name: Cho Acme\n  email: cho@acme.test\n  roles: [{role: responder, company: acme}]\n  \
               contact_methods: [{name: phone, type: sms, address: \"+15550000002\"}, {name: call, type: voice, address: \"+15550000002\"}, {name: pager, type: push, address: cho-pages}]\n  \
               notification_rules: {high: [{contact: phone}, {contact: pager}, {contact: call, after_minutes: 5}]}";
    let fixture = ONCALL
        .replace("spec: {full_name: Cho Acme, email: cho@acme.test}", cho)
        .replace(
            "    - {targets: [{schedule: days}], delay_minutes: 10}\n    - {targets: [{schedule: primary}], delay_minutes: 15}\n    - {targets: [{user: cho}], delay_minutes: 5}",
            "    - {targets: [{user: cho}], delay_minutes: 30}",
        );
    app.apply("oncall.yaml", &fixture).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let clock: std::sync::Arc<dyn runtime::Clock> = std::sync::Arc::new(app.clock.clone());
    let secret = app.link_secret().await.into_bytes();
    let twilio = std::sync::Arc::new(runtime::notify::Twilio {
        http: reqwest::Client::new(),
        base_url: base.clone(),
        account_sid: "AC0123".into(),
        auth_token: "twilio-token".into(),
        from: "+15559990000".into(),
        public_url: public.into(),
        link_secret: secret.clone(),
        clock: clock.clone(),
    });
    let worker = |channel| outbox(&app, channel);
    let sms = worker(std::sync::Arc::new(runtime::notify::Sms(twilio.clone())));
    let voice = worker(std::sync::Arc::new(runtime::notify::Voice(twilio)));
    let push = worker(std::sync::Arc::new(runtime::notify::Push {
        http: reqwest::Client::new(),
        base_url: format!("{base}/ntfy"),
        token: None,
        public_url: public.into(),
        link_secret: secret,
        clock: clock.clone(),
    }));

    let id = page_orders(&app, "sms").await;
    app.timers.tick().await.unwrap();
    assert_eq!(sms.tick().await.unwrap(), 1);
    assert_eq!(push.tick().await.unwrap(), 1);
    assert_eq!(
        voice.tick().await.unwrap(),
        0,
        "the call comes after 5 minutes"
    );
    {
        let got = providers.got.lock().unwrap();
        let (_, _, body) = got.iter().find(|(r, _, _)| r == "Messages.json").unwrap();
        let form = url_decode(body);
        assert_eq!(form["To"], "+15550000002");
        assert_eq!(form["From"], "+15559990000");
        assert!(
            form["Body"].contains(&format!("Reply ACK {id}")),
            "{form:?}"
        );
        assert!(
            form["Body"].contains(&format!("{public}/l/ack/")),
            "{form:?}"
        );
        let (_, headers, body) = got.iter().find(|(r, _, _)| r == "ntfy:cho-pages").unwrap();
        assert_eq!(body, "Orders failing");
        assert_eq!(headers["priority"], "urgent");
        assert!(
            headers["actions"]
                .to_str()
                .unwrap()
                .contains(&format!("http, Acknowledge, {public}/l/ack/"))
        );
    }
    // cho replies "ack" to the SMS: the newest open incident assigned to them.
    let sms_url = format!("{public}/integrations/twilio/sms");
    let reply = [
        ("From", "+15550000002"),
        ("To", "+15559990000"),
        ("Body", "ack"),
        ("MessageSid", "SM9"),
    ];
    let signature = twilio_signature(&sms_url, &reply).await;
    let send = |path: String, params: Vec<(&'static str, &'static str)>, signature: String| {
        let base = app.base.clone();
        async move {
            let body: String = params
                .iter()
                .map(|(k, v)| format!("{k}={}", form_encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let resp = reqwest::Client::new()
                .post(format!("{base}{path}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-twilio-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let (status, _) = send(
        "/integrations/twilio/sms".into(),
        reply.to_vec(),
        "bm90IGl0".into(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a forged reply is refused");
    let (status, twiml) = send("/integrations/twilio/sms".into(), reply.to_vec(), signature).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        twiml.contains(&format!("<Message>#{id} acknowledged by cho.</Message>")),
        "{twiml}"
    );
    app.clock.advance(std::time::Duration::from_secs(600));
    assert_eq!(
        voice.tick().await.unwrap(),
        0,
        "the acknowledgement cancelled the call"
    );

    // A second incident: cho does not answer the texts; the call comes, and 2 resolves.
    let id2 = page_orders(&app, "call").await;
    app.timers.tick().await.unwrap();
    app.clock.advance(std::time::Duration::from_secs(300));
    assert_eq!(voice.tick().await.unwrap(), 1);
    let twiml = {
        let got = providers.got.lock().unwrap();
        url_decode(&got.iter().find(|(r, _, _)| r == "Calls.json").unwrap().2)["Twiml"].clone()
    };
    let action = format!("{public}/integrations/twilio/voice?incident={id2}&amp;user=cho");
    assert!(twiml.contains(&format!("action=\"{action}\"")), "{twiml}");
    let voice_path = format!("/integrations/twilio/voice?incident={id2}&user=cho");
    let pressed = [
        ("CallSid", "CA0001"),
        ("From", "+15559990000"),
        ("To", "+15550000002"),
        ("Digits", "2"),
    ];
    let signature = twilio_signature(&format!("{public}{voice_path}"), &pressed).await;
    let (status, said) = send(voice_path, pressed.to_vec(), signature).await;
    assert_eq!(status, StatusCode::OK);
    assert!(said.contains(&format!("Incident {id2} resolved")), "{said}");
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{id2}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(shown["resolved_by"], "user:cho");

    // An alert storm: three incidents at once reach cho as one text, not three.
    for dedup in ["storm-1", "storm-2", "storm-3"] {
        page_orders(&app, dedup).await;
    }
    assert_eq!(app.timers.tick().await.unwrap(), 3);
    let before = providers
        .got
        .lock()
        .unwrap()
        .iter()
        .filter(|(r, _, _)| r == "Messages.json")
        .count();
    assert_eq!(sms.tick().await.unwrap(), 3, "three pages recorded");
    let texts: Vec<String> = providers
        .got
        .lock()
        .unwrap()
        .iter()
        .filter(|(r, _, _)| r == "Messages.json")
        .map(|(_, _, b)| url_decode(b)["Body"].clone())
        .collect();
    assert_eq!(texts.len(), before + 1, "one message for the storm");
    assert!(
        texts
            .last()
            .unwrap()
            .starts_with("[shinrai] 3 incidents triggered: #"),
        "{texts:?}"
    );
}

async fn count_hit(
    axum::extract::State(hits): axum::extract::State<
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    >,
) -> &'static str {
    hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    "OK"
}

async fn the_pager_watches_itself(store: TestStore) {
    let app = app(store).await;
    app.apply("oncall.yaml", ONCALL).await;
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ping/shinrai", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/ping/shinrai", axum::routing::get(count_hit))
        .with_state(hits.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    // A page waits in the outbox (nobody sends email here) for a minute and a half.
    page_orders(&app, "waiting").await;
    app.timers.tick().await.unwrap();
    app.clock.advance(std::time::Duration::from_secs(90));
    let watch = runtime::workers::SelfWatch {
        store: app.store.clone(),
        clock: std::sync::Arc::new(app.clock.clone()),
        heartbeat_url: Some(url),
        http: reqwest::Client::new(),
    };
    assert!(
        watch.tick().await.unwrap(),
        "the outside heartbeat took the ping"
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    let (_, metrics) = app.call(Method::GET, "/metrics", None, None).await;
    let text = metrics.as_str().unwrap();
    for line in [
        r#"shinrai_outbox_depth{channel="email"} 1"#,
        r#"shinrai_outbox_depth{channel="slack"} 0"#,
        r#"shinrai_outbox_oldest_undelivered_seconds{channel="email"} 90"#,
        "shinrai_timers_due 0",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

async fn test_notifications_and_the_unreachable_report_say_which_contact_methods_work(
    store: TestStore,
) {
    let smtp = SmtpServer::start().await;
    let clock = runtime::ManualClock::new(test_support::t0());
    let email: std::sync::Arc<dyn runtime::notify::Channel> = std::sync::Arc::new(
        runtime::notify::Email::new(
            &format!("smtp://127.0.0.1:{}", smtp.port),
            "pager@shinrai.test",
            "https://shinrai.example.com",
            b"k".to_vec(),
            std::sync::Arc::new(clock),
        )
        .unwrap(),
    );
    let sms: std::sync::Arc<dyn runtime::notify::Channel> =
        std::sync::Arc::new(runtime::notify::Unconfigured {
            channel: "sms",
            hint: "none here",
        });
    let app =
        TestApp::start_with_channels(store, server::Settings::default(), vec![email, sms]).await;
    app.apply("org.yaml", ORG).await;
    // cho can be reached only by SMS, which this server cannot send.
    let cho = "spec:\n  full_name: Cho Acme\n  email: cho@acme.test\n  \
               contact_methods: [{name: phone, type: sms, address: \"+15550000002\"}]\n  \
               notification_rules: {high: [{contact: phone}], low: [{contact: phone}]}";
    app.apply(
        "oncall.yaml",
        &ONCALL.replace("spec: {full_name: Cho Acme, email: cho@acme.test}", cho),
    )
    .await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let (status, report) = app
        .call(
            Method::POST,
            "/api/v1/users/bob/test-notification",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["results"][0]["contact"], "email");
    assert_eq!(report["results"][0]["ok"], true, "{report}");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("Subject: [shinrai] test notification for bob"),
        "{}",
        mails[0]
    );
    let (_, report) = app
        .call(
            Method::POST,
            "/api/v1/users/cho/test-notification",
            Some(&admin),
            None,
        )
        .await;
    let by_contact: Vec<(String, bool)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["contact"].as_str().unwrap().to_owned(),
                r["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_contact,
        [("phone".to_owned(), false), ("email".to_owned(), true)]
    );
    // Another person may not test bob's phone.
    let viewer = app
        .token(
            "viewer",
            vec![Grant::company(Role::Responder, "acme")],
            None,
        )
        .await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/users/bob/test-notification",
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, list) = app
        .call(
            Method::GET,
            "/api/v1/oncall/unreachable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list["items"],
        json!([{"user": "cho", "on": ["EscalationPolicy shop", "Schedule days", "Schedule ny", "Schedule primary"],
                "reasons": ["phone (sms): no sms provider is configured"]}])
    );
}

async fn services_announce_their_incidents_to_slack_and_webhooks(store: TestStore) {
    let receiver = Receiver::default();
    receiver.release.add_permits(100);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    let slack = SlackStandIn::default();
    slack.calls.store(1, std::sync::atomic::Ordering::SeqCst); // no 429 here
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    let slack_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slack_url = format!("http://{}/api", slack_listener.local_addr().unwrap());
    let slack_router = axum::Router::new()
        .route("/api/{method}", axum::routing::post(slack_api))
        .with_state(slack.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    tokio::spawn(async move { axum::serve(slack_listener, slack_router).await.unwrap() });
    let app = app(store).await;
    app.apply(
        "announce.yaml",
        &format!(
            "apiVersion: shinrai/v1\nkind: Service\nmetadata: {{name: announced, labels: {{company: acme, product: shop}}}}\n\
             spec:\n  owner_team: shop\n  integrations: [{{name: prom, type: pagerduty, key: acme-announced-key-01}}]\n  \
             announce: {{slack_channel: C0INCIDENTS, webhooks: [\"{hook}\"]}}\n"
        ),
    )
    .await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let worker = |channel| outbox(&app, channel);
    let webhook = worker(std::sync::Arc::new(runtime::notify::Webhook {
        egress: test_support::loopback_egress(),
        secret: None,
        public_url: app.base.clone(),
    }));
    let slack_sender = worker(std::sync::Arc::new(
        runtime::notify::Slack::new(&slack_url, "xoxb-test-token").unwrap(),
    ));
    let (status, _) = enqueue(
        &app,
        trigger("acme-announced-key-01", Some("lag"), "Replication lag"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = incidents_of(&app, &admin, "announced").await[0]["id"]
        .as_i64()
        .unwrap();
    let path = |what: &str| format!("/api/v1/incidents/{id}/{what}");
    assert_eq!(webhook.tick().await.unwrap(), 1);
    app.call(Method::POST, &path("acknowledge"), Some(&admin), None)
        .await;
    assert_eq!(
        webhook.tick().await.unwrap(),
        1,
        "an acknowledgement does not cancel an announcement"
    );
    app.call(Method::POST, &path("resolve"), Some(&admin), None)
        .await;
    assert_eq!(webhook.tick().await.unwrap(), 1);
    assert_eq!(slack_sender.tick().await.unwrap(), 3);
    let events: Vec<String> = receiver
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<Value>(body).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        events,
        [
            "incident.triggered",
            "incident.acknowledged",
            "incident.resolved"
        ]
    );
    let posted = slack.posted.lock().unwrap().clone();
    assert_eq!(posted.len(), 3);
    assert!(posted.iter().all(|(_, m)| m["channel"] == "C0INCIDENTS"));
    assert!(
        posted[0].1["blocks"][1]["elements"].is_array(),
        "the opening has buttons"
    );
    assert!(
        posted[2].1["text"]
            .as_str()
            .unwrap()
            .contains(&format!("#{id} resolved")),
        "{posted:?}"
    );
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

async fn each_email_address_belongs_to_one_user_on_every_path(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let acme = app
        .token(
            "acme-admin",
            vec![Grant::company(Role::Admin, "acme")],
            None,
        )
        .await;
    // A company admin gives a new user another person's address, in another case: refused
    // by field, without naming a user the admin may not see.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&acme),
            Some(
                json!({"metadata": {"name": "fake-gus", "labels": {"company": "acme"}},
                        "spec": {"full_name": "Not Gus", "email": "GUS@globex.test"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "spec.email", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("already the email of another user"),
        "{body}"
    );
    assert!(!message.contains("gus"), "{body}");
    // A global admin sees whose it is; an update is refused the same way.
    let pat = |email: &str| {
        json!({"metadata": {"name": "pat", "labels": {"company": "acme"}},
               "spec": {"full_name": "Pat Acme", "email": email}})
    };
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(pat("pat@acme.test")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/users/pat",
            Some(&admin),
            Some(pat("gus@GLOBEX.test")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "spec.email", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("User gus"),
        "{body}"
    );
    // Keeping one's own address is no conflict.
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/users/pat",
            Some(&admin),
            Some(pat("PAT@acme.test")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Configuration files: among themselves, and against users already in shinrai.
    let docs = "apiVersion: shinrai/v1\nkind: User\nmetadata: {name: dup-a}\nspec: {full_name: A, email: same@acme.test}\n---\n\
                apiVersion: shinrai/v1\nkind: User\nmetadata: {name: dup-b}\nspec: {full_name: B, email: Same@Acme.test}\n---\n\
                apiVersion: shinrai/v1\nkind: User\nmetadata: {name: dup-c}\nspec: {full_name: C, email: ann@ACME.test}\n";
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/config/plan",
            Some(&admin),
            Some(json!({"files": [{"path": "dups.yaml", "content": docs}]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let problems = body["errors"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{body}");
    assert!(
        problems.iter().all(|p| p["field"] == "spec.email"),
        "{body}"
    );
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("already the email of User `dup-a` at dups.yaml:"),
        "{body}"
    );
    assert!(
        problems[1]["message"]
            .as_str()
            .unwrap()
            .contains("already the email of User `ann` in shinrai"),
        "{body}"
    );
    // Sign-in finds the one user with the address, whatever its case.
    app.store
        .set_password(
            &Name::new("gus").unwrap(),
            &server::api::session::hash_password("gus password 123").unwrap(),
            &store::WriteContext {
                actor: "system".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(json!({"email": "Gus@Globex.test", "password": "gus password 123"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"], "gus");
}

/// Signs in through the API; returns the status, `Retry-After` and the body.
async fn sign_in_at(
    base: &str,
    email: &str,
    password: &str,
) -> (StatusCode, Option<String>, Value) {
    sign_in_from(base, email, password, None).await
}

async fn sign_in_from(
    base: &str,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": email, "password": password}));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

async fn failed_sign_ins_wait_then_get_429_survive_a_restart_and_are_audited(store: TestStore) {
    let app = app(store).await;
    let admin = app
        .token("admin", vec![Grant::global(Role::Admin)], None)
        .await;
    let password = "correct horse battery";
    app.store
        .set_password(
            &Name::new("ann").unwrap(),
            &server::api::session::hash_password(password).unwrap(),
            &store::WriteContext {
                actor: "system".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    // Five wrong passwords are each answered 401; the sixth attempt, even with the right
    // password, waits: 429 with Retry-After, before any password is checked.
    for _ in 0..5 {
        let (status, _, body) = sign_in_at(&app.base, "ann@acme.test", "guess guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, retry, body) = sign_in_at(&app.base, "ANN@acme.test", password).await;
    assert_eq!(
        (status, retry.as_deref(), body["code"].as_str()),
        (
            StatusCode::TOO_MANY_REQUESTS,
            Some("1"),
            Some("too_many_requests")
        ),
        "{body}"
    );
    // A restarted server (or another node) over the same store still holds the wait.
    let again = serve_again(&app).await;
    let (status, retry, _) = sign_in_at(&again, "ann@acme.test", password).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("1"))
    );
    // The wait ends; each further failure doubles it; it is never permanent.
    app.clock.advance(std::time::Duration::from_secs(1));
    let (status, _, _) = sign_in_at(&again, "ann@acme.test", "guess guess guess").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, retry, _) = sign_in_at(&again, "ann@acme.test", password).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("2"))
    );
    app.clock.advance(std::time::Duration::from_secs(2));
    let (status, _, body) = sign_in_at(&app.base, "ann@acme.test", password).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Success forgets the account's failures.
    let (status, _, _) = sign_in_at(&app.base, "ann@acme.test", "guess guess guess").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An unknown email is answered like a wrong password, and audited too.
    let (status, _, body) = sign_in_at(&app.base, "nobody@acme.test", password).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "wrong email or password");
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit?limit=100", Some(&admin), None)
        .await;
    let failed: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "signin.failed")
        .collect();
    assert_eq!(
        failed.len(),
        8,
        "seven wrong passwords and one unknown email: {audit}"
    );
    assert_eq!(failed[0]["name"], "", "{}", failed[0]);
    assert_eq!(failed[0]["after"]["reason"], "no user has this email");
    assert_eq!(failed[0]["after"]["email"], "nobody@acme.test");
    assert_eq!(failed[1]["name"], "ann");
    assert_eq!(failed[1]["after"]["reason"], "wrong password");
    assert!(
        failed[1]["actor"]
            .as_str()
            .unwrap()
            .starts_with("client:127.0.0.1"),
        "{}",
        failed[1]
    );
    // An acme admin sees ann's failures, not the unknown email's.
    let acme = app
        .token(
            "acme-admin",
            vec![Grant::company(Role::Admin, "acme")],
            None,
        )
        .await;
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit?limit=100", Some(&acme), None)
        .await;
    let seen: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "signin.failed")
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(seen, vec!["ann"; 7], "{audit}");
}

/// Another server over the same store and clock, as after a restart or on another node.
async fn serve_again(app: &TestApp) -> String {
    serve_again_with(app, server::Settings::default()).await
}

async fn serve_again_with(app: &TestApp, settings: server::Settings) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = server::AppState::new(
        app.store.clone(),
        std::sync::Arc::new(app.clock.clone()),
        settings,
    );
    tokio::spawn(server::run(listener, state, std::future::pending()));
    base
}

async fn sign_ins_are_counted_per_client_address_behind_trusted_proxies_only(store: TestStore) {
    let app = app(store).await;
    let behind_proxy = serve_again_with(
        &app,
        server::Settings {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..Default::default()
        },
    )
    .await;
    // Twenty failures from one client, each on another account, spend its free ones.
    for i in 0..20 {
        let (status, _, _) = sign_in_from(
            &behind_proxy,
            &format!("user{i}@acme.test"),
            "guess guess guess",
            Some("203.0.113.7"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, retry, _) = sign_in_from(
        &behind_proxy,
        "someone@acme.test",
        "guess guess guess",
        Some("203.0.113.7"),
    )
    .await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("1"))
    );
    // A hop the client wrote itself in front of the proxy's changes nothing.
    let (status, _, _) = sign_in_from(
        &behind_proxy,
        "someone@acme.test",
        "guess guess guess",
        Some("198.51.100.1, 203.0.113.7"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not held back.
    let (status, _, _) = sign_in_from(
        &behind_proxy,
        "someone@acme.test",
        "guess guess guess",
        Some("203.0.113.8"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Where no proxy is trusted, the header is the client's own word: ignored, so a client
    // cannot leave its count behind by changing it.
    for i in 0..20 {
        let (status, _, _) = sign_in_from(
            &app.base,
            &format!("other{i}@acme.test"),
            "guess guess guess",
            Some(&format!("198.51.100.{i}")),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (status, _, _) = sign_in_from(
        &app.base,
        "other@acme.test",
        "guess guess guess",
        Some("198.51.100.99"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

async fn a_replayed_twilio_callback_acts_once(store: TestStore) {
    let public = "https://shinrai.example.com";
    let mut settings = server::Settings {
        public_url: public.into(),
        ..Default::default()
    };
    settings
        .secrets
        .insert("twilio-auth-token".into(), "twilio-token".into());
    let app = TestApp::start_with(store, settings).await;
    app.apply("org.yaml", ORG).await;
    let fixture = ONCALL
        .replace(
            "  escalation_policy: shop\n",
            "  escalation_policy: shop\n  acknowledgement_timeout_minutes: 5\n",
        )
        .replace(
            "spec: {full_name: Bob Acme, email: bob@acme.test, roles: [{role: responder, company: acme}]}",
            "spec: {full_name: Bob Acme, email: bob@acme.test, roles: [{role: responder, company: acme}], \
             contact_methods: [{name: phone, type: sms, address: \"+15550000001\"}]}",
        );
    app.apply("oncall.yaml", &fixture).await;
    let id = page_orders(&app, "replay").await;
    let status_of = || async {
        app.store
            .get_incident(id)
            .await
            .unwrap()
            .unwrap()
            .incident
            .status
    };
    let press = |call: &'static str| {
        let path = format!("/integrations/twilio/voice?incident={id}&user=bob");
        let params: Vec<(String, String)> = [("CallSid", call), ("Digits", "1")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let signature =
            server::twilio::signature("twilio-token", &format!("{public}{path}"), &params);
        let url = format!("{}{path}", app.base);
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .header("x-twilio-signature", signature)
                .form(&params)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.text().await.unwrap()
        }
    };
    let twiml = press("CA0007").await;
    assert!(twiml.contains("acknowledged"), "{twiml}");
    assert_eq!(status_of().await, paging::Status::Acknowledged);
    // The acknowledgement times out: the incident is triggered again.
    app.clock.advance(std::time::Duration::from_secs(6 * 60));
    app.timers.tick().await.unwrap();
    assert_eq!(status_of().await, paging::Status::Triggered);
    // The same signed request, replayed, does nothing.
    let twiml = press("CA0007").await;
    assert!(twiml.contains("already handled"), "{twiml}");
    assert_eq!(status_of().await, paging::Status::Triggered);
    // A key pressed in another call acts.
    let twiml = press("CA0008").await;
    assert!(twiml.contains("acknowledged"), "{twiml}");
    assert_eq!(status_of().await, paging::Status::Acknowledged);

    // The same for an SMS reply, by its MessageSid.
    let text = format!("ACK {id}");
    let reply = |sid: &'static str| {
        let path = "/integrations/twilio/sms";
        let params: Vec<(String, String)> = [
            ("From", "+15550000001"),
            ("Body", text.as_str()),
            ("MessageSid", sid),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let signature =
            server::twilio::signature("twilio-token", &format!("{public}{path}"), &params);
        let url = format!("{}{path}", app.base);
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .header("x-twilio-signature", signature)
                .form(&params)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.text().await.unwrap()
        }
    };
    app.clock.advance(std::time::Duration::from_secs(6 * 60));
    app.timers.tick().await.unwrap();
    assert_eq!(status_of().await, paging::Status::Triggered);
    let twiml = reply("SM0001").await;
    assert!(twiml.contains("acknowledged by bob"), "{twiml}");
    app.clock.advance(std::time::Duration::from_secs(6 * 60));
    app.timers.tick().await.unwrap();
    assert_eq!(status_of().await, paging::Status::Triggered);
    let twiml = reply("SM0001").await;
    assert!(twiml.contains("already handled"), "{twiml}");
    assert_eq!(status_of().await, paging::Status::Triggered);
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
