//! [`Connection`]: the one type a driver talks to.

use crate::date::HttpDate;
use crate::decode::{Chunked, Decoder, Step};
use crate::encode::{self, Encoder, ReqFacts};
use crate::error::{RecvError, SendError};
use crate::event::{Event, Next};
use crate::head::{Headers, RequestHead, ResponseHead, Version};
use crate::limits::Config;
use crate::parse::{self, BodyFraming, HeadScan, HeadStatus};

/// The server side of one HTTP/1.x connection, as a state machine.
///
/// It never does I/O, never blocks and never reads a clock. Its methods fall in groups,
/// called in this order:
///
/// 1. **Inputs**: [`receive`](Self::receive) bytes read from the peer (or read straight
///    into [`read_buf`](Self::read_buf) and [`commit_read`](Self::commit_read)), and
///    [`receive_eof`](Self::receive_eof) when the peer closed its side.
/// 2. **Receive-side output**: [`next_event`](Self::next_event) until it says
///    [`Next::NeedData`] (read more), [`Next::Paused`] (answer first) or
///    [`Next::Closed`]: a request head, body data, trailers, end.
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
/// use http_core::{Connection, Event, Next, ResponseHead};
///
/// let mut conn = Connection::new(Default::default());
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
    /// Received bytes live in `buf[start..end]`; `buf.len()` is initialized capacity.
    buf: Vec<u8>,
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

