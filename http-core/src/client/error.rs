//! Client-role errors, split by blame like the server role's: [`ResponseError`] (the server
//! broke the protocol) and [`RequestError`] (the caller used the API out of order, or asked
//! for a request that cannot be sent).

use std::fmt;

use crate::error::RecvError;

/// The server sent something this engine will not accept.
///
/// The connection is poisoned afterwards: every later
/// [`next_event`](super::Connection::next_event) returns the same error and the send side
/// returns [`RequestError::Poisoned`]. Close the connection.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseError {
    /// The status line is not `HTTP-version SP 3DIGIT [SP reason]`, or the status code is
    /// below 100 (RFC 9112 §4).
    BadStatusLine,
    /// The status line names a version other than HTTP/1.0 or HTTP/1.1 (RFC 9112 §2.3).
    UnsupportedVersion,
    /// A header line is not valid syntax (RFC 9112 §5).
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
    /// The response head exceeds [`Limits::max_head_bytes`].
    ///
    /// [`Limits::max_head_bytes`]: crate::Limits::max_head_bytes
    HeadTooLarge,
    /// The response has more header lines than [`Limits::max_headers`].
    ///
    /// [`Limits::max_headers`]: crate::Limits::max_headers
    TooManyHeaders,
    /// Content-Length is not a plain run of digits, or overflows (RFC 9110 §8.6).
    BadContentLength,
    /// Several Content-Length values that differ (RFC 9112 §6.3 item 5).
    ConflictingContentLength,
    /// Both Content-Length and Transfer-Encoding (RFC 9112 §6.3 item 3: a sign of
    /// response splitting; refused rather than guessed).
    ContentLengthWithTransferEncoding,
    /// Transfer-Encoding with no coding, or with `chunked` twice or not last
    /// (RFC 9112 §6.1).
    BadTransferEncoding,
    /// A transfer coding other than `chunked`, which this engine cannot decode.
    UnsupportedTransferCoding,
    /// Transfer-Encoding in an HTTP/1.0 response: faulty framing (RFC 9112 §6.1).
    TransferEncodingInHttp10,
    /// A chunk-size line that is not hex digits with optional extensions (RFC 9112 §7.1).
    BadChunkLine,
    /// A chunk size that does not fit in 64 bits (RFC 9112 §7.1).
    ChunkSizeOverflow,
    /// A chunk-size line longer than [`Limits::max_chunk_line_bytes`].
    ///
    /// [`Limits::max_chunk_line_bytes`]: crate::Limits::max_chunk_line_bytes
    ChunkLineTooLong,
    /// Chunk data not followed by CRLF (RFC 9112 §7.1).
    MissingChunkCrlf,
    /// A trailer section that is malformed or names a framing field (RFC 9112 §7.1.2).
    BadTrailer,
    /// Trailers larger than [`Limits::max_trailer_bytes`].
    ///
    /// [`Limits::max_trailer_bytes`]: crate::Limits::max_trailer_bytes
    TrailersTooLarge,
    /// The declared or received body exceeds [`Limits::max_body_bytes`].
    ///
    /// [`Limits::max_body_bytes`]: crate::Limits::max_body_bytes
    BodyTooLarge,
    /// Response bytes arrived while no request was waiting for one.
    UnsolicitedResponse,
    /// `101 Switching Protocols` to a request that offered no `Upgrade`
    /// (RFC 9110 §15.2.2).
    UnrequestedUpgrade,
    /// The server closed the connection before sending any byte of the response (not even
    /// an interim one). The request may not have been processed: a driver can retry an
    /// idempotent one.
    NoResponse,
    /// The server closed the connection in the middle of a response.
    UnexpectedEof,
}

