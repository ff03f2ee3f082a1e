//! The key that seals stored secrets: where it comes from (a file, the environment, or
//! for the embedded store a file generated beside the data directory), and
//! `shinrai secrets rotate-key`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use runtime::sealed::SecretKey;
use store::Store;

use crate::output::{Output, outln, print_json};
use crate::settings::StoreArgs;

/// Where the secret key comes from.
#[derive(clap::Args, Clone, Debug)]
pub struct SecretKeyArgs {
    /// A file holding the key that seals the secrets shinrai stores (the key that signs
    /// acknowledge links, and later webhook and deploy secrets): 64 hex digits, readable
    /// only by shinrai (`umask 077; openssl rand -hex 32 > shinrai.key`). Required with
    /// PostgreSQL, where every node needs the same key. For the embedded SQLite store it
    /// defaults to a file beside the data directory (`./shinrai-data.key`), generated on
    /// first start; keep it out of the data directory's backups. A node whose key is not
    /// the one the store's secrets are sealed with refuses to start and says so.
    #[arg(long, env = "SHINRAI_SECRET_KEY_FILE", value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// The key itself (64 hex digits) instead of a file, e.g. from a secret manager.
    #[arg(
        long,
        env = "SHINRAI_SECRET_KEY",
        value_name = "HEX",
        hide_env_values = true,
        conflicts_with = "secret_key_file"
    )]
    pub secret_key: Option<String>,
}

/// The environment variables that carry the key, which are not named secrets
/// (`SHINRAI_SECRET_*`).
pub const KEY_VARIABLES: [&str; 2] = ["SHINRAI_SECRET_KEY", "SHINRAI_SECRET_KEY_FILE"];

impl SecretKeyArgs {
    /// The key to seal this store's secrets with. For the embedded store without a key
    /// given, the file beside the data directory, generated when the store has no
    /// secrets sealed yet.
    pub async fn key_for(
        &self,
        store: &StoreArgs,
        opened: &dyn Store,
    ) -> anyhow::Result<SecretKey> {
        if let Some(hex) = &self.secret_key {
            return SecretKey::from_text(hex).context("SHINRAI_SECRET_KEY (--secret-key)");
        }
        if let Some(path) = &self.secret_key_file {
            return read_key(path);
        }
        let Some(path) = store.default_key_file() else {
            anyhow::bail!(
                "a PostgreSQL store needs its secret key: give every node the same one with --secret-key-file FILE (SHINRAI_SECRET_KEY_FILE) or SHINRAI_SECRET_KEY; make one with `umask 077; openssl rand -hex 32 > shinrai.key`"
            );
        };
        if path.exists() {
            return read_key(&path);
        }
        if let Some(fingerprint) = opened.secret_key_fingerprint().await? {
            anyhow::bail!(
                "the store's secrets are sealed with the key of fingerprint {fingerprint}, and its key file {} is missing; restore it, or give the key with --secret-key-file",
                path.display()
            );
        }
        let key = SecretKey::generate();
        write_key(&path, &key)?;
        tracing::info!(
            path = %path.display(),
            fingerprint = %key.fingerprint(),
            "generated the key that seals stored secrets; back it up apart from the data directory"
        );
        Ok(key)
    }
}

/// Reads a key file.
pub fn read_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the secret key file {}", path.display()))?;
    SecretKey::from_text(&text).with_context(|| format!("secret key file {}", path.display()))
}

/// Writes a new key file that only its owner may read.
pub fn write_key(path: &Path, key: &SecretKey) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the secret key file {}", path.display()))?;
    file.write_all(key.to_text().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the secret key file {}", path.display()))
}

/// `shinrai secrets rotate-key`: reseals every stored secret with a new key.
pub async fn rotate_key(
    key: &SecretKeyArgs,
    new_key_file: &Path,
    store_args: &StoreArgs,
    out: Output,
) -> anyhow::Result<ExitCode> {
    // On SQLite this takes the data directory's lock: the server must be stopped, since
    // it would go on with the old key until it restarts.
    let opened = store_args.open_for_command(true).await?;
    let old = key.key_for(store_args, opened.store.as_ref()).await?;
    let created = !new_key_file.exists();
    let new = if created {
        let new = SecretKey::generate();
        write_key(new_key_file, &new)?;
        new
    } else {
        read_key(new_key_file)?
    };
    let now = runtime::SystemClock::shared().now();
    let resealed = runtime::sealed::rotate(opened.store.as_ref(), &old, &new, now).await;
    opened.close().await;
    let resealed = resealed?;
    match out {
        Output::Json => print_json(&serde_json::json!({
            "old_fingerprint": old.fingerprint(),
            "new_fingerprint": new.fingerprint(),
            "new_key_file": new_key_file,
            "resealed": resealed,
        })),
        Output::Table => {
            outln!(
                "Resealed {resealed} secret(s) with the key in {} (fingerprint {}){}.",
                new_key_file.display(),
                new.fingerprint(),
                if created { ", made now" } else { "" }
            );
            match store_args.default_key_file() {
                Some(default) if key.secret_key_file.is_none() && key.secret_key.is_none() => {
                    outln!(
                        "Replace {} with it (mv {} {}) before starting shinrai again.",
                        default.display(),
                        new_key_file.display(),
                        default.display()
                    );
                }
                _ => outln!(
                    "Start every node with --secret-key-file {} from now on; the old key no longer opens the store.",
                    new_key_file.display()
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
