//! On-call: rendered shifts and gaps of a schedule, who is on call now or at an instant
//! (for a schedule, an escalation policy or a service), overrides, and iCalendar feeds per
//! schedule and per user.
//!
//! Longer than 600 lines because schedules, overrides, who is on call and the iCalendar
//! feeds share the rendering and scope helpers here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::{Kind, Name, Role, Timestamp};
use oncall::schedule::{Compiled, Rendered, Shift, ShiftSource};
use serde::{Deserialize, Serialize};
use store::{NewOverride, ObjectRecord, WriteContext};

use super::objects::{all_visible, find_visible};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::{Access, Doc, Method, Routes};

/// The longest range rendered at once.
const MAX_RANGE: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 366);

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Get,
        "/api/v1/schedules/{name}/shifts",
        Access::Role(Role::Viewer),
        Doc::new(
            "on-call",
            "A schedule's final shifts and gaps for a range (and each layer's, with layers=true)",
        )
        .response("ShiftsView")
        .query("from", "RFC 3339 start (default: now)")
        .query("to", "RFC 3339 end (default: 7 days after from; at most 366 days)")
        .query("layers", "true: also render each layer on its own"),
        shifts,
    )
    .add(
        Method::Get,
        "/api/v1/oncall",
        Access::Role(Role::Viewer),
        Doc::new(
            "on-call",
            "Who is on call now or at `at`: for every schedule, or for one schedule, escalation policy or service",
        )
        .response("OnCallView")
        .query("at", "RFC 3339 instant (default: now)")
        .query("schedule", "Only this schedule")
        .query("policy", "Who each level of this escalation policy would page")
        .query("service", "Who each level of this service's escalation policy would page"),
        who,
    )
    .add(
        Method::Get,
        "/api/v1/schedules/{name}/overrides",
        Access::Role(Role::Viewer),
        Doc::new("on-call", "Overrides made through the API that overlap a range")
            .response("OverrideList")
            .query("from", "RFC 3339 start (default: now)")
            .query("to", "RFC 3339 end (default: 30 days after from)"),
        list_overrides,
    )
    .add(
        Method::Post,
        "/api/v1/schedules/{name}/overrides",
        Access::Role(Role::Responder),
        Doc::new(
            "on-call",
            "Put someone on call instead of whoever the layers say, from start to end",
        )
        .request("OverrideInput")
        .response("OverrideView")
        .status(201),
        create_override,
    )
    .add(
        Method::Delete,
        "/api/v1/schedules/{name}/overrides/{id}",
        Access::Role(Role::Responder),
        Doc::new("on-call", "Remove an override").status(204),
        delete_override,
    )
    .add(
        Method::Get,
        "/api/v1/schedules/{name}/calendar.ics",
        Access::Role(Role::Viewer),
        Doc::new("on-call", "The schedule's shifts as an iCalendar feed (RFC 5545)")
            .query("from", "RFC 3339 start (default: 7 days ago)")
            .query("to", "RFC 3339 end (default: 90 days after from)"),
        schedule_feed,
    )
    .add(
        Method::Post,
        "/api/v1/users/{name}/test-notification",
        Access::Role(Role::Viewer),
        Doc::new(
            "on-call",
            "Send a test through every contact method of a person (themselves, or an admin over them) and say which work",
        )
        .response("TestNotificationView"),
        test_notification,
    )
    .add(
        Method::Get,
        "/api/v1/oncall/unreachable",
        Access::Role(Role::Viewer),
        Doc::new(
            "on-call",
            "People on schedules or escalation policies with no working contact method, and why",
        )
        .response("UnreachableList"),
        unreachable,
    )
    .add(
        Method::Get,
        "/api/v1/users/{name}/calendar.ics",
        Access::Role(Role::Viewer),
        Doc::new(
            "on-call",
            "A person's shifts on every schedule they may see, as an iCalendar feed",
        )
        .query("from", "RFC 3339 start (default: 7 days ago)")
        .query("to", "RFC 3339 end (default: 90 days after from)"),
        user_feed,
    )
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShiftView {
    pub user: String,
    pub start: String,
    pub end: String,
    /// The layer it comes from, or `override`.
    pub source: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GapView {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LayerView {
    pub name: String,
    /// The IANA time zone its handoffs and restrictions are read in: its own, or the
    /// schedule's.
    pub time_zone: String,
    pub shifts: Vec<ShiftView>,
    pub gaps: Vec<GapView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShiftsView {
    pub schedule: String,
    pub time_zone: String,
    pub from: String,
    pub to: String,
    /// The final schedule: layers and overrides combined, never overlapping.
    pub shifts: Vec<ShiftView>,
    /// Times in the range nobody is on call.
    pub gaps: Vec<GapView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<LayerView>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleOnCall {
    pub schedule: String,
    /// Who is on call, absent in a gap.
    pub user: Option<String>,
    /// Until when (the shift's end).
    pub until: Option<String>,
    /// Who comes next, and from when.
    pub next_user: Option<String>,
    pub next_start: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LevelOnCall {
    /// 1 for the first level.
    pub level: usize,
    pub people: Vec<String>,
    /// Targets that give nobody, and why.
    pub skipped: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OnCallView {
    pub at: String,
    /// One row per schedule asked about.
    pub schedules: Vec<ScheduleOnCall>,
    /// The escalation policy asked about (directly, or through its service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<LevelOnCall>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    /// Who is on call instead.
    pub user: String,
    /// RFC 3339 start.
    pub start: String,
    /// RFC 3339 end, after start.
    pub end: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverrideView {
    pub id: i64,
    pub schedule: String,
    pub user: String,
    pub start: String,
    pub end: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverrideList {
    pub items: Vec<OverrideView>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub layers: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoParams {
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
}

use super::incidents::time_param as instant;

fn shift_after(t: Timestamp, d: jiff::SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(t)
}

/// `[from, to)` from the parameters, with defaults, checked.
fn range(
    p: &RangeParams,
    now: Timestamp,
    default_from: jiff::SignedDuration,
    default_len: jiff::SignedDuration,
) -> ApiResult<(Timestamp, Timestamp)> {
    let from =
        instant("from", p.from.as_deref())?.unwrap_or_else(|| shift_after(now, default_from));
    let to = instant("to", p.to.as_deref())?.unwrap_or_else(|| shift_after(from, default_len));
    if to <= from {
        return Err(ApiError::bad_request("to", "`to` must be after `from`"));
    }
    if to.duration_since(from) > MAX_RANGE {
        return Err(ApiError::bad_request(
            "to",
            "a range covers at most 366 days",
        ));
    }
    Ok((from, to))
}

/// A schedule the caller may see (404 otherwise), with its spec.
async fn schedule(
    state: &AppState,
    caller: &Caller,
    name: &str,
    role: Role,
) -> ApiResult<(ObjectRecord, oncall::schedule::ScheduleSpec)> {
    let (record, target) = find_visible(state, caller, Kind::Schedule, name).await?;
    if !caller.may(role, &target) {
        return Err(ApiError::Forbidden(format!(
            "{} may see schedule {name} but not change it: that needs the {role} role over it",
            caller.actor()
        )));
    }
    let spec = serde_json::from_value(record.spec.clone())
        .map_err(|e| ApiError::Internal(format!("schedule {name} does not parse: {e}")))?;
    Ok((record, spec))
}

async fn compiled(
    state: &AppState,
    record: &ObjectRecord,
    from: Timestamp,
    to: Timestamp,
) -> ApiResult<Compiled> {
    runtime::oncall::schedule_with_overrides(state.store.as_ref(), record, from, to)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("schedule {} does not compile", record.name)))
}

fn source(s: &ShiftSource) -> String {
    match s {
        ShiftSource::Layer { name, .. } => name.clone(),
        ShiftSource::Override => "override".into(),
    }
}

fn shift_view(s: &Shift) -> ShiftView {
    ShiftView {
        user: s.user.to_string(),
        start: s.start.to_string(),
        end: s.end.to_string(),
        source: source(&s.source),
    }
}

fn gaps(r: &Rendered) -> Vec<GapView> {
    r.gaps
        .iter()
        .map(|(a, b)| GapView {
            start: a.to_string(),
            end: b.to_string(),
        })
        .collect()
}

async fn shifts(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> ApiResult<Json<ShiftsView>> {
    let (record, spec) = schedule(&state, &caller, &name, Role::Viewer).await?;
    let (from, to) = range(
        &p,
        state.clock.now(),
        jiff::SignedDuration::ZERO,
        jiff::SignedDuration::from_hours(7 * 24),
    )?;
    let c = compiled(&state, &record, from, to).await?;
    let rendered = c.render(from, to);
    let layers = p.layers.unwrap_or(false).then(|| {
        spec.layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let r = c.render_layer(i, from, to);
                LayerView {
                    name: l.name.clone(),
                    time_zone: l
                        .time_zone
                        .clone()
                        .unwrap_or_else(|| spec.time_zone.clone()),
                    shifts: r.shifts.iter().map(shift_view).collect(),
                    gaps: gaps(&r),
                }
            })
            .collect()
    });
    Ok(Json(ShiftsView {
        schedule: record.name.to_string(),
        time_zone: spec.time_zone.clone(),
        from: from.to_string(),
        to: to.to_string(),
        shifts: rendered.shifts.iter().map(shift_view).collect(),
        gaps: gaps(&rendered),
        layers,
    }))
}

fn on_call_row(name: &Name, c: &Compiled, at: Timestamp) -> ScheduleOnCall {
    let now = c.on_call_at(at);
    let next = c.next_after(at);
    ScheduleOnCall {
        schedule: name.to_string(),
        user: now.as_ref().map(|s| s.user.to_string()),
        until: now.as_ref().map(|s| s.end.to_string()),
        next_user: next.as_ref().map(|s| s.user.to_string()),
        next_start: next.as_ref().map(|s| s.start.to_string()),
    }
}

async fn who(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<WhoParams>,
) -> ApiResult<Json<OnCallView>> {
    let at = instant("at", p.at.as_deref())?.unwrap_or_else(|| state.clock.now());
    let asked = [
        p.schedule.is_some(),
        p.policy.is_some(),
        p.service.is_some(),
    ]
    .into_iter()
    .filter(|x| *x)
    .count();
    if asked > 1 {
        return Err(ApiError::bad_request(
            "schedule",
            "ask about one of schedule, policy or service",
        ));
    }
    let horizon = shift_after(at, jiff::SignedDuration::from_hours(24 * 60));
    let mut view = OnCallView {
        at: at.to_string(),
        schedules: Vec::new(),
        policy: None,
        levels: Vec::new(),
    };
    if let Some(name) = &p.schedule {
        let (record, _) = schedule(&state, &caller, name, Role::Viewer).await?;
        let c = compiled(&state, &record, at, horizon).await?;
        view.schedules.push(on_call_row(&record.name, &c, at));
        return Ok(Json(view));
    }
    let policy = match (&p.policy, &p.service) {
        (Some(policy), _) => Some(policy.clone()),
        (None, Some(service)) => {
            let (record, _) = find_visible(&state, &caller, Kind::Service, service).await?;
            let spec: domain::ServiceSpec = serde_json::from_value(record.spec)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            match spec.escalation_policy {
                Some(p) => Some(p.to_string()),
                None => {
                    return Err(ApiError::bad_request(
                        "service",
                        format!(
                            "service {service} has no escalation_policy: nobody is paged for it"
                        ),
                    ));
                }
            }
        }
        (None, None) => None,
    };
    if let Some(policy) = policy {
        let (record, _) = find_visible(&state, &caller, Kind::EscalationPolicy, &policy).await?;
        let spec: oncall::escalation::EscalationPolicySpec =
            serde_json::from_value(record.spec).map_err(|e| ApiError::Internal(e.to_string()))?;
        let dir =
            runtime::oncall::StoreDirectory::load_for(state.store.as_ref(), at, &spec.schedules())
                .await?;
        view.levels = spec
            .levels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let r = oncall::escalation::resolve(l, at, 0, &dir);
                LevelOnCall {
                    level: i + 1,
                    people: r.people.iter().map(ToString::to_string).collect(),
                    skipped: r.skipped,
                }
            })
            .collect();
        view.policy = Some(record.name.to_string());
        return Ok(Json(view));
    }
    // Every schedule the caller may see.
    for record in all_visible(&state, &caller, Kind::Schedule).await? {
        if let Some(c) =
            runtime::oncall::schedule_with_overrides(state.store.as_ref(), &record, at, horizon)
                .await?
        {
            view.schedules.push(on_call_row(&record.name, &c, at));
        }
    }
    Ok(Json(view))
}

fn override_view(o: store::OverrideRecord) -> OverrideView {
    OverrideView {
        id: o.id,
        schedule: o.schedule.to_string(),
        user: o.user.to_string(),
        start: o.start.to_string(),
        end: o.end.to_string(),
        created_by: o.created_by,
        created_at: o.created_at.to_string(),
    }
}

async fn list_overrides(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> ApiResult<Json<OverrideList>> {
    let (record, _) = schedule(&state, &caller, &name, Role::Viewer).await?;
    let (from, to) = range(
        &p,
        state.clock.now(),
        jiff::SignedDuration::ZERO,
        jiff::SignedDuration::from_hours(30 * 24),
    )?;
    let items = state.store.list_overrides(&record.name, from, to).await?;
    Ok(Json(OverrideList {
        items: items.into_iter().map(override_view).collect(),
    }))
}

async fn create_override(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(input): ApiJson<OverrideInput>,
) -> ApiResult<(axum::http::StatusCode, Json<OverrideView>)> {
    let (record, _) = schedule(&state, &caller, &name, Role::Responder).await?;
    let mut problems = Vec::new();
    let found = super::objects::Referents::new(&state, &caller)
        .find(Kind::User, &input.user)
        .await?;
    let user = match found {
        Some(u) => Some(u.name),
        None => {
            problems.push(FieldProblem::new(
                "user",
                format!("no user named {:?} exists", input.user),
            ));
            None
        }
    };
    let mut time = |field: &str, v: &str| match v.parse::<Timestamp>() {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(FieldProblem::new(
                field,
                format!("must be an RFC 3339 time: {e}"),
            ));
            None
        }
    };
    let (start, end) = (time("start", &input.start), time("end", &input.end));
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            problems.push(FieldProblem::new("end", "must be after start"));
        } else if e.duration_since(s) > MAX_RANGE {
            problems.push(FieldProblem::new(
                "end",
                "an override lasts at most 366 days",
            ));
        }
    }
    let (Some(user), Some(start), Some(end), true) = (user, start, end, problems.is_empty()) else {
        return Err(ApiError::validation(problems));
    };
    let scope =
        runtime::apply::scope_of(record.kind, &record.name, &record.labels, &record.spec, &[]);
    let ctx = WriteContext {
        actor: caller.actor(),
        at: state.clock.now(),
    };
    let made = state
        .store
        .add_override(
            NewOverride {
                schedule: record.name.clone(),
                user,
                start,
                end,
                scope,
            },
            &ctx,
        )
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(override_view(made))))
}

