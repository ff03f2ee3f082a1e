//! Where the store is, and opening it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use store::Store;

/// The store options every command that works on the store directly takes.
#[derive(clap::Args, Clone, Debug)]
pub struct StoreArgs {
    /// Data directory for the embedded SQLite store (created when missing);
    /// `./shinrai-data` by default (`./shinrai-demo` for `serve --demo`).
    #[arg(long, env = "SHINRAI_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL instead of the data directory: `sqlite://PATH` or
    /// `postgres://USER@HOST/DB` (several nodes need PostgreSQL).
    #[arg(long, env = "SHINRAI_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
}

/// An open store, with whatever must live as long as it (the SQLite lock).
pub struct OpenStore {
    pub store: Arc<dyn Store>,
    pub describe: String,
    _sqlite: Option<store_sqlite::SqliteStore>,
}

impl OpenStore {
    pub async fn close(self) {
        if let Some(s) = &self._sqlite {
            s.close().await;
        }
    }
}

impl StoreArgs {
    /// The SQLite data directory these options name.
    pub fn dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("./shinrai-data"))
    }

    /// Whether the store is there already. Opening a SQLite store that is not creates it
    /// (and its directory); a PostgreSQL database is always there to ask.
    pub fn exists(&self) -> bool {
        match self.database_url.as_deref() {
            Some(url) if url.starts_with("sqlite:") => std::path::Path::new(
                url.trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:")
                    .split('?')
                    .next()
                    .unwrap_or_default(),
            )
            .exists(),
            Some(_) => true,
            None => self.dir().join(store_sqlite::DB_FILE).exists(),
        }
    }

    /// Where the embedded store's secret key is kept unless one is given: a file beside
    /// the database (`./shinrai-data.key` for `./shinrai-data`), outside the directory
    /// that backups copy. `None` for PostgreSQL, whose nodes must be given the key.
    pub fn default_key_file(&self) -> Option<PathBuf> {
        let base = match self.database_url.as_deref() {
            Some(url) if url.starts_with("sqlite:") => PathBuf::from(
                url.trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:")
                    .split('?')
                    .next()
                    .unwrap_or_default(),
            ),
            Some(_) => return None,
            None => self.dir(),
        };
        let mut name = base.file_name()?.to_os_string();
        name.push(".key");
        Some(base.with_file_name(name))
    }

    /// The flag that names this store on the command line (`--data-dir ./shinrai-demo`),
    /// for commands printed for people to run against it. A PostgreSQL password is left
    /// out.
    pub fn flag(&self) -> String {
        match self.database_url.as_deref() {
            Some(url) => format!("--database-url {}", shell_word(&redacted(url))),
            None => format!(
                "--data-dir {}",
                shell_word(&self.dir().display().to_string())
            ),
        }
    }

    /// Opens the store for a command and says on standard error which store that is
    /// (`using the SQLite store ./shinrai-data/shinrai.db (created now)`), so that a
    /// command run against the wrong data directory is seen at once. `exclusive` takes
    /// the SQLite data directory's lock, as a server does.
    pub async fn open_for_command(&self, exclusive: bool) -> anyhow::Result<OpenStore> {
        let sqlite_file = match self.database_url.as_deref() {
            None => Some(self.dir().join(store_sqlite::DB_FILE)),
            Some(url) if url.starts_with("sqlite:") => Some(PathBuf::from(sqlite_path(url))),
            Some(_) => None,
        };
        let new = sqlite_file.as_ref().is_some_and(|f| !f.exists());
        let opened = self.open(exclusive).await?;
        eprintln!(
            "using the {}{}",
            opened.describe,
            if new {
                " (created now; no server has served it yet)"
            } else {
                ""
            }
        );
        Ok(opened)
    }

    /// Opens the store. `serving` takes the SQLite data directory's lock.
    pub async fn open(&self, serving: bool) -> anyhow::Result<OpenStore> {
        let sharing = if serving {
            store_sqlite::Sharing::Exclusive
        } else {
            store_sqlite::Sharing::Shared
        };
        match self.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let store = store_postgres::connect(url)
                    .await
                    .context("cannot open the PostgreSQL store")?;
                Ok(OpenStore {
                    store: Arc::new(store),
                    describe: format!("PostgreSQL store {}", redacted(url)),
                    _sqlite: None,
                })
            }
            Some(url) if url.starts_with("sqlite://") || url.starts_with("sqlite:") => {
                let path = sqlite_path(url);
                if path.is_empty() || path == ":memory:" {
                    anyhow::bail!(
                        "--database-url {url}: give a file path (sqlite://PATH); an in-memory database would lose every write"
                    );
                }
                let s = store_sqlite::open(std::path::Path::new(path), sharing).await?;
                Ok(OpenStore {
                    store: Arc::new(s.sql()),
                    describe: format!("SQLite store {path}"),
                    _sqlite: Some(s),
                })
            }
            Some(other) => anyhow::bail!(
                "--database-url {other}: unsupported scheme; use sqlite://PATH or postgres://USER@HOST/DB"
            ),
            None => {
                let s = store_sqlite::open_data_dir_with(&self.dir(), sharing).await?;
                let describe = format!("SQLite store {}", s.path().display());
                Ok(OpenStore {
                    store: Arc::new(s.sql()),
                    describe,
                    _sqlite: Some(s),
                })
            }
        }
    }
}

/// The file of a `sqlite://PATH` or `sqlite:PATH` URL.
fn sqlite_path(url: &str) -> &str {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    path.split('?').next().unwrap_or(path)
}

/// A database URL without its password, to print.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("PASSWORD"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// `word` quoted for a POSIX shell where it needs to be.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Checks configuration files and plans them against the store: `Ok(Err(problems))`
/// when the files are invalid on their own or against what the store holds.
pub async fn prepare_files(
    store: &Arc<dyn Store>,
    files: &[config::SourceFile],
    prune: bool,
) -> anyhow::Result<Result<runtime::apply::Prepared, Vec<config::Problem>>> {
    match runtime::apply::prepare(store, files, prune).await {
        Ok(prepared) => Ok(Ok(prepared)),
        Err(runtime::apply::ApplyError::Invalid(problems)) => Ok(Err(problems)),
        Err(e) => Err(e.into()),
    }
}

/// Reads configuration files: a YAML file, or every `.yaml`/`.yml` file below a folder,
/// in name order.
pub fn read_config(paths: &[PathBuf]) -> anyhow::Result<Vec<config::SourceFile>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_yaml(path, &mut found)?;
            found.sort();
            if found.is_empty() {
                anyhow::bail!("{} holds no .yaml or .yml files", path.display());
            }
            for f in found {
                files.push(read_one(&f)?);
            }
        } else {
            files.push(read_one(path)?);
        }
    }
    Ok(files)
}

fn collect_yaml(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

fn read_one(path: &std::path::Path) -> anyhow::Result<config::SourceFile> {
    let content =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(config::SourceFile {
        path: path.display().to_string(),
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_store_flag_never_shows_a_database_password() {
        let args = StoreArgs {
            data_dir: None,
            database_url: Some("postgres://ops:hunter2-secret@db.internal/shinrai".into()),
        };
        let flag = args.flag();
        assert!(!flag.contains("hunter2-secret"), "{flag}");
        assert!(flag.contains("ops:PASSWORD@db.internal/shinrai"), "{flag}");
        let dir = StoreArgs {
            data_dir: Some("/srv/my data".into()),
            database_url: None,
        };
        assert_eq!(dir.flag(), "--data-dir '/srv/my data'");
    }
}
