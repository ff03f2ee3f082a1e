//! Stories every backend must pass, run on SQLite and on PostgreSQL by each backend's
//! tests through [`conformance_suite!`](crate::conformance_suite).
//!
//! Each story takes a fresh, migrated, empty store. Timestamps are fixed: the store
//! never reads the clock, so nothing here depends on when it runs.

use domain::{AccessTarget, Grant, Kind, Labels, Name, Role, Selector, Timestamp};
use serde_json::json;

use crate::*;
use paging::{Action, AlertBody, Severity, Status, Urgency};

mod plumbing;
pub use plumbing::*;

/// Generates one `#[tokio::test]` per story for a backend. `$factory` is an async fn
/// returning something that derefs to a fresh `dyn Store`.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:path) => {
        $crate::conformance_suite!(@stories $factory;
            objects_round_trip,
            commit_is_all_or_nothing,
            stale_versions_are_refused,
            lists_page_by_name_and_filter_by_labels,
            every_change_is_audited,
            tokens_are_found_by_hash_until_revoked_or_expired,
            sessions_expire,
            passwords_are_kept_per_user,
            each_email_belongs_to_one_user,
            failed_signins_make_the_next_attempt_wait_and_are_forgotten,
            events_without_an_object_are_audited,
            text_survives_byte_for_byte,
            references_are_kept_whole,
            lookup_keys_find_their_object_and_are_unique,
            events_open_repeat_acknowledge_and_resolve_alerts,
            identical_triggers_in_one_batch_open_one_incident,
            people_act_on_incidents,
            alerts_of_one_group_share_an_incident,
            alerts_are_listed_newest_first,
            changes_are_kept_per_service_in_time_order,
            incidents_merge_into_one,
            incidents_are_searched_sorted_counted_and_paged,
            a_group_takes_alerts_only_within_its_window,
            a_new_alert_retriggers_an_acknowledged_incident_unless_told_not_to,
            timers_are_claimed_with_fenced_leases,
            acknowledgements_time_out_and_snoozes_end_by_timer,
            timers_ingest_in_the_transaction_that_removes_them,
            held_alerts_open_no_incident_until_released,
            flapping_alerts_are_held_with_the_reason_on_the_timeline,
            people_snooze_escalate_and_reassign,
            schedule_overrides_are_kept_listed_by_range_and_removed,
            notifications_are_claimed_per_channel_and_recorded_once,
            outside_text_is_kept_cleaned_and_keys_with_nul_are_refused,
            a_providers_reply_with_nul_is_recorded_cleaned,
            server_secrets_are_resealed_under_one_recorded_key,
            leases_are_taken_renewed_and_handed_over_with_a_higher_fence,
            an_old_holder_is_refused_after_hand_over,
            a_commit_bumps_the_generations_of_its_kinds_only,
        );
    };
    (@stories $factory:path; $($story:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let store = $factory().await;
                $crate::conformance::$story(&*store).await;
            }
        )*
    };
}

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).expect("valid test timestamp")
}

fn name(s: &str) -> Name {
    Name::new(s).expect("valid test name")
}

fn ctx(actor: &str, at: i64) -> WriteContext {
    WriteContext {
        actor: actor.to_owned(),
        at: t(at),
    }
}

fn draft(kind: Kind, n: &str, labels: Labels, spec: serde_json::Value) -> ObjectDraft {
    ObjectDraft {
        kind,
        name: name(n),
        labels,
        spec,
        source: None,
        references: Vec::new(),
        status: None,
        lookup_keys: Vec::new(),
    }
}

fn create(kind: Kind, n: &str, labels: Labels) -> Change {
    Change::Create {
        draft: draft(kind, n, labels, json!({ "owner_team": "core" })),
        scope: AccessTarget::default(),
    }
}

fn all(limit: u32) -> ListQuery {
    ListQuery {
        limit,
        ..ListQuery::default()
    }
}

pub async fn objects_round_trip(store: &dyn Store) {
    store.ping().await.expect("ping");
    let team = name("core");
    assert_eq!(store.get_object(Kind::Team, &team).await.unwrap(), None);

    let mut d = draft(
        Kind::Team,
        "core",
        Labels::from([("company", "acme")]),
        json!({ "members": ["ann"] }),
    );
    d.source = Some("teams/core.yaml".into());
    let stored = store
        .commit(
            vec![Change::Create {
                draft: d.clone(),
                scope: AccessTarget::default(),
            }],
            &ctx("user:ann", 0),
        )
        .await
        .expect("create");
    assert_eq!(stored.len(), 1);
    let got = store.get_object(Kind::Team, &team).await.unwrap().unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.created_at, t(0));
    assert_eq!(got.updated_at, t(0));
    assert_eq!(got.spec, json!({ "members": ["ann"] }));
    assert_eq!(got.labels.get("company"), Some("acme"));
    assert_eq!(got.source.as_deref(), Some("teams/core.yaml"));
    assert_eq!(got, stored[0]);

    // The same name in another kind is another object.
    store
        .commit(
            vec![create(Kind::Service, "core", Labels::new())],
            &ctx("system", 1),
        )
        .await
        .expect("same name, other kind");

    d.spec = json!({ "members": ["ann", "bob"] });
    d.source = None;
    store
        .commit(
            vec![Change::Update {
                draft: d,
                expected_version: Some(1),
                scope: AccessTarget::default(),
            }],
            &ctx("user:ann", 5),
        )
        .await
        .expect("update");
    let got = store.get_object(Kind::Team, &team).await.unwrap().unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.created_at, t(0));
    assert_eq!(got.updated_at, t(5));
    assert_eq!(got.source, None);
    assert_eq!(got.spec["members"][1], "bob");

    let deleted = store
        .commit(
            vec![Change::Delete {
                kind: Kind::Team,
                name: team.clone(),
                expected_version: None,
                scope: AccessTarget::default(),
            }],
            &ctx("user:ann", 6),
        )
        .await
        .expect("delete");
    assert_eq!(deleted[0].version, 2);
    assert_eq!(store.get_object(Kind::Team, &team).await.unwrap(), None);
    assert!(
        store
            .get_object(Kind::Service, &team)
            .await
            .unwrap()
            .is_some()
    );

    let err = store
        .commit(
            vec![Change::Delete {
                kind: Kind::Team,
                name: team,
                expected_version: None,
                scope: AccessTarget::default(),
            }],
            &ctx("user:ann", 7),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn commit_is_all_or_nothing(store: &dyn Store) {
    store
        .commit(
            vec![create(Kind::Team, "a", Labels::new())],
            &ctx("system", 0),
        )
        .await
        .unwrap();
    let err = store
        .commit(
            vec![
                create(Kind::Team, "b", Labels::new()),
                create(Kind::Team, "c", Labels::new()),
                create(Kind::Team, "a", Labels::new()),
            ],
            &ctx("system", 1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists { kind, name } if kind == "Team" && name == "a"),
        "{err:?}"
    );
    let names: Vec<_> = store
        .list_objects(Kind::Team, &all(10))
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name.to_string())
        .collect();
    assert_eq!(names, ["a"], "a failed batch leaves nothing behind");
    let audit = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "a failed batch writes no audit rows");
}

