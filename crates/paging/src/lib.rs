//! The paging core: what senders say (PagerDuty Events v2 and v1 today), translated into
//! one [`Event`] shape, and what an event does to the alert it names ([`decide`]).
//!
//! Architecture invariant: no I/O, no clock, no randomness. Time arrives as `now`; a
//! trigger without a dedup key is given one by the caller (the driver draws it from
//! `runtime::entropy`), so every decision here is reproducible in a test.

pub mod alert;
pub mod alertmanager;
pub mod analytics;
pub mod datadog;
pub mod event;
pub mod generic;
pub mod pagerduty;
pub mod sentry;
pub mod timeline;

pub use alert::{AlertState, Decision, Status, Urgency, decide};
pub use event::{Action, AlertBody, Event, Image, Link, Severity};
