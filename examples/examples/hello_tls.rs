//! `hello` over TLS, with a 1 MiB route: what `cargo xtask bench tls` measures against
//! hyper + tokio-rustls (the peer in `xtask/peers/hyper-hello`, run with `--tls`).
//!
//! Run with: `cargo run --release --example hello_tls -- 127.0.0.1:8443 cert.pem key.pem`,
//! then `curl --cacert cert.pem https://localhost:8443/` (`Hello, World!`) or
//! `https://localhost:8443/1m` (1 MiB of bytes). A self-signed pair: see the `https`
//! example. Everything runs on the main thread, as in `hello`.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use h1_server::rustls;
use h1_server::rustls::pki_types::pem::PemObject;
use h1_server::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use h1_server::{Request, Response, Server, StaticHeader, ThreadPool};

/// Size of the `/1m` body; its bytes are `i % 251` (the same as the hyper peer's).
const BIG_LEN: usize = 1 << 20;

static OCTET_STREAM: StaticHeader = StaticHeader::new("Content-Type", "application/octet-stream");

/// rustls with the ring provider, safe default protocol versions, no client auth, ALPN
/// `http/1.1` (as the `https` example; the hyper peer builds the same for tokio-rustls).
fn tls_config(cert_path: &str, key_path: &str) -> io::Result<Arc<rustls::ServerConfig>> {
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
    };
    let certs = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| invalid(cert_path, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_path, &e))?;
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| invalid(key_path, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("rustls", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate/key", &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

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
