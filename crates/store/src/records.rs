//! The rows the store contract speaks in.

use domain::{AccessTarget, Kind, Labels, Name, Selector, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An object's identity: its kind and name.
pub type ObjectKey = (Kind, Name);

/// A configured object as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectRecord {
    pub kind: Kind,
    pub name: Name,
    pub labels: Labels,
    /// The declared state: what configuration files and API writes set.
    pub spec: Value,
    /// Values shinrai generates (integration keys, ids). Never part of a plan.
    pub status: Value,
    /// The configuration file that owns this object, when it is managed by files.
    pub source: Option<String>,
    /// Raised by one on every change; writes may name the version they expect.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The declared part of an object: what a change writes.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectDraft {
    pub kind: Kind,
    pub name: Name,
    pub labels: Labels,
    pub spec: Value,
    /// The owning file, or `None` for objects created through the API.
    pub source: Option<String>,
    /// The objects this one names. The store keeps references whole: a commit that would
    /// leave one pointing at nothing fails as a whole.
    pub references: Vec<ObjectKey>,
    /// The values shinrai generated for it (integration keys): `None` keeps what is
    /// stored (`{}` for a new object).
    pub status: Option<Value>,
    /// Keys that find this object with [`ObjectStore::find_by_key`](crate::ObjectStore::find_by_key),
    /// unique across all objects.
    pub lookup_keys: Vec<String>,
}

/// One change to a configured object.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Create {
        draft: ObjectDraft,
        /// The company and teams the object belongs to; its audit row is scoped by them.
        scope: AccessTarget,
    },
    Update {
        draft: ObjectDraft,
        /// When set, the update fails unless the stored version is this one.
        expected_version: Option<i64>,
        scope: AccessTarget,
    },
    Delete {
        kind: Kind,
        name: Name,
        expected_version: Option<i64>,
        scope: AccessTarget,
    },
}

impl Change {
    pub fn kind(&self) -> Kind {
        match self {
            Change::Create { draft, .. } | Change::Update { draft, .. } => draft.kind,
            Change::Delete { kind, .. } => *kind,
        }
    }

    pub fn name(&self) -> &Name {
        match self {
            Change::Create { draft, .. } | Change::Update { draft, .. } => &draft.name,
            Change::Delete { name, .. } => name,
        }
    }
}

/// Who writes, when and why. Every write records it in the audit log.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteContext {
    /// The acting subject, as `user:ann`, `token:ci` or `system`.
    pub actor: String,
    pub at: Timestamp,
}

/// A page request.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Return objects whose name sorts after this one.
    pub after: Option<Name>,
    /// At most this many; the store caps it at 1000.
    pub limit: u32,
    pub selector: Selector,
}

/// A new API token. `hash` is the SHA-256 of the secret; the secret itself is shown
/// once to whoever created it and never stored.
#[derive(Clone, Debug, PartialEq)]
pub struct NewToken {
    pub name: String,
    pub hash: String,
    pub grants: Vec<domain::Grant>,
    pub user: Option<Name>,
    pub expires_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TokenRecord {
    pub name: String,
    pub hash: String,
    pub grants: Vec<domain::Grant>,
    pub user: Option<Name>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A console session. `hash` is the SHA-256 of the cookie's secret.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    pub hash: String,
    pub user: Name,
    /// The token forms must carry to prove they came from shinrai's own pages.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// One row of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    /// `create`, `update`, `delete`, `token.create`, `token.revoke`, `password.set`,
    /// `signin.failed`.
    pub action: String,
    pub kind: String,
    pub name: String,
    pub scope: AccessTarget,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// An audit row for an event that changes no object (a failed sign-in).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub kind: String,
    pub name: String,
    pub scope: AccessTarget,
    pub detail: Option<serde_json::Value>,
}

/// A key sign-in attempts are counted against (an account, a client address), with the
/// failures it may have before it must wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleKey {
    pub key: String,
    pub free: u32,
}

/// How failed sign-ins slow the next ones: past a key's free failures, the next attempt
/// waits `base`, doubling with each further failure up to `max`. Failures older than
/// `forget` no longer count, so no key is ever locked for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigninPolicy {
    pub base: std::time::Duration,
    pub max: std::time::Duration,
    pub forget: std::time::Duration,
}

impl Default for SigninPolicy {
    fn default() -> Self {
        SigninPolicy {
            base: std::time::Duration::from_secs(1),
            max: std::time::Duration::from_secs(15 * 60),
            forget: std::time::Duration::from_secs(3600),
        }
    }
}

impl SigninPolicy {
    /// How long a key with `failures` (of which `free` cost nothing) waits before its next
    /// attempt.
    pub fn wait(&self, failures: u32, free: u32) -> std::time::Duration {
        if failures < free {
            return std::time::Duration::ZERO;
        }
        let doublings = (failures - free).min(30);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }
}

/// Whether a sign-in attempt may go ahead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigninClaim {
    /// Counted; the failures each key has now (this attempt included), in the order of
    /// the keys.
    Allowed { failures: Vec<u32> },
    /// A key must wait this long first; nothing was counted.
    Throttled { retry_after: std::time::Duration },
}

/// Which audit rows to read: newest first, before the row `before_id`.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// The JSON form of an object in the audit log's `before` and `after` columns.
pub fn audit_json(labels: &Labels, spec: &Value, source: Option<&str>) -> Value {
    serde_json::json!({ "labels": labels, "spec": spec, "source": source })
}
