//! Watching the server run: the access log and its [`AccessLogFormat`], metrics through
//! the `metrics` facade (feature `metrics`: the `metrics` module below) and `tracing`
//! spans (feature `tracing`): a span `connection` (fields `id`, `peer`) for each
//! connection, and within it a span `request` (fields `method`, `target`, then `status`
//! and `duration` once answered) that the handler's future runs in, so the handler's own
//! spans and events nest under it.
//!
//! The connection driver calls in here at a few points, one line each; with the
//! features off those calls compile to nothing (the types below are empty).

mod access;
#[cfg(feature = "metrics")]
pub mod metrics;

use std::future::Future;
use std::net::IpAddr;
use std::time::Instant;

use h1_core::RequestHead;

pub use self::access::AccessLogFormat;
use self::access::{Entry, LogLine};
use crate::close::{CloseReason, ConnectionId};
use crate::error::Timeout;

/// The connection's clock, as the observers read it.
pub(crate) trait Clock {
    fn now(&self) -> Instant;
    /// Seconds since the Unix epoch.
    fn unix_secs(&self) -> u64;
}

/// One connection's observers (metrics handles and byte counts).
pub(crate) struct ConnObs {
    #[cfg(feature = "metrics")]
    metrics: metrics::ConnMetrics,
}

impl ConnObs {
    /// A connection opened.
    #[inline]
    pub(crate) fn open() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            metrics: metrics::ConnMetrics::open(),
        }
    }

    /// `n` bytes were read from the client.
    #[inline(always)]
    pub(crate) fn read(&mut self, _n: usize) {
        #[cfg(feature = "metrics")]
        self.metrics.read(_n);
    }

    /// `n` bytes were written to the client.
    #[inline(always)]
    pub(crate) fn wrote(&mut self, _n: usize) {
        #[cfg(feature = "metrics")]
        self.metrics.wrote(_n);
    }

    /// The connection closed.
    #[inline]
    pub(crate) fn closed(&mut self, _reason: &CloseReason) {
        #[cfg(feature = "metrics")]
        self.metrics.closed(_reason);
    }

    /// A streamed response body starts; it ends when the value is dropped.
    #[inline]
    pub(crate) fn stream(&self) -> StreamObs {
        StreamObs {
            #[cfg(feature = "metrics")]
            _gauge: metrics::StreamGauge::open(),
        }
    }

    /// A response went out (all of it is in the output): the access log line, the
    /// metrics, the request span's `status` and `duration`.
    pub(crate) fn answered(
        &mut self,
        req: RequestObs,
        peer: IpAddr,
        status: u16,
        bytes: u64,
        clock: &impl Clock,
    ) {
        let Some(started) = req.started else {
            return;
        };
        let duration = clock.now().saturating_duration_since(started);
        if let Some((line, format)) = &req.log {
            let entry = Entry {
                peer,
                status,
                bytes,
                duration,
                unix_secs: clock.unix_secs(),
            };
            line.write(*format, &entry);
        }
        #[cfg(feature = "metrics")]
        self.metrics
            .response(req.method, status, bytes, duration.as_secs_f64());
        #[cfg(feature = "tracing")]
        {
            req.span.record("status", status);
            req.span.record("duration", tracing::field::debug(duration));
        }
    }

    /// The exchange ended without the handler's response: a panic is counted as a 500
    /// and a handler timeout as a 503 (the answers the client got); otherwise the client
    /// left or the server stopped, and nothing was answered.
    pub(crate) fn abandoned(
        &mut self,
        req: RequestObs,
        peer: IpAddr,
        reason: &CloseReason,
        clock: &impl Clock,
    ) {
        let status = match reason {
            CloseReason::Panic => 500,
            CloseReason::Timeout(Timeout::Handler) => 503,
            _ => return,
        };
        self.answered(req, peer, status, 0, clock);
    }
}

/// A streamed body being sent (the open-streams gauge).
pub(crate) struct StreamObs {
    #[cfg(feature = "metrics")]
    _gauge: metrics::StreamGauge,
}

/// One request's observers: when it began, its access-log line, its span.
pub(crate) struct RequestObs {
    /// `None` when nothing observes requests.
    started: Option<Instant>,
    log: Option<(LogLine, AccessLogFormat)>,
    #[cfg(feature = "metrics")]
    method: u8,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl RequestObs {
    /// A request head arrived.
    #[inline]
    /// `access_log`: the format, when the configuration logs requests.
    pub(crate) fn start(
        access_log: Option<AccessLogFormat>,
        head: &RequestHead,
        clock: &impl Clock,
    ) -> Self {
        let log = access_log
            .filter(|_| log::log_enabled!(log::Level::Info))
            .map(|format| (LogLine::new(head, format), format));
        let always = cfg!(any(feature = "metrics", feature = "tracing"));
        Self {
            started: (always || log.is_some()).then(|| clock.now()),
            log,
            #[cfg(feature = "metrics")]
            method: metrics::method_class(head.method()),
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                "request",
                method = head.method(),
                target = head.target(),
                status = tracing::field::Empty,
                duration = tracing::field::Empty,
            ),
        }
    }

    /// The handler's future, run inside the request's span.
    #[inline]
    pub(crate) fn instrument<F: Future>(&self, fut: F) -> impl Future<Output = F::Output> + use<F> {
        #[cfg(feature = "tracing")]
        return tracing::Instrument::instrument(fut, self.span.clone());
        #[cfg(not(feature = "tracing"))]
        fut
    }
}

/// A connection's future, run inside its `connection` span (feature `tracing`).
#[inline]
pub(crate) fn in_connection_span<F: Future>(
    _id: ConnectionId,
    _peer: std::net::SocketAddr,
    fut: F,
) -> impl Future<Output = F::Output> + use<F> {
    #[cfg(feature = "tracing")]
    return tracing::Instrument::instrument(
        fut,
        tracing::info_span!("connection", id = _id.as_u64(), peer = %_peer),
    );
    #[cfg(not(feature = "tracing"))]
    fut
}
