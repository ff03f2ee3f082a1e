//! Pages by email, webhook and Slack with their signed links, the pager watching itself,
//! and test notifications.
//!
//! Longer than 600 lines because each test is one end-to-end story run on both backends,
//! read top to bottom; splitting a story would hide its steps.

use super::*;

test_support::on_both_backends!(
    pages_reach_people_by_email_and_webhook_and_one_channel_never_holds_up_another,
    an_unacknowledged_incident_escalates_by_email_and_slack_until_a_link_acknowledges_it,
    the_pager_watches_itself,
    test_notifications_and_the_unreachable_report_say_which_contact_methods_work,
    services_announce_their_incidents_to_slack_and_webhooks,
);

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
