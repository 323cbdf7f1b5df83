//! The upload page on its own (the demo can mount it too): a form for several files and
//! a title; the answer lists the files with their sizes and SHA-256.
//!
//! Run with: `cargo run --release --example upload -- 127.0.0.1:8080 [DIR]`, then open
//! the printed URL. Files are saved to DIR (default: `UPLOAD_DIR` or a directory under
//! the system temp dir) and removed once answered. `cargo xtask bench upload` runs it.

use std::path::PathBuf;

use h1_server::{Request, Response, Server};

fn main() -> std::io::Result<()> {
    examples::init_logger(log::LevelFilter::Warn);
    let addr = examples::listen_addr("127.0.0.1:8080");
    let dir = std::env::args()
        .nth(2)
        .map_or_else(examples::upload::default_dir, PathBuf::from);
    smol::block_on(async {
        let server = Server::bind(addr.as_str()).await?;
        let dir = std::sync::Arc::new(dir);
        let handle = server.serve(move |mut req: Request| {
            let dir = std::sync::Arc::clone(&dir);
            async move {
                if let Some(css) = examples::site_css(&req) {
                    return css;
                }
                examples::upload::route(&mut req, "", &dir)
                    .await
                    .unwrap_or_else(|| Response::text(404, "not found\n"))
            }
        });
        println!("upload page on http://{}/", handle.local_addr());
        std::future::pending::<()>().await;
        Ok(())
    })
}
