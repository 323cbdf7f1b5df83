//! Reading: request heads into the engine, with the idle, head and release deadlines;
//! watching the peer while a response waits.

use std::io;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::future::poll_fn;
use futures_lite::{AsyncRead, AsyncWrite};
use h1_core::{Event, Next, RecvError, RequestHead};

use super::{Driver, HEAD_READ, Input, Step, WATCH_READ};
use crate::close::CloseReason;
use crate::error::Timeout;

impl<IO> Driver<'_, IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Read until the engine hands out a request head.
    pub(super) async fn read_head(&mut self) -> Step {
        self.wait_since = None;
        loop {
            match self.engine.next_event() {
                Ok(Next::Event(Event::Head(_))) => return ControlFlow::Continue(()),
                Ok(Next::NeedData) => {
                    self.flush().await?;
                    if let ControlFlow::Break(reason) = poll_fn(|cx| self.poll_read_head(cx)).await
                    {
                        if self.out.pending() > 0 {
                            // A 408: best effort, bounded by the write timeout.
                            let _ = self.flush().await;
                        }
                        return ControlFlow::Break(reason);
                    }
                }
                Ok(Next::Closed) => {
                    self.flush().await?;
                    return ControlFlow::Break(if self.input == Input::Ended {
                        CloseReason::ClientClosed
                    } else {
                        CloseReason::Done
                    });
                }
                Ok(Next::Upgraded) => {
                    self.flush().await?;
                    return ControlFlow::Break(CloseReason::Upgraded);
                }
                Ok(Next::Paused | Next::Event(_)) => {
                    log::warn!("connection {}: engine out of step", self.info.id);
                    return ControlFlow::Break(CloseReason::Done);
                }
                Err(RecvError::UnexpectedEof) => {
                    return ControlFlow::Break(CloseReason::ClientClosed);
                }
                Err(e) => return ControlFlow::Break(self.answer_bad_request(e).await),
            }
        }
    }

    /// Answer a request the engine refused with its status, and close.
    async fn answer_bad_request(&mut self, e: RecvError) -> CloseReason {
        self.refresh_date();
        let _ = self
            .engine
            .send_error(e.status(), &e.to_string(), &mut self.out.buf);
        let _ = self.flush().await;
        CloseReason::Protocol(e)
    }

    /// One wait for head bytes, with the idle, release and head deadlines and the
    /// shutdown signal.
    fn poll_read_head(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        self.shared.register(cx.waker());
        if let ControlFlow::Break(reason) = self.check_control() {
            return Poll::Ready(ControlFlow::Break(reason));
        }
        let idle = self.engine.is_idle();
        match self.poll_read_engine(cx, HEAD_READ) {
            Poll::Ready(Ok(_)) => {
                if idle {
                    // The first bytes of a head: its own clock starts now.
                    self.wait_since = None;
                }
                return Poll::Ready(ControlFlow::Continue(()));
            }
            Poll::Ready(Err(e)) => {
                return Poll::Ready(ControlFlow::Break(CloseReason::Io(e.kind())));
            }
            Poll::Pending => {}
        }
        if self.is_graceful() && idle {
            return Poll::Ready(ControlFlow::Break(CloseReason::Shutdown));
        }
        match self.poll_head_deadlines(cx, idle) {
            Some(reason) => Poll::Ready(ControlFlow::Break(reason)),
            None => Poll::Pending,
        }
    }

    /// The deadlines while waiting for a head: free buffers after a while idle, close an
    /// idle connection (the first head or keep-alive timeout), answer 408 to a partial head.
    fn poll_head_deadlines(&mut self, cx: &mut Context<'_>, idle: bool) -> Option<CloseReason> {
        // One clock read per wait, shared by the deadlines below.
        let now = self.clock.now();
        let since = *self.wait_since.get_or_insert(now);
        if idle {
            if self.input == Input::Open {
                let at = since + self.config.idle_release;
                if self.release_timer.poll_expired_at(cx, at, now) {
                    self.release();
                }
            }
            let (limit, which) = if self.served == 0 {
                (self.config.head_timeout, Timeout::Head)
            } else {
                (self.config.keep_alive_timeout, Timeout::KeepAlive)
            };
            if self.read_timer.poll_expired_at(cx, since + limit, now) {
                return Some(CloseReason::Timeout(which));
            }
        } else if self
            .read_timer
            .poll_expired_at(cx, since + self.config.head_timeout, now)
        {
            self.refresh_date();
            let _ = self
                .engine
                .send_error(408, "request head timeout", &mut self.out.buf);
            return Some(CloseReason::Timeout(Timeout::Head));
        }
        None
    }

    /// Free buffers while idle.
    fn release(&mut self) {
        self.engine.release_buffers();
        self.out.release();
        self.shared.body().shrink();
        // The spare head still holds the last request's bytes: free them too.
        if let Some(spare) = Arc::get_mut(&mut self.spare_head) {
            *spare = RequestHead::default();
        }
        self.input = Input::Released;
    }

    /// Read from the socket into the engine. `Ok(0)` is end of input (given to the engine).
    pub(super) fn poll_read_engine(
        &mut self,
        cx: &mut Context<'_>,
        min: usize,
    ) -> Poll<io::Result<usize>> {
        let res = match self.input {
            Input::Ended => return Poll::Ready(Ok(0)),
            Input::Released => {
                // Wait for input without holding a read buffer.
                let mut tiny = [0u8; 64];
                let res = Pin::new(&mut self.io).poll_read(cx, &mut tiny);
                if let Poll::Ready(Ok(n)) = res {
                    self.obs.read(n);
                    self.engine.receive(&tiny[..n]);
                    self.input = Input::Open;
                    self.date = super::DateStamp::Stale;
                }
                res
            }
            Input::Open => {
                let buf = self.engine.read_buf(min);
                let res = Pin::new(&mut self.io).poll_read(cx, buf);
                if let Poll::Ready(Ok(n)) = res {
                    self.obs.read(n);
                    self.engine.commit_read(n);
                    self.date = super::DateStamp::Stale;
                }
                res
            }
        };
        match res {
            Poll::Ready(Ok(0)) => {
                self.input = Input::Ended;
                self.engine.receive_eof();
                Poll::Ready(Ok(0))
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            other => other,
        }
    }

    /// Watch for the peer closing while a response waits on its body: `Ready` with the
    /// reason once the peer is gone. Only once the request body was read whole (its bytes
    /// are the handler's to pull); bytes of pipelined requests are buffered in the engine,
    /// up to one head's worth, then the watch pauses (backpressure). Like hyper's default,
    /// a half-close (EOF on read) counts as the client going away.
    pub(super) fn poll_watch_peer(&mut self, cx: &mut Context<'_>) -> Poll<CloseReason> {
        let cap = usize::try_from(self.config.engine().limits().head_bytes()).unwrap_or(usize::MAX);
        loop {
            if self.input == Input::Ended
                || self.engine.is_reading_body()
                || self.engine.buffered_len() >= cap
            {
                return Poll::Pending;
            }
            match self.poll_read_engine(cx, WATCH_READ) {
                Poll::Ready(Ok(0)) => return Poll::Ready(CloseReason::ClientClosed),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(CloseReason::Io(e.kind())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
