//! [`Sender`]: the push handle of a stream.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use h1_server::Headers;

use crate::error::{Closed, Error, TrySendError};
use crate::shared::{End, Inner, State};

/// The push handle of a streamed response: queue chunks, decide when they are flushed,
/// end the stream, learn when the client is gone.
///
/// `Sender` is `Send + Sync + Clone + 'static`: move it to any task, share it by reference
/// or clone it (a producer task and a heartbeat task, say). Every clone feeds the same
/// stream; chunks from one clone keep their order. Methods take `&self`.
///
/// Ending the stream:
/// - [`close`](Self::close) / [`close_with_trailers`](Self::close_with_trailers): the
///   queued chunks go out, then the terminal chunk; the connection serves its next
///   keep-alive request.
/// - [`abort`](Self::abort): the queued chunks are thrown away and the response ends
///   broken (no terminal chunk; the connection closes), so the client knows it is
///   incomplete.
/// - Dropping the last clone without either closes the stream (like a channel whose
///   senders are gone), or aborts it if a declared `Content-Length` was not reached.
///
/// ```no_run
/// use std::time::Duration;
/// use h1_server::{Request, Response};
///
/// async fn handle(_req: Request) -> Response {
///     let (tx, response) = h1_stream::response(200, h1_stream::Config::new());
///     smol::spawn(async move {
///         for i in 0..10 {
///             if tx.send(format!("tick {i}\n")).await.is_err() {
///                 return; // the client went away
///             }
///             async_io::Timer::after(Duration::from_secs(1)).await;
///         }
///         let _ = tx.close();
///     })
///     .detach();
///     response.header("Content-Type", "text/plain")
/// }
/// ```
pub struct Sender {
    inner: Arc<Inner>,
}

impl Sender {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// Queue `chunk` and, unless the stream is in [`dont_flush`](crate::Config::dont_flush)
    /// mode, let the connection write it at once. Waits while the queue is full (the
    /// client reads slowly): that is the backpressure. Returns once the chunk is queued;
    /// [`flush`](Self::flush) waits until it was written to the socket.
    ///
    /// # Errors
    ///
    /// [`Closed`] with the chunk when the client is gone ([`Error::Disconnected`]), the
    /// stream was closed ([`Error::Finished`]) or the chunk would pass the declared length
    /// ([`Error::LengthExceeded`]).
    pub async fn send(&self, chunk: impl Into<Bytes>) -> Result<(), Closed<Bytes>> {
        self.push(chunk.into(), !self.inner.dont_flush).await
    }

