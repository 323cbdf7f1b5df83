//! A response body that is a range of an open file ([`Response::file`]).
//!
//! On a plain TCP connection in the edge-triggered set (Linux) the driver sends it with
//! `sendfile`: the bytes go from the page cache to the socket without a copy through user
//! space. Everywhere else (TLS, Unix sockets, custom transports, the test kit) it is read
//! as a stream of pieces by [`FileStream`]: first with a non-blocking `preadv2(RWF_NOWAIT)`,
//! which answers at once from the page cache, and only on a cache miss on the `blocking`
//! thread pool, so the executor never waits on the disk.

use std::fs::File;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_lite::FutureExt;

use crate::response::{Body, FileBody, Frame};

/// How much one piece of a streamed file carries.
const PIECE: u64 = 64 * 1024;

impl FileBody {
    /// The body as a stream of pieces read from the file (the fallback of `sendfile`).
    pub(crate) fn into_stream(self) -> FileStream {
        FileStream {
            body: self,
            task: None,
        }
    }
}

/// A file range read piece by piece: page-cached pieces at once, the others on the
/// `blocking` pool.
pub(crate) struct FileStream {
    body: FileBody,
    task: Option<blocking::Task<io::Result<Bytes>>>,
}

impl FileStream {
    fn take_piece(&mut self, piece: io::Result<Bytes>) -> Poll<Option<io::Result<Frame>>> {
        match piece {
            Ok(buf) if buf.is_empty() => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being sent",
            )))),
            Ok(buf) => {
                self.body.offset += buf.len() as u64;
                self.body.len -= buf.len() as u64;
                Poll::Ready(Some(Ok(Frame::Data(buf))))
            }
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }
}

impl Body for FileStream {
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        let this = self.get_mut();
        if let Some(task) = &mut this.task {
            let piece = std::task::ready!(task.poll(cx));
            this.task = None;
            return this.take_piece(piece);
        }
        if this.body.len == 0 {
            return Poll::Ready(None);
        }
        let want = this.body.len.min(PIECE) as usize;
        if let Some(piece) = read_cached(&this.body.file, this.body.offset, want) {
            return this.take_piece(piece);
        }
        let (file, offset) = (this.body.file.clone(), this.body.offset);
        this.task = Some(blocking::unblock(move || read_at(&file, offset, want)));
        Pin::new(this).poll_frame(cx)
    }

    fn length(&self) -> Option<u64> {
        Some(self.body.len)
    }
}

/// Read `want` bytes at `offset` if they are all in the page cache (`preadv2` with
/// `RWF_NOWAIT`); `None` when that would wait for the disk (or is not supported).
#[cfg(target_os = "linux")]
fn read_cached(file: &File, offset: u64, want: usize) -> Option<io::Result<Bytes>> {
    use rustix::io::{Errno, ReadWriteFlags, preadv2};
    let mut buf = BytesMut::zeroed(want);
    let mut got = 0;
    while got < want {
        let mut slices = [io::IoSliceMut::new(&mut buf[got..])];
        match preadv2(
            file,
            &mut slices,
            offset + got as u64,
            ReadWriteFlags::NOWAIT,
        ) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::INTR) => {}
            // Not cached (EAGAIN), or no RWF_NOWAIT here (EOPNOTSUPP, ENOSYS): the pool.
            Err(_) if got == 0 => return None,
            // Part of it was cached: send that part, the next piece goes on.
            Err(_) => break,
        }
    }
    buf.truncate(got);
    Some(Ok(buf.freeze()))
}

#[cfg(not(target_os = "linux"))]
fn read_cached(_: &File, _: u64, _: usize) -> Option<io::Result<Bytes>> {
    None
}

/// Read up to `want` bytes at `offset` (blocking).
fn read_at(file: &File, offset: u64, want: usize) -> io::Result<Bytes> {
    let mut buf = BytesMut::zeroed(want);
    let mut got = 0;
    while got < want {
        match read_at_once(file, &mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf.freeze())
}

#[cfg(unix)]
fn read_at_once(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at_once(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_fn};
    use std::sync::Arc;

    #[test]
    fn streams_the_range_in_pieces() {
        let path = std::env::temp_dir().join(format!("file-body-{}", std::process::id()));
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let _ = std::fs::remove_file(&path);
        let mut s = FileBody {
            file,
            offset: 1000,
            len: 200_000,
        }
        .into_stream();
        assert_eq!(s.length(), Some(200_000));
        let mut got = Vec::new();
        block_on(async {
            while let Some(frame) = poll_fn(|cx| Pin::new(&mut s).poll_frame(cx)).await {
                match frame.unwrap() {
                    Frame::Data(d) => got.extend_from_slice(&d),
                    other => panic!("{other:?}"),
                }
            }
        });
        assert!(got == data[1000..201_000], "range differs");
    }

    #[test]
    fn a_file_shorter_than_promised_is_an_error() {
        let path = std::env::temp_dir().join(format!("file-body-short-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let _ = std::fs::remove_file(&path);
        let mut s = FileBody {
            file,
            offset: 0,
            len: 10,
        }
        .into_stream();
        block_on(async {
            let first = poll_fn(|cx| Pin::new(&mut s).poll_frame(cx)).await;
            assert_eq!(first.unwrap().unwrap(), Frame::Data("abc".into()));
            let second = poll_fn(|cx| Pin::new(&mut s).poll_frame(cx)).await;
            assert!(second.unwrap().is_err());
        });
    }
}
