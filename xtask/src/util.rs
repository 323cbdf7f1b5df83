//! Helpers shared by the tasks: paths, running commands with clear failure messages,
//! option parsing, medians and percentiles.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::proc;

/// The workspace root: the parent of this crate's directory.
pub(crate) fn workspace_root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`).
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() { d } else { root.join(d) }
        }
        None => root.join("target"),
    }
}

/// The cargo that runs us (so `cargo +nightly xtask` and rustup proxies keep working).
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// A `cargo` command running in the workspace root.
pub(crate) fn cargo_cmd(root: &Path) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root);
    cmd
}

/// Run `cmd` with inherited stdio; an error names `what` and the exit status.
pub(crate) fn run(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("    $ {}", proc::display(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: could not start `{}`: {e}", proc::display(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({status}): `{}`",
            proc::display(cmd)
        ))
    }
}

/// Whether `program args...` runs and exits successfully (output discarded).
pub(crate) fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds (release, `--locked`) the peer package in `xtask/peers/NAME` (its own lock file)
/// into `target/peers`, printing `building LABEL peer (release)...`; returns the path of
/// its binary NAME (not checked).
pub(crate) fn build_peer(root: &Path, name: &str, label: &str) -> Result<PathBuf, String> {
    let peer_target = target_dir(root).join("peers");
    eprintln!("building {label} peer (release)...");
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(root.join("xtask/peers").join(name).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&peer_target);
    let st = proc::wait_status(&mut cmd, Duration::from_secs(900))?;
    if !st.success() {
        return Err(format!("building the {label} peer failed ({st})"));
    }
    Ok(peer_target.join("release").join(name))
}

/// The release binary of `examples`' example NAME, built first when `build` (printing
/// `building the NAME example (release)...`); an error when it is missing.
pub(crate) fn build_example(root: &Path, name: &str, build: bool) -> Result<PathBuf, String> {
    if build {
        eprintln!("building the {name} example (release)...");
        let mut cmd = cargo_cmd(root);
        cmd.args(["build", "--release", "-p", "examples", "--example", name]);
        let st = proc::wait_status(&mut cmd, Duration::from_secs(900))?;
        if !st.success() {
            return Err(format!("building the {name} example failed ({st})"));
        }
    }
    let bin = target_dir(root).join("release").join("examples").join(name);
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} missing (build it first)", bin.display()))
    }
}

/// Command-line arguments one at a time, with the values of options; errors end with the
/// task's usage text.
pub(crate) struct Args<'a> {
    it: std::slice::Iter<'a, String>,
    usage: &'a str,
}

impl<'a> Args<'a> {
    pub(crate) fn new(args: &'a [String], usage: &'a str) -> Self {
        Self {
            it: args.iter(),
            usage,
        }
    }

    /// The value of option `name` (the next argument).
    pub(crate) fn value(&mut self, name: &str) -> Result<String, String> {
        self.it
            .next()
            .cloned()
            .ok_or_else(|| format!("{name} needs a value\n{}", self.usage))
    }

    /// For an argument no option took: `-h` and `--help` print the usage and exit; anything
    /// else is an error, returned.
    pub(crate) fn unknown(&self, arg: &str) -> String {
        if matches!(arg, "-h" | "--help") {
            print!("{}", self.usage);
            std::process::exit(0);
        }
        format!("unknown argument {arg:?}\n{}", self.usage)
    }

    /// The value of option `name`, parsed.
    pub(crate) fn num<T: std::str::FromStr>(&mut self, name: &str) -> Result<T, String> {
        let v = self.value(name)?;
        v.parse()
            .map_err(|_| format!("{name}: not a number: {v:?}\n{}", self.usage))
    }
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.it.next().map(String::as_str)
    }
}

/// The median: the middle value, or the mean of the middle two (NaN when empty).
pub(crate) fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The element at quantile `q` (0 to 1) of `sorted`: index ⌊len·q⌋, at most the last one
/// (with `q` = 0.5, the upper of the middle two).
pub(crate) fn percentile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied()
}

/// [`percentile`] of `v` sorted by `cmp`.
pub(crate) fn quantile_by<T: Copy>(
    v: &[T],
    q: f64,
    cmp: impl FnMut(&T, &T) -> Ordering,
) -> Option<T> {
    let mut v = v.to_vec();
    v.sort_by(cmp);
    percentile(&v, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(51));
        assert_eq!(percentile(&v, 0.99), Some(100));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile::<u64>(&[], 0.5), None);
        assert_eq!(
            quantile_by(&[3.0, 1.0, 4.0, 2.0], 0.5, f64::total_cmp),
            Some(3.0)
        );
        let d = [Duration::from_secs(2), Duration::from_secs(1)];
        assert_eq!(quantile_by(&d, 0.5, Duration::cmp), Some(d[0]));
    }

    #[test]
    fn args_values_and_errors() {
        let a: Vec<String> = ["--n", "5", "--x", "--bad", "z", "--last"]
            .map(String::from)
            .into();
        let mut args = Args::new(&a, "USAGE");
        assert_eq!(args.next(), Some("--n"));
        assert_eq!(args.num::<u32>("--n"), Ok(5));
        assert_eq!(args.next(), Some("--x"));
        assert_eq!(args.next(), Some("--bad"));
        assert_eq!(
            args.num::<u32>("--bad"),
            Err("--bad: not a number: \"z\"\nUSAGE".to_string())
        );
        assert_eq!(args.next(), Some("--last"));
        assert_eq!(
            args.value("--last"),
            Err("--last needs a value\nUSAGE".to_string())
        );
        assert_eq!(args.next(), None);
        assert_eq!(args.unknown("-x"), "unknown argument \"-x\"\nUSAGE");
    }
}
