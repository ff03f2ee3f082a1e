//! The change feed: each node reads the store's generations (a number per kind of
//! configured object, bumped by every commit) and publishes them on a watch channel when
//! they move, so caches drop what changed elsewhere instead of trusting it for a fixed
//! time.

use std::sync::Arc;
use std::time::Duration;

use store::{Generations, Store};
use tokio::sync::watch;

/// How often a node reads the generations: a change made through another node (or a
/// command on the store) reaches this one within it.
pub const EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct ChangeFeed {
    store: Arc<dyn Store>,
    generations: watch::Sender<Generations>,
}

impl ChangeFeed {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ChangeFeed {
            store,
            generations: watch::Sender::new(Generations::new()),
        }
    }

    /// The generations as last read; `changed()` wakes when a kind's moves. Compare a
    /// kind's generation with the one a cache was filled at.
    pub fn subscribe(&self) -> watch::Receiver<Generations> {
        self.generations.subscribe()
    }

    /// One round: reads the generations and publishes them if any moved; `true` then.
    pub async fn tick(&self) -> store::Result<bool> {
        let now = self.store.generations().await?;
        Ok(self.generations.send_if_modified(|seen| {
            let moved = *seen != now;
            *seen = now;
            moved
        }))
    }

    /// Ticks every `every` until `shutdown` turns true.
    pub async fn run(self, every: Duration, shutdown: watch::Receiver<bool>) {
        crate::workers::repeat(every, shutdown, "change feed", || self.tick()).await;
    }
}
