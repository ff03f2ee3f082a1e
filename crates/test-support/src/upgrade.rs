//! Upgrades from an older release's data, told once and run on both backends.

use std::future::Future;
use std::sync::Arc;

use sqlx::Connection;
use store::Store;

/// The last migration of the release before email addresses became unique.
pub const BEFORE_UNIQUE_EMAILS: i64 = 6;

async fn execute(url: &str, sql: &'static str, binds: &[&str]) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    let q = binds
        .iter()
        .fold(sqlx::query(sql), |q, b| q.bind((*b).to_owned()));
    q.execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

/// Writes a user as an older release stored it, straight into its tables.
async fn old_user(url: &str, name: &str, email: &str) {
    let spec = serde_json::json!({ "full_name": name, "email": email }).to_string();
    execute(
        url,
        "INSERT INTO objects (kind, name, labels, spec, status, source, version, created_at, updated_at)
         VALUES ('User', $1, '{}', $2, '{}', NULL, 1, 0, 0)",
        &[name, &spec],
    )
    .await;
}

/// A database at [`BEFORE_UNIQUE_EMAILS`] (at `url`) whose users share addresses: opening
/// it with this build refuses, naming each shared address and its users, and changes
/// nothing; once the operator gives each user their own, it opens, and addresses are
/// unique from then on. `open` opens the store as `serve` does.
pub async fn shared_emails_stop_the_upgrade_until_resolved<F, Fut>(url: &str, open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Arc<dyn Store>, String>>,
{
    for (name, email) in [
        ("ann", "Ann@Acme.test"),
        ("mallory", "ann@acme.TEST"),
        ("bob", "bob@acme.test"),
        ("cy", "cy@acme.test"),
        ("cyd", "CY@acme.test"),
    ] {
        old_user(url, name, email).await;
    }
    let err = match open().await {
        Ok(_) => panic!("a database whose users share addresses was upgraded"),
        Err(e) => e,
    };
    assert!(err.contains("ann@acme.test: users ann, mallory"), "{err}");
    assert!(err.contains("cy@acme.test: users cy, cyd"), "{err}");
    assert!(!err.contains("bob"), "{err}");
    assert!(err.contains("will not guess"), "{err}");
    assert!(
        err.contains("give each of these users their own email"),
        "{err}"
    );
    // Nothing was migrated: the release before still opens this database.
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    assert_eq!(version, BEFORE_UNIQUE_EMAILS);

    // The operator resolves them (with the release before) and starts this one again.
    let spec =
        serde_json::json!({ "full_name": "mallory", "email": "mallory@acme.test" }).to_string();
    execute(
        url,
        "UPDATE objects SET spec = $1 WHERE kind = 'User' AND name = 'mallory'",
        &[&spec],
    )
    .await;
    execute(
        url,
        "DELETE FROM objects WHERE kind = 'User' AND name = 'cyd'",
        &[],
    )
    .await;
    let store = open().await.unwrap_or_else(|e| panic!("upgrade: {e}"));
    let who = |email: &'static str| {
        let store = store.clone();
        async move {
            store
                .user_by_email(email)
                .await
                .unwrap()
                .map(|(u, _)| u.name.to_string())
        }
    };
    assert_eq!(who("ANN@acme.test").await.as_deref(), Some("ann"));
    assert_eq!(who("mallory@acme.test").await.as_deref(), Some("mallory"));
    assert_eq!(who("cy@acme.test").await.as_deref(), Some("cy"));
    // Addresses of users from before the upgrade are taken like any other.
    let err = store
        .commit(
            vec![store::Change::Create {
                draft: store::ObjectDraft {
                    kind: domain::Kind::User,
                    name: domain::Name::new("eve").unwrap(),
                    labels: domain::Labels::new(),
                    spec: serde_json::json!({ "full_name": "Eve", "email": "BOB@acme.test" }),
                    source: None,
                    references: Vec::new(),
                    status: None,
                    lookup_keys: Vec::new(),
                },
                scope: domain::AccessTarget::default(),
            }],
            &store::WriteContext {
                actor: "system".into(),
                at: crate::t0(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, store::StoreError::EmailInUse { user, .. } if user == "bob"),
        "{err:?}"
    );
}
