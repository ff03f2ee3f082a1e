//! On-call records the store keeps beside configured objects.

use domain::{Name, Timestamp};

use crate::{Result, WriteContext};

/// An override to record: `user` is on call on `schedule` from `start` to `end`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOverride {
    pub schedule: Name,
    pub user: Name,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The schedule's scope, for the audit row.
    pub scope: domain::AccessTarget,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OverrideRecord {
    pub id: i64,
    pub schedule: Name,
    pub user: Name,
    pub start: Timestamp,
    pub end: Timestamp,
    pub created_by: String,
    pub created_at: Timestamp,
}

crate::store_trait! {
    /// Schedule overrides made through the API (a schedule's layers are objects).
    pub trait OnCallStore as __oncall_store_methods {
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
    }
}
