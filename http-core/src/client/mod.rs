//! The client role: request parts in, bytes out; response bytes in, events out.
//!
//! Sans-IO like the server role, and built the same way: a [`Connection`] state machine, a
//! caller-owned output `Vec<u8>`, events borrowed from the engine's buffer, typed errors
//! split by blame ([`ResponseError`]: the server broke the protocol, sticky;
//! [`RequestError`]: the caller asked for something that cannot be sent). Bodies are
//! decoded by the same chunked decoder as requests in the server role, and the same
//! [`Limits`](crate::Limits) bound every response head, chunk line and trailer section.
//!
//! ```text
//!   Request ──▶ send_head / send_data / send_end ──▶ out: Vec<u8> ──▶ bytes to write
//!   bytes read ──▶ receive() ──▶ [ Connection ] ──▶ next_event(): Interim, Head, Data,
//!                                                   Trailers, End, NeedData, Closed, Upgraded
//! ```
//!
//! # Examples
//!
//! Two pipelined requests; the engine remembers which one was a HEAD.
//!
//! ```
//! use h1_core::client::{Connection, Event, Next, Request};
//!
//! let mut conn = Connection::new(h1_core::Config::default());
//! let mut out = Vec::new();
//! for method in ["HEAD", "GET"] {
//!     conn.send_head(Request::new(method, "/").header("Host", "a"), &mut out).unwrap();
//!     conn.send_end(None, &mut out).unwrap();
//! }
//! conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
//! conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
//! let mut seen = Vec::new();
//! loop {
//!     match conn.next_event().unwrap() {
//!         Next::Event(Event::Head(head)) => seen.push(format!("head {}", head.status())),
//!         Next::Event(Event::Data(data)) => seen.push(format!("data {}", data.escape_ascii())),
//!         Next::Event(Event::End) => seen.push("end".into()),
//!         Next::Event(_) => {}
//!         Next::NeedData | Next::Closed | Next::Upgraded => break,
//!     }
//! }
//! assert_eq!(seen, ["head 200", "end", "head 200", "data hi", "end"]);
//! ```

mod connection;
mod error;
mod event;
mod parse;
mod request;
mod response;
mod send;

pub use connection::{Connection, Parts};
pub use error::{RequestError, ResponseError};
pub use event::{Event, Next};
pub use request::Request;
pub use response::Response;
