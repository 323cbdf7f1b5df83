//! Server-Sent Events (the WHATWG HTML `text/event-stream` format) on a push stream.
//!
//! - [`Event`] encodes one event: `event`, `id`, `retry`, multi-line `data`, comments.
//! - [`Options::response`] makes an [`EventSender`] and a response with the right headers
//!   (`Content-Type: text/event-stream`, `Cache-Control: no-cache`,
//!   `X-Accel-Buffering: no`) that writes a keep-alive comment after each quiet interval.
//! - [`last_event_id`] reads the `Last-Event-ID` a reconnecting browser sends.
//!
//! ```no_run
//! use std::time::Duration;
//! use h1_server::{Request, Response};
//! use h1_stream::sse::{self, Event};
//!
//! async fn events(req: Request) -> Response {
//!     let mut next: u64 = sse::last_event_id(&req).and_then(|id| id.parse().ok()).unwrap_or(0);
//!     let (tx, response) = sse::Options::new().response();
//!     smol::spawn(async move {
//!         loop {
//!             next += 1;
//!             let event = Event::new().event("tick").id(next.to_string()).data(next.to_string());
//!             if tx.send(&event).await.is_err() {
//!                 return; // the browser went away
//!             }
//!             async_io::Timer::after(Duration::from_secs(1)).await;
//!         }
//!     })
//!     .detach();
//!     response
//! }
//! ```

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use h1_server::{Request, Response};

use crate::error::{Error, TrySendError};
use crate::{Config, Sender, Shutdown};

/// The comment written after each quiet keep-alive interval.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// One event, built field by field, encoded with [`encode`](Self::encode) or
/// [`to_bytes`](Self::to_bytes).
///
/// Line breaks (`\n`, `\r\n`, `\r`) in `data` and comments become separate lines; in `event`
/// and `id`, where they would break the stream, they are removed (and NUL from `id`, which
/// browsers would reject).
///
/// ```
/// use std::time::Duration;
/// use h1_stream::sse::Event;
///
/// let e = Event::new()
///     .comment("hello")
///     .event("update")
///     .id("7")
///     .retry(Duration::from_secs(3))
///     .data("line one\nline two");
/// assert_eq!(
///     e.to_bytes(),
///     ": hello\nevent: update\nid: 7\nretry: 3000\ndata: line one\ndata: line two\n\n"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    comment: Option<String>,
    event: Option<String>,
    id: Option<String>,
    retry: Option<Duration>,
    data: Option<String>,
}

impl Event {
    /// An empty event (encodes as a lone blank line, which browsers ignore).
    pub fn new() -> Self {
        Self::default()
    }

    /// The event type (`event:`); browsers dispatch it to listeners of that name instead
    /// of `message`.
    #[must_use]
    pub fn event(mut self, name: impl Into<String>) -> Self {
        self.event = Some(name.into());
        self
    }

    /// The event id (`id:`): the browser sends it back as `Last-Event-ID` when it
    /// reconnects.
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// How long the browser waits before reconnecting (`retry:`, in milliseconds).
    #[must_use]
    pub fn retry(mut self, after: Duration) -> Self {
        self.retry = Some(after);
        self
    }

    /// The payload (`data:`), one field per line. An event without data is not
    /// dispatched by browsers (its id and retry still apply).
    #[must_use]
    pub fn data(mut self, data: impl Into<String>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// A comment (`: text`), ignored by browsers; one line per line of `text`.
    #[must_use]
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }

    /// Append the encoded event, ending with its blank line, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Some(comment) = &self.comment {
            for line in lines(comment) {
                field(out, "", line);
            }
        }
        if let Some(event) = &self.event {
            field(out, "event", &single_line(event, false));
        }
        if let Some(id) = &self.id {
            field(out, "id", &single_line(id, true));
        }
        if let Some(retry) = self.retry {
            field(out, "retry", &retry.as_millis().to_string());
        }
        if let Some(data) = &self.data {
            for line in lines(data) {
                field(out, "data", line);
            }
        }
        out.push(b'\n');
    }

    /// The encoded event.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.data.as_ref().map_or(0, String::len) + 32);
        self.encode(&mut out);
        out.into()
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// A comment block (`: text` lines and a blank line): a keep-alive that browsers ignore.
///
/// ```
/// assert_eq!(h1_stream::sse::comment("ping"), ": ping\n\n");
/// ```
pub fn comment(text: &str) -> Bytes {
    Event::new().comment(text).to_bytes()
}

