//! [`ConnectionId`] and [`CloseReason`]: which connection, and why it ended.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use h1_core::RecvError;

use crate::error::Timeout;

/// A connection's id, unique within the process (counting from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl ConnectionId {
    /// A fresh id.
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a connection closed, as passed to the
/// [`on_close`](crate::ServerConfig::on_close) hook.
///
/// ```
/// use h1_server::{CloseReason, Timeout};
///
/// let reason = CloseReason::Timeout(Timeout::KeepAlive);
/// assert_eq!(reason.to_string(), "keep-alive connection idle too long");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed the connection (between requests, or before a head was whole).
    ClientClosed,
    /// The server closed after a response, as the protocol asked (`Connection: close`,
    /// HTTP/1.0 without keep-alive, a close-delimited body, an error response).
    Done,
    /// A timer fired: the head did not arrive in time (answered with 408 if partly sent),
    /// the idle keep-alive time passed, the request body stalled or came below the
    /// minimum rate, or the client stopped reading the response.
    Timeout(Timeout),
    /// The client broke the protocol; it was answered with this error's status.
    Protocol(RecvError),
    /// The handler answered with [`Response::close`](crate::Response::close).
    HandlerClose,
    /// The handler panicked (answered with 500 if no head had been sent).
    Panic,
    /// The response was invalid (such as a body shorter than its `Content-Length`, or a
    /// header value with a newline), or its body stream failed.
    ResponseError,
    /// A `101 Switching Protocols` was sent; the connection left HTTP/1.1.
    Upgraded,
    /// The server shut down.
    Shutdown,
    /// The socket failed.
    Io(io::ErrorKind),
}

impl CloseReason {
    /// A short name for metrics labels and logs: `client_closed`, `done`, `timeout`,
    /// `protocol`, `handler_close`, `panic`, `response_error`, `upgraded`, `shutdown` or
    /// `io`.
    ///
    /// ```
    /// assert_eq!(h1_server::CloseReason::ClientClosed.label(), "client_closed");
    /// ```
    pub fn label(&self) -> &'static str {
        match self {
            Self::ClientClosed => "client_closed",
            Self::Done => "done",
            Self::Timeout(_) => "timeout",
            Self::Protocol(_) => "protocol",
            Self::HandlerClose => "handler_close",
            Self::Panic => "panic",
            Self::ResponseError => "response_error",
            Self::Upgraded => "upgraded",
            Self::Shutdown => "shutdown",
            Self::Io(_) => "io",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientClosed => f.write_str("client closed"),
            Self::Done => f.write_str("done"),
            Self::Timeout(t) => write!(f, "{t}"),
            Self::Protocol(e) => write!(f, "bad request: {e}"),
            Self::HandlerClose => f.write_str("closed by handler"),
            Self::Panic => f.write_str("handler panicked"),
            Self::ResponseError => f.write_str("invalid response"),
            Self::Upgraded => f.write_str("upgraded"),
            Self::Shutdown => f.write_str("server shutdown"),
            Self::Io(k) => write!(f, "i/o error: {k}"),
        }
    }
}
