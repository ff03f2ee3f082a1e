//! The architecture invariants that `cargo metadata` can check (ARCHITECTURE.md,
//! "Invariants"): which crate may depend on which, dev-dependencies included.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Crates that do no I/O: `domain`, the configuration model and the capability crates.
const PURE: &[&str] = &["domain", "config", "paging", "oncall"];
/// Crates that mean I/O, time or randomness; pure crates must not depend on them.
const IO: &[&str] = &[
    "tokio",
    "sqlx",
    "axum",
    "hyper",
    "reqwest",
    "tower",
    "tower-http",
    "rand",
    "getrandom",
    "metrics",
    "tracing-subscriber",
];
/// The declared capability graph: a capability crate may depend on these workspace crates
/// only. Later capabilities add their row (`oncall -> domain`, `paging -> oncall`, …).
const CAPABILITY_GRAPH: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("config", &["domain", "oncall"]),
    ("paging", &["domain"]),
    ("oncall", &["domain"]),
];
const BACKENDS: &[&str] = &["store-sqlite", "store-postgres"];
/// Only these may name a concrete backend.
const MAY_NAME_BACKEND: &[&str] = &["shinrai", "test-support"];

fn metadata() -> serde_json::Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata JSON")
}

/// Every workspace package with the names of all its dependencies (normal, dev, build).
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let meta = metadata();
    let mut out = BTreeMap::new();
    for p in meta["packages"].as_array().expect("packages") {
        let deps = p["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .map(|d| d["name"].as_str().expect("name").to_owned())
            .collect();
        out.insert(p["name"].as_str().expect("name").to_owned(), deps);
    }
    out
}

#[test]
fn pure_crates_do_no_io() {
    let deps = dependencies();
    for krate in PURE {
        let d = deps
            .get(*krate)
            .unwrap_or_else(|| panic!("crate {krate} is missing"));
        let bad: Vec<_> = d.iter().filter(|n| IO.contains(&n.as_str())).collect();
        assert!(
            bad.is_empty(),
            "{krate} must do no I/O but depends on {bad:?}"
        );
    }
}

#[test]
fn capability_crates_follow_the_declared_graph() {
    let deps = dependencies();
    let workspace: BTreeSet<_> = deps.keys().cloned().collect();
    for (krate, allowed) in CAPABILITY_GRAPH {
        let d = &deps[*krate];
        for dep in d.iter().filter(|n| workspace.contains(*n)) {
            assert!(
                allowed.contains(&dep.as_str()),
                "{krate} may not depend on {dep}; allowed: {allowed:?}"
            );
        }
    }
}

#[test]
fn only_the_binary_and_test_support_name_a_backend() {
    let deps = dependencies();
    for (krate, d) in &deps {
        for backend in BACKENDS {
            if d.contains(*backend) {
                assert!(
                    MAY_NAME_BACKEND.contains(&krate.as_str()),
                    "{krate} depends on {backend}; only {MAY_NAME_BACKEND:?} may name a backend"
                );
            }
        }
    }
    // The contract itself knows no SQL.
    assert!(
        !deps["store"].contains("sqlx"),
        "store must hold only the contract"
    );
}

#[test]
fn only_the_binary_installs_logging() {
    let deps = dependencies();
    for (krate, d) in &deps {
        if d.contains("tracing-subscriber") {
            assert_eq!(
                krate, "shinrai",
                "{krate} installs logging; only the binary may"
            );
        }
    }
}

#[test]
fn clippy_bans_ambient_time_randomness_and_environment() {
    let clippy = include_str!("../../../clippy.toml");
    for banned in [
        "std::time::SystemTime::now",
        "std::time::Instant::now",
        "jiff::Timestamp::now",
        "jiff::Zoned::now",
        "jiff::tz::TimeZone::system",
        "rand::rng",
        "rand::thread_rng",
        "std::env::var",
    ] {
        assert!(
            clippy.contains(&format!("\"{banned}\"")),
            "clippy.toml does not ban {banned}"
        );
    }
}

/// Every `.rs` file under `crates/`, with its path relative to the workspace root.
fn workspace_sources() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read a source directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if path
                    .file_name()
                    .is_some_and(|n| n == "target" || n == "node_modules")
                {
                    continue;
                }
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                let rel = path.strip_prefix(root).expect("under the root");
                out.push((rel.to_string_lossy().replace('\\', "/"), text));
            }
        }
    }
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let mut out = Vec::new();
    walk(&root.join("crates"), root, &mut out);
    out
}

