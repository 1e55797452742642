//! The harness: an engine over a store, a virtual clock, principals, and request helpers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use tessera_engine::{
    CounterIds, Encryption, Engine, EngineConfig, EngineRequest, EngineResponse, KeyRing, Payload, PayloadSummary,
    RandomSource, RequestBody, SecretKey, SummarySource,
};
use tessera_proto::ops::{AclRequest, Conditions, Document, ObjectAttributes, Operation, Output, Principal, S3Error};
use tessera_proto::values::{ByteRange, Timestamp};
use tessera_proto::{BucketName, Dialect, ETag, ErrorCode, ObjectKey, PartNumber, UploadId, xml};
use tessera_store::{ByteStream, MemoryStore, Store};
use tessera_store_fs::FsStore;

/// 2026-01-01T00:00:00Z.
pub(crate) const T0: u64 = 1_767_225_600_000;

pub(crate) fn alice() -> Principal {
    Principal::User { id: "alice-id".into(), display_name: "alice".into() }
}

pub(crate) fn bob() -> Principal {
    Principal::User { id: "bob-id".into(), display_name: "bob".into() }
}

/// The bucket `bkt-<name>` (short test names are not valid bucket names).
pub(crate) fn bucket(name: &str) -> BucketName {
    BucketName::new(&format!("bkt-{name}")).unwrap()
}

pub(crate) fn key(name: &str) -> ObjectKey {
    ObjectKey::new(name).unwrap()
}

pub(crate) fn pn(n: u32) -> PartNumber {
    PartNumber::new(n).unwrap()
}

/// Deterministic bytes.
pub(crate) fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect()
}

pub(crate) fn crc64(data: &[u8]) -> u64 {
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Xz, data)
}

pub(crate) fn md5_etag(data: &[u8]) -> ETag {
    let d: [u8; 16] = Md5::digest(data).into();
    ETag::from_md5(&d)
}

/// A stream of `data` in chunks of at most 64 KiB.
pub(crate) fn stream(data: &[u8]) -> ByteStream {
    let chunks: Vec<Result<Bytes, tessera_store::StoreError>> =
        data.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    Box::pin(futures_util::stream::iter(chunks))
}

pub(crate) fn payload(data: &[u8]) -> RequestBody {
    RequestBody::Payload(Payload { stream: stream(data), length: data.len() as u64, summary: SummarySource::Compute })
}

/// A payload whose digests the "front-end" provides, as the server's digesting stream does.
pub(crate) fn provided_payload(data: &[u8]) -> RequestBody {
    let cell = Arc::new(OnceLock::new());
    let md5: [u8; 16] = Md5::digest(data).into();
    let _ = cell.set(PayloadSummary { md5, crc64ecma: crc64(data), checksum: None });
    RequestBody::Payload(Payload {
        stream: stream(data),
        length: data.len() as u64,
        summary: SummarySource::Provided(cell),
    })
}

pub(crate) async fn collect(s: ByteStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut s = s;
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

pub(crate) fn doc_of(output: &Output) -> &Document {
    match output {
        Output::Xml(d) => d,
        Output::Multipart { document, .. } => document,
        other => panic!("no document in {other:?}"),
    }
}

/// The engine under test, its store, and a virtual clock.
pub(crate) struct H<S: Store> {
    pub(crate) engine: Engine<S>,
    pub(crate) store: Arc<S>,
    pub(crate) clock: AtomicU64,
    /// Keeps the fs store's directory alive.
    pub(crate) _dir: Option<tempfile::TempDir>,
}

pub(crate) async fn memory(config: EngineConfig) -> H<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    let engine = Engine::open(store.clone(), config, Box::new(CounterIds::new("m", 1)), Timestamp::from_millis(T0))
        .await
        .unwrap();
    H { engine, store, clock: AtomicU64::new(T0), _dir: None }
}

pub(crate) async fn fs(config: EngineConfig) -> H<FsStore> {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).await.unwrap());
    let engine = Engine::open(store.clone(), config, Box::new(CounterIds::new("f", 1)), Timestamp::from_millis(T0))
        .await
        .unwrap();
    H { engine, store, clock: AtomicU64::new(T0), _dir: Some(dir) }
}

/// Runs an async test body over both backends, each as its own `#[tokio::test]`.
#[macro_export]
macro_rules! both {
    ($name:ident, $config:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$name($crate::util::memory($config).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn fs() {
                super::$name($crate::util::fs($config).await).await;
            }
        }
    };
    ($name:ident) => {
        $crate::both!($name, $crate::util::config());
    };
}

