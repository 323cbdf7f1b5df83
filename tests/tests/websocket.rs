//! Upgrade handoff: a handler answers `101 Switching Protocols`, takes the connection
//! over through `Request::upgrade`, and async-tungstenite speaks WebSocket on it against
//! async-tungstenite's client over a real loopback socket.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;

use async_io::Async;
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::{Message, Role};
use async_tungstenite::{WebSocketStream, client_async};
use futures_lite::StreamExt;
use futures_lite::future::block_on;
use h1_server::{Request, Response};
use integration_tests::{TestServer, WAIT, get, run};

/// A WebSocket echo on `/ws`; any other path calls `upgrade` but answers 200, and reports
/// what its `OnUpgrade` resolved to.
fn echo_server() -> (TestServer, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel::<String>();
    let server = TestServer::start(
        |_| {},
        move |req: Request| {
            let tx = tx.clone();
            async move {
                let on_upgrade = req.upgrade();
                if req.path() != "/ws" {
                    std::thread::spawn(move || {
                        let r = run(on_upgrade);
                        let _ = tx.send(format!("{:?}", r.map(|_| ()).map_err(|e| e.kind())));
                    });
                    return Response::text(200, "no upgrade here");
                }
                let key = req.header("sec-websocket-key").unwrap_or_default();
                let accept = derive_accept_key(key.as_bytes());
                // Serve the upgraded connection on a thread of its own (any runtime will
                // do: the socket is async-io's).
                std::thread::spawn(move || {
                    block_on(async move {
                        let io = on_upgrade.await.expect("upgraded");
                        let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
                        while let Some(Ok(msg)) = ws.next().await {
                            match msg {
                                Message::Text(t) => {
                                    let _ = ws.send(Message::text(format!("echo: {t}"))).await;
                                }
                                Message::Binary(b) => {
                                    let _ = ws.send(Message::Binary(b)).await;
                                }
                                Message::Close(_) => break,
                                _ => {}
                            }
                        }
                        let _ = tx.send("closed".to_owned());
                    });
                });
                Response::new(101)
                    .header("Connection", "Upgrade")
                    .header("Upgrade", "websocket")
                    .header("Sec-WebSocket-Accept", accept)
            }
        },
    );
    (server, rx)
}

#[test]
fn websocket_echo_with_a_real_client() {
    let (server, events) = echo_server();
    run(async {
        let stream = Async::<TcpStream>::connect(server.addr).await.unwrap();
        let url = format!("ws://{}/ws", server.addr);
        let (mut ws, response) = client_async(url, stream).await.expect("handshake");
        assert_eq!(response.status(), 101);
        for i in 0..3 {
            ws.send(Message::text(format!("hello {i}"))).await.unwrap();
            let got = ws.next().await.unwrap().unwrap();
            assert_eq!(got, Message::text(format!("echo: hello {i}")));
        }
        let big = vec![7u8; 200_000];
        ws.send(Message::binary(big.clone())).await.unwrap();
        let got = ws.next().await.unwrap().unwrap();
        assert_eq!(got.into_data(), big);
        ws.close(None).await.unwrap();
    });
    assert_eq!(events.recv_timeout(WAIT).unwrap(), "closed");
}

/// The client sends its first frame in the same write as the upgrade request: the bytes
/// the server read past the head reach the new protocol first.
#[test]
fn bytes_sent_before_the_101_are_handed_over() {
    let (server, events) = echo_server();
    let mut raw = TcpStream::connect(server.addr).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let mut bytes = format!(
        "GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    )
    .into_bytes();
    // A masked text frame "early" (RFC 6455 §5.2), right behind the head.
    let mask = [1u8, 2, 3, 4];
    bytes.extend_from_slice(&[0x81, 0x80 | 5]);
    bytes.extend_from_slice(&mask);
    bytes.extend(b"early".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    raw.write_all(&bytes).unwrap();
    // Read the 101 head, keeping whatever came after it.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let n = raw.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the 101");
        got.extend_from_slice(&buf[..n]);
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&got[..end]).to_string();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.contains(&format!(
            "Sec-WebSocket-Accept: {}",
            derive_accept_key(key.as_bytes())
        )),
        "{head}"
    );
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
    let rest = got[end..].to_vec();
    run(async {
        let stream = Async::new(raw).unwrap();
        let mut ws = WebSocketStream::from_partially_read(stream, rest, Role::Client, None).await;
        let got = ws.next().await.unwrap().unwrap();
        assert_eq!(got, Message::text("echo: early"));
        ws.close(None).await.unwrap();
    });
    assert_eq!(events.recv_timeout(WAIT).unwrap(), "closed");
}

/// `upgrade` without a `101`: its future fails, and the connection stays HTTP.
#[test]
fn no_101_fails_the_upgrade_and_keeps_the_connection() {
    let (server, events) = echo_server();
    let mut c = server.connect();
    assert_eq!(c.request(&get("/plain")).text(), "no upgrade here");
    assert_eq!(events.recv_timeout(WAIT).unwrap(), "Err(NotConnected)");
    assert_eq!(c.request(&get("/again")).text(), "no upgrade here");
    assert_eq!(events.recv_timeout(WAIT).unwrap(), "Err(NotConnected)");
}
