//! `shinrai incident …`: incidents through a running server.

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::IncidentCommand;
use crate::client::{Client, ClientArgs};
use crate::output::{Output, print_json, print_table};

pub async fn run(cmd: IncidentCommand, out: Output) -> anyhow::Result<ExitCode> {
    match cmd {
        IncidentCommand::List {
            status,
            service,
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
                            s(&i["created_at"]),
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
                    println!(
                        "#{} {} ({} urgency) on {}",
                        i["number"],
                        s(&i["status"]),
                        s(&i["urgency"]),
                        s(&i["service"])
                    );
                    println!("{}\n", s(&i["summary"]));
                    print_table(
                        &["ALERT", "STATUS", "SEEN", "LAST SEEN", "SUMMARY"],
                        i["alerts"].as_array().into_iter().flatten().map(|a| {
                            vec![
                                s(&a["dedup_key"]),
                                s(&a["status"]),
                                format!("{}×", a["occurrences"]),
                                s(&a["last_seen"]),
                                s(&a["body"]["summary"]),
                            ]
                        }),
                    );
                    println!();
                    print_table(
                        &["AT", "WHAT", "WHO", "DETAIL"],
                        i["timeline"].as_array().into_iter().flatten().map(|e| {
                            let detail = e["data"]["text"]
                                .as_str()
                                .or_else(|| e["data"]["summary"].as_str())
                                .unwrap_or("")
                                .to_owned();
                            vec![s(&e["at"]), s(&e["kind"]), s(&e["actor"]), detail]
                        }),
                    );
                }
            }
        }
        IncidentCommand::Ack(a) => act(&a.client, &a.id, "acknowledge", None, out).await?,
        IncidentCommand::Resolve(a) => act(&a.client, &a.id, "resolve", None, out).await?,
        IncidentCommand::Note { id, text, client } => {
            act(&client, &id, "notes", Some(json!({ "text": text })), out).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_owned()
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
    let client = Client::new(client)?;
    let (status, answer) = client
        .send(reqwest::Method::POST, &path(id, action), &[], body.as_ref())
        .await?;
    if !status.is_success() {
        let msg = answer["message"]
            .as_str()
            .map_or_else(|| answer.to_string(), str::to_owned);
        anyhow::bail!("{status}: {msg}");
    }
    match out {
        Output::Json => print_json(&answer),
        Output::Table => println!("#{} is {}.", answer["number"], s(&answer["status"])),
    }
    Ok(())
}
