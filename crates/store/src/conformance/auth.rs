//! Stories for the auth store: API tokens, sessions, passwords, one email per user,
//! failed sign-ins, audited events without an object, and sealed server secrets.

use domain::{AccessTarget, Grant, Kind, Labels, Role};
use serde_json::json;

use super::{ctx, draft, name, t};
use crate::*;

pub async fn tokens_are_found_by_hash_until_revoked_or_expired(store: &dyn Store) {
    let token = |n: &str, hash: &str, expires_at| NewToken {
        name: n.into(),
        hash: hash.into(),
        grants: vec![Grant::company(Role::Responder, "acme")],
        user: Some(name("ann")),
        expires_at,
    };
    let made = store
        .create_token(token("ci", "h1", None), &ctx("user:root", 0))
        .await
        .unwrap();
    assert_eq!(made.created_by, "user:root");
    store
        .create_token(token("short", "h2", Some(t(100))), &ctx("user:root", 0))
        .await
        .unwrap();
    let err = store
        .create_token(token("ci", "h3", None), &ctx("user:root", 0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");

    let found = store.find_token("h1", t(50)).await.unwrap().unwrap();
    assert_eq!(found.name, "ci");
    assert_eq!(found.grants, vec![Grant::company(Role::Responder, "acme")]);
    assert_eq!(found.user, Some(name("ann")));
    assert!(store.find_token("h2", t(50)).await.unwrap().is_some());
    assert!(
        store.find_token("h2", t(100)).await.unwrap().is_none(),
        "expired"
    );
    assert!(store.find_token("nope", t(50)).await.unwrap().is_none());

    let revoked = store
        .revoke_token("ci", &ctx("user:root", 60))
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(t(60)));
    assert!(store.find_token("h1", t(61)).await.unwrap().is_none());
    let err = store
        .revoke_token("missing", &ctx("user:root", 60))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    let names: Vec<_> = store
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["ci", "short"]);
    let audit = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<_> = audit.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["token.revoke", "token.create", "token.create"]);
    assert!(
        !serde_json::to_string(&audit).unwrap().contains("h1"),
        "the audit log never holds a token hash"
    );
}

pub async fn sessions_expire(store: &dyn Store) {
    let session = |hash: &str, expires| SessionRecord {
        hash: hash.into(),
        user: name("ann"),
        csrf_token: format!("csrf-{hash}"),
        created_at: t(0),
        expires_at: t(expires),
    };
    store.create_session(session("s1", 100)).await.unwrap();
    store.create_session(session("s2", 200)).await.unwrap();
    let found = store.find_session("s1", t(10)).await.unwrap().unwrap();
    assert_eq!(found, session("s1", 100));
    assert!(store.find_session("s1", t(100)).await.unwrap().is_none());
    assert_eq!(store.delete_expired_sessions(t(150)).await.unwrap(), 1);
    assert!(store.find_session("s2", t(150)).await.unwrap().is_some());
    store.delete_session("s2").await.unwrap();
    assert!(store.find_session("s2", t(150)).await.unwrap().is_none());
}

pub async fn passwords_are_kept_per_user(store: &dyn Store) {
    let ann = name("ann");
    assert_eq!(store.password_hash(&ann).await.unwrap(), None);
    store
        .set_password(&ann, "hash-1", &ctx("user:ann", 0))
        .await
        .unwrap();
    store
        .set_password(&ann, "hash-2", &ctx("user:ann", 1))
        .await
        .unwrap();
    assert_eq!(
        store.password_hash(&ann).await.unwrap().as_deref(),
        Some("hash-2")
    );
    assert_eq!(store.password_hash(&name("bob")).await.unwrap(), None);
    let audit = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 2);
    assert!(
        audit
            .iter()
            .all(|r| r.action == "password.set" && r.after.is_none())
    );
}

fn user(n: &str, email: &str) -> ObjectDraft {
    draft(
        Kind::User,
        n,
        Labels::new(),
        json!({ "full_name": n, "email": email }),
    )
}

