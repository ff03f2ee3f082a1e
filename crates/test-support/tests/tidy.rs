//! The architecture invariants that `cargo metadata` can check (ARCHITECTURE.md,
//! "Invariants"): which crate may depend on which, dev-dependencies included; every
//! workspace edge against ARCHITECTURE.md's crate table; and no source file over 600 lines
//! without a stated reason.

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

/// The workspace dependencies of every workspace package, split into normal (and build)
/// dependencies and dev-dependencies.
fn workspace_edges() -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let meta = metadata();
    let packages = meta["packages"].as_array().expect("packages");
    let workspace: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    let mut out = BTreeMap::new();
    for p in packages {
        let (mut normal, mut dev) = (BTreeSet::new(), BTreeSet::new());
        for d in p["dependencies"].as_array().expect("dependencies") {
            let name = d["name"].as_str().expect("name");
            if !workspace.contains(name) {
                continue;
            }
            if d["kind"].as_str() == Some("dev") {
                dev.insert(name.to_owned());
            } else {
                normal.insert(name.to_owned());
            }
        }
        out.insert(p["name"].as_str().expect("name").to_owned(), (normal, dev));
    }
    out
}

/// The names written in backticks in one cell of a Markdown table.
fn backticked(cell: &str) -> BTreeSet<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// ARCHITECTURE.md's crate table (the first table under "## Crates"): for each crate its
/// workspace dependencies and the crates its tests also use. A row may name several crates
/// that share their dependencies.
fn crate_table() -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let doc = include_str!("../../../ARCHITECTURE.md");
    let section = doc
        .split("\n## Crates\n")
        .nth(1)
        .expect("ARCHITECTURE.md has a \"## Crates\" section");
    let header = section
        .lines()
        .find(|l| l.starts_with('|'))
        .expect("the Crates section has a table");
    let columns: Vec<&str> = header.split('|').map(str::trim).collect();
    let column = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .unwrap_or_else(|| panic!("the crate table has no \"{name}\" column: {header}"))
    };
    let (krate, depends, tests) = (
        column("crate"),
        column("depends on"),
        column("its tests also use"),
    );
    let mut out = BTreeMap::new();
    for row in section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
    {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        for name in backticked(cells[krate]) {
            let edges = (backticked(cells[depends]), backticked(cells[tests]));
            assert!(
                out.insert(name.clone(), edges).is_none(),
                "{name} has two rows in the crate table"
            );
        }
    }
    out
}

#[test]
fn every_workspace_edge_is_in_the_crate_table() {
    let code = workspace_edges();
    let table = crate_table();
    let mut wrong = Vec::new();
    for (krate, (normal, dev)) in &code {
        let Some((declared, declared_dev)) = table.get(krate) else {
            wrong.push(format!(
                "{krate} has no row in ARCHITECTURE.md's crate table"
            ));
            continue;
        };
        for (kind, actual, written) in [
            ("depends on", normal, declared),
            ("its tests also use", dev, declared_dev),
        ] {
            for dep in actual.difference(written) {
                wrong.push(format!(
                    "{krate} -> {dep} is in Cargo.toml but not in the table's \"{kind}\""
                ));
            }
            for dep in written.difference(actual) {
                wrong.push(format!(
                    "{krate} -> {dep} is in the table's \"{kind}\" but not in Cargo.toml"
                ));
            }
        }
    }
    for krate in table.keys().filter(|k| !code.contains_key(*k)) {
        wrong.push(format!(
            "the crate table names {krate}, which is not in the workspace"
        ));
    }
    assert!(
        wrong.is_empty(),
        "ARCHITECTURE.md's crate table and the workspace disagree:\n{}",
        wrong.join("\n")
    );
}

/// How long a source file may be before it must say why.
const MAX_LINES: usize = 600;
/// What a longer file says, in its leading `//!` comment, followed by its reason.
const LONG_FILE_MARKER: &str = "//! Longer than 600 lines because ";
/// Files over the limit that are being split now, with why they are not split yet. A file
/// leaves this list when it is split (the test fails while it stays listed).
const BEING_SPLIT: &[(&str, &str)] = &[(
    "crates/store-sql/src/incidents.rs",
    "its incident rules are moving to pure functions in paging",
)];

/// Every `.rs` file under `dir`, as a path relative to the workspace root.
fn rust_files(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read a source directory") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && name != "node_modules" && !name.starts_with('.') {
                rust_files(root, &path, out);
            }
        } else if name.ends_with(".rs") {
            let relative = path.strip_prefix(root).expect("under the root");
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn long_source_files_say_why() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let mut files = Vec::new();
    rust_files(root, &root.join("crates"), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(root.join(file)).expect("read a source file");
        let lines = text.lines().count();
        let listed = BEING_SPLIT.iter().any(|(f, _)| f == file);
        let reason = text
            .lines()
            .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
            .any(|l| l.starts_with(LONG_FILE_MARKER) && l.len() > LONG_FILE_MARKER.len());
        if lines > MAX_LINES && !listed && !reason {
            wrong.push(format!(
                "{file} has {lines} lines: split it, or say why in its leading comment \
                 (\"{LONG_FILE_MARKER}...\")"
            ));
        }
        if lines <= MAX_LINES && listed {
            wrong.push(format!(
                "{file} has {lines} lines now: remove it from BEING_SPLIT"
            ));
        }
    }
    for (file, _) in BEING_SPLIT {
        if !files.iter().any(|f| f == file) {
            wrong.push(format!("{file} is gone: remove it from BEING_SPLIT"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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
/// in `store-sql/src/lease.rs`, for every kind of due work; the named leases
/// (`LeaseStore`) are written there too, and nowhere else.
#[test]
fn leased_claims_go_through_the_one_helper() {
    let mut claims = Vec::new();
    for (path, text) in workspace_sources() {
        if path == "crates/store-sql/src/lease.rs" || path.ends_with("tests/tidy.rs") {
            continue;
        }
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        // Only a claim gives a row an owner; finishing or moving work clears it.
        let named = ["INSERT INTO leases", "UPDATE leases", "DELETE FROM leases"];
        if flat.contains("lease_owner = $")
            || flat.contains("lease_owner = ?")
            || named.iter().any(|n| flat.contains(n))
        {
            claims.push(path);
        }
    }
    assert!(
        claims.is_empty(),
        "leased claims written outside store-sql/src/lease.rs: {claims:?}"
    );
}
