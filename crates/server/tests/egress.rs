//! Outgoing requests made on a user's behalf (webhook contact methods, announcement
//! webhooks) pass the egress policy: internal addresses are refused unless allowed, on
//! every redirect hop, and users see a status and a reason, never the receiver's reply.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use domain::{Grant, Role};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use test_support::TestStore;
use test_support::app::TestApp;

test_support::on_both_backends!(
    webhooks_to_internal_addresses_are_refused_unless_allowed,
    a_redirect_to_a_forbidden_address_is_refused,
    replies_are_read_up_to_a_limit_and_never_shown,
);

/// The webhook channel under a notification policy that allows `allow` (CIDRs).
fn webhook(allow: &[&str]) -> Arc<dyn runtime::notify::Channel> {
    let allow = allow.iter().map(|c| c.parse().expect("a CIDR")).collect();
    let policy = runtime::egress::Policy::new(runtime::egress::Purpose::Notifications, allow);
    Arc::new(runtime::notify::Webhook {
        egress: runtime::egress::Client::new(policy, std::time::Duration::from_secs(20))
            .expect("an HTTP client"),
        secret: None,
        public_url: "https://shinrai.example.com".into(),
    })
}

/// A user `bob` whose webhook contact methods are `hooks` (name, URL).
fn bob(hooks: &[(&str, String)]) -> String {
    let methods: Vec<String> = hooks
        .iter()
        .map(|(name, url)| format!("{{name: {name}, type: webhook, address: \"{url}\"}}"))
        .collect();
    format!(
        "apiVersion: shinrai/v1\nkind: User\nmetadata: {{name: bob, labels: {{company: acme}}}}\n\
         spec:\n  full_name: Bob Acme\n  email: bob@acme.test\n  contact_methods: [{}]\n",
        methods.join(", ")
    )
}

