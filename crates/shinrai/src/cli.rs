//! The commands, their flags and help.
//!
//! Longer than 600 lines because clap's derive keeps every command, flag and help text in
//! one tree.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use domain::{Kind, Role};
use store::WriteContext;

use crate::client::{Client, ClientArgs};
use crate::output::{Output, outln, print_json, print_table, time_text};
use crate::settings::{StoreArgs, prepare_files, read_config};

/// shinrai — paging for SRE teams, in one binary: alerts from Alertmanager, Sentry,
/// Datadog, heartbeats or anything that speaks the PagerDuty Events API become incidents;
/// on-call schedules and escalation policies page the right person by email, Slack, SMS,
/// voice call, push or webhook; a web console and this CLI act on them; configuration
/// is code you validate, plan and apply.
///
/// Start:   shinrai serve                 (SQLite in ./shinrai-data, http://127.0.0.1:8080)
/// Demo:    shinrai serve --demo          (an example organisation paging in a minute)
/// Access:  shinrai token create --name me --role admin
/// Config:  shinrai validate config/ && shinrai plan config/ && shinrai apply config/
/// Respond: shinrai incident list, shinrai incident ack N, shinrai oncall who
#[derive(Parser, Debug)]
#[command(
    name = "shinrai",
    version,
    about,
    long_about,
    verbatim_doc_comment,
    propagate_version = true
)]
pub struct Cli {
    /// How to print results.
    #[arg(long, short, global = true, value_enum, default_value_t = Output::Table, env = "SHINRAI_OUTPUT")]
    pub output: Output,
    /// Show times in UTC, and read times typed without an offset as UTC, instead of in
    /// the local zone (TZ, or the system's). Tables show times to the second either
    /// way; `-o json` always prints the server's RFC 3339 instants unchanged.
    #[arg(long, global = true)]
    pub utc: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the platform: the HTTP API and background workers.
    Serve(Box<crate::serve::ServeArgs>),
    /// Check configuration files and report every problem as `file:line: field: message`.
    Validate {
        /// YAML files or folders of them.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Show what `apply` would change in the store: create, update, delete per object.
    Plan(ApplyArgs),
    /// Make the store match the configuration files, in one transaction.
    Apply(ApplyArgs),
    /// Manage API tokens (directly on the store; no server needed).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Users: list and show through a server; set a password on the store.
    #[command(subcommand)]
    User(UserCommand),
    /// Teams, through a running server.
    #[command(subcommand)]
    Team(ObjectCommand),
    /// Services, through a running server.
    #[command(subcommand)]
    Service(KeyedCommand),
    /// Who is on call, shifts and overrides, through a running server.
    #[command(subcommand)]
    Oncall(OncallCommand),
    /// On-call schedules, through a running server.
    #[command(subcommand)]
    Schedule(ObjectCommand),
    /// Escalation policies, through a running server.
    #[command(subcommand)]
    Policy(ObjectCommand),
    /// Team routers (one integration, rules that pick the service), through a running server.
    #[command(subcommand)]
    Router(KeyedCommand),
    /// Maintenance windows (alerts kept, nobody paged), through a running server.
    #[command(subcommand)]
    Maintenance(ObjectCommand),
    /// Incidents, through a running server: list, show, acknowledge, resolve, note.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// The key that seals stored secrets (directly on the store; stop the server first).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// The demo started by `shinrai serve --demo`.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Print shell completions: `shinrai completions bash > /etc/bash_completion.d/shinrai`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// YAML files or folders of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also delete objects managed by files that no longer declare them. Objects created
    /// through the API or console are never deleted.
    #[arg(long)]
    pub prune: bool,
    /// Plan or apply through this shinrai server instead of on the store directly
    /// (needs a global admin token).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// API token for --server.
    #[arg(
        long,
        env = "SHINRAI_TOKEN",
        hide_env_values = true,
        requires = "server"
    )]
    pub token: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token and print its secret, once. Only a hash is stored.
    Create {
        /// What the token is for (`ci-deploys`); unique.
        #[arg(long)]
        name: String,
        /// viewer, responder or admin.
        #[arg(long)]
        role: Role,
        /// Act as this user (by email or user name): the token holds the user's scopes,
        /// capped at --role.
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
        /// Limit the token to objects labelled with this company.
        #[arg(long, conflicts_with_all = ["team", "user"])]
        company: Option<String>,
        /// Limit the token to this team and what it owns.
        #[arg(long, conflicts_with = "user")]
        team: Option<String>,
        /// Expire after this many days.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token by name.
    Revoke {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// List users the token may see.
    List(ListArgs),
    /// Show one user.
    Show(ShowArgs),
    /// Set a user's console password, read from standard input (at least 12 characters).
    SetPassword {
        /// The user's name.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Send a test through every contact method of a person and say which work.
    TestNotify {
        /// The user's name or email address.
        user: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ObjectCommand {
    /// List the objects the token may see.
    List(ListArgs),
    /// Show one object.
    Show(ShowArgs),
}

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Reseal every stored secret with a new key, in one transaction. Stop shinrai (every
    /// node) first; then start it with the new key. The current key is read as `serve`
    /// reads it (--secret-key-file, SHINRAI_SECRET_KEY, or the file beside the data
    /// directory).
    RotateKey {
        /// The new key: read when the file exists, else generated and written there
        /// (readable only by its owner).
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
        #[command(flatten)]
        key: crate::secrets::SecretKeyArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// The verbs of kinds that have integration keys (services, routers).
#[derive(Subcommand, Debug)]
pub enum KeyedCommand {
    /// List the objects the token may see.
    List(ListArgs),
    /// Show one object. Integration keys show only to tokens that may manage it.
    Show(ShowArgs),
    /// Give an integration a new key. The old key keeps working for the server's
    /// overlap (--integration-key-overlap, 24 hours unless set), so senders can move
    /// over; after it, events with the old key are refused as from an unknown key.
    RotateKey {
        /// The service's (or router's) name.
        name: String,
        /// The integration whose key to rotate.
        #[arg(long)]
        integration: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum DemoCommand {
    /// Delete the demo's data directory (`./shinrai-demo`, or --data-dir). Stop the demo
    /// server first.
    Remove {
        /// The demo's data directory.
        #[arg(long, value_name = "DIR", default_value = "./shinrai-demo")]
        data_dir: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum OncallCommand {
    /// Who is on call now (or at --at): every schedule, or the levels of a service's or a
    /// policy's escalation.
    Who {
        /// The levels of this service's escalation policy.
        #[arg(long)]
        service: Option<String>,
        /// Only this schedule.
        #[arg(long)]
        schedule: Option<String>,
        /// The levels of this escalation policy.
        #[arg(long)]
        policy: Option<String>,
        /// When (default: now): `now`, `+2h`, `tomorrow 09:00`, `2026-12-24 09:00` in the
        /// local zone (TZ), or an RFC 3339 instant with its offset.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A schedule's shifts and gaps for a range.
    Shifts {
        schedule: String,
        /// From (default: now): `now`, `-1d`, `today 09:00`, `2026-12-24 09:00` in the
        /// local zone (TZ), or an RFC 3339 instant with its offset.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// To (default: a week after --from); the same forms as --from.
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Put someone on call on a schedule from --from to --to.
    Override {
        schedule: String,
        /// Who covers.
        #[arg(long)]
        user: String,
        /// Start: `now`, `+2h`, `tomorrow 09:00`, `2026-12-24 09:00` in the local zone
        /// (TZ), or an RFC 3339 instant with its offset.
        #[arg(long, value_name = "TIME")]
        from: String,
        /// End; the same forms as --from (`+8h` counts from now, not from --from).
        #[arg(long, value_name = "TIME")]
        to: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// People on schedules or escalation policies who cannot be reached, and why.
    Unreachable {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove an override (its id is in `shinrai oncall override`'s answer).
    Unoverride {
        schedule: String,
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// List incidents, newest first (open ones by default).
    List {
        /// triggered, acknowledged, resolved, or `all`; comma-separated.
        #[arg(long, default_value = "triggered,acknowledged")]
        status: String,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Only incidents every word of this matches: `key=value` is a label or custom
        /// detail with exactly that value; other words are found in the summary, the
        /// service, a dedup key or anything an alert says. ASCII letters in either case.
        #[arg(long)]
        search: Option<String>,
        /// newest (default), oldest, urgency (high first), status (triggered first) or
        /// updated (most recently changed first).
        #[arg(long)]
        sort: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Open an incident by hand: page a service's team now.
    Open {
        /// The service whose team is paged.
        #[arg(long)]
        service: String,
        /// What is wrong.
        #[arg(long)]
        summary: String,
        /// critical (default), error, warning or info.
        #[arg(long)]
        severity: Option<String>,
        /// high or low: page as urgently as this, whatever the severity gives.
        #[arg(long)]
        urgency: Option<String>,
        /// Anything else the responder should know, kept as the alert's custom details.
        #[arg(long)]
        details: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show an incident with its alerts and timeline.
    Show(IncidentArgs),
    /// Acknowledge: you are on it.
    Ack(IncidentArgs),
    /// Resolve the incident and its alerts.
    Resolve(IncidentArgs),
    /// Snooze an acknowledged incident: it pages again when the snooze ends.
    Snooze {
        /// The incident (#N or N).
        id: String,
        /// For how long, in minutes.
        #[arg(long, default_value_t = 60, conflicts_with = "until")]
        minutes: u32,
        /// Until this time instead (rounded up to the minute): `+2h`, `tomorrow 09:00`,
        /// `2026-12-24 09:00` in the local zone (TZ), or an RFC 3339 instant.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Escalate now: page again (an acknowledged incident goes back to triggered).
    Escalate(IncidentArgs),
    /// Assign the incident to other people; they are paged.
    Reassign {
        /// The incident (#N or N).
        id: String,
        /// The users to assign it to.
        #[arg(long = "to", required = true, value_name = "USER")]
        to: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List alerts, newest first; `--held` for those a maintenance window or flapping holds.
    Alerts {
        /// Only held alerts.
        #[arg(long)]
        held: bool,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Counts, mean time to acknowledge and to resolve, per service, product or company.
    Stats {
        /// From this time (default: 30 days ago): `-7d`, `yesterday 09:00`, `2026-12-01`
        /// (midnight in the local zone, TZ), or an RFC 3339 instant with its offset.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Until this time (default: now); the same forms as --since.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// service, product, company or all.
        #[arg(long, default_value = "service")]
        by: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Merge incidents into one: their alerts move to it and they resolve.
    Merge {
        /// The incident that stays (#N or N).
        into: String,
        /// The incidents merged into it.
        #[arg(required = true)]
        from: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a note to the timeline.
    Note {
        /// The incident number (#N or N).
        id: String,
        /// The note.
        text: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(clap::Args, Debug)]
pub struct IncidentArgs {
    /// The incident number (#N or N).
    pub id: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Label selector: `company=acme,product!=shop,tier`.
    #[arg(long, short = 'l')]
    pub selector: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    pub name: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = cli.output;
    crate::output::use_utc(cli.utc);
    match cli.command {
        Command::Serve(args) => crate::serve::serve(*args).await,
        Command::Validate { paths } => validate(&paths, out),
        Command::Plan(args) => apply(args, out, false).await,
        Command::Apply(args) => apply(args, out, true).await,
        Command::Token(cmd) => token(cmd, out).await,
        Command::User(UserCommand::List(a)) => list(Kind::User, a, out).await,
        Command::User(UserCommand::Show(a)) => show(Kind::User, a, out).await,
        Command::User(UserCommand::SetPassword { name, store }) => set_password(&name, store).await,
        Command::User(UserCommand::TestNotify { user, client }) => {
            crate::oncall::test_notify(&user, &client, out).await
        }
        Command::Team(ObjectCommand::List(a)) => list(Kind::Team, a, out).await,
        Command::Team(ObjectCommand::Show(a)) => show(Kind::Team, a, out).await,
        Command::Service(KeyedCommand::List(a)) => list(Kind::Service, a, out).await,
        Command::Service(KeyedCommand::Show(a)) => show(Kind::Service, a, out).await,
        Command::Service(KeyedCommand::RotateKey {
            name,
            integration,
            client,
        }) => rotate_key(Kind::Service, &name, &integration, &client, out).await,
        Command::Schedule(ObjectCommand::List(a)) => list(Kind::Schedule, a, out).await,
        Command::Schedule(ObjectCommand::Show(a)) => show(Kind::Schedule, a, out).await,
        Command::Policy(ObjectCommand::List(a)) => list(Kind::EscalationPolicy, a, out).await,
        Command::Policy(ObjectCommand::Show(a)) => show(Kind::EscalationPolicy, a, out).await,
        Command::Router(KeyedCommand::List(a)) => list(Kind::Router, a, out).await,
        Command::Router(KeyedCommand::Show(a)) => show(Kind::Router, a, out).await,
        Command::Router(KeyedCommand::RotateKey {
            name,
            integration,
            client,
        }) => rotate_key(Kind::Router, &name, &integration, &client, out).await,
        Command::Maintenance(ObjectCommand::List(a)) => list(Kind::MaintenanceWindow, a, out).await,
        Command::Maintenance(ObjectCommand::Show(a)) => show(Kind::MaintenanceWindow, a, out).await,
        Command::Incident(cmd) => crate::incidents::run(cmd, out).await,
        Command::Oncall(cmd) => crate::oncall::run(cmd, out).await,
        Command::Secrets(SecretsCommand::RotateKey {
            new_key_file,
            key,
            store,
        }) => crate::secrets::rotate_key(&key, &new_key_file, &store, out).await,
        Command::Demo(DemoCommand::Remove { data_dir }) => {
            crate::demo::remove(&data_dir, out).await
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "shinrai", &mut script);
            crate::output::write_stdout(&script);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn report_problems(problems: &[config::Problem], out: Output) {
    match out {
        Output::Json => print_json(&serde_json::json!({ "valid": false, "problems": problems })),
        Output::Table => {
            for p in problems {
                eprintln!("{p}");
            }
            eprintln!("{} problem(s) found; nothing was changed.", problems.len());
        }
    }
}

/// Checks files on their own (shape, values, references among them): every problem in
/// one run. It opens no store.
fn validate(paths: &[PathBuf], out: Output) -> anyhow::Result<ExitCode> {
    let (docs, problems) = config::check(&read_config(paths)?, &[], false);
    // Warnings (allowed, probably a mistake) never change the exit code.
    let warnings = config::warnings(&docs);
    if matches!(out, Output::Table) {
        for w in &warnings {
            eprintln!("{w}");
        }
    }
    if !problems.is_empty() {
        report_problems(&problems, out);
        return Ok(ExitCode::FAILURE);
    }
    match out {
        Output::Json => print_json(
            &serde_json::json!({ "valid": true, "documents": docs.len(), "warnings": warnings }),
        ),
        Output::Table => outln!("{} document(s) are valid.", docs.len()),
    }
    Ok(ExitCode::SUCCESS)
}

async fn apply(args: ApplyArgs, out: Output, commit: bool) -> anyhow::Result<ExitCode> {
    if let Some(server) = &args.server {
        return apply_remote(server, &args, out, commit).await;
    }
    let files = read_config(&args.paths)?;
    if !args.store.exists() {
        // A store that is not there yet holds nothing: the files are checked against
        // nothing before opening creates it, so that files with problems leave no empty
        // data directory behind.
        let (_, problems) = config::check(&files, &[], args.prune);
        if !problems.is_empty() {
            report_problems(&problems, out);
            return Ok(ExitCode::FAILURE);
        }
    }
    let opened = args.store.open_for_command(false).await?;
    let prepared = match prepare_files(&opened.store, &files, args.prune).await? {
        Ok(p) => p,
        Err(problems) => {
            report_problems(&problems, out);
            return Ok(ExitCode::FAILURE);
        }
    };
    let plan = if commit {
        let clock = runtime::SystemClock::shared();
        let ctx = WriteContext {
            actor: format!("system:apply({})", whoami()),
            at: clock.now(),
        };
        runtime::apply::commit(&opened.store, prepared, &ctx)
            .await
            .context("apply failed; nothing was changed")?
    } else {
        prepared.plan
    };
    opened.close().await;
    print_plan(&plan, out, commit);
    Ok(ExitCode::SUCCESS)
}

/// `plan|apply --server`: the files travel to the server, which plans (and applies) them.
async fn apply_remote(
    server: &str,
    args: &ApplyArgs,
    out: Output,
    commit: bool,
) -> anyhow::Result<ExitCode> {
    let files = read_config(&args.paths)?;
    let client = Client::new(&ClientArgs {
        server: server.to_owned(),
        token: args.token.clone(),
        data_dir: args.store.data_dir.clone(),
    })?;
    let body = serde_json::json!({
        "files": files.iter().map(|f| serde_json::json!({"path": f.path, "content": f.content})).collect::<Vec<_>>(),
        "prune": args.prune,
    });
    let path = if commit {
        "/api/v1/config/apply"
    } else {
        "/api/v1/config/plan"
    };
    let (status, answer) = client
        .send(reqwest::Method::POST, path, &[], Some(&body))
        .await?;
    if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY && answer["errors"].is_array() {
        let problems: Vec<config::Problem> = answer["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let location = e["location"].as_str().unwrap_or("");
                let (file, line) = location.rsplit_once(':').unwrap_or((location, "0"));
                config::Problem {
                    location: config::Location {
                        file: file.to_owned(),
                        line: line.parse().unwrap_or(0),
                    },
                    path: e["field"].as_str().unwrap_or("").to_owned(),
                    message: e["message"].as_str().unwrap_or("").to_owned(),
                }
            })
            .collect();
        report_problems(&problems, out);
        return Ok(ExitCode::FAILURE);
    }
    let answer = crate::client::success(status, answer)?;
    let plan: config::Plan = serde_json::from_value(answer["plan"].clone())
        .context("the server's plan is not in the expected shape")?;
    print_plan(&plan, out, commit);
    Ok(ExitCode::SUCCESS)
}

fn print_plan(plan: &config::Plan, out: Output, applied: bool) {
    match out {
        Output::Json => print_json(&serde_json::json!({ "applied": applied, "plan": plan })),
        Output::Table => {
            outln!("{plan}");
            if applied && !plan.is_empty() {
                outln!("Applied.");
            }
        }
    }
}

/// The operating-system user running a command, for the audit log.
fn whoami() -> String {
    // The binary's settings home may read the environment.
    #[allow(clippy::disallowed_methods)]
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"));
    user.unwrap_or_else(|_| "cli".into())
}

async fn token(cmd: TokenCommand, out: Output) -> anyhow::Result<ExitCode> {
    let clock = runtime::SystemClock::shared();
    let actor = format!("system:cli({})", whoami());
    match cmd {
        TokenCommand::Create {
            name,
            role,
            user,
            company,
            team,
            expires_in_days,
            store,
        } => {
            let opened = store.open_for_command(false).await?;
            let user_name = match user {
                Some(u) => Some(find_user(&opened.store, &u).await?),
                None => None,
            };
            let input = server::api::tokens::TokenInput {
                name,
                role,
                company,
                team,
                user: user_name.map(|n| n.to_string()),
                expires_in_days,
            };
            let (token, secret) =
                server::api::tokens::new_token(&domain::Principal::system(), input, clock.now())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            let record = opened
                .store
                .create_token(
                    token,
                    &WriteContext {
                        actor,
                        at: clock.now(),
                    },
                )
                .await?;
            opened.close().await;
            match out {
                Output::Json => {
                    print_json(&serde_json::json!({ "name": record.name, "token": secret }))
                }
                Output::Table => {
                    outln!("{secret}");
                    eprintln!(
                        "Token {} created. This is the only time its secret is shown; store it now.",
                        record.name
                    );
                }
            }
        }
        TokenCommand::List { store } => {
            let opened = store.open_for_command(false).await?;
            let tokens = opened.store.list_tokens().await?;
            opened.close().await;
            let views: Vec<server::api::tokens::TokenView> =
                tokens.into_iter().map(Into::into).collect();
            match out {
                Output::Json => print_json(&views),
                Output::Table => print_table(
                    &["NAME", "GRANTS", "USER", "CREATED", "EXPIRES", "REVOKED"],
                    views.iter().map(|t| {
                        vec![
                            t.name.clone(),
                            t.grants
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", "),
                            t.user.clone().unwrap_or_default(),
                            time_text(&t.created_at),
                            t.expires_at
                                .as_deref()
                                .map_or_else(|| "never".into(), time_text),
                            time_text(t.revoked_at.as_deref().unwrap_or_default()),
                        ]
                    }),
                ),
            }
        }
        TokenCommand::Revoke { name, store } => {
            let opened = store.open_for_command(false).await?;
            let record = opened
                .store
                .revoke_token(
                    &name,
                    &WriteContext {
                        actor,
                        at: clock.now(),
                    },
                )
                .await?;
            opened.close().await;
            match out {
                Output::Json => print_json(&server::api::tokens::TokenView::from(record)),
                Output::Table => outln!("Token {name} revoked."),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Finds a user by email or by name.
async fn find_user(
    store: &std::sync::Arc<dyn store::Store>,
    who: &str,
) -> anyhow::Result<domain::Name> {
    let users = store.snapshot(&[Kind::User]).await?;
    users
        .into_iter()
        .find(|u| {
            u.name.as_str() == who
                || u.spec.get("email").and_then(|e| e.as_str()).is_some_and(|e| e.eq_ignore_ascii_case(who))
        })
        .map(|u| u.name)
        .with_context(|| format!("no user with email or name {who:?}; create the user first (a User document and `shinrai apply`)"))
}

async fn set_password(name: &str, store: StoreArgs) -> anyhow::Result<ExitCode> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    if password.chars().count() < 12 {
        anyhow::bail!("the password must be at least 12 characters");
    }
    let opened = store.open_for_command(false).await?;
    let user = find_user(&opened.store, name).await?;
    let hash = server::api::session::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?;
    let clock = runtime::SystemClock::shared();
    opened
        .store
        .set_password(
            &user,
            &hash,
            &WriteContext {
                actor: format!("system:cli({})", whoami()),
                at: clock.now(),
            },
        )
        .await?;
    opened.close().await;
    eprintln!("Password of {user} set.");
    Ok(ExitCode::SUCCESS)
}

async fn list(kind: Kind, args: ListArgs, out: Output) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.client)?;
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut query = vec![("limit", "500".to_owned())];
        if let Some(s) = &args.selector {
            query.push(("selector", s.clone()));
        }
        if let Some(a) = &after {
            query.push(("after", a.clone()));
        }
        let page: serde_json::Value = client
            .get(&format!("/api/v1/{}", kind.plural()), &query)
            .await?;
        if let Some(arr) = page["items"].as_array() {
            items.extend(arr.iter().cloned());
        }
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    match out {
        Output::Json => print_json(&items),
        Output::Table => {
            let labels = |o: &serde_json::Value| {
                o["metadata"]["labels"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default()
            };
            let managed = |o: &serde_json::Value| {
                o["metadata"]["managed_by"]
                    .as_str()
                    .unwrap_or("api")
                    .to_owned()
            };
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
            match kind {
                Kind::User => print_table(
                    &[
                        "NAME",
                        "FULL NAME",
                        "EMAIL",
                        "TIME ZONE",
                        "LABELS",
                        "MANAGED BY",
                    ],
                    items.iter().map(|o| {
                        vec![
                            s(&o["metadata"]["name"]),
                            s(&o["spec"]["full_name"]),
                            s(&o["spec"]["email"]),
                            s(&o["spec"]["time_zone"]),
                            labels(o),
                            managed(o),
                        ]
                    }),
                ),
                Kind::Team => print_table(
                    &["NAME", "MEMBERS", "LABELS", "MANAGED BY"],
                    items.iter().map(|o| {
                        let members = o["spec"]["members"]
                            .as_array()
                            .map_or(0, Vec::len)
                            .to_string();
                        vec![s(&o["metadata"]["name"]), members, labels(o), managed(o)]
                    }),
                ),
                Kind::Schedule => print_table(
                    &[
                        "NAME",
                        "TIME ZONE",
                        "LAYERS",
                        "PEOPLE",
                        "LABELS",
                        "MANAGED BY",
                    ],
                    items.iter().map(|o| {
                        let layers = o["spec"]["layers"].as_array().cloned().unwrap_or_default();
                        let mut people: Vec<&str> = layers
                            .iter()
                            .flat_map(|l| l["users"].as_array().into_iter().flatten())
                            .filter_map(|u| u.as_str())
                            .collect();
                        people.sort_unstable();
                        people.dedup();
                        vec![
                            s(&o["metadata"]["name"]),
                            s(&o["spec"]["time_zone"]),
                            layers.len().to_string(),
                            people.join(","),
                            labels(o),
                            managed(o),
                        ]
                    }),
                ),
                Kind::EscalationPolicy => print_table(
                    &["NAME", "TEAM", "LEVELS", "REPEAT", "LABELS", "MANAGED BY"],
                    items.iter().map(|o| {
                        let levels = o["spec"]["levels"]
                            .as_array()
                            .map_or(0, Vec::len)
                            .to_string();
                        vec![
                            s(&o["metadata"]["name"]),
                            s(&o["spec"]["team"]),
                            levels,
                            o["spec"]["repeat"].to_string(),
                            labels(o),
                            managed(o),
                        ]
                    }),
                ),
                Kind::Router => print_table(
                    &["NAME", "TEAM", "RULES", "DEFAULT", "LABELS", "MANAGED BY"],
                    items.iter().map(|o| {
                        let rules = o["spec"]["rules"]
                            .as_array()
                            .map_or(0, Vec::len)
                            .to_string();
                        vec![
                            s(&o["metadata"]["name"]),
                            s(&o["spec"]["team"]),
                            rules,
                            s(&o["spec"]["default"]),
                            labels(o),
                            managed(o),
                        ]
                    }),
                ),
                Kind::MaintenanceWindow => print_table(
                    &[
                        "NAME",
                        "START",
                        "MINUTES",
                        "TIME ZONE",
                        "REPEATS",
                        "COVERS",
                        "MANAGED BY",
                    ],
                    items.iter().map(|o| {
                        let covers = match o["spec"]["services"].as_array() {
                            Some(names) if !names.is_empty() => names
                                .iter()
                                .filter_map(|n| n.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                            _ => s(&o["spec"]["selector"]),
                        };
                        vec![
                            s(&o["metadata"]["name"]),
                            s(&o["spec"]["start"]),
                            o["spec"]["duration_minutes"].to_string(),
                            s(&o["spec"]["time_zone"]),
                            s(&o["spec"]["rrule"]),
                            covers,
                            managed(o),
                        ]
                    }),
                ),
                Kind::Service => print_table(
                    &["NAME", "OWNER", "TIER", "LABELS", "MANAGED BY"],
                    items.iter().map(|o| {
                        let tier = o["spec"]["tier"]
                            .as_u64()
                            .map(|t| t.to_string())
                            .unwrap_or_default();
                        vec![
                            s(&o["metadata"]["name"]),
                            s(&o["spec"]["owner_team"]),
                            tier,
                            labels(o),
                            managed(o),
                        ]
                    }),
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A row per layer of a schedule: who takes turns, how often, from when, and the time
/// zone its times are in (its own, or the schedule's).
fn schedule_layers(spec: &serde_json::Value) -> Vec<Vec<String>> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let Some(layers) = spec["layers"].as_array() else {
        return Vec::new();
    };
    layers
        .iter()
        .map(|l| {
            let users: Vec<String> = l["users"]
                .as_array()
                .map(|u| u.iter().map(text).collect())
                .unwrap_or_default();
            let zone = l["time_zone"]
                .as_str()
                .map_or_else(|| text(&spec["time_zone"]), str::to_owned);
            let mut what = format!(
                "{} take turns of {} from {} ({zone})",
                users.join(", "),
                text(&l["rotation"]),
                text(&l["start"]),
            );
            if let Some(windows) = l["restrictions"].as_array().filter(|r| !r.is_empty()) {
                let windows: Vec<String> = windows
                    .iter()
                    .map(|w| format!("{}–{}", text(&w["start"]), text(&w["end"])))
                    .collect();
                what.push_str(&format!(", only {}", windows.join(", ")));
            }
            vec![format!("layer {}", text(&l["name"])), what]
        })
        .collect()
}

async fn show(kind: Kind, args: ShowArgs, out: Output) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.client)?;
    let obj: serde_json::Value = client
        .get(&format!("/api/v1/{}/{}", kind.plural(), args.name), &[])
        .await?;
    match out {
        Output::Json => print_json(&obj),
        Output::Table => {
            let mut rows = vec![
                vec!["kind".to_owned(), kind.to_string()],
                vec![
                    "name".to_owned(),
                    obj["metadata"]["name"].as_str().unwrap_or("").to_owned(),
                ],
                vec!["labels".to_owned(), obj["metadata"]["labels"].to_string()],
                vec!["version".to_owned(), obj["metadata"]["version"].to_string()],
                vec![
                    "managed by".to_owned(),
                    obj["metadata"]["managed_by"]
                        .as_str()
                        .unwrap_or("api")
                        .to_owned(),
                ],
            ];
            if let Some(spec) = obj["spec"].as_object() {
                for (k, v) in spec {
                    rows.push(vec![
                        format!("spec.{k}"),
                        match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        },
                    ]);
                }
            }
            if kind == Kind::Schedule {
                rows.extend(schedule_layers(&obj["spec"]));
            }
            if let Some(integrations) = obj["status"]["integrations"].as_object() {
                for (name, i) in integrations {
                    rows.push(vec![
                        format!("integration {name} ({})", i["type"].as_str().unwrap_or("")),
                        match i["key"].as_str() {
                            Some(key) => format!("key {key}"),
                            None => "key hidden (needs the admin role over it)".to_owned(),
                        },
                    ]);
                    if let (Some(previous), Some(at)) =
                        (i["previous_key"].as_str(), i["rotated_at"].as_str())
                    {
                        rows.push(vec![
                            format!("integration {name} previous key"),
                            format!("{previous} (rotated out at {})", time_text(at)),
                        ]);
                    }
                }
            }
            print_table(&["FIELD", "VALUE"], rows.into_iter());
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn rotate_key(
    kind: Kind,
    name: &str,
    integration: &str,
    args: &ClientArgs,
    out: Output,
) -> anyhow::Result<ExitCode> {
    let client = Client::new(args)?;
    let obj = client
        .post(
            &format!(
                "/api/v1/{}/{name}/integrations/{integration}/rotate",
                kind.plural()
            ),
            &serde_json::json!({}),
        )
        .await?;
    let entry = &obj["status"]["integrations"][integration];
    match out {
        Output::Json => print_json(&obj),
        Output::Table => {
            outln!(
                "{kind} {name}: integration {integration} has the key {}",
                entry["key"].as_str().unwrap_or("")
            );
            outln!(
                "The previous key keeps working for the server's overlap after {}; move senders to the new key before then.",
                entry["rotated_at"]
                    .as_str()
                    .map_or_else(|| "now".into(), time_text)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
