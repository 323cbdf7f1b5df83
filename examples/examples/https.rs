//! HTTPS: load a PEM certificate chain and private key, serve with the `tls` feature
//! (rustls through futures-rustls, runtime-agnostic).
//!
//! Run with: `cargo run --example https -- cert.pem key.pem 127.0.0.1:8443`, then
//! `curl --cacert cert.pem https://localhost:8443/`. A self-signed pair for trying it:
//! `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30
//! -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout key.pem -out cert.pem`.

use std::io;
use std::sync::Arc;

use h1_server::rustls;
use h1_server::rustls::pki_types::pem::PemObject;
use h1_server::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use h1_server::{Request, Response, Server};

/// A rustls server configuration from PEM files (ring provider, HTTP/1.1 over ALPN).
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
