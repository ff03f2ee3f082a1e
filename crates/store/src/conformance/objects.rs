//! Stories for the object store: versioned writes, all-or-nothing commits, paged and
//! filtered lists, the audit of every change, text, references and lookup keys.

use domain::{AccessTarget, Kind, Labels, Selector};
use serde_json::json;

use super::{all, create, ctx, draft, name, t};
use crate::*;

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
