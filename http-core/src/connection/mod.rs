//! [`Connection`]: the one type a driver talks to.
//!
//! The type's methods are split by group, as its docs list them: inputs and helpers here,
//! the receive side in `recv`, the send side in `send`, queries in `query`. The
//! state enums live in `crate::state`.

mod query;
mod recv;
mod send;

use crate::date::HttpDate;
use crate::decode::Decoder;
use crate::encode;
use crate::error::{RecvError, SendError};
use crate::head::{Headers, RequestHead};
use crate::limits::Config;
use crate::parse::HeadScan;
use crate::state::{Persist, ReadState, ReqState, WriteState};

/// The server side of one HTTP/1.x connection, as a state machine.
///
/// It never does I/O, never blocks and never reads a clock. Its methods fall in groups,
/// called in this order:
///
/// 1. **Inputs**: [`receive`](Self::receive) bytes read from the peer (or read straight
///    into [`read_buf`](Self::read_buf) and [`commit_read`](Self::commit_read)), and
///    [`receive_eof`](Self::receive_eof) when the peer closed its side.
/// 2. **Receive-side output**: [`next_event`](Self::next_event) until it says
///    [`Next::NeedData`](crate::Next::NeedData) (read more),
///    [`Next::Paused`](crate::Next::Paused) (answer first) or
///    [`Next::Closed`](crate::Next::Closed): a request head, body data, trailers, end.
/// 3. **Send side**, each appending bytes to a caller-owned `Vec<u8>` to write out:
///    [`send_continue`](Self::send_continue) / [`send_interim`](Self::send_interim)
///    (any number of 1xx), then [`send_head`](Self::send_head),
///    [`send_data`](Self::send_data)*, [`send_end`](Self::send_end); or
///    [`send_error`](Self::send_error) instead. The engine writes the framing headers
///    (`Content-Length`, `Transfer-Encoding`, `Connection`), so a caller cannot produce a
///    malformed response.
/// 4. **Queries** for the driver's timers and flushing: [`is_idle`](Self::is_idle),
///    [`is_reading_head`](Self::is_reading_head), [`wants_continue`](Self::wants_continue),
///    [`keep_alive`](Self::keep_alive), [`is_closed`](Self::is_closed), ...
/// 5. [`into_parts`](Self::into_parts) after an upgrade: the bytes buffered past the head.
///
/// ```
/// use h1_core::{Connection, Event, Next, ResponseHead};
///
/// let mut conn = Connection::new(h1_core::Config::default());
/// conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
/// assert!(matches!(conn.next_event().unwrap(), Next::Event(Event::Head(h)) if h.path() == "/"));
/// assert_eq!(conn.next_event().unwrap(), Next::Event(Event::End));
/// assert_eq!(conn.next_event().unwrap(), Next::Paused);
///
/// let mut out = Vec::new();
/// let mut head = ResponseHead::new(200);
/// head.content_length(Some(2));
/// conn.send_head(&head, &mut out).unwrap();
/// conn.send_data(b"hi", &mut out).unwrap();
/// conn.send_end(None, &mut out).unwrap();
/// assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
/// assert_eq!(conn.next_event().unwrap(), Next::NeedData);
/// ```
#[derive(Debug)]
pub struct Connection {
    config: Config,
    /// Received bytes live in `head.headers.buf[start..end]` (`buf.len()` is initialized
    /// capacity): the receive buffer is the request head's, so that a head is parsed in
    /// place and lent out without a copy (see [`rbuf`](Self::rbuf)).
    start: usize,
    end: usize,
    eof: bool,
    read: ReadState,
    write: WriteState,
    persist: Persist,
    /// Facts about the request being answered.
    req: Option<ReqState>,
    head: RequestHead,
    trailers: Headers,
    trailer_raw: Vec<u8>,
    scan: HeadScan,
    /// The preformatted `Date: ...\r\n` line.
    date: Option<[u8; encode::DATE_LINE]>,
    error: Option<RecvError>,
    body_received: u64,
    /// Empty lines skipped before the current request line.
    empty_lines: u8,
}

/// What [`Connection::into_parts`] hands back.
#[derive(Debug)]
#[non_exhaustive]
pub struct Parts {
    /// Bytes received past the last request head and not handed out: the first bytes of
    /// the upgraded protocol.
    pub buffered: Vec<u8>,
    /// The last request head.
    pub head: RequestHead,
}

const HEAD_GROWTH: usize = 1024;

