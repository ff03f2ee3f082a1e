//! Incident analytics: counts, MTTA and MTTR per service, product or company over a range.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use domain::{Kind, Name, Role, Timestamp};
use paging::analytics::{IncidentTimes, Summary, summarize};
use serde::{Deserialize, Serialize};
use store::IncidentQuery;

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
            "Incident counts, MTTA and MTTR over a range, per service, product or company",
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
        .query("by", "service (default), product, company, or all"),
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalyticsRow {
    /// The service, product or company (`(none)` for services without that label).
    pub key: String,
    pub incidents: u64,
    pub acknowledged: u64,
    pub resolved: u64,
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentAnalytics {
    pub since: String,
    pub until: String,
    pub by: String,
    pub rows: Vec<AnalyticsRow>,
    pub total: AnalyticsRow,
}

fn row(key: String, s: Summary) -> AnalyticsRow {
    AnalyticsRow {
        key,
        incidents: s.incidents,
        acknowledged: s.acknowledged,
        resolved: s.resolved,
        mtta_seconds: s.mtta_seconds,
        mttr_seconds: s.mttr_seconds,
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
    let by = p.by.unwrap_or_else(|| "service".into());
    let label = match by.as_str() {
        "service" | "all" => None,
        "product" => Some(domain::PRODUCT_LABEL),
        "company" => Some(domain::COMPANY_LABEL),
        other => {
            return Err(ApiError::bad_request(
                "by",
                format!("unknown grouping {other:?}; use service, product, company or all"),
            ));
        }
    };
    // The services in scope, and the key each one is counted under.
    let mut key_of: BTreeMap<Name, String> = BTreeMap::new();
    for s in state.store.snapshot(&[Kind::Service]).await? {
        if caller.may(
            Role::Viewer,
            &runtime::apply::scope_of(s.kind, &s.name, &s.labels, &s.spec, &[]),
        ) {
            let key = match (by.as_str(), label) {
                ("all", _) => "all".to_owned(),
                (_, Some(l)) => s.labels.get(l).unwrap_or("(none)").to_owned(),
                _ => s.name.to_string(),
            };
            key_of.insert(s.name, key);
        }
    }
    let mut groups: BTreeMap<String, Vec<IncidentTimes>> = BTreeMap::new();
    let mut before_id = None;
    loop {
        let page = state
            .store
            .list_incidents(&IncidentQuery {
                services: Some(key_of.keys().cloned().collect()),
                since: Some(since),
                until: Some(until),
                before_id,
                limit: 1000,
                ..IncidentQuery::default()
            })
            .await?;
        let done = page.len() < 1000;
        for i in page {
            before_id = Some(i.id);
            let key = key_of
                .get(&i.service)
                .cloned()
                .unwrap_or_else(|| i.service.to_string());
            groups.entry(key).or_default().push(IncidentTimes {
                created: i.created_at,
                acknowledged: i.acknowledged_at,
                resolved: i.resolved_at,
            });
        }
        if done {
            break;
        }
    }
    let total = summarize(groups.values().flatten());
    let rows = groups
        .into_iter()
        .map(|(k, items)| row(k, summarize(&items)))
        .collect();
    Ok(Json(IncidentAnalytics {
        since: since.to_string(),
        until: until.to_string(),
        by,
        rows,
        total: row("total".into(), total),
    }))
}
