//! Sends alerts to shinrai or Alertmanager on loopback and reports throughput and latency
//! as one JSON line, for the scripts in `bench/`.
//!
//! Closed loop (no `--rate`): `--concurrency` senders, each sending its next request when
//! the last is answered, for `--seconds`. Open loop (`--rate R`): requests are scheduled
//! R per second whatever the answers do, and latency counts from the scheduled time, so a
//! stall shows in the tail instead of hiding behind fewer requests (coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Target {
    /// shinrai's PagerDuty Events API v2 (`POST /v2/enqueue`), one event per request.
    Pagerduty,
    /// Alertmanager's API (`POST /api/v2/alerts`), one alert per request.
    Alertmanager,
}

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, value_enum)]
    target: Target,
    /// Base URL of the server.
    #[arg(long)]
    url: String,
    /// Routing key (pagerduty).
    #[arg(long, default_value = "")]
    key: String,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests per second (open loop); closed loop when absent.
    #[arg(long)]
    rate: Option<u64>,
    /// How many distinct alerts to cycle through; 0 makes every request a new alert.
    #[arg(long, default_value_t = 0)]
    distinct: u64,
    /// Prefix making alerts of one run distinct from another's.
    #[arg(long, default_value = "run")]
    prefix: String,
}

fn body(args: &Args, n: u64) -> Value {
    let id = if args.distinct == 0 {
        n
    } else {
        n % args.distinct
    };
    let name = format!("{}-{id}", args.prefix);
    match args.target {
        Target::Pagerduty => json!({
            "routing_key": args.key, "event_action": "trigger", "dedup_key": name,
            "payload": {"summary": format!("{name} is slow"), "source": "loadgen", "severity": "error"}
        }),
        Target::Alertmanager => json!([{
            "labels": {"alertname": "Bench", "instance": name, "severity": "error"},
            "annotations": {"summary": format!("{name} is slow")}
        }]),
    }
}

fn path(target: Target) -> &'static str {
    match target {
        Target::Pagerduty => "/v2/enqueue",
        Target::Alertmanager => "/api/v2/alerts",
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    let clock = runtime::SystemClock::shared();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    let url = format!("{}{}", args.url.trim_end_matches('/'), path(args.target));
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let duration = Duration::from_secs(args.seconds);
    let start = clock.monotonic();
    let mut latencies: Vec<u64> = Vec::new();

    match args.rate {
        None => {
            let mut workers = Vec::new();
            for _ in 0..args.concurrency {
                let (args, http, url, counter, errors, clock) = (
                    args.clone(),
                    http.clone(),
                    url.clone(),
                    counter.clone(),
                    errors.clone(),
                    clock.clone(),
                );
                workers.push(tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while clock.monotonic() - start < duration {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let sent = clock.monotonic();
                        let ok = http
                            .post(&url)
                            .json(&body(&args, n))
                            .send()
                            .await
                            .is_ok_and(|r| r.status().is_success());
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        mine.push((clock.monotonic() - sent).as_micros() as u64);
                    }
                    mine
                }));
            }
            for w in workers {
                latencies.extend(w.await?);
            }
        }
        Some(rate) => {
            let in_flight = Arc::new(Semaphore::new(4096));
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let total = rate * args.seconds;
            for n in 0..total {
                let due = Duration::from_nanos(n * 1_000_000_000 / rate);
                let now = clock.monotonic() - start;
                if due > now {
                    tokio::time::sleep(due - now).await;
                }
                let permit = in_flight.clone().acquire_owned().await?;
                let (args, http, url, errors, clock, tx) = (
                    args.clone(),
                    http.clone(),
                    url.clone(),
                    errors.clone(),
                    clock.clone(),
                    tx.clone(),
                );
                tokio::spawn(async move {
                    let ok = http
                        .post(&url)
                        .json(&body(&args, n))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    // From the scheduled send time, not the actual one.
                    let _ =
                        tx.send((clock.monotonic() - start).saturating_sub(due).as_micros() as u64);
                    drop(permit);
                });
            }
            drop(tx);
            while let Some(l) = rx.recv().await {
                latencies.push(l);
            }
        }
    }
    let elapsed = (clock.monotonic() - start).as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{}",
        json!({
            "requests": latencies.len(),
            "errors": errors.load(Ordering::Relaxed),
            "seconds": elapsed,
            "per_second": latencies.len() as f64 / elapsed,
            "p50_ms": pct(0.50) as f64 / 1000.0,
            "p99_ms": pct(0.99) as f64 / 1000.0,
            "max_ms": latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        })
    );
    Ok(())
}
