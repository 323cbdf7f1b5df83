//! State shared between a connection task and the outside: the request-body hand-off
//! slot, the shutdown control and per-connection close callbacks.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::Waker;

use atomic_waker::AtomicWaker;
use h1_core::{Headers, ResponseHead};

use crate::close::{CloseReason, ConnectionId};
use crate::error::ErrorKind;
use crate::upgrade::Upgraded;

/// What the server asks of a connection. Ordered: a connection's control only rises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Control {
    /// Keep serving.
    Run = 0,
    /// Finish in-flight requests, then close; close at once when idle.
    Graceful = 1,
    /// Close now.
    Kill = 2,
}

impl Control {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Run,
            1 => Self::Graceful,
            _ => Self::Kill,
        }
    }
}

/// A close callback registered through [`Request::on_close`](crate::Request::on_close).
pub(crate) type CloseHook = Box<dyn FnOnce(ConnectionId, &CloseReason) + Send>;

/// One per connection, behind an `Arc` held by the connection task, the server's
/// registry and the current request's body.
pub(crate) struct ConnShared {
    ctl: AtomicU8,
    /// The connection task's waker: woken by shutdown and by body readers.
    waker: AtomicWaker,
    body: Mutex<BodySlot>,
    hooks: Mutex<Vec<CloseHook>>,
    /// Notified when the control rises (shutdown), for [`ShutdownSignal`] waiters.
    shutdown: event_listener::Event,
    /// Where to hand the connection over after a `101` ([`crate::Request::upgrade`]);
    /// `upgrade_wanted` says whether it is set, so requests without it take no lock.
    upgrade: Mutex<Option<async_channel::Sender<Upgraded>>>,
    upgrade_wanted: AtomicBool,
    /// The server's executor, for [`Request::spawn`](crate::Request::spawn) (unset: the
    /// default one).
    pub(crate) spawner: OnceLock<std::sync::Arc<dyn crate::runtime::Spawner>>,
    /// Interim responses (`103 Early Hints`) the handler asked for, not yet written;
    /// `hints_wanted` says whether there are any, so requests without them take no lock.
    hints: Mutex<Vec<ResponseHead>>,
    hints_wanted: AtomicBool,
}

/// The request-body hand-off between the connection task (the pump) and the reader.
#[derive(Debug, Default)]
pub(crate) struct BodySlot {
    /// Which request the slot serves; a body of an older request reads `BodyClosed`.
    pub(crate) generation: u64,
    pub(crate) state: BodyState,
    /// Bytes copied out of the engine, not yet read: `chunk[pos..]`.
    pub(crate) chunk: Vec<u8>,
    pub(crate) pos: usize,
    /// The reader is waiting for more bytes.
    pub(crate) want: bool,
    pub(crate) reader: Option<Waker>,
    pub(crate) trailers: Option<Headers>,
}

/// Where the request body stands.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyState {
    /// More may come.
    #[default]
    Reading,
    /// The body was read whole.
    Eof,
    /// Reading failed; every later read fails the same way.
    Failed(ErrorKind),
}

impl ConnShared {
    pub(crate) fn new() -> Self {
        Self {
            ctl: AtomicU8::new(Control::Run as u8),
            waker: AtomicWaker::new(),
            body: Mutex::new(BodySlot::default()),
            hooks: Mutex::new(Vec::new()),
            shutdown: event_listener::Event::new(),
            upgrade: Mutex::new(None),
            upgrade_wanted: AtomicBool::new(false),
            spawner: OnceLock::new(),
            hints: Mutex::new(Vec::new()),
            hints_wanted: AtomicBool::new(false),
        }
    }

    /// Ask for the connection once a `101` went out: the receiver gets it.
    pub(crate) fn want_upgrade(&self) -> async_channel::Receiver<Upgraded> {
        let (tx, rx) = async_channel::bounded(1);
        *self.upgrade.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        self.upgrade_wanted.store(true, Ordering::Release);
        rx
    }

