//! The receive side of [`Connection`]: `next_event` and the head and body reading
//! behind it.

use super::Connection;
use crate::decode::{Chunked, Decoder, Step};
use crate::encode::ReqFacts;
use crate::error::RecvError;
use crate::event::{Event, Next};
use crate::head::{RequestHead, Version};
use crate::parse::{self, BodyFraming, HeadScan, HeadStatus};
use crate::state::{Persist, ReadState, ReqState, WriteState};

/// How many empty lines before a request line are ignored (RFC 9112 §2.2: a server
/// SHOULD ignore at least one); one more is answered with 400
/// ([`RecvError::TooManyEmptyLines`]). They do not count towards the head limit.
pub(crate) const MAX_EMPTY_LINES: u8 = 4;

impl Connection {
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
        let poll = match self.read {
            // The states that need no work answer at once, without the body path's frame.
            ReadState::Done => return Ok(Next::Paused),
            // Nothing buffered between requests: read more, without the head path's frame.
            ReadState::Head
                if self.start == self.end
                    && !self.eof
                    && !matches!(self.write, WriteState::Done | WriteState::Closed) =>
            {
                return Ok(Next::NeedData);
            }
            ReadState::Head => self.poll_head(),
            // A request without a body (or with all of it read): its end.
            ReadState::Body(Decoder::Length(0)) => {
                self.read = ReadState::Done;
                self.finish_exchange_if_done();
                return Ok(Next::Event(Event::End));
            }
            _ => self.poll_read(),
        };
        match poll {
            Ok(Poll::Head) => Ok(Next::Event(Event::Head(&self.head))),
            Ok(Poll::Data(start, len)) => Ok(Next::Event(Event::Data(
                &self.head.headers.buf[start..start + len],
            ))),
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

    /// The body being read, one decoder step.
    #[inline(never)]
    fn poll_read(&mut self) -> Result<Poll, RecvError> {
        let ReadState::Body(decoder) = &mut self.read else {
            return self.poll_other();
        };
        // The head is handed out first; reading a body declared past the limit then
        // fails with 413 (the driver may answer before that).
        if decoder
            .remaining()
            .is_some_and(|n| n.saturating_add(self.body_received) > self.config.limits.body_bytes())
        {
            return Err(RecvError::BodyTooLarge);
        }
        let (used, step) = decoder.step(
            &self.head.headers.buf[self.start..self.end],
            &self.config,
            &mut self.trailer_raw,
            Some(&mut self.trailers),
        )?;
        let at = self.start;
        self.start += used;
        match step {
            Step::Data { start, len } => {
                self.body_received += len as u64;
                if self.body_received > self.config.limits.body_bytes() {
                    return Err(RecvError::BodyTooLarge);
                }
                Ok(Poll::Data(at + start, len))
            }
            Step::Trailers | Step::TrailersParsed => {
                if step == Step::Trailers {
                    parse::parse_trailers(&mut self.trailer_raw, &self.config, &mut self.trailers)?;
                }
                // The decoder is done: only the body's end is left, which
                // `next_event` hands out at once, as for an empty body.
                self.read = ReadState::Body(Decoder::Length(0));
                Ok(Poll::Trailers)
            }
            Step::End => {
                self.read = ReadState::Done;
                self.finish_exchange_if_done();
                Ok(Poll::End)
            }
            Step::NeedData if self.eof => Err(RecvError::UnexpectedEof),
            Step::NeedData => Ok(Poll::NeedData),
        }
    }

    /// The states other than a body being read: a body being discarded after the
    /// response, and what comes after it.
    #[inline(never)]
    fn poll_other(&mut self) -> Result<Poll, RecvError> {
        loop {
            match &mut self.read {
                ReadState::Head => return self.poll_head(),
                ReadState::Body(_) => return self.poll_read(),
                ReadState::Discard { decoder, budget } => {
                    // Discarded trailers are not parsed (only gathered, within the limit).
                    let (used, step) = decoder.step(
                        &self.head.headers.buf[self.start..self.end],
                        &self.config,
                        &mut self.trailer_raw,
                        None,
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
                        Step::Trailers | Step::TrailersParsed => {}
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
        if matches!(self.rbuf()[self.start], b'\r' | b'\n') {
            if let Some(poll) = self.skip_empty_lines()? {
                return Ok(poll);
            }
        }
        // The head is parsed in place: the buffer is lent to the parser and given back to
        // the head, whose offsets point into it.
        let mut buf = std::mem::take(&mut self.head.headers.buf);
        let status = parse::parse_head(
            &mut buf[self.start..self.end],
            &mut self.scan,
            &self.config,
            &mut self.head,
        );
        self.head.headers.buf = buf;
        let (len, info) = match status? {
            HeadStatus::Partial if self.eof => return Err(RecvError::UnexpectedEof),
            HeadStatus::Partial => return Ok(Poll::NeedData),
            HeadStatus::Complete(len, info) => (len, info),
        };
        self.head.headers.set_view(self.start..self.start + len);
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
            let skip = match &self.rbuf()[self.start..self.end] {
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

    /// The current request head as an owned copy (the head is parsed in place, in the
    /// receive buffer), to hand it to an application. [`head`](Self::head) is empty
    /// afterwards.
    pub fn take_head(&mut self) -> RequestHead {
        let mut head = RequestHead::default();
        self.swap_head(&mut head);
        head
    }

    /// Copy the current request head into `other`, reusing `other`'s allocations, so a
    /// driver that reuses one spare head allocates nothing per request.
    /// [`head`](Self::head) is empty afterwards, as after [`take_head`](Self::take_head).
    pub fn swap_head(&mut self, other: &mut RequestHead) {
        other.copy_from(&self.head);
        self.head.clear_view();
    }
}

/// What `poll_read` found, before borrowing it out as a [`Next`].
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
