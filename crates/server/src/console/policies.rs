//! The escalation policies list and a policy's page.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::Kind;

use super::pages::{Visible, labels_text, list, mention, page, visible_names, visible_object};
use super::{Session, error_page};
use crate::AppState;

pub async fn policy(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let r = match visible_object(
        &state,
        &session,
        Kind::EscalationPolicy,
        "escalation policy",
        &name,
    )
    .await
    {
        Ok(r) => r,
        Err(page) => return page,
    };
    let Ok(spec) =
        serde_json::from_value::<oncall::escalation::EscalationPolicySpec>(r.spec.clone())
    else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The policy does not parse.",
        );
    };
    let now = state.clock.now();
    let dir = match runtime::oncall::StoreDirectory::load_for(
        state.store.as_ref(),
        now,
        &spec.schedules(),
    )
    .await
    {
        Ok(d) => d,
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let seen = match Visible::load(&state, &session).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let target = |kind: &str, mut m: serde_json::Value| {
        m["kind"] = kind.into();
        m
    };
    let levels: Vec<serde_json::Value> = spec
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let targets: Vec<serde_json::Value> = l
                .targets
                .iter()
                .map(|t| match (&t.user, &t.schedule, &t.team) {
                    (Some(u), _, _) => target("user", mention(&seen.users, "users", u.as_str())),
                    (_, Some(s), _) => {
                        target("schedule", mention(&seen.schedules, "schedules", s.as_str()))
                    }
                    (_, _, Some(t)) => target("team", mention(&seen.teams, "teams", t.as_str())),
                    _ => serde_json::json!({"kind": "nobody"}),
                })
                .collect();
            let now_paged = oncall::escalation::resolve(l, now, 0, &dir);
            serde_json::json!({
                "number": i + 1, "targets": targets, "delay": l.delay_minutes,
                "round_robin": l.round_robin,
                "now": now_paged.people.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                "skipped": now_paged.skipped.join("; "),
            })
        })
        .collect();
    page(
        &session,
        "policy.html",
        serde_json::json!({
            "name": r.name, "team": mention(&seen.teams, "teams", spec.team.as_str()),
            "description": spec.description, "repeat": spec.repeat,
            "levels": levels, "managed_by": r.source
        }),
    )
}

pub async fn policies(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let (records, teams) = match (
        list(&state, &session, Kind::EscalationPolicy).await,
        visible_names(&state, &session, Kind::Team).await,
    ) {
        (Ok(r), Ok(t)) => (r, t),
        (Err(page), _) | (_, Err(page)) => return page,
    };
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let team = r.spec["team"].as_str().unwrap_or_default();
            serde_json::json!({
                "name": r.name, "description": r.spec["description"],
                "team": mention(&teams, "teams", team),
                "levels": r.spec["levels"].as_array().map_or(0, Vec::len),
                "labels": labels_text(r), "managed_by": r.source,
            })
        })
        .collect();
    page(&session, "policies.html", serde_json::json!({"rows": rows}))
}
