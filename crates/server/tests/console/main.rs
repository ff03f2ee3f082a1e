//! The web console over HTTP: sign-in and coming back where the link pointed, roles and
//! company scopes on every page and action, CSRF on every form, escaping of untrusted
//! text, and partial refreshes. One module per part of the console; the example
//! organisation and the helpers that sign in and open incidents are here.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::json;
use test_support::app::TestApp;

mod incident;
mod incidents;
mod pages;
mod reports;
mod signin;

const ORG: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ann, labels: {company: acme}}
spec: {full_name: Ann Acme, email: ann@acme.test, time_zone: Asia/Tokyo, roles: [{role: responder, company: acme}]}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: vic, labels: {company: acme}}
spec: {full_name: Vic Viewer, email: vic@acme.test, roles: [{role: viewer, company: acme}]}
---
apiVersion: shinrai/v1
kind: User
metadata: {name: gus, labels: {company: globex}}
spec: {full_name: Gus Globex, email: gus@globex.test, roles: [{role: admin, company: globex}]}
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: shop, labels: {company: acme}}
spec: {members: [ann, vic]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: checkout, labels: {company: acme, product: shop}}
spec:
  owner_team: shop
  escalation_policy: shop
  integrations: [{name: prom, type: pagerduty, key: acme-checkout-key-0001}]
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {name: shop, labels: {company: acme}}
spec: {team: shop, levels: [{targets: [{schedule: primary}], delay_minutes: 10}]}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: primary, labels: {company: acme}}
spec:
  time_zone: UTC
  layers: [{name: weekly, users: [ann, vic], rotation: 1w, start: "2023-11-13T09:00"}]
"#;

const PASSWORD: &str = "correct horse battery staple";

async fn start() -> TestApp {
    let app = TestApp::start(test_support::sqlite_store().await).await;
    app.apply("org.yaml", ORG).await;
    for user in ["ann", "vic", "gus"] {
        let hash = server::api::session::hash_password(PASSWORD).unwrap();
        app.store
            .set_password(
                &domain::Name::new(user).unwrap(),
                &hash,
                &store::WriteContext {
                    actor: "system".into(),
                    at: test_support::t0(),
                },
            )
            .await
            .unwrap();
    }
    app
}

/// A browser: keeps cookies, does not follow redirects (tests look at them).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Opens the sign-in page, as a browser does before posting it: the form's CSRF token.
async fn login_form(b: &reqwest::Client, app: &TestApp) -> String {
    let (status, html) = page(b, &format!("{}/login", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    csrf(&html)
}

async fn sign_in(app: &TestApp, email: &str) -> reqwest::Client {
    let b = browser();
    let token = login_form(&b, app).await;
    let resp = b
        .post(format!("{}/login", app.base))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("next", "/incidents"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{email} signs in");
    b
}

/// The CSRF token of a page's forms.
fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    html[at + 19..].split('"').next().unwrap().to_owned()
}

async fn page(b: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let resp = b.get(url).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn open_incident(app: &TestApp, summary: &str) -> i64 {
    let resp = app
        .http
        .post(format!("{}/v2/enqueue", app.base))
        .json(&json!({"routing_key": "acme-checkout-key-0001", "event_action": "trigger", "dedup_key": summary,
                      "payload": {"summary": summary, "source": "test", "severity": "critical"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    app.store
        .list_incidents(&store::IncidentQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id
}

/// Another company's objects, of every kind the list pages show.
const GLOBEX: &str = r#"
apiVersion: shinrai/v1
kind: Team
metadata: {name: rockets, labels: {company: globex}}
spec: {members: [gus]}
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {name: rockets, labels: {company: globex}}
spec: {team: rockets, levels: [{targets: [{schedule: night}, {user: gus}, {team: rockets}], delay_minutes: 5}]}
---
apiVersion: shinrai/v1
kind: Schedule
metadata: {name: night, labels: {company: globex}}
spec:
  time_zone: UTC
  layers: [{name: weekly, users: [gus], rotation: 1w, start: "2023-11-13T09:00"}]
"#;

/// The `href`s of a page's links and stylesheets, as written (entities decoded).
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

async fn open_incident_on(app: &TestApp, key: &str, summary: &str) -> i64 {
    let resp = app
        .http
        .post(format!("{}/v2/enqueue", app.base))
        .json(
            &json!({"routing_key": key, "event_action": "trigger", "dedup_key": summary,
                      "payload": {"summary": summary, "source": "test", "severity": "critical"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    app.store
        .list_incidents(&store::IncidentQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id
}

/// A console test server over `store` with `settings` and notification `channels`, the
/// test organisation and `more` documents applied, and everyone's password set.
async fn start_with(
    store: test_support::TestStore,
    settings: server::Settings,
    channels: Vec<std::sync::Arc<dyn runtime::notify::Channel>>,
    more: &str,
) -> TestApp {
    let app = TestApp::start_with_channels(store, settings, channels).await;
    app.apply("org.yaml", &format!("{ORG}---{more}")).await;
    for user in ["ann", "vic", "gus", "ada"] {
        let hash = server::api::session::hash_password(PASSWORD).unwrap();
        app.store
            .set_password(
                &domain::Name::new(user).unwrap(),
                &hash,
                &store::WriteContext {
                    actor: "system".into(),
                    at: test_support::t0(),
                },
            )
            .await
            .unwrap();
    }
    app
}

/// A page with the slashes the templates escape in values (`&#x2f;`) as slashes, and
/// without the line-break opportunities (`<wbr>`) put in URLs.
fn slashes(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("<wbr>", "")
}

/// The live part of an incident's page, as htmx asks for it every few seconds.
async fn live(b: &reqwest::Client, app: &TestApp, id: i64) -> String {
    let resp = b
        .get(format!("{}/incidents/{id}", app.base))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.unwrap()
}

/// The position of `needle` in `html`, which must contain it.
fn at(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in {html}"))
}
