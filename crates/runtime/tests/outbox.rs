//! The outbox worker when recording an outcome fails: one row never holds back the others
//! of its claim, and the attempt limit always ends in a dead letter.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use domain::{AccessTarget, Kind, Labels, Name};
use paging::{Action, AlertBody, Severity};
use runtime::ManualClock;
use runtime::notify::{Channel, OutboxWorker, SendError};
use store::{
    Change, Delivery, EscalationStep, Handling, IncidentRecord, IngestEvent, IngestOutcome,
    NewNotification, NotificationQuery, NotificationRecord, ObjectDraft, Store, TimerEffect,
    WriteContext,
};
use test_support::faults::Faulty;

const MAX_ATTEMPTS: i64 = 3;
const POISON: &str = "http://poison.test/hook";
const HEALTHY: &str = "http://healthy.test/hook";

/// A webhook stand-in: the poison address answers an error the store will not keep, the
/// healthy one takes every page.
#[derive(Default)]
struct Receivers {
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl Channel for Receivers {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, n: &NotificationRecord, _: &IncidentRecord) -> Result<String, SendError> {
        self.sent.lock().unwrap().push(n.address.clone());
        if n.address == POISON {
            Err(SendError::Retry {
                message: "HTTP 500 poison reply".into(),
                after: None,
            })
        } else {
            Ok("HTTP 200 thanks".into())
        }
    }
}

impl Receivers {
    fn sends_to(&self, address: &str) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|a| *a == address)
            .count()
    }
}

