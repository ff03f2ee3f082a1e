//! A store wrapper that measures every call for `/metrics`.

use std::sync::Arc;

use store::{Result, Store};

use crate::clock::Clock;

/// Wraps a store and records `shinrai_store_call_seconds{op, backend}` and
/// `shinrai_store_errors_total{op, backend}` for each call.
pub struct InstrumentedStore {
    inner: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl InstrumentedStore {
    pub fn wrap(inner: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Arc<dyn Store> {
        Arc::new(InstrumentedStore { inner, clock })
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let start = self.clock.monotonic();
        let out = fut.await;
        let elapsed = self.clock.monotonic().saturating_sub(start);
        let backend = self.inner.backend();
        metrics::histogram!("shinrai_store_call_seconds", "op" => op, "backend" => backend)
            .record(elapsed.as_secs_f64());
        if out.is_err() {
            metrics::counter!("shinrai_store_errors_total", "op" => op, "backend" => backend)
                .increment(1);
        }
        out
    }
}

/// Times each call: the hook [`store::forward_store!`] runs around every async method.
macro_rules! timed {
    ($this:ident, $method:ident, $args:tt, $call:expr) => {
        $this.timed(stringify!($method), $call).await
    };
}

store::forward_store!(InstrumentedStore, inner, timed);
