//! [`CompressBody`]: a response [`Body`] encoded frame by frame, each [`Frame::Flush`]
//! turned into a sync flush of the encoder.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use async_compression::Level;
use async_compression::futures::write::{BrotliEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder};
use bytes::Bytes;
use futures_lite::AsyncWrite;

use super::{Coding, Effort};
use crate::{Body, Frame};

/// The body of a compressed response: the inner body's data through the encoder.
///
/// - `Data` goes into the encoder; what the encoder has produced so far goes out.
/// - `Flush` becomes a sync flush (deflate's `Z_SYNC_FLUSH`, Brotli's and zstd's flush):
///   every byte received so far can be decoded from what goes out, then the `Flush`
///   follows, so the driver writes it to the socket at once.
/// - When the inner body waits (`Pending`) after data, the encoder is flushed the same way:
///   the driver writes its buffer whenever the body waits, and a stream that relies on
///   that (no explicit `Flush`) must not stall in the encoder.
/// - `Trailers` and the end finish the stream (gzip's trailer, zstd's epilogue) first.
pub(crate) struct CompressBody {
    inner: Pin<Box<dyn Body + Send>>,
    encoder: Encoder,
    /// A frame to yield after the encoder's output.
    queued: Option<Frame>,
    /// The encoder was finished: the inner body ended.
    finished: bool,
    /// Data went into the encoder since its last flush.
    dirty: bool,
    /// Data received and not yet given to the encoder.
    input: Bytes,
}

/// The most input encoded per poll (64 KiB): a step takes well under a millisecond.
const STEP: usize = 64 * 1024;

impl CompressBody {
    pub(crate) fn new(inner: Pin<Box<dyn Body + Send>>, coding: Coding, effort: Effort) -> Self {
        Self {
            inner,
            encoder: Encoder::new(coding, effort),
            queued: None,
            finished: false,
            dirty: false,
            input: Bytes::new(),
        }
    }
}

impl Body for CompressBody {
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.queued.take() {
                return Poll::Ready(Some(Ok(frame)));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            if !this.input.is_empty() {
                // A bounded step per poll: a large body does not hold the executor thread.
                let step = this.input.split_to(this.input.len().min(STEP));
                if let Err(e) = this.encoder.write(&step) {
                    return this.fail(e);
                }
                let out = this.encoder.take_output();
                if !out.is_empty() {
                    return Poll::Ready(Some(Ok(Frame::Data(out))));
                }
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Poll::Ready(frame) = this.inner.as_mut().poll_frame(cx) else {
                // The driver writes what it has whenever the body waits: so must the
                // encoder, or a stream that relies on that (no explicit Flush) stalls.
                if !this.dirty {
                    return Poll::Pending;
                }
                this.dirty = false;
                if let Err(e) = this.encoder.flush() {
                    return this.fail(e);
                }
                let out = this.encoder.take_output();
                if out.is_empty() {
                    return Poll::Pending;
                }
                return Poll::Ready(Some(Ok(Frame::Data(out))));
            };
            let step = match frame {
                Some(Ok(Frame::Data(data))) => {
                    this.dirty = true;
                    this.input = data;
                    continue;
                }
                Some(Ok(Frame::Flush)) => this.encoder.flush().map(|()| {
                    this.queued = Some(Frame::Flush);
                }),
                Some(Ok(Frame::Trailers(trailers))) => this.encoder.finish().map(|()| {
                    this.finished = true;
                    this.queued = Some(Frame::Trailers(trailers));
                }),
                None => this.encoder.finish().map(|()| this.finished = true),
                Some(Err(e)) => Err(e),
            };
            this.dirty = false;
            if let Err(e) = step {
                return this.fail(e);
            }
            let out = this.encoder.take_output();
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(Frame::Data(out))));
            }
        }
    }
}

impl CompressBody {
    /// End the body with `e` (an error aborts the response).
    fn fail(&mut self, e: io::Error) -> Poll<Option<io::Result<Frame>>> {
        self.finished = true;
        self.queued = None;
        self.input.clear();
        Poll::Ready(Some(Err(e)))
    }
}

