//! Schedule overrides in SQL.

use async_trait::async_trait;
use domain::{AccessTarget, Name, Timestamp};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use store::*;

use crate::rows::*;
use crate::{SqlStore, built, insert_audit};

const COLUMNS: &str = "id, schedule, username, starts_at, ends_at, created_by, created_at";

#[async_trait]
impl OnCallStore for SqlStore {
    async fn add_override(&self, o: NewOverride, ctx: &WriteContext) -> Result<OverrideRecord> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(built(format!(
            "INSERT INTO schedule_overrides (schedule, username, starts_at, ends_at, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        )))
        .bind(o.schedule.as_str())
        .bind(o.user.as_str())
        .bind(micros(o.start))
        .bind(micros(o.end))
        .bind(ctx.actor.as_str())
        .bind(micros(ctx.at))
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
        let record = override_from_row(&row)?;
        insert_audit(
            &mut tx,
            ctx,
            "override.create",
            "Schedule",
            o.schedule.as_str(),
            &o.scope,
            None,
            Some(audit_json(&record)),
        )
        .await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(record)
    }

    async fn list_overrides(
        &self,
        schedule: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<OverrideRecord>> {
        sqlx::query(built(format!(
            "SELECT {COLUMNS} FROM schedule_overrides
             WHERE schedule = $1 AND ends_at > $2 AND starts_at < $3 ORDER BY id"
        )))
        .bind(schedule.as_str())
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(&self.readers())
        .await
        .map_err(unavailable)?
        .iter()
        .map(override_from_row)
        .collect()
    }

    async fn delete_override(
        &self,
        schedule: &Name,
        id: i64,
        scope: &AccessTarget,
        ctx: &WriteContext,
    ) -> Result<OverrideRecord> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(built(format!(
            "DELETE FROM schedule_overrides WHERE id = $1 AND schedule = $2 RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(schedule.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound {
                kind: "override".into(),
                name: format!("{id} of schedule {schedule}"),
            });
        };
        let record = override_from_row(&row)?;
        insert_audit(
            &mut tx,
            ctx,
            "override.delete",
            "Schedule",
            schedule.as_str(),
            scope,
            Some(audit_json(&record)),
            None,
        )
        .await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(record)
    }
}

fn audit_json(o: &OverrideRecord) -> serde_json::Value {
    json!({ "id": o.id, "user": o.user, "start": o.start.to_string(), "end": o.end.to_string() })
}

fn override_from_row(row: &AnyRow) -> Result<OverrideRecord> {
    let name = |col: &str| -> Result<Name> {
        let s: String = row.try_get(col).map_err(corrupt)?;
        Name::new(s.clone()).map_err(|e| StoreError::Corrupt(format!("{col} {s:?}: {e}")))
    };
    Ok(OverrideRecord {
        id: row.try_get("id").map_err(corrupt)?,
        schedule: name("schedule")?,
        user: name("username")?,
        start: timestamp(row.try_get("starts_at").map_err(corrupt)?)?,
        end: timestamp(row.try_get("ends_at").map_err(corrupt)?)?,
        created_by: row.try_get("created_by").map_err(corrupt)?,
        created_at: timestamp(row.try_get("created_at").map_err(corrupt)?)?,
    })
}
