//! Behind a real nginx (Debian's package; `.ci/run` installs it): nginx listens on a free
//! 127.0.0.1 port with its own prefix, config and temp paths in a temp directory, and
//! proxies to the server through an `upstream` with `keepalive 16`. Checked through it:
//! plain requests with upstream keep-alive, the client IP from `X-Real-IP` with nginx as
//! the trusted proxy, a streamed response arriving chunk by chunk (`X-Accel-Buffering:
//! no` from the handler, nginx's buffering left on) and a 100 MB upload.
//!
//! Every test prints `SKIPPED ...: nginx not found` and returns when there is no `nginx`
//! binary on `PATH` or at `/usr/sbin/nginx` (under `CI=true` it fails instead). nginx runs in the foreground as one process
//! (`daemon off; master_process off`) and is killed when its guard drops (also on a
//! panic).

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use h1_server::{Request, Response, ServerConfig};
use integration_tests::fixtures::Fnv;
use integration_tests::{Client, Hooks, TestServer, WAIT, skip};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The address the client connects from, so that nginx's `$remote_addr` differs from the
/// address nginx itself connects to the server from (Linux routes all of 127/8 to lo).
const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The nginx binary: `nginx` on `PATH`, else `/usr/sbin/nginx`.
fn nginx_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/nginx");
        sbin.is_file().then_some(sbin)
    })
}

/// The nginx binary, or `None` after printing the skip notice for `test`.
fn nginx_or_skip(test: &str) -> Option<PathBuf> {
    let bin = nginx_binary();
    if bin.is_none() {
        skip(test, "nginx not found (Debian's nginx)");
    }
    bin
}

/// A running nginx with its own prefix directory; killed (and the directory removed)
/// when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Nginx {
    /// Start nginx proxying `127.0.0.1:<free port>` to `upstream`; returns once it accepts
    /// connections.
    fn start(bin: &Path, upstream: SocketAddr) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let mut last_log = String::new();
        // The free port is picked by binding :0 and letting go: another process may take
        // it meanwhile, so a start failing on the address is tried again with another.
        for _ in 0..5 {
            let dir = std::env::temp_dir().join(format!(
                "http-server-nginx-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("logs")).expect("create the nginx prefix");
            let port = TcpListener::bind((LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let addr = SocketAddr::new(LOCALHOST, port);
            let conf = dir.join("nginx.conf");
            fs::write(&conf, config(&dir, addr, upstream)).expect("write nginx.conf");
            let out = fs::File::create(dir.join("logs/stderr.log")).unwrap();
            let child = Command::new(bin)
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(&conf)
                .arg("-e")
                .arg(dir.join("logs/error.log"))
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .expect("spawn nginx");
            let mut nginx = Self { child, dir, addr };
            match nginx.wait_accepting() {
                Ok(()) => return nginx,
                Err(log) => {
                    last_log = log;
                    if !last_log.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        panic!("nginx did not start:\n{last_log}");
    }

    /// Wait (bounded) until nginx accepts a connection; its logs if it exited instead.
    fn wait_accepting(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("nginx status") {
                return Err(format!("nginx exited ({status}):\n{}", self.logs()));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nginx not accepting after {WAIT:?}:\n{}",
                    self.logs()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// nginx's error log and its stderr.
    fn logs(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!("{}{}", read("logs/stderr.log"), read("logs/error.log"))
    }

    /// A client connection to nginx from [`CLIENT_IP`] (from 127.0.0.1 where that
    /// address cannot be bound).
    fn connect(&self) -> Client {
        Client::from_stream(connect_from(CLIENT_IP, self.addr))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("nginx logs ({}):\n{}", self.dir.display(), self.logs());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The generated nginx.conf: everything under `dir`, loopback only.
fn config(dir: &Path, listen: SocketAddr, upstream: SocketAddr) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log info;

events {{
    worker_connections 256;
}}

http {{
    access_log {d}/logs/access.log;
    client_body_temp_path {d}/client_body_temp;
    proxy_temp_path {d}/proxy_temp;
    fastcgi_temp_path {d}/fastcgi_temp;
    uwsgi_temp_path {d}/uwsgi_temp;
    scgi_temp_path {d}/scgi_temp;
    client_max_body_size 200m;

    upstream app {{
        server {upstream};
        keepalive 16;
    }}

    server {{
        listen {listen};

        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Real-IP $remote_addr;
            # Buffering of responses stays on (nginx's default): the streamed response
            # turns it off for itself with `X-Accel-Buffering: no`.
            proxy_request_buffering off;
        }}
    }}
}}
"#
    )
}

/// A blocking stream to `addr` bound to `local:0` first (std cannot bind before
/// connecting; tokio's `TcpSocket` can). Falls back to an unbound connect when `local`
/// cannot be bound.
fn connect_from(local: IpAddr, addr: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bound = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(local, 0))?;
        let stream = tokio::time::timeout(WAIT, socket.connect(addr))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        let stream = stream.into_std()?;
        stream.set_nonblocking(false)?;
        Ok::<_, std::io::Error>(stream)
    });
    match bound {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!("cannot connect from {local} ({e}); connecting from 127.0.0.1");
            TcpStream::connect_timeout(&addr, WAIT).expect("connect to nginx")
        }
    }
}

/// `/who`: the connection id, the peer, `client_ip()` and the X-Real-IP nginx sent;
/// `/echo`: the body back; else 404.
async fn app(mut req: Request) -> Response {
    match req.path() {
        "/who" => Response::text(
            200,
            format!(
                "conn={} peer={} client={} x-real-ip={}",
                req.connection_id().as_u64(),
                req.peer_addr().ip(),
                req.client_ip(),
                req.header("x-real-ip").unwrap_or("-"),
            ),
        ),
        "/echo" => match req.bytes(1 << 20).await {
            Ok(b) => Response::bytes(200, b),
            Err(e) => Response::from_error(&e),
        },
        _ => Response::text(404, "no such thing\n"),
    }
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.split(' ')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name}= in {text:?}"))
}

