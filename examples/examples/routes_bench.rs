//! The routing benchmark's server: 100 routes (25 resources x 4 patterns, 75 of them with
//! parameters) in a [`Router`], each answering "Hello, World!" like the `hello` example,
//! so that a wrk run beside `hello` measures what routing costs.
//!
//! Run with: `cargo run --release --example routes_bench -- 127.0.0.1:8080`
//! (the first argument is the listen address). `cargo xtask bench route` runs it under wrk
//! with requests spread across the routes. Set `THREADS=N` for N more executor threads.

use h1_server::router::Router;
use h1_server::{Request, Response, Server, ThreadPool};

/// Resources; each has 4 routes.
const RESOURCES: usize = 25;

fn table() -> Router {
    let mut r = Router::new();
    for i in 0..RESOURCES {
        r.get(&format!("/api/r{i}"), hello)
            .get(&format!("/api/r{i}/:id"), hello)
            .post(&format!("/api/r{i}/:id"), hello)
            .get(&format!("/api/r{i}/:id/items/:item"), hello);
    }
    r
}

async fn hello(req: Request) -> Response {
    // Touch the parameters, as a real handler would.
    let _ = (req.param_raw("id"), req.param_raw("item"));
    Response::text(200, "Hello, World!\n")
}

fn main() -> std::io::Result<()> {
    let addr = examples::listen_addr("127.0.0.1:8080");
    let threads = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let pool = ThreadPool::new(threads);
    pool.block_on(async {
        let mut server = Server::bind(addr.as_str()).await?;
        server.spawner(pool.clone());
        let handle = server.serve(table());
        println!("listening on http://{}", handle.local_addr());
        std::future::pending().await
    })
}
