//! [`Files`]: static files from a directory, with content types, conditional GET
//! (`Last-Modified` / `If-Modified-Since`, `ETag` / `If-None-Match`), single byte ranges,
//! and no way out of the root.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use h1_core::StaticHeader;

mod cache;
mod escaped;
mod http;

use self::cache::{OpenCache, Opened};
use self::escaped::Escaped;
use self::http::{RangeSpec, parse_http_date, parse_range, weak_eq};
use crate::Response;
use crate::{Handler, Request};

/// The longest file name looked up (`NAME_MAX` on Linux and the BSDs): longer is `414`.
const NAME_MAX: usize = 255;
/// The longest request path looked up (`PATH_MAX` on Linux): longer is `414`.
const PATH_MAX: usize = 4096;

static ACCEPT_RANGES: StaticHeader = StaticHeader::new("Accept-Ranges", "bytes");
static NOSNIFF: StaticHeader = StaticHeader::new("X-Content-Type-Options", "nosniff");

/// How long an open file is served without looking it up again (by default).
const CACHE_VALID: Duration = Duration::from_secs(5);
/// How many open files are kept (by default).
const CACHE_FILES: usize = 256;

/// Serves the files under a directory: mount it on a `*` route
/// (`router.get("/static/*", Files::new("public")?)`) and `/static/a/b.css` answers
/// `public/a/b.css`; on a route without `*` it serves the request path itself.
///
/// - `Content-Type` from the extension (a built-in table; `application/octet-stream`
///   otherwise), `Last-Modified`, a weak `ETag`, `Accept-Ranges: bytes`.
/// - `304 Not Modified` for `If-None-Match` / `If-Modified-Since` (RFC 9110 §13).
/// - One byte range answers `206` with `Content-Range`; an unsatisfiable one `416`; several
///   ranges get the whole file (allowed by RFC 9110 §14.2). `If-Range` is honoured.
/// - A directory answers its `index.html` if there is one, else `404` (no listings).
/// - A path naming nothing servable is `404` (also through a file, `a.txt/x`, or a
///   symlink loop); a name over 255 bytes or a path over 4096 is `414`. These are logged
///   at debug level, the client's path escaped and cut to 128 bytes.
/// - Refused: `..` and `.` segments (also percent-encoded), encoded `/` or `\`, `\`, NUL
///   and other control characters, `:`, malformed escapes (`400`/`403`), hidden names
///   starting with `.` (`404`), and any path whose canonical form (symlinks resolved) is
///   outside the root (`403`).
/// - The body is a [`Response::file`]: `sendfile` on a plain TCP connection (Linux),
///   pieces read from the page cache (or, on a miss, on the `blocking` thread pool)
///   elsewhere. The executor never waits on the disk.
/// - Open files are kept for 5 seconds (up to 256 of them), as nginx's
///   `open_file_cache`: a hot file is served without resolving, opening or `fstat`-ing
///   it again, so a file changed in place may be served as it was (with its old length
///   and validators) for that long. [`Files::cache`] changes or turns this off.
#[derive(Debug, Clone)]
pub struct Files {
    root: Arc<Path>,
    index: Option<Arc<str>>,
    cache: Arc<OpenCache>,
}