/// Several requests on one client connection and on several client connections: all
/// answered through nginx, which reuses its upstream connections (the server sees far
/// fewer connections than requests).
#[test]
fn plain_requests_over_upstream_keep_alive() {
    let Some(bin) = nginx_or_skip("plain_requests_over_upstream_keep_alive") else {
        return;
    };
    let hooks = Hooks::default();
    let server = TestServer::start(|c| hooks.install(c), app);
    let nginx = Nginx::start(&bin, server.addr);

    let mut requests = 0;
    let mut conn_ids = Vec::new();
    for _ in 0..4 {
        let mut c = nginx.connect();
        for i in 0..5 {
            let r = c.request("GET /who HTTP/1.1\r\nHost: t\r\n\r\n");
            assert_eq!(r.status, 200, "{r:?}");
            assert!(
                r.header("server").is_some_and(|s| s.starts_with("nginx")),
                "not answered by nginx: {r:?}"
            );
            conn_ids.push(field(r.text(), "conn").to_owned());
            let body = format!("body {i}");
            let r = c.request(&format!(
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
            assert_eq!((r.status, r.text()), (200, body.as_str()), "{r:?}");
            requests += 2;
        }
        let r = c.request("GET /nothing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assert_eq!((r.status, r.text()), (404, "no such thing\n"), "{r:?}");
        requests += 1;
    }
    conn_ids.sort();
    conn_ids.dedup();
    let opened = hooks.opened().len();
    eprintln!(
        "{requests} requests through nginx over {opened} upstream connection(s) (ids {conn_ids:?})"
    );
    assert!(
        (1..=4).contains(&opened) && opened * 4 < requests,
        "upstream keep-alive not used: {opened} connections for {requests} requests"
    );
    // Every upstream connection came from nginx.
    for (_, peer) in hooks.opened() {
        assert_eq!(peer.ip(), LOCALHOST);
    }
}

/// `client_ip()` answers the address nginx put in `X-Real-IP` when nginx (127.0.0.1) is
/// a trusted proxy, whatever the client claimed itself; without nginx in front the same
/// header from the client is ignored.
#[test]
fn client_ip_from_x_real_ip_with_nginx_trusted() {
    let Some(bin) = nginx_or_skip("client_ip_from_x_real_ip_with_nginx_trusted") else {
        return;
    };
    let server = TestServer::start(
        |c: &mut ServerConfig| {
            c.trusted_proxies([LOCALHOST]);
        },
        app,
    );
    let nginx = Nginx::start(&bin, server.addr);

    let mut c = nginx.connect();
    let local = c.stream().local_addr().unwrap().ip();
    // A forged header from the client: nginx replaces it with $remote_addr.
    let r = c.request("GET /who HTTP/1.1\r\nHost: t\r\nX-Real-IP: 203.0.113.9\r\n\r\n");
    assert_eq!(r.status, 200, "{r:?}");
    let text = r.text();
    assert_eq!(field(text, "peer"), "127.0.0.1", "{text}");
    assert_eq!(field(text, "x-real-ip"), local.to_string(), "{text}");
    assert_eq!(field(text, "client"), local.to_string(), "{text}");
    if local != CLIENT_IP {
        eprintln!("note: the client could not bind {CLIENT_IP}; checked with {local}");
    }

    // Straight to the server from 127.0.0.2 (not trusted): the header is not believed.
    let direct = connect_from(CLIENT_IP, server.addr);
    let direct_ip = direct.local_addr().unwrap().ip();
    if direct_ip != LOCALHOST {
        let mut d = Client::from_stream(direct);
        let r = d.request("GET /who HTTP/1.1\r\nHost: t\r\nX-Real-IP: 203.0.113.9\r\n\r\n");
        let text = r.text();
        assert_eq!(field(text, "x-real-ip"), "203.0.113.9", "{text}");
        assert_eq!(field(text, "client"), direct_ip.to_string(), "{text}");
    }
}

/// Where the streaming test stands: chunks the server pushed, chunks the client saw.
#[derive(Default)]
struct Progress {
    pushed: usize,
    seen: usize,
    failed: Option<String>,
}

/// A streamed response through nginx: the server pushes a chunk, then waits until the
/// client has seen it before pushing the next, so each chunk provably crosses nginx
/// before the next exists. The handler sends `X-Accel-Buffering: no`; nginx's own
/// response buffering is on. (In a manual check nginx 1.22 also passed these small
/// flushed chunks promptly with `X-Accel-Buffering: yes`: the test proves the path
/// streams, not that the header is what makes it.)
#[test]
fn streamed_response_arrives_chunk_by_chunk() {
    const CHUNKS: usize = 5;
    let Some(bin) = nginx_or_skip("streamed_response_arrives_chunk_by_chunk") else {
        return;
    };
    let progress = Arc::new((Mutex::new(Progress::default()), Condvar::new()));
    let server = {
        let progress = progress.clone();
        TestServer::start(
            |_| {},
            move |req: Request| {
                let progress = progress.clone();
                async move {
                    if req.path() != "/stream" {
                        return app(req).await;
                    }
                    let (tx, response) = h1_stream::response(200, h1_stream::Config::new());
                    thread::spawn(move || {
                        let (lock, cvar) = &*progress;
                        // A panicking client poisons the lock: carry on (and end) anyway.
                        let lock_progress = || lock.lock().unwrap_or_else(|e| e.into_inner());
                        for i in 0..CHUNKS {
                            // Counted before it can reach the client.
                            lock_progress().pushed = i + 1;
                            let chunk = format!("<chunk {i}>\n");
                            if block_on(tx.send(chunk)).is_err() || block_on(tx.flush()).is_err() {
                                lock_progress().failed = Some(format!("client gone at {i}"));
                                return;
                            }
                            let (mut p, timeout) = cvar
                                .wait_timeout_while(lock_progress(), WAIT, |p| p.seen <= i)
                                .unwrap_or_else(|e| e.into_inner());
                            if timeout.timed_out() {
                                p.failed = Some(format!("chunk {i} not seen within {WAIT:?}"));
                                drop(p);
                                tx.abort();
                                return;
                            }
                        }
                        let _ = tx.close();
                    });
                    response
                        .header("Content-Type", "text/plain")
                        .header("X-Accel-Buffering", "no")
                }
            },
        )
    };
    let nginx = Nginx::start(&bin, server.addr);

    let mut c = nginx.connect();
    c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    let (lock, cvar) = &*progress;
    let mut slowest = Duration::ZERO;
    for i in 0..CHUNKS {
        let pushed_at = Instant::now();
        // Bounded by the client's read timeout (WAIT): a buffering nginx fails here.
        c.read_until(format!("<chunk {i}>\n").as_bytes());
        slowest = slowest.max(pushed_at.elapsed());
        let mut p = lock.lock().unwrap();
        assert_eq!(p.failed, None);
        assert_eq!(
            p.pushed,
            i + 1,
            "chunk {} pushed before chunk {i} arrived",
            i + 1
        );
        p.seen = i + 1;
        cvar.notify_all();
    }
    let r = c.read_response();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.chunked, "{r:?}");
    // nginx consumes X-Accel-* headers.
    assert_eq!(r.header("x-accel-buffering"), None, "{r:?}");
    let expected: String = (0..CHUNKS).map(|i| format!("<chunk {i}>\n")).collect();
    assert_eq!(r.text(), expected);
    assert_eq!(lock.lock().unwrap().failed, None);
    eprintln!("{CHUNKS} chunks one by one through nginx; slowest wait {slowest:?}");
    // The connection goes on after the stream.
    let r = c.request("GET /who HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200, "{r:?}");
}

/// A 100 MB upload streamed by the client through nginx (`client_max_body_size 200m`,
/// request buffering off); the server reads it chunk by chunk and answers the byte count
/// and checksum, which must match the client's.
#[test]
fn upload_100_mb_through_nginx() {
    const SIZE: usize = 100 * 1000 * 1000;
    const PIECE: usize = 64 * 1024;
    let Some(bin) = nginx_or_skip("upload_100_mb_through_nginx") else {
        return;
    };
    let server = TestServer::start(
        |_| {},
        |mut req: Request| async move {
            if req.path() != "/upload" {
                return app(req).await;
            }
            let body = req.body_mut();
            let (mut count, mut sum, mut chunks) = (0u64, Fnv::default(), 0u64);
            loop {
                match body.chunk().await {
                    Ok(Some(chunk)) => {
                        count += chunk.len() as u64;
                        chunks += 1;
                        sum.update(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => return Response::from_error(&e),
                }
            }
            Response::text(200, format!("{count} {:016x} {chunks}", sum.0))
        },
    );
    let nginx = Nginx::start(&bin, server.addr);

    let mut c = nginx.connect();
    let started = Instant::now();
    c.send(format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: {SIZE}\r\n\r\n"
    ));
    // A pseudo-random body made piece by piece: never more than one piece in memory.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut sum = Fnv::default();
    let mut piece = vec![0u8; PIECE];
    let mut sent = 0;
    while sent < SIZE {
        let n = PIECE.min(SIZE - sent);
        for b in &mut piece[..n] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        sum.update(&piece[..n]);
        c.send(&piece[..n]);
        sent += n;
    }
    let r = c.read_response();
    let elapsed = started.elapsed();
    assert_eq!(r.status, 200, "{r:?}");
    let mut parts = r.text().split(' ');
    assert_eq!(parts.next(), Some(SIZE.to_string().as_str()), "{r:?}");
    assert_eq!(
        parts.next(),
        Some(format!("{:016x}", sum.0).as_str()),
        "{r:?}"
    );
    eprintln!(
        "100 MB through nginx in {elapsed:?} ({:.0} MB/s), {} body chunks at the server",
        SIZE as f64 / 1e6 / elapsed.as_secs_f64(),
        parts.next().unwrap_or("?")
    );
    // Keep-alive survives the upload.
    let r = c.request("GET /who HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200, "{r:?}");
}