/// One encoder writing into a `Vec` (always ready: every call completes at once).
enum Encoder {
    Gzip(GzipEncoder<Vec<u8>>),
    Deflate(ZlibEncoder<Vec<u8>>),
    // Boxed: Brotli's state is several kilobytes.
    Brotli(Box<BrotliEncoder<Vec<u8>>>),
    Zstd(ZstdEncoder<Vec<u8>>),
}

/// Call `$call` on whichever encoder this is.
macro_rules! each_encoder {
    ($self:expr, $enc:ident => $call:expr) => {
        match $self {
            Encoder::Gzip($enc) => $call,
            Encoder::Deflate($enc) => $call,
            Encoder::Brotli($enc) => $call,
            Encoder::Zstd($enc) => $call,
        }
    };
}

impl Encoder {
    /// The levels for each [`Effort`].
    fn new(coding: Coding, effort: Effort) -> Self {
        let out = Vec::new();
        let (flate, brotli, zstd) = match effort {
            Effort::Fast => (1, 1, 1),
            Effort::Balanced => (6, 4, 3),
            Effort::Small => (9, 9, 19),
        };
        match coding {
            Coding::Gzip => Self::Gzip(GzipEncoder::with_quality(out, Level::Precise(flate))),
            Coding::Deflate => Self::Deflate(ZlibEncoder::with_quality(out, Level::Precise(flate))),
            Coding::Brotli => Self::Brotli(Box::new(BrotliEncoder::with_quality(
                out,
                Level::Precise(brotli),
            ))),
            Coding::Zstd => Self::Zstd(ZstdEncoder::with_quality(out, Level::Precise(zstd))),
        }
    }

    fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = each_encoder!(self, e => now(Pin::new(e).poll_write(&mut noop(), data)))?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            data = &data[n..];
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        each_encoder!(self, e => now(Pin::new(e).poll_flush(&mut noop())))
    }

    fn finish(&mut self) -> io::Result<()> {
        each_encoder!(self, e => now(Pin::new(e).poll_close(&mut noop())))
    }

    fn take_output(&mut self) -> Bytes {
        let out = each_encoder!(self, e => e.get_mut());
        if out.is_empty() {
            return Bytes::new();
        }
        Bytes::from(std::mem::take(out))
    }
}

