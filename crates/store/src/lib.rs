//! The storage contract: what every shinrai backend (SQLite, PostgreSQL) provides, and
//! [`conformance`], the stories every backend must pass.
//!
//! API boundary: nothing above this crate names a backend or writes SQL. Timestamps come
//! in as arguments (the store never reads the clock), so the same story runs the same
//! on every backend.
//!
//! Architecture invariant: every method that changes state returns only after the change
//! is durable (SQLite `synchronous=FULL`, or a PostgreSQL commit).

pub mod conformance;
mod incidents;
mod leases;
mod notify;
mod oncall;
mod records;

pub use incidents::*;
pub use leases::*;
pub use notify::*;
pub use oncall::*;
pub use records::*;

use async_trait::async_trait;
use domain::{Kind, Name, Timestamp};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {name} does not exist")]
    NotFound { kind: String, name: String },
    #[error("{kind} {name} already exists")]
    AlreadyExists { kind: String, name: String },
    #[error(
        "{kind} {name} was changed by someone else (version {actual}, expected {expected}); read it again and retry"
    )]
    VersionConflict {
        kind: String,
        name: String,
        expected: i64,
        actual: i64,
    },
    #[error("{from_kind} {from_name} refers to {to_kind} {to_name}, which does not exist")]
    MissingReference {
        from_kind: String,
        from_name: String,
        to_kind: String,
        to_name: String,
    },
    #[error("{by_kind} {by_name} refers to {kind} {name}; change it first")]
    StillReferenced {
        kind: String,
        name: String,
        by_kind: String,
        by_name: String,
    },
    #[error("the key is already used by {kind} {name}")]
    KeyInUse { kind: String, name: String },
    /// Each email address (compared as [`domain::catalog::email_key`]) belongs to one
    /// user: sign-in finds people by it.
    #[error("the email address {email} is already the email of User {user}")]
    EmailInUse { email: String, user: String },
    /// The change does not apply to the object as it is now (acknowledging a resolved
    /// incident).
    #[error("{0}")]
    Conflict(String),
    /// Another writer got there first (two nodes opening the same alert); retrying the
    /// same request is safe and will see their write.
    #[error("a concurrent write conflicted; retry: {0}")]
    Contention(String),
    /// A value that cannot be kept (a key with a NUL character), naming the field; see
    /// `domain::text`. Refused the same way on every backend.
    #[error("{0}")]
    Invalid(#[from] domain::text::TextError),
    #[error("the store cannot be reached: {0}")]
    Unavailable(String),
    #[error("the store holds data this build cannot read: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What [`Store::reseal_secrets`] does to each server secret: its name and stored value
/// in, the value to store out (or why it cannot be rewritten).
pub type Reseal<'a> = dyn Fn(&str, &str) -> std::result::Result<String, String> + Send + Sync + 'a;

/// The storage contract. Object-safe, so the server holds an `Arc<dyn Store>` and never
/// learns which backend it talks to.
#[async_trait]
pub trait Store: LeaseStore + ChangeStore + Send + Sync + 'static {
    /// Which backend this is (`sqlite` or `postgres`), for logs and `/metrics`.
    fn backend(&self) -> &'static str;

    /// Succeeds when the store answers a query and its migrations are applied.
    async fn ping(&self) -> Result<()>;

    // Configured objects.

    async fn get_object(&self, kind: Kind, name: &Name) -> Result<Option<ObjectRecord>>;

    /// One page of objects of a kind, ordered by name, after `query.after`.
    async fn list_objects(&self, kind: Kind, query: &ListQuery) -> Result<Vec<ObjectRecord>>;

    /// Every object of the given kinds: the snapshot that validation and plans compare
    /// against.
    async fn snapshot(&self, kinds: &[Kind]) -> Result<Vec<ObjectRecord>>;

    /// Applies every change in one transaction, with one audit row each, or none of
    /// them. References are checked once the whole batch is in place (so objects may
    /// name each other), and fail the batch when one would point at nothing. Returns the
    /// objects as stored (deleted ones as they were).
    async fn commit(&self, changes: Vec<Change>, ctx: &WriteContext) -> Result<Vec<ObjectRecord>>;

    /// The object a lookup key (an integration key) belongs to.
    async fn find_by_key(&self, key: &str) -> Result<Option<ObjectRecord>>;

    /// The user whose email is `email`, compared as [`domain::catalog::email_key`], with
    /// their password hash if one is set (one query, so that sign-in costs the same
    /// whoever asks). Each address belongs to at most one user: a commit that would give
    /// two users one address fails with [`StoreError::EmailInUse`].
    async fn user_by_email(&self, email: &str) -> Result<Option<(ObjectRecord, Option<String>)>>;

    // API tokens: only a hash of the secret is ever stored.

    async fn create_token(&self, token: NewToken, ctx: &WriteContext) -> Result<TokenRecord>;
    /// The live (not revoked, not expired at `now`) token with this secret hash.
    async fn find_token(&self, hash: &str, now: domain::Timestamp) -> Result<Option<TokenRecord>>;
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>>;
    async fn revoke_token(&self, name: &str, ctx: &WriteContext) -> Result<TokenRecord>;

    // Console sign-in.

    async fn set_password(&self, user: &Name, hash: &str, ctx: &WriteContext) -> Result<()>;
    async fn password_hash(&self, user: &Name) -> Result<Option<String>>;
    async fn create_session(&self, session: SessionRecord) -> Result<()>;
    async fn find_session(
        &self,
        hash: &str,
        now: domain::Timestamp,
    ) -> Result<Option<SessionRecord>>;
    async fn delete_session(&self, hash: &str) -> Result<()>;
    /// Removes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: domain::Timestamp) -> Result<u64>;

    // Sign-in throttling (failures per account and per client address, shared by nodes).

    /// Counts a sign-in attempt against every key, unless one of them must still wait
    /// ([`SigninClaim::Throttled`], nothing counted). The attempt counts as a failure until
    /// [`Store::signin_succeeded`] takes it back; each further failure past a key's free
    /// ones doubles the wait before its next attempt (see [`SigninPolicy`]).
    async fn claim_signin(
        &self,
        keys: &[ThrottleKey],
        policy: &SigninPolicy,
        now: Timestamp,
    ) -> Result<SigninClaim>;
    /// A claimed attempt succeeded: `forget` keys lose every failure (the account's),
    /// `undo` keys lose the one the claim counted (the client address's).
    async fn signin_succeeded(&self, forget: &[String], undo: &[String]) -> Result<()>;
    /// Forgets keys whose last failure was before `before` and that need no wait at
    /// `now`; returns how many.
    async fn forget_signin_failures(&self, before: Timestamp, now: Timestamp) -> Result<u64>;
    /// Appends one row to the audit log (for events that change no object, such as a
    /// failed sign-in).
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()>;

    // Alerts and incidents.

    /// Acts on every event in one transaction (group commit): opens, counts,
    /// acknowledges or resolves alerts and their incidents, writing each to the timeline.
    /// Events naming the same alert are applied in order.
    async fn ingest(&self, events: Vec<IngestEvent>) -> Result<Vec<IngestOutcome>>;
    /// The dedup keys of a group's open alerts on a service.
    async fn open_alerts_of_group(&self, service: &Name, group: &str) -> Result<Vec<String>>;
    async fn list_incidents(&self, query: &IncidentQuery) -> Result<Vec<IncidentRecord>>;
    /// How many incidents match `query`, ignoring its `before_id`, `offset` and `limit`.
    async fn count_incidents(&self, query: &IncidentQuery) -> Result<u64>;
    /// Records a change to a service (durably, before it returns).
    async fn record_change(&self, change: NewChange) -> Result<ChangeRecord>;
    /// A service's changes at or after `from` and before `to`, oldest first.
    async fn changes_between(
        &self,
        service: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ChangeRecord>>;
    async fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>>;
    async fn get_incident(&self, id: i64) -> Result<Option<IncidentDetail>>;
    /// A person acknowledges, resolves or notes an incident.
    async fn act_on_incident(
        &self,
        id: i64,
        action: IncidentAction,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord>;

    /// Merges incidents into `target`: their alerts move to it, each is resolved with a
    /// timeline line naming the target, and the target's timeline names each one. Only
    /// open incidents merge.
    async fn merge_incidents(
        &self,
        target: i64,
        sources: Vec<i64>,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord>;

    // Signed links.

    /// The server secret named `name`: `candidate` if none existed (it is stored then),
    /// else the one stored first, so every node agrees.
    async fn server_secret(&self, name: &str, candidate: &str, now: Timestamp) -> Result<String>;
    /// The fingerprint of the key the server secrets are sealed with, once one is set.
    async fn secret_key_fingerprint(&self) -> Result<Option<String>>;
    /// Rewrites every server secret's value through `rewrite(name, value)` and records
    /// `fingerprint` as the key they are sealed with, in one transaction, provided the
    /// recorded fingerprint is still `expected` (`None`: none recorded yet); `Conflict`
    /// otherwise (another node changed it first). A `rewrite` error fails the whole
    /// transaction as `Corrupt`. Returns how many values changed.
    async fn reseal_secrets(
        &self,
        expected: Option<&str>,
        fingerprint: &str,
        rewrite: &Reseal<'_>,
        now: Timestamp,
    ) -> Result<u64>;
    /// Marks a one-time nonce used (a signed link's, or a provider callback's identity);
    /// `false` when it already was.
    async fn use_link(&self, nonce: &str, now: Timestamp) -> Result<bool>;

    // The notification outbox.

    /// Claims up to `limit` due notifications of one channel (pending, lease free or
    /// expired), each with `owner`'s lease and a new fence.
    async fn claim_notifications(
        &self,
        channel: &str,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>>;
    /// Records an attempt's outcome, with a line on the incident's timeline, if the fence
    /// is still the claim's; `false` (nothing recorded) otherwise.
    async fn finish_notification(
        &self,
        id: i64,
        fence: i64,
        outcome: Delivery,
        now: Timestamp,
    ) -> Result<bool>;
    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<NotificationRecord>>;
    /// Per channel: how many notifications are due at `now` and not sent, and since when
    /// the oldest has been due (for `/metrics`).
    async fn outbox_backlog(&self, now: Timestamp) -> Result<Vec<(String, i64, Timestamp)>>;

    // Schedule overrides made through the API.

    /// Records an override, with an audit row.
    async fn add_override(&self, o: NewOverride, ctx: &WriteContext) -> Result<OverrideRecord>;
    /// A schedule's overrides that overlap `[from, to)`, oldest first (later ones win).
    async fn list_overrides(
        &self,
        schedule: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<OverrideRecord>>;
    /// Removes an override of a schedule, with an audit row.
    async fn delete_override(
        &self,
        schedule: &Name,
        id: i64,
        scope: &domain::AccessTarget,
        ctx: &WriteContext,
    ) -> Result<OverrideRecord>;

    // Timers (invariant: rows, claimed with fenced leases).

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

    // The audit log.

    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
}
