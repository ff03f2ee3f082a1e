//! The web console over HTTP: sign-in and coming back where the link pointed, roles and
//! company scopes on every page and action, CSRF on every form, escaping of untrusted
//! text, and partial refreshes.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::json;
use test_support::app::TestApp;

const ORG: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ann, labels: {company: acme}}
spec: {full_name: Ann Acme, email: ann@acme.test, time_zone: Asia/Tokyo, roles: [{role: responder, company: acme}]}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: vic, labels: {company: acme}}
spec: {full_name: Vic Viewer, email: vic@acme.test, roles: [{role: viewer, company: acme}]}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: gus, labels: {company: globex}}
spec: {full_name: Gus Globex, email: gus@globex.test, roles: [{role: admin, company: globex}]}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: shop, labels: {company: acme}}
spec: {members: [ann, vic]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout, labels: {company: acme, product: shop}}
spec:
  owner_team: shop
  escalation_policy: shop
  integrations: [{name: prom, type: pagerduty, key: acme-checkout-key-0001}]
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {name: shop, labels: {company: acme}}
spec: {team: shop, levels: [{targets: [{schedule: primary}], delay_minutes: 10}]}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: primary, labels: {company: acme}}
spec:
  time_zone: UTC
  layers: [{name: weekly, users: [ann, vic], rotation: 1w, start: "2023-11-13T09:00"}]
"#;

const PASSWORD: &str = "correct horse battery staple";

async fn start() -> TestApp {
    let app = TestApp::start(test_support::sqlite_store().await).await;
    app.apply("org.yaml", ORG).await;
    for user in ["ann", "vic", "gus"] {
        let hash = server::api::session::hash_password(PASSWORD).unwrap();
        app.store
            .set_password(
                &domain::Name::new(user).unwrap(),
                &hash,
                &store::WriteContext {
                    actor: "system".into(),
                    at: test_support::t0(),
                },
            )
            .await
            .unwrap();
    }
    app
}

