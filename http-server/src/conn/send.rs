//! Sending a response: the one set of rules every response goes through (the head,
//! `Date`, `Connection: close` on shutdown, no body for HEAD/1xx/204/304), done
//! synchronously as far as it goes ([`Driver::send_now`]: the usual in-memory response
//! never builds a future), and the rest ([`Driver::send_rest`]) when the output must be
//! written first or the body is a stream.

use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::future::poll_fn;
use futures_lite::{AsyncRead, AsyncWrite};
use h1_core::{Headers, ResponseHead, SendError};

use super::{Driver, FULL_PIECE, Step, ZERO_COPY_MIN};
use crate::close::CloseReason;
use crate::response::{Body, Frame, ResponseBody};

/// Where a response stands after [`Driver::send_now`].
pub(super) enum Sent {
    /// All of it is in the output.
    Done,
    /// Part of an in-memory body is in the output, past the high-water mark: write it,
    /// then go on.
    Flush,
    /// The head is in the output; the body is a stream to drive.
    Stream,
    /// The head is in the output; the body is a file to send.
    File,
    /// The head (and its framing) is in the output and a large in-memory body is its
    /// tail, not copied: write them (one vectored write), then these bytes, then the end.
    Tail(&'static [u8]),
    /// The engine refused a part: answer the error.
    Failed(SendError),
    /// End the connection instead (the handler asked, or an immediate shutdown).
    Close(CloseReason),
}

/// How far [`Driver::copy_full`] got.
enum Copied {
    All,
    HighWater,
}

impl<IO> Driver<'_, IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Put a response into the output as far as it goes without waiting: the head, and
    /// an empty or in-memory body up to the high-water mark, then its end. Counts body
    /// bytes in `body_sent`.
    pub(super) fn send_now(
        &mut self,
        head: &ResponseHead,
        body: &ResponseBody,
        is_head: bool,
    ) -> Sent {
        if let ResponseBody::Close = body {
            return Sent::Close(CloseReason::HandlerClose);
        }
        // A shutdown signal may have come while the handler finished without another poll.
        if let ControlFlow::Break(reason) = self.check_control() {
            return Sent::Close(reason);
        }
        let streamed = matches!(body, ResponseBody::Stream(_));
        let no_body = match self.start_response(head, is_head, streamed) {
            Ok(no_body) => no_body,
            Err(e) => return Sent::Failed(e),
        };
        if self.engine.is_upgraded() {
            // A 101 (or 2xx to CONNECT) has no body; the connection is handed over.
            return Sent::Done;
        }
        match body {
            _ if no_body => {}
            ResponseBody::Empty | ResponseBody::Close => {}
            ResponseBody::Full(bytes) if bytes.len() >= ZERO_COPY_MIN => {
                return match self
                    .engine
                    .send_data_framing(bytes.len(), &mut self.out.buf)
                {
                    Ok(Some(suffix)) => {
                        self.out.tail = bytes.clone();
                        self.body_sent = bytes.len() as u64;
                        Sent::Tail(suffix)
                    }
                    Ok(None) => Sent::Tail(b""),
                    Err(e) => Sent::Failed(e),
                };
            }
            ResponseBody::Full(bytes) => match self.copy_full(bytes) {
                Ok(Copied::All) => {}
                Ok(Copied::HighWater) => return Sent::Flush,
                Err(e) => return Sent::Failed(e),
            },
            ResponseBody::Stream(_) => return Sent::Stream,
            ResponseBody::File(_) => return Sent::File,
        }
        match self.engine.send_end(None, &mut self.out.buf) {
            Ok(()) => Sent::Done,
            Err(e) => Sent::Failed(e),
        }
    }

