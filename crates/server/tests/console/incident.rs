//! One incident's page: acting from it, what a viewer may not do, untrusted text, an
//! alert's details, the timeline in sentences and the inbox's links.

use super::*;

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

const ADA: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ada, labels: {company: acme}}
spec: {full_name: Ada Admin, email: ada@acme.test, roles: [{role: admin, company: acme}]}
"#;

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
