//! Configuration as code against the store: validate documents against what is stored,
//! plan the difference, and apply it in one transaction.
//!
//! The CLI uses this directly on a data directory or database; `serve --config` uses it
//! at start. Versions read for the plan are checked at commit, so a change made between
//! plan and apply fails the apply instead of being overwritten.

use std::collections::HashMap;
use std::sync::Arc;

use config::{Action, Existing, Plan, Problem, SourceFile};
use domain::{AccessTarget, Kind, Name};
use store::{Change, ObjectDraft, ObjectRecord, Store, StoreError, WriteContext};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{} problem(s) in the configuration", .0.len())]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A plan, with the stored objects it was made against (their versions are checked at
/// commit, their generated values kept).
pub struct Prepared {
    pub plan: Plan,
    snapshot: Vec<ObjectRecord>,
}

/// Checks configuration files against the store and plans the difference: every
/// problem of their shape, values and references ([`config::check`]) at once.
pub async fn prepare(
    store: &Arc<dyn Store>,
    files: &[SourceFile],
    prune: bool,
) -> Result<Prepared, ApplyError> {
    let snapshot = store.snapshot(&Kind::ALL).await?;
    let existing: Vec<Existing> = snapshot
        .iter()
        .map(|o| Existing {
            kind: o.kind,
            name: o.name.clone(),
            labels: o.labels.clone(),
            spec: o.spec.clone(),
            source: o.source.clone(),
        })
        .collect();
    let (docs, problems) = config::check(files, &existing, prune);
    if !problems.is_empty() {
        return Err(ApplyError::Invalid(problems));
    }
    let plan = config::plan(&docs, &existing, prune);
    Ok(Prepared { plan, snapshot })
}

/// Applies a prepared plan in one transaction; returns the plan applied.
pub async fn commit(
    store: &Arc<dyn Store>,
    prepared: Prepared,
    ctx: &WriteContext,
) -> Result<Plan, ApplyError> {
    if prepared.plan.is_empty() {
        return Ok(prepared.plan);
    }
    let teams: Vec<ObjectRecord> = prepared
        .snapshot
        .iter()
        .filter(|o| o.kind == Kind::Team)
        .cloned()
        .collect();
    let stored: HashMap<(Kind, &Name), &ObjectRecord> = prepared
        .snapshot
        .iter()
        .map(|o| ((o.kind, &o.name), o))
        .collect();
    let mut changes = Vec::with_capacity(prepared.plan.changes.len());
    for c in &prepared.plan.changes {
        let stored = stored.get(&(c.kind, &c.name)).copied();
        let version = stored.map(|o| o.version);
        let scope = scope_of(c.kind, &c.name, &c.labels, &c.spec, &teams);
        // Planned specs were validated when the documents were parsed.
        let references = config::Spec::from_value(c.kind, c.spec.clone())
            .map(|s| s.targets())
            .unwrap_or_default();
        let previous = stored.map(|o| &o.status);
        let draft = || {
            let mut d = ObjectDraft {
                kind: c.kind,
                name: c.name.clone(),
                labels: c.labels.clone(),
                spec: c.spec.clone(),
                source: c.source.clone(),
                references: references.clone(),
                status: None,
                lookup_keys: Vec::new(),
            };
            crate::integrations::complete(&mut d, previous);
            d
        };
        changes.push(match c.action {
            Action::Create => Change::Create {
                draft: draft(),
                scope,
            },
            Action::Update => Change::Update {
                draft: draft(),
                expected_version: version,
                scope,
            },
            Action::Delete => Change::Delete {
                kind: c.kind,
                name: c.name.clone(),
                expected_version: version,
                scope,
            },
        });
    }
    store.commit(changes, ctx).await?;
    Ok(prepared.plan)
}

/// The company and teams an object belongs to: what access checks and audit rows are
/// scoped by. A team owns itself, a service belongs to its owner team, and a user to the
/// teams that list them as a member.
pub fn scope_of(
    kind: Kind,
    name: &Name,
    labels: &domain::Labels,
    spec: &serde_json::Value,
    teams: &[ObjectRecord],
) -> AccessTarget {
    let company = labels.get(domain::COMPANY_LABEL).map(str::to_owned);
    let teams = match kind {
        Kind::Team => vec![name.clone()],
        Kind::Service => spec
            .get("owner_team")
            .and_then(|t| t.as_str())
            .and_then(|t| Name::new(t).ok())
            .into_iter()
            .collect(),
        Kind::Router | Kind::EscalationPolicy => spec
            .get("team")
            .and_then(|t| t.as_str())
            .and_then(|t| Name::new(t).ok())
            .into_iter()
            .collect(),
        // A window may cover services of several teams, and a schedule rotates people
        // of any team: their company (or a global admin) owns them.
        Kind::MaintenanceWindow | Kind::Schedule => Vec::new(),
        Kind::User => teams
            .iter()
            .filter(|t| {
                t.spec
                    .get("members")
                    .and_then(|m| m.as_array())
                    .is_some_and(|m| m.iter().any(|u| u.as_str() == Some(name.as_str())))
            })
            .map(|t| t.name.clone())
            .collect(),
    };
    AccessTarget { company, teams }
}