    /// What every response starts with: `Connection: close` once a graceful shutdown
    /// began, the Date, a `100 Continue` before a streamed body, and the head. Returns
    /// whether the body is dropped (HEAD, 1xx, 204 and 304 carry none: do not produce it).
    fn start_response(
        &mut self,
        head: &ResponseHead,
        is_head: bool,
        streamed: bool,
    ) -> Result<bool, SendError> {
        if self.is_graceful() || (!streamed && self.unread_body_past_budget()) {
            self.engine.close_after_response();
        }
        let status = head.status();
        let no_body = is_head || status < 200 || status == 204 || status == 304;
        self.set_date();
        self.send_interim();
        if streamed && !no_body && self.engine.wants_continue() {
            // The stream may read the request body (an echo): let the client send it.
            let _ = self.engine.send_continue(&mut self.out.buf);
        }
        self.engine.send_head(head, &mut self.out.buf)?;
        Ok(no_body)
    }

    /// Put the interim responses the handler queued (`103 Early Hints`) into the output.
    #[inline]
    pub(super) fn send_interim(&mut self) {
        let Some(heads) = self.shared.take_interim() else {
            return;
        };
        for head in heads {
            if let Err(e) = self.engine.send_interim(&head, &mut self.out.buf) {
                log::warn!("connection {}: interim response: {e}", self.info.id);
            }
        }
    }

    /// Whether the request body left unread is larger than the engine will discard to keep
    /// the connection: then the connection closes after this response, and its head says
    /// so. (Only known for a `Content-Length` body; a streamed response may still read it.)
    fn unread_body_past_budget(&self) -> bool {
        if !self.engine.is_reading_body() {
            return false;
        }
        let budget = self.engine.config().limits().discard_bytes();
        self.engine
            .body_length()
            .is_some_and(|len| len.saturating_sub(self.engine.body_received()) > budget)
    }

    /// Copy `bytes[body_sent..]` into the output piece by piece, stopping past the
    /// high-water mark.
    fn copy_full(&mut self, bytes: &[u8]) -> Result<Copied, SendError> {
        let rest = bytes.get(self.body_sent as usize..).unwrap_or_default();
        for piece in rest.chunks(FULL_PIECE) {
            self.engine.send_data(piece, &mut self.out.buf)?;
            self.body_sent += piece.len() as u64;
            if self.out.pending() >= self.config.write_high_water {
                return Ok(Copied::HighWater);
            }
        }
        Ok(Copied::All)
    }

    /// Finish a response [`send_now`](Self::send_now) could not: write the output and go
    /// on with an in-memory body, drive a stream, answer a refused response, or close.
    pub(super) async fn send_rest(&mut self, sent: Sent, body: ResponseBody) -> Step {
        let trailers = match (sent, body) {
            (Sent::Done, _) => return ControlFlow::Continue(()),
            (Sent::Failed(e), _) => return ControlFlow::Break(self.answer_send_error(e).await),
            (Sent::Close(reason), _) => {
                if reason == CloseReason::HandlerClose {
                    // Earlier pipelined responses still go out.
                    let _ = self.flush().await;
                }
                return ControlFlow::Break(reason);
            }
            (Sent::Flush, ResponseBody::Full(bytes)) => {
                loop {
                    self.flush_serving_body().await?;
                    match self.copy_full(&bytes) {
                        Ok(Copied::All) => break,
                        Ok(Copied::HighWater) => {}
                        Err(e) => return ControlFlow::Break(self.answer_send_error(e).await),
                    }
                }
                None
            }
            (Sent::Tail(suffix), _) => {
                self.flush_serving_body().await?;
                self.out.buf.extend_from_slice(suffix);
                None
            }
            (Sent::File, ResponseBody::File(file)) => {
                // Boxed: the usual response's future stays as small as it was.
                Box::pin(self.send_file(file)).await?;
                None
            }
            (Sent::Stream, ResponseBody::Stream(mut stream)) => {
                let _open = self.obs.stream();
                let mut stream_state = StreamState::default();
                poll_fn(|cx| self.poll_stream(cx, stream.as_mut(), &mut stream_state)).await?;
                stream_state.trailers
            }
            (Sent::Flush | Sent::Stream | Sent::File, _) => None,
        };
        if let Err(e) = self.engine.send_end(trailers.as_ref(), &mut self.out.buf) {
            return ControlFlow::Break(self.answer_send_error(e).await);
        }
        ControlFlow::Continue(())
    }

