//! The API tokens page: creating and revoking tokens.

use axum::Extension;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Role;
use serde::Deserialize;
use store::WriteContext;

use super::pages::page;
use super::{Session, error_page};
use crate::AppState;

async fn token_page(
    state: &AppState,
    session: &Session,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Response {
    let actor = session.caller.actor();
    let tokens = state.store.list_tokens().await.unwrap_or_default();
    let rows: Vec<serde_json::Value> = tokens
        .iter()
        .filter(|t| {
            t.created_by == actor
                || t.grants
                    .iter()
                    .all(|g| session.caller.principal.may_delegate(g))
        })
        .map(|t| {
            serde_json::json!({
                "name": t.name,
                "grants": t.grants.iter().map(|g| {
                    let within = g.company.clone().map(|c| format!(" in {c}"))
                        .or_else(|| g.team.as_ref().map(|t| format!(" in team {t}")))
                        .unwrap_or_default();
                    format!("{}{within}", g.role)
                }).collect::<Vec<_>>().join(", "),
                "user": t.user.as_ref().map(ToString::to_string),
                "created": session.when(t.created_at), "created_by": t.created_by,
                "revoked": t.revoked_at.map(|t| session.when(t)), "expires": t.expires_at.map(|t| session.when(t)),
            })
        })
        .collect();
    page(
        session,
        "tokens.html",
        serde_json::json!({
            "rows": rows, "created": created.map(|(n, s)| serde_json::json!({"name": n, "secret": s})),
            "error": error
        }),
    )
}

pub async fn tokens(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    token_page(&state, &session, None, None).await
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    name: String,
    role: String,
    #[serde(default)]
    company: Option<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<TokenForm>,
) -> Response {
    let role = match form.role.as_str() {
        "viewer" => Role::Viewer,
        "responder" => Role::Responder,
        "admin" => Role::Admin,
        _ => {
            return token_page(
                &state,
                &session,
                None,
                Some("Pick a role: viewer, responder or admin.".into()),
            )
            .await;
        }
    };
    let input = crate::api::tokens::TokenInput {
        name: form.name.trim().to_owned(),
        role,
        company: form.company.filter(|c| !c.trim().is_empty()),
        team: None,
        user: None,
        expires_in_days: None,
    };
    let now = state.clock.now();
    let (token, secret) = match crate::api::tokens::new_token(&session.caller.principal, input, now)
    {
        Ok(x) => x,
        Err(e) => return token_page(&state, &session, None, Some(e.to_string())).await,
    };
    let name = token.name.clone();
    let ctx = WriteContext {
        actor: session.caller.actor(),
        at: now,
    };
    match state.store.create_token(token, &ctx).await {
        Ok(_) => token_page(&state, &session, Some((name, secret)), None).await,
        Err(e) => token_page(&state, &session, None, Some(e.to_string())).await,
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let actor = session.caller.actor();
    let tokens = state.store.list_tokens().await.unwrap_or_default();
    let Some(t) = tokens.into_iter().find(|t| t.name == name) else {
        return error_page(StatusCode::NOT_FOUND, &format!("There is no token {name}."));
    };
    if t.created_by != actor
        && !t
            .grants
            .iter()
            .all(|g| session.caller.principal.may_delegate(g))
    {
        return error_page(
            StatusCode::FORBIDDEN,
            &format!("{actor} cannot revoke token {name}."),
        );
    }
    let ctx = WriteContext {
        actor,
        at: state.clock.now(),
    };
    match state.store.revoke_token(&name, &ctx).await {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}
