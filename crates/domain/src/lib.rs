//! The entities every shinrai capability shares: names, labels and selectors, roles and
//! access scopes, and the catalog (teams, users, services).
//!
//! Architecture invariant: this crate does no I/O and never reads the clock, the
//! environment or a random source. Time and randomness reach it as arguments; that is
//! what lets every rule built on it be tested to the second.

pub mod access;
pub mod catalog;
pub mod civil;
pub mod contact;
pub mod hours;
pub mod labels;
pub mod mac;
pub mod maintenance;
pub mod name;
pub mod recurrence;
pub mod routing;
pub mod severity;
pub mod text;

pub use access::{AccessTarget, Grant, Principal, Role, Scope, Subject};
pub use catalog::{Integration, IntegrationType, Kind, ServiceSpec, TeamSpec, UserSpec};
pub use labels::{Labels, Selector};
pub use maintenance::MaintenanceWindowSpec;
pub use name::Name;
pub use routing::RouterSpec;
pub use severity::{Severity, Urgency};

/// Instants are `jiff` timestamps everywhere in shinrai; they cross the store as
/// microseconds since the Unix epoch.
pub use jiff::Timestamp;

/// The label that says which company an object belongs to. Access scopes key on it.
pub const COMPANY_LABEL: &str = "company";
/// The label that says which product an object belongs to.
pub const PRODUCT_LABEL: &str = "product";
