//! What crosses the boundary between the table and its embedder: tickets and receipts in,
//! actions out.

use tessera_proto::{
    BucketName, Checksum, ChecksumAlgorithm, ChecksumType, Dialect, ETag, ObjectKey, PartNumber, UploadId,
};

use crate::record::{PartRecord, StageRef, UploadRecord};
use crate::{ObjectChecksum, Timestamp};

/// Permission to stage one part's bytes, from [`begin_part`](crate::UploadTable::begin_part).
///
/// Stage the bytes somewhere named after [`upload_id`](Self::upload_id),
/// [`part_number`](Self::part_number) and [`attempt`](Self::attempt) (unique per table, so
/// two concurrent uploads of the same part never share a name), then hand the ticket back to
/// exactly one of [`finish_part`](crate::UploadTable::finish_part) or
/// [`abandon_part`](crate::UploadTable::abandon_part). A ticket cannot be cloned, so it
/// cannot be spent twice.
#[must_use = "a part ticket must be handed back to finish_part or abandon_part"]
#[derive(Debug, PartialEq, Eq)]
pub struct PartTicket {
    pub(crate) upload_id: UploadId,
    pub(crate) part_number: PartNumber,
    pub(crate) attempt: u64,
    pub(crate) began: Timestamp,
    pub(crate) serial: u64,
}

impl PartTicket {
    /// The upload.
    pub fn upload_id(&self) -> &UploadId {
        &self.upload_id
    }

    /// The part number.
    pub fn part_number(&self) -> PartNumber {
        self.part_number
    }

    /// This staging attempt's number, increasing per table (also across a restore).
    pub fn attempt(&self) -> u64 {
        self.attempt
    }

    /// When the part began.
    pub fn began(&self) -> Timestamp {
        self.began
    }
}

/// What the embedder learnt while staging a part: where the bytes are, and their digests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartReceipt {
    /// Where the bytes are.
    pub stage: StageRef,
    /// Their length.
    pub size: u64,
    /// Their MD5 (the part's ETag).
    pub md5: [u8; 16],
    /// Their checksum in the upload's algorithm, if it has one (required then).
    pub checksum: Option<Checksum>,
    /// Their CRC-64/XZ, always computed by the embedder, so every object has a combined one.
    pub crc64ecma: u64,
    /// The embedder's own text about the part, kept with it and handed back in the assembly
    /// (Tessera's engine keeps the part's wrapped data key here); empty for none.
    pub meta: String,
}

/// One part listed in a CompleteMultipartUpload request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletePart {
    /// The part number.
    pub number: PartNumber,
    /// The ETag the client holds for it (quotes and case do not matter).
    pub etag: ETag,
    /// The checksum the client holds for it (`<ChecksumCRC32>` …), if it sent one.
    pub checksum: Option<Checksum>,
}

/// A CompleteMultipartUpload request, its preconditions (if any) already evaluated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompleteRequest {
    /// The parts to assemble, as listed.
    pub parts: Vec<CompletePart>,
    /// A whole-object checksum the client declared (`x-amz-checksum-*` on Complete); it must
    /// equal the computed object checksum.
    pub expected_checksum: Option<Checksum>,
    /// An object size the client declared (`x-amz-mp-object-size`).
    pub expected_size: Option<u64>,
}

impl CompleteRequest {
    /// A request for `parts` with no declared checksum or size.
    pub fn new(parts: Vec<CompletePart>) -> CompleteRequest {
        CompleteRequest { parts, expected_checksum: None, expected_size: None }
    }
}

/// How [`complete`](crate::UploadTable::complete) went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// An [`Action::Assemble`] is queued; answer the client once its outcome is handed to
    /// [`handle_assembled`](crate::UploadTable::handle_assembled).
    Assembling,
    /// The upload had already completed with this very part list: answer this success again.
    AlreadyCompleted(CompletedUpload),
}

/// A completed upload: what CompleteMultipartUpload answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedUpload {
    /// The upload.
    pub upload_id: UploadId,
    /// The bucket.
    pub bucket: BucketName,
    /// The object key.
    pub key: ObjectKey,
    /// The object's ETag (`md5(part md5s)-N`).
    pub etag: ETag,
    /// The object's checksum in the upload's algorithm.
    pub checksum: Option<ObjectChecksum>,
    /// The object's CRC-64/XZ ("crc64ecma"), combined from the parts'.
    pub crc64ecma: u64,
    /// The object's length.
    pub size: u64,
}

/// One part of an [`Assembly`], in object order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssemblyPart {
    /// The part number.
    pub number: PartNumber,
    /// Where its bytes are staged.
    pub stage: StageRef,
    /// Its length.
    pub size: u64,
    /// Where it starts in the object.
    pub offset: u64,
    /// Its MD5.
    pub md5: [u8; 16],
    /// Its additional checksum.
    pub checksum: Option<Checksum>,
    /// Its CRC-64/XZ.
    pub crc64ecma: u64,
    /// The embedder's text about the part, from its receipt.
    pub meta: String,
}

/// The order to make an object of staged parts, atomically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembly {
    /// The upload.
    pub upload_id: UploadId,
    /// The bucket.
    pub bucket: BucketName,
    /// The object key.
    pub key: ObjectKey,
    /// The dialect the upload was created in.
    pub dialect: Dialect,
    /// The initiating principal.
    pub owner: String,
    /// The parts, ascending, every one validated.
    pub parts: Vec<AssemblyPart>,
    /// The object's length.
    pub total_size: u64,
    /// The object's ETag.
    pub etag: ETag,
    /// The object's checksum in the upload's algorithm (composite or full-object).
    pub checksum: Option<ObjectChecksum>,
    /// The object's CRC-64/XZ, always.
    pub crc64ecma: u64,
    /// The engine's opaque metadata, as given to `create`.
    pub metadata: Vec<u8>,
}

impl Assembly {
    /// The checksum algorithm and type, if the upload has one.
    pub fn checksum_mode(&self) -> Option<(ChecksumAlgorithm, ChecksumType)> {
        self.checksum.as_ref().map(|c| (c.checksum.algorithm(), c.kind))
    }
}

/// Why the embedder could not assemble an object; the upload returns to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssembleFailed(pub String);

/// Storage work the table asks of its embedder, drained with
/// [`poll_action`](crate::UploadTable::poll_action) in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Store this upload record (creation data, no parts yet), replacing any with its id.
    PersistUpload {
        /// The upload.
        upload_id: UploadId,
        /// The record.
        record: Box<UploadRecord>,
    },
    /// Store this part record under (upload, part number), replacing any earlier one.
    PersistPart {
        /// The upload.
        upload_id: UploadId,
        /// The part.
        part: PartRecord,
    },
    /// Delete these staged bytes: nothing refers to them any more.
    Discard {
        /// The bytes.
        stage: StageRef,
    },
    /// Make the object from these staged parts, atomically, then report with
    /// [`handle_assembled`](crate::UploadTable::handle_assembled). The parts' staged bytes
    /// belong to the object once it commits: they are never discarded.
    ///
    /// Delete the upload's records in the same transaction as the object commits (the
    /// [`Action::DeleteUpload`] that follows success is then a no-op): otherwise a crash
    /// between the two would restore an upload whose parts the object now owns.
    Assemble(Box<Assembly>),
    /// Delete the upload record and its part records (not the staged bytes: any that are no
    /// longer needed get their own [`Action::Discard`]).
    DeleteUpload {
        /// The upload.
        upload_id: UploadId,
    },
}
