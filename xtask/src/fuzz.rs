//! `cargo xtask fuzz [--seconds N] [--stable] [TARGET...]`: run the fuzz targets under
//! `http-core/fuzz` for a bounded time each.
//!
//! With a nightly toolchain (`rustup toolchain list`), each target runs under libFuzzer:
//! `cargo +nightly fuzz run TARGET <work corpus> <seed corpus> -- -max_total_time=N`
//! (cargo-fuzz is installed with `cargo install cargo-fuzz --locked` if missing). New
//! inputs go to `target/fuzz-corpus/TARGET`, so the committed seeds stay as they are.
//!
//! Without nightly (or with `--stable`) it says so and runs the same target function in
//! the fuzz crate's `stable-loop` binary instead: the seeds, then random mutations of
//! them for N seconds. The target logic lives in the fuzz crate's library
//! (`h1_core_fuzz::connection`), which both the libFuzzer binary and the loop call, so
//! both check the same invariants; the loop just has no coverage guidance.

use std::path::Path;
use std::process::Command;

use crate::util::{self, cargo_cmd};

const USAGE: &str = "\
usage: cargo xtask fuzz [--seconds N] [--stable] [TARGET...]

  --seconds N   how long to fuzz each target (default 60)
  --stable      use the stable mutation loop even if a nightly toolchain exists
  TARGET        fuzz targets to run (default: every file in http-core/fuzz/fuzz_targets)
";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut seconds: u64 = 60;
    let mut stable = false;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--seconds" => {
                let n = args.next().ok_or("--seconds needs a value")?;
                seconds = n
                    .parse()
                    .map_err(|_| format!("--seconds: not a number: {n:?}"))?;
            }
            "--stable" => stable = true,
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other:?}\n{USAGE}"));
            }
            target => targets.push(target.to_string()),
        }
    }
    let root = util::workspace_root();
    let fuzz_dir = root.join("http-core/fuzz");
    let known = list_targets(&fuzz_dir)?;
    if targets.is_empty() {
        targets.clone_from(&known);
    }
    for t in &targets {
        if !known.contains(t) {
            return Err(format!("unknown fuzz target {t:?}; targets: {known:?}"));
        }
    }

    let nightly = !stable && has_nightly();
    if !nightly && !stable {
        eprintln!(
            "==> no nightly toolchain found (`rustup toolchain list`); cargo-fuzz needs one.\n\
             ==> Falling back to the stable mutation loop: same targets and invariants, \
             no coverage guidance.\n\
             ==> For libFuzzer: `rustup toolchain install nightly`, then run this again."
        );
    }
    if nightly {
        ensure_cargo_fuzz()?;
    }
    let target_dir = util::target_dir(&root);
    for t in &targets {
        let seeds = fuzz_dir.join("corpus").join(t);
        let mut cmd;
        if nightly {
            let work = target_dir.join("fuzz-corpus").join(t);
            std::fs::create_dir_all(&work)
                .map_err(|e| format!("create {}: {e}", work.display()))?;
            eprintln!("==> fuzz {t} for {seconds} s with libFuzzer (nightly)");
            cmd = Command::new("cargo");
            cmd.current_dir(root.join("http-core"));
            cmd.args(["+nightly", "fuzz", "run", t]);
            cmd.arg(&work).arg(&seeds);
            cmd.arg("--");
            cmd.arg(format!("-max_total_time={seconds}"));
            cmd.args(["-timeout=10", "-print_final_stats=1"]);
            let dict = fuzz_dir.join("http.dict");
            if dict.exists() {
                cmd.arg(format!("-dict={}", dict.display()));
            }
            // Our -D warnings, if any, must not break the instrumented build.
            cmd.env_remove("RUSTFLAGS");
        } else {
            eprintln!("==> fuzz {t} for {seconds} s with the stable loop");
            cmd = cargo_cmd(&root);
            cmd.args(["run", "--release", "--manifest-path"]);
            cmd.arg(fuzz_dir.join("Cargo.toml"));
            cmd.args(["--no-default-features", "--bin", "stable-loop", "--", t]);
            cmd.arg(seconds.to_string());
            cmd.arg(&seeds);
            cmd.arg(fuzz_dir.join("artifacts").join(t));
        }
        util::run(&format!("fuzz target `{t}`"), &mut cmd).map_err(|e| {
            format!("{e}\n(failing inputs, if any, are under http-core/fuzz/artifacts/{t}/)")
        })?;
    }
    eprintln!(
        "==> fuzzing done: {} for {seconds} s each, no failures",
        targets.join(", ")
    );
    Ok(())
}

/// Target names: the files in `fuzz_targets/`, without `.rs`.
pub(crate) fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz_dir.join("fuzz_targets");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("read {}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            Some(name.strip_suffix(".rs")?.to_string())
        })
        .collect();
    names.sort();
    Ok(names)
}

fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.starts_with("nightly"))
        })
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    if util::succeeds("cargo", &["+nightly", "fuzz", "--version"]) {
        return Ok(());
    }
    eprintln!("==> cargo-fuzz is missing: installing it");
    let mut cmd = Command::new(util::cargo());
    cmd.args(["install", "cargo-fuzz", "--locked"]);
    util::run("installing cargo-fuzz", &mut cmd)
}
