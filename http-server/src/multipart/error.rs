//! [`UploadError`]: why an upload or a form failed, with the status to answer.

use std::fmt;
use std::io;
use std::path::PathBuf;

use h1_core::MultipartError;

use crate::{Error, IntoResponse, Response};

/// A limit of [`UploadOptions`](super::UploadOptions), [`FormLimits`](super::FormLimits)
/// or [`Part`](super::Part) reads that a request exceeded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// [`UploadOptions::max_file_bytes`](super::UploadOptions::max_file_bytes).
    FileBytes,
    /// [`UploadOptions::max_total_bytes`](super::UploadOptions::max_total_bytes).
    TotalBytes,
    /// [`UploadOptions::max_files`](super::UploadOptions::max_files).
    Files,
    /// The limit given to [`Part::bytes`](super::Part::bytes) or
    /// [`Part::text`](super::Part::text).
    PartBytes,
    /// [`FormLimits::max_pairs`](super::FormLimits::max_pairs).
    FormPairs,
    /// [`FormLimits::max_key_bytes`](super::FormLimits::max_key_bytes).
    FormKeyBytes,
    /// [`FormLimits::max_value_bytes`](super::FormLimits::max_value_bytes).
    FormValueBytes,
}

impl Limit {
    fn what(self) -> &'static str {
        match self {
            Self::FileBytes => "uploaded file larger than",
            Self::TotalBytes => "uploaded files larger in total than",
            Self::Files => "more uploaded files than",
            Self::PartBytes => "multipart part larger than",
            Self::FormPairs => "more form fields than",
            Self::FormKeyBytes => "form field name longer than",
            Self::FormValueBytes => "form field value longer than",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Self::Files | Self::FormPairs => "",
            _ => " bytes",
        }
    }
}

/// Why an upload or a form could not be read.
///
/// ```
/// use h1_server::multipart::{Limit, UploadError};
///
/// let e = UploadError::TooLarge { limit: Limit::FileBytes, max: 1024 };
/// assert_eq!(e.status(), 413);
/// assert_eq!(e.to_string(), "uploaded file larger than 1024 bytes");
/// assert_eq!(e.response().status(), 413);
/// ```
#[non_exhaustive]
#[derive(Debug)]
pub enum UploadError {
    /// The request is not `multipart/form-data` with a boundary (400).
    NotMultipart,
    /// The request is not `application/x-www-form-urlencoded` (400).
    NotForm,
    /// The multipart body is malformed (400) or broke a parser limit (413).
    Multipart(MultipartError),
    /// Reading the body failed: the client went away or broke the protocol (400), a
    /// timer fired (408), the body limit was hit (413).
    Body(Error),
    /// A limit was exceeded (413).
    TooLarge {
        /// Which limit.
        limit: Limit,
        /// Its value.
        max: u64,
    },
    /// A field that should be text is not UTF-8 (400).
    NotUtf8,
    /// The temporary directory does not exist and cannot be created, or is not a
    /// directory (500).
    TempDir {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// Writing a temporary file failed (500).
    Io(io::Error),
}

impl UploadError {
    /// The status to answer with: 413 for limits, 400 for malformed requests, 408 for
    /// timeouts, 500 for the server's own failures.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotMultipart | Self::NotForm | Self::NotUtf8 => 400,
            Self::Multipart(e) => e.status(),
            Self::Body(e) => e.status(),
            Self::TooLarge { .. } => 413,
            Self::TempDir { .. } | Self::Io(_) => 500,
        }
    }

    /// Whether a limit was hit (the status is 413).
    pub fn is_limit(&self) -> bool {
        self.status() == 413
    }

    /// A plain-text response with [`status`](Self::status) and the message. Server-side
    /// failures (500) do not describe paths or OS errors to the client.
    pub fn response(&self) -> Response {
        let status = self.status();
        let text = if status == 500 {
            "upload failed: server error\n".to_owned()
        } else {
            format!("{self}\n")
        };
        Response::text(status, text)
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMultipart => {
                f.write_str("expected a multipart/form-data body with a boundary parameter")
            }
            Self::NotForm => f.write_str("expected an application/x-www-form-urlencoded body"),
            Self::Multipart(e) => write!(f, "{e}"),
            Self::Body(e) => write!(f, "{e}"),
            Self::TooLarge { limit, max } => write!(f, "{} {max}{}", limit.what(), limit.unit()),
            Self::NotUtf8 => f.write_str("form field is not UTF-8"),
            Self::TempDir { path, source } => write!(
                f,
                "upload directory {} is not usable: {source}",
                path.display()
            ),
            Self::Io(e) => write!(f, "writing an uploaded file failed: {e}"),
        }
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Multipart(e) => Some(e),
            Self::Body(e) => Some(e),
            Self::TempDir { source, .. } => Some(source),
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<MultipartError> for UploadError {
    fn from(e: MultipartError) -> Self {
        Self::Multipart(e)
    }
}

impl From<Error> for UploadError {
    fn from(e: Error) -> Self {
        Self::Body(e)
    }
}

impl From<UploadError> for io::Error {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::Io(e) => e,
            UploadError::Body(e) => e.into(),
            UploadError::TempDir { .. } => Self::other(e),
            e => Self::new(io::ErrorKind::InvalidData, e),
        }
    }
}

/// A handler may return an upload error: its [`response`](UploadError::response).
impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        log::debug!("upload error: {self}");
        self.response()
    }
}
