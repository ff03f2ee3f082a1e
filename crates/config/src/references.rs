//! Checks across objects: duplicates among documents, names that point nowhere, and
//! email addresses two users would share.

use std::collections::{BTreeMap, BTreeSet};

use domain::{Kind, Name};

use crate::{Document, Existing, Location, Problem};

/// Cross-object checks over a whole world of objects: a `(kind, name)` declared twice
/// among `docs`, and references to objects that exist neither in `docs` nor in `existing`
/// (minus the managed objects `prune` would delete). Problems point at the referencing
/// field's line.
pub fn check_references(docs: &[Document], existing: &[Existing], prune: bool) -> Vec<Problem> {
    let mut problems = Vec::new();

    let mut first: BTreeMap<(Kind, &Name), Location> = BTreeMap::new();
    for d in docs {
        let at = d.location_of("metadata.name");
        if let Some(prev) = first.get(&(d.kind, &d.name)) {
            problems.push(Problem {
                location: at,
                path: "metadata.name".into(),
                message: format!("{} `{}` is already declared at {prev}", d.kind, d.name),
            });
        } else {
            first.insert((d.kind, &d.name), at);
        }
    }

    let declared: BTreeSet<(Kind, &Name)> = docs.iter().map(|d| (d.kind, &d.name)).collect();
    let stored: BTreeMap<(Kind, &Name), &Existing> =
        existing.iter().map(|e| ((e.kind, &e.name), e)).collect();
    for d in docs {
        for r in d.spec.references() {
            let key = (r.kind, &r.name);
            if declared.contains(&key) {
                continue;
            }
            let message = match stored.get(&key) {
                Some(e) if prune && e.source.is_some() => format!(
                    "{} `{}` would be deleted by --prune: its document is gone",
                    r.kind, r.name
                ),
                Some(_) => continue,
                None => format!(
                    "no {} named `{}` exists in the files or in shinrai",
                    r.kind, r.name
                ),
            };
            let path = format!("spec.{}", r.path);
            problems.push(Problem {
                location: d.location_of(&path),
                path,
                message,
            });
        }
    }

    // Each email address belongs to one user (sign-in finds people by it): among the
    // files, and against the users in shinrai that the files leave in place.
    let mut emails: BTreeMap<String, (&Name, Option<Location>)> = BTreeMap::new();
    for e in existing {
        let replaced = declared.contains(&(e.kind, &e.name));
        let pruned = prune && e.source.is_some();
        let kept = !replaced && !pruned;
        if e.kind == Kind::User
            && kept
            && let Some(email) = e.spec.get("email").and_then(|v| v.as_str())
        {
            emails.insert(domain::catalog::email_key(email), (&e.name, None));
        }
    }
    for d in docs {
        let crate::Spec::User(user) = &d.spec else {
            continue;
        };
        let at = d.location_of("spec.email");
        match emails.get(&domain::catalog::email_key(&user.email)) {
            Some((other, _)) if *other == &d.name => {}
            Some((other, prev)) => problems.push(Problem {
                location: at,
                path: "spec.email".into(),
                message: match prev {
                    None => format!(
                        "{} is already the email of User `{other}` in shinrai; each email address belongs to one user",
                        user.email
                    ),
                    Some(prev) => format!(
                        "{} is already the email of User `{other}` at {prev}; each email address belongs to one user",
                        user.email
                    ),
                },
            }),
            None => {
                emails.insert(domain::catalog::email_key(&user.email), (&d.name, Some(at)));
            }
        }
    }
    problems
}
