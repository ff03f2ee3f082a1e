//! `shinrai oncall …`: who is on call, rendered shifts, overrides — through a running
//! server.

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::OncallCommand;
use crate::client::{Client, success};
use crate::output::{Output, print_json, print_table};

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
            query.extend(at.map(|a| ("at", a)));
            query.extend(service.map(|s| ("service", s)));
            query.extend(schedule.map(|s| ("schedule", s)));
            query.extend(policy.map(|p| ("policy", p)));
            let view: Value = Client::new(&client)?.get("/api/v1/oncall", &query).await?;
            match out {
                Output::Json => print_json(&view),
                Output::Table => {
                    if let Some(levels) = view["levels"].as_array().filter(|l| !l.is_empty()) {
                        println!("{} at {}", s(&view["policy"]), s(&view["at"]));
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
                                    s(&r["until"]),
                                    s(&r["next_user"]),
                                    s(&r["next_start"]),
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
            query.extend(from.map(|f| ("from", f)));
            query.extend(to.map(|t| ("to", t)));
            let view: Value = Client::new(&client)?
                .get(&format!("/api/v1/schedules/{schedule}/shifts"), &query)
                .await?;
            match out {
                Output::Json => print_json(&view),
                Output::Table => {
                    println!(
                        "{} ({}), {} to {}",
                        s(&view["schedule"]),
                        s(&view["time_zone"]),
                        s(&view["from"]),
                        s(&view["to"])
                    );
                    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
                    for sh in view["shifts"].as_array().into_iter().flatten() {
                        rows.push((
                            s(&sh["start"]),
                            vec![
                                s(&sh["start"]),
                                s(&sh["end"]),
                                s(&sh["user"]),
                                s(&sh["source"]),
                            ],
                        ));
                    }
                    for g in view["gaps"].as_array().into_iter().flatten() {
                        rows.push((
                            s(&g["start"]),
                            vec![
                                s(&g["start"]),
                                s(&g["end"]),
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
            let made = Client::new(&client)?
                .post(
                    &format!("/api/v1/schedules/{schedule}/overrides"),
                    &json!({ "user": user, "start": from, "end": to }),
                )
                .await?;
            match out {
                Output::Json => print_json(&made),
                Output::Table => println!(
                    "Override {} made: {} is on call on {} from {} to {}.",
                    made["id"],
                    s(&made["user"]),
                    s(&made["schedule"]),
                    s(&made["start"]),
                    s(&made["end"])
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
                println!("Override {id} removed.");
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
