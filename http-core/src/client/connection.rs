//! [`Connection`]: the client side of one HTTP/1.x connection.

use std::collections::VecDeque;

use super::error::ResponseError;
use super::event::{Event, Next};
use super::parse::{self, HeadInfo, HeadScan};
use super::request::{BodyOut, Sent};
use super::response::Response;
use crate::decode::{Chunked, Decoder, Step};
use crate::head::{Headers, Version};
use crate::limits::Config;

/// The client side of one HTTP/1.x connection, as a state machine: request parts in, bytes
/// out; bytes in, response events out.
///
/// Like the server role's [`Connection`](crate::Connection), it never does I/O, never
/// blocks and never reads a clock. Its methods fall in groups:
///
/// 1. **Send side**, each appending bytes to a caller-owned `Vec<u8>` to write out:
///    [`send_head`](Self::send_head), [`send_data`](Self::send_data)*,
///    [`send_end`](Self::send_end). The engine writes the framing headers
///    (`Content-Length` or `Transfer-Encoding: chunked`), so a caller cannot produce a
///    malformed request. Requests may be pipelined: the next head can go out as soon as
///    the previous body ended.
/// 2. **Inputs**: [`receive`](Self::receive) bytes read from the server (or read straight
///    into [`read_buf`](Self::read_buf) and [`commit_read`](Self::commit_read)), and
///    [`receive_eof`](Self::receive_eof) when the server closed its side.
/// 3. **Receive-side output**: [`next_event`](Self::next_event) until it says
///    [`Next::NeedData`] or [`Next::Closed`]: interim responses, a response head, body
///    data, trailers, end, for each request in the order they were sent.
/// 4. **Queries**: [`wants_continue`](Self::wants_continue) (hold the body back),
///    [`keep_alive`](Self::keep_alive), [`outstanding`](Self::outstanding),
///    [`is_idle`](Self::is_idle), [`is_closed`](Self::is_closed), ...
/// 5. [`into_parts`](Self::into_parts) after an upgrade: the bytes buffered past the head.
///
/// Responses are framed by RFC 9112 §6.3: a response to HEAD, a 1xx, 204 or 304 has no
/// body; a 101 (to a request offering `Upgrade`) or a 2xx to CONNECT hands the connection
/// over; otherwise `Transfer-Encoding: chunked`, then `Content-Length`, then the body runs
/// until the server closes.
///
/// ```
/// use h1_core::client::{Connection, Event, Next, Request};
///
/// let mut conn = Connection::new(h1_core::Config::default());
/// let mut out = Vec::new();
/// let mut req = Request::new("HEAD", "/");
/// req.header("Host", "example.com");
/// conn.send_head(&req, &mut out).unwrap();
/// conn.send_end(None, &mut out).unwrap();
/// assert_eq!(out, b"HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n");
///
/// // A response to HEAD has no body, whatever its Content-Length says.
/// conn.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
/// assert!(matches!(conn.next_event().unwrap(), Next::Event(Event::Head(h)) if h.status() == 200));
/// assert_eq!(conn.next_event().unwrap(), Next::Event(Event::End));
/// assert_eq!(conn.next_event().unwrap(), Next::NeedData);
/// assert!(conn.is_idle() && conn.keep_alive());
/// ```
#[derive(Debug)]
pub struct Connection {
    config: Config,
    /// Received bytes live in `buf[start..end]`; `buf.len()` is initialized capacity.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    pub(super) read: ReadState,
    pub(super) write: WriteState,
    /// Requests sent whose responses are not complete, oldest (being answered) first.
    pub(super) queue: VecDeque<Sent>,
    response: Response,
    trailers: Headers,
    trailer_raw: Vec<u8>,
    scan: HeadScan,
    pub(super) error: Option<ResponseError>,
    body_received: u64,
}

/// What the receive side is doing.
#[derive(Debug, Clone)]
pub(super) enum ReadState {
    /// Waiting for (the rest of) a response head, or idle when no request is outstanding;
    /// `after_interim`: an interim response to the current request was handed out.
    Head { after_interim: bool },
    /// Handing out a body framed by length or chunks; `close`: the connection closes
    /// after this response.
    Body { decoder: Decoder, close: bool },
    /// Handing out a body that ends when the server closes (RFC 9112 §6.3 item 8).
    UntilClose,
    /// A 101 or a 2xx to CONNECT was received: the engine steps aside.
    Upgraded,
    /// Nothing more will be read.
    Closed,
}

