//! Shared pieces of the examples: the listen-address argument, a tiny stderr logger, the
//! one stylesheet of every page, and the demo's sections (each also runnable on its own).
#![forbid(unsafe_code)]

pub mod app;
pub mod chat;
pub mod clock;
pub mod routes;
pub mod upload;

use std::io::Write;

/// The repository's README: each of its Rust blocks is a doctest of this crate, which
/// depends on everything they use (`cargo test -p examples --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

use h1_server::{Request, Response};

/// The stylesheet every example page links as `/site.css` (`static/css/site.css`).
pub const SITE_CSS: &str = include_str!("../static/css/site.css");

/// `GET /site.css` (or `HEAD`): [`SITE_CSS`]; `None` for any other request.
pub fn site_css(req: &Request) -> Option<Response> {
    let get = matches!(req.method(), "GET" | "HEAD");
    (get && req.path() == "/site.css").then(stylesheet)
}

/// [`SITE_CSS`] as a response (cacheable for an hour).
pub fn stylesheet() -> Response {
    Response::bytes(200, SITE_CSS)
        .header("Content-Type", "text/css; charset=utf-8")
        .header("Cache-Control", "max-age=3600")
}

/// The listen address: the first command-line argument, or `default`.
pub fn listen_addr(default: &str) -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| default.to_owned())
}

/// Log records at `level` and above to stderr, one line each (`RUST_LOG=off` silences,
/// `RUST_LOG=debug` shows more).
pub fn init_logger(level: log::LevelFilter) {
    let level = match std::env::var("RUST_LOG").as_deref() {
        Ok("off") => log::LevelFilter::Off,
        Ok("error") => log::LevelFilter::Error,
        Ok("warn") => log::LevelFilter::Warn,
        Ok("info") => log::LevelFilter::Info,
        Ok("debug") => log::LevelFilter::Debug,
        Ok("trace") => log::LevelFilter::Trace,
        _ => level,
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

struct StderrLogger;

static LOGGER: StderrLogger = StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "{:5} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}
