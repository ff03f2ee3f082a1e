//! Signing in and out of the console: the sign-in form with its own CSRF cookie, and
//! where to go afterwards.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::{error_page, render};
use crate::AppState;
use crate::api::session::SignIn;
use crate::auth::{SESSION_COOKIE, hash_secret};
use crate::client::ClientIp;

/// Where to go after signing in: a plain path on this site, never elsewhere. Browsers
/// drop tabs and newlines from URLs and read `\\` as `/`, so `/\t/evil.example` and
/// `/\\evil.example` would lead off the site; any control character is refused too (a
/// newline could never be a `Location` header).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/incidents".into(),
    }
}

#[derive(Debug, Deserialize)]
pub struct NextParam {
    #[serde(default)]
    next: Option<String>,
}

/// The sign-in form's CSRF token lives in this cookie until the form is posted: a page
/// on another site cannot read it, so it cannot post the form with it (which would sign
/// the victim in as the attacker).
pub const LOGIN_CSRF_COOKIE: &str = "shinrai_login_csrf";
pub async fn login_page(headers: HeaderMap, Query(q): Query<NextParam>) -> Response {
    let token = crate::auth::cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| runtime::entropy::secret(""));
    let mut resp = render(
        "login.html",
        context! { next => safe_next(q.next.as_deref()), error => None::<String>, csrf => token.clone() },
    );
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let expected = crate::auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let again = |status: StatusCode, msg: &str| {
        let mut r = render(
            "login.html",
            context! { next => next.clone(), error => msg, csrf => expected.clone() },
        );
        *r.status_mut() = status;
        r
    };
    if !crate::auth::same_secret(&expected, &form.csrf) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This sign-in form is stale or did not come from this console (its CSRF token does not match). Open the sign-in page again.",
        );
    }
    match crate::api::session::start(&state, &form.email, form.password, client).await {
        Ok(SignIn::Opened(cookie, _csrf, _)) => {
            // `next` is a plain path, so it always makes a `Location`; the cookie is set
            // only on the redirect that carries it.
            let Ok(location) = HeaderValue::from_str(&next) else {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "The page to return to is not a path.",
                );
            };
            let mut resp = StatusCode::SEE_OTHER.into_response();
            resp.headers_mut().insert(header::LOCATION, location);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            let spent =
                format!("{LOGIN_CSRF_COOKIE}=; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0");
            if let Ok(v) = HeaderValue::from_str(&spent) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Ok(SignIn::Refused) => again(StatusCode::UNAUTHORIZED, "Wrong email or password."),
        Ok(SignIn::Throttled(retry_after)) => {
            let seconds = crate::error::retry_seconds(retry_after);
            let mut r = again(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many failed sign-ins for this account or from this address. Try again in {seconds} seconds."
                ),
            );
            r.headers_mut().insert(header::RETRY_AFTER, seconds.into());
            r
        }
        Err(e) => again(e.status(), &format!("shinrai cannot sign you in now: {e}")),
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(secret) = crate::auth::cookie(&headers, SESSION_COOKIE) {
        let _ = state.store.delete_session(&hash_secret(&secret)).await;
    }
    let mut resp = Redirect::to("/login").into_response();
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}
