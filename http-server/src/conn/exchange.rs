//! One exchange: hand the head just received to the handler as a [`Request`], run the
//! handler's future while serving its body reads, and send its [`Response`].

use std::future::Future;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::future::poll_fn;
use futures_lite::{AsyncRead, AsyncWrite, FutureExt};
use h1_core::{Event, Next, RequestHead};

use super::send::Sent;
use super::{BodyLink, DateStamp, Driver, Step};
use crate::close::CloseReason;
use crate::error::Timeout;
use crate::handler::Handler;
use crate::into_response::IntoResponse;
use crate::observe::RequestObs;
use crate::request::Request;
use crate::request_body::RequestBody;
use crate::response::Response;
use crate::shared::BodyState;

impl<IO> Driver<'_, IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Run the handler for the head just received and send its response.
    pub(super) async fn exchange<H: Handler>(&mut self, handler: &H) -> Step {
        if self.is_graceful() {
            self.engine.close_after_response();
        }
        let Some(head) = self.engine.head() else {
            return ControlFlow::Break(CloseReason::Done);
        };
        let is_head = head.is_head();
        let obs = RequestObs::start(self.config.logged_as(), head, &self.clock);
        let req = self.request();
        // The handler's response is stored here by its future and used in place: a
        // `Response` (168 bytes) is moved with a `memcpy` call, and returning it through
        // the layers around the handler's future (panic catching, instrumentation, the
        // driver's poll loop, `Step`) took nine of them per request, about 260
        // instructions.
        let mut slot = None;
        let handled = self.run_handler(handler, req, &obs, &mut slot);
        if let ControlFlow::Break(reason) = handled.await {
            let peer = self.info.peer.ip();
            self.obs.abandoned(obs, peer, &reason, &self.clock);
            return ControlFlow::Break(reason);
        }
        let Some(Response { head, body }) = &mut slot else {
            // `run_handler` goes on only once the handler's future filled the slot.
            return ControlFlow::Break(CloseReason::Done);
        };
        let status = head.status();
        self.body_sent = 0;
        // The usual response goes out without building `send_rest`'s future.
        let result = match self.send_now(head, body, is_head) {
            Sent::Done => ControlFlow::Continue(()),
            sent => {
                let body = std::mem::replace(body, crate::response::ResponseBody::Empty);
                self.send_rest(sent, body).await
            }
        };
        self.detach_body();
        // What went out, also for a stream that ended early.
        let (peer, sent) = (self.info.peer.ip(), self.body_sent);
        self.obs.answered(obs, peer, status, sent, &self.clock);
        result
    }

    /// Build the [`Request`] for the head the engine holds, with its body.
    fn request(&mut self) -> Request {
        let declared = self.engine.body_length();
        let head = self.take_head();
        self.wait_since = None;
        // A bodyless request is complete now: take its end without touching the socket.
        let mut state = BodyState::Reading;
        if declared == Some(0) {
            if let Ok(Next::Event(Event::End)) = self.engine.next_event() {
                state = BodyState::Eof;
            }
        }
        self.body_waited = Duration::ZERO;
        self.body_bytes = 0;
        // Bodyless requests never touch the shared body slot (no lock per GET).
        let body = if state == BodyState::Eof {
            RequestBody::empty()
        } else {
            self.body = BodyLink::Attached;
            let generation = {
                let mut slot = self.shared.body();
                slot.reset(state);
                slot.generation
            };
            RequestBody::new(self.shared.clone(), generation, declared)
        };
        Request::new(head, body, self.origin.clone(), self.shared.clone())
    }

    /// Hand the head over without copying: swap it into the spare `Arc` when the previous
    /// request is gone (the usual case), so its storage is reused.
    fn take_head(&mut self) -> Arc<RequestHead> {
        match Arc::get_mut(&mut self.spare_head) {
            Some(spare) => self.engine.swap_head(spare),
            None => self.spare_head = Arc::new(self.engine.take_head()),
        }
        self.spare_head.clone()
    }

    /// Poll the handler's future to its response while serving the request body and
    /// watching the server's control. A panic is answered with 500.
    async fn run_handler<H: Handler>(
        &mut self,
        handler: &H,
        req: Request,
        obs: &RequestObs,
        slot: &mut Option<Response>,
    ) -> Step {
        // Built here, in this future's own state: a handler's future can be large, and
        // one built by the caller would be moved (copied) into it first.
        let mut fut = pin!(obs.instrument(handler_future(handler, req, slot)));
        let deadline = self.config.handler_timeout.map(|t| self.clock.now() + t);
        let outcome = poll_fn(|cx| {
            loop {
                if let Poll::Ready(r) = fut.as_mut().poll(cx) {
                    return Poll::Ready(ControlFlow::Continue(r));
                }
                self.shared.register(cx.waker());
                if let ControlFlow::Break(reason) = self.check_control() {
                    return Poll::Ready(ControlFlow::Break(reason));
                }
                if self.is_graceful() {
                    self.engine.close_after_response();
                }
                // Interim responses the handler queued go out while it waits.
                self.send_interim();
                if self.out.pending() > 0 {
                    if let Poll::Ready(ControlFlow::Break(reason)) = self.poll_flush(cx) {
                        return Poll::Ready(ControlFlow::Break(reason));
                    }
                }
                match self.poll_pump(cx) {
                    Poll::Ready(ControlFlow::Continue(())) => continue,
                    Poll::Ready(ControlFlow::Break(reason)) => {
                        return Poll::Ready(ControlFlow::Break(reason));
                    }
                    Poll::Pending => {
                        // The handler waits: its response comes later than the read.
                        self.date = DateStamp::Stale;
                        return match self.poll_handler_watch(cx, deadline) {
                            Some(reason) => Poll::Ready(ControlFlow::Break(reason)),
                            None => Poll::Pending,
                        };
                    }
                }
            }
        })
        .await;
        match outcome {
            ControlFlow::Continue(Ok(())) => ControlFlow::Continue(()),
            ControlFlow::Continue(Err(_panic)) => {
                log::error!(
                    "connection {}: handler panicked; answering 500",
                    self.info.id
                );
                self.detach_body();
                self.refresh_date();
                let _ = self
                    .engine
                    .send_error(500, "internal server error", &mut self.out.buf);
                let _ = self.flush().await;
                ControlFlow::Break(CloseReason::Panic)
            }
            ControlFlow::Break(reason) => {
                self.detach_body();
                if reason == CloseReason::Timeout(Timeout::Handler) {
                    self.refresh_date();
                    let _ =
                        self.engine
                            .send_error(503, "the handler took too long", &mut self.out.buf);
                    let _ = self.flush().await;
                }
                ControlFlow::Break(reason)
            }
        }
    }

    /// While the handler waits: end the exchange when the client left (unless
    /// [`ServerConfig::cancel_on_disconnect`] is off) or the handler's deadline passed.
    /// Returning a reason drops the handler's future.
    fn poll_handler_watch(
        &mut self,
        cx: &mut Context<'_>,
        deadline: Option<Instant>,
    ) -> Option<CloseReason> {
        if self.config.cancel_on_disconnect {
            if let Poll::Ready(reason) = self.poll_watch_peer(cx) {
                log::debug!(
                    "connection {}: client left while the handler ran ({reason})",
                    self.info.id
                );
                return Some(reason);
            }
        }
        let at = deadline?;
        if self.handler_timer.poll_expired(cx, at) {
            log::warn!("connection {}: handler timed out", self.info.id);
            return Some(CloseReason::Timeout(Timeout::Handler));
        }
        None
    }
}

/// The one place the driver calls the handler: its future, with a panic caught, which
/// stores the response in `slot`.
fn handler_future<'a, H: Handler>(
    handler: &'a H,
    req: Request,
    slot: &'a mut Option<Response>,
) -> impl Future<Output = std::thread::Result<()>> + Send + 'a {
    AssertUnwindSafe(async move { *slot = Some(handler.call(req).await.into_response()) })
        .catch_unwind()
}
