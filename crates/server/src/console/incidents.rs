//! The incidents list (filters, search, sorting, pages, the count of triggered incidents
//! in the title), acting on several incidents at once, and opening an incident by hand.
//!
//! Searching, sorting and counting happen in the store (`store::IncidentQuery`), so a
//! page shows the same incidents on SQLite and PostgreSQL; opening goes through the same
//! function as `POST /api/v1/incidents`.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Kind, Name, Role};
use paging::{Status, Urgency};
use serde::Deserialize;
use store::{IncidentAction, IncidentQuery, IncidentSort, WriteContext};

use super::pages::{page, pages_nobody, partial};
use super::signin::safe_next;
use super::{Session, error_page};
use crate::AppState;
use crate::error::ApiError;

/// How many incidents one page of the list shows.
pub const PAGE_SIZE: u32 = 50;

/// The most incidents one bulk action takes.
const BULK_LIMIT: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct IncidentFilter {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

impl IncidentFilter {
    /// The list's address with these filters on page `page` (the first when 1).
    fn link(&self, page: u64) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("urgency", &self.urgency),
            ("service", &self.service),
            ("company", &self.company),
            ("product", &self.product),
            ("q", &self.q),
            ("sort", &self.sort),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                q.append_pair(k, v);
            }
        }
        if page > 1 {
            q.append_pair("page", &page.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            "/incidents".into()
        } else {
            format!("/incidents?{q}")
        }
    }
}

/// A filter the list cannot apply: 400, naming the parameter.
fn bad_filter(field: &str, message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, &format!("{field}: {message}"))
}

/// The statuses a `status` filter asks for (`open`, the default, is triggered and
/// acknowledged; `all` is every status).
fn statuses(status: Option<&str>) -> Result<Vec<Status>, String> {
    match status {
        None | Some("") | Some("open") => Ok(vec![Status::Triggered, Status::Acknowledged]),
        Some("all") => Ok(Vec::new()),
        Some(s) => Status::parse(s).map(|s| vec![s]).ok_or_else(|| {
            format!("{s:?} is not one of open, triggered, acknowledged, resolved, all.")
        }),
    }
}

/// The services the person may see (`Viewer`) or act on (`Responder`).
fn services_for<'a>(
    session: &Session,
    services: &'a [store::ObjectRecord],
    role: Role,
) -> Vec<&'a store::ObjectRecord> {
    services
        .iter()
        .filter(|s| {
            session.caller.may(
                role,
                &runtime::apply::scope_of(s.kind, &s.name, &s.labels, &s.spec, &[]),
            )
        })
        .collect()
}

/// How many triggered incidents the person may see, for the title: `(3) Incidents`.
async fn triggered_count(state: &AppState, visible: &[&store::ObjectRecord]) -> u64 {
    state
        .store
        .count_incidents(&IncidentQuery {
            statuses: vec![Status::Triggered],
            services: Some(visible.iter().map(|s| s.name.clone()).collect()),
            ..IncidentQuery::default()
        })
        .await
        .unwrap_or(0)
}

/// The page title: the count of triggered incidents first, so a pinned tab shows it.
fn title(triggered: u64) -> String {
    if triggered > 0 {
        format!("({triggered}) Incidents")
    } else {
        "Incidents".into()
    }
}

