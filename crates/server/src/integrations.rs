//! Integration endpoints: where other tools send alerts, each answered in its sender's own
//! format (not the REST API's error table), authenticated by the integration key.
//!
//! Today: the PagerDuty Events API v2 (`POST /v2/enqueue`) and v1
//! (`POST /generic/2010-04-15/create_event.json`), and Alertmanager's webhook
//! (`POST /integrations/alertmanager/{key}`).
//!
//! Longer than 600 lines because every sender's endpoint answers in its own format, and
//! they share key resolution and queueing; it splits when that moves below HTTP.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use domain::{IntegrationType, Kind, Name};
use paging::{Action, Event, alertmanager, pagerduty};
use runtime::events::Target;
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
        "/integrations/sentry/{key}",
        Access::Public,
        Doc::new(
            "integrations",
            "Sentry integration webhooks (metric alerts, issue alerts, resolved issues); Sentry-Hook-Signature checked",
        ),
        sentry,
    )
    .add(
        Method::Post,
        "/integrations/heartbeat/{key}",
        Access::Public,
        Doc::new(
            "integrations",
            "A heartbeat ping: resolves a missed-heartbeat incident and sets the next deadline",
        ),
        heartbeat,
    )
    .add(
        Method::Get,
        "/integrations/heartbeat/{key}",
        Access::Public,
        Doc::new(
            "integrations",
            "A heartbeat ping by GET, for `curl` in a cron job; the same as POST",
        ),
        heartbeat_get,
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
    // A change sent to a router is recorded on its default service.
    let (service, integration) = match found {
        Found::Service(t) => (t.service, t.integration),
        Found::Router {
            integration,
            router,
            ..
        } => (router.default_service().clone(), integration),
    };
    let mut record = store::NewChange {
        service,
        integration,
        at: change.timestamp.unwrap_or_else(|| state.clock.now()),
        summary: change.summary.clone(),
        body: serde_json::to_value(&change).unwrap_or_default(),
    };
    domain::text::clean_in_place(&mut record.summary, domain::text::MAX_SUMMARY);
    domain::text::clean_json(&mut record.body, domain::text::MAX_DETAIL);
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
    let mut event = match parsed {
        Ok(e) => e,
        Err(errors) => return invalid(StatusCode::BAD_REQUEST, &errors),
    };
    if let Err(e) = event.guard() {
        return invalid(StatusCode::BAD_REQUEST, &[e.to_string()]);
    }
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
    let ingest = match shape(&state, &found, event, dedup_key.clone()).await {
        Ok(Some(ingest)) => ingest,
        Ok(None) => return unavailable(&"the service this event routes to is gone"),
        Err(e) => return unavailable(&e),
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
        Err(store::StoreError::Invalid(e)) => invalid(StatusCode::BAD_REQUEST, &[e.to_string()]),
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

/// Where a key leads: a service's integration, or a team's router whose rules pick the
/// service per event.
enum Found {
    Service(Box<Target>),
    Router {
        integration: Name,
        router: Arc<domain::routing::CompiledRouter>,
        services: Vec<Name>,
        /// The secret's name, for a Sentry integration.
        secret: Option<String>,
    },
}

/// An event's fields and labels, for a router's matchers.
struct EventFields<'a>(&'a Event);

impl domain::routing::Fields for EventFields<'_> {
    fn field(&self, name: &str) -> Option<&str> {
        let body = self.0.body.as_ref();
        match name {
            "dedup_key" => self.0.dedup_key.as_deref(),
            "summary" => body.map(|b| b.summary.as_str()),
            "source" => body.map(|b| b.source.as_str()),
            "severity" => body.map(|b| b.severity.as_str()),
            "component" => body.and_then(|b| b.component.as_deref()),
            "group" => body.and_then(|b| b.group.as_deref()),
            "class" => body.and_then(|b| b.class.as_deref()),
            _ => None,
        }
    }

    fn label(&self, name: &str) -> Option<&str> {
        let details = &self.0.body.as_ref()?.details;
        runtime::events::labels_of(details)?
            .get(name)
            .and_then(serde_json::Value::as_str)
    }
}

