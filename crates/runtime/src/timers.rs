//! The timer worker: claims due timers with a lease, works out what each one does, and
//! finishes it in the store, fenced, so that a timer acts once however many nodes run
//! and whenever one dies (ARCHITECTURE invariant: timers are rows, never only memory).

use std::sync::Arc;
use std::time::Duration;

use domain::{IntegrationType, Kind, Name, Timestamp};
use paging::{Action, AlertBody, Event, Severity};
use serde_json::json;
use store::{Store, TimerEffect, TimerRecord};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::events::{Maintenance, Target, heartbeat_key};
use crate::wake::Wake;

/// How many due timers one claim takes at most; a run claims again until none is due.
const BATCH: u32 = 100;

/// The future a timer handler returns.
pub type Effect<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = store::Result<TimerEffect>> + Send + 'a>>;

/// What a due timer of one kind does: given the worker (its store and clock), the timer
/// and now, the effect the store applies when it finishes the timer.
pub type Handler = for<'a> fn(&'a TimerWorker, &'a TimerRecord, Timestamp) -> Effect<'a>;

/// Timer kinds and their handlers. A kind of work due later is one handler and one line
/// in [`Handlers::builtin`].
pub struct Handlers(std::collections::HashMap<&'static str, Handler>);

impl Handlers {
    /// The kinds this build knows.
    pub fn builtin() -> Handlers {
        let mut h = Handlers(std::collections::HashMap::new());
        h.register(store::WAKE, |_, t, _| Box::pin(async move { Ok(wake(t)) }));
        h.register(store::RELEASE, |_, t, _| {
            Box::pin(async move { Ok(release(t)) })
        });
        h.register(store::HEARTBEAT, |w, t, now| {
            Box::pin(w.missed_heartbeat(t, now))
        });
        h.register(store::ESCALATE, |w, t, now| Box::pin(w.escalate(t, now)));
        h
    }

    /// Registers what timers of `kind` do; a second registration of a kind replaces the
    /// first.
    pub fn register(&mut self, kind: &'static str, handler: Handler) {
        self.0.insert(kind, handler);
    }

    /// The handler of `kind`.
    pub fn get(&self, kind: &str) -> Option<Handler> {
        self.0.get(kind).copied()
    }

    /// The kinds registered, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.0.keys().copied().collect();
        k.sort_unstable();
        k
    }
}

/// The handlers the timer worker uses.
pub static HANDLERS: std::sync::LazyLock<Handlers> = std::sync::LazyLock::new(Handlers::builtin);

/// An acknowledgement that timed out, or a snooze that ended: the incident triggers again.
fn wake(timer: &TimerRecord) -> TimerEffect {
    let d = &timer.data;
    match d["incident"].as_i64() {
        Some(incident) => TimerEffect::Wake {
            incident,
            reason: d["reason"].as_str().unwrap_or("a timer ran out").to_owned(),
        },
        None => TimerEffect::Drop,
    }
}

/// A held alert whose hold ended: its incident opens if it still fires.
fn release(timer: &TimerRecord) -> TimerEffect {
    let d = &timer.data;
    match d["alert"].as_i64() {
        Some(alert) => TimerEffect::Release {
            alert,
            reason: format!(
                "still firing when its hold ended ({})",
                d["reason"].as_str().unwrap_or("held")
            ),
            urgency: d["urgency"].as_str().and_then(domain::Urgency::parse),
        },
        None => TimerEffect::Drop,
    }
}

/// What one round did.
#[derive(Default)]
struct Round {
    acted: usize,
    /// Whether the claim was full: more may be due.
    full: bool,
    /// Whether an effect may have made another timer due now (an incident opened).
    more_timers: bool,
    /// The channels that have pages to send now.
    channels: std::collections::BTreeSet<String>,
}

#[derive(Clone)]
pub struct TimerWorker {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Names this node in leases (`host:pid:random`).
    pub owner: String,
    /// How long a claim holds before another node may take the timer over.
    pub lease: Duration,
}

impl TimerWorker {
    /// One round: claims every due timer (up to a batch) and finishes each; returns how
    /// many acted. A timer whose effect fails stays claimed until its lease runs out, then
    /// is tried again.
    pub async fn tick(&self) -> store::Result<usize> {
        Ok(self.round().await?.acted)
    }

