//! An incident's timeline in words: the lines the store records (`incident_log`) turned
//! into sentences with their actor and time, with the notifications an escalation step
//! sent nested under that step. The console's incident page and `shinrai incident show`
//! both say the timeline through [`timeline`], so they say the same thing.
//!
//! A sentence is a list of [`Part`]s rather than a string, so that each renderer can link
//! the people, services and incidents it names and format instants in its reader's zone,
//! and so that nothing a sender or a person wrote is ever mixed into markup.
//!
//! Which step sent a notification is not recorded; it is worked out here: a page about a
//! triggered incident belongs to the latest escalation step, at or before it, that paged
//! its person. Announcements, pages about other events and pages no step explains stand
//! as entries of their own.
//!
//! Longer than 600 lines because every kind of timeline line has its sentence here, and
//! nearly half the file is its tests.

use domain::Timestamp;
use serde::Serialize;
use serde_json::Value;

/// One line of the log, as the store and the API hold it.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    pub at: Timestamp,
    /// `alert.triggered`, `escalation.level`, `notification.sent`, `note`, …
    pub kind: &'a str,
    /// `user:alice`, `token:ci`, `integration:checkout/prometheus`, `shinrai`, `system`.
    pub actor: &'a str,
    pub data: &'a Value,
}

/// A piece of a sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Text(String),
    /// A person, by user name.
    Person(String),
    Service(String),
    /// Another incident, by number.
    Incident(i64),
    /// An instant, for the reader's zone.
    Time(Timestamp),
}

/// Who did what an entry says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Person(String),
    /// An API token without a person.
    Token(String),
    /// A sender, by the service and integration it came through.
    Integration {
        service: String,
        integration: String,
    },
    /// shinrai itself: escalation, timers, deliveries, configuration from files.
    Shinrai,
    /// An actor this build does not know, as recorded.
    Other(String),
}

impl Actor {
    pub fn parse(actor: &str) -> Actor {
        let (prefix, rest) = actor.split_once(':').unwrap_or((actor, ""));
        match (prefix, rest) {
            ("user", name) if !name.is_empty() => Actor::Person(name.to_owned()),
            ("token", name) if !name.is_empty() => Actor::Token(name.to_owned()),
            ("integration", path) => match path.split_once('/') {
                Some((service, integration)) => Actor::Integration {
                    service: service.to_owned(),
                    integration: integration.to_owned(),
                },
                None => Actor::Other(actor.to_owned()),
            },
            ("shinrai" | "system", "") => Actor::Shinrai,
            _ => Actor::Other(actor.to_owned()),
        }
    }

    /// The actor as the subject of a sentence, capitalised where it is not a name.
    pub fn subject(&self) -> Vec<Part> {
        match self {
            Actor::Person(name) => vec![Part::Person(name.clone())],
            Actor::Token(name) => vec![text(format!("The API token {name}"))],
            Actor::Integration {
                service,
                integration,
            } => vec![
                text(format!("The {integration} integration of ")),
                Part::Service(service.clone()),
            ],
            Actor::Shinrai => vec![text("shinrai")],
            Actor::Other(raw) => vec![text(raw.clone())],
        }
    }

    /// The actor in a byline (`by …`).
    pub fn byline(&self) -> Vec<Part> {
        match self {
            Actor::Token(name) => vec![text(format!("API token {name}"))],
            Actor::Integration {
                service,
                integration,
            } => vec![
                text(format!("{integration} (")),
                Part::Service(service.clone()),
                text(")"),
            ],
            other => other.subject(),
        }
    }
}

/// One entry of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    pub at: Timestamp,
    /// The recorded kind, for styling and for machines; never shown alone.
    pub kind: String,
    pub actor: Actor,
    pub sentence: Vec<Part>,
    /// What a person wrote (a note), shown as a quotation below the sentence.
    pub quote: Option<String>,
    /// For an escalation step: the notifications it sent, oldest first.
    pub deliveries: Vec<Delivery>,
}

/// One attempt to deliver a notification, and how it went.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub at: Timestamp,
    /// The person paged (for an announcement, the service).
    pub person: String,
    pub channel: String,
    pub address: String,
    /// `sent`, `retrying` or `dead`.
    pub outcome: String,
    /// The provider's answer or the error.
    pub detail: String,
    pub sentence: Vec<Part>,
}

