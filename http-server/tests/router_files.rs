//! `router::Files` on the connection kit (no socket): content types, index files,
//! conditional GET, ranges, and a set of hostile paths that must all be refused.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use futures_lite::future::block_on;
use h1_server::ServerConfig;
use h1_server::router::{Files, Router};
use h1_server::testing::{TestConnection, WireResponse};

/// `method target` with `headers` on a new connection to `app`.
fn request(app: &Router, method: &str, target: &str, headers: &[(&str, &str)]) -> WireResponse {
    Kit(app).send(method, target, headers).unwrap()
}

/// `GET target` with `headers` on a new connection to `app`.
fn get(app: &Router, target: &str, headers: &[(&str, &str)]) -> WireResponse {
    request(app, "GET", target, headers)
}

/// Requests to `app`, each on a new connection.
struct Kit<'a>(&'a Router);

impl Kit<'_> {
    /// Send `method target` with `headers`, read the answer (never fails).
    fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> Result<WireResponse, std::convert::Infallible> {
        let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
        for (name, value) in headers {
            raw += &format!("{name}: {value}\r\n");
        }
        raw += "\r\n";
        let mut c = TestConnection::new(self.0.clone(), ServerConfig::new());
        Ok(block_on(async {
            c.send(raw).await;
            if method == "HEAD" {
                c.read_head_response().await
            } else {
                c.read_response().await
            }
        }))
    }
}

/// What only the file outside the root contains.
const SECRET: &str = "TOP-SECRET-OUTSIDE-ROOT";

/// A fresh directory: `base/www` (the root) and `base/secret.txt` beside it.
struct Tree {
    base: PathBuf,
    big: Vec<u8>,
}

impl Tree {
    fn new() -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir().join(format!(
            "router-files-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&base);
        let www = base.join("www");
        std::fs::create_dir_all(www.join("sub")).unwrap();
        std::fs::create_dir_all(www.join("noindex")).unwrap();
        std::fs::write(base.join("secret.txt"), SECRET).unwrap();
        std::fs::write(www.join("index.html"), "<h1>home</h1>").unwrap();
        std::fs::write(www.join("a.txt"), "hello file\n").unwrap();
        std::fs::write(www.join("sub/b.css"), "body{}").unwrap();
        std::fs::write(www.join("sub/index.html"), "sub index").unwrap();
        std::fs::write(www.join("noindex/x.json"), "{}").unwrap();
        std::fs::write(www.join("with space.txt"), "spaced").unwrap();
        std::fs::write(www.join(".secret"), SECRET).unwrap();
        let big: Vec<u8> = (0..200 * 1024u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(www.join("big.bin"), &big).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("secret.txt"), www.join("link.txt")).unwrap();
            std::os::unix::fs::symlink(&base, www.join("dirlink")).unwrap();
            std::os::unix::fs::symlink(www.join("a.txt"), www.join("inner-link.txt")).unwrap();
        }
        Self { base, big }
    }

