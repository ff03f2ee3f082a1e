//! Who may do what: access rules enumerated from the router, scoping between companies,
//! tokens, console sessions, sign-in and its throttling.
//!
//! Longer than 600 lines because each test is one end-to-end story run on both backends,
//! read top to bottom; splitting a story would hide its steps.

use super::*;

test_support::on_both_backends!(
    every_protected_route_refuses_a_missing_or_wrong_token,
    a_viewer_is_refused_on_every_route_that_needs_more,
    a_company_admin_sees_and_touches_nothing_of_another_company,
    a_user_token_holds_the_users_scopes_capped_at_its_role,
    tokens_are_shown_once_stored_hashed_and_revocable,
    console_sessions_sign_in_with_a_password_and_writes_need_the_csrf_token,
    each_email_address_belongs_to_one_user_on_every_path,
    failed_sign_ins_wait_then_get_429_survive_a_restart_and_are_audited,
    sign_ins_are_counted_per_client_address_behind_trusted_proxies_only,
);

fn concrete(path: &str, name: &str) -> String {
    path.replace("{name}", name)
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