/// What the receive side is doing.
#[derive(Debug, Clone)]
enum ReadState {
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
enum WriteState {
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
enum Persist {
    /// HTTP/1.1 default.
    KeepAlive,
    /// HTTP/1.0 with `Connection: keep-alive`, echoed in the response.
    KeepAlive10,
    /// Close after the current response.
    Close,
}

#[derive(Debug, Clone, Copy)]
struct ReqState {
    facts: ReqFacts,
    expect_continue: bool,
    declared: Option<u64>,
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

const HEAD_GROWTH: usize = 4096;

/// How many empty lines before a request line are ignored (RFC 9112 §2.2: a server
/// SHOULD ignore at least one); one more is answered with 400
/// ([`RecvError::TooManyEmptyLines`]). They do not count towards the head limit.
pub(crate) const MAX_EMPTY_LINES: u8 = 4;

impl Connection {
    /// A connection in its initial state: waiting for the first request head.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            buf: Vec::new(),
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
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < min && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            // A partly scanned head moved; its scan offsets are relative to `start`.
        }
        if self.buf.len() - self.end < min {
            let want = (self.end + min).max(self.buf.len() * 2).max(HEAD_GROWTH);
            self.buf.resize(want, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Record that `n` bytes were written into [`read_buf`](Self::read_buf).
    ///
    /// # Panics
    ///
    /// If `n` is larger than the slice `read_buf` returned.
    pub fn commit_read(&mut self, n: usize) {
        assert!(self.end + n <= self.buf.len(), "commit_read past read_buf");
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

    // ----- receive-side output -----

    /// The next receive-side event.
    ///
    /// # Errors
    ///
    /// A [`RecvError`] when the peer broke the protocol; the connection is poisoned: the
    /// same error comes back from every later call. Answer with
    /// [`send_error`](Self::send_error) and close.
    pub fn next_event(&mut self) -> Result<Next<'_>, RecvError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.poll_read() {
            Ok(Poll::Head) => Ok(Next::Event(Event::Head(&self.head))),
            Ok(Poll::Data(start, len)) => {
                Ok(Next::Event(Event::Data(&self.buf[start..start + len])))
            }
            Ok(Poll::Trailers) => Ok(Next::Event(Event::Trailers(&self.trailers))),
            Ok(Poll::End) => Ok(Next::Event(Event::End)),
            Ok(Poll::NeedData) => Ok(Next::NeedData),
            Ok(Poll::Paused) => Ok(Next::Paused),
            Ok(Poll::Closed) => Ok(Next::Closed),
            Ok(Poll::Upgraded) => Ok(Next::Upgraded),
            Err(e) => {
                self.error = Some(e);
                self.persist = Persist::Close;
                Err(e)
            }
        }
    }

    fn poll_read(&mut self) -> Result<Poll, RecvError> {
        loop {
            match &mut self.read {
                ReadState::Head => return self.poll_head(),
                ReadState::Body(decoder) => {
                    // The head is handed out first; reading a body declared past the
                    // limit then fails with 413 (the driver may answer before that).
                    if decoder.remaining().is_some_and(|n| {
                        n.saturating_add(self.body_received) > self.config.limits.body_bytes()
                    }) {
                        return Err(RecvError::BodyTooLarge);
                    }
                    let (used, step) = decoder.step(
                        &self.buf[self.start..self.end],
                        &self.config,
                        &mut self.trailer_raw,
                    )?;
                    let at = self.start;
                    self.start += used;
                    return match step {
                        Step::Data { start, len } => {
                            self.body_received += len as u64;
                            if self.body_received > self.config.limits.body_bytes() {
                                return Err(RecvError::BodyTooLarge);
                            }
                            Ok(Poll::Data(at + start, len))
                        }
                        Step::Trailers => {
                            parse::parse_trailers(
                                &self.trailer_raw,
                                &self.config,
                                &mut self.trailers,
                            )?;
                            Ok(Poll::Trailers)
                        }
                        Step::End => {
                            self.read = ReadState::Done;
                            self.finish_exchange_if_done();
                            Ok(Poll::End)
                        }
                        Step::NeedData if self.eof => Err(RecvError::UnexpectedEof),
                        Step::NeedData => Ok(Poll::NeedData),
                    };
                }
                ReadState::Discard { decoder, budget } => {
                    let (used, step) = decoder.step(
                        &self.buf[self.start..self.end],
                        &self.config,
                        &mut self.trailer_raw,
                    )?;
                    self.start += used;
                    match step {
                        Step::Data { len, .. } => {
                            if len as u64 > *budget {
                                self.close_read();
                                return Ok(Poll::Closed);
                            }
                            *budget -= len as u64;
                        }
                        Step::Trailers => {}
                        Step::End => {
                            self.read = ReadState::Done;
                            self.finish_exchange_if_done();
                        }
                        Step::NeedData if self.eof => {
                            self.close_read();
                            return Ok(Poll::Closed);
                        }
                        Step::NeedData => return Ok(Poll::NeedData),
                    }
                }
                ReadState::Done => return Ok(Poll::Paused),
                ReadState::Upgraded => return Ok(Poll::Upgraded),
                ReadState::Closed => return Ok(Poll::Closed),
            }
        }
    }

    fn poll_head(&mut self) -> Result<Poll, RecvError> {
        if let WriteState::Done | WriteState::Closed = self.write {
            // Only reachable when the connection is closing.
            self.close_read();
            return Ok(Poll::Closed);
        }
        if self.start == self.end {
            if self.eof {
                self.close_read();
                return Ok(Poll::Closed);
            }
            return Ok(Poll::NeedData);
        }
        if matches!(self.buf[self.start], b'\r' | b'\n') {
            if let Some(poll) = self.skip_empty_lines()? {
                return Ok(poll);
            }
        }
        let status = parse::parse_head(
            &mut self.buf[self.start..self.end],
            &mut self.scan,
            &self.config,
            &mut self.head,
        )?;
        let (len, info) = match status {
            HeadStatus::Partial if self.eof => return Err(RecvError::UnexpectedEof),
            HeadStatus::Partial => return Ok(Poll::NeedData),
            HeadStatus::Complete(len, info) => (len, info),
        };
        self.start += len;
        self.scan = HeadScan::default();
        self.empty_lines = 0;
        let version = self.head.version();
        self.persist = match version {
            _ if info.close => Persist::Close,
            Version::Http11 => Persist::KeepAlive,
            Version::Http10 if info.keep_alive => Persist::KeepAlive10,
            Version::Http10 => Persist::Close,
        };
        let declared = match info.framing {
            BodyFraming::Length(n) => Some(n),
            BodyFraming::Chunked => None,
        };
        self.req = Some(ReqState {
            facts: ReqFacts {
                version,
                is_head: info.is_head,
                is_connect: info.is_connect,
            },
            expect_continue: info.expect_continue,
            declared,
        });
        self.body_received = 0;
        self.read = ReadState::Body(match info.framing {
            BodyFraming::Length(n) => Decoder::Length(n),
            BodyFraming::Chunked => Decoder::Chunked(Chunked::new()),
        });
        self.write = WriteState::Ready {
            continue_sent: false,
        };
        Ok(Poll::Head)
    }

    /// Skip the empty lines before a request line (RFC 9112 §2.2), up to
    /// [`MAX_EMPTY_LINES`]. `Some` when there is nothing else to read yet.
    #[cold]
    fn skip_empty_lines(&mut self) -> Result<Option<Poll>, RecvError> {
        debug_assert!(self.scan.is_fresh());
        loop {
            let skip = match &self.buf[self.start..self.end] {
                [b'\r', b'\n', ..] => 2,
                [b'\n', ..] if self.config.allow_bare_lf => 1,
                [b'\n', ..] => return Err(RecvError::BareLf),
                [b'\r'] if self.eof => return Err(RecvError::UnexpectedEof),
                [b'\r'] => return Ok(Some(Poll::NeedData)),
                [b'\r', ..] => return Err(RecvError::BadSyntax),
                [] if self.eof => {
                    self.close_read();
                    return Ok(Some(Poll::Closed));
                }
                [] => return Ok(Some(Poll::NeedData)),
                _ => return Ok(None),
            };
            if self.empty_lines >= MAX_EMPTY_LINES {
                return Err(RecvError::TooManyEmptyLines);
            }
            self.empty_lines += 1;
            self.start += skip;
        }
    }

    /// The head of the request being answered (the last one handed out); empty after
    /// [`take_head`](Self::take_head).
    pub fn head(&self) -> Option<&RequestHead> {
        self.req.map(|_| &self.head)
    }

    /// Move the current request head out, instead of cloning it, to hand it to an
    /// application. [`head`](Self::head) is empty afterwards.
    pub fn take_head(&mut self) -> RequestHead {
        std::mem::take(&mut self.head)
    }

    /// Exchange the current request head with `other`: the caller gets the head without
    /// a copy and the engine keeps `other`'s allocations to parse the next head into, so
    /// a driver that reuses one spare head allocates nothing per request.
    pub fn swap_head(&mut self, other: &mut RequestHead) {
        std::mem::swap(&mut self.head, other);
    }

    // ----- send side -----

    /// Send `100 Continue` (RFC 9110 §15.2.1), once, before the final head. A no-op for an
    /// HTTP/1.0 request, which must not receive 1xx responses.
    ///
    /// # Errors
    ///
    /// [`SendError::NoRequest`] if no request awaits its response head.
    pub fn send_continue(&mut self, out: &mut Vec<u8>) -> Result<(), SendError> {
        self.check_poison()?;
        let WriteState::Ready { continue_sent } = &mut self.write else {
            return Err(SendError::NoRequest);
        };
        if *continue_sent || self.req.is_some_and(|r| r.facts.version == Version::Http10) {
            return Ok(());
        }
        *continue_sent = true;
        out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        Ok(())
    }

    /// Send an interim response (1xx other than 101, such as `103 Early Hints` with
    /// `Link` headers). Any number may precede the final head. A no-op for HTTP/1.0
    /// requests (RFC 9110 §15.2).
    ///
    /// # Errors
    ///
    /// [`SendError::WrongStatusClass`] for a status outside 100..=199 or 101;
    /// [`SendError::InvalidHeader`]; [`SendError::NoRequest`].
    pub fn send_interim(
        &mut self,
        head: &ResponseHead,
        out: &mut Vec<u8>,
    ) -> Result<(), SendError> {
        self.check_poison()?;
        let WriteState::Ready { continue_sent } = &mut self.write else {
            return Err(SendError::NoRequest);
        };
        if !(100..200).contains(&head.status()) || head.status() == 101 {
            return Err(SendError::WrongStatusClass);
        }
        if self.req.is_some_and(|r| r.facts.version == Version::Http10) {
            return Ok(());
        }
        if head.status() == 100 {
            *continue_sent = true;
        }
        if encode::write_interim(head, out) {
            Ok(())
        } else {
            Err(SendError::InvalidHeader)
        }
    }

    /// Send the final response head (or `101 Switching Protocols`).
    ///
    /// Framing follows from [`ResponseHead::content_length`] and the request: a known
    /// length gives `Content-Length`; an unknown one `Transfer-Encoding: chunked` on
    /// HTTP/1.1 and a close-delimited body on HTTP/1.0. HEAD, 1xx, 204 and 304 responses
    /// carry no body (HEAD keeps the headers GET would get). `Connection: close` is added
    /// when the connection will close; `Connection: keep-alive` for a persistent HTTP/1.0
    /// connection. `Date` and the default headers are added unless the head has them.
    ///
    /// # Errors
    ///
    /// [`SendError::NoRequest`], [`SendError::WrongStatusClass`] (1xx other than 101),
    /// [`SendError::InvalidStatus`], [`SendError::InvalidHeader`]. Nothing is written then.
    pub fn send_head(&mut self, head: &ResponseHead, out: &mut Vec<u8>) -> Result<(), SendError> {
        self.check_poison()?;
        let WriteState::Ready { continue_sent } = self.write else {
            return Err(SendError::NoRequest);
        };
        let status = head.status();
        if !(100..=999).contains(&status) {
            return Err(SendError::InvalidStatus);
        }
        if status < 200 && status != 101 {
            return Err(SendError::WrongStatusClass);
        }
        let req = self.req.ok_or(SendError::NoRequest)?;
        // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client, and §7.8: Upgrade is HTTP/1.1's.
        if status == 101 && req.facts.version == Version::Http10 {
            return Err(SendError::WrongStatusClass);
        }
        // RFC 9110 §10.1.1: a client waiting for 100 may never send the body; if the final
        // answer comes first, the unread body cannot be told apart from the next request.
        if req.expect_continue && !continue_sent && self.body_unread() {
            self.persist = Persist::Close;
        }
        let close = self.persist == Persist::Close;
        let keep10 = self.persist == Persist::KeepAlive10;
        let date = self.date.as_ref();
        let outcome = encode::write_head(head, req.facts, close, keep10, &self.config, date, out)
            .ok_or(SendError::InvalidHeader)?;
        if outcome.close {
            self.persist = Persist::Close;
        }
        if outcome.upgrade {
            self.write = WriteState::Upgraded;
            self.read = ReadState::Upgraded;
        } else {
            self.write = WriteState::Body(outcome.encoder);
        }
        Ok(())
    }

    /// Send a piece of the response body, framed as the head decided (a chunk for
    /// chunked; nothing for HEAD, 204 or 304, whose body is dropped). Empty data writes
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`SendError::HeadNotSent`]; [`SendError::BodyTooLong`] past the declared
    /// Content-Length (nothing is written); [`SendError::AlreadyFinished`];
    /// [`SendError::NoRequest`] when no request awaits a response (the exchange is over).
    pub fn send_data(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), SendError> {
        if let Some(suffix) = self.send_data_framing(data.len(), out)? {
            out.extend_from_slice(data);
            out.extend_from_slice(suffix);
        }
        Ok(())
    }

