//! Console sign-in with a password (argon2id), sessions in an HttpOnly cookie, and
//! setting passwords.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Kind, Role};
use serde::{Deserialize, Serialize};
use store::{SessionRecord, WriteContext};

use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE, cookie, hash_secret};
use crate::client::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Post,
        "/api/v1/session",
        Access::Public,
        Doc::new(
            "identity",
            "Sign in with email and password; sets the session cookie. Repeated failures for an account or from an address are answered 429 with Retry-After",
        )
        .request("LoginInput")
        .response("SessionView")
        .status(201),
        login,
    )
    .add(
        Method::Delete,
        "/api/v1/session",
        Access::Role(Role::Viewer),
        Doc::new("identity", "Sign out").status(204),
        logout,
    )
    .add(
        Method::Put,
        "/api/v1/users/{name}/password",
        Access::Role(Role::Viewer),
        Doc::new(
            "users",
            "Set a user's console password (the user themselves, or an admin over them)",
        )
        .request("PasswordInput")
        .status(204),
        set_password,
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub user: String,
    /// Send this in `X-CSRF-Token` with every write made with the session cookie.
    pub csrf_token: String,
    pub expires_at: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    /// At least 12 characters.
    pub password: String,
}

/// Hashes a password with argon2id and a random salt. CPU-heavy: call off the reactor.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt =
        SaltString::encode_b64(&runtime::entropy::random_bytes(16)).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing task failed: {e}")))
}

/// How a sign-in went.
pub(crate) enum SignIn {
    /// The `Set-Cookie` value, the session's CSRF token, and the session.
    Opened(String, String, SessionView),
    /// A wrong email or password (the answer never says which).
    Refused,
    /// Too many recent failures for the account or the client address: try again after
    /// this long.
    Throttled(std::time::Duration),
}

/// Failures an account may have before its next attempt must wait.
const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures a client address may have before its next attempt must wait: more than an
/// account's, since several people may sign in from behind one address.
const CLIENT_FREE_FAILURES: u32 = 20;
/// From this many failures on, the answer to each further failure is held back a little
/// longer (a step per failure, at most [`SLOWDOWN_MAX`]).
const SLOWDOWN_AFTER: u32 = 3;
const SLOWDOWN_STEP: std::time::Duration = std::time::Duration::from_millis(250);
const SLOWDOWN_MAX: std::time::Duration = std::time::Duration::from_secs(2);

/// The keys a sign-in is throttled by: the account (the email as users are found by it,
/// hashed so that mistyped secrets are not kept) and the client address.
fn throttle_keys(email: &str, client: std::net::IpAddr) -> Vec<store::ThrottleKey> {
    vec![
        store::ThrottleKey {
            key: format!(
                "account:{}",
                hash_secret(&domain::catalog::email_key(email))
            ),
            free: ACCOUNT_FREE_FAILURES,
        },
        store::ThrottleKey {
            key: format!("client:{client}"),
            free: CLIENT_FREE_FAILURES,
        },
    ]
}

/// A hash of a password nobody knows, checked when the email names nobody (or someone
/// without a password), so that every sign-in costs one argon2 verification.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(&runtime::entropy::secret("")).unwrap_or_else(|e| {
            // Hashing fails only on a bad salt, which `hash_password` never makes; an
            // unparsable dummy still makes `verify_password` fail.
            tracing::error!(error = %e, "cannot make the dummy password hash");
            String::new()
        })
    })
}

