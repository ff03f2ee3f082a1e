//! Integration keys are secrets: shown only to those who may manage the service (the API,
//! and the console masked until revealed), and rotatable with an overlap during which the
//! old key still works.

use std::time::Duration;

use domain::{Grant, Name, Role};
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::TestStore;
use test_support::app::TestApp;

test_support::on_both_backends!(
    keys_show_only_to_those_who_may_manage_the_service,
    a_rotated_key_works_until_the_overlap_ends_then_is_unknown,
    only_those_who_may_manage_a_service_rotate_its_keys,
);

const ORG: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ann, labels: {company: acme}}
spec: {full_name: Ann Acme, email: ann@acme.test, roles: [{role: admin, company: acme}]}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: rita, labels: {company: acme}}
spec: {full_name: Rita Responder, email: rita@acme.test, roles: [{role: responder, company: acme}]}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: shop, labels: {company: acme}}
spec: {members: [ann, rita]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout, labels: {company: acme}}
spec:
  owner_team: shop
  integrations:
    - {name: prom, type: pagerduty}
    - {name: legacy, type: pagerduty, key: acme-declared-key-0001}
---
apiVersion: shinrai/v1
kind: Router
metadata: {name: acme-alerts, labels: {company: acme}}
spec:
  team: shop
  integrations: [{name: am, type: alertmanager}]
  rules: []
  default: checkout
---
apiVersion: shinrai/v1
kind: User
metadata: {name: gus, labels: {company: globex}}
spec: {full_name: Gus Globex, email: gus@globex.test}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: ads, labels: {company: globex}}
spec: {members: [gus]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: bidder, labels: {company: globex}}
spec:
  owner_team: ads
  integrations: [{name: prom, type: pagerduty}]
"#;

async fn app_with(store: TestStore, settings: server::Settings) -> TestApp {
    let app = TestApp::start_with(store, settings).await;
    app.apply("org.yaml", ORG).await;
    app
}

