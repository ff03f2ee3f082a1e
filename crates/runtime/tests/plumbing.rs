//! Leases held by a keeper, stepped on a manual clock, and the change feed across two
//! nodes on one PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use domain::{AccessTarget, Kind, Labels, Name};
use runtime::changes::ChangeFeed;
use runtime::lease::LeaseKeeper;
use runtime::{Clock, ManualClock};
use store::{Change, ObjectDraft, WriteContext};
use tokio::sync::watch;

const TTL: Duration = Duration::from_secs(30);

/// A keeper takes a free lease and keeps it by renewing; another waits. When the first
/// stops renewing (its node died), the other takes it over with a higher fence, and the
/// first, ticking again, reports the lease lost.
#[tokio::test]
async fn a_kept_lease_is_renewed_and_handed_over_when_its_holder_stops() {
    let db = test_support::sqlite_store().await;
    let clock = ManualClock::new(test_support::t0());
    let keeper = |holder: &str| {
        LeaseKeeper::new(
            db.store.clone(),
            Arc::new(clock.clone()) as Arc<dyn Clock>,
            "slo-evaluator",
            holder,
            TTL,
        )
    };
    let (a, b) = (keeper("node-a"), keeper("node-b"));
    let (mut held_a, held_b) = (a.subscribe(), b.subscribe());

    let first = a.tick().await.unwrap().expect("a free lease is taken");
    assert_eq!(held_a.borrow_and_update().as_ref(), Some(&first));
    assert_eq!(b.tick().await.unwrap(), None);
    assert_eq!(*held_b.borrow(), None);

    // Renewed every third of its time, the lease outlives its first expiry.
    for _ in 0..6 {
        clock.advance(TTL / 3);
        let renewed = a.tick().await.unwrap().expect("renewed");
        assert_eq!(renewed.fence, first.fence);
        assert_eq!(b.tick().await.unwrap(), None, "node-b waits");
    }
    assert!(!held_a.has_changed().unwrap(), "renewals wake no one");

    // node-a stops renewing; once the lease lapses node-b takes it.
    clock.advance(TTL);
    let taken = b.tick().await.unwrap().expect("handed over");
    assert!(taken.fence > first.fence);
    assert_eq!(held_b.borrow().as_ref().map(|l| l.fence), Some(taken.fence));

    assert_eq!(a.tick().await.unwrap(), None, "node-a's renewal is refused");
    assert!(held_a.has_changed().unwrap());
    assert_eq!(
        *held_a.borrow_and_update(),
        None,
        "node-a hears it lost the lease"
    );
}

/// A keeper that stops gives its lease up, so another node need not wait for it to lapse.
#[tokio::test]
async fn a_keeper_that_stops_releases_its_lease() {
    let db = test_support::sqlite_store().await;
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(test_support::t0()));
    let a = LeaseKeeper::new(db.store.clone(), clock.clone(), "deploy/api", "node-a", TTL);
    let mut held = a.subscribe();
    let (stop, stopped) = watch::channel(false);
    let run = tokio::spawn(a.run(stopped));
    held.wait_for(Option::is_some).await.unwrap();
    stop.send(true).unwrap();
    run.await.unwrap();
    assert_eq!(*held.borrow(), None);
    assert_eq!(
        db.store.get_lease("deploy/api", clock.now()).await.unwrap(),
        None
    );
    let b = LeaseKeeper::new(db.store.clone(), clock, "deploy/api", "node-b", TTL);
    assert!(b.tick().await.unwrap().is_some(), "taken at once");
}

fn team(name: &str) -> Change {
    Change::Create {
        draft: ObjectDraft {
            kind: Kind::Team,
            name: Name::new(name).unwrap(),
            labels: Labels::new(),
            spec: serde_json::json!({}),
            source: None,
            references: Vec::new(),
            status: None,
            lookup_keys: Vec::new(),
        },
        scope: AccessTarget::default(),
    }
}

/// A change committed through node A reaches node B's change feed, which publishes the
/// kind's new generation to its subscribers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_node_reaches_the_others_feed() {
    let (a, b) = test_support::postgres::two_nodes().await;
    let feed = ChangeFeed::new(b);
    let mut seen = feed.subscribe();
    let (stop, stopped) = watch::channel(false);
    let run = tokio::spawn(feed.run(runtime::changes::EVERY, stopped));

    let ctx = WriteContext {
        actor: "alice".into(),
        at: test_support::t0(),
    };
    a.commit(vec![team("core")], &ctx).await.unwrap();
    let generations = tokio::time::timeout(
        Duration::from_secs(30),
        seen.wait_for(|g| g.get("Team") == Some(&1)),
    )
    .await
    .expect("node B's feed saw the change")
    .unwrap()
    .clone();
    assert_eq!(
        generations.get("Service"),
        None,
        "only the kind written moved"
    );

    a.commit(vec![team("web")], &ctx).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        seen.wait_for(|g| g.get("Team") == Some(&2)),
    )
    .await
    .expect("and the next one")
    .unwrap();
    stop.send(true).unwrap();
    run.await.unwrap();
}

/// One round of the feed publishes only when a generation moved.
#[tokio::test]
async fn the_feed_publishes_only_when_a_generation_moves() {
    let db = test_support::sqlite_store().await;
    let feed = ChangeFeed::new(db.store.clone());
    let mut seen = feed.subscribe();
    assert!(!feed.tick().await.unwrap(), "nothing written yet");
    let ctx = WriteContext {
        actor: "alice".into(),
        at: test_support::t0(),
    };
    db.store.commit(vec![team("core")], &ctx).await.unwrap();
    assert!(feed.tick().await.unwrap());
    assert_eq!(seen.borrow_and_update().get("Team"), Some(&1));
    assert!(!feed.tick().await.unwrap(), "no change, no news");
    assert!(!seen.has_changed().unwrap());
}
