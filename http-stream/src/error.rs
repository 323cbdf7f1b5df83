//! [`Error`], why a stream refused something, and [`Closed`] / [`TrySendError`], which give
//! the refused chunk back.

use std::fmt;

/// Why a push stream refused a send, a flush or a close.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The response body is gone: the client went away, the connection closed, or the
    /// response was dropped without being sent. Nothing more can be delivered.
    Disconnected,
    /// The stream was already ended by [`close`](crate::Sender::close) or
    /// [`abort`](crate::Sender::abort).
    Finished,
    /// The chunk would take the body past its declared `Content-Length`. The stream is
    /// left as it was: a smaller chunk may still be sent.
    LengthExceeded {
        /// The declared `Content-Length`.
        declared: u64,
        /// The body length the chunk would have made.
        attempted: u64,
    },
    /// [`close`](crate::Sender::close) came before the declared `Content-Length` was
    /// reached: the response was aborted instead (the client sees a short body and a
    /// closed connection).
    Incomplete {
        /// The declared `Content-Length`.
        declared: u64,
        /// The bytes sent.
        sent: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disconnected => f.write_str("stream closed: the client is gone"),
            Self::Finished => f.write_str("stream already closed"),
            Self::LengthExceeded {
                declared,
                attempted,
            } => write!(
                f,
                "chunk would make the body {attempted} bytes, over its content-length of {declared}"
            ),
            Self::Incomplete { declared, sent } => write!(
                f,
                "stream closed after {sent} of its {declared} content-length bytes; aborted"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::Disconnected => std::io::ErrorKind::BrokenPipe,
            Error::Finished => std::io::ErrorKind::NotConnected,
            Error::LengthExceeded { .. } | Error::Incomplete { .. } => {
                std::io::ErrorKind::InvalidInput
            }
        };
        Self::new(kind, e)
    }
}

/// A send that was refused, with the value given back (like `async_channel::SendError`).
///
/// ```
/// let (tx, body) = h1_stream::channel(h1_stream::Config::new());
/// drop(body); // the client went away
/// let err = futures_lite::future::block_on(tx.send("hello")).unwrap_err();
/// assert_eq!(err.error(), h1_stream::Error::Disconnected);
/// assert_eq!(err.into_inner(), "hello");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Closed<T> {
    value: T,
    error: Error,
}

impl<T> Closed<T> {
    pub(crate) fn new(value: T, error: Error) -> Self {
        Self { value, error }
    }

    /// Why the send was refused.
    pub fn error(&self) -> Error {
        self.error
    }

    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> fmt::Debug for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<T> std::error::Error for Closed<T> {}

/// A [`try_send`](crate::Sender::try_send) that was refused, with the value given back.
#[derive(Clone, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The queue is full (the client reads slower than the producer writes).
    Full(T),
    /// The stream cannot take it at all.
    Closed(Closed<T>),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) => v,
            Self::Closed(c) => c.into_inner(),
        }
    }

    /// Whether the queue was full (a later try may succeed).
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(c) => f.debug_tuple("Closed").field(c).finish(),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("stream queue is full"),
            Self::Closed(c) => fmt::Display::fmt(c, f),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}