impl Files {
    /// Serve the files under `root`.
    ///
    /// # Errors
    ///
    /// When `root` cannot be resolved (it does not exist, for example).
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        let root = std::fs::canonicalize(root)?;
        Ok(Self {
            root: root.into(),
            index: Some("index.html".into()),
            cache: Arc::new(OpenCache::new(CACHE_VALID, CACHE_FILES)),
        })
    }

    /// Keep up to `max_files` open files, each served for `valid` before it is looked up
    /// again (default 5 s and 256 files; `Duration::ZERO`: look every file up on every
    /// request).
    ///
    /// ```
    /// use std::time::Duration;
    /// use h1_server::router::Files;
    ///
    /// let files = Files::new(".").unwrap().cache(Duration::ZERO, 0);
    /// # let _ = files;
    /// ```
    #[must_use]
    pub fn cache(mut self, valid: Duration, max_files: usize) -> Self {
        self.cache = Arc::new(OpenCache::new(valid, max_files));
        self
    }

    /// The file a directory answers with (default `index.html`; `None`: directories are
    /// `404`).
    #[must_use]
    pub fn index(mut self, name: Option<&str>) -> Self {
        self.index = name.map(Into::into);
        self
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Handler for Files {
    type Output = Response;

    async fn call(&self, cx: Request) -> Response {
        let method = cx.method();
        if method != "GET" && method != "HEAD" {
            return Response::text(405, "method not allowed\n").header("Allow", "GET, HEAD");
        }
        let wanted = cx.rest().unwrap_or_else(|| cx.route_path());
        let now = Instant::now();
        if let Some(opened) = self.cache.get(wanted, now) {
            return respond(&cx, &opened);
        }
        let relative = match relative_path(wanted) {
            Ok(p) => p,
            Err(status) => return refuse(status),
        };
        if self.root.as_os_str().len() + relative.as_os_str().len() + 1 >= PATH_MAX {
            // The kernel would refuse it (`ENAMETOOLONG`), or look far for nothing.
            return refuse(414);
        }
        let (root, index) = (self.root.clone(), self.index.clone());
        let opened = blocking::unblock(move || open(&root, &relative, index.as_deref())).await;
        match opened {
            Ok(Some(opened)) => {
                let opened = Arc::new(opened);
                self.cache.put(wanted, now, opened.clone());
                respond(&cx, &opened)
            }
            Ok(None) => refuse(404),
            Err(e) => open_failed(wanted, &e),
        }
    }
}

fn refuse(status: u16) -> Response {
    let text = match status {
        400 => "bad request\n",
        403 => "forbidden\n",
        414 => "uri too long\n",
        _ => "not found\n",
    };
    Response::text(status, text)
}

/// The answer when resolving or opening the file failed: the client's fault (a path that
/// names nothing servable) is `404`/`403`/`414`, logged at debug; anything else is the
/// server's (`500`, logged as a warning). The path is logged escaped and cut short.
fn open_failed(wanted: &str, e: &io::Error) -> Response {
    match client_error_status(e) {
        Some(status) => {
            log::debug!("static file {}: {status} ({e})", Escaped::str(wanted));
            refuse(status)
        }
        None => {
            log::warn!("static file {}: {e}", Escaped::str(wanted));
            Response::text(500, "internal server error\n")
        }
    }
}

/// The status for an error caused by the request path, `None` for a server fault.
fn client_error_status(e: &io::Error) -> Option<u16> {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => return Some(404),
        io::ErrorKind::PermissionDenied => return Some(403),
        _ => {}
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::io::Errno;
        let errno = Errno::from_io_error(e)?;
        if errno == Errno::NAMETOOLONG {
            return Some(414);
        }
        // A symlink loop (ELOOP) or a path through a file (ENOTDIR): nothing there.
        if errno == Errno::LOOP || errno == Errno::NOTDIR {
            return Some(404);
        }
    }
    None
}

/// The checked relative path for a request path, or the status refusing it.
pub(crate) fn relative_path(wanted: &str) -> Result<PathBuf, u16> {
    if wanted.len() > PATH_MAX {
        return Err(414);
    }
    let mut out = PathBuf::new();
    for raw in wanted.split('/').filter(|s| !s.is_empty()) {
        let seg = decode_strict(raw)?;
        if seg.len() > NAME_MAX {
            return Err(414);
        }
        if seg == "." || seg == ".." {
            return Err(403);
        }
        if seg.starts_with('.') {
            return Err(404);
        }
        if seg
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':'))
        {
            return Err(403);
        }
        let mut parts = Path::new(&seg).components();
        match (parts.next(), parts.next()) {
            (Some(std::path::Component::Normal(_)), None) => out.push(&seg),
            _ => return Err(403),
        }
    }
    Ok(out)
}

