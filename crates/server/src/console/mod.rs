//! The web console: server-rendered pages (minijinja, HTML auto-escaped), with htmx
//! (vendored, pinned) only to refresh parts of a page; every page and action works
//! without JavaScript. Sign-in sets an HttpOnly, SameSite session cookie; every form
//! carries the session's CSRF token; roles and scopes apply as in the API.
//!
//! Every console route is listed in [`ROUTES`] with the least role it needs, and one
//! middleware enforces it, so tests can enumerate them.

pub mod alerts;
mod audit;
mod calendar;
mod inbox;
mod incident;
mod incidents;
mod oncall;
mod pages;
mod policies;
mod reports;
mod schedules;
mod services;
mod signin;
mod teams;
mod timeline;
mod tokens;
mod users;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use domain::Role;
use minijinja::Environment;

use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE, cookie, hash_secret};

/// The htmx build the console uses, vendored so no page needs a CDN.
pub const HTMX_PATH: &str = "/assets/htmx-2.0.11.min.js";
const HTMX: &[u8] = include_bytes!("../../assets/htmx-2.0.11.min.js");
const CSS: &str = include_str!("../../assets/shinrai.css");
/// The console's own script (copy buttons), served as a file so that the Content Security
/// Policy allows no inline script.
pub const SCRIPT_PATH: &str = "/assets/shinrai.js";
const SCRIPT: &str = include_str!("../../assets/shinrai.js");

/// The Content Security Policy of every answer: scripts, styles and everything else only
/// from shinrai itself, no inline script or style, no framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// [`CONTENT_SECURITY_POLICY`] with images also allowed from exactly these origins
/// (`https://grafana.example`, as [`alerts::image_host`] accepts them), which alerts'
/// images may come from.
pub fn content_security_policy(image_hosts: &[String]) -> String {
    let hosts: Vec<&str> = image_hosts
        .iter()
        .filter(|h| alerts::image_host(h).as_deref() == Ok(h.as_str()))
        .map(String::as_str)
        .collect();
    if hosts.is_empty() {
        return CONTENT_SECURITY_POLICY.to_owned();
    }
    CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' data:;",
        &format!("img-src 'self' data: {};", hosts.join(" ")),
    )
}

/// One console route and the least role it needs (`None`: public).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub role: Option<Role>,
}

const fn route(method: &'static str, path: &'static str, role: Option<Role>) -> ConsoleRoute {
    ConsoleRoute { method, path, role }
}

/// Every console route.
pub const ROUTES: &[ConsoleRoute] = &[
    route("GET", "/", Some(Role::Viewer)),
    route("GET", "/login", None),
    route("POST", "/login", None),
    route("POST", "/logout", Some(Role::Viewer)),
    route("GET", "/incidents", Some(Role::Viewer)),
    route("POST", "/incidents", Some(Role::Responder)),
    route("GET", "/incidents/new", Some(Role::Responder)),
    route("POST", "/incidents/bulk", Some(Role::Responder)),
    route("GET", "/incidents/{id}", Some(Role::Viewer)),
    route("POST", "/incidents/{id}/acknowledge", Some(Role::Responder)),
    route("POST", "/incidents/{id}/resolve", Some(Role::Responder)),
    route("POST", "/incidents/{id}/escalate", Some(Role::Responder)),
    route("POST", "/incidents/{id}/snooze", Some(Role::Responder)),
    route("POST", "/incidents/{id}/notes", Some(Role::Responder)),
    route("POST", "/incidents/{id}/reassign", Some(Role::Responder)),
    route("POST", "/incidents/{id}/merge", Some(Role::Responder)),
    route("GET", "/oncall", Some(Role::Viewer)),
    route("GET", "/inbox", Some(Role::Viewer)),
    route("GET", "/inbox/{id}", Some(Role::Viewer)),
    route("GET", "/services", Some(Role::Viewer)),
    route("GET", "/services/{name}", Some(Role::Viewer)),
    route(
        "POST",
        "/services/{name}/integrations/{integration}/rotate",
        Some(Role::Admin),
    ),
    route("GET", "/teams", Some(Role::Viewer)),
    route("GET", "/teams/{name}", Some(Role::Viewer)),
    route("GET", "/users", Some(Role::Viewer)),
    route("GET", "/users/{name}", Some(Role::Viewer)),
    route("GET", "/me", Some(Role::Viewer)),
    route("POST", "/me/test-notification", Some(Role::Viewer)),
    route("GET", "/audit", Some(Role::Admin)),
    route("GET", "/reports", Some(Role::Viewer)),
    route("GET", "/reports.csv", Some(Role::Viewer)),
    route("GET", "/policies", Some(Role::Viewer)),
    route("GET", "/policies/{name}", Some(Role::Viewer)),
    route("GET", "/tokens", Some(Role::Admin)),
    route("POST", "/tokens", Some(Role::Admin)),
    route("POST", "/tokens/{name}/revoke", Some(Role::Admin)),
    route("GET", "/schedules", Some(Role::Viewer)),
    route("GET", "/schedules/{name}", Some(Role::Viewer)),
    route("POST", "/schedules/{name}/overrides", Some(Role::Responder)),
    route("GET", HTMX_PATH, None),
    route("GET", "/assets/shinrai.css", None),
    route("GET", SCRIPT_PATH, None),
];

