//! The services list, a service's page and rotating its integration keys.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Kind, Role, Timestamp};
use store::WriteContext;

use super::pages::{labels_text, page, pages_nobody, scope, visible_object};
use super::{Session, error_page};
use crate::AppState;

pub async fn services(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let records = state
        .store
        .snapshot(&[Kind::Service])
        .await
        .unwrap_or_default();
    let rows: Vec<serde_json::Value> = records
        .iter()
        .filter(|r| session.caller.may(Role::Viewer, &scope(r, &[])))
        .map(|r| {
            serde_json::json!({
                "name": r.name, "labels": labels_text(r), "owner": r.spec["owner_team"],
                "tier": r.spec["tier"], "policy": r.spec["escalation_policy"], "managed_by": r.source,
            })
        })
        .collect();
    page(&session, "services.html", serde_json::json!({"rows": rows}))
}

pub async fn service(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let r = match visible_object(&state, &session, Kind::Service, "service", &name).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    // Keys are shown (masked until revealed) only to those who may manage the service.
    let manage = crate::api::objects::may_manage(&session.caller, &scope(&r, &[]));
    let integrations: Vec<serde_json::Value> = r.status["integrations"]
        .as_object()
        .map(|all| {
            all.iter()
                .map(|(name, i)| {
                    let key = if manage {
                        i["key"].clone()
                    } else {
                        serde_json::Value::Null
                    };
                    // The full URL to paste into the sender, key included, for those who
                    // may see the key; masked for the others.
                    let kind = i["type"].as_str().unwrap_or("");
                    let send_to = runtime::integrations::send_to(
                        &state.settings.public_url,
                        kind,
                        key.as_str(),
                    );
                    let masked =
                        runtime::integrations::send_to(&state.settings.public_url, kind, None);
                    let previous_until = match (manage, i["rotated_at"].as_str()) {
                        (true, Some(at)) if i["previous_key"].is_string() => at
                            .parse::<Timestamp>()
                            .ok()
                            .and_then(|at| {
                                at.checked_add(
                                    jiff::SignedDuration::try_from(
                                        state.settings.integration_key_overlap,
                                    )
                                    .ok()?,
                                )
                                .ok()
                            })
                            .filter(|until| *until > state.clock.now())
                            .map(|until| session.when(until)),
                        _ => None,
                    };
                    serde_json::json!({
                        "name": name, "type": i["type"], "key": key,
                        "url_parts": url_parts(&send_to.url), "routing_key": send_to.routing_key,
                        "masked_url_parts": url_parts(&masked.url),
                        "previous_until": previous_until,
                        "declared": declared_key(&r.spec, name),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let spec: Option<domain::ServiceSpec> = serde_json::from_value(r.spec.clone()).ok();
    let runbooks: Vec<serde_json::Value> = spec
        .as_ref()
        .map(|s| {
            s.runbooks
                .iter()
                .map(|l| serde_json::json!({"title": l.title, "url": l.url}))
                .collect()
        })
        .unwrap_or_default();
    let why = pages_nobody(&state, &[&r]).await.remove(&r.name);
    page(
        &session,
        "service.html",
        serde_json::json!({
            "pages_nobody": why,
            "name": r.name, "labels": labels_text(&r), "description": r.spec["description"],
            "owner": r.spec["owner_team"], "policy": r.spec["escalation_policy"], "tier": r.spec["tier"],
            "integrations": integrations, "runbooks": runbooks, "managed_by": r.source,
            "manage": manage, "csrf": session.csrf,
        }),
    )
}

/// A URL in pieces, each ending at a `/`: where a narrow screen may break the line.
fn url_parts(url: &str) -> Vec<&str> {
    url.split_inclusive('/').collect()
}

/// Whether the spec itself sets an integration's key (then only the spec changes it).
fn declared_key(spec: &serde_json::Value, integration: &str) -> bool {
    spec["integrations"].as_array().is_some_and(|all| {
        all.iter()
            .any(|i| i["name"].as_str() == Some(integration) && i.get("key").is_some())
    })
}

/// Rotates an integration's key from the service page: a new key at once, the old one
/// accepted until the overlap ends.
pub async fn rotate_key(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((name, integration)): Path<(String, String)>,
) -> Response {
    let r = match visible_object(&state, &session, Kind::Service, "service", &name).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let target = scope(&r, &[]);
    if !crate::api::objects::may_manage(&session.caller, &target) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Rotating a key needs the admin role over this service.",
        );
    }
    let draft = match runtime::integrations::rotate(&r, &integration, state.clock.now()) {
        Ok(d) => d,
        Err(e @ runtime::integrations::RotateError::NoSuchIntegration { .. }) => {
            return error_page(StatusCode::NOT_FOUND, &format!("{e}."));
        }
        Err(e) => return error_page(StatusCode::CONFLICT, &format!("{e}.")),
    };
    let ctx = WriteContext {
        actor: session.caller.actor(),
        at: state.clock.now(),
    };
    let change = store::Change::Update {
        draft,
        expected_version: Some(r.version),
        scope: target,
    };
    match state.commit_objects(vec![change], &ctx).await {
        Ok(_) => Redirect::to(&format!("/services/{}", r.name)).into_response(),
        Err(e @ store::StoreError::VersionConflict { .. }) => {
            error_page(StatusCode::CONFLICT, &e.to_string())
        }
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}
