//! The audit log: who changed what, when, with the object before and after.

use axum::Json;
use axum::extract::State;
use domain::Role;
use serde::{Deserialize, Serialize};
use store::{AuditEntry, AuditQuery};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Get,
        "/api/v1/audit",
        Access::Role(Role::Viewer),
        Doc::new("audit", "Audit log rows the caller may see, newest first")
            .response("AuditList")
            .query("kind", "Only this kind (Team, User, Service, Token)")
            .query("name", "Only objects of this name")
            .query("before", "Only rows older than this id (for paging)")
            .query("limit", "At most this many (default 100)"),
        list,
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditRow>,
}

/// An audit row is visible to whoever may see the object it describes; a global grant
/// covers every row.
fn row_visible(caller: &Caller, e: &AuditEntry) -> bool {
    caller.may(Role::Viewer, &e.scope)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditList>> {
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::bad_request("limit", "limit must be 1 to 1000"));
    }
    let mut before_id = p.before;
    let mut items = Vec::new();
    loop {
        let rows = state
            .store
            .audit_log(&AuditQuery {
                kind: p.kind.clone(),
                name: p.name.clone(),
                before_id,
                limit,
            })
            .await?;
        let full = rows.len() as u32 == limit;
        for e in rows {
            before_id = Some(e.id);
            if row_visible(&caller, &e) && (items.len() as u32) < limit {
                // Keys set in a spec are shown only to those who may manage the object.
                let hide = !super::objects::may_manage(&caller, &e.scope);
                let shown = |mut v: Option<serde_json::Value>| {
                    if hide && let Some(v) = v.as_mut().and_then(|v| v.get_mut("spec")) {
                        runtime::integrations::hide_keys(v, &mut serde_json::Value::Null);
                    }
                    v
                };
                items.push(AuditRow {
                    id: e.id,
                    at: e.at.to_string(),
                    actor: e.actor,
                    action: e.action,
                    kind: e.kind,
                    name: e.name,
                    before: shown(e.before),
                    after: shown(e.after),
                });
            }
        }
        if !full || items.len() as u32 >= limit {
            break;
        }
    }
    Ok(Json(AuditList { items }))
}