async fn delete_override(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<axum::http::StatusCode> {
    let (record, _) = schedule(&state, &caller, &name, Role::Responder).await?;
    let id: i64 = id.parse().map_err(|_| {
        ApiError::NotFound(format!("override {id} of schedule {name} does not exist"))
    })?;
    let scope =
        runtime::apply::scope_of(record.kind, &record.name, &record.labels, &record.spec, &[]);
    let ctx = WriteContext {
        actor: caller.actor(),
        at: state.clock.now(),
    };
    state
        .store
        .delete_override(&record.name, id, &scope, &ctx)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

fn ics(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    )
        .into_response()
}

fn event(schedule: &Name, s: &Shift) -> oncall::ical::Event {
    oncall::ical::Event {
        uid: format!(
            "{schedule}-{}-{}-{}@shinrai",
            s.user,
            oncall::ical::utc(s.start),
            source(&s.source)
        ),
        start: s.start,
        end: s.end,
        summary: format!("On call: {} ({schedule}, {})", s.user, source(&s.source)),
        description: Some(format!("{} on schedule {schedule}", source(&s.source))),
    }
}

fn feed_range(p: &RangeParams, now: Timestamp) -> ApiResult<(Timestamp, Timestamp)> {
    range(
        p,
        now,
        jiff::SignedDuration::from_hours(-7 * 24),
        jiff::SignedDuration::from_hours(90 * 24),
    )
}

async fn schedule_feed(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> ApiResult<Response> {
    let (record, _) = schedule(&state, &caller, &name, Role::Viewer).await?;
    let now = state.clock.now();
    let (from, to) = feed_range(&p, now)?;
    let (lo, hi) = oncall::ical::render_range(from, to);
    let c = compiled(&state, &record, lo, hi).await?;
    let events: Vec<_> = oncall::ical::shifts(&c, from, to)
        .iter()
        .map(|s| event(&record.name, s))
        .collect();
    Ok(ics(oncall::ical::calendar(
        &format!("On call: {}", record.name),
        &events,
        now,
    )))
}

async fn user_feed(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<RangeParams>,
) -> ApiResult<Response> {
    let (record, _) = find_visible(&state, &caller, Kind::User, &name).await?;
    let user = record.name;
    let now = state.clock.now();
    let (from, to) = feed_range(&p, now)?;
    let (lo, hi) = oncall::ical::render_range(from, to);
    let mut events = Vec::new();
    for record in all_visible(&state, &caller, Kind::Schedule).await? {
        if let Some(c) =
            runtime::oncall::schedule_with_overrides(state.store.as_ref(), &record, lo, hi).await?
        {
            events.extend(
                oncall::ical::shifts(&c, from, to)
                    .iter()
                    .filter(|s| s.user == user)
                    .map(|s| event(&record.name, s)),
            );
        }
    }
    events.sort_by_key(|e| e.start);
    Ok(ics(oncall::ical::calendar(
        &format!("On call: {user}"),
        &events,
        now,
    )))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub contact: String,
    pub channel: String,
    pub address: String,
    pub ok: bool,
    /// The provider's status and a classified reason (never the reply's body), or why it
    /// failed (a refusal by the egress policy names the address and the setting).
    pub detail: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestNotificationView {
    pub user: String,
    pub results: Vec<TestResult>,
}

async fn test_notification(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<TestNotificationView>> {
    let (record, target) = find_visible(&state, &caller, Kind::User, &name).await?;
    let user = record.name.clone();
    let myself = caller.user() == Some(&user);
    if !myself && !caller.may(Role::Admin, &target) {
        return Err(ApiError::Forbidden(format!(
            "only {user} or an admin over them may send them test notifications"
        )));
    }
    let spec: domain::UserSpec =
        serde_json::from_value(record.spec).map_err(|e| ApiError::Internal(e.to_string()))?;
    let results = crate::acting::send_tests(&state, &user, &spec)
        .await
        .into_iter()
        .map(|(method, ok, detail)| TestResult {
            contact: method.name.to_string(),
            channel: method.kind.as_str().to_owned(),
            address: method.address,
            ok,
            detail,
        })
        .collect();
    Ok(Json(TestNotificationView {
        user: user.to_string(),
        results,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Unreachable {
    pub user: String,
    /// The schedules and policies that would page them.
    pub on: Vec<String>,
    /// Why each of their contact methods does not work.
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnreachableList {
    pub items: Vec<Unreachable>,
}

async fn unreachable(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<UnreachableList>> {
    use std::collections::BTreeMap;
    let records = state
        .store
        .snapshot(&[Kind::Schedule, Kind::EscalationPolicy, Kind::User])
        .await?;
    let mut paged_by: BTreeMap<Name, Vec<String>> = BTreeMap::new();
    for r in &records {
        let target = runtime::apply::scope_of(r.kind, &r.name, &r.labels, &r.spec, &[]);
        if !caller.may(Role::Viewer, &target) {
            continue;
        }
        let people: Vec<Name> = match r.kind {
            Kind::Schedule => {
                serde_json::from_value::<oncall::schedule::ScheduleSpec>(r.spec.clone())
                    .map(|s| s.users())
                    .unwrap_or_default()
            }
            Kind::EscalationPolicy => {
                serde_json::from_value::<oncall::escalation::EscalationPolicySpec>(r.spec.clone())
                    .map(|p| {
                        p.levels
                            .iter()
                            .flat_map(|l| l.targets.iter().filter_map(|t| t.user.clone()))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            _ => continue,
        };
        for p in people {
            let on = paged_by.entry(p).or_default();
            let label = format!("{} {}", r.kind.as_str(), r.name);
            if !on.contains(&label) {
                on.push(label);
            }
        }
    }
    let mut items = Vec::new();
    for (user, on) in paged_by {
        let Some(spec) = records
            .iter()
            .find(|r| r.kind == Kind::User && r.name == user)
            .and_then(|r| serde_json::from_value::<domain::UserSpec>(r.spec.clone()).ok())
        else {
            continue;
        };
        let recent = state
            .store
            .list_notifications(&store::NotificationQuery {
                user: Some(user.clone()),
                limit: 200,
                ..Default::default()
            })
            .await?;
        let mut used = Vec::new();
        for urgency in [domain::Urgency::High, domain::Urgency::Low] {
            for (m, _) in domain::contact::plan(
                &spec.email,
                &spec.contact_methods,
                spec.notification_rules.as_ref(),
                urgency,
            ) {
                if !used.contains(&m) {
                    used.push(m);
                }
            }
        }
        let mut reasons = Vec::new();
        let mut works = false;
        for m in used {
            let label = format!("{} ({})", m.name, m.kind.as_str());
            if state.channel(m.kind.as_str()).is_none() {
                reasons.push(format!(
                    "{label}: no {} provider is configured",
                    m.kind.as_str()
                ));
                continue;
            }
            // Newest first: the last finished attempt to this method.
            match recent.iter().find(|n| {
                n.contact == m.name.as_str() && (n.status == "sent" || n.status == "dead")
            }) {
                Some(n) if n.status == "dead" => reasons.push(format!(
                    "{label}: the last notification was given up: {}",
                    n.last_error.as_deref().unwrap_or("no answer")
                )),
                _ => works = true,
            }
        }
        if !works {
            items.push(Unreachable {
                user: user.to_string(),
                on,
                reasons,
            });
        }
    }
    Ok(Json(UnreachableList { items }))
}
