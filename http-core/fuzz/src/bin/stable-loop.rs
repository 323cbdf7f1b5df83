//! A fuzzing fallback for machines without a nightly toolchain (cargo-fuzz needs one).
//!
//! Runs a target from `h1_core_fuzz::TARGETS` for a bounded time over its seed corpus
//! and random mutations of it (bit flips, byte edits, splices, inserted HTTP tokens).
//! No coverage feedback, so it is far weaker than libFuzzer, but it checks the same
//! invariants with the same code. A failing input is written to `<artifacts>/crash-<hash>`
//! and the process exits with status 1.
//!
//! Usage: `stable-loop <target> <seconds> <corpus-dir> <artifact-dir>`
//! (`cargo xtask fuzz` runs it for you).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use std::{env, fs};

use h1_core_fuzz::{Rng, TARGETS, Target};

/// Tokens worth splicing into HTTP input.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n\r\n",
    b"\0",
    b" ",
    b"\t",
    b":",
    b",",
    b";",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HTTP/1.0",
    b"HTTP/1.1",
    b"HTTP/2.0",
    b"Host: example.com\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: ",
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Connection: close\r\n",
    b"Connection: keep-alive\r\n",
    b"Expect: 100-continue\r\n",
    b"Upgrade: websocket\r\nConnection: upgrade\r\n",
    b"CONNECT example.com:443 HTTP/1.1\r\n",
    b"HEAD ",
    b"OPTIONS * HTTP/1.1\r\n",
    b"5\r\nhello\r\n",
    b"0\r\n\r\n",
    b"0\r\nX-Trailer: v\r\n\r\n",
    b"ffffffffffffffffff\r\n",
    b";ext=1",
    b"18446744073709551616",
    b"\xff\xfe",
];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let [target, seconds, corpus, artifacts] = args.as_slice() else {
        eprintln!("usage: stable-loop <target> <seconds> <corpus-dir> <artifact-dir>");
        return ExitCode::from(2);
    };
    let Some(&(_, run)) = TARGETS.iter().find(|(name, _)| name == target) else {
        let names: Vec<_> = TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("unknown target {target:?}; targets: {names:?}");
        return ExitCode::from(2);
    };
    let Ok(seconds) = seconds.parse::<u64>() else {
        eprintln!("seconds must be a number, got {seconds:?}");
        return ExitCode::from(2);
    };
    let mut pool = load_corpus(Path::new(corpus));
    if pool.is_empty() {
        pool.push(b"\0\0\0\0GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec());
    }
    let seeds = pool.len();
    let artifacts = PathBuf::from(artifacts);

    // Replay the seeds first, then mutate until the deadline.
    for input in pool.clone() {
        if !check(run, &input, &artifacts) {
            return ExitCode::FAILURE;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut rng = Rng::new(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    );
    let mut runs: u64 = 0;
    let started = Instant::now();
    while Instant::now() < deadline {
        for _ in 0..256 {
            let input = mutate(&pool, &mut rng);
            if !check(run, &input, &artifacts) {
                return ExitCode::FAILURE;
            }
            runs += 1;
            // Keep a bounded pool of mutants so mutations can stack up over time.
            if rng.below(8) == 0 {
                if pool.len() < 4096 {
                    pool.push(input);
                } else {
                    let i = seeds + rng.below((pool.len() - seeds) as u64) as usize;
                    pool[i] = input;
                }
            }
        }
    }
    if runs == 0 {
        println!("stable-loop {target}: replayed {seeds} seeds, no failures");
        return ExitCode::SUCCESS;
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    println!(
        "stable-loop {target}: {runs} runs in {secs:.1} s ({:.0}/s), {seeds} seeds, no failures",
        runs as f64 / secs
    );
    ExitCode::SUCCESS
}

fn load_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    paths.sort();
    paths
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| fs::read(p).ok())
        .collect()
}

/// Runs `input`; on a panic, saves it and returns false.
fn check(run: Target, input: &[u8], artifacts: &Path) -> bool {
    if panic::catch_unwind(AssertUnwindSafe(|| run(input))).is_ok() {
        return true;
    }
    let mut hasher = DefaultHasher::new();
    input.hash(&mut hasher);
    let path = artifacts.join(format!("crash-{:016x}", hasher.finish()));
    let saved = fs::create_dir_all(artifacts).and_then(|()| fs::write(&path, input));
    match saved {
        Ok(()) => eprintln!("failing input saved to {}", path.display()),
        Err(e) => eprintln!("failing input could not be saved ({e}): {input:?}"),
    }
    false
}

fn mutate(pool: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut data = pool[rng.below(pool.len() as u64) as usize].clone();
    for _ in 0..1 + rng.below(4) {
        let len = data.len() as u64;
        let at = |rng: &mut Rng| rng.below(len + 1) as usize;
        match rng.below(9) {
            // The four control bytes: config switches, split mode, PRNG seed.
            0 if len >= 4 => data[rng.below(4) as usize] = rng.next_u64() as u8,
            1 if len > 0 => {
                let i = rng.below(len) as usize;
                data[i] ^= 1 << rng.below(8);
            }
            2 if len > 0 => {
                let i = rng.below(len) as usize;
                data[i] = rng.next_u64() as u8;
            }
            3 => {
                let i = at(rng);
                data.insert(i, rng.next_u64() as u8);
            }
            4 if len > 0 => {
                let i = rng.below(len) as usize;
                let n = 1 + rng.below((len - i as u64).min(32)) as usize;
                data.drain(i..i + n);
            }
            5 if len > 0 => {
                // Duplicate a range (more pipelined requests, longer heads).
                let i = rng.below(len) as usize;
                let n = 1 + rng.below((len - i as u64).min(256)) as usize;
                let copy = data[i..i + n].to_vec();
                let j = at(rng);
                data.splice(j..j, copy);
            }
            6 => {
                let other = &pool[rng.below(pool.len() as u64) as usize];
                let from = rng.below(other.len() as u64 + 1) as usize;
                let i = at(rng);
                data.truncate(i);
                data.extend_from_slice(&other[from..]);
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len() as u64) as usize];
                let i = at(rng);
                data.splice(i..i, token.iter().copied());
            }
        }
    }
    data.truncate(64 * 1024);
    data
}
