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
            "Sign in with email and password; sets the session cookie",
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

/// Checks an email and password and opens a session: the `Set-Cookie` value and the
/// session's CSRF token, or `None` for a wrong email or password.
pub(crate) async fn start(
    state: &AppState,
    email: &str,
    password: String,
) -> ApiResult<Option<(String, String, SessionView)>> {
    let users = state.store.snapshot(&[Kind::User]).await?;
    let user = users.into_iter().find(|u| {
        u.spec
            .get("email")
            .and_then(|e| e.as_str())
            .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
    });
    let Some(user) = user else {
        return Ok(None);
    };
    let Some(hash) = state.store.password_hash(&user.name).await? else {
        return Ok(None);
    };
    if !blocking(move || verify_password(&password, &hash)).await? {
        return Ok(None);
    }
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
    Ok(Some((cookie, csrf, view)))
}

async fn login(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    let Some((cookie, _, body)) = start(&state, &input.email, input.password).await? else {
        return Err(ApiError::Unauthorized("wrong email or password".into()));
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
