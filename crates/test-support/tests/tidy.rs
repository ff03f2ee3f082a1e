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
