//! A token bucket per key: at most `per_minute` events a minute for each integration key,
//! with bursts up to the same number. Time comes in as a monotonic reading, so tests step
//! it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Keys idle this long are forgotten when the table grows, so memory stays bounded
/// however many keys send.
const IDLE: Duration = Duration::from_secs(3600);
const PRUNE_ABOVE: usize = 10_000;

pub struct KeyedLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Duration)>>,
}

impl KeyedLimiter {
    pub fn new(per_minute: u32) -> Self {
        KeyedLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `now`; false when the key is over its limit.
    pub fn allow(&self, key: &str, now: Duration) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, (_, last)| now.saturating_sub(*last) < IDLE);
        }
        let (tokens, last) = buckets
            .entry(key.to_owned())
            .or_insert((self.per_minute, now));
        let refill = now.saturating_sub(*last).as_secs_f64() * self.per_minute / 60.0;
        *tokens = (*tokens + refill).min(self.per_minute);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_gets_its_own_minute() {
        let l = KeyedLimiter::new(2);
        let t = Duration::from_secs;
        assert!(l.allow("a", t(0)));
        assert!(l.allow("a", t(1)));
        assert!(!l.allow("a", t(2)), "the third in a minute is refused");
        assert!(l.allow("b", t(2)), "another key is not affected");
        assert!(l.allow("a", t(32)), "half a minute refills one");
        assert!(!l.allow("a", t(33)));
        assert!(l.allow("a", t(200)));
    }
}
