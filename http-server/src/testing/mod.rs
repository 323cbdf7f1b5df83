//! Test kits: exercise handlers and routers without a socket.
//!
//! - Handler level: [`TestRequest`] builds a [`Request`](crate::Request) (method, target,
//!   headers, peer address, a body from bytes or from a stream), calls any
//!   [`Handler`](crate::Handler) and returns a [`TestResponse`] to read the status,
//!   headers and body, whole or frame by frame.

mod handler;

pub use handler::{TestRequest, TestResponse, TestShutdown};
