//! Stories for the plumbing capabilities build on: named leases and the generations
//! behind the change feed.

use std::time::Duration;

use domain::{Kind, Labels};

use super::{create, ctx, name, t};
use crate::*;

const TTL: Duration = Duration::from_secs(30);

/// A lease is taken when free, extended by its holder, refused to others while it holds,
/// and handed over once it lapses, with a higher fence.
pub async fn leases_are_taken_renewed_and_handed_over_with_a_higher_fence(store: &dyn Store) {
    assert_eq!(store.get_lease("evaluator", t(0)).await.unwrap(), None);
    let a = store
        .acquire_lease("evaluator", "node-a", t(0), TTL)
        .await
        .unwrap()
        .expect("a free lease is taken");
    assert_eq!((a.holder.as_str(), a.expires_at), ("node-a", t(30)));
    assert_eq!(
        store.get_lease("evaluator", t(1)).await.unwrap(),
        Some(a.clone())
    );

    assert_eq!(
        store
            .acquire_lease("evaluator", "node-b", t(10), TTL)
            .await
            .unwrap(),
        None,
        "another node waits while the lease holds"
    );
    let renewed = store
        .renew_lease("evaluator", "node-a", a.fence, t(20), TTL)
        .await
        .unwrap()
        .expect("the holder renews");
    assert_eq!((renewed.fence, renewed.expires_at), (a.fence, t(50)));
    let again = store
        .acquire_lease("evaluator", "node-a", t(25), TTL)
        .await
        .unwrap()
        .expect("acquiring a lease one holds extends it");
    assert_eq!((again.fence, again.expires_at), (a.fence, t(55)));
    assert_eq!(
        store
            .acquire_lease("evaluator", "node-b", t(54), TTL)
            .await
            .unwrap(),
        None,
        "still held one moment before it lapses"
    );

    let b = store
        .acquire_lease("evaluator", "node-b", t(55), TTL)
        .await
        .unwrap()
        .expect("a lapsed lease is handed over");
    assert_eq!(b.holder, "node-b");
    assert!(
        b.fence > a.fence,
        "the fence grows: {} then {}",
        a.fence,
        b.fence
    );
    assert_eq!(
        store.get_lease("evaluator", t(60)).await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(
        store.get_lease("evaluator", t(85)).await.unwrap(),
        None,
        "lapsed"
    );

    // Leases are independent by name.
    let other = store
        .acquire_lease("deploy/checkout", "node-a", t(60), TTL)
        .await
        .unwrap()
        .expect("another name is free");
    assert_eq!(other.holder, "node-a");

    // A released lease is free at once, and its next holder's fence is higher still.
    assert!(
        store
            .release_lease("evaluator", "node-b", b.fence)
            .await
            .unwrap()
    );
    assert_eq!(store.get_lease("evaluator", t(61)).await.unwrap(), None);
    let c = store
        .acquire_lease("evaluator", "node-a", t(61), TTL)
        .await
        .unwrap()
        .expect("a released lease is free");
    assert!(
        c.fence > b.fence,
        "the fence grows: {} then {}",
        b.fence,
        c.fence
    );

    let bad = store.acquire_lease("bad\0name", "node-a", t(61), TTL).await;
    assert!(
        matches!(&bad, Err(StoreError::Invalid(e)) if e.field() == "lease name"),
        "{bad:?}"
    );
}

/// Once a lease changed hands, its old holder can neither renew nor release it, whatever
/// it believes; and a holder whose lease lapsed cannot renew it either.
pub async fn an_old_holder_is_refused_after_hand_over(store: &dyn Store) {
    let a = store
        .acquire_lease("shard-1", "node-a", t(0), TTL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .renew_lease("shard-1", "node-a", a.fence, t(30), TTL)
            .await
            .unwrap(),
        None,
        "a lapsed lease is not renewed"
    );
    let b = store
        .acquire_lease("shard-1", "node-b", t(31), TTL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .renew_lease("shard-1", "node-a", a.fence, t(32), TTL)
            .await
            .unwrap(),
        None,
        "the old holder's renewal is refused"
    );
    assert_eq!(
        store
            .renew_lease("shard-1", "node-b", a.fence, t(32), TTL)
            .await
            .unwrap(),
        None,
        "an old fence is refused even to the holder"
    );
    assert!(
        !store
            .release_lease("shard-1", "node-a", a.fence)
            .await
            .unwrap(),
        "the old holder's release is refused"
    );
    assert_eq!(
        store.get_lease("shard-1", t(33)).await.unwrap(),
        Some(b.clone()),
        "the new holder keeps it"
    );
    let renewed = store
        .renew_lease("shard-1", "node-b", b.fence, t(40), TTL)
        .await
        .unwrap()
        .expect("the new holder renews");
    assert_eq!(renewed.expires_at, t(70));
}

/// Each commit bumps the generation of every kind it writes, once, and no other kind's;
/// a commit that fails bumps nothing.
pub async fn a_commit_bumps_the_generations_of_its_kinds_only(store: &dyn Store) {
    let gens = |pairs: &[(&str, i64)]| -> Generations {
        pairs.iter().map(|(k, g)| ((*k).to_owned(), *g)).collect()
    };
    assert_eq!(store.generations().await.unwrap(), gens(&[]));
    store
        .commit(
            vec![create(Kind::Team, "core", Labels::new())],
            &ctx("alice", 0),
        )
        .await
        .unwrap();
    assert_eq!(store.generations().await.unwrap(), gens(&[("Team", 1)]));

    store
        .commit(
            vec![
                create(Kind::Service, "api", Labels::new()),
                create(Kind::Service, "web", Labels::new()),
                create(Kind::User, "bob", Labels::new()),
            ],
            &ctx("alice", 1),
        )
        .await
        .unwrap();
    assert_eq!(
        store.generations().await.unwrap(),
        gens(&[("Service", 1), ("Team", 1), ("User", 1)]),
        "two services in one commit bump Service once"
    );

    let failed = store
        .commit(
            vec![
                create(Kind::Schedule, "primary", Labels::new()),
                create(Kind::Service, "api", Labels::new()),
            ],
            &ctx("alice", 2),
        )
        .await;
    assert!(failed.is_err());
    assert_eq!(
        store.generations().await.unwrap(),
        gens(&[("Service", 1), ("Team", 1), ("User", 1)]),
        "a failed commit bumps nothing"
    );

    store
        .commit(
            vec![Change::Delete {
                kind: Kind::User,
                name: name("bob"),
                expected_version: None,
                scope: domain::AccessTarget::default(),
            }],
            &ctx("alice", 3),
        )
        .await
        .unwrap();
    assert_eq!(
        store.generations().await.unwrap(),
        gens(&[("Service", 1), ("Team", 1), ("User", 2)]),
        "a delete bumps its kind"
    );
}
