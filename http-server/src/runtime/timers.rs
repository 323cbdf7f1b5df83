//! Connection deadlines on one timer thread, not in async-io's reactor.
//!
//! Every connection arms two or three deadlines (the release, head and keep-alive
//! timers, the handler and write deadlines); almost none of them fires, because the
//! request arrives or the connection closes first. An async-io `Timer` costs a system
//! call to arm: async-io wakes its reactor on every new timer (an `eventfd` write) so
//! that the wait in progress picks the new deadline up, and that wake makes the next
//! reactor turn return early (five more system calls in `polling`). Under
//! `Connection: close` load that was 0.49 `write` and about 0.4 extra reactor turns per
//! request.
//!
//! Here a deadline is an entry in one ordered map, armed and disarmed under a mutex
//! without a system call. One thread (`h1-timers`, started on first use) sleeps until
//! the earliest entry and wakes the tasks whose deadlines passed. It is told about a
//! new entry only when that entry is earlier than what it sleeps until, which with
//! deadlines of equal length is rare: new ones come later than the ones already armed.
//! A fired deadline wakes its task from this thread (a cross-thread wake-up), which is
//! fine for timeouts, the exception.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

/// Alarms fire on multiples of this after the table's creation, so that many share one
/// wake-up of the timer thread: 10,000 busy keep-alive connections each re-arm their
/// 50 ms buffer-release alarm between requests, and with exact instants the thread woke
/// for nearly every one of them (0.22 context switches per request).
pub(crate) const GRANULARITY: Duration = Duration::from_millis(5);

/// The timer thread's table.
struct Timers {
    /// The start of the granularity grid.
    origin: Instant,
    state: Mutex<State>,
    /// Signalled when the earliest deadline moves earlier than `State::target`.
    changed: Condvar,
}

#[derive(Default)]
struct State {
    entries: BTreeMap<(Instant, u64), Waker>,
    next_id: u64,
    /// When the thread wakes next on its own (`None`: only when told).
    target: Option<Instant>,
    started: bool,
}

fn timers() -> &'static Timers {
    static TIMERS: OnceLock<Timers> = OnceLock::new();
    TIMERS.get_or_init(|| Timers {
        origin: Instant::now(),
        state: Mutex::new(State::default()),
        changed: Condvar::new(),
    })
}

/// `at`, moved up to the next multiple of [`GRANULARITY`] on the table's grid.
fn round_up(timers: &Timers, at: Instant) -> Instant {
    let Some(since) = at.checked_duration_since(timers.origin) else {
        return timers.origin;
    };
    let step = GRANULARITY.as_nanos();
    let steps = since.as_nanos().div_ceil(step);
    u64::try_from(steps * step)
        .ok()
        .and_then(|nanos| timers.origin.checked_add(Duration::from_nanos(nanos)))
        .unwrap_or(at)
}

fn lock(timers: &Timers) -> MutexGuard<'_, State> {
    // Plain data, consistent even if a holder panicked.
    timers.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// One armed deadline: woken through the timer thread once its instant has passed.
/// Dropping it disarms it.
#[derive(Default)]
pub(crate) struct Alarm {
    /// The entry while armed: its instant (on the grid) and id.
    key: Option<(Instant, u64)>,
    /// The instant asked for (the entry's is rounded up).
    requested: Option<Instant>,
    /// The waker the entry holds (compared without the lock).
    waker: Option<Waker>,
}

impl Alarm {
    /// The instant it was armed for, if it is (it fires up to [`GRANULARITY`] later).
    pub(crate) fn armed(&self) -> Option<Instant> {
        self.requested
    }

    /// Arm for `at` (replacing any earlier arming): `waker` is woken once `at` has
    /// passed, at most [`GRANULARITY`] later.
    pub(crate) fn arm(&mut self, at: Instant, waker: &Waker) {
        let timers = timers();
        self.requested = Some(at);
        let at = round_up(timers, at);
        let mut state = lock(timers);
        if let Some(key) = self.key.take() {
            state.entries.remove(&key);
        }
        let id = state.next_id;
        state.next_id += 1;
        state.entries.insert((at, id), waker.clone());
        self.key = Some((at, id));
        self.waker = Some(waker.clone());
        if !state.started {
            state.started = true;
            state.target = Some(at);
            drop(state);
            start_thread();
        } else if state.target.is_none_or(|t| at < t) {
            state.target = Some(at);
            drop(state);
            timers.changed.notify_one();
        }
    }

