//! The console in a real browser: headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` from `browser/`) signs in to `serve --demo`, opens the demo
//! incident, acknowledges it, sees the timeline change, opens a schedule and creates an
//! override. Every page passes axe-core and the Nu HTML checker (`vnu-jar`) and logs no
//! console errors. Screenshots and pages are kept in `target/browser-artifacts`; every page at a
//! phone's width (390 px) is measured for cut or broken text and its screenshot kept in
//! `target/browser-screenshots`.
//! `scripts/test` installs Chromium, Java and the npm packages.

use std::process::Command;

use test_support::serve::Server;

const BIN: &str = env!("CARGO_BIN_EXE_shinrai");

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_console_works_in_a_real_browser_and_every_page_is_valid_and_accessible() {
    let root = repo();
    assert!(
        root.join("browser/node_modules/playwright-core").exists(),
        "browser/node_modules is missing: run the tests through scripts/test, which installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let server = Server::start(
        BIN,
        &[
            std::ffi::OsStr::new("--demo"),
            std::ffi::OsStr::new("--data-dir"),
            data.as_os_str(),
        ],
    );
    let artifacts = root.join("target/browser-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    let screenshots = root.join("target/browser-screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    let out = Command::new("node")
        .arg(root.join("browser/console.mjs"))
        .arg(&server.base)
        .arg(&artifacts)
        .arg(&screenshots)
        .output()
        .expect("run node (scripts/test provides it)");
    drop(server);
    assert!(
        out.status.success(),
        "the browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Every page the browser saw is valid HTML.
    let pages: Vec<_> = std::fs::read_dir(&artifacts)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    assert!(pages.len() >= 10, "{} pages saved", pages.len());
    let vnu = Command::new("java")
        .arg("-jar")
        .arg(root.join("browser/node_modules/vnu-jar/build/dist/vnu.jar"))
        .args(["--errors-only", "--exit-zero-always"])
        .args(&pages)
        .output()
        .expect("run java (scripts/test provides it)");
    let report = String::from_utf8_lossy(&vnu.stderr);
    assert!(
        report.trim().is_empty(),
        "the Nu HTML checker found errors:\n{report}"
    );
}
