//! [`ServerConfig`]: timeouts, limits, default headers, hooks.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use h1_core::{Config, Limits};

use crate::close::{CloseReason, ConnectionId};
use crate::observe::AccessLogFormat;

type ConnectHook = Arc<dyn Fn(ConnectionId, SocketAddr) + Send + Sync>;
type CloseHookFn = Arc<dyn Fn(ConnectionId, &CloseReason) + Send + Sync>;

/// Everything a server (or [`serve_connection`](crate::serve_connection)) is configured
/// with. Setters take `&mut self`, and each documents its default and unit.
///
/// ```
/// use std::time::Duration;
/// use h1_server::ServerConfig;
///
/// let mut config = ServerConfig::new();
/// config
///     .head_timeout(Duration::from_secs(5))
///     .max_connections(1000)
///     .default_header("X-Frame-Options", "DENY");
/// config.limits_mut().max_headers(50).max_body_bytes(1 << 20);
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    pub(crate) limits: Limits,
    pub(crate) allow_bare_lf: bool,
    pub(crate) server_name: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    /// The engine configuration built from the fields above, once.
    engine: OnceLock<Config>,
    pub(crate) head_timeout: Duration,
    pub(crate) keep_alive_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) min_body_rate: u64,
    pub(crate) body_rate_grace: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) handler_timeout: Option<Duration>,
    pub(crate) cancel_on_disconnect: bool,
    pub(crate) max_connections: usize,
    pub(crate) pipeline_flush: bool,
    pub(crate) idle_release: Duration,
    pub(crate) write_high_water: usize,
    pub(crate) trusted: Option<Arc<[IpAddr]>>,
    pub(crate) access_log: bool,
    pub(crate) edge_triggered: bool,
    pub(crate) access_log_format: AccessLogFormat,
    pub(crate) on_connect: Option<ConnectHook>,
    pub(crate) on_close: Option<CloseHookFn>,
}

impl ServerConfig {
    /// The defaults, as documented on each setter.
    pub fn new() -> Self {
        Self {
            limits: Limits::default(),
            allow_bare_lf: false,
            server_name: Some(concat!("http-server/", env!("CARGO_PKG_VERSION")).to_owned()),
            headers: Vec::new(),
            engine: OnceLock::new(),
            head_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            min_body_rate: 256,
            body_rate_grace: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            handler_timeout: None,
            cancel_on_disconnect: true,
            max_connections: 10_000,
            pipeline_flush: true,
            idle_release: Duration::from_millis(50),
            write_high_water: 64 * 1024,
            trusted: None,
            access_log: true,
            edge_triggered: crate::runtime::edge_triggered_default(),
            access_log_format: AccessLogFormat::Short,
            on_connect: None,
            on_close: None,
        }
    }

    // ----- engine -----

    /// The h1-core limits (head size, header count, target length, body size, ...),
    /// each with its own documented default.
    pub fn limits_mut(&mut self) -> &mut Limits {
        self.engine.take();
        &mut self.limits
    }

    /// The h1-core limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replace all h1-core limits.
    pub fn set_limits(&mut self, limits: impl Into<Limits>) -> &mut Self {
        let limits = limits.into();
        *self.limits_mut() = limits;
        self
    }

    /// Accept a bare LF as a line end (see `h1_core::Config::allow_bare_lf`).
    /// Default `false`.
    pub fn allow_bare_lf(&mut self, allow: bool) -> &mut Self {
        self.engine.take();
        self.allow_bare_lf = allow;
        self
    }

    /// The `Server` header value; `None` sends none. Default
    /// `http-server/<version>`.
    pub fn server_name(&mut self, name: Option<&str>) -> &mut Self {
        self.engine.take();
        self.server_name = name.map(str::to_owned);
        self
    }

    /// Add a header to every response that does not set it itself (serialized once).
    /// Invalid names or values are ignored. Default: none besides `Server`.
    pub fn default_header(&mut self, name: &str, value: &str) -> &mut Self {
        self.engine.take();
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    // ----- timeouts -----

    /// How long a request head may take to arrive once its first byte came, and how long
    /// a new connection may wait before sending its first byte. On expiry a partial head
    /// is answered with `408 Request Timeout`; then the connection closes (defends
    /// against slowloris). Default 10 s.
    pub fn head_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.head_timeout = timeout;
        self
    }

