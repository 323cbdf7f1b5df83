//! An HTTP/1.x server: drives the sans-IO [`h1_core`] engine over async-net sockets, on
//! any runtime.
//!
//! The contract: every protocol decision (parsing, framing, keep-alive, `100 Continue`,
//! error statuses) is h1-core's. This crate owns sockets, tasks, timers and the
//! application's [`Handler`]; it reads bytes into the engine, hands requests to the
//! handler and writes what the engine produces.
//!
//! ```text
//!  TcpListener ─accept─▶ one task per connection ─────────────────────────────┐
//!                          │ read ▶ h1_core::Connection ▶ Request ▶ Handler  │
//!                          │ write ◀ out: Vec<u8> ◀ send_head/data/end ◀ Response
//!                          └ timers: head, keep-alive, body stall/rate, write ─┘
//! ```
//!
//! - [`Server`] binds (several addresses, IPv4 and IPv6), takes a [`ServerConfig`] and a
//!   [`Spawner`] (smol's global executor by default, or [`ThreadPool`] for N threads), and
//!   [`serve`](Server::serve)s a handler, returning a [`ServerHandle`]: stop and start
//!   listening, immediate or graceful shutdown, a live connection count.
//! - [`serve_connection`] serves one connection over any futures-io transport.
//! - A [`Request`] carries its body as a [`RequestBody`] stream with backpressure: the
//!   socket is read for the body only when the handler reads it.
//! - A [`Response`] body is empty, bytes, text or any [`Body`] stream of [`Frame`]s.
//! - A [`Handler`] is any `async` closure from a [`Request`] to something
//!   [`IntoResponse`]: a `Response`, text, bytes, `(status, body)`, `(status, headers,
//!   body)`, a `Result` of those. [`Request::spawn`] runs a task on the server's executor.
//! - [`testing`] calls any handler without a socket, and runs the real connection driver
//!   over an in-memory transport on a manual clock: raw bytes in and out, every timeout
//!   tested without a socket or sleeping.
//!
//! # Cargo features
//!
//! The list above is the driver, always built. The layers above it use only its public
//! API, and each is a feature:
//!
//! | Feature | Default | What it adds |
//! |---|---|---|
//! | `smol` | on | [`SmolSpawner`] (the default spawner) and [`ThreadPool`] |
//! | `router` | on | [`router`]: routes, handler stacks, state, auth, cookies, static files |
//! | `multipart` | on | [`multipart`]: uploads streamed or saved to disk, forms read with limits |
//! | `serde` | off | `Json` responses; with `router`, `router::json` and `router::read_json` |
//! | `http` | off | conversions to and from `http::Request` / `http::Response` |
//! | `tower` | off | `TowerService`: serve a `tower::Service` such as an axum `Router` (implies `http`) |
//! | `tls` | off | HTTPS with rustls (`Server::tls`) |
//! | `signals` | off | `ServerHandle::shutdown_on_signals` (Unix): SIGTERM/SIGINT drain, SIGHUP reloads |
//! | `listeners` | off | `listeners` (Unix): systemd socket activation, inherited listeners, `SO_REUSEPORT` |
//! | `compression` | off | `compress::Compress`: gzip, deflate, br, zstd that keep every flush |
//!
//! `default-features = false` builds the driver alone (give the server a [`Spawner`]).
//!
//! # Examples
//!
//! ```no_run
//! use h1_server::{Request, Server};
//!
//! fn main() -> std::io::Result<()> {
//!     h1_server::block_on(async {
//!         let server = Server::bind("127.0.0.1:8080").await?;
//!         let handle = server.serve(|_req: Request| async { "Hello, World!\n" });
//!         println!("listening on http://{}", handle.local_addr());
//!         std::future::pending::<()>().await;
//!         Ok(())
//!     })
//! }
//! ```
//!
//! # Multi-core
//!
//! Give the server a [`ThreadPool`]: N threads running one executor share the listener
//! and the connections; `ThreadPool::new(0).block_on(..)` runs everything on the calling
//! thread, which, when idle, waits for the connections' events itself (the fastest setup
//! on one core: no cross-thread wake-ups). Or set `SMOL_THREADS=N` before the first spawn to run smol's
//! global executor (the default spawner) on N threads. Under tokio, pass a spawner closure around
//! `tokio::spawn`: sockets and timers come from async-io's reactor, which works under
//! any executor.
//!
//! The accepted TCP connections of a [`Server`] live in an edge-triggered epoll set on
//! Linux: its own, or, spawned on a [`ThreadPool`], the pool's, which the pool's idle
//! threads wait in; [`ServerConfig::edge_triggered`] (or `H1_EDGE_TRIGGERED=0` in the
//! environment) turns it off.
//!
// The links to items of optional features: to the item when it is built, else to the
// feature table.
#![cfg_attr(feature = "smol", doc = "[`ThreadPool`]: crate::ThreadPool")]
#![cfg_attr(feature = "smol", doc = "[`SmolSpawner`]: crate::SmolSpawner")]
#![cfg_attr(not(feature = "smol"), doc = "[`ThreadPool`]: #cargo-features")]
#![cfg_attr(not(feature = "smol"), doc = "[`SmolSpawner`]: #cargo-features")]
#![cfg_attr(feature = "router", doc = "[`router`]: crate::router")]
#![cfg_attr(not(feature = "router"), doc = "[`router`]: #cargo-features")]
#![cfg_attr(feature = "multipart", doc = "[`multipart`]: crate::multipart")]
#![cfg_attr(not(feature = "multipart"), doc = "[`multipart`]: #cargo-features")]
#![forbid(unsafe_code)]
// docs.rs builds with `--cfg docsrs` and every feature: each feature-gated item is
// labelled with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

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

