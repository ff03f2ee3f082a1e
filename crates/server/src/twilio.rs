//! Inbound Twilio webhooks: replies to SMS pages (`ACK 12`, `RESOLVE 12`) and key presses
//! in voice calls (1 acknowledges, 2 resolves). Each request is checked against
//! `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the account's auth token, over
//! the URL Twilio called followed by every POST parameter sorted by name, name and value
//! concatenated. Answers are TwiML.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use domain::Name;
use domain::contact::ContactType;
use domain::mac::Mac;
use paging::Status;

use crate::AppState;
use crate::acting::{Act, act, user, user_by_contact};
use crate::routes::{Access, Doc, Method, Routes};

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Post,
        "/integrations/twilio/sms",
        Access::Public,
        Doc::new(
            "integrations",
            "Twilio: a reply to an SMS page (ACK 12, RESOLVE 12); X-Twilio-Signature checked",
        ),
        sms,
    )
    .add(
        Method::Post,
        "/integrations/twilio/voice",
        Access::Public,
        Doc::new(
            "integrations",
            "Twilio: a key pressed in a voice page (1 acknowledges, 2 resolves); X-Twilio-Signature checked",
        ),
        voice,
    )
}

/// Twilio's signature of a form POST to `url`.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = domain::mac::hmac::<sha1::Sha1>(auth_token.as_bytes());
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn twiml(status: StatusCode, inner: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{inner}</Response>"),
    )
        .into_response()
}

fn message(text: &str) -> Response {
    twiml(
        StatusCode::OK,
        &format!("<Message>{}</Message>", runtime::notify::xml_escape(text)),
    )
}

fn say(text: &str) -> Response {
    twiml(
        StatusCode::OK,
        &format!("<Say>{}</Say>", runtime::notify::xml_escape(text)),
    )
}

/// The form's parameters, if the request is signed by Twilio for this URL.
fn checked(
    state: &AppState,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Box<Response>> {
    let Some(token) = state.settings.secrets.get("twilio-auth-token") else {
        return Err(Box::new(twiml(
            StatusCode::SERVICE_UNAVAILABLE,
            "<Say>shinrai has no Twilio auth token: set SHINRAI_SECRET_TWILIO_AUTH_TOKEN.</Say>",
        )));
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let url = format!(
        "{}{}",
        state.settings.public_url.trim_end_matches('/'),
        uri.path_and_query().map_or(uri.path(), |p| p.as_str())
    );
    let given = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let expected = signature(token, &url, &params);
    let same = crate::auth::same_secret(&expected, given);
    if !same {
        return Err(Box::new(
            (StatusCode::FORBIDDEN, "X-Twilio-Signature does not match").into_response(),
        ));
    }
    Ok(params)
}

/// Records a callback's identity (Twilio's message or call id and what it asks for) as
/// used; `Ok(false)` when it already was. A callback without an id is refused: Twilio
/// always sends one, so it cannot be told apart from a replay.
async fn first_time(state: &AppState, id: &str) -> Result<bool, String> {
    let sid = id.split(':').nth(2).unwrap_or("");
    if sid.is_empty() {
        return Err(
            "This request has no MessageSid or CallSid, so shinrai cannot act on it only once"
                .into(),
        );
    }
    state
        .store
        .use_link(id, state.clock.now())
        .await
        .map_err(|e| format!("shinrai cannot reach its store: {e}"))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

async fn sms(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match checked(&state, &uri, &headers, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let from = param(&params, "From");
    let text = param(&params, "Body").trim().to_ascii_uppercase();
    let mut words = text.split_whitespace();
    let what = match words.next() {
        Some("ACK" | "ACKNOWLEDGE" | "A") => Act::Acknowledge,
        Some("RESOLVE" | "R") => Act::Resolve,
        _ => {
            return message(
                "Reply ACK 12 to acknowledge incident #12, or RESOLVE 12 to resolve it.",
            );
        }
    };
    let (name, spec) =
        match user_by_contact(&state, &[ContactType::Sms, ContactType::Voice], from).await {
            Ok(Some(u)) => u,
            Ok(None) => return message("This number is not a contact method of any shinrai user."),
            Err(e) => return message(&format!("shinrai cannot reach its store: {e}")),
        };
    let number = words
        .next()
        .map(|w| w.trim_start_matches('#').parse::<i64>());
    let incident = match number {
        Some(Ok(n)) => n,
        Some(Err(_)) => return message("Name the incident by its number: ACK 12."),
        // Without a number: the newest open incident assigned to them.
        None => match newest_assigned(&state, &name).await {
            Some(n) => n,
            None => return message("No open incident is assigned to you; name one: ACK 12."),
        },
    };
    // Twilio's signature does not expire: a replayed request (or Twilio's own retry) with
    // the same message and words acts at most once, on every node.
    let replay = first_time(
        &state,
        &format!(
            "twilio:sms:{}:{incident}:{text}",
            param(&params, "MessageSid")
        ),
    )
    .await;
    match replay {
        Ok(true) => {}
        Ok(false) => return message("This reply was already handled."),
        Err(e) => return message(&e),
    }
    match act(&state, &name, &spec, incident, what).await {
        Ok(i) => message(&format!("#{} {} by {name}.", i.id, what.done())),
        Err(e) => message(&e),
    }
}

async fn newest_assigned(state: &AppState, user: &Name) -> Option<i64> {
    let open = state
        .store
        .list_incidents(&store::IncidentQuery {
            statuses: vec![Status::Triggered, Status::Acknowledged],
            limit: 200,
            ..Default::default()
        })
        .await
        .ok()?;
    open.into_iter()
        .find(|i| i.assignees.iter().any(|a| a == user.as_str()))
        .map(|i| i.id)
}

async fn voice(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match checked(&state, &uri, &headers, &body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let incident = param(&query, "incident").parse::<i64>().ok();
    let name = Name::new(param(&query, "user")).ok();
    let (Some(incident), Some(name)) = (incident, name) else {
        return say("This call does not name an incident. Goodbye.");
    };
    let what = match param(&params, "Digits") {
        "1" => Act::Acknowledge,
        "2" => Act::Resolve,
        _ => return say("Press 1 to acknowledge or 2 to resolve. Goodbye."),
    };
    let spec = match user(&state, &name).await {
        Ok(Some(s)) => s,
        _ => return say("This call is for a user shinrai does not know. Goodbye."),
    };
    let replay = first_time(
        &state,
        &format!(
            "twilio:voice:{}:{incident}:{name}:{}",
            param(&params, "CallSid"),
            param(&params, "Digits")
        ),
    )
    .await;
    match replay {
        Ok(true) => {}
        Ok(false) => return say("This key press was already handled. Goodbye."),
        Err(e) => return say(&format!("{e}. Goodbye.")),
    }
    match act(&state, &name, &spec, incident, what).await {
        Ok(i) => say(&format!("Incident {} {}. Goodbye.", i.id, what.done())),
        Err(e) => say(&format!("{e}. Goodbye.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_twilios_own_library() {
        // Computed with twilio-python's RequestValidator for this token, URL and form.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }
}
