//! What an event does to the alert it names.
//!
//! Alerts are identified by `(service, dedup_key)`. Only an open alert (triggered or
//! acknowledged) takes events; once resolved, the same key opens a new alert. Every event
//! a sender may retry lands on a decision that is safe to repeat: a repeated trigger is
//! logged on the open alert and pages nobody, a repeated acknowledge or resolve changes
//! nothing.

use serde::{Deserialize, Serialize};

use crate::event::Action;

/// Where an alert, or an incident, stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Triggered,
    Acknowledged,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Triggered => "triggered",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Triggered, Status::Acknowledged, Status::Resolved]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

pub use domain::Urgency;

/// What is known of the latest alert with an event's dedup key on its service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertState {
    pub status: Status,
    /// The integration key the alert was opened with.
    pub routing_key: String,
}

/// What to do with an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Open a new alert.
    Open,
    /// Log the trigger on the open alert and count it; page nobody.
    Repeat,
    Acknowledge,
    Resolve,
    /// Accept the event (senders get their 2xx) and change nothing; the reason is kept
    /// for the integration's log.
    Ignore(&'static str),
}

/// Decides what `action`, sent with `routing_key`, does to the latest alert with its
/// dedup key (`None` when there has never been one).
pub fn decide(action: Action, routing_key: &str, latest: Option<&AlertState>) -> Decision {
    let open = latest.filter(|a| a.status != Status::Resolved);
    match (action, open) {
        (Action::Trigger, None) => Decision::Open,
        (Action::Trigger, Some(_)) => Decision::Repeat,
        (_, None) => Decision::Ignore("no open alert has this dedup key"),
        (_, Some(a)) if a.routing_key != routing_key => {
            Decision::Ignore("the open alert with this dedup key came through another integration")
        }
        (Action::Acknowledge, Some(a)) if a.status == Status::Acknowledged => {
            Decision::Ignore("the alert is already acknowledged")
        }
        (Action::Acknowledge, Some(_)) => Decision::Acknowledge,
        (Action::Resolve, Some(_)) => Decision::Resolve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Severity;

    fn state(status: Status) -> AlertState {
        AlertState {
            status,
            routing_key: "k1".into(),
        }
    }

    #[test]
    fn triggers_open_once_and_repeat_while_open() {
        assert_eq!(decide(Action::Trigger, "k1", None), Decision::Open);
        assert_eq!(
            decide(Action::Trigger, "k1", Some(&state(Status::Triggered))),
            Decision::Repeat
        );
        assert_eq!(
            decide(Action::Trigger, "k1", Some(&state(Status::Acknowledged))),
            Decision::Repeat
        );
        // After a resolve, the same key opens a new alert.
        assert_eq!(
            decide(Action::Trigger, "k1", Some(&state(Status::Resolved))),
            Decision::Open
        );
        // A trigger through another integration of the same service joins the open alert.
        assert_eq!(
            decide(Action::Trigger, "k2", Some(&state(Status::Triggered))),
            Decision::Repeat
        );
    }

    #[test]
    fn acknowledge_and_resolve_apply_only_to_an_open_alert_of_the_same_integration() {
        let triggered = state(Status::Triggered);
        let acked = state(Status::Acknowledged);
        let resolved = state(Status::Resolved);
        assert_eq!(
            decide(Action::Acknowledge, "k1", Some(&triggered)),
            Decision::Acknowledge
        );
        assert_eq!(
            decide(Action::Resolve, "k1", Some(&triggered)),
            Decision::Resolve
        );
        assert_eq!(
            decide(Action::Resolve, "k1", Some(&acked)),
            Decision::Resolve
        );
        for (action, latest) in [
            (Action::Acknowledge, None),
            (Action::Resolve, None),
            (Action::Acknowledge, Some(&resolved)),
            (Action::Resolve, Some(&resolved)),
            (Action::Acknowledge, Some(&acked)),
        ] {
            assert!(
                matches!(decide(action, "k1", latest), Decision::Ignore(_)),
                "{action} on {latest:?}"
            );
        }
        assert!(matches!(
            decide(Action::Resolve, "k2", Some(&triggered)),
            Decision::Ignore(_)
        ));
        assert!(matches!(
            decide(Action::Acknowledge, "k2", Some(&triggered)),
            Decision::Ignore(_)
        ));
    }

    #[test]
    fn retries_are_safe_to_repeat() {
        // A sender retrying each event: the second of each pair changes nothing new.
        let mut latest: Option<AlertState> = None;
        let mut log = Vec::new();
        for action in [
            Action::Trigger,
            Action::Trigger,
            Action::Acknowledge,
            Action::Acknowledge,
            Action::Resolve,
            Action::Resolve,
        ] {
            let d = decide(action, "k1", latest.as_ref());
            latest = match (&d, latest) {
                (Decision::Open, _) => Some(state(Status::Triggered)),
                (Decision::Acknowledge, _) => Some(state(Status::Acknowledged)),
                (Decision::Resolve, _) => Some(state(Status::Resolved)),
                (_, l) => l,
            };
            log.push(d);
        }
        assert_eq!(log[0], Decision::Open);
        assert_eq!(log[1], Decision::Repeat);
        assert_eq!(log[2], Decision::Acknowledge);
        assert!(matches!(log[3], Decision::Ignore(_)));
        assert_eq!(log[4], Decision::Resolve);
        assert!(matches!(log[5], Decision::Ignore(_)));
    }

    #[test]
    fn urgency_follows_severity_by_default() {
        assert_eq!(Urgency::from_severity(Severity::Critical), Urgency::High);
        assert_eq!(Urgency::from_severity(Severity::Error), Urgency::High);
        assert_eq!(Urgency::from_severity(Severity::Warning), Urgency::Low);
        assert_eq!(Urgency::from_severity(Severity::Info), Urgency::Low);
    }
}
