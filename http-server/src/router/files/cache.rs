//! A short-lived cache of open files and their metadata, as nginx's `open_file_cache`:
//! a hot file is served without the thread-pool hop that resolving, opening and
//! `fstat`-ing it takes. An entry is trusted for a few seconds, then looked up again.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, UNIX_EPOCH};

use h1_core::HttpDate;

/// An open file ready to serve, with the header values it is served with.
#[derive(Debug)]
pub(super) struct Opened {
    pub(super) file: Arc<File>,
    pub(super) len: u64,
    /// Modification time, Unix seconds.
    pub(super) mtime: Option<u64>,
    /// `Last-Modified`.
    pub(super) last_modified: Option<HttpDate>,
    /// The weak `ETag`: `W/"<length>-<mtime>"` in hex.
    pub(super) etag: Box<str>,
    /// From the name of the file (after symlinks and the index file).
    pub(super) content_type: &'static str,
}

impl Opened {
    pub(super) fn new(file: File, real: &Path) -> std::io::Result<Option<Self>> {
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        let name = real.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let len = meta.len();
        Ok(Some(Self {
            file: Arc::new(file),
            len,
            mtime,
            last_modified: mtime.map(HttpDate::from_unix_secs),
            etag: format!("W/\"{len:x}-{:x}\"", mtime.unwrap_or(0)).into(),
            content_type: super::http::content_type(name),
        }))
    }
}

/// When a file was looked up, and what was found.
type Entry = (Instant, Arc<Opened>);

/// Open files by request path (as the client sent it, below the mount point), each
/// trusted for `valid`. The same path always resolves the same way, so a hit needs no
/// checks: only files that were served get in.
#[derive(Debug)]
pub(super) struct OpenCache {
    valid: Duration,
    max: usize,
    entries: Mutex<HashMap<Box<str>, Entry>>,
}

impl OpenCache {
    /// A cache of at most `max` files, each trusted for `valid` (zero: no caching).
    pub(super) fn new(valid: Duration, max: usize) -> Self {
        Self {
            valid,
            max,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached file for `relative`, if it was looked up less than `valid` ago.
    pub(super) fn get(&self, wanted: &str, now: Instant) -> Option<Arc<Opened>> {
        if self.valid.is_zero() {
            return None;
        }
        let entries = lock(&self.entries);
        let (at, opened) = entries.get(wanted)?;
        (now.saturating_duration_since(*at) < self.valid).then(|| opened.clone())
    }

    /// Remember `opened` for `wanted`, looked up at `at`. When full, expired entries
    /// go first, then (all still fresh) every entry: the cache refills with what is hot.
    pub(super) fn put(&self, wanted: &str, at: Instant, opened: Arc<Opened>) {
        if self.valid.is_zero() || self.max == 0 {
            return;
        }
        let mut entries = lock(&self.entries);
        if entries.len() >= self.max && !entries.contains_key(wanted) {
            let valid = self.valid;
            entries.retain(|_, (t, _)| at.saturating_duration_since(*t) < valid);
            if entries.len() >= self.max {
                entries.clear();
            }
        }
        entries.insert(wanted.into(), (at, opened));
    }

    /// How many files are cached.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened() -> Arc<Opened> {
        let file = File::open(std::env::current_exe().unwrap()).unwrap();
        Arc::new(Opened::new(file, Path::new("x.bin")).unwrap().unwrap())
    }

    #[test]
    fn entries_expire_and_the_cache_stays_bounded() {
        let cache = OpenCache::new(Duration::from_secs(5), 3);
        let t0 = Instant::now();
        cache.put("/a", t0, opened());
        assert!(cache.get("/a", t0 + Duration::from_secs(4)).is_some());
        assert!(cache.get("/a", t0 + Duration::from_secs(5)).is_none());
        assert!(cache.get("/b", t0).is_none());
        for (i, name) in ["/b", "/c", "/d", "/e", "/f"].into_iter().enumerate() {
            cache.put(name, t0 + Duration::from_secs(i as u64), opened());
            assert!(cache.len() <= 3, "{}", cache.len());
        }
        assert!(cache.get("/f", t0 + Duration::from_secs(5)).is_some());
        let off = OpenCache::new(Duration::ZERO, 3);
        off.put("/a", t0, opened());
        assert!(off.get("/a", t0).is_none());
    }
}
