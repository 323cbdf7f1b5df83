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
/// The usual source is the server: a stream made with
/// [`response_for`](crate::response_for) takes its request's signal, and
/// `Shutdown::from(req.shutdown_signal())` is the same by hand. It fires when the
/// server begins a graceful (or immediate) shutdown, so each producer sees
/// [`Sender::shutdown_requested`](crate::Sender::shutdown_requested) resolve, sends its
/// last words and closes, and the server's deadline bounds whoever does not. A signal
/// made with [`Shutdown::new`] is triggered by hand with [`trigger`](Self::trigger) (also
/// possible on one made from the server's, to end streams early).
///
/// ```
/// use h1_stream::{Config, Shutdown};
///
/// let shutdown = Shutdown::new();
/// let (tx, _body) = h1_stream::channel(Config::new().shutdown(&shutdown).clone());
/// assert!(!tx.is_shutdown_requested());
/// shutdown.trigger();
/// futures_lite::future::block_on(tx.shutdown_requested());
/// ```
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
    /// The server's own signal, when made from a request.
    server: Option<h1_server::ShutdownSignal>,
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

    /// Whether it was triggered (by hand, or by the server shutting down).
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::Acquire)
            || self.server.as_ref().is_some_and(|s| s.is_requested())
    }

    /// Resolves once it is triggered.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = self.inner.clone();
        let server = self.server.clone();
        let own = async move {
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
        };
        async move {
            match server {
                Some(server) => futures_lite::future::or(own, server.wait()).await,
                None => own.await,
            }
        }
    }
}

impl From<h1_server::ShutdownSignal> for Shutdown {
    fn from(server: h1_server::ShutdownSignal) -> Self {
        Self {
            inner: Arc::default(),
            server: Some(server),
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
