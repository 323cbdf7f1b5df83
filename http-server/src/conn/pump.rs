//! The body pump: hands the engine's request-body data to the handler's
//! [`RequestBody`](crate::RequestBody) through the shared slot, reading the socket only
//! when the reader asked for more, with the body stall and minimum-rate deadlines.

use std::ops::ControlFlow;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncWrite};
use h1_core::{Event, Next};

use super::{BODY_READ, BodyLink, Driver, Step};
use crate::close::CloseReason;
use crate::error::{ErrorKind, Timeout};
use crate::shared::{BodySlot, BodyState};

impl<IO> Driver<'_, IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Serve the request body reader: when it wants bytes, hand it the engine's next
    /// body data, reading the socket only then. `Ready(Continue)` means the reader got
    /// something (data, end or an error) and should be polled again.
    pub(super) fn poll_pump(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        let shared = self.shared;
        let mut slot = shared.body();
        if !slot.want || slot.state != BodyState::Reading {
            return Poll::Pending;
        }
        if self.engine.wants_continue() {
            let _ = self.engine.send_continue(&mut self.out.buf);
        }
        if self.out.pending() > 0 {
            match self.poll_flush(cx) {
                Poll::Ready(ControlFlow::Continue(())) => {}
                Poll::Ready(ControlFlow::Break(reason)) => {
                    fail(&mut slot, ErrorKind::Closed);
                    return Poll::Ready(ControlFlow::Break(reason));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        loop {
            let event = match self.engine.next_event() {
                Ok(Next::NeedData) => match self.poll_body_bytes(cx, &mut slot) {
                    Poll::Ready(ControlFlow::Continue(BodyRead::Again)) => continue,
                    Poll::Ready(ControlFlow::Continue(BodyRead::Answered)) => {
                        return Poll::Ready(ControlFlow::Continue(()));
                    }
                    Poll::Ready(ControlFlow::Break(reason)) => {
                        return Poll::Ready(ControlFlow::Break(reason));
                    }
                    Poll::Pending => return Poll::Pending,
                },
                other => other,
            };
            match event {
                Ok(Next::Event(Event::Data(data))) => {
                    slot.chunk.extend_from_slice(data);
                    self.body_bytes += data.len() as u64;
                    slot.want = false;
                    slot.wake_reader();
                }
                Ok(Next::Event(Event::Trailers(t))) => {
                    slot.trailers = Some(t.clone());
                    continue;
                }
                Ok(Next::Event(Event::End)) => {
                    slot.state = BodyState::Eof;
                    slot.want = false;
                    slot.wake_reader();
                }
                Ok(_) => {
                    slot.state = BodyState::Eof;
                    slot.wake_reader();
                }
                Err(e) => fail(&mut slot, ErrorKind::Protocol(e)),
            }
            return Poll::Ready(ControlFlow::Continue(()));
        }
    }

    /// The engine needs body bytes: read the socket, or fail the reader once a body
    /// deadline passed. `Break` when the socket failed.
    fn poll_body_bytes(
        &mut self,
        cx: &mut Context<'_>,
        slot: &mut BodySlot,
    ) -> Poll<Step<BodyRead>> {
        // A large body is read in large pieces: fewer reads, hand-offs and ACKs per byte.
        let min = if self.body_bytes >= LARGE_BODY_AFTER {
            LARGE_BODY_READ
        } else {
            BODY_READ
        };
        match self.poll_read_engine(cx, min) {
            Poll::Ready(Ok(_)) => {
                if let Some(since) = self.wait_since.take() {
                    self.body_waited += self.clock.now().saturating_duration_since(since);
                }
                Poll::Ready(ControlFlow::Continue(BodyRead::Again))
            }
            Poll::Ready(Err(e)) => {
                fail(slot, ErrorKind::Io(e.kind()));
                Poll::Ready(ControlFlow::Break(CloseReason::Io(e.kind())))
            }
            Poll::Pending => match self.poll_body_deadline(cx) {
                None => Poll::Pending,
                Some(which) => {
                    log::debug!("connection {}: {which}", self.info.id);
                    fail(slot, ErrorKind::Timeout(which));
                    self.wait_since = None;
                    self.engine.close_after_response();
                    self.after_response = Some(CloseReason::Timeout(which));
                    Poll::Ready(ControlFlow::Continue(BodyRead::Answered))
                }
            },
        }
    }

    /// The body stall and minimum-rate deadlines: which one passed, if any.
    fn poll_body_deadline(&mut self, cx: &mut Context<'_>) -> Option<Timeout> {
        let now = self.clock.now();
        let since: Instant = *self.wait_since.get_or_insert(now);
        let stall = since + self.config.body_timeout;
        let mut at = stall;
        if self.config.min_body_rate > 0 {
            let needed =
                Duration::from_secs_f64(self.body_bytes as f64 / self.config.min_body_rate as f64)
                    .max(self.config.body_rate_grace);
            at = at.min(since + needed.saturating_sub(self.body_waited));
        }
        if !self.read_timer.poll_expired(cx, at) {
            return None;
        }
        Some(if self.clock.now() >= stall {
            Timeout::BodyStall
        } else {
            Timeout::BodyRate
        })
    }

    /// The request is answered: a body handle still held reads `BodyClosed`.
    pub(super) fn detach_body(&mut self) {
        if std::mem::replace(&mut self.body, BodyLink::Detached) == BodyLink::Detached {
            return;
        }
        let mut slot = self.shared.body();
        slot.reset(BodyState::Failed(ErrorKind::Closed));
        if slot.chunk.capacity() > BODY_READ * 4 {
            slot.shrink();
        }
    }
}

/// Body bytes handed out after which a body counts as large.
const LARGE_BODY_AFTER: u64 = 1 << 20;
/// Bytes to ask the engine for per read of a large body (its buffer grows to this; it is
/// freed like the rest once the connection idles).
const LARGE_BODY_READ: usize = 256 * 1024;

/// What a read for body bytes did.
enum BodyRead {
    /// Bytes came: ask the engine again.
    Again,
    /// The reader was answered (a body timeout failed it).
    Answered,
}

/// Fail the body reader with `kind` and wake it.
fn fail(slot: &mut BodySlot, kind: ErrorKind) {
    slot.state = BodyState::Failed(kind);
    slot.wake_reader();
}