impl Found {
    /// The service's integration this event goes to. Through a router, an alert goes by
    /// the rules; an acknowledge or resolve goes to the service holding the open alert it
    /// names (the default when none does, where it changes nothing).
    async fn target(&self, state: &AppState, event: &Event) -> store::Result<Option<Target>> {
        let (integration, router, services) = match self {
            Found::Service(t) => return Ok(Some((**t).clone())),
            Found::Router {
                integration,
                router,
                services,
                ..
            } => (integration, router, services),
        };
        let service = match (&event.body, &event.dedup_key) {
            (None, Some(key)) => {
                let open = state
                    .store
                    .list_alerts(&store::AlertQuery {
                        statuses: vec![paging::Status::Triggered, paging::Status::Acknowledged],
                        services: Some(services.clone()),
                        dedup_key: Some(key.clone()),
                        limit: 1,
                        ..Default::default()
                    })
                    .await?;
                match open.into_iter().next() {
                    Some(a) => a.service,
                    None => router.default_service().clone(),
                }
            }
            _ => router.route(&EventFields(event)).clone(),
        };
        Ok(cached_object(state, Kind::Service, &service)
            .await?
            .map(|record| Target::new(&record, integration.clone())))
    }
}

/// An object by name, through the key cache (routers look up their services per event).
async fn cached_object(
    state: &AppState,
    kind: Kind,
    name: &Name,
) -> store::Result<Option<store::ObjectRecord>> {
    let now = state.clock.monotonic();
    let key = format!("object:{kind}/{name}");
    if let Some(record) = state.key_cache.get(&key, now) {
        return Ok(Some(record));
    }
    let record = state.store.get_object(kind, name).await?;
    if let Some(r) = &record {
        state.key_cache.insert(key, r.clone(), now);
    }
    Ok(record)
}

async fn find_integration(
    state: &AppState,
    key: &str,
    kind: IntegrationType,
) -> store::Result<Option<Found>> {
    let now = state.clock.monotonic();
    let owner = match state.key_cache.get(&key.to_owned(), now) {
        Some(owner) => owner,
        // Misses always ask the store, so a new key works at once.
        None => match state.store.find_by_key(key).await? {
            Some(owner) => {
                state.key_cache.insert(key.to_owned(), owner.clone(), now);
                owner
            }
            None => return Ok(None),
        },
    };
    // A rotated-out key finds its owner until it is replaced, but is taken only within
    // the overlap; after it, it answers as any unknown key.
    let at = state.clock.now();
    let overlap = state.settings.integration_key_overlap;
    let found = owner.status["integrations"].as_object().and_then(|all| {
        all.iter().find(|(_, i)| {
            i["type"].as_str() == Some(kind.as_str())
                && runtime::integrations::accepts(i, key, at, overlap)
        })
    });
    let Some(integration) = found.and_then(|(name, _)| Name::new(name.as_str()).ok()) else {
        return Ok(None);
    };
    match owner.kind {
        Kind::Service => Ok(Some(Found::Service(Box::new(Target::new(
            &owner,
            integration,
        ))))),
        Kind::Router => {
            // Compiling a router's regexes is work: once per version of the router, not
            // per event.
            let cache_key = format!("{}@{}/{integration}", owner.name, owner.version);
            let compiled = match state.routers.get(&cache_key, now) {
                Some(c) => c,
                None => {
                    let Ok(spec) = serde_json::from_value::<domain::RouterSpec>(owner.spec.clone())
                    else {
                        return Ok(None);
                    };
                    let Ok(router) = spec.compile() else {
                        return Ok(None);
                    };
                    let secret = spec
                        .integrations
                        .iter()
                        .find(|i| i.name == integration)
                        .and_then(|i| i.secret.clone());
                    let c = Arc::new((Arc::new(router), spec.services(), secret));
                    state.routers.insert(cache_key, c.clone(), now);
                    c
                }
            };
            let (router, services, secret) = &*compiled;
            Ok(Some(Found::Router {
                integration,
                services: services.clone(),
                router: router.clone(),
                secret: secret.clone(),
            }))
        }
        _ => Ok(None),
    }
}