/// A browser: keeps cookies, does not follow redirects (tests look at them).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Opens the sign-in page, as a browser does before posting it: the form's CSRF token.
async fn login_form(b: &reqwest::Client, app: &TestApp) -> String {
    let (status, html) = page(b, &format!("{}/login", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    csrf(&html)
}

async fn sign_in(app: &TestApp, email: &str) -> reqwest::Client {
    let b = browser();
    let token = login_form(&b, app).await;
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

/// The CSRF token of a page's forms.
fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    html[at + 19..].split('"').next().unwrap().to_owned()
}

async fn page(b: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let resp = b.get(url).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn open_incident(app: &TestApp, summary: &str) -> i64 {
    let resp = app
        .http
        .post(format!("{}/v2/enqueue", app.base))
        .json(&json!({"routing_key": "acme-checkout-key-0001", "event_action": "trigger", "dedup_key": summary,
                      "payload": {"summary": summary, "source": "test", "severity": "critical"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    app.store
        .list_incidents(&store::IncidentQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id
}

#[tokio::test]
async fn signing_in_returns_to_the_page_the_link_pointed_at() {
    let app = start().await;
    let id = open_incident(&app, "disk full").await;
    let b = browser();
    let resp = b
        .get(format!("{}/incidents/{id}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/login?next=%2Fincidents%2F{id}"));
    let (status, html) = page(&b, &format!("{}{to}", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    // (minijinja escapes `/` in attribute values too; browsers read it back as `/`.)
    assert!(
        html.contains(&format!(
            "name=\"next\" value=\"&#x2f;incidents&#x2f;{id}\""
        )),
        "{html}"
    );
    // A wrong password says so; the right one goes back to the incident.
    let token = csrf(&html);
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", "nope"),
            ("next", &format!("/incidents/{id}")),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("next", &format!("/incidents/{id}")),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        format!("/incidents/{id}").as_str()
    );
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let (status, html) = page(&b, &format!("{}/incidents/{id}", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("disk full"));
    // `next` never leads off the site.
    let b = browser();
    let token = login_form(&b, &app).await;
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/incidents");
}

#[tokio::test]
async fn a_responder_acknowledges_from_the_page_and_the_timeline_changes() {
    let app = start().await;
    let id = open_incident(&app, "latency high").await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (_, html) = page(&b, &format!("{}/incidents/{id}", app.base)).await;
    assert!(html.contains("Acknowledge"), "{html}");
    let token = csrf(&html);
    // Without the form's CSRF token, nothing happens.
    let resp = b
        .post(format!("{}/incidents/{id}/acknowledge", app.base))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = b
        .post(format!("{}/incidents/{id}/acknowledge", app.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = b
        .post(format!("{}/incidents/{id}/notes", app.base))
        .form(&[("csrf", token.as_str()), ("text", "restarted the pool")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // The live part of the page, as htmx asks for it: the fragment only.
    let resp = b
        .get(format!("{}/incidents/{id}", app.base))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    let fragment = resp.text().await.unwrap();
    assert!(!fragment.contains("<html"), "a fragment: {fragment}");
    assert!(
        fragment.contains("acknowledged") && fragment.contains("user:ann"),
        "{fragment}"
    );
    assert!(fragment.contains("restarted the pool"), "{fragment}");
    // A change another node commits to the shared store shows in the next refresh: this
    // server holds nothing of the incident in memory.
    app.store
        .act_on_incident(
            id,
            store::IncidentAction::Note("failed over to the replica".into()),
            &store::WriteContext {
                actor: "user:vic".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    let fragment = b
        .get(format!("{}/incidents/{id}", app.base))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        fragment.contains("failed over to the replica"),
        "{fragment}"
    );
    let detail = app.store.get_incident(id).await.unwrap().unwrap();
    assert_eq!(detail.incident.acknowledged_by.as_deref(), Some("user:ann"));
}

#[tokio::test]
async fn a_responder_reassigns_and_merges_from_the_page() {
    let app = start().await;
    let first = open_incident(&app, "checkout down").await;
    let second = open_incident(&app, "payments timing out").await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (_, html) = page(&b, &format!("{}/incidents/{first}", app.base)).await;
    // The pickers offer people and incidents of Ann's company only.
    assert!(
        html.contains(r#"<option value="vic">vic</option>"#),
        "{html}"
    );
    assert!(
        !html.contains(r#"<option value="gus">"#),
        "another company's person: {html}"
    );
    assert!(
        html.contains(&format!(r#"name="incident" value="{second}""#)),
        "{html}"
    );
    let token = csrf(&html);
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let b = b.clone();
        async move { b.post(path).form(&form).send().await.unwrap() }
    };
    let resp = post(
        format!("{}/incidents/{first}/reassign", app.base),
        vec![("csrf", token.clone()), ("to", "gus".into())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("to: there is no person named")
    );
    let resp = post(
        format!("{}/incidents/{first}/reassign", app.base),
        vec![("csrf", token.clone()), ("to", "vic".into())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let detail = app.store.get_incident(first).await.unwrap().unwrap();
    assert_eq!(detail.incident.assignees, ["vic"]);
    let resp = post(
        format!("{}/incidents/{first}/merge", app.base),
        vec![("csrf", token.clone()), ("incident", "soon".into())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = post(
        format!("{}/incidents/{first}/merge", app.base),
        vec![("csrf", token.clone()), ("incident", second.to_string())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let merged = app.store.get_incident(first).await.unwrap().unwrap();
    assert_eq!(
        merged.alerts.len(),
        2,
        "both alerts are on the first incident now"
    );
    let gone = app.store.get_incident(second).await.unwrap().unwrap();
    assert_eq!(gone.incident.status, paging::Status::Resolved);
    let (_, html) = page(&b, &format!("{}/incidents/{first}", app.base)).await;
    assert!(
        html.contains(&format!(
            "<a href=\"/users/ann\">ann</a> merged <a href=\"/incidents/{second}\">#{second}</a> into this incident."
        )),
        "{html}"
    );
    assert!(
        html.contains("reassigned the incident to <a href=\"/users/vic\">vic</a>."),
        "{html}"
    );
    // Merging it again: it is resolved now, and the page says so.
    let resp = post(
        format!("{}/incidents/{first}/merge", app.base),
        vec![("csrf", token), ("incident", second.to_string())],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_viewer_is_refused_every_action_and_another_company_sees_nothing() {
    let app = start().await;
    let id = open_incident(&app, "errors").await;
    let vic = sign_in(&app, "vic@acme.test").await;
    let (status, html) = page(&vic, &format!("{}/incidents/{id}", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains(">Acknowledge<"),
        "a viewer sees no action buttons"
    );
    let token = csrf(&html);
    for r in server::console::ROUTES
        .iter()
        .filter(|r| r.method == "POST")
    {
        let Some(role) = r.role else { continue };
        if role <= domain::Role::Viewer {
            continue;
        }
        let path = r
            .path
            .replace("{id}", &id.to_string())
            .replace("{name}", "primary");
        let resp = vic
            .post(format!("{}{path}", app.base))
            .form(&[
                ("csrf", token.as_str()),
                ("text", "x"),
                ("user", "vic"),
                ("start", "2023-11-15T00:00"),
                ("hours", "1"),
                ("to", "vic"),
                ("incident", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "POST {path} as a viewer"
        );
    }
    assert!(
        app.store
            .get_incident(id)
            .await
            .unwrap()
            .unwrap()
            .incident
            .acknowledged_at
            .is_none()
    );
    let gus = sign_in(&app, "gus@globex.test").await;
    let (status, _) = page(&gus, &format!("{}/incidents/{id}", app.base)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another company's incident does not exist for them"
    );
    let (_, list) = page(&gus, &format!("{}/incidents", app.base)).await;
    assert!(!list.contains("errors"), "{list}");
    let (status, _) = page(&gus, &format!("{}/schedules/primary", app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn untrusted_text_is_shown_as_text() {
    let app = start().await;
    let id = open_incident(&app, "<script>alert('pwned')</script>").await;
    let b = sign_in(&app, "ann@acme.test").await;
    for url in [
        format!("{}/incidents", app.base),
        format!("{}/incidents/{id}", app.base),
    ] {
        let (_, html) = page(&b, &url).await;
        assert!(!html.contains("<script>alert"), "{url}: {html}");
        assert!(html.contains("&lt;script&gt;alert("), "{url}");
    }
}

#[tokio::test]
async fn an_alerts_details_links_images_and_sender_are_shown_and_inert() {
    let settings = server::Settings {
        console_image_hosts: vec!["https://grafana.example".into()],
        ..Default::default()
    };
    let app = TestApp::start_with(test_support::sqlite_store().await, settings).await;
    app.apply("org.yaml", ORG).await;
    let hash = server::api::session::hash_password(PASSWORD).unwrap();
    let ctx = store::WriteContext {
        actor: "system".into(),
        at: test_support::t0(),
    };
    app.store
        .set_password(&domain::Name::new("ann").unwrap(), &hash, &ctx)
        .await
        .unwrap();
    let long = "x".repeat(300);
    let resp = app
        .http
        .post(format!("{}/v2/enqueue", app.base))
        .json(&json!({
            "routing_key": "acme-checkout-key-0001", "event_action": "trigger", "dedup_key": "disk",
            "client": "Grafana <b>", "client_url": "javascript:alert(3)",
            "links": [{"href": "javascript:alert(1)", "text": "evil link"},
                      {"href": "https://runbooks.example/disk?a=1&b=2", "text": "Runbook"}],
            "images": [{"src": "https://grafana.example/render/disk.png", "alt": "disk graph"},
                       {"src": "https://tracker.example/pixel.png", "alt": "pixel"},
                       {"src": "javascript:alert(2)", "alt": "bad image"}],
            "payload": {"summary": "Disk full", "source": "db-1.<i>prod</i>", "severity": "critical",
                        "custom_details": {"note": "<script>alert(1)</script>", "db": {"host": "db-1", "port": 5432},
                                           "long": long}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let id = app
        .store
        .list_incidents(&store::IncidentQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id;
    let b = sign_in(&app, "ann@acme.test").await;
    let resp = b
        .get(format!("{}/incidents/{id}", app.base))
        .send()
        .await
        .unwrap();
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    // The page escapes `/` too; read it with that one entity decoded.
    let html = resp.text().await.unwrap().replace("&#x2f;", "/");
    // The details, as a key/value table, nested keys dotted, escaped.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("<th scope=\"row\">db.host</th><td>db-1</td>"),
        "{html}"
    );
    assert!(
        html.contains("<th scope=\"row\">db.port</th><td>5432</td>"),
        "{html}"
    );
    // A long value is folded.
    assert!(html.contains("<details class=\"fold\">"), "{html}");
    assert!(html.contains(&long), "{html}");
    // The source and the sender.
    assert!(html.contains("db-1.&lt;i&gt;prod&lt;/i&gt;"), "{html}");
    assert!(html.contains("Grafana &lt;b&gt;"), "{html}");
    // No javascript: link anywhere; the http(s) link opens without the referrer.
    assert!(
        !html.to_lowercase().contains("href=\"javascript:"),
        "{html}"
    );
    assert!(!html.to_lowercase().contains("src=\"javascript:"), "{html}");
    assert!(
        html.contains("evil link"),
        "the link's text is still shown: {html}"
    );
    assert!(
        html.contains("<a href=\"https://runbooks.example/disk?a=1&amp;b=2\" rel=\"noopener noreferrer\">Runbook</a>"),
        "{html}"
    );
    // The allowed host's image is an image; another host's is a link to it.
    assert!(
        html.contains("<img src=\"https://grafana.example/render/disk.png\" alt=\"disk graph\""),
        "{html}"
    );
    assert!(
        !html.contains("<img src=\"https://tracker.example"),
        "{html}"
    );
    assert!(
        html.contains(
            "<a href=\"https://tracker.example/pixel.png\" rel=\"noopener noreferrer\">pixel</a>"
        ),
        "{html}"
    );
    // The CSP allows exactly the allowed host for images.
    assert!(
        csp.contains("img-src 'self' data: https://grafana.example;"),
        "{csp}"
    );
    assert!(!csp.contains("tracker.example"), "{csp}");
    // Without allowed hosts, the CSP stays as strict as before.
    let app2 = start().await;
    let resp = app2
        .http
        .get(format!("{}/login", app2.base))
        .send()
        .await
        .unwrap();
    let csp = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("img-src 'self' data:;"), "{csp}");
}

#[tokio::test]
async fn people_see_who_is_on_call_and_create_an_override() {
    let app = start().await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&b, &format!("{}/oncall", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("/schedules/primary") && html.contains("ann"),
        "{html}"
    );
    // Services: whom checkout's policy pages first now, and after the next handover
    // (Monday 09:00 UTC, shown in Ann's zone).
    assert!(
        html.contains(r#"<td data-label="Service"><a href="/services/checkout">checkout</a></td>"#)
            && html.contains(r#"<a href="/policies/shop">shop</a></td>"#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<td data-label="Paged first now">ann</td><td data-label="Next">vic</td><td data-label="From">2023-11-20 18:00 JST</td>"#
        ),
        "{html}"
    );
    // Ann reads the UTC schedule in her own zone, Tokyo: the week of Monday 13 November
    // 2023, where the first handover (Monday 09:00 UTC) is at 18:00.
    let (status, html) = page(&b, &format!("{}/schedules/primary", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Times in Asia&#x2f;Tokyo; the schedule hands off in UTC"),
        "{html}"
    );
    assert!(html.contains("Week of Mon 13 Nov 2023"), "{html}");
    let piece = |kind: &str, who: &str, span: &str| {
        format!(
            r#"<div class="piece {kind}"><span class="who">{who}</span> <span class="t">{span}</span></div>"#
        )
    };
    assert!(
        html.contains(&piece("gap", "nobody", "00:00–18:00")),
        "{html}"
    );
    assert!(
        html.contains(&piece("shift", "ann", "18:00–24:00")),
        "{html}"
    );
    // An override from midnight in Tokyo, as the form shows it.
    let token = csrf(&html);
    let resp = b
        .post(format!("{}/schedules/primary/overrides", app.base))
        .form(&[
            ("csrf", token.as_str()),
            ("user", "vic"),
            ("start", "2023-11-15T00:00"),
            ("hours", "6"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let back = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, "/schedules/primary?view=week&date=2023-11-15");
    let stored = app
        .store
        .list_overrides(
            &domain::Name::new("primary").unwrap(),
            "2023-11-01T00:00:00Z".parse().unwrap(),
            "2023-12-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].start.to_string(), "2023-11-14T15:00:00Z");
    let (_, html) = page(&b, &format!("{}{back}", app.base)).await;
    // In the overrides row, and in the result: vic covers, then ann again.
    assert_eq!(
        html.matches(&piece("override", "vic", "00:00–06:00"))
            .count(),
        2,
        "{html}"
    );
    assert!(
        html.contains(&piece("shift", "ann", "06:00–24:00")),
        "{html}"
    );
    // The same week in UTC, asked for.
    let (_, html) = page(
        &b,
        &format!("{}/schedules/primary?date=2023-11-15&tz=UTC", app.base),
    )
    .await;
    assert!(
        html.contains(&piece("override", "vic", "15:00–21:00")),
        "{html}"
    );
    assert!(
        html.contains(r#"href="?view=month&amp;date=2023-11-15&amp;tz=UTC""#),
        "links keep the zone: {html}"
    );
    // The month: November 2023 starts on a Wednesday, so its grid starts Monday 30 October.
    let (_, html) = page(
        &b,
        &format!("{}/schedules/primary?view=month&date=2023-11-15", app.base),
    )
    .await;
    assert!(
        html.contains("November 2023") && html.contains("Mon 30 Oct"),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="tag">override</span>"#),
        "{html}"
    );
    let (_, html) = page(
        &b,
        &format!("{}/schedules/primary?view=list&date=2023-11-15", app.base),
    )
    .await;
    assert!(
        html.contains("2023-11-15 00:00 JST"),
        "the list in Tokyo time: {html}"
    );
    // Bad parameters name the field.
    for (query, field) in [
        ("tz=Mars/Olympus", "tz:"),
        ("date=15.11.2023", "date:"),
        ("view=year", "view:"),
    ] {
        let (status, html) = page(&b, &format!("{}/schedules/primary?{query}", app.base)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(html.contains(field), "{query}: {html}");
    }
    let (status, _) = page(&b, &format!("{}{}", app.base, server::console::HTMX_PATH)).await;
    assert_eq!(status, StatusCode::OK, "htmx is served from the binary");
}

#[tokio::test]
async fn services_teams_and_my_page_show_what_responders_need() {
    let app = start().await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&b, &format!("{}/services", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("/services/checkout"), "{html}");
    let (_, html) = page(&b, &format!("{}/services/checkout", app.base)).await;
    // A responder may not manage the service, so its keys are not shown to her.
    assert!(
        !html.contains("acme-checkout-key-0001") && html.contains("hidden"),
        "{html}"
    );
    assert!(
        html.contains("managed by <code>org.yaml</code>"),
        "files own it: {html}"
    );
    let (status, html) = page(&b, &format!("{}/teams/shop", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("checkout"), "{html}");
    let (_, html) = page(&b, &format!("{}/me", app.base)).await;
    assert!(
        html.contains("My shifts") && html.contains("ann@acme.test"),
        "{html}"
    );
    let token = csrf(&html);
    let resp = b
        .post(format!("{}/me/test-notification", app.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("email: does not work (no email provider is configured"),
        "{html}"
    );
    // The audit log is for admins.
    let (status, _) = page(&b, &format!("{}/audit", app.base)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let gus = sign_in(&app, "gus@globex.test").await;
    let (status, html) = page(&gus, &format!("{}/audit", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("checkout"),
        "another company's changes stay hidden: {html}"
    );
    let (status, _) = page(&gus, &format!("{}/services/checkout", app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admins_make_and_revoke_api_tokens_from_the_console() {
    let app = start().await;
    let gus = sign_in(&app, "gus@globex.test").await;
    let (status, html) = page(&gus, &format!("{}/tokens", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    let token = csrf(&html);
    let resp = gus
        .post(format!("{}/tokens", app.base))
        .form(&[
            ("csrf", token.as_str()),
            ("name", "ads-ci"),
            ("role", "viewer"),
            ("company", "globex"),
        ])
        .send()
        .await
        .unwrap();
    let html = resp.text().await.unwrap();
    let at = html
        .find("<code id=\"secret\">")
        .expect("the secret is shown once")
        + 18;
    let secret = html[at..].split('<').next().unwrap().to_owned();
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/services",
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the new token works");
    // A company admin cannot mint a global admin token.
    let resp = gus
        .post(format!("{}/tokens", app.base))
        .form(&[
            ("csrf", token.as_str()),
            ("name", "too-much"),
            ("role", "admin"),
        ])
        .send()
        .await
        .unwrap();
    assert!(!resp.text().await.unwrap().contains("id=\"secret\""));
    let resp = gus
        .post(format!("{}/tokens/ads-ci/revoke", app.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/services",
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    // Responders do not manage tokens.
    let ann = sign_in(&app, "ann@acme.test").await;
    let (status, _) = page(&ann, &format!("{}/tokens", app.base)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Signs in with `next`; returns the answer's status and `Location`, and whether it set
/// a session cookie.
async fn sign_in_to(app: &TestApp, next: &str) -> (StatusCode, Option<String>, bool) {
    let b = browser();
    let token = login_form(&b, app).await;
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("next", next),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    let session = resp.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap().starts_with("shinrai_session=")
            && !c.to_str().unwrap().contains("Max-Age=0")
    });
    (
        resp.status(),
        resp.headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned()),
        session,
    )
}

#[tokio::test]
async fn next_is_a_plain_path_on_this_site_or_the_incidents() {
    let app = start().await;
    // Browsers drop tabs and newlines and read `\` as `/`: each of these would lead off
    // the site, or (a newline) could not be a header at all.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "//evil.example",
        "https://evil.example/",
        "/incidents\r\nSet-Cookie: planted=1",
        "/incidents\u{7f}",
        "evil",
    ] {
        assert_eq!(
            sign_in_to(&app, next).await,
            (StatusCode::SEE_OTHER, Some("/incidents".to_owned()), true),
            "next = {next:?}"
        );
    }
    assert_eq!(
        sign_in_to(&app, "/services/checkout?tab=keys#top").await,
        (
            StatusCode::SEE_OTHER,
            Some("/services/checkout?tab=keys#top".to_owned()),
            true
        )
    );
}

#[tokio::test]
async fn the_sign_in_form_needs_its_own_csrf_token() {
    let app = start().await;
    // A form posted from another site has no token (and no cookie with it).
    let resp = browser()
        .post(format!("{}/login", app.base))
        .form(&[("email", "ann@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get("set-cookie").is_none());
    // A token that is not this browser's.
    let b = browser();
    login_form(&b, &app).await;
    let other = login_form(&browser(), &app).await;
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("csrf", other.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get("set-cookie").is_none());
    // Failures past the account's free ones wait, with the wait said.
    let token = login_form(&b, &app).await;
    for _ in 0..5 {
        let resp = b
            .post(format!("{}/login", app.base))
            .form(&[
                ("email", "ann@acme.test"),
                ("password", "wrong"),
                ("csrf", token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Try again in 1 seconds")
    );
}

#[tokio::test]
async fn every_answer_carries_the_browser_protections_and_pages_have_no_inline_script() {
    let app = start().await;
    let b = sign_in(&app, "ann@acme.test").await;
    for path in [
        "/login",
        "/incidents",
        "/services/checkout",
        "/incidents/999999",
        "/api/v1/whoami",
        "/assets/shinrai.js",
    ] {
        let resp = b.get(format!("{}{path}", app.base)).send().await.unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline")
                && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let html = resp.text().await.unwrap();
        assert!(!html.contains("<script>"), "{path} has an inline script");
        assert!(!html.contains(" onclick="), "{path} has an inline handler");
    }
    let (status, js) = page(&b, &format!("{}/assets/shinrai.js", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.contains("button[data-copy]"), "{js}");
}

/// Another company's objects, of every kind the list pages show.
const GLOBEX: &str = r#"
apiVersion: shinrai/v1
kind: Team
metadata: {name: rockets, labels: {company: globex}}
spec: {members: [gus]}
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {name: rockets, labels: {company: globex}}
spec: {team: rockets, levels: [{targets: [{schedule: night}, {user: gus}, {team: rockets}], delay_minutes: 5}]}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: night, labels: {company: globex}}
spec:
  time_zone: UTC
  layers: [{name: weekly, users: [gus], rotation: 1w, start: "2023-11-13T09:00"}]
"#;

/// The `href`s of a page's links and stylesheets, as written (entities decoded).
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

#[tokio::test]
async fn list_pages_show_only_the_objects_the_viewer_may_see() {
    let app = start().await;
    app.apply("globex.yaml", GLOBEX).await;
    let vic = sign_in(&app, "vic@acme.test").await;
    let gus = sign_in(&app, "gus@globex.test").await;
    let cases: [(&str, &[&str], &[&str]); 4] = [
        ("/schedules", &["/schedules/primary"], &["/schedules/night"]),
        ("/teams", &["/teams/shop"], &["/teams/rockets"]),
        ("/policies", &["/policies/shop"], &["/policies/rockets"]),
        ("/users", &["/users/ann", "/users/vic"], &["/users/gus"]),
    ];
    for (path, acme, globex) in cases {
        let (status, html) = page(&vic, &format!("{}{path}", app.base)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let found = links(&html);
        for want in acme {
            assert!(found.iter().any(|l| l == want), "{path} lists {want}");
        }
        for other in globex {
            assert!(!found.iter().any(|l| l == other), "{path} hides {other}");
        }
        let (status, html) = page(&gus, &format!("{}{path}", app.base)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let found = links(&html);
        for want in globex {
            assert!(
                found.iter().any(|l| l == want),
                "{path} lists {want} to globex"
            );
        }
        for other in acme {
            assert!(
                !found.iter().any(|l| l == other),
                "{path} hides {other} from globex"
            );
        }
        // The layout links to every list page.
        assert!(
            found.iter().any(|l| l == path),
            "the layout links to {path}"
        );
    }
    // Another company's person has no page for this viewer.
    let (status, _) = page(&vic, &format!("{}/users/gus", app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_mention_of_an_object_links_to_its_page() {
    let app = start().await;
    let id = open_incident(&app, "disk full").await;
    let ann = sign_in(&app, "ann@acme.test").await;
    let expect = [
        (format!("/incidents/{id}"), "/services/checkout"),
        ("/incidents".to_owned(), "/services/checkout"),
        ("/teams/shop".to_owned(), "/users/ann"),
        ("/teams/shop".to_owned(), "/users/vic"),
        ("/policies/shop".to_owned(), "/schedules/primary"),
        ("/policies/shop".to_owned(), "/teams/shop"),
        ("/services/checkout".to_owned(), "/teams/shop"),
        ("/services/checkout".to_owned(), "/policies/shop"),
        ("/services".to_owned(), "/policies/shop"),
        ("/users/ann".to_owned(), "/teams/shop"),
        ("/users/ann".to_owned(), "/schedules/primary"),
    ];
    for (at, link) in expect {
        let (status, html) = page(&ann, &format!("{}{at}", app.base)).await;
        assert_eq!(status, StatusCode::OK, "{at}");
        assert!(
            links(&html).iter().any(|l| l == link),
            "{at} links to {link}"
        );
    }
    // Whoever is on call (ann or vic, by the week) is a link on the on-call page, and so
    // is the person an incident is assigned to.
    let (_, html) = page(&ann, &format!("{}/oncall", app.base)).await;
    assert!(
        links(&html)
            .iter()
            .any(|l| l == "/users/ann" || l == "/users/vic"),
        "/oncall links to the person on call: {html}"
    );
    let (_, html) = page(&ann, &format!("{}/incidents/{id}", app.base)).await;
    let resp = ann
        .post(format!("{}/incidents/{id}/reassign", app.base))
        .form(&[("csrf", csrf(&html)), ("to", "vic".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&ann, &format!("{}/incidents/{id}", app.base)).await;
    assert!(
        html.contains(r#"assigned to <a href="/users/vic">vic</a>"#),
        "the assignee links to their page: {html}"
    );
}

#[tokio::test]
async fn every_link_on_every_console_page_answers() {
    let app = start().await;
    app.apply("globex.yaml", GLOBEX).await;
    let id = open_incident(&app, "disk full").await;
    for email in ["ann@acme.test", "vic@acme.test", "gus@globex.test"] {
        let b = sign_in(&app, email).await;
        // Pages without a query are crawled; every link on them must answer 200 (links
        // with a query, such as a calendar's next week, are checked but not followed).
        let mut todo = vec!["/incidents".to_owned(), format!("/incidents/{id}")];
        let mut crawled = std::collections::BTreeSet::new();
        let mut checked = std::collections::BTreeSet::new();
        while let Some(path) = todo.pop() {
            if !crawled.insert(path.clone()) {
                continue;
            }
            let (status, html) = page(&b, &format!("{}{path}", app.base)).await;
            if path == format!("/incidents/{id}") && email == "gus@globex.test" {
                assert_eq!(status, StatusCode::NOT_FOUND, "another company's incident");
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{email}: {path}");
            for href in links(&html) {
                let target = if href.starts_with('?') {
                    format!("{path}{href}")
                } else if href.starts_with('/') && !href.starts_with("//") {
                    href
                } else {
                    continue; // another site, or a data: URL
                };
                let target = target.split('#').next().unwrap_or_default().to_owned();
                if target.contains('?') || target.starts_with("/assets/") {
                    if checked.insert(target.clone()) {
                        let (status, _) = page(&b, &format!("{}{target}", app.base)).await;
                        assert_eq!(status, StatusCode::OK, "{email}: {path} links to {target}");
                    }
                } else if !crawled.contains(&target) {
                    todo.push(target);
                }
            }
        }
        assert!(crawled.len() > 10, "{email} crawled {crawled:?}");
    }
}

#[tokio::test]
async fn the_header_shows_the_signed_in_persons_name() {
    let app = start().await;
    let ann = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&ann, &format!("{}/incidents", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<span class=\"who\">Ann Acme</span>"),
        "{html}"
    );
    assert!(!html.contains("user:ann"), "{html}");
}

const SILENT: &str = r#"
apiVersion: shinrai/v1
kind: Service
metadata: {name: lonely, labels: {company: acme}}
spec:
  owner_team: shop
  integrations: [{name: prom, type: pagerduty, key: acme-lonely-key-0001}]
---
apiVersion: shinrai/v1
kind: User
metadata: {name: zed, labels: {company: acme}}
spec: {full_name: Zed Quiet, email: zed@acme.test, notification_rules: {}}
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {name: quiet, labels: {company: acme}}
spec: {team: shop, levels: [{targets: [{user: zed}], delay_minutes: 10}]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: muted, labels: {company: acme}}
spec:
  owner_team: shop
  escalation_policy: quiet
  integrations: [{name: prom, type: pagerduty, key: acme-muted-key-0001}]
"#;

async fn open_incident_on(app: &TestApp, key: &str, summary: &str) -> i64 {
    let resp = app
        .http
        .post(format!("{}/v2/enqueue", app.base))
        .json(
            &json!({"routing_key": key, "event_action": "trigger", "dedup_key": summary,
                      "payload": {"summary": summary, "source": "test", "severity": "critical"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    app.store
        .list_incidents(&store::IncidentQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id
}

#[tokio::test]
async fn incidents_that_page_nobody_say_so_and_why() {
    let app = start().await;
    app.apply("org.yaml", &format!("{ORG}---{SILENT}")).await;
    let b = sign_in(&app, "ann@acme.test").await;
    let healthy = open_incident_on(&app, "acme-checkout-key-0001", "disk full").await;
    let lonely = open_incident_on(&app, "acme-lonely-key-0001", "lonely down").await;
    let muted = open_incident_on(&app, "acme-muted-key-0001", "muted down").await;
    for (service, id, reason) in [
        ("lonely", lonely, "no escalation policy"),
        ("muted", muted, "level 1: zed cannot be reached"),
    ] {
        let (_, html) = page(&b, &format!("{}/incidents/{id}", app.base)).await;
        assert!(
            html.contains("class=\"pages-nobody\"") && html.contains("Nobody will be paged"),
            "{html}"
        );
        assert!(html.contains(reason), "{reason}: {html}");
        // The live part says so too: it is what the page refreshes every few seconds.
        let fragment = live(&b, &app, id).await;
        assert!(
            fragment.contains("Nobody will be paged") && fragment.contains(reason),
            "{reason}: {fragment}"
        );
        let (_, html) = page(&b, &format!("{}/services/{service}", app.base)).await;
        assert!(
            html.contains("class=\"pages-nobody\"") && html.contains(reason),
            "{reason}: {html}"
        );
    }
    let (_, html) = page(&b, &format!("{}/incidents", app.base)).await;
    assert!(html.contains("no escalation policy"), "{html}");
    assert!(html.contains("level 1: zed cannot be reached"), "{html}");
    assert_eq!(html.matches("class=\"nobody-paged\"").count(), 2, "{html}");
    let (_, html) = page(&b, &format!("{}/incidents/{healthy}", app.base)).await;
    assert!(!html.contains("Nobody will be paged"), "{html}");
    let (_, html) = page(&b, &format!("{}/services/checkout", app.base)).await;
    assert!(!html.contains("Nobody will be paged"), "{html}");
}

/// A console test server over `store` with `settings` and notification `channels`, the
/// test organisation and `more` documents applied, and everyone's password set.
async fn start_with(
    store: test_support::TestStore,
    settings: server::Settings,
    channels: Vec<std::sync::Arc<dyn runtime::notify::Channel>>,
    more: &str,
) -> TestApp {
    let app = TestApp::start_with_channels(store, settings, channels).await;
    app.apply("org.yaml", &format!("{ORG}---{more}")).await;
    for user in ["ann", "vic", "gus", "ada"] {
        let hash = server::api::session::hash_password(PASSWORD).unwrap();
        app.store
            .set_password(
                &domain::Name::new(user).unwrap(),
                &hash,
                &store::WriteContext {
                    actor: "system".into(),
                    at: test_support::t0(),
                },
            )
            .await
            .unwrap();
    }
    app
}

/// A console test server that people reach at `public_url`.
async fn start_at(public_url: &str, more: &str) -> TestApp {
    let settings = server::Settings {
        public_url: public_url.into(),
        ..server::Settings::default()
    };
    start_with(
        test_support::sqlite_store().await,
        settings,
        Vec::new(),
        more,
    )
    .await
}

/// A page with the slashes the templates escape in values (`&#x2f;`) as slashes, and
/// without the line-break opportunities (`<wbr>`) put in URLs.
fn slashes(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("<wbr>", "")
}

const ADA: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ada, labels: {company: acme}}
spec: {full_name: Ada Admin, email: ada@acme.test, roles: [{role: admin, company: acme}]}
"#;

const SEND_TO: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ada, labels: {company: acme}}
spec: {full_name: Ada Admin, email: ada@acme.test, roles: [{role: admin, company: acme}]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: search, labels: {company: acme}}
spec:
  owner_team: shop
  integrations:
    - {name: dd, type: datadog, key: acme-search-datadog-01}
    - {name: prom, type: pagerduty, key: acme-search-pagerduty-1}
"#;

#[tokio::test]
async fn the_service_page_shows_where_to_send_key_included_only_to_managers() {
    let app = start_at("https://shinrai.example", SEND_TO).await;
    let ada = sign_in(&app, "ada@acme.test").await;
    let (status, html) = page(&ada, &format!("{}/services/search", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    let html = slashes(&html);
    assert!(
        html.contains(
            "<code id=\"url-dd\" class=\"url\">https://shinrai.example/integrations/datadog/acme-search-datadog-01</code>"
        ),
        "an admin sees the full URL to paste into Datadog: {html}"
    );
    assert!(
        html.contains("https://shinrai.example/v2/enqueue") && html.contains("routing_key"),
        "PagerDuty senders post to /v2/enqueue with the key as routing_key: {html}"
    );
    let ann = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&ann, &format!("{}/services/search", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    let html = slashes(&html);
    assert!(
        html.contains("https://shinrai.example/integrations/datadog/••••••••"),
        "a responder sees the URL with its key masked: {html}"
    );
    assert!(
        !html.contains("acme-search-datadog-01") && !html.contains("acme-search-pagerduty-1"),
        "and never the keys: {html}"
    );
}

/// The demo's inbox: an email about an incident opens as its recipient read it, and its
/// acknowledge link, followed from the opened email and confirmed, acknowledges the
/// incident. Only the recipient and responders open it; another company sees nothing.
#[tokio::test]
async fn an_email_in_the_inbox_opens_and_its_link_acknowledges_the_incident() {
    let store = test_support::sqlite_store().await;
    let settings = server::Settings {
        public_url: "https://shinrai.example".into(),
        ..server::Settings::default()
    };
    let secret = runtime::sealed::server_secret(
        store.store.as_ref(),
        &settings.secret_key,
        runtime::links::SECRET_NAME,
        test_support::t0(),
    )
    .await
    .unwrap();
    let clock = runtime::ManualClock::new(test_support::t0());
    let inbox: std::sync::Arc<dyn runtime::notify::Channel> =
        std::sync::Arc::new(runtime::notify::Inbox::new(
            &settings.public_url,
            secret.into_bytes(),
            std::sync::Arc::new(clock.clone()),
        ));
    let app = start_with(store, settings, vec![inbox.clone()], ADA).await;
    let id = open_incident(&app, "checkout is down").await;
    // The escalation pages whoever is on call (ann, this week), and the inbox takes the
    // email as a mail server would.
    app.timers.tick().await.unwrap();
    let sent = runtime::notify::OutboxWorker {
        store: app.store.clone(),
        clock: std::sync::Arc::new(app.clock.clone()),
        channel: inbox,
        owner: "test".into(),
        lease: std::time::Duration::from_secs(120),
        max_attempts: 8,
        send_timeout: std::time::Duration::from_secs(60),
    }
    .tick()
    .await
    .unwrap();
    assert_eq!(sent, 1);

    let ann = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&ann, &format!("{}/inbox", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    let at = html
        .find("href=\"/inbox/")
        .expect("the email opens from the inbox")
        + 6;
    let email = html[at..].split('"').next().unwrap().to_owned();
    let (status, html) = page(&ann, &format!("{}{email}", app.base)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let html = slashes(&html);
    assert!(
        html.contains(&format!("#{id} triggered")) && html.contains("checkout is down"),
        "the subject and the text: {html}"
    );
    let at = html
        .find("<a href=\"/l/ack/")
        .expect("a followable acknowledge link")
        + 9;
    let ack = html[at..].split('"').next().unwrap().to_owned();
    assert!(
        html.contains(&format!(">https://shinrai.example{ack}</a>")),
        "the link shows as it was sent: {html}"
    );

    // Following it shows a confirmation; confirming acts, as the email's recipient.
    let (status, html) = page(&ann, &format!("{}{ack}", app.base)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Acknowledge as ann"), "{html}");
    let resp = ann.post(format!("{}{ack}", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let incident = app.store.get_incident(id).await.unwrap().unwrap().incident;
    assert_eq!(incident.status.as_str(), "acknowledged");
    assert_eq!(incident.acknowledged_by.as_deref(), Some("user:ann"));
    let (_, html) = page(&ann, &format!("{}{email}", app.base)).await;
    assert!(
        html.contains("now <span class=\"badge acknowledged\">"),
        "{html}"
    );

    // A viewer who is not its recipient may not open it: its links act on the incident.
    let vic = sign_in(&app, "vic@acme.test").await;
    let (status, _) = page(&vic, &format!("{}{email}", app.base)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An admin of the company may; another company's admin finds nothing.
    let ada = sign_in(&app, "ada@acme.test").await;
    let (status, _) = page(&ada, &format!("{}{email}", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    let gus = sign_in(&app, "gus@globex.test").await;
    let (status, _) = page(&gus, &format!("{}{email}", app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = page(&ann, &format!("{}/inbox/9999", app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

const REPORT_ORG: &str = r#"
apiVersion: shinrai/v1
kind: Service
metadata: {name: payments, labels: {company: acme, product: pay}}
spec:
  owner_team: shop
  escalation_policy: shop
  business_hours: {time_zone: UTC, start: "09:00", end: "18:00"}
  integrations: [{name: prom, type: pagerduty, key: acme-payments-key-0001}]
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: ads, labels: {company: globex}}
spec: {members: [gus]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: bidder, labels: {company: globex, product: ads}}
spec:
  owner_team: ads
  integrations: [{name: prom, type: pagerduty, key: globex-bidder-key-0001}]
"#;

/// The text of each cell of the table row whose first cell is `key` (a link or text).
fn report_row(html: &str, key: &str) -> Vec<String> {
    let row = html
        .split("<tr")
        .map(|r| format!("<tr{r}"))
        .find(|r| {
            r.split("</td>")
                .next()
                .is_some_and(|first| strip_tags(first).trim() == key)
        })
        .unwrap_or_else(|| panic!("a row for {key} in {html}"));
    row.split("</td>")
        .map(strip_tags)
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Sends the pages queued at this moment (as the email worker would), at the clock's time.
async fn send_due_pages(app: &TestApp) {
    use runtime::Clock;
    let now = app.clock.now();
    let due = app
        .store
        .claim_notifications("email", now, "test", now, 100)
        .await
        .unwrap();
    assert!(!due.is_empty(), "a page is due");
    for n in due {
        let sent = app
            .store
            .finish_notification(
                n.id,
                n.fence,
                store::Delivery::Sent {
                    answer: "250 ok".into(),
                },
                now,
            )
            .await
            .unwrap();
        assert!(sent);
    }
}

#[tokio::test]
async fn reports_show_response_times_and_pages_per_group_over_a_range_in_csv_too() {
    let app = start().await;
    app.apply("reports.yaml", REPORT_ORG).await;
    let admin = app
        .token(
            "admin",
            vec![domain::Grant::global(domain::Role::Admin)],
            None,
        )
        .await;
    let act = |id: i64, action: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let resp = app
                .http
                .post(format!("{}/api/v1/incidents/{id}/{action}", app.base))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{action} #{id}");
        }
    };
    let step = |s: u64| app.clock.advance(std::time::Duration::from_secs(s));
    // Tuesday 2023-11-14 22:13:20 UTC: after payments' business hours (09:00-18:00 UTC).
    let checkout = open_incident_on(&app, "acme-checkout-key-0001", "cart").await;
    let payments = open_incident_on(&app, "acme-payments-key-0001", "cards").await;
    app.timers.tick().await.unwrap();
    send_due_pages(&app).await;
    // Another company's incident.
    open_incident_on(&app, "globex-bidder-key-0001", "bids").await;
    step(60);
    act(checkout, "acknowledge").await;
    step(240);
    act(checkout, "resolve").await;
    act(payments, "acknowledge").await;
    step(7_500);
    act(payments, "resolve").await;
    // One of acme's three days later.
    step(3 * 86_400);
    open_incident(&app, "later").await;

    // Vic (a viewer of acme, days in UTC) asks for the day of the first two.
    let vic = sign_in(&app, "vic@acme.test").await;
    let day = "from=2023-11-14&to=2023-11-14";
    let (status, html) = page(&vic, &format!("{}/reports?{day}&by=service", app.base)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        report_row(&html, "checkout"),
        ["checkout", "1", "1", "1", "1 min", "5 min", "1", "0"]
    );
    assert_eq!(
        report_row(&html, "payments"),
        ["payments", "1", "1", "1", "5 min", "2 h 10 min", "1", "1"],
        "its page went out after its business hours"
    );
    assert_eq!(
        report_row(&html, "Total"),
        ["Total", "2", "2", "2", "3 min", "1 h 7 min", "2", "1"]
    );
    assert!(html.contains(r#"<a href="/services/payments">payments</a>"#));
    assert!(html.contains(
        r#"<a href="/reports.csv?from=2023-11-14&amp;to=2023-11-14&amp;by=service" download>"#
    ));
    assert!(
        !html.contains("bidder"),
        "another company's service is not shown"
    );
    let (_, by_company) = page(&vic, &format!("{}/reports?{day}&by=company", app.base)).await;
    assert_eq!(
        report_row(&by_company, "acme"),
        ["acme", "2", "2", "2", "3 min", "1 h 7 min", "2", "1"]
    );
    let (_, by_person) = page(&vic, &format!("{}/reports?{day}&by=person", app.base)).await;
    assert_eq!(
        report_row(&by_person, "ann"),
        ["ann", "2", "2", "2", "3 min", "1 h 7 min", "2", "1"],
        "ann was on call and paged about both"
    );
    assert!(by_person.contains(r#"<a href="/users/ann">ann</a>"#));
    // The default range (the last 30 days) holds the later incident too; the day does not.
    let (_, recent) = page(&vic, &format!("{}/reports", app.base)).await;
    assert_eq!(report_row(&recent, "checkout")[..3], ["checkout", "2", "1"]);
    // Days are the viewer's: in Tokyo the first two opened on the 15th.
    let ann = sign_in(&app, "ann@acme.test").await;
    let (_, tokyo) = page(
        &ann,
        &format!("{}/reports?from=2023-11-15&to=2023-11-15", app.base),
    )
    .await;
    assert_eq!(report_row(&tokyo, "Total")[1], "2");

    // The CSV holds the page's figures, durations in seconds.
    let resp = vic
        .get(format!("{}/reports.csv?{day}&by=service", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"shinrai-report-service-2023-11-14-2023-11-14.csv\""
    );
    let body = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "service",
            "incidents",
            "acknowledged",
            "resolved",
            "mtta_seconds",
            "mttr_seconds",
            "pages",
            "pages_out_of_hours"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["checkout", "1", "1", "1", "60", "300", "1", "0"],
            ["payments", "1", "1", "1", "300", "7800", "1", "1"],
            ["(total)", "2", "2", "2", "180", "4050", "2", "1"],
        ]
    );

    // Globex sees its own service only.
    let gus = sign_in(&app, "gus@globex.test").await;
    let (_, theirs) = page(&gus, &format!("{}/reports?{day}", app.base)).await;
    assert_eq!(
        report_row(&theirs, "bidder"),
        ["bidder", "1", "0", "0", "—", "—", "0", "0"]
    );
    assert!(!theirs.contains("checkout") && !theirs.contains("payments"));
}

#[tokio::test]
async fn a_bad_report_range_answers_422_naming_the_field() {
    let app = start().await;
    let vic = sign_in(&app, "vic@acme.test").await;
    for (query, field) in [
        ("from=2023-13-01&to=2023-12-01", "from:"),
        ("from=2023-11-01&to=yesterday", "to:"),
        ("from=2023-11-10&to=2023-11-01", "from:"),
        ("range=14", "range:"),
        ("by=team", "by:"),
    ] {
        for path in ["/reports", "/reports.csv"] {
            let (status, html) = page(&vic, &format!("{}{path}?{query}", app.base)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}?{query}");
            assert!(html.contains(field), "{path}?{query} names {field}: {html}");
        }
    }
}

/// The live part of an incident's page, as htmx asks for it every few seconds.
async fn live(b: &reqwest::Client, app: &TestApp, id: i64) -> String {
    let resp = b
        .get(format!("{}/incidents/{id}", app.base))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn the_timeline_is_sentences_with_pages_nested_under_their_step() {
    let app = start().await;
    let id = open_incident(&app, "<script>alert(1)</script>").await;
    // Level 1 pages whoever is on call, by email.
    assert_eq!(app.timers.tick().await.unwrap(), 1);
    let now = runtime::Clock::now(&app.clock);
    let lease = now.checked_add(jiff::SignedDuration::from_mins(1)).unwrap();
    let claimed = app
        .store
        .claim_notifications("email", now, "test", lease, 10)
        .await
        .unwrap();
    assert!(!claimed.is_empty(), "the step queued an email");
    let paged = claimed[0].user.to_string();
    for n in &claimed {
        let answer = "250 <b>queued</b>".to_owned();
        let outcome = store::Delivery::Sent { answer };
        assert!(
            app.store
                .finish_notification(n.id, n.fence, outcome, now)
                .await
                .unwrap()
        );
    }
    app.clock.advance(std::time::Duration::from_secs(5 * 60));
    let b = sign_in(&app, "ann@acme.test").await;
    let (_, html) = page(&b, &format!("{}/incidents/{id}", app.base)).await;
    let token = csrf(&html);
    for (path, form) in [
        ("acknowledge", vec![("csrf", token.as_str())]),
        (
            "notes",
            vec![
                ("csrf", token.as_str()),
                ("text", "<script>alert(2)</script>"),
            ],
        ),
    ] {
        let resp = b
            .post(format!("{}/incidents/{id}/{path}", app.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
    }
    let fragment = live(&b, &app, id).await;
    for said in [
        // Sentences, not event names, with the person linked.
        "Alert &lt;script&gt;alert(1)&lt;&#x2f;script&gt; triggered (critical): &lt;script&gt;alert(1)&lt;&#x2f;script&gt;.",
        &format!("Escalation level 1 paged <a href=\"/users/{paged}\">{paged}</a>."),
        "<a href=\"/users/ann\">ann</a> acknowledged the incident.",
        "<a href=\"/users/ann\">ann</a> added a note:",
        "<blockquote>&lt;script&gt;alert(2)&lt;&#x2f;script&gt;</blockquote>",
        // The step's email, nested under it.
        &format!(
            "<ol class=\"deliveries\"><li class=\"sent\">Email to <a href=\"/users/{paged}\">{paged}</a> at "
        ),
        "was sent: 250 &lt;b&gt;queued&lt;&#x2f;b&gt;.",
        // Exact times in ann's zone (Asia/Tokyo), and how long ago.
        "title=\"2023-11-15 07:13 JST\">5 min ago</time>",
        "title=\"2023-11-15 07:18 JST\">just now</time>",
        "<time datetime=\"2023-11-14T22:13:20Z\"",
    ] {
        assert!(fragment.contains(said), "{said:?} in:\n{fragment}");
    }
    assert!(!fragment.contains("<script>"), "{fragment}");
    for raw in ["notification.sent", "escalation.level", "alert.triggered"] {
        assert!(!fragment.contains(raw), "{raw} shown in:\n{fragment}");
    }
    // Newest first: the note, then the acknowledgement, then the step and the alert.
    let at = |s: &str| fragment.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(at("added a note:") < at("acknowledged the incident."));
    assert!(at("acknowledged the incident.") < at("Escalation level 1 paged"));
    assert!(at("Escalation level 1 paged") < at("triggered (critical)"));
}

#[tokio::test]
async fn an_override_from_a_local_time_the_clocks_skip_is_refused_naming_both_instants() {
    let app = start().await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (_, html) = page(&b, &format!("{}/schedules/primary", app.base)).await;
    let token = csrf(&html);
    let post = |start: &'static str| {
        b.post(format!("{}/schedules/primary/overrides", app.base))
            .form(&[
                ("csrf", token.as_str()),
                ("user", "vic"),
                ("start", start),
                ("hours", "6"),
                ("tz", "Europe/Berlin"),
            ])
            .send()
    };
    // 02:30 on 29 March 2026 does not happen in Berlin: the clocks go from 02:00 to 03:00.
    let resp = post("2026-03-29T02:30").await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("From: 2026-03-29 02:30 does not exist in Europe&#x2f;Berlin")
            && html.contains("2026-03-29T01:30:00+01:00 (CET)")
            && html.contains("2026-03-29T03:30:00+02:00 (CEST)"),
        "{html}"
    );
    // 02:30 on 25 October 2026 happens twice.
    let resp = post("2026-10-25T02:30").await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("happens twice")
            && html.contains("2026-10-25T02:30:00+02:00 (CEST)")
            && html.contains("2026-10-25T02:30:00+01:00 (CET)"),
        "{html}"
    );
    let none = app
        .store
        .list_overrides(
            &domain::Name::new("primary").unwrap(),
            "2026-03-01T00:00:00Z".parse().unwrap(),
            "2026-11-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    // An hour that exists is taken in the form's zone.
    let resp = post("2026-03-29T03:30").await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let made = app
        .store
        .list_overrides(
            &domain::Name::new("primary").unwrap(),
            "2026-03-01T00:00:00Z".parse().unwrap(),
            "2026-11-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(made[0].start.to_string(), "2026-03-29T01:30:00Z");
}

/// A second acme service, and Rae, who sees all of acme but responds only for the shop
/// team's services.
const PAYMENTS: &str = r#"
apiVersion: shinrai/v1
kind: Team
metadata: {name: pay, labels: {company: acme}}
spec: {members: [vic]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: payments, labels: {company: acme, product: pay}}
spec:
  owner_team: pay
  integrations: [{name: prom, type: pagerduty, key: acme-payments-key-0001}]
---
apiVersion: shinrai/v1
kind: User
metadata: {name: rae, labels: {company: acme}}
spec: {full_name: Rae Responder, email: rae@acme.test, roles: [{role: viewer, company: acme}, {role: responder, team: shop}]}
"#;

/// The position of `needle` in `html`, which must contain it.
fn at(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in {html}"))
}

#[tokio::test]
async fn the_incidents_list_searches_sorts_and_counts_triggered_incidents_in_its_title() {
    let app = start().await;
    let disk = open_incident(&app, "disk full on db1").await;
    let cpu = open_incident(&app, "cpu_hot on web").await;
    let latency = open_incident(&app, "latency 100% over budget").await;
    let b = sign_in(&app, "ann@acme.test").await;
    let list = |query: &str| {
        let url = format!("{}/incidents{query}", app.base);
        let b = &b;
        async move { page(b, &url).await }
    };

    // The title starts with how many triggered incidents the person may see.
    let (status, html) = list("").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<title>(3) Incidents · shinrai</title>"),
        "{html}"
    );
    assert!(html.contains("Showing 1–3 of 3"), "{html}");
    assert!(
        html.contains("href=\"/incidents/new\">Open an incident"),
        "{html}"
    );

    // Search: summary (either case), service, dedup key; `%` and `_` are plain text.
    let (_, html) = list("?q=DISK").await;
    assert!(html.contains(&format!("/incidents/{disk}\"")), "{html}");
    assert!(!html.contains(&format!("/incidents/{cpu}\"")), "{html}");
    assert!(html.contains("Showing 1–1 of 1"), "{html}");
    assert!(
        html.contains("value=\"DISK\""),
        "the search box keeps the text: {html}"
    );
    let (_, html) = list("?q=100%25").await;
    assert!(html.contains(&format!("/incidents/{latency}\"")), "{html}");
    assert!(!html.contains(&format!("/incidents/{disk}\"")), "{html}");
    let (_, html) = list("?q=u_h").await;
    assert!(html.contains(&format!("/incidents/{cpu}\"")), "{html}");
    assert!(
        html.contains("Showing 1–1 of 1"),
        "`_` matches only itself: {html}"
    );
    let (_, html) = list("?q=checkout").await;
    assert!(html.contains("Showing 1–3 of 3"), "{html}");
    // The title counts every triggered incident, whatever the filters show.
    assert!(html.contains("<title>(3) Incidents"), "{html}");

    // Sorting: newest first by default, oldest first when asked.
    let (_, html) = list("").await;
    assert!(
        at(&html, &format!("/incidents/{latency}\"")) < at(&html, &format!("/incidents/{disk}\"")),
        "{html}"
    );
    let (_, html) = list("?sort=oldest").await;
    assert!(
        at(&html, &format!("/incidents/{disk}\"")) < at(&html, &format!("/incidents/{latency}\"")),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"oldest\" selected>"),
        "{html}"
    );

    // Filters the list cannot apply are refused, naming the parameter.
    for (query, field) in [
        ("?sort=id", "sort"),
        ("?status=sleeping", "status"),
        ("?urgency=urgent", "urgency"),
        ("?page=0", "page"),
        ("?page=x", "page"),
    ] {
        let (status, html) = list(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(html.contains(&format!("{field}: ")), "{query}: {html}");
    }

    // Acknowledging one lowers the count, and the live refresh carries the new title.
    app.store
        .act_on_incident(
            cpu,
            store::IncidentAction::Acknowledge { timeout: None },
            &store::WriteContext {
                actor: "user:ann".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    let fragment = b
        .get(format!("{}/incidents?q=on", app.base))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!fragment.contains("<html"), "a fragment: {fragment}");
    assert!(
        fragment.starts_with("<title>(2) Incidents · shinrai</title>"),
        "{fragment}"
    );
    assert!(
        fragment.contains("data-hx-get=\"&#x2f;incidents?q=on\""),
        "the refresh keeps the filters: {fragment}"
    );
    // A full page never has a title in its body.
    let (_, html) = list("").await;
    assert_eq!(html.matches("<title>").count(), 1, "{html}");
    // Another company sees none of them, so its title has no count.
    app.apply("globex.yaml", GLOBEX).await;
    let gus = sign_in(&app, "gus@globex.test").await;
    let (_, html) = page(&gus, &format!("{}/incidents", app.base)).await;
    assert!(
        html.contains("<title>Incidents · shinrai</title>"),
        "{html}"
    );
}

#[tokio::test]
async fn the_incidents_list_pages_keep_the_filters() {
    let app = start().await;
    let mut ids = Vec::new();
    for n in 0..52 {
        ids.push(open_incident(&app, &format!("queue {n} backed up")).await);
    }
    let b = sign_in(&app, "ann@acme.test").await;
    let (_, html) = page(&b, &format!("{}/incidents?q=backed", app.base)).await;
    assert!(html.contains("Showing 1–50 of 52"), "{html}");
    assert!(
        html.contains(&format!("/incidents/{}\"", ids[51])),
        "{html}"
    );
    assert!(
        !html.contains(&format!("/incidents/{}\"", ids[1])),
        "{html}"
    );
    assert!(
        !html.contains("rel=\"prev\""),
        "the first page has no newer page"
    );
    assert!(
        html.contains("<a href=\"&#x2f;incidents?q=backed&amp;page=2\" rel=\"next\">Older</a>"),
        "{html}"
    );
    let (_, html) = page(&b, &format!("{}/incidents?q=backed&page=2", app.base)).await;
    assert!(html.contains("Showing 51–52 of 52"), "{html}");
    assert!(html.contains(&format!("/incidents/{}\"", ids[0])), "{html}");
    assert!(html.contains(&format!("/incidents/{}\"", ids[1])), "{html}");
    assert!(
        html.contains("<a href=\"&#x2f;incidents?q=backed\" rel=\"prev\">Newer</a>"),
        "{html}"
    );
    assert!(
        !html.contains("rel=\"next\""),
        "the last page has no older page"
    );
    // In another order the links say previous and next, and keep the order.
    let (_, html) = page(&b, &format!("{}/incidents?sort=oldest", app.base)).await;
    assert!(
        html.contains("<a href=\"&#x2f;incidents?sort=oldest&amp;page=2\" rel=\"next\">Next</a>"),
        "{html}"
    );
    assert!(html.contains(&format!("/incidents/{}\"", ids[0])), "{html}");
    // Past the last page: nothing, and a way back.
    let (status, html) = page(&b, &format!("{}/incidents?page=9", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No incidents match"), "{html}");
    assert!(html.contains("rel=\"prev\""), "{html}");
}

#[tokio::test]
async fn responders_acknowledge_and_resolve_several_incidents_at_once() {
    let app = start().await;
    app.apply("payments.yaml", PAYMENTS).await;
    let hash = server::api::session::hash_password(PASSWORD).unwrap();
    app.store
        .set_password(
            &domain::Name::new("rae").unwrap(),
            &hash,
            &store::WriteContext {
                actor: "system".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    let first = open_incident(&app, "checkout slow").await;
    let second = open_incident(&app, "checkout erroring").await;
    let payments = open_incident_on(&app, "acme-payments-key-0001", "payments down").await;
    let rae = sign_in(&app, "rae@acme.test").await;
    let (_, html) = page(&rae, &format!("{}/incidents", app.base)).await;
    // Every row has a labelled box to tick; the form posts the session's CSRF token.
    for id in [first, second, payments] {
        assert!(
            html.contains(&format!(
                "<label for=\"pick-{id}\" class=\"visually-hidden\">Select incident #{id}</label>"
            )),
            "{html}"
        );
    }
    assert!(html.contains("action=\"/incidents/bulk\""), "{html}");
    let token = csrf(&html);
    let bulk = |form: Vec<(&'static str, String)>| {
        let rae = rae.clone();
        let url = format!("{}/incidents/bulk", app.base);
        async move {
            let resp = rae.post(url).form(&form).send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let (status, html) = bulk(vec![
        ("csrf", token.clone()),
        ("back", "/incidents?q=checkout".into()),
        ("action", "acknowledge".into()),
        ("incident", first.to_string()),
        ("incident", payments.to_string()),
        ("incident", "99999".into()),
        ("incident", "nope".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("<h1>Acknowledged 1 incident</h1>"), "{html}");
    assert!(html.contains("Refused (3)"), "{html}");
    assert!(
        html.contains(&format!(
            "{payments}: user:rae may see incident #{payments} but not act on it"
        )),
        "{html}"
    );
    assert!(html.contains("99999: there is no such incident"), "{html}");
    assert!(
        html.contains("href=\"&#x2f;incidents?q=checkout\""),
        "back to the list: {html}"
    );
    let status_of = |id: i64| {
        let store = app.store.clone();
        async move {
            store
                .get_incident(id)
                .await
                .unwrap()
                .unwrap()
                .incident
                .status
        }
    };
    assert_eq!(status_of(first).await, paging::Status::Acknowledged);
    assert_eq!(status_of(payments).await, paging::Status::Triggered);

    let (status, html) = bulk(vec![
        ("csrf", token.clone()),
        ("action", "resolve".into()),
        ("incident", first.to_string()),
        ("incident", second.to_string()),
    ])
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Resolved 2 incidents</h1>"), "{html}");
    assert!(!html.contains("Refused"), "{html}");
    assert_eq!(status_of(second).await, paging::Status::Resolved);
    // A resolved incident cannot be acknowledged: refused, with the store's reason.
    let (_, html) = bulk(vec![
        ("csrf", token.clone()),
        ("action", "acknowledge".into()),
        ("incident", second.to_string()),
    ])
    .await;
    assert!(html.contains("<h1>Acknowledged 0 incidents</h1>"), "{html}");
    assert!(html.contains("it cannot be acknowledged"), "{html}");

    // Nothing ticked, or no such action: the field is named.
    let (status, html) = bulk(vec![("csrf", token.clone()), ("action", "resolve".into())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("incident: choose at least one"), "{html}");
    let (status, html) = bulk(vec![
        ("csrf", token.clone()),
        ("action", "delete".into()),
        ("incident", first.to_string()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("action: "), "{html}");
    // Without the CSRF token nothing happens.
    let (status, _) = bulk(vec![
        ("csrf", "forged".into()),
        ("action", "acknowledge".into()),
        ("incident", payments.to_string()),
    ])
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_responder_opens_an_incident_by_hand_and_each_bad_field_is_named() {
    let app = start().await;
    app.apply("payments.yaml", PAYMENTS).await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&b, &format!("{}/incidents/new", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<option value=\"checkout\""), "{html}");
    assert!(html.contains("<label for=\"details\">"), "{html}");
    let token = csrf(&html);
    let post = |form: Vec<(&'static str, &'static str)>| {
        let b = b.clone();
        let url = format!("{}/incidents", app.base);
        let token = token.clone();
        async move {
            let mut form: Vec<(&str, String)> =
                form.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
            form.push(("csrf", token));
            let resp = b.post(url).form(&form).send().await.unwrap();
            let status = resp.status();
            let location = resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (status, location, resp.text().await.unwrap())
        }
    };
    let (status, location, _) = post(vec![
        ("service", "checkout"),
        ("summary", "Customers report failed payments"),
        ("urgency", "low"),
        (
            "details",
            "Seen in the support queue since 09:10.\nNo alert fired.",
        ),
    ])
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let id: i64 = location.trim_start_matches("/incidents/").parse().unwrap();
    let detail = app.store.get_incident(id).await.unwrap().unwrap();
    assert_eq!(detail.incident.summary, "Customers report failed payments");
    assert_eq!(detail.incident.urgency, domain::Urgency::Low);
    assert_eq!(detail.incident.service.as_str(), "checkout");
    assert_eq!(
        detail.alerts[0].body.details,
        json!("Seen in the support queue since 09:10.\nNo alert fired.")
    );
    assert_eq!(detail.log[0].actor, "user:ann");
    let (status, html) = page(&b, &format!("{}{location}", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Seen in the support queue"), "{html}");

    // Each bad field is named beside it, and what was typed stays.
    for (form, field) in [
        (
            vec![("service", "nope"), ("summary", "x"), ("urgency", "high")],
            "Service: no service named",
        ),
        (
            vec![
                ("service", "checkout"),
                ("summary", "  "),
                ("urgency", "high"),
            ],
            "Summary: must be 1 to 1024 characters",
        ),
        (
            vec![
                ("service", "checkout"),
                ("summary", "x"),
                ("urgency", "urgent"),
            ],
            "Urgency: &quot;urgent&quot; is not one of high, low",
        ),
    ] {
        let (status, _, html) = post(form.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(html.contains(field), "{form:?}: {html}");
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
    }
    let long: &'static str = Box::leak("x".repeat(1025).into_boxed_str());
    let (status, _, html) = post(vec![
        ("service", "checkout"),
        ("summary", long),
        ("urgency", "high"),
    ])
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Summary: must be 1 to 1024"), "{html}");
    // Ann responds for acme; the payments service is acme's, so it is offered too, but a
    // person without the responder role over a service is refused on that field.
    let hash = server::api::session::hash_password(PASSWORD).unwrap();
    app.store
        .set_password(
            &domain::Name::new("rae").unwrap(),
            &hash,
            &store::WriteContext {
                actor: "system".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    let rae = sign_in(&app, "rae@acme.test").await;
    let (_, html) = page(&rae, &format!("{}/incidents/new", app.base)).await;
    assert!(html.contains("<option value=\"checkout\""), "{html}");
    assert!(!html.contains("<option value=\"payments\""), "{html}");
    let token = csrf(&html);
    let resp = rae
        .post(format!("{}/incidents", app.base))
        .form(&[
            ("csrf", token.as_str()),
            ("service", "payments"),
            ("summary", "x"),
            ("urgency", "high"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Service: user:rae may not open incidents on service payments"),
        "{html}"
    );
}
