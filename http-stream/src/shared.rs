//! The state a [`Sender`](crate::Sender) and its [`PushBody`](crate::PushBody) share:
//! a byte-bounded queue, the flush counters and how the stream ends.
//!
//! ```text
//!  queue: [ released chunks ........ | held chunks (dont_flush) ]
//!           ▲ the body pops these      ▲ released by flush(), high water, close
//! ```
//!
//! Flushes are counted: `flush()` takes the number `wanted + 1`; the body yields one
//! `Frame::Flush` for every flush wanted once the released chunks before it are out
//! (`emitted`), and marks it `done` the next time it is polled, which the driver does
//! only after the socket write completed.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use bytes::Bytes;
use event_listener::Event;
use h1_server::Headers;

use crate::config::Config;
use crate::shutdown::Shutdown;

/// Behind an `Arc` held by every sender clone and the body.
pub(crate) struct Inner {
    state: Mutex<State>,
    /// Wakes senders: space freed, a flush written, the body gone.
    pub(crate) changed: Event,
    pub(crate) capacity: usize,
    pub(crate) high_water: usize,
    pub(crate) dont_flush: bool,
    pub(crate) length: Option<u64>,
    pub(crate) shutdown: Option<Shutdown>,
}

/// How the stream ends, as the senders decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// More may come.
    Open,
    /// Finish after the queue: terminal chunk (and trailers).
    Close,
    /// Fail the body: the driver closes the connection without a terminal chunk.
    Abort,
}

pub(crate) struct State {
    pub(crate) queue: VecDeque<Bytes>,
    /// Bytes in `queue`.
    pub(crate) queued: usize,
    /// How many chunks at the back of `queue` are held (dont_flush), and their bytes.
    pub(crate) held: usize,
    pub(crate) held_bytes: usize,
    /// Flush counters: requested, yielded as `Frame::Flush`, written.
    pub(crate) flush_wanted: u64,
    pub(crate) flush_emitted: u64,
    pub(crate) flush_done: u64,
    /// Data bytes accepted so far (checked against `Inner::length`).
    pub(crate) sent: u64,
    pub(crate) end: End,
    pub(crate) trailers: Option<Headers>,
    /// The body was dropped (client gone, connection closed, or the body ended).
    pub(crate) body_gone: bool,
    /// Live `Sender` clones.
    pub(crate) senders: usize,
    pub(crate) body_waker: Option<Waker>,
}

impl Inner {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued: 0,
                held: 0,
                held_bytes: 0,
                flush_wanted: 0,
                flush_emitted: 0,
                flush_done: 0,
                sent: 0,
                end: End::Open,
                trailers: None,
                body_gone: false,
                senders: 1,
                body_waker: None,
            }),
            changed: Event::new(),
            capacity: config.capacity,
            high_water: config.high_water,
            dont_flush: config.dont_flush,
            length: config.length,
            shutdown: config.shutdown.clone(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data: a panic while holding the lock cannot leave it half-updated in a way
        // later calls would misread.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// Let the body have every held chunk.
    pub(crate) fn release(&mut self) {
        self.held = 0;
        self.held_bytes = 0;
    }

    /// Chunks the body may take now.
    pub(crate) fn released(&self) -> usize {
        self.queue.len() - self.held
    }

    /// Wake the body's task, if it waits.
    pub(crate) fn wake_body(&mut self) {
        if let Some(w) = self.body_waker.take() {
            w.wake();
        }
    }

    /// Throw the queue away (abort, or nobody will read it).
    pub(crate) fn discard(&mut self) {
        self.queue = VecDeque::new();
        self.queued = 0;
        self.release();
    }
}
