//! The teams list and a team's page.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use domain::Kind;

use super::Session;
use super::pages::{labels_text, list, mention, names_in, page, visible_names, visible_object};
use crate::AppState;

pub async fn team(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let r = match visible_object(&state, &session, Kind::Team, "team", &name).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let n = r.name.clone();
    let services: Vec<String> = state
        .store
        .snapshot(&[Kind::Service])
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.spec["owner_team"].as_str() == Some(n.as_str()))
        .map(|s| s.name.to_string())
        .collect();
    let users = match visible_names(&state, &session, Kind::User).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    let members: Vec<serde_json::Value> = names_in(&r.spec["members"])
        .into_iter()
        .map(|m| mention(&users, "users", &m))
        .collect();
    page(
        &session,
        "team.html",
        serde_json::json!({
            "name": r.name, "display": r.spec["display_name"], "description": r.spec["description"],
            "members": members, "services": services, "labels": labels_text(&r), "managed_by": r.source
        }),
    )
}

pub async fn teams(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let (records, users) = match (
        list(&state, &session, Kind::Team).await,
        visible_names(&state, &session, Kind::User).await,
    ) {
        (Ok(r), Ok(u)) => (r, u),
        (Err(page), _) | (_, Err(page)) => return page,
    };
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let members: Vec<serde_json::Value> = names_in(&r.spec["members"])
                .iter()
                .map(|u| mention(&users, "users", u))
                .collect();
            serde_json::json!({
                "name": r.name, "display": r.spec["display_name"], "members": members,
                "labels": labels_text(r), "managed_by": r.source,
            })
        })
        .collect();
    page(&session, "teams.html", serde_json::json!({"rows": rows}))
}
