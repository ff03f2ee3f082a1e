//! Group commit, stepped: requests wait until the writer commits, and one step commits
//! every queued request in one transaction.

use std::sync::Arc;

use domain::Name;
use paging::{Action, AlertBody, Severity};
use store::{IncidentQuery, IngestEvent, IngestOutcome};

fn trigger(dedup: &str) -> IngestEvent {
    IngestEvent {
        service: Name::new("api").unwrap(),
        integration: Name::new("prom").unwrap(),
        routing_key: "k".into(),
        action: Action::Trigger,
        dedup_key: dedup.into(),
        body: Some(AlertBody {
            summary: format!("{dedup} down"),
            source: "test".into(),
            severity: Severity::Error,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_events_commit_in_one_transaction() {
    let store = test_support::sqlite_store().await;
    let (ingest, mut writer) = runtime::ingest::channel(store.store.clone(), 1024);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let ingest = ingest.clone();
            tokio::spawn(async move { ingest.submit(trigger(&format!("alert-{i}"))).await })
        })
        .collect();
    // Wait for the requests themselves, not for time: all 64 are queued and none is
    // answered, because nothing has been committed.
    while ingest.queued() < 64 {
        tokio::task::yield_now().await;
    }
    assert!(
        tasks.iter().all(|t| !t.is_finished()),
        "no answer before the commit"
    );
    assert_eq!(
        writer.tick().await,
        64,
        "one transaction holds all 64 events"
    );
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Ok(IngestOutcome::Opened { .. })));
    }
    let all = store
        .list_incidents(&IncidentQuery {
            limit: 100,
            ..IncidentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_identical_concurrent_triggers_open_one_incident() {
    let store = test_support::sqlite_store().await;
    let (ingest, writer) = runtime::ingest::channel(store.store.clone(), 1024);
    let writer = tokio::spawn(writer.run());
    let ingest = Arc::new(ingest);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let ingest = ingest.clone();
            tokio::spawn(async move { ingest.submit(trigger("same")).await })
        })
        .collect();
    let mut opened = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            IngestOutcome::Opened { .. } => opened += 1,
            IngestOutcome::Repeated { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(opened, 1);
    drop(ingest);
    writer.await.unwrap();
    let all = store
        .list_incidents(&IncidentQuery {
            limit: 100,
            ..IncidentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

/// A hundred senders at once, one of them with a dedup key the store cannot keep (a NUL)
/// and one with a NUL in its summary: the key is refused, naming the field, for its own
/// sender only; the other 99 commit, the NUL in the summary kept as U+FFFD. The same on
/// both backends.
async fn one_poison_event_fails_only_its_own_sender(store: test_support::TestStore) {
    let (ingest, mut writer) = runtime::ingest::channel(store.store.clone(), 1024);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let ingest = ingest.clone();
            let mut event = trigger(&format!("alert-{i}"));
            match i {
                37 => event.dedup_key = "poison\0key".into(),
                61 => event.body.as_mut().unwrap().summary = "nul\0in the summary".into(),
                _ => {}
            }
            tokio::spawn(async move { ingest.submit(event).await })
        })
        .collect();
    while ingest.queued() < 100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(writer.tick().await, 100, "one batch held all 100");
    let mut opened = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(IngestOutcome::Opened { .. }) => opened += 1,
            Err(store::StoreError::Invalid(e)) if i == 37 => {
                assert_eq!(e.field(), "dedup_key", "{e}");
            }
            other => panic!("sender {i}: {other:?}"),
        }
    }
    assert_eq!(opened, 99);
    let all = store
        .list_incidents(&IncidentQuery {
            limit: 200,
            ..IncidentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 99);
    assert!(
        all.iter().any(|i| i.summary == "nul\u{FFFD}in the summary"),
        "{:?}",
        all.iter().map(|i| &i.summary).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_poison_event_among_a_hundred_senders_fails_only_its_own_on_sqlite() {
    one_poison_event_fails_only_its_own_sender(test_support::sqlite_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_poison_event_among_a_hundred_senders_fails_only_its_own_on_postgres() {
    one_poison_event_fails_only_its_own_sender(test_support::postgres_store().await).await;
}
