//! [`Multipart`]: a request body read part by part.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use h1_core::{Headers, MultipartEvent, MultipartLimits, PartHead};

use super::error::{Limit, UploadError};
use crate::{Request, RequestBody};

/// A `multipart/form-data` request body, read part by part as it arrives.
///
/// Only what the parser holds back (at most a delimiter's length, or one part's header
/// section) and the current body chunk are in memory; part content is handed out as it
/// comes. The body is read only when a part is asked for, so the client's upload is
/// paced by the handler (backpressure).
///
/// ```no_run
/// use h1_core::MultipartLimits;
/// use h1_server::multipart::Multipart;
/// use h1_server::{Request, Response};
///
/// async fn handle(mut req: Request) -> Response {
///     let mut form = match Multipart::from_request(&mut req, MultipartLimits::default()) {
///         Ok(form) => form,
///         Err(e) => return e.response(),
///     };
///     let mut report = String::new();
///     loop {
///         let mut part = match form.next_part().await {
///             Ok(Some(part)) => part,
///             Ok(None) => break,
///             Err(e) => return e.response(),
///         };
///         if part.is_file() {
///             let mut size = 0;
///             loop {
///                 match part.chunk().await {
///                     Ok(Some(chunk)) => size += chunk.len(),
///                     Ok(None) => break,
///                     Err(e) => return e.response(),
///                 }
///             }
///             report += &format!("file {}: {size} bytes\n", part.name());
///         } else {
///             match part.text(1024).await {
///                 Ok(text) => report += &format!("field {}: {text}\n", part.name()),
///                 Err(e) => return e.response(),
///             }
///         }
///     }
///     Response::text(200, report)
/// }
/// ```
pub struct Multipart {
    body: RequestBody,
    parser: h1_core::Multipart,
    /// Content of the current part taken straight from a body chunk (no copy), before
    /// anything the parser holds.
    ready: Bytes,
    in_part: bool,
    done: bool,
}

/// One part of a [`Multipart`] body: its head, and its content read with
/// [`chunk`](Self::chunk), [`bytes`](Self::bytes) or [`text`](Self::text). Content left
/// unread is skipped by the next [`Multipart::next_part`].
pub struct Part<'a> {
    multipart: &'a mut Multipart,
    head: PartHead,
}

impl Multipart {
    /// Read `req`'s body as `multipart/form-data` (the body is taken out of `req`).
    ///
    /// # Errors
    ///
    /// [`UploadError::NotMultipart`] (400) when the Content-Type is not
    /// `multipart/form-data` with a `boundary`; [`UploadError::Multipart`] (400) for an
    /// invalid boundary.
    pub fn from_request(
        req: &mut Request,
        limits: impl Into<MultipartLimits>,
    ) -> Result<Self, UploadError> {
        let limits = limits.into();
        let boundary = req
            .headers()
            .get("content-type")
            .and_then(h1_core::Multipart::boundary_from_content_type)
            .ok_or(UploadError::NotMultipart)?;
        Self::new(req.take_body(), &boundary, limits)
    }

    /// Read `body` as multipart with `boundary`.
    ///
    /// # Errors
    ///
    /// [`UploadError::Multipart`] (400) for an invalid boundary.
    pub fn new(
        body: RequestBody,
        boundary: &str,
        limits: MultipartLimits,
    ) -> Result<Self, UploadError> {
        Ok(Self {
            body,
            parser: h1_core::Multipart::new(boundary, limits)?,
            ready: Bytes::new(),
            in_part: false,
            done: false,
        })
    }

