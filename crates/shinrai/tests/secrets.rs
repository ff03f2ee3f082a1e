//! The key that seals stored secrets, as an operator meets it: generated beside the
//! embedded store's data directory on first start, plain-text secrets sealed, a node with
//! another key refused, PostgreSQL refused without a key, and `shinrai secrets
//! rotate-key`.

use std::path::Path;
use std::process::Command;

use store::prelude::*;
use test_support::serve::Server;

const BIN: &str = env!("CARGO_BIN_EXE_shinrai");

fn serve(args: &[&std::ffi::OsStr]) -> Server {
    Server::start(BIN, args)
}

/// Runs `shinrai serve` expecting it to refuse to start; returns what it said.
fn refused(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "warn"])
        .args(args)
        .output()
        .expect("run shinrai serve");
    assert!(!out.status.success(), "serve started: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn stored_link_secret(data: &Path) -> String {
    let s = store_sqlite::open_data_dir_with(data, store_sqlite::Sharing::Shared)
        .await
        .unwrap();
    let value = s
        .sql()
        .server_secret("links", "unused", test_support::t0())
        .await
        .unwrap();
    s.close().await;
    value
}

#[tokio::test]
async fn the_embedded_store_seals_its_secrets_with_a_key_made_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A store from before sealing holds the link-signing key in plain text.
    {
        let s = store_sqlite::open_data_dir(&data).await.unwrap();
        s.sql()
            .server_secret("links", "plain-link-key-from-before", test_support::t0())
            .await
            .unwrap();
        s.close().await;
    }
    let data_arg = data.as_os_str();
    let server = serve(&["--data-dir".as_ref(), data_arg]);
    drop(server);

    let key_file = dir.path().join("data.key");
    let meta = std::fs::metadata(&key_file).expect("a key file beside the data directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let key = runtime::sealed::SecretKey::from_text(&std::fs::read_to_string(&key_file).unwrap())
        .unwrap();
    let stored = stored_link_secret(&data).await;
    assert!(runtime::sealed::is_sealed(&stored), "{stored}");
    assert_eq!(
        key.open("links", &stored).unwrap(),
        "plain-link-key-from-before"
    );
    // The next start reads the same key and starts.
    drop(serve(&["--data-dir".as_ref(), data_arg]));

    // Another key is refused, naming both fingerprints.
    let other = dir.path().join("other.key");
    std::fs::write(&other, runtime::sealed::SecretKey::generate().to_text()).unwrap();
    let said = refused(&[
        "--data-dir".as_ref(),
        data_arg,
        "--secret-key-file".as_ref(),
        other.as_os_str(),
    ]);
    assert!(said.contains(&key.fingerprint()), "{said}");
    // A lost key file is not silently replaced.
    std::fs::rename(&key_file, dir.path().join("kept.key")).unwrap();
    let said = refused(&["--data-dir".as_ref(), data_arg]);
    assert!(said.contains("missing"), "{said}");
    assert!(!key_file.exists());
    std::fs::rename(dir.path().join("kept.key"), &key_file).unwrap();

    // Rotation: a new key file is made, every secret resealed with it, and the old key
    // then refused.
    let new_file = dir.path().join("new.key");
    let out = Command::new(BIN)
        .args(["secrets", "rotate-key", "--new-key-file"])
        .arg(&new_file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = runtime::sealed::SecretKey::from_text(&std::fs::read_to_string(&new_file).unwrap())
        .unwrap();
    let stored = stored_link_secret(&data).await;
    assert_eq!(
        new.open("links", &stored).unwrap(),
        "plain-link-key-from-before"
    );
    let said = refused(&["--data-dir".as_ref(), data_arg]);
    assert!(said.contains(&new.fingerprint()), "{said}");
    drop(serve(&[
        "--data-dir".as_ref(),
        data_arg,
        "--secret-key-file".as_ref(),
        new_file.as_os_str(),
    ]));
}

#[tokio::test]
async fn a_postgresql_node_needs_the_key() {
    let url = test_support::postgres::fresh_database().await;
    let said = refused(&["--database-url".as_ref(), url.as_ref()]);
    assert!(said.contains("--secret-key-file"), "{said}");
    let key = runtime::sealed::SecretKey::generate();
    let hex = key.to_text();
    let hex = hex.trim();
    drop(serve(&[
        "--database-url".as_ref(),
        url.as_ref(),
        "--secret-key".as_ref(),
        hex.as_ref(),
    ]));
    let other = runtime::sealed::SecretKey::generate().to_text();
    let said = refused(&[
        "--database-url".as_ref(),
        url.as_ref(),
        "--secret-key".as_ref(),
        other.trim().as_ref(),
    ]);
    assert!(said.contains(&key.fingerprint()), "{said}");
}
