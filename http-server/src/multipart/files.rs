//! What [`save_uploads`](super::save_uploads) gives back: [`Uploads`], each
//! [`UploadedFile`] with its [`FileInfo`], and the temporary files behind them.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::error::UploadError;
use crate::Form;

/// A file part's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub(super) index: usize,
    pub(super) name: String,
    pub(super) filename: String,
    pub(super) filename_raw: String,
    pub(super) content_type: Option<String>,
    pub(super) path: PathBuf,
}

impl FileInfo {
    /// Its position among the files of the upload (0, 1, ...).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The form field name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file name the client meant, decoded (possibly empty): `filename*` when sent,
    /// else `filename` with the browsers' `%22`, `%0D`, `%0A` escapes decoded. Never use
    /// it as a path: [`sanitized_filename`](Self::sanitized_filename) is safe there.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The `filename` parameter exactly as sent (quotes and backslash escapes removed,
    /// nothing decoded).
    pub fn filename_raw(&self) -> &str {
        &self.filename_raw
    }

    /// [`filename`](Self::filename) made safe as one component of a save path (see
    /// [`sanitize_filename`](super::sanitize_filename)): no separators, no `..`, no
    /// control characters, no leading dot, bounded length, `"file"` when nothing is left.
    pub fn sanitized_filename(&self) -> String {
        super::sanitize_filename(&self.filename)
    }

    /// The Content-Type the client sent, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Where the file is: its temporary path, or where it was persisted.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A received file: its [`FileInfo`], its size, and its temporary file, removed when
/// this is dropped unless [`persist`](Self::persist)ed or [`keep`](Self::keep)t.
#[derive(Debug)]
pub struct UploadedFile {
    pub(super) info: FileInfo,
    pub(super) size: u64,
    pub(super) temp: TempPath,
}

impl UploadedFile {
    /// Its description.
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// The form field name.
    pub fn name(&self) -> &str {
        self.info.name()
    }

    /// The file name the client meant, decoded (see [`FileInfo::filename`]). Never use it
    /// as a path: [`sanitized_filename`](Self::sanitized_filename) is safe there.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(file: &mut h1_server::multipart::UploadedFile) -> std::io::Result<()> {
    /// let to = std::path::Path::new("/srv/files").join(file.sanitized_filename());
    /// file.persist(&to).await?;
    /// # Ok(()) }
    /// ```
    pub fn filename(&self) -> &str {
        self.info.filename()
    }

    /// The `filename` parameter exactly as sent (see [`FileInfo::filename_raw`]).
    pub fn filename_raw(&self) -> &str {
        self.info.filename_raw()
    }

    /// The file name made safe as one component of a save path (see
    /// [`FileInfo::sanitized_filename`]).
    pub fn sanitized_filename(&self) -> String {
        self.info.sanitized_filename()
    }

    /// The Content-Type the client sent, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.info.content_type()
    }

    /// Its position among the files of the upload.
    pub fn index(&self) -> usize {
        self.info.index()
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Where it is now.
    pub fn path(&self) -> &Path {
        self.info.path()
    }

    /// Move the file to `to` (a rename; a copy and a removal across file systems), off
    /// the executor thread. It is then no longer removed on drop.
    ///
    /// # Errors
    ///
    /// The I/O error; the file then stays where it was (and is still removed on drop).
    pub async fn persist(&mut self, to: impl AsRef<Path>) -> io::Result<()> {
        let from = self.info.path.clone();
        let to = to.as_ref().to_path_buf();
        let dest = to.clone();
        blocking::unblock(move || match std::fs::rename(&from, &dest) {
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                std::fs::copy(&from, &dest)?;
                std::fs::remove_file(&from)
            }
            other => other,
        })
        .await?;
        self.temp.disarm();
        self.info.path = to;
        Ok(())
    }

    /// Keep the temporary file (it is no longer removed on drop); its path.
    pub fn keep(mut self) -> PathBuf {
        self.temp.disarm();
        self.info.path.clone()
    }
}

/// What [`save_uploads`](super::save_uploads) returns: the files (removed on drop unless persisted) and the
/// fields.
#[derive(Debug)]
pub struct Uploads {
    pub(super) files: Vec<UploadedFile>,
    pub(super) fields: Form,
}

impl Uploads {
    /// The files, in the order they came.
    pub fn files(&self) -> &[UploadedFile] {
        &self.files
    }

    /// The files, to [`persist`](UploadedFile::persist) them.
    pub fn files_mut(&mut self) -> &mut [UploadedFile] {
        &mut self.files
    }

    /// The first file of field `name`.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files.iter().find(|f| f.name() == name)
    }

    /// The non-file fields, in order.
    pub fn fields(&self) -> &Form {
        &self.fields
    }

    /// Split into the files and the fields.
    pub fn into_parts(self) -> (Vec<UploadedFile>, Form) {
        (self.files, self.fields)
    }
}

/// A temporary file's path, removed (off the executor thread) when dropped while armed.
#[derive(Debug)]
pub(super) struct TempPath {
    pub(super) path: PathBuf,
    pub(super) armed: bool,
    /// Set on drop: a creation still in flight removes what it created.
    pub(super) dropped: Arc<AtomicBool>,
}

impl TempPath {
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.armed {
            self.dropped.store(true, Ordering::SeqCst);
            let path = std::mem::take(&mut self.path);
            blocking::unblock(move || match std::fs::remove_file(&path) {
                Ok(()) => log::debug!("removed temporary file {}", path.display()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("cannot remove temporary file {}: {e}", path.display()),
            })
            .detach();
        }
    }
}

pub(super) async fn create_dir(dir: &Path) -> Result<(), UploadError> {
    let path = dir.to_path_buf();
    let result = blocking::unblock(move || {
        std::fs::create_dir_all(&path)?;
        if std::fs::metadata(&path)?.is_dir() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ))
        }
    })
    .await;
    result.map_err(|source| UploadError::TempDir {
        path: dir.to_path_buf(),
        source,
    })
}

/// A new, empty temporary file in `dir` (never an existing one: `create_new`).
pub(super) async fn create_temp(dir: &Path) -> Result<(File, TempPath), UploadError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut tries = 0;
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(
            "upload-{}-{n}-{nanos:08x}.part",
            std::process::id()
        ));
        let mut temp = TempPath {
            path: path.clone(),
            armed: true,
            dropped: Arc::new(AtomicBool::new(false)),
        };
        let dropped = Arc::clone(&temp.dropped);
        let result = blocking::unblock(move || {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path);
            // Dropped while creating: the drop's removal may have run first.
            if file.is_ok() && dropped.load(Ordering::SeqCst) {
                let _ = std::fs::remove_file(&path);
            }
            file
        })
        .await;
        match result {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => {
                temp.disarm();
                tries += 1;
            }
            Err(e) => {
                temp.disarm();
                return Err(UploadError::Io(e));
            }
        }
    }
}
