//! Shut down on SIGTERM and SIGINT, reload on SIGHUP (the `signals` feature, Unix).
//!
//! [`ServerHandle::shutdown_on_signals`] registers the signal handlers at once and gives
//! a future ([`OnSignals`]) to await in `main`, or to spawn, on any executor: the signals
//! arrive through async-signal, which runs on async-io's reactor like the sockets, so smol,
//! tokio and async-executor behave alike.
//!
//! - The first SIGTERM or SIGINT starts
//!   [`shutdown_graceful`](ServerHandle::shutdown_graceful): the listeners close, idle
//!   connections close, in-flight requests finish (their responses say
//!   `Connection: close`), and whatever remains after the deadline is cut.
//! - A second SIGTERM or SIGINT during that drain closes everything at once
//!   ([`shutdown`](ServerHandle::shutdown)): an operator pressing Ctrl-C twice.
//! - SIGHUP calls the [`on_reload`](OnSignals::on_reload) hook (ignored without one, and
//!   during shutdown), the conventional "re-read your configuration" signal.
//!
//! The future resolves once every connection has ended, with the [`Stopped`] outcome;
//! return from `main` then (exit status 0).
//!
//! ```no_run
//! use std::time::Duration;
//! use h1_server::{Request, Response, Server};
//!
//! fn main() -> std::io::Result<()> {
//!     smol::block_on(async {
//!         let handle = Server::bind("127.0.0.1:8080")
//!             .await?
//!             .serve(|_req: Request| async { Response::text(200, "hi\n") });
//!         let stopped = handle
//!             .shutdown_on_signals(Duration::from_secs(30))?
//!             .on_reload(|| log::info!("SIGHUP: reloading"))
//!             .await;
//!         log::info!("stopped: {stopped:?}");
//!         Ok(())
//!     })
//! }
//! ```

use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::time::Duration;

use async_signal::{Signal, Signals};
use futures_lite::{FutureExt, StreamExt};

use crate::ServerHandle;

/// A pending shutdown on signals, from [`ServerHandle::shutdown_on_signals`]: await it
/// (it is [`IntoFuture`]) or call [`run`](Self::run).
///
/// The handlers are registered when it is created, so a signal that arrives before the
/// first poll is not lost (and does not kill the process).
pub struct OnSignals {
    handle: ServerHandle,
    deadline: Duration,
    signals: Signals,
    reload: Option<Box<dyn FnMut() + Send>>,
}

/// How a server stopped on a signal: what [`OnSignals`] resolves to.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// The signal that started the shutdown.
    pub signal: StopSignal,
    /// Whether a second signal cut the graceful drain short.
    pub immediate: bool,
}

/// A signal that stops the server.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM: what `kill`, systemd and container runtimes send.
    Terminate,
    /// SIGINT: Ctrl-C in a terminal.
    Interrupt,
}

impl ServerHandle {
    /// Register handlers for SIGTERM, SIGINT and SIGHUP now, and return the future that
    /// turns them into a graceful shutdown with `deadline` (a second SIGTERM or SIGINT
    /// stops at once) and SIGHUP into the [`on_reload`](OnSignals::on_reload) hook. See
    /// the [`signals`](crate::signals) module.
    ///
    /// # Errors
    ///
    /// When the handlers cannot be registered.
    pub fn shutdown_on_signals(&self, deadline: Duration) -> io::Result<OnSignals> {
        Ok(OnSignals {
            handle: self.clone(),
            deadline,
            signals: Signals::new([Signal::Term, Signal::Int, Signal::Hup])?,
            reload: None,
        })
    }
}

impl OnSignals {
    /// Call `hook` on every SIGHUP received before the shutdown starts.
    #[must_use]
    pub fn on_reload(mut self, hook: impl FnMut() + Send + 'static) -> Self {
        self.reload = Some(Box::new(hook));
        self
    }

    /// Wait for SIGTERM or SIGINT, then shut down (see [`ServerHandle::shutdown_on_signals`]).
    /// Resolves once every connection has ended.
    pub async fn run(mut self) -> Stopped {
        let signal = loop {
            match self.next_signal().await {
                Signal::Term => break StopSignal::Terminate,
                Signal::Int => break StopSignal::Interrupt,
                _ => match self.reload.as_mut() {
                    Some(hook) => {
                        log::info!("SIGHUP: reloading");
                        hook();
                    }
                    None => log::info!("SIGHUP ignored: no reload hook"),
                },
            }
        };
        log::info!(
            "{signal:?}: graceful shutdown, {} connections, deadline {:?}",
            self.handle.connection_count(),
            self.deadline
        );
        let handle = self.handle.clone();
        let deadline = self.deadline;
        let drained = async {
            handle.shutdown_graceful(deadline).await;
            true
        }
        .or(async {
            loop {
                match self.next_signal().await {
                    Signal::Term | Signal::Int => return false,
                    _ => log::info!("SIGHUP ignored: shutting down"),
                }
            }
        })
        .await;
        if !drained {
            log::info!(
                "second signal: closing {} connections now",
                self.handle.connection_count()
            );
            self.handle.shutdown().await;
        }
        Stopped {
            signal,
            immediate: !drained,
        }
    }

    /// The next signal (registration errors are logged and skipped; the stream of a
    /// registered set never ends).
    async fn next_signal(&mut self) -> Signal {
        loop {
            match self.signals.next().await {
                Some(Ok(signal)) => return signal,
                Some(Err(e)) => log::warn!("signal stream: {e}"),
                None => std::future::pending::<()>().await,
            }
        }
    }
}

impl IntoFuture for OnSignals {
    type Output = Stopped;
    type IntoFuture = Pin<Box<dyn Future<Output = Stopped> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl fmt::Debug for OnSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnSignals")
            .field("handle", &self.handle)
            .field("deadline", &self.deadline)
            .field("reload", &self.reload.is_some())
            .finish()
    }
}
