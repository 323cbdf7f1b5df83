//! The small runtime the server brings: task spawning (the [`Spawner`] trait, smol's
//! global executor as the default, a `ThreadPool` that runs N executor threads) and, on
//! Linux, the edge-triggered epoll set that accepted TCP connections live in (`edge`),
//! with its switch ([`ServerConfig::edge_triggered`](crate::ServerConfig::edge_triggered),
//! whose default reads `H1_EDGE_TRIGGERED`).
//!
//! Sockets and timers come from async-io, which runs its own reactor thread, so the server
//! works under any executor; only spawning differs. A [`ThreadPool`]'s idle threads wait
//! in the pool's edge set instead of async-io's reactor (`pool/park.rs`). Connection deadlines (timeouts) are
//! alarms on one timer thread of the server's own (`timers`): arming one costs no system
//! call, where an async-io timer wakes the reactor. Under tokio:
//!
//! ```no_run
//! # use std::{future::Future, pin::Pin};
//! let spawner = |fut: Pin<Box<dyn Future<Output = ()> + Send>>| {
//!     tokio::spawn(fut);
//! };
//! # let _ = spawner;
//! ```

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod edge;
#[cfg(feature = "smol")]
mod pool;
mod spawn;
pub(crate) mod timers;

#[cfg(feature = "smol")]
pub use pool::ThreadPool;
#[cfg(feature = "smol")]
pub use spawn::SmolSpawner;
pub use spawn::{BoxFuture, Spawner};
pub(crate) use spawn::{SpawnerDebug, default_spawner};

/// The environment variable that turns the edge-triggered set off when it holds `0`,
/// `off`, `false` or `no` (any case): the default of
/// [`ServerConfig::edge_triggered`](crate::ServerConfig::edge_triggered).
pub(crate) const EDGE_ENV: &str = "H1_EDGE_TRIGGERED";

/// Whether the edge-triggered set is on unless configured otherwise: yes, unless
/// [`EDGE_ENV`] says no. Read when a configuration is created.
pub(crate) fn edge_triggered_default() -> bool {
    std::env::var(EDGE_ENV).map_or(true, |v| !is_off(&v))
}

/// `0`, `off`, `false` or `no`, in any case and with surrounding spaces.
fn is_off(value: &str) -> bool {
    let v = value.trim();
    ["0", "off", "false", "no"]
        .iter()
        .any(|off| v.eq_ignore_ascii_case(off))
}

#[cfg(test)]
mod tests {
    #[test]
    fn edge_switch_values() {
        for off in ["0", "off", "OFF", " false ", "no"] {
            assert!(super::is_off(off), "{off:?}");
        }
        for on in ["1", "on", "true", "", "yes"] {
            assert!(!super::is_off(on), "{on:?}");
        }
    }
}