/// The `Last-Event-ID` a reconnecting browser sent: the id of the last event it got.
///
/// ```
/// # fn f(req: &h1_server::Request) {
/// let resume_after = h1_stream::sse::last_event_id(req);
/// # }
/// ```
pub fn last_event_id(req: &Request) -> Option<&str> {
    req.header("last-event-id")
}

/// How an event stream is set up: keep-alive interval, reconnection delay, the push
/// stream's [`Config`]. Setters take `&mut self` and document their default.
///
/// ```
/// use std::time::Duration;
/// use h1_stream::sse::Options;
///
/// let (tx, response) = Options::new()
///     .keep_alive(Some(Duration::from_secs(20)))
///     .retry(Some(Duration::from_secs(2)))
///     .response();
/// assert_eq!(response.headers().get_str("content-type"), Some("text/event-stream"));
/// # drop(tx);
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    config: Config,
    keep_alive: Option<Duration>,
    retry: Option<Duration>,
}

impl Options {
    /// The defaults: a keep-alive comment after 15 s of quiet, no `retry`, and
    /// [`Config::new`]'s limits (events are flushed one by one).
    pub fn new() -> Self {
        Self {
            config: Config::new(),
            keep_alive: Some(Duration::from_secs(15)),
            retry: None,
        }
    }

    /// Write a `: keep-alive` comment when no event went out for `interval`, so proxies
    /// keep the connection and a vanished browser is noticed by a failing write. `None`
    /// turns it off. Default 15 s.
    pub fn keep_alive(&mut self, interval: Option<Duration>) -> &mut Self {
        self.keep_alive = interval;
        self
    }

    /// Send `retry:` first, so the browser reconnects after this delay. Default none (the
    /// browser's own, a few seconds).
    pub fn retry(&mut self, after: Option<Duration>) -> &mut Self {
        self.retry = after;
        self
    }

    /// The push stream's limits and modes (capacity, `dont_flush`, ...). A declared length
    /// is ignored.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Tell this stream about shutdown (see [`Config::shutdown`]).
    pub fn shutdown(&mut self, signal: &Shutdown) -> &mut Self {
        self.config.shutdown(signal);
        self
    }

    /// [`response`](Self::response) for a stream answering `req`: unless a
    /// [`shutdown`](Self::shutdown) signal was set, the stream takes `req`'s, so
    /// [`EventSender::shutdown_requested`] resolves when the server begins shutting down.
    pub fn response_for(&self, req: &Request) -> (EventSender, Response) {
        if self.config.shutdown.is_some() {
            return self.response();
        }
        let mut options = self.clone();
        options.shutdown(&Shutdown::from(req.shutdown_signal()));
        options.response()
    }