    /// The zero-copy form of [`send_data`](Self::send_data): account for `len` body bytes
    /// that the caller writes itself, appending only the framing that goes before them to
    /// `out`. Returns the bytes to write right after the data, or `None` when the data
    /// must not be written at all (HEAD, 204, 304, or `len == 0`).
    ///
    /// ```
    /// # use http_core::*;
    /// let mut conn = Connection::new(Config::default());
    /// conn.receive(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    /// while !matches!(conn.next_event().unwrap(), Next::Paused) {}
    /// let (mut out, mut head) = (Vec::new(), ResponseHead::new(200));
    /// head.content_length(None);
    /// conn.send_head(&head, &mut out).unwrap();
    /// out.clear();
    /// let suffix = conn.send_data_framing(5, &mut out).unwrap();
    /// assert_eq!((&out[..], suffix), (&b"5\r\n"[..], Some(&b"\r\n"[..])));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`send_data`](Self::send_data).
    pub fn send_data_framing(
        &mut self,
        len: usize,
        out: &mut Vec<u8>,
    ) -> Result<Option<&'static [u8]>, SendError> {
        self.check_poison()?;
        let WriteState::Body(encoder) = &mut self.write else {
            return Err(self.write_order_error());
        };
        if len == 0 {
            return Ok(None);
        }
        Ok(match encoder {
            Encoder::Length(left) => {
                if len as u64 > *left {
                    return Err(SendError::BodyTooLong);
                }
                *left -= len as u64;
                Some(b"")
            }
            Encoder::Chunked => {
                encode::push_chunk_size(out, len);
                Some(b"\r\n")
            }
            Encoder::CloseDelimited => Some(b""),
            Encoder::Empty => None,
        })
    }