    /// The pending upgrade request, if any (dropping it fails the waiting `OnUpgrade`).
    pub(crate) fn take_upgrade(&self) -> Option<async_channel::Sender<Upgraded>> {
        if !self.upgrade_wanted.swap(false, Ordering::AcqRel) {
            return None;
        }
        self.upgrade
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Queue an interim response for the connection to write before the final one, and
    /// wake it.
    pub(crate) fn push_interim(&self, head: ResponseHead) {
        self.hints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(head);
        self.hints_wanted.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// The queued interim responses, if any (no lock when there are none).
    #[inline]
    pub(crate) fn take_interim(&self) -> Option<Vec<ResponseHead>> {
        if !self.hints_wanted.load(Ordering::Acquire) {
            return None;
        }
        self.hints_wanted.store(false, Ordering::Release);
        Some(std::mem::take(
            &mut *self.hints.lock().unwrap_or_else(|e| e.into_inner()),
        ))
    }

    /// What the server asks of this connection now.
    pub(crate) fn ctl(&self) -> Control {
        Control::from_u8(self.ctl.load(Ordering::Acquire))
    }

    /// Raise the control (never lowers it) and wake the task.
    pub(crate) fn signal(&self, ctl: Control) {
        self.ctl.fetch_max(ctl as u8, Ordering::AcqRel);
        self.waker.wake();
        self.shutdown.notify(usize::MAX);
    }

    /// Register the connection task's waker (before checking state, so no wake is lost).
    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// Wake the connection task (a reader wants body bytes).
    pub(crate) fn wake_conn(&self) {
        self.waker.wake();
    }

    pub(crate) fn body(&self) -> MutexGuard<'_, BodySlot> {
        // A panic while holding this lock leaves plain data in a consistent state.
        self.body.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add_hook(&self, hook: CloseHook) {
        self.hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(hook);
    }

    pub(crate) fn run_hooks(&self, id: ConnectionId, reason: &CloseReason) {
        let hooks = std::mem::take(&mut *self.hooks.lock().unwrap_or_else(|e| e.into_inner()));
        for hook in hooks {
            hook(id, reason);
        }
    }
}

impl std::fmt::Debug for ConnShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnShared")
            .field("ctl", &self.ctl())
            .finish_non_exhaustive()
    }
}

impl BodySlot {
    /// Start serving the body of a new request.
    pub(crate) fn reset(&mut self, state: BodyState) {
        self.generation = self.generation.wrapping_add(1);
        self.state = state;
        self.chunk.clear();
        self.pos = 0;
        self.want = false;
        self.reader = None;
        self.trailers = None;
    }

    /// Free the chunk buffer (the connection is going idle).
    pub(crate) fn shrink(&mut self) {
        self.chunk = Vec::new();
        self.pos = 0;
    }

    /// The reader waits for more bytes: ask the connection for them and keep its waker.
    /// Returns whether the connection must be woken: only when this is a new ask. While
    /// an ask is pending the connection already pumps, and waking it again would spin a
    /// handler that runs in the connection's own task.
    #[must_use]
    pub(crate) fn park_reader(&mut self, waker: &Waker) -> bool {
        let new_ask = !std::mem::replace(&mut self.want, true);
        if !self.reader.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.reader = Some(waker.clone());
        }
        new_ask
    }

    /// Wake the reader, if one waits.
    pub(crate) fn wake_reader(&mut self) {
        if let Some(w) = self.reader.take() {
            w.wake();
        }
    }
}

/// Tells a handler, or anything it hands the signal to (such as a streaming response's
/// producer), that the server began shutting down: graceful (finish up, say goodbye) or
/// immediate. Get it from [`Request::shutdown_signal`](crate::Request::shutdown_signal).
///
/// ```no_run
/// # async fn f(req: h1_server::Request) {
/// let signal = req.shutdown_signal();
/// // In a task that pushes events to this client:
/// signal.wait().await;
/// assert!(signal.is_requested());
/// # }
/// ```
#[derive(Clone)]
pub struct ShutdownSignal {
    shared: std::sync::Arc<ConnShared>,
}

impl ShutdownSignal {
    pub(crate) fn new(shared: std::sync::Arc<ConnShared>) -> Self {
        Self { shared }
    }

    /// Whether shutdown began.
    pub fn is_requested(&self) -> bool {
        self.shared.ctl() >= Control::Graceful
    }

    /// Resolves once shutdown begins (at once if it already has).
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = self.shared.clone();
        async move {
            loop {
                if shared.ctl() >= Control::Graceful {
                    return;
                }
                let listener = shared.shutdown.listen();
                if shared.ctl() >= Control::Graceful {
                    return;
                }
                listener.await;
            }
        }
    }
}

impl std::fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("requested", &self.is_requested())
            .finish()
    }
}
