//! The console's pages and form actions.

use axum::Extension;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Kind, Name, Role, Timestamp};
use minijinja::context;
use paging::Status;
use serde::Deserialize;
use store::{IncidentAction, IncidentQuery, WriteContext};

use super::{Session, error_page, render};
use crate::AppState;
use crate::api::session::SignIn;
use crate::auth::{SESSION_COOKIE, hash_secret};
use crate::client::ClientIp;

/// Where to go after signing in: a plain path on this site, never elsewhere. Browsers
/// drop tabs and newlines from URLs and read `\\` as `/`, so `/\t/evil.example` and
/// `/\\evil.example` would lead off the site; any control character is refused too (a
/// newline could never be a `Location` header).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/incidents".into(),
    }
}

#[derive(Debug, Deserialize)]
pub struct NextParam {
    #[serde(default)]
    next: Option<String>,
}

/// The sign-in form's CSRF token lives in this cookie until the form is posted: a page
/// on another site cannot read it, so it cannot post the form with it (which would sign
/// the victim in as the attacker).
pub const LOGIN_CSRF_COOKIE: &str = "shinrai_login_csrf";

pub async fn login_page(headers: HeaderMap, Query(q): Query<NextParam>) -> Response {
    let token = crate::auth::cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| runtime::entropy::secret(""));
    let mut resp = render(
        "login.html",
        context! { next => safe_next(q.next.as_deref()), error => None::<String>, csrf => token.clone() },
    );
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let expected = crate::auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let again = |status: StatusCode, msg: &str| {
        let mut r = render(
            "login.html",
            context! { next => next.clone(), error => msg, csrf => expected.clone() },
        );
        *r.status_mut() = status;
        r
    };
    if !crate::auth::same_secret(&expected, &form.csrf) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This sign-in form is stale or did not come from this console (its CSRF token does not match). Open the sign-in page again.",
        );
    }
    match crate::api::session::start(&state, &form.email, form.password, client).await {
        Ok(SignIn::Opened(cookie, _csrf, _)) => {
            // `next` is a plain path, so it always makes a `Location`; the cookie is set
            // only on the redirect that carries it.
            let Ok(location) = HeaderValue::from_str(&next) else {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "The page to return to is not a path.",
                );
            };
            let mut resp = StatusCode::SEE_OTHER.into_response();
            resp.headers_mut().insert(header::LOCATION, location);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            let spent =
                format!("{LOGIN_CSRF_COOKIE}=; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0");
            if let Ok(v) = HeaderValue::from_str(&spent) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Ok(SignIn::Refused) => again(StatusCode::UNAUTHORIZED, "Wrong email or password."),
        Ok(SignIn::Throttled(retry_after)) => {
            let seconds = crate::error::retry_seconds(retry_after);
            let mut r = again(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many failed sign-ins for this account or from this address. Try again in {seconds} seconds."
                ),
            );
            r.headers_mut().insert(header::RETRY_AFTER, seconds.into());
            r
        }
        Err(e) => again(e.status(), &format!("shinrai cannot sign you in now: {e}")),
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(secret) = crate::auth::cookie(&headers, SESSION_COOKIE) {
        let _ = state.store.delete_session(&hash_secret(&secret)).await;
    }
    let mut resp = Redirect::to("/login").into_response();
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Whether the request comes from htmx refreshing part of a page.
pub(super) fn partial(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some()
}

/// Renders a page for the signed-in person: the layout's "signed in as" and sign-out
/// form come from the session.
pub(super) fn page(session: &Session, template: &str, mut ctx: serde_json::Value) -> Response {
    ctx["user"] = if session.name.trim().is_empty() {
        session.caller.actor()
    } else {
        session.name.clone()
    }
    .into();
    // Pages that need the admin role are linked only for those who hold it.
    ctx["admin"] = session.caller.require(Role::Admin).is_ok().into();
    ctx["csrf"] = session.csrf.clone().into();
    render(template, minijinja::Value::from_serialize(ctx))
}

