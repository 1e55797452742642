//! Streaming an object's extents out: large positioned reads on the blocking pool, one read
//! ahead of the consumer. Inline extents are read from the database snapshot the read began
//! in, several small ones per trip.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tessera_store::{ByteStream, Extent, StoreError};
use tokio::task::JoinHandle;

use crate::{INLINE_DATA, Inner, data_path, is_inline};

/// A byte range of one extent (its file, or its inline data).
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

/// Where a read's extents are: files (kept while pinned) and, for inline extents, the
/// database snapshot in which the object's record was checked.
pub(crate) struct Source {
    pub(crate) root: PathBuf,
    pub(crate) snapshot: Option<Arc<redb::ReadTransaction>>,
    pub(crate) _pins: PinGuard,
}

/// A read in flight: the file it read (kept open for the next read of that extent) and the
/// bytes.
type Ahead = JoinHandle<io::Result<(Option<(u64, Arc<File>)>, Bytes)>>;

struct Reader {
    source: Source,
    segments: VecDeque<Segment>,
    file: Option<(u64, Arc<File>)>,
    chunk: usize,
    ahead: Option<Ahead>,
    /// Chunks handed out, kept to read into again once the consumer has let go of them: no
    /// fresh (zeroed, page-faulted) buffer per chunk.
    recycle: VecDeque<Bytes>,
}

/// How many handed-out chunks a reader keeps for reuse.
const RECYCLE: usize = 4;

impl Reader {
    /// Starts the next read on the blocking pool, if anything is left.
    fn start_next(&mut self) {
        let Some(seg) = self.segments.front_mut() else { return };
        if is_inline(seg.id) {
            return self.start_inline();
        }
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
        let path = data_path(&self.source.root, id);
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
            Ok((Some((id, file)), buf.freeze()))
        }));
    }

    /// Starts reading the inline segments at the front, as many as fit in a chunk (at least
    /// one), into one buffer.
    fn start_inline(&mut self) {
        let mut take = Vec::new();
        let mut total = 0usize;
        while let Some(seg) = self.segments.front().copied() {
            let n = (seg.end - seg.start) as usize;
            if !is_inline(seg.id) || (!take.is_empty() && total + n > self.chunk) {
                break;
            }
            self.segments.pop_front();
            take.push(seg);
            total += n;
        }
        let snapshot = self.source.snapshot.clone();
        let reused = self.reusable(total);
        self.ahead = Some(tokio::task::spawn_blocking(move || {
            let snapshot = snapshot.ok_or_else(|| io::Error::other("inline extent without a snapshot"))?;
            let table = snapshot.open_table(INLINE_DATA).map_err(io::Error::other)?;
            let mut buf = reused.unwrap_or_else(|| BytesMut::with_capacity(total));
            buf.clear();
            for seg in take {
                let data = table
                    .get(seg.id)
                    .map_err(io::Error::other)?
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("inline extent {:016x}", seg.id)))?;
                let bytes = data.value().get(seg.start as usize..seg.end as usize).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::UnexpectedEof, format!("inline extent {:016x} is short", seg.id))
                })?;
                buf.extend_from_slice(bytes);
            }
            Ok((None, buf.freeze()))
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
            Ok(Ok((file, bytes))) => {
                if file.is_some() {
                    self.file = file;
                }
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
                        StoreError::Corrupt(format!("extent data missing or short: {e}"))
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
pub(crate) fn stream(source: Source, segments: Vec<Segment>, chunk: usize) -> ByteStream {
    let mut reader = Reader {
        source,
        segments: segments.into_iter().filter(|s| s.start < s.end).collect(),
        file: None,
        chunk: chunk.max(4096),
        ahead: None,
        recycle: VecDeque::new(),
    };
    reader.start_next();
    Box::pin(futures_util::stream::unfold(reader, |mut r| async move { r.next().await.map(|item| (item, r)) }))
}