mod close;
#[cfg(feature = "compression")]
pub mod compress;
mod config;
mod conn;
mod error;
mod extensions;
mod file_body;
mod form;
mod handler;
#[cfg(feature = "http")]
mod http_compat;
mod into_response;
#[cfg(all(unix, feature = "listeners"))]
pub mod listeners;
#[cfg(feature = "multipart")]
pub mod multipart;
pub mod observe;
mod request;
mod request_body;
mod response;
#[cfg(feature = "router")]
pub mod router;
mod runtime;
mod server;
mod shared;
#[cfg(all(unix, feature = "signals"))]
pub mod signals;
pub mod testing;
#[cfg(feature = "tower")]
mod tower;
mod upgrade;

pub use close::{CloseReason, ConnectionId};
pub use config::ServerConfig;
pub use conn::serve_connection;
pub use error::{Error, Timeout};
pub use extensions::{Extensions, MAX_PARAMS, RouteMatch, State};
pub use form::{Form, percent_decode, percent_decode_escape, percent_decode_strict};
pub use handler::Handler;
#[cfg(feature = "http")]
pub use http_compat::{BoxBody, ConversionError};
pub use into_response::IntoResponse;
#[cfg(feature = "serde")]
pub use into_response::Json;
pub use observe::AccessLogFormat;
pub use request::Request;
pub use request_body::RequestBody;
pub use response::{Body, Frame, ReaderBody, Response, StreamBody};
pub use runtime::{BoxFuture, Spawner};
#[cfg(feature = "smol")]
pub use runtime::{SmolSpawner, ThreadPool};
pub use server::{Server, ServerHandle};
pub use shared::ShutdownSignal;
#[cfg(feature = "tower")]
pub use tower::{HttpBody, TowerService};
pub use upgrade::{OnUpgrade, Upgraded};

/// Run a future to completion on the calling thread, driving the I/O reactor while it
/// waits: the one function a `main` needs to serve with the default spawner
/// (`smol::block_on` is the same function). It is async-io's, which this crate already
/// runs on, so it needs no feature and no dependency in your `Cargo.toml`.
pub use async_io::block_on;
pub use bytes::Bytes;
/// The rustls version the `tls` feature serves with (build its `ServerConfig` from here).
#[cfg(feature = "tls")]
pub use futures_rustls::rustls;
pub use h1_core::{Headers, Limits, RequestHead, ResponseHead, StaticHeader, Version};