/// The keys stored for an object's integrations, read from the store.
async fn stored_keys(app: &TestApp, kind: domain::Kind, name: &str) -> Vec<String> {
    let o = app
        .store
        .get_object(kind, &Name::new(name).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut keys = Vec::new();
    for entry in o.status["integrations"].as_object().unwrap().values() {
        for field in ["key", "previous_key"] {
            if let Some(k) = entry[field].as_str() {
                keys.push(k.to_owned());
            }
        }
    }
    keys
}

async fn keys_show_only_to_those_who_may_manage_the_service(store: TestStore) {
    let app = app_with(store, server::Settings::default()).await;
    let mut keys = stored_keys(&app, domain::Kind::Service, "checkout").await;
    keys.extend(stored_keys(&app, domain::Kind::Router, "acme-alerts").await);
    assert_eq!(keys.len(), 3);
    let viewer = app
        .token("viewer", vec![Grant::global(Role::Viewer)], None)
        .await;
    let responder = app
        .token(
            "responder",
            vec![Grant::company(Role::Responder, "acme")],
            None,
        )
        .await;
    let rita = app
        .token("rita", vec![Grant::global(Role::Admin)], Some("rita"))
        .await;
    let admin = app
        .token(
            "acme-admin",
            vec![Grant::company(Role::Admin, "acme")],
            None,
        )
        .await;
    let reads = [
        "/api/v1/services",
        "/api/v1/services/checkout",
        "/api/v1/routers",
        "/api/v1/routers/acme-alerts",
        "/api/v1/audit",
    ];
    for (who, token) in [
        ("a global viewer", &viewer),
        ("a responder", &responder),
        ("a user token of a responder", &rita),
    ] {
        for path in reads {
            let (status, body) = app.call(Method::GET, path, Some(token), None).await;
            assert_eq!(status, StatusCode::OK, "{who} {path}: {body}");
            let text = body.to_string();
            for k in &keys {
                assert!(
                    !text.contains(k.as_str()),
                    "{who} sees a key at {path}: {text}"
                );
            }
            assert!(
                text.contains("\"type\":\"pagerduty\"") || path.contains("router"),
                "{text}"
            );
        }
    }
    // Those who may manage the service see every key (the audit log holds only those
    // set in a spec).
    let (_, audit) = app
        .call(Method::GET, "/api/v1/audit", Some(&admin), None)
        .await;
    assert!(
        audit.to_string().contains("acme-declared-key-0001"),
        "{audit}"
    );
    for path in &reads[..4] {
        let (status, body) = app.call(Method::GET, path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK);
        let text = body.to_string();
        let expected: Vec<&String> = if path.contains("router") {
            keys[2..].iter().collect()
        } else {
            keys[..2].iter().collect()
        };
        for k in expected {
            assert!(
                text.contains(k.as_str()),
                "the admin sees {k} at {path}: {text}"
            );
        }
    }
    // So a viewer holds nothing to act with: the events API still refuses what it is
    // not given.
    let (_, shown) = app
        .call(
            Method::GET,
            "/api/v1/services/checkout",
            Some(&viewer),
            None,
        )
        .await;
    assert!(shown["status"]["integrations"]["prom"]["key"].is_null());
    assert!(shown["spec"]["integrations"][1]["key"].is_null(), "{shown}");
}

async fn enqueue(app: &TestApp, key: &str) -> (StatusCode, Value) {
    let resp = app
        .http
        .post(format!("{}/v2/enqueue", app.base))
        .json(&json!({"routing_key": key, "event_action": "trigger", "dedup_key": "disk",
                      "payload": {"summary": "disk full", "source": "test", "severity": "critical"}}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

async fn a_rotated_key_works_until_the_overlap_ends_then_is_unknown(store: TestStore) {
    let settings = server::Settings {
        integration_key_overlap: Duration::from_secs(3600),
        ..server::Settings::default()
    };
    let app = app_with(store, settings).await;
    let admin = app
        .token(
            "acme-admin",
            vec![Grant::company(Role::Admin, "acme")],
            None,
        )
        .await;
    let (_, before) = app
        .call(Method::GET, "/api/v1/services/checkout", Some(&admin), None)
        .await;
    let old = before["status"]["integrations"]["prom"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, rotated) = app
        .call(
            Method::POST,
            "/api/v1/services/checkout/integrations/prom/rotate",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["status"]["integrations"]["prom"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    assert_eq!(
        rotated["status"]["integrations"]["prom"]["previous_key"],
        old
    );
    // The other integration keeps its key.
    assert_eq!(
        rotated["status"]["integrations"]["legacy"]["key"],
        "acme-declared-key-0001"
    );
    let (unknown_status, unknown) = enqueue(&app, "a-key-nobody-was-given-01").await;
    assert_eq!(unknown_status, StatusCode::NOT_FOUND, "{unknown}");

    // Both work within the overlap.
    assert_eq!(enqueue(&app, &new).await.0, StatusCode::ACCEPTED);
    app.clock.advance(Duration::from_secs(3599));
    assert_eq!(enqueue(&app, &old).await.0, StatusCode::ACCEPTED);
    // After it, the old key is an unknown key.
    app.clock.advance(Duration::from_secs(1));
    let (status, body) = enqueue(&app, &old).await;
    assert_eq!(
        (status, body.to_string().replace(&old, "KEY")),
        (
            unknown_status,
            unknown
                .to_string()
                .replace("a-key-nobody-was-given-01", "KEY")
        )
    );
    assert_eq!(enqueue(&app, &new).await.0, StatusCode::ACCEPTED);

    // A key set in the spec is changed there, not rotated; an unknown integration is not
    // found.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/services/checkout/integrations/legacy/rotate",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/services/checkout/integrations/nope/rotate",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Applying the files again keeps the rotated key (the status is shinrai's own).
    app.apply("org.yaml", ORG).await;
    assert_eq!(enqueue(&app, &new).await.0, StatusCode::ACCEPTED);

    // A router's key rotates the same way.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/routers/acme-alerts/integrations/am/rotate",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["status"]["integrations"]["am"]["previous_key"].is_string());
}

async fn only_those_who_may_manage_a_service_rotate_its_keys(store: TestStore) {
    let app = app_with(store, server::Settings::default()).await;
    let keys = stored_keys(&app, domain::Kind::Service, "checkout").await;
    let responder = app
        .token(
            "responder",
            vec![Grant::company(Role::Responder, "acme")],
            None,
        )
        .await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/services/checkout/integrations/prom/rotate",
            Some(&responder),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/services/bidder/integrations/prom/rotate",
            Some(
                &app.token(
                    "acme-admin",
                    vec![Grant::company(Role::Admin, "acme")],
                    None,
                )
                .await,
            ),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another company's service does not exist"
    );
    assert_eq!(
        stored_keys(&app, domain::Kind::Service, "checkout").await,
        keys
    );

    // The console: masked until revealed, with a copy button, for those who may manage
    // the service; nothing for the others. Rotating works without JavaScript.
    for user in ["ann", "rita"] {
        let hash = server::api::session::hash_password(PASSWORD).unwrap();
        app.store
            .set_password(
                &Name::new(user).unwrap(),
                &hash,
                &store::WriteContext {
                    actor: "system".into(),
                    at: test_support::t0(),
                },
            )
            .await
            .unwrap();
    }
    let rita = sign_in(&app, "rita@acme.test").await;
    let html = page(&rita, &format!("{}/services/checkout", app.base)).await;
    for k in &keys {
        assert!(!html.contains(k.as_str()), "a responder sees a key: {html}");
    }
    assert!(!html.contains("/rotate"), "{html}");
    let ann = sign_in(&app, "ann@acme.test").await;
    let html = page(&ann, &format!("{}/services/checkout", app.base)).await;
    for k in &keys {
        assert!(html.contains(k.as_str()), "the admin sees {k}: {html}");
    }
    assert!(html.contains("<details class=\"secret\">"), "{html}");
    assert!(html.contains("data-copy=\"key-prom\""), "{html}");
    assert!(!html.contains("<script>"), "no inline script: {html}");
    assert!(html.contains("shinrai.js\" defer></script>"), "{html}");
    let js = ann
        .get(format!("{}/assets/shinrai.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.text().await.unwrap().contains("navigator.clipboard"));
    // A responder cannot post the form; the admin can.
    let token = csrf(&html);
    let rita_csrf = csrf(&page(&rita, &format!("{}/me", app.base)).await);
    let resp = rita
        .post(format!(
            "{}/services/checkout/integrations/prom/rotate",
            app.base
        ))
        .form(&[("csrf", rita_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = ann
        .post(format!(
            "{}/services/checkout/integrations/prom/rotate",
            app.base
        ))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let after = stored_keys(&app, domain::Kind::Service, "checkout").await;
    assert_eq!(
        after.len(),
        3,
        "new key, previous key, declared key: {after:?}"
    );
    let html = page(&ann, &format!("{}/services/checkout", app.base)).await;
    assert!(html.contains("The previous key works until"), "{html}");
}

const PASSWORD: &str = "correct horse battery staple";

async fn sign_in(app: &TestApp, email: &str) -> reqwest::Client {
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    // The sign-in form carries its own CSRF token, double-submitted with a cookie.
    let form = page(&b, &format!("{}/login", app.base)).await;
    let token = csrf(&form);
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("next", "/incidents"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{email} signs in");
    b
}

async fn page(b: &reqwest::Client, url: &str) -> String {
    let resp = b.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{url}");
    resp.text().await.unwrap()
}

fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    html[at + 19..].split('"').next().unwrap().to_owned()
}