    /// One round, and what it did: the channels its escalation steps queued pages for,
    /// and whether the claim was full (more may be due).
    async fn round(&self) -> store::Result<Round> {
        let now = self.clock.now();
        let lease_until = now
            .checked_add(jiff::SignedDuration::try_from(self.lease).unwrap_or_default())
            .unwrap_or(now);
        let due = self
            .store
            .claim_timers(now, &self.owner, lease_until, BATCH)
            .await?;
        let mut round = Round {
            full: due.len() >= BATCH as usize,
            ..Round::default()
        };
        for timer in due {
            let lag = now.duration_since(timer.due_at).as_secs_f64().max(0.0);
            metrics::histogram!("shinrai_timer_lag_seconds", "kind" => timer.kind.clone())
                .record(lag);
            let effect = self.effect(&timer, now).await?;
            let queues: Vec<String> = match &effect {
                TimerEffect::Escalate(step) => step
                    .notifications
                    .iter()
                    .map(|n| n.channel.clone())
                    .collect(),
                // Opens or wakes an incident: its announcements and its first step.
                TimerEffect::Ingest(_) | TimerEffect::Wake { .. } | TimerEffect::Release { .. } => {
                    round.more_timers = true;
                    crate::workers::CHANNELS
                        .iter()
                        .map(|c| (*c).to_owned())
                        .collect()
                }
                TimerEffect::Drop => Vec::new(),
            };
            let done = self
                .store
                .finish_timer(timer.id, timer.fence, effect, now)
                .await?;
            if done {
                round.acted += 1;
                round.channels.extend(queues);
                metrics::counter!("shinrai_timers_fired_total", "kind" => timer.kind.clone())
                    .increment(1);
            } else {
                tracing::debug!(timer = timer.id, kind = %timer.kind, "timer moved or taken over since the claim; left alone");
            }
        }
        Ok(round)
    }

    /// What a due timer does now: its kind's handler says, and a kind without one is
    /// dropped.
    async fn effect(&self, timer: &TimerRecord, now: Timestamp) -> store::Result<TimerEffect> {
        match HANDLERS.get(timer.kind.as_str()) {
            Some(handler) => handler(self, timer, now).await,
            None => {
                tracing::warn!(
                    kind = %timer.kind,
                    "a timer of a kind this build does not know; dropped"
                );
                Ok(TimerEffect::Drop)
            }
        }
    }

    /// The step a triggered incident's escalation takes now.
    async fn escalate(&self, timer: &TimerRecord, now: Timestamp) -> store::Result<TimerEffect> {
        let d = &timer.data;
        let Some(incident) = d["incident"].as_i64() else {
            return Ok(TimerEffect::Drop);
        };
        let Some(detail) = self.store.get_incident(incident).await? else {
            return Ok(TimerEffect::Drop);
        };
        if detail.incident.status != paging::Status::Triggered {
            return Ok(TimerEffect::Drop);
        }
        let from = oncall::escalation::Step {
            round: d["round"].as_u64().unwrap_or(0) as u32,
            level: d["level"].as_u64().unwrap_or(0) as usize,
        };
        // A reassignment names the people to page, policy or not.
        if let Some(page) = d["page"].as_array() {
            let people: Vec<Name> = page
                .iter()
                .filter_map(|p| p.as_str().and_then(|p| Name::new(p).ok()))
                .collect();
            // People are paged by name: no schedule needs rendering.
            let dir =
                crate::oncall::StoreDirectory::load_for(self.store.as_ref(), now, &[]).await?;
            let step = crate::oncall::reassigned_step(
                incident,
                detail.incident.urgency,
                detail.incident.escalation.as_ref().map(|e| &e.spec),
                from,
                people,
                now,
                &dir,
            );
            return Ok(TimerEffect::Escalate(Box::new(step)));
        }
        let Some(escalation) = detail.incident.escalation else {
            return Ok(TimerEffect::Drop);
        };
        let advance = d["advance"].as_bool().unwrap_or(false);
        // Only the schedules the policy pages are rendered.
        let schedules = serde_json::from_value::<oncall::escalation::EscalationPolicySpec>(
            escalation.spec.clone(),
        )
        .map(|p| p.schedules())
        .unwrap_or_default();
        let dir =
            crate::oncall::StoreDirectory::load_for(self.store.as_ref(), now, &schedules).await?;
        Ok(
            match crate::oncall::escalation_step(
                incident,
                detail.incident.urgency,
                &escalation.spec,
                from,
                advance,
                now,
                &dir,
            ) {
                Some(step) => TimerEffect::Escalate(Box::new(step)),
                None => TimerEffect::Drop,
            },
        )
    }