/// Why nobody would be paged now for each of `services` that pages nobody (the others are
/// not in the map): a missing policy, or every level giving nobody reachable. One
/// directory is loaded for all of them, so a list page costs the same as one service.
pub(super) async fn pages_nobody(
    state: &AppState,
    services: &[&store::ObjectRecord],
) -> std::collections::HashMap<Name, String> {
    use oncall::escalation::EscalationPolicySpec;
    let mut out = std::collections::HashMap::new();
    let Ok(policies) = state.store.snapshot(&[Kind::EscalationPolicy]).await else {
        return out;
    };
    let mut chosen: Vec<(&Name, Option<EscalationPolicySpec>)> = Vec::new();
    for s in services {
        let Some(name) = s.spec["escalation_policy"].as_str() else {
            chosen.push((&s.name, None));
            continue;
        };
        match policies
            .iter()
            .find(|p| p.name.as_str() == name)
            .and_then(|p| serde_json::from_value::<EscalationPolicySpec>(p.spec.clone()).ok())
        {
            Some(spec) => chosen.push((&s.name, Some(spec))),
            None => {
                out.insert(
                    s.name.clone(),
                    format!("escalation policy {name} does not exist"),
                );
            }
        }
    }
    let mut schedules: Vec<Name> = Vec::new();
    for spec in chosen.iter().filter_map(|(_, p)| p.as_ref()) {
        for s in spec.schedules() {
            if !schedules.contains(&s) {
                schedules.push(s);
            }
        }
    }
    let now = state.clock.now();
    let Ok(dir) = runtime::oncall::StoreDirectory::load_for(&*state.store, now, &schedules).await
    else {
        return out;
    };
    for (name, spec) in chosen {
        if let Some(why) = oncall::escalation::pages_nobody(spec.as_ref(), now, &dir) {
            out.insert(name.clone(), why);
        }
    }
    out
}

async fn visible_incident(
    state: &AppState,
    session: &Session,
    id: &str,
    role: Role,
) -> Result<store::IncidentDetail, Response> {
    let Ok(id) = id.trim_start_matches('#').parse::<i64>() else {
        return Err(error_page(
            StatusCode::NOT_FOUND,
            &format!("There is no incident {id}."),
        ));
    };
    match crate::api::incidents::visible(state, &session.caller, id, role).await {
        Ok(d) => Ok(d),
        Err(crate::error::ApiError::Forbidden(m)) => Err(error_page(StatusCode::FORBIDDEN, &m)),
        Err(_) => Err(error_page(
            StatusCode::NOT_FOUND,
            &format!("There is no incident #{id}."),
        )),
    }
}

