//! The schedules list, a schedule's calendar page and the overrides made from it.

use axum::Extension;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Kind, Role};
use serde::Deserialize;
use store::WriteContext;

use super::pages::{
    labels_text, list, mention, names_in, page, people, scope, visible_names, visible_object,
};
use super::{Session, error_page};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct CalendarParams {
    /// `week` (the default), `month` or `list`.
    #[serde(default)]
    view: Option<String>,
    /// A day in the period to show, `YYYY-MM-DD`; today by default.
    #[serde(default)]
    date: Option<String>,
    /// An IANA zone to show the calendar in instead of the viewer's own.
    #[serde(default)]
    tz: Option<String>,
}

/// The zone a page asks for (`tz`), or the viewer's own.
/// The zone a page was asked for, as a query suffix for its links (`&tz=…`), or nothing
/// when it shows the viewer's own.
fn tz_query(tz: Option<&str>) -> String {
    tz.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| format!("&tz={}", super::encode(t)))
        .unwrap_or_default()
}

fn zone_param(session: &Session, tz: Option<&str>) -> Result<jiff::tz::TimeZone, Box<Response>> {
    match tz.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(session.tz.clone()),
        Some(name) => jiff::tz::TimeZone::get(name).map_err(|_| {
            Box::new(error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("tz: there is no time zone named {name:?}; use an IANA name such as Europe/Berlin or America/New_York."),
            ))
        }),
    }
}

pub async fn schedule(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Query(q): Query<CalendarParams>,
) -> Response {
    let record = match visible_object(&state, &session, Kind::Schedule, "schedule", &name).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let tz = match zone_param(&session, q.tz.as_deref()) {
        Ok(tz) => tz,
        Err(page) => return *page,
    };
    let view = match q.view.as_deref().unwrap_or("week") {
        "week" => super::calendar::View::Week,
        "month" => super::calendar::View::Month,
        "list" => super::calendar::View::List,
        other => {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("view: {other:?} is not a view; use week, month or list."),
            );
        }
    };
    let now = state.clock.now();
    let today = now.to_zoned(tz.clone()).date();
    let anchor = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => today,
        Some(d) => match d.parse::<jiff::civil::Date>() {
            Ok(d) => d,
            Err(_) => {
                return error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("date: {d:?} is not a date; use YYYY-MM-DD."),
                );
            }
        },
    };
    let too_far = || {
        error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "date: too far from today to show.",
        )
    };
    // Overrides are loaded for exactly the period shown.
    let Some((from, to)) = super::calendar::span(view, anchor, &tz) else {
        return too_far();
    };
    let Ok(Some(c)) =
        runtime::oncall::schedule_with_overrides(state.store.as_ref(), &record, from, to).await
    else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The schedule does not compile.",
        );
    };
    let mut ctx = serde_json::json!({
        "name": record.name,
        "zone": tz.iana_name().unwrap_or("UTC"),
        "tz_query": tz_query(q.tz.as_deref()),
        "view": q.view.as_deref().unwrap_or("week"), "date": anchor.to_string(), "today": today.to_string(),
        "schedule_zone": c.time_zone().iana_name().unwrap_or("UTC"),
        "managed_by": record.source,
    });
    match super::calendar::build(&c, view, anchor, today, &tz) {
        Some(cal) => ctx["calendar"] = serde_json::to_value(cal).unwrap_or_default(),
        None => return too_far(),
    }
    let target = scope(&record, &[]);
    if session.caller.may(Role::Responder, &target) {
        ctx["may_override"] = true.into();
        ctx["people"] = people(&state, &session).await.into();
    }
    page(&session, "schedule.html", ctx)
}

#[derive(Debug, Deserialize)]
pub struct OverrideForm {
    user: String,
    /// `YYYY-MM-DDTHH:MM` (a datetime-local field), local to `tz`, or any time
    /// `domain::civil::parse_when` reads.
    start: String,
    hours: u32,
    /// The zone the form was shown in; the viewer's own when absent.
    #[serde(default)]
    tz: Option<String>,
}

pub async fn create_override(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<OverrideForm>,
) -> Response {
    let record = match visible_object(&state, &session, Kind::Schedule, "schedule", &name).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let target = scope(&record, &[]);
    if !session.caller.may(Role::Responder, &target) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Overrides need the responder role over this schedule.",
        );
    }
    let tz = match zone_param(&session, form.tz.as_deref()) {
        Ok(tz) => tz,
        Err(page) => return *page,
    };
    // A local time the clocks skip or repeat is refused, naming both instants it could be.
    let start = match domain::civil::parse_when(&form.start, state.clock.now(), &tz) {
        Ok(start) => start,
        Err(e) => return error_page(StatusCode::UNPROCESSABLE_ENTITY, &format!("From: {e}")),
    };
    // Only people this person may see can be chosen, like the form offers.
    let user = match crate::api::objects::Referents::new(&state, &session.caller)
        .find(Kind::User, form.user.trim())
        .await
    {
        Ok(found) => found.map(|u| u.name),
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let (Some(user), 1..=720) = (user, form.hours) else {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "An override needs a person, a start (YYYY-MM-DDTHH:MM) and 1 to 720 hours.",
        );
    };
    let day = start.to_zoned(tz.clone()).date();
    let end = start
        .checked_add(jiff::SignedDuration::from_hours(i64::from(form.hours)))
        .unwrap_or(start);
    let ctx = WriteContext {
        actor: session.caller.actor(),
        at: state.clock.now(),
    };
    let made = state
        .store
        .add_override(
            store::NewOverride {
                schedule: record.name.clone(),
                user,
                start,
                end,
                scope: target,
            },
            &ctx,
        )
        .await;
    let back = format!(
        "/schedules/{}?view=week&date={day}{}",
        record.name,
        tz_query(form.tz.as_deref())
    );
    match made {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// Everyone named in a schedule's layers, once each, in order.
pub(super) fn schedule_people(spec: &serde_json::Value) -> Vec<String> {
    let mut people: Vec<String> = Vec::new();
    for layer in spec["layers"].as_array().into_iter().flatten() {
        for u in names_in(&layer["users"]) {
            if !people.contains(&u) {
                people.push(u);
            }
        }
    }
    people
}

pub async fn schedules(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let (records, users) = match (
        list(&state, &session, Kind::Schedule).await,
        visible_names(&state, &session, Kind::User).await,
    ) {
        (Ok(r), Ok(u)) => (r, u),
        (Err(page), _) | (_, Err(page)) => return page,
    };
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let people: Vec<serde_json::Value> = schedule_people(&r.spec)
                .iter()
                .map(|u| mention(&users, "users", u))
                .collect();
            serde_json::json!({
                "name": r.name, "description": r.spec["description"], "time_zone": r.spec["time_zone"],
                "people": people, "labels": labels_text(r), "managed_by": r.source,
            })
        })
        .collect();
    page(
        &session,
        "schedules.html",
        serde_json::json!({"rows": rows}),
    )
}
