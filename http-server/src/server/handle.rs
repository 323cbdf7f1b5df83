//! [`ServerHandle`]'s operations: stop and start listening, shut down, wait.

use super::*;

impl ServerHandle {
    /// The TCP addresses the server listens on (the same after a stop and start).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.inner.addrs
    }

    /// The Unix socket paths the server listens on.
    #[cfg(unix)]
    pub fn unix_paths(&self) -> &[PathBuf] {
        &self.inner.unix_paths
    }

    /// The first TCP address the server listens on.
    ///
    /// # Panics
    ///
    /// If the server was started without any TCP listener.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.addrs[0]
    }

    /// How many connections are open now.
    pub fn connection_count(&self) -> usize {
        self.inner.live.load(Ordering::Acquire)
    }

    /// Whether the listening sockets are open.
    pub fn is_listening(&self) -> bool {
        lock(&self.inner.listen).stop.is_some()
    }

    /// Close the listening sockets; new connections are refused. Open connections keep
    /// working. Returns once the sockets are closed.
    pub async fn stop_listening(&self) {
        let _op = self.inner.ops.lock().await;
        self.stop_listening_locked().await;
    }

    async fn stop_listening_locked(&self) {
        let (stop, done) = {
            let mut state = lock(&self.inner.listen);
            (state.stop.take(), state.done.take())
        };
        if let Some(stop) = stop {
            stop.close();
        }
        if let Some(done) = done {
            // Errors once every accept loop has exited and dropped its listener.
            let _ = done.recv().await;
        }
    }

    /// Bind the same addresses again and resume accepting. Does nothing if listening.
    ///
    /// # Errors
    ///
    /// When an address cannot be bound again (another process took the port); nothing
    /// is listening then. Also after a shutdown.
    pub async fn start_listening(&self) -> io::Result<()> {
        let _op = self.inner.ops.lock().await;
        if self.inner.shutting_down.load(Ordering::Acquire) {
            return Err(io::Error::other("server was shut down"));
        }
        if self.is_listening() {
            return Ok(());
        }
        let mut listeners = Vec::with_capacity(self.inner.addrs.len());
        for addr in &self.inner.addrs {
            listeners.push(Listener::Tcp(TcpListener::bind(*addr).await?.into()));
        }
        #[cfg(unix)]
        for path in &self.inner.unix_paths {
            // Our own socket file from before the stop: replace it (only a socket).
            use std::os::unix::fs::FileTypeExt;
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                let _ = std::fs::remove_file(path);
            }
            listeners.push(Listener::Unix(async_net::unix::UnixListener::bind(path)?));
        }
        self.spawn_accept_loops(listeners);
        Ok(())
    }

    pub(super) fn spawn_accept_loops(&self, listeners: Vec<Listener>) {
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let (done_tx, done_rx) = async_channel::bounded::<()>(1);
        {
            let mut state = lock(&self.inner.listen);
            state.stop = Some(stop_tx);
            state.done = Some(done_rx);
        }
        let start = lock(&self.inner.start);
        if let Some(start) = start.as_ref() {
            for listener in listeners {
                start(listener, stop_rx.clone(), done_tx.clone());
            }
        }
    }

    /// Close everything now: the listeners and every connection (in-flight responses are
    /// cut). Returns once every connection task has ended.
    pub async fn shutdown(&self) {
        self.begin_shutdown().await;
        self.signal_all(Control::Kill);
        self.wait_idle().await;
        self.finish();
    }

    /// Stop accepting (new connections are refused), close idle keep-alive connections
    /// at once, let in-flight requests finish (their responses say `Connection: close`),
    /// and force-close what remains after `deadline`. Returns once every connection has
    /// ended.
    pub async fn shutdown_graceful(&self, deadline: Duration) {
        self.begin_shutdown().await;
        self.signal_all(Control::Graceful);
        let drained = async {
            self.wait_idle().await;
            true
        }
        .or(async {
            Clock::System.sleep(deadline).await;
            false
        })
        .await;
        if !drained {
            log::info!(
                "graceful shutdown deadline passed; closing {} connections",
                self.connection_count()
            );
            self.signal_all(Control::Kill);
            self.wait_idle().await;
        }
        self.finish();
    }

    /// Wait until every connection has closed (for example after a shutdown started
    /// elsewhere).
    pub async fn wait_idle(&self) {
        loop {
            if self.connection_count() == 0 {
                return;
            }
            let listener = self.inner.closed.listen();
            if self.connection_count() == 0 {
                return;
            }
            listener.await;
        }
    }

    async fn begin_shutdown(&self) {
        let _op = self.inner.ops.lock().await;
        self.inner.shutting_down.store(true, Ordering::Release);
        self.stop_listening_locked().await;
    }

    fn signal_all(&self, ctl: Control) {
        let conns: Vec<Arc<ConnShared>> = lock(&self.inner.conns).values().cloned().collect();
        for c in conns {
            c.signal(ctl);
        }
    }

    fn finish(&self) {
        // Drop the handler and configuration (the accept closure owns them).
        lock(&self.inner.start).take();
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addrs", &self.inner.addrs)
            .field("connections", &self.connection_count())
            .field("listening", &self.is_listening())
            .finish()
    }
}
