//! `cargo xtask bench [SUITE] [ARGS...]`: benchmarks, one suite per subcommand.
//!
//! - `core`: `cargo bench -p h1-core` (criterion; engine beside bare httparse), then a
//!   table of engine/httparse ratios read from `target/criterion/*/*/new/estimates.json`.
//!   `--report` prints the table from the last run without benchmarking; other arguments
//!   go to criterion (for example a filter: `cargo xtask bench core browser_get`).
//! - `server`: our `hello` example against hyper under wrk (see `bench_server.rs`).
//! - `static`: the `static_files` example against nginx and hyper (see `bench_static.rs`).
//! - `stream`: h1-stream's `stream_server` example against hyper streaming through a
//!   channel-backed body (see `bench_stream.rs`).
//! - `tls`: `hello_tls` against hyper + tokio-rustls over https (see `bench_tls.rs`).
//! - `c10k`: `hello` against hyper with 10,000 keep-alive connections (see `bench_c10k.rs`).
//!
//! With no suite, every suite runs in order. To add one, add a row to [`SUITES`].

use std::fmt::Write as _;
use std::path::Path;

use crate::util::{self, cargo_cmd};

/// A benchmark suite: name, one-line description, entry point taking the remaining args.
type Suite = (
    &'static str,
    &'static str,
    fn(&[String]) -> Result<(), String>,
);

const SUITES: &[Suite] = &[
    (
        "core",
        "h1-core engine beside bare httparse (criterion), with a ratio table",
        core,
    ),
    (
        "server",
        "hello example vs hyper under wrk: req/s, CPU/request, latency, memory",
        crate::bench_server::run,
    ),
    (
        "stream",
        "push stream chunks/s (flushing, dont_flush) and send-to-read latency vs hyper",
        crate::bench_stream::run,
    ),
    (
        "route",
        "Router with 100 routes beside the plain hello handler under wrk: req/s, ratio",
        crate::bench_route::run,
    ),
    (
        "static",
        "static files vs nginx (4 KiB, 1 MiB, Range into 100 MiB) and 1 MiB from memory vs hyper",
        crate::bench_static::run,
    ),
    (
        "upload",
        "1 GiB multipart upload to disk over loopback vs cat and a raw std sink: MB/s, ratios, CPU, peak RSS",
        crate::bench_upload::run,
    ),
    (
        "tls",
        "hello over TLS vs hyper + tokio-rustls: handshakes/s, keep-alive, 1 MiB; CPU/request",
        crate::bench_tls::run,
    ),
    (
        "c10k",
        "10,000 keep-alive connections vs hyper: p99 latency, memory per connection",
        crate::bench_c10k::run,
    ),
];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            println!("usage: cargo xtask bench [SUITE [ARGS...]]\n\nsuites (all when none given):");
            for (name, what, _) in SUITES {
                println!("  {name:<8} {what}");
            }
            Ok(())
        }
        Some(name) => {
            let (_, _, suite) = SUITES
                .iter()
                .find(|(n, _, _)| *n == name)
                .ok_or_else(|| format!("unknown bench suite {name:?} (try --help)"))?;
            suite(&args[1..])
        }
        None => {
            for (name, _, suite) in SUITES {
                eprintln!("==> bench {name}");
                suite(&[]).map_err(|e| format!("bench {name}: {e}"))?;
            }
            Ok(())
        }
    }
}

/// Engine-vs-baseline pairs in `benches/parse.rs`: (label, group, engine id, baseline id).
const PAIRS: &[(&str, &str, &str, &str)] = &[
    (
        "browser GET, 10 headers",
        "browser_get",
        "engine",
        "httparse",
    ),
    ("16 pipelined GETs", "pipelined_16", "engine", "httparse"),
    (
        "chunked POST + trailers",
        "chunked_post",
        "engine",
        "httparse",
    ),
    (
        "16 KiB head, whole",
        "head_split",
        "whole_16k",
        "httparse_16k",
    ),
];

fn core(args: &[String]) -> Result<(), String> {
    let root = util::workspace_root();
    if args.first().map(String::as_str) != Some("--report") {
        let mut cmd = cargo_cmd(&root);
        cmd.args(["bench", "-p", "h1-core", "--bench", "parse"]);
        if !args.is_empty() {
            cmd.arg("--").args(args);
        }
        util::run("cargo bench -p h1-core", &mut cmd)?;
    }
    let report = core_report(&util::target_dir(&root).join("criterion"))?;
    println!("\n{report}");
    Ok(())
}

