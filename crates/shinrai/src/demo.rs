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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use config::Spec;
    use domain::Timestamp;

    /// The demo's documents, parsed as `apply` parses them.
    fn documents() -> Vec<config::Document> {
        let (docs, problems) = config::parse(&[config::SourceFile {
            path: "demo/org.yaml".into(),
            content: super::ORG.into(),
        }]);
        assert!(problems.is_empty(), "{problems:?}");
        docs
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// The demo schedule follows the sun: whoever is on call is in their own daytime,
    /// in Tokyo, Berlin or San Francisco as the day goes round, and nobody is ever
    /// missing, in winter, in summer and in the weeks when only America keeps summer time.
    #[test]
    fn the_demo_schedule_follows_the_sun_without_gaps() {
        let docs = documents();
        let zones: BTreeMap<String, jiff::tz::TimeZone> = docs
            .iter()
            .filter_map(|d| match &d.spec {
                Spec::User(u) => Some((
                    d.name.to_string(),
                    jiff::tz::TimeZone::get(&u.time_zone).unwrap(),
                )),
                _ => None,
            })
            .collect();
        let schedule = docs
            .iter()
            .find_map(|d| match &d.spec {
                Spec::Schedule(s) if d.name.as_str() == "shop-primary" => Some(s.clone()),
                _ => None,
            })
            .expect("the demo schedule");
        let compiled = schedule.compile().expect("the demo schedule compiles");

        // Three instants of one winter day: Tokyo's morning, Berlin's, San Francisco's.
        for (instant, city) in [
            ("2026-02-10T01:00:00Z", "Asia/Tokyo"),
            ("2026-02-10T10:00:00Z", "Europe/Berlin"),
            ("2026-02-10T19:00:00Z", "America/Los_Angeles"),
        ] {
            let shift = compiled.on_call_at(at(instant)).expect("someone on call");
            assert_eq!(
                zones[shift.user.as_str()].iana_name(),
                Some(city),
                "at {instant}: {shift:?}"
            );
        }

        // A whole year from the first handoff: no gap, and every shift lies in its person's own
        // daytime.
        let rendered = compiled.render(at("2026-01-05T00:00:00Z"), at("2027-01-05T00:00:00Z"));
        assert!(rendered.gaps.is_empty(), "gaps: {:?}", rendered.gaps);
        for shift in &rendered.shifts {
            let zone = &zones[shift.user.as_str()];
            let start = shift.start.to_zoned(zone.clone());
            let end = shift.end.to_zoned(zone.clone());
            let hour = |z: &jiff::Zoned| f64::from(z.hour()) + f64::from(z.minute()) / 60.0;
            assert!(
                start.date() == end.date() && hour(&start) >= 8.0 && hour(&end) <= 17.0,
                "{} is on call at night, from {start} to {end}",
                shift.user
            );
        }
    }
}
