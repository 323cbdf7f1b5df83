//! `cargo xtask ci`: every check CI runs, in order, failing fast.
//!
//! Steps: `fmt`, `clippy`, `features`, `test`, `test-edge-off`, `doc`, `package`,
//! `fuzz-seeds`.
//! RUSTFLAGS and RUSTDOCFLAGS get `-D warnings`. `cargo xtask ci test doc` runs only the
//! named steps.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::proc::display;
use crate::util::{self, cargo_cmd};

/// The README's test command; `.ci/run` runs it through this task. Keep them the same.
pub(crate) const TEST_COMMAND: &[&str] = &["test", "--workspace"];

/// h1-server's cargo features, each checked alone by the `features` step (a test below
/// keeps the list in step with http-server/Cargo.toml).
const SERVER_FEATURES: &[&str] = &[
    "smol",
    "router",
    "multipart",
    "serde",
    "http",
    "tower",
    "tls",
    "signals",
    "listeners",
    "compression",
    "metrics",
    "tracing",
];

/// The directories of the integration tests that talk over loopback sockets (the
/// `tests` package, h1-server's and h1-stream's): run again by the `test-edge-off` step
/// with the edge-triggered set switched off.
const SOCKET_TEST_DIRS: &[&str] = &["tests/tests", "http-server/tests", "http-stream/tests"];