pub async fn stale_versions_are_refused(store: &dyn Store) {
    store
        .commit(
            vec![create(Kind::Service, "api", Labels::new())],
            &ctx("system", 0),
        )
        .await
        .unwrap();
    let update = |v| Change::Update {
        draft: draft(
            Kind::Service,
            "api",
            Labels::new(),
            json!({ "owner_team": "x" }),
        ),
        expected_version: Some(v),
        scope: AccessTarget::default(),
    };
    store
        .commit(vec![update(1)], &ctx("system", 1))
        .await
        .unwrap();
    let err = store
        .commit(vec![update(1)], &ctx("system", 2))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::VersionConflict {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let err = store
        .commit(
            vec![Change::Update {
                draft: draft(Kind::Service, "nope", Labels::new(), json!({})),
                expected_version: None,
                scope: AccessTarget::default(),
            }],
            &ctx("system", 3),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn lists_page_by_name_and_filter_by_labels(store: &dyn Store) {
    let mut changes = Vec::new();
    for i in 0..25 {
        let company = if i % 2 == 0 { "acme" } else { "globex" };
        let mut labels = Labels::from([("company", company)]);
        if i % 5 == 0 {
            labels.insert("tier", "1");
        }
        changes.push(create(Kind::Service, &format!("svc-{i:02}"), labels));
    }
    changes.push(create(Kind::Team, "not-a-service", Labels::new()));
    store.commit(changes, &ctx("system", 0)).await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_objects(
                Kind::Service,
                &ListQuery {
                    after: after.clone(),
                    limit: 10,
                    selector: Selector::default(),
                },
            )
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        after = page.last().map(|o| o.name.clone());
        seen.extend(page.into_iter().map(|o| o.name.to_string()));
    }
    let expected: Vec<_> = (0..25).map(|i| format!("svc-{i:02}")).collect();
    assert_eq!(
        seen, expected,
        "pages cover every object once, in name order"
    );

    let select = |s: &str| ListQuery {
        limit: 100,
        selector: Selector::parse(s).unwrap(),
        after: None,
    };
    let count = |q| async move { store.list_objects(Kind::Service, &q).await.unwrap().len() };
    assert_eq!(count(select("company=acme")).await, 13);
    assert_eq!(count(select("company=acme,tier=1")).await, 3);
    assert_eq!(count(select("tier")).await, 5);
    assert_eq!(count(select("company!=acme")).await, 12);
    assert_eq!(count(select("tier!=1")).await, 20);
    assert_eq!(count(select("company=initech")).await, 0);

    let snapshot = store.snapshot(&[Kind::Service, Kind::Team]).await.unwrap();
    assert_eq!(snapshot.len(), 26);
    let snapshot = store.snapshot(&[Kind::Team]).await.unwrap();
    assert_eq!(snapshot.len(), 1);
}

pub async fn every_change_is_audited(store: &dyn Store) {
    let scope = AccessTarget {
        company: Some("acme".into()),
        teams: vec![name("core")],
    };
    store
        .commit(
            vec![Change::Create {
                draft: draft(Kind::Team, "core", Labels::new(), json!({ "members": [] })),
                scope: scope.clone(),
            }],
            &ctx("user:ann", 10),
        )
        .await
        .unwrap();
    store
        .commit(
            vec![Change::Update {
                draft: draft(
                    Kind::Team,
                    "core",
                    Labels::new(),
                    json!({ "members": ["bob"] }),
                ),
                expected_version: None,
                scope: scope.clone(),
            }],
            &ctx("token:ci", 20),
        )
        .await
        .unwrap();
    store
        .commit(
            vec![Change::Delete {
                kind: Kind::Team,
                name: name("core"),
                expected_version: None,
                scope: scope.clone(),
            }],
            &ctx("user:ann", 30),
        )
        .await
        .unwrap();

    let rows = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<_> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["delete", "update", "create"], "newest first");
    let (delete, update, create) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(create.actor, "user:ann");
    assert_eq!(create.at, t(10));
    assert_eq!(create.before, None);
    assert_eq!(
        create.after.as_ref().unwrap()["spec"],
        json!({ "members": [] })
    );
    assert_eq!(update.actor, "token:ci");
    assert_eq!(
        update.before.as_ref().unwrap()["spec"]["members"],
        json!([])
    );
    assert_eq!(
        update.after.as_ref().unwrap()["spec"]["members"],
        json!(["bob"])
    );
    assert_eq!(delete.after, None);
    assert_eq!(delete.scope, scope);
    assert!(rows.iter().all(|r| r.kind == "Team" && r.name == "core"));

    let older = store
        .audit_log(&AuditQuery {
            limit: 10,
            before_id: Some(update.id),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].action, "create");
}

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

pub async fn text_survives_byte_for_byte(store: &dyn Store) {
    let text = "信頼 — ünïcödé, 'quotes' \"double\" \\ back\\slash, emoji 🚨, nul-free";
    let big = "x".repeat(200_000);
    let labels = Labels::from([("product", "信頼")]);
    store
        .commit(
            vec![Change::Create {
                draft: draft(
                    Kind::Service,
                    "api",
                    labels.clone(),
                    json!({ "description": text, "big": big, "n": 1.5, "deep": [[{"a": null}]] }),
                ),
                scope: AccessTarget::default(),
            }],
            &ctx("system", 0),
        )
        .await
        .unwrap();
    let got = store
        .get_object(Kind::Service, &name("api"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.spec["description"], text);
    assert_eq!(got.spec["big"].as_str().map(str::len), Some(200_000));
    assert_eq!(got.spec["n"], 1.5);
    assert_eq!(got.spec["deep"], json!([[{"a": null}]]));
    assert_eq!(got.labels, labels);
    let found = store
        .list_objects(
            Kind::Service,
            &ListQuery {
                limit: 10,
                selector: Selector::parse("product=信頼").unwrap(),
                after: None,
            },
        )
        .await
        .unwrap();
    // Selector keys are ASCII; values may be any text.
    assert_eq!(found.len(), 1);
}

pub async fn references_are_kept_whole(store: &dyn Store) {
    let service = |owner: &str| {
        let mut d = draft(
            Kind::Service,
            "api",
            Labels::new(),
            json!({ "owner_team": owner }),
        );
        d.references = vec![(Kind::Team, name(owner))];
        d
    };
    let create = |d: ObjectDraft| Change::Create {
        draft: d,
        scope: AccessTarget::default(),
    };
    let delete = |kind, n: &str| Change::Delete {
        kind,
        name: name(n),
        expected_version: None,
        scope: AccessTarget::default(),
    };

    // A reference to nothing fails the whole batch.
    let err = store
        .commit(vec![create(service("core"))], &ctx("system", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::MissingReference { to_kind, to_name, .. } if to_kind == "Team" && to_name == "core"),
        "{err:?}"
    );
    assert!(
        store
            .get_object(Kind::Service, &name("api"))
            .await
            .unwrap()
            .is_none()
    );

    // Objects created together may name each other, in either order.
    let mut user = draft(Kind::User, "ann", Labels::new(), json!({}));
    user.references = vec![(Kind::Team, name("core"))];
    let mut team = draft(Kind::Team, "core", Labels::new(), json!({}));
    team.references = vec![(Kind::User, name("ann"))];
    store
        .commit(
            vec![create(user), create(team), create(service("core"))],
            &ctx("system", 1),
        )
        .await
        .expect("a batch whose references close within it");

    // A referenced object cannot be deleted, and the refusal names who refers to it.
    let err = store
        .commit(vec![delete(Kind::Team, "core")], &ctx("system", 2))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::StillReferenced { by_kind, .. } if by_kind == "Service" || by_kind == "User"),
        "{err:?}"
    );
    assert!(
        store
            .get_object(Kind::Team, &name("core"))
            .await
            .unwrap()
            .is_some()
    );

    // Dropping the reference by an update releases it.
    store
        .commit(
            vec![Change::Update {
                draft: draft(Kind::Service, "api", Labels::new(), json!({})),
                expected_version: None,
                scope: AccessTarget::default(),
            }],
            &ctx("system", 3),
        )
        .await
        .unwrap();
    // Deleting the other referrer and the team in one batch leaves nothing dangling.
    store
        .commit(
            vec![delete(Kind::User, "ann"), delete(Kind::Team, "core")],
            &ctx("system", 4),
        )
        .await
        .expect("delete referrer and referee together");
    assert!(
        store
            .get_object(Kind::Team, &name("core"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn lookup_keys_find_their_object_and_are_unique(store: &dyn Store) {
    let mut api = draft(Kind::Service, "api", Labels::new(), json!({}));
    api.status = Some(json!({ "integrations": { "pd": { "key": "key-api-1" } } }));
    api.lookup_keys = vec!["key-api-1".into()];
    store
        .commit(
            vec![Change::Create {
                draft: api.clone(),
                scope: AccessTarget::default(),
            }],
            &ctx("system", 0),
        )
        .await
        .unwrap();
    let found = store.find_by_key("key-api-1").await.unwrap().unwrap();
    assert_eq!(found.name, name("api"));
    assert_eq!(found.status["integrations"]["pd"]["key"], "key-api-1");
    assert!(store.find_by_key("nope").await.unwrap().is_none());

    // Another object may not take a key in use; nothing of that batch is kept.
    let mut web = draft(Kind::Service, "web", Labels::new(), json!({}));
    web.lookup_keys = vec!["key-web-1".into(), "key-api-1".into()];
    let err = store
        .commit(
            vec![Change::Create {
                draft: web,
                scope: AccessTarget::default(),
            }],
            &ctx("system", 1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::KeyInUse { name, .. } if name == "api"),
        "{err:?}"
    );
    assert!(store.find_by_key("key-web-1").await.unwrap().is_none());

    // An update without a status keeps it; one with new keys replaces the old ones.
    let mut keep = api.clone();
    keep.status = None;
    keep.lookup_keys = vec!["key-api-1".into()];
    store
        .commit(
            vec![Change::Update {
                draft: keep,
                expected_version: None,
                scope: AccessTarget::default(),
            }],
            &ctx("system", 2),
        )
        .await
        .unwrap();
    let got = store
        .get_object(Kind::Service, &name("api"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.status["integrations"]["pd"]["key"], "key-api-1");
    let mut rekey = api.clone();
    rekey.status = Some(json!({}));
    rekey.lookup_keys = vec!["key-api-2".into()];
    store
        .commit(
            vec![Change::Update {
                draft: rekey,
                expected_version: None,
                scope: AccessTarget::default(),
            }],
            &ctx("system", 3),
        )
        .await
        .unwrap();
    assert!(store.find_by_key("key-api-1").await.unwrap().is_none());
    assert_eq!(
        store
            .find_by_key("key-api-2")
            .await
            .unwrap()
            .unwrap()
            .status,
        json!({})
    );

    // Deleting the object frees its keys.
    store
        .commit(
            vec![Change::Delete {
                kind: Kind::Service,
                name: name("api"),
                expected_version: None,
                scope: AccessTarget::default(),
            }],
            &ctx("system", 4),
        )
        .await
        .unwrap();
    assert!(store.find_by_key("key-api-2").await.unwrap().is_none());
}

fn event(action: Action, key: &str, dedup: &str, at: i64) -> IngestEvent {
    IngestEvent {
        service: name("api"),
        integration: name("prom"),
        routing_key: key.into(),
        action,
        dedup_key: dedup.into(),
        body: (action == Action::Trigger).then(|| AlertBody {
            summary: format!("{dedup} is down"),
            source: "prometheus".into(),
            severity: Severity::Critical,
            timestamp: None,
            component: None,
            group: None,
            class: None,
            details: json!({"labels": {"job": "api"}}),
            links: Vec::new(),
            images: Vec::new(),
            client: None,
            client_url: None,
        }),
        group: None,
        group_window: None,
        retrigger_acknowledged: false,
        actor: None,
        urgency: None,
        received_at: t(at),
        handling: Handling::default(),
    }
}

fn incidents(limit: u32) -> IncidentQuery {
    IncidentQuery {
        limit,
        ..IncidentQuery::default()
    }
}

pub async fn events_open_repeat_acknowledge_and_resolve_alerts(store: &dyn Store) {
    let outcomes = store
        .ingest(vec![
            event(Action::Trigger, "k1", "db", 0),
            event(Action::Trigger, "k1", "db", 1),
            event(Action::Acknowledge, "k2", "db", 2),
            event(Action::Acknowledge, "k1", "db", 3),
        ])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(outcomes[1], IngestOutcome::Repeated { incident });
    assert!(
        matches!(outcomes[2], IngestOutcome::Ignored { .. }),
        "another integration's ack changes nothing"
    );
    assert_eq!(outcomes[3], IngestOutcome::Acknowledged { incident });

    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.status, Status::Acknowledged);
    assert_eq!(detail.incident.urgency, Urgency::High);
    assert_eq!(detail.incident.summary, "db is down");
    assert_eq!(detail.incident.acknowledged_at, Some(t(3)));
    assert_eq!(
        detail.incident.acknowledged_by.as_deref(),
        Some("integration:api/prom")
    );
    assert_eq!(detail.incident.dedup_keys, ["db"]);
    assert_eq!(detail.alerts.len(), 1);
    assert_eq!(detail.alerts[0].occurrences, 2);
    assert_eq!(detail.alerts[0].body.details["labels"]["job"], "api");
    let kinds: Vec<_> = detail.log.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "alert.triggered",
            "alert.repeated",
            "alert.acknowledged",
            "incident.acknowledged"
        ]
    );

    // Resolving the last open alert resolves the incident; a retry changes nothing.
    let outcomes = store
        .ingest(vec![
            event(Action::Resolve, "k1", "db", 4),
            event(Action::Resolve, "k1", "db", 5),
        ])
        .await
        .unwrap();
    assert_eq!(outcomes[0], IngestOutcome::Resolved { incident });
    assert!(matches!(outcomes[1], IngestOutcome::Ignored { .. }));
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.status, Status::Resolved);
    assert_eq!(detail.incident.resolved_at, Some(t(4)));

    // After a resolve the same key opens a new alert and a new incident.
    let outcomes = store
        .ingest(vec![event(Action::Trigger, "k1", "db", 6)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident: second } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert!(second > incident);

    // A batch that fails leaves nothing behind.
    let mut broken = event(Action::Trigger, "k1", "other", 7);
    broken.body = None;
    assert!(
        store
            .ingest(vec![event(Action::Trigger, "k1", "third", 7), broken])
            .await
            .is_err()
    );
    let all = store.list_incidents(&incidents(10)).await.unwrap();
    let ids: Vec<_> = all.iter().map(|i| i.id).collect();
    assert_eq!(
        ids,
        [second, incident],
        "newest first, nothing of the failed batch"
    );
    let open = store
        .list_incidents(&IncidentQuery {
            statuses: vec![Status::Triggered],
            ..incidents(10)
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let none = store
        .list_incidents(&IncidentQuery {
            services: Some(vec![name("web")]),
            ..incidents(10)
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let older = store
        .list_incidents(&IncidentQuery {
            before_id: Some(second),
            since: Some(t(0)),
            until: Some(t(1)),
            ..incidents(10)
        })
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
}

/// A trigger on `api` with this dedup key, summary and labels.
fn labelled(dedup: &str, summary: &str, labels: serde_json::Value, at: i64) -> IngestEvent {
    let mut e = event(Action::Trigger, "k1", dedup, at);
    if let Some(b) = &mut e.body {
        b.summary = summary.into();
        b.details = json!({ "labels": labels });
    }
    e
}

pub async fn incidents_are_searched_sorted_counted_and_paged(store: &dyn Store) {
    let mut low = labelled(
        "quota",
        "Über quota",
        json!({"team": "data", "path": "C:\\tmp"}),
        2,
    );
    low.urgency = Some(Urgency::Low);
    let outcomes = store
        .ingest(vec![
            labelled(
                "disk-db1",
                "Disk FULL on db1",
                json!({"team": "Data", "env": "prod"}),
                0,
            ),
            labelled("cpu_hot", "100% CPU on web_2", json!({"team": "web"}), 1),
            low,
        ])
        .await
        .unwrap();
    let ids: Vec<i64> = outcomes
        .iter()
        .map(|o| match o {
            IngestOutcome::Opened { incident } => *incident,
            other => panic!("{other:?}"),
        })
        .collect();
    let (disk, cpu, quota) = (ids[0], ids[1], ids[2]);
    store
        .act_on_incident(
            cpu,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("ann", 3),
        )
        .await
        .unwrap();
    let found = |search: &str| {
        let q = IncidentQuery {
            search: Some(search.to_owned()),
            ..incidents(50)
        };
        async move {
            let listed: Vec<i64> = store
                .list_incidents(&q)
                .await
                .unwrap()
                .iter()
                .map(|i| i.id)
                .collect();
            assert_eq!(
                store.count_incidents(&q).await.unwrap(),
                listed.len() as u64,
                "the count agrees with the list for {q:?}"
            );
            listed
        }
    };
    // Summary, in either case of ASCII letters; every term must match.
    assert_eq!(found("disk").await, [disk]);
    assert_eq!(found("DISK full").await, [disk]);
    assert_eq!(found("disk web").await, Vec::<i64>::new());
    // Blank text finds everything.
    assert_eq!(found("  ").await, [quota, cpu, disk]);
    // The service, a dedup key, anything an alert says.
    assert_eq!(found("API").await, [quota, cpu, disk]);
    assert_eq!(found("cpu_hot").await, [cpu]);
    assert_eq!(found("prod").await, [disk]);
    // `%`, `_` and `\` are plain characters, not patterns.
    assert_eq!(found("100%").await, [cpu]);
    assert_eq!(found("%").await, [cpu]);
    assert_eq!(found("b_2").await, [cpu]);
    assert_eq!(found("_").await, [cpu]);
    assert_eq!(found("C:\\tmp").await, [quota]);
    assert_eq!(found("path=C:\\tmp").await, [quota]);
    // Labels: `key=value` is exact, in either case of ASCII letters.
    assert_eq!(found("team=data").await, [quota, disk]);
    assert_eq!(found("team=dat").await, Vec::<i64>::new());
    assert_eq!(found("TEAM=web").await, [cpu]);
    assert_eq!(found("team=data env=prod").await, [disk]);
    assert_eq!(found("team=data quota").await, [quota]);
    // Only ASCII letters fold, on every backend.
    assert_eq!(found("Über").await, [quota]);
    assert_eq!(found("über").await, Vec::<i64>::new());

    let order = |sort: IncidentSort, offset: u32, limit: u32| {
        let q = IncidentQuery {
            sort,
            offset,
            ..incidents(limit)
        };
        async move {
            store
                .list_incidents(&q)
                .await
                .unwrap()
                .iter()
                .map(|i| i.id)
                .collect::<Vec<i64>>()
        }
    };
    assert_eq!(order(IncidentSort::Newest, 0, 10).await, [quota, cpu, disk]);
    assert_eq!(order(IncidentSort::Oldest, 0, 10).await, [disk, cpu, quota]);
    assert_eq!(
        order(IncidentSort::Urgency, 0, 10).await,
        [cpu, disk, quota]
    );
    assert_eq!(order(IncidentSort::Status, 0, 10).await, [quota, disk, cpu]);
    assert_eq!(
        order(IncidentSort::Updated, 0, 10).await,
        [cpu, quota, disk]
    );
    // Pages: an offset skips that many in order; past the end is empty.
    assert_eq!(order(IncidentSort::Oldest, 1, 1).await, [cpu]);
    assert_eq!(order(IncidentSort::Oldest, 2, 2).await, [quota]);
    assert!(order(IncidentSort::Oldest, 3, 2).await.is_empty());
    // Urgency and status filters, and a count that ignores paging.
    let q = IncidentQuery {
        urgencies: vec![Urgency::High],
        statuses: vec![Status::Triggered],
        offset: 5,
        ..incidents(1)
    };
    assert_eq!(store.count_incidents(&q).await.unwrap(), 1);
    let q = IncidentQuery {
        services: Some(Vec::new()),
        ..incidents(1)
    };
    assert_eq!(store.count_incidents(&q).await.unwrap(), 0);
    // Sorts are a closed set, named as the API and console name them.
    for sort in IncidentSort::ALL {
        assert_eq!(IncidentSort::parse(sort.as_str()), Some(sort));
    }
    assert_eq!(IncidentSort::parse("id; DROP TABLE incidents"), None);
}

pub async fn identical_triggers_in_one_batch_open_one_incident(store: &dyn Store) {
    let batch = (0..50)
        .map(|i| event(Action::Trigger, "k1", "flap", i))
        .collect();
    let outcomes = store.ingest(batch).await.unwrap();
    assert!(matches!(outcomes[0], IngestOutcome::Opened { .. }));
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| matches!(o, IngestOutcome::Repeated { .. }))
    );
    let all = store.list_incidents(&incidents(10)).await.unwrap();
    assert_eq!(all.len(), 1);
    let detail = store.get_incident(all[0].id).await.unwrap().unwrap();
    assert_eq!(detail.alerts[0].occurrences, 50);
}

pub async fn people_act_on_incidents(store: &dyn Store) {
    let outcomes = store
        .ingest(vec![event(Action::Trigger, "k1", "cpu", 0)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    let note = IncidentAction::Note("looking at the graphs".into());
    let noted = store
        .act_on_incident(incident, note, &ctx("user:ann", 1))
        .await
        .unwrap();
    assert_eq!(noted.status, Status::Triggered);
    let acked = store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 2),
        )
        .await
        .unwrap();
    assert_eq!(acked.status, Status::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("user:ann"));
    let again = store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:bob", 3),
        )
        .await
        .unwrap();
    assert_eq!(
        again.acknowledged_by.as_deref(),
        Some("user:ann"),
        "the first acknowledgement stands"
    );
    let resolved = store
        .act_on_incident(incident, IncidentAction::Resolve, &ctx("user:bob", 4))
        .await
        .unwrap();
    assert_eq!(resolved.status, Status::Resolved);
    assert_eq!(resolved.resolved_by.as_deref(), Some("user:bob"));
    assert_eq!(resolved.dedup_keys, ["cpu"]);
    let err = store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 5),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = store
        .act_on_incident(9999, IncidentAction::Resolve, &ctx("user:ann", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(
        detail.alerts[0].status,
        Status::Resolved,
        "resolving an incident resolves its alerts"
    );
    let log: Vec<_> = detail
        .log
        .iter()
        .map(|l| (l.kind.as_str(), l.actor.as_str()))
        .collect();
    assert_eq!(
        log,
        [
            ("alert.triggered", "integration:api/prom"),
            ("note", "user:ann"),
            ("incident.acknowledged", "user:ann"),
            ("incident.resolved", "user:bob"),
        ]
    );
    assert_eq!(detail.log[1].data["text"], "looking at the graphs");
    // The key is free again: the next trigger opens a new incident.
    let outcomes = store
        .ingest(vec![event(Action::Trigger, "k1", "cpu", 6)])
        .await
        .unwrap();
    assert!(matches!(outcomes[0], IngestOutcome::Opened { incident: n } if n != incident));
}

pub async fn alerts_of_one_group_share_an_incident(store: &dyn Store) {
    let grouped = |action, dedup: &str, at| IngestEvent {
        group: Some("{}:{alertname=\"HighLatency\"}".into()),
        group_window: None,
        retrigger_acknowledged: false,
        ..event(action, "k1", dedup, at)
    };
    let mut low = grouped(Action::Trigger, "web-1", 0);
    if let Some(b) = low.body.as_mut() {
        b.severity = Severity::Warning;
    }
    let outcomes = store
        .ingest(vec![
            low,
            grouped(Action::Trigger, "web-2", 1),
            event(Action::Trigger, "k1", "lone", 2),
        ])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_eq!(outcomes[1], IngestOutcome::Joined { incident });
    assert!(matches!(outcomes[2], IngestOutcome::Opened { incident: other } if other != incident));
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.dedup_keys, ["web-1", "web-2"]);
    assert_eq!(
        detail.incident.urgency,
        Urgency::High,
        "a critical alert joining raises the urgency"
    );
    let group = "{}:{alertname=\"HighLatency\"}";
    assert_eq!(
        store
            .open_alerts_of_group(&name("api"), group)
            .await
            .unwrap(),
        ["web-1", "web-2"]
    );

    store
        .ingest(vec![grouped(Action::Resolve, "web-1", 3)])
        .await
        .unwrap();
    assert_eq!(
        store
            .get_incident(incident)
            .await
            .unwrap()
            .unwrap()
            .incident
            .status,
        Status::Triggered
    );
    assert_eq!(
        store
            .open_alerts_of_group(&name("api"), group)
            .await
            .unwrap(),
        ["web-2"]
    );
    store
        .ingest(vec![grouped(Action::Resolve, "web-2", 4)])
        .await
        .unwrap();
    assert_eq!(
        store
            .get_incident(incident)
            .await
            .unwrap()
            .unwrap()
            .incident
            .status,
        Status::Resolved
    );
    assert!(
        store
            .open_alerts_of_group(&name("api"), group)
            .await
            .unwrap()
            .is_empty()
    );

    // Once the group's incident is resolved, the group opens a new one.
    let outcomes = store
        .ingest(vec![grouped(Action::Trigger, "web-1", 5)])
        .await
        .unwrap();
    assert!(
        matches!(outcomes[0], IngestOutcome::Opened { incident: n } if n != incident),
        "{outcomes:?}"
    );
}

pub async fn alerts_are_listed_newest_first(store: &dyn Store) {
    store
        .ingest(vec![
            event(Action::Trigger, "k1", "a", 0),
            event(Action::Trigger, "k1", "b", 1),
            event(Action::Trigger, "k1", "c", 2),
            event(Action::Resolve, "k1", "b", 3),
        ])
        .await
        .unwrap();
    let all = store
        .list_alerts(&AlertQuery {
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    let keys: Vec<_> = all.iter().map(|a| a.dedup_key.as_str()).collect();
    assert_eq!(keys, ["c", "b", "a"]);
    let open = store
        .list_alerts(&AlertQuery {
            statuses: vec![Status::Triggered],
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 2);
    let page = store
        .list_alerts(&AlertQuery {
            before_id: Some(all[0].id),
            limit: 1,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page[0].dedup_key, "b");
    let none = store
        .list_alerts(&AlertQuery {
            services: Some(vec![]),
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

pub async fn changes_are_kept_per_service_in_time_order(store: &dyn Store) {
    let change = |service: &str, at: i64, summary: &str| NewChange {
        service: name(service),
        integration: name("ci"),
        at: t(at),
        summary: summary.into(),
        body: json!({ "summary": summary, "details": { "sha": "abc" } }),
    };
    store
        .record_change(change("api", 20, "deploy 2"))
        .await
        .unwrap();
    let first = store
        .record_change(change("api", 10, "deploy 1"))
        .await
        .unwrap();
    store
        .record_change(change("web", 15, "other service"))
        .await
        .unwrap();
    let got = store
        .changes_between(&name("api"), t(0), t(100))
        .await
        .unwrap();
    let summaries: Vec<_> = got.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(
        summaries,
        ["deploy 1", "deploy 2"],
        "oldest first, this service only"
    );
    assert_eq!(got[0], first);
    assert_eq!(got[0].body["details"]["sha"], "abc");
    assert_eq!(
        store
            .changes_between(&name("api"), t(11), t(20))
            .await
            .unwrap()
            .len(),
        0,
        "to is exclusive"
    );
}

pub async fn incidents_merge_into_one(store: &dyn Store) {
    let outcomes = store
        .ingest(vec![
            event(Action::Trigger, "k1", "a", 0),
            event(Action::Trigger, "k1", "b", 1),
            event(Action::Trigger, "k1", "c", 2),
        ])
        .await
        .unwrap();
    let ids: Vec<i64> = outcomes
        .iter()
        .map(|o| match o {
            IngestOutcome::Opened { incident } => *incident,
            other => panic!("{other:?}"),
        })
        .collect();
    let merged = store
        .merge_incidents(ids[0], vec![ids[1], ids[2]], &ctx("user:ann", 3))
        .await
        .unwrap();
    assert_eq!(merged.dedup_keys, ["a", "b", "c"]);
    assert_eq!(merged.status, Status::Triggered);
    for gone in &ids[1..] {
        let d = store.get_incident(*gone).await.unwrap().unwrap();
        assert_eq!(d.incident.status, Status::Resolved);
        assert_eq!(d.incident.resolved_by.as_deref(), Some("user:ann"));
        assert!(d.alerts.is_empty(), "its alerts moved");
        assert!(
            d.log
                .iter()
                .any(|l| l.kind == "incident.merged_into" && l.data["into"] == ids[0])
        );
    }
    let target = store.get_incident(ids[0]).await.unwrap().unwrap();
    assert_eq!(
        target
            .log
            .iter()
            .filter(|l| l.kind == "incident.merged")
            .count(),
        2
    );
    // A later event on a moved alert acts on the merged incident.
    let outcomes = store
        .ingest(vec![event(Action::Resolve, "k1", "b", 4)])
        .await
        .unwrap();
    assert_eq!(outcomes[0], IngestOutcome::Resolved { incident: ids[0] });

    let err = store
        .merge_incidents(ids[0], vec![ids[1]], &ctx("user:ann", 5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "resolved incidents do not merge: {err:?}"
    );
    let err = store
        .merge_incidents(ids[0], vec![ids[0]], &ctx("user:ann", 5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

pub async fn a_group_takes_alerts_only_within_its_window(store: &dyn Store) {
    let grouped = |dedup: &str, at| IngestEvent {
        group: Some("labels:alertname=Disk,cluster=eu".into()),
        group_window: Some(std::time::Duration::from_secs(3600)),
        retrigger_acknowledged: false,
        ..event(Action::Trigger, "k1", dedup, at)
    };
    let outcomes = store.ingest(vec![grouped("db1", 0)]).await.unwrap();
    let IngestOutcome::Opened { incident: first } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    // 30 minutes later: within the hour, the alert joins.
    let outcomes = store.ingest(vec![grouped("db2", 1800)]).await.unwrap();
    assert_eq!(outcomes[0], IngestOutcome::Joined { incident: first });
    // Two hours after the first opened, the group starts a new incident; the old one stays
    // open with its alerts.
    let outcomes = store.ingest(vec![grouped("db3", 7200)]).await.unwrap();
    let IngestOutcome::Opened { incident: second } = outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert_ne!(second, first);
    let outcomes = store.ingest(vec![grouped("db4", 7300)]).await.unwrap();
    assert_eq!(
        outcomes[0],
        IngestOutcome::Joined { incident: second },
        "new alerts go to the new one"
    );
    let old = store.get_incident(first).await.unwrap().unwrap();
    assert_eq!(
        (old.incident.status, old.incident.dedup_keys.len()),
        (Status::Triggered, 2)
    );
}

pub async fn a_new_alert_retriggers_an_acknowledged_incident_unless_told_not_to(store: &dyn Store) {
    let grouped = |dedup: &str, at, retrigger| IngestEvent {
        group: Some(format!("g-{retrigger}")),
        retrigger_acknowledged: retrigger,
        ..event(Action::Trigger, "k1", dedup, at)
    };
    for retrigger in [true, false] {
        let outcomes = store
            .ingest(vec![grouped(&format!("first-{retrigger}"), 0, retrigger)])
            .await
            .unwrap();
        let IngestOutcome::Opened { incident } = outcomes[0] else {
            panic!("{outcomes:?}")
        };
        store
            .act_on_incident(
                incident,
                IncidentAction::Acknowledge { timeout: None },
                &ctx("user:ann", 1),
            )
            .await
            .unwrap();
        let outcomes = store
            .ingest(vec![grouped(&format!("second-{retrigger}"), 2, retrigger)])
            .await
            .unwrap();
        assert_eq!(outcomes[0], IngestOutcome::Joined { incident });
        let d = store.get_incident(incident).await.unwrap().unwrap();
        if retrigger {
            assert_eq!(
                d.incident.status,
                Status::Triggered,
                "a second problem pages again"
            );
            assert_eq!(d.incident.acknowledged_by, None);
            assert!(d.log.iter().any(|l| l.kind == "incident.retriggered"));
        } else {
            assert_eq!(d.incident.status, Status::Acknowledged);
            assert!(d.log.iter().all(|l| l.kind != "incident.retriggered"));
        }
        // A repeat of an alert already on the incident never retriggers it.
        store
            .act_on_incident(
                incident,
                IncidentAction::Acknowledge { timeout: None },
                &ctx("user:ann", 3),
            )
            .await
            .unwrap();
        store
            .ingest(vec![grouped(&format!("second-{retrigger}"), 4, retrigger)])
            .await
            .unwrap();
        let d = store.get_incident(incident).await.unwrap().unwrap();
        assert_eq!(d.incident.status, Status::Acknowledged);
    }
}

fn timer(kind: &str, subject: &str, due: i64) -> NewTimer {
    NewTimer {
        kind: kind.into(),
        subject: subject.into(),
        due_at: t(due),
        data: json!({ "subject": subject }),
    }
}

pub async fn timers_are_claimed_with_fenced_leases(store: &dyn Store) {
    store.set_timer(timer("test", "a", 10), t(0)).await.unwrap();
    store.set_timer(timer("test", "b", 20), t(0)).await.unwrap();
    // What the self-watch reports: how many are due, and since when.
    assert_eq!(store.timer_backlog(t(5)).await.unwrap(), (0, None));
    assert_eq!(store.timer_backlog(t(25)).await.unwrap(), (2, Some(t(10))));
    assert!(
        store
            .claim_timers(t(5), "n1", t(65), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let first = store.claim_timers(t(15), "n1", t(75), 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].subject, "a");
    assert_eq!(first[0].lease_owner.as_deref(), Some("n1"));
    assert_eq!(first[0].data, json!({ "subject": "a" }));
    // n1's lease holds: n2 gets nothing until it expires.
    assert!(
        store
            .claim_timers(t(16), "n2", t(76), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let second = store.claim_timers(t(80), "n2", t(140), 10).await.unwrap();
    let subjects: Vec<&str> = second.iter().map(|t| t.subject.as_str()).collect();
    assert_eq!(subjects, ["a", "b"]);
    let a2 = &second[0];
    assert!(a2.fence > first[0].fence, "each claim takes a new fence");
    assert_eq!(a2.attempts, 2);
    // n1 comes back after its lease expired: its fence is stale, nothing happens.
    assert!(
        !store
            .finish_timer(first[0].id, first[0].fence, TimerEffect::Drop, t(81))
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_timer(a2.id, a2.fence, TimerEffect::Drop, t(81))
            .await
            .unwrap()
    );
    // Moving a claimed timer bumps its fence: the claim of the old due time does nothing.
    let b = &second[1];
    let moved = store
        .set_timer(timer("test", "b", 100), t(82))
        .await
        .unwrap();
    assert!(moved.fence > b.fence);
    assert_eq!(moved.lease_owner, None);
    assert!(
        !store
            .finish_timer(b.id, b.fence, TimerEffect::Drop, t(83))
            .await
            .unwrap()
    );
    let left = store.list_timers().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].subject.as_str(), left[0].due_at), ("b", t(100)));
}

async fn finish_due(
    store: &dyn Store,
    at: i64,
    effect: impl Fn(&TimerRecord) -> TimerEffect,
) -> usize {
    let due = store
        .claim_timers(t(at), "test", t(at + 60), 100)
        .await
        .unwrap();
    let mut n = 0;
    for timer in &due {
        if store
            .finish_timer(timer.id, timer.fence, effect(timer), t(at))
            .await
            .unwrap()
        {
            n += 1;
        }
    }
    n
}

fn wake_effect(timer: &TimerRecord) -> TimerEffect {
    TimerEffect::Wake {
        incident: timer.data["incident"].as_i64().unwrap(),
        reason: timer.data["reason"].as_str().unwrap().to_owned(),
    }
}

fn log_kinds(detail: &IncidentDetail) -> Vec<&str> {
    detail.log.iter().map(|l| l.kind.as_str()).collect()
}

pub async fn acknowledgements_time_out_and_snoozes_end_by_timer(store: &dyn Store) {
    let opened = store
        .ingest(vec![event(Action::Trigger, "k1", "disk", 0)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let timeout = std::time::Duration::from_secs(30 * 60);
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge {
                timeout: Some(timeout),
            },
            &ctx("user:ann", 10),
        )
        .await
        .unwrap();
    let timers = store.list_timers().await.unwrap();
    assert_eq!(timers.len(), 1);
    assert_eq!(
        (timers[0].kind.as_str(), timers[0].due_at),
        (WAKE, t(10 + 1800))
    );
    assert_eq!(finish_due(store, 1809, wake_effect).await, 0, "not due yet");
    assert_eq!(finish_due(store, 1810, wake_effect).await, 1);
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.status, Status::Triggered);
    assert_eq!(detail.incident.acknowledged_by, None);
    let last = detail.log.last().unwrap();
    assert_eq!(last.kind, "incident.unacknowledged");
    assert_eq!(
        last.data["reason"],
        "the acknowledgement timed out after 30 minutes"
    );

    // A snooze ends by timer too; resolving first removes the timer.
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 2000),
        )
        .await
        .unwrap();
    assert!(store.list_timers().await.unwrap().is_empty());
    let snoozed = store
        .act_on_incident(
            incident,
            IncidentAction::Snooze { until: t(2600) },
            &ctx("user:ann", 2001),
        )
        .await
        .unwrap();
    assert_eq!(snoozed.snoozed_until, Some(t(2600)));
    assert_eq!(snoozed.status, Status::Acknowledged);
    assert_eq!(finish_due(store, 2600, wake_effect).await, 1);
    let woke = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(woke.incident.status, Status::Triggered);
    assert_eq!(woke.incident.snoozed_until, None);
    assert_eq!(woke.log.last().unwrap().data["reason"], "the snooze ended");

    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge {
                timeout: Some(timeout),
            },
            &ctx("user:ann", 3000),
        )
        .await
        .unwrap();
    store
        .act_on_incident(incident, IncidentAction::Resolve, &ctx("user:ann", 3001))
        .await
        .unwrap();
    assert!(
        store.list_timers().await.unwrap().is_empty(),
        "resolving ends the timeout"
    );
}

pub async fn timers_ingest_in_the_transaction_that_removes_them(store: &dyn Store) {
    // A heartbeat: each ping (a resolve that changes nothing) sets the deadline.
    let ping = |at: i64| IngestEvent {
        handling: Handling {
            arm: Some(timer(HEARTBEAT, "api/cron", at + 300)),
            ..Handling::default()
        },
        ..event(Action::Resolve, "k1", "heartbeat:cron", at)
    };
    let out = store.ingest(vec![ping(0)]).await.unwrap();
    assert!(matches!(out[0], IngestOutcome::Ignored { .. }), "{out:?}");
    store.ingest(vec![ping(200)]).await.unwrap();
    let timers = store.list_timers().await.unwrap();
    assert_eq!(timers.len(), 1, "a ping moves the one deadline");
    assert_eq!(timers[0].due_at, t(500));
    let missed = |_: &TimerRecord| {
        TimerEffect::Ingest(Box::new(event(
            Action::Trigger,
            "k1",
            "heartbeat:cron",
            500,
        )))
    };
    assert_eq!(finish_due(store, 500, missed).await, 1);
    let open = store.list_incidents(&incidents(10)).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].dedup_keys, ["heartbeat:cron"]);
    assert!(store.list_timers().await.unwrap().is_empty());
    // The next ping resolves it and sets the deadline again.
    let out = store.ingest(vec![ping(600)]).await.unwrap();
    assert_eq!(
        out[0],
        IngestOutcome::Resolved {
            incident: open[0].id
        }
    );
    assert_eq!(store.list_timers().await.unwrap()[0].due_at, t(900));
}

fn held(hold: &str, until: Option<i64>, ev: IngestEvent) -> IngestEvent {
    IngestEvent {
        handling: Handling {
            hold: Some(Hold {
                reason: hold.into(),
                until: until.map(t),
            }),
            ..Handling::default()
        },
        ..ev
    }
}

fn release_effect(timer: &TimerRecord) -> TimerEffect {
    TimerEffect::Release {
        alert: timer.data["alert"].as_i64().unwrap(),
        reason: "the hold ended".into(),
        urgency: None,
    }
}

pub async fn held_alerts_open_no_incident_until_released(store: &dyn Store) {
    let w = "maintenance: db-upgrade";
    let out = store
        .ingest(vec![
            held(
                w,
                Some(100),
                event(Action::Trigger, "k1", "still-firing", 0),
            ),
            held(
                w,
                Some(100),
                event(Action::Trigger, "k1", "still-firing", 1),
            ),
            held(w, Some(100), event(Action::Trigger, "k1", "recovers", 2)),
            event(Action::Resolve, "k1", "recovers", 3),
            held(w, None, event(Action::Trigger, "k1", "repeats-later", 4)),
        ])
        .await
        .unwrap();
    let IngestOutcome::Held { alert } = out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(out[1], IngestOutcome::Held { alert });
    assert!(matches!(out[3], IngestOutcome::Held { .. }));
    assert!(
        store
            .list_incidents(&incidents(10))
            .await
            .unwrap()
            .is_empty(),
        "no incident while held"
    );
    let alerts = store
        .list_alerts(&AlertQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let firing = alerts.iter().find(|a| a.id == alert).unwrap();
    assert_eq!(
        (
            firing.incident_id,
            firing.held.as_deref(),
            firing.occurrences
        ),
        (None, Some(w), 2)
    );
    // The resolved alert's timer went with it; the firing one's waits for the window's end.
    let timers = store.list_timers().await.unwrap();
    assert_eq!(timers.len(), 1);
    assert_eq!(
        (timers[0].kind.as_str(), timers[0].due_at),
        (RELEASE, t(100))
    );

    assert_eq!(finish_due(store, 100, release_effect).await, 1);
    let open = store.list_incidents(&incidents(10)).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].dedup_keys, ["still-firing"]);
    let detail = store.get_incident(open[0].id).await.unwrap().unwrap();
    assert_eq!(log_kinds(&detail), ["alert.triggered", "alert.released"]);
    assert_eq!(detail.log[1].data["held"], w);
    assert_eq!(detail.alerts[0].held, None);

    // A held alert repeated after its window ended is released by that trigger.
    let out = store
        .ingest(vec![event(Action::Trigger, "k1", "repeats-later", 200)])
        .await
        .unwrap();
    assert!(matches!(out[0], IngestOutcome::Opened { .. }), "{out:?}");
    assert_eq!(store.list_incidents(&incidents(10)).await.unwrap().len(), 2);
}

pub async fn flapping_alerts_are_held_with_the_reason_on_the_timeline(store: &dyn Store) {
    let flappy = |action, at| IngestEvent {
        handling: Handling {
            flapping: Some(FlapRule {
                changes: 4,
                window: std::time::Duration::from_secs(600),
            }),
            ..Handling::default()
        },
        ..event(action, "k1", "flappy", at)
    };
    let out = store
        .ingest(vec![
            flappy(Action::Trigger, 0),
            flappy(Action::Resolve, 60),
            flappy(Action::Trigger, 120),
            flappy(Action::Resolve, 180),
            flappy(Action::Trigger, 240),
            flappy(Action::Resolve, 300),
            flappy(Action::Trigger, 360),
        ])
        .await
        .unwrap();
    assert!(matches!(out[0], IngestOutcome::Opened { .. }));
    let IngestOutcome::Opened { incident: second } = out[2] else {
        panic!("{out:?}")
    };
    // The fifth change in ten minutes is held; so is the seventh.
    assert!(matches!(out[4], IngestOutcome::Held { .. }), "{out:?}");
    assert!(matches!(out[6], IngestOutcome::Held { .. }), "{out:?}");
    assert_eq!(store.list_incidents(&incidents(10)).await.unwrap().len(), 2);
    let detail = store.get_incident(second).await.unwrap().unwrap();
    let held_line = detail
        .log
        .iter()
        .find(|l| l.kind == "alert.held")
        .expect("the reason is on the timeline");
    assert_eq!(
        held_line.data["reason"],
        "flapping: 5 changes in 10 minutes"
    );
    // Still firing when the window has passed: it pages after all. (The held alert that
    // resolved took its timer with it.)
    assert_eq!(finish_due(store, 960, release_effect).await, 1);
    let open = store
        .list_incidents(&IncidentQuery {
            statuses: vec![Status::Triggered],
            ..incidents(10)
        })
        .await
        .unwrap();
    assert_eq!(
        open.len(),
        1,
        "only the alert still firing opened an incident"
    );
    // Well after the flapping, a trigger opens an incident as usual.
    store
        .ingest(vec![flappy(Action::Resolve, 1000)])
        .await
        .unwrap();
    let out = store
        .ingest(vec![flappy(Action::Trigger, 5000)])
        .await
        .unwrap();
    assert!(matches!(out[0], IngestOutcome::Opened { .. }), "{out:?}");
}

pub async fn people_snooze_escalate_and_reassign(store: &dyn Store) {
    let opened = store
        .ingest(vec![event(Action::Trigger, "k1", "cpu", 0)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let err = store
        .act_on_incident(
            incident,
            IncidentAction::Snooze { until: t(600) },
            &ctx("user:ann", 1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m.contains("acknowledge it first")),
        "{err}"
    );
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 2),
        )
        .await
        .unwrap();
    let err = store
        .act_on_incident(
            incident,
            IncidentAction::Snooze { until: t(1) },
            &ctx("user:ann", 3),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");

    let escalated = store
        .act_on_incident(incident, IncidentAction::Escalate, &ctx("user:ann", 4))
        .await
        .unwrap();
    assert_eq!(escalated.status, Status::Triggered);
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 5),
        )
        .await
        .unwrap();
    let reassigned = store
        .act_on_incident(
            incident,
            IncidentAction::Reassign {
                to: vec![name("bob"), name("cho")],
            },
            &ctx("user:ann", 6),
        )
        .await
        .unwrap();
    assert_eq!(reassigned.assignees, ["bob", "cho"]);
    assert_eq!(
        reassigned.status,
        Status::Triggered,
        "the new assignees are paged"
    );
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(
        log_kinds(&detail),
        [
            "alert.triggered",
            "incident.acknowledged",
            "incident.escalated",
            "incident.retriggered",
            "incident.acknowledged",
            "incident.reassigned",
            "incident.retriggered"
        ]
    );
    assert_eq!(detail.log[5].data["to"], json!(["bob", "cho"]));
    store
        .act_on_incident(incident, IncidentAction::Resolve, &ctx("user:ann", 7))
        .await
        .unwrap();
    for action in [
        IncidentAction::Escalate,
        IncidentAction::Reassign {
            to: vec![name("bob")],
        },
    ] {
        let err = store
            .act_on_incident(incident, action, &ctx("user:ann", 8))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    }
}

pub async fn schedule_overrides_are_kept_listed_by_range_and_removed(store: &dyn Store) {
    let add = |user: &str, from: i64, to: i64| NewOverride {
        schedule: name("primary"),
        user: name(user),
        start: t(from),
        end: t(to),
        scope: AccessTarget::default(),
    };
    let first = store
        .add_override(add("ann", 0, 3600), &ctx("user:bob", 0))
        .await
        .unwrap();
    assert_eq!(first.created_by, "user:bob");
    store
        .add_override(add("cho", 7200, 10_800), &ctx("user:bob", 1))
        .await
        .unwrap();
    let mut other = add("dan", 0, 99_999);
    other.schedule = name("secondary");
    store
        .add_override(other, &ctx("user:bob", 2))
        .await
        .unwrap();

    let users = |list: Vec<OverrideRecord>| -> Vec<String> {
        list.into_iter().map(|o| o.user.to_string()).collect()
    };
    let all = store
        .list_overrides(&name("primary"), t(0), t(20_000))
        .await
        .unwrap();
    assert_eq!(users(all), ["ann", "cho"]);
    // Ranges are half-open: an override ending at `from` is not in it.
    let later = store
        .list_overrides(&name("primary"), t(3600), t(7201))
        .await
        .unwrap();
    assert_eq!(users(later), ["cho"]);

    store
        .delete_override(
            &name("primary"),
            first.id,
            &AccessTarget::default(),
            &ctx("user:bob", 3),
        )
        .await
        .unwrap();
    let err = store
        .delete_override(
            &name("secondary"),
            first.id,
            &AccessTarget::default(),
            &ctx("user:bob", 4),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let left = store
        .list_overrides(&name("primary"), t(0), t(20_000))
        .await
        .unwrap();
    assert_eq!(users(left), ["cho"]);
    let audit = store
        .audit_log(&AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(
        actions.contains(&"override.create") && actions.contains(&"override.delete"),
        "{actions:?}"
    );
}

pub async fn notifications_are_claimed_per_channel_and_recorded_once(store: &dyn Store) {
    // A service whose incidents follow a policy (copied onto each incident).
    let create = |kind, n: &str, spec| Change::Create {
        draft: draft(kind, n, Labels::new(), spec),
        scope: AccessTarget::default(),
    };
    store
        .commit(
            vec![
                create(Kind::EscalationPolicy, "ops", json!({"team": "core", "levels": [{"targets": [{"user": "ann"}], "delay_minutes": 5}]})),
                create(Kind::Service, "api", json!({"owner_team": "core", "escalation_policy": "ops"})),
            ],
            &ctx("system", 0),
        )
        .await
        .unwrap();
    let opened = store
        .ingest(vec![event(Action::Trigger, "k1", "disk", 0)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let escalation = detail.incident.escalation.expect("the policy was copied");
    assert_eq!(
        (
            escalation.policy.as_str(),
            escalation.spec["levels"][0]["delay_minutes"].as_i64()
        ),
        ("ops", Some(5))
    );
    let due = store.claim_timers(t(0), "n1", t(60), 10).await.unwrap();
    assert_eq!(
        (due.len(), due[0].kind.as_str()),
        (1, ESCALATE),
        "its first step is due at once"
    );

    let note = |channel: &str, id: &str, at: i64| NewNotification {
        user: name("ann"),
        channel: channel.into(),
        contact: channel.into(),
        address: "ann@acme.test".into(),
        event: "triggered".into(),
        delivery_id: id.into(),
        due_at: t(at),
    };
    let step = EscalationStep {
        incident,
        round: 0,
        level: 0,
        people: vec![name("ann")],
        skipped: Vec::new(),
        fallback: false,
        reassigned: false,
        next: Some((0, 1, t(300))),
        notifications: vec![
            note("email", "d-1", 0),
            note("webhook", "d-2", 0),
            note("email", "d-3", 300),
        ],
    };
    assert!(
        store
            .finish_timer(
                due[0].id,
                due[0].fence,
                TimerEffect::Escalate(Box::new(step)),
                t(0)
            )
            .await
            .unwrap()
    );
    let shown = store.get_incident(incident).await.unwrap().unwrap();
    assert_eq!(shown.incident.assignees, ["ann"]);
    assert_eq!(shown.incident.escalation.unwrap().level, 0);

    // Each channel claims only its own due rows.
    let email = store
        .claim_notifications("email", t(1), "n1", t(61), 10)
        .await
        .unwrap();
    assert_eq!(
        email
            .iter()
            .map(|n| n.delivery_id.as_str())
            .collect::<Vec<_>>(),
        ["d-1"]
    );
    assert!(
        store
            .claim_notifications("email", t(2), "n2", t(62), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let hook = store
        .claim_notifications("webhook", t(1), "n1", t(61), 10)
        .await
        .unwrap();
    assert_eq!(hook.len(), 1);
    // A retry keeps the delivery id and waits; a stale fence records nothing.
    assert!(
        store
            .finish_notification(
                hook[0].id,
                hook[0].fence,
                Delivery::Retry {
                    error: "HTTP 503".into(),
                    at: t(30)
                },
                t(2)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_notification(
                hook[0].id,
                hook[0].fence,
                Delivery::Sent {
                    answer: "late".into()
                },
                t(3)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_notifications("webhook", t(29), "n1", t(89), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_notifications("webhook", t(30), "n1", t(90), 10)
        .await
        .unwrap();
    assert_eq!(
        (again[0].delivery_id.as_str(), again[0].attempts),
        ("d-2", 2)
    );
    assert!(
        store
            .finish_notification(
                again[0].id,
                again[0].fence,
                Delivery::Dead {
                    error: "HTTP 404".into()
                },
                t(31)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_notification(
                email[0].id,
                email[0].fence,
                Delivery::Sent {
                    answer: "SMTP 250 ok".into()
                },
                t(2)
            )
            .await
            .unwrap()
    );
    // Acknowledging cancels the page not yet due.
    store
        .act_on_incident(
            incident,
            IncidentAction::Acknowledge { timeout: None },
            &ctx("user:ann", 40),
        )
        .await
        .unwrap();
    let all = store
        .list_notifications(&NotificationQuery {
            incident: Some(incident),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let states: Vec<(&str, &str)> = all
        .iter()
        .map(|n| (n.delivery_id.as_str(), n.status.as_str()))
        .collect();
    assert_eq!(
        states,
        [("d-3", "cancelled"), ("d-2", "dead"), ("d-1", "sent")]
    );
    assert!(
        store
            .claim_notifications("email", t(400), "n1", t(460), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let dead = store
        .list_notifications(&NotificationQuery {
            statuses: vec!["dead".into()],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    // Every attempt and its answer is on the timeline.
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let lines: Vec<(&str, String)> = detail
        .log
        .iter()
        .filter(|l| l.kind.starts_with("notification."))
        .map(|l| {
            (
                l.kind.as_str(),
                l.data["delivery_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("notification.failed", "d-2".to_owned()),
            ("notification.dead", "d-2".to_owned()),
            ("notification.sent", "d-1".to_owned())
        ]
    );
    assert!(
        store.list_timers().await.unwrap().is_empty(),
        "acknowledging stopped the escalation"
    );

    // Lists narrowed by service, by incident, and paged by id.
    let ids = |list: Vec<NotificationRecord>| -> Vec<String> {
        list.into_iter().map(|n| n.delivery_id).collect()
    };
    let query = |services: Option<Vec<Name>>, incidents: Option<Vec<i64>>, before: Option<i64>| {
        NotificationQuery {
            services,
            incidents,
            before_id: before,
            limit: 2,
            ..Default::default()
        }
    };
    let first = store
        .list_notifications(&query(Some(vec![name("api")]), None, None))
        .await
        .unwrap();
    assert_eq!(ids(first.clone()), ["d-3", "d-2"]);
    let next = store
        .list_notifications(&query(None, Some(vec![incident]), Some(first[1].id)))
        .await
        .unwrap();
    assert_eq!(ids(next), ["d-1"]);
    for (services, incidents) in [
        (Some(vec![name("other")]), None),
        (Some(Vec::new()), None),
        (None, Some(vec![incident + 1])),
        (None, Some(Vec::new())),
    ] {
        assert!(
            store
                .list_notifications(&query(services.clone(), incidents.clone(), None))
                .await
                .unwrap()
                .is_empty(),
            "{services:?} {incidents:?} match nothing"
        );
    }
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

/// Outside text is kept the same on every backend: a NUL in free text (summaries, custom
/// details and their labels, notes, changes, a provider's reply) becomes U+FFFD and long
/// values are cut to `domain::text`'s limits, while a key with a NUL is refused naming
/// its field. No such value makes a write fail otherwise (PostgreSQL cannot keep a NUL in
/// a text column), and looking such a key up finds nothing.
pub async fn outside_text_is_kept_cleaned_and_keys_with_nul_are_refused(store: &dyn Store) {
    let mut ev = event(Action::Trigger, "k1", "disk", 0);
    let body = ev.body.as_mut().expect("a trigger has a body");
    body.summary = format!("disk\0full {}", "x".repeat(2000));
    body.source = "host\0one".into();
    body.details = json!({"labels": {"job\0": "api\0"}, "deep": [{"note": "a\0b"}]});
    let opened = store.ingest(vec![ev]).await.unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let kept = format!("disk\u{FFFD}full {}", "x".repeat(1024 - 10));
    assert_eq!(detail.incident.summary, kept);
    assert_eq!(
        detail.incident.summary.chars().count(),
        domain::text::MAX_SUMMARY
    );
    let alert = &detail.alerts[0];
    assert_eq!(alert.body.summary, kept);
    assert_eq!(alert.body.source, "host\u{FFFD}one");
    assert_eq!(
        alert.body.details,
        json!({"labels": {"job\u{FFFD}": "api\u{FFFD}"}, "deep": [{"note": "a\u{FFFD}b"}]})
    );

    // Keys with a NUL are refused, naming the field; nothing of the batch is kept.
    for (field, poison) in [
        ("dedup_key", {
            let mut e = event(Action::Trigger, "k1", "db", 1);
            e.dedup_key = "db\0one".into();
            e
        }),
        ("group", {
            let mut e = event(Action::Trigger, "k1", "db", 1);
            e.group = Some("g\0".into());
            e
        }),
    ] {
        match store
            .ingest(vec![event(Action::Trigger, "k1", "other", 1), poison])
            .await
        {
            Err(StoreError::Invalid(e)) => assert_eq!(e.field(), field, "{e}"),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(store.list_incidents(&incidents(10)).await.unwrap().len(), 1);
    let token = NewToken {
        name: "ci\0".into(),
        hash: "h-nul".into(),
        grants: vec![Grant::global(Role::Viewer)],
        user: None,
        expires_at: None,
    };
    match store.create_token(token, &ctx("user:root", 1)).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.field(), "name", "{e}"),
        other => panic!("a token name with a NUL: {other:?}"),
    }
    assert!(store.list_tokens().await.unwrap().is_empty());
    // Looking a key with a NUL up finds nothing.
    assert!(store.find_by_key("key\0").await.unwrap().is_none());
    let none = store
        .list_alerts(&AlertQuery {
            dedup_key: Some("disk\0".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(
        store
            .open_alerts_of_group(&name("api"), "g\0")
            .await
            .unwrap()
            .is_empty()
    );

    // A note and a change with a NUL are kept cleaned.
    store
        .act_on_incident(
            incident,
            IncidentAction::Note("looked\0at it".into()),
            &ctx("user:ann", 2),
        )
        .await
        .unwrap();
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let note = detail.log.iter().find(|l| l.kind == "note").unwrap();
    assert_eq!(note.data["text"], "looked\u{FFFD}at it");
    let change = store
        .record_change(NewChange {
            service: name("api"),
            integration: name("prom"),
            at: t(3),
            summary: "deploy\0 42".into(),
            body: json!({"by\0": "ci\0"}),
        })
        .await
        .unwrap();
    assert_eq!(change.summary, "deploy\u{FFFD} 42");
    let changes = store
        .changes_between(&name("api"), t(0), t(10))
        .await
        .unwrap();
    assert_eq!(changes[0].summary, "deploy\u{FFFD} 42");
    assert_eq!(changes[0].body, json!({"by\u{FFFD}": "ci\u{FFFD}"}));
}

/// A provider's reply is outside text too: one with a NUL (a webhook receiver's error
/// page) is recorded cleaned and cut to `domain::text::MAX_ANSWER`, on every backend, so
/// that recording it never fails; so is an address queued with one.
pub async fn a_providers_reply_with_nul_is_recorded_cleaned(store: &dyn Store) {
    let create = |kind, n: &str, spec| Change::Create {
        draft: draft(kind, n, Labels::new(), spec),
        scope: AccessTarget::default(),
    };
    store
        .commit(
            vec![
                create(Kind::EscalationPolicy, "ops", json!({"team": "core", "levels": [{"targets": [{"user": "ann"}], "delay_minutes": 5}]})),
                create(Kind::Service, "api", json!({"owner_team": "core", "escalation_policy": "ops"})),
            ],
            &ctx("system", 0),
        )
        .await
        .unwrap();
    let opened = store
        .ingest(vec![event(Action::Trigger, "k1", "disk", 0)])
        .await
        .unwrap();
    let IngestOutcome::Opened { incident } = opened[0] else {
        panic!("{opened:?}")
    };
    let step = EscalationStep {
        incident,
        round: 0,
        level: 0,
        people: vec![name("ann")],
        skipped: Vec::new(),
        fallback: false,
        reassigned: false,
        next: None,
        notifications: vec![NewNotification {
            user: name("ann"),
            channel: "webhook".into(),
            contact: "hook".into(),
            // An address that slipped past the checks with a NUL is queued cleaned.
            address: "https://hooks.acme.test/\0".into(),
            event: "triggered".into(),
            delivery_id: "d-nul".into(),
            due_at: t(4),
        }],
    };
    let due = store.claim_timers(t(4), "n1", t(64), 10).await.unwrap();
    assert_eq!(due[0].kind, ESCALATE);
    assert!(
        store
            .finish_timer(
                due[0].id,
                due[0].fence,
                TimerEffect::Escalate(Box::new(step)),
                t(4)
            )
            .await
            .unwrap()
    );
    let hook = store
        .claim_notifications("webhook", t(4), "n1", t(64), 10)
        .await
        .unwrap();
    let reply = format!("HTTP 500 \0{}", "y".repeat(5000));
    assert!(
        store
            .finish_notification(
                hook[0].id,
                hook[0].fence,
                Delivery::Retry {
                    error: reply,
                    at: t(30)
                },
                t(5)
            )
            .await
            .unwrap()
    );
    let kept = store
        .list_notifications(&NotificationQuery {
            incident: Some(incident),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(kept[0].address, "https://hooks.acme.test/\u{FFFD}");
    let error = kept[0].last_error.clone().unwrap();
    assert!(error.starts_with("HTTP 500 \u{FFFD}y"), "{error}");
    assert_eq!(error.chars().count(), domain::text::MAX_ANSWER);
    let again = store
        .claim_notifications("webhook", t(30), "n1", t(90), 10)
        .await
        .unwrap();
    assert!(
        store
            .finish_notification(
                again[0].id,
                again[0].fence,
                Delivery::Sent {
                    answer: "HTTP 200 \0ok".into()
                },
                t(31)
            )
            .await
            .unwrap()
    );
    let detail = store.get_incident(incident).await.unwrap().unwrap();
    let sent = detail
        .log
        .iter()
        .find(|l| l.kind == "notification.sent")
        .unwrap();
    assert_eq!(sent.data["answer"], "HTTP 200 \u{FFFD}ok");
}
