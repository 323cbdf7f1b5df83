//! Uploads: `multipart/form-data` request bodies read as a stream of parts, saved to
//! temporary files without ever holding a file in memory, and urlencoded forms parsed
//! with limits.
//!
//! - [`Multipart`] reads a request body part by part on top of h1-core's sans-IO
//!   parser ([`h1_core::Multipart`]): [`next_part`](Multipart::next_part), then small
//!   fields as text ([`Part::text`]) and files as chunks ([`Part::chunk`]).
//! - [`save_uploads`] does it all in one call: every file part goes to a temporary file
//!   in a directory of your choice (written off the executor thread by the `blocking`
//!   pool, in large chunks), every field into a [`Form`](crate::Form), with
//!   [`UploadEvent`]s for progress and running hashes. Temporary files are removed when
//!   the [`Uploads`] value is dropped, unless [`persist`](UploadedFile::persist)ed, and
//!   when the upload fails (a limit, a malformed body, a client gone mid-file).
//! - [`parse_form`], [`read_form`] and [`query_form`] decode
//!   `application/x-www-form-urlencoded` text with [`FormLimits`].
//!
//! File names come decoded ([`UploadedFile::filename`], [`Part::filename`]), raw on request
//! (`filename_raw`), and made safe for a save path by [`sanitize_filename`]
//! ([`UploadedFile::sanitized_filename`]).
//!
//! Every error is an [`UploadError`] with the [status](UploadError::status) to answer:
//! 413 for a limit, 400 for a malformed body, 500 for the server's own I/O.
//!
//! ```no_run
//! use h1_server::multipart::{UploadEvent, UploadOptions, save_uploads};
//! use h1_server::{Request, Response};
//!
//! async fn upload(mut req: Request) -> Response {
//!     let options = UploadOptions::new("/tmp/uploads").on_event(|event| {
//!         if let UploadEvent::FileReceived { file, size } = event {
//!             log::info!("received {:?}: {size} bytes", file.filename());
//!         }
//!     });
//!     match save_uploads(&mut req, options).await {
//!         Ok(mut uploads) => {
//!             for file in uploads.files_mut() {
//!                 let to = format!("/srv/files/{}", file.index());
//!                 if let Err(e) = file.persist(&to).await {
//!                     return Response::text(500, format!("cannot keep the file: {e}\n"));
//!                 }
//!             }
//!             Response::text(200, format!("{} files\n", uploads.files().len()))
//!         }
//!         Err(e) => e.response(),
//!     }
//! }
//! ```

mod error;
mod filename;
mod files;
mod form;
mod reader;
mod save;

pub use error::{Limit, UploadError};
pub use filename::{FALLBACK_FILENAME, MAX_FILENAME_BYTES, sanitize_filename};
pub use files::{FileInfo, UploadedFile, Uploads};
pub use form::{FormLimits, parse_form, query_form, read_form};
pub use h1_core::{MultipartError, MultipartLimits, PartHead};
pub use reader::{Multipart, Part};
pub use save::{UploadEvent, UploadOptions, save_uploads};