    /// An event sender and a `200` response streaming the events, with the
    /// `text/event-stream`, `Cache-Control: no-cache` and `X-Accel-Buffering: no` (no
    /// proxy buffering) headers.
    pub fn response(&self) -> (EventSender, Response) {
        let mut config = self.config.clone();
        config.length(None);
        if let Some(interval) = self.keep_alive {
            config.heartbeat(interval, Bytes::from_static(KEEP_ALIVE));
        }
        let (tx, response) = crate::response(200, config);
        if let Some(retry) = self.retry {
            // A fresh queue always has room for the first chunk.
            let _ = tx.try_send(Event::new().retry(retry).to_bytes());
        }
        let response = response
            .header("Content-Type", "text/event-stream")
            .header("Cache-Control", "no-cache")
            .header("X-Accel-Buffering", "no");
        (EventSender { sender: tx }, response)
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

/// Sends [`Event`]s down one event stream; a thin layer on [`Sender`] (reach it with
/// [`sender`](Self::sender)). `Send + Sync + Clone + 'static`.
#[derive(Debug, Clone)]
pub struct EventSender {
    sender: Sender,
}

impl EventSender {
    /// Encode and queue `event`; written at once (unless the stream is in `dont_flush`
    /// mode). Waits while the browser reads slowly.
    ///
    /// # Errors
    ///
    /// As [`Sender::send`]: the browser went away or the stream was closed.
    pub async fn send(&self, event: &Event) -> Result<(), Error> {
        self.sender
            .send(event.to_bytes())
            .await
            .map_err(|c| c.error())
    }

    /// Queue `event` if the queue has room now (for broadcasters: a slow browser must not
    /// hold up the others).
    ///
    /// # Errors
    ///
    /// As [`Sender::try_send`].
    pub fn try_send(&self, event: &Event) -> Result<(), TrySendError<Bytes>> {
        self.sender.try_send(event.to_bytes())
    }

    /// Send a comment (ignored by browsers).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn comment(&self, text: &str) -> Result<(), Error> {
        self.sender.send(comment(text)).await.map_err(|c| c.error())
    }

    /// Resolves when the browser went away (see [`Sender::closed`]).
    pub async fn closed(&self) {
        self.sender.closed().await;
    }

    /// Whether the browser went away.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Resolves when the server asks streams to shut down (see
    /// [`Sender::shutdown_requested`]).
    pub async fn shutdown_requested(&self) {
        self.sender.shutdown_requested().await;
    }

    /// End the stream cleanly. Browsers reconnect after the `retry` delay unless the page
    /// closes its `EventSource`, so tell the page first (an event it reacts to).
    ///
    /// # Errors
    ///
    /// As [`Sender::close`].
    pub fn close(&self) -> Result<(), Error> {
        self.sender.close()
    }

    /// The underlying push handle (flush, abort, byte counts, ...).
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// The underlying push handle.
    pub fn into_sender(self) -> Sender {
        self.sender
    }
}

impl From<Sender> for EventSender {
    /// Wrap a push handle (its response needs the event-stream headers of
    /// [`Options::response`]).
    fn from(sender: Sender) -> Self {
        Self { sender }
    }
}

/// Append `name: value\n` (`: value` for a comment).
fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    if !value.is_empty() || name.is_empty() {
        out.push(b' ');
    }
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

/// Split at `\r\n`, `\r` or `\n`, as an event stream reader does.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// `text` without line breaks (and without NUL for an id).
fn single_line(text: &str, no_nul: bool) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c == '\r' || c == '\n' || (no_nul && c == '\0');
    if text.contains(bad) {
        text.replace(bad, "").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(e: &Event) -> String {
        String::from_utf8(e.to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn data_only() {
        assert_eq!(enc(&Event::new().data("hi")), "data: hi\n\n");
    }

    #[test]
    fn every_line_break_splits_data() {
        assert_eq!(
            enc(&Event::new().data("a\nb\r\nc\rd")),
            "data: a\ndata: b\ndata: c\ndata: d\n\n"
        );
    }

    #[test]
    fn empty_lines_in_data_are_kept() {
        assert_eq!(
            enc(&Event::new().data("a\n\nb")),
            "data: a\ndata:\ndata: b\n\n"
        );
        assert_eq!(enc(&Event::new().data("")), "data:\n\n");
        assert_eq!(enc(&Event::new().data("x\n")), "data: x\ndata:\n\n");
    }

    #[test]
    fn leading_space_survives_the_field_separator() {
        // Readers strip one space after the colon: the second one is data.
        assert_eq!(enc(&Event::new().data(" x")), "data:  x\n\n");
    }

    #[test]
    fn event_and_id_lose_line_breaks_and_nul() {
        assert_eq!(
            enc(&Event::new().event("a\nb").id("1\r\n2\0").data("d")),
            "event: ab\nid: 12\ndata: d\n\n"
        );
    }

    #[test]
    fn retry_is_milliseconds() {
        assert_eq!(
            enc(&Event::new().retry(Duration::from_millis(1500))),
            "retry: 1500\n\n"
        );
    }

    #[test]
    fn multi_line_comment() {
        assert_eq!(enc(&Event::new().comment("a\nb")), ": a\n: b\n\n");
        assert_eq!(comment(""), ": \n\n");
    }

    #[test]
    fn field_order_is_stable() {
        let e = Event::new().data("d").id("i").event("e").comment("c");
        assert_eq!(enc(&e), ": c\nevent: e\nid: i\ndata: d\n\n");
        assert_eq!(e.to_string(), enc(&e));
    }

    #[test]
    fn empty_event_is_a_blank_line() {
        assert_eq!(enc(&Event::new()), "\n");
    }

    #[test]
    fn options_set_headers_and_retry_first() {
        let (tx, response) = Options::new()
            .retry(Some(Duration::from_secs(2)))
            .keep_alive(None)
            .response();
        let h = response.headers();
        assert_eq!(h.get_str("content-type"), Some("text/event-stream"));
        assert_eq!(h.get_str("cache-control"), Some("no-cache"));
        assert_eq!(h.get_str("x-accel-buffering"), Some("no"));
        assert_eq!(response.body_length(), None);
        assert_eq!(tx.sender().queued_bytes(), "retry: 2000\n\n".len());
    }
}