fn noop() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// The result of a poll on an encoder writing into a `Vec`, which never waits.
fn now<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::Error::other("compressor waited on an in-memory buffer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_fn};

    /// A body yielding the given frames, in order.
    struct Frames(std::vec::IntoIter<Frame>);

    impl Body for Frames {
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<io::Result<Frame>>> {
            Poll::Ready(self.0.next().map(Ok))
        }
    }

    fn collect(coding: Coding, frames: Vec<Frame>) -> Vec<Frame> {
        let mut body = CompressBody::new(
            Box::pin(Frames(frames.into_iter())),
            coding,
            Effort::Balanced,
        );
        let mut out = Vec::new();
        while let Some(frame) = block_on(poll_fn(|cx| Pin::new(&mut body).poll_frame(cx))) {
            out.push(frame.unwrap());
        }
        out
    }

    fn gunzip(data: &[u8]) -> Vec<u8> {
        use futures_lite::AsyncReadExt;
        let mut out = Vec::new();
        let mut dec = async_compression::futures::bufread::GzipDecoder::new(data);
        block_on(dec.read_to_end(&mut out)).unwrap();
        out
    }

    #[test]
    fn each_flush_follows_the_data_sent_before_it() {
        let frames = vec![
            Frame::Data(Bytes::from_static(b"data: one\n\n")),
            Frame::Flush,
            Frame::Data(Bytes::from_static(b"data: two\n\n")),
            Frame::Flush,
        ];
        let out = collect(Coding::Gzip, frames);
        let flushes: Vec<usize> = (0..out.len()).filter(|&i| out[i] == Frame::Flush).collect();
        assert_eq!(flushes.len(), 2, "{out:?}");
        // Everything before the first flush decodes (sync flush) to the first event.
        let mut before = Vec::new();
        for f in &out[..flushes[0]] {
            if let Frame::Data(d) = f {
                before.extend_from_slice(d);
            }
        }
        let mut decoder = flate2::write::GzDecoder::new(Vec::new());
        io::Write::write_all(&mut decoder, &before).unwrap();
        io::Write::flush(&mut decoder).unwrap();
        assert_eq!(decoder.get_ref().as_slice(), b"data: one\n\n");
        let all: Vec<u8> = out
            .iter()
            .filter_map(|f| match f {
                Frame::Data(d) => Some(d.to_vec()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(gunzip(&all), b"data: one\n\ndata: two\n\n");
    }

    /// Yields one data frame, then waits forever.
    struct DataThenWait(Option<Bytes>);

    impl Body for DataThenWait {
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<io::Result<Frame>>> {
            match self.0.take() {
                Some(data) => Poll::Ready(Some(Ok(Frame::Data(data)))),
                None => Poll::Pending,
            }
        }
    }

    #[test]
    fn waiting_after_data_flushes_the_encoder() {
        let inner = DataThenWait(Some(Bytes::from_static(b"data: tick\n\n")));
        let mut body = CompressBody::new(Box::pin(inner), Coding::Gzip, Effort::Fast);
        let mut out = Vec::new();
        // A few polls (an encoding step may yield before the inner body is asked again).
        for _ in 0..4 {
            if let Poll::Ready(frame) = Pin::new(&mut body).poll_frame(&mut noop()) {
                match frame.unwrap().unwrap() {
                    Frame::Data(d) => out.extend_from_slice(&d),
                    other => panic!("{other:?}"),
                }
            }
        }
        let mut decoder = flate2::write::GzDecoder::new(Vec::new());
        io::Write::write_all(&mut decoder, &out).unwrap();
        io::Write::flush(&mut decoder).unwrap();
        assert_eq!(decoder.get_ref().as_slice(), b"data: tick\n\n");
        // Nothing more until the inner body moves.
        assert!(Pin::new(&mut body).poll_frame(&mut noop()).is_pending());
    }

    #[test]
    fn trailers_come_after_the_finished_stream() {
        let mut trailers = h1_core::Headers::new();
        trailers.append("X-Sum", "1");
        let out = collect(
            Coding::Gzip,
            vec![
                Frame::Data(Bytes::from_static(b"abc")),
                Frame::Trailers(trailers.clone()),
            ],
        );
        assert_eq!(out.last(), Some(&Frame::Trailers(trailers)));
        let Frame::Data(d) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(gunzip(d), b"abc");
    }

    #[test]
    fn more_effort_gives_fewer_bytes() {
        let input: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{i} {}\n", i.wrapping_mul(2654435761) % 1000).into_bytes())
            .collect();
        let size = |effort| {
            let mut body = CompressBody::new(
                Box::pin(Frames(
                    vec![Frame::Data(Bytes::from(input.clone()))].into_iter(),
                )),
                Coding::Gzip,
                effort,
            );
            let mut out = Vec::new();
            while let Some(f) = block_on(poll_fn(|cx| Pin::new(&mut body).poll_frame(cx))) {
                if let Frame::Data(d) = f.unwrap() {
                    out.extend_from_slice(&d);
                }
            }
            assert_eq!(gunzip(&out), input);
            out.len()
        };
        let (fast, small) = (size(Effort::Fast), size(Effort::Small));
        assert!(fast > small, "fast {fast} <= small {small}");
    }

    #[test]
    fn every_coding_round_trips() {
        use async_compression::futures::bufread as de;
        use futures_lite::AsyncReadExt;
        let input: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for coding in Coding::ALL {
            let out = collect(coding, vec![Frame::Data(Bytes::from(input.clone()))]);
            let data: Vec<u8> = out
                .iter()
                .filter_map(|f| match f {
                    Frame::Data(d) => Some(d.to_vec()),
                    _ => None,
                })
                .flatten()
                .collect();
            assert!(data.len() < input.len() / 4, "{coding}: {}", data.len());
            let mut back = Vec::new();
            let src = data.as_slice();
            block_on(async {
                match coding {
                    Coding::Gzip => de::GzipDecoder::new(src).read_to_end(&mut back).await,
                    Coding::Deflate => de::ZlibDecoder::new(src).read_to_end(&mut back).await,
                    Coding::Brotli => de::BrotliDecoder::new(src).read_to_end(&mut back).await,
                    Coding::Zstd => de::ZstdDecoder::new(src).read_to_end(&mut back).await,
                }
            })
            .unwrap();
            assert_eq!(back, input, "{coding}");
        }
    }
}
