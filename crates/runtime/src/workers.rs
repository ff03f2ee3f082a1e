//! Background workers. Each exposes `tick` — one round of work against the store — so
//! tests drive it step by step; `run` repeats the tick until shutdown.

use std::sync::Arc;
use std::time::Duration;

use store::Store;
use tokio::sync::watch;

use crate::clock::Clock;

/// Removes expired console sessions.
pub struct SessionSweeper {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl SessionSweeper {
    /// One round: deletes every session that expired by now; returns how many.
    pub async fn tick(&self) -> store::Result<u64> {
        self.store.delete_expired_sessions(self.clock.now()).await
    }

    /// Ticks every `every` until `shutdown` turns true.
    pub async fn run(self, every: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {
                    match self.tick().await {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!(removed = n, "expired sessions removed"),
                        Err(e) => tracing::warn!(error = %e, "session sweep failed; will retry"),
                    }
                }
                _ = stopped(&mut shutdown) => break,
            }
        }
    }
}

/// Completes once `shutdown` turns true (or its sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