/// Checks an email and password and opens a session. Attempts are throttled per account
/// and per client address (in the store, so the count survives restarts and holds across
/// nodes), every attempt costs one password verification whether or not the email names
/// anyone, and each failure is written to the audit log.
pub(crate) async fn start(
    state: &AppState,
    email: &str,
    password: String,
    client: std::net::IpAddr,
) -> ApiResult<SignIn> {
    let email = email.trim();
    let keys = throttle_keys(email, client);
    let policy = store::SigninPolicy::default();
    let failures = match state
        .store
        .claim_signin(&keys, &policy, state.clock.now())
        .await?
    {
        store::SigninClaim::Throttled { retry_after } => return Ok(SignIn::Throttled(retry_after)),
        // The account's failures set how slowly a failure is answered: many people
        // failing once each behind one address are not slowed down.
        store::SigninClaim::Allowed { failures } => failures.first().copied().unwrap_or(0),
    };
    let found = state.store.user_by_email(email).await?;
    let hash = found.as_ref().and_then(|(_, h)| h.clone());
    let has_hash = hash.is_some();
    let ok = blocking(move || match &hash {
        Some(hash) => verify_password(&password, hash),
        None => verify_password(&password, dummy_hash()),
    })
    .await?;
    let user = match found {
        Some((user, _)) if ok && has_hash => user,
        found => {
            audit_failure(state, email, client, found.map(|(u, _)| u), has_hash).await?;
            // Answers to repeated failures slow down; the throttle then turns them away.
            if failures >= SLOWDOWN_AFTER {
                let delay = SLOWDOWN_STEP
                    .saturating_mul(failures - SLOWDOWN_AFTER + 1)
                    .min(SLOWDOWN_MAX);
                tokio::time::sleep(delay).await;
            }
            return Ok(SignIn::Refused);
        }
    };
    state
        .store
        .signin_succeeded(&[keys[0].key.clone()], &[keys[1].key.clone()])
        .await?;
    let now = state.clock.now();
    let secret = runtime::entropy::secret("");
    let csrf = runtime::entropy::secret("");
    let ttl = jiff::SignedDuration::try_from(state.settings.session_ttl)
        .unwrap_or(jiff::SignedDuration::from_hours(12));
    let expires_at = now
        .checked_add(ttl)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .store
        .create_session(SessionRecord {
            hash: hash_secret(&secret),
            user: user.name.clone(),
            csrf_token: csrf.clone(),
            created_at: now,
            expires_at,
        })
        .await?;
    let secure = if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        state.settings.session_ttl.as_secs()
    );
    let view = SessionView {
        user: user.name.to_string(),
        csrf_token: csrf.clone(),
        expires_at: expires_at.to_string(),
    };
    Ok(SignIn::Opened(cookie, csrf, view))
}

/// Writes a failed sign-in to the audit log: which account was tried (the user, when the
/// email names one, seen by whoever may see that user), from where, and why it failed.
/// The same reads happen whether or not the email names anyone.
async fn audit_failure(
    state: &AppState,
    email: &str,
    client: std::net::IpAddr,
    user: Option<store::ObjectRecord>,
    has_password: bool,
) -> ApiResult<()> {
    let teams = state.store.snapshot(&[Kind::Team]).await?;
    let (name, scope, reason) = match &user {
        Some(u) => (
            u.name.to_string(),
            runtime::apply::scope_of(Kind::User, &u.name, &u.labels, &u.spec, &teams),
            if has_password {
                "wrong password"
            } else {
                "the user has no password"
            },
        ),
        None => (
            String::new(),
            domain::AccessTarget::default(),
            "no user has this email",
        ),
    };
    let email: String = email.chars().take(254).collect();
    state
        .store
        .append_audit(store::NewAuditEntry {
            at: state.clock.now(),
            actor: format!("client:{client}"),
            action: "signin.failed".into(),
            kind: "User".into(),
            name,
            scope,
            detail: Some(serde_json::json!({
                "email": email,
                "client": client.to_string(),
                "reason": reason,
            })),
        })
        .await?;
    Ok(())
}

async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    let (cookie, body) = match start(&state, &input.email, input.password, client).await? {
        SignIn::Opened(cookie, _, body) => (cookie, body),
        SignIn::Refused => return Err(ApiError::Unauthorized("wrong email or password".into())),
        SignIn::Throttled(retry_after) => {
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "too many failed sign-ins for this account or from this address; try again in {} s",
                    crate::error::retry_seconds(retry_after)
                ),
                retry_after,
            });
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok((StatusCode::CREATED, headers, Json(body)).into_response())
}

async fn logout(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&hash_secret(&secret)).await?;
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(input): ApiJson<PasswordInput>,
) -> ApiResult<StatusCode> {
    // A person outside the caller's scope does not exist for them (everyone sees
    // themselves).
    let (user, target) = super::objects::find_visible(&state, &caller, Kind::User, &name).await?;
    let n = user.name;
    if caller.user() != Some(&n) && !caller.may(Role::Admin, &target) {
        return Err(ApiError::Forbidden(format!(
            "{} may not set the password of {name}",
            caller.actor()
        )));
    }
    if input.password.chars().count() < 12 {
        return Err(ApiError::validation(vec![crate::error::FieldProblem::new(
            "password",
            "must be at least 12 characters",
        )]));
    }
    let password = input.password;
    let hash = blocking(move || hash_password(&password))
        .await?
        .map_err(ApiError::Internal)?;
    state
        .store
        .set_password(
            &n,
            &hash,
            &WriteContext {
                actor: caller.actor(),
                at: state.clock.now(),
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unknown email is checked against the dummy hash: it must cost what a real
    /// user's check costs, so it has the same algorithm and parameters.
    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let real = hash_password("correct horse battery staple").unwrap();
        let real = PasswordHash::new(&real).unwrap();
        let dummy = PasswordHash::new(dummy_hash()).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert!(!verify_password("", dummy_hash()));
    }
}
