//! Waking workers when a commit on this node makes their work due, so that work is done
//! at once instead of on the next poll: the event writer wakes the timer worker after a
//! commit (a new incident's first escalation step is due now), and the timer worker wakes
//! the outbox's channel workers after an escalation step queued notifications. Polling
//! stays, as the safety net for work other nodes make due and for retries that come due
//! later.
//!
//! A wake-up is never lost: one that comes while its worker is busy is kept, and the
//! worker runs another round as soon as the current one ends.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;

/// The wake-ups of one node's workers. Cheap to clone; clones wake the same workers.
#[derive(Clone)]
pub struct Wake {
    timers: Arc<Notify>,
    channels: Arc<HashMap<&'static str, Arc<Notify>>>,
}

impl Default for Wake {
    fn default() -> Self {
        Wake {
            timers: Arc::new(Notify::new()),
            channels: Arc::new(
                crate::workers::CHANNELS
                    .iter()
                    .map(|c| (*c, Arc::new(Notify::new())))
                    .collect(),
            ),
        }
    }
}

impl Wake {
    /// What the timer worker waits on.
    pub fn timers(&self) -> Arc<Notify> {
        self.timers.clone()
    }

    /// What a channel's outbox worker waits on.
    pub fn channel(&self, channel: &str) -> Arc<Notify> {
        self.channels
            .get(channel)
            .cloned()
            .unwrap_or_else(|| Arc::new(Notify::new()))
    }

    /// A commit made a timer due: the timer worker runs a round now.
    pub fn timers_due(&self) {
        self.timers.notify_one();
    }

    /// A commit queued notifications: every channel's worker runs a round now.
    pub fn notifications_due(&self) {
        for n in self.channels.values() {
            n.notify_one();
        }
    }
}
