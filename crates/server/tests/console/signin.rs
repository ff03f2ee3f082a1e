//! Signing in: coming back where the link pointed, the sign-in form's own CSRF token, the
//! browser protections on every answer and the name in the header.

use super::*;

#[tokio::test]
async fn signing_in_returns_to_the_page_the_link_pointed_at() {
    let app = start().await;
    let id = open_incident(&app, "disk full").await;
    let b = browser();
    let resp = b
        .get(format!("{}/incidents/{id}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/login?next=%2Fincidents%2F{id}"));
    let (status, html) = page(&b, &format!("{}{to}", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    // (minijinja escapes `/` in attribute values too; browsers read it back as `/`.)
    assert!(
        html.contains(&format!(
            "name=\"next\" value=\"&#x2f;incidents&#x2f;{id}\""
        )),
        "{html}"
    );
    // A wrong password says so; the right one goes back to the incident.
    let token = csrf(&html);
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", "nope"),
            ("next", &format!("/incidents/{id}")),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("next", &format!("/incidents/{id}")),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        format!("/incidents/{id}").as_str()
    );
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let (status, html) = page(&b, &format!("{}/incidents/{id}", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("disk full"));
    // `next` never leads off the site.
    let b = browser();
    let token = login_form(&b, &app).await;
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/incidents");
}

/// Signs in with `next`; returns the answer's status and `Location`, and whether it set
/// a session cookie.
async fn sign_in_to(app: &TestApp, next: &str) -> (StatusCode, Option<String>, bool) {
    let b = browser();
    let token = login_form(&b, app).await;
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("next", next),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    let session = resp.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap().starts_with("shinrai_session=")
            && !c.to_str().unwrap().contains("Max-Age=0")
    });
    (
        resp.status(),
        resp.headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned()),
        session,
    )
}

#[tokio::test]
async fn next_is_a_plain_path_on_this_site_or_the_incidents() {
    let app = start().await;
    // Browsers drop tabs and newlines and read `\` as `/`: each of these would lead off
    // the site, or (a newline) could not be a header at all.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "//evil.example",
        "https://evil.example/",
        "/incidents\r\nSet-Cookie: planted=1",
        "/incidents\u{7f}",
        "evil",
    ] {
        assert_eq!(
            sign_in_to(&app, next).await,
            (StatusCode::SEE_OTHER, Some("/incidents".to_owned()), true),
            "next = {next:?}"
        );
    }
    assert_eq!(
        sign_in_to(&app, "/services/checkout?tab=keys#top").await,
        (
            StatusCode::SEE_OTHER,
            Some("/services/checkout?tab=keys#top".to_owned()),
            true
        )
    );
}

#[tokio::test]
async fn the_sign_in_form_needs_its_own_csrf_token() {
    let app = start().await;
    // A form posted from another site has no token (and no cookie with it).
    let resp = browser()
        .post(format!("{}/login", app.base))
        .form(&[("email", "ann@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get("set-cookie").is_none());
    // A token that is not this browser's.
    let b = browser();
    login_form(&b, &app).await;
    let other = login_form(&browser(), &app).await;
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("csrf", other.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get("set-cookie").is_none());
    // Failures past the account's free ones wait, with the wait said.
    let token = login_form(&b, &app).await;
    for _ in 0..5 {
        let resp = b
            .post(format!("{}/login", app.base))
            .form(&[
                ("email", "ann@acme.test"),
                ("password", "wrong"),
                ("csrf", token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", "ann@acme.test"),
            ("password", PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Try again in 1 seconds")
    );
}

#[tokio::test]
async fn every_answer_carries_the_browser_protections_and_pages_have_no_inline_script() {
    let app = start().await;
    let b = sign_in(&app, "ann@acme.test").await;
    for path in [
        "/login",
        "/incidents",
        "/services/checkout",
        "/incidents/999999",
        "/api/v1/whoami",
        "/assets/shinrai.js",
    ] {
        let resp = b.get(format!("{}{path}", app.base)).send().await.unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline")
                && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let html = resp.text().await.unwrap();
        assert!(!html.contains("<script>"), "{path} has an inline script");
        assert!(!html.contains(" onclick="), "{path} has an inline handler");
    }
    let (status, js) = page(&b, &format!("{}/assets/shinrai.js", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.contains("button[data-copy]"), "{js}");
}

#[tokio::test]
async fn the_header_shows_the_signed_in_persons_name() {
    let app = start().await;
    let ann = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&ann, &format!("{}/incidents", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<span class=\"who\">Ann Acme</span>"),
        "{html}"
    );
    assert!(!html.contains("user:ann"), "{html}");
}
