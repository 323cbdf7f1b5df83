//! Shared by the `upload_*` tests: an upload handler that records its events, called
//! through the test kit or served over loopback where the socket is the point (curl, a
//! client going away, memory under a real connection), a temporary directory that cleans
//! up after itself, raw HTTP over std sockets.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::{FutureExt, future};
use h1_server::multipart::{UploadEvent, UploadOptions, save_uploads};
use h1_server::testing::TestRequest;
use h1_server::{Request, Response, Server, ServerHandle};

/// Report that `test` cannot run (`why`): a notice on stderr, and the caller returns.
/// Under `CI=true` this panics instead: CI installs every tool the tests use, so a skip
/// there is a failure, not a pass that hides a missing install step (the same rule as
/// `integration_tests::skip`, which this package cannot depend on).
pub fn skip(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {why}, and CI=true does not allow skipping (.ci/run installs it)");
    }
    eprintln!("SKIPPED {test}: {why} (.ci/run installs it)");
}

pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    future::block_on(fut.or(async {
        Timer::after(Duration::from_secs(60)).await;
        panic!("test timed out")
    }))
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "http-upload-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The names of the files in `dir` (an absent directory has none).
    pub fn entries(dir: &Path) -> Vec<String> {
        match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Wait (bounded) until `dir` has no files; panics with what is left.
    pub fn wait_empty(dir: &Path) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = Self::entries(dir);
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "temporary files left behind in {}: {left:?}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// FNV-1a, 64 bits: a running hash cheap enough for tests.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }

    pub fn of(data: &[u8]) -> u64 {
        let mut h = Self::default();
        h.update(data);
        h.0
    }
}

/// The upload server: `POST /save` runs `save_uploads` with `options()` and answers one
/// line per file (`file NAME FILENAME SIZE HASH-OF-WRITTEN-EVENTS HASH-OF-FILE`) and per
/// field (`field NAME=VALUE`); errors answer with their status and message. Events are
/// recorded as text lines in `events`.
pub struct Upload {
    /// The server, when started with [`Upload::start`].
    pub handle: Option<ServerHandle>,
    pub events: Arc<Mutex<Vec<String>>>,
    options: Arc<dyn Fn() -> UploadOptions + Send + Sync>,
    hash_files: bool,
}

impl Upload {
    /// The handler, called through the test kit with [`post`](Self::post): no socket.
    pub fn new(
        options: impl Fn() -> UploadOptions + Send + Sync + 'static,
        hash_files: bool,
    ) -> Self {
        Self {
            handle: None,
            events: Arc::new(Mutex::new(Vec::new())),
            options: Arc::new(options),
            hash_files,
        }
    }

    /// The handler, for a [`TestConnection`](h1_server::testing::TestConnection).
    pub fn handler(&self) -> impl h1_server::Handler {
        let log = Arc::clone(&self.events);
        let options = Arc::clone(&self.options);
        let hash_files = self.hash_files;
        move |mut req: Request| {
            let log = Arc::clone(&log);
            let options = Arc::clone(&options);
            async move { save(&mut req, options(), log, hash_files).await }
        }
    }

    /// The handler served on a loopback port ([`addr`](Self::addr)).
    pub fn start(
        options: impl Fn() -> UploadOptions + Send + Sync + 'static,
        hash_files: bool,
    ) -> Self {
        let mut upload = Self::new(options, hash_files);
        let log = Arc::clone(&upload.events);
        let options = Arc::clone(&upload.options);
        upload.handle = Some(block_on(async move {
            let server = Server::bind("127.0.0.1:0").await.unwrap();
            server.serve(move |mut req: Request| {
                let log = Arc::clone(&log);
                let options = Arc::clone(&options);
                async move { save(&mut req, options(), log, hash_files).await }
            })
        }));
        upload
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle
            .as_ref()
            .expect("started with Upload::start")
            .local_addr()
    }

