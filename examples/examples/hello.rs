//! The smallest server: answers every request with "Hello, World!".
//!
//! Run with: `cargo run --release --example hello -- 127.0.0.1:8080`
//! (the first argument is the listen address; default 127.0.0.1:8080). Everything runs
//! on the main thread; set `THREADS=N` for N more executor threads. Ctrl-C (or SIGTERM)
//! stops it after the responses in flight.
//!
//! With `--features metrics`, the server's metrics go to a Prometheus recorder (nothing
//! reads them here: this measures what recording costs).

use std::time::Duration;

use h1_server::{Request, Response, Server, ThreadPool};

fn main() -> std::io::Result<()> {
    #[cfg(feature = "metrics")]
    let _metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(std::io::Error::other)?;
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
        handle.shutdown_on_signals(Duration::from_secs(10))?.await;
        Ok(())
    })
}
