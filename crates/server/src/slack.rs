//! Slack's interactivity endpoint (`POST /integrations/slack/interactions`): the
//! Acknowledge and Resolve buttons of shinrai's messages. Every request is checked
//! against Slack's v0 signature (HMAC-SHA256 of `v0:{timestamp}:{body}` with the app's
//! signing secret) and refused when its timestamp is more than 5 minutes away. The
//! person acts as the shinrai user whose Slack contact method is their Slack user id,
//! with that user's roles; the message is then updated to say what happened.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::mac::Mac;
use serde_json::{Value, json};

use crate::AppState;
use crate::acting::Act;
use crate::routes::{Access, Doc, Method, Routes};

/// How far a request's timestamp may be from now (replay protection).
pub const MAX_SKEW_SECONDS: i64 = 300;

pub fn routes(r: Routes) -> Routes {
    r.add(
        Method::Post,
        "/integrations/slack/interactions",
        Access::Public,
        Doc::new(
            "integrations",
            "Slack interactivity: the Acknowledge and Resolve buttons (Slack's v0 signature checked)",
        ),
        interactions,
    )
}

/// `v0=<hex HMAC-SHA256(secret, "v0:{timestamp}:{body}")>`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = domain::mac::hmac::<sha2::Sha256>(secret);
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn verified(secret: &[u8], timestamp: &str, body: &[u8], given: &str) -> bool {
    let Some(hex_sig) = given.strip_prefix("v0=") else {
        return false;
    };
    let Ok(bytes) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = domain::mac::hmac::<sha2::Sha256>(secret);
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

fn answer(status: StatusCode, text: &str) -> Response {
    (
        status,
        Json(json!({ "response_type": "ephemeral", "text": text })),
    )
        .into_response()
}

async fn interactions(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(secret) = state.settings.secrets.get("slack-signing-secret") else {
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "Slack's signing secret is not set on this server; set SHINRAI_SECRET_SLACK_SIGNING_SECRET",
        );
    };
    let timestamp = header("x-slack-request-timestamp");
    let Ok(sent) = timestamp.parse::<i64>() else {
        return answer(
            StatusCode::UNAUTHORIZED,
            "X-Slack-Request-Timestamp is missing",
        );
    };
    if (state.clock.now().as_second() - sent).abs() > MAX_SKEW_SECONDS {
        return answer(
            StatusCode::UNAUTHORIZED,
            "the request is more than 5 minutes old (or the clocks disagree); refused as a possible replay",
        );
    }
    if !verified(
        secret.as_bytes(),
        timestamp,
        &body,
        header("x-slack-signature"),
    ) {
        return answer(StatusCode::UNAUTHORIZED, "X-Slack-Signature does not match");
    }
    let payload = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned());
    let Some(payload) = payload.and_then(|p| serde_json::from_str::<Value>(&p).ok()) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "the form has no JSON `payload` field",
        );
    };
    if payload["type"] != "block_actions" {
        return answer(StatusCode::OK, "nothing to do");
    }
    let action = &payload["actions"][0];
    let (what, done) = match action["action_id"].as_str() {
        Some("shinrai_ack") => ("acknowledge", "acknowledged"),
        Some("shinrai_resolve") => ("resolve", "resolved"),
        _ => return answer(StatusCode::OK, "not a shinrai button"),
    };
    let Some(incident) = action["value"].as_str().and_then(|v| v.parse::<i64>().ok()) else {
        return answer(StatusCode::BAD_REQUEST, "the button names no incident");
    };
    let slack_user = payload["user"]["id"].as_str().unwrap_or_default();
    let kinds = [domain::contact::ContactType::Slack];
    let (name, spec) = match crate::acting::user_by_contact(&state, &kinds, slack_user).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return answer(
                StatusCode::OK,
                &format!(
                    "Your Slack account ({slack_user}) is not linked to a shinrai user: add a contact method of type slack with this id"
                ),
            );
        }
        Err(e) => {
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("shinrai cannot reach its store: {e}"),
            );
        }
    };
    let act = if what == "acknowledge" {
        Act::Acknowledge
    } else {
        Act::Resolve
    };
    let text = match crate::acting::act(&state, &name, &spec, incident, act).await {
        Ok(i) => format!("#{} {done} by {name}: {}", i.id, i.summary),
        Err(e) => e,
    };
    // Update the message in place, so the channel sees what happened.
    if let (Some(slack), Some(channel), Some(ts)) = (
        state.slack(),
        payload["channel"]["id"].as_str(),
        payload["message"]["ts"].as_str(),
    ) {
        let update = json!({
            "channel": channel,
            "ts": ts,
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": runtime::notify::slack_escape(&text)}}],
        });
        if let Err(e) = slack.call("chat.update", &update).await {
            tracing::warn!(error = ?e, "the Slack message was not updated");
        }
    }
    answer(StatusCode::OK, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_signatures_follow_its_documented_example() {
        // The example from Slack's "Verifying requests from Slack" page.
        let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let sig = signature(secret, "1531420618", body);
        assert_eq!(
            sig,
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
        assert!(verified(secret, "1531420618", body, &sig));
        assert!(!verified(secret, "1531420619", body, &sig));
        assert!(!verified(secret, "1531420618", body, "v0=00"));
        assert!(!verified(secret, "1531420618", body, ""));
    }
}
