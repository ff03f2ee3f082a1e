//! Sign-in: users found by email (one user per address), failed attempts counted per
//! key with the wait they earn, and the check that an upgrade finds no two users sharing
//! an address before the migration that makes addresses unique.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::{Kind, Name, Timestamp};
use sqlx::AnyConnection;
use sqlx::{Any, Row, Transaction};
use store::*;

use crate::objects::OBJECT_COLUMNS;
use crate::rows::*;
use crate::{Dialect, SqlStore, built};

impl SqlStore {
    pub(crate) async fn user_by_email_impl(
        &self,
        email: &str,
    ) -> Result<Option<(ObjectRecord, Option<String>)>> {
        let columns = OBJECT_COLUMNS
            .split(", ")
            .map(|c| format!("o.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let row = sqlx::query(built(format!(
            "SELECT {columns}, p.hash AS password_hash
             FROM objects o JOIN user_emails e ON e.name = o.name
             LEFT JOIN passwords p ON p.user_name = o.name
             WHERE o.kind = 'User' AND e.email = $1"
        )))
        .bind(domain::catalog::email_key(email))
        .fetch_optional(&self.readers())
        .await
        .map_err(unavailable)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let hash: Option<String> = row.try_get("password_hash").map_err(corrupt)?;
        Ok(Some((object_from_row(&row)?, hash)))
    }

    pub(crate) async fn claim_signin_impl(
        &self,
        keys: &[ThrottleKey],
        policy: &SigninPolicy,
        now: Timestamp,
    ) -> Result<SigninClaim> {
        let forget_before = micros(now).saturating_sub(duration_micros(policy.forget));
        let mut tx = self.begin().await?;
        let mut counts = Vec::with_capacity(keys.len());
        let mut retry_after = Duration::ZERO;
        for k in keys {
            // A row to lock, so that two nodes counting the same key take turns.
            sqlx::query(
                "INSERT INTO signin_throttle (key, failures, last_failure_at, next_allowed_at)
                 VALUES ($1, 0, $2, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(k.key.as_str())
            .bind(micros(now))
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
            let row = sqlx::query(built(format!(
                "SELECT failures, last_failure_at, next_allowed_at FROM signin_throttle WHERE key = $1{}",
                self.dialect().for_update()
            )))
            .bind(k.key.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
            let failures: i64 = row.try_get("failures").map_err(corrupt)?;
            let last: i64 = row.try_get("last_failure_at").map_err(corrupt)?;
            let next: i64 = row.try_get("next_allowed_at").map_err(corrupt)?;
            if last < forget_before {
                counts.push(0);
                continue;
            }
            if next > micros(now) {
                let wait = Duration::from_micros((next - micros(now)) as u64);
                retry_after = retry_after.max(wait);
            }
            counts.push(u32::try_from(failures).unwrap_or(u32::MAX));
        }
        if !retry_after.is_zero() {
            // Nothing counted: a throttled attempt never lengthens the wait.
            tx.rollback().await.map_err(unavailable)?;
            return Ok(SigninClaim::Throttled { retry_after });
        }
        let mut now_failing = Vec::with_capacity(keys.len());
        for (k, before) in keys.iter().zip(counts) {
            let failures = before.saturating_add(1);
            now_failing.push(failures);
            let next = now
                .checked_add(policy.wait(failures, k.free))
                .unwrap_or(Timestamp::MAX);
            set_failures(&mut tx, &k.key, failures, micros(now), micros(next)).await?;
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(SigninClaim::Allowed {
            failures: now_failing,
        })
    }

    pub(crate) async fn signin_succeeded_impl(
        &self,
        forget: &[String],
        undo: &[String],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        for key in forget {
            sqlx::query("DELETE FROM signin_throttle WHERE key = $1")
                .bind(key.as_str())
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        }
        for key in undo {
            // The attempt passed its check, so nothing made it wait before; it waits for
            // nothing after.
            sqlx::query(
                "UPDATE signin_throttle
                 SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
                     next_allowed_at = last_failure_at
                 WHERE key = $1",
            )
            .bind(key.as_str())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)
    }

    pub(crate) async fn forget_signin_failures_impl(
        &self,
        before: Timestamp,
        now: Timestamp,
    ) -> Result<u64> {
        let res = sqlx::query(
            "DELETE FROM signin_throttle WHERE last_failure_at < $1 AND next_allowed_at <= $2",
        )
        .bind(micros(before))
        .bind(micros(now))
        .execute(self.writer_pool())
        .await
        .map_err(unavailable)?;
        Ok(res.rows_affected())
    }
}

async fn set_failures(
    tx: &mut Transaction<'static, Any>,
    key: &str,
    failures: u32,
    now: i64,
    next: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE signin_throttle SET failures = $1, last_failure_at = $2, next_allowed_at = $3
         WHERE key = $4",
    )
    .bind(i64::from(failures))
    .bind(now)
    .bind(next)
    .bind(key)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    Ok(())
}

fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Keeps `user_emails` in step with a user's writes: claims the user's address, failing
/// with [`StoreError::EmailInUse`] when another user has it.
pub(crate) async fn write_email(
    tx: &mut Transaction<'static, Any>,
    name: &Name,
    spec: &serde_json::Value,
) -> Result<()> {
    let Some(email) = spec.get("email").and_then(|e| e.as_str()) else {
        return Ok(());
    };
    let key = domain::catalog::email_key(email);
    let owner = sqlx::query("SELECT name FROM user_emails WHERE email = $1")
        .bind(key.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?;
    if let Some(row) = owner {
        return Err(StoreError::EmailInUse {
            email: email.to_owned(),
            user: row.try_get("name").map_err(corrupt)?,
        });
    }
    let res = sqlx::query("INSERT INTO user_emails (email, name) VALUES ($1, $2)")
        .bind(key.as_str())
        .bind(name.as_str())
        .execute(&mut **tx)
        .await;
    match res {
        Ok(_) => Ok(()),
        // Another node gave the address to its user between the check and the insert.
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(StoreError::EmailInUse {
            email: email.to_owned(),
            user: "another user".to_owned(),
        }),
        Err(e) => Err(unavailable(e)),
    }
}

/// Releases a user's address before it is written again or the user goes.
pub(crate) async fn delete_email(tx: &mut Transaction<'static, Any>, name: &Name) -> Result<()> {
    sqlx::query("DELETE FROM user_emails WHERE name = $1")
        .bind(name.as_str())
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// Users that share an email address: what stops the upgrade that makes addresses
/// unique. shinrai does not guess which of them owns the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedEmails {
    /// Each shared address (folded) with the users that have it, by name.
    pub shared: Vec<(String, Vec<String>)>,
}

impl std::fmt::Display for SharedEmails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "this release makes each email address belong to one user (ignoring upper and lower \
             case), because sign-in finds people by it; but these users share an address:"
        )?;
        for (email, users) in &self.shared {
            writeln!(f, "  {email}: users {}", users.join(", "))?;
        }
        write!(
            f,
            "shinrai will not guess who owns an address, and changed nothing. With the release \
             you ran before, give each of these users their own email, or delete the users that \
             should not exist (in the configuration file and `shinrai apply` for users managed \
             by files, else in the API), then start this release again."
        )
    }
}

