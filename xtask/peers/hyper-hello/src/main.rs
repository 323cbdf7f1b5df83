//! hyper 1.x hello server: the peer `cargo xtask bench server` compares against.
//!
//! Usage: `hyper-hello ADDR [--pipeline-flush]`
//!
//! Answers every request with `200 OK`, `text/plain; charset=utf-8`, a `Server` header
//! and `Hello, World!\n` (the same fields as our `hello`), on a
//! single-threaded tokio runtime (the bench pins the server to one core). `GET /mem`
//! answers 1 MiB of `x` from memory (`application/octet-stream`), as our
//! `static_files` example's `/mem` does (`cargo xtask bench static`).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const BODY: &[u8] = b"Hello, World!\n";

/// The `/mem` body: 1 MiB, made once, shared by every response.
static MEM: std::sync::LazyLock<Bytes> =
    std::sync::LazyLock::new(|| Bytes::from(vec![b'x'; 1 << 20]));

async fn hello(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/mem" {
        let mut resp = Response::new(Full::new(MEM.clone()));
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/octet-stream"),
        );
        return Ok(resp);
    }
    let mut resp = Response::new(Full::new(Bytes::from_static(BODY)));
    // The same fields, of the same lengths, as ours (`Response::text` plus the default
    // `Server` header): wrk's cost per response depends on them, so both servers must
    // answer with the same bytes.
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp.headers_mut().insert(
        hyper::header::SERVER,
        hyper::header::HeaderValue::from_static("hyper-hello/1.12"),
    );
    Ok(resp)
}

fn main() {
    let mut addr: Option<SocketAddr> = None;
    let mut pipeline_flush = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--pipeline-flush" => pipeline_flush = true,
            other if addr.is_none() => {
                addr = Some(other.parse().unwrap_or_else(|e| {
                    eprintln!("bad listen address {other:?}: {e}");
                    std::process::exit(2);
                }))
            }
            other => {
                eprintln!("unexpected argument {other:?}");
                eprintln!("usage: hyper-hello ADDR [--pipeline-flush]");
                std::process::exit(2);
            }
        }
    }
    let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await.expect("bind");
        println!(
            "hyper-hello listening on http://{} (pipeline_flush={pipeline_flush})",
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
            tokio::task::spawn(async move {
                let mut builder = http1::Builder::new();
                builder.pipeline_flush(pipeline_flush);
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    });
}
