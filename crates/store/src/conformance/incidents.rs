//! Stories for incidents: alert events opening, repeating, acknowledging and resolving
//! them, searching them, and people acting on them.

use serde_json::json;

use super::{ctx, event, incidents, log_kinds, name, t};
use crate::*;
use paging::{Action, Status, Urgency};

pub async fn events_open_repeat_acknowledge_and_resolve_alerts(store: &dyn Store) {
    let outcomes = store
        .ingest(vec![
            event(Action::Trigger, "k1", "db", 0),
            event(Action::Trigger, "k1", "db", 1),
            event(Action::Acknowledge, "k2", "db", 2),
            event(Action::Acknowledge, "k1", "db", 3),
        ])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(outcomes[1], IngestOutcome::Repeated { incident });
    assert!(
        matches!(outcomes[2], IngestOutcome::Ignored { .. }),
        "another integration's ack changes nothing"
    );
    assert_eq!(outcomes[3], IngestOutcome::Acknowledged { incident });

    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.status, Status::Acknowledged);
    assert_eq!(detail.incident.urgency, Urgency::High);
    assert_eq!(detail.incident.summary, "db is down");
    assert_eq!(detail.incident.acknowledged_at, Some(t(3)));
    assert_eq!(
        detail.incident.acknowledged_by.as_deref(),
        Some("integration:api/prom")
    );
    assert_eq!(detail.incident.dedup_keys, ["db"]);
    assert_eq!(detail.alerts.len(), 1);
    assert_eq!(detail.alerts[0].occurrences, 2);
    assert_eq!(detail.alerts[0].body.details["labels"]["job"], "api");
    let kinds: Vec<_> = detail.log.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "alert.triggered",
            "alert.repeated",
            "alert.acknowledged",
            "incident.acknowledged"
        ]
    );

    // Resolving the last open alert resolves the incident; a retry changes nothing.
    let outcomes = store
        .ingest(vec![
            event(Action::Resolve, "k1", "db", 4),
            event(Action::Resolve, "k1", "db", 5),
        ])
        .await
        .unwrap();
    assert_eq!(outcomes[0], IngestOutcome::Resolved { incident });
    assert!(matches!(outcomes[1], IngestOutcome::Ignored { .. }));
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.status, Status::Resolved);
    assert_eq!(detail.incident.resolved_at, Some(t(4)));

    // After a resolve the same key opens a new alert and a new incident.
    let outcomes = store
        .ingest(vec![event(Action::Trigger, "k1", "db", 6)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident: second } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert!(second > incident);

    // A batch that fails leaves nothing behind.
    let mut broken = event(Action::Trigger, "k1", "other", 7);
    broken.body = None;
    assert!(
        store
            .ingest(vec![event(Action::Trigger, "k1", "third", 7), broken])
            .await
            .is_err()
    );
    let all = store.list_incidents(&incidents(10)).await.unwrap();
    let ids: Vec<_> = all.iter().map(|i| i.id).collect();
    assert_eq!(
        ids,
        [second, incident],
        "newest first, nothing of the failed batch"
    );
    let open = store
        .list_incidents(&IncidentQuery {
            statuses: vec![Status::Triggered],
            ..incidents(10)
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let none = store
        .list_incidents(&IncidentQuery {
            services: Some(vec![name("web")]),
            ..incidents(10)
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let older = store
        .list_incidents(&IncidentQuery {
            before_id: Some(second),
            since: Some(t(0)),
            until: Some(t(1)),
            ..incidents(10)
        })
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
}

/// A trigger on `api` with this dedup key, summary and labels.
fn labelled(dedup: &str, summary: &str, labels: serde_json::Value, at: i64) -> IngestEvent {
    let mut e = event(Action::Trigger, "k1", dedup, at);
    if let Some(b) = &mut e.body {
        b.summary = summary.into();
        b.details = json!({ "labels": labels });
    }
    e
}

pub async fn incidents_are_searched_sorted_counted_and_paged(store: &dyn Store) {
    let mut low = labelled(
        "quota",
        "Über quota",
        json!({"team": "data", "path": "C:\\tmp"}),
        2,
    );
    low.urgency = Some(Urgency::Low);
    let outcomes = store
        .ingest(vec![
            labelled(
                "disk-db1",
                "Disk FULL on db1",
                json!({"team": "Data", "env": "prod"}),
                0,
            ),
            labelled("cpu_hot", "100% CPU on web_2", json!({"team": "web"}), 1),
            low,
        ])
        .await
        .unwrap();
    let ids: Vec<i64> = outcomes
        .iter()
        .map(|o| match o {
            IngestOutcome::Opened { incident } => *incident,
            other => panic!("{other:?}"),
        })
        .collect();
    let (disk, cpu, quota) = (ids[0], ids[1], ids[2]);
    store
        .act_on_incident(
            cpu,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("ann", 3),
        )
        .await
        .unwrap();
    let found = |search: &str| {
        let q = IncidentQuery {
            search: Some(search.to_owned()),
            ..incidents(50)
        };
        async move {
            let listed: Vec<i64> = store
                .list_incidents(&q)
                .await
                .unwrap()
                .iter()
                .map(|i| i.id)
                .collect();
            assert_eq!(
                store.count_incidents(&q).await.unwrap(),
                listed.len() as u64,
                "the count agrees with the list for {q:?}"
            );
            listed
        }
    };
    // Summary, in either case of ASCII letters; every term must match.
    assert_eq!(found("disk").await, [disk]);
    assert_eq!(found("DISK full").await, [disk]);
    assert_eq!(found("disk web").await, Vec::<i64>::new());
    // Blank text finds everything.
    assert_eq!(found("  ").await, [quota, cpu, disk]);
    // The service, a dedup key, anything an alert says.
    assert_eq!(found("API").await, [quota, cpu, disk]);
    assert_eq!(found("cpu_hot").await, [cpu]);
    assert_eq!(found("prod").await, [disk]);
    // `%`, `_` and `\` are plain characters, not patterns.
    assert_eq!(found("100%").await, [cpu]);
    assert_eq!(found("%").await, [cpu]);
    assert_eq!(found("b_2").await, [cpu]);
    assert_eq!(found("_").await, [cpu]);
    assert_eq!(found("C:\\tmp").await, [quota]);
    assert_eq!(found("path=C:\\tmp").await, [quota]);
    // Labels: `key=value` is exact, in either case of ASCII letters.
    assert_eq!(found("team=data").await, [quota, disk]);
    assert_eq!(found("team=dat").await, Vec::<i64>::new());
    assert_eq!(found("TEAM=web").await, [cpu]);
    assert_eq!(found("team=data env=prod").await, [disk]);
    assert_eq!(found("team=data quota").await, [quota]);
    // Only ASCII letters fold, on every backend.
    assert_eq!(found("Über").await, [quota]);
    assert_eq!(found("über").await, Vec::<i64>::new());

    let order = |sort: IncidentSort, offset: u32, limit: u32| {
        let q = IncidentQuery {
            sort,
            offset,
            ..incidents(limit)
        };
        async move {
            store
                .list_incidents(&q)
                .await
                .unwrap()
                .iter()
                .map(|i| i.id)
                .collect::<Vec<i64>>()
        }
    };
    assert_eq!(order(IncidentSort::Newest, 0, 10).await, [quota, cpu, disk]);
    assert_eq!(order(IncidentSort::Oldest, 0, 10).await, [disk, cpu, quota]);
    assert_eq!(
        order(IncidentSort::Urgency, 0, 10).await,
        [cpu, disk, quota]
    );
    assert_eq!(order(IncidentSort::Status, 0, 10).await, [quota, disk, cpu]);
    assert_eq!(
        order(IncidentSort::Updated, 0, 10).await,
        [cpu, quota, disk]
    );
    // Pages: an offset skips that many in order; past the end is empty.
    assert_eq!(order(IncidentSort::Oldest, 1, 1).await, [cpu]);
    assert_eq!(order(IncidentSort::Oldest, 2, 2).await, [quota]);
    assert!(order(IncidentSort::Oldest, 3, 2).await.is_empty());
    // Urgency and status filters, and a count that ignores paging.
    let q = IncidentQuery {
        urgencies: vec![Urgency::High],
        statuses: vec![Status::Triggered],
        offset: 5,
        ..incidents(1)
    };
    assert_eq!(store.count_incidents(&q).await.unwrap(), 1);
    let q = IncidentQuery {
        services: Some(Vec::new()),
        ..incidents(1)
    };
    assert_eq!(store.count_incidents(&q).await.unwrap(), 0);
    // Sorts are a closed set, named as the API and console name them.
    for sort in IncidentSort::ALL {
        assert_eq!(IncidentSort::parse(sort.as_str()), Some(sort));
    }
    assert_eq!(IncidentSort::parse("id; DROP TABLE incidents"), None);
}

pub async fn identical_triggers_in_one_batch_open_one_incident(store: &dyn Store) {
    let batch = (0..50)
        .map(|i| event(Action::Trigger, "k1", "flap", i))
        .collect();
    let outcomes = store.ingest(batch).await.unwrap();
    assert!(matches!(outcomes[0], IngestOutcome::Opened { .. }));
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| matches!(o, IngestOutcome::Repeated { .. }))
    );
    let all = store.list_incidents(&incidents(10)).await.unwrap();
    assert_eq!(all.len(), 1);
    let detail = store.get_incident(all[0].id).await.unwrap().unwrap();
    assert_eq!(detail.alerts[0].occurrences, 50);
}

pub async fn people_act_on_incidents(store: &dyn Store) {
    let outcomes = store
        .ingest(vec![event(Action::Trigger, "k1", "cpu", 0)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    let note = IncidentAction::Note("looking at the graphs".into());
    let noted = store
        .act_on_incident(incident, note, &ctx("user:ann", 1))
        .await
        .unwrap();
    assert_eq!(noted.status, Status::Triggered);
    let acked = store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 2),
        )
        .await
        .unwrap();
    assert_eq!(acked.status, Status::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("user:ann"));
    let again = store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:bob", 3),
        )
        .await
        .unwrap();
    assert_eq!(
        again.acknowledged_by.as_deref(),
        Some("user:ann"),
        "the first acknowledgement stands"
    );
    let resolved = store
        .act_on_incident(incident, IncidentAction::Resolve, &ctx("user:bob", 4))
        .await
        .unwrap();
    assert_eq!(resolved.status, Status::Resolved);
    assert_eq!(resolved.resolved_by.as_deref(), Some("user:bob"));
    assert_eq!(resolved.dedup_keys, ["cpu"]);
    let err = store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 5),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = store
        .act_on_incident(9999, IncidentAction::Resolve, &ctx("user:ann", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(
        detail.alerts[0].status,
        Status::Resolved,
        "resolving an incident resolves its alerts"
    );
    let log: Vec<_> = detail
        .log
        .iter()
        .map(|l| (l.kind.as_str(), l.actor.as_str()))
        .collect();
    assert_eq!(
        log,
        [
            ("alert.triggered", "integration:api/prom"),
            ("note", "user:ann"),
            ("incident.acknowledged", "user:ann"),
            ("incident.resolved", "user:bob"),
        ]
    );
    assert_eq!(detail.log[1].data["text"], "looking at the graphs");
    // The key is free again: the next trigger opens a new incident.
    let outcomes = store
        .ingest(vec![event(Action::Trigger, "k1", "cpu", 6)])
        .await
        .unwrap();
    assert!(matches!(outcomes[0], IngestOutcome::Opened { incident: n } if n != incident));
}

pub async fn people_snooze_escalate_and_reassign(store: &dyn Store) {
    let opened = store
        .ingest(vec![event(Action::Trigger, "k1", "cpu", 0)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let err = store
        .act_on_incident(
            incident,
            IncidentAction::Snooze { until: t(600) },
            &ctx("user:ann", 1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m.contains("acknowledge it first")),
        "{err}"
    );
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 2),
        )
        .await
        .unwrap();
    let err = store
        .act_on_incident(
            incident,
            IncidentAction::Snooze { until: t(1) },
            &ctx("user:ann", 3),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");

    let escalated = store
        .act_on_incident(incident, IncidentAction::Escalate, &ctx("user:ann", 4))
        .await
        .unwrap();
    assert_eq!(escalated.status, Status::Triggered);
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 5),
        )
        .await
        .unwrap();
    let reassigned = store
        .act_on_incident(
            incident,
            IncidentAction::Reassign {
                to: vec![name("bob"), name("cho")],
            },
            &ctx("user:ann", 6),
        )
        .await
        .unwrap();
    assert_eq!(reassigned.assignees, ["bob", "cho"]);
    assert_eq!(
        reassigned.status,
        Status::Triggered,
        "the new assignees are paged"
    );
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(
        log_kinds(&detail),
        [
            "alert.triggered",
            "incident.acknowledged",
            "incident.escalated",
            "incident.retriggered",
            "incident.acknowledged",
            "incident.reassigned",
            "incident.retriggered"
        ]
    );
    assert_eq!(detail.log[5].data["to"], json!(["bob", "cho"]));
    store
        .act_on_incident(incident, IncidentAction::Resolve, &ctx("user:ann", 7))
        .await
        .unwrap();
    for action in [
        IncidentAction::Escalate,
        IncidentAction::Reassign {
            to: vec![name("bob")],
        },
    ] {
        let err = store
            .act_on_incident(incident, action, &ctx("user:ann", 8))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    }
}
