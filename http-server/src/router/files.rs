//! [`Files`]: static files from a directory, with content types, conditional GET
//! (`Last-Modified` / `If-Modified-Since`, `ETag` / `If-None-Match`), single byte ranges,
//! and no way out of the root.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use futures_lite::FutureExt;
use h1_core::HttpDate;

use crate::{Body, Frame, Response};
use crate::{Handler, Request};

/// How much of a file one body frame carries.
const CHUNK: u64 = 64 * 1024;

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
/// - Refused: `..` and `.` segments (also percent-encoded), encoded `/` or `\`, `\`, NUL
///   and other control characters, `:`, malformed escapes (`400`/`403`), hidden names
///   starting with `.` (`404`), and any path whose canonical form (symlinks resolved) is
///   outside the root (`403`).
/// - Files are read on the `blocking` thread pool in 64 KiB pieces and streamed; the
///   executor never waits on the disk.
#[derive(Debug, Clone)]
pub struct Files {
    root: Arc<Path>,
    index: Option<Arc<str>>,
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
        })
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
        let relative = match relative_path(wanted) {
            Ok(p) => p,
            Err(status) => return refuse(status),
        };
        let root = self.root.clone();
        let index = self.index.clone();
        let opened = blocking::unblock(move || open(&root, &relative, index.as_deref())).await;
        let (file, meta, real) = match opened {
            Ok(Some(found)) => found,
            Ok(None) => return refuse(404),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return refuse(404),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return refuse(403),
            Err(e) => {
                log::warn!("static file {wanted:?}: {e}");
                return Response::text(500, "internal server error\n");
            }
        };
        let name = real.file_name().and_then(|n| n.to_str()).unwrap_or("");
        respond(&cx, file, &meta, name)
    }
}

fn refuse(status: u16) -> Response {
    let text = match status {
        400 => "bad request\n",
        403 => "forbidden\n",
        _ => "not found\n",
    };
    Response::text(status, text)
}

/// The checked relative path for a request path, or the status refusing it.
pub(crate) fn relative_path(wanted: &str) -> Result<PathBuf, u16> {
    let mut out = PathBuf::new();
    for raw in wanted.split('/').filter(|s| !s.is_empty()) {
        let seg = decode_strict(raw)?;
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

/// An open file, its metadata and its canonical path.
type Opened = (File, Metadata, PathBuf);

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
    let file = File::open(&real)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    Ok(Some((file, meta, real)))
}

/// The response for an opened file: conditional, ranged or whole.
fn respond(cx: &Request, file: File, meta: &Metadata, name: &str) -> Response {
    let len = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let last_modified = mtime.map(HttpDate::from_unix_secs);
    let etag = format!("W/\"{len:x}-{:x}\"", mtime.unwrap_or(0));
    let with_validators = |mut r: Response| {
        if let Some(lm) = &last_modified {
            r = r.header("Last-Modified", lm.as_str());
        }
        r.header("ETag", &etag)
    };

    // RFC 9110 §13.2.2: If-None-Match, else If-Modified-Since (GET and HEAD only here).
    let not_modified = match cx.header("if-none-match") {
        Some(tags) => tags
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || weak_eq(t, &etag)),
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

    let content_type = content_type(name);
    let mut range = cx
        .header("range")
        .map_or(RangeSpec::Whole, |r| parse_range(r, len));
    if let Some(cond) = cx.header("if-range") {
        // Our entity tag is weak and If-Range needs a strong match (RFC 9110 §13.1.5):
        // only the exact Last-Modified date keeps the range.
        let current = last_modified
            .as_ref()
            .is_some_and(|lm| lm.as_str() == cond.trim());
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
    let body = FileBody {
        file: Some(file),
        offset: start,
        remaining: end - start,
        task: None,
    };
    let mut r = with_validators(Response::stream(status, body))
        .header("Content-Type", content_type)
        .header("Accept-Ranges", "bytes")
        .header("X-Content-Type-Options", "nosniff");
    if status == 206 {
        r = r.header("Content-Range", format!("bytes {start}-{}/{len}", end - 1));
    }
    r
}

fn weak_eq(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

/// What a `Range` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    /// No usable range: the whole file (also for several ranges).
    Whole,
    /// Bytes `a..=b`.
    Part(u64, u64),
    /// `416`.
    Unsatisfiable,
}

/// Parse a `Range` header for a body of `len` bytes (RFC 9110 §14.1.2); anything
/// malformed is ignored (the whole body).
pub(crate) fn parse_range(header: &str, len: u64) -> RangeSpec {
    let Some((unit, spec)) = header.split_once('=') else {
        return RangeSpec::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeSpec::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeSpec::Whole;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (a.is_empty(), num(a), num(b)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || len == 0 {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Part(len.saturating_sub(n), len - 1)
            }
        }
        (false, Some(start), None) if b.is_empty() => {
            if start >= len {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Part(start, len - 1)
            }
        }
        (false, Some(start), Some(end)) if start <= end => {
            if start >= len {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Part(start, end.min(len - 1))
            }
        }
        _ => RangeSpec::Whole,
    }
}

/// Parse an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds; other
/// (obsolete) formats are not understood, so the condition is ignored (RFC 9110 §13.1.3).
pub(crate) fn parse_http_date(s: &str) -> Option<u64> {
    let mut it = s.split_ascii_whitespace();
    let _weekday = it.next()?.strip_suffix(',')?;
    let day: u32 = it.next()?.parse().ok()?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month_name = it.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as u32 + 1;
    let year: i64 = it.next()?.parse().ok()?;
    let mut hms = it.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if it.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    (days >= 0).then(|| days as u64 * 86_400 + h * 3600 + m * 60 + sec)
}

/// Howard Hinnant's days-from-civil.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `Content-Type` for a file name, by extension.
pub(crate) fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit('/')
        .next()
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("xml") => "application/xml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("gz") => "application/gzip",
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("mp3") => "audio/mpeg",
        Some("ogg") => "audio/ogg",
        Some("wav") => "audio/wav",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        Some("otf") => "font/otf",
        _ => "application/octet-stream",
    }
}

