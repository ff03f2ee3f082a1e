//! API tokens: created with a role (and optionally a company, a team or a user), shown
//! once, stored as a hash, listed and revoked.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::{Grant, Role};
use serde::{Deserialize, Serialize};
use store::{NewToken, TokenRecord, WriteContext};

use crate::AppState;
use crate::auth::{Caller, hash_secret};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Get,
        "/api/v1/tokens",
        Access::Role(Role::Admin),
        Doc::new("tokens", "List API tokens the caller could have issued").response("TokenList"),
        list,
    )
    .add(
        Method::Post,
        "/api/v1/tokens",
        Access::Role(Role::Admin),
        Doc::new(
            "tokens",
            "Create an API token; the secret is in the answer, once",
        )
        .request("TokenInput")
        .response("CreatedToken")
        .status(201),
        create,
    )
    .add(
        Method::Delete,
        "/api/v1/tokens/{name}",
        Access::Role(Role::Admin),
        Doc::new("tokens", "Revoke an API token").response("TokenView"),
        revoke,
    )
}

/// A token as listed: never its secret nor its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub name: String,
    pub grants: Vec<Grant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub created_at: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl From<TokenRecord> for TokenView {
    fn from(t: TokenRecord) -> Self {
        TokenView {
            name: t.name,
            grants: t.grants,
            user: t.user.map(|u| u.to_string()),
            created_at: t.created_at.to_string(),
            created_by: t.created_by,
            expires_at: t.expires_at.map(|t| t.to_string()),
            revoked_at: t.revoked_at.map(|t| t.to_string()),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenView>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// A unique name saying what the token is for (`ci-deploys`).
    pub name: String,
    pub role: Role,
    /// Limit the token to objects of this company.
    #[serde(default)]
    pub company: Option<String>,
    /// Limit the token to this team and what it owns.
    #[serde(default)]
    pub team: Option<String>,
    /// Act as this user: the token holds the user's grants, capped at `role`.
    #[serde(default)]
    pub user: Option<String>,
    /// Expire after this many days; tokens do not expire by default.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The secret. It is shown once and cannot be read again.
    pub token: String,
    #[serde(flatten)]
    pub view: TokenView,
}

/// Checks a token request and returns what to store, with the secret to show.
pub fn new_token(
    caller: &domain::Principal,
    input: TokenInput,
    now: domain::Timestamp,
) -> ApiResult<(NewToken, String)> {
    if input.name.trim().is_empty() || input.name.len() > 100 {
        return Err(ApiError::bad_request(
            "name",
            "name must be 1 to 100 characters",
        ));
    }
    domain::text::check_key("name", &input.name)
        .map_err(|e| ApiError::bad_request("name", e.to_string()))?;
    let team = input
        .team
        .as_deref()
        .map(|t| super::objects::parse_name("team", t))
        .transpose()?;
    let user = input
        .user
        .as_deref()
        .map(|u| super::objects::parse_name("user", u))
        .transpose()?;
    if input.company.is_some() && team.is_some() {
        return Err(ApiError::bad_request(
            "team",
            "a token is limited to a company or to a team, not both",
        ));
    }
    if user.is_some() && (input.company.is_some() || team.is_some()) {
        return Err(ApiError::bad_request(
            "user",
            "a user's token holds that user's scopes; do not add a company or team",
        ));
    }
    let grant = Grant {
        role: input.role,
        company: input.company,
        team,
    };
    if !caller.may_delegate(&grant) {
        return Err(ApiError::Forbidden(format!(
            "{} cannot issue a token with {grant}",
            caller.subject
        )));
    }
    let expires_at = match input.expires_in_days {
        Some(0) => {
            return Err(ApiError::bad_request(
                "expires_in_days",
                "must be at least 1",
            ));
        }
        Some(d) => Some(
            now.checked_add(jiff::SignedDuration::from_hours(i64::from(d) * 24))
                .map_err(|_| ApiError::bad_request("expires_in_days", "too far in the future"))?,
        ),
        None => None,
    };
    let secret = runtime::entropy::secret("shr_");
    Ok((
        NewToken {
            name: input.name,
            hash: hash_secret(&secret),
            grants: vec![grant],
            user,
            expires_at,
        },
        secret,
    ))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let now = state.clock.now();
    if let Some(user) = &input.user {
        super::objects::parse_name("user", user)?;
        if super::objects::Referents::new(&state, &caller)
            .find(domain::Kind::User, user)
            .await?
            .is_none()
        {
            return Err(ApiError::bad_request(
                "user",
                format!("no user named {user} exists"),
            ));
        }
    }
    let (token, secret) = new_token(&caller.principal, input, now)?;
    let record = state
        .store
        .create_token(
            token,
            &WriteContext {
                actor: caller.actor(),
                at: now,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: secret,
            view: record.into(),
        }),
    ))
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<TokenList>> {
    let actor = caller.actor();
    let items = state
        .store
        .list_tokens()
        .await?
        .into_iter()
        .filter(|t| {
            t.created_by == actor || t.grants.iter().all(|g| caller.principal.may_delegate(g))
        })
        .map(TokenView::from)
        .collect();
    Ok(Json(TokenList { items }))
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<TokenView>> {
    let tokens = state.store.list_tokens().await?;
    let Some(token) = tokens.into_iter().find(|t| t.name == name) else {
        return Err(ApiError::NotFound(format!("no token named {name}")));
    };
    let actor = caller.actor();
    if token.created_by != actor
        && !token
            .grants
            .iter()
            .all(|g| caller.principal.may_delegate(g))
    {
        return Err(ApiError::Forbidden(format!(
            "{actor} cannot revoke token {name}"
        )));
    }
    let record = state
        .store
        .revoke_token(
            &name,
            &WriteContext {
                actor,
                at: state.clock.now(),
            },
        )
        .await?;
    Ok(Json(record.into()))
}