/// The ratio table, from criterion's saved results: median time per iteration, and the
/// fastest sample's time per iteration (robust when other processes share the cores).
fn core_report(dir: &Path) -> Result<String, String> {
    let median = |group: &str, id: &str| median_ns(&dir.join(group).join(id));
    let best = |group: &str, id: &str| best_ns(&dir.join(group).join(id));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "h1-core engine vs bare httparse, time per iteration (median | fastest sample)"
    );
    let _ = writeln!(
        out,
        "{:<25} {:>10} {:>10} {:>7} | {:>10} {:>10} {:>7}",
        "case", "httparse", "engine", "ratio", "httparse", "engine", "ratio"
    );
    let mut any = false;
    for (label, group, engine, base) in PAIRS {
        let (Some(me), Some(mb)) = (median(group, engine), median(group, base)) else {
            continue;
        };
        any = true;
        let _ = write!(
            out,
            "{label:<25} {:>10} {:>10} {:>6.2}x",
            fmt_ns(mb),
            fmt_ns(me),
            me / mb
        );
        if let (Some(be), Some(bb)) = (best(group, engine), best(group, base)) {
            let _ = write!(
                out,
                " | {:>10} {:>10} {:>6.2}x",
                fmt_ns(bb),
                fmt_ns(be),
                be / bb
            );
        }
        out.push('\n');
    }
    for (label, f) in [
        ("median", &median as &dyn Fn(&str, &str) -> Option<f64>),
        ("fastest", &best),
    ] {
        let whole = f("head_split", "whole_16k");
        let one16 = f("head_split", "one_byte_16k");
        let one8 = f("head_split", "one_byte_8k");
        if let (Some(w), Some(o16), Some(o8)) = (whole, one16, one8) {
            any = true;
            let _ = writeln!(
                out,
                "16 KiB head, 1 byte per receive ({label}): {} = {:.1}x whole ({:.1} ns/byte); \
                 16 KiB / 8 KiB: {:.2}x (linear 2, quadratic 4)",
                fmt_ns(o16),
                o16 / w,
                o16 / (16.0 * 1024.0),
                o16 / o8
            );
        }
    }
    if !any {
        return Err(format!(
            "no criterion results under {} (run `cargo xtask bench core` first)",
            dir.display()
        ));
    }
    Ok(out)
}

/// The median point estimate in nanoseconds from `<bench>/new/estimates.json`.
fn median_ns(bench: &Path) -> Option<f64> {
    let json = std::fs::read_to_string(bench.join("new/estimates.json")).ok()?;
    point_estimate(&json, "median")
}

/// The fastest sample's time per iteration, from `<bench>/new/sample.json`.
fn best_ns(bench: &Path) -> Option<f64> {
    let json = std::fs::read_to_string(bench.join("new/sample.json")).ok()?;
    let iters = number_array(&json, "iters")?;
    let times = number_array(&json, "times")?;
    iters
        .iter()
        .zip(&times)
        .filter(|(i, _)| **i > 0.0)
        .map(|(i, t)| t / i)
        .min_by(f64::total_cmp)
}

/// `"<key>":[1.0,2.0,...]` without a JSON library.
fn number_array(json: &str, key: &str) -> Option<Vec<f64>> {
    let at = json.find(&format!("\"{key}\""))?;
    let rest = &json[at..];
    let open = rest.find('[')?;
    let close = rest[open..].find(']')? + open;
    rest[open + 1..close]
        .split(',')
        .map(|n| n.trim().parse().ok())
        .collect()
}

/// `"<key>":{..."point_estimate":X...}` without a JSON library: criterion writes each
/// statistic as an object whose `point_estimate` follows its confidence interval.
fn point_estimate(json: &str, key: &str) -> Option<f64> {
    let at = json.find(&format!("\"{key}\""))?;
    let rest = &json[at..];
    let p = rest.find("\"point_estimate\"")?;
    let value = rest[p + "\"point_estimate\"".len()..]
        .trim_start()
        .strip_prefix(':')?;
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+')))
        .unwrap_or(value.len());
    value[..end].trim().parse().ok()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_median() {
        let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.5,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.75e2,"standard_error":0.1}}"#;
        assert_eq!(point_estimate(json, "median"), Some(175.0));
        assert_eq!(point_estimate(json, "mean"), Some(2.5));
        assert_eq!(point_estimate(json, "slope"), None);
    }

    #[test]
    fn reads_criterion_samples() {
        let json =
            r#"{"sampling_mode":"Linear","iters":[10.0,20.0,30.0],"times":[1000.0,1800.0,3300.0]}"#;
        assert_eq!(number_array(json, "iters"), Some(vec![10.0, 20.0, 30.0]));
        assert_eq!(number_array(json, "times").map(|t| t.len()), Some(3));
        assert_eq!(number_array(json, "nope"), None);
    }

    #[test]
    fn formats_durations() {
        assert_eq!(fmt_ns(512.0), "512 ns");
        assert_eq!(fmt_ns(1_500.0), "1.50 µs");
        assert_eq!(fmt_ns(2_000_000.0), "2.00 ms");
    }
}
