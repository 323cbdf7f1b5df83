//! The `tower` feature: an axum `Router` (axum built without its tokio features) served
//! by `TowerService` on the connection driver (the connection test kit, no socket), with
//! no tokio runtime anywhere.

use axum::Router;
use axum::extract::{Path, Query};
use axum::routing::{get, post};
use futures_lite::future::block_on;
use h1_server::ServerConfig;
use h1_server::TowerService;
use h1_server::testing::TestConnection;

async fn hello(Path(name): Path<String>) -> String {
    let tokio = tokio::runtime::Handle::try_current().is_ok();
    format!("hello {name} tokio={tokio}\n")
}

async fn echo(body: String) -> (http::StatusCode, [(&'static str, &'static str); 1], String) {
    (http::StatusCode::CREATED, [("x-echo", "1")], body)
}

async fn query(Query(q): Query<std::collections::HashMap<String, String>>) -> String {
    let mut pairs: Vec<_> = q.into_iter().collect();
    pairs.sort();
    format!("{pairs:?}")
}

#[test]
fn axum_router_runs_without_a_tokio_runtime() {
    let app: Router = Router::new()
        .route("/hello/{name}", get(hello))
        .route("/echo", post(echo))
        .route("/q", get(query));
    let mut c = TestConnection::new(TowerService::new(app), ServerConfig::new());
    block_on(async {
        let r = c
            .request("GET /hello/smol HTTP/1.1\r\nHost: t\r\n\r\n")
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "hello smol tokio=false\n");
        assert_eq!(r.header("content-length"), Some("23"));
        let r = c
            .request("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde")
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(r.header("x-echo"), Some("1"));
        assert_eq!(r.text(), "abcde");
        let r = c
            .request("GET /q?b=2&a=1 HTTP/1.1\r\nHost: t\r\n\r\n")
            .await;
        assert_eq!(r.text(), r#"[("a", "1"), ("b", "2")]"#);
        let r = c.request("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n").await;
        assert_eq!(r.status, 404);
        let r = c.request("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n").await;
        assert_eq!(r.status, 405);
    });
}
