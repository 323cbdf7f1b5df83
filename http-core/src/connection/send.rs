//! The send side of [`Connection`]: interim responses, the final head, body data, its
//! end, and error responses.

use super::Connection;

use crate::encode::{self, Encoder};
use crate::error::SendError;
use crate::head::{Headers, ResponseHead, Version};
use crate::state::{Persist, ReadState, WriteState};

impl Connection {
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
    /// # use h1_core::*;
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
    /// and `message`, such as `err.status()` and `err.to_string()` after a
    /// [`RecvError`](crate::RecvError), 408 after a head timeout, or 500 after a handler
    /// failure. The connection closes once it is written. Allowed whenever no final head
    /// was sent for the current request, including before any request arrived. It carries
    /// the `Date` last given to [`set_date`](Self::set_date), if any: a driver refreshes
    /// it before writing an error, as before any head.
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
}
