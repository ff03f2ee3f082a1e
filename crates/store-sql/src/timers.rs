//! Timers in SQL: set (or moved) by kind and subject, claimed with a lease and a fencing
//! token (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer), and finished
//! in the transaction that applies their effect, only while the fence still matches.

use async_trait::async_trait;
use domain::Timestamp;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use store::*;

use crate::lease::Due;
use crate::rows::*;
use crate::{SqlStore, built};

const TIMER_COLUMNS: &str =
    "id, kind, subject, due_at, data, fence, lease_owner, lease_until, attempts";

#[async_trait]
impl TimerStore for SqlStore {
    async fn set_timer(&self, timer: NewTimer, now: Timestamp) -> Result<TimerRecord> {
        let mut tx = self.begin().await?;
        set_timer(&mut tx, &timer, micros(now)).await?;
        let row = sqlx::query(built(format!(
            "SELECT {TIMER_COLUMNS} FROM timers WHERE kind = $1 AND subject = $2"
        )))
        .bind(timer.kind.as_str())
        .bind(timer.subject.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
        let record = timer_from_row(&row)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(record)
    }

    async fn claim_timers(
        &self,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRecord>> {
        let due = Due {
            table: "timers",
            columns: TIMER_COLUMNS,
            filter: "",
            binds: &[],
        };
        let rows = self.claim_due(due, now, owner, lease_until, limit).await?;
        let mut timers = rows
            .iter()
            .map(timer_from_row)
            .collect::<Result<Vec<_>>>()?;
        timers.sort_by_key(|t| (t.due_at, t.id));
        Ok(timers)
    }

    async fn finish_timer(
        &self,
        id: i64,
        fence: i64,
        effect: TimerEffect,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let gone = sqlx::query("DELETE FROM timers WHERE id = $1 AND fence = $2 RETURNING id")
            .bind(id)
            .bind(fence)
            .fetch_optional(&mut *tx)
            .await
            .map_err(unavailable)?;
        if gone.is_none() {
            return Ok(false);
        }
        match effect {
            TimerEffect::Ingest(event) => {
                self.ingest_one(&mut tx, *event).await?;
            }
            TimerEffect::Wake { incident, reason } => {
                self.wake(&mut tx, incident, micros(now), &reason).await?;
            }
            TimerEffect::Release {
                alert,
                reason,
                urgency,
            } => {
                self.release(&mut tx, alert, micros(now), &reason, urgency)
                    .await?;
            }
            TimerEffect::Escalate(step) => {
                self.escalation_step(&mut tx, *step, micros(now)).await?;
            }
            TimerEffect::Drop => {}
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(true)
    }

    async fn list_timers(&self) -> Result<Vec<TimerRecord>> {
        sqlx::query(built(format!(
            "SELECT {TIMER_COLUMNS} FROM timers ORDER BY due_at, id"
        )))
        .fetch_all(&self.readers())
        .await
        .map_err(unavailable)?
        .iter()
        .map(timer_from_row)
        .collect()
    }

    async fn timer_backlog(&self, now: Timestamp) -> Result<(i64, Option<Timestamp>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(due_at) AS oldest FROM timers WHERE due_at <= $1",
        )
        .bind(micros(now))
        .fetch_one(&self.readers())
        .await
        .map_err(unavailable)?;
        let oldest: Option<i64> = row.try_get("oldest").map_err(corrupt)?;
        Ok((
            row.try_get("n").map_err(corrupt)?,
            oldest.map(timestamp).transpose()?,
        ))
    }
}

/// Sets a timer inside a transaction, or moves the one with its kind and subject: a move
/// bumps the fence and frees the lease, so a claim of the old due time does nothing.
pub(crate) async fn set_timer(
    tx: &mut Transaction<'static, Any>,
    timer: &NewTimer,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO timers (kind, subject, due_at, data, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, subject) DO UPDATE SET due_at = excluded.due_at, data = excluded.data,
             fence = timers.fence + 1, lease_owner = NULL, lease_until = NULL, attempts = 0",
    )
    .bind(timer.kind.as_str())
    .bind(timer.subject.as_str())
    .bind(micros(timer.due_at))
    .bind(timer.data.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    Ok(())
}

pub(crate) async fn delete_timer(
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    subject: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM timers WHERE kind = $1 AND subject = $2")
        .bind(kind)
        .bind(subject)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// The timer that wakes an acknowledged incident (a timeout, a snooze's end).
pub(crate) fn wake_timer(incident: i64, due_at: Timestamp, reason: &str) -> NewTimer {
    NewTimer {
        kind: WAKE.into(),
        subject: format!("incident:{incident}"),
        due_at,
        data: json!({ "incident": incident, "reason": reason }),
    }
}

/// The timer that releases a held alert still firing when its hold ends.
pub(crate) fn release_timer(
    alert: i64,
    due_at: Timestamp,
    reason: &str,
    urgency: paging::Urgency,
) -> NewTimer {
    NewTimer {
        kind: RELEASE.into(),
        subject: format!("alert:{alert}"),
        due_at,
        data: json!({ "alert": alert, "reason": reason, "urgency": urgency.as_str() }),
    }
}

fn timer_from_row(row: &AnyRow) -> Result<TimerRecord> {
    Ok(TimerRecord {
        id: row.try_get("id").map_err(corrupt)?,
        kind: row.try_get("kind").map_err(corrupt)?,
        subject: row.try_get("subject").map_err(corrupt)?,
        due_at: timestamp(row.try_get("due_at").map_err(corrupt)?)?,
        data: from_json("data", &row.try_get::<String, _>("data").map_err(corrupt)?)?,
        fence: row.try_get("fence").map_err(corrupt)?,
        lease_owner: row.try_get("lease_owner").map_err(corrupt)?,
        lease_until: row
            .try_get::<Option<i64>, _>("lease_until")
            .map_err(corrupt)?
            .map(timestamp)
            .transpose()?,
        attempts: row.try_get("attempts").map_err(corrupt)?,
    })
}
