//! Integration endpoints: where other tools send alerts, each answered in its sender's own
//! format (not the REST API's error table), authenticated by the integration key.
//!
//! Today: the PagerDuty Events API v2 (`POST /v2/enqueue`) and v1
//! (`POST /generic/2010-04-15/create_event.json`), and Alertmanager's webhook
//! (`POST /integrations/alertmanager/{key}`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::{IntegrationType, Kind, Name, ServiceSpec};
use paging::{Action, Event, alertmanager, pagerduty};
use serde_json::json;
use store::IngestEvent;

use crate::AppState;
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Post,
        "/v2/enqueue",
        Access::Public,
        Doc::new(
            "integrations",
            "PagerDuty Events API v2: trigger, acknowledge or resolve an alert (authenticated by routing_key)",
        )
        .status(202),
        enqueue_v2,
    )
    .add(
        Method::Post,
        "/v2/change/enqueue",
        Access::Public,
        Doc::new("integrations", "PagerDuty change events: deploys and other changes, shown on incidents nearby")
            .status(202),
        change_v2,
    )
    .add(
        Method::Post,
        "/integrations/alertmanager/{key}",
        Access::Public,
        Doc::new(
            "integrations",
            "Prometheus Alertmanager's webhook (version 4): the whole group per POST, alerts by fingerprint",
        ),
        alertmanager_webhook,
    )
    .add(
        Method::Post,
        "/integrations/datadog/{key}",
        Access::Public,
        Doc::new("integrations", "Datadog webhooks made from the documented template").status(202),
        datadog,
    )
    .add(
        Method::Post,
        "/integrations/generic/{key}",
        Access::Public,
        Doc::new("integrations", "shinrai's generic JSON event (see docs/integrations.md)").status(202),
        generic,
    )
    .add(
        Method::Post,
        "/generic/2010-04-15/create_event.json",
        Access::Public,
        Doc::new("integrations", "PagerDuty Events API v1 (legacy), authenticated by service_key"),
        enqueue_v1,
    )
}

/// The formats that carry one event per request.
enum Version {
    V1,
    V2,
    /// shinrai's generic JSON; the key is in the URL.
    Generic(String),
    /// Datadog's webhook, from the documented template; the key is in the URL.
    Datadog(String),
}

async fn enqueue_v2(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    enqueue(state, body, Version::V2).await
}

async fn enqueue_v1(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    enqueue(state, body, Version::V1).await
}

async fn datadog(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    enqueue(state, body, Version::Datadog(key)).await
}

async fn generic(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    enqueue(state, body, Version::Generic(key)).await
}

async fn change_v2(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) if b.len() <= pagerduty::MAX_BODY_BYTES => b,
        Ok(_) | Err(_) => {
            let problem = format!(
                "the request body is larger than {} bytes",
                pagerduty::MAX_BODY_BYTES
            );
            return invalid(StatusCode::PAYLOAD_TOO_LARGE, &[problem]);
        }
    };
    let change = match pagerduty::parse_change(&body) {
        Ok(c) => c,
        Err(errors) => return invalid(StatusCode::BAD_REQUEST, &errors),
    };
    let found =
        match find_integration(&state, &change.routing_key, IntegrationType::Pagerduty).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                let problem =
                    "'routing_key' does not name a PagerDuty integration of any service".to_owned();
                return invalid(StatusCode::NOT_FOUND, &[problem]);
            }
            Err(e) => return unavailable(&e),
        };
    if !within_limit(&state, &change.routing_key) {
        return throttled(StatusCode::TOO_MANY_REQUESTS);
    }
    let record = store::NewChange {
        service: found.service,
        integration: found.integration,
        at: change.timestamp.unwrap_or_else(|| state.clock.now()),
        summary: change.summary.clone(),
        body: serde_json::to_value(&change).unwrap_or_default(),
    };
    match state.store.record_change(record).await {
        Ok(_) => (StatusCode::ACCEPTED, Json(pagerduty::change_accepted())).into_response(),
        Err(e) => unavailable(&e),
    }
}

fn invalid(status: StatusCode, errors: &[String]) -> Response {
    (status, Json(pagerduty::invalid(errors))).into_response()
}

