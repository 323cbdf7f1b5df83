//! Project tasks, std only: `cargo xtask <task>` (the alias is in `.cargo/config.toml`).
//!
//! - `ci`: fmt, clippy, tests, docs, fuzz seed replay, with warnings denied; what
//!   `.ci/run` runs.
//! - `fuzz [--seconds N] [TARGET...]`: the fuzz targets under `http-core/fuzz`.
//! - `bench [SUITE]`: `core` (h1-core vs httparse), `server` (vs hyper, under wrk) and
//!   `stream` (push-stream chunks/s and latency, vs hyper).

mod bench;
mod bench_c10k;
mod bench_idle;
mod bench_route;
mod bench_server;
mod bench_static;
mod bench_stream;
mod bench_stream_client;
mod bench_tls;
mod bench_upload;
mod bench_upload_sink;
mod ci;
mod fuzz;
mod proc;
mod util;
mod wrk;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task> [ARGS...]

tasks:
  ci [STEP...]                       fmt, clippy, test, doc, fuzz-seeds (warnings denied)
  fuzz [--seconds N] [TARGET...]     run the fuzz targets for N seconds each (default 60)
  bench [SUITE] [ARGS...]            benchmarks: core, server, stream, route, upload, static,
                                     tls, c10k (all when none named)

`cargo xtask <task> --help` shows a task's options.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(rest),
        Some("fuzz") => fuzz::run(rest),
        Some("bench") => bench::run(rest),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task {other:?}\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
