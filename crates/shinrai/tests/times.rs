//! Times on the command line: tables show them to the second in the reader's zone (`TZ`)
//! or in UTC under `--utc`, JSON keeps the server's instants exactly, and time arguments
//! take what people type (`+2h`, `tomorrow 09:00`, a local date-time), refusing a local
//! time that a daylight-saving change skips.

use std::process::Command;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use test_support::serve::Server;

const BIN: &str = env!("CARGO_BIN_EXE_shinrai");

const SECRET_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

const CONFIG: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ann, labels: {company: acme}}
spec: {full_name: Ann, email: ann@acme.test, time_zone: Europe/Berlin}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: shop, labels: {company: acme}}
spec: {members: [ann]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout, labels: {company: acme, product: shop}}
spec: {owner_team: shop}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: primary, labels: {company: acme}}
spec:
  time_zone: Europe/Berlin
  layers: [{name: weekly, users: [ann], rotation: 1w, start: "2026-03-02T09:00"}]
"#;

struct Cli {
    server: Server,
    token: String,
}

impl Cli {
    fn start() -> (tempfile::TempDir, Cli) {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let file = dir.path().join("org.yaml");
        std::fs::write(&file, CONFIG).unwrap();
        let out = Command::new(BIN)
            .args(["apply", file.to_str().unwrap(), "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let server = Server::start(
            BIN,
            &[
                std::ffi::OsStr::new("--data-dir"),
                data.as_os_str(),
                std::ffi::OsStr::new("--secret-key"),
                std::ffi::OsStr::new(SECRET_KEY),
            ],
        );
        let out = Command::new(BIN)
            .args([
                "token",
                "create",
                "--name",
                "admin",
                "--role",
                "admin",
                "--data-dir",
            ])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        (dir, Cli { server, token })
    }

    /// Runs a command with `TZ` set: (succeeded, stdout, stderr).
    fn run(&self, tz: &str, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(BIN)
            .env("TZ", tz)
            .args(args)
            .args(["--server", &self.server.base, "--token", &self.token])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn json(&self, tz: &str, args: &[&str]) -> serde_json::Value {
        let (ok, out, err) = self.run(tz, &[args, &["-o", "json"]].concat());
        assert!(ok, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap()
    }
}

/// The wall clock the binary reads too: typed times are relative to it.
fn wall_clock() -> Timestamp {
    #[allow(clippy::disallowed_methods)] // Compared with the binary's own reading.
    Timestamp::now()
}

fn instant(v: &serde_json::Value) -> Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

fn shown_in(t: Timestamp, zone: &str) -> String {
    t.to_zoned(TimeZone::get(zone).unwrap())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

#[test]
fn typed_times_are_read_in_the_local_zone_and_tables_show_it_to_the_second() {
    let (_dir, cli) = Cli::start();
    let tokyo = TimeZone::get("Asia/Tokyo").unwrap();

    // `+2h` counts from now.
    let before = wall_clock();
    let made = cli.json(
        "Asia/Tokyo",
        &[
            "oncall", "override", "primary", "--user", "ann", "--from", "+2h", "--to", "+3h",
        ],
    );
    let after = wall_clock();
    let two_hours = jiff::SignedDuration::from_hours(2);
    let start = instant(&made["start"]);
    assert!(
        before.checked_add(two_hours).unwrap().as_second() <= start.as_second()
            && start <= after.checked_add(two_hours).unwrap(),
        "{start} is not two hours after {before}..{after}"
    );

    // `tomorrow 09:00` is 09:00 on Tokyo's tomorrow, exactly.
    let tomorrow = |t: Timestamp| t.to_zoned(tokyo.clone()).date().tomorrow().unwrap();
    let before = wall_clock();
    let (ok, out, err) = cli.run(
        "Asia/Tokyo",
        &[
            "oncall",
            "override",
            "primary",
            "--user",
            "ann",
            "--from",
            "tomorrow 09:00",
            "--to",
            "tomorrow 17:30",
        ],
    );
    let after = wall_clock();
    assert!(ok, "{err}");
    let at_nine = |d: jiff::civil::Date| {
        d.at(9, 0, 0, 0)
            .to_zoned(tokyo.clone())
            .unwrap()
            .timestamp()
    };
    let nine = [at_nine(tomorrow(before)), at_nine(tomorrow(after))];
    // The table says it in Tokyo's time, to the second.
    assert!(
        nine.iter().any(|t| out.contains(&format!(
            "from {} to {}",
            shown_in(*t, "Asia/Tokyo"),
            shown_in(
                t.checked_add(jiff::SignedDuration::from_mins(510)).unwrap(),
                "Asia/Tokyo"
            )
        ))),
        "{out}"
    );
    assert!(out.contains(" 09:00:00 JST to "), "{out}");

    // The shifts table: Tokyo time by default, UTC with --utc; JSON unchanged.
    let from = "2026-12-01T00:00:00Z";
    let range = ["oncall", "shifts", "primary", "--from", from, "--to", "+1d"];
    let (ok, local, err) = cli.run("Asia/Tokyo", &range);
    assert!(ok, "{err}");
    assert!(local.contains("2026-12-01 09:00:00 JST"), "{local}");
    let (ok, utc, err) = cli.run("Asia/Tokyo", &[&range[..], &["--utc"]].concat());
    assert!(ok, "{err}");
    assert!(utc.contains("2026-12-01 00:00:00 UTC"), "{utc}");
    let json = cli.json("Asia/Tokyo", &range);
    assert_eq!(json["from"], from);

    // Who is on call: until when, and how far off that is.
    let (ok, who, err) = cli.run("Asia/Tokyo", &["oncall", "who", "--schedule", "primary"]);
    assert!(ok, "{err}");
    assert!(who.contains(" JST (in "), "{who}");
}

#[test]
fn incident_lists_show_local_seconds_and_how_long_ago_while_json_keeps_every_digit() {
    let (_dir, cli) = Cli::start();
    let opened = cli.json(
        "Asia/Tokyo",
        &[
            "incident",
            "open",
            "--service",
            "checkout",
            "--summary",
            "disk full",
        ],
    );
    let listed = cli.json("Asia/Tokyo", &["incident", "list"]);
    let created = &listed[0]["created_at"];
    assert_eq!(
        created, &opened["created_at"],
        "JSON is the server's instant"
    );
    let created_at = instant(created);
    let (ok, table, err) = cli.run("Asia/Tokyo", &["incident", "list"]);
    assert!(ok, "{err}");
    let local = shown_in(created_at, "Asia/Tokyo");
    assert!(
        table.contains(&format!("{local} (just now)"))
            || table.contains(&format!("{local} (1 min ago)")),
        "{table}"
    );
    assert!(!table.contains(created.as_str().unwrap()), "{table}");
    let (ok, table, err) = cli.run("Asia/Tokyo", &["incident", "list", "--utc"]);
    assert!(ok, "{err}");
    assert!(table.contains(&shown_in(created_at, "UTC")), "{table}");
    // Snoozing until a typed time.
    cli.json("Asia/Tokyo", &["incident", "ack", "1"]);
    let snoozed = cli.json("Asia/Tokyo", &["incident", "snooze", "1", "--until", "+2h"]);
    let until = instant(&snoozed["snoozed_until"]);
    let in_two_hours = wall_clock()
        .checked_add(jiff::SignedDuration::from_hours(2))
        .unwrap();
    assert!(
        until
            >= in_two_hours
                .checked_sub(jiff::SignedDuration::from_mins(1))
                .unwrap()
            && until
                <= in_two_hours
                    .checked_add(jiff::SignedDuration::from_mins(1))
                    .unwrap(),
        "{until}"
    );
    // The table says until when, in the local zone.
    let (ok, said, err) = cli.run("Asia/Tokyo", &["incident", "snooze", "1", "--until", "+3h"]);
    assert!(ok, "{err}");
    assert!(
        said.starts_with("#1 is acknowledged, snoozed until ") && said.contains(" JST."),
        "{said}"
    );
}

#[test]
fn a_local_time_a_clock_change_skips_is_refused_naming_both_instants() {
    let (_dir, cli) = Cli::start();
    let (ok, _, err) = cli.run(
        "Europe/Berlin",
        &[
            "oncall",
            "override",
            "primary",
            "--user",
            "ann",
            "--from",
            "2026-03-29 02:30",
            "--to",
            "2026-03-29 08:00",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("--from: 2026-03-29 02:30 does not exist in Europe/Berlin")
            && err.contains("2026-03-29T01:30:00+01:00 (CET) or 2026-03-29T03:30:00+02:00 (CEST)"),
        "{err}"
    );
    // Written with the offset, it is taken.
    let made = cli.json(
        "Europe/Berlin",
        &[
            "oncall",
            "override",
            "primary",
            "--user",
            "ann",
            "--from",
            "2026-03-29T03:30:00+02:00",
            "--to",
            "2026-03-29 08:00",
        ],
    );
    assert_eq!(made["start"], "2026-03-29T01:30:00Z");
    assert_eq!(made["end"], "2026-03-29T06:00:00Z");
    // Under --utc, a local date-time is read in UTC, and a local one in TZ otherwise.
    let window = [
        "oncall",
        "override",
        "primary",
        "--user",
        "ann",
        "--from",
        "2026-12-24 09:00",
    ];
    let made = cli.json(
        "Europe/Berlin",
        &[&window[..], &["--to", "2026-12-25", "--utc"]].concat()[..],
    );
    assert_eq!(made["start"], "2026-12-24T09:00:00Z");
    assert_eq!(made["end"], "2026-12-25T00:00:00Z");
    let made = cli.json(
        "Europe/Berlin",
        &[&window[..], &["--to", "2026-12-25"]].concat()[..],
    );
    assert_eq!(made["start"], "2026-12-24T08:00:00Z");
    assert_eq!(made["end"], "2026-12-24T23:00:00Z");
    // Statistics over typed ranges.
    let stats = cli.json(
        "Europe/Berlin",
        &[
            "incident",
            "stats",
            "--since",
            "2026-12-01",
            "--until",
            "2026-12-02 12:00",
        ],
    );
    assert_eq!(stats["since"], "2026-11-30T23:00:00Z");
    assert_eq!(stats["until"], "2026-12-02T11:00:00Z");
    // Anything else is refused naming the flag and what is understood.
    let (ok, _, err) = cli.run("Europe/Berlin", &["oncall", "who", "--at", "soon"]);
    assert!(!ok);
    assert!(
        err.contains("--at: \"soon\" is not a time I understand") && err.contains("tomorrow 09:00"),
        "{err}"
    );
}
