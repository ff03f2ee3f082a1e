//! Acting on an incident from a link in an email or an SMS: `GET /l/{action}/{token}`
//! shows a confirmation page and changes nothing (mail scanners follow links); the page's
//! button POSTs to the same URL, which acts once. Tokens are signed, single-purpose and
//! expire (`runtime::links`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
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

/// A page of the link flow, in the console's layout (text is escaped by the template).
fn page(status: StatusCode, ctx: minijinja::Value) -> Response {
    let mut resp = crate::console::render("link.html", ctx);
    *resp.status_mut() = status;
    resp
}

fn refused(e: &LinkError) -> Response {
    let status = match e {
        LinkError::Expired => StatusCode::GONE,
        LinkError::Invalid | LinkError::WrongAction => StatusCode::FORBIDDEN,
    };
    page(
        status,
        context! {
            title => "This link does not work",
            text => format!("{}. Open the incident in shinrai, or run: shinrai incident ack N", capitalised(&e.to_string())),
        },
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
        context! {
            title => "Try again in a moment",
            text => format!("shinrai cannot reach its store: {e}"),
        },
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
        context! {
            title => format!("{} incident #{}?", verb(action), i.id),
            summary => &i.summary,
            text => format!("Service {}, {} urgency, now {}.", i.service, i.urgency.as_str(), i.status.as_str()),
            confirm => format!("{} as {}", verb(action), link.user),
        },
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
                context! {
                    title => "This link was already used",
                    text => "Each link acts once. Open the incident in shinrai to see where it stands.",
                },
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
            context! {
                title => format!("Incident #{} is {}", i.id, i.status.as_str()),
                lead => format!("{} by {}:", capitalised(i.status.as_str()), link.user),
                summary => &i.summary,
            },
        ),
        Err(StoreError::Conflict(m)) => page(
            StatusCode::CONFLICT,
            context! { title => "Nothing to do", text => m },
        ),
        Err(StoreError::NotFound { .. }) => refused(&LinkError::Invalid),
        Err(e) => unavailable(&e),
    }
}
