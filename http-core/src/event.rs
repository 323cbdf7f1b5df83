//! What [`Connection::next_event`](crate::Connection::next_event) hands out.

use crate::head::{Headers, RequestHead};

/// The result of [`Connection::next_event`](crate::Connection::next_event).
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub enum Next<'a> {
    /// Something happened on the receive side.
    Event(Event<'a>),
    /// Feed more bytes (or EOF) to go on.
    NeedData,
    /// The current request was read whole; finish its response (up to
    /// [`send_end`](crate::Connection::send_end)) before the next request is handed out.
    Paused,
    /// Nothing more will be received: the peer closed, or the connection is to close once
    /// the output written so far has been sent.
    Closed,
    /// A `101 Switching Protocols` or a 2xx to CONNECT was sent: the engine steps aside.
    /// Take the buffered bytes with [`into_parts`](crate::Connection::into_parts).
    Upgraded,
}

/// A receive-side event.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A request head. Its body events follow.
    Head(&'a RequestHead),
    /// A piece of the request body, borrowed from the engine's buffer.
    Data(&'a [u8]),
    /// The trailer section of a chunked request body, before [`Event::End`].
    Trailers(&'a Headers),
    /// The request is complete (sent for bodyless requests too).
    End,
}
