//! The `tower` feature: an axum `Router` (axum built without its tokio features) served
//! by `TowerService` under smol-style executors, with no tokio runtime anywhere.

use axum::Router;
use axum::extract::{Path, Query};
use axum::routing::{get, post};
use h1_server::TowerService;
use integration_tests::TestServer;

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
    let server = TestServer::start(|_| {}, TowerService::new(app));
    let mut c = server.connect();
    let r = c.request("GET /hello/smol HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello smol tokio=false\n");
    assert_eq!(r.header("content-length"), Some("23"));
    let r = c.request("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde");
    assert_eq!(r.status, 201);
    assert_eq!(r.header("x-echo"), Some("1"));
    assert_eq!(r.text(), "abcde");
    let r = c.request("GET /q?b=2&a=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.text(), r#"[("a", "1"), ("b", "2")]"#);
    let r = c.request("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 404);
    let r = c.request("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 405);
}