    /// A heartbeat that missed its deadline opens its alert, shaped by its service like
    /// any other event; a heartbeat removed from its service since is dropped.
    async fn missed_heartbeat(
        &self,
        timer: &TimerRecord,
        now: Timestamp,
    ) -> store::Result<TimerEffect> {
        let names = (
            timer.data["service"]
                .as_str()
                .and_then(|s| Name::new(s).ok()),
            timer.data["integration"]
                .as_str()
                .and_then(|s| Name::new(s).ok()),
        );
        let (Some(service), Some(integration)) = names else {
            return Ok(TimerEffect::Drop);
        };
        let Some(record) = self.store.get_object(Kind::Service, &service).await? else {
            return Ok(TimerEffect::Drop);
        };
        let target = Target::new(&record, integration.clone());
        let Some(declared) = target
            .declaration()
            .filter(|i| i.kind == IntegrationType::Heartbeat)
            .cloned()
        else {
            return Ok(TimerEffect::Drop);
        };
        let key = record.status["integrations"][integration.as_str()]["key"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let minutes = declared
            .heartbeat_deadline()
            .map_or(0, |d| d.as_secs() / 60);
        let event = Event {
            routing_key: key,
            action: Action::Trigger,
            dedup_key: None,
            body: Some(AlertBody {
                summary: format!("No heartbeat from {service}/{integration} for {minutes} minutes"),
                source: "shinrai".into(),
                severity: Severity::Critical,
                timestamp: Some(timer.due_at),
                component: None,
                group: None,
                class: Some("heartbeat".into()),
                details: json!({
                    "interval_minutes": declared.interval_minutes,
                    "grace_minutes": declared.grace_minutes.unwrap_or(1),
                    "deadline": timer.due_at.to_string(),
                }),
                links: Vec::new(),
                images: Vec::new(),
                client: None,
                client_url: None,
            }),
            group: None,
        };
        let windows = Maintenance::all(&self.store.snapshot(&[Kind::MaintenanceWindow]).await?);
        let mut shaped = target.shape(event, heartbeat_key(&integration), now, &windows);
        shaped.actor = Some("shinrai".into());
        Ok(TimerEffect::Ingest(Box::new(shaped)))
    }

    /// Ticks every `every` until `shutdown` turns true.
    pub async fn run(self, every: Duration, shutdown: watch::Receiver<bool>) {
        self.run_waking(every, Wake::default(), shutdown).await;
    }

    /// Runs due timers every `every`, and at once when `wake` says a commit made one due,
    /// until `shutdown` turns true. Each run claims until nothing due is left, and wakes
    /// the channels whose pages it queued.
    pub async fn run_waking(self, every: Duration, wake: Wake, shutdown: watch::Receiver<bool>) {
        let me = wake.timers();
        crate::workers::repeat_or_woken(every, Some(me), shutdown, "running due timers", || {
            self.until_done(&wake)
        })
        .await;
    }

    /// Rounds until a claim finds fewer than a batch due, waking channels as it goes.
    async fn until_done(&self, wake: &Wake) -> store::Result<usize> {
        let mut acted = 0;
        loop {
            let round = self.round().await?;
            acted += round.acted;
            for channel in &round.channels {
                wake.channel(channel).notify_one();
            }
            if !(round.full || round.more_timers && round.acted > 0) {
                return Ok(acted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_the_store_sets_has_a_handler() {
        assert_eq!(
            Handlers::builtin().kinds(),
            [
                store::RELEASE,
                store::HEARTBEAT,
                store::ESCALATE,
                store::WAKE
            ]
        );
    }
}
