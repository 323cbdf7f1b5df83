//! The upload handler shared by the `upload_*` tests: `POST /save` runs `save_uploads`
//! and records its events, called through the test kit or served over loopback where the
//! socket is the point (curl, a client going away, memory under a real connection). It
//! stays here, not in `integration_tests` (the socket-test library, where the temporary
//! directory, hash and multipart bodies live), because it needs
//! h1-server's `multipart` feature: that library builds against the driver alone so that
//! depending on it does not turn on features h1-server's own tests gate on.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use h1_server::multipart::{UploadEvent, UploadOptions, save_uploads};
use h1_server::testing::TestRequest;
use h1_server::{Request, Response, Server, ServerHandle};
use integration_tests::fixtures::Fnv;

/// Run `fut`, failing the test after 60 s.
pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    integration_tests::run_within(Duration::from_secs(60), fut)
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

    /// Like [`post`](Self::post), with the body arriving in `pieces` (chunked).
    pub fn post_pieces(&self, content_type: &str, pieces: Vec<Vec<u8>>) -> (u16, String) {
        let chunks = pieces.into_iter().map(|p| Ok(bytes::Bytes::from(p)));
        let mut req = TestRequest::post("/save")
            .header("Content-Type", content_type)
            .body_stream(futures_lite::stream::iter(chunks))
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