/// What the send side is doing.
#[derive(Debug, Clone, Copy)]
pub(super) enum WriteState {
    /// Ready for a request head.
    Idle,
    /// A head was sent; its body is being encoded. `close`: no request may follow;
    /// `waiting_continue`: `Expect: 100-continue` was sent and nothing answered it yet.
    Body {
        body: BodyOut,
        close: bool,
        waiting_continue: bool,
    },
    /// No further request can be sent.
    Closed,
}

/// What [`Connection::into_parts`] hands back.
#[derive(Debug)]
#[non_exhaustive]
pub struct Parts {
    /// Bytes received past the last response head and not handed out: after an upgrade,
    /// the first bytes of the new protocol or tunnel.
    pub buffered: Vec<u8>,
    /// The last response head.
    pub response: Response,
}

const READ_GROWTH: usize = 4096;

impl Connection {
    /// A connection in its initial state: ready for the first request. The limits of
    /// `config` and its bare-LF switch apply to responses; its default headers are for the
    /// server role and are not sent.
    pub fn new(config: impl Into<Config>) -> Self {
        Self {
            config: config.into(),
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            read: ReadState::Head {
                after_interim: false,
            },
            write: WriteState::Idle,
            queue: VecDeque::new(),
            response: Response::default(),
            trailers: Headers::new(),
            trailer_raw: Vec::new(),
            scan: HeadScan::default(),
            error: None,
            body_received: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // The send side (`send_head`, `send_data`, `send_end`) is in `send.rs`.

    // ----- inputs -----

    /// Append bytes received from the server.
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
            // A partly scanned head moves with its bytes: scan offsets are relative to
            // `start`.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < min {
            let want = (self.end + min).max(self.buf.len() * 2).max(READ_GROWTH);
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

    /// The server closed its sending side: no more bytes will come. A close-delimited body
    /// ends here; any other unfinished response is an error.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    // ----- receive-side output -----

    /// The next receive-side event.
    ///
    /// # Errors
    ///
    /// A [`ResponseError`] when the server broke the protocol; the connection is poisoned:
    /// the same error comes back from every later call. Close the connection.
    pub fn next_event(&mut self) -> Result<Next<'_>, ResponseError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.poll_read() {
            Ok(Poll::Interim) => Ok(Next::Event(Event::Interim(&self.response))),
            Ok(Poll::Head) => Ok(Next::Event(Event::Head(&self.response))),
            Ok(Poll::Data(start, len)) => {
                Ok(Next::Event(Event::Data(&self.buf[start..start + len])))
            }
            Ok(Poll::Trailers) => Ok(Next::Event(Event::Trailers(&self.trailers))),
            Ok(Poll::End) => Ok(Next::Event(Event::End)),
            Ok(Poll::NeedData) => Ok(Next::NeedData),
            Ok(Poll::Closed) => Ok(Next::Closed),
            Ok(Poll::Upgraded) => Ok(Next::Upgraded),
            Err(e) => {
                self.error = Some(e);
                Err(e)
            }
        }
    }

    fn poll_read(&mut self) -> Result<Poll, ResponseError> {
        match &self.read {
            ReadState::Head { after_interim } => self.poll_head(*after_interim),
            ReadState::Body { close, .. } => self.poll_body(*close),
            ReadState::UntilClose => self.poll_until_close(),
            ReadState::Upgraded => Ok(Poll::Upgraded),
            ReadState::Closed => Ok(Poll::Closed),
        }
    }

    /// A body framed by Content-Length or chunks.
    fn poll_body(&mut self, close: bool) -> Result<Poll, ResponseError> {
        let ReadState::Body { decoder, .. } = &mut self.read else {
            return Ok(Poll::NeedData); // only called in this state
        };
        let limit = self.config.limits.body_bytes();
        // The head was handed out first; a body declared past the limit fails before any
        // of it is, whatever the split.
        if decoder
            .remaining()
            .is_some_and(|n| n.saturating_add(self.body_received) > limit)
        {
            return Err(ResponseError::BodyTooLarge);
        }
        let (used, step) = decoder
            .step(
                &self.buf[self.start..self.end],
                &self.config,
                &mut self.trailer_raw,
                Some(&mut self.trailers),
            )
            .map_err(ResponseError::from_decoder)?;
        let at = self.start;
        self.start += used;
        match step {
            Step::Data { start, len } => {
                self.body_received += len as u64;
                Ok(Poll::Data(at + start, len))
            }
            Step::Trailers => {
                crate::parse::parse_trailers(
                    &mut self.trailer_raw,
                    &self.config,
                    &mut self.trailers,
                )
                .map_err(ResponseError::from_decoder)?;
                Ok(Poll::Trailers)
            }
            Step::TrailersParsed => Ok(Poll::Trailers),
            Step::End => Ok(self.finish_response(close)),
            Step::NeedData if self.eof => Err(ResponseError::UnexpectedEof),
            Step::NeedData => Ok(Poll::NeedData),
        }
    }

