//! Printing results: tables for people, JSON for programs.
//!
//! Everything a command prints on standard output goes through [`write_stdout`] (or the
//! `outln!` macro over it): a reader that stopped reading (`shinrai … | head -1`) ends the
//! command quietly and successfully, where `println!` would panic.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned tables and plain sentences.
    Table,
    /// JSON on standard output, for scripts.
    Json,
}

/// Writes to standard output. A closed pipe (the reader has what it wanted) ends the
/// process quietly with success; any other failure to write ends it with an error.
pub fn write_stdout(text: &[u8]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`write_stdout`].
macro_rules! outln {
    () => {
        $crate::output::write_stdout(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}
pub(crate) use outln;

pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => outln!("{s}"),
        Err(e) => eprintln!("error: cannot encode the result as JSON: {e}"),
    }
}

pub fn print_table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(header.iter().copied());
    let mut n = 0;
    for row in rows {
        table.add_row(row);
        n += 1;
    }
    if n == 0 {
        outln!("(none)");
    } else {
        outln!("{table}");
    }
}

/// Whether `--utc` was given: times are shown and read in UTC instead of the local zone.
static UTC: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Shows and reads times in UTC from now on (the global `--utc` flag).
pub fn use_utc(utc: bool) {
    UTC.store(utc, std::sync::atomic::Ordering::Relaxed);
}

/// The zone tables show times in and time arguments are read in: UTC under `--utc`,
/// else `TZ` or, without it, the system's zone. A `TZ` that names no zone is said once
/// on standard error, and UTC is used.
fn zone() -> &'static jiff::tz::TimeZone {
    static ZONE: std::sync::OnceLock<jiff::tz::TimeZone> = std::sync::OnceLock::new();
    ZONE.get_or_init(|| {
        if UTC.load(std::sync::atomic::Ordering::Relaxed) {
            return jiff::tz::TimeZone::UTC;
        }
        // The binary is where the environment (`TZ`) and the system's zone may be read.
        #[allow(clippy::disallowed_methods)]
        let system = jiff::tz::TimeZone::try_system();
        system.unwrap_or_else(|e| {
            eprintln!("warning: cannot tell the local time zone ({e}); times are in UTC");
            jiff::tz::TimeZone::UTC
        })
    })
}

/// The instant this command runs at: relative times count from it, both those it shows
/// and those it reads, so one command agrees with itself.
fn now() -> jiff::Timestamp {
    static NOW: std::sync::OnceLock<jiff::Timestamp> = std::sync::OnceLock::new();
    *NOW.get_or_init(|| runtime::SystemClock::shared().now())
}

/// An RFC 3339 instant as a table shows it: to the second, in the zone,
/// `2026-12-04 18:00:04 CET`. Anything else (a missing value, a local time) is shown
/// as it is. JSON output never goes through here: it keeps the full precision.
pub fn time(v: &serde_json::Value) -> String {
    time_text(v.as_str().unwrap_or(""))
}

/// [`time`] for text.
pub fn time_text(text: &str) -> String {
    match text.parse::<jiff::Timestamp>() {
        Ok(t) => instant(t),
        Err(_) => text.to_owned(),
    }
}

/// An instant as a table shows it: to the second, in the zone.
pub fn instant(t: jiff::Timestamp) -> String {
    t.to_zoned(zone().clone())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// [`instant`] with how far it is from now: `2026-12-04 18:00:04 CET (4 min ago)`.
pub fn instant_ago(t: jiff::Timestamp) -> String {
    format!("{} ({})", instant(t), domain::civil::ago(now(), t))
}

/// [`time`] with how far it is from now: `2026-12-04 18:00:04 CET (4 min ago)`.
pub fn time_ago(v: &serde_json::Value) -> String {
    let text = v.as_str().unwrap_or("");
    match text.parse::<jiff::Timestamp>() {
        Ok(t) => instant_ago(t),
        Err(_) => text.to_owned(),
    }
}

/// A time argument as people type it (`now`, `+2h`, `tomorrow 09:00`, a date-time in
/// the zone, an RFC 3339 instant; see `domain::civil::parse_when`), as the RFC 3339
/// instant the API takes. The error names the flag.
pub fn time_arg(flag: &str, typed: &str) -> anyhow::Result<String> {
    domain::civil::parse_when(typed, now(), zone())
        .map(|t| t.to_string())
        .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

/// Whole minutes from now until a time argument, rounded up: for commands the API takes
/// a duration for.
pub fn minutes_until(flag: &str, typed: &str) -> anyhow::Result<i64> {
    let until = domain::civil::parse_when(typed, now(), zone())
        .map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
    let secs = until.as_second() - now().as_second();
    if secs <= 0 {
        anyhow::bail!("{flag}: {} has passed", time_text(&until.to_string()));
    }
    Ok((secs + 59) / 60)
}