/// A file range read on the blocking pool, one piece at a time.
struct FileBody {
    file: Option<File>,
    offset: u64,
    remaining: u64,
    task: Option<blocking::Task<(File, io::Result<Vec<u8>>)>>,
}

impl Body for FileBody {
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        if this.task.is_none() {
            let Some(mut file) = this.file.take() else {
                return Poll::Ready(Some(Err(io::Error::other(
                    "file body polled after an error",
                ))));
            };
            let (offset, want) = (this.offset, this.remaining.min(CHUNK) as usize);
            this.task = Some(blocking::unblock(move || {
                let read = (|| {
                    file.seek(SeekFrom::Start(offset))?;
                    let mut buf = vec![0; want];
                    let mut got = 0;
                    while got < want {
                        match file.read(&mut buf[got..]) {
                            Ok(0) => break,
                            Ok(n) => got += n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                    buf.truncate(got);
                    Ok(buf)
                })();
                (file, read)
            }));
        }
        let Some(task) = &mut this.task else {
            return Poll::Pending;
        };
        let (file, read) = match task.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(done) => done,
        };
        this.task = None;
        this.file = Some(file);
        match read {
            Ok(buf) if buf.is_empty() => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being sent",
            )))),
            Ok(buf) => {
                this.offset += buf.len() as u64;
                this.remaining -= buf.len() as u64;
                Poll::Ready(Some(Ok(Frame::Data(Bytes::from(buf)))))
            }
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    fn length(&self) -> Option<u64> {
        Some(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        use RangeSpec::*;
        assert_eq!(parse_range("bytes=0-9", 100), Part(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), Part(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Part(90, 99));
        assert_eq!(parse_range("bytes=-1000", 100), Part(0, 99));
        assert_eq!(parse_range("bytes=50-1000", 100), Part(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=100-200", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Whole);
        assert_eq!(parse_range("bytes=9-1", 100), Whole);
        assert_eq!(parse_range("items=0-1", 100), Whole);
        assert_eq!(parse_range("bytes=a-b", 100), Whole);
        assert_eq!(parse_range("bytes=+1-2", 100), Whole);
        assert_eq!(parse_range("bytes=1", 100), Whole);
    }

    #[test]
    fn http_dates_round_trip() {
        for secs in [0, 784_111_777, 951_782_400, 1_700_000_000, 4_102_444_799] {
            let d = HttpDate::from_unix_secs(secs);
            assert_eq!(parse_http_date(d.as_str()), Some(secs), "{d}");
        }
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"), None);
        assert_eq!(parse_http_date("garbage"), None);
    }

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

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("/a/b.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("x.png"), "image/png");
        assert_eq!(content_type("/dir.d/noext"), "application/octet-stream");
    }
}
