//! Accepting connections, with the limits that keep slow, idle or too many clients from
//! holding the server: a deadline for each request's headers (which also closes idle
//! keep-alive connections), and a cap on connections served at once.
//!
//! axum's own `serve` sets neither, so a client that opens a connection and sends nothing
//! (or half a header) holds a file descriptor for ever; enough of them stall ingest. This
//! loop serves HTTP/1.1 through hyper with its header-read timer, answers connections over
//! the cap with a 503 at once, and counts all of it in `/metrics`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How connections are limited; from settings (`--http-header-timeout`,
/// `--max-connections`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a client has to send a request's headers, counted from the connection's
    /// start or from the end of the previous response: a connection that sends nothing,
    /// part of a header, or stays idle between requests this long is closed.
    pub header_read_timeout: Duration,
    /// Connections served at once. A connection over the cap is answered `503` with
    /// `Retry-After` and closed, so the process never runs out of file descriptors.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// The answer to a connection over the cap: a whole HTTP/1.1 response, written before any
/// request is read, then the connection is closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 54\r\n\
\r\n\
shinrai is serving all the connections it may; retry.\n";

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and lets
/// in-flight requests finish. Each request carries its peer address as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    metrics::gauge!("shinrai_http_connections_limit").set(limits.max_connections as f64);
    metrics::gauge!("shinrai_http_connections_open").set(0.0);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!("shinrai_http_connections_total", "outcome" => "refused_over_limit")
                .increment(1);
            tokio::spawn(refuse(stream));
            continue;
        };
        metrics::counter!("shinrai_http_connections_total", "outcome" => "accepted").increment(1);
        metrics::gauge!("shinrai_http_connections_open").increment(1.0);
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                if e.is_timeout() {
                    metrics::counter!("shinrai_http_connections_closed_total", "reason" => "header_timeout")
                        .increment(1);
                } else {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            }
            metrics::gauge!("shinrai_http_connections_open").decrement(1.0);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Answers a connection over the cap without reading from it, within a second.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(OVER_CAPACITY).await?;
        stream.shutdown().await
    })
    .await;
}

/// An accept that failed: a connection reset before it was taken is nothing; running out
/// of file descriptors (or another resource) is logged and retried after a pause, so the
/// loop does not spin while connections drain.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused
    ) {
        return;
    }
    metrics::counter!("shinrai_http_accept_errors_total").increment(1);
    tracing::warn!(error = %e, "cannot accept a connection (is the open-file limit too low for --max-connections?); retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_over_capacity_answer_states_its_own_length() {
        let text = std::str::from_utf8(super::OVER_CAPACITY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let declared: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(declared, body.len());
    }
}
