//! The connection's state: what the receive side and the send side are doing, and
//! whether the connection persists. [`Connection`](crate::Connection) holds one of each;
//! its receive side (`connection/recv.rs`) and send side (`connection/send.rs`) move them.

use crate::decode::Decoder;
use crate::encode::{Encoder, ReqFacts};

/// What the receive side is doing.
#[derive(Debug, Clone)]
pub(crate) enum ReadState {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Handing out the body of the current request.
    Body(Decoder),
    /// The response finished first: dropping the unread body, within `budget` bytes.
    Discard { decoder: Decoder, budget: u64 },
    /// The request was read whole; waiting for its response to finish.
    Done,
    /// The engine stepped aside after a 101 or 2xx to CONNECT.
    Upgraded,
    /// Nothing more will be read.
    Closed,
}

/// What the send side is doing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WriteState {
    /// No request to answer yet.
    Idle,
    /// A request head arrived; no final response head sent yet.
    Ready {
        continue_sent: bool,
    },
    /// A final head was sent; its body is being encoded.
    Body(Encoder),
    /// The response to the current request is complete.
    Done,
    Upgraded,
    Closed,
}

/// Whether the connection persists after the current exchange (RFC 9112 §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persist {
    /// HTTP/1.1 default.
    KeepAlive,
    /// HTTP/1.0 with `Connection: keep-alive`, echoed in the response.
    KeepAlive10,
    /// Close after the current response.
    Close,
}

/// Facts about the request being answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReqState {
    pub(crate) facts: ReqFacts,
    pub(crate) expect_continue: bool,
    pub(crate) declared: Option<u64>,
}
