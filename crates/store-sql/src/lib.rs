//! The SQL implementation of the store contract, written once and run on both backends
//! through sqlx's `Any` driver.
//!
//! Why one implementation: SQLite and PostgreSQL share nearly all the SQL shinrai needs
//! (`$1` placeholders, `ON CONFLICT`, `RETURNING`), and two hand-kept copies would drift.
//! The schema keeps to the types both speak through `Any`: `BIGINT` for integers and
//! instants (microseconds since the Unix epoch), `TEXT` for strings and JSON. What
//! differs — connecting, pragmas, the lock file, migrations, row locks — lives in the
//! backend crates and in [`Dialect`].

mod auth;
mod changes;
mod incidents;
mod lease;
mod notify;
mod objects;
mod oncall;
mod rows;
mod signin;
mod timers;

pub use signin::{PreflightError, SharedEmails, check_before_migrating};

use std::time::Duration;

use async_trait::async_trait;
use domain::AccessTarget;
use serde_json::Value;
use sqlx::AnyPool;
use sqlx::{Any, Transaction};
use store::*;

use crate::rows::*;

/// The few places where the two backends' SQL differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Row locks for read-then-write inside a transaction. SQLite has one writer at a
    /// time (its writer pool holds a single connection), so it needs none.
    fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// `expr` with ASCII letters in lower case and every other character as it is. Both
    /// backends fold the same letters, so a search finds the same incidents on each:
    /// SQLite's `lower` folds only ASCII, and PostgreSQL's would fold more.
    fn ascii_lower(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => format!("lower({expr})"),
            Dialect::Postgres => format!(
                "translate({expr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
            ),
        }
    }

    /// Claims rows another node has not locked, skipping (not waiting for) those it has.
    fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Locks a referenced row against deletion until the transaction ends: a concurrent
    /// delete of it waits, then sees the new reference.
    fn for_share(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR SHARE",
        }
    }
}

/// A store over one or two pools: readers, and writers. On SQLite the writer pool holds a
/// single connection so that write transactions queue in-process instead of failing with
/// `SQLITE_BUSY`; on PostgreSQL both are the same pool.
#[derive(Clone)]
pub struct SqlStore {
    readers: AnyPool,
    writers: AnyPool,
    dialect: Dialect,
}

/// Longest wait for a pooled connection before a call fails as unavailable.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

impl SqlStore {
    pub fn new(readers: AnyPool, writers: AnyPool, dialect: Dialect) -> Self {
        SqlStore {
            readers,
            writers,
            dialect,
        }
    }

    pub(crate) fn readers(&self) -> AnyPool {
        self.readers.clone()
    }

    /// The pool writes go through; for backend diagnostics and tests.
    pub fn writer_pool(&self) -> &AnyPool {
        &self.writers
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub async fn close(&self) {
        self.writers.close().await;
        self.readers.close().await;
    }

    async fn begin(&self) -> Result<Transaction<'static, Any>> {
        self.writers.begin().await.map_err(unavailable)
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    async fn ping(&self) -> Result<()> {
        // The table of applied migrations exists only once migrations ran.
        sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.readers)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Marks SQL assembled at run time as reviewed. Every such string in this crate is built
/// only from constant column lists, numbered placeholders and integers this code formats
/// itself; values always travel as bind parameters.
pub(crate) fn built(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// Appends ` AND {column} IN ($n, …)` with a bind parameter per value.
pub(crate) fn push_in<'a>(
    sql: &mut String,
    params: &mut Vec<String>,
    column: &str,
    values: impl IntoIterator<Item = &'a str>,
) {
    let placeholders: Vec<String> = values.into_iter().map(|v| push_param(params, v)).collect();
    sql.push_str(&format!(" AND {column} IN ({})", placeholders.join(", ")));
}

/// Runs `sql` with `params` bound in order.
pub(crate) fn query_with(
    sql: String,
    params: &[String],
) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments> {
    params
        .iter()
        .fold(sqlx::query(built(sql)), |q, p| q.bind(p.as_str()))
}

/// Adds a bind parameter and returns its placeholder (`$n`, numbered by position).
pub(crate) fn push_param(params: &mut Vec<String>, value: &str) -> String {
    params.push(value.to_owned());
    format!("${}", params.len())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_audit(
    tx: &mut Transaction<'static, Any>,
    ctx: &WriteContext,
    action: &str,
    kind: &str,
    name: &str,
    scope: &AccessTarget,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    let before = before.map(|v| v.to_string());
    let after = after.map(|v| v.to_string());
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, kind, name, scope, before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(micros(ctx.at))
    .bind(ctx.actor.as_str())
    .bind(action)
    .bind(kind)
    .bind(name)
    .bind(to_json(scope)?)
    .bind(before)
    .bind(after)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    Ok(())
}
