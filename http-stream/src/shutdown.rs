//! [`Shutdown`]: a one-shot broadcast signal telling open streams the server is going
//! down.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use event_listener::Event;

/// A one-shot signal that many streams can wait for: "the server is shutting down, say
/// goodbye". Cheap to clone; every clone is the same signal.
///
/// http-server's graceful shutdown closes streams still open at its deadline, but does not
/// (yet) tell them in advance. Give every stream's [`Config`](crate::Config) the same
/// `Shutdown`, then [`trigger`](Self::trigger) it right before
/// `ServerHandle::shutdown_graceful`: each producer sees
/// [`Sender::shutdown_requested`](crate::Sender::shutdown_requested) resolve, sends its
/// last words and closes, and the server's deadline bounds whoever does not.
///
/// ```
/// use http_stream::{Config, Shutdown};
///
/// let shutdown = Shutdown::new();
/// let (tx, _body) = http_stream::channel(Config::new().shutdown(&shutdown).clone());
/// assert!(!tx.is_shutdown_requested());
/// shutdown.trigger();
/// futures_lite::future::block_on(tx.shutdown_requested());
/// ```
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    event: Event,
}

impl Shutdown {
    /// A signal not triggered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trigger it: every waiter, present and future, resolves. Idempotent.
    pub fn trigger(&self) {
        if !self.inner.triggered.swap(true, Ordering::AcqRel) {
            self.inner.event.notify(usize::MAX);
        }
    }

    /// Whether it was triggered.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::Acquire)
    }

    /// Resolves once it is triggered.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            loop {
                if inner.triggered.load(Ordering::Acquire) {
                    return;
                }
                let listener = inner.event.listen();
                if inner.triggered.load(Ordering::Acquire) {
                    return;
                }
                listener.await;
            }
        }
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}