/// The signed-in person and their session's CSRF token, for handlers.
#[derive(Clone, Debug)]
pub struct Session {
    pub caller: Caller,
    /// The person's full name (`full_name` in their user spec), shown in the header.
    pub name: String,
    pub csrf: String,
    /// The person's own time zone (`time_zone` in their user spec): the console shows
    /// times in it.
    pub tz: jiff::tz::TimeZone,
}

impl Session {
    /// An instant as the person reads it: `2026-11-25 18:30 CET`.
    pub fn when(&self, t: domain::Timestamp) -> String {
        local(t, &self.tz)
    }
}

/// An instant in a zone: `2026-11-25 18:30 CET` (the zone's abbreviation, or its offset).
pub fn local(t: domain::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

pub fn router(state: AppState) -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/", get(|| async { Redirect::to("/incidents") }))
        .route("/login", get(signin::login_page).post(signin::login))
        .route("/logout", post(signin::logout))
        .route(
            "/incidents",
            get(incidents::incidents).post(incidents::open),
        )
        .route("/incidents/new", get(incidents::new_incident))
        .route("/incidents/bulk", post(incidents::bulk))
        .route("/incidents/{id}", get(incident::incident))
        .route("/incidents/{id}/{action}", post(incident::act))
        .route("/oncall", get(oncall::oncall))
        .route("/inbox", get(inbox::list))
        .route("/inbox/{id}", get(inbox::open))
        .route("/services", get(services::services))
        .route("/services/{name}", get(services::service))
        .route(
            "/services/{name}/integrations/{integration}/rotate",
            post(services::rotate_key),
        )
        .route("/teams", get(teams::teams))
        .route("/teams/{name}", get(teams::team))
        .route("/users", get(users::users))
        .route("/users/{name}", get(users::user))
        .route("/me", get(users::me))
        .route("/me/test-notification", post(users::test_notification))
        .route("/audit", get(audit::audit))
        .route("/reports", get(reports::reports))
        .route("/reports.csv", get(reports::reports_csv))
        .route("/policies", get(policies::policies))
        .route("/policies/{name}", get(policies::policy))
        .route("/tokens", get(tokens::tokens).post(tokens::create_token))
        .route("/tokens/{name}/revoke", post(tokens::revoke_token))
        .route("/schedules", get(schedules::schedules))
        .route("/schedules/{name}", get(schedules::schedule))
        .route(
            "/schedules/{name}/overrides",
            post(schedules::create_override),
        )
        .route(
            HTMX_PATH,
            get(|| async { asset("text/javascript; charset=utf-8", HTMX) }),
        )
        .route(
            "/assets/shinrai.css",
            get(|| async { asset("text/css; charset=utf-8", CSS.as_bytes()) }),
        )
        .route(
            SCRIPT_PATH,
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT.as_bytes()) }),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, enforce))
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// Adds the browser protections to every answer: the Content Security Policy, no framing
/// (`frame-ancestors` and `X-Frame-Options` for older browsers), no MIME sniffing, and
/// no full URLs (with their incident numbers and tokens) in `Referer` to other sites.
/// `csp` is [`content_security_policy`] of the settings.
pub async fn security_headers(
    State(csp): State<HeaderValue>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// The route a request matched, with its rule.
fn rule(method: &str, matched: &str) -> Option<ConsoleRoute> {
    ROUTES.iter().copied().find(|r| {
        r.method == method
            && (r.path == matched
                || (matched == "/incidents/{id}/{action}"
                    && r.path.starts_with("/incidents/{id}/")))
    })
}

/// Enforces each console route's rule: a session cookie (not a token), the least role,
/// and on every POST the session's CSRF token; signed-out visitors go to the sign-in page
/// and come back.
async fn enforce(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let matched = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let Some(r) = rule(req.method().as_str(), &matched) else {
        return next.run(req).await;
    };
    let Some(role) = r.role else {
        return next.run(req).await;
    };
    let back = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let is_get = req.method() == axum::http::Method::GET;
    let sign_in = || {
        let next = if is_get {
            back.clone()
        } else {
            "/incidents".into()
        };
        Redirect::to(&format!("/login?next={}", encode(&next))).into_response()
    };
    let Some(secret) = cookie(req.headers(), SESSION_COOKIE) else {
        return sign_in();
    };
    let session = match state
        .store
        .find_session(&hash_secret(&secret), state.clock.now())
        .await
    {
        Ok(Some(s)) => s,
        Ok(None) => return sign_in(),
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let (principal, spec) = match crate::auth::user_record(&state, &session.user).await {
        Ok(found) => found,
        Err(_) => return sign_in(),
    };
    let caller = Caller { principal };
    if caller.require(role).is_err() {
        return error_page(
            StatusCode::FORBIDDEN,
            &format!(
                "This needs the {role} role, which {} does not hold.",
                caller.actor()
            ),
        );
    }
    // Every form posts the session's CSRF token; checked here, once, for all of them.
    if req.method() == axum::http::Method::POST {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "This form is larger than the console accepts (1 MiB).",
            );
        };
        let given = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if !csrf_matches(&session.csrf_token, &given) {
            return error_page(
                StatusCode::FORBIDDEN,
                "This form is stale or did not come from this console (its CSRF token does not match). Reload the page and try again.",
            );
        }
        req = Request::from_parts(parts, axum::body::Body::from(bytes));
    }
    req.extensions_mut().insert(Session {
        caller,
        name: spec.full_name.clone(),
        csrf: session.csrf_token,
        // A zone that no longer parses (the tz database changed) shows UTC, not an error.
        tz: jiff::tz::TimeZone::get(&spec.time_zone).unwrap_or(jiff::tz::TimeZone::UTC),
    });
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The largest form body the console reads.
const FORM_LIMIT: usize = 1 << 20;

/// Whether a form's CSRF token is the session's, compared in constant time.
fn csrf_matches(expected: &str, given: &str) -> bool {
    crate::auth::same_secret(expected, given)
}

/// Percent-encodes a URL component.
pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The templates, compiled once.
fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("layout.html", include_str!("../../templates/layout.html")),
            ("login.html", include_str!("../../templates/login.html")),
            ("link.html", include_str!("../../templates/link.html")),
            ("macros.html", include_str!("../../templates/macros.html")),
            ("message.html", include_str!("../../templates/message.html")),
            (
                "pages_nobody.html",
                include_str!("../../templates/pages_nobody.html"),
            ),
            (
                "incidents.html",
                include_str!("../../templates/incidents.html"),
            ),
            (
                "incidents_table.html",
                include_str!("../../templates/incidents_table.html"),
            ),
            (
                "incidents_bulk.html",
                include_str!("../../templates/incidents_bulk.html"),
            ),
            (
                "incident_new.html",
                include_str!("../../templates/incident_new.html"),
            ),
            (
                "incident.html",
                include_str!("../../templates/incident.html"),
            ),
            (
                "incident_live.html",
                include_str!("../../templates/incident_live.html"),
            ),
            (
                "timeline.html",
                include_str!("../../templates/timeline.html"),
            ),
            (
                "incident_alerts.html",
                include_str!("../../templates/incident_alerts.html"),
            ),
            ("oncall.html", include_str!("../../templates/oncall.html")),
            ("inbox.html", include_str!("../../templates/inbox.html")),
            (
                "inbox_email.html",
                include_str!("../../templates/inbox_email.html"),
            ),
            (
                "services.html",
                include_str!("../../templates/services.html"),
            ),
            ("service.html", include_str!("../../templates/service.html")),
            ("team.html", include_str!("../../templates/team.html")),
            ("teams.html", include_str!("../../templates/teams.html")),
            ("user.html", include_str!("../../templates/user.html")),
            ("users.html", include_str!("../../templates/users.html")),
            (
                "policies.html",
                include_str!("../../templates/policies.html"),
            ),
            (
                "schedules.html",
                include_str!("../../templates/schedules.html"),
            ),
            ("me.html", include_str!("../../templates/me.html")),
            ("audit.html", include_str!("../../templates/audit.html")),
            ("reports.html", include_str!("../../templates/reports.html")),
            ("policy.html", include_str!("../../templates/policy.html")),
            ("tokens.html", include_str!("../../templates/tokens.html")),
            (
                "schedule.html",
                include_str!("../../templates/schedule.html"),
            ),
        ] {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        env.add_global("htmx", HTMX_PATH);
        env.add_global("script", SCRIPT_PATH);
        env
    })
}

/// Renders a template; HTML in values is always escaped.
pub fn render(name: &str, ctx: minijinja::Value) -> Response {
    match templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "a console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// A page with a title and a message, for errors.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        _ => "Something went wrong",
    };
    let mut resp = render(
        "message.html",
        minijinja::context! { title => title, message => message },
    );
    *resp.status_mut() = status;
    resp
}
