//! `shinrai incident …`: incidents through a running server.

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::IncidentCommand;
use crate::client::{Client, ClientArgs};
use crate::output::{
    Output, minutes_until, outln, print_json, print_table, time, time_ago, time_arg,
};

pub async fn run(cmd: IncidentCommand, out: Output) -> anyhow::Result<ExitCode> {
    match cmd {
        IncidentCommand::List {
            status,
            service,
            search,
            sort,
            limit,
            client,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            if status != "all" {
                query.push(("status", status));
            }
            if let Some(s) = service {
                query.push(("service", s));
            }
            if let Some(q) = search {
                query.push(("q", q));
            }
            if let Some(s) = sort {
                query.push(("sort", s));
            }
            let list: Value = Client::new(&client)?
                .get("/api/v1/incidents", &query)
                .await?;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            match out {
                Output::Json => print_json(&items),
                Output::Table => print_table(
                    &["#", "STATUS", "URGENCY", "SERVICE", "CREATED", "SUMMARY"],
                    items.iter().map(|i| {
                        vec![
                            format!("#{}", i["number"]),
                            s(&i["status"]),
                            s(&i["urgency"]),
                            s(&i["service"]),
                            time_ago(&i["created_at"]),
                            s(&i["summary"]),
                        ]
                    }),
                ),
            }
        }
        IncidentCommand::Show(a) => {
            let i: Value = Client::new(&a.client)?.get(&path(&a.id, ""), &[]).await?;
            match out {
                Output::Json => print_json(&i),
                Output::Table => {
                    outln!(
                        "#{} {} ({} urgency) on {}",
                        i["number"],
                        s(&i["status"]),
                        s(&i["urgency"]),
                        s(&i["service"])
                    );
                    outln!("{}\n", s(&i["summary"]));
                    print_table(
                        &["ALERT", "STATUS", "SEEN", "LAST SEEN", "SUMMARY"],
                        i["alerts"].as_array().into_iter().flatten().map(|a| {
                            vec![
                                s(&a["dedup_key"]),
                                s(&a["status"]),
                                format!("{}×", a["occurrences"]),
                                time(&a["last_seen"]),
                                s(&a["body"]["summary"]),
                            ]
                        }),
                    );
                    for a in i["alerts"].as_array().into_iter().flatten() {
                        print_alert_body(a);
                    }
                    outln!();
                    print_timeline(&i["timeline"]);
                }
            }
        }
        IncidentCommand::Stats {
            since,
            until,
            by,
            client,
        } => {
            let mut query = vec![("by", by)];
            if let Some(since) = since {
                query.push(("since", time_arg("--since", &since)?));
            }
            if let Some(until) = until {
                query.push(("until", time_arg("--until", &until)?));
            }
            let report: Value = Client::new(&client)?
                .get("/api/v1/analytics/incidents", &query)
                .await?;
            match out {
                Output::Json => print_json(&report),
                Output::Table => {
                    outln!("{} to {}", time(&report["since"]), time(&report["until"]));
                    let rows = report["rows"].as_array().cloned().unwrap_or_default();
                    let total = report["total"].clone();
                    print_table(
                        &[
                            report["by"]
                                .as_str()
                                .unwrap_or("key")
                                .to_uppercase()
                                .as_str(),
                            "INCIDENTS",
                            "ACKED",
                            "RESOLVED",
                            "MTTA",
                            "MTTR",
                        ],
                        rows.iter().chain(std::iter::once(&total)).map(|r| {
                            vec![
                                s(&r["key"]),
                                r["incidents"].to_string(),
                                r["acknowledged"].to_string(),
                                r["resolved"].to_string(),
                                duration(&r["mtta_seconds"]),
                                duration(&r["mttr_seconds"]),
                            ]
                        }),
                    );
                }
            }
        }
        IncidentCommand::Open {
            service,
            summary,
            severity,
            urgency,
            details,
            client,
        } => {
            let mut body = json!({ "service": service, "summary": summary });
            if let Some(s) = severity {
                body["severity"] = json!(s);
            }
            if let Some(u) = urgency {
                body["urgency"] = json!(u);
            }
            if let Some(d) = details.filter(|d| !d.trim().is_empty()) {
                body["details"] = json!(d);
            }
            let answer = Client::new(&client)?
                .post("/api/v1/incidents", &body)
                .await?;
            match out {
                Output::Json => print_json(&answer),
                Output::Table => outln!(
                    "#{} opened on {} ({} urgency).",
                    answer["number"],
                    s(&answer["service"]),
                    s(&answer["urgency"])
                ),
            }
        }
        IncidentCommand::Merge { into, from, client } => {
            let ids: Vec<i64> = from
                .iter()
                .map(|f| {
                    f.trim_start_matches('#')
                        .parse()
                        .map_err(|_| anyhow::anyhow!("{f:?} is not an incident number"))
                })
                .collect::<anyhow::Result<_>>()?;
            act(
                &client,
                &into,
                "merge",
                Some(json!({ "incidents": ids })),
                out,
            )
            .await?;
        }
        IncidentCommand::Ack(a) => act(&a.client, &a.id, "acknowledge", None, out).await?,
        IncidentCommand::Resolve(a) => act(&a.client, &a.id, "resolve", None, out).await?,
        IncidentCommand::Snooze {
            id,
            minutes,
            until,
            client,
        } => {
            let minutes = match until {
                Some(until) => minutes_until("--until", &until)?,
                None => i64::from(minutes),
            };
            act(
                &client,
                &id,
                "snooze",
                Some(json!({ "minutes": minutes })),
                out,
            )
            .await?
        }
        IncidentCommand::Escalate(a) => act(&a.client, &a.id, "escalate", None, out).await?,
        IncidentCommand::Reassign { id, to, client } => {
            act(&client, &id, "reassign", Some(json!({ "to": to })), out).await?
        }
        IncidentCommand::Alerts {
            held,
            service,
            limit,
            client,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            if held {
                query.push(("held", "true".into()));
            }
            if let Some(s) = service {
                query.push(("service", s));
            }
            let list: Value = Client::new(&client)?.get("/api/v1/alerts", &query).await?;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            match out {
                Output::Json => print_json(&items),
                Output::Table => print_table(
                    &[
                        "ALERT", "STATUS", "SERVICE", "INCIDENT", "SEEN", "HELD", "SUMMARY",
                    ],
                    items.iter().map(|a| {
                        vec![
                            s(&a["dedup_key"]),
                            s(&a["status"]),
                            s(&a["service"]),
                            a["incident"]
                                .as_i64()
                                .map(|n| format!("#{n}"))
                                .unwrap_or_else(|| "-".into()),
                            format!("{}×", a["occurrences"]),
                            s(&a["held"]),
                            s(&a["body"]["summary"]),
                        ]
                    }),
                ),
            }
        }
        IncidentCommand::Note { id, text, client } => {
            act(&client, &id, "notes", Some(json!({ "text": text })), out).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_owned()
}

/// Seconds as people read them: `45s`, `12m 30s`, `3h 5m`; `-` when there is none.
fn duration(v: &Value) -> String {
    let Some(secs) = v.as_f64() else {
        return "-".into();
    };
    domain::civil::duration(secs.round() as u64)
}

fn path(id: &str, action: &str) -> String {
    let id = id.trim_start_matches('#');
    if action.is_empty() {
        format!("/api/v1/incidents/{id}")
    } else {
        format!("/api/v1/incidents/{id}/{action}")
    }
}

async fn act(
    client: &ClientArgs,
    id: &str,
    action: &str,
    body: Option<Value>,
    out: Output,
) -> anyhow::Result<()> {
    let answer = Client::new(client)?
        .post(&path(id, action), &body.unwrap_or_else(|| json!({})))
        .await?;
    match out {
        Output::Json => print_json(&answer),
        Output::Table => match answer["snoozed_until"].as_str() {
            Some(until) if action == "snooze" => outln!(
                "#{} is {}, snoozed until {}.",
                answer["number"],
                s(&answer["status"]),
                crate::output::time_text(until)
            ),
            _ => outln!("#{} is {}.", answer["number"], s(&answer["status"])),
        },
    }
    Ok(())
}

/// One alert's body under the alerts table: its source, sender, details (nested keys
/// dotted, as the console shows them), links and image addresses.
fn print_alert_body(a: &Value) {
    let b = &a["body"];
    outln!("\nAlert {}:", s(&a["dedup_key"]));
    outln!("  source: {}", s(&b["source"]));
    for field in ["component", "group", "class"] {
        if let Some(v) = b[field].as_str() {
            outln!("  {field}: {v}");
        }
    }
    match (b["client"].as_str(), b["client_url"].as_str()) {
        (Some(c), Some(u)) => outln!("  sent by: {c} <{u}>"),
        (Some(c), None) => outln!("  sent by: {c}"),
        (None, Some(u)) => outln!("  sent by: <{u}>"),
        (None, None) => {}
    }
    let rows = server::console::alerts::detail_rows(&b["details"]);
    if !rows.is_empty() {
        outln!("  details:");
        for (k, v) in rows {
            outln!("    {k}: {}", v.replace('\n', "\n      "));
        }
    }
    let list = |title: &str, items: &Value, url: &str, text: &str| {
        let items = items.as_array().cloned().unwrap_or_default();
        if !items.is_empty() {
            outln!("  {title}:");
        }
        for item in items {
            match item[text].as_str() {
                Some(t) if !t.is_empty() => outln!("    {t} <{}>", s(&item[url])),
                _ => outln!("    <{}>", s(&item[url])),
            }
        }
    };
    list("links", &b["links"], "href", "text");
    list("images", &b["images"], "src", "alt");
}

/// The timeline in sentences, newest first as the console shows it, each with its time
/// in the local zone to the second, how long ago that was, and who did it; an escalation
/// step's notifications are listed under it, oldest first.
fn print_timeline(timeline: &Value) {
    let raw = timeline.as_array().cloned().unwrap_or_default();
    let lines: Vec<paging::timeline::Line<'_>> = raw
        .iter()
        .filter_map(|e| {
            Some(paging::timeline::Line {
                at: e["at"].as_str()?.parse().ok()?,
                kind: e["kind"].as_str().unwrap_or(""),
                actor: e["actor"].as_str().unwrap_or(""),
                data: &e["data"],
            })
        })
        .collect();
    let when = crate::output::instant_ago;
    let say =
        |parts: &[paging::timeline::Part]| paging::timeline::plain(parts, crate::output::instant);
    outln!("Timeline, newest first:");
    let entries = paging::timeline::timeline(&lines);
    if entries.is_empty() {
        outln!("  (none)");
    }
    for e in entries.iter().rev() {
        outln!("  {}, by {}:", when(e.at), say(&e.actor.byline()));
        outln!("    {}", say(&e.sentence));
        if let Some(quote) = &e.quote {
            for line in quote.lines() {
                outln!("      > {line}");
            }
        }
        for d in &e.deliveries {
            outln!("      - {}: {}", when(d.at), say(&d.sentence));
        }
    }
}
