//! `docs/security.md` stays in step with the settings it names: every setting in its table
//! exists in `shinrai serve --help` with the same environment variable and default, every
//! `--flag` or `SHINRAI_*` variable it mentions anywhere exists, and every setting that
//! guards shinrai (listed here) is in the table.

use std::collections::BTreeMap;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_shinrai");

/// The settings a reader of the security page must find there: each limits what a caller,
/// a sender or the network can do, or protects a secret.
const SECURITY_SETTINGS: &[&str] = &[
    "--max-body-bytes",
    "--event-rate-limit",
    "--http-header-timeout",
    "--max-connections",
    "--trusted-proxies",
    "--egress-allow-notifications",
    "--secret-key-file",
    "--secret-key",
    "--integration-key-overlap",
    "--console-image-hosts",
];

/// One option of `shinrai serve --help`: its environment variable and its default.
#[derive(Debug, Default)]
struct Opt {
    env: Option<String>,
    default: Option<String>,
}

/// Reads `shinrai serve --help` (the long form) into options by flag.
fn serve_options() -> BTreeMap<String, Opt> {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .expect("run shinrai serve --help");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let mut opts = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in help.lines() {
        let t = line.trim();
        if line.starts_with("  ")
            && (t.starts_with("--") || t.starts_with('-'))
            && !line.starts_with("          ")
        {
            let flag = t
                .split([',', ' ', '<'])
                .map(str::trim)
                .find(|w| w.starts_with("--"))
                .map(str::to_owned);
            if let Some(f) = &flag {
                opts.insert(f.clone(), Opt::default());
            }
            current = flag;
            continue;
        }
        let Some(flag) = &current else { continue };
        let opt = opts.get_mut(flag).unwrap();
        if let Some(env) = t.strip_prefix("[env: ") {
            // `[env: NAME=value]`, or `[env: NAME]` where values are hidden.
            opt.env = Some(env.split(['=', ']']).next().unwrap().to_owned());
        } else if let Some(d) = t.strip_prefix("[default: ") {
            opt.default = Some(d.trim_end_matches(']').to_owned());
        }
    }
    opts
}

fn doc() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/security.md"
    ))
    .expect("docs/security.md")
}

/// The rows of the settings table: `| `--flag` (`SHINRAI_X`) | default | meaning |`.
fn table(doc: &str) -> BTreeMap<String, (String, String)> {
    let mut rows = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with("`--") {
            continue;
        }
        let mut ticks = cells[1].split('`').skip(1).step_by(2);
        let flag = ticks.next().unwrap().to_owned();
        let env = ticks.next().unwrap_or_default().to_owned();
        rows.insert(flag, (env, cells[2].trim_matches('`').to_owned()));
    }
    rows
}

/// The code spans of the text (between backticks).
fn spans(doc: &str) -> impl Iterator<Item = &str> {
    doc.split('`').skip(1).step_by(2)
}

fn words(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| c.is_whitespace() || "=,()[]".contains(c))
}

fn help_of(command: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(command)
        .arg("--help")
        .output()
        .expect("run shinrai --help");
    assert!(
        out.status.success(),
        "`shinrai {} --help` failed: {}",
        command.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_settings_table_matches_serve_help() {
    let opts = serve_options();
    let rows = table(&doc());
    assert!(!rows.is_empty(), "docs/security.md has no settings table");
    for (flag, (env, default)) in &rows {
        let opt = opts.get(flag).unwrap_or_else(|| {
            panic!("docs/security.md names {flag}, which `shinrai serve` does not take")
        });
        assert_eq!(
            opt.env.as_deref(),
            Some(env.as_str()),
            "docs/security.md gives {flag} the variable {env}"
        );
        match &opt.default {
            Some(d) => assert!(
                default.contains(d.as_str()),
                "docs/security.md gives {flag} the default {default:?}; `serve --help` says {d:?}"
            ),
            None => assert!(
                default == "none" || default.starts_with("none"),
                "{flag} has no default in `serve --help`; docs/security.md says {default:?} (write `none …`)"
            ),
        }
    }
    for flag in SECURITY_SETTINGS {
        assert!(
            rows.contains_key(*flag),
            "docs/security.md's settings table lacks {flag}"
        );
    }
}

#[test]
fn every_setting_and_command_the_page_mentions_exists() {
    let opts = serve_options();
    let envs: Vec<&str> = opts.values().filter_map(|o| o.env.as_deref()).collect();
    let doc = doc();
    for code in spans(&doc) {
        if let Some(command) = code.strip_prefix("shinrai ") {
            // A command line: its command exists and takes the flags written with it.
            let path: Vec<&str> = command
                .split_whitespace()
                .take_while(|w| {
                    !w.starts_with('-') && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                })
                .collect();
            let help = help_of(&path);
            for flag in words(command).filter(|w| w.starts_with("--") && w.len() > 2) {
                assert!(
                    help.contains(flag),
                    "docs/security.md writes `{code}`, but `shinrai {} --help` has no {flag}",
                    path.join(" ")
                );
            }
            continue;
        }
        for word in words(code) {
            if word.starts_with("--") && word.len() > 2 {
                assert!(
                    opts.contains_key(word),
                    "docs/security.md mentions {word}, which `shinrai serve` does not take \
                     (write another command's flag with its command: `shinrai CMD --flag`)"
                );
            } else if word.starts_with("SHINRAI_") && !word.ends_with('_') {
                // Named secrets are read from `SHINRAI_SECRET_*` variables, not flags; the
                // CLI's token is the CLI's.
                if word.starts_with("SHINRAI_SECRET_") || word == "SHINRAI_TOKEN" {
                    continue;
                }
                assert!(
                    envs.contains(&word),
                    "docs/security.md mentions {word}, which no `shinrai serve` setting reads"
                );
            }
        }
    }
}