/// A deterministic random source (splitmix64): tests need repeatable keys, not secret ones.
pub(crate) struct TestRandom(Mutex<u64>);

impl RandomSource for TestRandom {
    fn fill(&self, buf: &mut [u8]) {
        let mut state = self.0.lock().unwrap();
        for byte in buf.iter_mut() {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *byte = (z ^ (z >> 31)) as u8;
        }
    }
}

/// The SSE-S3 master key of every test engine.
pub(crate) const SSE_S3_KEY: [u8; 32] = [0x5A; 32];

/// Encryption with the test SSE-S3 key and the KMS keys `kms` (name, key byte), the first
/// the default.
pub(crate) fn encryption(kms: &[(&str, u8)]) -> Encryption {
    let mut ring = KeyRing::new();
    ring.set_sse_s3_key(SecretKey::from_bytes(SSE_S3_KEY));
    for (name, byte) in kms {
        ring.insert(*name, SecretKey::from_bytes([*byte; 32])).unwrap();
    }
    Encryption::new(ring, Arc::new(TestRandom(Mutex::new(7))))
}

/// The default test config: SSE-S3 available, no KMS keys.
pub(crate) fn config() -> EngineConfig {
    EngineConfig { encryption: Some(encryption(&[])), ..EngineConfig::default() }
}

/// A config whose parts may be as small as 10 bytes, in every dialect.
pub(crate) fn small_parts() -> EngineConfig {
    config().with_min_part_size(10)
}