    /// Make sure the armed entry wakes `waker` (a task may be polled with another waker
    /// than the one it armed with).
    pub(crate) fn refresh(&mut self, waker: &Waker) {
        if self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return;
        }
        if let Some(key) = self.key {
            let mut state = lock(timers());
            if let Some(w) = state.entries.get_mut(&key) {
                w.clone_from(waker);
            }
        }
        self.waker = Some(waker.clone());
    }

    /// Take the entry out, if it is still there.
    pub(crate) fn disarm(&mut self) {
        self.requested = None;
        if let Some(key) = self.key.take() {
            lock(timers()).entries.remove(&key);
        }
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        self.disarm();
    }
}

fn start_thread() {
    let spawned = std::thread::Builder::new()
        .name("h1-timers".into())
        .spawn(run);
    if let Err(e) = spawned {
        // Without the thread no deadline fires: make that loud, and let the next
        // arming try again.
        log::error!("cannot start the timer thread: {e}");
        lock(timers()).started = false;
    }
}

/// The timer thread: wake what expired, sleep until the earliest entry.
fn run() {
    let timers = timers();
    let mut due = Vec::new();
    let mut state = lock(timers);
    loop {
        let now = Instant::now();
        while let Some(entry) = state.entries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        if !due.is_empty() {
            drop(state);
            for waker in due.drain(..) {
                waker.wake();
            }
            state = lock(timers);
            continue;
        }
        let next = state.entries.first_key_value().map(|(&(at, _), _)| at);
        state.target = next;
        state = match next {
            None => timers
                .changed
                .wait(state)
                .unwrap_or_else(|e| e.into_inner()),
            Some(at) => {
                timers
                    .changed
                    .wait_timeout(state, at.saturating_duration_since(now))
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;
    use std::time::Duration;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn wait_for(count: &Count, n: usize) -> bool {
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if count.0.load(Ordering::SeqCst) >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn fires_in_order_and_not_when_disarmed() {
        let fired = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(fired.clone());
        let start = Instant::now();
        let mut late = Alarm::default();
        late.arm(start + Duration::from_millis(300), &waker);
        let mut early = Alarm::default();
        // Earlier than what the thread sleeps until: it must be told.
        early.arm(start + Duration::from_millis(20), &waker);
        let mut never = Alarm::default();
        never.arm(start + Duration::from_millis(40), &waker);
        never.disarm();
        assert!(wait_for(&fired, 1), "the early alarm fired");
        assert!(start.elapsed() >= Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(fired.0.load(Ordering::SeqCst), 1, "disarmed stays silent");
        assert!(wait_for(&fired, 2), "the late alarm fired");
        assert!(start.elapsed() >= Duration::from_millis(300));
        assert_eq!(early.armed(), Some(start + Duration::from_millis(20)));
    }

    #[test]
    fn instants_round_up_onto_one_grid() {
        let timers = timers();
        let at = Instant::now() + Duration::from_millis(7);
        let up = round_up(timers, at);
        assert!(up >= at && up < at + GRANULARITY, "{:?}", up - at);
        // Close instants share one slot: one wake-up of the thread for all of them.
        assert_eq!(round_up(timers, up - Duration::from_nanos(1)), up);
        assert_eq!(round_up(timers, up), up);
        assert_eq!(
            round_up(timers, up + Duration::from_nanos(1)),
            up + GRANULARITY
        );
        // Instants before the grid fire at once.
        assert_eq!(round_up(timers, timers.origin), timers.origin);
    }

    #[test]
    fn refresh_moves_the_wake_to_the_new_waker() {
        let first = Arc::new(Count(AtomicUsize::new(0)));
        let second = Arc::new(Count(AtomicUsize::new(0)));
        let mut alarm = Alarm::default();
        alarm.arm(
            Instant::now() + Duration::from_millis(10),
            &Waker::from(first.clone()),
        );
        alarm.refresh(&Waker::from(second.clone()));
        assert!(wait_for(&second, 1));
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
    }
}
