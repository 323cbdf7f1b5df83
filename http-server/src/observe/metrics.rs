//! The server's metrics, recorded through the [`metrics`](https://docs.rs/metrics)
//! facade (feature `metrics`). Nothing is collected until the application installs a
//! recorder, such as `metrics-exporter-prometheus`'s.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `http_server_connections_accepted_total` | counter | |
//! | `http_server_connections_open` | gauge | |
//! | `http_server_connections_closed_total` | counter | `reason` |
//! | `http_server_requests_total` | counter | `method`, `status` |
//! | `http_server_request_duration_seconds` | histogram | |
//! | `http_server_response_body_bytes` | histogram | |
//! | `http_server_received_bytes_total` | counter | |
//! | `http_server_sent_bytes_total` | counter | |
//! | `http_server_streams_open` | gauge | |
//! | `http_server_timeouts_total` | counter | `kind` |
//! | `http_server_limit_rejections_total` | counter | `kind` |
//!
//! `method` is `GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `PATCH`, `OPTIONS` or `other`;
//! `status` is `1xx` to `5xx`; `reason` is [`CloseReason::label`]; a timeout's `kind` is
//! [`Timeout::label`](crate::Timeout::label); a limit's `kind` is `uri`, `head`,
//! `headers`, `trailers`, `body`, `chunk_line` or `chunk_extensions` (the request was
//! answered with 414, 431 or 413 and the connection closed).
//!
//! Per connection the driver registers its handles once; per request it adds to them
//! (bytes are summed in the connection and added once per response).

use metrics::{Counter, Histogram, Unit, counter, gauge, histogram};

use crate::close::CloseReason;
use h1_core::RecvError;

/// Connections accepted (counter).
pub const CONNECTIONS_ACCEPTED: &str = "http_server_connections_accepted_total";
/// Connections open now (gauge).
pub const CONNECTIONS_OPEN: &str = "http_server_connections_open";
/// Connections closed, by `reason` (counter).
pub const CONNECTIONS_CLOSED: &str = "http_server_connections_closed_total";
/// Requests answered, by `method` class and `status` class (counter).
pub const REQUESTS: &str = "http_server_requests_total";
/// From a request's head to its response's last byte handed to the output (histogram).
pub const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// Response body bytes per response (histogram).
pub const RESPONSE_SIZE: &str = "http_server_response_body_bytes";
/// Bytes read from clients (counter).
pub const BYTES_RECEIVED: &str = "http_server_received_bytes_total";
/// Bytes written to clients (counter).
pub const BYTES_SENT: &str = "http_server_sent_bytes_total";
/// Streamed response bodies being sent now (gauge).
pub const STREAMS_OPEN: &str = "http_server_streams_open";
/// Timeouts, by `kind` (counter).
pub const TIMEOUTS: &str = "http_server_timeouts_total";
/// Requests refused for passing a limit, by `kind` (counter).
pub const LIMIT_REJECTIONS: &str = "http_server_limit_rejections_total";

/// Describe every metric (help text and unit) to the installed recorder. Optional:
/// call it once after installing the recorder, for `# HELP` lines in Prometheus.
///
/// ```
/// h1_server::observe::metrics::describe();
/// ```
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(CONNECTIONS_ACCEPTED, "Connections accepted.");
    describe_gauge!(CONNECTIONS_OPEN, "Connections open.");
    describe_counter!(CONNECTIONS_CLOSED, "Connections closed, by reason.");
    describe_counter!(REQUESTS, "Requests answered, by method and status class.");
    describe_histogram!(REQUEST_DURATION, Unit::Seconds, "Request duration.");
    describe_histogram!(RESPONSE_SIZE, Unit::Bytes, "Response body size.");
    describe_counter!(BYTES_RECEIVED, Unit::Bytes, "Bytes read from clients.");
    describe_counter!(BYTES_SENT, Unit::Bytes, "Bytes written to clients.");
    describe_gauge!(STREAMS_OPEN, "Streamed response bodies being sent.");
    describe_counter!(TIMEOUTS, "Timeouts, by kind.");
    describe_counter!(LIMIT_REJECTIONS, "Requests refused past a limit, by kind.");
}

