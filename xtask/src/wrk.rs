//! wrk, the HTTP load generator the benches drive: installing it, running it bounded and
//! pinned, and reading its report.

use std::process::Command;
use std::time::Duration;

use crate::proc::{self, Launcher};

/// Installs wrk with apt-get when it is missing.
pub(crate) fn ensure() -> Result<(), String> {
    if proc::have("wrk") {
        return Ok(());
    }
    eprintln!("wrk missing: apt-get install -y wrk");
    let install = || {
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        proc::wait_status(&mut c, Duration::from_secs(600))
    };
    if !install()?.success() {
        eprintln!("apt-get install failed: apt-get update, then retrying");
        let mut c = Command::new("apt-get");
        c.arg("update").env("DEBIAN_FRONTEND", "noninteractive");
        proc::wait_status(&mut c, Duration::from_secs(600))?;
        if !install()?.success() {
            return Err("could not install wrk (apt-get install -y wrk)".into());
        }
    }
    if proc::have("wrk") {
        Ok(())
    } else {
        Err("wrk still not found after installing it".into())
    }
}

/// The first line of `wrk -v` (or why it could not run).
pub(crate) fn version() -> String {
    let mut c = Command::new("wrk");
    c.arg("-v");
    match proc::run_bounded(&mut c, Duration::from_secs(10)) {
        Ok((_, out, err)) => format!("{out}{err}")
            .lines()
            .next()
            .unwrap_or("?")
            .trim()
            .to_string(),
        Err(e) => e,
    }
}

/// What one wrk run reported.
#[derive(Debug, Default)]
pub(crate) struct WrkResult {
    /// `Requests/sec:`.
    pub(crate) rps: Option<f64>,
    /// Requests completed (`N requests in ...`).
    pub(crate) requests: u64,
    /// Latency percentiles (with `--latency`).
    pub(crate) p50_us: Option<f64>,
    pub(crate) p99_us: Option<f64>,
    /// Socket errors plus non-2xx/3xx responses.
    pub(crate) errors: u64,
    /// wrk's run-queue delay (sampled every 20 ms while it ran).
    pub(crate) wait_ns: u64,
    /// wrk's whole stdout.
    pub(crate) raw: String,
}

/// Runs `wrk -t1 --timeout 5s ARGS...` through `launcher` on core 1, bounded by `bound`.
pub(crate) fn run(
    launcher: &Launcher,
    args: &[&str],
    bound: Duration,
) -> Result<WrkResult, String> {
    let mut cmd = launcher.command(1);
    cmd.arg("wrk").args(["-t1", "--timeout", "5s"]).args(args);
    let mut wait_ns = 0;
    let (st, out, err) = proc::run_bounded_with(&mut cmd, bound, &mut |pid| {
        if let Some(w) = proc::run_queue_wait_ns(pid) {
            wait_ns = w;
        }
    })?;
    if !st.success() {
        return Err(format!("{cmd:?} failed ({st}):\n{out}{err}"));
    }
    Ok(WrkResult {
        wait_ns,
        ..parse(&out)
    })
}

/// Reads wrk's report.
pub(crate) fn parse(out: &str) -> WrkResult {
    let mut r = WrkResult {
        raw: out.to_string(),
        ..WrkResult::default()
    };
    let mut in_dist = false;
    for line in out.lines() {
        let t = line.trim();
        if t.starts_with("Latency Distribution") {
            in_dist = true;
            continue;
        }
        if in_dist {
            let mut w = t.split_whitespace();
            match (w.next(), w.next()) {
                (Some("50%"), Some(v)) => r.p50_us = parse_duration_us(v),
                (Some("99%"), Some(v)) => r.p99_us = parse_duration_us(v),
                (Some(p), Some(_)) if p.ends_with('%') => {}
                _ => in_dist = false,
            }
        }
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().ok();
        } else if t.contains(" requests in ") {
            r.requests = t
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if let Some(v) = t.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            r.errors += v
                .split(',')
                .filter_map(|kv| kv.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            r.errors += v.trim().parse::<u64>().unwrap_or(0);
        }
    }
    r
}

/// wrk durations: `812.00us`, `1.23ms`, `2.00s`, `1.50m`, `1.00h`.
fn parse_duration_us(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_OUT: &str = "\
Running 5s test @ http://127.0.0.1:40000/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   394.21us  120.11us   4.00ms   90.00%
    Req/Sec   160.00k     3.00k  170.00k    70.00%
  Latency Distribution
     50%  376.00us
     75%  420.00us
     90%  480.00us
     99%    1.02ms
  801234 requests in 5.00s, 98.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 160246.80
Transfer/sec:     19.60MB
";

    #[test]
    fn parses_wrk_output() {
        let r = parse(WRK_OUT);
        assert_eq!(r.requests, 801_234);
        assert!((r.rps.unwrap() - 160_246.8).abs() < 1e-6);
        assert_eq!(r.p50_us, Some(376.0));
        assert_eq!(r.p99_us, Some(1020.0));
        assert_eq!(r.errors, 7);
        assert_eq!(parse("no report").rps, None);
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration_us("812.00us"), Some(812.0));
        assert_eq!(parse_duration_us("2.00s"), Some(2e6));
        assert_eq!(parse_duration_us("1.5m"), Some(90e6));
        assert_eq!(parse_duration_us("abc"), None);
    }
}
