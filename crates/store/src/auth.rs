//! Who may sign in and how: API tokens, passwords and sessions, the sign-in throttle shared
//! by every node, the server secrets signed links are made with, and the one-time nonces
//! they are used up by.

use domain::{Name, Timestamp};

use crate::{
    NewToken, ObjectRecord, Reseal, Result, SessionRecord, SigninClaim, SigninPolicy, ThrottleKey,
    TokenRecord, WriteContext,
};

crate::store_trait! {
    /// Tokens, passwords, sessions, the sign-in throttle, server secrets and signed links.
    /// Only hashes of secrets are ever stored.
    pub trait AuthStore as __auth_store_methods {
        /// The user whose email is `email`, compared as [`domain::catalog::email_key`], with
        /// their password hash if one is set (one query, so that sign-in costs the same
        /// whoever asks). Each address belongs to at most one user: a commit that would give
        /// two users one address fails with [`StoreError::EmailInUse`].
        async fn user_by_email(&self, email: &str) -> Result<Option<(ObjectRecord, Option<String>)>>;

        async fn create_token(&self, token: NewToken, ctx: &WriteContext) -> Result<TokenRecord>;

        /// The live (not revoked, not expired at `now`) token with this secret hash.
        async fn find_token(&self, hash: &str, now: domain::Timestamp) -> Result<Option<TokenRecord>>;

        async fn list_tokens(&self) -> Result<Vec<TokenRecord>>;

        async fn revoke_token(&self, name: &str, ctx: &WriteContext) -> Result<TokenRecord>;

        async fn set_password(&self, user: &Name, hash: &str, ctx: &WriteContext) -> Result<()>;

        async fn password_hash(&self, user: &Name) -> Result<Option<String>>;

        async fn create_session(&self, session: SessionRecord) -> Result<()>;

        async fn find_session(
            &self,
            hash: &str,
            now: domain::Timestamp,
        ) -> Result<Option<SessionRecord>>;

        async fn delete_session(&self, hash: &str) -> Result<()>;

        /// Removes sessions that expired before `now`; returns how many.
        async fn delete_expired_sessions(&self, now: domain::Timestamp) -> Result<u64>;

        /// Counts a sign-in attempt against every key, unless one of them must still wait
        /// ([`SigninClaim::Throttled`], nothing counted). The attempt counts as a failure until
        /// [`AuthStore::signin_succeeded`] takes it back; each further failure past a key's free
        /// ones doubles the wait before its next attempt (see [`SigninPolicy`]).
        async fn claim_signin(
            &self,
            keys: &[ThrottleKey],
            policy: &SigninPolicy,
            now: Timestamp,
        ) -> Result<SigninClaim>;

        /// A claimed attempt succeeded: `forget` keys lose every failure (the account's),
        /// `undo` keys lose the one the claim counted (the client address's).
        async fn signin_succeeded(&self, forget: &[String], undo: &[String]) -> Result<()>;

        /// Forgets keys whose last failure was before `before` and that need no wait at
        /// `now`; returns how many.
        async fn forget_signin_failures(&self, before: Timestamp, now: Timestamp) -> Result<u64>;

        /// The server secret named `name`: `candidate` if none existed (it is stored then),
        /// else the one stored first, so every node agrees.
        async fn server_secret(&self, name: &str, candidate: &str, now: Timestamp) -> Result<String>;

        /// The fingerprint of the key the server secrets are sealed with, once one is set.
        async fn secret_key_fingerprint(&self) -> Result<Option<String>>;

        /// Rewrites every server secret's value through `rewrite(name, value)` and records
        /// `fingerprint` as the key they are sealed with, in one transaction, provided the
        /// recorded fingerprint is still `expected` (`None`: none recorded yet); `Conflict`
        /// otherwise (another node changed it first). A `rewrite` error fails the whole
        /// transaction as `Corrupt`. Returns how many values changed.
        async fn reseal_secrets(
            &self,
            expected: Option<&str>,
            fingerprint: &str,
            rewrite: &Reseal<'_>,
            now: Timestamp,
        ) -> Result<u64>;

        /// Marks a one-time nonce used (a signed link's, or a provider callback's identity);
        /// `false` when it already was.
        async fn use_link(&self, nonce: &str, now: Timestamp) -> Result<bool>;
    }
}
