//! docs/config.md documents every field of every kind, and nothing that no longer exists.

use config::kind_fields;
use domain::Kind;

const DOC: &str = include_str!("../../../docs/config.md");

/// The rows of the first table in the section headed `## Kind: {kind}`, as
/// `(path, type, required)`.
fn table_rows(doc: &str, kind: Kind) -> Option<Vec<(String, String, String)>> {
    let heading = format!("## Kind: {kind}");
    let start = doc.lines().position(|l| l.trim_end() == heading)?;
    let mut rows = Vec::new();
    for line in doc.lines().skip(start + 1) {
        if line.starts_with("## ") {
            break;
        }
        let Some(cells) = line.trim().strip_prefix('|') else {
            if !rows.is_empty() {
                break;
            }
            continue;
        };
        let cells: Vec<&str> = cells.split('|').map(str::trim).collect();
        let Some(path) = cells[0].strip_prefix('`').and_then(|c| c.strip_suffix('`')) else {
            continue; // the header and separator rows
        };
        rows.push((
            path.to_owned(),
            cells.get(1).unwrap_or(&"").to_string(),
            cells.get(2).unwrap_or(&"").to_string(),
        ));
    }
    Some(rows)
}

/// What the table for `kind` should say, rendered as markdown rows (to paste when a
/// field is added).
fn expected_rows(kind: Kind) -> String {
    kind_fields(kind)
        .iter()
        .map(|f| {
            format!(
                "| `{}` | {} | {} | {} |\n",
                f.path,
                f.ty,
                if f.required { "yes" } else { "no" },
                f.description
            )
        })
        .collect()
}

