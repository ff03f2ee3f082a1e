//! The server's own limits on connections and on metric labels: a client cannot hold a
//! connection by sending nothing, half a header or nothing more after a response, cannot
//! take more connections than the cap, and cannot grow `/metrics` by inventing methods.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use test_support::app::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for the server to close a connection before calling it a hang.
/// The server's own deadline in these tests is one second; this is a failure bound, not a
/// measurement.
const HANG: Duration = Duration::from_secs(30);

async fn app_with(limits: server::listen::Limits) -> TestApp {
    let settings = server::Settings {
        connections: limits,
        ..server::Settings::default()
    };
    TestApp::start_with(test_support::sqlite_store().await, settings).await
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; what it sent, or a failure on a hang.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(HANG, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "the server kept the connection open for {HANG:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The value of one series in `/metrics`, or 0 when it is absent.
async fn metric(app: &TestApp, series: &str) -> f64 {
    let body = metrics_text(app).await;
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

async fn metrics_text(app: &TestApp) -> String {
    // A connection slot may still be held by one the test just closed; the answer over the
    // cap is a 503, so ask again until the slot is free.
    loop {
        let resp = app
            .http
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .expect("GET /metrics");
        if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
            tokio::task::yield_now().await;
            continue;
        }
        assert_eq!(resp.status(), StatusCode::OK);
        return resp.text().await.expect("metrics body");
    }
}

#[tokio::test]
async fn connections_that_send_no_header_or_half_a_header_are_closed() {
    let app = app_with(server::listen::Limits {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 64,
    })
    .await;
    let mut silent = TcpStream::connect(addr(&app)).await.unwrap();
    let mut partial = TcpStream::connect(addr(&app)).await.unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shinrai\r\nX-Slow: ")
        .await
        .unwrap();

    read_to_close(&mut silent).await;
    let answered = read_to_close(&mut partial).await;
    assert!(
        !String::from_utf8_lossy(&answered).contains("200 OK"),
        "a request whose headers never finished was served"
    );
    assert_eq!(
        metric(
            &app,
            r#"shinrai_http_connections_closed_total{reason="header_timeout"}"#
        )
        .await,
        2.0
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_deadline() {
    let app = app_with(server::listen::Limits {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 64,
    })
    .await;
    let mut conn = TcpStream::connect(addr(&app)).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: shinrai\r\n\r\n")
        .await
        .unwrap();
    // The answer comes on a connection kept alive; the server then closes it once the
    // next request's headers do not arrive.
    let got = read_to_close(&mut conn).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.ends_with("ok\n"), "{text}");
}

#[tokio::test]
async fn a_connection_over_the_cap_is_answered_503_with_retry_after() {
    let app = app_with(server::listen::Limits {
        header_read_timeout: Duration::from_secs(300),
        max_connections: 2,
    })
    .await;
    // Two connections take both slots: each has sent a whole request and read its
    // answer, so the server has surely accepted it, and each stays open.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(addr(&app)).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: shinrai\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 1024];
        let mut got = Vec::new();
        while !String::from_utf8_lossy(&got).ends_with("ok\n") {
            let n = tokio::time::timeout(HANG, c.read(&mut buf))
                .await
                .expect("answer")
                .unwrap();
            assert!(n > 0, "closed early");
            got.extend_from_slice(&buf[..n]);
        }
        held.push(c);
    }

    let mut third = TcpStream::connect(addr(&app)).await.unwrap();
    let got = read_to_close(&mut third).await;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nretry-after: 1\r\n"), "{text}");

    drop(held);
    assert_eq!(
        metric(
            &app,
            r#"shinrai_http_connections_total{outcome="refused_over_limit"}"#
        )
        .await,
        1.0
    );
    assert_eq!(metric(&app, "shinrai_http_connections_limit").await, 2.0);
}

#[tokio::test]
async fn made_up_methods_share_one_metric_label() {
    let app = TestApp::start(test_support::sqlite_store().await).await;
    for i in 0..40 {
        let method = Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        app.http
            .request(method, format!("{}/healthz", app.base))
            .send()
            .await
            .expect("request with a made-up method");
    }
    app.http
        .get(format!("{}/no/such/route/{}", app.base, 12345))
        .send()
        .await
        .unwrap();

    let body = metrics_text(&app).await;
    let requests: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("shinrai_http_requests_total{"))
        .collect();
    assert!(
        !body.contains("MADEUP"),
        "a made-up method became a label value"
    );
    assert!(
        !body.contains("/no/such/route"),
        "an unmatched path became a label value"
    );
    let other: f64 = requests
        .iter()
        .filter(|l| l.contains(r#"method="other""#))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(other, 40.0, "{requests:#?}");
    assert!(
        requests
            .iter()
            .any(|l| l.contains(r#"method="GET""#) && l.contains(r#"route="unmatched""#)),
        "{requests:#?}"
    );
}
