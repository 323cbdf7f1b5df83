//! [`MultipartError`]: how a multipart body broke the format or a limit.

use std::fmt;

/// A multipart body broke the format or a limit.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MultipartError {
    /// The boundary is empty, longer than 70 bytes or has forbidden bytes (RFC 2046 §5.1.1).
    BadBoundary,
    /// No delimiter within the preamble limit, or garbage after a delimiter.
    BadDelimiter,
    /// A part's header section is malformed.
    BadPartHeader,
    /// A part without a `Content-Disposition: form-data; name=..` (RFC 7578 §4.2).
    MissingName,
    /// A part's header section exceeds
    /// [`MultipartLimits::max_header_bytes`](crate::MultipartLimits::max_header_bytes).
    HeaderTooLarge,
    /// More parts than [`MultipartLimits::max_parts`](crate::MultipartLimits::max_parts).
    TooManyParts,
    /// A field name longer than
    /// [`MultipartLimits::max_name_bytes`](crate::MultipartLimits::max_name_bytes).
    NameTooLong,
    /// A non-file field value longer than
    /// [`MultipartLimits::max_field_bytes`](crate::MultipartLimits::max_field_bytes).
    FieldTooLarge,
    /// The body ended before the closing delimiter.
    UnexpectedEof,
}

impl MultipartError {
    /// The status to answer with: 413 for limits, 400 for format errors.
    pub fn status(self) -> u16 {
        match self {
            Self::HeaderTooLarge | Self::TooManyParts | Self::NameTooLong | Self::FieldTooLarge => {
                413
            }
            _ => 400,
        }
    }
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadBoundary => "invalid multipart boundary",
            Self::BadDelimiter => "malformed multipart delimiter",
            Self::BadPartHeader => "malformed multipart part header",
            Self::MissingName => "multipart part without a form-data name",
            Self::HeaderTooLarge => "multipart part header too large",
            Self::TooManyParts => "too many multipart parts",
            Self::NameTooLong => "multipart field name too long",
            Self::FieldTooLarge => "multipart field value too large",
            Self::UnexpectedEof => "multipart body ended before its closing delimiter",
        })
    }
}

impl std::error::Error for MultipartError {}
