//! The notification outbox, as the store keeps it.

use domain::{Name, Timestamp};

use crate::Result;

/// A notification to queue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewNotification {
    pub user: Name,
    /// `email`, `sms`, `voice`, `slack`, `push` or `webhook`.
    pub channel: String,
    /// The contact method's name.
    pub contact: String,
    pub address: String,
    /// What happened: `triggered` (a page).
    pub event: String,
    /// Stable across retries, unique: receivers deduplicate on it.
    pub delivery_id: String,
    pub due_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NotificationRecord {
    pub id: i64,
    pub incident_id: i64,
    pub user: Name,
    pub channel: String,
    pub contact: String,
    pub address: String,
    pub event: String,
    pub delivery_id: String,
    /// `pending`, `sent`, `dead` or `cancelled`.
    pub status: String,
    pub due_at: Timestamp,
    pub attempts: i64,
    pub fence: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// How an attempt went.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivery {
    /// The provider took it; its answer (a message id) for the timeline.
    Sent { answer: String },
    /// Try again at `at` (backoff, or the provider's `Retry-After`).
    Retry { error: String, at: Timestamp },
    /// Give up: a permanent refusal, or too many attempts. A dead letter.
    Dead { error: String },
}

/// Which notifications to list: newest first.
#[derive(Clone, Debug, Default)]
pub struct NotificationQuery {
    pub incident: Option<i64>,
    /// Only notifications to this person.
    pub user: Option<Name>,
    /// Only these statuses (all when empty).
    pub statuses: Vec<String>,
    /// Only notifications about incidents of these services (all when `None`).
    pub services: Option<Vec<Name>>,
    /// Only notifications about these incidents (all when `None`).
    pub incidents: Option<Vec<i64>>,
    /// Only notifications older than this one (by id): the next page after it.
    pub before_id: Option<i64>,
    pub limit: u32,
}

crate::store_trait! {
    /// The notification outbox: pages waiting for their channel, claimed with fenced leases.
    pub trait OutboxStore as __outbox_store_methods {
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
    }
}
