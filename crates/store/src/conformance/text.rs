//! Stories for outside text (summaries, details, notes, a provider's reply): kept
//! cleaned and cut the same way on every backend, keys with a NUL refused.

use domain::{AccessTarget, Grant, Kind, Labels, Role};
use serde_json::json;

use super::{ctx, draft, event, incidents, name, t};
use crate::*;
use paging::Action;

/// Outside text is kept the same on every backend: a NUL in free text (summaries, custom
/// details and their labels, notes, changes, a provider's reply) becomes U+FFFD and long
/// values are cut to `domain::text`'s limits, while a key with a NUL is refused naming
/// its field. No such value makes a write fail otherwise (PostgreSQL cannot keep a NUL in
/// a text column), and looking such a key up finds nothing.
pub async fn outside_text_is_kept_cleaned_and_keys_with_nul_are_refused(store: &dyn Store) {
    let mut ev = event(Action::Trigger, "k1", "disk", 0);
    let body = ev.body.as_mut().expect("a trigger has a body");
    body.summary = format!("disk\0full {}", "x".repeat(2000));
    body.source = "host\0one".into();
    body.details = json!({"labels": {"job\0": "api\0"}, "deep": [{"note": "a\0b"}]});
    let opened = store.ingest(vec![ev]).await.unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let kept = format!("disk\u{FFFD}full {}", "x".repeat(1024 - 10));
    assert_eq!(detail.incident.summary, kept);
    assert_eq!(
        detail.incident.summary.chars().count(),
        domain::text::MAX_SUMMARY
    );
    let alert = &detail.alerts[0];
    assert_eq!(alert.body.summary, kept);
    assert_eq!(alert.body.source, "host\u{FFFD}one");
    assert_eq!(
        alert.body.details,
        json!({"labels": {"job\u{FFFD}": "api\u{FFFD}"}, "deep": [{"note": "a\u{FFFD}b"}]})
    );

    // Keys with a NUL are refused, naming the field; nothing of the batch is kept.
    for (field, poison) in [
        ("dedup_key", {
            let mut e = event(Action::Trigger, "k1", "db", 1);
            e.dedup_key = "db\0one".into();
            e
        }),
        ("group", {
            let mut e = event(Action::Trigger, "k1", "db", 1);
            e.group = Some("g\0".into());
            e
        }),
    ] {
        match store
            .ingest(vec![event(Action::Trigger, "k1", "other", 1), poison])
            .await
        {
            Err(StoreError::Invalid(e)) => assert_eq!(e.field(), field, "{e}"),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(store.list_incidents(&incidents(10)).await.unwrap().len(), 1);
    let token = NewToken {
        name: "ci\0".into(),
        hash: "h-nul".into(),
        grants: vec![Grant::global(Role::Viewer)],
        user: None,
        expires_at: None,
    };
    match store.create_token(token, &ctx("user:root", 1)).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.field(), "name", "{e}"),
        other => panic!("a token name with a NUL: {other:?}"),
    }
    assert!(store.list_tokens().await.unwrap().is_empty());
    // Looking a key with a NUL up finds nothing.
    assert!(store.find_by_key("key\0").await.unwrap().is_none());
    let none = store
        .list_alerts(&AlertQuery {
            dedup_key: Some("disk\0".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(
        store
            .open_alerts_of_group(&name("api"), "g\0")
            .await
            .unwrap()
            .is_empty()
    );

    // A note and a change with a NUL are kept cleaned.
    store
        .act_on_incident(
            incident,
            IncidentAction::Note("looked\0at it".into()),
            &ctx("user:ann", 2),
        )
        .await
        .unwrap();
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let note = detail.log.iter().find(|l| l.kind == "note").unwrap();
    assert_eq!(note.data["text"], "looked\u{FFFD}at it");
    let change = store
        .record_change(NewChange {
            service: name("api"),
            integration: name("prom"),
            at: t(3),
            summary: "deploy\0 42".into(),
            body: json!({"by\0": "ci\0"}),
        })
        .await
        .unwrap();
    assert_eq!(change.summary, "deploy\u{FFFD} 42");
    let changes = store
        .changes_between(&name("api"), t(0), t(10))
        .await
        .unwrap();
    assert_eq!(changes[0].summary, "deploy\u{FFFD} 42");
    assert_eq!(changes[0].body, json!({"by\u{FFFD}": "ci\u{FFFD}"}));
}

/// A provider's reply is outside text too: one with a NUL (a webhook receiver's error
/// page) is recorded cleaned and cut to `domain::text::MAX_ANSWER`, on every backend, so
/// that recording it never fails; so is an address queued with one.
pub async fn a_providers_reply_with_nul_is_recorded_cleaned(store: &dyn Store) {
    let create = |kind, n: &str, spec| Change::Create {
        draft: draft(kind, n, Labels::new(), spec),
        scope: AccessTarget::default(),
    };
    store
        .commit(
            vec![
                create(Kind::EscalationPolicy, "ops", json!({"team": "core", "levels": [{"targets": [{"user": "ann"}], "delay_minutes": 5}]})),
                create(Kind::Service, "api", json!({"owner_team": "core", "escalation_policy": "ops"})),
            ],
            &ctx("system", 0),
        )
        .await
        .unwrap();
    let opened = store
        .ingest(vec![event(Action::Trigger, "k1", "disk", 0)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let step = EscalationStep {
        incident,
        round: 0,
        level: 0,
        people: vec![name("ann")],
        skipped: Vec::new(),
        fallback: false,
        reassigned: false,
        next: None,
        notifications: vec![NewNotification {
            user: name("ann"),
            channel: "webhook".into(),
            contact: "hook".into(),
            // An address that slipped past the checks with a NUL is queued cleaned.
            address: "https://hooks.acme.test/\0".into(),
            event: "triggered".into(),
            delivery_id: "d-nul".into(),
            due_at: t(4),
        }],
    };
    let due = store.claim_timers(t(4), "n1", t(64), 10).await.unwrap();
    assert_eq!(due[0].kind, ESCALATE);
    assert!(
        store
            .finish_timer(
                due[0].id,
                due[0].fence,
                TimerEffect::Escalate(Box::new(step)),
                t(4)
            )
            .await
            .unwrap()
    );
    let hook = store
        .claim_notifications("webhook", t(4), "n1", t(64), 10)
        .await
        .unwrap();
    let reply = format!("HTTP 500 \0{}", "y".repeat(5000));
    assert!(
        store
            .finish_notification(
                hook[0].id,
                hook[0].fence,
                Delivery::Retry {
                    error: reply,
                    at: t(30)
                },
                t(5)
            )
            .await
            .unwrap()
    );
    let kept = store
        .list_notifications(&NotificationQuery {
            incident: Some(incident),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(kept[0].address, "https://hooks.acme.test/\u{FFFD}");
    let error = kept[0].last_error.clone().unwrap();
    assert!(error.starts_with("HTTP 500 \u{FFFD}y"), "{error}");
    assert_eq!(error.chars().count(), domain::text::MAX_ANSWER);
    let again = store
        .claim_notifications("webhook", t(30), "n1", t(90), 10)
        .await
        .unwrap();
    assert!(
        store
            .finish_notification(
                again[0].id,
                again[0].fence,
                Delivery::Sent {
                    answer: "HTTP 200 \0ok".into()
                },
                t(31)
            )
            .await
            .unwrap()
    );
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let sent = detail
        .log
        .iter()
        .find(|l| l.kind == "notification.sent")
        .unwrap();
    assert_eq!(sent.data["answer"], "HTTP 200 \u{FFFD}ok");
}
