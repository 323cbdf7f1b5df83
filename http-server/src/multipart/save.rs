//! [`save_uploads`]: every file part of a multipart body into a temporary file.

use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use h1_core::MultipartLimits;

use super::error::{Limit, UploadError};
use super::files::{FileInfo, UploadedFile, Uploads, create_dir, create_temp};
use super::form::form_from_pairs;
use super::reader::Multipart;
use crate::Request;

type Callback = Box<dyn FnMut(&UploadEvent<'_>) + Send>;

/// Options of [`save_uploads`]: where temporary files go, limits, and an event callback.
///
/// ```
/// use h1_server::multipart::{UploadEvent, UploadOptions};
///
/// let options = UploadOptions::new("/tmp/uploads")
///     .max_file_bytes(100 << 20)
///     .max_files(10)
///     .on_event(|event| {
///         if let UploadEvent::Written { file, total, .. } = event {
///             log::debug!("{}: {total} bytes", file.name());
///         }
///     });
/// ```
pub struct UploadOptions {
    dir: PathBuf,
    limits: MultipartLimits,
    max_file_bytes: u64,
    max_total_bytes: u64,
    max_files: usize,
    buffer_bytes: usize,
    on_event: Option<Callback>,
}

impl Default for UploadOptions {
    /// Temporary files in `<system temp dir>/http-server-uploads`.
    fn default() -> Self {
        Self::new(std::env::temp_dir().join("http-server-uploads"))
    }
}

impl UploadOptions {
    /// Temporary files go to `dir`, created (with its parents) if missing.
    ///
    /// Defaults: [`MultipartLimits::default`] (4 KiB field names, 50 KiB field values,
    /// 1000 parts), files unbounded in size ([`max_file_bytes`](Self::max_file_bytes),
    /// [`max_total_bytes`](Self::max_total_bytes)), at most 100 files, 512 KiB writes.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            limits: MultipartLimits::default(),
            max_file_bytes: u64::MAX,
            max_total_bytes: u64::MAX,
            max_files: 100,
            buffer_bytes: 512 * 1024,
            on_event: None,
        }
    }

    /// The directory for temporary files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parser's limits (part headers, parts, field names and values).
    pub fn limits(mut self, limits: impl Into<MultipartLimits>) -> Self {
        let limits = limits.into();
        self.limits = limits;
        self
    }

    /// Largest file, in bytes (413 past it).
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Largest sum of all files, in bytes (413 past it).
    pub fn max_total_bytes(mut self, bytes: u64) -> Self {
        self.max_total_bytes = bytes;
        self
    }

    /// Most file parts (413 past it).
    pub fn max_files(mut self, count: usize) -> Self {
        self.max_files = count;
        self
    }

    /// Bytes gathered before each write (default 512 KiB, at least 4 KiB). Two such
    /// batches per upload: one gathering from the socket while the other is written.
    /// A batch holds the body's chunks themselves (only pieces under 4 KiB are copied
    /// together), so it may overshoot by up to one chunk.
    pub fn buffer_bytes(mut self, bytes: u64) -> Self {
        self.buffer_bytes = usize::try_from(bytes).unwrap_or(usize::MAX).max(4096);
        self
    }

    /// Call `f` with each [`UploadEvent`], in order, from the handler's task. Keep it
    /// quick (hashing a chunk is fine; blocking I/O is not).
    pub fn on_event(mut self, f: impl FnMut(&UploadEvent<'_>) + Send + 'static) -> Self {
        self.on_event = Some(Box::new(f));
        self
    }
}

impl fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadOptions")
            .field("dir", &self.dir)
            .field("limits", &self.limits)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("max_total_bytes", &self.max_total_bytes)
            .field("max_files", &self.max_files)
            .field("buffer_bytes", &self.buffer_bytes)
            .field("on_event", &self.on_event.is_some())
            .finish()
    }
}

/// What [`save_uploads`] reports, in order: `Started`; per file `FileOpened`, any
/// number of `Written`, `FileReceived`; per field `Field`; then `Finished`, or `Failed`
/// (an error) or `Dropped` (the handler's future was dropped mid-upload).
#[non_exhaustive]
#[derive(Debug)]
pub enum UploadEvent<'a> {
    /// The multipart body is about to be read.
    Started,
    /// A file part began; its temporary file is open.
    FileOpened {
        /// The file.
        file: &'a FileInfo,
    },
    /// Bytes of a file were written to its temporary file. Every byte of the file comes
    /// in exactly one such event, in order: feed `data` to a running hash.
    Written {
        /// The file.
        file: &'a FileInfo,
        /// The bytes just written.
        data: &'a [u8],
        /// The file's size so far.
        total: u64,
        /// Request body bytes received so far (progress against the Content-Length).
        received: u64,
    },
    /// A file is complete.
    FileReceived {
        /// The file.
        file: &'a FileInfo,
        /// Its size.
        size: u64,
    },
    /// A non-file field was read.
    Field {
        /// Its name.
        name: &'a str,
        /// Its value.
        value: &'a str,
    },
    /// Every part was read.
    Finished {
        /// How many files.
        files: usize,
        /// Their total size.
        bytes: u64,
    },
    /// The upload failed; its temporary files are being removed.
    Failed {
        /// Why.
        error: &'a UploadError,
    },
    /// The upload was abandoned mid-way (its future dropped); its temporary files are
    /// being removed.
    Dropped,
}