/// The event as the store takes it, for the service it goes to; `None` when that
/// service is gone.
async fn shape(
    state: &AppState,
    found: &Found,
    event: Event,
    dedup_key: String,
) -> store::Result<Option<IngestEvent>> {
    let Some(target) = found.target(state, &event).await? else {
        return Ok(None);
    };
    let windows = state.maintenance_windows().await?;
    Ok(Some(target.shape(
        event,
        dedup_key,
        state.clock.now(),
        &windows,
    )))
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
        let services = match &found {
            Found::Service(t) => vec![t.service.clone()],
            Found::Router { services, .. } => services.clone(),
        };
        let mut open = Vec::new();
        for service in &services {
            match state
                .store
                .open_alerts_of_group(service, &msg.group_key)
                .await
            {
                Ok(keys) => open.extend(keys),
                Err(e) => return unavailable(&e),
            }
        }
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
    let mut batch: Vec<IngestEvent> = Vec::with_capacity(events.len());
    for mut e in events {
        if let Err(problem) = e.guard() {
            return reply(StatusCode::BAD_REQUEST, false, problem.to_string());
        }
        let key = e.dedup_key.clone().unwrap_or_default();
        match shape(&state, &found, e, key).await {
            Ok(Some(ingest)) => batch.push(ingest),
            Ok(None) => {}
            Err(e) => return unavailable(&e),
        }
    }
    let n = batch.len();
    match state.ingest.submit_all(batch).await {
        Ok(_) => reply(
            StatusCode::OK,
            true,
            format!("{n} alert event(s) processed"),
        ),
        Err(store::StoreError::Invalid(e)) => reply(StatusCode::BAD_REQUEST, false, e.to_string()),
        Err(e) => unavailable(&e),
    }
}

async fn heartbeat_get(state: State<AppState>, key: Path<String>) -> Response {
    heartbeat(state, key).await
}

/// A ping: the heartbeat's open alert (if any) resolves, and the next deadline is set in
/// the same transaction. A heartbeat is armed by its first ping; until then silence is
/// not an alarm.
async fn heartbeat(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    let reply = |status: StatusCode, body: serde_json::Value| (status, Json(body)).into_response();
    let target = match find_integration(&state, &key, IntegrationType::Heartbeat).await {
        Ok(Some(Found::Service(t))) => *t,
        Ok(_) => {
            return reply(
                StatusCode::NOT_FOUND,
                json!({ "status": "error", "message": "the URL's key names no heartbeat integration of any service" }),
            );
        }
        Err(e) => return unavailable(&e),
    };
    if !within_limit(&state, &key) {
        return throttled(StatusCode::TOO_MANY_REQUESTS);
    }
    let Some(deadline) = target
        .declaration()
        .and_then(domain::Integration::heartbeat_deadline)
    else {
        return unavailable(&"the heartbeat has no interval; check its service's configuration");
    };
    let now = state.clock.now();
    let due = now
        .checked_add(jiff::SignedDuration::try_from(deadline).unwrap_or_default())
        .unwrap_or(now);
    let event = Event {
        routing_key: key,
        action: Action::Resolve,
        dedup_key: None,
        body: None,
        group: None,
    };
    let dedup_key = runtime::events::heartbeat_key(&target.integration);
    let mut ingest = target.shape(event, dedup_key, now, &[]);
    ingest.handling.arm = Some(runtime::events::heartbeat_timer(
        &target.service,
        &target.integration,
        due,
    ));
    match state.ingest.submit(ingest).await {
        Ok(outcome) => reply(
            StatusCode::OK,
            json!({
                "status": "ok",
                "next_deadline": due.to_string(),
                "resolved": matches!(outcome, store::IngestOutcome::Resolved { .. }),
            }),
        ),
        Err(e) => unavailable(&e),
    }
}