    /// Queue `chunk` and hold it back from the connection until [`flush`](Self::flush),
    /// a flushing send, [`close`](Self::close) or the [high-water
    /// mark](crate::Config::high_water), whatever the stream's mode.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_buffered(&self, chunk: impl Into<Bytes>) -> Result<(), Closed<Bytes>> {
        self.push(chunk.into(), false).await
    }

    /// Queue `chunk` and let the connection write it (and everything held before it) at
    /// once, whatever the stream's mode. Does not wait for the write.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_flushed(&self, chunk: impl Into<Bytes>) -> Result<(), Closed<Bytes>> {
        self.push(chunk.into(), true).await
    }

    /// Queue `chunk` as [`send`](Self::send) does if it fits now, without waiting. For
    /// broadcasters: one slow client must not hold up the others.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when the queue has no room, [`TrySendError::Closed`] as
    /// [`send`](Self::send) fails.
    pub fn try_send(&self, chunk: impl Into<Bytes>) -> Result<(), TrySendError<Bytes>> {
        let chunk = chunk.into();
        let mut st = self.inner.lock();
        if let Err(e) = self.check(&st, chunk.len()) {
            return Err(TrySendError::Closed(Closed::new(chunk, e)));
        }
        if !self.fits(&st, chunk.len()) {
            if st.held > 0 {
                st.release();
                st.wake_body();
            }
            return Err(TrySendError::Full(chunk));
        }
        self.accept(&mut st, chunk, !self.inner.dont_flush);
        Ok(())
    }

    /// Let the connection write everything sent so far, and wait until it was written to
    /// the socket (the kernel has it; the client may not have read it yet).
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when the client went away first, [`Error::Finished`] after
    /// a close.
    pub async fn flush(&self) -> Result<(), Error> {
        let target = {
            let mut st = self.inner.lock();
            if st.body_gone {
                return Err(Error::Disconnected);
            }
            if st.end != End::Open {
                return Err(Error::Finished);
            }
            st.release();
            st.flush_wanted += 1;
            st.wake_body();
            st.flush_wanted
        };
        loop {
            let listener = {
                let st = self.inner.lock();
                if st.flush_done >= target {
                    return Ok(());
                }
                if st.body_gone {
                    return Err(Error::Disconnected);
                }
                self.inner.changed.listen()
            };
            listener.await;
        }
    }

    /// End the stream: what is queued goes out, then the terminal chunk (chunked), or the
    /// connection closes (close-delimited HTTP/1.0). Returns at once; [`closed`](Self::closed)
    /// resolves once the body is done.
    ///
    /// # Errors
    ///
    /// [`Error::Incomplete`] when a declared `Content-Length` was not reached (the response
    /// is aborted instead), [`Error::Disconnected`] or [`Error::Finished`].
    pub fn close(&self) -> Result<(), Error> {
        self.finish(None)
    }

    /// End the stream with trailer fields, sent with the terminal chunk of a chunked body
    /// (RFC 9112 §7.1.2) and dropped for other framings.
    ///
    /// # Errors
    ///
    /// As [`close`](Self::close).
    pub fn close_with_trailers(&self, trailers: Headers) -> Result<(), Error> {
        self.finish(Some(trailers))
    }

    /// End the response broken: queued chunks are dropped, no terminal chunk is written,
    /// and the connection closes, so the client sees an incomplete body. Does nothing if
    /// the stream already ended.
    pub fn abort(&self) {
        let mut st = self.inner.lock();
        if st.end != End::Abort && !st.body_gone {
            st.end = End::Abort;
            st.discard();
            st.wake_body();
        }
    }

    /// Resolves when the body is gone: the client went away, the connection closed, or
    /// the stream ended and was written. Sends fail from then on.
    pub async fn closed(&self) {
        loop {
            let listener = {
                let st = self.inner.lock();
                if st.body_gone {
                    return;
                }
                self.inner.changed.listen()
            };
            listener.await;
        }
    }

    /// Whether the body is gone (see [`closed`](Self::closed)).
    pub fn is_closed(&self) -> bool {
        self.inner.lock().body_gone
    }

    /// Resolves once the stream's [`Shutdown`](crate::Shutdown) signal (see
    /// [`Config::shutdown`](crate::Config::shutdown)) is triggered: the server is going
    /// down, say goodbye and close. Never resolves without a signal.
    pub async fn shutdown_requested(&self) {
        match &self.inner.shutdown {
            Some(signal) => signal.wait().await,
            None => std::future::pending().await,
        }
    }

    /// Whether the stream's shutdown signal was triggered.
    pub fn is_shutdown_requested(&self) -> bool {
        self.inner
            .shutdown
            .as_ref()
            .is_some_and(|s| s.is_triggered())
    }

    /// Bytes queued and not yet handed to the connection (at most about the configured
    /// [`capacity`](crate::Config::capacity)).
    pub fn queued_bytes(&self) -> usize {
        self.inner.lock().queued
    }

    /// Data bytes accepted so far.
    pub fn sent_bytes(&self) -> u64 {
        self.inner.lock().sent
    }

    // ----- helpers -----

    async fn push(&self, chunk: Bytes, flush: bool) -> Result<(), Closed<Bytes>> {
        loop {
            let listener = {
                let mut st = self.inner.lock();
                if let Err(e) = self.check(&st, chunk.len()) {
                    return Err(Closed::new(chunk, e));
                }
                if self.fits(&st, chunk.len()) {
                    self.accept(&mut st, chunk, flush);
                    return Ok(());
                }
                // Full: held chunks must go out, or nothing would ever make room.
                if st.held > 0 {
                    st.release();
                    st.wake_body();
                }
                self.inner.changed.listen()
            };
            listener.await;
        }
    }

    fn check(&self, st: &State, len: usize) -> Result<(), Error> {
        if st.body_gone {
            return Err(Error::Disconnected);
        }
        if st.end != End::Open {
            return Err(Error::Finished);
        }
        if let Some(declared) = self.inner.length {
            let attempted = st.sent + len as u64;
            if attempted > declared {
                return Err(Error::LengthExceeded {
                    declared,
                    attempted,
                });
            }
        }
        Ok(())
    }

    fn fits(&self, st: &State, len: usize) -> bool {
        st.queued == 0 || st.queued + len <= self.inner.capacity
    }

    fn accept(&self, st: &mut State, chunk: Bytes, flush: bool) {
        let len = chunk.len();
        if len > 0 {
            st.sent += len as u64;
            st.queued += len;
            st.queue.push_back(chunk);
            st.held += 1;
            st.held_bytes += len;
        }
        if flush || st.held_bytes >= self.inner.high_water {
            st.release();
        }
        if st.released() > 0 {
            st.wake_body();
        }
    }

    fn finish(&self, trailers: Option<Headers>) -> Result<(), Error> {
        let mut st = self.inner.lock();
        if st.body_gone {
            return Err(Error::Disconnected);
        }
        if st.end != End::Open {
            return Err(Error::Finished);
        }
        let result = end_stream(&mut st, self.inner.length);
        st.trailers = trailers;
        st.wake_body();
        result
    }
}

/// Close the stream, or abort it when a declared length was not reached.
fn end_stream(st: &mut State, length: Option<u64>) -> Result<(), Error> {
    match length {
        Some(declared) if st.sent < declared => {
            st.end = End::Abort;
            st.discard();
            Err(Error::Incomplete {
                declared,
                sent: st.sent,
            })
        }
        _ => {
            st.end = End::Close;
            st.release();
            Ok(())
        }
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.inner.lock().senders += 1;
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        st.senders -= 1;
        if st.senders == 0 && st.end == End::Open && !st.body_gone {
            if let Err(e) = end_stream(&mut st, self.inner.length) {
                log::debug!("push stream dropped: {e}");
            }
            st.wake_body();
        }
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.lock();
        f.debug_struct("Sender")
            .field("queued", &st.queued)
            .field("sent", &st.sent)
            .field("end", &st.end)
            .field("closed", &st.body_gone)
            .finish()
    }
}