/// An incident whose first escalation step pages one person at both webhook addresses,
/// the poison one first; returns the poison row's id.
async fn two_pages(store: &dyn Store) -> i64 {
    let t0 = test_support::t0();
    let draft = |kind, n: &str, spec| Change::Create {
        draft: ObjectDraft {
            kind,
            name: Name::new(n).unwrap(),
            labels: Labels::new(),
            spec,
            source: None,
            references: Vec::new(),
            status: None,
            lookup_keys: Vec::new(),
        },
        scope: AccessTarget::default(),
    };
    store
        .commit(
            vec![
                draft(Kind::EscalationPolicy, "ops", serde_json::json!({"team": "core", "levels": [{"targets": [{"user": "ann"}], "delay_minutes": 5}]})),
                draft(Kind::Service, "api", serde_json::json!({"owner_team": "core", "escalation_policy": "ops"})),
            ],
            &WriteContext { actor: "system".into(), at: t0 },
        )
        .await
        .unwrap();
    let opened = store
        .ingest(vec![IngestEvent {
            service: Name::new("api").unwrap(),
            integration: Name::new("prom").unwrap(),
            routing_key: "k".into(),
            action: Action::Trigger,
            dedup_key: "disk".into(),
            body: Some(AlertBody {
                summary: "disk full".into(),
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
            received_at: t0,
            handling: Handling::default(),
        }])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let lease = t0.checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    let due = store.claim_timers(t0, "test", lease, 10).await.unwrap();
    let page = |address: &str, id: &str| NewNotification {
        user: Name::new("ann").unwrap(),
        channel: "webhook".into(),
        contact: id.into(),
        address: address.into(),
        event: "triggered".into(),
        delivery_id: id.into(),
        due_at: t0,
    };
    let step = EscalationStep {
        incident,
        round: 0,
        level: 0,
        people: vec![Name::new("ann").unwrap()],
        skipped: Vec::new(),
        fallback: false,
        reassigned: false,
        next: None,
        notifications: vec![page(POISON, "d-poison"), page(HEALTHY, "d-healthy")],
    };
    assert!(
        store
            .finish_timer(
                due[0].id,
                due[0].fence,
                TimerEffect::Escalate(Box::new(step)),
                t0
            )
            .await
            .unwrap()
    );
    let rows = pages(store).await;
    rows.iter().find(|n| n.address == POISON).unwrap().id
}

async fn pages(store: &dyn Store) -> Vec<NotificationRecord> {
    store
        .list_notifications(&NotificationQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn status_of(store: &dyn Store, address: &str) -> (String, i64) {
    let n = pages(store)
        .await
        .into_iter()
        .find(|n| n.address == address)
        .unwrap();
    (n.status, n.attempts)
}

/// A worker over `store`, stepped by the test's clock.
fn worker(store: Arc<dyn Store>, clock: &ManualClock, channel: Arc<Receivers>) -> OutboxWorker {
    OutboxWorker {
        store,
        clock: Arc::new(clock.clone()),
        channel,
        owner: "test".into(),
        lease: Duration::from_secs(120),
        max_attempts: MAX_ATTEMPTS,
        send_timeout: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn a_reply_that_cannot_be_recorded_holds_back_no_other_page_and_ends_dead() {
    let db = test_support::sqlite_store().await;
    let poison = two_pages(&*db).await;
    // Recording the poison reply fails, as it did on PostgreSQL for a reply with a NUL.
    let faulty: Arc<dyn Store> = Arc::new(Faulty {
        inner: db.store.clone(),
        refuse_outcome: Box::new(move |id, outcome| {
            let (Delivery::Sent { answer: text }
            | Delivery::Retry { error: text, .. }
            | Delivery::Dead { error: text }) = outcome;
            id == poison && text.contains("poison")
        }),
    });
    let clock = ManualClock::new(test_support::t0());
    let receivers = Arc::new(Receivers::default());
    let outbox = worker(faulty, &clock, receivers.clone());

    assert_eq!(
        outbox.tick().await.unwrap(),
        2,
        "both outcomes are recorded, the poison one without its reply"
    );
    assert_eq!(receivers.sends_to(HEALTHY), 1);
    assert_eq!(status_of(&*db, HEALTHY).await, ("sent".into(), 1));
    assert_eq!(status_of(&*db, POISON).await, ("pending".into(), 1));
    // Each later attempt fails the same way, and the limit ends it.
    for _ in 1..MAX_ATTEMPTS {
        clock.advance(Duration::from_secs(600));
        assert_eq!(outbox.tick().await.unwrap(), 1);
    }
    assert_eq!(status_of(&*db, POISON).await, ("dead".into(), MAX_ATTEMPTS));
    assert_eq!(receivers.sends_to(POISON), MAX_ATTEMPTS as usize);
    assert_eq!(receivers.sends_to(HEALTHY), 1, "the healthy page went once");
    clock.advance(Duration::from_secs(600));
    assert_eq!(outbox.tick().await.unwrap(), 0, "nothing is left to send");
}

#[tokio::test]
async fn a_page_whose_outcomes_are_all_lost_is_dead_at_the_attempt_limit_without_another_send() {
    let db = test_support::sqlite_store().await;
    let poison = two_pages(&*db).await;
    // The store keeps nothing about the poison row but a dead letter that sends nothing
    // more: every attempt's outcome, with or without its reply, is lost.
    let lost = Arc::new(AtomicUsize::new(0));
    let seen = lost.clone();
    let gave_up = Arc::new(AtomicI64::new(0));
    let at = gave_up.clone();
    let faulty: Arc<dyn Store> = Arc::new(Faulty {
        inner: db.store.clone(),
        refuse_outcome: Box::new(move |id, outcome| {
            if id != poison {
                return false;
            }
            if let Delivery::Dead { error } = outcome
                && error.contains("the outcome of the last could not be recorded")
            {
                at.store(1, Ordering::SeqCst);
                return false;
            }
            seen.fetch_add(1, Ordering::SeqCst);
            true
        }),
    });
    let clock = ManualClock::new(test_support::t0());
    let receivers = Arc::new(Receivers::default());
    let outbox = worker(faulty, &clock, receivers.clone());

    assert_eq!(
        outbox.tick().await.unwrap(),
        1,
        "the healthy page is recorded"
    );
    assert_eq!(status_of(&*db, HEALTHY).await, ("sent".into(), 1));
    for _ in 1..MAX_ATTEMPTS {
        // The lost row waits for its lease to end, then is claimed again.
        clock.advance(Duration::from_secs(600));
        assert_eq!(outbox.tick().await.unwrap(), 0);
    }
    assert_eq!(
        status_of(&*db, POISON).await,
        ("pending".into(), MAX_ATTEMPTS)
    );
    assert_eq!(gave_up.load(Ordering::SeqCst), 0);
    clock.advance(Duration::from_secs(600));
    assert_eq!(
        outbox.tick().await.unwrap(),
        1,
        "the dead letter is recorded"
    );
    assert_eq!(gave_up.load(Ordering::SeqCst), 1);
    assert_eq!(
        status_of(&*db, POISON).await,
        ("dead".into(), MAX_ATTEMPTS + 1)
    );
    assert_eq!(
        receivers.sends_to(POISON),
        MAX_ATTEMPTS as usize,
        "not sent past the limit"
    );
    assert_eq!(
        lost.load(Ordering::SeqCst),
        2 * MAX_ATTEMPTS as usize,
        "each attempt tried its outcome, then the outcome without the reply"
    );
    clock.advance(Duration::from_secs(600));
    assert_eq!(outbox.tick().await.unwrap(), 0, "nothing is left to send");
}

#[tokio::test]
async fn the_backlog_gauges_show_each_channels_waiting_pages_and_their_age() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let scrape = recorder.handle();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let db = test_support::sqlite_store().await;
    two_pages(&*db).await;
    let clock = ManualClock::new(test_support::t0());
    clock.advance(Duration::from_secs(30));
    let backlog = runtime::workers::Backlog {
        store: db.store.clone(),
        clock: Arc::new(clock.clone()),
    };
    backlog.tick().await.unwrap();
    let shown = scrape.render();
    assert!(
        shown.contains("shinrai_outbox_depth{channel=\"webhook\"} 2"),
        "{shown}"
    );
    assert!(
        shown.contains("shinrai_outbox_oldest_undelivered_seconds{channel=\"webhook\"} 30"),
        "{shown}"
    );
    assert!(
        shown.contains("shinrai_outbox_depth{channel=\"email\"} 0"),
        "{shown}"
    );
}
