//! Running in production: socket activation or `SO_REUSEPORT`, compression that keeps
//! flushes, and a graceful shutdown on SIGTERM or Ctrl-C.
//!
//! Run with: `cargo run --example prod -- 127.0.0.1:8080` (the first argument is the
//! listen address, default 127.0.0.1:8080), then:
//!
//! - `curl --compressed -v http://127.0.0.1:8080/big`: 1 MB of text, zstd, br or gzip;
//! - `curl -N -H 'Accept-Encoding: gzip' http://127.0.0.1:8080/clock/events | gunzip`:
//!   one gzip-compressed event per second, each arriving when sent; the page at
//!   `/clock/` shows it in a browser (`EventSource` on the compressed stream);
//! - `curl http://127.0.0.1:8080/slow` then Ctrl-C (or `kill -TERM <pid>`): the slow
//!   response finishes, then the process exits with status 0; a second Ctrl-C stops at
//!   once; `kill -HUP <pid>` logs a reload.
//!
//! Socket activation: `systemd-socket-activate -l 127.0.0.1:8080 target/debug/examples/prod`
//! serves on the inherited socket (the address argument is then ignored). `REUSEPORT=1`
//! binds with `SO_REUSEPORT`, so a new copy can start on the same address before this
//! one is stopped with SIGTERM.

use std::time::Duration;

use async_io::Timer;
use h1_server::compress::Compress;
use h1_server::{Request, Response, Server};

fn main() -> std::io::Result<()> {
    examples::init_logger(log::LevelFilter::Info);
    smol::block_on(async {
        let server = match Server::from_systemd()? {
            Some(server) => server,
            None if std::env::var_os("REUSEPORT").is_some() => {
                let addr = examples::listen_addr("127.0.0.1:8080");
                let addr = addr.parse().map_err(std::io::Error::other)?;
                Server::bind_reuseport(addr)?
            }
            None => Server::bind(examples::listen_addr("127.0.0.1:8080").as_str()).await?,
        };
        let handle = server.serve(Compress::new(app));
        println!("listening on http://{}", handle.local_addr());
        let stopped = handle
            .shutdown_on_signals(Duration::from_secs(30))?
            .on_reload(|| log::info!("reload requested (nothing to reload in this example)"))
            .await;
        log::info!("stopped by {:?}", stopped.signal);
        Ok(())
    })
}

async fn app(req: Request) -> Response {
    if let Some(response) = examples::clock::route(&req, "/clock") {
        return response;
    }
    match req.path() {
        "/big" => Response::text(
            200,
            "All work and no play makes Jack a dull boy.\n".repeat(24_000),
        ),
        "/slow" => {
            // A response that takes five seconds: SIGTERM lets it finish.
            Timer::after(Duration::from_secs(5)).await;
            Response::text(200, "slow response done\n")
        }
        _ => Response::text(200, "try /big, /slow or /clock/\n"),
    }
}
