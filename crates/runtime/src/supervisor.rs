//! The one place background work starts. Each worker is registered by name with a
//! factory that makes its future; the supervisor starts it, restarts it when it panics
//! (after a backoff, with an ERROR log line naming the worker and the panic, and
//! `shinrai_worker_restarts_total{worker}`), and on shutdown signals every worker and waits
//! for them to finish, up to a deadline.
//!
//! A worker's future ends on its own when its work is done (the event writer once every
//! handle is gone) or when the shutdown signal it was given turns true; either way it is
//! not started again. Only a panic restarts it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The first wait before a panicked worker starts again; it doubles with each panic in a
/// row, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait before a panicked worker starts again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Starts, restarts and drains the background workers.
pub struct Supervisor {
    stop_tx: Arc<watch::Sender<bool>>,
    stop_rx: watch::Receiver<bool>,
    workers: Vec<(String, JoinHandle<()>)>,
    first_backoff: Duration,
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        let (stop_tx, stop_rx) = watch::channel(false);
        Supervisor {
            stop_tx: Arc::new(stop_tx),
            stop_rx,
            workers: Vec::new(),
            first_backoff: FIRST_BACKOFF,
        }
    }

    /// The same, waiting `first` (doubling) before restarting a panicked worker.
    pub fn with_backoff(first: Duration) -> Self {
        Supervisor {
            first_backoff: first,
            ..Supervisor::new()
        }
    }

    /// The shutdown signal: turns true when [`Supervisor::stop`] is called.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.stop_rx.clone()
    }

    /// Starts a worker now. `factory` makes its future, given the shutdown signal; it is
    /// called again after each panic. Call within a tokio runtime.
    pub fn spawn<F, Fut>(&mut self, name: impl Into<String>, mut factory: F)
    where
        F: FnMut(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let name = name.into();
        let stop = self.stop_rx.clone();
        let first = self.first_backoff;
        let worker = name.clone();
        let handle = tokio::spawn(async move {
            let mut backoff = first;
            loop {
                let started = tokio::time::Instant::now();
                let run = tokio::spawn(factory(stop.clone()));
                let error = match run.await {
                    Ok(()) => return,
                    Err(e) if e.is_panic() => panic_message(e.into_panic()),
                    // Cancelled: the runtime is going away.
                    Err(_) => return,
                };
                // A worker that ran well for a while starts again soon.
                if started.elapsed() > MAX_BACKOFF * 2 {
                    backoff = first;
                }
                metrics::counter!("shinrai_worker_restarts_total", "worker" => worker.clone())
                    .increment(1);
                tracing::error!(
                    worker = %worker,
                    panic = %error,
                    restart_in_ms = backoff.as_millis() as u64,
                    "worker {worker} panicked: {error}; restarting it"
                );
                let mut stopping = stop.clone();
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = crate::workers::stopped(&mut stopping) => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        });
        self.workers.push((name, handle));
    }

    /// The names of the registered workers, in the order they were started.
    pub fn names(&self) -> Vec<&str> {
        self.workers.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Signals every worker to stop.
    pub fn stop(&self) {
        let _ = self.stop_tx.send(true);
    }

    /// Something that signals every worker to stop, for a task apart (the signal
    /// handler) while the supervisor itself waits to drain.
    pub fn stopper(&self) -> impl FnOnce() + Send + 'static {
        let tx = self.stop_tx.clone();
        move || {
            let _ = tx.send(true);
        }
    }

    /// Signals every worker to stop and waits for them, at most `deadline` in all. Returns
    /// the names of the workers still running at the deadline (each logged), which are
    /// then abandoned.
    pub async fn drain(self, deadline: Duration) -> Vec<String> {
        self.stop();
        let until = tokio::time::Instant::now() + deadline;
        let mut late = Vec::new();
        for (name, mut handle) in self.workers {
            if tokio::time::timeout_at(until, &mut handle).await.is_err() {
                tracing::warn!(worker = %name, "worker {name} did not stop within {deadline:?}; abandoned");
                handle.abort();
                late.push(name);
            }
        }
        late
    }
}

/// The text a panic was raised with.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
