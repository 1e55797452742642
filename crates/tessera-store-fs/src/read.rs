//! Streaming an object's extents out: large positioned reads on the blocking pool, one read
//! ahead of the consumer.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tessera_store::{ByteStream, Extent, StoreError};
use tokio::task::JoinHandle;

use crate::{Inner, data_path};

/// A byte range of one extent's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) id: u64,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// The pieces of the extents `range` of an object covers, in order.
pub(crate) fn segments(layout: &[Extent], range: std::ops::Range<u64>) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    for e in layout {
        let (start, end) = (offset, offset + e.len);
        offset = end;
        if end <= range.start || start >= range.end {
            continue;
        }
        out.push(Segment { id: e.stage.get(), start: range.start.max(start) - start, end: range.end.min(end) - start });
    }
    out
}

/// Keeps extents from being unlinked while a read of them is open.
pub(crate) struct PinGuard {
    inner: Arc<Inner>,
    ids: Vec<u64>,
}

impl PinGuard {
    /// Takes over pins already taken with `Inner::pin`.
    pub(crate) fn new(inner: Arc<Inner>, ids: Vec<u64>) -> Self {
        PinGuard { inner, ids }
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        self.inner.unpin(&self.ids);
    }
}

/// A read in flight: the extent's id, its open file (kept for the next read), the bytes.
type Ahead = JoinHandle<io::Result<(u64, Arc<File>, Bytes)>>;

struct Reader {
    root: PathBuf,
    segments: VecDeque<Segment>,
    file: Option<(u64, Arc<File>)>,
    chunk: usize,
    ahead: Option<Ahead>,
    /// Chunks handed out, kept to read into again once the consumer has let go of them: no
    /// fresh (zeroed, page-faulted) buffer per chunk.
    recycle: VecDeque<Bytes>,
    _pins: PinGuard,
}

/// How many handed-out chunks a reader keeps for reuse.
const RECYCLE: usize = 4;

impl Reader {
    /// Starts the next read on the blocking pool, if anything is left.
    fn start_next(&mut self) {
        let Some(seg) = self.segments.front_mut() else { return };
        let n = (seg.end - seg.start).min(self.chunk as u64) as usize;
        let (id, offset) = (seg.id, seg.start);
        seg.start += n as u64;
        if seg.start == seg.end {
            self.segments.pop_front();
        }
        let file = match &self.file {
            Some((fid, f)) if *fid == id => Some(Arc::clone(f)),
            _ => None,
        };
        let path = data_path(&self.root, id);
        let reused = self.reusable(n);
        self.ahead = Some(tokio::task::spawn_blocking(move || {
            let file = match file {
                Some(f) => f,
                None => Arc::new(File::open(path)?),
            };
            // Zeroed, not uninitialised, when new: this crate forbids unsafe, and a memset of
            // the buffer costs far less than the read.
            let mut buf = reused.unwrap_or_else(|| BytesMut::zeroed(n));
            file.read_exact_at(&mut buf, offset)?;
            Ok((id, file, buf.freeze()))
        }));
    }

    /// A buffer of `n` bytes the consumer has let go of, if one is back.
    fn reusable(&mut self, n: usize) -> Option<BytesMut> {
        for _ in 0..self.recycle.len() {
            let bytes = self.recycle.pop_front()?;
            match bytes.try_into_mut() {
                Ok(mut buf) if buf.capacity() >= n => {
                    buf.resize(n, 0);
                    return Some(buf);
                }
                Ok(_) => {}
                Err(still_held) => self.recycle.push_back(still_held),
            }
        }
        None
    }

    async fn next(&mut self) -> Option<Result<Bytes, StoreError>> {
        let handle = self.ahead.take()?;
        match handle.await {
            Ok(Ok((id, file, bytes))) => {
                self.file = Some((id, file));
                if self.recycle.len() >= RECYCLE {
                    self.recycle.pop_front();
                }
                self.recycle.push_back(bytes.clone());
                self.start_next();
                Some(Ok(bytes))
            }
            Ok(Err(e)) => {
                self.segments.clear();
                Some(Err(match e.kind() {
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::NotFound => {
                        StoreError::Corrupt(format!("data file missing or short: {e}"))
                    }
                    _ => StoreError::from_io(e),
                }))
            }
            Err(e) => {
                self.segments.clear();
                Some(Err(StoreError::Io(io::Error::other(e))))
            }
        }
    }
}

/// The stream of `segments`, read `chunk` bytes at a time.
pub(crate) fn stream(root: PathBuf, segments: Vec<Segment>, chunk: usize, pins: PinGuard) -> ByteStream {
    let mut reader = Reader {
        root,
        segments: segments.into_iter().filter(|s| s.start < s.end).collect(),
        file: None,
        chunk: chunk.max(4096),
        ahead: None,
        recycle: VecDeque::new(),
        _pins: pins,
    };
    reader.start_next();
    Box::pin(futures_util::stream::unfold(reader, |mut r| async move { r.next().await.map(|item| (item, r)) }))
}