    fn root(&self) -> PathBuf {
        self.base.join("www")
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn server(root: &Path) -> Router {
    let mut r = Router::new();
    r.get("/static/*", Files::new(root).unwrap())
        .get("/*", Files::new(root).unwrap().index(None));
    r
}

#[test]
fn serves_files_with_content_types_and_index() {
    let tree = Tree::new();
    let app = server(&tree.root());
    let addr = &app;
    let r = get(addr, "/static/a.txt", &[]);
    assert_eq!((r.status, r.text()), (200, "hello file\n"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("11"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let r = get(addr, "/static/sub/b.css", &[]);
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    let r = get(addr, "/static/", &[]);
    assert_eq!((r.status, r.text()), (200, "<h1>home</h1>"));
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(get(addr, "/static/sub", &[]).text(), "sub index");
    assert_eq!(get(addr, "/static/noindex", &[]).status, 404);
    assert_eq!(get(addr, "/static/with%20space.txt", &[]).text(), "spaced");
    assert_eq!(get(addr, "/static/missing.txt", &[]).status, 404);
    // The `/*` mount has no index files.
    assert_eq!(get(addr, "/", &[]).status, 404);
    assert_eq!(get(addr, "/a.txt", &[]).text(), "hello file\n");
    #[cfg(unix)]
    assert_eq!(
        get(addr, "/static/inner-link.txt", &[]).text(),
        "hello file\n"
    );
    // Big files stream in pieces, whole and in order.
    let r = get(addr, "/static/big.bin", &[]);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert!(r.body == tree.big, "big.bin differs");
    // HEAD: the headers of GET, no body.
    let r = request(addr, "HEAD", "/static/big.bin", &[]);
    assert_eq!(
        (r.status, r.header("content-length")),
        (200, Some("204800"))
    );
    let r = request(addr, "POST", "/static/a.txt", &[]);
    assert_eq!(r.status, 405);
}

#[test]
fn conditional_get_answers_304() {
    let tree = Tree::new();
    let app = server(&tree.root());
    let mut c = Kit(&app);
    let r = c.send("GET", "/static/a.txt", &[]).unwrap();
    let last_modified = r.header("last-modified").unwrap().to_owned();
    let etag = r.header("etag").unwrap().to_owned();
    let r = c
        .send(
            "GET",
            "/static/a.txt",
            &[("If-Modified-Since", &last_modified)],
        )
        .unwrap();
    assert_eq!((r.status, r.body.len()), (304, 0));
    assert_eq!(r.header("last-modified"), Some(last_modified.as_str()));
    let r = c
        .send(
            "GET",
            "/static/a.txt",
            &[("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")],
        )
        .unwrap();
    assert_eq!((r.status, r.text()), (200, "hello file\n"));
    let r = c
        .send("GET", "/static/a.txt", &[("If-None-Match", &etag)])
        .unwrap();
    assert_eq!(r.status, 304);
    // If-None-Match wins over If-Modified-Since.
    let r = c
        .send(
            "GET",
            "/static/a.txt",
            &[
                ("If-None-Match", "\"other\""),
                ("If-Modified-Since", &last_modified),
            ],
        )
        .unwrap();
    assert_eq!(r.status, 200);
    // An unparseable date is ignored.
    let r = c
        .send(
            "GET",
            "/static/a.txt",
            &[("If-Modified-Since", "yesterday")],
        )
        .unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn single_ranges_answer_206_and_unsatisfiable_ones_416() {
    let tree = Tree::new();
    let app = server(&tree.root());
    let mut c = Kit(&app);
    let len = tree.big.len();
    let r = c
        .send("GET", "/static/big.bin", &[("Range", "bytes=0-9")])
        .unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-9/{len}").as_str())
    );
    assert_eq!(r.body, &tree.big[..10]);
    let r = c
        .send("GET", "/static/big.bin", &[("Range", "bytes=-5")])
        .unwrap();
    assert_eq!(r.body, &tree.big[len - 5..]);
    // Across several 64 KiB pieces.
    let r = c
        .send("GET", "/static/big.bin", &[("Range", "bytes=60000-140000")])
        .unwrap();
    assert_eq!(r.status, 206);
    assert!(r.body == tree.big[60000..=140000], "range body differs");
    let r = c
        .send("GET", "/static/big.bin", &[("Range", "bytes=150000-")])
        .unwrap();
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 150000-{}/{len}", len - 1).as_str())
    );
    assert_eq!(r.body.len(), len - 150000);
    let r = c
        .send("GET", "/static/big.bin", &[("Range", "bytes=999999-")])
        .unwrap();
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    // Several ranges: the whole file.
    let r = c
        .send("GET", "/static/a.txt", &[("Range", "bytes=0-1,4-5")])
        .unwrap();
    assert_eq!((r.status, r.text()), (200, "hello file\n"));
    // If-Range with a stale date: the whole file; with the current date: the range.
    let lm = c.send("GET", "/static/a.txt", &[]).unwrap();
    let lm = lm.header("last-modified").unwrap().to_owned();
    let r = c
        .send(
            "GET",
            "/static/a.txt",
            &[
                ("Range", "bytes=0-4"),
                ("If-Range", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ],
        )
        .unwrap();
    assert_eq!(r.status, 200);
    let r = c
        .send(
            "GET",
            "/static/a.txt",
            &[("Range", "bytes=0-4"), ("If-Range", &lm)],
        )
        .unwrap();
    assert_eq!((r.status, r.text()), (206, "hello"));
}

#[test]
fn hostile_paths_are_all_refused() {
    let tree = Tree::new();
    let app = server(&tree.root());
    let addr = &app;
    let hostile = [
        "/static/../secret.txt",
        "/static/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/%2E%2E/etc/passwd",
        "/static/.%2e/secret.txt",
        "/static/sub/../../secret.txt",
        "/static/sub/%2e%2e/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2Fsecret.txt",
        "/static/%2f..%2f..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/sub%5c..%5c..%5csecret.txt",
        "/static/..\\secret.txt",
        "/static/sub\\..\\..\\secret.txt",
        "/static/%00",
        "/static/a.txt%00.html",
        "/static/%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/%252e%252e/secret.txt",
        "/static/%c0%ae%c0%ae/secret.txt",
        "/static/C:/secret.txt",
        "/static/C:%5csecret.txt",
        "/static/.secret",
        "/static/%2esecret",
        "/static/dirlink/secret.txt",
        "/static/dirlink",
        "/static/link.txt",
        "/dirlink/secret.txt",
        "/link.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/../secret.txt",
        "/static/%",
        "/static/%zz",
        "http://test/static/../secret.txt",
        "http://test/static/..%2f..%2fsecret.txt",
    ];
    assert!(hostile.len() >= 20);
    for path in hostile {
        let r = get(addr, path, &[]);
        assert!(
            matches!(r.status, 400 | 403 | 404),
            "{path}: status {} {:?}",
            r.status,
            r.text()
        );
        assert!(!r.text().contains(SECRET), "{path}: leaked the secret");
        assert!(!r.text().contains("root:"), "{path}: leaked /etc/passwd");
    }
    // The files themselves are still there and served.
    assert_eq!(get(addr, "/static/a.txt", &[]).status, 200);
}

/// Paths the file system refuses for the client's reasons, each with its status: a path
/// through a file (`ENOTDIR`), a symlink loop (`ELOOP`), names and paths too long
/// (`ENAMETOOLONG`). None of them is a server error.
fn bad_lookups() -> Vec<(String, u16)> {
    let long_name = "n".repeat(300);
    // Each segment a legal name, the whole only too long once joined to the root: the
    // kernel refuses it (the handler's own check passes it).
    let deep = format!("/{}", vec!["d".repeat(254); 16].join("/"));
    assert!(deep.len() <= 4096);
    vec![
        ("/static/a.txt/x".to_owned(), 404),
        ("/static/sub/b.css/index.html".to_owned(), 404),
        ("/static/loop1".to_owned(), 404),
        ("/static/loop1/x".to_owned(), 404),
        ("/static/selfloop".to_owned(), 404),
        (format!("/static/{long_name}"), 414),
        (format!("/static/sub/{long_name}.txt"), 414),
        (format!("/static{deep}"), 414),
        (format!("/static{}", "/abc".repeat(1100)), 414),
    ]
}

#[cfg(unix)]
fn make_loops(root: &Path) {
    std::os::unix::fs::symlink(root.join("loop2"), root.join("loop1")).unwrap();
    std::os::unix::fs::symlink(root.join("loop1"), root.join("loop2")).unwrap();
    std::os::unix::fs::symlink(root.join("selfloop"), root.join("selfloop")).unwrap();
}

#[cfg(unix)]
#[test]
fn bad_lookups_are_404_or_414_never_500() {
    let tree = Tree::new();
    make_loops(&tree.root());
    let app = server(&tree.root());
    for (path, status) in bad_lookups() {
        let r = get(&app, &path, &[]);
        assert_eq!(r.status, status, "{:.80}: {:?}", path, r.text());
    }
    assert_eq!(get(&app, "/static/a.txt", &[]).status, 200);
}

/// The same paths over a real socket, with curl.
#[cfg(unix)]
#[test]
fn bad_lookups_over_loopback() {
    if !integration_tests::has_tool("curl", "bad_lookups_over_loopback") {
        return;
    }
    let tree = Tree::new();
    make_loops(&tree.root());
    let handle = block_on(async {
        h1_server::Server::bind("127.0.0.1:0")
            .await
            .unwrap()
            .serve(server(&tree.root()))
    });
    let addr = handle.local_addr();
    for (path, status) in bad_lookups() {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "10",
            ])
            .arg(format!("http://{addr}{path}"))
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stdout);
        assert_eq!(got, status.to_string(), "{path:.80}");
    }
}

/// Open files are kept a few seconds (a hot file needs no new lookup); with the cache off
/// every request looks again.
#[test]
fn open_file_cache_keeps_files_briefly_and_can_be_turned_off() {
    let tree = Tree::new();
    let cached = Files::new(tree.root()).unwrap();
    let uncached = Files::new(tree.root())
        .unwrap()
        .cache(std::time::Duration::ZERO, 0);
    let mut r = Router::new();
    r.get("/c/*", cached).get("/u/*", uncached);
    assert_eq!(get(&r, "/c/a.txt", &[]).text(), "hello file\n");
    assert_eq!(get(&r, "/u/a.txt", &[]).text(), "hello file\n");
    std::fs::remove_file(tree.root().join("a.txt")).unwrap();
    // The cached descriptor still reads the (unlinked) file; the uncached handler looks.
    assert_eq!(get(&r, "/c/a.txt", &[]).text(), "hello file\n");
    assert_eq!(get(&r, "/u/a.txt", &[]).status, 404);
}
