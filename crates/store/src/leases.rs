//! Named leases and configuration generations: the plumbing for work one node at a time
//! should do, and for caches that must learn that configuration changed.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::Timestamp;

use crate::Result;

/// A named lease as stored: who holds it, until when, and its fencing token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    /// Grows by one each time the lease changes hands (or is taken again after it
    /// lapsed). Work done under a lease carries its fence, so that a holder that lost it
    /// (paused, cut off) is refused once another holds it.
    pub fence: i64,
    pub expires_at: Timestamp,
}

crate::store_trait! {
    /// Leases for work one node at a time should do (a shard of monitors, the SLO
    /// evaluator, a deploy lock per service). Atomic on every backend: two nodes never
    /// both hold one.
    pub trait LeaseStore as __lease_store_methods {
    /// Takes the lease `name` for `holder` until `now + ttl` if it is free, lapsed (its
    /// expiry at or before `now`) or released, with a new fence; or extends it, keeping
    /// its fence, when `holder` holds it still. `None` while another holds it.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        ttl: Duration,
    ) -> Result<Option<Lease>>;
    /// Extends the lease to `now + ttl` if `holder` still holds it with `fence` and it has
    /// not lapsed by `now`; `None` (nothing changed) once it was lost.
    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        fence: i64,
        now: Timestamp,
        ttl: Duration,
    ) -> Result<Option<Lease>>;
    /// Gives the lease up at once so another may take it; `false` when `holder` no longer
    /// held it with `fence`. The fence is kept, so the next holder's is higher.
    async fn release_lease(&self, name: &str, holder: &str, fence: i64) -> Result<bool>;
    /// The lease `name` if someone holds it at `now`.
    async fn get_lease(&self, name: &str, now: Timestamp) -> Result<Option<Lease>>;
}
}

/// Per kind of configured object (by its name, `Service`), a number that grows with
/// every commit that creates, changes or deletes an object of that kind. A kind never
/// written is absent.
pub type Generations = BTreeMap<String, i64>;

crate::store_trait! {
    /// How nodes learn that configuration changed: each reads the generations (one small
    /// row set) and compares them with what it saw last.
    pub trait ChangeStore as __change_store_methods {
    /// The generation of every kind written so far. A commit bumps each kind it touches
    /// once, in the same transaction, and no other.
    async fn generations(&self) -> Result<Generations>;
}
}
