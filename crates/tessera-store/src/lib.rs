//! The plain storage trait under Tessera, its memory backend, and the conformance suite every
//! backend runs.
//!
//! What this crate does **not** do: it knows no S3 rule. Part sizes, part numbers, ETags,
//! ordering rules, signatures, checksums and conditional headers all live above it, in
//! `tessera-multipart` and `tessera-engine`, once, so every backend follows the same rules by
//! construction. It names no async runtime (no tokio), reads no clock (times come in from the
//! caller) and draws no random numbers (ids are counters).
//!
//! What it owns:
//! - [`Store`]: buckets with an opaque config blob, staged parts (a stream in → an id and a
//!   length), objects assembled from staged parts as a manifest, byte-range reads, opaque
//!   upload records, and listings in key byte order;
//! - [`MemoryStore`]: the reference backend (tests, `tessera serve --memory`);
//! - with the `testkit` feature, [`testkit`] and [`conformance_tests!`]: one suite that every
//!   backend passes.
//!
//! Who should use which crate: the engine and anyone writing a backend use this crate; a
//! server that keeps data on disk uses `tessera-store-fs`, which implements [`Store`].
//!
//! # The life of an object
//!
//! A single PUT is [`Store::stage`] then [`Store::assemble`] of one part. A multipart upload
//! stages each part as it arrives (keeping the ids in an upload record, [`Store::put_upload`]),
//! then assembles the chosen parts in order and deletes the upload record in the same atomic
//! step. Assembly copies no data: the object's [`ObjectRecord::layout`] lists the staged
//! parts, which become the object's extents. Staged parts that no upload references (after a
//! crash, an abort or a re-uploaded part) are found with [`Store::list_staged`] and freed with
//! [`Store::discard`]. The extents of an object are freed when it is overwritten or deleted.
//!
//! Copying an object is the engine's `read` + `stage`: the store offers no extent sharing,
//! which keeps every extent owned by exactly one object or staged entry.

mod error;
mod memory;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::fmt;
use std::ops::Range;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;
use tessera_proto::{BucketName, ObjectKey, UploadId};

pub use error::StoreError;
pub use memory::MemoryStore;

/// Data in and out of a store: chunks of bytes, or the error that stopped the stream.
///
/// Input streams carry the producer's errors (a body that failed a digest check mid-way):
/// [`Store::stage`] stops at the first `Err`, keeps nothing, and returns that error.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send>>;

/// A bucket's record: what the store keeps about a bucket besides its contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketRecord {
    /// Creation time, Unix milliseconds, as given by the caller.
    pub created: u64,
    /// The owner's canonical id.
    pub owner: String,
    /// The region (location constraint).
    pub region: String,
    /// Everything else the engine keeps per bucket (ACL, lifecycle, default encryption…),
    /// serialized by the engine; the store never looks inside.
    pub config: Bytes,
}

/// The id of a staged part, assigned by the store, unique within the store for its lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageId(u64);

impl StageId {
    /// The id whose [`StageId::get`] is `n` (for engines that persist ids in upload records).
    pub const fn new(n: u64) -> Self {
        StageId(n)
    }

    /// The id as a number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A staged part: durable data not yet part of any object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Staged {
    /// Its id.
    pub id: StageId,
    /// Its length in bytes.
    pub len: u64,
}

/// One extent of an object: a consumed staged part, read whole, in layout order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// The staged part it was.
    pub stage: StageId,
    /// Its length in bytes.
    pub len: u64,
}

/// An object's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Length in bytes: the sum of the extents' lengths.
    pub size: u64,
    /// Assigned by the store; strictly greater than every generation the key held before,
    /// even across deletes (a store-wide counter).
    pub generation: u64,
    /// Last-modified time, Unix milliseconds, as given by the caller.
    pub modified: u64,
    /// The object's data, in order.
    pub layout: Vec<Extent>,
    /// Everything else the engine keeps per object (ETag, content headers, user metadata,
    /// checksums, wrapped keys…), serialized by the engine; the store never looks inside.
    pub meta: Bytes,
}

