//! The one leased claim: work rows (timers, notifications) that are due and whose lease is
//! free or expired get a new owner, lease expiry and fence, in one statement. Every claim
//! of due work goes through [`claim_due`], so the rule is written once: two nodes never
//! hold the same row while a lease holds (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite
//! has one writer), and a finished attempt counts only while its fence still matches.

use domain::Timestamp;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::built;
use crate::rows::*;
use store::Result;

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
