//! What [`Connection::next_event`](super::Connection::next_event) hands out in the client
//! role.

use super::response::Response;
use crate::head::Headers;

/// The result of [`Connection::next_event`](super::Connection::next_event).
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub enum Next<'a> {
    /// Something happened on the receive side.
    Event(Event<'a>),
    /// Feed more bytes (or EOF) to go on. Also what an idle connection (no request
    /// outstanding, nothing buffered) says.
    NeedData,
    /// Nothing more will be received: the server closed, or the connection closes after
    /// the response just ended (`Connection: close`, HTTP/1.0, a close-delimited body).
    Closed,
    /// A `101 Switching Protocols`, or a 2xx to CONNECT, was received: the engine steps
    /// aside. Take the buffered bytes with
    /// [`into_parts`](super::Connection::into_parts).
    Upgraded,
}

/// A receive-side event of the client role.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// An interim (1xx) response, such as `100 Continue` or `103 Early Hints`. The final
    /// response to the same request follows.
    Interim(&'a Response),
    /// The final response head. Its body events follow (none for a response to HEAD, 204,
    /// 304); after a 101 or a 2xx to CONNECT, [`Next::Upgraded`] follows instead.
    Head(&'a Response),
    /// A piece of the response body, borrowed from the engine's buffer.
    Data(&'a [u8]),
    /// The trailer section of a chunked response body, before [`Event::End`].
    Trailers(&'a Headers),
    /// The response is complete (sent for bodyless responses too).
    End,
}
