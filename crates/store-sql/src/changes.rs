//! Configuration generations in SQL: one row per kind, bumped in the transaction of
//! every commit that writes an object of that kind.

use async_trait::async_trait;
use domain::Kind;
use sqlx::{Any, Row, Transaction};
use store::*;

use crate::SqlStore;
use crate::rows::*;

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
