//! HTTPS: load a PEM certificate chain and private key, serve with the `tls` feature
//! (rustls through futures-rustls, runtime-agnostic).
//!
//! Run with: `cargo run --example https -- cert.pem key.pem 127.0.0.1:8443`, then
//! `curl --cacert cert.pem https://localhost:8443/`. A self-signed pair for trying it:
//! `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30
//! -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout key.pem -out cert.pem`.

use std::io;

use h1_server::{Request, Response, Server};

#[path = "shared/tls.rs"]
mod tls;
use tls::tls_config;

fn main() -> io::Result<()> {
    examples::init_logger(log::LevelFilter::Info);
    let mut args = std::env::args().skip(1);
    let (Some(cert), Some(key)) = (args.next(), args.next()) else {
        eprintln!("usage: https CERT.pem KEY.pem [ADDR]");
        std::process::exit(2);
    };
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8443".to_owned());
    let config = tls_config(&cert, &key)?;
    smol::block_on(async {
        let mut server = Server::bind(addr.as_str()).await?;
        server.tls(config);
        let handle = server.serve(|req: Request| async move {
            Response::text(
                200,
                format!("hello over TLS, you asked for {}\n", req.path()),
            )
        });
        println!("listening on https://{}", handle.local_addr());
        std::future::pending().await
    })
}
