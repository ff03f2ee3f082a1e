//! The reports page: incident counts, MTTA, MTTR and pages (out of hours or not) per
//! company, product, service or person over a range of days, and the same figures as CSV.
//! The figures are the API's (`api::analytics::report`), over the services the viewer may
//! see; this module only reads the range in the viewer's zone and presents them.

use std::collections::BTreeSet;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::Kind;
use domain::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;

use super::pages::page;
use super::{Session, error_page};
use crate::AppState;
use crate::api::analytics::{AnalyticsRow, By, IncidentAnalytics, report};

/// The quick ranges offered, in days ending today.
const QUICK: [i64; 3] = [7, 30, 90];
/// The range shown when none is asked for.
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, Default, Deserialize)]
pub struct ReportParams {
    /// The first day, `YYYY-MM-DD` in the viewer's zone.
    #[serde(default)]
    from: Option<String>,
    /// The last day (included).
    #[serde(default)]
    to: Option<String>,
    /// A quick range: the last 7, 30 or 90 days, today included.
    #[serde(default)]
    range: Option<String>,
    /// `service` (the default), `product`, `company` or `person`.
    #[serde(default)]
    by: Option<String>,
}

/// A range of whole days in the viewer's zone, and the grouping.
struct Asked {
    from: Date,
    to: Date,
    by: By,
}

/// Why a request cannot be answered, beginning with the field: `from: …`.
fn unprocessable(field: &str, message: &str) -> String {
    format!("{field}: {message}")
}

fn date(field: &str, v: Option<&str>) -> Result<Option<Date>, String> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<Date>()
            .map(Some)
            .map_err(|_| unprocessable(field, &format!("{v:?} is not a date; use YYYY-MM-DD."))),
    }
}

/// Reads the range and grouping; every problem answers 422 naming its field.
fn asked(q: &ReportParams, today: Date) -> Result<Asked, String> {
    let by = match q.by.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => By::Service,
        Some("all") => {
            return Err(unprocessable(
                "by",
                "use service, product, company or person.",
            ));
        }
        Some(b) => By::parse(b).map_err(|e| unprocessable("by", &e))?,
    };
    let days = match q.range.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        None => DEFAULT_DAYS,
        Some(r) => match r.parse::<i64>() {
            Ok(n) if QUICK.contains(&n) => n,
            _ => {
                return Err(unprocessable(
                    "range",
                    &format!("{r:?} is not a quick range; use 7, 30 or 90."),
                ));
            }
        },
    };
    let to = date("to", q.to.as_deref())?.unwrap_or(today);
    let from = match date("from", q.from.as_deref())? {
        Some(d) => d,
        None => to
            .checked_sub(jiff::Span::new().days(days - 1))
            .map_err(|_| unprocessable("to", "is too early to count back from."))?,
    };
    if from > to {
        return Err(unprocessable("from", "must be on or before to."));
    }
    Ok(Asked { from, to, by })
}

/// The figures for what was asked, or the page that says why not.
async fn figures(
    state: &AppState,
    session: &Session,
    q: &ReportParams,
) -> Result<(Asked, IncidentAnalytics), Response> {
    let today = state.clock.now().to_zoned(session.tz.clone()).date();
    let when = |a: &Asked| -> Result<(Timestamp, Timestamp), String> {
        // Days begin at the viewer's midnight (or the first instant after it, on a day
        // that skips it); `to` is included, so the range ends where the day after begins.
        let start = |d: Date, field: &str| {
            d.to_zoned(session.tz.clone())
                .map(|z| z.timestamp())
                .map_err(|_| unprocessable(field, "is outside the dates this console can count."))
        };
        let after =
            a.to.tomorrow()
                .map_err(|_| unprocessable("to", "is outside the dates this console can count."))?;
        Ok((start(a.from, "from")?, start(after, "to")?))
    };
    let (a, (since, until)) = match asked(q, today).and_then(|a| when(&a).map(|w| (a, w))) {
        Ok(found) => found,
        Err(why) => return Err(error_page(StatusCode::UNPROCESSABLE_ENTITY, &why)),
    };
    let report = report(state, &session.caller, since, until, a.by)
        .await
        .map_err(|e| error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
    Ok((a, report))
}

fn seconds(v: Option<f64>) -> Option<u64> {
    v.map(|s| s.round().max(0.0) as u64)
}

fn human(v: Option<f64>) -> String {
    seconds(v).map_or_else(|| "—".to_owned(), domain::civil::duration)
}

fn heading(by: By) -> &'static str {
    match by {
        By::Service => "Service",
        By::Product => "Product",
        By::Company => "Company",
        By::Person => "Person",
        By::All => "All",
    }
}