    /// Drive a streamed body: frames into the output, flushing on `Flush`, past the
    /// high-water mark and whenever the body waits; serve request-body reads meanwhile.
    pub(super) fn poll_stream(
        &mut self,
        cx: &mut Context<'_>,
        mut body: Pin<&mut (dyn Body + Send)>,
        state: &mut StreamState,
    ) -> Poll<Step> {
        self.shared.register(cx.waker());
        if let ControlFlow::Break(reason) = self.check_control() {
            return Poll::Ready(ControlFlow::Break(reason));
        }
        loop {
            if state.flush_now || self.out.pending() >= self.config.write_high_water {
                match self.poll_flush(cx) {
                    Poll::Ready(ControlFlow::Continue(())) => state.flush_now = false,
                    Poll::Ready(brk) => return Poll::Ready(brk),
                    Poll::Pending => {
                        if let Poll::Ready(ControlFlow::Break(reason)) = self.poll_pump(cx) {
                            return Poll::Ready(ControlFlow::Break(reason));
                        }
                        return Poll::Pending;
                    }
                }
            }
            let frame = std::panic::catch_unwind(AssertUnwindSafe(|| body.as_mut().poll_frame(cx)));
            let frame = match frame {
                Err(_) => {
                    log::error!("connection {}: response body panicked", self.info.id);
                    return Poll::Ready(ControlFlow::Break(CloseReason::Panic));
                }
                Ok(Poll::Pending) => match self.poll_stream_waits(cx) {
                    Poll::Ready(ControlFlow::Continue(())) => continue,
                    other => return other,
                },
                Ok(Poll::Ready(frame)) => frame,
            };
            match frame {
                Some(Ok(Frame::Data(data))) => {
                    if let Err(e) = self.engine.send_data(&data, &mut self.out.buf) {
                        log::error!("connection {}: response body: {e}", self.info.id);
                        return Poll::Ready(ControlFlow::Break(CloseReason::ResponseError));
                    }
                    self.body_sent += data.len() as u64;
                }
                Some(Ok(Frame::Flush)) => state.flush_now = true,
                Some(Ok(Frame::Trailers(t))) => state.trailers = Some(t),
                None => return Poll::Ready(ControlFlow::Continue(())),
                Some(Err(e)) => {
                    log::warn!("connection {}: response body failed: {e}", self.info.id);
                    return Poll::Ready(ControlFlow::Break(CloseReason::ResponseError));
                }
            }
        }
    }

    /// The streamed body waits: write what we have, serve request-body reads, and watch
    /// the peer (a push stream may idle for minutes: a client that went away ends the
    /// response now, so the producer's `closed()` resolves instead of waiting for a
    /// failed write). `Ready(Continue)`: poll the body again.
    fn poll_stream_waits(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        if self.out.pending() > 0 {
            if let Poll::Ready(ControlFlow::Break(reason)) = self.poll_flush(cx) {
                return Poll::Ready(ControlFlow::Break(reason));
            }
        }
        match self.poll_pump(cx) {
            Poll::Ready(step) => return Poll::Ready(step),
            Poll::Pending => {}
        }
        self.poll_watch_peer(cx).map(ControlFlow::Break)
    }

    /// After a refused `send_*`: answer with an error status if no head went out yet, and
    /// say why the connection closes.
    async fn answer_send_error(&mut self, e: SendError) -> CloseReason {
        self.refresh_date();
        let reason = match (e, self.engine.error()) {
            (SendError::Poisoned, Some(recv)) => {
                let _ = self
                    .engine
                    .send_error(recv.status(), &recv.to_string(), &mut self.out.buf);
                CloseReason::Protocol(recv)
            }
            _ => {
                log::error!("connection {}: invalid response: {e}", self.info.id);
                let _ = self
                    .engine
                    .send_error(500, "internal server error", &mut self.out.buf);
                CloseReason::ResponseError
            }
        };
        let _ = self.flush().await;
        self.after_response.take().unwrap_or(reason)
    }
}

/// A streamed body's progress between polls.
#[derive(Default)]
pub(super) struct StreamState {
    /// The body asked for a flush: write the output before polling it again.
    flush_now: bool,
    trailers: Option<Headers>,
}
