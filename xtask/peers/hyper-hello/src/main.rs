//! hyper 1.x hello server: the peer `cargo xtask bench` (server, tls, c10k) compares
//! against.
//!
//! Usage: `hyper-hello ADDR [--pipeline-flush] [--tls CERT.pem KEY.pem]`
//!
//! Answers `GET /1m` with 1 MiB of bytes and `GET /mem` with 1 MiB of `x` (as our
//! `static_files` example's `/mem`; both `application/octet-stream`), and every other
//! request with `200 OK`, `text/plain; charset=utf-8` and `Hello, World!\n`, each with a
//! `Server` header (the same fields, of the same lengths, as our `hello` and `hello_tls`
//! examples), on a single-threaded tokio runtime (the bench pins the server to one core).
//! With `--tls`, over tokio-rustls with the ring provider and ALPN `http/1.1`, configured
//! as our `hello_tls` example configures futures-rustls.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const BODY: &[u8] = b"Hello, World!\n";

/// Size of the `/1m` body; its bytes are `i % 251` (the same as `hello_tls`).
const BIG_LEN: usize = 1 << 20;

/// The `/mem` body: 1 MiB of `x`, made once, shared by every response.
static MEM: std::sync::LazyLock<Bytes> =
    std::sync::LazyLock::new(|| Bytes::from(vec![b'x'; 1 << 20]));

fn big_body() -> Bytes {
    (0..BIG_LEN)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn hello(req: &Request<hyper::body::Incoming>, big: &Bytes) -> Response<Full<Bytes>> {
    // The same fields, of the same lengths, as ours (`Response::text` plus the default
    // `Server` header): wrk's cost per response depends on them, so both servers must
    // answer with the same bytes.
    let (body, ctype) = if req.uri().path() == "/1m" {
        (big.clone(), "application/octet-stream")
    } else if req.uri().path() == "/mem" {
        (MEM.clone(), "application/octet-stream")
    } else {
        (Bytes::from_static(BODY), "text/plain; charset=utf-8")
    };
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    resp.headers_mut()
        .insert(SERVER, HeaderValue::from_static("hyper-hello/0.1.0"));
    resp
}

fn usage(msg: &str) -> ! {
    eprintln!("{msg}");
    eprintln!("usage: hyper-hello ADDR [--pipeline-flush] [--tls CERT.pem KEY.pem]");
    std::process::exit(2);
}

/// rustls with the ring provider, safe default protocol versions, no client auth, ALPN
/// `http/1.1`: as `examples/examples/hello_tls.rs` builds it for futures-rustls.
fn tls_config(cert: &str, key: &str) -> Arc<rustls::ServerConfig> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| usage(&format!("{cert}: {e}")));
    let key = PrivateKeyDer::from_pem_file(key).unwrap_or_else(|e| usage(&format!("{key}: {e}")));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("rustls protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap_or_else(|e| usage(&format!("certificate/key: {e}")));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn main() {
    let mut addr: Option<SocketAddr> = None;
    let mut pipeline_flush = false;
    let mut tls = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pipeline-flush" => pipeline_flush = true,
            "--tls" => {
                let (Some(cert), Some(key)) = (args.next(), args.next()) else {
                    usage("--tls needs CERT.pem KEY.pem");
                };
                tls = Some(TlsAcceptor::from(tls_config(&cert, &key)));
            }
            other if addr.is_none() => {
                addr = Some(
                    other
                        .parse()
                        .unwrap_or_else(|e| usage(&format!("bad listen address {other:?}: {e}"))),
                )
            }
            other => usage(&format!("unexpected argument {other:?}")),
        }
    }
    let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let big = big_body();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await.expect("bind");
        println!(
            "hyper-hello listening on {}://{} (pipeline_flush={pipeline_flush})",
            if tls.is_some() { "https" } else { "http" },
            listener.local_addr().expect("local_addr")
        );
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let big = big.clone();
            let tls = tls.clone();
            tokio::task::spawn(async move {
                let mut builder = http1::Builder::new();
                builder.pipeline_flush(pipeline_flush);
                let service = service_fn(move |req| {
                    let resp = hello(&req, &big);
                    async move { Ok::<_, Infallible>(resp) }
                });
                match tls {
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                    Some(acceptor) => {
                        let Ok(stream) = acceptor.accept(stream).await else {
                            return;
                        };
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
}
