//! The uploader: a file or a reader in parallel parts, driven by tessera-multipart's
//! [`UploadPlan`], resumable, checked end to end.
//!
//! The plan decides which part to send, when to retry and when to give up; the uploader reads
//! the bytes, sends the requests and reports what came of them. Each part is checked as it is
//! stored: by its CRC-64 and/or CRC-32C against the service's when checksums are on, else by
//! its MD5 (sent as `Content-MD5`) against the part ETag. Each part is read just before
//! it is sent and dropped once it is stored, so memory holds at most `concurrency` parts for a
//! file (a reader cannot be read twice, so its parts waiting for a retry stay in memory too).

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tessera_multipart::plan::{ListedPart, Op, Outcome, PartSize, PlanConfig, RetryPolicy, Status, Step};
use tessera_multipart::{Crc, CrcCombiner, Timestamp, UploadPlan};
use tessera_proto::{Checksum, ChecksumAlgorithm, ChecksumType, Dialect, ETag, PartNumber, UploadId};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinSet;

use crate::client::{Client, ObjectOptions, UploadChecksum, jitter, md5};
use crate::error::ClientError;

/// Which end-to-end checksums an upload computes and checks against the service's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Checksums {
    /// CRC-64/ECMA where the dialect answers with it (OBS, COS, OSS, KS3), CRC-32C
    /// (full object) on AWS.
    #[default]
    Auto,
    /// None beyond the part MD5s (which are always checked against the part ETags).
    None,
    /// The vendor CRC-64/ECMA header only (nothing on AWS, which has none).
    Crc64,
    /// `x-amz-checksum-crc32c`, full object, in any dialect.
    Crc32c,
    /// Both.
    Both,
}

impl Checksums {
    fn crc64(self, dialect: Dialect) -> bool {
        dialect.spec().crc64_header.is_some() && matches!(self, Checksums::Auto | Checksums::Crc64 | Checksums::Both)
    }

    fn crc32c(self, dialect: Dialect) -> bool {
        match self {
            Checksums::Auto => dialect == Dialect::Aws,
            Checksums::Crc32c | Checksums::Both => true,
            Checksums::None | Checksums::Crc64 => false,
        }
    }
}

/// Whether to continue an upload left unfinished.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Resume {
    /// Always start a new upload.
    #[default]
    Never,
    /// Continue the newest upload in progress for this key, if any (found with
    /// ListMultipartUploads); parts whose size and MD5 match the file are not sent again.
    Latest,
    /// Continue this upload.
    Upload(UploadId),
}

/// A callback told how many more bytes are stored.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// How to upload.
#[derive(Clone)]
pub struct UploadOptions {
    /// Part size; [`PartSize::Auto`] picks 8 MiB or more to fit 10 000 parts.
    pub part_size: PartSize,
    /// Parts in flight.
    pub concurrency: usize,
    /// Retries of each request.
    pub retry: RetryPolicy,
    /// End-to-end checksums.
    pub checksums: Checksums,
    /// Continue an interrupted upload (files only).
    pub resume: Resume,
    /// Abort the upload when it fails for good, so the service drops its parts. Turn it off
    /// to keep the parts for a later resume.
    pub abort_on_failure: bool,
    /// Objects smaller than this go in one PutObject.
    pub multipart_threshold: u64,
    /// Attributes of the new object.
    pub object: ObjectOptions,
    /// Told of progress.
    pub progress: Option<Progress>,
    /// Part limits to plan within; `None` uses the dialect's (5 MiB minimum for AWS…). Set
    /// it for a server configured with other limits (`tessera serve --min-part-size`).
    pub limits: Option<tessera_multipart::Limits>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            part_size: PartSize::Auto,
            concurrency: 8,
            retry: RetryPolicy::default(),
            checksums: Checksums::Auto,
            resume: Resume::Never,
            abort_on_failure: true,
            multipart_threshold: tessera_multipart::plan::DEFAULT_PART_SIZE,
            object: ObjectOptions::default(),
            progress: None,
            limits: None,
        }
    }
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("checksums", &self.checksums)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// What an upload produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOutput {
    /// The object's ETag.
    pub etag: ETag,
    /// The upload id (`None` for a single PutObject).
    pub upload_id: Option<UploadId>,
    /// Parts in the object (1 for a PutObject).
    pub parts: usize,
    /// Parts found already stored when resuming, not sent again.
    pub parts_skipped: usize,
    /// The CRC-64/ECMA of the object, checked against the service's, if computed.
    pub crc64ecma: Option<u64>,
    /// The full-object CRC-32C, checked against the service's, if computed.
    pub crc32c: Option<u32>,
}