/// Read `req`'s `multipart/form-data` body, saving every file part into a new temporary
/// file in [`UploadOptions::dir`] and collecting the other fields.
///
/// Files are never held in memory: the body's chunks are gathered, without a copy,
/// into batches of [`buffer_bytes`](UploadOptions::buffer_bytes), each written in
/// vectored writes by the `blocking` thread pool while the next one gathers, so the
/// executor never waits on the disk.
/// On any error, and if the returned future is dropped, every temporary file of this
/// upload is removed (nothing is left behind when a client disconnects mid-file or a
/// limit is hit).
///
/// # Errors
///
/// [`UploadError::NotMultipart`] (400); [`UploadError::TempDir`] (500) when the directory
/// cannot be created; [`UploadError::TooLarge`] and parser limits (413); malformed
/// bodies (400); body read failures such as the client going away; [`UploadError::Io`]
/// (500). [`UploadError::response`] answers each.
pub async fn save_uploads(
    req: &mut Request,
    options: UploadOptions,
) -> Result<Uploads, UploadError> {
    let UploadOptions {
        dir,
        limits,
        max_file_bytes,
        max_total_bytes,
        max_files,
        buffer_bytes,
        on_event,
    } = options;
    let mut events = Events {
        callback: on_event,
        over: false,
    };
    events.emit(&UploadEvent::Started);
    let limits_beyond = Limits {
        file: max_file_bytes,
        total: max_total_bytes,
        files: max_files,
        buffer: buffer_bytes,
    };
    match save(req, &dir, limits, &limits_beyond, &mut events).await {
        Ok(uploads) => {
            events.emit(&UploadEvent::Finished {
                files: uploads.files.len(),
                bytes: uploads.files.iter().map(|f| f.size).sum(),
            });
            events.over = true;
            Ok(uploads)
        }
        Err(error) => {
            log::debug!("upload failed: {error}");
            events.emit(&UploadEvent::Failed { error: &error });
            events.over = true;
            Err(error)
        }
    }
}

/// The limits [`save`] enforces beyond the parser's.
struct Limits {
    file: u64,
    total: u64,
    files: usize,
    buffer: usize,
}

/// The event callback; reports `Dropped` if dropped before the upload is over.
struct Events {
    callback: Option<Callback>,
    over: bool,
}

