//! Pages by SMS, voice and push, and the replies and callbacks that act on them.

use super::*;

test_support::on_both_backends!(
    pages_go_out_by_sms_voice_and_push_and_replies_act,
    a_replayed_twilio_callback_acts_once,
);

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