pub async fn incidents(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Query(f): Query<IncidentFilter>,
) -> Response {
    let services = match state.store.snapshot(&[Kind::Service]).await {
        Ok(s) => s,
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let label = |s: &store::ObjectRecord, k: &str| s.labels.get(k).unwrap_or("").to_owned();
    let visible = services_for(&session, &services, Role::Viewer);
    let chosen: Vec<Name> = visible
        .iter()
        .filter(|s| {
            f.service
                .as_deref()
                .is_none_or(|x| x.is_empty() || s.name.as_str() == x)
        })
        .filter(|s| {
            f.company
                .as_deref()
                .is_none_or(|x| x.is_empty() || label(s, "company") == x)
        })
        .filter(|s| {
            f.product
                .as_deref()
                .is_none_or(|x| x.is_empty() || label(s, "product") == x)
        })
        .map(|s| s.name.clone())
        .collect();
    let statuses = match statuses(f.status.as_deref()) {
        Ok(s) => s,
        Err(m) => return bad_filter("status", &m),
    };
    let urgencies: Vec<Urgency> = match f.urgency.as_deref() {
        None | Some("") => Vec::new(),
        Some(u) => match Urgency::parse(u) {
            Some(u) => vec![u],
            None => return bad_filter("urgency", &format!("{u:?} is not one of high, low.")),
        },
    };
    let sort = match crate::api::incidents::sort_param(f.sort.as_deref()) {
        Ok(s) => s,
        Err(e) => return bad_filter("sort", &e.to_string()),
    };
    let search = match crate::api::incidents::search_param(f.q.as_deref()) {
        Ok(s) => s,
        Err(e) => return bad_filter("q", &e.to_string()),
    };
    let page_no: u64 = match f.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => match p.parse::<u64>() {
            Ok(n) if (1..=100_000).contains(&n) => n,
            _ => return bad_filter("page", &format!("{p:?} is not a page number from 1.")),
        },
    };
    let query = IncidentQuery {
        statuses,
        urgencies,
        services: Some(chosen),
        search,
        sort,
        offset: u32::try_from((page_no - 1) * u64::from(PAGE_SIZE)).unwrap_or(u32::MAX),
        limit: PAGE_SIZE,
        ..IncidentQuery::default()
    };
    let (list, total) = match tokio::try_join!(
        state.store.list_incidents(&query),
        state.store.count_incidents(&query)
    ) {
        Ok(found) => found,
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let triggered = triggered_count(&state, &visible).await;
    let listed: Vec<&store::ObjectRecord> = visible
        .iter()
        .copied()
        .filter(|s| list.iter().any(|i| i.service == s.name))
        .collect();
    let silent = pages_nobody(&state, &listed).await;
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|i| {
            serde_json::json!({
                "id": i.id, "status": i.status.as_str(), "urgency": i.urgency.as_str(),
                "summary": i.summary, "service": i.service, "created": session.when(i.created_at),
                "assignees": i.assignees.join(", "),
                "pages_nobody": silent.get(&i.service),
            })
        })
        .collect();
    let mut companies: Vec<String> = visible
        .iter()
        .map(|s| label(s, "company"))
        .filter(|c| !c.is_empty())
        .collect();
    companies.sort();
    companies.dedup();
    let mut products: Vec<String> = visible
        .iter()
        .map(|s| label(s, "product"))
        .filter(|c| !c.is_empty())
        .collect();
    products.sort();
    products.dedup();
    let service_names: Vec<String> = visible.iter().map(|s| s.name.to_string()).collect();
    let mut silent: Vec<(&Name, &String)> = silent.iter().collect();
    silent.sort();
    let silent_list: Vec<serde_json::Value> = silent
        .into_iter()
        .map(|(s, why)| serde_json::json!({"service": s, "why": why}))
        .collect();
    let first = (page_no - 1) * u64::from(PAGE_SIZE);
    let shown = list.len() as u64;
    // Pages go toward older incidents in the default order, so the links say so.
    let (back_word, on_word) = if sort == IncidentSort::Newest {
        ("Newer", "Older")
    } else {
        ("Previous", "Next")
    };
    let template = if partial(&headers) {
        "incidents_table.html"
    } else {
        "incidents.html"
    };
    page(
        &session,
        template,
        serde_json::json!({
            "title": title(triggered),
            "partial": partial(&headers),
            "triggered": triggered,
            "here": f.link(page_no),
            "rows": rows, "services": service_names, "companies": companies, "products": products,
            "pages_nobody": silent_list,
            "responder": session.caller.require(Role::Responder).is_ok(),
            "sorts": IncidentSort::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "f_status": f.status.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "open".into()),
            "f_service": f.service.clone().unwrap_or_default(),
            "f_urgency": f.urgency.clone().unwrap_or_default(),
            "f_company": f.company.clone().unwrap_or_default(),
            "f_product": f.product.clone().unwrap_or_default(),
            "f_q": f.q.clone().unwrap_or_default(),
            "f_sort": sort.as_str(),
            "range": {
                "from": if shown == 0 { 0 } else { first + 1 },
                "to": first + shown,
                "total": total,
            },
            "back": (page_no > 1).then(|| serde_json::json!({"href": f.link(page_no - 1), "text": back_word})),
            "on": (first + shown < total).then(|| serde_json::json!({"href": f.link(page_no + 1), "text": on_word})),
        }),
    )
}

/// What one incident of a bulk action came to.
#[derive(Debug, serde::Serialize)]
struct Outcome {
    id: String,
    why: String,
}