/// Sign-in finds people by email, so no two users may share one (upper and lower case
/// alike), whichever way they are written; an address is free again once its user
/// changes it or goes.
pub async fn each_email_belongs_to_one_user(store: &dyn Store) {
    let new = |d| Change::Create {
        draft: d,
        scope: AccessTarget::default(),
    };
    store
        .commit(vec![new(user("ann", "Ann@Example.com"))], &ctx("system", 0))
        .await
        .unwrap();
    let (found, hash) = store
        .user_by_email("ann@EXAMPLE.com")
        .await
        .unwrap()
        .expect("found whatever the case");
    assert_eq!((found.name.as_str(), hash), ("ann", None));
    store
        .set_password(&name("ann"), "hash-ann", &ctx("system", 1))
        .await
        .unwrap();
    assert_eq!(
        store
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap()
            .1
            .as_deref(),
        Some("hash-ann")
    );
    assert!(
        store
            .user_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let err = store
        .commit(
            vec![new(user("mallory", "ANN@example.COM"))],
            &ctx("system", 2),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::EmailInUse { user, .. } if user == "ann"),
        "{err:?}"
    );
    assert!(
        store
            .get_object(Kind::User, &name("mallory"))
            .await
            .unwrap()
            .is_none()
    );
    // Taken by an update just the same.
    store
        .commit(vec![new(user("bob", "bob@example.com"))], &ctx("system", 3))
        .await
        .unwrap();
    let update = |d| Change::Update {
        draft: d,
        expected_version: None,
        scope: AccessTarget::default(),
    };
    let err = store
        .commit(
            vec![update(user("bob", "ann@example.com"))],
            &ctx("system", 4),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::EmailInUse { .. }), "{err:?}");
    // Two new users with one address in one batch: neither is written.
    let err = store
        .commit(
            vec![
                new(user("cy", "cy@example.com")),
                new(user("cyd", "CY@example.com")),
            ],
            &ctx("system", 5),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::EmailInUse { .. }), "{err:?}");
    assert!(
        store
            .get_object(Kind::User, &name("cy"))
            .await
            .unwrap()
            .is_none()
    );
    // A user keeps their own address through an update, and frees it by changing it.
    store
        .commit(
            vec![update(user("ann", "ann@example.com"))],
            &ctx("system", 6),
        )
        .await
        .unwrap();
    store
        .commit(
            vec![update(user("ann", "ann@new.example"))],
            &ctx("system", 7),
        )
        .await
        .unwrap();
    assert!(
        store
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .is_none()
    );
    store
        .commit(
            vec![update(user("bob", "ann@example.com"))],
            &ctx("system", 8),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap()
            .0
            .name
            .as_str(),
        "bob"
    );
    // Deleting a user frees their address.
    store
        .commit(
            vec![Change::Delete {
                kind: Kind::User,
                name: name("bob"),
                expected_version: None,
                scope: AccessTarget::default(),
            }],
            &ctx("system", 9),
        )
        .await
        .unwrap();
    assert!(
        store
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .is_none()
    );
    store
        .commit(
            vec![new(user("mallory", "ann@example.com"))],
            &ctx("system", 10),
        )
        .await
        .unwrap();
}

/// Failed sign-ins past a key's free ones make its next attempt wait, doubling per
/// failure; a waiting attempt counts nothing; success forgets the account and takes back
/// the client's attempt; old failures are forgotten, so no key is locked for good.
pub async fn failed_signins_make_the_next_attempt_wait_and_are_forgotten(store: &dyn Store) {
    let policy = SigninPolicy::default();
    let account = ThrottleKey {
        key: "account:ann".into(),
        free: 2,
    };
    let client = ThrottleKey {
        key: "client:192.0.2.1".into(),
        free: 3,
    };
    let keys = [account.clone(), client.clone()];
    let claim = |at: i64| store.claim_signin(&keys, &policy, t(at));
    let secs = std::time::Duration::from_secs;
    assert_eq!(
        claim(0).await.unwrap(),
        SigninClaim::Allowed {
            failures: vec![1, 1]
        }
    );
    assert_eq!(
        claim(0).await.unwrap(),
        SigninClaim::Allowed {
            failures: vec![2, 2]
        }
    );
    // Two failures: the account's free ones are spent; its next attempt waits a second.
    assert_eq!(
        claim(0).await.unwrap(),
        SigninClaim::Throttled {
            retry_after: secs(1)
        }
    );
    assert_eq!(
        claim(0).await.unwrap(),
        SigninClaim::Throttled {
            retry_after: secs(1)
        },
        "a refused attempt does not lengthen the wait"
    );
    assert_eq!(
        claim(1).await.unwrap(),
        SigninClaim::Allowed {
            failures: vec![3, 3]
        }
    );
    // Three: the account waits two seconds (the client, past its free ones, one).
    assert_eq!(
        claim(2).await.unwrap(),
        SigninClaim::Throttled {
            retry_after: secs(1)
        }
    );
    assert_eq!(
        claim(3).await.unwrap(),
        SigninClaim::Allowed {
            failures: vec![4, 4]
        }
    );
    assert_eq!(
        claim(4).await.unwrap(),
        SigninClaim::Throttled {
            retry_after: secs(3)
        },
        "four failures: the account waits four seconds, the longest wait of any key"
    );
    // Another client on another account is not held back.
    let other = [
        ThrottleKey {
            key: "account:bob".into(),
            free: 2,
        },
        ThrottleKey {
            key: "client:192.0.2.2".into(),
            free: 3,
        },
    ];
    assert_eq!(
        store.claim_signin(&other, &policy, t(4)).await.unwrap(),
        SigninClaim::Allowed {
            failures: vec![1, 1]
        }
    );
    // The attempt at 7 succeeds: the account starts over; the client keeps its earlier
    // failures but not this attempt.
    assert_eq!(
        claim(7).await.unwrap(),
        SigninClaim::Allowed {
            failures: vec![5, 5]
        }
    );
    store
        .signin_succeeded(
            std::slice::from_ref(&account.key),
            std::slice::from_ref(&client.key),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_signin(std::slice::from_ref(&account), &policy, t(7))
            .await
            .unwrap(),
        SigninClaim::Allowed { failures: vec![1] }
    );
    assert_eq!(
        store
            .claim_signin(std::slice::from_ref(&client), &policy, t(7))
            .await
            .unwrap(),
        SigninClaim::Allowed { failures: vec![5] },
        "the client had four failures; this is its fifth"
    );
    // An hour without failures forgets them.
    let hour = policy.forget.as_secs() as i64;
    assert_eq!(
        store
            .claim_signin(std::slice::from_ref(&client), &policy, t(8 + hour))
            .await
            .unwrap(),
        SigninClaim::Allowed { failures: vec![1] }
    );
    // The sweep removes keys whose failures are old and that make nobody wait.
    assert_eq!(
        store
            .forget_signin_failures(t(8 + hour), t(8 + hour))
            .await
            .unwrap(),
        3,
        "account:ann, account:bob and client:192.0.2.2"
    );
    assert_eq!(
        store
            .claim_signin(std::slice::from_ref(&account), &policy, t(9 + hour))
            .await
            .unwrap(),
        SigninClaim::Allowed { failures: vec![1] }
    );
}

