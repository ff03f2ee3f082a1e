//! The SQL implementation of the store contract, written once and run on both backends
//! through sqlx's `Any` driver.
//!
//! Why one implementation: SQLite and PostgreSQL share nearly all the SQL shinrai needs
//! (`$1` placeholders, `ON CONFLICT`, `RETURNING`), and two hand-kept copies would drift.
//! The schema keeps to the types both speak through `Any`: `BIGINT` for integers and
//! instants (microseconds since the Unix epoch), `TEXT` for strings and JSON. What
//! differs — connecting, pragmas, the lock file, migrations, row locks — lives in the
//! backend crates and in [`Dialect`].

mod incidents;
mod leases;
mod notify;
mod oncall;
mod rows;
mod signin;
mod timers;

pub use signin::{PreflightError, SharedEmails, check_before_migrating};

use std::time::Duration;

use async_trait::async_trait;
use domain::{AccessTarget, Kind, Labels, Name, Timestamp};
use serde_json::Value;
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
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

const OBJECT_COLUMNS: &str =
    "kind, name, labels, spec, status, source, version, created_at, updated_at";

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
        leases::bump_generations(&mut tx, kinds.chain(deleted.iter().map(|(k, _)| *k))).await?;
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

    async fn user_by_email(&self, email: &str) -> Result<Option<(ObjectRecord, Option<String>)>> {
        self.user_by_email_impl(email).await
    }

    async fn create_token(&self, token: NewToken, ctx: &WriteContext) -> Result<TokenRecord> {
        domain::text::check_key("name", &token.name)?;
        let mut tx = self.begin().await?;
        let grants = to_json(&token.grants)?;
        let res = sqlx::query(
            "INSERT INTO api_tokens (name, hash, grants, user_name, created_at, created_by, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.name.as_str())
        .bind(token.hash.as_str())
        .bind(grants.as_str())
        .bind(token.user.as_ref().map(|u| u.as_str().to_owned()))
        .bind(micros(ctx.at))
        .bind(ctx.actor.as_str())
        .bind(token.expires_at.map(micros))
        .execute(&mut *tx)
        .await;
        if let Err(e) = res {
            return Err(unique_or_unavailable(e, "token", &token.name));
        }
        let record = TokenRecord {
            name: token.name,
            hash: token.hash,
            grants: token.grants,
            user: token.user,
            created_at: ctx.at,
            created_by: ctx.actor.clone(),
            expires_at: token.expires_at,
            revoked_at: None,
        };
        let after = token_audit_json(&record);
        insert_audit(
            &mut tx,
            ctx,
            "token.create",
            "Token",
            &record.name,
            &AccessTarget::default(),
            None,
            Some(after),
        )
        .await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(record)
    }

    async fn find_token(&self, hash: &str, now: Timestamp) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(built(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens
             WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
        )))
        .bind(hash)
        .bind(micros(now))
        .fetch_optional(&self.readers)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(built(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY name"
        )))
        .fetch_all(&self.readers)
        .await
        .map_err(unavailable)?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, name: &str, ctx: &WriteContext) -> Result<TokenRecord> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(built(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE name = $1{}",
            self.dialect.for_update()
        )))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound {
                kind: "token".into(),
                name: name.into(),
            });
        };
        let mut record = token_from_row(&row)?;
        let before = token_audit_json(&record);
        if record.revoked_at.is_none() {
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE name = $2")
                .bind(micros(ctx.at))
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            record.revoked_at = Some(ctx.at);
            let after = token_audit_json(&record);
            insert_audit(
                &mut tx,
                ctx,
                "token.revoke",
                "Token",
                name,
                &AccessTarget::default(),
                Some(before),
                Some(after),
            )
            .await?;
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(record)
    }

    async fn set_password(&self, user: &Name, hash: &str, ctx: &WriteContext) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO passwords (user_name, hash, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_name) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
        )
        .bind(user.as_str())
        .bind(hash)
        .bind(micros(ctx.at))
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        // The audit row says that the password changed, never what it is.
        insert_audit(
            &mut tx,
            ctx,
            "password.set",
            "User",
            user.as_str(),
            &AccessTarget::default(),
            None,
            None,
        )
        .await?;
        tx.commit().await.map_err(unavailable)
    }

    async fn password_hash(&self, user: &Name) -> Result<Option<String>> {
        let row = sqlx::query("SELECT hash FROM passwords WHERE user_name = $1")
            .bind(user.as_str())
            .fetch_optional(&self.readers)
            .await
            .map_err(unavailable)?;
        row.map(|r| r.try_get::<String, _>("hash").map_err(corrupt))
            .transpose()
    }

    async fn create_session(&self, s: SessionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (hash, user_name, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(s.hash.as_str())
        .bind(s.user.as_str())
        .bind(s.csrf_token.as_str())
        .bind(micros(s.created_at))
        .bind(micros(s.expires_at))
        .execute(&self.writers)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn find_session(&self, hash: &str, now: Timestamp) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT hash, user_name, csrf_token, created_at, expires_at FROM sessions WHERE hash = $1 AND expires_at > $2",
        )
        .bind(hash)
        .bind(micros(now))
        .fetch_optional(&self.readers)
        .await
        .map_err(unavailable)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn delete_session(&self, hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE hash = $1")
            .bind(hash)
            .execute(&self.writers)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        let res = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(micros(now))
            .execute(&self.writers)
            .await
            .map_err(unavailable)?;
        Ok(res.rows_affected())
    }

    async fn claim_signin(
        &self,
        keys: &[ThrottleKey],
        policy: &SigninPolicy,
        now: Timestamp,
    ) -> Result<SigninClaim> {
        self.claim_signin_impl(keys, policy, now).await
    }

    async fn signin_succeeded(&self, forget: &[String], undo: &[String]) -> Result<()> {
        self.signin_succeeded_impl(forget, undo).await
    }

    async fn forget_signin_failures(&self, before: Timestamp, now: Timestamp) -> Result<u64> {
        self.forget_signin_failures_impl(before, now).await
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

    async fn ingest(&self, events: Vec<IngestEvent>) -> Result<Vec<IngestOutcome>> {
        self.ingest_batch(events).await
    }

    async fn open_alerts_of_group(&self, service: &Name, group: &str) -> Result<Vec<String>> {
        self.open_alerts_of_group_impl(service, group).await
    }

    async fn list_incidents(&self, query: &IncidentQuery) -> Result<Vec<IncidentRecord>> {
        self.list_incidents_impl(query).await
    }

    async fn count_incidents(&self, query: &IncidentQuery) -> Result<u64> {
        self.count_incidents_impl(query).await
    }

    async fn record_change(&self, change: NewChange) -> Result<ChangeRecord> {
        self.record_change_impl(change).await
    }

    async fn changes_between(
        &self,
        service: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ChangeRecord>> {
        self.changes_between_impl(service, from, to).await
    }

    async fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>> {
        self.list_alerts_impl(query).await
    }

    async fn get_incident(&self, id: i64) -> Result<Option<IncidentDetail>> {
        self.get_incident_impl(id).await
    }

    async fn act_on_incident(
        &self,
        id: i64,
        action: IncidentAction,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        self.act_on_incident_impl(id, action, ctx).await
    }

    async fn merge_incidents(
        &self,
        target: i64,
        sources: Vec<i64>,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        self.merge_incidents_impl(target, sources, ctx).await
    }

    async fn server_secret(&self, name: &str, candidate: &str, now: Timestamp) -> Result<String> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        let value: String = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?
            .try_get("value")
            .map_err(corrupt)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(value)
    }

    async fn secret_key_fingerprint(&self) -> Result<Option<String>> {
        let row = sqlx::query("SELECT fingerprint FROM secret_key WHERE id = 1")
            .fetch_optional(&self.readers)
            .await
            .map_err(unavailable)?;
        row.map(|r| r.try_get("fingerprint").map_err(corrupt))
            .transpose()
    }

    async fn reseal_secrets(
        &self,
        expected: Option<&str>,
        fingerprint: &str,
        rewrite: &store::Reseal<'_>,
        now: Timestamp,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        // Recording the fingerprint first takes the row's lock: two nodes resealing at
        // once wait for each other, and the second finds the fingerprint moved.
        let recorded = match expected {
            None => sqlx::query(
                "INSERT INTO secret_key (id, fingerprint, set_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
            )
            .bind(fingerprint)
            .bind(micros(now))
            .execute(&mut *tx)
            .await,
            Some(old) => sqlx::query(
                "UPDATE secret_key SET fingerprint = $1, set_at = $2 WHERE id = 1 AND fingerprint = $3",
            )
            .bind(fingerprint)
            .bind(micros(now))
            .bind(old)
            .execute(&mut *tx)
            .await,
        }
        .map_err(unavailable)?;
        if recorded.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "the store's secret key changed meanwhile (another node sealed or rotated its secrets); start again".into(),
            ));
        }
        let rows = sqlx::query("SELECT name, value FROM server_secrets ORDER BY name")
            .fetch_all(&mut *tx)
            .await
            .map_err(unavailable)?;
        let mut changed = 0;
        for row in rows {
            let name: String = row.try_get("name").map_err(corrupt)?;
            let value: String = row.try_get("value").map_err(corrupt)?;
            let new = rewrite(&name, &value)
                .map_err(|e| StoreError::Corrupt(format!("server secret {name}: {e}")))?;
            if new != value {
                sqlx::query("UPDATE server_secrets SET value = $1 WHERE name = $2")
                    .bind(&new)
                    .bind(&name)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                changed += 1;
            }
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(changed)
    }

    async fn use_link(&self, nonce: &str, now: Timestamp) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "INSERT INTO used_links (nonce, used_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?
        .rows_affected();
        tx.commit().await.map_err(unavailable)?;
        Ok(done == 1)
    }

    async fn claim_notifications(
        &self,
        channel: &str,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>> {
        self.claim_notifications_impl(channel, now, owner, lease_until, limit)
            .await
    }

    async fn finish_notification(
        &self,
        id: i64,
        fence: i64,
        outcome: Delivery,
        now: Timestamp,
    ) -> Result<bool> {
        self.finish_notification_impl(id, fence, outcome, now).await
    }

    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<NotificationRecord>> {
        self.list_notifications_impl(query).await
    }

    async fn outbox_backlog(&self, now: Timestamp) -> Result<Vec<(String, i64, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT channel, COUNT(*) AS n, MIN(due_at) AS oldest FROM notifications
             WHERE status = 'pending' AND due_at <= $1 GROUP BY channel ORDER BY channel",
        )
        .bind(micros(now))
        .fetch_all(&self.readers())
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("channel").map_err(corrupt)?,
                    r.try_get("n").map_err(corrupt)?,
                    timestamp(r.try_get("oldest").map_err(corrupt)?)?,
                ))
            })
            .collect()
    }

    async fn add_override(&self, o: NewOverride, ctx: &WriteContext) -> Result<OverrideRecord> {
        self.add_override_impl(o, ctx).await
    }

    async fn list_overrides(
        &self,
        schedule: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<OverrideRecord>> {
        self.list_overrides_impl(schedule, from, to).await
    }

    async fn delete_override(
        &self,
        schedule: &Name,
        id: i64,
        scope: &domain::AccessTarget,
        ctx: &WriteContext,
    ) -> Result<OverrideRecord> {
        self.delete_override_impl(schedule, id, scope, ctx).await
    }

    async fn set_timer(&self, timer: NewTimer, now: Timestamp) -> Result<TimerRecord> {
        self.set_timer_impl(timer, now).await
    }

    async fn claim_timers(
        &self,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRecord>> {
        self.claim_timers_impl(now, owner, lease_until, limit).await
    }

    async fn finish_timer(
        &self,
        id: i64,
        fence: i64,
        effect: TimerEffect,
        now: Timestamp,
    ) -> Result<bool> {
        self.finish_timer_impl(id, fence, effect, now).await
    }

    async fn list_timers(&self) -> Result<Vec<TimerRecord>> {
        self.list_timers_impl().await
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