async fn enqueue(
    state: AppState,
    body: Result<Bytes, BytesRejection>,
    version: Version,
) -> Response {
    let body = match body {
        Ok(b) if b.len() <= pagerduty::MAX_BODY_BYTES => b,
        Ok(_) | Err(_) => {
            return invalid(
                StatusCode::PAYLOAD_TOO_LARGE,
                &[format!(
                    "the request body is larger than {} bytes",
                    pagerduty::MAX_BODY_BYTES
                )],
            );
        }
    };
    let parsed = match &version {
        Version::V2 => pagerduty::parse_v2(&body),
        Version::V1 => pagerduty::parse_v1(&body),
        Version::Generic(key) => paging::generic::parse(&body, key),
        Version::Datadog(key) => paging::datadog::parse(&body, key),
    };
    let kind = match &version {
        Version::Generic(_) => IntegrationType::Generic,
        Version::Datadog(_) => IntegrationType::Datadog,
        Version::V1 | Version::V2 => IntegrationType::Pagerduty,
    };
    let event = match parsed {
        Ok(e) => e,
        Err(errors) => return invalid(StatusCode::BAD_REQUEST, &errors),
    };
    let found = match find_integration(&state, &event.routing_key, kind).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let problem = match version {
                Version::V2 => "'routing_key' does not name a PagerDuty integration of any service",
                Version::V1 => "'service_key' does not name a PagerDuty integration of any service",
                Version::Generic(_) => "the URL's key names no generic integration of any service",
                Version::Datadog(_) => "the URL's key names no Datadog integration of any service",
            };
            return invalid(StatusCode::NOT_FOUND, &[problem.to_owned()]);
        }
        Err(e) => return unavailable(&e),
    };
    if !within_limit(&state, &event.routing_key) {
        return throttled(match version {
            Version::V1 => StatusCode::FORBIDDEN,
            _ => StatusCode::TOO_MANY_REQUESTS,
        });
    }
    let dedup_key = event
        .dedup_key
        .clone()
        .unwrap_or_else(|| runtime::entropy::secret("")[..32].to_owned());
    let Event {
        routing_key,
        action,
        body,
        group,
        ..
    } = event;
    let now = state.clock.now();
    let (group, group_window) = found.group(body.as_ref(), group);
    let retrigger_acknowledged = found.retrigger();
    let ingest = IngestEvent {
        urgency: found.urgency(body.as_ref(), now),
        service: found.service,
        integration: found.integration,
        routing_key,
        action,
        dedup_key: dedup_key.clone(),
        body,
        group,
        group_window,
        retrigger_acknowledged,
        actor: None,
        received_at: now,
        handling: store::Handling::default(),
    };
    match state.ingest.submit(ingest).await {
        Ok(_) => match version {
            Version::V2 | Version::Generic(_) | Version::Datadog(_) => {
                (StatusCode::ACCEPTED, Json(pagerduty::accepted(&dedup_key))).into_response()
            }
            Version::V1 => {
                (StatusCode::OK, Json(pagerduty::accepted_v1(&dedup_key))).into_response()
            }
        },
        Err(e) => unavailable(&e),
    }
}

/// True when `key` may send another event now (always, without a configured limit).
fn within_limit(state: &AppState, key: &str) -> bool {
    state
        .event_limiter
        .as_ref()
        .is_none_or(|l| l.allow(key, state.clock.monotonic()))
}

/// The answer to a sender over its limit: PagerDuty's 429 (v1 used 403), which senders
/// retry later.
fn throttled(status: StatusCode) -> Response {
    (
        status,
        Json(json!({
            "status": "throttle event",
            "message": "Requests for this integration key are arriving too quickly. Please retry later."
        })),
    )
        .into_response()
}

/// A store failure: 503, which every sender retries.
fn unavailable(e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "event not accepted");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "error", "message": format!("the event was not stored; retry: {e}") })),
    )
        .into_response()
}

/// The service and integration a key of this type belongs to.
/// The integration a key belongs to, with what its service says about urgency.
struct Found {
    service: Name,
    integration: Name,
    spec: Option<ServiceSpec>,
}

impl Found {
    /// Whether a new alert joining an acknowledged incident puts it back to triggered.
    fn retrigger(&self) -> bool {
        self.spec.as_ref().is_none_or(|s| s.retrigger_on_new_alert)
    }

    /// The group an alert joins, and for how long a group's incident takes new alerts.
    fn group(
        &self,
        body: Option<&paging::AlertBody>,
        sender: Option<String>,
    ) -> (Option<String>, Option<std::time::Duration>) {
        // The service's label grouping wins over the sender's own group (Alertmanager's
        // groupKey). Events without an alert keep the sender's group; it matters only
        // when an alert opens.
        match (self.spec.as_ref().and_then(|s| s.grouping.as_ref()), body) {
            (Some(g), Some(b)) => {
                let labels = labels_of(&b.details);
                let key = g.key(|k| {
                    labels
                        .and_then(|l| l.get(k))
                        .and_then(serde_json::Value::as_str)
                });
                (
                    Some(key),
                    Some(std::time::Duration::from_secs(
                        u64::from(g.window_minutes) * 60,
                    )),
                )
            }
            _ => (sender, None),
        }
    }

