//! Incident analytics: counts, MTTA, MTTR and pages (out of hours or not) per service,
//! product, company or person over a range. The API and the console's reports page both
//! answer from [`report`].

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use domain::hours::BusinessHours;
use domain::{Kind, Name, Role, Timestamp};
use paging::analytics::{IncidentTimes, Summary, summarize};
use serde::{Deserialize, Serialize};
use store::{IncidentQuery, NotificationQuery};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Get,
        "/api/v1/analytics/incidents",
        Access::Role(Role::Viewer),
        Doc::new(
            "analytics",
            "Incident counts, MTTA, MTTR and pages over a range, per service, product, company or person",
        )
        .response("IncidentAnalytics")
        .query(
            "since",
            "Incidents created at or after this RFC 3339 time (default: 30 days ago)",
        )
        .query(
            "until",
            "Incidents created before this RFC 3339 time (default: now)",
        )
        .query("by", "service (default), product, company, person, or all"),
        incidents,
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AnalyticsRow {
    /// The service, product, company or person (`(none)` for services without that
    /// label).
    pub key: String,
    pub incidents: u64,
    pub acknowledged: u64,
    pub resolved: u64,
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
    /// Pages sent about the incidents (per person: to that person).
    pub pages: u64,
    /// Of those, the ones sent outside their service's business hours.
    pub pages_out_of_hours: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentAnalytics {
    pub since: String,
    pub until: String,
    pub by: String,
    pub rows: Vec<AnalyticsRow>,
    /// Every incident once, with all its pages (per person, an incident paged to two
    /// people is in both rows but once here).
    pub total: AnalyticsRow,
}

/// What the rows of a report are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Service,
    Product,
    Company,
    /// The people paged: an incident counts for each person a page about it was sent to,
    /// with the pages sent to them.
    Person,
    All,
}

impl By {
    pub const ALL: [By; 5] = [By::Service, By::Product, By::Company, By::Person, By::All];

    pub fn as_str(self) -> &'static str {
        match self {
            By::Service => "service",
            By::Product => "product",
            By::Company => "company",
            By::Person => "person",
            By::All => "all",
        }
    }

    /// Parses a grouping; the error says which ones exist.
    pub fn parse(s: &str) -> Result<By, String> {
        By::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                format!("unknown grouping {s:?}; use service, product, company, person or all")
            })
    }
}

fn row(key: String, s: Summary) -> AnalyticsRow {
    AnalyticsRow {
        key,
        incidents: s.incidents,
        acknowledged: s.acknowledged,
        resolved: s.resolved,
        mtta_seconds: s.mtta_seconds,
        mttr_seconds: s.mttr_seconds,
        pages: s.pages,
        pages_out_of_hours: s.pages_out_of_hours,
    }
}

fn time(field: &str, v: Option<&str>, default: Timestamp) -> ApiResult<Timestamp> {
    match v {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e| {
            ApiError::bad_request(field, format!("{field} must be an RFC 3339 time: {e}"))
        }),
    }
}

