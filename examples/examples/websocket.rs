//! A WebSocket echo server: the handler answers the upgrade request with `101 Switching
//! Protocols` and takes the connection over (`Request::upgrade`); async-tungstenite then
//! speaks WebSocket on it, on any runtime.
//!
//! Run with: `cargo run --example websocket -- 127.0.0.1:8080`, then connect a WebSocket
//! client to `ws://127.0.0.1:8080/echo` (a browser console:
//! `s = new WebSocket("ws://127.0.0.1:8080/echo"); s.onmessage = e => console.log(e.data); s.onopen = () => s.send("hi")`).

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::{Message, Role};
use futures_lite::StreamExt;
use h1_server::{Request, Response, Server};

/// Answers a WebSocket upgrade on `/echo` and echoes every text and binary message.
async fn handle(req: Request) -> Response {
    if req.path() != "/echo" {
        return Response::text(404, "try ws://.../echo\n");
    }
    let is_websocket = req
        .header("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let Some(key) = req.header("sec-websocket-key").filter(|_| is_websocket) else {
        return Response::text(426, "a WebSocket upgrade is required\n")
            .header("Upgrade", "websocket");
    };
    if req.header("sec-websocket-version") != Some("13") {
        return Response::text(426, "WebSocket version 13 only\n")
            .header("Sec-WebSocket-Version", "13");
    }
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = req.upgrade();
    req.spawn(async move {
        let io = match on_upgrade.await {
            Ok(io) => io,
            Err(e) => return log::warn!("upgrade failed: {e}"),
        };
        let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                Message::Text(_) | Message::Binary(_) => {
                    if let Err(e) = ws.send(msg).await {
                        log::debug!("websocket send failed: {e}");
                        break;
                    }
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
    });
    Response::new(101)
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Accept", accept)
}

fn main() -> std::io::Result<()> {
    examples::init_logger(log::LevelFilter::Info);
    let addr = examples::listen_addr("127.0.0.1:8080");
    smol::block_on(async {
        let server = Server::bind(addr.as_str()).await?;
        let handle = server.serve(handle);
        println!("listening on ws://{}/echo", handle.local_addr());
        std::future::pending().await
    })
}
