//! The bigger app of `examples/src/app.rs`: a router with a `:id` route, a JSON echo, an
//! SSE stream, an upload and basic auth; Ctrl-C shuts down gracefully (streams say
//! goodbye, then the server waits up to 10 s for requests in flight).
//!
//! Run with: `cargo run --example app -- 127.0.0.1:8080`

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use async_signal::{Signal, Signals};
use examples::app::{App, router};
use futures_lite::StreamExt;
use h1_server::Server;

fn main() -> std::io::Result<()> {
    let addr = examples::listen_addr("127.0.0.1:8080");
    smol::block_on(async {
        let app = App {
            uploads: examples::upload::default_dir(),
            ticks: AtomicU64::new(0),
        };
        let handle = Server::bind(addr.as_str()).await?.serve(router(app));
        println!("listening on http://{}", handle.local_addr());
        Signals::new([Signal::Int])?.next().await;
        handle.shutdown_graceful(Duration::from_secs(10)).await;
        Ok(())
    })
}