/// What [`Store::assemble`] makes an object from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectWrite {
    /// Staged parts of the same bucket, in object order; each is consumed. An empty list makes
    /// an empty object.
    pub parts: Vec<StageId>,
    /// The engine's opaque metadata.
    pub meta: Bytes,
    /// Last-modified time, Unix milliseconds.
    pub modified: u64,
}

/// A condition on what a key holds, checked in the same atomic step as the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// No condition.
    Any,
    /// The key holds no object.
    Absent,
    /// The key holds an object of this generation (absent keys fail it too).
    Generation(u64),
}

impl Precondition {
    /// Whether the condition holds for a key whose current generation is `current`.
    pub fn holds(self, current: Option<u64>) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Absent => current.is_none(),
            Precondition::Generation(g) => current == Some(g),
        }
    }
}

/// The storage under Tessera. See the [crate docs](crate) for the life of an object.
///
/// Every method either does all it says or nothing, and reports a [`StoreError`]. Every
/// bucket-scoped method fails with [`StoreError::NoSuchBucket`] if the bucket does not exist.
/// Methods returning data return it whole (lists) or as a stream that holds no lock.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a bucket. Fails with [`StoreError::BucketExists`] if the name is taken.
    async fn create_bucket(&self, name: &BucketName, record: BucketRecord) -> Result<(), StoreError>;

    /// The bucket's record, or `None`.
    async fn bucket(&self, name: &BucketName) -> Result<Option<BucketRecord>, StoreError>;

    /// Replaces the bucket's record.
    async fn update_bucket(&self, name: &BucketName, record: BucketRecord) -> Result<(), StoreError>;

    /// Deletes an empty bucket: [`StoreError::BucketNotEmpty`] if an object, a staged part or
    /// an upload record remains.
    async fn delete_bucket(&self, name: &BucketName) -> Result<(), StoreError>;

    /// Every bucket, by name.
    async fn list_buckets(&self) -> Result<Vec<(BucketName, BucketRecord)>, StoreError>;

    /// Streams `data` into storage, holding at most a few buffers of it in memory, and returns
    /// once the part is durable. If `data` yields an error, staging stops, nothing is kept,
    /// and that error is returned unchanged.
    async fn stage(&self, bucket: &BucketName, data: ByteStream) -> Result<Staged, StoreError>;

    /// [`Store::stage`] for a part the caller is about to name in a durable record (an upload's
    /// part record, [`Store::put_upload_part`], or an object, [`Store::assemble`]): the part's
    /// entry need only become durable no later than the next change of this store that
    /// returns, so a backend may save a sync. Until then a crash may forget the part, which
    /// is fine for a part no acknowledged record names (its data is then reclaimed like any
    /// unreferenced part). By default, [`Store::stage`].
    async fn stage_pending(&self, bucket: &BucketName, data: ByteStream) -> Result<Staged, StoreError> {
        self.stage(bucket, data).await
    }

    /// Frees a staged part ([`StoreError::NoSuchStage`] if it is not staged in `bucket`).
    async fn discard(&self, bucket: &BucketName, stage: StageId) -> Result<(), StoreError>;

    /// The bucket's staged parts not yet consumed by an assemble, by id.
    async fn list_staged(&self, bucket: &BucketName) -> Result<Vec<Staged>, StoreError>;

    /// Makes the object at `key` from `write.parts`, in one atomic step that
    /// - checks `cond` against what the key holds ([`StoreError::PreconditionFailed`]),
    /// - consumes every part ([`StoreError::NoSuchStage`] if one is not staged in `bucket`,
    ///   including a part listed twice),
    /// - deletes the upload record `also_delete_upload` ([`StoreError::NoSuchUpload`] if it
    ///   is gone, so two racing completions cannot both succeed),
    /// - replaces what the key held, whose extents are then freed.
    ///
    /// No data is copied or re-read. On any error nothing changed: the parts stay staged and
    /// the upload record stays.
    async fn assemble(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        write: ObjectWrite,
        cond: Precondition,
        also_delete_upload: Option<&UploadId>,
    ) -> Result<ObjectRecord, StoreError>;

    /// The object's record, or `None`.
    async fn object(&self, bucket: &BucketName, key: &ObjectKey) -> Result<Option<ObjectRecord>, StoreError>;

    /// The bytes `range` of the object `record`, which the caller got from
    /// [`Store::object`] or [`Store::list_objects`] for `key`.
    ///
    /// If `key` no longer holds `record.generation` when `read` is called, it fails with
    /// [`StoreError::NoSuchKey`] (the caller may look the key up again). Once `read` has
    /// returned a stream, the stream yields the old data to the end even if the object is
    /// replaced or deleted meanwhile: its extents are freed after the last reader is done.
    /// [`StoreError::InvalidRange`] if `range` is not within `0..=record.size`.
    async fn read(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        record: &ObjectRecord,
        range: Range<u64>,
    ) -> Result<ByteStream, StoreError>;

    /// Deletes the object if `cond` holds, returning its record and freeing its extents.
    /// [`StoreError::NoSuchKey`] if there is none (and `cond` does not fail first).
    async fn delete_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        cond: Precondition,
    ) -> Result<ObjectRecord, StoreError>;

    /// Up to `limit` objects whose keys start with `prefix` and sort after `start_after`, in
    /// key byte order.
    async fn list_objects(
        &self,
        bucket: &BucketName,
        prefix: &str,
        start_after: Option<&ObjectKey>,
        limit: usize,
    ) -> Result<Vec<(ObjectKey, ObjectRecord)>, StoreError>;

    /// Writes (creates or replaces) an upload record, durably. Records are rewritten after
    /// every part, so this is one small metadata transaction.
    async fn put_upload(&self, bucket: &BucketName, id: &UploadId, record: Bytes) -> Result<(), StoreError>;

    /// Writes (creates or replaces) the record of part `number` of upload `id`, durably: one
    /// small record per part, so persisting an upload of n parts costs O(n) in all.
    /// [`StoreError::NoSuchUpload`] if the upload has no record. Part records go with their
    /// upload ([`Store::delete_upload`], [`Store::assemble`]'s `also_delete_upload`).
    async fn put_upload_part(
        &self,
        bucket: &BucketName,
        id: &UploadId,
        number: u32,
        record: Bytes,
    ) -> Result<(), StoreError>;

    /// The part records of upload `id`, by part number (none for an unknown upload).
    async fn upload_parts(&self, bucket: &BucketName, id: &UploadId) -> Result<Vec<(u32, Bytes)>, StoreError>;

    /// An upload record, or `None`.
    async fn upload(&self, bucket: &BucketName, id: &UploadId) -> Result<Option<Bytes>, StoreError>;

    /// Deletes an upload record and its part records ([`StoreError::NoSuchUpload`] if there
    /// is none). The staged parts they name are the engine's to discard.
    async fn delete_upload(&self, bucket: &BucketName, id: &UploadId) -> Result<(), StoreError>;

    /// The bucket's upload records, by id.
    async fn list_uploads(&self, bucket: &BucketName) -> Result<Vec<(UploadId, Bytes)>, StoreError>;

    /// Every upload record of every bucket, by bucket then id (for expiry after a restart).
    async fn all_uploads(&self) -> Result<Vec<(BucketName, UploadId, Bytes)>, StoreError>;
}

/// Checks `range` against an object of `size` bytes.
pub fn check_range(range: &Range<u64>, size: u64) -> Result<(), StoreError> {
    if range.start <= range.end && range.end <= size { Ok(()) } else { Err(StoreError::InvalidRange) }
}