/// Events that change no object (a failed sign-in) are audited with their details.
pub async fn events_without_an_object_are_audited(store: &dyn Store) {
    let scope = AccessTarget {
        company: Some("acme".into()),
        teams: vec![name("shop")],
    };
    store
        .append_audit(NewAuditEntry {
            at: t(5),
            actor: "client:192.0.2.1".into(),
            action: "signin.failed".into(),
            kind: "User".into(),
            name: "ann".into(),
            scope: scope.clone(),
            detail: Some(json!({"email": "ann@example.com", "reason": "wrong password"})),
        })
        .await
        .unwrap();
    let rows = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.at,
            row.actor.as_str(),
            row.action.as_str(),
            row.kind.as_str(),
            row.name.as_str()
        ),
        (t(5), "client:192.0.2.1", "signin.failed", "User", "ann")
    );
    assert_eq!(row.scope, scope);
    assert_eq!(row.before, None);
    assert_eq!(
        row.after,
        Some(json!({"email": "ann@example.com", "reason": "wrong password"}))
    );
}

pub async fn server_secrets_are_resealed_under_one_recorded_key(store: &dyn Store) {
    assert_eq!(store.secret_key_fingerprint().await.unwrap(), None);
    // The first value stored for a name stays; later candidates are ignored.
    assert_eq!(
        store.server_secret("links", "plain", t(0)).await.unwrap(),
        "plain"
    );
    assert_eq!(
        store.server_secret("links", "other", t(1)).await.unwrap(),
        "plain"
    );
    store
        .server_secret("webhooks", "hooks", t(1))
        .await
        .unwrap();

    // Resealing rewrites every value and records the key, all at once.
    let wrap = |name: &str, value: &str| -> std::result::Result<String, String> {
        Ok(format!("A({name}:{value})"))
    };
    assert_eq!(
        store
            .reseal_secrets(None, "key-a", &wrap, t(2))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store.secret_key_fingerprint().await.unwrap().as_deref(),
        Some("key-a")
    );
    assert_eq!(
        store.server_secret("links", "x", t(3)).await.unwrap(),
        "A(links:plain)"
    );
    // Unchanged values are not counted.
    let keep =
        |_: &str, value: &str| -> std::result::Result<String, String> { Ok(value.to_owned()) };
    assert_eq!(
        store
            .reseal_secrets(Some("key-a"), "key-a", &keep, t(3))
            .await
            .unwrap(),
        0
    );

    // A stale expectation (another node got there first) changes nothing.
    let err = store
        .reseal_secrets(None, "key-b", &wrap, t(4))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = store
        .reseal_secrets(Some("key-z"), "key-b", &wrap, t(4))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // A value that cannot be rewritten fails the whole batch.
    let refuse = |name: &str, value: &str| -> std::result::Result<String, String> {
        if name == "webhooks" {
            Err("does not open".into())
        } else {
            Ok(format!("B({value})"))
        }
    };
    let err = store
        .reseal_secrets(Some("key-a"), "key-b", &refuse, t(5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    assert_eq!(
        store.secret_key_fingerprint().await.unwrap().as_deref(),
        Some("key-a")
    );
    assert_eq!(
        store.server_secret("links", "x", t(6)).await.unwrap(),
        "A(links:plain)"
    );
    // Rotation moves both.
    let rotate =
        |_: &str, value: &str| -> std::result::Result<String, String> { Ok(format!("B({value})")) };
    assert_eq!(
        store
            .reseal_secrets(Some("key-a"), "key-b", &rotate, t(7))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store.server_secret("webhooks", "x", t(8)).await.unwrap(),
        "B(A(webhooks:hooks))"
    );
    assert_eq!(
        store.secret_key_fingerprint().await.unwrap().as_deref(),
        Some("key-b")
    );
}
