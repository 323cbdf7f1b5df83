//! Errors, split by blame: [`RecvError`] (the peer broke the protocol) and [`SendError`]
//! (the caller used the API out of order).

use std::fmt;

/// The peer sent something this engine will not accept.
///
/// Every variant knows the status code to answer with ([`RecvError::status`]); the
/// connection is poisoned afterwards: every later [`next_event`] returns the same error,
/// [`Connection::send_error`] can still write the error response, and the connection must
/// be closed once that response is written.
///
/// [`next_event`]: crate::Connection::next_event
/// [`Connection::send_error`]: crate::Connection::send_error
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecvError {
    /// The request line or a header line is not valid HTTP/1.1 syntax (RFC 9112 §3, §5).
    /// A request line is refused at its first byte that cannot belong to one (a method
    /// byte that is not a token character, a control byte), without waiting for its end.
    BadSyntax,
    /// A header name contains a byte that is not a token character, or whitespace stands
    /// between a field name and its colon (RFC 9112 §5.1).
    BadHeaderName,
    /// A header value contains NUL, a bare CR or another forbidden control byte
    /// (RFC 9110 §5.5).
    BadHeaderValue,
    /// A line ends in a bare LF and [`Config::allow_bare_lf`] is off (RFC 9112 §2.2).
    ///
    /// [`Config::allow_bare_lf`]: crate::Config::allow_bare_lf
    BareLf,
    /// A header line starts with whitespace: obsolete line folding (RFC 9112 §5.2).
    ObsFold,
    /// The request line names a major version other than HTTP/1 (505). A higher minor
    /// version (`HTTP/1.2`) is read as HTTP/1.1 (RFC 9110 §2.5).
    UnsupportedVersion,
    /// The request-target exceeds [`Limits::max_target_bytes`] (414).
    ///
    /// [`Limits::max_target_bytes`]: crate::Limits::max_target_bytes
    UriTooLong,
    /// The request head exceeds [`Limits::max_head_bytes`] (431).
    ///
    /// [`Limits::max_head_bytes`]: crate::Limits::max_head_bytes
    HeadTooLarge,
    /// The request has more header lines than [`Limits::max_headers`] (431).
    ///
    /// [`Limits::max_headers`]: crate::Limits::max_headers
    TooManyHeaders,
    /// The request-target form does not fit the method, or the target has a fragment
    /// (`#`, RFC 9112 §3.2) or userinfo in an absolute-form authority (RFC 9110 §4.2.4).
    BadTarget,
    /// HTTP/1.1 request without a Host header, or with more than one (RFC 9112 §3.2).
    MissingHost,
    /// Repeated Host header (RFC 9112 §3.2).
    DuplicateHost,
    /// A Host value that is not `host[:port]` (RFC 9110 §7.2, RFC 3986 §3.2.2).
    BadHost,
    /// Content-Length is not a plain run of digits, or overflows (RFC 9110 §8.6).
    BadContentLength,
    /// Several Content-Length values that differ (RFC 9112 §6.3 item 5).
    ConflictingContentLength,
    /// Both Content-Length and Transfer-Encoding (RFC 9112 §6.3 item 3, §6.1).
    ContentLengthWithTransferEncoding,
    /// Transfer-Encoding whose final coding is not `chunked`, `chunked` twice, or
    /// `chunked` with parameters (RFC 9112 §6.3 item 4, §6.1, §7.1).
    BadTransferEncoding,
    /// A transfer coding this engine does not implement (RFC 9112 §6.1: 501).
    UnsupportedTransferCoding,
    /// Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1).
    TransferEncodingInHttp10,
    /// A chunk-size line that is not hex digits with optional extensions (RFC 9112 §7.1),
    /// or has whitespace after the size without an extension (unless
    /// [`Config::allow_chunk_size_whitespace`]).
    ///
    /// [`Config::allow_chunk_size_whitespace`]: crate::Config::allow_chunk_size_whitespace
    BadChunkLine,
    /// A chunk size that does not fit in 64 bits (RFC 9112 §7.1).
    ChunkSizeOverflow,
    /// A chunk-size line longer than [`Limits::max_chunk_line_bytes`].
    ///
    /// [`Limits::max_chunk_line_bytes`]: crate::Limits::max_chunk_line_bytes
    ChunkLineTooLong,
    /// Chunk data not followed by CRLF (RFC 9112 §7.1).
    MissingChunkCrlf,
    /// A trailer section that is malformed or names a framing field (RFC 9112 §7.1.2,
    /// RFC 9110 §6.5.1).
    BadTrailer,
    /// Trailers larger than [`Limits::max_trailer_bytes`] (431).
    ///
    /// [`Limits::max_trailer_bytes`]: crate::Limits::max_trailer_bytes
    TrailersTooLarge,
    /// The declared or received body exceeds [`Limits::max_body_bytes`] (413).
    ///
    /// [`Limits::max_body_bytes`]: crate::Limits::max_body_bytes
    BodyTooLarge,
    /// The peer closed the connection in the middle of a request (400; nobody may be
    /// left to read the answer).
    UnexpectedEof,
    /// More empty lines before a request line than the four a server ignores
    /// (RFC 9112 §2.2: at least one SHOULD be ignored). They do not count towards
    /// [`Limits::max_head_bytes`](crate::Limits::max_head_bytes).
    TooManyEmptyLines,
    /// An `Expect` field with an expectation other than `100-continue` (RFC 9110 §10.1.1:
    /// 417).
    ExpectationFailed,
    /// A chunked body whose chunk extensions exceed [`Limits::max_chunk_ext_bytes`]
    /// (400).
    ///
    /// [`Limits::max_chunk_ext_bytes`]: crate::Limits::max_chunk_ext_bytes
    ChunkExtensionsTooLarge,
}

