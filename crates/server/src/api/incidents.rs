//! Incidents: list, show with alerts and timeline, acknowledge, resolve, add notes.
//!
//! An incident is visible to whoever may see its service, and acted on by whoever holds
//! the responder role over it.
//!
//! Longer than 600 lines because the incident actions share the scope checks and the answer
//! shapes written here.

use axum::Json;
use axum::extract::{Path, State};
use domain::{Kind, Name, Role, Timestamp};
use paging::Status;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{
    AlertQuery, AlertRecord, IncidentAction, IncidentDetail, IncidentQuery, IncidentRecord,
    IncidentSort, WriteContext,
};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Get,
        "/api/v1/incidents",
        Access::Role(Role::Viewer),
        Doc::new(
            "incidents",
            "List incidents the caller may see, newest first",
        )
        .response("IncidentList")
        .query(
            "status",
            "Comma-separated: triggered, acknowledged, resolved (default: all)",
        )
        .query("service", "Only this service")
        .query("since", "Created at or after this RFC 3339 time")
        .query("until", "Created before this RFC 3339 time")
        .query(
            "q",
            "Search: every whitespace-separated term must match; `key=value` is a label or custom detail with exactly that value, other text is found in the summary, service, dedup keys or alerts' details (ASCII letters in either case)",
        )
        .query(
            "sort",
            "newest (default), oldest, urgency (high first), status (triggered first) or updated (most recently changed first)",
        )
        .query(
            "before",
            "Only incidents numbered below this (from `next_before`)",
        )
        .query("offset", "Skip this many matching incidents, in order")
        .query("limit", "At most this many (default 50, at most 500)"),
        list,
    )
    .add(
        Method::Post,
        "/api/v1/incidents",
        Access::Role(Role::Responder),
        Doc::new(
            "incidents",
            "Open an incident by hand: page a service's team now",
        )
        .request("NewIncident")
        .response("IncidentView")
        .status(201),
        open,
    )
    .add(
        Method::Get,
        "/api/v1/alerts",
        Access::Role(Role::Viewer),
        Doc::new("incidents", "List alerts the caller may see, newest first")
            .response("AlertList")
            .query(
                "status",
                "Comma-separated: triggered, acknowledged, resolved (default: all)",
            )
            .query("service", "Only this service")
            .query("dedup_key", "Only alerts with this dedup key")
            .query(
                "held",
                "true: only alerts held by a maintenance window or for flapping",
            )
            .query(
                "before",
                "Only alerts with ids below this (from `next_before`)",
            )
            .query("limit", "At most this many (default 50, at most 500)"),
        list_alerts,
    )
    .add(
        Method::Get,
        "/api/v1/notifications",
        Access::Role(Role::Viewer),
        Doc::new(
            "incidents",
            "Notifications sent, waiting or given up (dead letters), newest first",
        )
        .response("NotificationList")
        .query("status", "Comma-separated: pending, sent, dead, cancelled (default: all)")
        .query("incident", "Only about this incident")
        .query("limit", "At most this many (default 50, at most 500)"),
        list_notifications,
    )
    .add(
        Method::Get,
        "/api/v1/incidents/{id}",
        Access::Role(Role::Viewer),
        Doc::new("incidents", "An incident with its alerts and timeline")
            .response("IncidentDetailView"),
        show,
    )
    .add(
        Method::Post,
        "/api/v1/incidents/{id}/acknowledge",
        Access::Role(Role::Responder),
        Doc::new(
            "incidents",
            "Acknowledge: someone is on it (stops escalation)",
        )
        .response("IncidentView"),
        |s: State<AppState>, c: Caller, p: Path<String>| {
            act(s, c, p, IncidentAction::Acknowledge { timeout: None })
        },
    )
    .add(
        Method::Post,
        "/api/v1/incidents/{id}/resolve",
        Access::Role(Role::Responder),
        Doc::new("incidents", "Resolve the incident and its alerts").response("IncidentView"),
        |s: State<AppState>, c: Caller, p: Path<String>| act(s, c, p, IncidentAction::Resolve),
    )
    .add(
        Method::Post,
        "/api/v1/incidents/{id}/merge",
        Access::Role(Role::Responder),
        Doc::new(
            "incidents",
            "Merge other open incidents into this one: their alerts move here and they resolve",
        )
        .request("MergeInput")
        .response("IncidentView"),
        merge,
    )
    .add(
        Method::Post,
        "/api/v1/incidents/{id}/snooze",
        Access::Role(Role::Responder),
        Doc::new(
            "incidents",
            "Snooze an acknowledged incident: it pages again when the snooze ends",
        )
        .request("SnoozeInput")
        .response("IncidentView"),
        snooze,
    )
    .add(
        Method::Post,
        "/api/v1/incidents/{id}/escalate",
        Access::Role(Role::Responder),
        Doc::new(
            "incidents",
            "Escalate now: page again (an acknowledged incident goes back to triggered)",
        )
        .response("IncidentView"),
        |s: State<AppState>, c: Caller, p: Path<String>| act(s, c, p, IncidentAction::Escalate),
    )
    .add(
        Method::Post,
        "/api/v1/incidents/{id}/reassign",
        Access::Role(Role::Responder),
        Doc::new(
            "incidents",
            "Assign to other people; they are paged (an acknowledged incident goes back to triggered)",
        )
        .request("ReassignInput")
        .response("IncidentView"),
        reassign,
    )
    .add(
        Method::Post,
        "/api/v1/incidents/{id}/notes",
        Access::Role(Role::Responder),
        Doc::new("incidents", "Add a note to the timeline")
            .request("NoteInput")
            .response("IncidentView"),
        note,
    )
}

