//! Time for the driver: every timer and the `Date` header read it through [`Clock`].
//!
//! A served connection uses [`Clock::System`]: the system clocks and alarms on the
//! server's timer thread ([`crate::runtime::timers`]), at the cost of one enum match. The test kit uses [`Clock::Manual`]: time stands still
//! until the test advances it ([`crate::testing::ManualClock`]).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use futures_lite::future::poll_fn;

use crate::runtime::timers::Alarm;

/// Where time comes from.
#[derive(Clone, Default)]
pub(crate) enum Clock {
    /// The system clocks and async-io timers.
    #[default]
    System,
    /// Time that moves only when a test says so.
    Manual(Arc<ManualTime>),
}

/// What the access log, metrics and spans read (see [`crate::observe`]).
impl crate::observe::Clock for Clock {
    #[inline]
    fn now(&self) -> Instant {
        Self::now(self)
    }

    fn unix_secs(&self) -> u64 {
        Self::unix_secs(self)
    }
}

impl Clock {
    /// The current instant.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self {
            Self::System => Instant::now(),
            Self::Manual(t) => t.now(),
        }
    }

    /// Seconds since the Unix epoch, for the `Date` header.
    pub(crate) fn unix_secs(&self) -> u64 {
        let now = match self {
            Self::System => SystemTime::now(),
            Self::Manual(t) => t.wall_origin + t.elapsed(),
        };
        now.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// A deadline on this clock.
    pub(crate) fn deadline(&self) -> Deadline {
        match self {
            Self::System => Deadline::System(Alarm::default()),
            Self::Manual(t) => Deadline::Manual(t.clone()),
        }
    }

    /// Wait for `duration` on this clock.
    pub(crate) async fn sleep(&self, duration: Duration) {
        let at = self.now() + duration;
        let mut deadline = self.deadline();
        poll_fn(|cx| {
            if deadline.poll_expired(cx, at) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("System"),
            Self::Manual(t) => write!(f, "Manual(+{:?})", t.elapsed()),
        }
    }
}

/// The state of a manual clock: how far it was advanced, and the tasks waiting on it.
#[derive(Debug)]
pub(crate) struct ManualTime {
    origin: Instant,
    wall_origin: SystemTime,
    state: Mutex<ManualState>,
}

#[derive(Debug, Default)]
struct ManualState {
    elapsed: Duration,
    waiters: Vec<Waker>,
}

impl ManualTime {
    /// A clock standing at the current time.
    pub(crate) fn new() -> Self {
        Self {
            origin: Instant::now(),
            wall_origin: SystemTime::now(),
            state: Mutex::new(ManualState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // Plain data: consistent even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How far the clock was advanced.
    pub(crate) fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    pub(crate) fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }

    /// Move time forward and wake every task waiting on a deadline.
    pub(crate) fn advance(&self, by: Duration) {
        let waiters = {
            let mut state = self.lock();
            state.elapsed += by;
            std::mem::take(&mut state.waiters)
        };
        for w in waiters {
            w.wake();
        }
    }

    /// Wake `waker` on the next advance.
    fn wait(&self, waker: &Waker) {
        let mut state = self.lock();
        if !state.waiters.iter().any(|w| w.will_wake(waker)) {
            state.waiters.push(waker.clone());
        }
    }
}

/// A timer that re-arms lazily: moving the deadline later does not touch the timer
/// table; the alarm fires at the old time, sees the new deadline and re-arms once.
pub(crate) enum Deadline {
    /// An alarm on the timer thread ([`crate::runtime::timers`]).
    System(Alarm),
    /// A deadline on a manual clock.
    Manual(Arc<ManualTime>),
}

impl Deadline {
    /// Whether `at` has passed; if not, the task is woken when it does.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>, at: Instant) -> bool {
        match self {
            Self::System(_) => self.poll_expired_at(cx, at, Instant::now()),
            Self::Manual(time) => {
                if time.now() >= at {
                    return true;
                }
                time.wait(cx.waker());
                false
            }
        }
    }

    /// [`poll_expired`](Self::poll_expired) given the time `now` (one clock read shared
    /// by several deadlines).
    pub(crate) fn poll_expired_at(
        &mut self,
        cx: &mut Context<'_>,
        at: Instant,
        now: Instant,
    ) -> bool {
        let alarm = match self {
            Self::System(alarm) => alarm,
            Self::Manual(_) => return self.poll_expired(cx, at),
        };
        if now >= at {
            alarm.disarm();
            return true;
        }
        match alarm.armed() {
            // Armed no later than `at` and still ahead: it wakes this task in time.
            Some(armed) if armed <= at && now < armed => alarm.refresh(cx.waker()),
            // Not armed, armed too late, or fired early for a deadline since moved.
            _ => alarm.arm(at, cx.waker()),
        }
        false
    }
}