    /// The next part; `None` after the closing delimiter. Skips what is left of the
    /// previous part.
    ///
    /// # Errors
    ///
    /// [`UploadError::Multipart`] for a malformed body or a parser limit (413), and
    /// [`UploadError::Body`] when reading the body fails (such as the client going away).
    pub async fn next_part(&mut self) -> Result<Option<Part<'_>>, UploadError> {
        while self.in_part {
            self.with_data(|_| ()).await?;
        }
        if self.done {
            return Ok(None);
        }
        loop {
            match self.parser.next_event()? {
                MultipartEvent::PartBegin(head) => {
                    let head = head.clone();
                    self.in_part = true;
                    return Ok(Some(Part {
                        multipart: self,
                        head,
                    }));
                }
                MultipartEvent::End => {
                    self.done = true;
                    return Ok(None);
                }
                MultipartEvent::NeedData => self.fill().await?,
                // Not in a part: the parser hands out neither.
                MultipartEvent::Data(_) | MultipartEvent::PartEnd => {}
            }
        }
    }

    /// Body bytes received so far (for progress against the Content-Length).
    pub fn received(&self) -> u64 {
        self.body.received()
    }

    /// The body's declared Content-Length (`None` when chunked).
    pub fn length(&self) -> Option<u64> {
        self.body.length()
    }

    /// Whether the closing delimiter was read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Read the next body chunk: part content the parser can vouch for goes to `ready`
    /// as a slice of the chunk (no copy), the rest to the parser.
    async fn fill(&mut self) -> Result<(), UploadError> {
        match self.body.chunk().await? {
            Some(chunk) => {
                let n = if self.in_part {
                    self.parser.take_content(&chunk)
                } else {
                    0
                };
                if n < chunk.len() {
                    self.parser.receive(&chunk[n..]);
                }
                if n > 0 {
                    self.ready = chunk.slice(..n);
                }
            }
            None => self.parser.receive_eof(),
        }
        Ok(())
    }

    /// Pass the next piece of the current part's content to `f`; `None` at its end.
    pub(crate) async fn with_data<R>(
        &mut self,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, UploadError> {
        self.next_data(|piece| match piece {
            Piece::Taken(b) => f(&b),
            Piece::Parsed(d) => f(d),
        })
        .await
    }

    /// The next piece of the current part's content; `None` at its end. A piece that
    /// came whole in a body chunk is a slice of it, not a copy.
    pub(crate) async fn data(&mut self) -> Result<Option<Bytes>, UploadError> {
        self.next_data(|piece| match piece {
            Piece::Taken(b) => b,
            Piece::Parsed(d) => Bytes::copy_from_slice(d),
        })
        .await
    }

    /// Pass the next piece of content to `f`.
    async fn next_data<R>(
        &mut self,
        f: impl FnOnce(Piece<'_>) -> R,
    ) -> Result<Option<R>, UploadError> {
        if !self.in_part {
            return Ok(None);
        }
        loop {
            if !self.ready.is_empty() {
                return Ok(Some(f(Piece::Taken(std::mem::take(&mut self.ready)))));
            }
            match self.parser.next_event()? {
                MultipartEvent::Data(d) => return Ok(Some(f(Piece::Parsed(d)))),
                MultipartEvent::PartEnd => {
                    self.in_part = false;
                    return Ok(None);
                }
                MultipartEvent::NeedData => {}
                // In a part: the parser hands out neither before PartEnd.
                MultipartEvent::PartBegin(_) | MultipartEvent::End => {}
            }
            self.fill().await?;
        }
    }
}

/// A piece of part content: taken from a body chunk whole, or held by the parser.
enum Piece<'a> {
    Taken(Bytes),
    Parsed(&'a [u8]),
}

impl fmt::Debug for Multipart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Multipart")
            .field("received", &self.body.received())
            .field("in_part", &self.in_part)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Part<'_> {
    /// The form field name.
    pub fn name(&self) -> &str {
        self.head.name()
    }

    /// The file name the client meant, decoded, for file parts: `filename*` when sent,
    /// else `filename` with the browsers' `%22`, `%0D`, `%0A` escapes decoded. Never use
    /// it as a path: pass it through [`sanitize_filename`](super::sanitize_filename).
    pub fn filename(&self) -> Option<Cow<'_, str>> {
        super::filename::decode_filename(&self.head)
    }

    /// The `filename` parameter exactly as sent (quotes and backslash escapes removed,
    /// nothing decoded), for file parts.
    pub fn filename_raw(&self) -> Option<&str> {
        self.head.filename()
    }

    /// The part's Content-Type, if given.
    pub fn content_type(&self) -> Option<&str> {
        self.head.content_type()
    }

    /// All the part's headers.
    pub fn headers(&self) -> &Headers {
        self.head.headers()
    }

    /// Whether this is a file part (it has a `filename`).
    pub fn is_file(&self) -> bool {
        self.head.is_file()
    }

    /// The parsed head.
    pub fn head(&self) -> &PartHead {
        &self.head
    }

    /// Request body bytes received so far (see [`Multipart::received`]).
    pub fn received(&self) -> u64 {
        self.multipart.received()
    }

    /// The next piece of content; `None` at the part's end. Content that came whole in
    /// a body chunk is a slice of that chunk, not a copy (holding the piece keeps that
    /// chunk, at most 256 KiB, in memory).
    ///
    /// # Errors
    ///
    /// As [`Multipart::next_part`].
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, UploadError> {
        self.multipart.data().await
    }

    /// The next piece of content passed to `f` without a copy; `None` at the part's end.
    ///
    /// # Errors
    ///
    /// As [`Multipart::next_part`].
    pub async fn with_chunk<R>(
        &mut self,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, UploadError> {
        self.multipart.with_data(f).await
    }

    /// The whole content, at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`UploadError::TooLarge`] with [`Limit::PartBytes`] past `limit` (413), and as
    /// [`Multipart::next_part`].
    pub async fn bytes(&mut self, limit: usize) -> Result<Vec<u8>, UploadError> {
        let mut all = Vec::new();
        while let Some(fits) = self
            .multipart
            .with_data(|d| {
                let fits = all.len() + d.len() <= limit;
                if fits {
                    all.extend_from_slice(d);
                }
                fits
            })
            .await?
        {
            if !fits {
                return Err(UploadError::TooLarge {
                    limit: Limit::PartBytes,
                    max: limit as u64,
                });
            }
        }
        Ok(all)
    }

    /// The whole content as UTF-8 text, at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`UploadError::NotUtf8`] (400), and as [`bytes`](Self::bytes).
    pub async fn text(&mut self, limit: usize) -> Result<String, UploadError> {
        String::from_utf8(self.bytes(limit).await?).map_err(|_| UploadError::NotUtf8)
    }
}

impl fmt::Debug for Part<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Part")
            .field("name", &self.name())
            .field("filename", &self.filename())
            .field("content_type", &self.content_type())
            .finish_non_exhaustive()
    }
}
