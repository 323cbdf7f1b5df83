//! Sans-IO HTTP/1.0 and HTTP/1.1 for both roles: bytes in, events out; message parts in,
//! bytes out. A complete engine for servers ([`Connection`]) and clients
//! ([`client::Connection`]), in the manner of Python's h11.
//!
//! The contract: no sockets, no async, no runtime, no threads, no clock. The engine never
//! blocks and never does I/O, so a socket driver, a unit test, a fuzzer and a simulator
//! all drive it the same way.
//!
//! ```text
//! server role:
//!   bytes read ──▶ receive() ──▶ [ Connection ] ──▶ next_event(): Head, Data, Trailers, End
//!                                  │   ▲                          NeedData, Paused, Closed
//!   bytes to write ◀── out: Vec ◀──┘   └── send_head / send_data / send_end / send_error
//!
//! client role:
//!   bytes read ──▶ receive() ──▶ [ client::Connection ] ──▶ next_event(): Interim, Head,
//!                                  │   ▲                     Data, Trailers, End, NeedData
//!   bytes to write ◀── out: Vec ◀──┘   └── send_head / send_data / send_end
//! ```
//!
//! Protocol rules live here, each citing the RFC 9110/9112 section it comes from:
//! framing (Content-Length, chunked, none), pipelining, keep-alive, `Expect:
//! 100-continue`, interim responses, upgrades and CONNECT, limits, and a typed error
//! carrying the status to answer for every malformed or hostile input. Parsing is strict
//! by default; each leniency (bare LF line ends, whitespace after a chunk size) is a
//! named switch on [`Config`].
//!
//! The client role (module [`client`]) serializes requests, with the engine choosing the
//! framing headers, and parses responses by every framing rule of RFC 9112 §6.3: HEAD,
//! 1xx, 204, 304, upgrades and CONNECT, Content-Length, chunked with trailers,
//! close-delimited, HTTP/1.0, keep-alive and pipelining.
//!
//! # Examples
//!
//! The server role:
//!
//! ```
//! use h1_core::{Config, Connection, Event, Next, ResponseHead};
//!
//! let mut conn = Connection::new(Config::default());
//! let mut out = Vec::new();
//! conn.receive(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
//! let mut body = Vec::new();
//! loop {
//!     match conn.next_event().unwrap() {
//!         Next::Event(Event::Head(head)) => assert_eq!(head.method(), "POST"),
//!         Next::Event(Event::Data(bytes)) => body.extend_from_slice(bytes),
//!         Next::Event(Event::Trailers(_)) => {}
//!         Next::Event(Event::End) => {
//!             let mut head = ResponseHead::new(200);
//!             head.content_length(Some(body.len() as u64));
//!             conn.send_head(&head, &mut out).unwrap();
//!             conn.send_data(&body, &mut out).unwrap();
//!             conn.send_end(None, &mut out).unwrap();
//!         }
//!         Next::NeedData | Next::Paused | Next::Closed | Next::Upgraded => break,
//!     }
//! }
//! assert!(out.ends_with(b"\r\n\r\nhello"));
//! ```
//!
//! The client role:
//!
//! ```
//! use h1_core::client::{Connection, Event, Next, Request};
//!
//! let mut conn = Connection::new(h1_core::Config::default());
//! let mut out = Vec::new();
//! let mut req = Request::new("POST", "/echo");
//! req.header("Host", "x").content_length(Some(5));
//! conn.send_head(&req, &mut out).unwrap();
//! conn.send_data(b"hello", &mut out).unwrap();
//! conn.send_end(None, &mut out).unwrap();
//! assert_eq!(out, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
//!
//! conn.receive(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
//! let mut body = Vec::new();
//! loop {
//!     match conn.next_event().unwrap() {
//!         Next::Event(Event::Head(head)) => assert_eq!(head.status(), 200),
//!         Next::Event(Event::Data(bytes)) => body.extend_from_slice(bytes),
//!         Next::Event(Event::End) => break,
//!         Next::Event(_) => {}
//!         Next::NeedData | Next::Closed | Next::Upgraded => unreachable!(),
//!     }
//! }
//! assert_eq!(body, b"hello");
//! ```
#![forbid(unsafe_code)]

pub mod client;

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

mod connection;
mod date;
mod decode;
mod encode;
mod error;
mod event;
mod head;
mod limits;
mod multipart;
mod parse;
mod state;
mod status;

pub use connection::{Connection, Parts};
pub use date::{DateCache, HttpDate};
pub use error::{RecvError, SendError};
pub use event::{Event, Next};
pub use head::{HeaderIter, Headers, RequestHead, ResponseHead, StaticHeader, TargetForm, Version};
pub use limits::{Config, Limits, MAX_HEADERS_CAP};
pub use multipart::{Multipart, MultipartError, MultipartEvent, MultipartLimits, PartHead};
pub use status::reason_phrase;