impl ResponseError {
    /// The client-role error for a server-role decoder error (chunked bodies and trailers
    /// are decoded by the same code in both roles).
    pub(crate) fn from_decoder(e: RecvError) -> Self {
        match e {
            RecvError::BadChunkLine => Self::BadChunkLine,
            RecvError::ChunkSizeOverflow => Self::ChunkSizeOverflow,
            RecvError::ChunkLineTooLong => Self::ChunkLineTooLong,
            RecvError::MissingChunkCrlf => Self::MissingChunkCrlf,
            RecvError::BadTrailer => Self::BadTrailer,
            RecvError::TrailersTooLarge => Self::TrailersTooLarge,
            RecvError::BodyTooLarge => Self::BodyTooLarge,
            RecvError::BareLf => Self::BareLf,
            RecvError::UnexpectedEof => Self::UnexpectedEof,
            _ => Self::BadSyntax,
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadStatusLine => "malformed status line",
            Self::UnsupportedVersion => "HTTP version not supported",
            Self::BadSyntax => "malformed header line",
            Self::BadHeaderName => "invalid byte in header name, or whitespace before colon",
            Self::BadHeaderValue => "invalid byte in header value",
            Self::BareLf => "line ends in a bare LF",
            Self::ObsFold => "obsolete line folding in header",
            Self::HeadTooLarge => "response header section too large",
            Self::TooManyHeaders => "too many header fields",
            Self::BadContentLength => "invalid Content-Length",
            Self::ConflictingContentLength => "conflicting Content-Length values",
            Self::ContentLengthWithTransferEncoding => {
                "both Content-Length and Transfer-Encoding present"
            }
            Self::BadTransferEncoding => "Transfer-Encoding does not end in a single chunked",
            Self::UnsupportedTransferCoding => "unsupported transfer coding",
            Self::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 response",
            Self::BadChunkLine => "malformed chunk-size line",
            Self::ChunkSizeOverflow => "chunk size overflows",
            Self::ChunkLineTooLong => "chunk-size line too long",
            Self::MissingChunkCrlf => "chunk data not followed by CRLF",
            Self::BadTrailer => "malformed or forbidden trailer field",
            Self::TrailersTooLarge => "trailer section too large",
            Self::BodyTooLarge => "response body too large",
            Self::UnsolicitedResponse => "response bytes with no request outstanding",
            Self::UnrequestedUpgrade => "101 Switching Protocols to a request without Upgrade",
            Self::NoResponse => "connection closed before the response started",
            Self::UnexpectedEof => "connection closed in the middle of a response",
        })
    }
}

impl std::error::Error for ResponseError {}

/// The caller asked for a request that cannot be sent, or used the send side out of order.
///
/// These are programming errors in the driver, never caused by the peer. Nothing is written
/// when one is returned, and the connection stays usable unless the variant says otherwise.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestError {
    /// The method is not a token (RFC 9110 §9.1).
    InvalidMethod,
    /// The request-target is empty, has a byte outside visible ASCII, or does not fit the
    /// method (RFC 9112 §3.2: authority-form for CONNECT only, `*` for OPTIONS only).
    InvalidTarget,
    /// A header name that is not a token, or a value with CR, LF, NUL or other controls.
    InvalidHeader,
    /// An HTTP/1.1 request without a Host header (RFC 9112 §3.2).
    MissingHost,
    /// More than one Host header, or a Host value that is not `host[:port]`.
    InvalidHost,
    /// An HTTP/1.0 request with an unknown body length: HTTP/1.0 has no chunked coding and
    /// a request body cannot be delimited by closing (RFC 9112 §6.1, §6.3).
    LengthRequired,
    /// A request head while the previous request's body is not ended.
    BodyInProgress,
    /// Body data or end before a request head.
    HeadNotSent,
    /// More body bytes than the declared Content-Length.
    BodyTooLong,
    /// Fewer body bytes than the declared Content-Length at
    /// [`send_end`](super::Connection::send_end): the request is broken and the
    /// connection must close.
    BodyTooShort,
    /// The connection closes after the outstanding exchanges (`Connection: close` was sent
    /// or received, or the connection was upgraded): no further request can be sent.
    Closed,
    /// An earlier [`ResponseError`] poisoned the connection.
    Poisoned,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidMethod => "method is not a token",
            Self::InvalidTarget => "invalid request-target for this method",
            Self::InvalidHeader => "invalid header name or value",
            Self::MissingHost => "HTTP/1.1 request without Host header",
            Self::InvalidHost => "repeated or invalid Host header",
            Self::LengthRequired => "HTTP/1.0 request body of unknown length",
            Self::BodyInProgress => "previous request body not ended",
            Self::HeadNotSent => "request head not sent yet",
            Self::BodyTooLong => "body longer than the declared Content-Length",
            Self::BodyTooShort => "body shorter than the declared Content-Length",
            Self::Closed => "connection closing; no further request can be sent",
            Self::Poisoned => "connection poisoned by an earlier error",
        })
    }
}

impl std::error::Error for RequestError {}
