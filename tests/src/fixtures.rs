//! Test data: temporary directories that clean up after themselves, a running hash, and
//! multipart bodies (with content built to look like boundaries).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A fresh directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new directory named after `tag`, this process and a counter.
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "h1-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The names of the files in `dir` (an absent directory has none).
    pub fn entries(dir: &Path) -> Vec<String> {
        match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Wait (bounded) until `dir` has no files; panics with what is left.
    pub fn wait_empty(dir: &Path) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = Self::entries(dir);
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "temporary files left behind in {}: {left:?}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// FNV-1a, 64 bits: a running hash cheap enough for tests.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(
    /// The hash so far.
    pub u64,
);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Hash `data` in.
    pub fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }

    /// The hash of `data`.
    pub fn of(data: &[u8]) -> u64 {
        let mut h = Self::default();
        h.update(data);
        h.0
    }
}

/// One part: name, filename, content type, content.
pub type PartSpec<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A multipart body from its parts.
pub fn multipart_body(boundary: &str, parts: &[PartSpec<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, ct, data) in parts {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = filename {
            out.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = ct {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Bytes that look like multipart content: binary, CRLFs, dashes, near-boundaries.
pub fn tricky_content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 16 {
            0 => out.extend_from_slice(b"\r\n--"),
            1 => out.extend_from_slice(b"\r\n--Bd7"),
            2 => out.extend_from_slice(b"\r\n"),
            _ => out.push(x as u8),
        }
    }
    out.truncate(len);
    out
}
