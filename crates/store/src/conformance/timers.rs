//! Stories for timers: fenced claims, acknowledgement timeouts and snoozes ending, and
//! alerts held (flapping, or by a hold) until a timer releases them.

use serde_json::json;

use super::{ctx, event, incidents, log_kinds, t};
use crate::*;
use paging::{Action, Status};

fn timer(kind: &str, subject: &str, due: i64) -> NewTimer {
    NewTimer {
        kind: kind.into(),
        subject: subject.into(),
        due_at: t(due),
        data: json!({ "subject": subject }),
    }
}

pub async fn timers_are_claimed_with_fenced_leases(store: &dyn Store) {
    store.set_timer(timer("test", "a", 10), t(0)).await.unwrap();
    store.set_timer(timer("test", "b", 20), t(0)).await.unwrap();
    // What the self-watch reports: how many are due, and since when.
    assert_eq!(store.timer_backlog(t(5)).await.unwrap(), (0, None));
    assert_eq!(store.timer_backlog(t(25)).await.unwrap(), (2, Some(t(10))));
    assert!(
        store
            .claim_timers(t(5), "n1", t(65), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let first = store.claim_timers(t(15), "n1", t(75), 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].subject, "a");
    assert_eq!(first[0].lease_owner.as_deref(), Some("n1"));
    assert_eq!(first[0].data, json!({ "subject": "a" }));
    // n1's lease holds: n2 gets nothing until it expires.
    assert!(
        store
            .claim_timers(t(16), "n2", t(76), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let second = store.claim_timers(t(80), "n2", t(140), 10).await.unwrap();
    let subjects: Vec<&str> = second.iter().map(|t| t.subject.as_str()).collect();
    assert_eq!(subjects, ["a", "b"]);
    let a2 = &second[0];
    assert!(a2.fence > first[0].fence, "each claim takes a new fence");
    assert_eq!(a2.attempts, 2);
    // n1 comes back after its lease expired: its fence is stale, nothing happens.
    assert!(
        !store
            .finish_timer(first[0].id, first[0].fence, TimerEffect::Drop, t(81))
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_timer(a2.id, a2.fence, TimerEffect::Drop, t(81))
            .await
            .unwrap()
    );
    // Moving a claimed timer bumps its fence: the claim of the old due time does nothing.
    let b = &second[1];
    let moved = store
        .set_timer(timer("test", "b", 100), t(82))
        .await
        .unwrap();
    assert!(moved.fence > b.fence);
    assert_eq!(moved.lease_owner, None);
    assert!(
        !store
            .finish_timer(b.id, b.fence, TimerEffect::Drop, t(83))
            .await
            .unwrap()
    );
    let left = store.list_timers().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].subject.as_str(), left[0].due_at), ("b", t(100)));
}

async fn finish_due(
    store: &dyn Store,
    at: i64,
    effect: impl Fn(&TimerRecord) -> TimerEffect,
) -> usize {
    let due = store
        .claim_timers(t(at), "test", t(at + 60), 100)
        .await
        .unwrap();
    let mut n = 0;
    for timer in &due {
        if store
            .finish_timer(timer.id, timer.fence, effect(timer), t(at))
            .await
            .unwrap()
        {
            n += 1;
        }
    }
    n
}

fn wake_effect(timer: &TimerRecord) -> TimerEffect {
    TimerEffect::Wake {
        incident: timer.data["incident"].as_i64().unwrap(),
        reason: timer.data["reason"].as_str().unwrap().to_owned(),
    }
}