impl Events {
    fn emit(&mut self, event: &UploadEvent<'_>) {
        if let Some(f) = &mut self.callback {
            f(event);
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        if !self.over {
            self.emit(&UploadEvent::Dropped);
        }
    }
}

async fn save(
    req: &mut Request,
    dir: &Path,
    parser_limits: MultipartLimits,
    limits: &Limits,
    events: &mut Events,
) -> Result<Uploads, UploadError> {
    let mut multipart = Multipart::from_request(req, parser_limits)?;
    let mut dir_ready = false;
    let mut files: Vec<UploadedFile> = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut total: u64 = 0;
    while let Some(mut part) = multipart.next_part().await? {
        if !part.is_file() {
            // The parser bounds field values (max_field_bytes).
            let bytes = part.bytes(usize::MAX).await?;
            let value = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            events.emit(&UploadEvent::Field {
                name: part.name(),
                value: &value,
            });
            fields.push((part.name().to_owned(), value));
            continue;
        }
        if files.len() >= limits.files {
            return Err(UploadError::TooLarge {
                limit: Limit::Files,
                max: limits.files as u64,
            });
        }
        if !dir_ready {
            create_dir(dir).await?;
            dir_ready = true;
        }
        let (file, temp) = create_temp(dir).await?;
        let mut info = FileInfo {
            index: files.len(),
            name: part.name().to_owned(),
            filename: part.filename().unwrap_or_default().into_owned(),
            filename_raw: part.filename_raw().unwrap_or("").to_owned(),
            content_type: part.content_type().map(str::to_owned),
            path: temp.path.clone(),
        };
        events.emit(&UploadEvent::FileOpened { file: &info });
        let mut writer = Writer::new(file, limits.buffer);
        let mut size: u64 = 0;
        while let Some(data) = part.chunk().await? {
            let n = data.len();
            writer.push(data);
            size += n as u64;
            total += n as u64;
            if size > limits.file {
                return Err(UploadError::TooLarge {
                    limit: Limit::FileBytes,
                    max: limits.file,
                });
            }
            if total > limits.total {
                return Err(UploadError::TooLarge {
                    limit: Limit::TotalBytes,
                    max: limits.total,
                });
            }
            if writer.buffered >= limits.buffer {
                writer.submit(&info, events, part.received()).await?;
            }
        }
        let received = multipart.received();
        writer.submit(&info, events, received).await?;
        writer.finish(&info, events, received).await?;
        info.path = temp.path.clone();
        events.emit(&UploadEvent::FileReceived { file: &info, size });
        files.push(UploadedFile { info, size, temp });
    }
    let fields = form_from_pairs(fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    Ok(Uploads { files, fields })
}

/// Pieces smaller than this are copied together rather than held one by one.
const SMALL_PIECE: usize = 4096;

/// A finished write: the file and the pieces back, and how it went.
type WriteDone = (File, Vec<Bytes>, io::Result<()>);

/// A temporary file's content on its way to disk: body pieces gathered (held, not
/// copied, except small ones) while the previous batch is written by the `blocking`
/// pool in vectored writes.
struct Writer {
    file: Option<File>,
    /// The batch being gathered, and its length in bytes.
    pieces: Vec<Bytes>,
    buffered: usize,
    /// Small pieces, copied together; goes into `pieces` before the next large one.
    small: Vec<u8>,
    /// The last batch's `Vec`, for the next one.
    spare: Vec<Bytes>,
    inflight: Option<blocking::Task<WriteDone>>,
    written: u64,
}

impl Writer {
    fn new(file: File, capacity: usize) -> Self {
        Self {
            file: Some(file),
            pieces: Vec::with_capacity(capacity / SMALL_PIECE + 2),
            buffered: 0,
            small: Vec::new(),
            spare: Vec::new(),
            inflight: None,
            written: 0,
        }
    }

    /// Add a piece of the file to the batch.
    fn push(&mut self, data: Bytes) {
        self.buffered += data.len();
        if data.len() < SMALL_PIECE {
            self.small.extend_from_slice(&data);
            if self.small.len() >= SMALL_PIECE {
                self.pieces
                    .push(Bytes::from(std::mem::take(&mut self.small)));
            }
            return;
        }
        if !self.small.is_empty() {
            self.pieces
                .push(Bytes::from(std::mem::take(&mut self.small)));
        }
        self.pieces.push(data);
    }

    /// Wait for the write in flight, if any, and report its pieces.
    async fn wait(
        &mut self,
        info: &FileInfo,
        events: &mut Events,
        received: u64,
    ) -> Result<(), UploadError> {
        if let Some(task) = self.inflight.take() {
            let (file, mut pieces, result) = task.await;
            result.map_err(UploadError::Io)?;
            for data in &pieces {
                self.written += data.len() as u64;
                events.emit(&UploadEvent::Written {
                    file: info,
                    data,
                    total: self.written,
                    received,
                });
            }
            pieces.clear();
            self.file = Some(file);
            self.spare = pieces;
        }
        Ok(())
    }

    /// Start writing the gathered batch (after the previous write is done).
    async fn submit(
        &mut self,
        info: &FileInfo,
        events: &mut Events,
        received: u64,
    ) -> Result<(), UploadError> {
        if !self.small.is_empty() {
            self.pieces
                .push(Bytes::from(std::mem::take(&mut self.small)));
        }
        if self.pieces.is_empty() {
            return Ok(());
        }
        self.wait(info, events, received).await?;
        let Some(mut file) = self.file.take() else {
            return Err(UploadError::Io(io::Error::other("temporary file lost")));
        };
        let pieces = std::mem::replace(&mut self.pieces, std::mem::take(&mut self.spare));
        self.buffered = 0;
        self.inflight = Some(blocking::unblock(move || {
            let result = write_pieces(&mut file, &pieces);
            (file, pieces, result)
        }));
        Ok(())
    }

    /// Write what is gathered and wait for it.
    async fn finish(
        &mut self,
        info: &FileInfo,
        events: &mut Events,
        received: u64,
    ) -> Result<(), UploadError> {
        self.submit(info, events, received).await?;
        self.wait(info, events, received).await
    }
}

/// Write every piece, in order, in as few vectored writes as the system allows.
fn write_pieces(file: &mut impl Write, pieces: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = pieces.iter().map(|b| IoSlice::new(b)).collect();
    let mut left = &mut slices[..];
    IoSlice::advance_slices(&mut left, 0);
    while !left.is_empty() {
        match file.write_vectored(left) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut left, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