impl Connection {
    /// A connection in its initial state: waiting for the first request head.
    pub fn new(config: impl Into<Config>) -> Self {
        Self {
            config: config.into(),
            start: 0,
            end: 0,
            eof: false,
            read: ReadState::Head,
            write: WriteState::Idle,
            persist: Persist::KeepAlive,
            req: None,
            head: RequestHead::default(),
            trailers: Headers::new(),
            trailer_raw: Vec::new(),
            scan: HeadScan::default(),
            date: None,
            error: None,
            body_received: 0,
            empty_lines: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----- inputs -----

    /// Append bytes received from the peer.
    pub fn receive(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.read_buf(bytes.len())[..bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Spare buffer space of at least `min` bytes to read into; report how many were
    /// filled with [`commit_read`](Self::commit_read). Avoids a copy compared to
    /// [`receive`](Self::receive).
    #[inline]
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        // The bytes of the head being answered stay (it is a view of this buffer).
        let head = self.live_head();
        if self.start == self.end && head.is_none() {
            self.start = 0;
            self.end = 0;
        } else if self.head.headers.buf.len() - self.end < min {
            self.compact(head);
        }
        let buf = &mut self.head.headers.buf;
        if buf.len() - self.end < min {
            let want = (self.end + min).max(buf.len() * 2).max(HEAD_GROWTH);
            buf.resize(want, 0);
        }
        &mut buf[self.end..]
    }

    /// The received bytes.
    #[inline]
    fn rbuf(&self) -> &[u8] {
        &self.head.headers.buf
    }

    /// Where the head being answered is in the receive buffer, while it is lent out.
    #[inline]
    fn live_head(&self) -> Option<std::ops::Range<usize>> {
        match self.req {
            Some(_) => self.head.headers.view().filter(|r| !r.is_empty()),
            None => None,
        }
    }

    /// Move the unread bytes (after the head being answered, if any) to the buffer's start.
    /// A partly scanned head moves too; its scan offsets are relative to `start`.
    #[cold]
    fn compact(&mut self, head: Option<std::ops::Range<usize>>) {
        let buf = &mut self.head.headers.buf;
        let mut to = 0;
        if let Some(head) = head {
            to = head.len();
            buf.copy_within(head, 0);
            self.head.headers.set_view(0..to);
        }
        if self.start > to {
            let buf = &mut self.head.headers.buf;
            buf.copy_within(self.start..self.end, to);
            self.end -= self.start - to;
            self.start = to;
        }
    }

    /// Record that `n` bytes were written into [`read_buf`](Self::read_buf).
    ///
    /// # Panics
    ///
    /// If `n` is larger than the slice `read_buf` returned.
    pub fn commit_read(&mut self, n: usize) {
        assert!(
            self.end + n <= self.rbuf().len(),
            "commit_read past read_buf"
        );
        self.end += n;
    }

    /// The peer closed its sending side: no more bytes will come.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// Set the `Date` value for response heads written from now on (format it once per
    /// second with [`DateCache`](crate::DateCache)). Without one, no `Date` is sent.
    pub fn set_date(&mut self, date: &HttpDate) {
        let mut line = [0u8; encode::DATE_LINE];
        line[..6].copy_from_slice(b"Date: ");
        line[6..35].copy_from_slice(date.as_bytes());
        line[35..].copy_from_slice(b"\r\n");
        self.date = Some(line);
    }

    /// Free the read buffer and head storage while idle (so an idle keep-alive connection
    /// holds almost no memory); they are allocated again when bytes arrive. Does nothing
    /// unless [`is_idle`](Self::is_idle).
    pub fn release_buffers(&mut self) {
        if self.is_idle() {
            self.start = 0;
            self.end = 0;
            self.head = RequestHead::default();
            self.trailers = Headers::new();
            self.trailer_raw = Vec::new();
        }
    }

    /// Take the connection apart: the bytes buffered past the last head (the first bytes
    /// of an upgraded protocol or tunnel) and that head.
    pub fn into_parts(mut self) -> Parts {
        Parts {
            buffered: self.rbuf()[self.start..self.end].to_vec(),
            head: self.take_head(),
        }
    }

    // ----- helpers -----

    fn check_poison(&self) -> Result<(), SendError> {
        if self.error.is_some() {
            Err(SendError::Poisoned)
        } else {
            Ok(())
        }
    }

    fn write_order_error(&self) -> SendError {
        match self.write {
            // Idle: no request awaits a response, either none came yet or the last
            // exchange finished (a second `send_end`, say).
            WriteState::Idle => SendError::NoRequest,
            WriteState::Ready { .. } => SendError::HeadNotSent,
            WriteState::Done => SendError::AlreadyFinished,
            WriteState::Upgraded | WriteState::Closed => SendError::Closed,
            WriteState::Body(_) => SendError::AlreadyFinished,
        }
    }

    fn body_unread(&self) -> bool {
        match &self.read {
            ReadState::Body(Decoder::Length(n)) => *n > 0,
            ReadState::Body(Decoder::Chunked(c)) => !c.is_done(),
            _ => false,
        }
    }

    fn close_read(&mut self) {
        self.read = ReadState::Closed;
        self.persist = Persist::Close;
    }

    /// Once both the request was read and its response sent: ready for the next request.
    fn finish_exchange_if_done(&mut self) {
        if !matches!(self.read, ReadState::Done) || !matches!(self.write, WriteState::Done) {
            return;
        }
        if self.persist == Persist::Close || self.error.is_some() {
            self.read = ReadState::Closed;
            return;
        }
        self.read = ReadState::Head;
        self.write = WriteState::Idle;
        self.req = None;
        self.trailers.clear();
    }
}
