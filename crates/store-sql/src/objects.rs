//! Configured objects in SQL: reads, the snapshot plans compare against, the one
//! transaction a commit applies (with its reference checks and audit rows), and the audit
//! log.

use async_trait::async_trait;
use domain::{Kind, Labels, Name};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use store::*;

use crate::rows::*;
use crate::signin;
use crate::{SqlStore, built, insert_audit, push_in, push_param, query_with};

pub(crate) const OBJECT_COLUMNS: &str =
    "kind, name, labels, spec, status, source, version, created_at, updated_at";

#[async_trait]
impl ObjectStore for SqlStore {
    async fn get_object(&self, kind: Kind, name: &Name) -> Result<Option<ObjectRecord>> {
        let sql = format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE kind = $1 AND name = $2");
        let row = sqlx::query(built(sql))
            .bind(kind.as_str())
            .bind(name.as_str())
            .fetch_optional(&self.readers)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(object_from_row).transpose()
    }

    async fn list_objects(&self, kind: Kind, query: &ListQuery) -> Result<Vec<ObjectRecord>> {
        let mut sql = format!("SELECT {OBJECT_COLUMNS} FROM objects o WHERE o.kind = $1");
        let mut params: Vec<String> = vec![kind.as_str().to_owned()];
        if let Some(after) = &query.after {
            let p = push_param(&mut params, after.as_str());
            sql.push_str(&format!(" AND o.name > {p}"));
        }
        for req in &query.selector.0 {
            use domain::labels::Requirement::*;
            let (negate, key, value) = match req {
                Equals(k, v) => (false, k, Some(v)),
                NotEquals(k, v) => (true, k, Some(v)),
                Exists(k) => (false, k, None),
            };
            let pk = push_param(&mut params, key);
            let mut cond = format!(
                "EXISTS (SELECT 1 FROM object_labels l WHERE l.kind = o.kind AND l.name = o.name AND l.key = {pk}"
            );
            if let Some(v) = value {
                let pv = push_param(&mut params, v);
                cond.push_str(&format!(" AND l.value = {pv}"));
            }
            cond.push(')');
            sql.push_str(if negate { " AND NOT " } else { " AND " });
            sql.push_str(&cond);
        }
        let limit = i64::from(query.limit.clamp(1, 1000));
        sql.push_str(&format!(" ORDER BY o.name LIMIT {limit}"));
        let rows = query_with(sql, &params)
            .fetch_all(&self.readers)
            .await
            .map_err(unavailable)?;
        rows.iter().map(object_from_row).collect()
    }

