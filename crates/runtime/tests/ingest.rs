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
