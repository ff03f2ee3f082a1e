//! Timers, as the store keeps them: work due at an instant, claimed with fenced leases
//! so that two nodes never do it twice.

use domain::Timestamp;

use crate::{NewTimer, Result, TimerEffect, TimerRecord};

crate::store_trait! {
    /// Timers (invariant: rows, claimed with fenced leases): escalations, wake-ups, releases
    /// and heartbeats due at an instant.
    pub trait TimerStore as __timer_store_methods {
        /// Sets a timer, or moves the one of the same kind and subject (bumping its fence).
        async fn set_timer(&self, timer: NewTimer, now: Timestamp) -> Result<TimerRecord>;

        /// Claims up to `limit` timers due at `now` whose lease is free or expired: each gets
        /// `owner`'s lease until `lease_until` and a new fence. Two nodes never claim the same
        /// timer while a lease holds.
        async fn claim_timers(
            &self,
            now: Timestamp,
            owner: &str,
            lease_until: Timestamp,
            limit: u32,
        ) -> Result<Vec<TimerRecord>>;

        /// Removes a claimed timer and applies its effect in one transaction, if the fence is
        /// still the claim's; `false` (and nothing done) when the timer was moved or claimed
        /// again since.
        async fn finish_timer(
            &self,
            id: i64,
            fence: i64,
            effect: TimerEffect,
            now: Timestamp,
        ) -> Result<bool>;

        /// Every timer, soonest first (for tests and the CLI).
        async fn list_timers(&self) -> Result<Vec<TimerRecord>>;

        /// How many timers are due at `now`, claimed or not, and the oldest one's due time
        /// (for `/metrics`).
        async fn timer_backlog(&self, now: Timestamp) -> Result<(i64, Option<Timestamp>)>;
    }
}
