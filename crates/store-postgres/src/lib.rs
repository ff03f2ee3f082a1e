//! The PostgreSQL backend: for several shinrai nodes sharing one database.
//!
//! Migrations run at start under sqlx's advisory lock, so nodes starting together do not
//! race. Row locks (`FOR UPDATE`, and `SKIP LOCKED` for timers in later work) keep two
//! nodes from acting on the same row.

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use store_sql::{ACQUIRE_TIMEOUT, Dialect, SqlStore};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("bad PostgreSQL URL: {0}")]
    Url(sqlx::Error),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    /// The data needs a person's decision before this build may migrate it (users that
    /// share an email address); nothing was changed.
    #[error("cannot upgrade the PostgreSQL database: {0}")]
    Preflight(store_sql::PreflightError),
    #[error("cannot migrate the PostgreSQL database: {0}")]
    Migrate(sqlx::migrate::MigrateError),
}

/// Connects to `url` (`postgres://…`), applies migrations and returns the store.
pub async fn connect(url: &str) -> Result<SqlStore, OpenError> {
    connect_with(url, 16).await
}

/// Like [`connect`], with a bound on the pool size (tests use small pools).
pub async fn connect_with(url: &str, max_connections: u32) -> Result<SqlStore, OpenError> {
    sqlx::any::install_default_drivers();
    let options: AnyConnectOptions = url.parse().map_err(OpenError::Url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(Some(Duration::from_secs(300)))
        .connect_with(options)
        .await
        .map_err(OpenError::Connect)?;
    {
        let mut conn = pool.acquire().await.map_err(OpenError::Connect)?;
        store_sql::check_before_migrating(&mut conn, Dialect::Postgres)
            .await
            .map_err(OpenError::Preflight)?;
    }
    MIGRATOR.run(&pool).await.map_err(OpenError::Migrate)?;
    tracing::info!("connected to PostgreSQL store");
    Ok(SqlStore::new(pool.clone(), pool, Dialect::Postgres))
}

/// Applies migrations to the database at `url` without keeping a store: used to build
/// the template database that tests copy.
pub async fn migrate(url: &str) -> Result<(), OpenError> {
    let store = connect_with(url, 1).await?;
    store.close().await;
    Ok(())
}

/// Migrates the database at `url` only up to migration `version`, as a release that
/// shipped with those migrations would leave it: for tests of upgrades.
pub async fn migrate_to(url: &str, version: i64) -> Result<(), OpenError> {
    sqlx::any::install_default_drivers();
    let options: AnyConnectOptions = url.parse().map_err(OpenError::Url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(OpenError::Connect)?;
    MIGRATOR
        .run_to(version, &pool)
        .await
        .map_err(OpenError::Migrate)?;
    pool.close().await;
    Ok(())
}

/// A short fingerprint of the embedded migrations: a database migrated by another build
/// has another fingerprint. Tests name their template database with it.
pub fn migrations_fingerprint() -> String {
    // FNV-1a over every migration's version and checksum: stable across builds and
    // platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in MIGRATOR.iter() {
        for b in m.version.to_le_bytes().iter().chain(m.checksum.iter()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
