//! [`Limits`] and [`Config`]: every bound the engine enforces, and its switches.

use crate::head::Headers;

/// Size and count limits, each with a documented default and a `&mut Self` setter.
///
/// As everywhere in these crates, amounts of bytes are `u64` and counts are `usize`.
///
/// ```
/// let mut limits = h1_core::Limits::default();
/// limits.max_head_bytes(8 * 1024).max_headers(50);
/// assert_eq!(limits.head_bytes(), 8 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub(crate) head_bytes: usize,
    pub(crate) headers: usize,
    pub(crate) target_bytes: usize,
    pub(crate) chunk_line_bytes: usize,
    pub(crate) chunk_ext_bytes: usize,
    pub(crate) trailer_bytes: usize,
    body_bytes: u64,
    discard_bytes: u64,
}

/// A byte limit as the engine stores it (buffers are indexed by `usize`); a limit past
/// the address space is no limit.
pub(crate) fn to_usize(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// The hard cap on [`Limits::max_headers`]: header slots live on the stack while parsing.
pub const MAX_HEADERS_CAP: usize = 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            head_bytes: 32 * 1024,
            headers: 100,
            target_bytes: 8 * 1024,
            chunk_line_bytes: 1024,
            chunk_ext_bytes: 16 * 1024,
            trailer_bytes: 8 * 1024,
            body_bytes: u64::MAX,
            discard_bytes: 256 * 1024,
        }
    }
}

impl Limits {
    /// Largest request head (request line, headers and the blank line), in bytes.
    /// Past it: 431. Default 32 KiB.
    pub fn max_head_bytes(&mut self, bytes: u64) -> &mut Self {
        self.head_bytes = to_usize(bytes).max(16);
        self
    }

    /// Most header lines in one request head. Past it: 431. Default 100, capped at
    /// [`MAX_HEADERS_CAP`].
    pub fn max_headers(&mut self, count: usize) -> &mut Self {
        self.headers = count.min(MAX_HEADERS_CAP);
        self
    }

    /// Longest request-target, in bytes. Past it: 414. Default 8 KiB.
    pub fn max_target_bytes(&mut self, bytes: u64) -> &mut Self {
        self.target_bytes = to_usize(bytes).max(1);
        self
    }

    /// Longest chunk-size line including extensions, in bytes. Past it: 400. Default 1 KiB.
    pub fn max_chunk_line_bytes(&mut self, bytes: u64) -> &mut Self {
        self.chunk_line_bytes = to_usize(bytes).max(3);
        self
    }

    /// Most chunk-extension bytes (each `;` and what follows it on a chunk-size line, up
    /// to the line end) in one chunked request body, in bytes. Past it: 400
    /// ([`RecvError::ChunkExtensionsTooLarge`](crate::RecvError::ChunkExtensionsTooLarge)).
    /// Extensions are ignored (RFC 9112 §7.1.1), so without a bound a client could send
    /// them without end on tiny chunks. Default 16 KiB.
    pub fn max_chunk_ext_bytes(&mut self, bytes: u64) -> &mut Self {
        self.chunk_ext_bytes = to_usize(bytes);
        self
    }

    /// Largest trailer section of a chunked body, in bytes. Past it: 431. Default 8 KiB.
    pub fn max_trailer_bytes(&mut self, bytes: u64) -> &mut Self {
        self.trailer_bytes = to_usize(bytes);
        self
    }

    /// Largest request body, declared or received, in bytes. Past it: 413.
    /// Default unlimited (`u64::MAX`): bodies stream through the engine and are never
    /// buffered whole, so the bound is the application's to choose.
    pub fn max_body_bytes(&mut self, bytes: u64) -> &mut Self {
        self.body_bytes = bytes;
        self
    }

    /// How many unread request-body bytes the engine discards after a response finished
    /// early, to keep the connection alive. A longer remainder closes the connection
    /// instead. Default 256 KiB.
    pub fn max_discard_bytes(&mut self, bytes: u64) -> &mut Self {
        self.discard_bytes = bytes;
        self
    }

