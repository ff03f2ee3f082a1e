//! On-call records the store keeps beside configured objects.

use domain::{Name, Timestamp};

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
