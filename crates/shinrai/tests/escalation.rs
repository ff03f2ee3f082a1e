//! Escalations on wall time with the real binary: a node killed with -9 mid-way, and two
//! nodes sharing one PostgreSQL. Delays are short and every wait polls for the event
//! with a deadline; nothing here sleeps for a fixed time and then asserts.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use test_support::serve::Server;

const BIN: &str = env!("CARGO_BIN_EXE_shinrai");
const KEY: &str = "orders-events-key-0001";

/// `shinrai serve` with a store's flags and others.
/// The key PostgreSQL nodes seal stored secrets with in these tests.
const SECRET_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn serve(store: &[&str], extra: &[&str]) -> Server {
    // The webhook receivers listen on loopback, which the egress policy refuses unless
    // allowed.
    let allow = ["--egress-allow-notifications", "127.0.0.0/8"];
    Server::start(BIN, &[store, extra, &allow].concat())
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run shinrai");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn config(hook: &str) -> String {
    format!(
        r#"
apiVersion: shinrai/v1
kind: User
metadata: {{name: ann, labels: {{company: acme}}}}
spec:
  full_name: Ann
  email: ann@acme.test
  contact_methods: [{{name: hook, type: webhook, address: "{hook}"}}]
  notification_rules: {{high: [{{contact: hook}}], low: [{{contact: hook}}]}}
---
apiVersion: shinrai/v1
kind: Team
metadata: {{name: shop, labels: {{company: acme}}}}
spec: {{members: [ann]}}
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {{name: shop, labels: {{company: acme}}}}
spec:
  team: shop
  levels: [{{targets: [{{user: ann}}], delay_minutes: 60}}]
---
apiVersion: shinrai/v1
kind: Service
metadata: {{name: orders, labels: {{company: acme, product: shop}}}}
spec:
  owner_team: shop
  escalation_policy: shop
  integrations: [{{name: prom, type: pagerduty, key: {KEY}}}]
"#
    )
}

