//! The metrics layer around the store (`runtime::instrumented`, forwarding through
//! `store::forward_store!`): each call is timed under its method's name, and a failed call
//! is counted under it too.

use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use runtime::{InstrumentedStore, ManualClock};
use store::{IncidentAction, StoreError, WriteContext};

/// Notes each metric a call registers, as `name op`.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn note(&self, key: &Key) {
        let op = key
            .labels()
            .find(|l| l.key() == "op")
            .map(|l| l.value().to_owned())
            .unwrap_or_default();
        self.0
            .lock()
            .expect("not poisoned")
            .push(format!("{} {op}", key.name()));
    }
}

impl Recorder for Seen {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.note(key);
        Counter::noop()
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.note(key);
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.note(key);
        Histogram::noop()
    }
}

#[test]
fn each_store_call_is_timed_under_its_method_and_a_failure_is_counted() {
    let seen = Seen::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let refused = metrics::with_local_recorder(&seen, || {
        rt.block_on(async {
            let store = test_support::sqlite_store().await;
            let clock = Arc::new(ManualClock::new(test_support::t0()));
            let store = InstrumentedStore::wrap(store.store.clone(), clock);
            assert_eq!(store.backend(), "sqlite");
            store.ping().await.expect("ping");
            assert!(store.list_timers().await.expect("timers").is_empty());
            let ctx = WriteContext {
                actor: "user:ann".into(),
                at: test_support::t0(),
            };
            store
                .act_on_incident(404, IncidentAction::Resolve, &ctx)
                .await
                .expect_err("no incident 404")
        })
    });
    assert!(
        matches!(refused, StoreError::NotFound { .. }),
        "{refused:?}"
    );
    let seen = seen.0.lock().expect("not poisoned").clone();
    assert_eq!(
        seen,
        [
            "shinrai_store_call_seconds ping",
            "shinrai_store_call_seconds list_timers",
            "shinrai_store_call_seconds act_on_incident",
            "shinrai_store_errors_total act_on_incident",
        ]
    );
}
