//! Configuration as code: shinrai's YAML documents (`apiVersion: shinrai/v1`, `kind`,
//! `metadata`, `spec`), read with the line of every field, validated with every problem
//! reported at once, checked across objects, and compared with the store as a plan.
//!
//! Architecture invariant: this crate does no I/O. It never reads files, the environment
//! or the clock; the binary reads the files and hands their contents in as
//! [`SourceFile`]s, and the store's contents come in as [`Existing`] objects.
//!
//! Ownership rules the plan follows: an object created from a file is *managed* and
//! records that file (`source`). [`plan`] creates what is declared and missing, updates
//! what differs (labels, normalized spec, owning file; an object created through the API
//! and now declared in a file is adopted), never deletes unmanaged objects, and deletes
//! managed objects whose documents are gone only when asked to prune.
//!
//! API boundary: the types here are what the binary and the server use; the schemas the
//! structure is checked against are the `utoipa` schemas the REST API publishes.

mod document;
mod plan;
mod references;
mod schema;
mod tree;

pub use document::{API_VERSION, Document, Location, Problem, Reference, SourceFile, Spec, parse};
pub use plan::{Action, Existing, FieldDiff, Plan, PlannedChange, plan};
pub use references::{check, check_references, warnings};
pub use tree::FieldLines;

use domain::Kind;

/// One field of a kind's spec, for the reference documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDoc {
    /// Dotted path below `spec`; list items are `[]` (`roles[].company`).
    pub path: String,
    /// The type in words: `string`, `name`, `list of names`, `one of viewer, responder, admin`.
    pub ty: String,
    /// Required within its parent (a required field of an optional list item is only
    /// required when the item is there).
    pub required: bool,
    pub description: String,
}

/// Every field of `kind`'s spec, derived from the utoipa schema of its spec type.
pub fn kind_fields(kind: Kind) -> Vec<FieldDoc> {
    let s = schema::schemas();
    let mut out = Vec::new();
    s.fields(s.spec_schema(kind), "", &mut out);
    out
}
