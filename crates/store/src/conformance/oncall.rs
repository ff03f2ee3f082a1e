//! Stories for the on-call store: schedule overrides.

use domain::AccessTarget;

use super::{ctx, name, t};
use crate::*;

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
