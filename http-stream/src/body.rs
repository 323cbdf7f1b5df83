//! [`PushBody`]: the response body half of a push stream, polled by h1-server's
//! connection driver.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;
use bytes::Bytes;
use futures_lite::FutureExt;
use h1_server::{Body, Frame};

use crate::shared::{End, Inner};

/// The response body fed by a [`Sender`](crate::Sender): give it to
/// `Response::stream` (or use [`response`](crate::response), which does).
///
/// It yields the released chunks as [`Frame::Data`], a [`Frame::Flush`] for every
/// [`flush`](crate::Sender::flush) (which completes when the driver polls again, that is
/// after the socket write), then [`Frame::Trailers`] and the end, or an error after an
/// [`abort`](crate::Sender::abort). Dropping it (the driver does when the connection
/// closes) resolves [`Sender::closed`](crate::Sender::closed).
///
/// Why chunks held by `dont_flush` wait here rather than in the connection's buffer: the
/// driver writes its buffer whenever the body has nothing ready, so holding them back is
/// the only way to batch writes on the producer's terms.
pub struct PushBody {
    inner: Arc<Inner>,
    heartbeat: Option<Heartbeat>,
}

/// Bytes written after a quiet interval.
struct Heartbeat {
    interval: Duration,
    bytes: Bytes,
    /// When to send the next one, unless data goes out first.
    due: Instant,
    timer: Timer,
    /// When `timer` fires (it is re-armed only when the due time moves earlier).
    armed: Option<Instant>,
}

impl PushBody {
    pub(crate) fn new(inner: Arc<Inner>, heartbeat: Option<(Duration, Bytes)>) -> Self {
        let heartbeat = heartbeat
            .filter(|_| inner.length.is_none())
            .map(|(interval, bytes)| Heartbeat {
                interval,
                bytes,
                due: Instant::now() + interval,
                timer: Timer::never(),
                armed: None,
            });
        Self { inner, heartbeat }
    }
}

impl Body for PushBody {
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        let this = self.get_mut();
        let mut st = this.inner.lock();
        // The driver polls again only after writing a `Flush`: it is done.
        let mut notify = false;
        if st.flush_emitted > st.flush_done {
            st.flush_done = st.flush_emitted;
            notify = true;
        }
        let out = if st.released() > 0 {
            let chunk = st
                .queue
                .pop_front()
                .expect("released() > 0 means the queue is not empty");
            st.queued -= chunk.len();
            notify = true;
            if let Some(hb) = &mut this.heartbeat {
                hb.due = Instant::now() + hb.interval;
            }
            Poll::Ready(Some(Ok(Frame::Data(chunk))))
        } else if st.flush_wanted > st.flush_emitted {
            st.flush_emitted = st.flush_wanted;
            Poll::Ready(Some(Ok(Frame::Flush)))
        } else {
            match st.end {
                End::Close => Poll::Ready(st.trailers.take().map(|t| Ok(Frame::Trailers(t)))),
                End::Abort => Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "push stream aborted",
                )))),
                End::Open => {
                    st.body_waker = Some(cx.waker().clone());
                    let quiet = st.queue.is_empty();
                    drop(st);
                    match &mut this.heartbeat {
                        Some(hb) if quiet => {
                            if hb.poll_due(cx) {
                                Poll::Ready(Some(Ok(Frame::Data(hb.bytes.clone()))))
                            } else {
                                Poll::Pending
                            }
                        }
                        _ => Poll::Pending,
                    }
                }
            }
        };
        if notify {
            this.inner.changed.notify(usize::MAX);
        }
        out
    }

    fn length(&self) -> Option<u64> {
        self.inner.length
    }
}

impl Heartbeat {
    /// Whether a heartbeat is due now (then the next one is scheduled); otherwise the task
    /// is woken when it will be.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            let now = Instant::now();
            if now >= self.due {
                self.due = now + self.interval;
                return true;
            }
            if self.armed.is_none_or(|at| at > self.due) {
                self.timer.set_at(self.due);
                self.armed = Some(self.due);
            }
            match self.timer.poll(cx) {
                // Fired at an old due time: loop to check the current one.
                Poll::Ready(_) => self.armed = None,
                Poll::Pending => return false,
            }
        }
    }
}

impl Drop for PushBody {
    fn drop(&mut self) {
        {
            let mut st = self.inner.lock();
            st.body_gone = true;
            st.discard();
            st.body_waker = None;
        }
        self.inner.changed.notify(usize::MAX);
    }
}

impl fmt::Debug for PushBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushBody")
            .field("length", &self.inner.length)
            .field("heartbeat", &self.heartbeat.as_ref().map(|h| h.interval))
            .finish_non_exhaustive()
    }
}
