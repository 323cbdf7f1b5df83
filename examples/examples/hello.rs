//! The smallest server: answers every request with "Hello, World!".
//!
//! Run with: `cargo run --release --example hello -- 127.0.0.1:8080`
//! (the first argument is the listen address; default 127.0.0.1:8080).

use http_server::{Request, Response, Server};

fn main() -> std::io::Result<()> {
    let addr = examples::listen_addr("127.0.0.1:8080");
    smol::block_on(async {
        let server = Server::bind(addr.as_str()).await?;
        let handle = server.serve(|_req: Request| async { Response::text(200, "Hello, World!\n") });
        println!("listening on http://{}", handle.local_addr());
        std::future::pending::<()>().await;
        Ok(())
    })
}