async fn incidents(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<Json<IncidentAnalytics>> {
    let now = state.clock.now();
    let until = time("until", p.until.as_deref(), now)?;
    let month_before = until
        .checked_sub(jiff::SignedDuration::from_hours(30 * 24))
        .map_err(|e| ApiError::bad_request("until", e.to_string()))?;
    let since = time("since", p.since.as_deref(), month_before)?;
    if since >= until {
        return Err(ApiError::bad_request("since", "since must be before until"));
    }
    let by = By::parse(p.by.as_deref().unwrap_or("service"))
        .map_err(|e| ApiError::bad_request("by", e))?;
    Ok(Json(report(&state, &caller, since, until, by).await?))
}

/// The figures for the incidents created in `[since, until)` of the services `caller` may
/// see, per `by`: what the API answers and the console's reports page shows.
pub async fn report(
    state: &AppState,
    caller: &Caller,
    since: Timestamp,
    until: Timestamp,
    by: By,
) -> ApiResult<IncidentAnalytics> {
    let label = match by {
        By::Product => Some(domain::PRODUCT_LABEL),
        By::Company => Some(domain::COMPANY_LABEL),
        _ => None,
    };
    // The services in scope, the key each one is counted under, and its business hours.
    let mut services: BTreeMap<Name, (String, Option<BusinessHours>)> = BTreeMap::new();
    for s in state.store.snapshot(&[Kind::Service]).await? {
        if caller.may(
            Role::Viewer,
            &runtime::apply::scope_of(s.kind, &s.name, &s.labels, &s.spec, &[]),
        ) {
            let key = match (by, label) {
                (By::All, _) => "all".to_owned(),
                (_, Some(l)) => s.labels.get(l).unwrap_or("(none)").to_owned(),
                _ => s.name.to_string(),
            };
            // Hours that do not parse contain nothing, as for urgency rules: pages are
            // then never out of hours.
            let hours = serde_json::from_value(s.spec["business_hours"].clone()).ok();
            services.insert(s.name, (key, hours));
        }
    }
    let mut groups: BTreeMap<String, Vec<IncidentTimes>> = BTreeMap::new();
    let mut all = Vec::new();
    let mut before_id = None;
    loop {
        let page = state
            .store
            .list_incidents(&IncidentQuery {
                services: Some(services.keys().cloned().collect()),
                since: Some(since),
                until: Some(until),
                before_id,
                limit: 1000,
                ..IncidentQuery::default()
            })
            .await?;
        let done = page.len() < 1000;
        before_id = page.last().map(|i| i.id);
        let mut pages = pages_sent(state, page.iter().map(|i| i.id).collect()).await?;
        for i in page {
            let (key, hours) = services
                .get(&i.service)
                .map(|(k, h)| (k.clone(), h.as_ref()))
                .unwrap_or_else(|| (i.service.to_string(), None));
            let times = IncidentTimes {
                created: i.created_at,
                acknowledged: i.acknowledged_at,
                resolved: i.resolved_at,
                ..IncidentTimes::default()
            };
            let mut whole = times;
            let mut per_person: BTreeMap<Name, IncidentTimes> = BTreeMap::new();
            for (user, at) in pages.remove(&i.id).unwrap_or_default() {
                whole.page(at, hours);
                per_person.entry(user).or_insert(times).page(at, hours);
            }
            if by == By::Person {
                for (user, t) in per_person {
                    groups.entry(user.to_string()).or_default().push(t);
                }
            } else {
                groups.entry(key).or_default().push(whole);
            }
            all.push(whole);
        }
        if done {
            break;
        }
    }
    let rows = groups
        .into_iter()
        .map(|(k, items)| row(k, summarize(&items)))
        .collect();
    Ok(IncidentAnalytics {
        since: since.to_string(),
        until: until.to_string(),
        by: by.as_str().to_owned(),
        rows,
        total: row("total".into(), summarize(&all)),
    })
}

/// The pages sent about each of `incidents`: to whom and when. Announcements on a
/// service's channels and notifications of other events are not pages.
async fn pages_sent(
    state: &AppState,
    incidents: Vec<i64>,
) -> ApiResult<BTreeMap<i64, Vec<(Name, Timestamp)>>> {
    let mut out: BTreeMap<i64, Vec<(Name, Timestamp)>> = BTreeMap::new();
    if incidents.is_empty() {
        return Ok(out);
    }
    let mut before_id = None;
    loop {
        let page = state
            .store
            .list_notifications(&NotificationQuery {
                incidents: Some(incidents.clone()),
                statuses: vec!["sent".into()],
                before_id,
                limit: 1000,
                ..NotificationQuery::default()
            })
            .await?;
        let done = page.len() < 1000;
        before_id = page.last().map(|n| n.id);
        for n in page {
            if n.event == "triggered" && n.contact != "announce" {
                let at = n.sent_at.unwrap_or(n.due_at);
                out.entry(n.incident_id).or_default().push((n.user, at));
            }
        }
        if done {
            return Ok(out);
        }
    }
}
