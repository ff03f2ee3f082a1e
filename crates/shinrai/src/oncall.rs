//! `shinrai oncall …`: who is on call, rendered shifts, overrides — through a running
//! server.

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::OncallCommand;
use crate::client::{Client, ClientArgs, success};
use crate::output::{Output, outln, print_json, print_table, time, time_ago, time_arg};

pub async fn run(cmd: OncallCommand, out: Output) -> anyhow::Result<ExitCode> {
    match cmd {
        OncallCommand::Who {
            service,
            schedule,
            policy,
            at,
            client,
        } => {
            let mut query = Vec::new();
            if let Some(a) = at {
                query.push(("at", time_arg("--at", &a)?));
            }
            query.extend(service.map(|s| ("service", s)));
            query.extend(schedule.map(|s| ("schedule", s)));
            query.extend(policy.map(|p| ("policy", p)));
            let view: Value = Client::new(&client)?.get("/api/v1/oncall", &query).await?;
            match out {
                Output::Json => print_json(&view),
                Output::Table => {
                    if let Some(levels) = view["levels"].as_array().filter(|l| !l.is_empty()) {
                        outln!("{} at {}", s(&view["policy"]), time(&view["at"]));
                        print_table(
                            &["LEVEL", "PAGES", "SKIPPED"],
                            levels.iter().map(|l| {
                                vec![
                                    l["level"].to_string(),
                                    join(&l["people"]),
                                    join(&l["skipped"]),
                                ]
                            }),
                        );
                    } else {
                        print_table(
                            &["SCHEDULE", "ON CALL", "UNTIL", "NEXT", "FROM"],
                            view["schedules"].as_array().into_iter().flatten().map(|r| {
                                vec![
                                    s(&r["schedule"]),
                                    r["user"].as_str().unwrap_or("(nobody)").to_owned(),
                                    time_ago(&r["until"]),
                                    s(&r["next_user"]),
                                    time(&r["next_start"]),
                                ]
                            }),
                        );
                    }
                }
            }
        }
        OncallCommand::Shifts {
            schedule,
            from,
            to,
            client,
        } => {
            let mut query = Vec::new();
            if let Some(f) = from {
                query.push(("from", time_arg("--from", &f)?));
            }
            if let Some(t) = to {
                query.push(("to", time_arg("--to", &t)?));
            }
            let view: Value = Client::new(&client)?
                .get(&format!("/api/v1/schedules/{schedule}/shifts"), &query)
                .await?;
            match out {
                Output::Json => print_json(&view),
                Output::Table => {
                    outln!(
                        "{} ({}), {} to {}",
                        s(&view["schedule"]),
                        s(&view["time_zone"]),
                        time(&view["from"]),
                        time(&view["to"])
                    );
                    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
                    for sh in view["shifts"].as_array().into_iter().flatten() {
                        rows.push((
                            s(&sh["start"]),
                            vec![
                                time(&sh["start"]),
                                time(&sh["end"]),
                                s(&sh["user"]),
                                s(&sh["source"]),
                            ],
                        ));
                    }
                    for g in view["gaps"].as_array().into_iter().flatten() {
                        rows.push((
                            s(&g["start"]),
                            vec![
                                time(&g["start"]),
                                time(&g["end"]),
                                "(nobody: a gap)".into(),
                                String::new(),
                            ],
                        ));
                    }
                    rows.sort_by(|a, b| a.0.cmp(&b.0));
                    print_table(
                        &["FROM", "TO", "ON CALL", "LAYER"],
                        rows.into_iter().map(|r| r.1),
                    );
                }
            }
        }
        OncallCommand::Override {
            schedule,
            user,
            from,
            to,
            client,
        } => {
            let (from, to) = (time_arg("--from", &from)?, time_arg("--to", &to)?);
            let made = Client::new(&client)?
                .post(
                    &format!("/api/v1/schedules/{schedule}/overrides"),
                    &json!({ "user": user, "start": from, "end": to }),
                )
                .await?;
            match out {
                Output::Json => print_json(&made),
                Output::Table => outln!(
                    "Override {} made: {} is on call on {} from {} to {}.",
                    made["id"],
                    s(&made["user"]),
                    s(&made["schedule"]),
                    time(&made["start"]),
                    time(&made["end"])
                ),
            }
        }
        OncallCommand::Unreachable { client } => {
            let list: Value = Client::new(&client)?
                .get("/api/v1/oncall/unreachable", &[])
                .await?;
            match out {
                Output::Json => print_json(&list["items"]),
                Output::Table => print_table(
                    &["PERSON", "PAGED BY", "WHY"],
                    list["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|u| vec![s(&u["user"]), join(&u["on"]), join(&u["reasons"])]),
                ),
            }
        }
        OncallCommand::Unoverride {
            schedule,
            id,
            client,
        } => {
            let (status, answer) = Client::new(&client)?
                .send(
                    reqwest::Method::DELETE,
                    &format!("/api/v1/schedules/{schedule}/overrides/{id}"),
                    &[],
                    None,
                )
                .await?;
            success(status, answer)?;
            if matches!(out, Output::Table) {
                outln!("Override {id} removed.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_owned()
}

fn join(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `shinrai user test-notify NAME_OR_EMAIL`.
pub async fn test_notify(user: &str, client: &ClientArgs, out: Output) -> anyhow::Result<ExitCode> {
    let c = Client::new(client)?;
    let name = if user.contains('@') {
        let list: Value = c.get("/api/v1/users", &[("limit", "1000".into())]).await?;
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| u["spec"]["email"].as_str() == Some(user))
            .and_then(|u| u["metadata"]["name"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no user you may see has the email address {user}"))?
    } else {
        user.to_owned()
    };
    let report = c
        .post(
            &format!("/api/v1/users/{name}/test-notification"),
            &json!({}),
        )
        .await?;
    let results = report["results"].as_array().cloned().unwrap_or_default();
    match out {
        Output::Json => print_json(&report),
        Output::Table => print_table(
            &["CONTACT", "CHANNEL", "ADDRESS", "WORKS", "DETAIL"],
            results.iter().map(|r| {
                vec![
                    s(&r["contact"]),
                    s(&r["channel"]),
                    s(&r["address"]),
                    if r["ok"] == true {
                        "yes".into()
                    } else {
                        "NO".into()
                    },
                    s(&r["detail"]),
                ]
            }),
        ),
    }
    // A person nobody can reach is worth a failing exit code in scripts.
    Ok(if results.iter().any(|r| r["ok"] == true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