/// An incident as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    pub id: i64,
    /// Shown to people as #number.
    pub number: i64,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
    /// `high` or `low`.
    pub urgency: String,
    pub summary: String,
    pub service: String,
    pub dedup_keys: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    /// The people it is assigned to.
    pub assignees: Vec<String>,
    /// Until when an acknowledged incident is snoozed.
    pub snoozed_until: Option<String>,
}

impl From<IncidentRecord> for IncidentView {
    fn from(i: IncidentRecord) -> Self {
        let ts = |t: Option<Timestamp>| t.map(|t| t.to_string());
        IncidentView {
            id: i.id,
            number: i.id,
            status: i.status.as_str().to_owned(),
            urgency: i.urgency.as_str().to_owned(),
            summary: i.summary,
            service: i.service.to_string(),
            dedup_keys: i.dedup_keys,
            created_at: i.created_at.to_string(),
            updated_at: i.updated_at.to_string(),
            acknowledged_at: ts(i.acknowledged_at),
            acknowledged_by: i.acknowledged_by,
            resolved_at: ts(i.resolved_at),
            resolved_by: i.resolved_by,
            assignees: i.assignees,
            snoozed_until: ts(i.snoozed_until),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentList {
    pub items: Vec<IncidentView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    pub id: i64,
    /// The incident it belongs to (#number); absent while the alert is held.
    pub incident: Option<i64>,
    /// Why it opened no incident (`maintenance: db-upgrade`, `flapping: …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    pub service: String,
    pub dedup_key: String,
    pub status: String,
    pub integration: String,
    /// How many triggers arrived for it while it was open.
    pub occurrences: i64,
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_at: Option<String>,
    /// What the sender said: summary, source, severity, details, links, images.
    #[schema(value_type = Object)]
    pub body: Value,
}

impl From<AlertRecord> for AlertView {
    fn from(a: AlertRecord) -> Self {
        AlertView {
            id: a.id,
            incident: a.incident_id,
            held: a.held,
            service: a.service.to_string(),
            dedup_key: a.dedup_key,
            status: a.status.as_str().to_owned(),
            integration: a.integration.to_string(),
            occurrences: a.occurrences,
            first_seen: a.first_seen.to_string(),
            last_seen: a.last_seen.to_string(),
            resolved_at: a.resolved_at.map(|t| t.to_string()),
            body: serde_json::to_value(&a.body).unwrap_or(Value::Null),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertList {
    pub items: Vec<AlertView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at: String,
    pub kind: String,
    pub actor: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentDetailView {
    #[serde(flatten)]
    pub incident: IncidentView,
    pub alerts: Vec<AlertView>,
    pub timeline: Vec<TimelineEntry>,
    /// Changes to the service (deploys, config pushes) from an hour before the incident
    /// opened until it resolved.
    pub changes: Vec<ChangeView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    pub at: String,
    pub summary: String,
    pub integration: String,
    /// What the sender said: source, details, links.
    #[schema(value_type = Object)]
    pub body: Value,
}

/// How long before an incident a change still counts as nearby.
pub const CHANGES_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

impl From<IncidentDetail> for IncidentDetailView {
    fn from(d: IncidentDetail) -> Self {
        IncidentDetailView {
            incident: d.incident.into(),
            alerts: d.alerts.into_iter().map(AlertView::from).collect(),
            changes: Vec::new(),
            timeline: d
                .log
                .into_iter()
                .map(|l| TimelineEntry {
                    at: l.at.to_string(),
                    kind: l.kind,
                    actor: l.actor,
                    data: l.data,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// The service whose team is paged.
    pub service: String,
    /// What is wrong, for the person paged; 1 to 1024 characters.
    pub summary: String,
    /// `critical` (the default: a person asking for help is urgent), `error`, `warning`
    /// or `info`; sets the urgency as for alerts.
    #[serde(default)]
    pub severity: Option<String>,
    /// `high` or `low`: pages as urgently as this whatever the severity says.
    #[serde(default)]
    pub urgency: Option<String>,
    /// Anything else the responder should know.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub details: Option<Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The numbers of the incidents to merge into this one.
    pub incidents: Vec<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeInput {
    /// How long, in minutes (1 to 10080).
    pub minutes: u32,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignInput {
    /// The users to assign it to (1 to 20 names).
    pub to: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// What happened, what was tried; 1 to 10,000 characters.
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub dedup_key: Option<String>,
    #[serde(default)]
    pub held: Option<bool>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub offset: Option<u32>,
}

/// The services whose incidents the caller may see (or act on, with `Responder`).
pub(crate) async fn services_in_scope(
    state: &AppState,
    caller: &Caller,
    role: Role,
) -> ApiResult<Vec<Name>> {
    let services = state.store.snapshot(&[Kind::Service]).await?;
    Ok(services
        .into_iter()
        .filter(|s| {
            caller.may(
                role,
                &runtime::apply::scope_of(s.kind, &s.name, &s.labels, &s.spec, &[]),
            )
        })
        .map(|s| s.name)
        .collect())
}

/// An optional RFC 3339 query parameter, as a bad request naming `field` when it is not one.
pub(crate) fn time_param(field: &str, value: Option<&str>) -> ApiResult<Option<Timestamp>> {
    value
        .map(|v| {
            v.parse::<Timestamp>().map_err(|e| {
                ApiError::bad_request(
                    field,
                    format!("{field} must be an RFC 3339 time such as 2026-11-25T09:00:00Z: {e}"),
                )
            })
        })
        .transpose()
}

/// The `status` parameter: comma-separated statuses, all when empty.
fn statuses(param: Option<&str>) -> ApiResult<Vec<Status>> {
    param
        .into_iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "status",
                    format!("unknown status {s:?}; use triggered, acknowledged or resolved"),
                )
            })
        })
        .collect()
}

/// The services in scope, narrowed to one when the caller names it.
async fn services_param(
    state: &AppState,
    caller: &Caller,
    one: Option<&str>,
) -> ApiResult<Vec<Name>> {
    let mut services = services_in_scope(state, caller, Role::Viewer).await?;
    if let Some(one) = one {
        services.retain(|s| s.as_str() == one);
    }
    Ok(services)
}

async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<AlertList>> {
    if p.since.is_some() || p.until.is_some() {
        return Err(ApiError::bad_request(
            "since",
            "alerts are paged with `before`; `since` and `until` are for incidents",
        ));
    }
    for (field, given) in [
        ("q", p.q.is_some()),
        ("sort", p.sort.is_some()),
        ("offset", p.offset.is_some()),
    ] {
        if given {
            return Err(ApiError::bad_request(
                field,
                format!("`{field}` is for incidents (/api/v1/incidents), not alerts"),
            ));
        }
    }
    let limit = p.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(ApiError::bad_request("limit", "limit must be 1 to 500"));
    }
    let query = AlertQuery {
        statuses: statuses(p.status.as_deref())?,
        services: Some(services_param(&state, &caller, p.service.as_deref()).await?),
        dedup_key: match &p.dedup_key {
            Some(k) => {
                domain::text::check_key("dedup_key", k)
                    .map_err(|e| ApiError::bad_request("dedup_key", e.to_string()))?;
                Some(k.clone())
            }
            None => None,
        },
        held_only: p.held.unwrap_or(false),
        before_id: p.before,
        limit,
    };
    let items = state.store.list_alerts(&query).await?;
    let next_before = (items.len() as u32 == limit)
        .then(|| items.last().map(|a| a.id))
        .flatten();
    Ok(Json(AlertList {
        items: items.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<IncidentList>> {
    if p.dedup_key.is_some() || p.held.is_some() {
        let field = if p.held.is_some() {
            "held"
        } else {
            "dedup_key"
        };
        return Err(ApiError::bad_request(
            field,
            format!("`{field}` filters alerts (/api/v1/alerts), not incidents"),
        ));
    }
    let limit = p.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(ApiError::bad_request("limit", "limit must be 1 to 500"));
    }
    let sort = sort_param(p.sort.as_deref())?;
    if p.before.is_some() && sort != IncidentSort::Newest {
        return Err(ApiError::bad_request(
            "before",
            "`before` pages the newest-first list; with another `sort`, page with `offset`",
        ));
    }
    let query = IncidentQuery {
        statuses: statuses(p.status.as_deref())?,
        services: Some(services_param(&state, &caller, p.service.as_deref()).await?),
        search: search_param(p.q.as_deref())?,
        since: time_param("since", p.since.as_deref())?,
        until: time_param("until", p.until.as_deref())?,
        before_id: p.before,
        sort,
        offset: p.offset.unwrap_or(0),
        limit,
        ..IncidentQuery::default()
    };
    let items = state.store.list_incidents(&query).await?;
    let next_before = (items.len() as u32 == limit && sort == IncidentSort::Newest)
        .then(|| items.last().map(|i| i.id))
        .flatten();
    Ok(Json(IncidentList {
        items: items.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

/// The `sort` parameter: one of [`IncidentSort::ALL`], newest first when absent.
pub(crate) fn sort_param(param: Option<&str>) -> ApiResult<IncidentSort> {
    match param.map(str::trim) {
        None | Some("") => Ok(IncidentSort::Newest),
        Some(s) => IncidentSort::parse(s).ok_or_else(|| {
            let all: Vec<&str> = IncidentSort::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::bad_request(
                "sort",
                format!("unknown sort {s:?}; use one of {}", all.join(", ")),
            )
        }),
    }
}

/// The longest search text accepted, in characters.
pub(crate) const MAX_SEARCH: usize = 200;

/// The `q` parameter: search text, `None` when blank.
pub(crate) fn search_param(param: Option<&str>) -> ApiResult<Option<String>> {
    let Some(q) = param.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if q.chars().count() > MAX_SEARCH {
        return Err(ApiError::bad_request(
            "q",
            format!("search text must be at most {MAX_SEARCH} characters"),
        ));
    }
    if q.contains('\0') {
        return Err(ApiError::bad_request(
            "q",
            "search text must not contain NUL",
        ));
    }
    Ok(Some(q.to_owned()))
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.trim_start_matches('#').parse().map_err(|_| {
        ApiError::NotFound(format!(
            "incident {id} does not exist; incidents are numbered"
        ))
    })
}

/// The incident, if the caller may see it (404 otherwise, as if it did not exist).
pub(crate) async fn visible(
    state: &AppState,
    caller: &Caller,
    id: i64,
    role: Role,
) -> ApiResult<IncidentDetail> {
    let hidden = || ApiError::NotFound(format!("incident #{id} does not exist"));
    let detail = state.store.get_incident(id).await?.ok_or_else(hidden)?;
    let service = state
        .store
        .get_object(Kind::Service, &detail.incident.service)
        .await?;
    let target = service
        .map(|s| runtime::apply::scope_of(s.kind, &s.name, &s.labels, &s.spec, &[]))
        .unwrap_or_default();
    if !caller.may(Role::Viewer, &target) {
        return Err(hidden());
    }
    if !caller.may(role, &target) {
        return Err(ApiError::Forbidden(format!(
            "{} may see incident #{id} but not act on it: that needs the {role} role for service {}",
            caller.actor(),
            detail.incident.service
        )));
    }
    Ok(detail)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<IncidentDetailView>> {
    let id = parse_id(&id)?;
    let detail = visible(&state, &caller, id, Role::Viewer).await?;
    let from = detail
        .incident
        .created_at
        .checked_sub(CHANGES_BEFORE)
        .unwrap_or(detail.incident.created_at);
    let until = detail
        .incident
        .resolved_at
        .unwrap_or_else(|| state.clock.now());
    // Changes up to the moment it resolved, inclusive.
    let until = until
        .checked_add(jiff::SignedDuration::from_micros(1))
        .unwrap_or(until);
    let changes = state
        .store
        .changes_between(&detail.incident.service, from, until)
        .await?;
    let mut view = IncidentDetailView::from(detail);
    view.changes = changes
        .into_iter()
        .map(|c| ChangeView {
            at: c.at.to_string(),
            summary: c.summary,
            integration: c.integration.to_string(),
            body: c.body,
        })
        .collect();
    Ok(Json(view))
}

async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    action: IncidentAction,
) -> ApiResult<Json<IncidentView>> {
    let id = parse_id(&id)?;
    let detail = visible(&state, &caller, id, Role::Responder).await?;
    // An acknowledgement times out as the service says.
    let action = match action {
        IncidentAction::Acknowledge { timeout: None } => IncidentAction::Acknowledge {
            timeout: crate::acting::ack_timeout(&state, &detail.incident.service).await,
        },
        other => other,
    };
    let ctx = WriteContext {
        actor: caller.actor(),
        at: state.clock.now(),
    };
    Ok(Json(
        state.store.act_on_incident(id, action, &ctx).await?.into(),
    ))
}

async fn snooze(
    state: State<AppState>,
    caller: Caller,
    id: Path<String>,
    ApiJson(input): ApiJson<SnoozeInput>,
) -> ApiResult<Json<IncidentView>> {
    if !(1..=10_080).contains(&input.minutes) {
        return Err(ApiError::validation(vec![FieldProblem::new(
            "minutes",
            "must be 1 to 10080 (a week)",
        )]));
    }
    let now = state.clock.now();
    let until = now
        .checked_add(jiff::SignedDuration::from_mins(i64::from(input.minutes)))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    act(state, caller, id, IncidentAction::Snooze { until }).await
}

async fn reassign(
    state: State<AppState>,
    caller: Caller,
    id: Path<String>,
    ApiJson(input): ApiJson<ReassignInput>,
) -> ApiResult<Json<IncidentView>> {
    if input.to.is_empty() || input.to.len() > 20 {
        return Err(ApiError::validation(vec![FieldProblem::new(
            "to",
            "name 1 to 20 users",
        )]));
    }
    let mut problems = Vec::new();
    let mut users = Vec::new();
    let mut referents = super::objects::Referents::new(&state, &caller);
    for (i, u) in input.to.iter().enumerate() {
        let found = referents
            .find(Kind::User, u.as_str())
            .await?
            .map(|o| o.name);
        match found {
            Some(n) if !users.contains(&n) => users.push(n),
            Some(_) => problems.push(FieldProblem::new(
                format!("to[{i}]"),
                format!("{u} is named twice"),
            )),
            None => problems.push(FieldProblem::new(
                format!("to[{i}]"),
                format!("no user named {u:?} exists"),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    act(state, caller, id, IncidentAction::Reassign { to: users }).await
}

async fn open(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewIncident>,
) -> ApiResult<(axum::http::StatusCode, Json<IncidentView>)> {
    let incident = open_incident(&state, &caller, input).await?;
    Ok((axum::http::StatusCode::CREATED, Json(incident.into())))
}

/// Opens an incident by hand, as `caller`: the API's `POST /api/v1/incidents` and the
/// console's form both come here. Every bad field is named in one validation error.
pub(crate) async fn open_incident(
    state: &AppState,
    caller: &Caller,
    input: NewIncident,
) -> ApiResult<IncidentRecord> {
    let mut problems = Vec::new();
    // Free text is kept cleaned (a NUL becomes U+FFFD), as it is from every sender.
    let summary = domain::text::clean_owned(input.summary.trim().to_owned(), usize::MAX);
    if summary.is_empty() || summary.chars().count() > domain::text::MAX_SUMMARY {
        problems.push(FieldProblem::new("summary", "must be 1 to 1024 characters"));
    }
    let severity = match input.severity.as_deref() {
        None => Some(paging::Severity::Critical),
        Some(s) => s.parse::<paging::Severity>().ok().or_else(|| {
            problems.push(FieldProblem::new(
                "severity",
                format!("{s:?} is not one of critical, error, warning, info"),
            ));
            None
        }),
    };
    let urgency = match input.urgency.as_deref() {
        None => None,
        Some(u) => match paging::Urgency::parse(u) {
            Some(u) => Some(u),
            None => {
                problems.push(FieldProblem::new(
                    "urgency",
                    format!("{u:?} is not one of high, low"),
                ));
                None
            }
        },
    };
    let mut referents = super::objects::Referents::new(state, caller);
    let found = referents.find(Kind::Service, &input.service).await?;
    let target = found.as_ref().map(|s| referents.target(s));
    let service = found.map(|s| s.name);
    match &target {
        Some(t) => {
            if !caller.may(Role::Responder, t) {
                return Err(ApiError::Forbidden(format!(
                    "{} may not open incidents on service {}: that needs the responder role over it",
                    caller.actor(),
                    input.service
                )));
            }
        }
        _ => problems.push(FieldProblem::new(
            "service",
            format!("no service named {:?} exists", input.service),
        )),
    }
    let (Some(service), Some(severity), true) = (service, severity, problems.is_empty()) else {
        return Err(ApiError::validation(problems));
    };
    let now = state.clock.now();
    let mut event = store::IngestEvent {
        service,
        integration: Name::new("manual").map_err(|e| ApiError::Internal(e.to_string()))?,
        routing_key: String::new(),
        action: paging::Action::Trigger,
        dedup_key: format!("manual-{}", &runtime::entropy::secret("")[..16]),
        body: Some(paging::AlertBody {
            summary,
            source: caller.actor(),
            severity,
            timestamp: None,
            component: None,
            group: None,
            class: None,
            details: input.details.unwrap_or(Value::Null),
            links: Vec::new(),
            images: Vec::new(),
            client: None,
            client_url: None,
        }),
        group: None,
        group_window: None,
        retrigger_acknowledged: false,
        actor: Some(caller.actor()),
        urgency,
        received_at: now,
        handling: store::Handling::default(),
    };
    if let Some(body) = &mut event.body {
        body.clean();
    }
    let incident = match state.ingest.submit(event).await? {
        store::IngestOutcome::Opened { incident } => incident,
        other => {
            return Err(ApiError::Internal(format!(
                "a new manual alert did not open an incident: {other:?}"
            )));
        }
    };
    let detail = state
        .store
        .get_incident(incident)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("incident #{incident} vanished")))?;
    Ok(detail.incident)
}

async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MergeInput>,
) -> ApiResult<Json<IncidentView>> {
    let id = parse_id(&id)?;
    if input.incidents.is_empty() || input.incidents.len() > 100 {
        return Err(ApiError::validation(vec![FieldProblem::new(
            "incidents",
            "name 1 to 100 incidents to merge",
        )]));
    }
    // The caller acts on every incident involved.
    visible(&state, &caller, id, Role::Responder).await?;
    for other in &input.incidents {
        visible(&state, &caller, *other, Role::Responder).await?;
    }
    let ctx = WriteContext {
        actor: caller.actor(),
        at: state.clock.now(),
    };
    Ok(Json(
        state
            .store
            .merge_incidents(id, input.incidents, &ctx)
            .await?
            .into(),
    ))
}

async fn note(
    state: State<AppState>,
    caller: Caller,
    id: Path<String>,
    ApiJson(input): ApiJson<NoteInput>,
) -> ApiResult<Json<IncidentView>> {
    let text = domain::text::clean_owned(input.text.trim().to_owned(), usize::MAX);
    if text.is_empty() || text.chars().count() > domain::text::MAX_NOTE {
        return Err(ApiError::validation(vec![FieldProblem::new(
            "text",
            "must be 1 to 10,000 characters",
        )]));
    }
    act(state, caller, id, IncidentAction::Note(text)).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub incident: i64,
    pub user: String,
    /// `email`, `sms`, `voice`, `slack`, `push` or `webhook`.
    pub channel: String,
    pub contact: String,
    pub address: String,
    pub event: String,
    /// The same on every attempt: receivers deduplicate on it.
    pub delivery_id: String,
    /// `pending`, `sent`, `dead` (gave up) or `cancelled`.
    pub status: String,
    pub due_at: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationView>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationParams {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub incident: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<NotificationParams>,
) -> ApiResult<Json<NotificationList>> {
    let limit = p.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(ApiError::bad_request("limit", "limit must be 1 to 500"));
    }
    let statuses: Vec<String> = p
        .status
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if ["pending", "sent", "dead", "cancelled"].contains(&s) {
                Ok(s.to_owned())
            } else {
                Err(ApiError::bad_request(
                    "status",
                    format!("unknown status {s:?}; use pending, sent, dead or cancelled"),
                ))
            }
        })
        .collect::<ApiResult<_>>()?;
    if let Some(id) = p.incident {
        visible(&state, &caller, id, Role::Viewer).await?;
    }
    let items = state
        .store
        .list_notifications(&store::NotificationQuery {
            incident: p.incident,
            statuses,
            services: Some(services_in_scope(&state, &caller, Role::Viewer).await?),
            limit,
            ..Default::default()
        })
        .await?;
    Ok(Json(NotificationList {
        items: items
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                incident: n.incident_id,
                user: n.user.to_string(),
                channel: n.channel,
                contact: n.contact,
                address: n.address,
                event: n.event,
                delivery_id: n.delivery_id,
                status: n.status,
                due_at: n.due_at.to_string(),
                attempts: n.attempts,
                last_error: n.last_error,
                sent_at: n.sent_at.map(|t| t.to_string()),
            })
            .collect(),
    }))
}
