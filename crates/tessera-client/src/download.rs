//! The downloader: parallel ranged GETs written into a file at their offsets, verified.
//!
//! The object's head gives its size, ETag and checksums. Ranges of `part_size` bytes are
//! fetched `concurrency` at a time, each with `If-Match` on the ETag (so a concurrent
//! overwrite fails the download instead of mixing two objects), and written with positional
//! writes as they stream, at most 1 MiB buffered per range. Every range's CRCs are computed
//! on the way and combined in order: the object is checked against the vendor CRC-64/ECMA,
//! a full-object `x-amz-checksum-*`, or (when there is neither) the MD5 ETag of a single-part
//! object. The data goes to `<path>.tessera-download` and is renamed over `path` only once
//! it is verified.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use md5::Digest as _;
use tessera_multipart::{Crc, CrcCombiner};
use tessera_proto::{ChecksumAlgorithm, ChecksumType, ETag};
use tokio::task::JoinSet;

use crate::client::{Client, jitter};
use crate::error::ClientError;
use crate::upload::Progress;

/// Bytes buffered per range before they are written.
const WRITE_BUFFER: usize = 1024 * 1024;

/// How to download.
#[derive(Clone)]
pub struct DownloadOptions {
    /// Bytes per ranged GET.
    pub part_size: u64,
    /// Ranges in flight.
    pub concurrency: usize,
    /// Told of progress.
    pub progress: Option<Progress>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions { part_size: tessera_multipart::plan::DEFAULT_PART_SIZE, concurrency: 8, progress: None }
    }
}

/// What a download produced and how it was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadOutput {
    /// Bytes written.
    pub size: u64,
    /// The object's ETag.
    pub etag: Option<ETag>,
    /// What the data was checked against beyond its size: `crc64ecma`, `crc32c`, `crc32`,
    /// `crc64nvme`, `md5`; empty when the service offered nothing to check.
    pub verified: Vec<&'static str>,
}

/// A fetched range and, for a single-range object, its MD5.
type RangeResult = Result<(RangeDone, Option<[u8; 16]>), ClientError>;

/// One fetched range.
struct RangeDone {
    index: usize,
    len: u64,
    /// Computed only when the service has a CRC-64 to check it against.
    crc64xz: Option<u64>,
    crc: Option<u64>,
}

/// Downloads objects into files with one [`Client`].
#[derive(Clone)]
pub struct Downloader {
    client: Client,
    options: DownloadOptions,
}

impl Downloader {
    /// A downloader with `options`.
    pub fn new(client: Client, options: DownloadOptions) -> Downloader {
        Downloader { client, options }
    }

    /// Downloads `bucket`/`key` into `path`.
    pub async fn download_file(&self, bucket: &str, key: &str, path: &Path) -> Result<DownloadOutput, ClientError> {
        let head = self.client.head_object(bucket, key).await?;
        let size = head.size;
        let etag = head.etag.clone();
        let temp = temp_path(path);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&temp)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", temp.display())))?;
        file.set_len(size)?;
        let file = Arc::new(file);
        let result = self.fetch_all(bucket, key, &file, size, etag.as_ref(), &head).await;
        let verified = match result {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                return Err(e);
            }
        };
        drop(file);
        std::fs::rename(&temp, path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(DownloadOutput { size, etag, verified })
    }

    async fn fetch_all(
        &self,
        bucket: &str,
        key: &str,
        file: &Arc<std::fs::File>,
        size: u64,
        etag: Option<&ETag>,
        head: &crate::client::ObjectInfo,
    ) -> Result<Vec<&'static str>, ClientError> {
        let part = self.options.part_size.max(1);
        let count = usize::try_from(size.div_ceil(part)).map_err(|_| ClientError::config("object too large"))?;
        // A full-object x-amz CRC can be combined from the ranges; a composite one cannot.
        let full_crc = head.checksum.as_ref().filter(|(_, ty)| *ty == ChecksumType::FullObject).and_then(|(c, _)| {
            let crc = tessera_multipart::Crc::of(c.algorithm())?;
            let mut expected = [0u8; 8];
            let digest = c.digest();
            expected.get_mut(8 - digest.len()..)?.copy_from_slice(digest);
            Some((c.algorithm(), crc, u64::from_be_bytes(expected)))
        });
        let single_md5 = count == 1 && etag.is_some_and(|e| e.md5().is_some());
        let mut results: Vec<Option<RangeDone>> = (0..count).map(|_| None).collect();
        let mut md5_of_single = None;
        let mut tasks: JoinSet<RangeResult> = JoinSet::new();
        let mut next = 0usize;
        loop {
            while next < count && tasks.len() < self.options.concurrency.max(1) {
                let start = next as u64 * part;
                let end = (start + part).min(size);
                let ctx = RangeTask {
                    client: self.client.clone(),
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    etag: etag.cloned(),
                    file: Arc::clone(file),
                    crc64: head.crc64ecma.is_some(),
                    crc: full_crc.map(|(_, c, _)| c),
                    md5: single_md5,
                    progress: self.options.progress.clone(),
                };
                let index = next;
                tasks.spawn(async move { ctx.fetch(index, start, end).await });
                next += 1;
            }
            let Some(joined) = tasks.join_next().await else { break };
            let (done, md5) = joined.map_err(|e| ClientError::Transport(format!("a range task failed: {e}")))??;
            if md5.is_some() {
                md5_of_single = md5;
            }
            let index = done.index;
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(done);
            }
        }
        let mut c64 = CrcCombiner::new(Crc::Crc64Xz);
        let mut cx = full_crc.map(|(_, c, _)| CrcCombiner::new(c));
        let mut total = 0u64;
        for r in results.iter().flatten() {
            if let Some(v) = r.crc64xz {
                c64.push(v, r.len);
            }
            if let (Some(cx), Some(v)) = (cx.as_mut(), r.crc) {
                cx.push(v, r.len);
            }
            total += r.len;
        }
        if total != size || results.iter().any(Option::is_none) {
            return Err(ClientError::Integrity(format!("{total} bytes received of {size}")));
        }
        let mut verified = Vec::new();
        if let Some(served) = head.crc64ecma {
            if served != c64.value() {
                return Err(ClientError::Integrity(format!("CRC-64 {served} served, {} received", c64.value())));
            }
            verified.push("crc64ecma");
        }
        if let (Some((algorithm, _, expected)), Some(cx)) = (full_crc, cx) {
            if cx.value() != expected {
                return Err(ClientError::Integrity(format!(
                    "{algorithm} {expected:x} served, {:x} received",
                    cx.value()
                )));
            }
            verified.push(match algorithm {
                ChecksumAlgorithm::Crc32 => "crc32",
                ChecksumAlgorithm::Crc32c => "crc32c",
                _ => "crc64nvme",
            });
        }
        if let (Some(expected), Some(got)) = (etag.and_then(ETag::md5), md5_of_single) {
            if expected != got {
                return Err(ClientError::Integrity(format!(
                    "MD5 {} served, {} received",
                    hex::encode(expected),
                    hex::encode(got)
                )));
            }
            verified.push("md5");
        }
        if size == 0 && etag.and_then(ETag::md5).is_some_and(|m| m == crate::client::md5(b"")) {
            verified.push("md5");
        }
        Ok(verified)
    }
}