/// The timeline of an incident's log, oldest first (`log` is in the order recorded).
pub fn timeline(log: &[Line<'_>]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::with_capacity(log.len());
    // For each entry that is an escalation step: the people it paged.
    let mut steps: Vec<(usize, Vec<String>)> = Vec::new();
    for line in log {
        if let Some(outcome) = line.kind.strip_prefix("notification.") {
            let delivery = delivery(line, outcome);
            let d = line.data;
            let personal = str_of(d, "contact") != "announce"
                && matches!(str_of(d, "event"), "triggered" | "");
            let step = steps
                .iter()
                .rev()
                .find(|(_, people)| personal && people.contains(&delivery.person));
            match step {
                Some((index, _)) => out[*index].deliveries.push(delivery),
                None => out.push(Entry {
                    at: line.at,
                    kind: line.kind.to_owned(),
                    actor: Actor::parse(line.actor),
                    sentence: delivery.sentence.clone(),
                    quote: None,
                    deliveries: Vec::new(),
                }),
            }
            continue;
        }
        if line.kind.starts_with("escalation.") {
            steps.push((out.len(), strings(line.data, "people")));
        }
        out.push(entry(line));
    }
    out
}

/// The sentence alone, in plain text, with instants written by `time`.
pub fn plain(parts: &[Part], time: impl Fn(Timestamp) -> String) -> String {
    let mut s = String::new();
    for part in parts {
        match part {
            Part::Text(t) | Part::Person(t) | Part::Service(t) => s.push_str(t),
            Part::Incident(n) => {
                s.push('#');
                s.push_str(&n.to_string());
            }
            Part::Time(t) => s.push_str(&time(*t)),
        }
    }
    s
}

fn text(s: impl Into<String>) -> Part {
    Part::Text(s.into())
}

fn str_of<'a>(d: &'a Value, key: &str) -> &'a str {
    d[key].as_str().unwrap_or("")
}

fn strings(d: &Value, key: &str) -> Vec<String> {
    d[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// `alice`, `alice and bob`, `alice, bob and carol`, each a person.
fn people(names: &[String]) -> Vec<Part> {
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(text(if i + 1 == names.len() { " and " } else { ", " }));
        }
        out.push(Part::Person(name.clone()));
    }
    out
}

/// Ends a sentence with a full stop unless it ends with one of its own.
fn full_stop(parts: &mut Vec<Part>) {
    if let Some(Part::Text(t)) = parts.last()
        && t.ends_with(['.', '!', '?'])
    {
        return;
    }
    parts.push(text("."));
}

/// An instant recorded as text (RFC 3339), when it reads as one.
fn instant(d: &Value, key: &str) -> Option<Timestamp> {
    d[key].as_str().and_then(|s| s.parse().ok())
}

