//! One incident's page and the actions on it (acknowledge, resolve, snooze, escalate,
//! reassign, merge, notes).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Kind, Role};
use paging::Status;
use store::{IncidentAction, IncidentQuery, WriteContext};

use super::pages::{mention, page, partial, people, scope, visible_names};
use super::{Session, error_page, render};
use crate::AppState;

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