/// The test targets in `SOCKET_TEST_DIRS`: one per `.rs` file at the top of each.
fn socket_test_targets(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = SOCKET_TEST_DIRS
        .iter()
        .filter_map(|dir| std::fs::read_dir(root.join(dir)).ok())
        .flatten()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let is_rs = path.extension().is_some_and(|e| e == "rs");
            is_rs.then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Work a step does itself before its commands run.
type Prepare = fn(&Path) -> Result<(), String>;

struct Step {
    name: &'static str,
    what: &'static str,
    /// Run once before the step's commands (none for most steps).
    prepare: Option<Prepare>,
    commands: fn(&Path) -> Vec<Command>,
}

const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        what: "formatting (cargo fmt --check)",
        prepare: None,
        commands: |root| {
            let mut ws = cargo_cmd(root);
            ws.args(["fmt", "--all", "--", "--check"]);
            let mut fuzz = cargo_cmd(root);
            fuzz.args([
                "fmt",
                "--manifest-path",
                "http-core/fuzz/Cargo.toml",
                "--",
                "--check",
            ]);
            vec![ws, fuzz]
        },
    },
    Step {
        name: "clippy",
        what: "lints (clippy, warnings denied)",
        prepare: None,
        commands: |root| {
            let mut ws = cargo_cmd(root);
            ws.args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]);
            // Every optional feature of the server (tls, http, tower, serde) compiles and
            // lints clean too; the workspace build above enables only some of them.
            let mut all = cargo_cmd(root);
            all.args([
                "clippy",
                "-p",
                "h1-server",
                "--all-features",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]);
            vec![ws, all]
        },
    },
    Step {
        name: "features",
        what: "h1-server with no default features and with each feature alone (cargo check)",
        prepare: None,
        commands: |root| {
            let check = |features: Option<&str>| {
                let mut cmd = cargo_cmd(root);
                cmd.args(["check", "-p", "h1-server", "--no-default-features"]);
                if let Some(f) = features {
                    cmd.args(["--features", f]);
                }
                cmd
            };
            std::iter::once(check(None))
                .chain(SERVER_FEATURES.iter().map(|f| check(Some(f))))
                .collect()
        },
    },
    Step {
        name: "test",
        what: "tests",
        prepare: None,
        commands: |root| {
            let mut cmd = cargo_cmd(root);
            cmd.args(TEST_COMMAND);
            vec![cmd]
        },
    },
    Step {
        name: "test-edge-off",
        what: "loopback integration tests again with H1_EDGE_TRIGGERED=0 (async-io registration)",
        prepare: None,
        commands: |root| {
            // Only the socket test targets, named one by one, but over the whole workspace:
            // the same feature unification as the `test` step, so nothing is rebuilt
            // (`-p` would select fewer packages, unify fewer features and rebuild).
            let mut cmd = cargo_cmd(root);
            cmd.args(["test", "--workspace"]);
            for name in socket_test_targets(root) {
                cmd.args(["--test", &name]);
            }
            cmd.env("H1_EDGE_TRIGGERED", "0");
            vec![cmd]
        },
    },
    Step {
        name: "doc",
        what: "documentation (rustdoc, warnings denied; h1-server with no and all features too)",
        prepare: None,
        commands: |root| {
            // The driver alone: no doc link may point into a feature that is off.
            let mut bare = cargo_cmd(root);
            bare.args([
                "doc",
                "-p",
                "h1-server",
                "--no-default-features",
                "--no-deps",
            ]);
            let mut cmd = cargo_cmd(root);
            cmd.args(["doc", "--workspace", "--no-deps"]);
            // The feature-gated APIs (tls, http, tower, serde) as docs.rs builds them:
            // their docs and intra-doc links must be clean too.
            let mut all = cargo_cmd(root);
            all.args(["doc", "-p", "h1-server", "--all-features", "--no-deps"]);
            vec![bare, cmd, all]
        },
    },
    Step {
        name: "package",
        what: "the published crates package and build alone (cargo publish --dry-run)",
        prepare: Some(forget_unpacked_packages),
        commands: |root| {
            // Each package is built from its .crate file against the others' packaged
            // sources: missing files, metadata or a path-only dependency fail here.
            let mut cmd = cargo_cmd(root);
            cmd.args(["publish", "--workspace", "--dry-run", "--allow-dirty"]);
            vec![cmd]
        },
    },
    Step {
        name: "fuzz-seeds",
        what: "fuzz crate lints and seed corpus replay (stable, no libFuzzer)",
        prepare: None,
        commands: |root| {
            let manifest = "http-core/fuzz/Cargo.toml";
            let mut clippy = cargo_cmd(root);
            clippy.args([
                "clippy",
                "--manifest-path",
                manifest,
                "--no-default-features",
            ]);
            clippy.args(["--all-targets", "--", "-D", "warnings"]);
            // Zero seconds of mutation: every seed once through every invariant check.
            let fuzz_dir = root.join("http-core/fuzz");
            let targets = crate::fuzz::list_targets(&fuzz_dir).unwrap_or_default();
            let replays = targets.iter().map(|t| {
                let mut replay = cargo_cmd(root);
                replay.args(["run", "--quiet", "--manifest-path", manifest]);
                replay.args(["--no-default-features", "--bin", "stable-loop", "--"]);
                replay.args([t.as_str(), "0"]);
                replay.arg(fuzz_dir.join("corpus").join(t));
                replay.arg(util::target_dir(root).join("fuzz-artifacts").join(t));
                replay
            });
            std::iter::once(clippy).chain(replays).collect()
        },
    },
];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: cargo xtask ci [STEP...]\n\nsteps, in order:");
        for step in STEPS {
            println!("  {:<11} {}", step.name, step.what);
        }
        return Ok(());
    }
    for a in args {
        if !STEPS.iter().any(|s| s.name == a) {
            return Err(format!(
                "unknown ci step {a:?} (try `cargo xtask ci --help`)"
            ));
        }
    }
    let selected: Vec<&Step> = STEPS
        .iter()
        .filter(|s| args.is_empty() || args.iter().any(|a| a == s.name))
        .collect();
    let root = util::workspace_root();
    let started = Instant::now();
    let mut summary = None;
    for (i, step) in selected.iter().enumerate() {
        eprintln!(
            "==> [{}/{}] {}: {}",
            i + 1,
            selected.len(),
            step.name,
            step.what
        );
        let t = Instant::now();
        if let Some(prepare) = step.prepare {
            prepare(&root).map_err(|e| format!("CI step `{}` failed: {e}", step.name))?;
        }
        for mut cmd in (step.commands)(&root) {
            deny_warnings(&mut cmd);
            let env = env_shown(&cmd);
            if !env.is_empty() {
                eprintln!("    with {env}");
            }
            let result = if step.name == "test" {
                run_tests(&mut cmd).map(|s| summary = Some(s))
            } else {
                util::run(step.name, &mut cmd)
            };
            result.map_err(|e| format!("CI step `{}` failed: {e}", step.name))?;
        }
        eprintln!("==> {} ok ({:.0} s)", step.name, t.elapsed().as_secs_f64());
    }
    if let Some(s) = summary {
        eprintln!("==> {s}");
    }
    eprintln!(
        "==> ci passed: {} ({:.0} s)",
        selected
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Append `-D warnings` to RUSTFLAGS and RUSTDOCFLAGS (keeping what the caller set).
fn deny_warnings(cmd: &mut Command) {
    for var in ["RUSTFLAGS", "RUSTDOCFLAGS"] {
        let value = match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => format!("{v} -D warnings"),
            _ => "-D warnings".to_string(),
        };
        cmd.env(var, value);
    }
}