#[test]
fn every_kind_has_a_section_listing_exactly_its_fields() {
    let mut errors = Vec::new();
    for kind in Kind::ALL {
        let Some(rows) = table_rows(DOC, kind) else {
            errors.push(format!(
                "docs/config.md has no `## Kind: {kind}` section; its table:\n{}",
                expected_rows(kind)
            ));
            continue;
        };
        let fields = kind_fields(kind);
        for f in &fields {
            let required = if f.required { "yes" } else { "no" };
            match rows.iter().find(|(p, _, _)| *p == f.path) {
                None => errors.push(format!(
                    "Kind {kind}: field `{}` is missing from the table; add:\n| `{}` | {} | {required} | {} |",
                    f.path, f.path, f.ty, f.description
                )),
                Some((_, ty, req)) if *ty != f.ty || *req != required => errors.push(format!(
                    "Kind {kind}: field `{}` is documented as `{ty}`, required `{req}`; the type says `{}`, required `{required}`",
                    f.path, f.ty
                )),
                Some(_) => {}
            }
        }
        for (p, _, _) in &rows {
            if !fields.iter().any(|f| f.path == *p) {
                errors.push(format!(
                    "Kind {kind}: the table lists `{p}`, which is not a field"
                ));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_checker_notices_missing_and_stale_rows() {
    let doc = "## Kind: Team\n\n| field | type | required | description |\n|---|---|---|---|\n| `members` | list of names | no | x |\n| `colour` | string | no | x |\n";
    let rows = table_rows(doc, Kind::Team).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.0 == "colour"));
    assert!(table_rows(doc, Kind::User).is_none());
}

#[test]
fn kind_fields_follow_the_spec_types() {
    insta::assert_snapshot!(Kind::ALL.map(|k| format!("{k}\n{}", expected_rows(k))).join("\n"), @r#"
    User
    | `contact_methods` | list of contact methods | no | Ways to reach the person besides `email` (which is always one, named `email`). |
    | `contact_methods[].address` | string | yes | Where: an email address, a phone number in E.164 form (`+4915112345678`), a Slack user id (`U024BE7LH`), an ntfy topic, or a URL. |
    | `contact_methods[].name` | name | yes | Unique for the person (`work-email`, `phone`); notification rules name it. |
    | `contact_methods[].type` | one of email, sms, voice, slack, push, webhook | yes | How: `email`, `sms`, `voice`, `slack` (a Slack user id), `push` (an ntfy topic) or `webhook` (an http or https URL). |
    | `email` | string | yes | Where email notifications go; also the login name in the console. |
    | `full_name` | string | yes | The person's full name, as shown to others. |
    | `notification_rules` | notification rules | no | Which contact methods to use for each urgency, and when, while an incident is unacknowledged. Without rules, the person is emailed at once. |
    | `notification_rules.high` | list of notification rules | no | For high-urgency incidents. |
    | `notification_rules.high[].after_minutes` | integer | no | Minutes after being paged, if the incident is still unacknowledged (0: at once). |
    | `notification_rules.high[].contact` | name | yes | The contact method to use, by name (`email` is the person's email address unless a contact method of that name says otherwise). |
    | `notification_rules.low` | list of notification rules | no | For low-urgency incidents. |
    | `notification_rules.low[].after_minutes` | integer | no | Minutes after being paged, if the incident is still unacknowledged (0: at once). |
    | `notification_rules.low[].contact` | name | yes | The contact method to use, by name (`email` is the person's email address unless a contact method of that name says otherwise). |
    | `roles` | list of grants | no | Roles this person holds, each global or limited to a company or a team. |
    | `roles[].company` | string | no | Limits the grant to objects labelled with this company. |
    | `roles[].role` | one of viewer, responder, admin | yes | `viewer`, `responder` or `admin`. |
    | `roles[].team` | name | no | Limits the grant to this team and the objects it owns. |
    | `time_zone` | string | no | IANA time zone (`Europe/Berlin`) used to show times to this person. |

    Team
    | `description` | string | no | What the team does and how to reach it. |
    | `display_name` | string | no | A human-friendly name; the object name is used when absent. |
    | `members` | list of names | no | Names of the users in the team. |

    Schedule
    | `description` | string | no | What the schedule is for and who it pages; shown with it. |
    | `layers` | list of layers | yes | Layers, lowest first: where a later layer has someone on call, it wins. Where it has no one (before its start, after its end, outside its restrictions), the layer below shows through. |
    | `layers[].end` | string | no | When the layer ends, local time in the layer's zone (`YYYY-MM-DDTHH:MM`), after `start`; it covers nothing from then on. Runs on forever when absent. |
    | `layers[].name` | string | yes | Shown in calendars (`primary`, `follow-the-sun-emea`). |
    | `layers[].restriction_mode` | one of calendar, active_time | no | How restrictions interact with the rotation: `calendar` (default: turns follow the calendar; restricted time is simply not covered) or `active_time` (turns advance only during covered time, so everyone gets the same covered hours; needs restrictions). |
    | `layers[].restrictions` | list of restrictions | no | Only these times of the week are covered by this layer; outside them the layer has a gap (a lower layer may cover it). Absent: always. |
    | `layers[].restrictions[].days` | list of (one of mon, tue, wed, thu, fri, sat, sun) | no | Days it applies to (`mon` … `sun`): the days each window starts on. Every day when absent. |
    | `layers[].restrictions[].end` | string | yes | Local end, `HH:MM`. An end before the start runs past midnight into the next day (`22:00` to `06:00`); an end equal to the start makes a full day. |
    | `layers[].restrictions[].start` | string | yes | Local start, `HH:MM`. |
    | `layers[].rotation` | string | yes | How long each turn lasts: `1w`, `1d`, `12h`, `2w`, `90m` (jiff's friendly duration syntax: weeks, days, hours, minutes; at most 52 weeks). Days and weeks are calendar days in the layer's time zone, so a daily 09:00 handoff stays at 09:00 across DST changes (a 23 or 25 hour day); hours and minutes are elapsed time. |
    | `layers[].start` | string | yes | The first handoff, local time in the layer's zone (`YYYY-MM-DDTHH:MM`, seconds optional): `users[0]` starts here. Every later handoff is this plus a whole number of turns. A start the clock skips moves forward by the gap (later handoffs keep the written time); one it passes twice is the earlier. |
    | `layers[].time_zone` | string | no | IANA time zone of this layer's local times (`start`, `end`, handoffs, restrictions), for example `Asia/Tokyo`; the schedule's `time_zone` when absent. A layer covering another office's daytime keeps to that office's clock across both zones' DST changes. |
    | `layers[].users` | list of names | yes | Who takes turns, in order (user names). A name may appear more than once. |
    | `overrides` | list of overrides | no | People covering for others: from `start` to `end` (RFC 3339 instants), `user` is on call instead of whoever the layers say. Where overrides overlap, the later one in the list wins. At most 1000. |
    | `overrides[].end` | string | yes | When it ends (exclusive), an RFC 3339 instant after `start`. |
    | `overrides[].start` | string | yes | When the override begins, an RFC 3339 instant (`2026-03-02T14:00:00Z`). |
    | `overrides[].user` | name | yes | Who is on call (a user name). |
    | `time_zone` | string | yes | IANA time zone of every local time in the schedule (handoffs, restrictions), for example `Europe/Berlin`, except in layers that name their own. Local times follow its DST changes. |

    EscalationPolicy
    | `description` | string | no | What the policy is for. |
    | `levels` | list of levels | yes | Levels in order: each pages its targets, then waits `delay_minutes` for an acknowledgement before the next level is paged. |
    | `levels[].delay_minutes` | integer | yes | Minutes to wait for an acknowledgement before the next level (1 to 1440). |
    | `levels[].round_robin` | boolean | no | Page one of the targets' people at a time, taking turns from one incident to the next, instead of all of them at once. |
    | `levels[].targets` | list of targets | yes | Who this level pages: users, whoever is on call on a schedule, or a team's members. |
    | `levels[].targets[].schedule` | name | no | A schedule: whoever is on call on it when the level is paged. |
    | `levels[].targets[].team` | name | no | A team: each of its members. |
    | `levels[].targets[].user` | name | no | A user, paged directly. |
    | `repeat` | integer | no | How many times to go through all the levels while nobody acknowledges (1 to 10; 1 when absent). After the last, the owning team's admins are paged. |
    | `team` | name | yes | The team that owns the policy; its admins are paged when the policy is exhausted. |

    Service
    | `acknowledgement_timeout_minutes` | integer | no | Minutes after which an acknowledgement times out and the incident pages again. Off when absent. |
    | `announce` | announce | no | Where the service's incidents are announced as they open, are acknowledged and resolve: a Slack channel, outbound webhooks. |
    | `announce.slack_channel` | string | no | A Slack channel id (`C024BE91L`); the bot must be in it. |
    | `announce.webhooks` | list of strings | no | URLs that receive each event as signed JSON (`X-Shinrai-Signature`). |
    | `business_hours` | business hours | no | When the owning team is at work, for urgency rules. |
    | `business_hours.days` | list of (one of mon, tue, wed, thu, fri, sat, sun) | no | Working days; Monday to Friday when absent. |
    | `business_hours.end` | string | yes | Local end time, `HH:MM`, after `start`. |
    | `business_hours.start` | string | yes | Local start time, `HH:MM`. |
    | `business_hours.time_zone` | string | yes | IANA time zone the hours are in (`Europe/Berlin`). |
    | `description` | string | no | What the service does. |
    | `escalation_policy` | name | no | Who is paged for the service's incidents, in which order. Without one, incidents are recorded but page no one. Must name an `EscalationPolicy`. |
    | `flapping` | flapping | no | Hold alerts that flap: more than `changes` triggers and resolves of one alert within `minutes` open no new incident until it settles. Off when absent. |
    | `flapping.changes` | integer | yes | State changes (triggers and resolves) allowed within the window. |
    | `flapping.minutes` | integer | yes | The window, in minutes. A held alert still firing after it opens its incident. |
    | `grouping` | grouping | no | Put alerts with the same values of some labels on one incident. Without it, each alert opens its own incident (Alertmanager's webhook groups by its `groupKey`). |
    | `grouping.by` | list of strings | yes | The labels that make a group (`alertname`, `cluster`). |
    | `grouping.window_minutes` | integer | no | Minutes after an incident opens during which new alerts of its group join it. |
    | `integrations` | list of integrations | no | Where alerts for this service come in: one entry per sender, each with its own key. shinrai generates a key when none is given and keeps it. |
    | `integrations[].grace_minutes` | integer | no | Heartbeats only: extra minutes allowed after the interval before an incident opens (default 1). |
    | `integrations[].interval_minutes` | integer | no | Heartbeats only: a ping is expected at least this often, in minutes. |
    | `integrations[].key` | string | no | The key senders use (PagerDuty's `routing_key`). Leave it out and shinrai generates one; set it to keep a key senders already have. |
    | `integrations[].name` | name | yes | Unique within the service (`prometheus`, `sentry-web`). |
    | `integrations[].secret` | string | no | Sentry only: the name of the setting that holds the integration's client secret (`sentry-web` reads `SHINRAI_SECRET_SENTRY_WEB`). Secrets never live in configuration files. |
    | `integrations[].type` | one of pagerduty, alertmanager, sentry, datadog, generic, heartbeat | yes | Which sender speaks to it. |
    | `owner_team` | name | yes | The team that owns the service and is paged for it. |
    | `retrigger_on_new_alert` | boolean | no | When a new alert joins an acknowledged incident, put the incident back to triggered so that it pages again. On by default: a second problem deserves a second look. |
    | `runbooks` | list of links | no | Runbooks and dashboards a responder needs. |
    | `runbooks[].title` | string | yes | What the link is, as shown to a responder. |
    | `runbooks[].url` | string | yes | An absolute `http` or `https` URL. |
    | `tier` | integer | no | Criticality, 1 (most critical) to 4. |
    | `urgency_rules` | list of urgency rules | no | Rules that set an alert's urgency, first match wins. Without a match, `critical` and `error` are high, `warning` and `info` low. |
    | `urgency_rules[].during` | one of business_hours, outside_business_hours | no | Only during, or only outside, the service's business hours. |
    | `urgency_rules[].severity` | list of (one of info, warning, error, critical) | no | Only alerts of these severities; all when absent. |
    | `urgency_rules[].urgency` | one of high, low | yes | The urgency matching alerts get: `high` or `low`. |

    Router
    | `default` | name | yes | The service for events no rule matches. |
    | `integrations` | list of integrations | no | Where events come in, as on a service: a name, a type (`pagerduty`, `alertmanager`, `generic`, `datadog` or `sentry`) and an optional key. shinrai generates a key when none is given and keeps it. |
    | `integrations[].grace_minutes` | integer | no | Heartbeats only: extra minutes allowed after the interval before an incident opens (default 1). |
    | `integrations[].interval_minutes` | integer | no | Heartbeats only: a ping is expected at least this often, in minutes. |
    | `integrations[].key` | string | no | The key senders use (PagerDuty's `routing_key`). Leave it out and shinrai generates one; set it to keep a key senders already have. |
    | `integrations[].name` | name | yes | Unique within the service (`prometheus`, `sentry-web`). |
    | `integrations[].secret` | string | no | Sentry only: the name of the setting that holds the integration's client secret (`sentry-web` reads `SHINRAI_SECRET_SENTRY_WEB`). Secrets never live in configuration files. |
    | `integrations[].type` | one of pagerduty, alertmanager, sentry, datadog, generic, heartbeat | yes | Which sender speaks to it. |
    | `rules` | list of route rules | no | Rules in order; the first whose matchers all match picks the service. |
    | `rules[].service` | name | yes | The service that gets the event. |
    | `rules[].when` | list of strings | yes | Alertmanager-style matchers, all of which must match: `team="db"`, `severity=~"critical"`, `team=~"db.*"`, `env!="dev"`, `summary!~"(?i)test"`. Regexes must match the whole value, and a missing label counts as empty. `summary`, `source`, `severity`, `component`, `group`, `class` and `dedup_key` are the event's fields; any other name is a label, and `labels.X` is always label X. |
    | `team` | name | yes | The team that owns the router. |

    MaintenanceWindow
    | `description` | string | no | Why: shown on held alerts. |
    | `duration_minutes` | integer | yes | How long each occurrence lasts, in minutes (at most 31 days). Real minutes: an occurrence lasts as long on a DST change day as on any other. |
    | `rrule` | string | no | Repeat by an RRULE subset: FREQ (DAILY, WEEKLY or MONTHLY), INTERVAL, BYDAY, BYMONTHDAY, UNTIL, COUNT (`FREQ=WEEKLY;BYDAY=SA`). A one-off window when absent. |
    | `selector` | string | no | Or every service whose labels match this selector (`company=acme,env=prod`). Covered are the services named and those the selector matches. |
    | `services` | list of names | no | Services it covers, by name. |
    | `start` | string | yes | Local start, `YYYY-MM-DDTHH:MM` (seconds optional), in `time_zone`. With `rrule`, the first occurrence; every repeat starts at the same local time of day. A start that the clock skips (spring forward) moves forward by the gap; one it passes twice (fall back) is the earlier. |
    | `time_zone` | string | no | IANA time zone of `start` and of the recurrence (`Europe/Berlin`); UTC when absent. |
    "#);
}
