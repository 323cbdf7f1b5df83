//! Unix domain sockets as a listening address: a std `UnixStream` client and curl
//! `--unix-socket` (skipped, saying so, when curl is absent), beside a TCP listener.
#![cfg(unix)]

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_lite::future::block_on;
use h1_server::{Request, Response, Server, ThreadPool};
use integration_tests::{Client, TestServer, WAIT, has_tool};

/// A fresh socket path in a directory of its own (removed with the guard).
struct SocketDir(PathBuf);

impl SocketDir {
    fn new(tag: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("http-server-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn sock(&self) -> PathBuf {
        self.0.join("s.sock")
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn whoami(mut req: Request) -> Response {
    let body = req.text(1 << 20).await.unwrap_or_default();
    Response::text(
        200,
        format!(
            "unix={} peer={} client={} body={body}",
            req.is_unix(),
            req.peer_addr(),
            req.client_ip()
        ),
    )
}

/// Send `raw` on a new Unix connection and read until the server closes.
fn unix_exchange(path: &std::path::Path, raw: &str) -> String {
    let mut s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn start(dir: &SocketDir, configure: impl FnOnce(&mut Server)) -> TestServer {
    let mut server = block_on(Server::bind_unix(dir.sock())).unwrap();
    block_on(server.also_bind("127.0.0.1:0")).unwrap();
    server.spawner(ThreadPool::new(1));
    configure(&mut server);
    TestServer::serve(server, whoami)
}

#[test]
fn serves_http_on_a_unix_socket_beside_tcp() {
    let dir = SocketDir::new("uds");
    let server = start(&dir, |_| {});
    assert_eq!(server.handle.unix_paths(), [dir.sock()]);
    let out = unix_exchange(
        &dir.sock(),
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    );
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
    assert!(
        out.contains("unix=true peer=0.0.0.0:0 client=0.0.0.0 body="),
        "{out}"
    );
    assert!(
        out.ends_with("unix=true peer=0.0.0.0:0 client=0.0.0.0 body=hi"),
        "{out}"
    );
    // The TCP listener of the same server.
    let r = Client::connect(server.addr).request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(r.text().starts_with("unix=false peer=127.0.0.1:"), "{r:?}");
}

#[test]
fn stop_and_start_listening_rebinds_the_socket_path() {
    let dir = SocketDir::new("uds-restart");
    let server = start(&dir, |_| {});
    block_on(server.handle.stop_listening());
    // Refused once the listener is closed. Another test thread spawning curl may hold a
    // copy of the descriptor for an instant between fork and exec (every descriptor is
    // close-on-exec, but a fork copies them first), so allow that instant.
    integration_tests::wait_until("connections refused", WAIT, || {
        UnixStream::connect(dir.sock()).is_err()
    });
    block_on(server.handle.start_listening()).unwrap();
    let out = unix_exchange(
        &dir.sock(),
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(out.contains("unix=true"), "{out}");
}

#[test]
fn a_proxy_on_the_socket_can_be_trusted_for_x_real_ip() {
    let dir = SocketDir::new("uds-proxy");
    let server = start(&dir, |s| {
        s.config_mut()
            .trusted_proxies([IpAddr::V4(Ipv4Addr::UNSPECIFIED)]);
    });
    let out = unix_exchange(
        &dir.sock(),
        "GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: 203.0.113.7\r\nConnection: close\r\n\r\n",
    );
    assert!(out.contains("client=203.0.113.7"), "{out}");
    // Over TCP from 127.0.0.1 (not trusted) the header is ignored.
    let r = Client::connect(server.addr)
        .request("GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: 203.0.113.7\r\n\r\n");
    assert!(r.text().contains("client=127.0.0.1"), "{r:?}");
}

#[test]
fn curl_over_the_unix_socket() {
    if !has_tool("curl", "curl_over_the_unix_socket") {
        return;
    }
    let dir = SocketDir::new("uds-curl");
    let _server = start(&dir, |_| {});
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--unix-socket"])
        .arg(dir.sock())
        .args(["-d", "from curl", "http://localhost/x"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "unix=true peer=0.0.0.0:0 client=0.0.0.0 body=from curl"
    );
}