    async fn snapshot(&self, kinds: &[Kind]) -> Result<Vec<ObjectRecord>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE 1 = 1");
        let mut params = Vec::with_capacity(kinds.len());
        push_in(
            &mut sql,
            &mut params,
            "kind",
            kinds.iter().map(|k| k.as_str()),
        );
        sql.push_str(" ORDER BY kind, name");
        let rows = query_with(sql, &params)
            .fetch_all(&self.readers)
            .await
            .map_err(unavailable)?;
        rows.iter().map(object_from_row).collect()
    }

    async fn commit(&self, changes: Vec<Change>, ctx: &WriteContext) -> Result<Vec<ObjectRecord>> {
        let mut tx = self.begin().await?;
        let mut out = Vec::with_capacity(changes.len());
        let mut written = Vec::new();
        let mut deleted = Vec::new();
        for change in changes {
            match &change {
                Change::Delete { kind, name, .. } => deleted.push((*kind, name.clone())),
                Change::Create { draft, .. } | Change::Update { draft, .. } => {
                    written.push(((draft.kind, draft.name.clone()), draft.references.clone()));
                }
            }
            out.push(self.apply_change(&mut tx, change, ctx).await?);
        }
        // References are checked once the whole batch is in place, so that objects
        // created together may name each other.
        self.check_references(&mut tx, &written, &deleted).await?;
        let kinds = written.iter().map(|((k, _), _)| *k);
        crate::changes::bump_generations(&mut tx, kinds.chain(deleted.iter().map(|(k, _)| *k)))
            .await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(out)
    }

    async fn find_by_key(&self, key: &str) -> Result<Option<ObjectRecord>> {
        // No key is stored with a NUL (PostgreSQL could not even be asked for one).
        if domain::text::check_key("key", key).is_err() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {} FROM objects o JOIN object_keys k ON k.kind = o.kind AND k.name = o.name WHERE k.key = $1",
            OBJECT_COLUMNS
                .split(", ")
                .map(|c| format!("o.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = sqlx::query(built(sql))
            .bind(key)
            .fetch_optional(&self.readers)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(object_from_row).transpose()
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()> {
        let mut tx = self.begin().await?;
        insert_audit(
            &mut tx,
            &WriteContext {
                actor: entry.actor,
                at: entry.at,
            },
            &entry.action,
            &entry.kind,
            &entry.name,
            &entry.scope,
            None,
            entry.detail,
        )
        .await?;
        tx.commit().await.map_err(unavailable)
    }

    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut sql = String::from(
            "SELECT id, at, actor, action, kind, name, scope, before_json, after_json FROM audit_log WHERE 1 = 1",
        );
        let mut texts: Vec<&str> = Vec::new();
        if let Some(kind) = &query.kind {
            texts.push(kind);
            sql.push_str(&format!(" AND kind = ${}", texts.len()));
        }
        if let Some(name) = &query.name {
            texts.push(name);
            sql.push_str(&format!(" AND name = ${}", texts.len()));
        }
        if let Some(before) = query.before_id {
            sql.push_str(&format!(" AND id < {before}"));
        }
        let limit = query.limit.clamp(1, 1000);
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
        let mut q = sqlx::query(built(sql));
        for t in texts {
            q = q.bind(t);
        }
        let rows = q.fetch_all(&self.readers).await.map_err(unavailable)?;
        rows.iter().map(audit_from_row).collect()
    }
}

impl SqlStore {
    async fn check_references(
        &self,
        tx: &mut Transaction<'static, Any>,
        written: &[(ObjectKey, Vec<ObjectKey>)],
        deleted: &[(Kind, Name)],
    ) -> Result<()> {
        let exists = format!(
            "SELECT version FROM objects WHERE kind = $1 AND name = $2{}",
            self.dialect.for_share()
        );
        for ((from_kind, from_name), targets) in written {
            for (to_kind, to_name) in targets {
                let found = sqlx::query(built(exists.clone()))
                    .bind(to_kind.as_str())
                    .bind(to_name.as_str())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(unavailable)?;
                if found.is_none() {
                    return Err(StoreError::MissingReference {
                        from_kind: from_kind.to_string(),
                        from_name: from_name.to_string(),
                        to_kind: to_kind.to_string(),
                        to_name: to_name.to_string(),
                    });
                }
            }
        }
        for (kind, name) in deleted {
            let by = sqlx::query(
                "SELECT from_kind, from_name FROM object_refs WHERE to_kind = $1 AND to_name = $2
                 ORDER BY from_kind, from_name LIMIT 1",
            )
            .bind(kind.as_str())
            .bind(name.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(unavailable)?;
            if let Some(row) = by {
                return Err(StoreError::StillReferenced {
                    kind: kind.to_string(),
                    name: name.to_string(),
                    by_kind: row.try_get("from_kind").map_err(corrupt)?,
                    by_name: row.try_get("from_name").map_err(corrupt)?,
                });
            }
        }
        Ok(())
    }

    async fn current(
        &self,
        tx: &mut Transaction<'static, Any>,
        kind: Kind,
        name: &Name,
    ) -> Result<Option<ObjectRecord>> {
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE kind = $1 AND name = $2{}",
            self.dialect.for_update()
        );
        let row: Option<AnyRow> = sqlx::query(built(sql))
            .bind(kind.as_str())
            .bind(name.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(object_from_row).transpose()
    }

    async fn apply_change(
        &self,
        tx: &mut Transaction<'static, Any>,
        change: Change,
        ctx: &WriteContext,
    ) -> Result<ObjectRecord> {
        let at = micros(ctx.at);
        match change {
            Change::Create { draft, scope } => {
                if self.current(tx, draft.kind, &draft.name).await?.is_some() {
                    return Err(already_exists(draft.kind, &draft.name));
                }
                let status = draft
                    .status
                    .clone()
                    .unwrap_or_else(|| Value::Object(Default::default()));
                let res = sqlx::query(
                    "INSERT INTO objects (kind, name, labels, spec, status, source, version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
                )
                .bind(draft.kind.as_str())
                .bind(draft.name.as_str())
                .bind(to_json(&draft.labels)?)
                .bind(to_json(&draft.spec)?)
                .bind(to_json(&status)?)
                .bind(draft.source.clone())
                .bind(at)
                .execute(&mut **tx)
                .await;
                if let Err(e) = res {
                    return Err(unique_or_unavailable(
                        e,
                        draft.kind.as_str(),
                        draft.name.as_str(),
                    ));
                }
                write_indexes(tx, &draft).await?;
                let after = audit_json(&draft.labels, &draft.spec, draft.source.as_deref());
                insert_audit(
                    tx,
                    ctx,
                    "create",
                    draft.kind.as_str(),
                    draft.name.as_str(),
                    &scope,
                    None,
                    Some(after),
                )
                .await?;
                Ok(ObjectRecord {
                    kind: draft.kind,
                    name: draft.name,
                    labels: draft.labels,
                    spec: draft.spec,
                    status,
                    source: draft.source,
                    version: 1,
                    created_at: ctx.at,
                    updated_at: ctx.at,
                })
            }
            Change::Update {
                draft,
                expected_version,
                scope,
            } => {
                let Some(before) = self.current(tx, draft.kind, &draft.name).await? else {
                    return Err(not_found(draft.kind, &draft.name));
                };
                check_version(&before, expected_version)?;
                let status = draft
                    .status
                    .clone()
                    .unwrap_or_else(|| before.status.clone());
                sqlx::query(
                    "UPDATE objects SET labels = $1, spec = $2, source = $3, version = version + 1, updated_at = $4,
                            status = $7
                     WHERE kind = $5 AND name = $6",
                )
                .bind(to_json(&draft.labels)?)
                .bind(to_json(&draft.spec)?)
                .bind(draft.source.clone())
                .bind(at)
                .bind(draft.kind.as_str())
                .bind(draft.name.as_str())
                .bind(to_json(&status)?)
                .execute(&mut **tx)
                .await
                .map_err(unavailable)?;
                delete_indexes(tx, draft.kind, &draft.name).await?;
                write_indexes(tx, &draft).await?;
                let before_json =
                    audit_json(&before.labels, &before.spec, before.source.as_deref());
                let after_json = audit_json(&draft.labels, &draft.spec, draft.source.as_deref());
                insert_audit(
                    tx,
                    ctx,
                    "update",
                    draft.kind.as_str(),
                    draft.name.as_str(),
                    &scope,
                    Some(before_json),
                    Some(after_json),
                )
                .await?;
                Ok(ObjectRecord {
                    kind: draft.kind,
                    name: draft.name,
                    labels: draft.labels,
                    spec: draft.spec,
                    status,
                    source: draft.source,
                    version: before.version + 1,
                    created_at: before.created_at,
                    updated_at: ctx.at,
                })
            }
            Change::Delete {
                kind,
                name,
                expected_version,
                scope,
            } => {
                let Some(before) = self.current(tx, kind, &name).await? else {
                    return Err(not_found(kind, &name));
                };
                check_version(&before, expected_version)?;
                sqlx::query("DELETE FROM objects WHERE kind = $1 AND name = $2")
                    .bind(kind.as_str())
                    .bind(name.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(unavailable)?;
                delete_indexes(tx, kind, &name).await?;
                let before_json =
                    audit_json(&before.labels, &before.spec, before.source.as_deref());
                insert_audit(
                    tx,
                    ctx,
                    "delete",
                    kind.as_str(),
                    name.as_str(),
                    &scope,
                    Some(before_json),
                    None,
                )
                .await?;
                Ok(before)
            }
        }
    }
}

fn check_version(current: &ObjectRecord, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != current.version => Err(StoreError::VersionConflict {
            kind: current.kind.to_string(),
            name: current.name.to_string(),
            expected: v,
            actual: current.version,
        }),
        _ => Ok(()),
    }
}

async fn write_labels(
    tx: &mut Transaction<'static, Any>,
    kind: Kind,
    name: &Name,
    labels: &Labels,
) -> Result<()> {
    for (k, v) in labels.iter() {
        sqlx::query("INSERT INTO object_labels (kind, name, key, value) VALUES ($1, $2, $3, $4)")
            .bind(kind.as_str())
            .bind(name.as_str())
            .bind(k)
            .bind(v)
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

async fn write_references(
    tx: &mut Transaction<'static, Any>,
    kind: Kind,
    name: &Name,
    targets: &[ObjectKey],
) -> Result<()> {
    for (to_kind, to_name) in targets {
        sqlx::query(
            "INSERT INTO object_refs (from_kind, from_name, to_kind, to_name) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(kind.as_str())
        .bind(name.as_str())
        .bind(to_kind.as_str())
        .bind(to_name.as_str())
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    }
    Ok(())
}

async fn write_keys(
    tx: &mut Transaction<'static, Any>,
    kind: Kind,
    name: &Name,
    keys: &[String],
) -> Result<()> {
    for key in keys {
        // The object's own keys were removed first, so any row left is another's.
        let owner = sqlx::query("SELECT kind, name FROM object_keys WHERE key = $1")
            .bind(key.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(unavailable)?;
        if let Some(row) = owner {
            return Err(StoreError::KeyInUse {
                kind: row.try_get("kind").map_err(corrupt)?,
                name: row.try_get("name").map_err(corrupt)?,
            });
        }
        let res = sqlx::query("INSERT INTO object_keys (key, kind, name) VALUES ($1, $2, $3)")
            .bind(key.as_str())
            .bind(kind.as_str())
            .bind(name.as_str())
            .execute(&mut **tx)
            .await;
        if let Err(e) = res {
            // Another node took the key between the check and the insert.
            return Err(match unique_or_unavailable(e, "", "") {
                StoreError::AlreadyExists { .. } => StoreError::KeyInUse {
                    kind: "another".into(),
                    name: "object".into(),
                },
                other => other,
            });
        }
    }
    Ok(())
}

/// Writes what the store indexes of an object: its labels (for selectors), what it refers
/// to (kept whole at commit), its lookup keys (unique), and a user's email (unique).
async fn write_indexes(tx: &mut Transaction<'static, Any>, draft: &ObjectDraft) -> Result<()> {
    write_labels(tx, draft.kind, &draft.name, &draft.labels).await?;
    write_references(tx, draft.kind, &draft.name, &draft.references).await?;
    if draft.kind == Kind::User {
        signin::write_email(tx, &draft.name, &draft.spec).await?;
    }
    write_keys(tx, draft.kind, &draft.name, &draft.lookup_keys).await
}

/// Removes what the store indexes of an object (labels, references, lookup keys, a user's
/// email) before they are written again or the object goes.
async fn delete_indexes(tx: &mut Transaction<'static, Any>, kind: Kind, name: &Name) -> Result<()> {
    if kind == Kind::User {
        signin::delete_email(tx, name).await?;
    }
    for sql in [
        "DELETE FROM object_labels WHERE kind = $1 AND name = $2",
        "DELETE FROM object_refs WHERE from_kind = $1 AND from_name = $2",
        "DELETE FROM object_keys WHERE kind = $1 AND name = $2",
    ] {
        sqlx::query(sql)
            .bind(kind.as_str())
            .bind(name.as_str())
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}
