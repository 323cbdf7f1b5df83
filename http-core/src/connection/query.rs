//! The queries of [`Connection`]: what the driver's timers and flushing ask.

use super::Connection;
use crate::error::RecvError;
use crate::state::{Persist, ReadState, WriteState};

impl Connection {
    // ----- queries -----

    /// Whether the connection will persist after the current response (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        self.persist != Persist::Close && self.error.is_none()
    }

    /// Whether the current request carried `Expect: 100-continue`.
    pub fn expects_continue(&self) -> bool {
        self.req.is_some_and(|r| r.expect_continue)
    }

    /// Whether the client is waiting for `100 Continue` before sending the body: it asked,
    /// the body is not read yet, and neither 100 nor a final head went out. A driver sends
    /// [`send_continue`](Self::send_continue) when the application first asks for the body.
    pub fn wants_continue(&self) -> bool {
        self.expects_continue()
            && matches!(
                self.write,
                WriteState::Ready {
                    continue_sent: false
                }
            )
            && self.body_unread()
    }

    /// Between requests with nothing buffered: the idle keep-alive timer applies.
    pub fn is_idle(&self) -> bool {
        matches!(self.read, ReadState::Head)
            && matches!(self.write, WriteState::Idle | WriteState::Done)
            && self.start == self.end
            && self.error.is_none()
    }

    /// Waiting for a request head with some of it already received: the head timer applies.
    pub fn is_reading_head(&self) -> bool {
        matches!(self.read, ReadState::Head) && self.start != self.end && self.error.is_none()
    }

    /// Whether the request body is being received (the body-stall timer applies).
    pub fn is_reading_body(&self) -> bool {
        matches!(self.read, ReadState::Body(_) | ReadState::Discard { .. })
    }

    /// Whether the current response has been fully sent (or none is due).
    pub fn is_response_done(&self) -> bool {
        matches!(self.write, WriteState::Idle | WriteState::Done)
    }

    /// Whether the driver should close the connection once its output is written.
    pub fn is_closed(&self) -> bool {
        matches!(self.read, ReadState::Closed)
            && !matches!(self.write, WriteState::Ready { .. } | WriteState::Body(_))
            || matches!(self.write, WriteState::Closed)
    }

    /// Whether a 101 or a 2xx to CONNECT was sent: take [`into_parts`](Self::into_parts).
    pub fn is_upgraded(&self) -> bool {
        matches!(self.write, WriteState::Upgraded)
    }

    /// Bytes received and not handed out yet (pipelined requests, unread body).
    pub fn buffered_len(&self) -> usize {
        self.end - self.start
    }

    /// The declared Content-Length of the current request; `None` for chunked bodies or
    /// when no request is current. Compare with a limit to answer 413 up front.
    pub fn body_length(&self) -> Option<u64> {
        self.req.and_then(|r| r.declared)
    }

    /// Body bytes of the current request handed out so far.
    pub fn body_received(&self) -> u64 {
        self.body_received
    }

    /// The last error the peer caused, if the connection is poisoned.
    pub fn error(&self) -> Option<RecvError> {
        self.error
    }
}