/// Sentry's integration webhooks, checked against the integration's client secret (named
/// in its configuration, held in settings). Sentry shows non-2xx answers in its delivery
/// log, so problems are answered plainly.
async fn sentry(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let reply = |status: StatusCode, body: serde_json::Value| (status, Json(body)).into_response();
    let error = |status: StatusCode, message: String| {
        reply(status, json!({ "status": "error", "message": message }))
    };
    let body = match body {
        Ok(b) if b.len() <= pagerduty::MAX_BODY_BYTES => b,
        Ok(_) | Err(_) => {
            let message = format!(
                "the request body is larger than {} bytes",
                pagerduty::MAX_BODY_BYTES
            );
            return error(StatusCode::PAYLOAD_TOO_LARGE, message);
        }
    };
    let found = match find_integration(&state, &key, IntegrationType::Sentry).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let message = "the URL's key names no Sentry integration of any service".to_owned();
            return error(StatusCode::NOT_FOUND, message);
        }
        Err(e) => return unavailable(&e),
    };
    let secret = match &found {
        Found::Service(t) => t.declaration().and_then(|i| i.secret.clone()),
        Found::Router { secret, .. } => secret.clone(),
    };
    sentry_event(&state, found, secret, &key, &headers, &body).await
}

async fn sentry_event(
    state: &AppState,
    found: Found,
    secret_name: Option<String>,
    key: &str,
    headers: &axum::http::HeaderMap,
    body: &Bytes,
) -> Response {
    let reply = |status: StatusCode, body: serde_json::Value| (status, Json(body)).into_response();
    let error = |status: StatusCode, message: String| {
        reply(status, json!({ "status": "error", "message": message }))
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let Some(secret) = secret_name
        .as_deref()
        .and_then(|n| state.settings.secrets.get(n))
    else {
        let variable = domain::catalog::secret_variable(secret_name.as_deref().unwrap_or("?"));
        tracing::warn!(%variable, "a Sentry webhook arrived but its client secret is not set");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "this integration's client secret is not set on the server; set {variable} and restart"
            ),
        );
    };
    if !paging::sentry::verify(secret.as_bytes(), body, header("sentry-hook-signature")) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Sentry-Hook-Signature does not match the body: check the integration's client secret"
                .into(),
        );
    }
    if !within_limit(state, key) {
        return throttled(StatusCode::TOO_MANY_REQUESTS);
    }
    let mut event = match paging::sentry::parse(header("sentry-hook-resource"), body, key) {
        Ok(paging::sentry::Outcome::Event(e)) => e,
        Ok(paging::sentry::Outcome::Ignored(reason)) => {
            return reply(
                StatusCode::OK,
                json!({ "status": "ignored", "message": reason }),
            );
        }
        Err(errors) => return invalid(StatusCode::BAD_REQUEST, &errors),
    };
    if let Err(e) = event.guard() {
        return error(StatusCode::BAD_REQUEST, e.to_string());
    }
    let dedup_key = event.dedup_key.clone().unwrap_or_default();
    match shape(state, &found, event, dedup_key.clone()).await {
        Ok(Some(ingest)) => match state.ingest.submit(ingest).await {
            Ok(_) => (StatusCode::ACCEPTED, Json(pagerduty::accepted(&dedup_key))).into_response(),
            Err(store::StoreError::Invalid(e)) => error(StatusCode::BAD_REQUEST, e.to_string()),
            Err(e) => unavailable(&e),
        },
        Ok(None) => unavailable(&"the service this event routes to is gone"),
        Err(e) => unavailable(&e),
    }
}
