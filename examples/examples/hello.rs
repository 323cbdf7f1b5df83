//! The smallest server: answers every request with "Hello, World!".
//!
//! Run with: `cargo run --release --example hello -- 127.0.0.1:8080`
//! (the first argument is the listen address; default 127.0.0.1:8080). Everything runs
//! on the main thread; set `THREADS=N` for N more executor threads.

use h1_server::{Request, Response, Server, ThreadPool};

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
        let handle = server.serve(|_req: Request| async { Response::text(200, "Hello, World!\n") });
        println!("listening on http://{}", handle.local_addr());
        std::future::pending().await
    })
}
