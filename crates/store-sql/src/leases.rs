//! Leases and generations in SQL. Taking a lease is one `INSERT … ON CONFLICT DO UPDATE
//! … WHERE` statement, atomic on both backends: PostgreSQL locks the conflicting row and
//! evaluates the condition on its latest version, and SQLite has one writer.

use std::time::Duration;

use async_trait::async_trait;
use domain::{Kind, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use store::*;

use crate::SqlStore;
use crate::rows::*;

const LEASE_COLUMNS: &str = "name, holder, fence, expires_at";

/// The expiry a released lease is given: before every instant a caller passes.
const RELEASED: i64 = 0;

fn lease_from_row(row: &AnyRow) -> Result<Lease> {
    Ok(Lease {
        name: row.try_get("name").map_err(corrupt)?,
        holder: row.try_get("holder").map_err(corrupt)?,
        fence: row.try_get("fence").map_err(corrupt)?,
        expires_at: timestamp(row.try_get("expires_at").map_err(corrupt)?)?,
    })
}

/// `now + ttl` in microseconds, saturating rather than wrapping.
fn until(now: Timestamp, ttl: Duration) -> i64 {
    let ttl = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
    micros(now).saturating_add(ttl)
}

fn check(name: &str, holder: &str) -> Result<()> {
    domain::text::check_key("lease name", name)?;
    domain::text::check_key("lease holder", holder)?;
    Ok(())
}

#[async_trait]
impl LeaseStore for SqlStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        check(name, holder)?;
        let row = sqlx::query(crate::built(format!(
            "INSERT INTO leases (name, holder, fence, expires_at) VALUES ($1, $2, 1, $3)
             ON CONFLICT (name) DO UPDATE SET
                 fence = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > $4
                              THEN leases.fence ELSE leases.fence + 1 END,
                 holder = excluded.holder,
                 expires_at = excluded.expires_at
             WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder
             RETURNING {LEASE_COLUMNS}"
        )))
        .bind(name)
        .bind(holder)
        .bind(until(now, ttl))
        .bind(micros(now))
        .fetch_optional(&self.writers)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(lease_from_row).transpose()
    }

    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        fence: i64,
        now: Timestamp,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        check(name, holder)?;
        let row = sqlx::query(crate::built(format!(
            "UPDATE leases SET expires_at = $1
             WHERE name = $2 AND holder = $3 AND fence = $4 AND expires_at > $5
             RETURNING {LEASE_COLUMNS}"
        )))
        .bind(until(now, ttl))
        .bind(name)
        .bind(holder)
        .bind(fence)
        .bind(micros(now))
        .fetch_optional(&self.writers)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(lease_from_row).transpose()
    }

    async fn release_lease(&self, name: &str, holder: &str, fence: i64) -> Result<bool> {
        check(name, holder)?;
        let done = sqlx::query(
            "UPDATE leases SET expires_at = $1 WHERE name = $2 AND holder = $3 AND fence = $4",
        )
        .bind(RELEASED)
        .bind(name)
        .bind(holder)
        .bind(fence)
        .execute(&self.writers)
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected() > 0)
    }

    async fn get_lease(&self, name: &str, now: Timestamp) -> Result<Option<Lease>> {
        if domain::text::check_key("lease name", name).is_err() {
            return Ok(None);
        }
        let row = sqlx::query(crate::built(format!(
            "SELECT {LEASE_COLUMNS} FROM leases WHERE name = $1 AND expires_at > $2"
        )))
        .bind(name)
        .bind(micros(now))
        .fetch_optional(&self.readers)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(lease_from_row).transpose()
    }
}

#[async_trait]
impl ChangeStore for SqlStore {
    async fn generations(&self) -> Result<Generations> {
        let rows = sqlx::query("SELECT kind, generation FROM generations")
            .fetch_all(&self.readers)
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("kind").map_err(corrupt)?,
                    row.try_get("generation").map_err(corrupt)?,
                ))
            })
            .collect()
    }
}

/// Bumps the generation of each kind a commit wrote, once, inside its transaction. Kinds
/// go in one order (sorted) so that two commits on PostgreSQL never wait on each other's
/// rows in opposite orders.
pub(crate) async fn bump_generations(
    tx: &mut Transaction<'static, Any>,
    kinds: impl IntoIterator<Item = Kind>,
) -> Result<()> {
    let kinds: std::collections::BTreeSet<&'static str> =
        kinds.into_iter().map(Kind::as_str).collect();
    for kind in kinds {
        sqlx::query(
            "INSERT INTO generations (kind, generation) VALUES ($1, 1)
             ON CONFLICT (kind) DO UPDATE SET generation = generations.generation + 1",
        )
        .bind(kind)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    }
    Ok(())
}
