//! [`SwappableRouter`]: a routing table replaced while serving, and its [`RouterHandle`].

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::Router;
use crate::{Handler, Request, Response};

/// A [`Router`] that can be replaced while serving; a [`Handler`].
///
/// Each request takes the current table (an `Arc` clone under a read lock held for that
/// instant, never across an await) and finishes on it, even if the table is replaced
/// meanwhile. Connections are never dropped by a swap.
///
/// ```
/// use h1_server::router::{Router, SwappableRouter};
/// use h1_server::Request;
///
/// let mut v1 = Router::new();
/// v1.get("/", |_req: Request| async { "v1\n" });
/// let live = SwappableRouter::new(v1);
/// let handle = live.handle();
/// // Serve `live`; later, from anywhere:
/// handle.update(|table| {
///     table.get("/", |_req: Request| async { "v2\n" });
/// });
/// assert!(handle.get().recognizes("/"));
/// ```
#[derive(Debug)]
pub struct SwappableRouter {
    handle: RouterHandle,
}

/// Reads and replaces the table of a [`SwappableRouter`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct RouterHandle {
    current: Arc<RwLock<Arc<Router>>>,
    /// Serializes [`update`](Self::update)s so that none is lost.
    writer: Arc<Mutex<()>>,
}

impl SwappableRouter {
    /// Serve `router` until replaced.
    pub fn new(router: Router) -> Self {
        Self {
            handle: RouterHandle {
                current: Arc::new(RwLock::new(Arc::new(router))),
                writer: Arc::new(Mutex::new(())),
            },
        }
    }

    /// A handle to read and replace the table.
    pub fn handle(&self) -> RouterHandle {
        self.handle.clone()
    }
}

impl Handler for SwappableRouter {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        let table = self.handle.get();
        async move { table.serve(req).await }
    }
}

impl RouterHandle {
    /// The current table. Clone it (`(*handle.get()).clone()`) to edit a
    /// copy.
    pub fn get(&self) -> Arc<Router> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replace the table; returns the old one. Requests already routed
    /// finish on the old table; the next request uses `router`.
    pub fn set(&self, router: Router) -> Arc<Router> {
        self.replace(Arc::new(router))
    }

    /// Replace the table with one already shared.
    pub fn replace(&self, router: Arc<Router>) -> Arc<Router> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, router)
    }

    /// Edit a copy of the current table and install it, atomically with respect to
    /// other updates (a read-modify-write). Requests
    /// are served from the old table meanwhile.
    pub fn update(&self, edit: impl FnOnce(&mut Router)) {
        let _one_at_a_time = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut copy = (*self.get()).clone();
        edit(&mut copy);
        self.set(copy);
    }
}
