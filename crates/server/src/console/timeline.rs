//! The incident page's timeline: the entries `paging::timeline` makes of an incident's
//! log, with each person, service and incident linked where the viewer may see it, and
//! each instant written in the viewer's zone and as a distance from now. The template
//! (`timeline.html`) only places the pieces; every piece is escaped there.

use std::collections::BTreeSet;

use domain::Timestamp;
use paging::timeline::{Part, timeline};
use serde_json::{Value, json};

use super::Session;

/// What the viewer may see, for links.
pub(super) struct Visible<'a> {
    pub users: &'a BTreeSet<String>,
    pub services: &'a BTreeSet<String>,
    pub incidents: &'a BTreeSet<i64>,
}

/// The incidents an incident's log names (merges), whose visibility decides their links.
pub(super) fn incidents_named(log: &[store::LogEntry]) -> BTreeSet<i64> {
    log.iter()
        .filter(|l| l.kind.starts_with("incident.merged"))
        .flat_map(|l| [&l.data["from"], &l.data["into"]])
        .filter_map(Value::as_i64)
        .collect()
}

/// The timeline, newest first; each step's notifications stay oldest first beneath it.
pub(super) fn view(
    log: &[store::LogEntry],
    session: &Session,
    now: Timestamp,
    visible: &Visible<'_>,
) -> Vec<Value> {
    let lines: Vec<paging::timeline::Line<'_>> = log
        .iter()
        .map(|l| paging::timeline::Line {
            at: l.at,
            kind: &l.kind,
            actor: &l.actor,
            data: &l.data,
        })
        .collect();
    let time = |at: Timestamp| {
        json!({
            // HTML's `datetime` takes at most milliseconds; the second is enough here.
            "iso": at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "exact": session.when(at),
            "ago": domain::civil::ago(now, at),
        })
    };
    let say = |parts: &[Part]| -> Vec<Value> {
        parts.iter().map(|p| part(p, session, visible)).collect()
    };
    timeline(&lines)
        .iter()
        .rev()
        .map(|e| {
            json!({
                "kind": e.kind.replace(['.', '_'], "-"),
                "sentence": say(&e.sentence),
                "quote": e.quote,
                "actor": say(&e.actor.byline()),
                "time": time(e.at),
                "deliveries": e.deliveries.iter().map(|d| json!({
                    "outcome": d.outcome,
                    "sentence": say(&d.sentence),
                    "time": time(d.at),
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// One piece of a sentence: text, or a mention (`macros.html`'s shape) of what the viewer
/// may open.
fn part(p: &Part, session: &Session, visible: &Visible<'_>) -> Value {
    match p {
        Part::Text(t) => json!({ "text": t }),
        Part::Person(name) => {
            json!({ "name": name, "pages": visible.users.contains(name).then_some("users") })
        }
        Part::Service(name) => {
            json!({ "name": name, "pages": visible.services.contains(name).then_some("services") })
        }
        Part::Incident(n) => json!({ "incident": n, "linked": visible.incidents.contains(n) }),
        Part::Time(t) => json!({ "text": session.when(*t) }),
    }
}