pub async fn acknowledgements_time_out_and_snoozes_end_by_timer(store: &dyn Store) {
    let opened = store
        .ingest(vec![event(Action::Trigger, "k1", "disk", 0)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let timeout = std::time::Duration::from_secs(30 * 60);
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge {
                timeout: Some(timeout),
            },
            &ctx("user:ann", 10),
        )
        .await
        .unwrap();
    let timers = store.list_timers().await.unwrap();
    assert_eq!(timers.len(), 1);
    assert_eq!(
        (timers[0].kind.as_str(), timers[0].due_at),
        (WAKE, t(10 + 1800))
    );
    assert_eq!(finish_due(store, 1809, wake_effect).await, 0, "not due yet");
    assert_eq!(finish_due(store, 1810, wake_effect).await, 1);
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.status, Status::Triggered);
    assert_eq!(detail.incident.acknowledged_by, None);
    let last = detail.log.last().unwrap();
    assert_eq!(last.kind, "incident.unacknowledged");
    assert_eq!(
        last.data["reason"],
        "the acknowledgement timed out after 30 minutes"
    );

    // A snooze ends by timer too; resolving first removes the timer.
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 2000),
        )
        .await
        .unwrap();
    assert!(store.list_timers().await.unwrap().is_empty());
    let snoozed = store
        .act_on_incident(
            incident,
            IncidentAction::Snooze { until: t(2600) },
            &ctx("user:ann", 2001),
        )
        .await
        .unwrap();
    assert_eq!(snoozed.snoozed_until, Some(t(2600)));
    assert_eq!(snoozed.status, Status::Acknowledged);
    assert_eq!(finish_due(store, 2600, wake_effect).await, 1);
    let woke = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(woke.incident.status, Status::Triggered);
    assert_eq!(woke.incident.snoozed_until, None);
    assert_eq!(woke.log.last().unwrap().data["reason"], "the snooze ended");

    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge {
                timeout: Some(timeout),
            },
            &ctx("user:ann", 3000),
        )
        .await
        .unwrap();
    store
        .act_on_incident(incident, IncidentAction::Resolve, &ctx("user:ann", 3001))
        .await
        .unwrap();
    assert!(
        store.list_timers().await.unwrap().is_empty(),
        "resolving ends the timeout"
    );
}

pub async fn timers_ingest_in_the_transaction_that_removes_them(store: &dyn Store) {
    // A heartbeat: each ping (a resolve that changes nothing) sets the deadline.
    let ping = |at: i64| IngestEvent {
        handling: Handling {
            arm: Some(timer(HEARTBEAT, "api/cron", at + 300)),
            ..Handling::default()
        },
        ..event(Action::Resolve, "k1", "heartbeat:cron", at)
    };
    let out = store.ingest(vec![ping(0)]).await.unwrap();
    assert!(matches!(out[0], IngestOutcome::Ignored { .. }), "{out:?}");
    store.ingest(vec![ping(200)]).await.unwrap();
    let timers = store.list_timers().await.unwrap();
    assert_eq!(timers.len(), 1, "a ping moves the one deadline");
    assert_eq!(timers[0].due_at, t(500));
    let missed = |_: &TimerRecord| {
        TimerEffect::Ingest(Box::new(event(
            Action::Trigger,
            "k1",
            "heartbeat:cron",
            500,
        )))
    };
    assert_eq!(finish_due(store, 500, missed).await, 1);
    let open = store.list_incidents(&incidents(10)).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].dedup_keys, ["heartbeat:cron"]);
    assert!(store.list_timers().await.unwrap().is_empty());
    // The next ping resolves it and sets the deadline again.
    let out = store.ingest(vec![ping(600)]).await.unwrap();
    assert_eq!(
        out[0],
        IngestOutcome::Resolved {
            incident: open[0].id
        }
    );
    assert_eq!(store.list_timers().await.unwrap()[0].due_at, t(900));
}

fn held(hold: &str, until: Option<i64>, ev: IngestEvent) -> IngestEvent {
    IngestEvent {
        handling: Handling {
            hold: Some(Hold {
                reason: hold.into(),
                until: until.map(t),
            }),
            ..Handling::default()
        },
        ..ev
    }
}

fn release_effect(timer: &TimerRecord) -> TimerEffect {
    TimerEffect::Release {
        alert: timer.data["alert"].as_i64().unwrap(),
        reason: "the hold ended".into(),
        urgency: None,
    }
}