    /// The head size limit, in bytes.
    pub fn head_bytes(&self) -> u64 {
        self.head_bytes as u64
    }
    /// The header count limit.
    pub fn headers(&self) -> usize {
        self.headers
    }
    /// The request-target length limit, in bytes.
    pub fn target_bytes(&self) -> u64 {
        self.target_bytes as u64
    }
    /// The chunk-size line limit, in bytes.
    pub fn chunk_line_bytes(&self) -> u64 {
        self.chunk_line_bytes as u64
    }
    /// The chunk-extension limit per body, in bytes.
    pub fn chunk_ext_bytes(&self) -> u64 {
        self.chunk_ext_bytes as u64
    }
    /// The trailer section limit, in bytes.
    pub fn trailer_bytes(&self) -> u64 {
        self.trailer_bytes as u64
    }
    /// The request body limit, in bytes.
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }
    /// The discard budget, in bytes.
    pub fn discard_bytes(&self) -> u64 {
        self.discard_bytes
    }
}

/// Everything a [`Connection`](crate::Connection) is configured with: limits, leniency
/// switches (all off by default: strict RFC 9112) and default response headers.
///
/// ```
/// let mut config = h1_core::Config::default();
/// config.limits_mut().max_headers(64);
/// config.default_header("Server", "example/1.0");
/// let conn = h1_core::Connection::new(config);
/// # let _ = conn;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub(crate) limits: Limits,
    pub(crate) allow_bare_lf: bool,
    pub(crate) allow_chunk_size_whitespace: bool,
    pub(crate) defaults: Headers,
    /// `defaults` serialized once: `Name: value\r\n` lines.
    pub(crate) defaults_wire: Vec<u8>,
    /// The lengths of the default names, as bits of [`name_len_bit`]: a response whose
    /// header names have none of these lengths gets `defaults_wire` in one copy.
    pub(crate) default_name_lens: u64,
}

/// A bit for a header name of `len` bytes (lengths from 63 on share one bit).
pub(crate) fn name_len_bit(len: usize) -> u64 {
    1 << len.min(63)
}

impl Config {
    /// A strict configuration with default limits and no default headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The limits, to change them.
    pub fn limits_mut(&mut self) -> &mut Limits {
        &mut self.limits
    }

    /// Replace all limits.
    pub fn set_limits(&mut self, limits: impl Into<Limits>) -> &mut Self {
        self.limits = limits.into();
        self
    }

    /// Accept a bare LF as a line terminator in heads and chunk lines (RFC 9112 §2.2
    /// allows it; strict servers reject it because front-ends may disagree on where a
    /// line ends). Default off: a bare LF is answered with 400.
    pub fn allow_bare_lf(&mut self, allow: bool) -> &mut Self {
        self.allow_bare_lf = allow;
        self
    }

    /// Accept whitespace between a chunk size and the end of its line when no extension
    /// follows (`5 \r\n`). RFC 9112 §7.1 allows whitespace only before a `;` extension;
    /// some old clients pad the size. Default off: such a line is answered with 400
    /// ([`RecvError::BadChunkLine`](crate::RecvError::BadChunkLine)).
    pub fn allow_chunk_size_whitespace(&mut self, allow: bool) -> &mut Self {
        self.allow_chunk_size_whitespace = allow;
        self
    }

    /// Add a header sent on every response that does not set the same name itself, such
    /// as `Server`. Invalid names or values (not a token; CR, LF or NUL) are ignored.
    /// Default: none.
    pub fn default_header(&mut self, name: &str, value: &str) -> &mut Self {
        if crate::head::is_valid_name(name.as_bytes())
            && crate::head::is_valid_value(value.as_bytes())
        {
            self.defaults.append(name, value);
            self.default_name_lens |= name_len_bit(name.len());
            self.defaults_wire.extend_from_slice(name.as_bytes());
            self.defaults_wire.extend_from_slice(b": ");
            self.defaults_wire.extend_from_slice(value.as_bytes());
            self.defaults_wire.extend_from_slice(b"\r\n");
        }
        self
    }

    /// The default headers.
    pub fn default_headers(&self) -> &Headers {
        &self.defaults
    }
}

settings_from_ref!(Limits, Config);
