//! [`Config`]: the limits and modes of one push stream.

use std::time::Duration;

use bytes::Bytes;

use crate::shutdown::Shutdown;

/// How one push stream behaves: its queue bound, flush mode, high-water mark, declared
/// length, heartbeat and shutdown signal. Setters take `&mut self` and document their
/// default and unit.
///
/// ```
/// use h1_stream::Config;
///
/// let mut config = Config::new();
/// config.capacity(256 * 1024).dont_flush(true).high_water(32 * 1024);
/// let (tx, body) = h1_stream::channel(config);
/// # drop((tx, body));
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) capacity: usize,
    pub(crate) high_water: usize,
    pub(crate) dont_flush: bool,
    pub(crate) length: Option<u64>,
    pub(crate) heartbeat: Option<(Duration, Bytes)>,
    pub(crate) shutdown: Option<Shutdown>,
}

impl Config {
    /// The defaults, as documented on each setter.
    pub fn new() -> Self {
        Self {
            capacity: 64 * 1024,
            high_water: 16 * 1024,
            dont_flush: false,
            length: None,
            heartbeat: None,
            shutdown: None,
        }
    }

    /// The most bytes queued between the [`Sender`](crate::Sender) and the connection
    /// (sent but not yet handed to the connection's write buffer). A send that does not
    /// fit waits until the client has read enough; a single chunk larger than this is
    /// accepted when the queue is empty, so it never waits forever. The memory one stream
    /// holds is this plus the connection's own write buffer (h1-server's
    /// `write_high_water`, 64 KiB by default). Default 64 KiB.
    pub fn capacity(&mut self, bytes: u64) -> &mut Self {
        self.capacity = usize::try_from(bytes).unwrap_or(usize::MAX).max(1);
        self
    }

    /// The `dont_flush` mode: when `true`,
    /// [`send`](crate::Sender::send) holds chunks back from the connection until
    /// [`flush`](crate::Sender::flush) is called or [`high_water`](Self::high_water) bytes
    /// are held, so the producer decides how often the client is written to. Each send can
    /// override it ([`send_buffered`](crate::Sender::send_buffered),
    /// [`send_flushed`](crate::Sender::send_flushed)). Default `false`: each chunk is
    /// written as soon as the connection can.
    pub fn dont_flush(&mut self, on: bool) -> &mut Self {
        self.dont_flush = on;
        self
    }

    /// In `dont_flush` mode, the bytes held unflushed past which the held chunks are
    /// released to the connection anyway (a forced write). A send that would wait for
    /// queue space also releases what is held, so the mark is at most
    /// [`capacity`](Self::capacity) in effect. Default 16 KiB.
    pub fn high_water(&mut self, bytes: u64) -> &mut Self {
        self.high_water = usize::try_from(bytes).unwrap_or(usize::MAX).max(1);
        self
    }

    /// Declare the body length up front: the response carries `Content-Length` instead
    /// of chunked (or close-delimited) framing. A send past it fails with
    /// [`Error::LengthExceeded`](crate::Error::LengthExceeded); a close before it aborts
    /// the response and fails with [`Error::Incomplete`](crate::Error::Incomplete).
    /// Default `None`: chunked on HTTP/1.1, close-delimited on HTTP/1.0 (RFC 9112 §6.3).
    pub fn length(&mut self, length: Option<u64>) -> &mut Self {
        self.length = length;
        self
    }

    /// When no data was handed to the connection for `interval`, write `bytes` (such as
    /// an SSE comment line) so proxies keep the connection open and a vanished client is
    /// noticed by a failing write. Ignored when a [`length`](Self::length) is declared.
    /// Default none.
    pub fn heartbeat(&mut self, interval: Duration, bytes: impl Into<Bytes>) -> &mut Self {
        self.heartbeat = Some((interval.max(Duration::from_millis(1)), bytes.into()));
        self
    }

    /// The signal that [`Sender::shutdown_requested`](crate::Sender::shutdown_requested)
    /// waits for. Default none: it never resolves.
    pub fn shutdown(&mut self, signal: &Shutdown) -> &mut Self {
        self.shutdown = Some(signal.clone());
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

settings_from_ref!(Config);
