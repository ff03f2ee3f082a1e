//! The storage contract: what every shinrai backend (SQLite, PostgreSQL) provides, and
//! [`conformance`], the stories every backend must pass.
//!
//! API boundary: nothing above this crate names a backend or writes SQL. Timestamps come
//! in as arguments (the store never reads the clock), so the same story runs the same
//! on every backend.
//!
//! Architecture invariant: every method that changes state returns only after the change
//! is durable (SQLite `synchronous=FULL`, or a PostgreSQL commit).

mod auth;
pub mod conformance;
pub mod contract;
mod incidents;
mod leases;
mod notify;
mod objects;
mod oncall;
mod records;
mod timers;

pub use auth::*;
pub use incidents::*;
pub use leases::*;
pub use notify::*;
pub use objects::*;
pub use oncall::*;
pub use records::*;
pub use timers::*;

/// The store traits, for callers that hold an `Arc<dyn Store>`: a method is callable where
/// its sub-trait is in scope.
pub mod prelude {
    pub use crate::{
        AuthStore, ChangeStore, IncidentStore, LeaseStore, ObjectStore, OnCallStore, OutboxStore,
        Store, TimerStore,
    };
}

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

/// What [`AuthStore::reseal_secrets`] does to each server secret: its name and stored value
/// in, the value to store out (or why it cannot be rewritten).
pub type Reseal<'a> = dyn Fn(&str, &str) -> std::result::Result<String, String> + Send + Sync + 'a;

crate::store_trait! {
    /// The storage contract: every capability's sub-trait, and what concerns the store as a
    /// whole. Object-safe, so the server holds an `Arc<dyn Store>` and never learns which
    /// backend it talks to; callers bring the sub-traits into scope with
    /// `use store::prelude::*`.
    pub trait Store:
        ObjectStore
        + AuthStore
        + IncidentStore
        + OutboxStore
        + OnCallStore
        + TimerStore
        + LeaseStore
        + ChangeStore
    as __store_methods {
        /// Which backend this is (`sqlite` or `postgres`), for logs and `/metrics`.
        fn backend(&self) -> &'static str;

        /// Succeeds when the store answers a query and its migrations are applied.
        async fn ping(&self) -> Result<()>;
    }
}