/// Percent-decode a path segment; a malformed escape or invalid UTF-8 is a `400`.
fn decode_strict(s: &str) -> Result<String, u16> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let bytes = crate::percent_decode_strict(s.as_bytes()).ok_or(400u16)?;
    String::from_utf8(bytes).map_err(|_| 400)
}

/// Resolve and open (blocking): `None` when there is no file to serve.
fn open(root: &Path, relative: &Path, index: Option<&str>) -> io::Result<Option<Opened>> {
    let inside = |p: &Path| -> io::Result<PathBuf> {
        let real = std::fs::canonicalize(p)?;
        if real.starts_with(root) {
            Ok(real)
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "outside the root",
            ))
        }
    };
    let mut real = inside(&root.join(relative))?;
    if std::fs::metadata(&real)?.is_dir() {
        let Some(index) = index else {
            return Ok(None);
        };
        real = inside(&real.join(index))?;
    }
    Opened::new(File::open(&real)?, &real)
}

/// The response for an opened file: conditional, ranged or whole.
fn respond(cx: &Request, opened: &Opened) -> Response {
    let (len, mtime) = (opened.len, opened.mtime);
    let (last_modified, etag) = (opened.last_modified.as_ref(), &*opened.etag);
    let with_validators = |mut r: Response| {
        if let Some(lm) = last_modified {
            r = r.header("Last-Modified", lm.as_str());
        }
        r.header("ETag", etag)
    };

    // RFC 9110 §13.2.2: If-None-Match, else If-Modified-Since (GET and HEAD only here).
    let not_modified = match cx.header("if-none-match") {
        Some(tags) => tags
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || weak_eq(t, etag)),
        None => match (
            cx.header("if-modified-since").and_then(parse_http_date),
            mtime,
        ) {
            (Some(since), Some(m)) => m <= since,
            _ => false,
        },
    };
    if not_modified {
        return with_validators(Response::empty(304));
    }

    let mut range = cx
        .header("range")
        .map_or(RangeSpec::Whole, |r| parse_range(r, len));
    if let Some(cond) = cx.header("if-range") {
        // Our entity tag is weak and If-Range needs a strong match (RFC 9110 §13.1.5):
        // only the exact Last-Modified date keeps the range.
        let current = last_modified.is_some_and(|lm| lm.as_str() == cond.trim());
        if !current {
            range = RangeSpec::Whole;
        }
    }
    let (status, start, end) = match range {
        RangeSpec::Whole => (200, 0, len),
        RangeSpec::Part(a, b) => (206, a, b + 1),
        RangeSpec::Unsatisfiable => {
            return with_validators(Response::text(416, "range not satisfiable\n"))
                .header("Content-Range", format!("bytes */{len}"));
        }
    };
    let body = Response::file(status, opened.file.clone(), start, end - start);
    let mut r = with_validators(body)
        .header("Content-Type", opened.content_type)
        .header_static(&ACCEPT_RANGES)
        .header_static(&NOSNIFF);
    if status == 206 {
        r = r.header("Content-Range", format!("bytes {start}-{}/{len}", end - 1));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_relative_paths_are_refused() {
        for bad in [
            "/..",
            "/a/../b",
            "/%2e%2e/x",
            "/%2E%2e/x",
            "/a%2fb",
            "/a%2F..%2Fb",
            "/a%5cb",
            "/a\\b",
            "/a%00b",
            "/%",
            "/%zz",
            "/.env",
            "/.git/config",
            "/a/%2e/b",
            "/C:/x",
            "/%ff",
        ] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
        assert_eq!(
            relative_path("/a/b%20c.txt"),
            Ok(PathBuf::from("a/b c.txt"))
        );
        assert_eq!(relative_path("//a///b"), Ok(PathBuf::from("a/b")));
        assert_eq!(relative_path(""), Ok(PathBuf::new()));
    }
}