    /// End the response body: the last chunk with `trailers` for chunked responses
    /// (trailers are dropped for other framings, which cannot carry them).
    ///
    /// Then, if the request body was not read whole, the engine discards what is left, up
    /// to [`Limits::max_discard_bytes`](crate::Limits::max_discard_bytes), to keep the
    /// connection; past that it closes.
    ///
    /// # Errors
    ///
    /// [`SendError::BodyTooShort`] when fewer bytes than the declared Content-Length were
    /// sent: the response is broken and the connection closes. [`SendError::HeadNotSent`],
    /// [`SendError::AlreadyFinished`], [`SendError::InvalidHeader`] (a bad trailer),
    /// [`SendError::NoRequest`] when no request awaits a response (the exchange is over).
    pub fn send_end(
        &mut self,
        trailers: Option<&Headers>,
        out: &mut Vec<u8>,
    ) -> Result<(), SendError> {
        self.check_poison()?;
        let WriteState::Body(encoder) = self.write else {
            return Err(self.write_order_error());
        };
        match encoder {
            Encoder::Length(0) | Encoder::Empty => {}
            Encoder::Length(_) => {
                self.persist = Persist::Close;
                self.write = WriteState::Closed;
                self.close_read();
                return Err(SendError::BodyTooShort);
            }
            Encoder::Chunked => {
                if !encode::push_last_chunk(out, trailers) {
                    return Err(SendError::InvalidHeader);
                }
            }
            Encoder::CloseDelimited => self.persist = Persist::Close,
        }
        self.write = WriteState::Done;
        match std::mem::replace(&mut self.read, ReadState::Done) {
            ReadState::Body(decoder) if self.persist != Persist::Close => {
                let budget = self.config.limits.discard_bytes();
                if decoder.remaining().is_some_and(|r| r > budget) {
                    self.close_read();
                } else {
                    self.read = ReadState::Discard { decoder, budget };
                }
            }
            ReadState::Body(_) => self.close_read(),
            other => {
                self.read = other;
                self.finish_exchange_if_done();
            }
        }
        Ok(())
    }

