//! An axum `Router` served by this server under smol, with no tokio runtime: the `tower`
//! feature's `TowerService` adapts any `tower::Service<http::Request<RequestBody>>`.
//!
//! Run with: `cargo run --example axum -- 127.0.0.1:8080`, then
//! `curl http://127.0.0.1:8080/hello/you` or `curl -d hi http://127.0.0.1:8080/echo`.

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use h1_server::{Server, TowerService};

async fn hello(Path(name): Path<String>) -> String {
    format!("hello {name}\n")
}

async fn echo(body: String) -> String {
    body
}

fn main() -> std::io::Result<()> {
    examples::init_logger(log::LevelFilter::Info);
    let addr = examples::listen_addr("127.0.0.1:8080");
    let app: Router = Router::new()
        .route("/hello/{name}", get(hello))
        .route("/echo", post(echo));
    smol::block_on(async {
        let server = Server::bind(addr.as_str()).await?;
        let handle = server.serve(TowerService::new(app));
        println!("listening on http://{}", handle.local_addr());
        std::future::pending().await
    })
}
