//! The audit log page.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use domain::Role;

use super::Session;
use super::pages::page;
use crate::AppState;

pub async fn audit(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let entries = state
        .store
        .audit_log(&store::AuditQuery {
            limit: 200,
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .filter(|e| session.caller.may(Role::Admin, &e.scope))
        .map(|e| serde_json::json!({"at": session.when(e.at), "actor": e.actor, "action": e.action, "kind": e.kind, "name": e.name}))
        .collect();
    page(&session, "audit.html", serde_json::json!({"rows": rows}))
}