/// Runs the test command, echoing its output, and totals libtest's `test result:` lines.
fn run_tests(cmd: &mut Command) -> Result<String, String> {
    eprintln!("    $ {}", display(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{}`: {e}", display(cmd)))?;
    let (mut passed, mut failed, mut ignored, mut suites) = (0u64, 0u64, 0u64, 0u64);
    let mut failing = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let mut out = std::io::stdout().lock();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(out, "{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                suites += 1;
                passed += count(rest, " passed");
                failed += count(rest, " failed");
                ignored += count(rest, " ignored");
            } else if let Some(name) = line
                .strip_prefix("test ")
                .and_then(|l| l.strip_suffix(" ... FAILED"))
            {
                failing.push(name.to_string());
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for tests: {e}"))?;
    let summary = if suites == 0 {
        "test summary: no test suite ran (see the build errors above)".to_string()
    } else {
        format!(
            "test summary: {passed} passed, {failed} failed, {ignored} ignored in {suites} suites"
        )
    };
    if status.success() {
        Ok(summary)
    } else {
        let names = if failing.is_empty() {
            String::new()
        } else {
            format!("; failing: {}", failing.join(", "))
        };
        Err(format!("`{}` ({status}); {summary}{names}", display(cmd)))
    }
}

/// The number before `label` in `"12 passed; 0 failed; ..."`.
fn count(text: &str, label: &str) -> u64 {
    text.split(';')
        .find_map(|part| part.trim().strip_suffix(label.trim_start()))
        .and_then(|n| n.trim().rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// The workspace's published packages: members whose manifest does not say
/// `publish = false`, by package name.
fn published_packages(root: &Path) -> Result<Vec<String>, String> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))
    };
    let workspace = read(&root.join("Cargo.toml"))?;
    let members = workspace
        .lines()
        .find_map(|l| l.trim().strip_prefix("members = ["))
        .and_then(|l| l.split(']').next())
        .ok_or("no one-line `members = [...]` in Cargo.toml")?;
    let mut names = Vec::new();
    for dir in members.split(',').map(|m| m.trim().trim_matches('"')) {
        let manifest = read(&root.join(dir).join("Cargo.toml"))?;
        let field = |key: &str| {
            manifest.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        if field("publish").as_deref() != Some("false") {
            names.push(field("name").ok_or(format!("{dir}/Cargo.toml has no name"))?);
        }
    }
    Ok(names)
}

/// Removes the unpacked sources that earlier `cargo publish --dry-run` runs left in
/// `$CARGO_HOME/registry/src/` for the workspace's own packages.
///
/// Cargo verifies a package by unpacking the `.crate` files of the packages it depends
/// on from a temporary registry into `registry/src/<hash of its path>/NAME-VERSION`, and
/// reuses that directory when it already exists. Where the cargo home outlives the
/// checkout (a CI machine's cache, a second clone at the same path), h1-server was then
/// built against an h1-core of an earlier commit with the same version number, and failed
/// on an API added since. The sources are unpacked again from the new `.crate` files.
fn forget_unpacked_packages(root: &Path) -> Result<(), String> {
    let names = published_packages(root)?;
    let Some(home) = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
    else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(home.join("registry/src")) else {
        return Ok(());
    };
    for registry in registries.filter_map(Result::ok) {
        let Ok(entries) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            if is_unpacked_version_of(file_name, &names) {
                let path = entry.path();
                eprintln!(
                    "    removing {} (unpacked by an earlier run)",
                    path.display()
                );
                std::fs::remove_dir_all(&path)
                    .map_err(|e| format!("remove {}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Whether a `registry/src` entry is `NAME-VERSION` for one of `names`.
fn is_unpacked_version_of(entry: &str, names: &[String]) -> bool {
    names.iter().any(|name| {
        entry
            .strip_prefix(name.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|version| version.starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// The variables a step sets on its command, as `NAME=value ` (shell style).
fn env_shown(cmd: &Command) -> String {
    cmd.get_envs()
        .filter(|(k, _)| !matches!(k.to_str(), Some("RUSTFLAGS" | "RUSTDOCFLAGS")))
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::{
        SERVER_FEATURES, count, is_unpacked_version_of, published_packages, socket_test_targets,
    };

    #[test]
    fn counts_libtest_summary_fields() {
        let line =
            "ok. 12 passed; 1 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(count(line, " passed"), 12);
        assert_eq!(count(line, " failed"), 1);
        assert_eq!(count(line, " ignored"), 3);
        assert_eq!(count("FAILED. 0 passed; 2 failed", " failed"), 2);
    }

    #[test]
    fn server_feature_list_matches_the_manifest() {
        let manifest = crate::util::workspace_root().join("http-server/Cargo.toml");
        let text = std::fs::read_to_string(manifest).unwrap();
        let section = text.split("[features]").nth(1).unwrap();
        let section = section.split("\n[").next().unwrap();
        let mut declared: Vec<&str> = section
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .filter(|k| !k.starts_with('#') && *k != "default")
            .collect();
        declared.sort_unstable();
        let mut listed = SERVER_FEATURES.to_vec();
        listed.sort_unstable();
        assert_eq!(declared, listed);
    }

    #[test]
    fn socket_test_targets_are_found() {
        let names = socket_test_targets(&crate::util::workspace_root());
        for name in ["loopback", "curl", "sse_longpoll"] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        assert!(!names.iter().any(|n| n == "mod" || n == "common"));
    }

    #[test]
    fn published_packages_are_the_three_libraries() {
        let names = published_packages(&crate::util::workspace_root()).unwrap();
        assert_eq!(names, ["h1-core", "h1-server", "h1-stream"]);
    }

    #[test]
    fn unpacked_sources_are_matched_by_name_and_version() {
        let names = ["h1-core".to_string(), "h1-server".to_string()];
        assert!(is_unpacked_version_of("h1-core-0.1.0", &names));
        assert!(is_unpacked_version_of("h1-server-12.0.0-rc.1", &names));
        assert!(!is_unpacked_version_of("h1-stream-0.1.0", &names));
        assert!(!is_unpacked_version_of("h1-core-extra-0.1.0", &names));
        assert!(!is_unpacked_version_of("h1-core", &names));
        assert!(!is_unpacked_version_of("serde-1.0.0", &names));
    }
}
