//! [`Error`]: what can go wrong while serving, and [`Timeout`], which timer fired.

use std::fmt;
use std::io;

use h1_core::{RecvError, SendError};

/// An error while serving a connection or reading a request body.
///
/// Body reads ([`RequestBody`](crate::RequestBody), [`Request::bytes`](crate::Request::bytes),
/// ...) return it; [`Error::status`] gives the status code a handler may answer with.
///
/// ```
/// use h1_server::Error;
///
/// let e = Error::BodyTooLarge { limit: 10 };
/// assert_eq!(e.status(), 413);
/// let io: std::io::Error = e.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
/// ```
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The socket failed.
    Io(io::Error),
    /// The peer broke the protocol; carries the status to answer
    /// ([`RecvError::status`]).
    Protocol(RecvError),
    /// The driver used the engine out of order, or the response was invalid (such as a
    /// header value with a newline, or a body longer than its declared length).
    Send(SendError),
    /// A timer fired.
    Timeout(Timeout),
    /// The request body is larger than the limit the handler asked for (413).
    BodyTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The request body is not what was asked for: not UTF-8 for
    /// [`Request::text`](crate::Request::text), or not a valid urlencoded form.
    InvalidBody(&'static str),
    /// The request body can no longer be read: its response was already sent, or the
    /// connection closed.
    BodyClosed,
}

/// Which timer fired. Each is configured on [`ServerConfig`](crate::ServerConfig).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// A request head took too long to arrive (answered with 408).
    Head,
    /// No request came on an idle keep-alive connection.
    KeepAlive,
    /// No request-body bytes arrived for too long.
    BodyStall,
    /// The request body arrived slower than the configured minimum rate.
    BodyRate,
    /// The client stopped reading the response.
    Write,
    /// The handler did not produce its response in time (answered with 503).
    Handler,
}

impl Error {
    /// The status code a handler may answer this error with: 400 for protocol errors
    /// (or the engine's hint), 408 for timeouts, 413 for an oversized body, 500 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Self::Protocol(e) => e.status(),
            Self::Timeout(_) => 408,
            Self::BodyTooLarge { .. } => 413,
            Self::InvalidBody(_) => 400,
            Self::Io(_) | Self::Send(_) | Self::BodyClosed => 500,
        }
    }

    /// Whether this is a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "i/o error: {e}"),
            Self::Protocol(e) => write!(f, "bad request: {e}"),
            Self::Send(e) => write!(f, "cannot send response: {e}"),
            Self::Timeout(t) => write!(f, "{t}"),
            Self::BodyTooLarge { limit } => write!(f, "request body exceeds {limit} bytes"),
            Self::InvalidBody(why) => write!(f, "invalid request body: {why}"),
            Self::BodyClosed => f.write_str("request body no longer available"),
        }
    }
}

impl Timeout {
    /// A short name for metrics labels and logs: `head`, `keep_alive`, `body_stall`,
    /// `body_rate`, `write` or `handler`.
    ///
    /// ```
    /// assert_eq!(h1_server::Timeout::KeepAlive.label(), "keep_alive");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::KeepAlive => "keep_alive",
            Self::BodyStall => "body_stall",
            Self::BodyRate => "body_rate",
            Self::Write => "write",
            Self::Handler => "handler",
        }
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Head => "timed out reading the request head",
            Self::KeepAlive => "keep-alive connection idle too long",
            Self::BodyStall => "request body stalled",
            Self::BodyRate => "request body arrived below the minimum rate",
            Self::Write => "timed out writing the response",
            Self::Handler => "the handler took too long",
        })
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Protocol(e) => Some(e),
            Self::Send(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<RecvError> for Error {
    fn from(e: RecvError) -> Self {
        Self::Protocol(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Self::Send(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::Io(inner) => return Self::new(inner.kind(), e),
            Error::Timeout(_) => io::ErrorKind::TimedOut,
            Error::BodyClosed => io::ErrorKind::BrokenPipe,
            Error::Protocol(RecvError::UnexpectedEof) => io::ErrorKind::UnexpectedEof,
            Error::Protocol(_) | Error::BodyTooLarge { .. } | Error::InvalidBody(_) => {
                io::ErrorKind::InvalidData
            }
            Error::Send(_) => io::ErrorKind::Other,
        };
        Self::new(kind, e)
    }
}

/// A cheap copy of an error kept in shared state, turned into an [`Error`] per reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Io(io::ErrorKind),
    Protocol(RecvError),
    Timeout(Timeout),
    Closed,
}

impl ErrorKind {
    pub(crate) fn to_error(self) -> Error {
        match self {
            Self::Io(kind) => Error::Io(kind.into()),
            Self::Protocol(e) => Error::Protocol(e),
            Self::Timeout(t) => Error::Timeout(t),
            Self::Closed => Error::BodyClosed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_blame() {
        assert_eq!(Error::Timeout(Timeout::Head).status(), 408);
        assert_eq!(Error::Protocol(RecvError::UriTooLong).status(), 414);
        assert_eq!(Error::BodyTooLarge { limit: 1 }.status(), 413);
        assert_eq!(Error::BodyClosed.status(), 500);
    }

    #[test]
    fn io_conversion_keeps_kind_and_source() {
        let e: io::Error = Error::Timeout(Timeout::BodyStall).into();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        let inner = Error::Io(io::ErrorKind::ConnectionReset.into());
        assert!(std::error::Error::source(&inner).is_some());
        let e: io::Error = inner.into();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    }
}
