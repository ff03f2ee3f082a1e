//! Acting on an incident from a link in an email or an SMS: `GET /l/{action}/{token}`
//! shows a confirmation page and changes nothing (mail scanners follow links); the page's
//! button POSTs to the same URL, which acts once. Tokens are signed, single-purpose and
//! expire (`runtime::links`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use runtime::links::{LinkAction, LinkError};
use store::{IncidentAction, StoreError, WriteContext};

use crate::AppState;
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Get,
        "/l/{action}/{token}",
        Access::Public,
        Doc::new(
            "links",
            "A signed acknowledge or resolve link: shows a confirmation page, changes nothing",
        ),
        confirm,
    )
    .add(
        Method::Post,
        "/l/{action}/{token}",
        Access::Public,
        Doc::new("links", "Acts on a signed link, once"),
        act,
    )
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{t} · shinrai</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}\
             button{{font-size:1.1rem;padding:.6rem 1.4rem}}</style></head>\
             <body><h1>{t}</h1>{body}</body></html>",
            t = escape(title)
        )),
    )
        .into_response()
}

fn refused(e: &LinkError) -> Response {
    let status = match e {
        LinkError::Expired => StatusCode::GONE,
        LinkError::Invalid | LinkError::WrongAction => StatusCode::FORBIDDEN,
    };
    page(
        status,
        "This link does not work",
        &format!(
            "<p>{}. Open the incident in shinrai, or run <code>shinrai incident ack N</code>.</p>",
            escape(&capitalised(&e.to_string()))
        ),
    )
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn unavailable(e: &dyn std::fmt::Display) -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again in a moment",
        &format!(
            "<p>shinrai cannot reach its store: {}</p>",
            escape(&e.to_string())
        ),
    )
}

async fn check(
    state: &AppState,
    action: &str,
    token: &str,
) -> Result<(LinkAction, runtime::links::Link), Response> {
    let Some(action) = LinkAction::parse(action) else {
        return Err(refused(&LinkError::Invalid));
    };
    let secret = state.link_secret().await.map_err(|e| unavailable(&e))?;
    runtime::links::verify(&secret, token, action, state.clock.now())
        .map(|link| (action, link))
        .map_err(|e| refused(&e))
}

fn verb(action: LinkAction) -> &'static str {
    match action {
        LinkAction::Acknowledge => "Acknowledge",
        LinkAction::Resolve => "Resolve",
    }
}

async fn confirm(
    State(state): State<AppState>,
    Path((action, token)): Path<(String, String)>,
) -> Response {
    let (action, link) = match check(&state, &action, &token).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let detail = match state.store.get_incident(link.incident).await {
        Ok(Some(d)) => d,
        Ok(None) => return refused(&LinkError::Invalid),
        Err(e) => return unavailable(&e),
    };
    let i = &detail.incident;
    page(
        StatusCode::OK,
        &format!("{} incident #{}?", verb(action), i.id),
        &format!(
            "<p><strong>{summary}</strong></p><p>Service {service}, {urgency} urgency, now {status}.</p>\
             <form method=\"post\"><button type=\"submit\">{verb} as {user}</button></form>",
            summary = escape(&i.summary),
            service = escape(i.service.as_str()),
            urgency = i.urgency.as_str(),
            status = i.status.as_str(),
            verb = verb(action),
            user = escape(link.user.as_str()),
        ),
    )
}

async fn act(
    State(state): State<AppState>,
    Path((action, token)): Path<(String, String)>,
) -> Response {
    let (action, link) = match check(&state, &action, &token).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = state.clock.now();
    match state.store.use_link(&link.nonce, now).await {
        Ok(true) => {}
        Ok(false) => {
            return page(
                StatusCode::GONE,
                "This link was already used",
                "<p>Each link acts once. Open the incident in shinrai to see where it stands.</p>",
            );
        }
        Err(e) => return unavailable(&e),
    }
    let what = match action {
        LinkAction::Acknowledge => {
            // The service's acknowledgement timeout applies, as for any acknowledgement.
            let timeout = match state.store.get_incident(link.incident).await {
                Ok(Some(d)) => crate::acting::ack_timeout(&state, &d.incident.service).await,
                _ => None,
            };
            IncidentAction::Acknowledge { timeout }
        }
        LinkAction::Resolve => IncidentAction::Resolve,
    };
    let ctx = WriteContext {
        actor: format!("user:{}", link.user),
        at: now,
    };
    match state.store.act_on_incident(link.incident, what, &ctx).await {
        Ok(i) => page(
            StatusCode::OK,
            &format!("Incident #{} is {}", i.id, i.status.as_str()),
            &format!(
                "<p>{} by {}: <strong>{}</strong></p>",
                capitalised(i.status.as_str()),
                escape(link.user.as_str()),
                escape(&i.summary)
            ),
        ),
        Err(StoreError::Conflict(m)) => page(
            StatusCode::CONFLICT,
            "Nothing to do",
            &format!("<p>{}</p>", escape(&m)),
        ),
        Err(StoreError::NotFound { .. }) => refused(&LinkError::Invalid),
        Err(e) => unavailable(&e),
    }
}
