//! Work a commit makes due is done at once, not on the next poll: after an event opens an
//! incident, the timer worker takes its first escalation step and the email worker sends
//! the page while the clock stands still and both workers' polls are an hour away.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::Name;
use paging::{Action, AlertBody, Severity};
use runtime::notify::{Channel, OutboxWorker, SendError};
use runtime::timers::TimerWorker;
use runtime::wake::Wake;
use runtime::{Clock, ManualClock};
use store::{IncidentRecord, IngestEvent, IngestOutcome, NotificationRecord, WriteContext};
use tokio::sync::{mpsc, watch};

const ORG: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ann}
spec:
  full_name: Ann
  email: ann@acme.test
  contact_methods: [{name: mail, type: email, address: ann@acme.test}]
  notification_rules: {high: [{contact: mail}], low: [{contact: mail}]}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: core}
spec: {members: [ann]}
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {name: ops}
spec:
  team: core
  levels: [{targets: [{user: ann}], delay_minutes: 30}]
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: api}
spec:
  owner_team: core
  escalation_policy: ops
  integrations: [{name: prom, type: pagerduty, key: wake-test-key-0001}]
"#;

/// An email channel that hands each page's summary to the test.
struct Mailbox(mpsc::UnboundedSender<String>);

#[async_trait]
impl Channel for Mailbox {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn send(&self, _: &NotificationRecord, i: &IncidentRecord) -> Result<String, SendError> {
        let _ = self.0.send(i.summary.clone());
        Ok("250 accepted".into())
    }
}

fn trigger(dedup: &str) -> IngestEvent {
    IngestEvent {
        service: Name::new("api").unwrap(),
        integration: Name::new("prom").unwrap(),
        routing_key: "wake-test-key-0001".into(),
        action: Action::Trigger,
        dedup_key: dedup.into(),
        body: Some(AlertBody {
            summary: format!("{dedup} down"),
            source: "test".into(),
            severity: Severity::Critical,
            timestamp: None,
            component: None,
            group: None,
            class: None,
            details: serde_json::Value::Null,
            links: vec![],
            images: vec![],
            client: None,
            client_url: None,
        }),
        group: None,
        group_window: None,
        retrigger_acknowledged: false,
        actor: None,
        urgency: None,
        received_at: test_support::t0(),
        handling: store::Handling::default(),
    }
}

/// Waits for the next page; the workers poll only hourly, so a page that waits for a
/// poll never comes and this fails instead of hanging.
async fn next_page(mail: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(60), mail.recv())
        .await
        .expect("the page waited for the next poll instead of being sent at once")
        .expect("the email worker stopped")
}

/// An organisation where every incident pages ann by email, an event writer, and the
/// timer and email workers running in the background with hourly polls and a clock that
/// stands still. Returns the way in for events, the pages as they are sent, and the clock.
async fn start(
    concurrency: usize,
) -> (
    test_support::TestStore,
    runtime::ingest::Ingest,
    mpsc::UnboundedReceiver<String>,
    ManualClock,
    watch::Sender<bool>,
) {
    let db = test_support::sqlite_store().await;
    let store = db.store.clone();
    let files = [config::SourceFile {
        path: "org.yaml".into(),
        content: ORG.into(),
    }];
    let prepared = runtime::apply::prepare(&store, &files, false)
        .await
        .unwrap();
    let ctx = WriteContext {
        actor: "system".into(),
        at: test_support::t0(),
    };
    runtime::apply::commit(&store, prepared, &ctx)
        .await
        .unwrap();

    let clock = ManualClock::new(test_support::t0());
    let wake = Wake::default();
    let (stop, shutdown) = watch::channel(false);
    let (ingest, writer) = runtime::ingest::channel(store.clone(), 16);
    tokio::spawn(writer.waking(wake.clone()).run());
    let hourly = Duration::from_secs(3600);
    let timers = TimerWorker {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        owner: "test".into(),
        lease: Duration::from_secs(60),
    };
    tokio::spawn(timers.run_waking(hourly, wake.clone(), shutdown.clone()));
    let (pages, mail) = mpsc::unbounded_channel();
    let email = OutboxWorker {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        channel: Arc::new(Mailbox(pages)),
        owner: "test".into(),
        lease: Duration::from_secs(60),
        max_attempts: 3,
        send_timeout: Duration::from_secs(30),
    };
    tokio::spawn(email.run_waking(hourly, concurrency, wake.clone(), shutdown.clone()));

    (db, ingest, mail, clock, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_incidents_first_page_is_sent_at_once_while_the_clock_stands_still() {
    let (_db, ingest, mut mail, clock, _stop) = start(1).await;
    // The first incident may be caught by the workers' first rounds at start; once its
    // page is out, both have run their first round and wait an hour for the next.
    let first = ingest.submit(trigger("disk")).await.unwrap();
    assert!(matches!(first, IngestOutcome::Opened { .. }), "{first:?}");
    assert_eq!(next_page(&mut mail).await, "disk down");

    let second = ingest.submit(trigger("cpu")).await.unwrap();
    assert!(matches!(second, IngestOutcome::Opened { .. }), "{second:?}");
    assert_eq!(next_page(&mut mail).await, "cpu down");
    assert_eq!(clock.now(), test_support::t0(), "the clock never moved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_new_incidents_is_paged_in_one_run_not_a_batch_per_poll() {
    let (_db, ingest, mut mail, _clock, _stop) = start(8).await;
    let events = (0..150).map(|i| trigger(&format!("host-{i}"))).collect();
    let opened = ingest.submit_all(events).await.unwrap();
    assert_eq!(opened.len(), 150);
    let mut pages = std::collections::BTreeSet::new();
    while pages.len() < 150 {
        pages.insert(next_page(&mut mail).await);
    }
    assert!(pages.contains("host-0 down") && pages.contains("host-149 down"));
}
