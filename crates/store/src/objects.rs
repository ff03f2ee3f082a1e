//! Configured objects and the audit log: the objects a file or the API manages, the
//! snapshot plans compare against, the one transaction that changes them, and the audit
//! rows every change writes.

use domain::{Kind, Name};

use crate::{
    AuditEntry, AuditQuery, Change, ListQuery, NewAuditEntry, ObjectRecord, Result, WriteContext,
};

crate::store_trait! {
    /// Configured objects (teams, users, services, schedules, policies, routers, maintenance
    /// windows) and the audit log.
    pub trait ObjectStore as __object_store_methods {
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

        /// Appends one row to the audit log (for events that change no object, such as a
        /// failed sign-in).
        async fn append_audit(&self, entry: NewAuditEntry) -> Result<()>;

        async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
    }
}
