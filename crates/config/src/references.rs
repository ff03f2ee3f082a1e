//! Checks across objects: duplicates among documents, names that point nowhere, and
//! email addresses two users would share.

use std::collections::{BTreeMap, BTreeSet};

use domain::{Kind, Name};

use crate::{Document, Existing, Location, Problem, SourceFile};

/// Cross-object checks over a whole world of objects: a `(kind, name)` declared twice
/// among `docs`, and references to objects that exist neither in `docs` nor in `existing`
/// (minus the managed objects `prune` would delete). Problems point at the referencing
/// field's line.
pub fn check_references(docs: &[Document], existing: &[Existing], prune: bool) -> Vec<Problem> {
    let declared: Vec<Declared<'_>> = docs
        .iter()
        .map(|d| Declared {
            kind: d.kind,
            name: &d.name,
            at: d.location_of("metadata.name"),
            doc: Some(d),
            email_readable: true,
        })
        .collect();
    check_declared(&declared, existing, prune)
}

/// Everything wrong with a set of files, in one pass: each document's shape and values
/// ([`parse`](crate::parse)), and, for every document whose kind and name could be read,
/// the checks across objects of [`check_references`] against `existing`. A reference is
/// checked when its field could be read even if other fields of its document are wrong;
/// an object declared in a document with problems still exists for the others; nothing
/// is checked from a document whose kind or name is unreadable. Returns the documents
/// whose shape and values are right, and every problem in file and line order.
pub fn check(
    files: &[SourceFile],
    existing: &[Existing],
    prune: bool,
) -> (Vec<Document>, Vec<Problem>) {
    let (read, mut problems) = crate::document::read(files);
    let readable: Vec<Option<Document>> = read.iter().map(|r| r.readable()).collect();
    let declared: Vec<Declared<'_>> = read
        .iter()
        .zip(&readable)
        .filter_map(|(r, doc)| {
            let (kind, name) = (r.kind?, r.name.as_ref()?);
            let at = Location {
                file: r.location.file.clone(),
                line: r
                    .field_lines
                    .line_of("metadata.name")
                    .unwrap_or(r.location.line),
            };
            Some(Declared {
                kind,
                name,
                at,
                doc: doc.as_ref(),
                email_readable: !r.problems.iter().any(|p| p == "spec.email"),
            })
        })
        .collect();
    problems.extend(check_declared(&declared, existing, prune));
    let order: BTreeMap<&str, usize> = files
        .iter()
        .enumerate()
        .rev()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    problems.sort_by_key(|p| {
        (
            order.get(p.location.file.as_str()).copied(),
            p.location.line,
        )
    });
    let complete = read
        .into_iter()
        .zip(readable)
        .filter_map(|(r, doc)| if r.problems.is_empty() { doc } else { None })
        .collect();
    (complete, problems)
}

/// An object the files declare, as far as it could be read.
struct Declared<'a> {
    kind: Kind,
    name: &'a Name,
    /// Where its name is.
    at: Location,
    /// Its readable part, `None` when its spec could not be read.
    doc: Option<&'a Document>,
    /// Whether `spec.email` (of a user) is a valid address.
    email_readable: bool,
}

fn check_declared(docs: &[Declared<'_>], existing: &[Existing], prune: bool) -> Vec<Problem> {
    let mut problems = Vec::new();

    let mut first: BTreeMap<(Kind, &Name), &Location> = BTreeMap::new();
    for d in docs {
        if let Some(prev) = first.get(&(d.kind, d.name)) {
            problems.push(Problem {
                location: d.at.clone(),
                path: "metadata.name".into(),
                message: format!("{} `{}` is already declared at {prev}", d.kind, d.name),
            });
        } else {
            first.insert((d.kind, d.name), &d.at);
        }
    }

    let declared: BTreeSet<(Kind, &Name)> = docs.iter().map(|d| (d.kind, d.name)).collect();
    let stored: BTreeMap<(Kind, &Name), &Existing> =
        existing.iter().map(|e| ((e.kind, &e.name), e)).collect();
    for d in docs.iter().filter_map(|d| d.doc) {
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
    for d in docs
        .iter()
        .filter(|d| d.email_readable)
        .filter_map(|d| d.doc)
    {
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

/// What is allowed but probably a mistake: a Service without an `escalation_policy`,
/// whose incidents page nobody. Warnings never fail a check.
pub fn warnings(docs: &[Document]) -> Vec<Problem> {
    docs.iter()
        .filter_map(|d| match &d.spec {
            crate::Spec::Service(s) if s.escalation_policy.is_none() => Some(Problem {
                location: d.location_of("spec"),
                path: "spec.escalation_policy".to_owned(),
                message: "warning: no escalation policy: its incidents will page nobody".to_owned(),
            }),
            _ => None,
        })
        .collect()
}
