//! `shinrai serve`: the platform.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use runtime::{InstrumentedStore, SystemClock};
use store::WriteContext;

use crate::cli::LogFormat;
use crate::settings::{prepare_files, read_config};

mod args;
pub use args::ServeArgs;

/// How long a shutdown waits for background workers to finish their round.
const DRAIN: Duration = Duration::from_secs(30);

fn init_logging(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("--log {filter:?} is not a valid filter"))?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install logging: {e}"))
}

pub async fn serve(mut args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format, &args.log)?;
    let clock = SystemClock::shared();
    if args.demo && args.store.data_dir.is_none() && args.store.database_url.is_none() {
        args.store.data_dir = Some(crate::demo::DATA_DIR.into());
    }
    let opened = args.store.open(true).await?;
    let store = InstrumentedStore::wrap(opened.store.clone(), clock.clone());
    // Stored secrets are sealed with the key from settings; a node with another key
    // stops here, and secrets from before sealing are sealed now.
    let secret_key = args
        .secrets
        .key
        .key_for(&args.store, store.as_ref())
        .await?;
    let sealed = runtime::sealed::prepare(store.as_ref(), &secret_key, clock.now())
        .await
        .context("cannot start")?;
    if sealed > 0 {
        tracing::info!(
            count = sealed,
            "sealed stored secrets that were in plain text"
        );
    }
    if args.demo {
        crate::demo::prepare(&store, clock.now()).await?;
    }

    if let Some(path) = &args.config {
        let files = read_config(std::slice::from_ref(path))?;
        let prepared = match prepare_files(&store, &files, false).await? {
            Ok(p) => p,
            Err(problems) => {
                for p in &problems {
                    eprintln!("{p}");
                }
                anyhow::bail!(
                    "{} problem(s) in --config {}; not starting",
                    problems.len(),
                    path.display()
                );
            }
        };
        let ctx = WriteContext {
            actor: "system:config".into(),
            at: clock.now(),
        };
        let plan = runtime::apply::commit(&store, prepared, &ctx).await?;
        let (c, u, d) = plan.counts();
        tracing::info!(created = c, updated = u, deleted = d, path = %path.display(), "configuration applied");
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another process using it? Try --listen 127.0.0.1:0",
                args.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let settings = server::Settings {
        public_url,
        max_body_bytes: args.max_body_bytes,
        event_rate_limit: args.event_rate_limit,
        secrets: secrets_from_environment(),
        slack_api_url: args.slack_api_url.clone(),
        connections: server::listen::Limits {
            header_read_timeout: Duration::from_secs(args.http_header_timeout),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        },
        trusted_proxies: args.trusted_proxies.clone(),
        console_image_hosts: args.console_image_hosts.clone(),
        integration_key_overlap: args.secrets.integration_key_overlap,
        secret_key: secret_key.clone(),
        ..server::Settings::default()
    };
    // Every background worker starts, restarts after a panic, and stops through one
    // supervisor; the event writer wakes the timer worker, which wakes the channels.
    let mut supervisor = runtime::supervisor::Supervisor::new();
    let mut state =
        server::AppState::supervised(store.clone(), clock.clone(), settings, &mut supervisor);
    let wake = state.wake.clone();
    let sweeper = runtime::workers::SessionSweeper {
        store: store.clone(),
        clock: clock.clone(),
    };
    supervisor.spawn("session sweep", move |stop| {
        sweeper.clone().run(Duration::from_secs(300), stop)
    });
    let timers = runtime::timers::TimerWorker {
        store: store.clone(),
        clock: clock.clone(),
        owner: format!(
            "{}:{}",
            std::process::id(),
            &runtime::entropy::secret("")[..8]
        ),
        lease: Duration::from_secs(args.lease_seconds),
    };
    let woken = wake.clone();
    supervisor.spawn("timers", move |stop| {
        timers
            .clone()
            .run_waking(Duration::from_secs(1), woken.clone(), stop)
    });
    let watch = runtime::workers::SelfWatch {
        store: store.clone(),
        clock: clock.clone(),
        heartbeat_url: args.heartbeat_url.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot make an HTTP client")?,
    };
    let backlog = runtime::workers::Backlog {
        store: store.clone(),
        clock: clock.clone(),
    };
    supervisor.spawn("backlog gauges", move |stop| {
        backlog.clone().run(Duration::from_secs(1), stop)
    });
    supervisor.spawn("self-watch", move |stop| {
        watch.clone().run(Duration::from_secs(60), stop)
    });
    // Configuration changed through another node (or a command on the store) empties
    // this node's lookup caches within the feed's second.
    let feed = runtime::changes::ChangeFeed::new(store.clone());
    let changed = feed.subscribe();
    let (keys, windows, routers) = (
        state.key_cache.clone(),
        state.maintenance.clone(),
        state.routers.clone(),
    );
    supervisor.spawn("cache invalidation", move |mut stop| {
        let mut changed = changed.clone();
        let (keys, windows, routers) = (keys.clone(), windows.clone(), routers.clone());
        async move {
            loop {
                tokio::select! {
                    moved = changed.changed() => {
                        if moved.is_err() {
                            return;
                        }
                        keys.clear();
                        windows.clear();
                        routers.clear();
                    }
                    _ = runtime::workers::stopped(&mut stop) => return,
                }
            }
        }
    });
    supervisor.spawn("change feed", move |stop| {
        feed.clone().run(runtime::changes::EVERY, stop)
    });
    let link_secret = runtime::sealed::server_secret(
        store.as_ref(),
        &secret_key,
        runtime::links::SECRET_NAME,
        clock.now(),
    )
    .await
    .context("cannot read the link-signing secret from the store")?;
    let channels = channels(
        &args,
        &state.settings,
        link_secret.into_bytes(),
        clock.clone(),
    )?;
    state.channels = channels.clone();
    for channel in channels {
        let worker = runtime::notify::OutboxWorker {
            store: store.clone(),
            clock: clock.clone(),
            channel,
            owner: format!(
                "{}:{}",
                std::process::id(),
                &runtime::entropy::secret("")[..8]
            ),
            lease: Duration::from_secs(args.lease_seconds),
            max_attempts: 8,
            send_timeout: Duration::from_secs((args.lease_seconds / 2).clamp(1, 30)),
        };
        let woken = wake.clone();
        let name = worker.channel.name();
        let concurrency = args
            .channel_concurrency
            .iter()
            .rev()
            .find(|(c, _)| c == name)
            .map_or_else(|| runtime::notify::default_concurrency(name), |(_, n)| *n);
        supervisor.spawn(format!("outbox {name}"), move |stop| {
            worker
                .clone()
                .run_waking(Duration::from_secs(1), concurrency, woken.clone(), stop)
        });
    }

    if store
        .list_tokens()
        .await
        .map(|t| t.is_empty())
        .unwrap_or(false)
    {
        tracing::info!(
            "no API tokens yet; create one with: shinrai token create --name admin --role admin"
        );
    }
    tracing::info!(store = %opened.describe, %addr, "shinrai serving");
    let signals = shutdown_signals()?;
    // One line on standard output with the bound address, so scripts and tests that
    // listen on port 0 learn where to connect.
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "shinrai listening on http://{addr}");
        let _ = out.flush();
    }
    if args.demo {
        // Whoever started shinrai may have stopped reading its output: a closed pipe must
        // not stop the server.
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "demo: sign in at {}/login as {} with the password {}",
            state.settings.public_url,
            crate::demo::USER_EMAIL,
            crate::demo::PASSWORD
        );
        // The commands that work against this demo, as they are: its address and its
        // store, not the defaults other commands use.
        let _ = writeln!(out, "demo: use the command line against this demo with");
        let _ = writeln!(out, "  export SHINRAI_SERVER=http://{addr}");
        let _ = writeln!(
            out,
            "  export SHINRAI_TOKEN=$(shinrai token create --name demo-cli --role admin {})",
            args.store.flag()
        );
        let remove = match &args.store.data_dir {
            Some(dir) if args.store.database_url.is_none() => format!(
                "shinrai demo remove --data-dir {}",
                crate::settings::shell_word(&dir.display().to_string())
            ),
            _ => "shinrai demo remove".to_owned(),
        };
        let _ = writeln!(out, "demo: remove its data with `{remove}` once stopped");
        let _ = out.flush();
        let url = format!("http://{addr}");
        supervisor.spawn("demo sender", move |stop| {
            crate::demo::sender(url.clone(), Duration::from_secs(20), stop)
        });
    }

    let mut shutdown_rx = supervisor.shutdown();
    let stop = supervisor.stopper();
    tokio::spawn(async move {
        signals.await;
        stop();
    });
    server::run(listener, state, async move {
        runtime::workers::stopped(&mut shutdown_rx).await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
    .await
    .context("the HTTP server failed")?;
    // Workers finish their round (the event writer answers every event it accepted).
    supervisor.drain(DRAIN).await;
    opened.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Registers for SIGTERM and SIGINT now, and returns a future that completes on either.
/// Registering before the address is printed matters: whoever starts shinrai may stop it
/// as soon as it says where it listens, and an unhandled SIGTERM kills without shutdown.
#[cfg(unix)]
fn shutdown_signals() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signals() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Named secrets from `SHINRAI_SECRET_*` variables: `SHINRAI_SECRET_SENTRY_WEB` is the
/// secret `sentry-web`.
fn secrets_from_environment() -> std::collections::HashMap<String, String> {
    #[allow(clippy::disallowed_methods)] // The binary is the environment's one reader.
    let vars = std::env::vars();
    vars.filter_map(|(k, v)| {
        // The sealing key's own variables are settings, not named secrets.
        if crate::secrets::KEY_VARIABLES.contains(&k.as_str()) {
            return None;
        }
        let name = k.strip_prefix("SHINRAI_SECRET_")?;
        Some((name.to_ascii_lowercase().replace('_', "-"), v))
    })
    .collect()
}

/// One sender per channel, so a slow or failing one never delays another.
fn channels(
    args: &ServeArgs,
    settings: &server::Settings,
    link_secret: Vec<u8>,
    clock: Arc<dyn runtime::Clock>,
) -> anyhow::Result<Vec<Arc<dyn runtime::notify::Channel>>> {
    use runtime::notify::{Email, Unconfigured, Webhook};
    let email: Arc<dyn runtime::notify::Channel> = match &args.smtp_url {
        None if args.demo => Arc::new(runtime::notify::Inbox::new(
            &settings.public_url,
            link_secret.clone(),
            clock.clone(),
        )),
        Some(url) => Arc::new(
            Email::new(
                url,
                &args.mail_from,
                &settings.public_url,
                link_secret.clone(),
                clock.clone(),
            )
            .map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?,
        ),
        None => Arc::new(Unconfigured {
            channel: "email",
            hint: "start shinrai with --smtp-url (SHINRAI_SMTP_URL)",
        }),
    };
    // Providers the operator configured (Twilio, ntfy, Slack) are reached directly; the
    // URLs users choose (webhooks) go through the egress policy.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .context("cannot make an HTTP client")?;
    let mut allow = args.egress_allow_notifications.clone();
    if args.demo {
        allow.extend(runtime::net::Cidr::loopback());
    }
    let egress = runtime::egress::Client::new(
        runtime::egress::Policy::new(runtime::egress::Purpose::Notifications, allow),
        Duration::from_secs(20),
    )
    .map_err(anyhow::Error::msg)?;
    let secret = |name: &str| settings.secrets.get(name).cloned();
    let twilio = match (
        &args.twilio_from,
        secret("twilio-account-sid"),
        secret("twilio-auth-token"),
    ) {
        (Some(from), Some(account_sid), Some(auth_token)) => {
            Some(Arc::new(runtime::notify::Twilio {
                http: http.clone(),
                base_url: args.twilio_url.clone(),
                account_sid,
                auth_token,
                from: from.clone(),
                public_url: settings.public_url.clone(),
                link_secret: link_secret.clone(),
                clock: clock.clone(),
            }))
        }
        _ => None,
    };
    let (sms, voice): (
        Arc<dyn runtime::notify::Channel>,
        Arc<dyn runtime::notify::Channel>,
    ) = match twilio {
        Some(t) => (
            Arc::new(runtime::notify::Sms(t.clone())),
            Arc::new(runtime::notify::Voice(t)),
        ),
        None => (
            Arc::new(Unconfigured {
                channel: "sms",
                hint: "set --twilio-from with SHINRAI_SECRET_TWILIO_ACCOUNT_SID and SHINRAI_SECRET_TWILIO_AUTH_TOKEN",
            }),
            Arc::new(Unconfigured {
                channel: "voice",
                hint: "set --twilio-from with SHINRAI_SECRET_TWILIO_ACCOUNT_SID and SHINRAI_SECRET_TWILIO_AUTH_TOKEN",
            }),
        ),
    };
    let push = Arc::new(runtime::notify::Push {
        http,
        base_url: args.ntfy_url.clone(),
        token: secret("ntfy-token"),
        public_url: settings.public_url.clone(),
        link_secret: link_secret.clone(),
        clock: clock.clone(),
    });
    Ok(vec![
        email,
        Arc::new(Webhook {
            egress,
            secret: settings
                .secrets
                .get("webhooks")
                .map(|s| s.as_bytes().to_vec()),
            public_url: settings.public_url.clone(),
        }),
        sms,
        voice,
        match server::slack_client(settings) {
            Some(slack) => slack,
            None => Arc::new(Unconfigured {
                channel: "slack",
                hint: "set the bot token in SHINRAI_SECRET_SLACK_BOT_TOKEN",
            }),
        },
        push,
    ])
}