/// Where an upload's bytes come from.
enum Source {
    /// Positional reads of a file: any range, any time.
    File(Arc<std::fs::File>),
    /// A reader, read once front to back; parts are kept until stored.
    Reader { reader: Box<dyn AsyncRead + Send + Unpin>, position: u64, held: HashMap<u32, Bytes> },
}

/// Reads `range` of `file` with positional reads, off the async threads.
pub(crate) async fn read_range(file: &Arc<std::fs::File>, range: Range<u64>) -> io::Result<Bytes> {
    let file = Arc::clone(file);
    tokio::task::spawn_blocking(move || {
        let len = usize::try_from(range.end - range.start).map_err(io::Error::other)?;
        let mut buf = BytesMut::zeroed(len);
        read_exact_at(&file, &mut buf, range.start)?;
        Ok(buf.freeze())
    })
    .await
    .map_err(io::Error::other)?
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &std::fs::File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Digests of one part, as sent.
#[derive(Clone, Copy, Debug)]
struct PartDigests {
    len: u64,
    crc64: u64,
    crc32c: u32,
}

/// Uploads files and readers with one [`Client`].
#[derive(Clone)]
pub struct Uploader {
    client: Client,
    options: UploadOptions,
}

impl Uploader {
    /// An uploader with `options`.
    pub fn new(client: Client, options: UploadOptions) -> Uploader {
        Uploader { client, options }
    }

    /// Uploads the file at `path` to `bucket`/`key`.
    pub async fn upload_file(&self, path: &Path, bucket: &str, key: &str) -> Result<UploadOutput, ClientError> {
        let file =
            std::fs::File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let size = file.metadata()?.len();
        let file = Arc::new(file);
        if size < self.options.multipart_threshold && self.options.resume == Resume::Never {
            let body = read_range(&file, 0..size).await?;
            return self.put_single(bucket, key, body).await;
        }
        self.multipart(Source::File(file), size, bucket, key).await
    }

    /// Uploads `size` bytes read from `reader` (no resume: a reader cannot be read twice).
    pub async fn upload_reader(
        &self,
        reader: impl AsyncRead + Send + Unpin + 'static,
        size: u64,
        bucket: &str,
        key: &str,
    ) -> Result<UploadOutput, ClientError> {
        let mut reader = reader;
        if size < self.options.multipart_threshold {
            let len = usize::try_from(size).map_err(|_| ClientError::config("object too large"))?;
            let mut buf = vec![0u8; len];
            reader.read_exact(&mut buf).await?;
            return self.put_single(bucket, key, Bytes::from(buf)).await;
        }
        let source = Source::Reader { reader: Box::new(reader), position: 0, held: HashMap::new() };
        self.multipart(source, size, bucket, key).await
    }

    async fn put_single(&self, bucket: &str, key: &str, body: Bytes) -> Result<UploadOutput, ClientError> {
        let dialect = self.client.dialect();
        let checksums = self.options.checksums;
        let digests = digests(&body);
        let algorithm = checksums.crc32c(dialect).then_some(ChecksumAlgorithm::Crc32c);
        let out = self.client.put_object(bucket, key, body, &self.options.object, algorithm).await?;
        let crc64 = check_crc64(checksums.crc64(dialect), digests.crc64, out.crc64ecma, "the object")?;
        let crc32c = match algorithm {
            Some(_) => Some(check_crc32c(digests.crc32c, out.checksum.as_ref(), "the object")?),
            None => None,
        };
        if let Some(p) = &self.options.progress {
            p(digests.len);
        }
        Ok(UploadOutput { etag: out.etag, upload_id: None, parts: 1, parts_skipped: 0, crc64ecma: crc64, crc32c })
    }

    async fn multipart(
        &self,
        mut source: Source,
        size: u64,
        bucket: &str,
        key: &str,
    ) -> Result<UploadOutput, ClientError> {
        let client = &self.client;
        let dialect = client.dialect();
        let options = &self.options;
        let want_crc64 = options.checksums.crc64(dialect);
        let mut want_crc32c = options.checksums.crc32c(dialect);
        let config = PlanConfig {
            total_size: size,
            dialect,
            part_size: options.part_size,
            concurrency: options.concurrency.max(1),
            retry: options.retry,
            limits: options.limits.unwrap_or_else(|| tessera_multipart::Limits::for_dialect(dialect)),
            abort_on_failure: options.abort_on_failure,
        };
        let fresh = UploadPlan::new(config.clone()).map_err(|e| ClientError::config(e.to_string()))?;
        let part_size = fresh.part_size();
        // Digests of every stored part, for the object's CRCs.
        let mut stored: HashMap<u32, PartDigests> = HashMap::new();
        let resume_id = match (&options.resume, &source) {
            (Resume::Never, _) => None,
            (_, Source::Reader { .. }) => return Err(ClientError::config("only files can resume an upload")),
            (Resume::Upload(id), _) => Some(id.clone()),
            (Resume::Latest, _) => latest_upload(client, bucket, key).await?,
        };
        let mut plan = match (&resume_id, &source) {
            (Some(id), Source::File(file)) => {
                let (listed, algorithm) = all_parts(client, bucket, key, id).await?;
                // The upload keeps the checksum it was created with.
                want_crc32c = algorithm.as_deref().is_some_and(|a| a.eq_ignore_ascii_case("CRC32C"));
                let mut local: HashMap<u32, ([u8; 16], PartDigests)> = HashMap::new();
                let mut parts = Vec::new();
                for entry in listed {
                    let n = entry.part_number.get();
                    let start = u64::from(n - 1).saturating_mul(part_size);
                    let range = start.min(size)..start.saturating_add(part_size).min(size);
                    if range.end - range.start == entry.size && range.start < size.max(1) {
                        let bytes = read_range(file, range).await?;
                        local.insert(n, (md5(&bytes), digests(&bytes)));
                    }
                    parts.push(ListedPart {
                        number: entry.part_number,
                        size: entry.size,
                        etag: entry.etag,
                        checksum: entry
                            .checksum_crc32c
                            .as_deref()
                            .and_then(|v| Checksum::from_base64(ChecksumAlgorithm::Crc32c, v).ok()),
                    });
                }
                let resumed =
                    UploadPlan::resume(config, id.clone(), parts, |n, _| local.get(&n.get()).map(|(m, _)| *m))
                        .map_err(|e| ClientError::config(e.to_string()))?;
                for (n, (_, d)) in &local {
                    stored.insert(*n, *d);
                }
                resumed
            }
            _ => fresh,
        };
        let skipped_bytes = plan.bytes_done();
        if skipped_bytes > 0
            && let Some(p) = &options.progress
        {
            p(skipped_bytes);
        }
        let checksum_mode = want_crc32c
            .then_some(UploadChecksum { algorithm: ChecksumAlgorithm::Crc32c, kind: ChecksumType::FullObject });
        let started = Instant::now();
        let now = || Timestamp(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        let mut tasks: JoinSet<(Op, Result<Done, ClientError>)> = JoinSet::new();
        let mut wake: Option<Timestamp> = None;
        let mut sent: HashMap<u32, PartDigests> = HashMap::new();
        let mut last_error: Option<ClientError> = None;
        let mut final_output: Option<crate::client::CompleteOutput> = None;
        loop {
            // Start everything the plan allows now.
            while let Some(step) = plan.poll_step(now()) {
                match step {
                    Step::Wait(at) => {
                        wake = Some(at);
                        break;
                    }
                    Step::Create => {
                        let client = client.clone();
                        let req = client.create_upload_req(bucket, key, &options.object, checksum_mode)?;
                        let once = req_owned(req);
                        tasks.spawn(async move {
                            let req = once.borrow();
                            (Op::Create, client.create_upload_with(&req, true).await.map(Done::Created))
                        });
                    }
                    Step::SendPart { number, range } => {
                        let upload_id = plan
                            .upload_id()
                            .cloned()
                            .ok_or_else(|| ClientError::config("the plan sent a part before the upload exists"))?;
                        let body = match &mut source {
                            Source::File(file) => PartBody::Later(Arc::clone(file), range.clone()),
                            Source::Reader { reader, position, held } => {
                                let bytes = match held.get(&number.get()) {
                                    Some(b) => b.clone(),
                                    None => {
                                        if *position != range.start {
                                            return Err(ClientError::config("a reader's parts must come in order"));
                                        }
                                        let len = usize::try_from(range.end - range.start)
                                            .map_err(|_| ClientError::config("part too large"))?;
                                        let mut buf = vec![0u8; len];
                                        reader.read_exact(&mut buf).await?;
                                        *position = range.end;
                                        let b = Bytes::from(buf);
                                        held.insert(number.get(), b.clone());
                                        b
                                    }
                                };
                                PartBody::Ready(bytes)
                            }
                        };
                        let client = client.clone();
                        let (bucket, key) = (bucket.to_owned(), key.to_owned());
                        tasks.spawn(async move {
                            let result =
                                send_part(&client, &bucket, &key, &upload_id, number, body, want_crc64, want_crc32c)
                                    .await;
                            (Op::Part(number), result)
                        });
                    }
                    Step::Complete { parts } => {
                        let upload_id = plan
                            .upload_id()
                            .cloned()
                            .ok_or_else(|| ClientError::config("the plan completes an upload that does not exist"))?;
                        let client = client.clone();
                        let req = req_owned(client.complete_req(bucket, key, &upload_id, &parts));
                        tasks.spawn(async move {
                            let req = req.borrow();
                            (Op::Complete, client.complete_with(&req, true).await.map(|o| Done::Completed(Box::new(o))))
                        });
                    }
                    Step::Abort => {
                        let upload_id = plan.upload_id().cloned();
                        let client = client.clone();
                        let (bucket, key) = (bucket.to_owned(), key.to_owned());
                        tasks.spawn(async move {
                            let result = match upload_id {
                                Some(id) => {
                                    client.abort_multipart_upload(&bucket, &key, &id).await.map(|()| Done::Aborted)
                                }
                                None => Ok(Done::Aborted),
                            };
                            (Op::Abort, result)
                        });
                    }
                }
            }
            if plan.status() != Status::Running {
                break;
            }
            // Wait for an outcome, or for a retry's backoff to end.
            let joined = match wake.take() {
                Some(at) => {
                    let delay = at.saturating_since(now());
                    if tasks.is_empty() {
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    tokio::select! {
                        j = tasks.join_next() => j,
                        () = tokio::time::sleep(delay) => continue,
                    }
                }
                None => tasks.join_next().await,
            };
            let Some(joined) = joined else {
                // Nothing in flight and nothing to start: the plan is stuck, which is a bug.
                return Err(ClientError::config("the upload plan stopped with nothing in flight"));
            };
            let (op, result) = joined.map_err(|e| ClientError::Transport(format!("a part task failed: {e}")))?;
            let outcome = match result {
                Ok(Done::Created(upload_id)) => Outcome::Created { upload_id },
                Ok(Done::Part { number, etag, checksum, digests }) => {
                    sent.insert(number.get(), digests);
                    if let Source::Reader { held, .. } = &mut source {
                        held.remove(&number.get());
                    }
                    if let Some(p) = &options.progress {
                        p(digests.len);
                    }
                    Outcome::PartDone { number, etag, checksum }
                }
                Ok(Done::Completed(output)) => {
                    let etag = output.etag.clone();
                    final_output = Some(*output);
                    Outcome::Completed { etag }
                }
                Ok(Done::Aborted) => Outcome::Aborted,
                Err(e) => {
                    let outcome =
                        Outcome::Failed { op, retryable: e.is_retryable(), jitter: jitter(), reason: e.to_string() };
                    last_error = Some(e);
                    outcome
                }
            };
            plan.handle(outcome, now());
        }
        // Let requests still running (parts after a fatal error) finish before returning.
        while tasks.join_next().await.is_some() {}
        match plan.status() {
            Status::Succeeded { etag } => {
                let sent_now = sent.len();
                stored.extend(sent);
                let output = final_output.ok_or_else(|| ClientError::invalid("completed without an answer"))?;
                let count = plan.part_count();
                let lens = (1..=count as u32).map(|n| stored.get(&n).copied());
                let all: Option<Vec<PartDigests>> = lens.collect();
                let (crc64, crc32c) = match all {
                    Some(parts) => {
                        let mut c64 = CrcCombiner::new(Crc::Crc64Xz);
                        let mut c32 = CrcCombiner::new(Crc::Crc32c);
                        for p in &parts {
                            c64.push(p.crc64, p.len);
                            c32.push(u64::from(p.crc32c), p.len);
                        }
                        (Some(c64.value()), Some(c32.value() as u32))
                    }
                    None => (None, None),
                };
                let crc64 = match crc64 {
                    Some(v) => check_crc64(want_crc64, v, output.crc64ecma, "the object")?,
                    None => None,
                };
                let crc32c = match (crc32c, want_crc32c) {
                    (Some(v), true) => {
                        let served = output
                            .document
                            .checksum_crc32c
                            .as_deref()
                            .and_then(|s| Checksum::from_base64(ChecksumAlgorithm::Crc32c, s).ok());
                        Some(check_crc32c(v, served.as_ref(), "the object")?)
                    }
                    _ => None,
                };
                Ok(UploadOutput {
                    etag,
                    upload_id: plan.upload_id().cloned(),
                    parts: count,
                    parts_skipped: count.saturating_sub(sent_now),
                    crc64ecma: crc64,
                    crc32c,
                })
            }
            Status::Failed { reason, upload_id, .. } => Err(last_error.unwrap_or_else(|| {
                ClientError::Transport(match upload_id {
                    Some(id) => format!("{reason} (upload {} kept for a resume)", id.as_str()),
                    None => reason,
                })
            })),
            Status::Running => Err(ClientError::config("the upload stopped while running")),
        }
    }
}

/// Every part of an upload, and the checksum algorithm it was created with.
async fn all_parts(
    client: &Client,
    bucket: &str,
    key: &str,
    id: &UploadId,
) -> Result<(Vec<tessera_proto::xml::PartEntry>, Option<String>), ClientError> {
    let mut parts = Vec::new();
    let mut marker = None;
    loop {
        let page = client.list_parts(bucket, key, id, marker, None).await?;
        parts.extend(page.parts);
        match (page.is_truncated, page.next_part_number_marker) {
            (true, Some(next)) if Some(next) != marker => marker = Some(next),
            (true, _) => return Err(ClientError::invalid("a truncated ListParts page without a new marker")),
            (false, _) => return Ok((parts, page.checksum_algorithm)),
        }
    }
}

/// The newest upload in progress for exactly `key`.
async fn latest_upload(client: &Client, bucket: &str, key: &str) -> Result<Option<UploadId>, ClientError> {
    let uploads = client.list_all_multipart_uploads(bucket, Some(key)).await?;
    let newest = uploads.into_iter().filter(|u| u.key == key).max_by_key(|u| u.initiated.as_millis());
    newest.map(|u| UploadId::new(&u.upload_id).map_err(|e| ClientError::invalid(e.to_string()))).transpose()
}

/// What a finished request produced.
enum Done {
    Created(UploadId),
    Part { number: PartNumber, etag: ETag, checksum: Option<Checksum>, digests: PartDigests },
    Completed(Box<crate::client::CompleteOutput>),
    Aborted,
}

enum PartBody {
    /// Read from the file when the request is about to go.
    Later(Arc<std::fs::File>, Range<u64>),
    Ready(Bytes),
}

fn digests(data: &[u8]) -> PartDigests {
    PartDigests {
        len: data.len() as u64,
        crc64: crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Xz, data),
        crc32c: crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data) as u32,
    }
}

#[allow(clippy::too_many_arguments)]
async fn send_part(
    client: &Client,
    bucket: &str,
    key: &str,
    upload_id: &UploadId,
    number: PartNumber,
    body: PartBody,
    want_crc64: bool,
    want_crc32c: bool,
) -> Result<Done, ClientError> {
    // Reading and hashing are CPU and disk work: keep them off the async threads.
    let (bytes, digest, part_digests) = tokio::task::spawn_blocking(move || -> io::Result<_> {
        let bytes = match body {
            PartBody::Ready(b) => b,
            PartBody::Later(file, range) => {
                let len = usize::try_from(range.end - range.start).map_err(io::Error::other)?;
                let mut buf = BytesMut::zeroed(len);
                read_exact_at(&file, &mut buf, range.start)?;
                buf.freeze()
            }
        };
        // A CRC checked against the service's covers the part; MD5 (Content-MD5 and the
        // ETag check) is the fallback, and costs more than both CRCs together.
        let digest = (!want_crc64 && !want_crc32c).then(|| md5(&bytes));
        let part_digests = digests(&bytes);
        Ok((bytes, digest, part_digests))
    })
    .await
    .map_err(io::Error::other)??;
    let checksum = if want_crc32c {
        Some(
            tessera_proto::Checksum::new(ChecksumAlgorithm::Crc32c, &part_digests.crc32c.to_be_bytes())
                .map_err(|e| ClientError::config(e.to_string()))?,
        )
    } else {
        None
    };
    let req = client.upload_part_req(bucket, key, upload_id, number, bytes, digest.as_ref(), checksum.as_ref())?;
    let out = client.upload_part_once(&req, digest.as_ref()).await?;
    drop(req);
    let what = format!("part {}", number.get());
    check_crc64(want_crc64, part_digests.crc64, out.crc64ecma, &what)?;
    if want_crc32c {
        check_crc32c(part_digests.crc32c, out.checksum.as_ref(), &what)?;
    }
    Ok(Done::Part { number, etag: out.etag, checksum, digests: part_digests })
}

/// Checks a CRC-64/ECMA the service answered with, when asked to: a missing header in a
/// dialect that has one is an error too.
fn check_crc64(wanted: bool, local: u64, served: Option<u64>, what: &str) -> Result<Option<u64>, ClientError> {
    if !wanted {
        return Ok(None);
    }
    match served {
        Some(v) if v == local => Ok(Some(local)),
        Some(v) => Err(ClientError::Integrity(format!("{what}: CRC-64 {v} stored, {local} sent"))),
        None => Err(ClientError::Integrity(format!("{what}: the answer has no CRC-64 header"))),
    }
}

fn check_crc32c(local: u32, served: Option<&Checksum>, what: &str) -> Result<u32, ClientError> {
    match served {
        Some(c) if c.algorithm() == ChecksumAlgorithm::Crc32c && c.digest() == local.to_be_bytes() => Ok(local),
        Some(c) => Err(ClientError::Integrity(format!(
            "{what}: CRC-32C {} stored, {} sent",
            c.to_base64(),
            hex::encode(local.to_be_bytes())
        ))),
        None => Err(ClientError::Integrity(format!("{what}: the answer has no CRC-32C"))),
    }
}

/// A request moved into a task (the task owns its strings).
struct OwnedReq {
    method: http::Method,
    bucket: Option<String>,
    key: Option<String>,
    query: Vec<(String, Option<String>)>,
    headers: http::HeaderMap,
    body: Bytes,
}

impl OwnedReq {
    fn borrow(&self) -> crate::client::Req<'_> {
        crate::client::Req {
            method: self.method.clone(),
            bucket: self.bucket.as_deref(),
            key: self.key.as_deref(),
            query: self.query.iter().map(|(n, v)| (n.as_str(), v.clone())).collect(),
            headers: self.headers.clone(),
            body: self.body.clone(),
        }
    }
}

fn req_owned(req: crate::client::Req<'_>) -> OwnedReq {
    OwnedReq {
        method: req.method,
        bucket: req.bucket.map(str::to_owned),
        key: req.key.map(str::to_owned),
        query: req.query.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        headers: req.headers,
        body: req.body,
    }
}
