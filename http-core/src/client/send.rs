//! The send side of the client [`Connection`]: request head, body, end.

use super::connection::{Connection, ReadState, WriteState};
use super::error::RequestError;
use super::request::{self, Request};
use crate::head::Headers;

impl Connection {
    /// Send a request head. Then send its body with [`send_data`](Self::send_data) and end
    /// it with [`send_end`](Self::send_end) (also when it has no body).
    ///
    /// Framing follows from [`Request::content_length`]: a known length gives
    /// `Content-Length` (left out for an empty body where RFC 9110 §8.6 says so), an
    /// unknown one `Transfer-Encoding: chunked`.
    ///
    /// # Errors
    ///
    /// [`RequestError::InvalidMethod`], [`RequestError::InvalidTarget`],
    /// [`RequestError::InvalidHeader`], [`RequestError::MissingHost`],
    /// [`RequestError::InvalidHost`], [`RequestError::LengthRequired`] for an invalid
    /// request; [`RequestError::BodyInProgress`] before the previous body ended;
    /// [`RequestError::Closed`], [`RequestError::Poisoned`]. Nothing is written then.
    pub fn send_head(&mut self, req: &Request, out: &mut Vec<u8>) -> Result<(), RequestError> {
        self.check_poison()?;
        match self.write {
            WriteState::Idle => {}
            WriteState::Body { .. } => return Err(RequestError::BodyInProgress),
            WriteState::Closed => return Err(RequestError::Closed),
        }
        if matches!(self.read, ReadState::Upgraded | ReadState::Closed) {
            self.write = WriteState::Closed;
            return Err(RequestError::Closed);
        }
        let (sent, body) = request::write_head(req, out)?;
        self.queue.push_back(sent);
        self.write = WriteState::Body {
            body,
            close: sent.close,
            waiting_continue: sent.expect_continue,
        };
        Ok(())
    }

    /// Send a piece of the request body, framed as the head decided (a chunk for chunked).
    /// Empty data writes nothing.
    ///
    /// # Errors
    ///
    /// [`RequestError::HeadNotSent`]; [`RequestError::BodyTooLong`] past the declared
    /// Content-Length (nothing is written); [`RequestError::Closed`];
    /// [`RequestError::Poisoned`].
    pub fn send_data(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), RequestError> {
        if let Some(suffix) = self.send_data_framing(data.len(), out)? {
            out.extend_from_slice(data);
            out.extend_from_slice(suffix);
        }
        Ok(())
    }

    /// The zero-copy form of [`send_data`](Self::send_data): account for `len` body bytes
    /// that the caller writes itself, appending only the framing that goes before them to
    /// `out`. Returns the bytes to write right after the data, or `None` for `len == 0`.
    ///
    /// # Errors
    ///
    /// As [`send_data`](Self::send_data).
    pub fn send_data_framing(
        &mut self,
        len: usize,
        out: &mut Vec<u8>,
    ) -> Result<Option<&'static [u8]>, RequestError> {
        self.check_poison()?;
        let WriteState::Body {
            body,
            waiting_continue,
            ..
        } = &mut self.write
        else {
            return Err(self.write_order_error());
        };
        if len == 0 {
            return Ok(None);
        }
        let suffix = request::data_framing(body, len, out)?;
        *waiting_continue = false;
        Ok(Some(suffix))
    }

    /// End the request body: the last chunk with `trailers` for a chunked body (trailers
    /// are dropped for a Content-Length body, which cannot carry them).
    ///
    /// # Errors
    ///
    /// [`RequestError::BodyTooShort`] when fewer bytes than the declared Content-Length
    /// were sent: the request is broken and the connection must close.
    /// [`RequestError::InvalidHeader`] for a bad trailer (nothing is written);
    /// [`RequestError::HeadNotSent`], [`RequestError::Closed`], [`RequestError::Poisoned`].
    pub fn send_end(
        &mut self,
        trailers: Option<&Headers>,
        out: &mut Vec<u8>,
    ) -> Result<(), RequestError> {
        self.check_poison()?;
        let WriteState::Body { body, close, .. } = self.write else {
            return Err(self.write_order_error());
        };
        match request::write_end(body, trailers, out) {
            Ok(()) if close => self.write = WriteState::Closed,
            Ok(()) => self.write = WriteState::Idle,
            Err(RequestError::BodyTooShort) => {
                self.write = WriteState::Closed;
                return Err(RequestError::BodyTooShort);
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    // ----- helpers -----

    fn check_poison(&self) -> Result<(), RequestError> {
        match self.error {
            Some(_) => Err(RequestError::Poisoned),
            None => Ok(()),
        }
    }

    fn write_order_error(&self) -> RequestError {
        match self.write {
            WriteState::Idle => RequestError::HeadNotSent,
            WriteState::Closed => RequestError::Closed,
            WriteState::Body { .. } => RequestError::BodyInProgress,
        }
    }
}