/// Each `fn NAME(&self, a: …, b: …)` in `text`: the name and its parameters' names, which
/// is what a copy of a store method's signature keeps however its types are spelled.
fn self_methods(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("fn ") {
        rest = &rest[at + 3..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let after = rest[name.len()..].trim_start();
        let Some(params) = after.strip_prefix('(') else {
            continue;
        };
        if name.is_empty() || !params.trim_start().starts_with("&self") {
            continue;
        }
        // The parameter list ends at the parenthesis that closes it.
        let mut depth = 1;
        let end = params
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(params.len(), |(i, _)| i);
        let list = &params[..end];
        let mut names = Vec::new();
        let bytes = list.as_bytes();
        for (i, _) in list.match_indices(':') {
            let single = bytes.get(i + 1) != Some(&b':') && (i == 0 || bytes[i - 1] != b':');
            if !single {
                continue;
            }
            let before = list[..i].trim_end();
            let ident: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if !ident.is_empty() {
                names.push(ident);
            }
        }
        out.push((name, names));
    }
    out
}

/// The store's method signatures are written once: in the sub-trait that declares each
/// (`crates/store/src`, through `store_trait!`), and implemented once, by the SQL
/// implementation (`crates/store-sql/src`), which is the one implementation rather than a
/// copy. Wrappers (the metrics layer, the fault-injecting test store) implement every
/// sub-trait through `store::forward_store!` and so name no signature; a hand-written
/// `impl … Store for` anywhere else is a copy too.
#[test]
fn store_method_signatures_are_written_once() {
    let sources = workspace_sources();
    let mut declared = BTreeSet::new();
    let mut traits = BTreeSet::new();
    let mut undeclared = Vec::new();
    for (path, text) in &sources {
        if !path.starts_with("crates/store/src/") {
            continue;
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("store_trait! {") {
            rest = &rest[at..];
            let end = rest.find("\n}").unwrap_or(rest.len());
            let block = &rest[..end];
            declared.extend(self_methods(block));
            if let Some(name) = block.split("pub trait ").nth(1) {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                traits.insert(name);
            }
            rest = &rest[end..];
        }
        // A store trait written by hand would have no method list to forward.
        // (Inside `store_trait! { … }` a trait's line is indented.)
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("pub trait ") {
                let name = rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("");
                if name.ends_with("Store") {
                    undeclared.push(format!("{path}: {line}"));
                }
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "store traits declared without store_trait!:\n{}",
        undeclared.join("\n")
    );
    assert!(
        declared.len() > 40,
        "found only {} store methods declared through store_trait!",
        declared.len()
    );
    assert!(traits.contains("Store"), "found store traits {traits:?}");
    let mut copies = Vec::new();
    for (path, text) in &sources {
        if path.starts_with("crates/store/src/") || path.starts_with("crates/store-sql/src/") {
            continue;
        }
        for method in self_methods(text) {
            if declared.contains(&method) {
                copies.push(format!("{path}: fn {}({:?})", method.0, method.1));
            }
        }
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(i) = words.iter().position(|w| *w == "for")
                && i > 0
                && words[..i].contains(&"impl")
                && traits.contains(words[i - 1].rsplit("::").next().unwrap_or(""))
            {
                copies.push(format!("{path}: {}", line.trim()));
            }
        }
    }
    assert!(
        copies.is_empty(),
        "store method signatures written outside the store's sub-traits and the SQL \
         implementation (use store::forward_store!):\n{}",
        copies.join("\n")
    );
}

/// A leased claim (a row gets an owner, a lease expiry and a new fence) is written once,
/// in `store-sql/src/lease.rs`, for every kind of due work.
#[test]
fn leased_claims_go_through_the_one_helper() {
    let mut claims = Vec::new();
    for (path, text) in workspace_sources() {
        if path == "crates/store-sql/src/lease.rs" || path.ends_with("tests/tidy.rs") {
            continue;
        }
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        // Only a claim gives a row an owner; finishing or moving work clears it.
        if flat.contains("lease_owner = $") || flat.contains("lease_owner = ?") {
            claims.push(path);
        }
    }
    assert!(
        claims.is_empty(),
        "leased claims written outside store-sql/src/lease.rs: {claims:?}"
    );
}
