//! The store conformance suite on SQLite.

store::conformance_suite!(test_support::sqlite_store);

#[tokio::test]
async fn a_second_open_of_one_data_dir_is_refused_with_a_reason() {
    let dir = tempfile_dir();
    let first = store_sqlite::open_data_dir(dir.path())
        .await
        .expect("first open");
    let err = match store_sqlite::open_data_dir(dir.path()).await {
        Ok(_) => panic!("a second open of a locked data dir succeeded"),
        Err(e) => e,
    };
    assert!(
        matches!(err, store_sqlite::OpenError::Locked { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("in use by another shinrai process")
    );
    first.close().await;
    drop(first);
    store_sqlite::open_data_dir(dir.path())
        .await
        .expect("the lock is released with the store");
}

#[tokio::test]
async fn the_database_runs_in_wal_mode_with_full_sync() {
    use store::Store;
    let dir = tempfile_dir();
    let store = store_sqlite::open_data_dir(dir.path()).await.unwrap();
    store.ping().await.unwrap();
    let pool = store.writer_pool();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    // 2 is FULL: the WAL is synced on every commit.
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(sync, 2);
}

fn tempfile_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// An upgrade over users that share an email address stops and names them (see
/// `test_support::upgrade`).
#[tokio::test]
async fn an_upgrade_stops_at_users_that_share_an_email_until_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(store_sqlite::DB_FILE);
    store_sqlite::migrate_to(&path, test_support::upgrade::BEFORE_UNIQUE_EMAILS)
        .await
        .unwrap();
    let url = format!("sqlite://{}?mode=rwc", path.display());
    test_support::upgrade::shared_emails_stop_the_upgrade_until_resolved(&url, || async {
        store_sqlite::open(&path, store_sqlite::Sharing::Shared)
            .await
            .map(|s| std::sync::Arc::new(s.sql()) as std::sync::Arc<dyn store::Store>)
            .map_err(|e| e.to_string())
    })
    .await;
}