/// Polls `check` until it gives a value, or fails after `secs` seconds.
async fn eventually<T>(what: &str, secs: u64, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A webhook receiver: records each delivery; holds the first one unanswered forever.
#[derive(Clone, Default)]
struct Receiver {
    deliveries: Arc<Mutex<Vec<String>>>,
}

async fn receive(
    axum::extract::State(r): axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
) -> &'static str {
    let id = headers["x-shinrai-delivery"].to_str().unwrap().to_owned();
    let first = {
        let mut d = r.deliveries.lock().unwrap();
        d.push(id);
        d.len() == 1
    };
    if first {
        std::future::pending::<()>().await;
    }
    "ok"
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

async fn trigger(base: &str, dedup: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/v2/enqueue"))
        .json(&json!({"routing_key": KEY, "event_action": "trigger", "dedup_key": dedup,
                      "payload": {"summary": format!("{dedup} failing"), "source": "test", "severity": "critical"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
}

async fn timeline(base: &str, token: &str, id: i64) -> Vec<Value> {
    let shown: Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/incidents/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    shown["timeline"].as_array().cloned().unwrap_or_default()
}

fn count(lines: &[Value], kind: &str) -> usize {
    lines.iter().filter(|l| l["kind"] == kind).count()
}

/// `serve` without an allow-list refuses a webhook to loopback: the page is a dead letter
/// that names the address and the setting, and the receiver hears nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_to_loopback_is_refused_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let (receiver, hook) = receiver().await;
    let file = dir.path().join("org.yaml");
    std::fs::write(&file, config(&hook)).unwrap();
    run(&["apply", file.to_str().unwrap(), "--data-dir", data_s]);
    let token = run(&[
        "token",
        "create",
        "--name",
        "admin",
        "--role",
        "admin",
        "--data-dir",
        data_s,
    ]);
    let server = Server::start(BIN, &["--data-dir", data_s]);
    trigger(&server.base, "disk").await;
    let lines = eventually("the refusal recorded", 20, async || {
        let lines = timeline(&server.base, &token, 1).await;
        (count(&lines, "notification.dead") == 1).then_some(lines)
    })
    .await;
    let dead = lines
        .iter()
        .find(|l| l["kind"] == "notification.dead")
        .unwrap();
    let error = dead["data"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("refused by the egress policy: 127.0.0.1 is a loopback address")
            && error.contains("--egress-allow-notifications (SHINRAI_EGRESS_ALLOW_NOTIFICATIONS)"),
        "{error}"
    );
    assert!(receiver.deliveries.lock().unwrap().is_empty());
}

/// kill -9 after a page was sent and before its outcome was recorded: after the restart
/// the page is sent again with the same delivery id (at-least-once, deduplicable), and
/// the step and the delivery are each recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_between_sending_and_recording_sends_again_with_the_same_delivery_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let (receiver, hook) = receiver().await;
    let file = dir.path().join("org.yaml");
    std::fs::write(&file, config(&hook)).unwrap();
    run(&["apply", file.to_str().unwrap(), "--data-dir", data_s]);
    let token = run(&[
        "token",
        "create",
        "--name",
        "admin",
        "--role",
        "admin",
        "--data-dir",
        data_s,
    ]);
    let store = ["--data-dir", data_s];
    let lease = ["--lease-seconds", "2"];

    let server = serve(&store, &lease);
    trigger(&server.base, "disk").await;
    // The page reaches the receiver, which holds it unanswered: kill the node now.
    eventually("the first delivery", 20, async || {
        (!receiver.deliveries.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    server.kill9();

    let server = serve(&store, &lease);
    let ids = eventually("the delivery after the restart", 30, async || {
        let d = receiver.deliveries.lock().unwrap().clone();
        (d.len() >= 2).then_some(d)
    })
    .await;
    assert_eq!(
        ids[0], ids[1],
        "the same delivery id, for the receiver to deduplicate on"
    );
    let lines = eventually("the delivery recorded", 20, async || {
        let lines = timeline(&server.base, &token, 1).await;
        (count(&lines, "notification.sent") == 1).then_some(lines)
    })
    .await;
    assert_eq!(
        count(&lines, "escalation.level"),
        1,
        "the step is recorded once: {lines:?}"
    );
    assert_eq!(count(&lines, "notification.sent"), 1);
}

/// Two nodes on one PostgreSQL, 500 incidents whose first escalation step is due at
/// once: each step is recorded exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgresql_take_each_of_500_due_steps_once() {
    let url = test_support::postgres::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("org.yaml");
    // Nobody answers pages here: the receiver's address refuses connections.
    std::fs::write(&file, config("http://127.0.0.1:9/unreachable")).unwrap();
    run(&["apply", file.to_str().unwrap(), "--database-url", &url]);
    let token = run(&[
        "token",
        "create",
        "--name",
        "admin",
        "--role",
        "admin",
        "--database-url",
        &url,
    ]);
    // Every node on one PostgreSQL seals and opens stored secrets with the same key.
    let store = ["--database-url", url.as_str(), "--secret-key", SECRET_KEY];
    let a = serve(&store, &[]);
    let b = serve(&store, &[]);
    let sends: Vec<_> = (0..500)
        .map(|i| {
            let base = if i % 2 == 0 {
                a.base.clone()
            } else {
                b.base.clone()
            };
            tokio::spawn(async move { trigger(&base, &format!("alert-{i}")).await })
        })
        .collect();
    for s in sends {
        s.await.unwrap();
    }
    let total = eventually("500 steps recorded", 120, async || {
        let mut done = 0;
        for id in 1..=500 {
            let lines = timeline(&a.base, &token, id).await;
            let n = count(&lines, "escalation.level");
            assert!(n <= 1, "incident #{id} escalated {n} times: {lines:?}");
            done += n;
        }
        (done == 500).then_some(done)
    })
    .await;
    assert_eq!(total, 500);
}

/// A receiver that answers at once and counts deliveries.
async fn counting_receiver() -> (Arc<Mutex<Vec<String>>>, String) {
    async fn take(
        axum::extract::State(got): axum::extract::State<Arc<Mutex<Vec<String>>>>,
        headers: axum::http::HeaderMap,
    ) -> &'static str {
        got.lock()
            .unwrap()
            .push(headers["x-shinrai-delivery"].to_str().unwrap().to_owned());
        "ok"
    }
    let got = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(take))
        .with_state(got.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (got, url)
}

/// A node that claimed a page and died before sending it (the state kill -9 leaves
/// between claiming and sending: a claimed row, nothing sent): once its lease runs out
/// another node sends the page, once, and records it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_claimed_by_a_node_that_died_before_sending_is_sent_once_by_another() {
    use store::Store;
    let url = test_support::postgres::fresh_database().await;
    let (got, hook) = counting_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("org.yaml");
    std::fs::write(&file, config(&hook)).unwrap();
    run(&["apply", file.to_str().unwrap(), "--database-url", &url]);
    let token = run(&[
        "token",
        "create",
        "--name",
        "admin",
        "--role",
        "admin",
        "--database-url",
        &url,
    ]);

    // Node 1: opens the incident, takes its escalation step, claims the page, and dies.
    let store: Arc<dyn Store> = Arc::new(store_postgres::connect_with(&url, 2).await.unwrap());
    let clock = runtime::SystemClock::shared();
    let now = clock.now();
    let event = store::IngestEvent {
        service: domain::Name::new("orders").unwrap(),
        integration: domain::Name::new("prom").unwrap(),
        routing_key: KEY.into(),
        action: paging::Action::Trigger,
        dedup_key: "disk".into(),
        body: Some(paging::AlertBody {
            summary: "disk failing".into(),
            source: "test".into(),
            severity: paging::Severity::Critical,
            timestamp: None,
            component: None,
            group: None,
            class: None,
            details: Value::Null,
            links: Vec::new(),
            images: Vec::new(),
            client: None,
            client_url: None,
        }),
        group: None,
        group_window: None,
        retrigger_acknowledged: true,
        actor: None,
        urgency: None,
        received_at: now,
        handling: store::Handling::default(),
    };
    store.ingest(vec![event]).await.unwrap();
    let node1 = runtime::timers::TimerWorker {
        store: store.clone(),
        clock: clock.clone(),
        owner: "node-1".into(),
        lease: Duration::from_secs(60),
    };
    assert_eq!(
        node1.tick().await.unwrap(),
        1,
        "node 1 took the escalation step"
    );
    let lease_until = now.checked_add(jiff::SignedDuration::from_secs(3)).unwrap();
    let claimed = store
        .claim_notifications("webhook", clock.now(), "node-1", lease_until, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    drop(node1);

    // Node 2 takes over once the lease has run out.
    let server = serve(
        &["--database-url", url.as_str(), "--secret-key", SECRET_KEY],
        &["--lease-seconds", "2"],
    );
    let ids = eventually("the page sent by node 2", 30, async || {
        let d = got.lock().unwrap().clone();
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(ids, [claimed[0].delivery_id.clone()]);
    let lines = eventually("the page recorded", 20, async || {
        let lines = timeline(&server.base, &token, 1).await;
        (count(&lines, "notification.sent") == 1).then_some(lines)
    })
    .await;
    assert_eq!(count(&lines, "escalation.level"), 1, "{lines:?}");
    let sent = lines
        .iter()
        .find(|l| l["kind"] == "notification.sent")
        .unwrap();
    assert_eq!(sent["data"]["attempt"], 2, "the second claim sent it");
    assert_eq!(got.lock().unwrap().len(), 1, "sent once");
}

/// `serve --demo`: its own data directory, the example organisation, a sign-in, and
/// within a minute a real incident escalating through the real engine, its email in the
/// console's inbox, opening with its links; `shinrai demo remove` refuses while the demo runs and removes it after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_a_living_incident_within_a_minute_and_is_removed_by_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let data_s = data.to_str().unwrap();
    let (server, printed) = Server::start_reading(BIN, &["--demo", "--data-dir", data_s], 1);
    assert!(printed[0].contains("demo@shinrai.example"), "{printed:?}");

    // Sign in to the console as the demo user, as a person would.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = browser
        .get(format!("{}/login", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = form.find("name=\"csrf\" value=\"").expect("a CSRF token");
    let csrf = form[at + 19..].split('"').next().unwrap().to_owned();
    let resp = browser
        .post(format!("{}/login", server.base))
        .form(&[
            ("email", "demo@shinrai.example"),
            ("password", "shinrai-demo-password"),
            ("next", "/incidents"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let html = eventually("an escalated incident in the console", 60, async || {
        let list = browser
            .get(format!("{}/incidents?status=all", server.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        // The first link to an incident by number (the page also links to
        // `/incidents/new`).
        let id: String = list
            .split("href=\"/incidents/")
            .skip(1)
            .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
            .find(|id: &String| !id.is_empty())?;
        let page = browser
            .get(format!("{}/incidents/{id}", server.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        page.contains("Escalation level 1 paged ").then_some(page)
    })
    .await;
    assert!(
        html.contains("demo"),
        "the on-call demo user was paged: {html}"
    );
    let inbox = eventually("the page in the inbox", 30, async || {
        let page = browser
            .get(format!("{}/inbox", server.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        page.contains("href=\"/inbox/").then_some(page)
    })
    .await;
    assert!(inbox.contains("triggered"), "{inbox}");
    // The email opens, with the links it was sent with.
    let at = inbox.find("href=\"/inbox/").unwrap() + 6;
    let email = inbox[at..].split('"').next().unwrap();
    let opened = browser
        .get(format!("{}{email}", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(
        opened.contains("<a href=\"/l/ack/") && opened.contains("<a href=\"/l/resolve/"),
        "{opened}"
    );

    let refused = Command::new(BIN)
        .args(["demo", "remove", "--data-dir", data_s])
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "the demo is running: its data stays"
    );
    assert!(data.exists());
    server.kill9();
    run(&["demo", "remove", "--data-dir", data_s]);
    assert!(!data.exists(), "one command removes the demo data");
}