impl<S: Store> H<S> {
    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.clock.load(Ordering::SeqCst))
    }

    pub(crate) fn advance_days(&self, days: u64) {
        self.clock.fetch_add(days * 86_400_000, Ordering::SeqCst);
    }

    pub(crate) async fn run(
        &self,
        op: Operation,
        who: &Principal,
        dialect: Dialect,
        body: RequestBody,
    ) -> Result<EngineResponse, S3Error> {
        let request = EngineRequest { op, principal: who.clone(), dialect, now: self.now(), body };
        self.engine.execute(request).await
    }

    /// As alice, in the AWS dialect, without a body.
    pub(crate) async fn op(&self, op: Operation) -> Result<EngineResponse, S3Error> {
        self.run(op, &alice(), Dialect::Aws, RequestBody::Empty).await
    }

    pub(crate) async fn code(&self, op: Operation) -> ErrorCode {
        self.op(op).await.map(|r| r.output).expect_err("expected an error").code
    }

    pub(crate) async fn create_bucket_as(&self, name: &str, who: &Principal) -> Result<EngineResponse, S3Error> {
        let op = Operation::CreateBucket { bucket: bucket(name), location: None, acl: AclRequest::default() };
        self.run(op, who, Dialect::Aws, RequestBody::Empty).await
    }

    pub(crate) async fn mkbucket(&self, name: &str) {
        self.create_bucket_as(name, &alice()).await.unwrap();
    }

    pub(crate) fn put_op(&self, b: &str, k: &str, len: usize) -> Operation {
        Operation::PutObject {
            bucket: bucket(b),
            key: key(k),
            attributes: ObjectAttributes::default(),
            conditions: Conditions::default(),
            forbid_overwrite: false,
            content_length: len as u64,
            length_unknown: false,
        }
    }

    pub(crate) async fn put(&self, b: &str, k: &str, bytes: &[u8]) -> ETag {
        let out = self.run(self.put_op(b, k, bytes.len()), &alice(), Dialect::Aws, payload(bytes)).await.unwrap();
        match out.output {
            Output::ObjectWritten { etag, .. } => etag,
            other => panic!("{other:?}"),
        }
    }

    pub(crate) fn get_op(&self, b: &str, k: &str) -> Operation {
        Operation::GetObject {
            bucket: bucket(b),
            key: key(k),
            range: None,
            part_number: None,
            conditions: Conditions::default(),
            overrides: Default::default(),
            sse_customer: None,
        }
    }

    /// GET as `who`: output and body bytes.
    pub(crate) async fn get_as(&self, op: Operation, who: &Principal) -> Result<(Output, Vec<u8>), S3Error> {
        let r = self.run(op, who, Dialect::Aws, RequestBody::Empty).await?;
        let body = match r.body {
            Some(s) => collect(s).await,
            None => Vec::new(),
        };
        Ok((r.output, body))
    }

    pub(crate) async fn get(&self, b: &str, k: &str) -> Vec<u8> {
        self.get_as(self.get_op(b, k), &alice()).await.unwrap().1
    }

    pub(crate) async fn get_range(
        &self,
        b: &str,
        k: &str,
        range: Option<ByteRange>,
        part: Option<u32>,
    ) -> Result<(Output, Vec<u8>), S3Error> {
        let op = Operation::GetObject {
            bucket: bucket(b),
            key: key(k),
            range,
            part_number: part.map(pn),
            conditions: Conditions::default(),
            overrides: Default::default(),
            sse_customer: None,
        };
        self.get_as(op, &alice()).await
    }

    pub(crate) async fn create_upload_as(
        &self,
        b: &str,
        k: &str,
        who: &Principal,
        dialect: Dialect,
        attributes: ObjectAttributes,
    ) -> Result<UploadId, S3Error> {
        let op = Operation::CreateMultipartUpload {
            bucket: bucket(b),
            key: key(k),
            attributes,
            forbid_overwrite: false,
            encoding_url: false,
        };
        let out = self.run(op, who, dialect, RequestBody::Empty).await?;
        match doc_of(&out.output) {
            Document::InitiateMultipartUploadResult(d) => Ok(UploadId::new(&d.upload_id).unwrap()),
            other => panic!("{other:?}"),
        }
    }

    pub(crate) async fn create_upload(&self, b: &str, k: &str) -> UploadId {
        self.create_upload_as(b, k, &alice(), Dialect::Aws, ObjectAttributes::default()).await.unwrap()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn upload_part_as(
        &self,
        b: &str,
        k: &str,
        id: &UploadId,
        n: u32,
        bytes: &[u8],
        who: &Principal,
        dialect: Dialect,
    ) -> Result<(ETag, u64), S3Error> {
        let op = Operation::UploadPart {
            bucket: bucket(b),
            key: key(k),
            upload_id: id.clone(),
            part_number: pn(n),
            content_length: bytes.len() as u64,
            length_unknown: false,
            sse: None,
        };
        let out = self.run(op, who, dialect, payload(bytes)).await?;
        match out.output {
            Output::PartWritten { etag, crc64ecma, .. } => Ok((etag, crc64ecma)),
            other => panic!("{other:?}"),
        }
    }

    pub(crate) async fn upload_part(&self, b: &str, k: &str, id: &UploadId, n: u32, bytes: &[u8]) -> ETag {
        self.upload_part_as(b, k, id, n, bytes, &alice(), Dialect::Aws).await.unwrap().0
    }

    pub(crate) fn complete_op(&self, b: &str, k: &str, id: &UploadId) -> Operation {
        complete_operation(b, k, id)
    }

    pub(crate) async fn complete_with(
        &self,
        op: Operation,
        parts: &[(u32, ETag)],
        who: &Principal,
        dialect: Dialect,
    ) -> Result<xml::CompleteMultipartUploadResult, S3Error> {
        let body = complete_body(parts);
        let out = self.run(op, who, dialect, RequestBody::Xml(body)).await?;
        match doc_of(&out.output) {
            Document::CompleteMultipartUploadResult(d) => Ok(d.clone()),
            other => panic!("{other:?}"),
        }
    }

    pub(crate) async fn complete(
        &self,
        b: &str,
        k: &str,
        id: &UploadId,
        parts: &[(u32, ETag)],
    ) -> Result<xml::CompleteMultipartUploadResult, S3Error> {
        self.complete_with(self.complete_op(b, k, id), parts, &alice(), Dialect::Aws).await
    }

    pub(crate) fn list_parts_op(
        &self,
        b: &str,
        k: &str,
        id: &UploadId,
        marker: Option<u32>,
        max: Option<u32>,
    ) -> Operation {
        Operation::ListParts {
            bucket: bucket(b),
            key: key(k),
            upload_id: id.clone(),
            part_number_marker: marker,
            max_parts: max,
            encoding_url: false,
        }
    }
}

/// A `<CompleteMultipartUpload>` body.
pub(crate) fn complete_body(parts: &[(u32, ETag)]) -> Bytes {
    let doc = xml::CompleteMultipartUpload {
        parts: parts.iter().map(|(n, e)| xml::CompletedPart::new(pn(*n), e.clone())).collect(),
    };
    Bytes::from(xml::to_xml(&doc, Dialect::Aws))
}

/// A plain CompleteMultipartUpload of upload `id` at `b`/`k` (the part list goes in the body).
pub(crate) fn complete_operation(b: &str, k: &str, id: &UploadId) -> Operation {
    Operation::CompleteMultipartUpload {
        bucket: bucket(b),
        key: key(k),
        upload_id: id.clone(),
        conditions: Conditions::default(),
        forbid_overwrite: false,
        encoding_url: false,
        complete_all: false,
    }
}
