//! Task spawning: the [`Spawner`] trait and smol's global executor as the default.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A boxed task, as handed to a [`Spawner`].
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs tasks to completion in the background: the accept loops and one task per
/// connection.
///
/// Implemented for any `Fn(BoxFuture) + Send + Sync`, so a closure around
/// `tokio::spawn`, `async_std::task::spawn` or `executor.spawn(fut).detach()` is a spawner.
///
/// ```
/// use std::sync::Arc;
/// use h1_server::{BoxFuture, Spawner};
///
/// let ex = Arc::new(async_executor::Executor::new());
/// let spawner = {
///     let ex = ex.clone();
///     move |fut: BoxFuture| ex.spawn(fut).detach()
/// };
/// spawner.spawn(Box::pin(async {}));
/// assert!(ex.try_tick());
/// ```
pub trait Spawner: Send + Sync + 'static {
    /// Spawn `fut` and let it run detached.
    fn spawn(&self, fut: BoxFuture);

    /// The [`ThreadPool`](crate::ThreadPool) this spawner is, if it is one: a server
    /// spawned on a pool shares the pool's edge-triggered set. Not for implementors.
    #[cfg(feature = "smol")]
    #[doc(hidden)]
    fn thread_pool(&self) -> Option<&crate::ThreadPool> {
        None
    }
}

impl<F> Spawner for F
where
    F: Fn(BoxFuture) + Send + Sync + 'static,
{
    fn spawn(&self, fut: BoxFuture) {
        self(fut)
    }
}

/// The default spawner: smol's global executor (`smol::spawn(fut).detach()`).
///
/// smol runs its global executor on `SMOL_THREADS` threads (default 1); set that variable
/// before the first spawn to use more cores, or use a [`ThreadPool`](crate::ThreadPool).
#[cfg(feature = "smol")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SmolSpawner;

#[cfg(feature = "smol")]
impl Spawner for SmolSpawner {
    fn spawn(&self, fut: BoxFuture) {
        smol::spawn(fut).detach();
    }
}

/// The spawner a server uses when none was set.
pub(crate) fn default_spawner() -> Option<std::sync::Arc<dyn Spawner>> {
    #[cfg(feature = "smol")]
    {
        Some(std::sync::Arc::new(SmolSpawner))
    }
    #[cfg(not(feature = "smol"))]
    {
        None
    }
}

/// A `Debug` stand-in for a `dyn Spawner`.
pub(crate) struct SpawnerDebug;

impl fmt::Debug for SpawnerDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Spawner")
    }
}
