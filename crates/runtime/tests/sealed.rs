//! Stored secrets sealed with the key from settings, on both backends: plain text from
//! before sealing is sealed on first start, another key is refused, rotation reseals.

use runtime::sealed::{self, SealError, SecretKey};
use store::Store;
use test_support::{TestStore, t0};

#[tokio::test]
async fn sqlite() {
    story(test_support::sqlite_store().await).await;
}

#[tokio::test]
async fn postgres() {
    story(test_support::postgres_store().await).await;
}

async fn story(store: TestStore) {
    let store: &dyn Store = &*store;
    // A store from before sealing holds the link-signing key in plain text.
    let plain = "0123456789abcdef-the-old-link-key";
    store.server_secret("links", plain, t0()).await.unwrap();

    let key = SecretKey::generate();
    assert_eq!(sealed::prepare(store, &key, t0()).await.unwrap(), 1);
    let stored = store.server_secret("links", "ignored", t0()).await.unwrap();
    assert!(sealed::is_sealed(&stored), "{stored}");
    assert!(!stored.contains(plain));
    // The secret itself is unchanged: links signed before still verify.
    assert_eq!(
        sealed::server_secret(store, &key, "links", t0())
            .await
            .unwrap(),
        plain
    );
    // Starting again with the same key changes nothing.
    assert_eq!(sealed::prepare(store, &key, t0()).await.unwrap(), 0);

    // Another key is refused, and the message names both fingerprints.
    let other = SecretKey::generate();
    let err = sealed::prepare(store, &other, t0()).await.unwrap_err();
    assert!(matches!(err, SealError::WrongKey { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&key.fingerprint()) && text.contains(&other.fingerprint()),
        "{text}"
    );

    // Rotation reseals under the new key; the old one is then refused.
    let err = sealed::rotate(store, &other, &key, t0()).await.unwrap_err();
    assert!(
        matches!(err, SealError::WrongKey { .. }),
        "only the store's key rotates"
    );
    assert_eq!(sealed::rotate(store, &key, &other, t0()).await.unwrap(), 1);
    assert_eq!(sealed::prepare(store, &other, t0()).await.unwrap(), 0);
    assert!(matches!(
        sealed::prepare(store, &key, t0()).await,
        Err(SealError::WrongKey { .. })
    ));
    assert_eq!(
        sealed::server_secret(store, &other, "links", t0())
            .await
            .unwrap(),
        plain
    );
    assert_eq!(
        store.secret_key_fingerprint().await.unwrap(),
        Some(other.fingerprint())
    );
}