/// GET /reports: the range form, the quick ranges and the table.
pub async fn reports(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<ReportParams>,
) -> Response {
    let (a, r) = match figures(&state, &session, &q).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    // People link to their pages only when the viewer may see them, as mentions do.
    let people: BTreeSet<String> = if a.by == By::Person {
        match crate::api::objects::all_visible(&state, &session.caller, Kind::User).await {
            Ok(all) => all.into_iter().map(|u| u.name.to_string()).collect(),
            Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        }
    } else {
        BTreeSet::new()
    };
    // The folder of the object page a row links to (`/services/…`, `/users/…`).
    let link = |key: &str| match a.by {
        By::Service => Some("services"),
        By::Person if people.contains(key) => Some("users"),
        _ => None,
    };
    let row = |r: &AnalyticsRow, link: Option<&str>| {
        serde_json::json!({
            "key": r.key, "link": link, "incidents": r.incidents,
            "acknowledged": r.acknowledged, "resolved": r.resolved,
            "mtta": human(r.mtta_seconds), "mttr": human(r.mttr_seconds),
            "pages": r.pages, "pages_out_of_hours": r.pages_out_of_hours,
        })
    };
    let rows: Vec<serde_json::Value> = r.rows.iter().map(|x| row(x, link(&x.key))).collect();
    let today = state.clock.now().to_zoned(session.tz.clone()).date();
    let quick: Vec<serde_json::Value> = QUICK
        .iter()
        .map(|&n| {
            let from = today
                .checked_sub(jiff::Span::new().days(n - 1))
                .unwrap_or(today);
            serde_json::json!({
                "days": n,
                "current": a.from == from && a.to == today,
            })
        })
        .collect();
    let groupings: Vec<serde_json::Value> = [By::Service, By::Product, By::Company, By::Person]
        .iter()
        .map(|b| serde_json::json!({"value": b.as_str(), "label": heading(*b), "selected": *b == a.by}))
        .collect();
    page(
        &session,
        "reports.html",
        serde_json::json!({
            "from": a.from.to_string(), "to": a.to.to_string(),
            "zone": session.tz.iana_name().unwrap_or("UTC"),
            "by": a.by.as_str(), "heading": heading(a.by),
            "groupings": groupings, "quick": quick,
            "rows": rows, "total": row(&r.total, None),
        }),
    )
}

/// GET /reports.csv: the same figures, durations in whole seconds, one row per key and a
/// last `(total)` row.
pub async fn reports_csv(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<ReportParams>,
) -> Response {
    let (a, r) = match figures(&state, &session, &q).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    match csv_of(&r, a.by) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"shinrai-report-{}-{}-{}.csv\"",
                        a.by.as_str(),
                        a.from,
                        a.to
                    ),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a report could not be written as CSV");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The report could not be written as CSV.",
            )
        }
    }
}

/// The CSV text of a report.
fn csv_of(r: &IncidentAnalytics, by: By) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        by.as_str(),
        "incidents",
        "acknowledged",
        "resolved",
        "mtta_seconds",
        "mttr_seconds",
        "pages",
        "pages_out_of_hours",
    ])?;
    let total = AnalyticsRow {
        key: "(total)".into(),
        ..r.total.clone()
    };
    for x in r.rows.iter().chain(std::iter::once(&total)) {
        let opt = |v: Option<f64>| seconds(v).map(|s| s.to_string()).unwrap_or_default();
        w.write_record([
            cell(&x.key),
            x.incidents.to_string(),
            x.acknowledged.to_string(),
            x.resolved.to_string(),
            opt(x.mtta_seconds),
            opt(x.mttr_seconds),
            x.pages.to_string(),
            x.pages_out_of_hours.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// A text cell that a spreadsheet will not run as a formula: one starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's advice).
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> ReportParams {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        ReportParams {
            from: get("from"),
            to: get("to"),
            range: get("range"),
            by: get("by"),
        }
    }

    #[test]
    fn ranges_default_to_the_last_thirty_days_and_quick_ranges_end_today() {
        let today = d("2026-12-04");
        let a = asked(&params(&[]), today).unwrap();
        assert_eq!((a.from, a.to, a.by), (d("2026-11-05"), today, By::Service));
        let a = asked(&params(&[("range", "7"), ("by", "person")]), today).unwrap();
        assert_eq!((a.from, a.to, a.by), (d("2026-11-28"), today, By::Person));
        let a = asked(
            &params(&[("from", "2026-01-01"), ("to", "2026-01-31")]),
            today,
        )
        .unwrap();
        assert_eq!((a.from, a.to), (d("2026-01-01"), d("2026-01-31")));
    }

    #[test]
    fn formulas_are_neutralised_and_other_text_kept() {
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@x"), "'@x");
        assert_eq!(cell("api"), "api");
    }
}
