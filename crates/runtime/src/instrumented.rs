//! A store wrapper that measures every call for `/metrics`.

use std::sync::Arc;

use async_trait::async_trait;
use domain::{Kind, Name, Timestamp};
use store::*;

use crate::clock::Clock;

/// Wraps a store and records `shinrai_store_call_seconds{op, backend}` and
/// `shinrai_store_errors_total{op, backend}` for each call.
pub struct InstrumentedStore {
    inner: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl InstrumentedStore {
    pub fn wrap(inner: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Arc<dyn Store> {
        Arc::new(InstrumentedStore { inner, clock })
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let start = self.clock.monotonic();
        let out = fut.await;
        let elapsed = self.clock.monotonic().saturating_sub(start);
        let backend = self.inner.backend();
        metrics::histogram!("shinrai_store_call_seconds", "op" => op, "backend" => backend)
            .record(elapsed.as_secs_f64());
        if out.is_err() {
            metrics::counter!("shinrai_store_errors_total", "op" => op, "backend" => backend)
                .increment(1);
        }
        out
    }
}

#[async_trait]
impl Store for InstrumentedStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn ping(&self) -> Result<()> {
        self.timed("ping", self.inner.ping()).await
    }
    async fn get_object(&self, kind: Kind, name: &Name) -> Result<Option<ObjectRecord>> {
        self.timed("get_object", self.inner.get_object(kind, name))
            .await
    }
    async fn list_objects(&self, kind: Kind, query: &ListQuery) -> Result<Vec<ObjectRecord>> {
        self.timed("list_objects", self.inner.list_objects(kind, query))
            .await
    }
    async fn snapshot(&self, kinds: &[Kind]) -> Result<Vec<ObjectRecord>> {
        self.timed("snapshot", self.inner.snapshot(kinds)).await
    }
    async fn commit(&self, changes: Vec<Change>, ctx: &WriteContext) -> Result<Vec<ObjectRecord>> {
        self.timed("commit", self.inner.commit(changes, ctx)).await
    }
    async fn find_by_key(&self, key: &str) -> Result<Option<ObjectRecord>> {
        self.timed("find_by_key", self.inner.find_by_key(key)).await
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<(ObjectRecord, Option<String>)>> {
        self.timed("user_by_email", self.inner.user_by_email(email))
            .await
    }
    async fn claim_signin(
        &self,
        keys: &[ThrottleKey],
        policy: &SigninPolicy,
        now: Timestamp,
    ) -> Result<SigninClaim> {
        self.timed("claim_signin", self.inner.claim_signin(keys, policy, now))
            .await
    }
    async fn signin_succeeded(&self, forget: &[String], undo: &[String]) -> Result<()> {
        self.timed(
            "signin_succeeded",
            self.inner.signin_succeeded(forget, undo),
        )
        .await
    }
    async fn forget_signin_failures(&self, before: Timestamp, now: Timestamp) -> Result<u64> {
        self.timed(
            "forget_signin_failures",
            self.inner.forget_signin_failures(before, now),
        )
        .await
    }
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()> {
        self.timed("append_audit", self.inner.append_audit(entry))
            .await
    }
    async fn server_secret(&self, name: &str, candidate: &str, now: Timestamp) -> Result<String> {
        self.timed(
            "server_secret",
            self.inner.server_secret(name, candidate, now),
        )
        .await
    }
    async fn secret_key_fingerprint(&self) -> Result<Option<String>> {
        self.timed(
            "secret_key_fingerprint",
            self.inner.secret_key_fingerprint(),
        )
        .await
    }
    async fn reseal_secrets(
        &self,
        expected: Option<&str>,
        fingerprint: &str,
        rewrite: &store::Reseal<'_>,
        now: Timestamp,
    ) -> Result<u64> {
        self.timed(
            "reseal_secrets",
            self.inner
                .reseal_secrets(expected, fingerprint, rewrite, now),
        )
        .await
    }
    async fn use_link(&self, nonce: &str, now: Timestamp) -> Result<bool> {
        self.timed("use_link", self.inner.use_link(nonce, now))
            .await
    }
    async fn claim_notifications(
        &self,
        channel: &str,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>> {
        self.timed(
            "claim_notifications",
            self.inner
                .claim_notifications(channel, now, owner, lease_until, limit),
        )
        .await
    }
    async fn finish_notification(
        &self,
        id: i64,
        fence: i64,
        outcome: Delivery,
        now: Timestamp,
    ) -> Result<bool> {
        self.timed(
            "finish_notification",
            self.inner.finish_notification(id, fence, outcome, now),
        )
        .await
    }
    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<NotificationRecord>> {
        self.timed("list_notifications", self.inner.list_notifications(query))
            .await
    }
    async fn outbox_backlog(&self, now: Timestamp) -> Result<Vec<(String, i64, Timestamp)>> {
        self.timed("outbox_backlog", self.inner.outbox_backlog(now))
            .await
    }
    async fn add_override(&self, o: NewOverride, ctx: &WriteContext) -> Result<OverrideRecord> {
        self.timed("add_override", self.inner.add_override(o, ctx))
            .await
    }
    async fn list_overrides(
        &self,
        schedule: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<OverrideRecord>> {
        self.timed(
            "list_overrides",
            self.inner.list_overrides(schedule, from, to),
        )
        .await
    }
    async fn delete_override(
        &self,
        schedule: &Name,
        id: i64,
        scope: &domain::AccessTarget,
        ctx: &WriteContext,
    ) -> Result<OverrideRecord> {
        self.timed(
            "delete_override",
            self.inner.delete_override(schedule, id, scope, ctx),
        )
        .await
    }
    async fn set_timer(&self, timer: NewTimer, now: Timestamp) -> Result<TimerRecord> {
        self.timed("set_timer", self.inner.set_timer(timer, now))
            .await
    }
    async fn claim_timers(
        &self,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRecord>> {
        self.timed(
            "claim_timers",
            self.inner.claim_timers(now, owner, lease_until, limit),
        )
        .await
    }
    async fn finish_timer(
        &self,
        id: i64,
        fence: i64,
        effect: TimerEffect,
        now: Timestamp,
    ) -> Result<bool> {
        self.timed(
            "finish_timer",
            self.inner.finish_timer(id, fence, effect, now),
        )
        .await
    }
    async fn list_timers(&self) -> Result<Vec<TimerRecord>> {
        self.timed("list_timers", self.inner.list_timers()).await
    }

    async fn timer_backlog(&self, now: Timestamp) -> Result<(i64, Option<Timestamp>)> {
        self.timed("timer_backlog", self.inner.timer_backlog(now))
            .await
    }
    async fn create_token(&self, token: NewToken, ctx: &WriteContext) -> Result<TokenRecord> {
        self.timed("create_token", self.inner.create_token(token, ctx))
            .await
    }
    async fn find_token(&self, hash: &str, now: Timestamp) -> Result<Option<TokenRecord>> {
        self.timed("find_token", self.inner.find_token(hash, now))
            .await
    }
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.timed("list_tokens", self.inner.list_tokens()).await
    }
    async fn revoke_token(&self, name: &str, ctx: &WriteContext) -> Result<TokenRecord> {
        self.timed("revoke_token", self.inner.revoke_token(name, ctx))
            .await
    }
    async fn set_password(&self, user: &Name, hash: &str, ctx: &WriteContext) -> Result<()> {
        self.timed("set_password", self.inner.set_password(user, hash, ctx))
            .await
    }
    async fn password_hash(&self, user: &Name) -> Result<Option<String>> {
        self.timed("password_hash", self.inner.password_hash(user))
            .await
    }
    async fn create_session(&self, session: SessionRecord) -> Result<()> {
        self.timed("create_session", self.inner.create_session(session))
            .await
    }
    async fn find_session(&self, hash: &str, now: Timestamp) -> Result<Option<SessionRecord>> {
        self.timed("find_session", self.inner.find_session(hash, now))
            .await
    }
    async fn delete_session(&self, hash: &str) -> Result<()> {
        self.timed("delete_session", self.inner.delete_session(hash))
            .await
    }
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        self.timed(
            "delete_expired_sessions",
            self.inner.delete_expired_sessions(now),
        )
        .await
    }
    async fn ingest(&self, events: Vec<IngestEvent>) -> Result<Vec<IngestOutcome>> {
        self.timed("ingest", self.inner.ingest(events)).await
    }
    async fn open_alerts_of_group(&self, service: &Name, group: &str) -> Result<Vec<String>> {
        self.timed(
            "open_alerts_of_group",
            self.inner.open_alerts_of_group(service, group),
        )
        .await
    }
    async fn list_incidents(&self, query: &IncidentQuery) -> Result<Vec<IncidentRecord>> {
        self.timed("list_incidents", self.inner.list_incidents(query))
            .await
    }
    async fn count_incidents(&self, query: &IncidentQuery) -> Result<u64> {
        self.timed("count_incidents", self.inner.count_incidents(query))
            .await
    }
    async fn record_change(&self, change: NewChange) -> Result<ChangeRecord> {
        self.timed("record_change", self.inner.record_change(change))
            .await
    }
    async fn changes_between(
        &self,
        service: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ChangeRecord>> {
        self.timed(
            "changes_between",
            self.inner.changes_between(service, from, to),
        )
        .await
    }
    async fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>> {
        self.timed("list_alerts", self.inner.list_alerts(query))
            .await
    }
    async fn get_incident(&self, id: i64) -> Result<Option<IncidentDetail>> {
        self.timed("get_incident", self.inner.get_incident(id))
            .await
    }
    async fn act_on_incident(
        &self,
        id: i64,
        action: IncidentAction,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        self.timed(
            "act_on_incident",
            self.inner.act_on_incident(id, action, ctx),
        )
        .await
    }
    async fn merge_incidents(
        &self,
        target: i64,
        sources: Vec<i64>,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        self.timed(
            "merge_incidents",
            self.inner.merge_incidents(target, sources, ctx),
        )
        .await
    }
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        self.timed("audit_log", self.inner.audit_log(query)).await
    }
}

#[async_trait]
impl LeaseStore for InstrumentedStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>> {
        self.timed(
            "acquire_lease",
            self.inner.acquire_lease(name, holder, now, ttl),
        )
        .await
    }
    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        fence: i64,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>> {
        self.timed(
            "renew_lease",
            self.inner.renew_lease(name, holder, fence, now, ttl),
        )
        .await
    }
    async fn release_lease(&self, name: &str, holder: &str, fence: i64) -> Result<bool> {
        self.timed(
            "release_lease",
            self.inner.release_lease(name, holder, fence),
        )
        .await
    }
    async fn get_lease(&self, name: &str, now: Timestamp) -> Result<Option<Lease>> {
        self.timed("get_lease", self.inner.get_lease(name, now))
            .await
    }
}

#[async_trait]
impl ChangeStore for InstrumentedStore {
    async fn generations(&self) -> Result<Generations> {
        self.timed("generations", self.inner.generations()).await
    }
}
