//! The clock: the only place shinrai reads the time.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::Timestamp;

/// Wall-clock time for decisions, and a monotonic reading for measuring durations.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
    /// Time elapsed since an arbitrary fixed point; never goes backwards.
    fn monotonic(&self) -> Duration;
}

/// The operating system's clock.
#[derive(Debug, Clone)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn shared() -> Arc<dyn Clock> {
        #[allow(clippy::disallowed_methods)] // The one blessed reading of the monotonic clock.
        let origin = Instant::now();
        Arc::new(SystemClock { origin })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        #[allow(clippy::disallowed_methods)] // The one blessed reading of the wall clock.
        Timestamp::now()
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to: tests step it and check what happened.
#[derive(Debug, Clone)]
pub struct ManualClock {
    state: Arc<Mutex<(Timestamp, Duration)>>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            state: Arc::new(Mutex::new((start, Duration::ZERO))),
        }
    }

    /// Moves both the wall clock and the monotonic reading forward.
    pub fn advance(&self, by: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 = s
            .0
            .checked_add(jiff::SignedDuration::try_from(by).unwrap_or(jiff::SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX);
        s.1 += by;
    }

    /// Sets the wall clock (which may jump backwards, as real clocks do).
    pub fn set(&self, to: Timestamp) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0 = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    fn monotonic(&self) -> Duration {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Timestamp::from_second(1_700_000_000).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now().as_second(), 1_700_000_090);
        assert_eq!(clock.monotonic(), Duration::from_secs(90));
        clock.set(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.monotonic(), Duration::from_secs(90));
    }
}