/// `<path>.tessera-download`, beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tessera-download");
    path.with_file_name(name)
}

struct RangeTask {
    client: Client,
    bucket: String,
    key: String,
    etag: Option<ETag>,
    file: Arc<std::fs::File>,
    crc64: bool,
    crc: Option<Crc>,
    md5: bool,
    progress: Option<Progress>,
}

impl RangeTask {
    /// Fetches `start..end` into the file, retrying retryable failures (a cut body too).
    async fn fetch(self, index: usize, start: u64, end: u64) -> RangeResult {
        let policy = self.client.config().retry;
        let mut attempt = 1;
        loop {
            match self.fetch_once(index, start, end).await {
                Err(e) if e.is_retryable() && attempt < policy.max_attempts.max(1) => {
                    tokio::time::sleep(policy.delay(attempt, jitter())).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn fetch_once(&self, index: usize, start: u64, end: u64) -> RangeResult {
        let mut output =
            self.client.get_object(&self.bucket, &self.key, Some((start, end - 1)), self.etag.as_ref()).await?;
        if output.info.content_length != end - start {
            return Err(ClientError::Integrity(format!(
                "asked for {} bytes at {start}, the answer has {}",
                end - start,
                output.info.content_length
            )));
        }
        let mut c64 = self.crc64.then(|| crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Xz));
        let mut cx = self.crc.map(|c| crc_fast::Digest::new(algorithm_of(c)));
        let mut md5 = self.md5.then(md5::Md5::new);
        let mut offset = start;
        let mut buffer = BytesMut::with_capacity(WRITE_BUFFER);
        while let Some(chunk) = output.chunk().await? {
            if offset + (buffer.len() + chunk.len()) as u64 > end {
                return Err(ClientError::Integrity(format!("the range at {start} is longer than asked")));
            }
            if let Some(d) = c64.as_mut() {
                d.update(&chunk);
            }
            if let Some(d) = cx.as_mut() {
                d.update(&chunk);
            }
            if let Some(m) = md5.as_mut() {
                m.update(&chunk);
            }
            buffer.extend_from_slice(&chunk);
            if buffer.len() >= WRITE_BUFFER {
                let data = buffer.split().freeze();
                let len = data.len() as u64;
                write_at(&self.file, data, offset).await?;
                offset += len;
            }
        }
        if !buffer.is_empty() {
            let data = buffer.split().freeze();
            let len = data.len() as u64;
            write_at(&self.file, data, offset).await?;
            offset += len;
        }
        if offset != end {
            return Err(ClientError::Transport(format!("the range at {start} ended after {} bytes", offset - start)));
        }
        // Counted once the range is whole, so a retried range is not counted twice.
        if let Some(p) = &self.progress {
            p(end - start);
        }
        let done =
            RangeDone { index, len: end - start, crc64xz: c64.map(|d| d.finalize()), crc: cx.map(|d| d.finalize()) };
        Ok((done, md5.map(|m| m.finalize().into())))
    }
}

fn algorithm_of(crc: Crc) -> crc_fast::CrcAlgorithm {
    match crc {
        Crc::Crc32 => crc_fast::CrcAlgorithm::Crc32IsoHdlc,
        Crc::Crc32c => crc_fast::CrcAlgorithm::Crc32Iscsi,
        Crc::Crc64Nvme => crc_fast::CrcAlgorithm::Crc64Nvme,
        Crc::Crc64Xz => crc_fast::CrcAlgorithm::Crc64Xz,
    }
}

async fn write_at(file: &Arc<std::fs::File>, data: Bytes, offset: u64) -> io::Result<()> {
    let file = Arc::clone(file);
    tokio::task::spawn_blocking(move || write_all_at(&file, &data, offset)).await.map_err(io::Error::other)?
}

#[cfg(unix)]
fn write_all_at(file: &std::fs::File, data: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, data, offset)
}

#[cfg(windows)]
fn write_all_at(file: &std::fs::File, mut data: &[u8], mut offset: u64) -> io::Result<()> {
    while !data.is_empty() {
        match std::os::windows::fs::FileExt::seek_write(file, data, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                data = &data[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