impl std::error::Error for SharedEmails {}

/// Why [`check_before_migrating`] stopped an upgrade.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{0}")]
    SharedEmails(SharedEmails),
    #[error("cannot read the database before migrating it: {0}")]
    Read(sqlx::Error),
    #[error("the database holds a user this build cannot read: {0}")]
    Corrupt(String),
}

/// Checks, before migrations run, what a migration would otherwise fail on without a
/// readable reason: users that share an email address (before `user_emails` exists).
pub async fn check_before_migrating(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> std::result::Result<(), PreflightError> {
    if !table_exists(conn, dialect, "objects").await?
        || table_exists(conn, dialect, "user_emails").await?
    {
        return Ok(());
    }
    let rows = sqlx::query("SELECT name, spec FROM objects WHERE kind = $1 ORDER BY name")
        .bind(Kind::User.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(PreflightError::Read)?;
    let mut by_email: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let name: String = row.try_get("name").map_err(PreflightError::Read)?;
        let spec: String = row.try_get("spec").map_err(PreflightError::Read)?;
        let spec: serde_json::Value = serde_json::from_str(&spec)
            .map_err(|e| PreflightError::Corrupt(format!("User {name}: {e}")))?;
        if let Some(email) = spec.get("email").and_then(|e| e.as_str()) {
            by_email
                .entry(domain::catalog::email_key(email))
                .or_default()
                .push(name);
        }
    }
    let shared: Vec<(String, Vec<String>)> = by_email
        .into_iter()
        .filter(|(_, users)| users.len() > 1)
        .collect();
    if shared.is_empty() {
        Ok(())
    } else {
        Err(PreflightError::SharedEmails(SharedEmails { shared }))
    }
}

async fn table_exists(
    conn: &mut AnyConnection,
    dialect: Dialect,
    table: &str,
) -> std::result::Result<bool, PreflightError> {
    let sql = match dialect {
        Dialect::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = $1"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let row = sqlx::query(sql)
        .bind(table)
        .fetch_one(&mut *conn)
        .await
        .map_err(PreflightError::Read)?;
    let n: i64 = row.try_get("n").map_err(PreflightError::Read)?;
    Ok(n > 0)
}