    /// A body that ends when the server closes (RFC 9112 §6.3 item 8).
    fn poll_until_close(&mut self) -> Result<Poll, ResponseError> {
        let len = self.end - self.start;
        if len == 0 {
            return Ok(if self.eof {
                self.finish_response(true)
            } else {
                Poll::NeedData
            });
        }
        // Hand out up to the limit, then fail: the same events however the body was split.
        let room = self.config.limits.body_bytes() - self.body_received;
        if room == 0 {
            return Err(ResponseError::BodyTooLarge);
        }
        let len = (len as u64).min(room) as usize;
        self.body_received += len as u64;
        let at = self.start;
        self.start += len;
        Ok(Poll::Data(at, len))
    }

    fn poll_head(&mut self, after_interim: bool) -> Result<Poll, ResponseError> {
        if self.start == self.end {
            if !self.eof {
                return Ok(Poll::NeedData);
            }
            if self.queue.is_empty() {
                self.close();
                return Ok(Poll::Closed);
            }
            // Retrying is safe only if the server sent nothing for this request.
            return Err(if after_interim {
                ResponseError::UnexpectedEof
            } else {
                ResponseError::NoResponse
            });
        }
        let Some(&sent) = self.queue.front() else {
            return Err(ResponseError::UnsolicitedResponse);
        };
        let parsed = parse::parse_head(
            &self.buf[self.start..self.end],
            &mut self.scan,
            &self.config,
            &mut self.response,
        )?;
        let Some((len, info)) = parsed else {
            return if self.eof {
                Err(ResponseError::UnexpectedEof)
            } else {
                Ok(Poll::NeedData)
            };
        };
        self.start += len;
        self.scan = HeadScan::default();
        // Any answer to the request being sent ends its wait for 100 Continue.
        if self.queue.len() == 1 {
            if let WriteState::Body {
                waiting_continue, ..
            } = &mut self.write
            {
                *waiting_continue = false;
            }
        }
        self.body_received = 0;
        match framing(sent, &self.response, info)? {
            Framing::Interim => {
                self.read = ReadState::Head {
                    after_interim: true,
                };
                return Ok(Poll::Interim);
            }
            Framing::Switch => {
                self.queue.pop_front();
                self.read = ReadState::Upgraded;
                self.write = WriteState::Closed;
            }
            Framing::Read(read) => {
                if matches!(
                    read,
                    ReadState::UntilClose | ReadState::Body { close: true, .. }
                ) {
                    self.send_nothing_after_current();
                }
                self.read = read;
            }
        }
        Ok(Poll::Head)
    }

    /// No request may follow one whose response closes the connection: the request being
    /// sent may end (if this response answers it), nothing more.
    fn send_nothing_after_current(&mut self) {
        self.write = match self.write {
            WriteState::Body {
                body,
                waiting_continue,
                ..
            } if self.queue.len() == 1 => WriteState::Body {
                body,
                close: true,
                waiting_continue,
            },
            _ => WriteState::Closed,
        };
    }

    /// The response being read ended: on to the next one, or close.
    fn finish_response(&mut self, close: bool) -> Poll {
        self.queue.pop_front();
        self.trailer_raw.clear();
        if close {
            self.close();
        } else {
            self.read = ReadState::Head {
                after_interim: false,
            };
        }
        Poll::End
    }

    // ----- queries -----

    /// The last response head received (interim or final); status 0 before the first.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// Whether the request being sent carried `Expect: 100-continue` and nothing answered
    /// it yet, and no body byte was sent: a driver holds the body back while this holds,
    /// for a while of its choosing (RFC 9110 §10.1.1 lets it send the body anyway).
    ///
    /// If a final response arrives instead (say 417 or 401), the body is not wanted: send
    /// it anyway (a chunked body can be ended at once with [`send_end`](Self::send_end)),
    /// or close the connection.
    pub fn wants_continue(&self) -> bool {
        matches!(
            self.write,
            WriteState::Body {
                waiting_continue: true,
                ..
            }
        )
    }

