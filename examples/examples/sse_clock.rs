//! A Server-Sent Events clock on its own (the demo serves it at `/clock/` too).
//!
//! Run with: `cargo run --example sse_clock -- 127.0.0.1:8080`, then open the printed URL.

use h1_server::{Request, Response, Server};

fn main() -> std::io::Result<()> {
    let addr = examples::listen_addr("127.0.0.1:8080");
    smol::block_on(async {
        let server = Server::bind(addr.as_str()).await?;
        let handle = server.serve(|req: Request| async move {
            examples::site_css(&req)
                .or_else(|| examples::clock::route(&req, ""))
                .unwrap_or_else(|| Response::text(404, "not found\n"))
        });
        println!("SSE clock on http://{}/", handle.local_addr());
        std::future::pending::<()>().await;
        Ok(())
    })
}