pub async fn incident(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let detail = match visible_incident(&state, &session, &id, Role::Viewer).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let i = &detail.incident;
    let notifications = state
        .store
        .list_notifications(&store::NotificationQuery {
            incident: Some(i.id),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    let users = match visible_names(&state, &session, Kind::User).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    // The live part, which the page asks for every few seconds: whether anyone will be
    // paged, the status line and the timeline.
    let mut linkable = std::collections::BTreeSet::new();
    for n in super::timeline::incidents_named(&detail.log) {
        if visible_incident(&state, &session, &n.to_string(), Role::Viewer)
            .await
            .is_ok()
        {
            linkable.insert(n);
        }
    }
    let now = state.clock.now();
    let visible = super::timeline::Visible {
        users: &users,
        services: &std::collections::BTreeSet::from([i.service.to_string()]),
        incidents: &linkable,
    };
    let mut ctx = serde_json::json!({
        "incident": {
            "id": i.id, "status": i.status.as_str(), "urgency": i.urgency.as_str(), "summary": i.summary,
            "service": i.service, "created": session.when(i.created_at),
            "acknowledged_by": i.acknowledged_by, "resolved_by": i.resolved_by,
            "assignees": i.assignees.iter().map(|a| mention(&users, "users", a.as_str())).collect::<Vec<_>>(),
            "snoozed_until": i.snoozed_until.map(|t| session.when(t)),
            "policy": i.escalation.as_ref().map(|e| e.policy.to_string()),
        },
        "timeline": super::timeline::view(&detail.log, &session, now, &visible),
        "notifications": notifications.iter().map(|n| serde_json::json!({
            "user": n.user, "channel": n.channel, "address": n.address, "status": n.status,
            "attempts": n.attempts, "error": n.last_error,
        })).collect::<Vec<_>>(),
        "here": format!("/incidents/{}", i.id),
    });
    let open = i.status != Status::Resolved;
    if open && notifications.is_empty() {
        // Nothing was queued: say whether anyone would be paged at all, and why not.
        let policy = i
            .escalation
            .as_ref()
            .and_then(|e| serde_json::from_value(e.spec.clone()).ok());
        let schedules = policy
            .as_ref()
            .map(oncall::escalation::EscalationPolicySpec::schedules)
            .unwrap_or_default();
        if let Ok(dir) =
            runtime::oncall::StoreDirectory::load_for(&*state.store, now, &schedules).await
        {
            ctx["pages_nobody"] =
                oncall::escalation::pages_nobody(policy.as_ref(), now, &dir).into();
        }
    }
    if partial(&headers) {
        return render("incident_live.html", minijinja::Value::from_serialize(ctx));
    }
    // The whole page: alerts, runbooks, and the action forms.
    let service = state
        .store
        .get_object(Kind::Service, &i.service)
        .await
        .ok()
        .flatten();
    let runbooks = service
        .as_ref()
        .and_then(|s| serde_json::from_value::<domain::ServiceSpec>(s.spec.clone()).ok())
        .map(|s| s.runbooks)
        .unwrap_or_default();
    let may_act = service
        .as_ref()
        .is_some_and(|s| session.caller.may(Role::Responder, &scope(s, &[])));
    if may_act && open {
        // What the forms offer: people to reassign to, incidents to merge in.
        let services =
            crate::api::incidents::services_in_scope(&state, &session.caller, Role::Responder)
                .await
                .unwrap_or_default();
        let others = state
            .store
            .list_incidents(&IncidentQuery {
                statuses: vec![Status::Triggered, Status::Acknowledged],
                services: Some(services),
                limit: 51,
                ..Default::default()
            })
            .await
            .unwrap_or_default();
        ctx["others"] = others
            .iter()
            .filter(|o| o.id != i.id)
            .take(50)
            .map(|o| serde_json::json!({"id": o.id, "summary": o.summary, "service": o.service, "status": o.status.as_str()}))
            .collect();
        ctx["people"] = people(&state, &session).await.into();
    }
    ctx["alerts"] = detail
        .alerts
        .iter()
        .map(|a| serde_json::json!({
            "dedup_key": a.dedup_key, "status": a.status.as_str(), "summary": a.body.summary,
            "severity": a.body.severity.as_str(), "occurrences": a.occurrences, "last_seen": session.when(a.last_seen),
            "body": super::alerts::view(&a.body, &state.settings.console_image_hosts),
        }))
        .collect();
    ctx["runbooks"] = runbooks
        .iter()
        .map(|r| serde_json::json!({"title": r.title, "url": r.url}))
        .collect();
    ctx["may_act"] = may_act.into();
    ctx["open"] = open.into();
    ctx["acknowledged"] = (i.status == Status::Acknowledged).into();
    page(&session, "incident.html", ctx)
}

/// Merges the incidents ticked on the form into `target`: their alerts move over and they
/// resolve. The person must be able to act on every one of them.
async fn merge(
    state: &AppState,
    session: &Session,
    target: i64,
    form: &ActForm,
    ctx: &WriteContext,
) -> Response {
    let mut sources = Vec::new();
    for n in form.all("incident") {
        let Ok(id) = n.trim().trim_start_matches('#').parse::<i64>() else {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("incident: {n:?} is not an incident number."),
            );
        };
        if let Err(page) = visible_incident(state, session, &id.to_string(), Role::Responder).await
        {
            return page;
        }
        if !sources.contains(&id) {
            sources.push(id);
        }
    }
    if sources.is_empty() || sources.len() > 100 {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "incident: choose 1 to 100 incidents to merge into this one.",
        );
    }
    match state.store.merge_incidents(target, sources, ctx).await {
        Ok(_) => Redirect::to(&format!("/incidents/{target}")).into_response(),
        Err(store::StoreError::Conflict(m)) => error_page(StatusCode::CONFLICT, &m),
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// An incident form's fields. Parsed by hand: the merge form repeats `incident`, which
/// axum's `Form` cannot hold.
struct ActForm {
    pairs: Vec<(String, String)>,
}

impl ActForm {
    fn parse(body: &[u8]) -> ActForm {
        ActForm {
            pairs: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The people the signed-in person may see, by name: the choices of person pickers.
async fn people(state: &AppState, session: &Session) -> Vec<String> {
    crate::api::objects::all_visible(state, &session.caller, Kind::User)
        .await
        .unwrap_or_default()
        .iter()
        .map(|u| u.name.to_string())
        .collect()
}

pub async fn act(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let form = ActForm::parse(&body);
    let detail = match visible_incident(&state, &session, &id, Role::Responder).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let incident = detail.incident.id;
    let now = state.clock.now();
    let ctx = WriteContext {
        actor: session.caller.actor(),
        at: now,
    };
    if action == "merge" {
        return merge(&state, &session, incident, &form, &ctx).await;
    }
    let what = match action.as_str() {
        "acknowledge" => IncidentAction::Acknowledge {
            timeout: crate::acting::ack_timeout(&state, &detail.incident.service).await,
        },
        "resolve" => IncidentAction::Resolve,
        "escalate" => IncidentAction::Escalate,
        "snooze" => {
            let minutes = form
                .get("minutes")
                .and_then(|m| m.parse::<u32>().ok())
                .unwrap_or(60)
                .clamp(1, 10_080);
            IncidentAction::Snooze {
                until: now
                    .checked_add(jiff::SignedDuration::from_mins(i64::from(minutes)))
                    .unwrap_or(now),
            }
        }
        "notes" => match form.get("text").map(str::trim) {
            Some(t) if !t.is_empty() && t.chars().count() <= domain::text::MAX_NOTE => {
                IncidentAction::Note(domain::text::clean_owned(t.to_owned(), usize::MAX))
            }
            _ => {
                return error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "A note needs 1 to 10,000 characters.",
                );
            }
        },
        "reassign" => {
            // Only people this person may see can be chosen, like the form offers.
            let to = form.get("to").unwrap_or_default().trim();
            let found = crate::api::objects::Referents::new(&state, &session.caller)
                .find(Kind::User, to)
                .await;
            match found {
                Ok(Some(u)) => IncidentAction::Reassign { to: vec![u.name] },
                Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
                Ok(None) => {
                    return error_page(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &format!("to: there is no person named {to:?} to assign it to."),
                    );
                }
            }
        }
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such action."),
    };
    match state.store.act_on_incident(incident, what, &ctx).await {
        Ok(_) => Redirect::to(&format!("/incidents/{incident}")).into_response(),
        Err(store::StoreError::Conflict(m)) => error_page(StatusCode::CONFLICT, &m),
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

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

/// An object the signed-in person may see, or the "not found" page (also for objects of
/// another company: they do not exist for them).
async fn visible_object(
    state: &AppState,
    session: &Session,
    kind: Kind,
    what: &str,
    name: &str,
) -> Result<store::ObjectRecord, Response> {
    crate::api::objects::find_visible(state, &session.caller, kind, name)
        .await
        .map(|(r, _)| r)
        .map_err(|_| {
            error_page(
                StatusCode::NOT_FOUND,
                &format!("There is no {what} {name}."),
            )
        })
}

fn scope(r: &store::ObjectRecord, teams: &[store::ObjectRecord]) -> domain::AccessTarget {
    runtime::apply::scope_of(r.kind, &r.name, &r.labels, &r.spec, teams)
}

fn labels_text(r: &store::ObjectRecord) -> String {
    r.labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

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

async fn token_page(
    state: &AppState,
    session: &Session,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Response {
    let actor = session.caller.actor();
    let tokens = state.store.list_tokens().await.unwrap_or_default();
    let rows: Vec<serde_json::Value> = tokens
        .iter()
        .filter(|t| {
            t.created_by == actor
                || t.grants
                    .iter()
                    .all(|g| session.caller.principal.may_delegate(g))
        })
        .map(|t| {
            serde_json::json!({
                "name": t.name,
                "grants": t.grants.iter().map(|g| {
                    let within = g.company.clone().map(|c| format!(" in {c}"))
                        .or_else(|| g.team.as_ref().map(|t| format!(" in team {t}")))
                        .unwrap_or_default();
                    format!("{}{within}", g.role)
                }).collect::<Vec<_>>().join(", "),
                "user": t.user.as_ref().map(ToString::to_string),
                "created": session.when(t.created_at), "created_by": t.created_by,
                "revoked": t.revoked_at.map(|t| session.when(t)), "expires": t.expires_at.map(|t| session.when(t)),
            })
        })
        .collect();
    page(
        session,
        "tokens.html",
        serde_json::json!({
            "rows": rows, "created": created.map(|(n, s)| serde_json::json!({"name": n, "secret": s})),
            "error": error
        }),
    )
}

pub async fn tokens(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    token_page(&state, &session, None, None).await
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    name: String,
    role: String,
    #[serde(default)]
    company: Option<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<TokenForm>,
) -> Response {
    let role = match form.role.as_str() {
        "viewer" => Role::Viewer,
        "responder" => Role::Responder,
        "admin" => Role::Admin,
        _ => {
            return token_page(
                &state,
                &session,
                None,
                Some("Pick a role: viewer, responder or admin.".into()),
            )
            .await;
        }
    };
    let input = crate::api::tokens::TokenInput {
        name: form.name.trim().to_owned(),
        role,
        company: form.company.filter(|c| !c.trim().is_empty()),
        team: None,
        user: None,
        expires_in_days: None,
    };
    let now = state.clock.now();
    let (token, secret) = match crate::api::tokens::new_token(&session.caller.principal, input, now)
    {
        Ok(x) => x,
        Err(e) => return token_page(&state, &session, None, Some(e.to_string())).await,
    };
    let name = token.name.clone();
    let ctx = WriteContext {
        actor: session.caller.actor(),
        at: now,
    };
    match state.store.create_token(token, &ctx).await {
        Ok(_) => token_page(&state, &session, Some((name, secret)), None).await,
        Err(e) => token_page(&state, &session, None, Some(e.to_string())).await,
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let actor = session.caller.actor();
    let tokens = state.store.list_tokens().await.unwrap_or_default();
    let Some(t) = tokens.into_iter().find(|t| t.name == name) else {
        return error_page(StatusCode::NOT_FOUND, &format!("There is no token {name}."));
    };
    if t.created_by != actor
        && !t
            .grants
            .iter()
            .all(|g| session.caller.principal.may_delegate(g))
    {
        return error_page(
            StatusCode::FORBIDDEN,
            &format!("{actor} cannot revoke token {name}."),
        );
    }
    let ctx = WriteContext {
        actor,
        at: state.clock.now(),
    };
    match state.store.revoke_token(&name, &ctx).await {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// The names of the objects of a kind the signed-in person may see.
async fn visible_names(
    state: &AppState,
    session: &Session,
    kind: Kind,
) -> Result<std::collections::BTreeSet<String>, Response> {
    list(state, session, kind)
        .await
        .map(|all| all.into_iter().map(|r| r.name.to_string()).collect())
}

/// The objects of a kind the signed-in person may see, by name.
async fn list(
    state: &AppState,
    session: &Session,
    kind: Kind,
) -> Result<Vec<store::ObjectRecord>, Response> {
    let mut all = crate::api::objects::all_visible(state, &session.caller, kind)
        .await
        .map_err(|e| error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

/// The people, schedules and teams the signed-in person may see: what a mention of one
/// links to.
struct Visible {
    users: std::collections::BTreeSet<String>,
    schedules: std::collections::BTreeSet<String>,
    teams: std::collections::BTreeSet<String>,
}

impl Visible {
    async fn load(state: &AppState, session: &Session) -> Result<Self, Response> {
        Ok(Self {
            users: visible_names(state, session, Kind::User).await?,
            schedules: visible_names(state, session, Kind::Schedule).await?,
            teams: visible_names(state, session, Kind::Team).await?,
        })
    }
}

/// A mention of an object for a template: its name, and the pages of its kind
/// (`users`) when the person may see it, so that it links to `/users/{name}`
/// (`templates/macros.html`'s `mention` shows either).
fn mention(
    visible: &std::collections::BTreeSet<String>,
    pages: &str,
    name: &str,
) -> serde_json::Value {
    let pages = visible.contains(name).then_some(pages);
    serde_json::json!({"name": name, "pages": pages})
}

/// The strings of a JSON array (a team's members, a layer's users).
fn names_in(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Everyone named in a schedule's layers, once each, in order.
fn schedule_people(spec: &serde_json::Value) -> Vec<String> {
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