/// Acknowledges or resolves the chosen incidents, each as if alone: the person needs the
/// responder role over each one's service, and one refused does not stop the others.
pub async fn bulk(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    body: axum::body::Bytes,
) -> Response {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let back = safe_next(get("back").filter(|b| b.starts_with("/incidents")));
    let (verb, done) = match get("action") {
        Some("acknowledge") => ("acknowledge", "Acknowledged"),
        Some("resolve") => ("resolve", "Resolved"),
        other => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &format!(
                    "action: {:?} is not one of acknowledge, resolve.",
                    other.unwrap_or("")
                ),
            );
        }
    };
    let mut chosen: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "incident")
        .map(|(_, v)| v.as_str())
        .collect();
    chosen.dedup();
    if chosen.is_empty() {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "incident: choose at least one incident (tick its box) to act on.",
        );
    }
    if chosen.len() > BULK_LIMIT {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("incident: at most {BULK_LIMIT} incidents at once."),
        );
    }
    let mut acted: Vec<i64> = Vec::new();
    let mut refused: Vec<Outcome> = Vec::new();
    for given in chosen {
        let refuse = |why: String| Outcome {
            id: given.to_owned(),
            why,
        };
        let Ok(id) = given.trim_start_matches('#').parse::<i64>() else {
            refused.push(refuse("there is no such incident".into()));
            continue;
        };
        let detail = match crate::api::incidents::visible(
            &state,
            &session.caller,
            id,
            Role::Responder,
        )
        .await
        {
            Ok(d) => d,
            Err(ApiError::Forbidden(m)) => {
                refused.push(refuse(m));
                continue;
            }
            Err(ApiError::NotFound(_)) => {
                refused.push(refuse("there is no such incident".into()));
                continue;
            }
            Err(e) => {
                refused.push(refuse(e.to_string()));
                continue;
            }
        };
        let what = if verb == "acknowledge" {
            IncidentAction::Acknowledge {
                timeout: crate::acting::ack_timeout(&state, &detail.incident.service).await,
            }
        } else {
            IncidentAction::Resolve
        };
        let ctx = WriteContext {
            actor: session.caller.actor(),
            at: state.clock.now(),
        };
        match state.store.act_on_incident(id, what, &ctx).await {
            Ok(_) => acted.push(id),
            Err(e) => refused.push(refuse(e.to_string())),
        }
    }
    let heading = format!(
        "{done} {} incident{}",
        acted.len(),
        if acted.len() == 1 { "" } else { "s" }
    );
    page(
        &session,
        "incidents_bulk.html",
        serde_json::json!({
            "heading": heading,
            "acted": acted,
            "refused": refused,
            "back": back,
        }),
    )
}

/// What the open-incident form shows: the services the person may open incidents on, and
/// what was typed with its problems when it comes back.
fn open_form(
    session: &Session,
    services: &[store::ObjectRecord],
    given: &OpenForm,
    errors: &[crate::error::FieldProblem],
) -> Response {
    let choices: Vec<String> = services_for(session, services, Role::Responder)
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    let error = |field: &str| {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    };
    let urgency = if given.urgency.is_empty() {
        "high"
    } else {
        given.urgency.as_str()
    };
    page(
        session,
        "incident_new.html",
        serde_json::json!({
            "services": choices,
            "f": {
                "service": given.service,
                "summary": given.summary,
                "urgency": urgency,
                "details": given.details,
            },
            "errors": {
                "service": error("service"),
                "summary": error("summary"),
                "urgency": error("urgency"),
                "details": error("details"),
            },
            "invalid": !errors.is_empty(),
        }),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    service: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    details: String,
}

pub async fn new_incident(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(given): Query<OpenForm>,
) -> Response {
    match state.store.snapshot(&[Kind::Service]).await {
        Ok(services) => open_form(&session, &services, &given, &[]),
        Err(e) => error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// The free text a person types as details, kept as the alert's custom details (a string,
/// shown as `details` on the incident page); nothing when blank.
fn details_value(text: &str) -> Option<serde_json::Value> {
    let text = text.trim();
    (!text.is_empty()).then(|| serde_json::Value::String(text.to_owned()))
}

pub async fn open(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    axum::Form(given): axum::Form<OpenForm>,
) -> Response {
    let services = match state.store.snapshot(&[Kind::Service]).await {
        Ok(s) => s,
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let again = |status: StatusCode, errors: Vec<crate::error::FieldProblem>| {
        let mut r = open_form(&session, &services, &given, &errors);
        *r.status_mut() = status;
        r
    };
    if given.details.chars().count() > domain::text::MAX_DETAIL {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![crate::error::FieldProblem::new(
                "details",
                format!("must be at most {} characters", domain::text::MAX_DETAIL),
            )],
        );
    }
    let input = crate::api::incidents::NewIncident {
        service: given.service.trim().to_owned(),
        summary: given.summary.clone(),
        severity: None,
        urgency: Some(given.urgency.trim().to_owned()),
        details: details_value(&given.details),
    };
    match crate::api::incidents::open_incident(&state, &session.caller, input).await {
        Ok(incident) => Redirect::to(&format!("/incidents/{}", incident.id)).into_response(),
        Err(ApiError::Validation { errors, .. }) => again(StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(ApiError::Forbidden(m)) => again(
            StatusCode::FORBIDDEN,
            vec![crate::error::FieldProblem::new("service", m)],
        ),
        Err(e) => error_page(e.status(), &e.to_string()),
    }
}
