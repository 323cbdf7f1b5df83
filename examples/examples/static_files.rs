//! Static files through the router's `Files` handler, and a 1 MiB in-memory body: the
//! server `cargo xtask bench static` measures against nginx and hyper.
//!
//! Run with: `cargo run --release --example static_files -- 127.0.0.1:8080 [DIR]`
//! (default address 127.0.0.1:8080; default directory `examples/static`). `GET /files/…`
//! serves the directory (ranges, `ETag`, `Last-Modified`, `304`), `GET /mem` answers
//! 1 MiB of `x` from memory. Everything runs on the main thread; set `THREADS=N` for N
//! more executor threads.

use h1_server::router::{Files, Router};
use h1_server::{Bytes, Request, Response, Server, ThreadPool};

fn main() -> std::io::Result<()> {
    let addr = examples::listen_addr("127.0.0.1:8080");
    let dir = std::env::args()
        .nth(2)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/static").to_owned());
    let threads = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let mem = Bytes::from(vec![b'x'; 1 << 20]);
    let mut router = Router::new();
    router
        .get("/files/*", Files::new(&dir)?)
        .get("/mem", move |_req: Request| {
            let mem = mem.clone();
            async move { Response::bytes(200, mem).header("Content-Type", "application/octet-stream") }
        });
    let pool = ThreadPool::new(threads);
    pool.block_on(async {
        let mut server = Server::bind(addr.as_str()).await?;
        server.spawner(pool.clone());
        let handle = server.serve(router);
        println!("listening on http://{} serving {dir}", handle.local_addr());
        std::future::pending().await
    })
}