    /// How long an idle keep-alive connection waits for its next request before closing
    /// quietly. Default 60 s.
    pub fn keep_alive_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.keep_alive_timeout = timeout;
        self
    }

    /// How long a request-body read may wait with no byte arriving. On expiry the read
    /// fails with [`Timeout::BodyStall`](crate::Timeout::BodyStall) and the connection
    /// closes after the response. Default 30 s.
    pub fn body_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.body_timeout = timeout;
        self
    }

    /// The minimum request-body rate, in bytes per second, averaged over the time spent
    /// waiting for body bytes, enforced once `grace` of waiting has passed. Below it the
    /// read fails with [`Timeout::BodyRate`](crate::Timeout::BodyRate) and the connection
    /// closes after the response: a client trickling a byte a second cannot hold a
    /// connection. `0` turns it off. Default 256 B/s after a 5 s grace.
    pub fn min_body_rate(&mut self, bytes_per_sec: u64, grace: Duration) -> &mut Self {
        self.min_body_rate = bytes_per_sec;
        self.body_rate_grace = grace;
        self
    }

    /// How long a response write may make no progress (the client stopped reading)
    /// before the connection is dropped. Default 30 s.
    pub fn write_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.write_timeout = timeout;
        self
    }

    /// How long a handler may take to produce its response. On expiry its future is
    /// dropped, the client gets `503 Service Unavailable` and the connection closes
    /// (reason [`Timeout::Handler`](crate::Timeout::Handler)). A streamed body, once its
    /// head went out, is not limited by it. Default: none.
    pub fn handler_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.handler_timeout = timeout;
        self
    }

    /// While a handler runs (its request body read whole), watch the connection: when the
    /// client closes it (end of input, including a half-close) or it fails, drop the
    /// handler's future and free the connection, so a parked long poll whose client left
    /// does not hold a descriptor and a connection slot. `false` lets every handler run to
    /// its end whatever the client does; a handler that must finish some work whatever
    /// happens can instead spawn that work as its own task. Default `true`.
    pub fn cancel_on_disconnect(&mut self, cancel: bool) -> &mut Self {
        self.cancel_on_disconnect = cancel;
        self
    }

    // ----- connections and output -----

    /// The most simultaneous connections. At the limit, accepting pauses (new
    /// connections wait in the kernel's backlog) and resumes when one closes.
    /// Default 10 000.
    pub fn max_connections(&mut self, max: usize) -> &mut Self {
        self.max_connections = max.max(1);
        self
    }

    /// When more pipelined requests are already buffered after a response, answer them
    /// before writing, so a batch goes out in one write. Default `true`.
    pub fn pipeline_flush(&mut self, batch: bool) -> &mut Self {
        self.pipeline_flush = batch;
        self
    }

    /// How long a keep-alive connection stays idle before its buffers are freed (so an
    /// idle connection holds almost no memory). Default 50 ms.
    pub fn idle_release(&mut self, after: Duration) -> &mut Self {
        self.idle_release = after;
        self
    }

    /// Output buffered past this many bytes is written to the socket before more of a
    /// streamed body is produced. Default 64 KiB.
    pub fn write_high_water(&mut self, bytes: u64) -> &mut Self {
        self.write_high_water = usize::try_from(bytes).unwrap_or(usize::MAX).max(1);
        self
    }

    /// Proxies whose `X-Forwarded-For` / `X-Real-IP` headers
    /// [`Request::client_ip`](crate::Request::client_ip) believes. Default: none.
    pub fn trusted_proxies(&mut self, proxies: impl IntoIterator<Item = IpAddr>) -> &mut Self {
        let list: Vec<IpAddr> = proxies.into_iter().collect();
        self.trusted = (!list.is_empty()).then(|| list.into());
        self
    }

    /// Log one line per request at info level (target `h1_server::access`): peer,
    /// method, path, status, body bytes and duration. Default `true` (free when the
    /// logger filters info out).
    pub fn access_log(&mut self, on: bool) -> &mut Self {
        self.access_log = on;
        self
    }

    /// Serve accepted TCP connections from the server's own edge-triggered epoll set
    /// (Linux and Android; elsewhere this does nothing): each socket is registered once,
    /// which saves one `epoll_ctl` system call per keep-alive request. `false` registers
    /// them with async-io's reactor in one-shot mode instead, as Unix-socket and
    /// [`serve_connection`](crate::serve_connection) transports always are: the path to
    /// take when the edge set is suspected of a fault, or to compare the two.
    ///
    /// Default `true`, unless the environment variable `H1_EDGE_TRIGGERED` is `0`, `off`,
    /// `false` or `no` when the configuration is created, so operators and CI turn it off
    /// without a code change (`H1_EDGE_TRIGGERED=0 ./server`). This setter overrides the
    /// variable.
    ///
    /// ```
    /// let mut config = h1_server::ServerConfig::new();
    /// config.edge_triggered(false);
    /// assert!(!config.is_edge_triggered());
    /// ```
    pub fn edge_triggered(&mut self, on: bool) -> &mut Self {
        self.edge_triggered = on;
        self
    }

    /// Whether accepted TCP connections use the edge-triggered set (see
    /// [`edge_triggered`](Self::edge_triggered)).
    pub fn is_edge_triggered(&self) -> bool {
        self.edge_triggered
    }

    /// The access log's line format: [`AccessLogFormat::Short`] (the default),
    /// [`Common`](AccessLogFormat::Common) or [`Combined`](AccessLogFormat::Combined)
    /// (the NCSA formats that log analysers read). Client-supplied text is escaped.
    ///
    /// ```
    /// use h1_server::{AccessLogFormat, ServerConfig};
    ///
    /// let mut config = ServerConfig::new();
    /// config.access_log_format(AccessLogFormat::Common);
    /// ```
    pub fn access_log_format(&mut self, format: AccessLogFormat) -> &mut Self {
        self.access_log_format = format;
        self
    }

    /// The access log's format, if requests are logged.
    #[inline]
    pub(crate) fn logged_as(&self) -> Option<AccessLogFormat> {
        self.access_log.then_some(self.access_log_format)
    }

    // ----- hooks -----

    /// Call `hook` with the connection id and peer address when a connection opens.
    pub fn on_connect(
        &mut self,
        hook: impl Fn(ConnectionId, SocketAddr) + Send + Sync + 'static,
    ) -> &mut Self {
        self.on_connect = Some(Arc::new(hook));
        self
    }

    /// Call `hook` with the connection id and the reason when a connection closes
    /// (every connection; [`Request::on_close`](crate::Request::on_close) is the
    /// per-connection form).
    pub fn on_close(
        &mut self,
        hook: impl Fn(ConnectionId, &CloseReason) + Send + Sync + 'static,
    ) -> &mut Self {
        self.on_close = Some(Arc::new(hook));
        self
    }

    /// The engine configuration: limits, leniency and default headers, serialized once.
    pub(crate) fn engine(&self) -> &Config {
        self.engine.get_or_init(|| {
            let mut c = Config::new();
            c.set_limits(self.limits.clone());
            c.allow_bare_lf(self.allow_bare_lf);
            if let Some(name) = &self.server_name {
                c.default_header("Server", name);
            }
            for (n, v) in &self.headers {
                c.default_header(n, v);
            }
            c
        })
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("limits", &self.limits)
            .field("server_name", &self.server_name)
            .field("headers", &self.headers)
            .field("head_timeout", &self.head_timeout)
            .field("keep_alive_timeout", &self.keep_alive_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("min_body_rate", &self.min_body_rate)
            .field("write_timeout", &self.write_timeout)
            .field("max_connections", &self.max_connections)
            .field("pipeline_flush", &self.pipeline_flush)
            .field("edge_triggered", &self.edge_triggered)
            .finish_non_exhaustive()
    }
}

settings_from_ref!(ServerConfig);
