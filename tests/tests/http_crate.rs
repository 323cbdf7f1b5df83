//! The `http` feature: a handler written against `http::Request` / `http::Response`
//! runs unchanged on the server's connection driver (on the connection test kit, no socket).

use futures_lite::AsyncReadExt;
use futures_lite::future::block_on;
use h1_server::ServerConfig;
use h1_server::testing::TestConnection;
use h1_server::{Bytes, ConnectionId, Request, Response, StreamBody};

/// Written against the `http` crate only (plus a body type).
async fn http_handler(
    req: http::Request<h1_server::RequestBody>,
) -> http::Response<
    StreamBody<futures_lite::stream::Iter<std::vec::IntoIter<std::io::Result<Bytes>>>>,
> {
    let peer = req.extensions().get::<std::net::SocketAddr>().copied();
    let has_id = req.extensions().get::<ConnectionId>().is_some();
    let summary = format!(
        "{} {} {:?} q={} x={:?} peer={} id={has_id}\n",
        req.method(),
        req.uri().path(),
        req.version(),
        req.uri().query().unwrap_or(""),
        req.headers()
            .get_all("x-multi")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect::<Vec<_>>(),
        peer.map(|p| p.ip().to_string()).unwrap_or_default(),
    );
    let mut body = Vec::new();
    req.into_body().read_to_end(&mut body).await.unwrap();
    let chunks = vec![Ok(Bytes::from(summary)), Ok(Bytes::from(body))];
    http::Response::builder()
        .status(http::StatusCode::ACCEPTED)
        .header("x-from", "http crate")
        .body(StreamBody::new(futures_lite::stream::iter(chunks)))
        .unwrap()
}

#[test]
fn a_handler_written_for_the_http_crate_serves_requests() {
    let handler = |req: Request| async move {
        match req.into_http() {
            Ok(req) => Response::from(http_handler(req).await),
            Err(e) => Response::text(400, e.to_string()),
        }
    };
    let mut c = TestConnection::new(handler, ServerConfig::new());
    block_on(async {
        let r = c.request(
        "POST /p/a?x=1 HTTP/1.1\r\nHost: t\r\nX-Multi: a\r\nx-multi: b\r\nContent-Length: 5\r\n\r\nhello",
    ).await;
        assert_eq!(r.status, 202);
        assert_eq!(r.header("x-from"), Some("http crate"));
        assert!(r.chunked, "a stream of unknown length goes chunked");
        assert_eq!(
            r.text(),
            "POST /p/a HTTP/1.1 q=x=1 x=[\"a\", \"b\"] peer=127.0.0.1 id=true\nhello"
        );
        // HTTP/1.0 maps too, and the connection keeps serving.
        let r = c
            .request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await;
        assert!(r.text().starts_with("GET / HTTP/1.0 q= x=[] "), "{r:?}");
    });
}
