//! The SQLite backend: shinrai's zero-setup default.
//!
//! Durability first: WAL with `synchronous=FULL`, so a write that returned is on disk and
//! survives `kill -9` and power loss alike. One writer connection serialises write
//! transactions in-process; readers run beside it in WAL mode.
//!
//! Architecture invariant: one data directory belongs to one process. [`open`] takes an
//! exclusive lock on a file next to the database and holds it as long as the store lives;
//! a second process gets [`OpenError::Locked`] and says so instead of corrupting anything.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Connection, Executor};
use store_sql::{ACQUIRE_TIMEOUT, Dialect, SqlStore};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The database file inside a data directory.
pub const DB_FILE: &str = "shinrai.db";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is in use by another shinrai process; one SQLite data directory belongs to one process. \
         Stop the other process, or give this one its own --data-dir (several nodes need PostgreSQL)"
    )]
    Locked { path: PathBuf },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open SQLite database {path}: {source}")]
    Connect { path: PathBuf, source: sqlx::Error },
    /// The data needs a person's decision before this build may migrate it (users that
    /// share an email address); nothing was changed.
    #[error("cannot upgrade SQLite database {path}: {source}")]
    Preflight {
        path: PathBuf,
        source: store_sql::PreflightError,
    },
    #[error("cannot migrate SQLite database {path}: {source}")]
    Migrate {
        path: PathBuf,
        source: sqlx::migrate::MigrateError,
    },
}

/// An open SQLite store, holding the data directory's lock until dropped.
#[derive(Clone)]
pub struct SqliteStore {
    inner: SqlStore,
    path: PathBuf,
    _lock: Option<Arc<File>>,
}

impl std::ops::Deref for SqliteStore {
    type Target = SqlStore;
    fn deref(&self) -> &SqlStore {
        &self.inner
    }
}

impl SqliteStore {
    /// The store itself, to hand out as `Arc<dyn Store>`.
    pub fn sql(&self) -> SqlStore {
        self.inner.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// How an opener shares the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// The serving process: takes the data directory's lock, refused if another holds it.
    Exclusive,
    /// A short-lived command (`shinrai token create`, `apply`) beside a running server:
    /// SQLite's own locking keeps concurrent writers safe, and the command never serves.
    Shared,
}

/// Opens (creating and migrating as needed) the store in a data directory, as its one
/// serving process.
pub async fn open_data_dir(dir: &Path) -> Result<SqliteStore, OpenError> {
    open_data_dir_with(dir, Sharing::Exclusive).await
}

pub async fn open_data_dir_with(dir: &Path, sharing: Sharing) -> Result<SqliteStore, OpenError> {
    std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
        path: dir.to_owned(),
        source,
    })?;
    open(&dir.join(DB_FILE), sharing).await
}

/// Opens (creating and migrating as needed) the database file at `path`.
pub async fn open(path: &Path, sharing: Sharing) -> Result<SqliteStore, OpenError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| OpenError::CreateDir {
            path: parent.to_owned(),
            source,
        })?;
    }
    let lock = match sharing {
        Sharing::Exclusive => Some(lock(path)?),
        Sharing::Shared => None,
    };
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let options: AnyConnectOptions = url.parse().map_err(|source| OpenError::Connect {
        path: path.to_owned(),
        source,
    })?;
    let pool = |max: u32, read_only: bool| {
        AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer; FULL syncs the WAL on every
                    // commit, so an answered write is a durable write.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    if read_only {
                        conn.execute("PRAGMA query_only = ON").await?;
                    }
                    Ok(())
                })
            })
    };
    let connect_err = |source| OpenError::Connect {
        path: path.to_owned(),
        source,
    };
    // Migrate over a dedicated connection before the pools open, so that readers never
    // see a half-made schema.
    {
        let mut conn = sqlx::AnyConnection::connect_with(&options)
            .await
            .map_err(connect_err)?;
        conn.execute("PRAGMA journal_mode = WAL")
            .await
            .map_err(connect_err)?;
        conn.execute("PRAGMA synchronous = FULL")
            .await
            .map_err(connect_err)?;
        store_sql::check_before_migrating(&mut conn, Dialect::Sqlite)
            .await
            .map_err(|source| OpenError::Preflight {
                path: path.to_owned(),
                source,
            })?;
        MIGRATOR
            .run(&mut conn)
            .await
            .map_err(|source| OpenError::Migrate {
                path: path.to_owned(),
                source,
            })?;
        conn.close().await.map_err(connect_err)?;
    }
    let writers = pool(1, false)
        .connect_with(options.clone())
        .await
        .map_err(connect_err)?;
    let readers = pool(4, true)
        .connect_with(options)
        .await
        .map_err(connect_err)?;
    tracing::info!(path = %path.display(), "opened SQLite store");
    Ok(SqliteStore {
        inner: SqlStore::new(readers, writers, Dialect::Sqlite),
        path: path.to_owned(),
        _lock: lock.map(Arc::new),
    })
}

/// Creates or migrates the database file at `path` only up to migration `version`, as a
/// release that shipped with those migrations would leave it: for tests of upgrades.
pub async fn migrate_to(path: &Path, version: i64) -> Result<(), OpenError> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let connect_err = |source| OpenError::Connect {
        path: path.to_owned(),
        source,
    };
    let options: AnyConnectOptions = url.parse().map_err(connect_err)?;
    let mut conn = sqlx::AnyConnection::connect_with(&options)
        .await
        .map_err(connect_err)?;
    MIGRATOR
        .run_to(version, &mut conn)
        .await
        .map_err(|source| OpenError::Migrate {
            path: path.to_owned(),
            source,
        })?;
    conn.close().await.map_err(connect_err)
}

/// Takes the exclusive lock that makes a database file one process's own. The lock is
/// released by the operating system when the process exits, even on `kill -9`.
fn lock(db: &Path) -> Result<File, OpenError> {
    let mut lock_path = db.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| OpenError::Lock {
            path: lock_path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::Locked {
            path: db.parent().unwrap_or(db).to_owned(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(OpenError::Lock {
            path: lock_path,
            source,
        }),
    }
}