    /// Write a complete error response (`text/plain`, `Connection: close`) with `status`
    /// and `message`, such as `err.status()` and `err.to_string()` after a [`RecvError`],
    /// 408 after a head timeout, or 500 after a handler failure. The connection closes
    /// once it is written. Allowed whenever no final head was sent for the current
    /// request, including before any request arrived.
    ///
    /// # Errors
    ///
    /// [`SendError::AlreadyFinished`] when a final head was already sent (the driver
    /// should just close).
    pub fn send_error(
        &mut self,
        status: u16,
        message: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), SendError> {
        match self.write {
            WriteState::Idle | WriteState::Ready { .. } => {}
            _ => {
                self.write = WriteState::Closed;
                self.close_read();
                return Err(SendError::AlreadyFinished);
            }
        }
        let with_body = !self.req.is_some_and(|r| r.facts.is_head) || self.error.is_some();
        encode::write_error(
            status,
            message,
            with_body,
            &self.config,
            self.date.as_ref(),
            out,
        );
        self.write = WriteState::Closed;
        self.persist = Persist::Close;
        self.close_read();
        Ok(())
    }

    /// Decide to close after the current response (for example on shutdown): the next
    /// head written says `Connection: close`, and no further request is handed out.
    pub fn close_after_response(&mut self) {
        self.persist = Persist::Close;
        if let ReadState::Head = self.read {
            if matches!(self.write, WriteState::Idle) {
                self.close_read();
            }
        }
    }

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

    /// Free the read buffer and head storage while idle (so an idle keep-alive connection
    /// holds almost no memory); they are allocated again when bytes arrive. Does nothing
    /// unless [`is_idle`](Self::is_idle).
    pub fn release_buffers(&mut self) {
        if self.is_idle() {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
            self.head = RequestHead::default();
            self.trailers = Headers::new();
            self.trailer_raw = Vec::new();
        }
    }

    /// Take the connection apart: the bytes buffered past the last head (the first bytes
    /// of an upgraded protocol or tunnel) and that head.
    pub fn into_parts(self) -> Parts {
        Parts {
            buffered: self.buf[self.start..self.end].to_vec(),
            head: self.head,
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

enum Poll {
    Head,
    Data(usize, usize),
    Trailers,
    End,
    NeedData,
    Paused,
    Closed,
    Upgraded,
}
