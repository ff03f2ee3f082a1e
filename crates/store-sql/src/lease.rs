//! Every lease with a fencing token is written here, and only here (the tidy test checks
//! it). The one leased claim: work rows (timers, notifications) that are due and whose
//! lease is free or expired get a new owner, lease expiry and fence, in one statement. Every claim
//! of due work goes through [`claim_due`], so the rule is written once: two nodes never
//! hold the same row while a lease holds (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite
//! has one writer), and a finished attempt counts only while its fence still matches.

use std::time::Duration;

use async_trait::async_trait;
use domain::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;
use store::{Lease, LeaseStore, Result};

use crate::SqlStore;
use crate::built;
use crate::rows::*;

/// Which rows a claim takes: those of `table` due at `now` (`due_at <= now`) whose lease
/// is free or expired, that also meet `filter` (SQL such as ` AND channel = $5`, its
/// parameters numbered from `$5` and bound from `binds` in order), soonest first.
pub(crate) struct Due<'a> {
    pub table: &'static str,
    /// The columns the claimed rows are returned with.
    pub columns: &'static str,
    pub filter: &'a str,
    pub binds: &'a [&'a str],
}

impl SqlStore {
    /// Claims up to `limit` rows of `due` for `owner` until `lease_until`: each one's
    /// fence and attempt count go up by one. Returns the rows in no particular order.
    pub(crate) async fn claim_due(
        &self,
        due: Due<'_>,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<AnyRow>> {
        let Due {
            table,
            columns,
            filter,
            binds,
        } = due;
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE {table} SET fence = fence + 1, lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM {table}
                          WHERE due_at <= $3 AND (lease_until IS NULL OR lease_until <= $3){filter}
                          ORDER BY due_at, id LIMIT $4{})
             RETURNING {columns}",
            self.dialect().skip_locked()
        );
        let mut query = sqlx::query(built(sql))
            .bind(owner)
            .bind(micros(lease_until))
            .bind(micros(now))
            .bind(i64::from(limit));
        for value in binds {
            query = query.bind(*value);
        }
        let rows = query.fetch_all(&mut *tx).await.map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(rows)
    }
}

// Named leases (`LeaseStore`): work one node at a time should do. Taking a lease is one
// `INSERT … ON CONFLICT DO UPDATE … WHERE` statement, atomic on both backends: PostgreSQL
// locks the conflicting row and evaluates the condition on its latest version, and SQLite
// has one writer.

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