impl RecvError {
    /// The status code to answer this error with: 400, 413, 414, 417, 431, 501 or 505.
    ///
    /// ```
    /// assert_eq!(h1_core::RecvError::UriTooLong.status(), 414);
    /// ```
    pub fn status(self) -> u16 {
        match self {
            Self::UnsupportedVersion => 505,
            Self::UriTooLong => 414,
            Self::HeadTooLarge | Self::TooManyHeaders | Self::TrailersTooLarge => 431,
            Self::UnsupportedTransferCoding => 501,
            Self::BodyTooLarge => 413,
            Self::ExpectationFailed => 417,
            _ => 400,
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadSyntax => "malformed request line or header line",
            Self::BadHeaderName => "invalid byte in header name, or whitespace before colon",
            Self::BadHeaderValue => "invalid byte in header value",
            Self::BareLf => "line ends in a bare LF",
            Self::ObsFold => "obsolete line folding in header",
            Self::UnsupportedVersion => "HTTP version not supported",
            Self::UriTooLong => "request-target too long",
            Self::HeadTooLarge => "request header section too large",
            Self::TooManyHeaders => "too many header fields",
            Self::BadTarget => "request-target form does not fit the method",
            Self::MissingHost => "HTTP/1.1 request without Host header",
            Self::DuplicateHost => "more than one Host header",
            Self::BadHost => "invalid Host header value",
            Self::BadContentLength => "invalid Content-Length",
            Self::ConflictingContentLength => "conflicting Content-Length values",
            Self::ContentLengthWithTransferEncoding => {
                "both Content-Length and Transfer-Encoding present"
            }
            Self::BadTransferEncoding => "Transfer-Encoding does not end in a single chunked",
            Self::UnsupportedTransferCoding => "unsupported transfer coding",
            Self::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            Self::BadChunkLine => "malformed chunk-size line",
            Self::ChunkSizeOverflow => "chunk size overflows",
            Self::ChunkLineTooLong => "chunk-size line too long",
            Self::MissingChunkCrlf => "chunk data not followed by CRLF",
            Self::BadTrailer => "malformed or forbidden trailer field",
            Self::TrailersTooLarge => "trailer section too large",
            Self::BodyTooLarge => "request body too large",
            Self::UnexpectedEof => "connection closed in the middle of a request",
            Self::TooManyEmptyLines => "too many empty lines before the request line",
            Self::ExpectationFailed => "expectation not supported",
            Self::ChunkExtensionsTooLarge => "chunk extensions too large",
        })
    }
}

impl std::error::Error for RecvError {}

/// The caller used the send side out of order or with invalid values.
///
/// These are programming errors in the driver, never caused by the peer. After one the
/// connection is poisoned and must be closed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendError {
    /// No request is waiting for a response (call [`next_event`] first), or the
    /// response head was already sent.
    ///
    /// [`next_event`]: crate::Connection::next_event
    NoRequest,
    /// Body data or end sent before the response head.
    HeadNotSent,
    /// The response was already finished.
    AlreadyFinished,
    /// An interim (1xx) status passed where a final one is needed, or the reverse.
    WrongStatusClass,
    /// A status code outside 100..=999.
    InvalidStatus,
    /// A header name that is not a token, or a value with CR, LF or NUL.
    InvalidHeader,
    /// More body bytes than the declared Content-Length.
    BodyTooLong,
    /// Fewer body bytes than the declared Content-Length at [`send_end`]; the connection
    /// must close.
    ///
    /// [`send_end`]: crate::Connection::send_end
    BodyTooShort,
    /// The connection was upgraded or closed; nothing more can be sent through the engine.
    Closed,
    /// An earlier error poisoned the connection.
    Poisoned,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoRequest => "no request is waiting for a response head",
            Self::HeadNotSent => "response head not sent yet",
            Self::AlreadyFinished => "response already finished",
            Self::WrongStatusClass => "status class does not fit this call",
            Self::InvalidStatus => "status code outside 100..=999",
            Self::InvalidHeader => "invalid header name or value",
            Self::BodyTooLong => "body longer than the declared Content-Length",
            Self::BodyTooShort => "body shorter than the declared Content-Length",
            Self::Closed => "connection closed or upgraded",
            Self::Poisoned => "connection poisoned by an earlier error",
        })
    }
}

impl std::error::Error for SendError {}
