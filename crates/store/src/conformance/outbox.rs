//! Stories for the outbox: notifications claimed per channel and recorded once.

use domain::{AccessTarget, Kind, Labels, Name};
use serde_json::json;

use super::{ctx, draft, event, name, t};
use crate::*;
use paging::Action;

pub async fn notifications_are_claimed_per_channel_and_recorded_once(store: &dyn Store) {
    // A service whose incidents follow a policy (copied onto each incident).
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
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let escalation = detail.incident.escalation.expect("the policy was copied");
    assert_eq!(
        (
            escalation.policy.as_str(),
            escalation.spec["levels"][0]["delay_minutes"].as_i64()
        ),
        ("ops", Some(5))
    );
    let due = store.claim_timers(t(0), "n1", t(60), 10).await.unwrap();
    assert_eq!(
        (due.len(), due[0].kind.as_str()),
        (1, ESCALATE),
        "its first step is due at once"
    );

    let note = |channel: &str, id: &str, at: i64| NewNotification {
        user: name("ann"),
        channel: channel.into(),
        contact: channel.into(),
        address: "ann@acme.test".into(),
        event: "triggered".into(),
        delivery_id: id.into(),
        due_at: t(at),
    };
    let step = EscalationStep {
        incident,
        round: 0,
        level: 0,
        people: vec![name("ann")],
        skipped: Vec::new(),
        fallback: false,
        reassigned: false,
        next: Some((0, 1, t(300))),
        notifications: vec![
            note("email", "d-1", 0),
            note("webhook", "d-2", 0),
            note("email", "d-3", 300),
        ],
    };
    assert!(
        store
            .finish_timer(
                due[0].id,
                due[0].fence,
                TimerEffect::Escalate(Box::new(step)),
                t(0)
            )
            .await
            .unwrap()
    );
    let shown = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(shown.incident.assignees, ["ann"]);
    assert_eq!(shown.incident.escalation.unwrap().level, 0);

    // Each channel claims only its own due rows.
    let email = store
        .claim_notifications("email", t(1), "n1", t(61), 10)
        .await
        .unwrap();
    assert_eq!(
        email
            .iter()
            .map(|n| n.delivery_id.as_str())
            .collect::<Vec<_>>(),
        ["d-1"]
    );
    assert!(
        store
            .claim_notifications("email", t(2), "n2", t(62), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let hook = store
        .claim_notifications("webhook", t(1), "n1", t(61), 10)
        .await
        .unwrap();
    assert_eq!(hook.len(), 1);
    // A retry keeps the delivery id and waits; a stale fence records nothing.
    assert!(
        store
            .finish_notification(
                hook[0].id,
                hook[0].fence,
                Delivery::Retry {
                    error: "HTTP 503".into(),
                    at: t(30)
                },
                t(2)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_notification(
                hook[0].id,
                hook[0].fence,
                Delivery::Sent {
                    answer: "late".into()
                },
                t(3)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_notifications("webhook", t(29), "n1", t(89), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_notifications("webhook", t(30), "n1", t(90), 10)
        .await
        .unwrap();
    assert_eq!(
        (again[0].delivery_id.as_str(), again[0].attempts),
        ("d-2", 2)
    );
    assert!(
        store
            .finish_notification(
                again[0].id,
                again[0].fence,
                Delivery::Dead {
                    error: "HTTP 404".into()
                },
                t(31)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_notification(
                email[0].id,
                email[0].fence,
                Delivery::Sent {
                    answer: "SMTP 250 ok".into()
                },
                t(2)
            )
            .await
            .unwrap()
    );
    // Acknowledging cancels the page not yet due.
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 40),
        )
        .await
        .unwrap();
    let all = store
        .list_notifications(&NotificationQuery {
            incident: Some(incident),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let states: Vec<(&str, &str)> = all
        .iter()
        .map(|n| (n.delivery_id.as_str(), n.status.as_str()))
        .collect();
    assert_eq!(
        states,
        [("d-3", "cancelled"), ("d-2", "dead"), ("d-1", "sent")]
    );
    assert!(
        store
            .claim_notifications("email", t(400), "n1", t(460), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let dead = store
        .list_notifications(&NotificationQuery {
            statuses: vec!["dead".into()],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    // Every attempt and its answer is on the timeline.
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let lines: Vec<(&str, String)> = detail
        .log
        .iter()
        .filter(|l| l.kind.starts_with("notification."))
        .map(|l| {
            (
                l.kind.as_str(),
                l.data["delivery_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("notification.failed", "d-2".to_owned()),
            ("notification.dead", "d-2".to_owned()),
            ("notification.sent", "d-1".to_owned())
        ]
    );
    assert!(
        store.list_timers().await.unwrap().is_empty(),
        "acknowledging stopped the escalation"
    );

    // Lists narrowed by service, by incident, and paged by id.
    let ids = |list: Vec<NotificationRecord>| -> Vec<String> {
        list.into_iter().map(|n| n.delivery_id).collect()
    };
    let query = |services: Option<Vec<Name>>, incidents: Option<Vec<i64>>, before: Option<i64>| {
        NotificationQuery {
            services,
            incidents,
            before_id: before,
            limit: 2,
            ..Default::default()
        }
    };
    let first = store
        .list_notifications(&query(Some(vec![name("api")]), None, None))
        .await
        .unwrap();
    assert_eq!(ids(first.clone()), ["d-3", "d-2"]);
    let next = store
        .list_notifications(&query(None, Some(vec![incident]), Some(first[1].id)))
        .await
        .unwrap();
    assert_eq!(ids(next), ["d-1"]);
    for (services, incidents) in [
        (Some(vec![name("other")]), None),
        (Some(Vec::new()), None),
        (None, Some(vec![incident + 1])),
        (None, Some(Vec::new())),
    ] {
        assert!(
            store
                .list_notifications(&query(services.clone(), incidents.clone(), None))
                .await
                .unwrap()
                .is_empty(),
            "{services:?} {incidents:?} match nothing"
        );
    }
}
