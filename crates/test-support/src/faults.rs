//! A store that fails where a test says, for drills of what shinrai does when one write
//! fails: everything else goes to the real store underneath.

use std::sync::Arc;

use async_trait::async_trait;
use domain::{Kind, Name, Timestamp};
use store::*;

/// Whether recording this outcome of the notification with this id fails.
pub type RefuseOutcome = Box<dyn Fn(i64, &Delivery) -> bool + Send + Sync>;

/// Wraps a store; recording a notification's outcome fails whenever `refuse_outcome`
/// says so (given the notification's id and the outcome) (a provider's reply the store cannot keep, say).
pub struct Faulty {
    pub inner: Arc<dyn Store>,
    pub refuse_outcome: RefuseOutcome,
}

#[async_trait]
impl Store for Faulty {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }
    async fn get_object(&self, kind: Kind, name: &Name) -> Result<Option<ObjectRecord>> {
        self.inner.get_object(kind, name).await
    }
    async fn list_objects(&self, kind: Kind, query: &ListQuery) -> Result<Vec<ObjectRecord>> {
        self.inner.list_objects(kind, query).await
    }
    async fn snapshot(&self, kinds: &[Kind]) -> Result<Vec<ObjectRecord>> {
        self.inner.snapshot(kinds).await
    }
    async fn commit(&self, changes: Vec<Change>, ctx: &WriteContext) -> Result<Vec<ObjectRecord>> {
        self.inner.commit(changes, ctx).await
    }
    async fn find_by_key(&self, key: &str) -> Result<Option<ObjectRecord>> {
        self.inner.find_by_key(key).await
    }
    async fn server_secret(&self, name: &str, candidate: &str, now: Timestamp) -> Result<String> {
        self.inner.server_secret(name, candidate, now).await
    }
    async fn use_link(&self, nonce: &str, now: Timestamp) -> Result<bool> {
        self.inner.use_link(nonce, now).await
    }
    async fn secret_key_fingerprint(&self) -> Result<Option<String>> {
        self.inner.secret_key_fingerprint().await
    }
    async fn reseal_secrets(
        &self,
        expected: Option<&str>,
        fingerprint: &str,
        rewrite: &Reseal<'_>,
        now: Timestamp,
    ) -> Result<u64> {
        self.inner
            .reseal_secrets(expected, fingerprint, rewrite, now)
            .await
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<(ObjectRecord, Option<String>)>> {
        self.inner.user_by_email(email).await
    }
    async fn claim_signin(
        &self,
        keys: &[ThrottleKey],
        policy: &SigninPolicy,
        now: Timestamp,
    ) -> Result<SigninClaim> {
        self.inner.claim_signin(keys, policy, now).await
    }
    async fn signin_succeeded(&self, forget: &[String], undo: &[String]) -> Result<()> {
        self.inner.signin_succeeded(forget, undo).await
    }
    async fn forget_signin_failures(&self, before: Timestamp, now: Timestamp) -> Result<u64> {
        self.inner.forget_signin_failures(before, now).await
    }
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()> {
        self.inner.append_audit(entry).await
    }
    async fn claim_notifications(
        &self,
        channel: &str,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>> {
        self.inner
            .claim_notifications(channel, now, owner, lease_until, limit)
            .await
    }
    async fn finish_notification(
        &self,
        id: i64,
        fence: i64,
        outcome: Delivery,
        now: Timestamp,
    ) -> Result<bool> {
        if (self.refuse_outcome)(id, &outcome) {
            return Err(StoreError::Unavailable(format!(
                "a fault injected by the test refuses {outcome:?}"
            )));
        }
        self.inner
            .finish_notification(id, fence, outcome, now)
            .await
    }
    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<NotificationRecord>> {
        self.inner.list_notifications(query).await
    }
    async fn outbox_backlog(&self, now: Timestamp) -> Result<Vec<(String, i64, Timestamp)>> {
        self.inner.outbox_backlog(now).await
    }
    async fn add_override(&self, o: NewOverride, ctx: &WriteContext) -> Result<OverrideRecord> {
        self.inner.add_override(o, ctx).await
    }
    async fn list_overrides(
        &self,
        schedule: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<OverrideRecord>> {
        self.inner.list_overrides(schedule, from, to).await
    }
    async fn delete_override(
        &self,
        schedule: &Name,
        id: i64,
        scope: &domain::AccessTarget,
        ctx: &WriteContext,
    ) -> Result<OverrideRecord> {
        self.inner.delete_override(schedule, id, scope, ctx).await
    }
    async fn set_timer(&self, timer: NewTimer, now: Timestamp) -> Result<TimerRecord> {
        self.inner.set_timer(timer, now).await
    }
    async fn claim_timers(
        &self,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRecord>> {
        self.inner
            .claim_timers(now, owner, lease_until, limit)
            .await
    }
    async fn finish_timer(
        &self,
        id: i64,
        fence: i64,
        effect: TimerEffect,
        now: Timestamp,
    ) -> Result<bool> {
        self.inner.finish_timer(id, fence, effect, now).await
    }
    async fn list_timers(&self) -> Result<Vec<TimerRecord>> {
        self.inner.list_timers().await
    }

    async fn timer_backlog(&self, now: Timestamp) -> Result<(i64, Option<Timestamp>)> {
        self.inner.timer_backlog(now).await
    }
    async fn create_token(&self, token: NewToken, ctx: &WriteContext) -> Result<TokenRecord> {
        self.inner.create_token(token, ctx).await
    }
    async fn find_token(&self, hash: &str, now: Timestamp) -> Result<Option<TokenRecord>> {
        self.inner.find_token(hash, now).await
    }
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.inner.list_tokens().await
    }
    async fn revoke_token(&self, name: &str, ctx: &WriteContext) -> Result<TokenRecord> {
        self.inner.revoke_token(name, ctx).await
    }
    async fn set_password(&self, user: &Name, hash: &str, ctx: &WriteContext) -> Result<()> {
        self.inner.set_password(user, hash, ctx).await
    }
    async fn password_hash(&self, user: &Name) -> Result<Option<String>> {
        self.inner.password_hash(user).await
    }
    async fn create_session(&self, session: SessionRecord) -> Result<()> {
        self.inner.create_session(session).await
    }
    async fn find_session(&self, hash: &str, now: Timestamp) -> Result<Option<SessionRecord>> {
        self.inner.find_session(hash, now).await
    }
    async fn delete_session(&self, hash: &str) -> Result<()> {
        self.inner.delete_session(hash).await
    }
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        self.inner.delete_expired_sessions(now).await
    }
    async fn ingest(&self, events: Vec<IngestEvent>) -> Result<Vec<IngestOutcome>> {
        self.inner.ingest(events).await
    }
    async fn open_alerts_of_group(&self, service: &Name, group: &str) -> Result<Vec<String>> {
        self.inner.open_alerts_of_group(service, group).await
    }
    async fn list_incidents(&self, query: &IncidentQuery) -> Result<Vec<IncidentRecord>> {
        self.inner.list_incidents(query).await
    }
    async fn count_incidents(&self, query: &IncidentQuery) -> Result<u64> {
        self.inner.count_incidents(query).await
    }
    async fn record_change(&self, change: NewChange) -> Result<ChangeRecord> {
        self.inner.record_change(change).await
    }
    async fn changes_between(
        &self,
        service: &Name,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ChangeRecord>> {
        self.inner.changes_between(service, from, to).await
    }
    async fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertRecord>> {
        self.inner.list_alerts(query).await
    }
    async fn get_incident(&self, id: i64) -> Result<Option<IncidentDetail>> {
        self.inner.get_incident(id).await
    }
    async fn act_on_incident(
        &self,
        id: i64,
        action: IncidentAction,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        self.inner.act_on_incident(id, action, ctx).await
    }
    async fn merge_incidents(
        &self,
        target: i64,
        sources: Vec<i64>,
        ctx: &WriteContext,
    ) -> Result<IncidentRecord> {
        self.inner.merge_incidents(target, sources, ctx).await
    }
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        self.inner.audit_log(query).await
    }
}

#[async_trait]
impl LeaseStore for Faulty {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>> {
        self.inner.acquire_lease(name, holder, now, ttl).await
    }
    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        fence: i64,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>> {
        self.inner.renew_lease(name, holder, fence, now, ttl).await
    }
    async fn release_lease(&self, name: &str, holder: &str, fence: i64) -> Result<bool> {
        self.inner.release_lease(name, holder, fence).await
    }
    async fn get_lease(&self, name: &str, now: Timestamp) -> Result<Option<Lease>> {
        self.inner.get_lease(name, now).await
    }
}

#[async_trait]
impl ChangeStore for Faulty {
    async fn generations(&self) -> Result<Generations> {
        self.inner.generations().await
    }
}
