//! The other pages: on call and overrides, services, teams, people, tokens, what a viewer
//! may see and link to, and every link answering.

use super::*;

#[tokio::test]
async fn people_see_who_is_on_call_and_create_an_override() {
    let app = start().await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&b, &format!("{}/oncall", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("/schedules/primary") && html.contains("ann"),
        "{html}"
    );
    // Services: whom checkout's policy pages first now, and after the next handover
    // (Monday 09:00 UTC, shown in Ann's zone).
    assert!(
        html.contains(r#"<td data-label="Service"><a href="/services/checkout">checkout</a></td>"#)
            && html.contains(r#"<a href="/policies/shop">shop</a></td>"#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<td data-label="Paged first now">ann</td><td data-label="Next">vic</td><td data-label="From">2023-11-20 18:00 JST</td>"#
        ),
        "{html}"
    );
    // Ann reads the UTC schedule in her own zone, Tokyo: the week of Monday 13 November
    // 2023, where the first handover (Monday 09:00 UTC) is at 18:00.
    let (status, html) = page(&b, &format!("{}/schedules/primary", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Times in Asia&#x2f;Tokyo; the schedule hands off in UTC"),
        "{html}"
    );
    assert!(html.contains("Week of Mon 13 Nov 2023"), "{html}");
    let piece = |kind: &str, who: &str, span: &str| {
        format!(
            r#"<div class="piece {kind}"><span class="who">{who}</span> <span class="t">{span}</span></div>"#
        )
    };
    assert!(
        html.contains(&piece("gap", "nobody", "00:00–18:00")),
        "{html}"
    );
    assert!(
        html.contains(&piece("shift", "ann", "18:00–24:00")),
        "{html}"
    );
    // An override from midnight in Tokyo, as the form shows it.
    let token = csrf(&html);
    let resp = b
        .post(format!("{}/schedules/primary/overrides", app.base))
        .form(&[
            ("csrf", token.as_str()),
            ("user", "vic"),
            ("start", "2023-11-15T00:00"),
            ("hours", "6"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let back = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, "/schedules/primary?view=week&date=2023-11-15");
    let stored = app
        .store
        .list_overrides(
            &domain::Name::new("primary").unwrap(),
            "2023-11-01T00:00:00Z".parse().unwrap(),
            "2023-12-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].start.to_string(), "2023-11-14T15:00:00Z");
    let (_, html) = page(&b, &format!("{}{back}", app.base)).await;
    // In the overrides row, and in the result: vic covers, then ann again.
    assert_eq!(
        html.matches(&piece("override", "vic", "00:00–06:00"))
            .count(),
        2,
        "{html}"
    );
    assert!(
        html.contains(&piece("shift", "ann", "06:00–24:00")),
        "{html}"
    );
    // The same week in UTC, asked for.
    let (_, html) = page(
        &b,
        &format!("{}/schedules/primary?date=2023-11-15&tz=UTC", app.base),
    )
    .await;
    assert!(
        html.contains(&piece("override", "vic", "15:00–21:00")),
        "{html}"
    );
    assert!(
        html.contains(r#"href="?view=month&amp;date=2023-11-15&amp;tz=UTC""#),
        "links keep the zone: {html}"
    );
    // The month: November 2023 starts on a Wednesday, so its grid starts Monday 30 October.
    let (_, html) = page(
        &b,
        &format!("{}/schedules/primary?view=month&date=2023-11-15", app.base),
    )
    .await;
    assert!(
        html.contains("November 2023") && html.contains("Mon 30 Oct"),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="tag">override</span>"#),
        "{html}"
    );
    let (_, html) = page(
        &b,
        &format!("{}/schedules/primary?view=list&date=2023-11-15", app.base),
    )
    .await;
    assert!(
        html.contains("2023-11-15 00:00 JST"),
        "the list in Tokyo time: {html}"
    );
    // Bad parameters name the field.
    for (query, field) in [
        ("tz=Mars/Olympus", "tz:"),
        ("date=15.11.2023", "date:"),
        ("view=year", "view:"),
    ] {
        let (status, html) = page(&b, &format!("{}/schedules/primary?{query}", app.base)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(html.contains(field), "{query}: {html}");
    }
    let (status, _) = page(&b, &format!("{}{}", app.base, server::console::HTMX_PATH)).await;
    assert_eq!(status, StatusCode::OK, "htmx is served from the binary");
}

#[tokio::test]
async fn services_teams_and_my_page_show_what_responders_need() {
    let app = start().await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&b, &format!("{}/services", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("/services/checkout"), "{html}");
    let (_, html) = page(&b, &format!("{}/services/checkout", app.base)).await;
    // A responder may not manage the service, so its keys are not shown to her.
    assert!(
        !html.contains("acme-checkout-key-0001") && html.contains("hidden"),
        "{html}"
    );
    assert!(
        html.contains("managed by <code>org.yaml</code>"),
        "files own it: {html}"
    );
    let (status, html) = page(&b, &format!("{}/teams/shop", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("checkout"), "{html}");
    let (_, html) = page(&b, &format!("{}/me", app.base)).await;
    assert!(
        html.contains("My shifts") && html.contains("ann@acme.test"),
        "{html}"
    );
    let token = csrf(&html);
    let resp = b
        .post(format!("{}/me/test-notification", app.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("email: does not work (no email provider is configured"),
        "{html}"
    );
    // The audit log is for admins.
    let (status, _) = page(&b, &format!("{}/audit", app.base)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let gus = sign_in(&app, "gus@globex.test").await;
    let (status, html) = page(&gus, &format!("{}/audit", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("checkout"),
        "another company's changes stay hidden: {html}"
    );
    let (status, _) = page(&gus, &format!("{}/services/checkout", app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admins_make_and_revoke_api_tokens_from_the_console() {
    let app = start().await;
    let gus = sign_in(&app, "gus@globex.test").await;
    let (status, html) = page(&gus, &format!("{}/tokens", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    let token = csrf(&html);
    let resp = gus
        .post(format!("{}/tokens", app.base))
        .form(&[
            ("csrf", token.as_str()),
            ("name", "ads-ci"),
            ("role", "viewer"),
            ("company", "globex"),
        ])
        .send()
        .await
        .unwrap();
    let html = resp.text().await.unwrap();
    let at = html
        .find("<code id=\"secret\">")
        .expect("the secret is shown once")
        + 18;
    let secret = html[at..].split('<').next().unwrap().to_owned();
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/services",
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the new token works");
    // A company admin cannot mint a global admin token.
    let resp = gus
        .post(format!("{}/tokens", app.base))
        .form(&[
            ("csrf", token.as_str()),
            ("name", "too-much"),
            ("role", "admin"),
        ])
        .send()
        .await
        .unwrap();
    assert!(!resp.text().await.unwrap().contains("id=\"secret\""));
    let resp = gus
        .post(format!("{}/tokens/ads-ci/revoke", app.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            "/api/v1/services",
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    // Responders do not manage tokens.
    let ann = sign_in(&app, "ann@acme.test").await;
    let (status, _) = page(&ann, &format!("{}/tokens", app.base)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn list_pages_show_only_the_objects_the_viewer_may_see() {
    let app = start().await;
    app.apply("globex.yaml", GLOBEX).await;
    let vic = sign_in(&app, "vic@acme.test").await;
    let gus = sign_in(&app, "gus@globex.test").await;
    let cases: [(&str, &[&str], &[&str]); 4] = [
        ("/schedules", &["/schedules/primary"], &["/schedules/night"]),
        ("/teams", &["/teams/shop"], &["/teams/rockets"]),
        ("/policies", &["/policies/shop"], &["/policies/rockets"]),
        ("/users", &["/users/ann", "/users/vic"], &["/users/gus"]),
    ];
    for (path, acme, globex) in cases {
        let (status, html) = page(&vic, &format!("{}{path}", app.base)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let found = links(&html);
        for want in acme {
            assert!(found.iter().any(|l| l == want), "{path} lists {want}");
        }
        for other in globex {
            assert!(!found.iter().any(|l| l == other), "{path} hides {other}");
        }
        let (status, html) = page(&gus, &format!("{}{path}", app.base)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let found = links(&html);
        for want in globex {
            assert!(
                found.iter().any(|l| l == want),
                "{path} lists {want} to globex"
            );
        }
        for other in acme {
            assert!(
                !found.iter().any(|l| l == other),
                "{path} hides {other} from globex"
            );
        }
        // The layout links to every list page.
        assert!(
            found.iter().any(|l| l == path),
            "the layout links to {path}"
        );
    }
    // Another company's person has no page for this viewer.
    let (status, _) = page(&vic, &format!("{}/users/gus", app.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_mention_of_an_object_links_to_its_page() {
    let app = start().await;
    let id = open_incident(&app, "disk full").await;
    let ann = sign_in(&app, "ann@acme.test").await;
    let expect = [
        (format!("/incidents/{id}"), "/services/checkout"),
        ("/incidents".to_owned(), "/services/checkout"),
        ("/teams/shop".to_owned(), "/users/ann"),
        ("/teams/shop".to_owned(), "/users/vic"),
        ("/policies/shop".to_owned(), "/schedules/primary"),
        ("/policies/shop".to_owned(), "/teams/shop"),
        ("/services/checkout".to_owned(), "/teams/shop"),
        ("/services/checkout".to_owned(), "/policies/shop"),
        ("/services".to_owned(), "/policies/shop"),
        ("/users/ann".to_owned(), "/teams/shop"),
        ("/users/ann".to_owned(), "/schedules/primary"),
    ];
    for (at, link) in expect {
        let (status, html) = page(&ann, &format!("{}{at}", app.base)).await;
        assert_eq!(status, StatusCode::OK, "{at}");
        assert!(
            links(&html).iter().any(|l| l == link),
            "{at} links to {link}"
        );
    }
    // Whoever is on call (ann or vic, by the week) is a link on the on-call page, and so
    // is the person an incident is assigned to.
    let (_, html) = page(&ann, &format!("{}/oncall", app.base)).await;
    assert!(
        links(&html)
            .iter()
            .any(|l| l == "/users/ann" || l == "/users/vic"),
        "/oncall links to the person on call: {html}"
    );
    let (_, html) = page(&ann, &format!("{}/incidents/{id}", app.base)).await;
    let resp = ann
        .post(format!("{}/incidents/{id}/reassign", app.base))
        .form(&[("csrf", csrf(&html)), ("to", "vic".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&ann, &format!("{}/incidents/{id}", app.base)).await;
    assert!(
        html.contains(r#"assigned to <a href="/users/vic">vic</a>"#),
        "the assignee links to their page: {html}"
    );
}

#[tokio::test]
async fn every_link_on_every_console_page_answers() {
    let app = start().await;
    app.apply("globex.yaml", GLOBEX).await;
    let id = open_incident(&app, "disk full").await;
    for email in ["ann@acme.test", "vic@acme.test", "gus@globex.test"] {
        let b = sign_in(&app, email).await;
        // Pages without a query are crawled; every link on them must answer 200 (links
        // with a query, such as a calendar's next week, are checked but not followed).
        let mut todo = vec!["/incidents".to_owned(), format!("/incidents/{id}")];
        let mut crawled = std::collections::BTreeSet::new();
        let mut checked = std::collections::BTreeSet::new();
        while let Some(path) = todo.pop() {
            if !crawled.insert(path.clone()) {
                continue;
            }
            let (status, html) = page(&b, &format!("{}{path}", app.base)).await;
            if path == format!("/incidents/{id}") && email == "gus@globex.test" {
                assert_eq!(status, StatusCode::NOT_FOUND, "another company's incident");
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{email}: {path}");
            for href in links(&html) {
                let target = if href.starts_with('?') {
                    format!("{path}{href}")
                } else if href.starts_with('/') && !href.starts_with("//") {
                    href
                } else {
                    continue; // another site, or a data: URL
                };
                let target = target.split('#').next().unwrap_or_default().to_owned();
                if target.contains('?') || target.starts_with("/assets/") {
                    if checked.insert(target.clone()) {
                        let (status, _) = page(&b, &format!("{}{target}", app.base)).await;
                        assert_eq!(status, StatusCode::OK, "{email}: {path} links to {target}");
                    }
                } else if !crawled.contains(&target) {
                    todo.push(target);
                }
            }
        }
        assert!(crawled.len() > 10, "{email} crawled {crawled:?}");
    }
}

const SILENT: &str = r#"
apiVersion: shinrai/v1
kind: Service
metadata: {name: lonely, labels: {company: acme}}
spec:
  owner_team: shop
  integrations: [{name: prom, type: pagerduty, key: acme-lonely-key-0001}]
---
apiVersion: shinrai/v1
kind: User
metadata: {name: zed, labels: {company: acme}}
spec: {full_name: Zed Quiet, email: zed@acme.test, notification_rules: {}}
---
apiVersion: shinrai/v1
kind: EscalationPolicy
metadata: {name: quiet, labels: {company: acme}}
spec: {team: shop, levels: [{targets: [{user: zed}], delay_minutes: 10}]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: muted, labels: {company: acme}}
spec:
  owner_team: shop
  escalation_policy: quiet
  integrations: [{name: prom, type: pagerduty, key: acme-muted-key-0001}]
"#;

#[tokio::test]
async fn incidents_that_page_nobody_say_so_and_why() {
    let app = start().await;
    app.apply("org.yaml", &format!("{ORG}---{SILENT}")).await;
    let b = sign_in(&app, "ann@acme.test").await;
    let healthy = open_incident_on(&app, "acme-checkout-key-0001", "disk full").await;
    let lonely = open_incident_on(&app, "acme-lonely-key-0001", "lonely down").await;
    let muted = open_incident_on(&app, "acme-muted-key-0001", "muted down").await;
    for (service, id, reason) in [
        ("lonely", lonely, "no escalation policy"),
        ("muted", muted, "level 1: zed cannot be reached"),
    ] {
        let (_, html) = page(&b, &format!("{}/incidents/{id}", app.base)).await;
        assert!(
            html.contains("class=\"pages-nobody\"") && html.contains("Nobody will be paged"),
            "{html}"
        );
        assert!(html.contains(reason), "{reason}: {html}");
        // The live part says so too: it is what the page refreshes every few seconds.
        let fragment = live(&b, &app, id).await;
        assert!(
            fragment.contains("Nobody will be paged") && fragment.contains(reason),
            "{reason}: {fragment}"
        );
        let (_, html) = page(&b, &format!("{}/services/{service}", app.base)).await;
        assert!(
            html.contains("class=\"pages-nobody\"") && html.contains(reason),
            "{reason}: {html}"
        );
    }
    let (_, html) = page(&b, &format!("{}/incidents", app.base)).await;
    assert!(html.contains("no escalation policy"), "{html}");
    assert!(html.contains("level 1: zed cannot be reached"), "{html}");
    assert_eq!(html.matches("class=\"nobody-paged\"").count(), 2, "{html}");
    let (_, html) = page(&b, &format!("{}/incidents/{healthy}", app.base)).await;
    assert!(!html.contains("Nobody will be paged"), "{html}");
    let (_, html) = page(&b, &format!("{}/services/checkout", app.base)).await;
    assert!(!html.contains("Nobody will be paged"), "{html}");
}

/// A console test server that people reach at `public_url`.
async fn start_at(public_url: &str, more: &str) -> TestApp {
    let settings = server::Settings {
        public_url: public_url.into(),
        ..server::Settings::default()
    };
    start_with(
        test_support::sqlite_store().await,
        settings,
        Vec::new(),
        more,
    )
    .await
}

const SEND_TO: &str = r#"
apiVersion: shinrai/v1
kind: User
metadata: {name: ada, labels: {company: acme}}
spec: {full_name: Ada Admin, email: ada@acme.test, roles: [{role: admin, company: acme}]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: search, labels: {company: acme}}
spec:
  owner_team: shop
  integrations:
    - {name: dd, type: datadog, key: acme-search-datadog-01}
    - {name: prom, type: pagerduty, key: acme-search-pagerduty-1}
"#;

#[tokio::test]
async fn the_service_page_shows_where_to_send_key_included_only_to_managers() {
    let app = start_at("https://shinrai.example", SEND_TO).await;
    let ada = sign_in(&app, "ada@acme.test").await;
    let (status, html) = page(&ada, &format!("{}/services/search", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    let html = slashes(&html);
    assert!(
        html.contains(
            "<code id=\"url-dd\" class=\"url\">https://shinrai.example/integrations/datadog/acme-search-datadog-01</code>"
        ),
        "an admin sees the full URL to paste into Datadog: {html}"
    );
    assert!(
        html.contains("https://shinrai.example/v2/enqueue") && html.contains("routing_key"),
        "PagerDuty senders post to /v2/enqueue with the key as routing_key: {html}"
    );
    let ann = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&ann, &format!("{}/services/search", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    let html = slashes(&html);
    assert!(
        html.contains("https://shinrai.example/integrations/datadog/••••••••"),
        "a responder sees the URL with its key masked: {html}"
    );
    assert!(
        !html.contains("acme-search-datadog-01") && !html.contains("acme-search-pagerduty-1"),
        "and never the keys: {html}"
    );
}

#[tokio::test]
async fn an_override_from_a_local_time_the_clocks_skip_is_refused_naming_both_instants() {
    let app = start().await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (_, html) = page(&b, &format!("{}/schedules/primary", app.base)).await;
    let token = csrf(&html);
    let post = |start: &'static str| {
        b.post(format!("{}/schedules/primary/overrides", app.base))
            .form(&[
                ("csrf", token.as_str()),
                ("user", "vic"),
                ("start", start),
                ("hours", "6"),
                ("tz", "Europe/Berlin"),
            ])
            .send()
    };
    // 02:30 on 29 March 2026 does not happen in Berlin: the clocks go from 02:00 to 03:00.
    let resp = post("2026-03-29T02:30").await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("From: 2026-03-29 02:30 does not exist in Europe&#x2f;Berlin")
            && html.contains("2026-03-29T01:30:00+01:00 (CET)")
            && html.contains("2026-03-29T03:30:00+02:00 (CEST)"),
        "{html}"
    );
    // 02:30 on 25 October 2026 happens twice.
    let resp = post("2026-10-25T02:30").await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("happens twice")
            && html.contains("2026-10-25T02:30:00+02:00 (CEST)")
            && html.contains("2026-10-25T02:30:00+01:00 (CET)"),
        "{html}"
    );
    let none = app
        .store
        .list_overrides(
            &domain::Name::new("primary").unwrap(),
            "2026-03-01T00:00:00Z".parse().unwrap(),
            "2026-11-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    // An hour that exists is taken in the form's zone.
    let resp = post("2026-03-29T03:30").await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let made = app
        .store
        .list_overrides(
            &domain::Name::new("primary").unwrap(),
            "2026-03-01T00:00:00Z".parse().unwrap(),
            "2026-11-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(made[0].start.to_string(), "2026-03-29T01:30:00Z");
}
