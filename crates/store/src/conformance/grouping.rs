//! Stories for how alerts become incidents: groups and their windows, merges,
//! retriggers, and the lists of alerts and changes.

use serde_json::json;

use super::{ctx, event, name, t};
use crate::*;
use paging::{Action, Severity, Status, Urgency};

pub async fn alerts_of_one_group_share_an_incident(store: &dyn Store) {
    let grouped = |action, dedup: &str, at| IngestEvent {
        group: Some("{}:{alertname=\"HighLatency\"}".into()),
        group_window: None,
        retrigger_acknowledged: false,
        ..event(action, "k1", dedup, at)
    };
    let mut low = grouped(Action::Trigger, "web-1", 0);
    if let Some(b) = low.body.as_mut() {
        b.severity = Severity::Warning;
    }
    let outcomes = store
        .ingest(vec![
            low,
            grouped(Action::Trigger, "web-2", 1),
            event(Action::Trigger, "k1", "lone", 2),
        ])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(outcomes[1], IngestOutcome::Joined { incident });
    assert!(matches!(outcomes[2], IngestOutcome::Opened { incident: other } if other != incident));
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.dedup_keys, ["web-1", "web-2"]);
    assert_eq!(
        detail.incident.urgency,
        Urgency::High,
        "a critical alert joining raises the urgency"
    );
    let group = "{}:{alertname=\"HighLatency\"}";
    assert_eq!(
        store
            .open_alerts_of_group(&name("api"), group)
            .await
            .unwrap(),
        ["web-1", "web-2"]
    );

    store
        .ingest(vec![grouped(Action::Resolve, "web-1", 3)])
        .await
        .unwrap();
    assert_eq!(
        store
            .get_incident(incident)
            .await
            .unwrap()
            .unwrap()
            .incident
            .status,
        Status::Triggered
    );
    assert_eq!(
        store
            .open_alerts_of_group(&name("api"), group)
            .await
            .unwrap(),
        ["web-2"]
    );
    store
        .ingest(vec![grouped(Action::Resolve, "web-2", 4)])
        .await
        .unwrap();
    assert_eq!(
        store
            .get_incident(incident)
            .await
            .unwrap()
            .unwrap()
            .incident
            .status,
        Status::Resolved
    );
    assert!(
        store
            .open_alerts_of_group(&name("api"), group)
            .await
            .unwrap()
            .is_empty()
    );

    // Once the group's incident is resolved, the group opens a new one.
    let outcomes = store
        .ingest(vec![grouped(Action::Trigger, "web-1", 5)])
        .await
        .unwrap();
    assert!(
        matches!(outcomes[0], IngestOutcome::Opened { incident: n } if n != incident),
        "{outcomes:?}"
    );
}