pub async fn held_alerts_open_no_incident_until_released(store: &dyn Store) {
    let w = "maintenance: db-upgrade";
    let out = store
        .ingest(vec![
            held(
                w,
                Some(100),
                event(Action::Trigger, "k1", "still-firing", 0),
            ),
            held(
                w,
                Some(100),
                event(Action::Trigger, "k1", "still-firing", 1),
            ),
            held(w, Some(100), event(Action::Trigger, "k1", "recovers", 2)),
            event(Action::Resolve, "k1", "recovers", 3),
            held(w, None, event(Action::Trigger, "k1", "repeats-later", 4)),
        ])
        .await
        .unwrap();
    let IngestOutcome::Held { alert } = out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(out[1], IngestOutcome::Held { alert });
    assert!(matches!(out[3], IngestOutcome::Held { .. }));
    assert!(
        store
            .list_incidents(&incidents(10))
            .await
            .unwrap()
            .is_empty(),
        "no incident while held"
    );
    let alerts = store
        .list_alerts(&AlertQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let firing = alerts.iter().find(|a| a.id == alert).unwrap();
    assert_eq!(
        (
            firing.incident_id,
            firing.held.as_deref(),
            firing.occurrences
        ),
        (None, Some(w), 2)
    );
    // The resolved alert's timer went with it; the firing one's waits for the window's end.
    let timers = store.list_timers().await.unwrap();
    assert_eq!(timers.len(), 1);
    assert_eq!(
        (timers[0].kind.as_str(), timers[0].due_at),
        (RELEASE, t(100))
    );

    assert_eq!(finish_due(store, 100, release_effect).await, 1);
    let open = store.list_incidents(&incidents(10)).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].dedup_keys, ["still-firing"]);
    let detail = store.get_incident(open[0].id).await.unwrap().unwrap();
    assert_eq!(log_kinds(&detail), ["alert.triggered", "alert.released"]);
    assert_eq!(detail.log[1].data["held"], w);
    assert_eq!(detail.alerts[0].held, None);

    // A held alert repeated after its window ended is released by that trigger.
    let out = store
        .ingest(vec![event(Action::Trigger, "k1", "repeats-later", 200)])
        .await
        .unwrap();
    assert!(matches!(out[0], IngestOutcome::Opened { .. }), "{out:?}");
    assert_eq!(store.list_incidents(&incidents(10)).await.unwrap().len(), 2);
}

pub async fn flapping_alerts_are_held_with_the_reason_on_the_timeline(store: &dyn Store) {
    let flappy = |action, at| IngestEvent {
        handling: Handling {
            flapping: Some(FlapRule {
                changes: 4,
                window: std::time::Duration::from_secs(600),
            }),
            ..Handling::default()
        },
        ..event(action, "k1", "flappy", at)
    };
    let out = store
        .ingest(vec![
            flappy(Action::Trigger, 0),
            flappy(Action::Resolve, 60),
            flappy(Action::Trigger, 120),
            flappy(Action::Resolve, 180),
            flappy(Action::Trigger, 240),
            flappy(Action::Resolve, 300),
            flappy(Action::Trigger, 360),
        ])
        .await
        .unwrap();
    assert!(matches!(out[0], IngestOutcome::Opened { .. }));
    let IngestOutcome::Opened { incident: second } = out[2] else {
        panic!("{out:?}")
    };
    // The fifth change in ten minutes is held; so is the seventh.
    assert!(matches!(out[4], IngestOutcome::Held { .. }), "{out:?}");
    assert!(matches!(out[6], IngestOutcome::Held { .. }), "{out:?}");
    assert_eq!(store.list_incidents(&incidents(10)).await.unwrap().len(), 2);
    let detail = store.get_incident(second).await.unwrap().unwrap();
    let held_line = detail
        .log
        .iter()
        .find(|l| l.kind == "alert.held")
        .expect("the reason is on the timeline");
    assert_eq!(
        held_line.data["reason"],
        "flapping: 5 changes in 10 minutes"
    );
    // Still firing when the window has passed: it pages after all. (The held alert that
    // resolved took its timer with it.)
    assert_eq!(finish_due(store, 960, release_effect).await, 1);
    let open = store
        .list_incidents(&IncidentQuery {
            statuses: vec![Status::Triggered],
            ..incidents(10)
        })
        .await
        .unwrap();
    assert_eq!(
        open.len(),
        1,
        "only the alert still firing opened an incident"
    );
    // Well after the flapping, a trigger opens an incident as usual.
    store
        .ingest(vec![flappy(Action::Resolve, 1000)])
        .await
        .unwrap();
    let out = store
        .ingest(vec![flappy(Action::Trigger, 5000)])
        .await
        .unwrap();
    assert!(matches!(out[0], IngestOutcome::Opened { .. }), "{out:?}");
}
