//! Fresh PostgreSQL databases for tests, each copied from a migrated template so tests run
//! in parallel without sharing state.

use std::sync::Arc;

use sqlx::{Connection, Executor, PgConnection};

use crate::TestStore;

/// The variable that names the PostgreSQL server tests may use.
pub const DATABASE_URL_VAR: &str = "SHINRAI_TEST_DATABASE_URL";

/// The server URL from the environment, or a failing test that says how to get one.
pub fn server_url() -> String {
    // test-support's one reading of the environment: tests are told where PostgreSQL is.
    #[allow(clippy::disallowed_methods)]
    let url = std::env::var(DATABASE_URL_VAR);
    match url {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{DATABASE_URL_VAR} is not set: PostgreSQL tests need a server. \
             Run them through scripts/test, which starts a throwaway PostgreSQL and sets it."
        ),
    }
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// Creates a fresh database from the migrated template and returns its URL.
pub async fn fresh_database() -> String {
    let server = server_url();
    let mut admin = PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {DATABASE_URL_VAR} ({server}): {e}"));
    let template = format!("shinrai_tpl_{}", store_postgres::migrations_fingerprint());
    ensure_template(&mut admin, &server, &template).await;
    let name = format!("shinrai_t_{}", &runtime::entropy::secret("")[..16]);
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template}"
        )))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    admin.close().await.ok();
    with_database(&server, &name)
}

/// Creates an empty database (no migrations) and returns its URL: for upgrade tests that
/// start from an older release's schema.
pub async fn empty_database() -> String {
    let server = server_url();
    let mut admin = PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {DATABASE_URL_VAR} ({server}): {e}"));
    let name = format!("shinrai_e_{}", &runtime::entropy::secret("")[..16]);
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    admin.close().await.ok();
    with_database(&server, &name)
}

/// Builds the template once per server: the first test to get the advisory lock migrates
/// a scratch database and renames it into place, so others never copy a half-made one.
async fn ensure_template(admin: &mut PgConnection, server: &str, template: &str) {
    admin
        .execute("SELECT pg_advisory_lock(73616)")
        .await
        .expect("advisory lock");
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(template)
        .fetch_optional(&mut *admin)
        .await
        .expect("look up template");
    if exists.is_none() {
        let scratch = format!("{template}_new");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {scratch}"
            )))
            .await
            .expect("drop scratch");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {scratch}")))
            .await
            .expect("create scratch");
        store_postgres::migrate(&with_database(server, &scratch))
            .await
            .expect("migrate template");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE {scratch} RENAME TO {template}"
            )))
            .await
            .expect("rename template");
    }
    admin
        .execute("SELECT pg_advisory_unlock(73616)")
        .await
        .expect("advisory unlock");
}

/// A fresh, migrated PostgreSQL store for one test.
pub async fn postgres_store() -> TestStore {
    let url = fresh_database().await;
    let store = store_postgres::connect_with(&url, 4)
        .await
        .expect("connect to test database");
    TestStore {
        store: Arc::new(store),
        _dir: None,
    }
}

/// Two nodes on one fresh, migrated PostgreSQL database: two stores with their own
/// pools, as two shinrai processes would have.
pub async fn two_nodes() -> (Arc<dyn store::Store>, Arc<dyn store::Store>) {
    let url = fresh_database().await;
    let node = || async {
        let store = store_postgres::connect_with(&url, 4)
            .await
            .expect("connect to test database");
        Arc::new(store) as Arc<dyn store::Store>
    };
    (node().await, node().await)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://u@h:5/postgres?host=/tmp/s", "x"),
            "postgres://u@h:5/x?host=/tmp/s"
        );
        assert_eq!(with_database("postgres://u@h/db", "x"), "postgres://u@h/x");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