    /// POST `body` to `/save` with `content_type` through the test kit; the response's
    /// status and body text.
    pub fn post(&self, content_type: &str, body: &[u8]) -> (u16, String) {
        let mut req = TestRequest::post("/save")
            .header("Content-Type", content_type)
            .body(body.to_vec())
            .build();
        let log = Arc::clone(&self.events);
        let response = block_on(save(&mut req, (self.options)(), log, self.hash_files));
        let mut r = h1_server::testing::TestResponse::new(response);
        (r.status(), block_on(r.text()).unwrap())
    }

    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    /// Wait (bounded) for an event line starting with `prefix`.
    pub fn wait_event(&self, prefix: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.events().iter().any(|e| e.starts_with(prefix)) {
            assert!(
                Instant::now() < deadline,
                "no {prefix:?} event: {:?}",
                self.events()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

async fn save(
    req: &mut Request,
    options: UploadOptions,
    log: Arc<Mutex<Vec<String>>>,
    hash_files: bool,
) -> Response {
    let hashes = Arc::new(Mutex::new(Vec::<Fnv>::new()));
    let h = Arc::clone(&hashes);
    let events = Arc::clone(&log);
    let options = options.on_event(move |event| {
        let line = match event {
            UploadEvent::Started => "started".to_owned(),
            UploadEvent::FileOpened { file } => {
                h.lock().unwrap().push(Fnv::default());
                format!(
                    "opened {} {} {}",
                    file.index(),
                    file.name(),
                    file.filename()
                )
            }
            UploadEvent::Written {
                file, data, total, ..
            } => {
                if hash_files {
                    h.lock().unwrap()[file.index()].update(data);
                }
                format!("written {} {} {total}", file.index(), data.len())
            }
            UploadEvent::FileReceived { file, size } => {
                format!("received {} {size}", file.index())
            }
            UploadEvent::Field { name, value } => format!("field {name}={value}"),
            UploadEvent::Finished { files, bytes } => format!("finished {files} {bytes}"),
            UploadEvent::Failed { error } => format!("failed {} {error}", error.status()),
            UploadEvent::Dropped => "dropped".to_owned(),
            _ => "other".to_owned(),
        };
        events.lock().unwrap().push(line);
    });
    match save_uploads(req, options).await {
        Ok(uploads) => {
            let mut out = String::new();
            for (i, f) in uploads.files().iter().enumerate() {
                let written = hashes.lock().unwrap()[i].0;
                let on_disk = if hash_files {
                    Fnv::of(&std::fs::read(f.path()).unwrap())
                } else {
                    0
                };
                out += &format!(
                    "file {} {} {} {:016x} {:016x} {}\n",
                    f.name(),
                    f.filename(),
                    f.size(),
                    written,
                    on_disk,
                    f.content_type().unwrap_or("-")
                );
            }
            for (name, value) in uploads.fields().iter() {
                out += &format!("field {name}={value}\n");
            }
            Response::text(200, out)
        }
        Err(e) => e.response(),
    }
}

/// One part: name, filename, content type, content.
pub type PartSpec<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A multipart body from its parts.
pub fn multipart_body(boundary: &str, parts: &[PartSpec<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, ct, data) in parts {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = filename {
            out.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = ct {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// POST `body` to `/save` with `content_type` over a fresh connection; the response's
/// status and body text.
pub fn post(addr: SocketAddr, content_type: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST /save HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (and close) before reading everything: ignore write errors.
    let _ = s.write_all(body);
    read_response(&mut s)
}

/// Read a whole `Connection: close` response: status and body text.
pub fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no response: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Bytes that look like multipart content: binary, CRLFs, dashes, near-boundaries.
pub fn tricky_content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 16 {
            0 => out.extend_from_slice(b"\r\n--"),
            1 => out.extend_from_slice(b"\r\n--Bd7"),
            2 => out.extend_from_slice(b"\r\n"),
            _ => out.push(x as u8),
        }
    }
    out.truncate(len);
    out
}
