//! The binary as a user runs it: serve, kill -9, restart; the data directory lock; token
//! creation beside a running server; validate, plan and apply.
//!
//! Longer than 600 lines because each test runs the binary as a user does, and they share
//! the helpers that start and stop it.

use std::path::Path;
use std::process::Command;

use test_support::serve::Server;

const BIN: &str = env!("CARGO_BIN_EXE_shinrai");

/// `shinrai serve` on a data directory, with its secret key given (so that no key file
/// is made beside a temporary directory and left behind).
fn serve(data_dir: &Path) -> Server {
    Server::start(
        BIN,
        &[
            std::ffi::OsStr::new("--data-dir"),
            data_dir.as_os_str(),
            std::ffi::OsStr::new("--secret-key"),
            std::ffi::OsStr::new(SECRET_KEY),
        ],
    )
}

const SECRET_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn shinrai(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("run shinrai")
}

fn token(data_dir: &Path) -> String {
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
        .arg(data_dir)
        .output()
        .expect("token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_write_answered_2xx_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    // Tokens are created on the store directly, beside the running server.
    let token = token(dir.path());
    let http = reqwest::Client::new();
    let mut created = Vec::new();
    for i in 0..20 {
        let name = format!("team-{i}");
        let resp = http
            .post(format!("{}/api/v1/teams", server.base))
            .bearer_auth(&token)
            .json(&serde_json::json!({"metadata": {"name": name}, "spec": {}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        created.push(name);
    }
    server.kill9();
    let server = serve(dir.path());
    for name in created {
        let resp = http
            .get(format!("{}/api/v1/teams/{name}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "team {name} lost after kill -9");
    }
}

#[test]
fn a_second_serve_on_one_data_dir_refuses_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let _first = serve(dir.path());
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another shinrai process"), "{err}");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path());
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    // The lock is released: the data directory can be served again.
    drop(serve(dir.path()));
}

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
spec:
  owner_team: shop
  integrations: [{name: prometheus, type: pagerduty}]
"#;

#[test]
fn apply_twice_changes_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("org.yaml");
    std::fs::write(&file, CONFIG).unwrap();
    let data_s = data.to_str().unwrap();
    let file_s = file.to_str().unwrap();
    let out = shinrai(&["plan", file_s, "--data-dir", data_s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 to create"), "{text}");
    let out = shinrai(&["apply", file_s, "--data-dir", data_s]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = shinrai(&["apply", file_s, "--data-dir", data_s, "--output", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["plan"]["changes"], serde_json::json!([]), "{json}");
    let out = shinrai(&["plan", file_s, "--data-dir", data_s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("No changes"), "{text}");
    // Removing a document and applying with --prune deletes it; without, nothing is deleted.
    let without_service = CONFIG.rsplit_once("---").unwrap().0;
    std::fs::write(&file, without_service).unwrap();
    let out = shinrai(&["plan", file_s, "--data-dir", data_s]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("No changes"));
    let out = shinrai(&["plan", file_s, "--prune", "--data-dir", data_s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("delete Service checkout"), "{text}");
}

#[test]
fn plan_and_apply_work_through_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("org.yaml");
    std::fs::write(&file, CONFIG).unwrap();
    let server = serve(&data);
    let token = token(&data);
    let file_s = file.to_str().unwrap();
    let remote = |cmd: &str| {
        Command::new(BIN)
            .args([cmd, file_s, "--server", &server.base, "--token", &token])
            .output()
            .unwrap()
    };
    let out = remote("plan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 to create"));
    let out = remote("apply");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = remote("plan");
    assert!(String::from_utf8_lossy(&out.stdout).contains("No changes"));
    // Problems come back as file:line: field: message.
    std::fs::write(
        &file,
        CONFIG.replace("time_zone: Europe/Berlin", "time_zone: Mars/Base"),
    )
    .unwrap();
    let out = remote("apply");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{file_s}:5: spec.time_zone:")),
        "{err}"
    );
}

#[test]
fn validate_reports_every_mistake_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "apiVersion: shinrai/v1\nkind: User\nmetadata: {name: ann}\nspec:\n  full_name: Ann\n  email: ann@acme.test\n  time_zone: Mars/Base\n  shoe_size: 9\n---\napiVersion: shinrai/v1\nkind: Service\nmetadata: {name: Checkout}\nspec: {owner_team: shop}\n",
    )
    .unwrap();
    let out = shinrai(&["validate", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let f = file.display().to_string();
    assert!(err.contains(&format!("{f}:7: spec.time_zone:")), "{err}");
    assert!(err.contains(&format!("{f}:8: spec.shoe_size:")), "{err}");
    assert!(err.contains(&format!("{f}:12: metadata.name:")), "{err}");
}

/// Shape, value and reference mistakes, within one document and across documents.
const EVERY_KIND_OF_MISTAKE: &str = "\
apiVersion: shinrai/v1
kind: User
metadata: {name: ann}
spec:
  full_name: Ann
  email: ann-at-acme
  shoe_size: 9
  time_zone: Mars/Olympus
  roles: [{role: responder, team: ghosts}]
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: shop}
spec: {members: [ann], colour: red}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: bob}
spec: {full_name: Bob, email: bob, time_zone: Mars/Olympus}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout}
spec: {owner_team: shop, escalation_policy: nowhere}
";

#[test]
fn validate_reports_shape_value_and_reference_mistakes_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("org.yaml");
    std::fs::write(&file, EVERY_KIND_OF_MISTAKE).unwrap();
    let out = shinrai(&["validate", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let f = file.display().to_string();
    for expected in [
        "6: spec.email:",
        "7: spec.shoe_size: unknown field",
        "8: spec.time_zone: \"Mars/Olympus\"",
        "9: spec.roles[0].team: no Team named `ghosts`",
        "14: spec.colour: unknown field",
        "19: spec.email:",
        "19: spec.time_zone: \"Mars/Olympus\"",
        "24: spec.escalation_policy: no EscalationPolicy named `nowhere`",
    ] {
        assert!(
            err.contains(&format!("{f}:{expected}")),
            "{expected}\n{err}"
        );
    }
    // The team exists, mistake and all: nothing points nowhere at it.
    assert!(!err.contains("`shop`"), "{err}");
    assert!(err.contains("8 problem(s) found"), "{err}");
}

#[test]
fn a_failing_plan_or_apply_leaves_no_data_directory_behind() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("org.yaml");
    std::fs::write(&file, EVERY_KIND_OF_MISTAKE).unwrap();
    let data = dir.path().join("data");
    for command in ["plan", "apply"] {
        let out = shinrai(&[
            command,
            file.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        assert!(!data.exists(), "{command} created {}", data.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("8 problem(s) found"), "{command}: {err}");
    }
}

#[test]
fn help_teaches_and_errors_are_one_line() {
    let out = shinrai(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("serve") && help.contains("apply") && help.contains("token"),
        "{help}"
    );
    let out = shinrai(&["team", "list", "--server", "http://127.0.0.1:9"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: no token"), "{err}");
    let out = shinrai(&["completions", "bash"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("shinrai"));
}

#[test]
fn commands_that_open_a_store_say_which_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(BIN)
        .args(["token", "list", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let db = data.join("shinrai.db");
    assert!(
        err.contains(&format!(
            "using the SQLite store {} (created now;",
            db.display()
        )),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["token", "list"])
        .env("SHINRAI_DATA_DIR", &data)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("using the SQLite store {}\n", db.display())),
        "{err}"
    );
}

/// The commands `serve --demo` prints are the ones that work against it: a token made by
/// the printed command is accepted by the server at the printed address.
#[test]
fn the_demo_prints_cli_commands_that_work_against_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (server, printed) =
        Server::start_reading(BIN, &["--demo", "--data-dir", data.to_str().unwrap()], 4);
    let line = |prefix: &str| {
        printed
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_owned))
            .unwrap_or_else(|| panic!("no line {prefix:?} in {printed:?}"))
    };
    let address = line("export SHINRAI_SERVER=");
    assert_eq!(address, server.base);
    let create = line("export SHINRAI_TOKEN=$(shinrai ");
    let create = create.strip_suffix(')').expect("a closing parenthesis");
    let args: Vec<&str> = create.split_whitespace().collect();
    assert!(
        args.contains(&data.to_str().unwrap()),
        "the demo's data directory: {create}"
    );
    let out = shinrai(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = Command::new(BIN)
        .args(["team", "list"])
        .env("SHINRAI_SERVER", &address)
        .env("SHINRAI_TOKEN", &token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("acme"));
}

/// A token the server does not know: the error names the server asked and the data
/// directory `shinrai token create` writes to, and how to point either at the other.
#[test]
fn a_refused_token_names_the_server_and_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir.path().join("served"));
    let elsewhere = dir.path().join("elsewhere");
    let token = token(&elsewhere);
    let out = Command::new(BIN)
        .args(["team", "list", "--server", &server.base, "--token", &token])
        .env("SHINRAI_DATA_DIR", &elsewhere)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&server.base), "{err}");
    assert!(err.contains(&elsewhere.display().to_string()), "{err}");
    assert!(err.contains("--data-dir"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = Command::new(BIN)
        .args(["team", "list", "--server", &server.base])
        .env_remove("SHINRAI_TOKEN")
        .env_remove("SHINRAI_DATA_DIR")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&server.base), "{err}");
    assert!(err.contains("./shinrai-data"), "{err}");
}

/// Runs shinrai with standard output on a pipe whose reader has already gone, as when
/// `shinrai … | head -1` has read what it wanted.
fn shinrai_into_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(BIN)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run shinrai")
}

#[test]
fn every_command_exits_quietly_when_its_reader_stops_reading() {
    let dir = tempfile::tempdir().unwrap();
    let org = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/org.yaml");
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let missing = dir.path().join("missing");
    let commands: &[&[&str]] = &[
        &["completions", "bash"],
        &["validate", "-o", "json", org],
        &["validate", org],
        &["--help"],
        &["token", "list", "--help"],
        &["--version"],
        &["plan", "-o", "json", "--data-dir", data, org],
        &["token", "list", "--data-dir", data],
        &["demo", "remove", "--data-dir", missing.to_str().unwrap()],
    ];
    for args in commands {
        let out = shinrai_into_closed_pipe(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !err.contains("panicked"),
            "shinrai {}: {:?}\n{err}",
            args.join(" "),
            out.status
        );
    }
}

/// What `serve` says on standard error when it refuses to start with `flag` set to
/// `value`; it must refuse.
fn serve_refuses(flag: &str, value: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = shinrai(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
        flag,
        value,
    ]);
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_image_host_that_is_not_an_https_origin_names_the_setting() {
    let err = serve_refuses(
        "--console-image-hosts",
        "https://grafana.example,http://tracker.example/x",
    );
    assert!(
        err.contains("--console-image-hosts")
            && err.contains("\"http://tracker.example/x\" is not an https origin"),
        "{err}"
    );
}

#[test]
fn an_egress_allow_list_that_does_not_parse_names_the_setting() {
    let err = serve_refuses("--egress-allow-notifications", "10.0.0.0/8,intranet");
    assert!(
        err.contains("--egress-allow-notifications")
            && err.contains("\"intranet\" is not an address or a CIDR range"),
        "{err}"
    );
}

/// The integration key the event tests send with.
const EVENTS_KEY: &str = "checkout-events-key-01";

/// Applies CONFIG (with a known integration key) to a fresh data directory and serves it.
fn serve_with_events_key(dir: &Path) -> (Server, std::path::PathBuf) {
    let data = dir.join("data");
    let file = dir.join("org.yaml");
    let config = CONFIG.replace(
        "{name: prometheus, type: pagerduty}",
        &format!("{{name: prometheus, type: pagerduty, key: {EVENTS_KEY}}}"),
    );
    std::fs::write(&file, config).unwrap();
    let out = shinrai(&[
        "apply",
        file.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (serve(&data), data)
}

#[tokio::test]
async fn incident_show_prints_each_alerts_source_sender_details_links_and_images() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = serve_with_events_key(dir.path());
    let token = token(&data);
    let resp = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", server.base))
        .json(&serde_json::json!({"routing_key": EVENTS_KEY, "event_action": "trigger", "dedup_key": "disk",
            "client": "Grafana", "client_url": "https://grafana.example/alerting/1",
            "links": [{"href": "https://runbooks.example/disk", "text": "Runbook"}],
            "images": [{"src": "https://grafana.example/render/disk.png", "alt": "disk graph"}],
            "payload": {"summary": "Disk full", "source": "db-1.prod", "severity": "critical",
                        "custom_details": {"db": {"host": "db-1", "port": 5432}, "free": "2%"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let out = Command::new(BIN)
        .args([
            "incident",
            "show",
            "1",
            "--server",
            &server.base,
            "--token",
            &token,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    for line in [
        "  source: db-1.prod",
        "  sent by: Grafana <https://grafana.example/alerting/1>",
        "    db.host: db-1",
        "    db.port: 5432",
        "    free: 2%",
        "    Runbook <https://runbooks.example/disk>",
        "    disk graph <https://grafana.example/render/disk.png>",
    ] {
        assert!(shown.lines().any(|l| l == line), "{line:?} in:\n{shown}");
    }
}

#[tokio::test]
async fn an_event_becomes_an_incident_people_work_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = serve_with_events_key(dir.path());
    let token = token(&data);
    let resp = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", server.base))
        .json(&serde_json::json!({"routing_key": EVENTS_KEY, "event_action": "trigger", "dedup_key": "cpu",
            "payload": {"summary": "CPU saturated", "source": "node-exporter", "severity": "critical"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);

    let cli = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--server", &server.base, "--token", &token])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let list = cli(&["incident", "list"]);
    assert!(
        list.contains("#1") && list.contains("CPU saturated") && list.contains("triggered"),
        "{list}"
    );
    assert_eq!(
        cli(&["incident", "ack", "#1"]).trim(),
        "#1 is acknowledged."
    );
    cli(&["incident", "note", "1", "scaled the pool to 12"]);
    assert_eq!(cli(&["incident", "resolve", "1"]).trim(), "#1 is resolved.");
    let shown: serde_json::Value =
        serde_json::from_str(&cli(&["incident", "show", "1", "--output", "json"])).unwrap();
    assert_eq!(shown["status"], "resolved");
    assert_eq!(shown["acknowledged_by"], "token:admin");
    assert!(cli(&["incident", "show", "1"]).contains("scaled the pool to 12"));
    assert!(
        cli(&["incident", "list"]).contains("(none)"),
        "resolved incidents leave the default list"
    );
    let opened = cli(&[
        "incident",
        "open",
        "--service",
        "checkout",
        "--summary",
        "need the DB team now",
    ]);
    assert_eq!(opened.trim(), "#2 opened on checkout (high urgency).");
    let low = cli(&[
        "incident",
        "open",
        "--service",
        "checkout",
        "--summary",
        "card payments failing for some",
        "--urgency",
        "low",
        "--details",
        "seen in the support queue",
    ]);
    assert_eq!(low.trim(), "#3 opened on checkout (low urgency).");
    let found = cli(&["incident", "list", "--search", "CARD payments"]);
    assert!(found.contains("#3") && !found.contains("#2"), "{found}");
    let by_urgency = cli(&["incident", "list", "--sort", "urgency"]);
    assert!(
        by_urgency.find("#2").unwrap() < by_urgency.find("#3").unwrap(),
        "{by_urgency}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&cli(&["incident", "show", "3", "--output", "json"])).unwrap();
    assert_eq!(
        shown["alerts"][0]["body"]["details"], "seen in the support queue",
        "{shown}"
    );
    cli(&["incident", "resolve", "3"]);
    cli(&["incident", "ack", "2"]);
    let snoozed: serde_json::Value = serde_json::from_str(&cli(&[
        "incident",
        "snooze",
        "#2",
        "--minutes",
        "30",
        "--output",
        "json",
    ]))
    .unwrap();
    assert!(snoozed["snoozed_until"].is_string(), "{snoozed}");
    assert_eq!(
        cli(&["incident", "escalate", "2"]).trim(),
        "#2 is triggered.",
        "escalating an acknowledged incident pages again"
    );
    let alerts = cli(&["incident", "alerts"]);
    assert!(
        alerts.contains("CPU saturated") && alerts.contains("#1"),
        "{alerts}"
    );
    let stats = cli(&["incident", "stats"]);
    assert!(
        stats.contains("checkout") && stats.contains("total"),
        "{stats}"
    );
}

#[tokio::test]
async fn events_answered_202_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = serve_with_events_key(dir.path());
    let http = reqwest::Client::new();
    // Concurrent senders, so that events share group-committed transactions.
    let sends: Vec<_> = (0..40)
        .map(|i| {
            let (http, base) = (http.clone(), server.base.clone());
            tokio::spawn(async move {
                http.post(format!("{base}/v2/enqueue"))
                    .json(&serde_json::json!({"routing_key": EVENTS_KEY, "event_action": "trigger",
                        "dedup_key": format!("alert-{i}"),
                        "payload": {"summary": format!("alert {i}"), "source": "test", "severity": "error"}}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for s in sends {
        statuses.push(s.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    server.kill9();

    let server = serve(&data);
    let token = token(&data);
    let list: serde_json::Value = http
        .get(format!("{}/api/v1/incidents?limit=100", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        40,
        "every acknowledged event survived kill -9"
    );
}

#[tokio::test]
async fn people_see_and_change_who_is_on_call_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("org.yaml");
    let config = format!(
        "{CONFIG}---
apiVersion: shinrai/v1
kind: User
metadata: {{name: bob, labels: {{company: acme}}}}
spec:
  full_name: Bob
  email: bob@acme.test
  contact_methods: [{{name: phone, type: sms, address: \"+15550000001\"}}]
  notification_rules: {{high: [{{contact: phone}}], low: [{{contact: phone}}]}}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {{name: primary, labels: {{company: acme}}}}
spec:
  time_zone: Europe/Berlin
  layers: [{{name: weekly, users: [ann, bob], rotation: 1w, start: \"2026-03-02T09:00\"}}]
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {{name: follow-the-sun, labels: {{company: acme}}}}
spec:
  time_zone: Europe/Berlin
  layers:
    - {{name: weekly, users: [ann, bob], rotation: 1w, start: \"2026-03-02T09:00\"}}
    - name: tokyo-days
      time_zone: Asia/Tokyo
      users: [ann]
      rotation: 1d
      start: \"2026-03-02T09:00\"
      restrictions: [{{start: \"09:00\", end: \"18:00\"}}]
"
    );
    std::fs::write(&file, config).unwrap();
    let out = shinrai(&[
        "apply",
        file.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = serve(&data);
    let token = token(&data);
    let cli = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--server", &server.base, "--token", &token])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Each layer shows the zone its times are in.
    let (ok, shown, err) = cli(&["schedule", "show", "follow-the-sun"]);
    assert!(ok, "{err}");
    let layer = |name: &str| {
        shown
            .lines()
            .find(|l| l.contains(&format!("layer {name} ")))
            .unwrap_or_else(|| panic!("no layer {name} in {shown}"))
            .to_owned()
    };
    assert!(
        layer("weekly").contains("from 2026-03-02T09:00 (Europe/Berlin)"),
        "{shown}"
    );
    assert!(
        layer("tokyo-days").contains("from 2026-03-02T09:00 (Asia/Tokyo), only 09:00–18:00"),
        "{shown}"
    );
    // Europe/Berlin: the handoff stays at 09:00 local across the change to summer time.
    let (ok, shifts, err) = cli(&[
        "oncall",
        "shifts",
        "primary",
        "--from",
        "2026-03-23T08:00:00Z",
        "--to",
        "2026-04-06T07:00:00Z",
        "--output",
        "json",
    ]);
    assert!(ok, "{err}");
    let shifts: serde_json::Value = serde_json::from_str(&shifts).unwrap();
    assert_eq!(shifts["shifts"][0]["user"], "bob");
    assert_eq!(
        shifts["shifts"][0]["end"], "2026-03-30T07:00:00Z",
        "167 hours: 09:00 CET to 09:00 CEST"
    );
    let (ok, who, err) = cli(&[
        "oncall",
        "who",
        "--schedule",
        "primary",
        "--at",
        "2026-03-24T12:00:00Z",
    ]);
    assert!(
        ok && who.contains("ann") && who.contains("bob"),
        "{who}{err}"
    );
    let (ok, made, err) = cli(&[
        "oncall",
        "override",
        "primary",
        "--user",
        "ann",
        "--from",
        "2026-03-24T10:00:00Z",
        "--to",
        "2026-03-24T14:00:00Z",
        "--output",
        "json",
    ]);
    assert!(ok, "{err}");
    let made: serde_json::Value = serde_json::from_str(&made).unwrap();
    let (_, who, _) = cli(&[
        "oncall",
        "who",
        "--schedule",
        "primary",
        "--at",
        "2026-03-24T12:00:00Z",
        "--output",
        "json",
    ]);
    let who: serde_json::Value = serde_json::from_str(&who).unwrap();
    assert_eq!(who["schedules"][0]["user"], "ann");
    let (ok, _, err) = cli(&["oncall", "unoverride", "primary", &made["id"].to_string()]);
    assert!(ok, "{err}");
    // bob can be reached only by SMS, which this server has no provider for.
    let (ok, report, _) = cli(&["oncall", "unreachable"]);
    assert!(
        ok && report.contains("bob") && report.contains("no sms provider"),
        "{report}"
    );
    let (ok, tested, _) = cli(&["user", "test-notify", "bob@acme.test"]);
    assert!(!ok, "nothing reaches bob: a failing exit code");
    assert!(
        tested.contains("phone") && tested.contains("NO"),
        "{tested}"
    );
}

#[test]
fn validate_warns_about_a_service_that_pages_nobody_and_still_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("org.yaml");
    std::fs::write(
        &file,
        "apiVersion: shinrai/v1\nkind: Team\nmetadata: {name: shop}\nspec: {members: []}\n---\napiVersion: shinrai/v1\nkind: Service\nmetadata: {name: lonely}\nspec:\n  owner_team: shop\n",
    )
    .unwrap();
    let out = shinrai(&["validate", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let f = file.display().to_string();
    assert!(
        err.contains(&format!(
            "{f}:9: spec.escalation_policy: warning: no escalation policy"
        )),
        "{err}"
    );
    let out = shinrai(&["validate", "-o", "json", file.to_str().unwrap()]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["warnings"][0]["path"], "spec.escalation_policy", "{v}");
}

#[tokio::test]
async fn incident_show_says_the_timeline_in_sentences_in_the_local_zone() {
    let dir = tempfile::tempdir().unwrap();
    let (server, data) = serve_with_events_key(dir.path());
    let token = token(&data);
    let resp = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", server.base))
        .json(&serde_json::json!({"routing_key": EVENTS_KEY, "event_action": "trigger", "dedup_key": "cpu",
            "payload": {"summary": "CPU saturated", "source": "node-exporter", "severity": "critical"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let cli = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--server", &server.base, "--token", &token])
            .env("TZ", "Asia/Tokyo")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    cli(&["incident", "ack", "1"]);
    cli(&["incident", "note", "1", "drained node-7\nthen restarted it"]);
    let shown = cli(&["incident", "show", "1"]);
    let timeline: Vec<&str> = shown
        .lines()
        .skip_while(|l| *l != "Timeline, newest first:")
        .collect();
    let sentences: Vec<&str> = timeline
        .iter()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| !l.starts_with(' '))
        .collect();
    assert_eq!(
        sentences,
        [
            "The API token admin added a note:",
            "The API token admin acknowledged the incident.",
            "Alert cpu triggered (critical): CPU saturated.",
        ],
        "{shown}"
    );
    assert!(
        timeline.contains(&"      > drained node-7")
            && timeline.contains(&"      > then restarted it"),
        "{shown}"
    );
    // Each entry's time: the local zone (TZ), to the second, how long ago, and who.
    let heading = timeline
        .iter()
        .find(|l| l.ends_with("by prometheus (checkout):"))
        .unwrap_or_else(|| panic!("the alert's sender as its actor:\n{shown}"));
    let at = heading.trim_start().split(" JST (").next().unwrap();
    assert!(
        jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", at).is_ok(),
        "{heading}"
    );
    assert!(heading.contains(" JST (just now), by "), "{heading}");
    for raw in ["alert.triggered", "incident.acknowledged", "note"] {
        assert!(
            !timeline
                .iter()
                .any(|l| l.contains(raw) && !l.contains("added a note")),
            "{raw} in:\n{shown}"
        );
    }
    // JSON keeps the raw log: kinds, actors, data and instants as the API answers them.
    let json: serde_json::Value =
        serde_json::from_str(&cli(&["incident", "show", "1", "-o", "json"])).unwrap();
    let kinds: Vec<&str> = json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["alert.triggered", "incident.acknowledged", "note"],
        "{json}"
    );
    assert_eq!(
        json["timeline"][2]["data"]["text"],
        "drained node-7\nthen restarted it"
    );
    assert!(
        json["timeline"][0]["at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok(),
        "{json}"
    );
}
