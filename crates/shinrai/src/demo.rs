//! `shinrai serve --demo`: an example organisation applied through the normal apply path,
//! a sign-in, and a sender that posts PagerDuty events to this server now and then, so
//! that within a minute the console shows a real incident escalating through the real
//! engine. Notifications go to the console's inbox page (the demo has no mail server).

use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use store::Store;
use tokio::sync::watch;

use crate::output::outln;

/// The demo organisation.
pub const ORG: &str = include_str!("../demo/org.yaml");
/// Where the demo keeps its data unless `--data-dir` says otherwise.
pub const DATA_DIR: &str = "./shinrai-demo";
pub const USER_EMAIL: &str = "demo@shinrai.example";
pub const PASSWORD: &str = "shinrai-demo-password";

/// What the demo sender sends, in turn: `(integration key, dedup key, summary, severity)`.
const ALERTS: &[(&str, &str, &str, &str)] = &[
    (
        "demo-acme-checkout-events-01",
        "checkout-p99",
        "Checkout p99 latency above 800 ms",
        "critical",
    ),
    (
        "demo-acme-search-events-001",
        "search-errors",
        "Search 5xx rate above 2%",
        "error",
    ),
    (
        "demo-globex-bidder-events-1",
        "bidder-timeouts",
        "Bidder timeouts on eu-west",
        "warning",
    ),
    (
        "demo-acme-checkout-events-01",
        "checkout-db",
        "Checkout database connections at 95%",
        "critical",
    ),
];

/// Applies the demo organisation and sets the demo user's password.
pub async fn prepare(
    store: &std::sync::Arc<dyn Store>,
    now: domain::Timestamp,
) -> anyhow::Result<()> {
    let files = [config::SourceFile {
        path: "demo/org.yaml".into(),
        content: ORG.into(),
    }];
    let prepared = runtime::apply::prepare(store, &files, false)
        .await
        .map_err(|e| match e {
            runtime::apply::ApplyError::Invalid(problems) => {
                anyhow::anyhow!("the demo organisation does not validate: {problems:?}")
            }
            e => anyhow::anyhow!("cannot plan the demo organisation: {e}"),
        })?;
    let ctx = store::WriteContext {
        actor: "system:demo".into(),
        at: now,
    };
    runtime::apply::commit(store, prepared, &ctx)
        .await
        .context("cannot apply the demo organisation")?;
    let hash = server::api::session::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!(e))?;
    store
        .set_password(
            &domain::Name::new("demo").expect("a valid name"),
            &hash,
            &ctx,
        )
        .await
        .context("cannot set the demo password")?;
    Ok(())
}

/// Posts an event to this server every `every`: a new alert, or the resolution of an
/// earlier one, in turn.
pub async fn sender(base: String, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let http = reqwest::Client::new();
    let mut tick = tokio::time::interval(every);
    let mut n: usize = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = runtime::workers::stopped(&mut shutdown) => return,
        }
        let (key, dedup, summary, severity) = ALERTS[n % ALERTS.len()];
        // Every third round resolves what the round before opened.
        let event = if n % 3 == 2 {
            let (key, dedup, _, _) = ALERTS[(n - 1) % ALERTS.len()];
            json!({"routing_key": key, "event_action": "resolve", "dedup_key": dedup})
        } else {
            json!({"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
                   "payload": {"summary": summary, "source": "demo-sender", "severity": severity,
                               "custom_details": {"note": "sent by shinrai's demo sender"}}})
        };
        match http
            .post(format!("{base}/v2/enqueue"))
            .json(&event)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => tracing::warn!(status = %r.status(), "the demo sender's event was refused"),
            Err(e) => tracing::warn!(error = %e, "the demo sender cannot reach the server"),
        }
        n += 1;
    }
}

/// `shinrai demo remove`: deletes a demo data directory, once no server holds it.
pub async fn remove(
    dir: &std::path::Path,
    out: crate::output::Output,
) -> anyhow::Result<std::process::ExitCode> {
    if !dir.exists() {
        outln!("{} does not exist; nothing to remove.", dir.display());
        return Ok(std::process::ExitCode::SUCCESS);
    }
    anyhow::ensure!(
        dir.join("shinrai.db").exists(),
        "{} is not a shinrai data directory (no shinrai.db); not removing it",
        dir.display()
    );
    // Taking the data directory's lock proves no server is using it.
    let held = store_sqlite::open_data_dir_with(dir, store_sqlite::Sharing::Exclusive)
        .await
        .with_context(|| {
            format!(
                "{} is in use: stop `shinrai serve --demo` first",
                dir.display()
            )
        })?;
    held.close().await;
    drop(held);
    std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    // The key that sealed the demo's secrets lives beside its data directory.
    let key = crate::settings::StoreArgs {
        data_dir: Some(dir.to_owned()),
        database_url: None,
    }
    .default_key_file();
    if let Some(key) = key.filter(|k| k.exists()) {
        std::fs::remove_file(&key).with_context(|| format!("cannot remove {}", key.display()))?;
    }
    if matches!(out, crate::output::Output::Table) {
        outln!("Removed the demo data in {}.", dir.display());
    }
    Ok(std::process::ExitCode::SUCCESS)
}
