//! [`ManualClock`]: time that moves only when a test says so.

use std::sync::Arc;
use std::time::Duration;

use crate::conn::clock::{Clock, ManualTime};

/// A clock for tests: it stands still until [`advance`](Self::advance) moves it. A
/// [`TestConnection`](super::TestConnection) runs every timer of its driver, and the
/// `Date` header, on one; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use h1_server::testing::ManualClock;
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.elapsed(), Duration::from_secs(90));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: Arc<ManualTime>,
}

impl ManualClock {
    /// A clock standing at the current time.
    pub fn new() -> Self {
        Self {
            time: Arc::new(ManualTime::new()),
        }
    }

    /// Move time forward by `by`, waking every timer waiting on this clock (the driver
    /// notices when it is polled next: any [`TestConnection`](super::TestConnection)
    /// method does that).
    pub fn advance(&self, by: Duration) {
        self.time.advance(by);
    }

    /// How far the clock was advanced since it was made.
    pub fn elapsed(&self) -> Duration {
        self.time.elapsed()
    }

    pub(crate) fn clock(&self) -> Clock {
        Clock::Manual(self.time.clone())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}