fn entry(line: &Line<'_>) -> Entry {
    let d = line.data;
    let actor = Actor::parse(line.actor);
    let who = actor.subject();
    let person = matches!(actor, Actor::Person(_));
    let key = str_of(d, "dedup_key");
    let mut quote = None;
    let mut s: Vec<Part> = Vec::new();
    match line.kind {
        "alert.triggered" => {
            if person {
                s.extend(who);
                s.push(text(format!(" opened the incident with alert {key}")));
            } else {
                s.push(text(format!("Alert {key} triggered")));
            }
            if let Some(sev) = d["severity"].as_str().filter(|v| !v.is_empty()) {
                s.push(text(format!(" ({sev})")));
            }
            if let Some(summary) = d["summary"].as_str().filter(|v| !v.is_empty()) {
                s.push(text(format!(": {summary}")));
            }
        }
        "alert.repeated" => {
            s.push(text(format!("Alert {key} fired again")));
            if let Some(summary) = d["summary"].as_str().filter(|v| !v.is_empty()) {
                s.push(text(format!(": {summary}")));
            }
        }
        "alert.acknowledged" | "alert.resolved" => {
            let verb = line.kind.trim_start_matches("alert.");
            if person {
                s.extend(who);
                s.push(text(format!(" {verb} alert {key}")));
            } else {
                s.push(text(format!("Alert {key} was {verb} by its sender")));
            }
        }
        "alert.held" => {
            s.push(text(format!(
                "Alert {key} fired again and was held without an incident: {}",
                str_of(d, "reason")
            )));
        }
        "alert.released" => {
            s.push(text(format!(
                "Alert {key} was held ({}) and opened this incident: {}",
                str_of(d, "held"),
                str_of(d, "reason")
            )));
        }
        "escalation.level" => {
            let paged = strings(d, "people");
            let level = d["level"].as_u64().unwrap_or(0);
            let round = d["round"].as_u64().unwrap_or(1);
            let step = if round > 1 {
                format!("escalation level {level} (round {round})")
            } else {
                format!("escalation level {level}")
            };
            if paged.is_empty() {
                s.push(text(format!("Nobody was paged at {step}")));
            } else {
                s.push(text(format!("E{} paged ", &step[1..])));
                s.extend(people(&paged));
            }
            skipped(&mut s, d, paged.is_empty());
        }
        "escalation.exhausted" => {
            let paged = strings(d, "people");
            let policy = str_of(d, "policy");
            s.push(text(format!("The escalation policy {policy} ran out")));
            if paged.is_empty() {
                s.push(text(" and nobody was paged"));
            } else {
                s.push(text("; paged the team's admins "));
                s.extend(people(&paged));
            }
            skipped(&mut s, d, paged.is_empty());
        }
        "escalation.reassigned" => {
            let paged = strings(d, "people");
            if paged.is_empty() {
                s.push(text("Nobody was paged after the reassignment"));
            } else {
                s.push(text("Paged "));
                s.extend(people(&paged));
                s.push(text(" after the reassignment"));
            }
        }
        "incident.acknowledged" => {
            s.extend(who);
            s.push(text(" acknowledged the incident"));
            if let Some(timeout) = d["timeout"].as_str() {
                s.push(text(format!(
                    "; it goes back to triggered if still open after {timeout}"
                )));
            }
        }
        "incident.resolved" => {
            s.extend(who);
            s.push(text(" resolved the incident"));
        }
        "incident.unacknowledged" | "incident.retriggered" => {
            if person {
                s.extend(who);
                s.push(text(" put the incident back to triggered"));
            } else {
                s.push(text("The incident went back to triggered"));
            }
            if let Some(reason) = d["reason"].as_str().filter(|r| !r.is_empty()) {
                s.push(text(format!(": {reason}")));
            }
        }
        "incident.snoozed" => {
            s.extend(who);
            s.push(text(" snoozed the incident"));
            match instant(d, "until") {
                Some(until) => {
                    s.push(text(" until "));
                    s.push(Part::Time(until));
                }
                None => s.push(text(format!(" until {}", str_of(d, "until")))),
            }
        }
        "incident.escalated" => {
            s.extend(who);
            s.push(text(" escalated the incident to the next level"));
        }
        "incident.reassigned" => {
            s.extend(who);
            s.push(text(" reassigned the incident to "));
            let to = strings(d, "to");
            if to.is_empty() {
                s.push(text("nobody"));
            } else {
                s.extend(people(&to));
            }
        }
        "incident.merged" => {
            s.extend(who);
            s.push(text(" merged "));
            s.push(number(&d["from"]));
            s.push(text(" into this incident"));
        }
        "incident.merged_into" => {
            s.extend(who);
            s.push(text(" merged this incident into "));
            s.push(number(&d["into"]));
        }
        "note" => {
            s.extend(who);
            s.push(text(" added a note:"));
            quote = Some(str_of(d, "text").to_owned());
        }
        other => {
            // A kind this build does not know: said in words, with its reason if any.
            let words = other.replace(['.', '_'], " ");
            let mut chars = words.chars();
            let words = match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => "Something happened".to_owned(),
            };
            s.push(text(words));
            if let Some(reason) = d["reason"].as_str().filter(|r| !r.is_empty()) {
                s.push(text(format!(": {reason}")));
            }
        }
    }
    if line.kind != "note" {
        full_stop(&mut s);
    }
    Entry {
        at: line.at,
        kind: line.kind.to_owned(),
        actor,
        sentence: s,
        quote,
        deliveries: Vec::new(),
    }
}

/// An incident number as recorded (a number, or text from an older build).
fn number(v: &Value) -> Part {
    match v
        .as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    {
        Some(n) => Part::Incident(n),
        None => text(format!("incident {v}")),
    }
}