/// Sends bob a test notification; the webhook results by contact method name.
async fn test_bob(app: &TestApp) -> Vec<(String, bool, String)> {
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
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["channel"] == "webhook")
        .map(|r| {
            (
                r["contact"].as_str().unwrap().to_owned(),
                r["ok"].as_bool().unwrap(),
                r["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A receiver on `ip` that answers every request with `status`, `headers` and `body`,
/// counting the requests; its `host:port`.
async fn receiver(
    ip: &str,
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let counted = hits.clone();
    let answer = move || {
        counted.fetch_add(1, Ordering::SeqCst);
        let mut r = axum::response::Response::new(axum::body::Body::from(body));
        *r.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
        for (k, v) in &headers {
            r.headers_mut().insert(*k, v.parse().unwrap());
        }
        std::future::ready(r)
    };
    let router = axum::Router::new().fallback(answer);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, hits)
}

async fn webhooks_to_internal_addresses_are_refused_unless_allowed(store: TestStore) {
    let (addr, hits) = receiver("127.0.0.1", 200, Vec::new(), "thanks").await;
    let port = addr.rsplit(':').next().unwrap();
    let hooks = [
        ("plain", format!("http://{addr}/hook")),
        ("decimal", format!("http://2130706433:{port}/hook")),
        ("octal", format!("http://0177.0.0.1:{port}/hook")),
        ("short", format!("http://127.1:{port}/hook")),
        ("zero", format!("http://0.0.0.0:{port}/hook")),
        ("mapped", format!("http://[::ffff:127.0.0.1]:{port}/hook")),
        ("named", format!("http://localhost:{port}/hook")),
    ];
    let app =
        TestApp::start_with_channels(store, server::Settings::default(), vec![webhook(&[])]).await;
    app.apply("bob.yaml", &bob(&hooks)).await;
    let results = test_bob(&app).await;
    assert_eq!(results.len(), hooks.len(), "{results:?}");
    for (name, ok, detail) in &results {
        assert!(!ok, "{name} was refused: {detail}");
        assert!(
            detail.contains("refused by the egress policy")
                && detail.contains("--egress-allow-notifications")
                && detail.contains("SHINRAI_EGRESS_ALLOW_NOTIFICATIONS"),
            "{name}: {detail}"
        );
    }
    let by_name = |n: &str| results.iter().find(|r| r.0 == n).unwrap().2.clone();
    for (name, address) in [
        ("plain", "127.0.0.1"),
        ("decimal", "127.0.0.1"),
        ("octal", "127.0.0.1"),
        ("short", "127.0.0.1"),
        ("zero", "0.0.0.0"),
        ("mapped", "::ffff:127.0.0.1"),
    ] {
        assert!(
            by_name(name).contains(address),
            "{name} names {address}: {}",
            by_name(name)
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing reached the receiver"
    );

    // Allowing loopback, explicitly, lets the plain one through.
    let allowed = TestApp::start_with_channels(
        test_support::sqlite_store().await,
        server::Settings::default(),
        vec![webhook(&["127.0.0.0/8"])],
    )
    .await;
    allowed
        .apply(
            "bob.yaml",
            &bob(&[("plain", format!("http://{addr}/hook"))]),
        )
        .await;
    let results = test_bob(&allowed).await;
    assert_eq!(
        results,
        [("plain".to_owned(), true, "HTTP 200".to_owned())],
        "allowed explicitly"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

async fn a_redirect_to_a_forbidden_address_is_refused(store: TestStore) {
    // The forbidden receiver listens on 127.0.0.2; only 127.0.0.1 is allowed.
    let (forbidden, forbidden_hits) = receiver("127.0.0.2", 200, Vec::new(), "thanks").await;
    let (final_hop, final_hits) = receiver("127.0.0.1", 200, Vec::new(), "thanks").await;
    let (to_forbidden, _) = receiver(
        "127.0.0.1",
        307,
        vec![("location", format!("http://{forbidden}/hook"))],
        "",
    )
    .await;
    let forbidden_port = forbidden.rsplit(':').next().unwrap();
    let (to_decimal, _) = receiver(
        "127.0.0.1",
        302,
        vec![(
            "location",
            format!("http://2130706434:{forbidden_port}/hook"),
        )],
        "",
    )
    .await;
    let (to_allowed, _) = receiver(
        "127.0.0.1",
        308,
        vec![("location", format!("http://{final_hop}/final"))],
        "",
    )
    .await;
    let app = TestApp::start_with_channels(
        store,
        server::Settings::default(),
        vec![webhook(&["127.0.0.1/32"])],
    )
    .await;
    app.apply(
        "bob.yaml",
        &bob(&[
            ("forbidden", format!("http://{to_forbidden}/hook")),
            ("decimal", format!("http://{to_decimal}/hook")),
            ("allowed", format!("http://{to_allowed}/hook")),
        ]),
    )
    .await;
    let results = test_bob(&app).await;
    for (name, ok, detail) in &results[..2] {
        assert!(!ok, "{name}: {detail}");
        assert!(
            detail.contains("refused by the egress policy")
                && detail.contains("127.0.0.2")
                && detail.contains("--egress-allow-notifications"),
            "{name}: {detail}"
        );
    }
    assert_eq!(forbidden_hits.load(Ordering::SeqCst), 0, "never reached");
    assert_eq!(
        results[2],
        ("allowed".to_owned(), true, "HTTP 200".to_owned()),
        "a redirect to an allowed address is followed"
    );
    assert_eq!(final_hits.load(Ordering::SeqCst), 1);
}

/// The size of the huge reply: as large as the one that doubled a server's memory.
const HUGE: u64 = 300 * 1024 * 1024;

/// A receiver on 127.0.0.1 that answers `200` with a body of [`HUGE`] bytes, written as
/// fast as the client reads it; its address and how many bytes of the body it wrote.
async fn huge_receiver() -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let counter = counter.clone();
            tokio::spawn(async move {
                // Reads the request's head and its body (by Content-Length).
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    let n = socket.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the request ended early");
                    got.extend_from_slice(&buf[..n]);
                    if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                while got.len() < head_end + length {
                    let n = socket.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the request body ended early");
                    got.extend_from_slice(&buf[..n]);
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {HUGE}\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = "SECRET-REPLY ".repeat(5000);
                let mut left = HUGE as usize;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if socket.write_all(&chunk.as_bytes()[..n]).await.is_err() {
                        return;
                    }
                    counter.fetch_add(n, Ordering::SeqCst);
                    left -= n;
                }
            });
        }
    });
    (addr, written)
}

async fn replies_are_read_up_to_a_limit_and_never_shown(store: TestStore) {
    let (huge, written) = huge_receiver().await;
    let (failing, _) = receiver(
        "127.0.0.1",
        500,
        Vec::new(),
        "SECRET-REPLY: stack trace with internal hostnames",
    )
    .await;
    let (fine, _) = receiver("127.0.0.1", 200, Vec::new(), "SECRET-REPLY token=abc").await;
    let channel = webhook(&["127.0.0.0/8"]);
    let app =
        TestApp::start_with_channels(store, server::Settings::default(), vec![channel.clone()])
            .await;
    app.apply(
        "bob.yaml",
        &bob(&[
            ("huge", format!("http://{huge}/hook")),
            ("failing", format!("http://{failing}/hook")),
            ("fine", format!("http://{fine}/hook")),
        ]),
    )
    .await;
    let results = test_bob(&app).await;
    let read = written.load(Ordering::SeqCst) as u64;
    assert!(
        read < HUGE / 2,
        "the huge reply was not read whole: {read} of {HUGE} bytes written"
    );
    assert_eq!(
        results,
        [
            ("huge".to_owned(), true, "HTTP 200".to_owned()),
            (
                "failing".to_owned(),
                false,
                "HTTP 500: server error".to_owned()
            ),
            ("fine".to_owned(), true, "HTTP 200".to_owned()),
        ]
    );

    // Announcements to the same receivers: their timeline and the notification list show
    // the status, never the reply.
    app.apply(
        "announced.yaml",
        &format!(
            "apiVersion: shinrai/v1\nkind: Team\nmetadata: {{name: shop, labels: {{company: acme}}}}\nspec: {{members: [bob]}}\n---\n\
             apiVersion: shinrai/v1\nkind: Service\nmetadata: {{name: announced, labels: {{company: acme}}}}\n\
             spec:\n  owner_team: shop\n  integrations: [{{name: prom, type: pagerduty, key: acme-announced-key-01}}]\n  \
             announce: {{webhooks: [\"http://{failing}/hook\", \"http://{fine}/hook\"]}}\n"
        ),
    )
    .await;
    let (status, _) = app
        .call(
            Method::POST,
            "/v2/enqueue",
            None,
            Some(serde_json::json!({"routing_key": "acme-announced-key-01", "event_action": "trigger",
                "payload": {"summary": "Replication lag", "source": "prometheus", "severity": "critical"}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let worker = runtime::notify::OutboxWorker {
        store: app.store.clone(),
        clock: Arc::new(app.clock.clone()),
        channel,
        owner: "test".into(),
        lease: std::time::Duration::from_secs(120),
        max_attempts: 8,
        send_timeout: std::time::Duration::from_secs(60),
    };
    assert_eq!(worker.tick().await.unwrap(), 2);
    let admin = app
        .token("admin2", vec![Grant::global(Role::Admin)], None)
        .await;
    let (_, incident) = app
        .call(Method::GET, "/api/v1/incidents/1", Some(&admin), None)
        .await;
    let lines: Vec<&Value> = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"].as_str().unwrap().starts_with("notification."))
        .collect();
    assert_eq!(lines.len(), 2, "{incident}");
    let (_, notifications) = app
        .call(Method::GET, "/api/v1/notifications", Some(&admin), None)
        .await;
    let answers: Vec<&str> = lines
        .iter()
        .map(|l| {
            l["data"]["answer"]
                .as_str()
                .or(l["data"]["error"].as_str())
                .unwrap()
        })
        .collect();
    assert!(
        answers.contains(&"HTTP 200") && answers.contains(&"HTTP 500: server error"),
        "{answers:?}"
    );
    for shown in [incident.to_string(), notifications.to_string()] {
        assert!(!shown.contains("SECRET-REPLY"), "{shown}");
        assert!(shown.contains("HTTP 500: server error"), "{shown}");
    }
}
