//! Group commit for incoming events: requests queue their event, one writer commits
//! whatever has queued in one transaction, and only then answers each request. A 2xx to a
//! sender therefore always means a durable commit, while a burst of events costs one
//! fsync instead of one each.
//!
//! A batch that fails while the store still answers is tried again event by event, so an
//! event the store refuses (a key it cannot keep) fails only its own sender; when the
//! store cannot be reached, every sender of the batch gets that error and retries.
//!
//! [`IngestWriter::tick`] is one round — wait for an event, take everything queued, commit,
//! answer — so tests can hold requests back and commit them in a single step.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use store::{IngestEvent, IngestOutcome, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// The most events one transaction takes.
pub const MAX_BATCH: usize = 512;
/// How often a batch that met a concurrent writer (another node) is retried.
const RETRIES: usize = 3;

struct Pending {
    event: IngestEvent,
    reply: oneshot::Sender<store::Result<IngestOutcome>>,
}

/// The handle requests submit through. Cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Pending>,
    queued: Arc<AtomicUsize>,
}

/// The one writer. Ends when every [`Ingest`] handle is gone and the queue is empty.
pub struct IngestWriter {
    rx: mpsc::Receiver<Pending>,
    store: Arc<dyn Store>,
    queued: Arc<AtomicUsize>,
    /// Woken after a commit that may have made work due.
    wake: Option<crate::wake::Wake>,
}

/// A queue for up to `capacity` waiting events, and its writer.
pub fn channel(store: Arc<dyn Store>, capacity: usize) -> (Ingest, IngestWriter) {
    let (tx, rx) = mpsc::channel(capacity);
    let queued = Arc::new(AtomicUsize::new(0));
    (
        Ingest {
            tx,
            queued: queued.clone(),
        },
        IngestWriter {
            rx,
            store,
            queued,
            wake: None,
        },
    )
}

impl Ingest {
    /// Queues an event and waits until it is committed (or failed).
    pub async fn submit(&self, event: IngestEvent) -> store::Result<IngestOutcome> {
        let mut outcomes = self.submit_all(vec![event]).await?;
        outcomes
            .pop()
            .ok_or_else(|| StoreError::Corrupt("the writer answered no outcome".into()))
    }

    /// Queues several events at once, so that they usually share a transaction, and
    /// waits for each. The first failure is returned.
    pub async fn submit_all(&self, events: Vec<IngestEvent>) -> store::Result<Vec<IngestOutcome>> {
        let mut answers = Vec::with_capacity(events.len());
        for event in events {
            let (reply, answer) = oneshot::channel();
            self.queued.fetch_add(1, Ordering::SeqCst);
            if self.tx.send(Pending { event, reply }).await.is_err() {
                self.queued.fetch_sub(1, Ordering::SeqCst);
                return Err(StoreError::Unavailable(
                    "the event writer has stopped".into(),
                ));
            }
            answers.push(answer);
        }
        let mut out = Vec::with_capacity(answers.len());
        for answer in answers {
            out.push(answer.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the event writer stopped before answering".into(),
                ))
            })?);
        }
        Ok(out)
    }

    /// Events waiting for the writer.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }
}

impl IngestWriter {
    /// The same writer, waking the timer and outbox workers after each commit that opened,
    /// changed or held an incident (its first escalation step, its announcements, its
    /// hold's end are due), so they run at once instead of on their next poll.
    pub fn waking(mut self, wake: crate::wake::Wake) -> Self {
        self.wake = Some(wake);
        self
    }

    /// One round: waits for an event, takes everything queued behind it (up to
    /// [`MAX_BATCH`]), commits it in one transaction and answers every request. Returns
    /// how many events the transaction held; 0 once every handle is gone.
    pub async fn tick(&mut self) -> usize {
        let Some(first) = self.rx.recv().await else {
            return 0;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        self.queued.fetch_sub(batch.len(), Ordering::SeqCst);
        let n = batch.len();
        let events: Vec<IngestEvent> = batch.iter().map(|p| p.event.clone()).collect();
        let results = match self.commit(events.clone()).await {
            Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
            Err(e) if n == 1 => vec![Err(e)],
            Err(e) if self.store.ping().await.is_ok() => {
                // The store answers, so the batch failed because of what is in it: one
                // event the store cannot take must not fail every sender that happened
                // to share its transaction. Each event is tried on its own.
                tracing::warn!(error = %e, events = n, "an event batch failed; trying its events one by one");
                let mut each = Vec::with_capacity(n);
                for event in events {
                    each.push(self.commit(vec![event]).await.and_then(|mut o| {
                        o.pop().ok_or_else(|| {
                            StoreError::Corrupt("the store answered no outcome".into())
                        })
                    }));
                }
                each
            }
            Err(e) => {
                tracing::warn!(error = %e, events = n, "an event batch failed; senders get an error and retry");
                let message = e.to_string();
                (0..n)
                    .map(|_| Err(StoreError::Unavailable(message.clone())))
                    .collect()
            }
        };
        metrics::histogram!("shinrai_ingest_batch_events").record(n as f64);
        let made_work = results.iter().any(|r| {
            matches!(
                r,
                Ok(IngestOutcome::Opened { .. }
                    | IngestOutcome::Joined { .. }
                    | IngestOutcome::Acknowledged { .. }
                    | IngestOutcome::Resolved { .. }
                    | IngestOutcome::Held { .. })
            )
        });
        if let (true, Some(wake)) = (made_work, &self.wake) {
            wake.timers_due();
            wake.notifications_due();
        }
        for (p, result) in batch.into_iter().zip(results) {
            let label = match &result {
                Ok(IngestOutcome::Opened { .. }) => "opened",
                Ok(IngestOutcome::Joined { .. }) => "joined",
                Ok(IngestOutcome::Repeated { .. }) => "repeated",
                Ok(IngestOutcome::Acknowledged { .. }) => "acknowledged",
                Ok(IngestOutcome::Resolved { .. }) => "resolved",
                Ok(IngestOutcome::Held { .. }) => "held",
                Ok(IngestOutcome::Ignored { .. }) => "ignored",
                Err(StoreError::Invalid(_)) => "refused",
                Err(_) => "failed",
            };
            metrics::counter!("shinrai_events_total", "outcome" => label).increment(1);
            let _ = p.reply.send(result);
        }
        n
    }

    /// Commits events in one transaction, running it again when it met a concurrent
    /// writer (another node committed the same alert first, which the next run sees).
    async fn commit(&self, events: Vec<IngestEvent>) -> store::Result<Vec<IngestOutcome>> {
        let mut result = self.store.ingest(events.clone()).await;
        for _ in 0..RETRIES {
            if !matches!(result, Err(StoreError::Contention(_))) {
                break;
            }
            result = self.store.ingest(events.clone()).await;
        }
        result
    }

    /// Ticks until every handle is gone and the queue is drained: a graceful shutdown
    /// answers every event it accepted.
    pub async fn run(mut self) {
        while self.tick().await > 0 {}
    }

    /// Runs under `supervisor` as the worker `ingest writer`. After a panic it starts
    /// again on the same queue: the events of the batch it was committing get an error
    /// (their senders retry), the rest wait for it.
    pub fn supervise(self, supervisor: &mut crate::supervisor::Supervisor) {
        let writer = Arc::new(tokio::sync::Mutex::new(self));
        supervisor.spawn("ingest writer", move |_shutdown| {
            let writer = writer.clone();
            async move {
                let mut writer = writer.lock().await;
                while writer.tick().await > 0 {}
            }
        });
    }
}