/// Why levels were skipped: the whole reason when nobody was paged, else a remark.
fn skipped(s: &mut Vec<Part>, d: &Value, nobody: bool) {
    let reasons = strings(d, "skipped");
    if reasons.is_empty() {
        return;
    }
    let reasons = reasons.join("; ");
    s.push(text(if nobody {
        format!(": {reasons}")
    } else {
        format!(" (skipped: {reasons})")
    }));
}

/// `Email`, `SMS`, …: a channel as the start of a sentence.
fn channel_name(channel: &str) -> String {
    match channel {
        "email" => "Email".into(),
        "sms" => "SMS".into(),
        "voice" => "Voice call".into(),
        "slack" => "Slack message".into(),
        "push" => "Push notification".into(),
        "webhook" => "Webhook".into(),
        "ntfy" => "ntfy notification".into(),
        other => {
            let mut chars = other.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => "Notification".into(),
            }
        }
    }
}

fn delivery(line: &Line<'_>, outcome: &str) -> Delivery {
    let d = line.data;
    let person = str_of(d, "user").to_owned();
    let channel = str_of(d, "channel").to_owned();
    let address = str_of(d, "address").to_owned();
    let event = str_of(d, "event");
    let announce = str_of(d, "contact") == "announce";
    let mut s = Vec::new();
    if announce {
        s.push(text(format!("{} announcing the ", channel_name(&channel))));
        s.push(text(if event.is_empty() { "incident" } else { event }));
        s.push(text(format!(" incident to {address}")));
    } else {
        s.push(text(channel_name(&channel)));
        if !event.is_empty() && event != "triggered" {
            s.push(text(format!(" about the {event} incident")));
        }
        s.push(text(" to "));
        s.push(Part::Person(person.clone()));
        if !address.is_empty() {
            s.push(text(format!(" at {address}")));
        }
    }
    let attempt = d["attempt"].as_i64().unwrap_or(1);
    if attempt > 1 {
        s.push(text(format!(" (attempt {attempt})")));
    }
    let (outcome, detail) = match outcome {
        "sent" => {
            let answer = str_of(d, "answer");
            s.push(text(" was sent"));
            if !answer.is_empty() {
                s.push(text(format!(": {answer}")));
            }
            ("sent", answer)
        }
        "failed" => {
            let error = str_of(d, "error");
            s.push(text(format!(" failed: {error}")));
            match instant(d, "retry_at") {
                Some(at) => {
                    s.push(text("; retrying at "));
                    s.push(Part::Time(at));
                }
                None => s.push(text("; retrying")),
            }
            ("retrying", error)
        }
        "dead" => {
            let error = str_of(d, "error");
            s.push(text(format!(" could not be delivered: {error}")));
            ("dead", error)
        }
        other => {
            let detail = d["answer"]
                .as_str()
                .or_else(|| d["error"].as_str())
                .unwrap_or("");
            s.push(text(format!(" {}", other.replace('_', " "))));
            if !detail.is_empty() {
                s.push(text(format!(": {detail}")));
            }
            (other, detail)
        }
    };
    full_stop(&mut s);
    Delivery {
        at: line.at,
        person,
        channel,
        address,
        outcome: outcome.to_owned(),
        detail: detail.to_owned(),
        sentence: s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(minute: i64) -> Timestamp {
        let start: Timestamp = "2026-12-04T12:00:00Z".parse().unwrap();
        start
            .checked_add(jiff::SignedDuration::from_mins(minute))
            .unwrap()
    }

    /// The timeline of `(minute, kind, actor, data)` lines.
    fn lines(log: &[(i64, &str, &str, Value)]) -> Vec<Entry> {
        let lines: Vec<Line<'_>> = log
            .iter()
            .map(|(m, kind, actor, data)| Line {
                at: at(*m),
                kind,
                actor,
                data,
            })
            .collect();
        timeline(&lines)
    }

    fn said(parts: &[Part]) -> String {
        plain(parts, |t| t.to_string())
    }

    /// What one line says on its own.
    fn check(kind: &str, actor: &str, data: Value, expect: &str) {
        let entries = lines(&[(0, kind, actor, data)]);
        assert_eq!(entries.len(), 1);
        assert_eq!(said(&entries[0].sentence), expect, "{kind}");
    }

    #[test]
    fn alerts_are_said_with_their_key_and_summary() {
        check(
            "alert.triggered",
            "integration:checkout/prometheus",
            json!({"dedup_key": "checkout-5xx", "summary": "Error rate above 5%", "severity": "critical"}),
            "Alert checkout-5xx triggered (critical): Error rate above 5%.",
        );
        check(
            "alert.triggered",
            "user:alice",
            json!({"dedup_key": "manual-1", "summary": "DB is slow", "severity": "critical"}),
            "alice opened the incident with alert manual-1 (critical): DB is slow.",
        );
        check(
            "alert.repeated",
            "integration:checkout/prometheus",
            json!({"dedup_key": "checkout-5xx", "summary": null}),
            "Alert checkout-5xx fired again.",
        );
        check(
            "alert.acknowledged",
            "integration:checkout/prometheus",
            json!({"dedup_key": "k"}),
            "Alert k was acknowledged by its sender.",
        );
        check(
            "alert.resolved",
            "user:bob",
            json!({"dedup_key": "k"}),
            "bob resolved alert k.",
        );
        check(
            "alert.held",
            "integration:checkout/prometheus",
            json!({"dedup_key": "k", "reason": "flapping: 5 changes in 10 minutes"}),
            "Alert k fired again and was held without an incident: flapping: 5 changes in 10 minutes.",
        );
        check(
            "alert.released",
            "shinrai",
            json!({"dedup_key": "k", "reason": "the hold ended", "held": "maintenance: db"}),
            "Alert k was held (maintenance: db) and opened this incident: the hold ended.",
        );
    }

    #[test]
    fn escalation_steps_say_who_was_paged_or_why_nobody_was() {
        check(
            "escalation.level",
            "shinrai",
            json!({"policy": "p", "round": 1, "level": 1, "people": ["alice", "bob"], "skipped": []}),
            "Escalation level 1 paged alice and bob.",
        );
        check(
            "escalation.level",
            "shinrai",
            json!({"policy": "p", "round": 2, "level": 2, "people": ["a", "b", "c"], "skipped": ["dan cannot be reached"]}),
            "Escalation level 2 (round 2) paged a, b and c (skipped: dan cannot be reached).",
        );
        check(
            "escalation.level",
            "shinrai",
            json!({"policy": "p", "round": 1, "level": 1, "people": [],
                   "skipped": ["schedule primary has nobody on call", "level 1: nobody to page; escalated at once"]}),
            "Nobody was paged at escalation level 1: schedule primary has nobody on call; level 1: nobody to page; escalated at once.",
        );
        check(
            "escalation.exhausted",
            "shinrai",
            json!({"policy": "p", "people": ["root"], "skipped": []}),
            "The escalation policy p ran out; paged the team's admins root.",
        );
        check(
            "escalation.exhausted",
            "shinrai",
            json!({"policy": "p", "people": [], "skipped": ["team ops has no admin to fall back to"]}),
            "The escalation policy p ran out and nobody was paged: team ops has no admin to fall back to.",
        );
        check(
            "escalation.reassigned",
            "shinrai",
            json!({"people": ["carol"]}),
            "Paged carol after the reassignment.",
        );
    }

    #[test]
    fn what_people_do_is_said_with_them_as_the_subject() {
        check(
            "incident.acknowledged",
            "user:alice",
            json!({}),
            "alice acknowledged the incident.",
        );
        check(
            "incident.acknowledged",
            "user:alice",
            json!({"timeout": "30 minutes"}),
            "alice acknowledged the incident; it goes back to triggered if still open after 30 minutes.",
        );
        check(
            "incident.acknowledged",
            "integration:checkout/prometheus",
            json!({}),
            "The prometheus integration of checkout acknowledged the incident.",
        );
        check(
            "incident.resolved",
            "token:ci",
            json!({}),
            "The API token ci resolved the incident.",
        );
        check(
            "incident.unacknowledged",
            "shinrai",
            json!({"reason": "the snooze ended"}),
            "The incident went back to triggered: the snooze ended.",
        );
        check(
            "incident.retriggered",
            "user:bob",
            json!({"reason": "escalated by hand"}),
            "bob put the incident back to triggered: escalated by hand.",
        );
        check(
            "incident.snoozed",
            "user:bob",
            json!({"until": "2026-12-04T13:00:00Z"}),
            "bob snoozed the incident until 2026-12-04T13:00:00Z.",
        );
        check(
            "incident.escalated",
            "user:bob",
            json!({}),
            "bob escalated the incident to the next level.",
        );
        check(
            "incident.reassigned",
            "user:bob",
            json!({"from": ["alice"], "to": ["carol", "dan"]}),
            "bob reassigned the incident to carol and dan.",
        );
        check(
            "incident.merged",
            "user:bob",
            json!({"from": 12}),
            "bob merged #12 into this incident.",
        );
        check(
            "incident.merged_into",
            "user:bob",
            json!({"into": 3}),
            "bob merged this incident into #3.",
        );
    }

    #[test]
    fn a_note_is_a_sentence_and_a_quotation() {
        let e = &lines(&[(0, "note", "user:bob", json!({"text": "scaled to 12 <b>"}))])[0];
        assert_eq!(said(&e.sentence), "bob added a note:");
        assert_eq!(e.quote.as_deref(), Some("scaled to 12 <b>"));
        assert_eq!(e.actor, Actor::Person("bob".into()));
    }

    #[test]
    fn people_and_instants_are_parts_for_the_renderer() {
        let e = &lines(&[(
            0,
            "incident.snoozed",
            "user:bob",
            json!({"until": "2026-12-04T13:00:00Z"}),
        )])[0];
        assert_eq!(e.sentence[0], Part::Person("bob".into()));
        assert!(e.sentence.contains(&Part::Time(at(60))), "{:?}", e.sentence);
        let e = &lines(&[(0, "incident.merged", "user:bob", json!({"from": 12}))])[0];
        assert!(e.sentence.contains(&Part::Incident(12)));
    }

    #[test]
    fn an_unknown_kind_is_said_in_words() {
        check(
            "incident.frobbed_twice",
            "shinrai",
            json!({"reason": "a later build did it"}),
            "Incident frobbed twice: a later build did it.",
        );
        check("", "shinrai", json!({}), "Something happened.");
    }

    #[test]
    fn actors_are_read_from_what_the_store_records() {
        assert_eq!(Actor::parse("user:alice"), Actor::Person("alice".into()));
        assert_eq!(Actor::parse("token:ci"), Actor::Token("ci".into()));
        assert_eq!(Actor::parse("shinrai"), Actor::Shinrai);
        assert_eq!(Actor::parse("system"), Actor::Shinrai);
        assert_eq!(
            Actor::parse("integration:checkout/prometheus"),
            Actor::Integration {
                service: "checkout".into(),
                integration: "prometheus".into()
            }
        );
        assert_eq!(
            Actor::parse("client:1.2.3.4"),
            Actor::Other("client:1.2.3.4".into())
        );
    }

    fn page(user: &str, channel: &str, extra: Value) -> Value {
        let mut d = json!({"user": user, "channel": channel, "contact": "work",
            "address": format!("{user}@example.com"), "event": "triggered", "delivery_id": "d1", "attempt": 1});
        d.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        d
    }

    #[test]
    fn notifications_nest_under_the_step_that_paged_their_person() {
        let step = |level: u64, people: &[&str]| json!({"policy": "p", "round": 1, "level": level, "people": people, "skipped": []});
        let entries = lines(&[
            (
                0,
                "alert.triggered",
                "integration:checkout/prometheus",
                json!({"dedup_key": "k", "summary": "s", "severity": "critical"}),
            ),
            (0, "escalation.level", "shinrai", step(1, &["alice", "bob"])),
            (
                1,
                "notification.sent",
                "shinrai",
                page("alice", "email", json!({"answer": "250 OK"})),
            ),
            (
                1,
                "notification.failed",
                "shinrai",
                page(
                    "bob",
                    "sms",
                    json!({"error": "timeout", "retry_at": "2026-12-04T12:03:00Z"}),
                ),
            ),
            (10, "escalation.level", "shinrai", step(2, &["carol"])),
            (
                11,
                "notification.dead",
                "shinrai",
                page(
                    "carol",
                    "voice",
                    json!({"error": "not configured", "attempt": 3}),
                ),
            ),
            // Bob's retry comes after the next step, which did not page him.
            (
                12,
                "notification.sent",
                "shinrai",
                page("bob", "sms", json!({"answer": "queued", "attempt": 2})),
            ),
            (13, "incident.acknowledged", "user:alice", json!({})),
        ]);
        let sentences: Vec<String> = entries.iter().map(|e| said(&e.sentence)).collect();
        assert_eq!(
            sentences,
            [
                "Alert k triggered (critical): s.",
                "Escalation level 1 paged alice and bob.",
                "Escalation level 2 paged carol.",
                "alice acknowledged the incident.",
            ]
        );
        let first: Vec<String> = entries[1]
            .deliveries
            .iter()
            .map(|d| said(&d.sentence))
            .collect();
        assert_eq!(
            first,
            [
                "Email to alice at alice@example.com was sent: 250 OK.",
                "SMS to bob at bob@example.com failed: timeout; retrying at 2026-12-04T12:03:00Z.",
                "SMS to bob at bob@example.com (attempt 2) was sent: queued.",
            ]
        );
        assert_eq!(
            entries[1]
                .deliveries
                .iter()
                .map(|d| d.outcome.as_str())
                .collect::<Vec<_>>(),
            ["sent", "retrying", "sent"]
        );
        let second = &entries[2].deliveries;
        assert_eq!(second.len(), 1);
        assert_eq!(
            said(&second[0].sentence),
            "Voice call to carol at carol@example.com (attempt 3) could not be delivered: not configured."
        );
        assert_eq!(
            (second[0].person.as_str(), second[0].channel.as_str()),
            ("carol", "voice")
        );
        assert!(entries[0].deliveries.is_empty() && entries[3].deliveries.is_empty());
    }

    #[test]
    fn a_later_step_that_pages_the_same_person_takes_their_later_pages() {
        let step = |level: u64| json!({"policy": "p", "round": 1, "level": level, "people": ["alice"], "skipped": []});
        let entries = lines(&[
            (0, "escalation.level", "shinrai", step(1)),
            (
                1,
                "notification.sent",
                "shinrai",
                page("alice", "email", json!({})),
            ),
            (10, "escalation.level", "shinrai", step(2)),
            (
                11,
                "notification.sent",
                "shinrai",
                page("alice", "sms", json!({})),
            ),
        ]);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].deliveries[0].channel, "email");
        assert_eq!(entries[1].deliveries[0].channel, "sms");
    }

    #[test]
    fn announcements_and_unexplained_pages_stand_alone() {
        let announce = json!({"user": "checkout", "channel": "slack", "contact": "announce",
            "address": "#ops", "event": "acknowledged", "delivery_id": "a", "attempt": 1, "answer": "ok"});
        let entries = lines(&[
            (
                0,
                "escalation.level",
                "shinrai",
                json!({"level": 1, "round": 1, "people": ["alice"], "skipped": []}),
            ),
            (1, "notification.sent", "shinrai", announce),
            // Nobody's step paged dan (the step is not in this log).
            (
                2,
                "notification.dead",
                "shinrai",
                page("dan", "email", json!({"error": "550 no such user"})),
            ),
        ]);
        let sentences: Vec<String> = entries.iter().map(|e| said(&e.sentence)).collect();
        assert_eq!(
            sentences,
            [
                "Escalation level 1 paged alice.",
                "Slack message announcing the acknowledged incident to #ops was sent: ok.",
                "Email to dan at dan@example.com could not be delivered: 550 no such user.",
            ]
        );
        assert!(entries[0].deliveries.is_empty());
        assert_eq!(entries[1].kind, "notification.sent");
        assert_eq!(entries[1].actor, Actor::Shinrai);
    }

    #[test]
    fn every_kind_the_store_writes_reads_as_a_sentence_not_a_dotted_name() {
        for kind in KINDS {
            let entries = lines(&[(0, kind, "shinrai", json!({}))]);
            let s = said(&entries[0].sentence);
            assert!(!(kind.contains('.') && s.contains(kind)), "{kind}: {s}");
            assert!(s.ends_with(['.', ':']), "{kind}: {s}");
        }
    }

    /// Every kind of line the store writes.
    const KINDS: &[&str] = &[
        "alert.triggered",
        "alert.repeated",
        "alert.acknowledged",
        "alert.resolved",
        "alert.held",
        "alert.released",
        "escalation.level",
        "escalation.exhausted",
        "escalation.reassigned",
        "incident.acknowledged",
        "incident.resolved",
        "incident.unacknowledged",
        "incident.retriggered",
        "incident.snoozed",
        "incident.escalated",
        "incident.reassigned",
        "incident.merged",
        "incident.merged_into",
        "note",
        "notification.sent",
        "notification.failed",
        "notification.dead",
    ];
}
