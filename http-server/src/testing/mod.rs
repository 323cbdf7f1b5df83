//! Test kits: exercise handlers, routers and whole connections with no socket and no
//! waiting.
//!
//! - Handler level: [`TestRequest`] builds a [`Request`](crate::Request) (method, target,
//!   headers, peer address, a body from bytes or from a stream), calls any
//!   [`Handler`](crate::Handler) and returns a [`TestResponse`] to read the status,
//!   headers and body, whole or frame by frame.
//! - Connection level: [`TestConnection`] runs the real connection driver (the code a
//!   [`Server`](crate::Server) runs per connection) over an in-memory [`duplex`]
//!   transport: a test writes raw request bytes, reads the raw bytes the server wrote,
//!   half-closes, and sees the connection end with its
//!   [`CloseReason`](crate::CloseReason).
//! - [`ManualClock`] is the time that connection sees: every timer (head, keep-alive,
//!   body stall and rate, write, idle buffer release) and the `Date` header read it, and
//!   it moves only when the test calls [`advance`](ManualClock::advance). A 60 s
//!   keep-alive timeout is tested in microseconds.
//!
//! ```
//! use std::time::Duration;
//! use h1_server::testing::TestConnection;
//! use h1_server::{CloseReason, Request, Response, ServerConfig, Timeout};
//!
//! futures_lite::future::block_on(async {
//!     let mut config = ServerConfig::new();
//!     config.keep_alive_timeout(Duration::from_secs(60));
//!     let mut conn = TestConnection::new(|_req: Request| async { Response::text(200, "hi") }, config);
//!     conn.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
//!     let res = conn.read_response().await;
//!     assert_eq!((res.status, &res.body[..]), (200, &b"hi"[..]));
//!
//!     conn.clock().advance(Duration::from_secs(59));
//!     assert!(conn.read_available().await.is_empty());
//!     assert_eq!(conn.close_reason(), None);
//!     conn.clock().advance(Duration::from_secs(1));
//!     assert_eq!(conn.closed().await, CloseReason::Timeout(Timeout::KeepAlive));
//! });
//! ```

mod clock;
mod connection;
mod duplex;
mod handler;
mod wire;

pub use clock::ManualClock;
pub use connection::TestConnection;
pub use duplex::{DuplexStream, duplex};
pub use handler::{TestRequest, TestResponse, TestShutdown};
pub use wire::WireResponse;
