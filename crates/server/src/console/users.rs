//! The people list, a person's page, and the signed-in person's own page with its test
//! notification.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::Kind;

use super::pages::{list, names_in, page, visible_object};
use super::schedules::schedule_people;
use super::{Session, error_page};
use crate::AppState;

async fn my_page(
    state: &AppState,
    session: &Session,
    tested: Option<serde_json::Value>,
) -> Response {
    let Some(me) = session.caller.user().cloned() else {
        return error_page(
            StatusCode::NOT_FOUND,
            "This page is for people signed in as themselves.",
        );
    };
    let Ok(Some(record)) = state.store.get_object(Kind::User, &me).await else {
        return error_page(StatusCode::NOT_FOUND, "Your user no longer exists.");
    };
    let spec: domain::UserSpec = match serde_json::from_value(record.spec.clone()) {
        Ok(s) => s,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let now = state.clock.now();
    let to = now
        .checked_add(jiff::SignedDuration::from_hours(24 * 28))
        .unwrap_or(now);
    let mut shifts = Vec::new();
    for r in state
        .store
        .snapshot(&[Kind::Schedule])
        .await
        .unwrap_or_default()
    {
        if let Ok(Some(c)) =
            runtime::oncall::schedule_with_overrides(state.store.as_ref(), &r, now, to).await
        {
            for s in c.render(now, to).shifts.iter().filter(|s| s.user == me) {
                shifts.push(serde_json::json!({"schedule": r.name, "start": session.when(s.start), "end": session.when(s.end), "key": s.start}));
            }
        }
    }
    shifts.sort_by_key(|s| s["key"].as_str().unwrap_or("").to_owned());
    let methods: Vec<serde_json::Value> =
        domain::contact::methods(&spec.email, &spec.contact_methods)
            .iter()
            .map(|m| {
                serde_json::json!({"name": m.name, "type": m.kind.as_str(), "address": m.address,
                                     "works": state.channel(m.kind.as_str()).is_some()})
            })
            .collect();
    let rule = |urgency| {
        domain::contact::plan(
            &spec.email,
            &spec.contact_methods,
            spec.notification_rules.as_ref(),
            urgency,
        )
        .iter()
        .map(|(m, d)| format!("{} after {} min", m.name, d.as_secs() / 60))
        .collect::<Vec<_>>()
    };
    page(
        session,
        "me.html",
        serde_json::json!({
            "me": me, "full_name": spec.full_name, "time_zone": spec.time_zone, "shifts": shifts,
            "methods": methods, "high": rule(domain::Urgency::High), "low": rule(domain::Urgency::Low),
            "tested": tested
        }),
    )
}

pub async fn me(State(state): State<AppState>, Extension(session): Extension<Session>) -> Response {
    my_page(&state, &session, None).await
}

/// The "send me a test" button: through every contact method, with the answer of each.
pub async fn test_notification(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let Some(me) = session.caller.user().cloned() else {
        return error_page(
            StatusCode::NOT_FOUND,
            "This page is for people signed in as themselves.",
        );
    };
    let Ok(Some(record)) = state.store.get_object(Kind::User, &me).await else {
        return error_page(StatusCode::NOT_FOUND, "Your user no longer exists.");
    };
    let Ok(spec) = serde_json::from_value::<domain::UserSpec>(record.spec) else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Your user does not parse.",
        );
    };
    let results = crate::acting::send_tests(&state, &me, &spec)
        .await
        .into_iter()
        .map(|(m, ok, detail)| serde_json::json!({"name": m.name, "ok": ok, "detail": detail}))
        .collect();
    my_page(&state, &session, Some(serde_json::Value::Array(results))).await
}

pub async fn users(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let records = match list(&state, &session, Kind::User).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name, "full_name": r.spec["full_name"], "email": r.spec["email"],
                "time_zone": r.spec["time_zone"], "managed_by": r.source,
            })
        })
        .collect();
    page(&session, "users.html", serde_json::json!({"rows": rows}))
}

/// A person: who they are, how to reach them by email, and where they take part (teams,
/// schedules, escalation policies that page them by name), each linked.
pub async fn user(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let r = match visible_object(&state, &session, Kind::User, "user", &name).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let me = r.name.to_string();
    let (teams, schedules, policies) = match (
        list(&state, &session, Kind::Team).await,
        list(&state, &session, Kind::Schedule).await,
        list(&state, &session, Kind::EscalationPolicy).await,
    ) {
        (Ok(t), Ok(s), Ok(p)) => (t, s, p),
        (Err(page), _, _) | (_, Err(page), _) | (_, _, Err(page)) => return page,
    };
    let teams: Vec<String> = teams
        .iter()
        .filter(|t| names_in(&t.spec["members"]).contains(&me))
        .map(|t| t.name.to_string())
        .collect();
    let schedules: Vec<String> = schedules
        .iter()
        .filter(|s| schedule_people(&s.spec).contains(&me))
        .map(|s| s.name.to_string())
        .collect();
    let policies: Vec<String> = policies
        .iter()
        .filter(|p| {
            p.spec["levels"].as_array().into_iter().flatten().any(|l| {
                l["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["user"].as_str() == Some(me.as_str()))
            })
        })
        .map(|p| p.name.to_string())
        .collect();
    page(
        &session,
        "user.html",
        serde_json::json!({
            "name": r.name, "full_name": r.spec["full_name"], "email": r.spec["email"],
            "time_zone": r.spec["time_zone"], "teams": teams, "schedules": schedules,
            "policies": policies, "managed_by": r.source,
        }),
    )
}
