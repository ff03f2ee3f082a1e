//! The supervisor: a worker that panics is started again, with an ERROR line naming it
//! and `shinrai_worker_restarts_total`; shutdown signals every worker and waits for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use runtime::supervisor::Supervisor;
use runtime::workers::stopped;
use tokio::sync::mpsc;

/// Events logged, kept in memory as "LEVEL message".
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<String>>>);

struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", event.metadata().level(), message.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Logs {
    fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

#[tokio::test]
async fn a_worker_that_panics_is_restarted_with_a_log_line_and_a_metric() {
    // Both are this thread's own, and the test's runtime runs every task on this thread.
    let recorder = PrometheusBuilder::new().build_recorder();
    let scrape = recorder.handle();
    let _metrics = metrics::set_default_local_recorder(&recorder);
    let logs = Logs::default();
    let _logging = tracing::subscriber::set_default(logs.clone());

    let mut supervisor = Supervisor::with_backoff(Duration::ZERO);
    let starts = Arc::new(AtomicUsize::new(0));
    let (running, mut run) = mpsc::unbounded_channel();
    let (finished, mut finish) = mpsc::unbounded_channel();
    supervisor.spawn("flaky", move |mut stop| {
        let starts = starts.clone();
        let running = running.clone();
        let finished = finished.clone();
        async move {
            let n = starts.fetch_add(1, Ordering::SeqCst) + 1;
            if n == 1 {
                panic!("the first run breaks");
            }
            running.send(n).unwrap();
            stopped(&mut stop).await;
            finished.send(n).unwrap();
        }
    });

    assert_eq!(run.recv().await, Some(2), "started again after its panic");
    let log = logs.text();
    assert!(
        log.contains("ERROR") && log.contains("worker flaky panicked: the first run breaks"),
        "{log}"
    );
    let scraped = scrape.render();
    assert!(
        scraped.contains("shinrai_worker_restarts_total{worker=\"flaky\"} 1"),
        "{scraped}"
    );

    let late = supervisor.drain(Duration::from_secs(60)).await;
    assert!(late.is_empty(), "{late:?}");
    assert_eq!(finish.try_recv(), Ok(2), "shutdown let the worker finish");
}

#[tokio::test]
async fn shutdown_names_a_worker_that_does_not_stop_by_the_deadline() {
    let mut supervisor = Supervisor::new();
    let (running, mut run) = mpsc::unbounded_channel();
    supervisor.spawn("stubborn", move |_stop| {
        let running = running.clone();
        async move {
            running.send(()).unwrap();
            std::future::pending::<()>().await;
        }
    });
    run.recv().await.unwrap();
    assert_eq!(supervisor.names(), ["stubborn"]);
    let late = supervisor.drain(Duration::ZERO).await;
    assert_eq!(late, ["stubborn"]);
}