    /// Whether another request may be sent after the outstanding ones: no side said
    /// `Connection: close`, no close-delimited body, no upgrade, no error.
    pub fn keep_alive(&self) -> bool {
        self.error.is_none()
            && !matches!(
                self.write,
                WriteState::Closed | WriteState::Body { close: true, .. }
            )
            && !matches!(self.read, ReadState::Closed | ReadState::Upgraded)
    }

    /// Whether a request head can be sent now ([`send_head`](Self::send_head) would not
    /// fail for order).
    pub fn is_ready(&self) -> bool {
        self.error.is_none()
            && matches!(self.write, WriteState::Idle)
            && !matches!(self.read, ReadState::Closed | ReadState::Upgraded)
    }

    /// Requests sent whose responses are not complete yet (pipelined ones included).
    pub fn outstanding(&self) -> usize {
        self.queue.len()
    }

    /// No request outstanding or being sent, nothing buffered: the idle keep-alive timer
    /// applies.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
            && matches!(self.write, WriteState::Idle)
            && matches!(self.read, ReadState::Head { .. })
            && self.start == self.end
            && self.error.is_none()
    }

    /// Whether the driver should close the connection: the last response closed it, the
    /// server closed, or an error poisoned it.
    pub fn is_closed(&self) -> bool {
        matches!(self.read, ReadState::Closed) || self.error.is_some()
    }

    /// Whether a 101 or a 2xx to CONNECT was received: take [`into_parts`](Self::into_parts).
    pub fn is_upgraded(&self) -> bool {
        matches!(self.read, ReadState::Upgraded)
    }

    /// Bytes received and not handed out yet.
    pub fn buffered_len(&self) -> usize {
        self.end - self.start
    }

    /// Body bytes of the current response handed out so far.
    pub fn body_received(&self) -> u64 {
        self.body_received
    }

    /// The error the server caused, if the connection is poisoned.
    pub fn error(&self) -> Option<ResponseError> {
        self.error
    }

    /// Take the connection apart: the bytes buffered past the last response head (the
    /// first bytes of an upgraded protocol or tunnel) and that head.
    pub fn into_parts(self) -> Parts {
        Parts {
            buffered: self.buf[self.start..self.end].to_vec(),
            response: self.response,
        }
    }

    // ----- helpers -----

    fn close(&mut self) {
        self.read = ReadState::Closed;
        if !matches!(self.write, WriteState::Body { .. }) {
            self.write = WriteState::Closed;
        }
    }
}

/// What a response head means for the connection.
enum Framing {
    /// An interim (1xx) response: the final one follows.
    Interim,
    /// A 101 or a 2xx to CONNECT: the engine steps aside.
    Switch,
    /// A final response whose body is read in this state.
    Read(ReadState),
}

/// How the response to `sent` is framed (RFC 9112 §6.3) and whether the connection
/// persists after it (RFC 9112 §9.3). The one place these rules live.
fn framing(sent: Sent, response: &Response, info: HeadInfo) -> Result<Framing, ResponseError> {
    let status = response.status;
    // Item 2: a 2xx to CONNECT starts a tunnel; RFC 9110 §15.2.2: a 101 switches
    // protocols, but only to one the request offered.
    match status {
        101 if sent.upgrade => return Ok(Framing::Switch),
        101 => return Err(ResponseError::UnrequestedUpgrade),
        200..=299 if sent.is_connect => return Ok(Framing::Switch),
        // RFC 9110 §15.2: any number of 1xx may precede the final response.
        100..=199 => return Ok(Framing::Interim),
        _ => {}
    }
    // HTTP/1.0 persists only with keep-alive.
    let close =
        sent.close || info.close || (response.version == Version::Http10 && !info.keep_alive);
    let body = |decoder| ReadState::Body { decoder, close };
    // Items 1, 4, 6, 8, in that order.
    Ok(Framing::Read(
        if sent.is_head || status == 204 || status == 304 {
            body(Decoder::Length(0))
        } else if info.chunked {
            body(Decoder::Chunked(Chunked::new()))
        } else if let Some(n) = info.length {
            body(Decoder::Length(n))
        } else {
            ReadState::UntilClose
        },
    ))
}

enum Poll {
    Interim,
    Head,
    Data(usize, usize),
    Trailers,
    End,
    NeedData,
    Closed,
    Upgraded,
}
