//! `hello` over TLS, with a 1 MiB route: what `cargo xtask bench tls` measures against
//! hyper + tokio-rustls (the peer in `xtask/peers/hyper-hello`, run with `--tls`).
//!
//! Run with: `cargo run --release --example hello_tls -- 127.0.0.1:8443 cert.pem key.pem`,
//! then `curl --cacert cert.pem https://localhost:8443/` (`Hello, World!`) or
//! `https://localhost:8443/1m` (1 MiB of bytes). A self-signed pair: see the `https`
//! example. Everything runs on the main thread, as in `hello`.

use std::io;

use bytes::Bytes;
use h1_server::{Request, Response, Server, StaticHeader, ThreadPool};

#[path = "shared/tls.rs"]
mod tls;
use tls::tls_config;

/// Size of the `/1m` body; its bytes are `i % 251` (the same as the hyper peer's).
const BIG_LEN: usize = 1 << 20;

static OCTET_STREAM: StaticHeader = StaticHeader::new("Content-Type", "application/octet-stream");

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(cert), Some(key)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: hello_tls ADDR CERT.pem KEY.pem");
        std::process::exit(2);
    };
    let config = tls_config(&cert, &key)?;
    let big: Bytes = (0..BIG_LEN)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let pool = ThreadPool::new(0);
    pool.block_on(async {
        let mut server = Server::bind(addr.as_str()).await?;
        server.spawner(pool.clone());
        server.tls(config);
        let handle = server.serve(move |req: Request| {
            let response = if req.path() == "/1m" {
                Response::bytes(200, big.clone()).header_static(&OCTET_STREAM)
            } else {
                Response::text(200, "Hello, World!\n")
            };
            async move { response }
        });
        println!("listening on https://{}", handle.local_addr());
        std::future::pending().await
    })
}
