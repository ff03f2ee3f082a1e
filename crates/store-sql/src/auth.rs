//! Sign-in in SQL: users by email, API tokens, passwords, sessions, the shared sign-in
//! throttle (in `signin`), server secrets and one-time link nonces.

use async_trait::async_trait;
use domain::{AccessTarget, Name, Timestamp};
use sqlx::Row;
use store::*;

use crate::rows::*;
use crate::{SqlStore, built, insert_audit};

#[async_trait]
impl AuthStore for SqlStore {
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
}
