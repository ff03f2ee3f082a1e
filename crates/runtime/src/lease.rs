//! Holding a named lease for work one node at a time should do: take it when free,
//! renew it every third of its time, and tell subscribers when it is held and when it
//! is lost, through a watch channel.

use std::sync::Arc;
use std::time::Duration;

use store::{Lease, Store};
use tokio::sync::watch;

use crate::clock::Clock;

/// Keeps trying to hold the lease `name` as `holder`. Subscribers see `Some(lease)` while
/// it is held and `None` once it is lost (or was never taken); the fence in the lease is
/// the one to do work under. A change of fence is a new tenure.
pub struct LeaseKeeper {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    name: String,
    holder: String,
    ttl: Duration,
    held: watch::Sender<Option<Lease>>,
}

impl LeaseKeeper {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        name: impl Into<String>,
        holder: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        LeaseKeeper {
            store,
            clock,
            name: name.into(),
            holder: holder.into(),
            ttl,
            held: watch::Sender::new(None),
        }
    }

    /// The lease as this node holds it (`None`: not held), changing when it is taken or
    /// lost.
    pub fn subscribe(&self) -> watch::Receiver<Option<Lease>> {
        self.held.subscribe()
    }

    /// One round: renews the lease if held, else tries to take it; returns what is held
    /// now. A renewal refused (another node took the lease, or it lapsed) reports the loss;
    /// the next round tries to take it again. When the store cannot be reached, a lease
    /// that has lapsed by now is reported lost all the same.
    pub async fn tick(&self) -> store::Result<Option<Lease>> {
        let now = self.clock.now();
        let current = self.held.borrow().clone();
        let next = match &current {
            Some(lease) => {
                self.store
                    .renew_lease(&self.name, &self.holder, lease.fence, now, self.ttl)
                    .await
            }
            None => {
                self.store
                    .acquire_lease(&self.name, &self.holder, now, self.ttl)
                    .await
            }
        };
        let next = match next {
            Ok(next) => next,
            Err(e) => {
                if current.as_ref().is_some_and(|l| l.expires_at <= now) {
                    self.publish(None);
                }
                return Err(e);
            }
        };
        if current.is_some() && next.is_none() {
            tracing::warn!(lease = %self.name, holder = %self.holder, "lease lost");
        }
        self.publish(next.clone());
        Ok(next)
    }

    /// Stores the lease held now; subscribers wake only when the tenure changes (taken,
    /// lost, or a new fence), not on every renewal.
    fn publish(&self, next: Option<Lease>) {
        self.held.send_if_modified(|held| {
            let changed = held.as_ref().map(|l| l.fence) != next.as_ref().map(|l| l.fence);
            *held = next;
            changed
        });
    }

    /// Ticks every third of the lease's time until `shutdown` turns true, then gives the
    /// lease up so another node can take it at once.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let every = (self.ttl / 3).max(Duration::from_millis(10));
        crate::workers::repeat(every, shutdown, "lease renewal", || self.tick()).await;
        let held = self.held.borrow().clone();
        if let Some(lease) = held {
            if let Err(e) = self
                .store
                .release_lease(&self.name, &self.holder, lease.fence)
                .await
            {
                tracing::warn!(error = %e, lease = %self.name, "lease not released; it lapses on its own");
            }
            self.publish(None);
        }
    }
}
