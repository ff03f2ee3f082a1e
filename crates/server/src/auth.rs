//! Who is calling: a bearer token or a console session, resolved to a [`Principal`].
//!
//! Only hashes of secrets are stored; a presented secret is hashed and looked up.
//! A session-authenticated write must carry the session's CSRF token in `X-CSRF-Token`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::{AccessTarget, Kind, Name, Principal, Role, Subject, UserSpec};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::routes::{Access, AccessTable};

pub const SESSION_COOKIE: &str = "shinrai_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// SHA-256 of a secret, hex-encoded: what the store keeps of tokens and sessions.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether a presented secret (a CSRF token, a signature) is the expected one, compared
/// in constant time: both are MACed to one length and the MACs compared with
/// `verify_slice`, so neither a differing byte's position nor the lengths show in the
/// time taken. An empty expectation matches nothing.
pub fn same_secret(expected: &str, given: &str) -> bool {
    use domain::mac::Mac;
    let mac = |s: &str| {
        let mut m = domain::mac::hmac::<Sha256>(b"shinrai: compare secrets");
        m.update(s.as_bytes());
        m
    };
    !expected.is_empty()
        && mac(given)
            .verify_slice(&mac(expected).finalize().into_bytes())
            .is_ok()
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
}

impl Caller {
    pub fn actor(&self) -> String {
        self.principal.subject.to_string()
    }

    pub fn user(&self) -> Option<&Name> {
        match &self.principal.subject {
            Subject::User(n) => Some(n),
            _ => None,
        }
    }

    /// Fails with `forbidden` unless the caller holds `role` somewhere.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        match self.principal.highest_role() {
            Some(r) if r >= role => Ok(()),
            _ => Err(ApiError::Forbidden(format!(
                "this needs the {role} role; {} does not hold it",
                self.principal.subject
            ))),
        }
    }

    pub fn may(&self, role: Role, target: &AccessTarget) -> bool {
        self.principal.allows(role, target)
    }
}

/// Enforces every route's [`Access`] rule before its handler runs: authentication and
/// the least role. Handlers then check the scope of each object they touch.
pub async fn enforce_access(
    State((state, table)): State<(AppState, Arc<AccessTable>)>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let access = route.and_then(|r| table.get(req.method().as_str(), &r));
    let Some(Access::Role(role)) = access else {
        return next.run(req).await; // Public, or no route (the fallback answers).
    };
    let (mut parts, body) = req.into_parts();
    let caller = match resolve(&mut parts, &state).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = caller.require(role) {
        return e.into_response();
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        resolve(parts, state).await
    }
}

/// Authenticates a request from its bearer token or session cookie.
async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    {
        let now = state.clock.now();
        if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let value = value.to_str().unwrap_or("");
            let Some(secret) = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
            else {
                return Err(ApiError::Unauthorized(
                    "the Authorization header must be `Bearer TOKEN`".into(),
                ));
            };
            let Some(token) = state
                .store
                .find_token(&hash_secret(secret.trim()), now)
                .await?
            else {
                return Err(ApiError::Unauthorized(
                    "the token is not valid: unknown, revoked or expired. Create one with `shinrai token create`".into(),
                ));
            };
            let principal = match &token.user {
                Some(user) => {
                    let cap = token
                        .grants
                        .iter()
                        .map(|g| g.role)
                        .max()
                        .unwrap_or(Role::Viewer);
                    user_principal(state, user).await?.capped(cap)
                }
                None => Principal {
                    subject: Subject::Token(token.name.clone()),
                    grants: token.grants.clone(),
                },
            };
            return Ok(Caller { principal });
        }
        if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
            let Some(session) = state.store.find_session(&hash_secret(&secret), now).await? else {
                return Err(ApiError::Unauthorized(
                    "the session has expired; sign in again".into(),
                ));
            };
            if parts.method != axum::http::Method::GET && parts.method != axum::http::Method::HEAD {
                let sent = parts
                    .headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !same_secret(&session.csrf_token, sent) {
                    return Err(ApiError::CsrfFailed(
                        "writes from a signed-in session must send the session's CSRF token in X-CSRF-Token".into(),
                    ));
                }
            }
            let principal = user_principal(state, &session.user).await?;
            return Ok(Caller { principal });
        }
        Err(ApiError::Unauthorized(
            "sign in, or send `Authorization: Bearer TOKEN` (create one with `shinrai token create`)".into(),
        ))
    }
}

/// The principal of a user: their grants as configured now, so that a role taken away
/// takes effect on the next request.
pub(crate) async fn user_principal(state: &AppState, user: &Name) -> Result<Principal, ApiError> {
    user_record(state, user).await.map(|(p, _)| p)
}

/// A user's principal and spec, from the store.
pub(crate) async fn user_record(
    state: &AppState,
    user: &Name,
) -> Result<(Principal, UserSpec), ApiError> {
    let Some(obj) = state.store.get_object(Kind::User, user).await? else {
        return Err(ApiError::Unauthorized(format!(
            "user {user} no longer exists"
        )));
    };
    let spec: UserSpec = serde_json::from_value(obj.spec)
        .map_err(|e| ApiError::Internal(format!("stored user {user} is unreadable: {e}")))?;
    Ok((
        Principal {
            subject: Subject::User(user.clone()),
            grants: spec.grants(),
        },
        spec,
    ))
}

/// The value of a cookie sent with a request.
pub(crate) fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
