//! Plans: the difference between the documents and what the store holds.
//!
//! Architecture invariant: planning is a pure function of documents and a snapshot of the
//! store. Values the server generates are not part of [`Existing`], so they can never
//! show up as a difference.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use domain::{Kind, Labels, Name};

use crate::{Document, Spec};

/// An object as the store has it, for plans and reference checks.
#[derive(Clone, Debug, PartialEq)]
pub struct Existing {
    pub kind: Kind,
    pub name: Name,
    pub labels: Labels,
    /// The normalized spec ([`Spec::to_value`]).
    pub spec: Json,
    /// The file that owns the object (managed), or `None` when it was created through the
    /// API.
    pub source: Option<String>,
}

impl Existing {
    /// The object the store would hold after applying `doc`.
    pub fn from_document(doc: &Document) -> Existing {
        Existing {
            kind: doc.kind,
            name: doc.name.clone(),
            labels: doc.labels.clone(),
            spec: doc.spec.to_value(),
            source: Some(doc.location.file.clone()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// One changed field: `spec.members`, `metadata.labels.company`, `metadata.managed_by`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub path: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
}

/// Plans travel as JSON from a server to the CLI (`apply --server`); the labels and spec
/// to write stay behind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedChange {
    pub action: Action,
    pub kind: Kind,
    pub name: Name,
    /// The owning file: the document's for creates and updates, the former owner's for
    /// deletes.
    pub source: Option<String>,
    /// What changes, for updates; empty for creates and deletes.
    pub diffs: Vec<FieldDiff>,
    /// The labels and spec to write (creates, updates) or being deleted (deletes).
    #[serde(skip)]
    pub labels: Labels,
    #[serde(skip)]
    pub spec: Json,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub changes: Vec<PlannedChange>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// `(create, update, delete)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |a| self.changes.iter().filter(|c| c.action == a).count();
        (n(Action::Create), n(Action::Update), n(Action::Delete))
    }
}

fn show(v: &Option<Json>) -> String {
    v.as_ref()
        .map_or_else(|| "(none)".to_owned(), Json::to_string)
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.changes {
            match c.action {
                Action::Create => {
                    write!(f, "+ create {} {}", c.kind, c.name)?;
                    if let Some(s) = &c.source {
                        write!(f, " ({s})")?;
                    }
                    writeln!(f)?;
                }
                Action::Update => {
                    writeln!(f, "~ update {} {}", c.kind, c.name)?;
                    for d in &c.diffs {
                        writeln!(
                            f,
                            "    {}: {} -> {}",
                            d.path,
                            show(&d.before),
                            show(&d.after)
                        )?;
                    }
                }
                Action::Delete => writeln!(f, "- delete {} {}", c.kind, c.name)?,
            }
        }
        if self.is_empty() {
            write!(f, "No changes: the store matches the files.")
        } else {
            let (c, u, d) = self.counts();
            write!(f, "Plan: {c} to create, {u} to update, {d} to delete.")
        }
    }
}

/// The stored spec in normalized form: specs written by older builds or by hand may omit
/// defaults, which must not count as a difference.
fn normalize(kind: Kind, spec: &Json) -> Json {
    Spec::from_value(kind, spec.clone())
        .map(|s| s.to_value())
        .unwrap_or_else(|_| spec.clone())
}

fn diffs(doc: &Document, spec: &Json, old: &Existing) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    if old.source.as_deref() != Some(doc.location.file.as_str()) {
        out.push(FieldDiff {
            path: "metadata.managed_by".into(),
            before: old.source.clone().map(Json::String),
            after: Some(Json::String(doc.location.file.clone())),
        });
    }
    let mut keys: Vec<&String> = old.labels.0.keys().collect();
    keys.extend(doc.labels.0.keys());
    keys.sort();
    keys.dedup();
    for k in keys {
        let (b, a) = (old.labels.0.get(k), doc.labels.0.get(k));
        if a != b {
            out.push(FieldDiff {
                path: format!("metadata.labels.{k}"),
                before: b.cloned().map(Json::String),
                after: a.cloned().map(Json::String),
            });
        }
    }
    let old_spec = normalize(old.kind, &old.spec);
    match (old_spec.as_object(), spec.as_object()) {
        (Some(b), Some(a)) => {
            let mut keys: Vec<&String> = a.keys().collect();
            keys.extend(b.keys().filter(|k| !a.contains_key(*k)));
            for k in keys {
                if a.get(k) != b.get(k) {
                    out.push(FieldDiff {
                        path: format!("spec.{k}"),
                        before: b.get(k).cloned(),
                        after: a.get(k).cloned(),
                    });
                }
            }
        }
        _ if old_spec != *spec => out.push(FieldDiff {
            path: "spec".into(),
            before: Some(old_spec),
            after: Some(spec.clone()),
        }),
        _ => {}
    }
    out
}

/// The difference between the documents and the store; see the crate documentation for
/// the ownership rules it follows.
pub fn plan(docs: &[Document], existing: &[Existing], prune: bool) -> Plan {
    let stored: BTreeMap<(Kind, &Name), &Existing> =
        existing.iter().map(|e| ((e.kind, &e.name), e)).collect();
    let declared: BTreeMap<(Kind, &Name), &Document> =
        docs.iter().map(|d| ((d.kind, &d.name), d)).collect();
    let mut changes = Vec::new();

    for kind in Kind::ALL {
        for doc in declared.values().filter(|d| d.kind == kind) {
            let spec = doc.spec.to_value();
            let (action, diffs) = match stored.get(&(doc.kind, &doc.name)) {
                None => (Action::Create, Vec::new()),
                Some(old) => {
                    let d = diffs(doc, &spec, old);
                    if d.is_empty() {
                        continue;
                    }
                    (Action::Update, d)
                }
            };
            changes.push(PlannedChange {
                action,
                kind: doc.kind,
                name: doc.name.clone(),
                source: Some(doc.location.file.clone()),
                diffs,
                labels: doc.labels.clone(),
                spec,
            });
        }
    }
    if prune {
        for kind in Kind::ALL.into_iter().rev() {
            for ((k, name), old) in &stored {
                if *k != kind || old.source.is_none() || declared.contains_key(&(*k, *name)) {
                    continue;
                }
                changes.push(PlannedChange {
                    action: Action::Delete,
                    kind,
                    name: (*name).clone(),
                    source: old.source.clone(),
                    diffs: Vec::new(),
                    labels: old.labels.clone(),
                    spec: old.spec.clone(),
                });
            }
        }
    }
    Plan { changes }
}
