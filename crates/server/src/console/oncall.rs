//! Who is on call now: for every service the person may see, whom it pages now and after
//! the next handover.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::{Kind, Name, Timestamp};

use super::pages::{mention, page, visible_names};
use super::{Session, error_page};
use crate::AppState;

pub async fn oncall(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let now = state.clock.now();
    let horizon = now
        .checked_add(jiff::SignedDuration::from_hours(24 * 60))
        .unwrap_or(now);
    // One load answers every question on the page: schedules with their overrides up to
    // the horizon, teams and people.
    let dir =
        match runtime::oncall::StoreDirectory::load_between(state.store.as_ref(), now, horizon)
            .await
        {
            Ok(d) => d,
            Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        };
    let records =
        match crate::api::objects::all_visible(&state, &session.caller, Kind::Schedule).await {
            Ok(r) => r,
            Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        };
    let users = match visible_names(&state, &session, Kind::User).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    let person = |s: &Option<oncall::schedule::Shift>| {
        s.as_ref()
            .map(|s| mention(&users, "users", s.user.as_str()))
    };
    let mut rows = Vec::new();
    let mut handovers = std::collections::HashMap::new();
    for r in records {
        let Some(c) = dir.schedule(&r.name) else {
            continue;
        };
        let on = c.on_call_at(now);
        let next = c.next_after(now);
        if let Some(n) = &next {
            handovers.insert(r.name.clone(), n.start);
        }
        rows.push(serde_json::json!({
            "name": r.name, "user": person(&on), "until": on.as_ref().map(|s| session.when(s.end)),
            "next_user": person(&next), "next_start": next.as_ref().map(|s| session.when(s.start)),
        }));
    }
    let services = match services_on_call(&state, &session, now, &handovers, &dir).await {
        Ok(s) => s,
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    page(
        &session,
        "oncall.html",
        serde_json::json!({
            "rows": rows, "services": services, "now": session.when(now),
        }),
    )
}

/// For every service the person may see: whom its escalation policy's first level pages
/// now, and whom it pages after the next handover on that level's schedules.
async fn services_on_call(
    state: &AppState,
    session: &Session,
    now: Timestamp,
    handovers: &std::collections::HashMap<Name, Timestamp>,
    dir: &runtime::oncall::StoreDirectory,
) -> crate::error::ApiResult<Vec<serde_json::Value>> {
    use oncall::escalation::{EscalationPolicySpec, Level, resolve};
    let policies = state.store.snapshot(&[Kind::EscalationPolicy]).await?;
    let policies: std::collections::HashMap<&Name, EscalationPolicySpec> = policies
        .iter()
        .filter_map(|r| Some((&r.name, serde_json::from_value(r.spec.clone()).ok()?)))
        .collect();
    // Everyone a level could page, not the one a round-robin turn would pick.
    let whole = |l: &Level| Level {
        round_robin: false,
        ..l.clone()
    };
    let mut out = Vec::new();
    for r in crate::api::objects::all_visible(state, &session.caller, Kind::Service).await? {
        let policy = serde_json::from_value::<domain::ServiceSpec>(r.spec.clone())
            .ok()
            .and_then(|s| s.escalation_policy);
        let first = policy
            .as_ref()
            .and_then(|p| policies.get(p))
            .and_then(|p| p.levels.first())
            .map(whole);
        let (mut now_people, mut next_people, mut next_at) = (None, None, None);
        if let Some(level) = &first {
            now_people = Some(resolve(level, now, 0, dir).people);
            let handover = level
                .targets
                .iter()
                .filter_map(|t| t.schedule.as_ref().and_then(|s| handovers.get(s)))
                .min()
                .copied();
            if let Some(at) = handover {
                // A handover past the loaded range (a rare, long rotation) loads its own.
                let resolved = if dir.covers(at) {
                    resolve(level, at, 0, dir)
                } else {
                    let later =
                        runtime::oncall::StoreDirectory::load(state.store.as_ref(), at).await?;
                    resolve(level, at, 0, &later)
                };
                next_people = Some(resolved.people);
                next_at = Some(session.when(at));
            }
        }
        let names = |p: Option<Vec<Name>>| {
            p.map(|p| p.iter().map(Name::to_string).collect::<Vec<_>>().join(", "))
        };
        out.push(serde_json::json!({
            "name": r.name, "policy": policy.map(|p| p.to_string()),
            "now": names(now_people), "next": names(next_people), "next_at": next_at,
        }));
    }
    Ok(out)
}
