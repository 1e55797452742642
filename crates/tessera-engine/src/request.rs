//! What goes into [`Engine::execute`](crate::Engine::execute) and what comes out.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tessera_proto::ops::{Operation, Output, Principal};
use tessera_proto::values::Timestamp;
use tessera_proto::{Checksum, Dialect};
use tessera_store::ByteStream;

/// One request for the engine: the operation, who asks, in which dialect, when, and its body.
pub struct EngineRequest {
    /// What to do.
    pub op: Operation,
    /// Who asks (already authenticated by the front-end).
    pub principal: Principal,
    /// The dialect of the request (decides part minimums, storage-class and ACL spellings).
    pub dialect: Dialect,
    /// The front-end's clock, read once for this request.
    pub now: Timestamp,
    /// The body, if the operation takes one.
    pub body: RequestBody,
}

impl fmt::Debug for EngineRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineRequest")
            .field("op", &self.op)
            .field("principal", &self.principal)
            .field("dialect", &self.dialect)
            .field("now", &self.now)
            .field("body", &self.body)
            .finish()
    }
}

/// The body of a request.
pub enum RequestBody {
    /// No body.
    Empty,
    /// A small XML document the front-end has read whole, up to its limit
    /// (CompleteMultipartUpload, DeleteObjects, PutObjectTagging, PutBucketLifecycle, …).
    Xml(Bytes),
    /// Object or part data, streamed (PutObject, UploadPart).
    Payload(Payload),
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestBody::Empty => f.write_str("Empty"),
            RequestBody::Xml(b) => write!(f, "Xml({} bytes)", b.len()),
            RequestBody::Payload(p) => write!(f, "Payload({} bytes)", p.length),
        }
    }
}

/// Streamed object or part data.
pub struct Payload {
    /// The decoded bytes (aws-chunked framing already removed).
    pub stream: ByteStream,
    /// The decoded length the client declared; a stream of another length is refused with
    /// `IncompleteBody`. Ignored when the operation says `length_unknown` (a chunked body
    /// without a length): the engine then counts, and stops at the part or object maximum
    /// with `EntityTooLarge`.
    pub length: u64,
    /// Where the MD5 and CRC-64 of the data come from.
    pub summary: SummarySource,
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payload").field("length", &self.length).field("summary", &self.summary).finish()
    }
}

/// The digests of a whole payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadSummary {
    /// MD5 of the data (the ETag of a single PUT or a part).
    pub md5: [u8; 16],
    /// CRC-64/XZ ("crc64ecma") of the data.
    pub crc64ecma: u64,
    /// The additional checksum the request declared and the front-end verified, if any.
    /// A part of an upload created with a checksum algorithm must carry one of that
    /// algorithm (else `InvalidRequest`, as S3).
    pub checksum: Option<Checksum>,
}

/// Who digests a payload.
#[derive(Clone, Debug)]
pub enum SummarySource {
    /// The front-end's digest-checking stream fills this cell before it yields end-of-stream
    /// (MD5 bounds upload throughput, so it is computed once, by the server). An empty cell
    /// after the stream ended is the front-end's bug and answers `InternalError`.
    Provided(Arc<OnceLock<PayloadSummary>>),
    /// The engine digests the stream itself (embedders without a digesting front-end).
    Compute,
}

/// The answer to a request.
pub struct EngineResponse {
    /// What to report.
    pub output: Output,
    /// Object data for GET (the served range only); `None` for every other operation.
    pub body: Option<ByteStream>,
}

impl EngineResponse {
    /// An answer without data.
    pub fn new(output: Output) -> Self {
        EngineResponse { output, body: None }
    }
}

impl fmt::Debug for EngineResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineResponse")
            .field("output", &self.output)
            .field("body", &self.body.as_ref().map(|_| "<stream>"))
            .finish()
    }
}

/// Where upload ids come from: the front-end's random source (the engine draws no random
/// numbers). Ids must be 1 to 256 of RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`)
/// and never repeat; the engine refuses others with `InternalError`.
pub trait IdSource: Send + Sync {
    /// A fresh upload id.
    fn next_upload_id(&self) -> String;
}

/// An [`IdSource`] that counts: `<prefix>0000000000000001`, `…2`, … For tests and for
/// embedders that persist nothing across restarts (start it above any id in use otherwise).
#[derive(Debug)]
pub struct CounterIds {
    prefix: String,
    next: AtomicU64,
}

impl CounterIds {
    /// Ids `<prefix><n>` with `n` counting from `start`.
    pub fn new(prefix: impl Into<String>, start: u64) -> Self {
        CounterIds { prefix: prefix.into(), next: AtomicU64::new(start) }
    }
}

impl IdSource for CounterIds {
    fn next_upload_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}{n:016x}", self.prefix)
    }
}