    /// The urgency the service's rules give an alert arriving now (`None` for events that
    /// carry no alert).
    fn urgency(
        &self,
        body: Option<&paging::AlertBody>,
        now: domain::Timestamp,
    ) -> Option<domain::Urgency> {
        let body = body?;
        Some(match &self.spec {
            Some(spec) => spec.urgency(body.severity, now),
            None => domain::Urgency::from_severity(body.severity),
        })
    }
}

/// An alert's labels: `details.labels` (Alertmanager, generic JSON), or the fields of
/// PagerDuty's `custom_details`.
fn labels_of(details: &serde_json::Value) -> Option<&serde_json::Map<String, serde_json::Value>> {
    details["labels"]
        .as_object()
        .or_else(|| details.as_object())
}

async fn find_integration(
    state: &AppState,
    key: &str,
    kind: IntegrationType,
) -> store::Result<Option<Found>> {
    let now = state.clock.monotonic();
    let service = match state.key_cache.get(&key.to_owned(), now) {
        Some(service) => service,
        // Misses always ask the store, so a new key works at once.
        None => match state.store.find_by_key(key).await? {
            Some(service) => {
                state.key_cache.insert(key.to_owned(), service.clone(), now);
                service
            }
            None => return Ok(None),
        },
    };
    if service.kind != Kind::Service {
        return Ok(None);
    }
    let found = service.status["integrations"].as_object().and_then(|all| {
        all.iter().find(|(_, i)| {
            i["key"].as_str() == Some(key) && i["type"].as_str() == Some(kind.as_str())
        })
    });
    let Some(integration) = found.and_then(|(name, _)| Name::new(name.as_str()).ok()) else {
        return Ok(None);
    };
    Ok(Some(Found {
        spec: serde_json::from_value(service.spec.clone()).ok(),
        service: service.name,
        integration,
    }))
}

async fn alertmanager_webhook(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let reply = |status: StatusCode, ok: bool, message: String| {
        (status, Json(alertmanager::answer(ok, &message))).into_response()
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return reply(StatusCode::PAYLOAD_TOO_LARGE, false, e.body_text()),
    };
    // 4xx answers are final for Alertmanager (it does not retry them); 5xx are retried.
    let found = match find_integration(&state, &key, IntegrationType::Alertmanager).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return reply(
                StatusCode::NOT_FOUND,
                false,
                "the URL's key names no Alertmanager integration of any service".into(),
            );
        }
        Err(e) => return unavailable(&e),
    };
    if !within_limit(&state, &key) {
        return throttled(StatusCode::TOO_MANY_REQUESTS);
    }
    let msg = match alertmanager::parse(&body) {
        Ok(m) => m,
        Err(errors) => return reply(StatusCode::BAD_REQUEST, false, errors.join("; ")),
    };
    let mut events = alertmanager::events(&msg, &key);
    // Alerts of the group that this POST no longer mentions have resolved, unless the POST
    // was truncated: then absence means nothing.
    if msg.truncated_alerts == 0 {
        let open = match state
            .store
            .open_alerts_of_group(&found.service, &msg.group_key)
            .await
        {
            Ok(open) => open,
            Err(e) => return unavailable(&e),
        };
        let mentioned = alertmanager::mentioned(&msg);
        for gone in open
            .into_iter()
            .filter(|k| !mentioned.contains(&k.as_str()))
        {
            events.push(Event {
                routing_key: key.clone(),
                action: Action::Resolve,
                dedup_key: Some(gone),
                body: None,
                group: Some(msg.group_key.clone()),
            });
        }
    }
    let now = state.clock.now();
    let batch: Vec<IngestEvent> = events
        .into_iter()
        .map(|e| {
            let (group, group_window) = found.group(e.body.as_ref(), e.group);
            IngestEvent {
                urgency: found.urgency(e.body.as_ref(), now),
                service: found.service.clone(),
                integration: found.integration.clone(),
                routing_key: e.routing_key,
                action: e.action,
                dedup_key: e.dedup_key.unwrap_or_default(),
                body: e.body,
                group,
                group_window,
                retrigger_acknowledged: found.retrigger(),
                actor: None,
                received_at: now,
                handling: store::Handling::default(),
            }
        })
        .collect();
    let n = batch.len();
    match state.ingest.submit_all(batch).await {
        Ok(_) => reply(
            StatusCode::OK,
            true,
            format!("{n} alert event(s) processed"),
        ),
        Err(e) => unavailable(&e),
    }
}
