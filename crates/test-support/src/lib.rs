//! Test helpers: fresh stores on SQLite and PostgreSQL, a manual clock, and (in [`app`])
//! a shinrai server on `127.0.0.1:0`.
//!
//! PostgreSQL tests need `SHINRAI_TEST_DATABASE_URL`, the URL of a server they may create
//! databases on; `scripts/test` starts a throwaway one and sets it. A PostgreSQL test
//! without it fails with that advice instead of skipping: a skipped test proves nothing.

pub mod app;
pub mod faults;
pub mod postgres;
pub mod serve;
pub mod upgrade;

use std::ops::Deref;
use std::sync::Arc;

pub use postgres::postgres_store;
pub use runtime::ManualClock;
use store::Store;

/// A store for one test, with whatever keeps it alive (a temporary directory).
pub struct TestStore {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

impl Deref for TestStore {
    type Target = dyn Store;
    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

/// A fresh, migrated SQLite store in a temporary directory.
pub async fn sqlite_store() -> TestStore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = store_sqlite::open_data_dir(dir.path())
        .await
        .expect("open SQLite store");
    TestStore {
        store: Arc::new(store.sql()),
        _dir: Some(dir),
    }
}

/// An egress client for notifications that allows loopback, where tests' receivers
/// listen; the default policy would refuse them.
pub fn loopback_egress() -> runtime::egress::Client {
    runtime::egress::Client::new(
        runtime::egress::Policy::new(
            runtime::egress::Purpose::Notifications,
            runtime::net::Cidr::loopback(),
        ),
        std::time::Duration::from_secs(20),
    )
    .expect("an HTTP client")
}

/// Runs each story (an `async fn(TestStore)` of the calling module) on both backends: a
/// `sqlite::STORY` and a `postgres::STORY` test each.
#[macro_export]
macro_rules! on_both_backends {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    super::$story($crate::sqlite_store().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    super::$story($crate::postgres_store().await).await;
                }
            )*
        }
    };
}

/// A fixed instant for tests: 2023-11-14T22:13:20Z.
pub fn t0() -> domain::Timestamp {
    domain::Timestamp::from_second(1_700_000_000).expect("valid timestamp")
}
