//! How a request body is framed (RFC 9112 §6.3): Transfer-Encoding over all its fields,
//! then the one decision per request.

use super::trim;
use crate::error::RecvError;

/// How the request body is framed (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    Length(u64),
    Chunked,
}

/// Transfer-Encoding seen so far, over all its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum TeState {
    #[default]
    Absent,
    /// Last coding is chunked, and the only one.
    Chunked,
    /// Codings we do not implement, then chunked last.
    UnknownThenChunked,
    /// The last coding so far is not chunked.
    NotChunked,
}

impl TeState {
    pub(super) fn add(mut self, value: &[u8]) -> Result<Self, RecvError> {
        if value == b"chunked" {
            // The usual value, as sent: one coding, chunked, as the loop below reads it.
            return match self {
                Self::Chunked | Self::UnknownThenChunked => Err(RecvError::BadTransferEncoding),
                Self::Absent => Ok(Self::Chunked),
                Self::NotChunked => Ok(Self::UnknownThenChunked),
            };
        }
        for coding in value.split(|&b| b == b',') {
            let coding = trim(coding);
            if coding.is_empty() {
                continue; // RFC 9110 §5.6.1: empty list elements are ignored.
            }
            // Parameters (";q=..") belong to the coding name before them.
            let name = trim(coding.split(|&b| b == b';').next().unwrap_or(coding));
            let chunked = name.eq_ignore_ascii_case(b"chunked");
            if chunked && name.len() != coding.len() {
                // RFC 9112 §7.1: chunked has no parameters, and a recipient SHOULD treat
                // them as an error; read as plain chunked they could desync a front end
                // that reads the field differently (RFC 9112 §6.1).
                return Err(RecvError::BadTransferEncoding);
            }
            self = match self {
                // RFC 9112 §6.1: chunked MUST NOT be applied more than once.
                Self::Chunked | Self::UnknownThenChunked => {
                    return Err(RecvError::BadTransferEncoding);
                }
                Self::Absent if chunked => Self::Chunked,
                Self::NotChunked if chunked => Self::UnknownThenChunked,
                _ => Self::NotChunked,
            };
        }
        // A Transfer-Encoding field without any coding still says the message is
        // transfer-coded: it must not be read as absent (a front-end that sees the field
        // may frame the body differently; RFC 9112 §6.3 item 3, 4).
        if self == Self::Absent {
            self = Self::NotChunked;
        }
        Ok(self)
    }

    /// The framing for this Transfer-Encoding, a Content-Length (if any) and the
    /// request's minor version: the one place RFC 9112 §6.3 is decided for requests.
    #[inline]
    pub(super) fn framing(
        self,
        content_length: Option<u64>,
        minor: u8,
    ) -> Result<BodyFraming, RecvError> {
        Ok(match (self, content_length) {
            (Self::Absent, None) => BodyFraming::Length(0),
            (Self::Absent, Some(n)) => BodyFraming::Length(n),
            // RFC 9112 §6.1: a client MUST NOT send Transfer-Encoding in HTTP/1.0; the server
            // treats it as faulty framing.
            _ if minor == 0 => return Err(RecvError::TransferEncodingInHttp10),
            // RFC 9112 §6.3 item 3: both present is a smuggling attempt; reject.
            (_, Some(_)) => return Err(RecvError::ContentLengthWithTransferEncoding),
            (Self::Chunked, None) => BodyFraming::Chunked,
            // RFC 9112 §6.1: an unknown coding is 501 when the chunked one is final.
            (Self::UnknownThenChunked, None) => {
                return Err(RecvError::UnsupportedTransferCoding);
            }
            // RFC 9112 §6.3 item 4: chunked not final means the length is unknowable: 400.
            (Self::NotChunked, None) => return Err(RecvError::BadTransferEncoding),
        })
    }
}
