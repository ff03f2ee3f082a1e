//! The inbox: the emails shinrai sent, newest first, and each one opened as its recipient
//! read it, where the email channel keeps copies (the demo's does: it has no mail
//! server). An opened email's acknowledge and resolve links are the signed links it was
//! sent with (`server::links`), so following one acts on the incident from the message.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::Role;
use runtime::notify::KeptEmail;
use serde_json::{Value, json};

use super::{Session, error_page, pages::page};
use crate::AppState;

/// The copy the email channel kept of a notification, if it keeps copies.
fn kept(state: &AppState, notification: i64) -> Option<KeptEmail> {
    state
        .channels
        .iter()
        .filter(|c| c.name() == "email")
        .find_map(|c| c.kept(notification))
}

/// The emails shinrai sent about incidents the signed-in person may see.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    let services =
        match crate::api::incidents::services_in_scope(&state, &session.caller, Role::Viewer).await
        {
            Ok(s) => s,
            Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        };
    let sent = state
        .store
        .list_notifications(&store::NotificationQuery {
            statuses: vec!["sent".into()],
            services: Some(services),
            limit: 200,
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    let mut rows = Vec::new();
    for n in sent.iter().filter(|n| n.channel == "email") {
        let (summary, status) = match state.store.get_incident(n.incident_id).await {
            Ok(Some(d)) => (d.incident.summary, d.incident.status.as_str()),
            _ => (String::new(), ""),
        };
        rows.push(json!({
            "id": n.id, "to": n.address, "user": n.user, "incident": n.incident_id,
            "event": n.event, "summary": summary, "status": status,
            "sent": n.sent_at.map(|t| session.when(t)),
            "opens": kept(&state, n.id).is_some(),
        }));
    }
    page(&session, "inbox.html", json!({ "rows": rows }))
}

/// One email, opened: its headers and its text, with the links into shinrai it holds
/// made followable. Its links act as its recipient, so it opens for the recipient and for
/// those who may respond to the incident's service; for anyone else who may see the
/// service it is refused, and for the rest it does not exist.
pub async fn open(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let not_kept = || {
        error_page(
            StatusCode::NOT_FOUND,
            "No such email here. Only the demo's inbox keeps the emails it sends (until the server stops); emails sent by a mail server are in their recipients' mailboxes.",
        )
    };
    let Some(email) = id.parse::<i64>().ok().and_then(|id| kept(&state, id)) else {
        return not_kept();
    };
    let incident = match state.store.get_incident(email.incident).await {
        Ok(Some(d)) => d.incident,
        Ok(None) => return not_kept(),
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    let in_scope = |role| covers(&state, &session, role, &incident.service);
    match in_scope(Role::Viewer).await {
        Ok(true) => {}
        Ok(false) => return not_kept(),
        Err(e) => return error_page(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
    let recipient = session.caller.user() == Some(&email.user);
    if !recipient && !in_scope(Role::Responder).await.unwrap_or(false) {
        return error_page(
            StatusCode::FORBIDDEN,
            &format!(
                "This email opens for its recipient and for those who may respond to {}'s incidents: its links act on the incident as {}.",
                incident.service, email.user
            ),
        );
    }
    page(
        &session,
        "inbox_email.html",
        json!({
            "subject": email.subject, "to": email.to, "recipient": email.user,
            "sent": session.when(email.sent_at), "incident": incident.id,
            "status": incident.status.as_str(),
            "body": pieces(&email.body, &state.settings.public_url),
        }),
    )
}

/// Whether `role` over `service` is among the signed-in person's.
async fn covers(
    state: &AppState,
    session: &Session,
    role: Role,
    service: &domain::Name,
) -> crate::error::ApiResult<bool> {
    crate::api::incidents::services_in_scope(state, &session.caller, role)
        .await
        .map(|all| all.contains(service))
}

/// An email's text in pieces for the template, which escapes each: plain text, and links
/// into this shinrai (addresses under `public_url`) as paths on this site, so that they
/// are followed from the console whatever address it was opened at. Nothing else becomes
/// a link.
fn pieces(text: &str, public_url: &str) -> Vec<Value> {
    let base = format!("{}/", public_url.trim_end_matches('/'));
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&base) {
        let end = rest[at..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |e| at + e);
        if at > 0 {
            out.push(json!({ "text": &rest[..at] }));
        }
        let url = &rest[at..end];
        out.push(json!({ "text": url, "href": &url[base.len() - 1..] }));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        out.push(json!({ "text": rest }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_links_into_this_shinrai_become_paths_on_this_site() {
        let got = pieces(
            "Down.\nAcknowledge: https://s.example/l/ack/abc.def\nSee https://evil.example/x and https://s.example.evil/y",
            "https://s.example/",
        );
        assert_eq!(
            got,
            vec![
                json!({"text": "Down.\nAcknowledge: "}),
                json!({"text": "https://s.example/l/ack/abc.def", "href": "/l/ack/abc.def"}),
                json!({"text": "\nSee https://evil.example/x and https://s.example.evil/y"}),
            ]
        );
    }
}
