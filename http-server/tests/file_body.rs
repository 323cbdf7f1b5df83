//! File bodies (`Response::file`, `router::Files`) and large in-memory bodies written
//! without a copy: over the in-memory transport of the test kit (the read/write
//! fallback), and over loopback TCP (`sendfile`, one vectored write), checked byte for
//! byte, in order behind pipelined requests, with curl for ranges and validators.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_lite::future::block_on;
use h1_server::router::{Files, Router};
use h1_server::testing::TestConnection;
use h1_server::{Bytes, Request, Response, ServerConfig};
use integration_tests::Client;

/// A fresh directory with `small.txt` (4 KiB) and `big.bin` (`big` bytes), removed on drop.
struct Dir {
    path: PathBuf,
    small: Vec<u8>,
    big: Vec<u8>,
}

impl Dir {
    fn new(big: usize) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "file-body-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        let small: Vec<u8> = (0..4096u32).map(|i| b'a' + (i % 26) as u8).collect();
        let big: Vec<u8> = (0..big as u32)
            .map(|i| (i.wrapping_mul(7) % 251) as u8)
            .collect();
        std::fs::write(path.join("small.txt"), &small).unwrap();
        std::fs::write(path.join("big.bin"), &big).unwrap();
        Self { path, small, big }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `/file` (a range of big.bin through `Response::file`), `/mem` (an in-memory body of
/// `mem` bytes), `/small`, and the directory under `/static/*`.
fn app(dir: &Dir, mem: Bytes) -> Router {
    let path: Arc<Path> = dir.path.clone().into();
    let mut r = Router::new();
    r.get("/file", move |req: Request| {
        let file = std::fs::File::open(path.join("big.bin")).unwrap();
        let len = file.metadata().unwrap().len();
        let (offset, n) = match req.query() {
            Some(q) => {
                let (a, b) = q.split_once('-').unwrap();
                (a.parse().unwrap(), b.parse().unwrap())
            }
            None => (0, len),
        };
        async move { Response::file(200, file, offset, n) }
    })
    .get("/mem", move |_req: Request| {
        let mem = mem.clone();
        async move { Response::bytes(200, mem) }
    })
    .get("/small", |_req: Request| async { "small" })
    .get("/static/*", Files::new(&dir.path).unwrap());
    r
}

#[test]
fn file_and_large_bodies_over_the_in_memory_transport() {
    let dir = Dir::new(300_000);
    let mem = Bytes::from(dir.big[..100_000].to_vec());
    block_on(async {
        let mut conn = TestConnection::new(app(&dir, mem.clone()), ServerConfig::new());
        conn.write(
            b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /mem HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /file?1000-5000 HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /small HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
        let r = conn.read_response().await;
        assert_eq!(r.header("content-length"), Some("300000"));
        assert!(r.body == dir.big, "whole file differs");
        let r = conn.read_response().await;
        assert!(r.body == mem, "in-memory body differs");
        let r = conn.read_response().await;
        assert!(r.body == dir.big[1000..6000], "file range differs");
        assert_eq!(conn.read_response().await.body, b"small");
        // HEAD: the length of the file and no body (the next response follows at once).
        conn.write(b"HEAD /file HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let bytes = conn.read_until(|b| b.ends_with(b"small")).await;
        let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
        assert!(text.contains("content-length: 300000\r\n"), "{text}");
        assert!(
            bytes.len() < 1000,
            "a body after HEAD: {} bytes",
            bytes.len()
        );
    });
}

#[test]
fn sendfile_and_vectored_writes_over_loopback_keep_order() {
    // Larger than the socket buffers: sendfile and the vectored write hit a full socket
    // (EAGAIN) and must wait for it to drain.
    let dir = Dir::new(24 << 20);
    let mem = Bytes::from(dir.big[..(3 << 20)].to_vec());
    let handle = serve(app(&dir, mem.clone()));
    let mut s = Client::connect(handle.local_addr());
    s.send(
        b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /file HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /mem HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /file?7-100000 HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /small HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(s.read_response().body, b"small");
    let r = s.read_response();
    let (head, body) = (r.head, r.body);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body == dir.big, "sendfile body differs");
    assert!(s.read_response().body == mem, "in-memory body differs");
    assert!(s.read_response().body == dir.big[7..100_007]);
    assert_eq!(s.read_response().body, b"small");
    // A file opened per request: served again on the same connection.
    s.send(b"GET /file?0-4096 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(s.read_response().body == dir.big[..4096]);
}

/// `curl -s -D - -o BODY ARGS URL`: the status, the head, the body.
fn curl(url: &str, args: &[&str], out: &Path) -> (u16, String, Vec<u8>) {
    let _ = std::fs::remove_file(out);
    let o = Command::new("curl")
        .args(["-s", "--max-time", "20", "-D", "-", "-o"])
        .arg(out)
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&o.stdout).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head, std::fs::read(out).unwrap_or_default())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn static_files_with_curl_ranges_validators_head() {
    if !integration_tests::has_tool("curl", "static_files_with_curl_ranges_validators_head") {
        return;
    }
    let dir = Dir::new(3 << 20);
    let handle = serve(app(&dir, Bytes::new()));
    let base = format!("http://{}/static", handle.local_addr());
    let out = dir.path.join("curl.out");
    let (status, head, body) = curl(&format!("{base}/small.txt"), &[], &out);
    assert_eq!(status, 200, "{head}");
    assert!(body == dir.small);
    assert_eq!(
        header(&head, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    let etag = header(&head, "etag").unwrap().to_owned();
    let last_modified = header(&head, "last-modified").unwrap().to_owned();
    // Served from the open-file cache the second time: the same bytes and validators.
    let (_, head2, body) = curl(&format!("{base}/big.bin"), &[], &out);
    assert!(body == dir.big, "big.bin differs");
    let (_, head3, body) = curl(&format!("{base}/big.bin"), &[], &out);
    assert!(body == dir.big, "big.bin differs the second time");
    assert_eq!(header(&head2, "etag"), header(&head3, "etag"));
    // Ranges.
    let (status, head, body) = curl(&format!("{base}/big.bin"), &["-r", "1000000-1999999"], &out);
    assert_eq!(status, 206, "{head}");
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes 1000000-1999999/{}", dir.big.len()).as_str())
    );
    assert!(body == dir.big[1_000_000..2_000_000], "range differs");
    let (status, _, body) = curl(&format!("{base}/small.txt"), &["-r", "-10"], &out);
    assert_eq!((status, &body[..]), (206, &dir.small[4086..]));
    let (status, head, _) = curl(&format!("{base}/small.txt"), &["-r", "5000-6000"], &out);
    assert_eq!(status, 416);
    assert_eq!(header(&head, "content-range"), Some("bytes */4096"));
    // HEAD: the length, no body.
    let (status, head, _) = curl(&format!("{base}/big.bin"), &["-I"], &out);
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-length"), Some("3145728"));
    // Conditional GET.
    let inm = format!("If-None-Match: {etag}");
    let (status, _, body) = curl(&format!("{base}/small.txt"), &["-H", &inm], &out);
    assert_eq!((status, body.len()), (304, 0));
    let ims = format!("If-Modified-Since: {last_modified}");
    let (status, _, _) = curl(&format!("{base}/small.txt"), &["-H", &ims], &out);
    assert_eq!(status, 304);
    let (status, _, body) = curl(
        &format!("{base}/small.txt"),
        &["-H", "If-None-Match: \"nope\""],
        &out,
    );
    assert_eq!((status, body.len()), (200, 4096));
}

/// `handler` served on a loopback port.
fn serve(handler: impl h1_server::Handler) -> h1_server::ServerHandle {
    block_on(async {
        h1_server::Server::bind("127.0.0.1:0")
            .await
            .unwrap()
            .serve(handler)
    })
}