/// One connection's handles and its byte counts not yet added.
pub(crate) struct ConnMetrics {
    received: Counter,
    sent: Counter,
    duration: Histogram,
    size: Histogram,
    /// The requests counter of the last (method, status) class pair: a keep-alive
    /// connection usually repeats it.
    requests: Option<(u8, u16, Counter)>,
    bytes_in: u64,
    bytes_out: u64,
}

impl ConnMetrics {
    /// A connection was accepted.
    pub(crate) fn open() -> Self {
        counter!(CONNECTIONS_ACCEPTED).increment(1);
        gauge!(CONNECTIONS_OPEN).increment(1.0);
        Self {
            received: counter!(BYTES_RECEIVED),
            sent: counter!(BYTES_SENT),
            duration: histogram!(REQUEST_DURATION),
            size: histogram!(RESPONSE_SIZE),
            requests: None,
            bytes_in: 0,
            bytes_out: 0,
        }
    }

    #[inline]
    pub(crate) fn read(&mut self, n: usize) {
        self.bytes_in += n as u64;
    }

    #[inline]
    pub(crate) fn wrote(&mut self, n: usize) {
        self.bytes_out += n as u64;
    }

    /// A response was sent: count it and add the bytes so far.
    pub(crate) fn response(&mut self, method: u8, status: u16, bytes: u64, secs: f64) {
        let class = status / 100;
        let counter = match &self.requests {
            Some((m, c, counter)) if *m == method && *c == class => counter,
            _ => {
                let counter = counter!(
                    REQUESTS,
                    "method" => METHODS[method as usize],
                    "status" => STATUS[class.clamp(1, 5) as usize - 1]
                );
                &self.requests.insert((method, class, counter)).2
            }
        };
        counter.increment(1);
        self.duration.record(secs);
        self.size.record(bytes as f64);
        self.add_bytes();
    }

    fn add_bytes(&mut self) {
        if self.bytes_in > 0 {
            self.received.increment(std::mem::take(&mut self.bytes_in));
        }
        if self.bytes_out > 0 {
            self.sent.increment(std::mem::take(&mut self.bytes_out));
        }
    }

    /// The connection closed.
    pub(crate) fn closed(&mut self, reason: &CloseReason) {
        self.add_bytes();
        gauge!(CONNECTIONS_OPEN).decrement(1.0);
        counter!(CONNECTIONS_CLOSED, "reason" => reason.label()).increment(1);
        match reason {
            CloseReason::Timeout(t) => counter!(TIMEOUTS, "kind" => t.label()).increment(1),
            CloseReason::Protocol(e) => {
                if let Some(kind) = limit_kind(*e) {
                    counter!(LIMIT_REJECTIONS, "kind" => kind).increment(1);
                }
            }
            _ => {}
        }
    }
}

/// A streamed body being sent: counted in [`STREAMS_OPEN`] until dropped.
pub(crate) struct StreamGauge(());

impl StreamGauge {
    pub(crate) fn open() -> Self {
        gauge!(STREAMS_OPEN).increment(1.0);
        Self(())
    }
}

impl Drop for StreamGauge {
    fn drop(&mut self) {
        gauge!(STREAMS_OPEN).decrement(1.0);
    }
}

const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
];
const STATUS: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The method's class: an index into [`METHODS`].
pub(crate) fn method_class(method: &str) -> u8 {
    METHODS[..7]
        .iter()
        .position(|m| *m == method)
        .map_or(7, |i| i as u8)
}

/// The limit a refused request passed, if it was a limit.
fn limit_kind(e: RecvError) -> Option<&'static str> {
    Some(match e {
        RecvError::UriTooLong => "uri",
        RecvError::HeadTooLarge => "head",
        RecvError::TooManyHeaders => "headers",
        RecvError::TrailersTooLarge => "trailers",
        RecvError::BodyTooLarge => "body",
        RecvError::ChunkLineTooLong => "chunk_line",
        RecvError::ChunkExtensionsTooLarge => "chunk_extensions",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_classes() {
        assert_eq!(METHODS[method_class("GET") as usize], "GET");
        assert_eq!(METHODS[method_class("OPTIONS") as usize], "OPTIONS");
        assert_eq!(METHODS[method_class("PROPFIND") as usize], "other");
        assert_eq!(METHODS[method_class("get") as usize], "other");
    }
}
