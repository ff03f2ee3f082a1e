//! A small time-limited cache for hot read paths (the integration-key lookup every event
//! makes). Entries expire after a fixed time, so changes made elsewhere (another node, a
//! command on the store) show within it; the owner clears it on its own writes.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

/// Beyond this many entries the cache is emptied, so memory stays bounded however many
/// keys are looked up.
const MAX_ENTRIES: usize = 10_000;

pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (V, Duration)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value stored for `key` less than the TTL before `now` (a monotonic reading).
    pub fn get(&self, key: &K, now: Duration) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| now.saturating_sub(*at) < self.ttl)
            .map(|(v, _)| v.clone())
    }

    pub fn insert(&self, key: K, value: V, now: Duration) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (value, now));
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_for_the_ttl_and_clear_on_demand() {
        let t = Duration::from_secs;
        let cache = TtlCache::new(t(5));
        cache.insert("k", 1, t(0));
        assert_eq!(cache.get(&"k", t(4)), Some(1));
        assert_eq!(cache.get(&"k", t(5)), None, "expired");
        cache.insert("k", 2, t(10));
        cache.clear();
        assert_eq!(cache.get(&"k", t(10)), None);
    }
}
