//! Background workers. Each exposes `tick` — one round of work against the store — so
//! tests drive it step by step; `run` repeats the tick until shutdown.

use std::sync::Arc;
use std::time::Duration;

use store::Store;
use tokio::sync::{Notify, watch};

use crate::clock::Clock;

/// Removes expired console sessions, and sign-in failures old enough to be forgotten.
#[derive(Clone)]
pub struct SessionSweeper {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl SessionSweeper {
    /// One round: deletes every session that expired by now, and every sign-in
    /// throttle whose failures no longer count; returns how many sessions went.
    pub async fn tick(&self) -> store::Result<u64> {
        let now = self.clock.now();
        let forget = jiff::SignedDuration::try_from(store::SigninPolicy::default().forget)
            .unwrap_or(jiff::SignedDuration::from_hours(1));
        let before = now.checked_sub(forget).unwrap_or(now);
        self.store.forget_signin_failures(before, now).await?;
        self.store.delete_expired_sessions(now).await
    }

    /// Ticks every `every` until `shutdown` turns true.
    pub async fn run(self, every: Duration, shutdown: watch::Receiver<bool>) {
        repeat(every, shutdown, "session sweep", || async {
            let n = self.tick().await?;
            if n > 0 {
                tracing::debug!(removed = n, "expired sessions removed");
            }
            Ok(())
        })
        .await;
    }
}

/// Runs `round` every `every` until `shutdown` turns true. A round that fails is logged,
/// with `what` naming the work, and the next tick tries again.
pub async fn repeat<T, F, Fut>(
    every: Duration,
    shutdown: watch::Receiver<bool>,
    what: &str,
    round: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = store::Result<T>>,
{
    repeat_or_woken(every, None, shutdown, what, round).await;
}

/// Runs `round` every `every`, and at once whenever `wake` is notified (a commit on this
/// node made work due), until `shutdown` turns true. A round that fails is logged, with
/// `what` naming the work, and the next tick tries again.
pub async fn repeat_or_woken<T, F, Fut>(
    every: Duration,
    wake: Option<Arc<Notify>>,
    mut shutdown: watch::Receiver<bool>,
    what: &str,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = store::Result<T>>,
{
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let woken = async |wake: &Option<Arc<Notify>>| match wake {
        Some(w) => w.notified().await,
        None => std::future::pending().await,
    };
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = woken(&wake) => {}
            _ = stopped(&mut shutdown) => break,
        }
        if let Err(e) = round().await {
            tracing::warn!(error = %e, "{what} failed; will retry");
        }
    }
}

/// Completes once `shutdown` turns true (or its sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// The pager watching itself: samples what `/metrics` shows about work waiting (the
/// outbox per channel, due timers; [`Backlog`] keeps them current between its rounds),
/// and pings an outside heartbeat URL so that shinrai's
/// own death pages someone elsewhere.
#[derive(Clone)]
pub struct SelfWatch {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Pinged (GET) every round when set: a dead-man's switch elsewhere
    /// (healthchecks.io, another shinrai's heartbeat integration).
    pub heartbeat_url: Option<String>,
    pub http: reqwest::Client,
}

/// Keeps the gauges of work waiting current: the outbox's depth and oldest undelivered
/// row per channel, and the due timers. Run every second, so `/metrics` shows a backlog as
/// it builds rather than a minute later.
#[derive(Clone)]
pub struct Backlog {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Backlog {
    /// One round: reads the backlog and sets the gauges.
    pub async fn tick(&self) -> store::Result<()> {
        let now = self.clock.now();
        let backlog = self.store.outbox_backlog(now).await?;
        for channel in CHANNELS {
            let (depth, oldest) = backlog
                .iter()
                .find(|(c, _, _)| c == channel)
                .map_or((0, 0.0), |(_, n, oldest)| {
                    (*n, now.duration_since(*oldest).as_secs_f64().max(0.0))
                });
            metrics::gauge!("shinrai_outbox_depth", "channel" => channel).set(depth as f64);
            metrics::gauge!("shinrai_outbox_oldest_undelivered_seconds", "channel" => channel)
                .set(oldest);
        }
        let (due, oldest) = self.store.timer_backlog(now).await?;
        let lag = oldest.map_or(0.0, |t| now.duration_since(t).as_secs_f64().max(0.0));
        metrics::gauge!("shinrai_timers_due").set(due as f64);
        metrics::gauge!("shinrai_timer_oldest_due_seconds").set(lag);
        Ok(())
    }

    /// Ticks every `every` until `shutdown` turns true.
    pub async fn run(self, every: Duration, shutdown: watch::Receiver<bool>) {
        repeat(every, shutdown, "reading the backlog", || self.tick()).await;
    }
}

/// The channels the outbox knows, so that an empty one shows 0, not nothing.
pub const CHANNELS: [&str; 6] = ["email", "sms", "voice", "slack", "push", "webhook"];

impl SelfWatch {
    /// One round: sets the gauges, then pings the heartbeat URL; `false` when the ping
    /// failed.
    pub async fn tick(&self) -> store::Result<bool> {
        Backlog {
            store: self.store.clone(),
            clock: self.clock.clone(),
        }
        .tick()
        .await?;
        let Some(url) = &self.heartbeat_url else {
            return Ok(true);
        };
        let ok = match self.http.get(url).send().await {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                tracing::warn!(status = %r.status(), "the outside heartbeat did not take the ping");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "the outside heartbeat cannot be reached");
                false
            }
        };
        metrics::counter!("shinrai_heartbeat_pings_total", "outcome" => if ok { "ok" } else { "failed" })
            .increment(1);
        Ok(ok)
    }

    /// Ticks every `every` until `shutdown` turns true.
    pub async fn run(self, every: Duration, shutdown: watch::Receiver<bool>) {
        repeat(every, shutdown, "self-watch round", || self.tick()).await;
    }
}
