//! The incidents list: search, sort, paging with the filters kept, acting on several at
//! once, and opening an incident by hand.

use super::*;

/// A second acme service, and Rae, who sees all of acme but responds only for the shop
/// team's services.
const PAYMENTS: &str = r#"
apiVersion: shinrai/v1
kind: Team
metadata: {name: pay, labels: {company: acme}}
spec: {members: [vic]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: payments, labels: {company: acme, product: pay}}
spec:
  owner_team: pay
  integrations: [{name: prom, type: pagerduty, key: acme-payments-key-0001}]
---
apiVersion: shinrai/v1
kind: User
metadata: {name: rae, labels: {company: acme}}
spec: {full_name: Rae Responder, email: rae@acme.test, roles: [{role: viewer, company: acme}, {role: responder, team: shop}]}
"#;

#[tokio::test]
async fn the_incidents_list_searches_sorts_and_counts_triggered_incidents_in_its_title() {
    let app = start().await;
    let disk = open_incident(&app, "disk full on db1").await;
    let cpu = open_incident(&app, "cpu_hot on web").await;
    let latency = open_incident(&app, "latency 100% over budget").await;
    let b = sign_in(&app, "ann@acme.test").await;
    let list = |query: &str| {
        let url = format!("{}/incidents{query}", app.base);
        let b = &b;
        async move { page(b, &url).await }
    };

    // The title starts with how many triggered incidents the person may see.
    let (status, html) = list("").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<title>(3) Incidents · shinrai</title>"),
        "{html}"
    );
    assert!(html.contains("Showing 1–3 of 3"), "{html}");
    assert!(
        html.contains("href=\"/incidents/new\">Open an incident"),
        "{html}"
    );

    // Search: summary (either case), service, dedup key; `%` and `_` are plain text.
    let (_, html) = list("?q=DISK").await;
    assert!(html.contains(&format!("/incidents/{disk}\"")), "{html}");
    assert!(!html.contains(&format!("/incidents/{cpu}\"")), "{html}");
    assert!(html.contains("Showing 1–1 of 1"), "{html}");
    assert!(
        html.contains("value=\"DISK\""),
        "the search box keeps the text: {html}"
    );
    let (_, html) = list("?q=100%25").await;
    assert!(html.contains(&format!("/incidents/{latency}\"")), "{html}");
    assert!(!html.contains(&format!("/incidents/{disk}\"")), "{html}");
    let (_, html) = list("?q=u_h").await;
    assert!(html.contains(&format!("/incidents/{cpu}\"")), "{html}");
    assert!(
        html.contains("Showing 1–1 of 1"),
        "`_` matches only itself: {html}"
    );
    let (_, html) = list("?q=checkout").await;
    assert!(html.contains("Showing 1–3 of 3"), "{html}");
    // The title counts every triggered incident, whatever the filters show.
    assert!(html.contains("<title>(3) Incidents"), "{html}");

    // Sorting: newest first by default, oldest first when asked.
    let (_, html) = list("").await;
    assert!(
        at(&html, &format!("/incidents/{latency}\"")) < at(&html, &format!("/incidents/{disk}\"")),
        "{html}"
    );
    let (_, html) = list("?sort=oldest").await;
    assert!(
        at(&html, &format!("/incidents/{disk}\"")) < at(&html, &format!("/incidents/{latency}\"")),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"oldest\" selected>"),
        "{html}"
    );

    // Filters the list cannot apply are refused, naming the parameter.
    for (query, field) in [
        ("?sort=id", "sort"),
        ("?status=sleeping", "status"),
        ("?urgency=urgent", "urgency"),
        ("?page=0", "page"),
        ("?page=x", "page"),
    ] {
        let (status, html) = list(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(html.contains(&format!("{field}: ")), "{query}: {html}");
    }

    // Acknowledging one lowers the count, and the live refresh carries the new title.
    app.store
        .act_on_incident(
            cpu,
            store::IncidentAction::Acknowledge { timeout: None },
            &store::WriteContext {
                actor: "user:ann".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    let fragment = b
        .get(format!("{}/incidents?q=on", app.base))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!fragment.contains("<html"), "a fragment: {fragment}");
    assert!(
        fragment.starts_with("<title>(2) Incidents · shinrai</title>"),
        "{fragment}"
    );
    assert!(
        fragment.contains("data-hx-get=\"&#x2f;incidents?q=on\""),
        "the refresh keeps the filters: {fragment}"
    );
    // A full page never has a title in its body.
    let (_, html) = list("").await;
    assert_eq!(html.matches("<title>").count(), 1, "{html}");
    // Another company sees none of them, so its title has no count.
    app.apply("globex.yaml", GLOBEX).await;
    let gus = sign_in(&app, "gus@globex.test").await;
    let (_, html) = page(&gus, &format!("{}/incidents", app.base)).await;
    assert!(
        html.contains("<title>Incidents · shinrai</title>"),
        "{html}"
    );
}

#[tokio::test]
async fn the_incidents_list_pages_keep_the_filters() {
    let app = start().await;
    let mut ids = Vec::new();
    for n in 0..52 {
        ids.push(open_incident(&app, &format!("queue {n} backed up")).await);
    }
    let b = sign_in(&app, "ann@acme.test").await;
    let (_, html) = page(&b, &format!("{}/incidents?q=backed", app.base)).await;
    assert!(html.contains("Showing 1–50 of 52"), "{html}");
    assert!(
        html.contains(&format!("/incidents/{}\"", ids[51])),
        "{html}"
    );
    assert!(
        !html.contains(&format!("/incidents/{}\"", ids[1])),
        "{html}"
    );
    assert!(
        !html.contains("rel=\"prev\""),
        "the first page has no newer page"
    );
    assert!(
        html.contains("<a href=\"&#x2f;incidents?q=backed&amp;page=2\" rel=\"next\">Older</a>"),
        "{html}"
    );
    let (_, html) = page(&b, &format!("{}/incidents?q=backed&page=2", app.base)).await;
    assert!(html.contains("Showing 51–52 of 52"), "{html}");
    assert!(html.contains(&format!("/incidents/{}\"", ids[0])), "{html}");
    assert!(html.contains(&format!("/incidents/{}\"", ids[1])), "{html}");
    assert!(
        html.contains("<a href=\"&#x2f;incidents?q=backed\" rel=\"prev\">Newer</a>"),
        "{html}"
    );
    assert!(
        !html.contains("rel=\"next\""),
        "the last page has no older page"
    );
    // In another order the links say previous and next, and keep the order.
    let (_, html) = page(&b, &format!("{}/incidents?sort=oldest", app.base)).await;
    assert!(
        html.contains("<a href=\"&#x2f;incidents?sort=oldest&amp;page=2\" rel=\"next\">Next</a>"),
        "{html}"
    );
    assert!(html.contains(&format!("/incidents/{}\"", ids[0])), "{html}");
    // Past the last page: nothing, and a way back.
    let (status, html) = page(&b, &format!("{}/incidents?page=9", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No incidents match"), "{html}");
    assert!(html.contains("rel=\"prev\""), "{html}");
}

#[tokio::test]
async fn responders_acknowledge_and_resolve_several_incidents_at_once() {
    let app = start().await;
    app.apply("payments.yaml", PAYMENTS).await;
    let hash = server::api::session::hash_password(PASSWORD).unwrap();
    app.store
        .set_password(
            &domain::Name::new("rae").unwrap(),
            &hash,
            &store::WriteContext {
                actor: "system".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    let first = open_incident(&app, "checkout slow").await;
    let second = open_incident(&app, "checkout erroring").await;
    let payments = open_incident_on(&app, "acme-payments-key-0001", "payments down").await;
    let rae = sign_in(&app, "rae@acme.test").await;
    let (_, html) = page(&rae, &format!("{}/incidents", app.base)).await;
    // Every row has a labelled box to tick; the form posts the session's CSRF token.
    for id in [first, second, payments] {
        assert!(
            html.contains(&format!(
                "<label for=\"pick-{id}\" class=\"visually-hidden\">Select incident #{id}</label>"
            )),
            "{html}"
        );
    }
    assert!(html.contains("action=\"/incidents/bulk\""), "{html}");
    let token = csrf(&html);
    let bulk = |form: Vec<(&'static str, String)>| {
        let rae = rae.clone();
        let url = format!("{}/incidents/bulk", app.base);
        async move {
            let resp = rae.post(url).form(&form).send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let (status, html) = bulk(vec![
        ("csrf", token.clone()),
        ("back", "/incidents?q=checkout".into()),
        ("action", "acknowledge".into()),
        ("incident", first.to_string()),
        ("incident", payments.to_string()),
        ("incident", "99999".into()),
        ("incident", "nope".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("<h1>Acknowledged 1 incident</h1>"), "{html}");
    assert!(html.contains("Refused (3)"), "{html}");
    assert!(
        html.contains(&format!(
            "{payments}: user:rae may see incident #{payments} but not act on it"
        )),
        "{html}"
    );
    assert!(html.contains("99999: there is no such incident"), "{html}");
    assert!(
        html.contains("href=\"&#x2f;incidents?q=checkout\""),
        "back to the list: {html}"
    );
    let status_of = |id: i64| {
        let store = app.store.clone();
        async move {
            store
                .get_incident(id)
                .await
                .unwrap()
                .unwrap()
                .incident
                .status
        }
    };
    assert_eq!(status_of(first).await, paging::Status::Acknowledged);
    assert_eq!(status_of(payments).await, paging::Status::Triggered);

    let (status, html) = bulk(vec![
        ("csrf", token.clone()),
        ("action", "resolve".into()),
        ("incident", first.to_string()),
        ("incident", second.to_string()),
    ])
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Resolved 2 incidents</h1>"), "{html}");
    assert!(!html.contains("Refused"), "{html}");
    assert_eq!(status_of(second).await, paging::Status::Resolved);
    // A resolved incident cannot be acknowledged: refused, with the store's reason.
    let (_, html) = bulk(vec![
        ("csrf", token.clone()),
        ("action", "acknowledge".into()),
        ("incident", second.to_string()),
    ])
    .await;
    assert!(html.contains("<h1>Acknowledged 0 incidents</h1>"), "{html}");
    assert!(html.contains("it cannot be acknowledged"), "{html}");

    // Nothing ticked, or no such action: the field is named.
    let (status, html) = bulk(vec![("csrf", token.clone()), ("action", "resolve".into())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("incident: choose at least one"), "{html}");
    let (status, html) = bulk(vec![
        ("csrf", token.clone()),
        ("action", "delete".into()),
        ("incident", first.to_string()),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("action: "), "{html}");
    // Without the CSRF token nothing happens.
    let (status, _) = bulk(vec![
        ("csrf", "forged".into()),
        ("action", "acknowledge".into()),
        ("incident", payments.to_string()),
    ])
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_responder_opens_an_incident_by_hand_and_each_bad_field_is_named() {
    let app = start().await;
    app.apply("payments.yaml", PAYMENTS).await;
    let b = sign_in(&app, "ann@acme.test").await;
    let (status, html) = page(&b, &format!("{}/incidents/new", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<option value=\"checkout\""), "{html}");
    assert!(html.contains("<label for=\"details\">"), "{html}");
    let token = csrf(&html);
    let post = |form: Vec<(&'static str, &'static str)>| {
        let b = b.clone();
        let url = format!("{}/incidents", app.base);
        let token = token.clone();
        async move {
            let mut form: Vec<(&str, String)> =
                form.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
            form.push(("csrf", token));
            let resp = b.post(url).form(&form).send().await.unwrap();
            let status = resp.status();
            let location = resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (status, location, resp.text().await.unwrap())
        }
    };
    let (status, location, _) = post(vec![
        ("service", "checkout"),
        ("summary", "Customers report failed payments"),
        ("urgency", "low"),
        (
            "details",
            "Seen in the support queue since 09:10.\nNo alert fired.",
        ),
    ])
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let id: i64 = location.trim_start_matches("/incidents/").parse().unwrap();
    let detail = app.store.get_incident(id).await.unwrap().unwrap();
    assert_eq!(detail.incident.summary, "Customers report failed payments");
    assert_eq!(detail.incident.urgency, domain::Urgency::Low);
    assert_eq!(detail.incident.service.as_str(), "checkout");
    assert_eq!(
        detail.alerts[0].body.details,
        json!("Seen in the support queue since 09:10.\nNo alert fired.")
    );
    assert_eq!(detail.log[0].actor, "user:ann");
    let (status, html) = page(&b, &format!("{}{location}", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Seen in the support queue"), "{html}");

    // Each bad field is named beside it, and what was typed stays.
    for (form, field) in [
        (
            vec![("service", "nope"), ("summary", "x"), ("urgency", "high")],
            "Service: no service named",
        ),
        (
            vec![
                ("service", "checkout"),
                ("summary", "  "),
                ("urgency", "high"),
            ],
            "Summary: must be 1 to 1024 characters",
        ),
        (
            vec![
                ("service", "checkout"),
                ("summary", "x"),
                ("urgency", "urgent"),
            ],
            "Urgency: &quot;urgent&quot; is not one of high, low",
        ),
    ] {
        let (status, _, html) = post(form.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(html.contains(field), "{form:?}: {html}");
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
    }
    let long: &'static str = Box::leak("x".repeat(1025).into_boxed_str());
    let (status, _, html) = post(vec![
        ("service", "checkout"),
        ("summary", long),
        ("urgency", "high"),
    ])
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Summary: must be 1 to 1024"), "{html}");
    // Ann responds for acme; the payments service is acme's, so it is offered too, but a
    // person without the responder role over a service is refused on that field.
    let hash = server::api::session::hash_password(PASSWORD).unwrap();
    app.store
        .set_password(
            &domain::Name::new("rae").unwrap(),
            &hash,
            &store::WriteContext {
                actor: "system".into(),
                at: test_support::t0(),
            },
        )
        .await
        .unwrap();
    let rae = sign_in(&app, "rae@acme.test").await;
    let (_, html) = page(&rae, &format!("{}/incidents/new", app.base)).await;
    assert!(html.contains("<option value=\"checkout\""), "{html}");
    assert!(!html.contains("<option value=\"payments\""), "{html}");
    let token = csrf(&html);
    let resp = rae
        .post(format!("{}/incidents", app.base))
        .form(&[
            ("csrf", token.as_str()),
            ("service", "payments"),
            ("summary", "x"),
            ("urgency", "high"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("Service: user:rae may not open incidents on service payments"),
        "{html}"
    );
}