pub async fn alerts_are_listed_newest_first(store: &dyn Store) {
    store
        .ingest(vec![
            event(Action::Trigger, "k1", "a", 0),
            event(Action::Trigger, "k1", "b", 1),
            event(Action::Trigger, "k1", "c", 2),
            event(Action::Resolve, "k1", "b", 3),
        ])
        .await
        .unwrap();
    let all = store
        .list_alerts(&AlertQuery {
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    let keys: Vec<_> = all.iter().map(|a| a.dedup_key.as_str()).collect();
    assert_eq!(keys, ["c", "b", "a"]);
    let open = store
        .list_alerts(&AlertQuery {
            statuses: vec![Status::Triggered],
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 2);
    let page = store
        .list_alerts(&AlertQuery {
            before_id: Some(all[0].id),
            limit: 1,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page[0].dedup_key, "b");
    let none = store
        .list_alerts(&AlertQuery {
            services: Some(vec![]),
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

pub async fn changes_are_kept_per_service_in_time_order(store: &dyn Store) {
    let change = |service: &str, at: i64, summary: &str| NewChange {
        service: name(service),
        integration: name("ci"),
        at: t(at),
        summary: summary.into(),
        body: json!({ "summary": summary, "details": { "sha": "abc" } }),
    };
    store
        .record_change(change("api", 20, "deploy 2"))
        .await
        .unwrap();
    let first = store
        .record_change(change("api", 10, "deploy 1"))
        .await
        .unwrap();
    store
        .record_change(change("web", 15, "other service"))
        .await
        .unwrap();
    let got = store
        .changes_between(&name("api"), t(0), t(100))
        .await
        .unwrap();
    let summaries: Vec<_> = got.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(
        summaries,
        ["deploy 1", "deploy 2"],
        "oldest first, this service only"
    );
    assert_eq!(got[0], first);
    assert_eq!(got[0].body["details"]["sha"], "abc");
    assert_eq!(
        store
            .changes_between(&name("api"), t(11), t(20))
            .await
            .unwrap()
            .len(),
        0,
        "to is exclusive"
    );
}

pub async fn incidents_merge_into_one(store: &dyn Store) {
    let outcomes = store
        .ingest(vec![
            event(Action::Trigger, "k1", "a", 0),
            event(Action::Trigger, "k1", "b", 1),
            event(Action::Trigger, "k1", "c", 2),
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
    let merged = store
        .merge_incidents(ids[0], vec![ids[1], ids[2]], &ctx("user:ann", 3))
        .await
        .unwrap();
    assert_eq!(merged.dedup_keys, ["a", "b", "c"]);
    assert_eq!(merged.status, Status::Triggered);
    for gone in &ids[1..] {
        let d = store.get_incident(*gone).await.unwrap().unwrap();
        assert_eq!(d.incident.status, Status::Resolved);
        assert_eq!(d.incident.resolved_by.as_deref(), Some("user:ann"));
        assert!(d.alerts.is_empty(), "its alerts moved");
        assert!(
            d.log
                .iter()
                .any(|l| l.kind == "incident.merged_into" && l.data["into"] == ids[0])
        );
    }
    let target = store.get_incident(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        target
            .log
            .iter()
            .filter(|l| l.kind == "incident.merged")
            .count(),
        2
    );
    // A later event on a moved alert acts on the merged incident.
    let outcomes = store
        .ingest(vec![event(Action::Resolve, "k1", "b", 4)])
        .await
        .unwrap();
    assert_eq!(outcomes[0], IngestOutcome::Resolved { incident: ids[0] });

    let err = store
        .merge_incidents(ids[0], vec![ids[1]], &ctx("user:ann", 5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "resolved incidents do not merge: {err:?}"
    );
    let err = store
        .merge_incidents(ids[0], vec![ids[0]], &ctx("user:ann", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

pub async fn a_group_takes_alerts_only_within_its_window(store: &dyn Store) {
    let grouped = |dedup: &str, at| IngestEvent {
        group: Some("labels:alertname=Disk,cluster=eu".into()),
        group_window: Some(std::time::Duration::from_secs(3600)),
        retrigger_acknowledged: false,
        ..event(Action::Trigger, "k1", dedup, at)
    };
    let outcomes = store.ingest(vec![grouped("db1", 0)]).await.unwrap();
    let IngestOutcome::Opened { incident: first } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    // 30 minutes later: within the hour, the alert joins.
    let outcomes = store.ingest(vec![grouped("db2", 1800)]).await.unwrap();
    assert_eq!(outcomes[0], IngestOutcome::Joined { incident: first });
    // Two hours after the first opened, the group starts a new incident; the old one stays
    // open with its alerts.
    let outcomes = store.ingest(vec![grouped("db3", 7200)]).await.unwrap();
    let IngestOutcome::Opened { incident: second } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_ne!(second, first);
    let outcomes = store.ingest(vec![grouped("db4", 7300)]).await.unwrap();
    assert_eq!(
        outcomes[0],
        IngestOutcome::Joined { incident: second },
        "new alerts go to the new one"
    );
    let old = store.get_incident(first).await.unwrap().unwrap();
    assert_eq!(
        (old.incident.status, old.incident.dedup_keys.len()),
        (Status::Triggered, 2)
    );
}

pub async fn a_new_alert_retriggers_an_acknowledged_incident_unless_told_not_to(store: &dyn Store) {
    let grouped = |dedup: &str, at, retrigger| IngestEvent {
        group: Some(format!("g-{retrigger}")),
        retrigger_acknowledged: retrigger,
        ..event(Action::Trigger, "k1", dedup, at)
    };
    for retrigger in [true, false] {
        let outcomes = store
            .ingest(vec![grouped(&format!("first-{retrigger}"), 0, retrigger)])
            .await
            .unwrap();
        let IngestOutcome::Opened { incident } = outcomes[0] else {
            panic!("{outcomes:?}")
        };
        store
            .act_on_incident(
                incident,
                IncidentAction::Acknowledge { timeout: None },
                &ctx("user:ann", 1),
            )
            .await
            .unwrap();
        let outcomes = store
            .ingest(vec![grouped(&format!("second-{retrigger}"), 2, retrigger)])
            .await
            .unwrap();
        assert_eq!(outcomes[0], IngestOutcome::Joined { incident });
        let d = store.get_incident(incident).await.unwrap().unwrap();
        if retrigger {
            assert_eq!(
                d.incident.status,
                Status::Triggered,
                "a second problem pages again"
            );
            assert_eq!(d.incident.acknowledged_by, None);
            assert!(d.log.iter().any(|l| l.kind == "incident.retriggered"));
        } else {
            assert_eq!(d.incident.status, Status::Acknowledged);
            assert!(d.log.iter().all(|l| l.kind != "incident.retriggered"));
        }
        // A repeat of an alert already on the incident never retriggers it.
        store
            .act_on_incident(
                incident,
                IncidentAction::Acknowledge { timeout: None },
                &ctx("user:ann", 3),
            )
            .await
            .unwrap();
        store
            .ingest(vec![grouped(&format!("second-{retrigger}"), 4, retrigger)])
            .await
            .unwrap();
        let d = store.get_incident(incident).await.unwrap().unwrap();
        assert_eq!(d.incident.status, Status::Acknowledged);
    }
}
