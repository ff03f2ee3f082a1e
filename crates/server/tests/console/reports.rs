//! The reports page and its CSV.

use super::*;

const REPORT_ORG: &str = r#"
apiVersion: shinrai/v1
kind: Service
metadata: {name: payments, labels: {company: acme, product: pay}}
spec:
  owner_team: shop
  escalation_policy: shop
  business_hours: {time_zone: UTC, start: "09:00", end: "18:00"}
  integrations: [{name: prom, type: pagerduty, key: acme-payments-key-0001}]
---
apiVersion: shinrai/v1
kind: Team
metadata: {name: ads, labels: {company: globex}}
spec: {members: [gus]}
---
apiVersion: shinrai/v1
kind: Service
metadata: {name: bidder, labels: {company: globex, product: ads}}
spec:
  owner_team: ads
  integrations: [{name: prom, type: pagerduty, key: globex-bidder-key-0001}]
"#;

/// The text of each cell of the table row whose first cell is `key` (a link or text).
fn report_row(html: &str, key: &str) -> Vec<String> {
    let row = html
        .split("<tr")
        .map(|r| format!("<tr{r}"))
        .find(|r| {
            r.split("</td>")
                .next()
                .is_some_and(|first| strip_tags(first).trim() == key)
        })
        .unwrap_or_else(|| panic!("a row for {key} in {html}"));
    row.split("</td>")
        .map(strip_tags)
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// Sends the pages queued at this moment (as the email worker would), at the clock's time.
async fn send_due_pages(app: &TestApp) {
    use runtime::Clock;
    let now = app.clock.now();
    let due = app
        .store
        .claim_notifications("email", now, "test", now, 100)
        .await
        .unwrap();
    assert!(!due.is_empty(), "a page is due");
    for n in due {
        let sent = app
            .store
            .finish_notification(
                n.id,
                n.fence,
                store::Delivery::Sent {
                    answer: "250 ok".into(),
                },
                now,
            )
            .await
            .unwrap();
        assert!(sent);
    }
}

#[tokio::test]
async fn reports_show_response_times_and_pages_per_group_over_a_range_in_csv_too() {
    let app = start().await;
    app.apply("reports.yaml", REPORT_ORG).await;
    let admin = app
        .token(
            "admin",
            vec![domain::Grant::global(domain::Role::Admin)],
            None,
        )
        .await;
    let act = |id: i64, action: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let resp = app
                .http
                .post(format!("{}/api/v1/incidents/{id}/{action}", app.base))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{action} #{id}");
        }
    };
    let step = |s: u64| app.clock.advance(std::time::Duration::from_secs(s));
    // Tuesday 2023-11-14 22:13:20 UTC: after payments' business hours (09:00-18:00 UTC).
    let checkout = open_incident_on(&app, "acme-checkout-key-0001", "cart").await;
    let payments = open_incident_on(&app, "acme-payments-key-0001", "cards").await;
    app.timers.tick().await.unwrap();
    send_due_pages(&app).await;
    // Another company's incident.
    open_incident_on(&app, "globex-bidder-key-0001", "bids").await;
    step(60);
    act(checkout, "acknowledge").await;
    step(240);
    act(checkout, "resolve").await;
    act(payments, "acknowledge").await;
    step(7_500);
    act(payments, "resolve").await;
    // One of acme's three days later.
    step(3 * 86_400);
    open_incident(&app, "later").await;

    // Vic (a viewer of acme, days in UTC) asks for the day of the first two.
    let vic = sign_in(&app, "vic@acme.test").await;
    let day = "from=2023-11-14&to=2023-11-14";
    let (status, html) = page(&vic, &format!("{}/reports?{day}&by=service", app.base)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        report_row(&html, "checkout"),
        ["checkout", "1", "1", "1", "1 min", "5 min", "1", "0"]
    );
    assert_eq!(
        report_row(&html, "payments"),
        ["payments", "1", "1", "1", "5 min", "2 h 10 min", "1", "1"],
        "its page went out after its business hours"
    );
    assert_eq!(
        report_row(&html, "Total"),
        ["Total", "2", "2", "2", "3 min", "1 h 7 min", "2", "1"]
    );
    assert!(html.contains(r#"<a href="/services/payments">payments</a>"#));
    assert!(html.contains(
        r#"<a href="/reports.csv?from=2023-11-14&amp;to=2023-11-14&amp;by=service" download>"#
    ));
    assert!(
        !html.contains("bidder"),
        "another company's service is not shown"
    );
    let (_, by_company) = page(&vic, &format!("{}/reports?{day}&by=company", app.base)).await;
    assert_eq!(
        report_row(&by_company, "acme"),
        ["acme", "2", "2", "2", "3 min", "1 h 7 min", "2", "1"]
    );
    let (_, by_person) = page(&vic, &format!("{}/reports?{day}&by=person", app.base)).await;
    assert_eq!(
        report_row(&by_person, "ann"),
        ["ann", "2", "2", "2", "3 min", "1 h 7 min", "2", "1"],
        "ann was on call and paged about both"
    );
    assert!(by_person.contains(r#"<a href="/users/ann">ann</a>"#));
    // The default range (the last 30 days) holds the later incident too; the day does not.
    let (_, recent) = page(&vic, &format!("{}/reports", app.base)).await;
    assert_eq!(report_row(&recent, "checkout")[..3], ["checkout", "2", "1"]);
    // Days are the viewer's: in Tokyo the first two opened on the 15th.
    let ann = sign_in(&app, "ann@acme.test").await;
    let (_, tokyo) = page(
        &ann,
        &format!("{}/reports?from=2023-11-15&to=2023-11-15", app.base),
    )
    .await;
    assert_eq!(report_row(&tokyo, "Total")[1], "2");

    // The CSV holds the page's figures, durations in seconds.
    let resp = vic
        .get(format!("{}/reports.csv?{day}&by=service", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"shinrai-report-service-2023-11-14-2023-11-14.csv\""
    );
    let body = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "service",
            "incidents",
            "acknowledged",
            "resolved",
            "mtta_seconds",
            "mttr_seconds",
            "pages",
            "pages_out_of_hours"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["checkout", "1", "1", "1", "60", "300", "1", "0"],
            ["payments", "1", "1", "1", "300", "7800", "1", "1"],
            ["(total)", "2", "2", "2", "180", "4050", "2", "1"],
        ]
    );

    // Globex sees its own service only.
    let gus = sign_in(&app, "gus@globex.test").await;
    let (_, theirs) = page(&gus, &format!("{}/reports?{day}", app.base)).await;
    assert_eq!(
        report_row(&theirs, "bidder"),
        ["bidder", "1", "0", "0", "—", "—", "0", "0"]
    );
    assert!(!theirs.contains("checkout") && !theirs.contains("payments"));
}

#[tokio::test]
async fn a_bad_report_range_answers_422_naming_the_field() {
    let app = start().await;
    let vic = sign_in(&app, "vic@acme.test").await;
    for (query, field) in [
        ("from=2023-13-01&to=2023-12-01", "from:"),
        ("from=2023-11-01&to=yesterday", "to:"),
        ("from=2023-11-10&to=2023-11-01", "from:"),
        ("range=14", "range:"),
        ("by=team", "by:"),
    ] {
        for path in ["/reports", "/reports.csv"] {
            let (status, html) = page(&vic, &format!("{}{path}?{query}", app.base)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}?{query}");
            assert!(html.contains(field), "{path}?{query} names {field}: {html}");
        }
    }
}
