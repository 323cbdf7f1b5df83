//! Push-style streamed responses for [`h1_server`]: a handler answers with a stream and
//! returns; any other task pushes chunks to that client for minutes or hours, and decides
//! when bytes hit the wire.
//!
//! The contract: [`channel`] makes a [`Sender`] (the push handle, `Send + Sync + Clone +
//! 'static`) and a [`PushBody`] (an [`h1_server::Body`]). The queue between them is
//! bounded in bytes, so a slow client makes [`Sender::send`] wait and a stream's memory
//! stays bounded. Framing is the server's: chunked on HTTP/1.1, close-delimited on
//! HTTP/1.0, `Content-Length` when [declared](Config::length); HEAD gets headers only.
//!
//! ```text
//!  producer task                      connection task (h1-server)
//!  Sender ──send/flush/close──▶ queue (≤ capacity bytes) ──▶ PushBody ──▶ out buffer ──▶ socket
//!    ▲                                                        │ Frame::Flush written
//!    └──────── space freed, flush done, body dropped ◀────────┘
//! ```
//!
//! - Flushing: each [`send`](Sender::send) is written as soon as the connection can;
//!   in [`dont_flush`](Config::dont_flush) mode chunks are held until
//!   [`flush`](Sender::flush) or a [high-water mark](Config::high_water).
//!   `flush().await` returns once the bytes were written to the socket.
//! - Ending: [`close`](Sender::close) (terminal chunk, keep-alive goes on),
//!   [`close_with_trailers`](Sender::close_with_trailers), [`abort`](Sender::abort)
//!   (broken response, connection closed).
//! - The client going away drops the body: [`closed`](Sender::closed) resolves and every
//!   later send fails with [`Closed`], which gives the chunk back.
//! - Shutdown: a stream made from a request ([`response_for`], [`channel_for`],
//!   [`sse::Options::response_for`]) picks up that request's shutdown signal, so
//!   [`Sender::shutdown_requested`] resolves when the server begins a graceful shutdown;
//!   any other [`Shutdown`] can be given in the [`Config`].
//! - Spawning the producer: [`Request::spawn`](h1_server::Request::spawn) runs it on
//!   the server's executor, whatever the runtime.
//! - [`sse`]: Server-Sent Events (encoder, headers, keep-alive comments, `Last-Event-ID`).
//! - [`longpoll`]: a topic [`Hub`](longpoll::Hub) and a parked-request helper (204 on
//!   timeout).
//!
//! # Examples
//!
//! ```no_run
//! use std::time::Duration;
//! use h1_server::{Request, Server};
//! use h1_stream::Config;
//!
//! fn main() -> std::io::Result<()> {
//!     smol::block_on(async {
//!         let server = Server::bind("127.0.0.1:8080").await?;
//!         let _handle = server.serve(|req: Request| async move {
//!             let mut config = Config::new();
//!             config.dont_flush(true);
//!             // Ends by itself when the server shuts down.
//!             let (tx, response) = h1_stream::response_for(&req, 200, config);
//!             req.spawn(async move {
//!                 for i in 0..100 {
//!                     // Held back: the client gets ten lines per write.
//!                     if tx.send(format!("line {i}\n")).await.is_err() {
//!                         return;
//!                     }
//!                     if i % 10 == 9 {
//!                         let _ = tx.flush().await;
//!                         async_io::Timer::after(Duration::from_millis(100)).await;
//!                     }
//!                 }
//!                 let _ = tx.close();
//!             });
//!             response
//!         });
//!         std::future::pending::<()>().await;
//!         Ok(())
//!     })
//! }
//! ```
#![forbid(unsafe_code)]

/// Settings types use `&mut self` setters and are `Clone`; whatever takes one accepts
/// `impl Into<Settings>`, so a chain of setters on a fresh value goes straight into an
/// argument (`f(Settings::new().x(1))`): `&Settings` and `&mut Settings` convert by
/// cloning.
macro_rules! settings_from_ref {
    ($($ty:ty),* $(,)?) => {$(
        impl From<&$ty> for $ty {
            fn from(settings: &$ty) -> Self {
                settings.clone()
            }
        }
        impl From<&mut $ty> for $ty {
            fn from(settings: &mut $ty) -> Self {
                settings.clone()
            }
        }
    )*};
}

mod body;
mod config;
mod error;
pub mod longpoll;
mod sender;
mod shared;
mod shutdown;
pub mod sse;

use std::sync::Arc;

use h1_server::{IntoResponse, Request, Response};

pub use body::PushBody;
pub use config::Config;
pub use error::{Closed, Error, TrySendError};
pub use sender::Sender;
pub use shutdown::Shutdown;

/// A push handle and the response body it feeds.
///
/// ```
/// use futures_lite::future::block_on;
///
/// let (tx, body) = h1_stream::channel(h1_stream::Config::new());
/// block_on(tx.send("hello")).unwrap();
/// assert_eq!(tx.queued_bytes(), 5);
/// drop(body); // what the server does when the client goes away
/// block_on(tx.closed());
/// assert!(block_on(tx.send("more")).is_err());
/// ```
pub fn channel(config: impl Into<Config>) -> (Sender, PushBody) {
    let config = config.into();
    let inner = Arc::new(shared::Inner::new(&config));
    let body = PushBody::new(inner.clone(), config.heartbeat.clone());
    (Sender::new(inner), body)
}

/// A push handle and a [`Response`] with `status` streaming its body (with
/// `Content-Length` if [`Config::length`] was set). Add headers with
/// [`Response::header`].
///
/// ```
/// // Settings chain straight into the call (`&mut Config` converts into a `Config`).
/// let (tx, response) = h1_stream::response(200, h1_stream::Config::new().dont_flush(true));
/// let response = response.header("Content-Type", "text/plain");
/// assert_eq!(response.body_length(), None);
/// # drop(tx);
/// ```
pub fn response(status: u16, config: impl Into<Config>) -> (Sender, Response) {
    let (tx, body) = channel(config);
    (tx, Response::stream(status, body))
}

/// [`response`] for a stream answering `req`: unless `config` names a
/// [`Shutdown`](Config::shutdown), the stream takes `req`'s
/// [shutdown signal](h1_server::Request::shutdown_signal), so
/// [`Sender::shutdown_requested`] resolves when the server begins shutting down.
///
/// ```
/// use futures_lite::future::block_on;
/// use h1_server::testing::TestRequest;
///
/// let test = TestRequest::get("/stream");
/// let shutdown = test.shutdown();
/// let req = test.build();
/// let (tx, _response) = h1_stream::response_for(&req, 200, h1_stream::Config::new());
/// assert!(!tx.is_shutdown_requested());
/// shutdown.begin();
/// block_on(tx.shutdown_requested());
/// ```
pub fn response_for(req: &Request, status: u16, config: impl Into<Config>) -> (Sender, Response) {
    let (tx, body) = channel_for(req, config);
    (tx, Response::stream(status, body))
}

/// [`channel`] for a stream answering `req`, with `req`'s shutdown signal (as
/// [`response_for`]).
pub fn channel_for(req: &Request, config: impl Into<Config>) -> (Sender, PushBody) {
    let mut config = config.into();
    if config.shutdown.is_none() {
        config.shutdown(&Shutdown::from(req.shutdown_signal()));
    }
    channel(config)
}

/// A push body is a `200` streaming response (use a `(status, body)` tuple for another
/// status).
impl IntoResponse for PushBody {
    fn into_response(self) -> Response {
        Response::stream(200, self)
    }
}
