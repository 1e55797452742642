//! Operations: what a request asks for and what it gets back, free of any wire form.
//!
//! `tessera-http` parses an HTTP request head into an [`Operation`] and renders an [`Output`]
//! or an [`S3Error`] in the request's dialect; `tessera-engine` carries operations out over a
//! store. Neither knows the other: this module is the contract between them, in the shape of
//! s3s's DTOs. Request bodies are not here — a body travels beside the operation as a stream.

use std::borrow::Cow;
use std::fmt;

use crate::values::{
    ByteRange, CannedAcl, Grantee, Permission, ResolvedRange, SseRequest, StorageClass, TagSet, Timestamp,
    UserMetadata, WebsiteRedirectLocation,
};
use crate::xml;
use crate::{
    BucketName, Checksum, ChecksumAlgorithm, ChecksumType, ETag, ErrorCode, InvalidValue, ObjectKey, PartNumber,
    UploadId,
};

/// An S3 error with everything any dialect's `<Error>` body may show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Error {
    /// The code, which also gives the HTTP status.
    pub code: ErrorCode,
    /// A message for the client.
    pub message: Cow<'static, str>,
    /// The resource the request named (`/bucket/key`), if known.
    pub resource: Option<String>,
    /// Extra elements some errors carry (`BucketName`, `Key`, `UploadId`, `PartNumber`, …).
    pub extra: Vec<(&'static str, String)>,
}

impl S3Error {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        S3Error { code, message: message.into(), resource: None, extra: Vec::new() }
    }

    /// An error with `code` and its default message.
    pub fn code(code: ErrorCode) -> Self {
        let message = code.default_message();
        Self::new(code, message)
    }

    /// Adds an extra element.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    /// Sets the resource.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// `500 InternalError`, for failures that are never the client's.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }
}

impl From<InvalidValue> for S3Error {
    fn from(v: InvalidValue) -> Self {
        S3Error::new(v.code, v.message)
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for S3Error {}

/// Who is asking: an authenticated principal or anyone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A request without a signature.
    Anonymous,
    /// A request signed with a known access key; `id` is the owner id objects and buckets show.
    User {
        /// The canonical user id.
        id: String,
        /// The display name.
        display_name: String,
    },
}

/// The standard HTTP attributes stored with an object and returned on GET and HEAD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentHeaders {
    /// `Content-Type` (the engine stores `binary/octet-stream` when absent).
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Encoding`, with any `aws-chunked` token removed.
    pub content_encoding: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Expires`, as sent.
    pub expires: Option<String>,
}

/// An access-control request: a canned ACL, explicit grants, or neither.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AclRequest {
    /// The canned ACL header.
    pub canned: Option<CannedAcl>,
    /// Grant headers, by permission.
    pub grants: Vec<(Permission, Vec<Grantee>)>,
}

impl AclRequest {
    /// Whether the request sets nothing.
    pub fn is_empty(&self) -> bool {
        self.canned.is_none() && self.grants.is_empty()
    }
}

/// Everything a writer sets on a new object (PutObject, CreateMultipartUpload, CopyObject with
/// `REPLACE`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectAttributes {
    /// The content headers.
    pub content: ContentHeaders,
    /// User metadata.
    pub metadata: UserMetadata,
    /// The storage class, in the request dialect's spelling.
    pub storage_class: Option<StorageClass>,
    /// The ACL.
    pub acl: AclRequest,
    /// The tag set (`x-*-tagging`).
    pub tagging: Option<TagSet>,
    /// Server-side encryption.
    pub sse: Option<SseRequest>,
    /// OBS/AWS website redirect.
    pub website_redirect: Option<WebsiteRedirectLocation>,
    /// The additional checksum algorithm (`x-amz-checksum-algorithm`).
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// The multipart checksum type (`x-amz-checksum-type`).
    pub checksum_type: Option<ChecksumType>,
}

/// Conditional headers of a read or a write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `If-Match`: ETags, or `*`.
    pub if_match: Option<Vec<EtagCondition>>,
    /// `If-None-Match`: ETags, or `*`.
    pub if_none_match: Option<Vec<EtagCondition>>,
    /// `If-Modified-Since`, unix seconds.
    pub if_modified_since: Option<u64>,
    /// `If-Unmodified-Since`, unix seconds.
    pub if_unmodified_since: Option<u64>,
}

/// One entry of an `If-Match`/`If-None-Match` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EtagCondition {
    /// `*`: any current object.
    Any,
    /// A specific tag.
    Tag(ETag),
}

/// `response-*` query overrides of a GET.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseOverrides {
    /// `response-content-type`.
    pub content_type: Option<String>,
    /// `response-content-language`.
    pub content_language: Option<String>,
    /// `response-expires`.
    pub expires: Option<String>,
    /// `response-cache-control`.
    pub cache_control: Option<String>,
    /// `response-content-disposition`.
    pub content_disposition: Option<String>,
    /// `response-content-encoding`.
    pub content_encoding: Option<String>,
}

/// The copy source of CopyObject and UploadPartCopy (`x-*-copy-source`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopySource {
    /// Source bucket.
    pub bucket: BucketName,
    /// Source key.
    pub key: ObjectKey,
    /// `versionId` of the source, if named (only `null` can exist here).
    pub version_id: Option<String>,
    /// `x-*-copy-source-if-*`.
    pub conditions: Conditions,
    /// SSE-C key of the source (`x-*-copy-source-server-side-encryption-customer-*`).
    pub sse_customer: Option<SseRequest>,
}

/// Whether CopyObject keeps the source's metadata or replaces it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MetadataDirective {
    /// Keep the source's metadata (the default).
    #[default]
    Copy,
    /// Use the request's.
    Replace,
}

/// One part named in CompleteMultipartUpload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedPart {
    /// The part number.
    pub part_number: PartNumber,
    /// The ETag the client got for it.
    pub etag: ETag,
    /// Checksums the client lists for the part.
    pub checksums: Vec<Checksum>,
}

/// Paging and filtering of a listing of keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyListing {
    /// Only keys beginning with this.
    pub prefix: Option<String>,
    /// Roll keys up to common prefixes at this delimiter.
    pub delimiter: Option<String>,
    /// Most entries to return (default 1000, capped at 1000).
    pub max_keys: Option<u32>,
    /// Whether the client asked for `encoding-type=url`.
    pub encoding_url: bool,
}

/// What a request asks for. One variant per S3 operation Tessera serves.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Operation {
    // ----- service
    /// `GET /`.
    ListBuckets,

    // ----- buckets
    /// `PUT /bucket`.
    CreateBucket {
        /// The bucket.
        bucket: BucketName,
        /// `LocationConstraint` from the body, if any.
        location: Option<String>,
        /// The bucket ACL.
        acl: AclRequest,
    },
    /// `DELETE /bucket`.
    DeleteBucket {
        /// The bucket.
        bucket: BucketName,
    },
    /// `HEAD /bucket`.
    HeadBucket {
        /// The bucket.
        bucket: BucketName,
    },
    /// `GET /bucket?location`.
    GetBucketLocation {
        /// The bucket.
        bucket: BucketName,
    },
    /// `GET /bucket` and `GET /bucket?list-type=2`.
    ListObjects {
        /// The bucket.
        bucket: BucketName,
        /// Prefix, delimiter, page size, encoding.
        listing: KeyListing,
        /// V1 `marker` or V2 `start-after`.
        start_after: Option<String>,
        /// V2 `continuation-token`.
        continuation_token: Option<String>,
        /// Whether this is ListObjectsV2.
        v2: bool,
        /// V2 `fetch-owner` (V1 always shows owners).
        fetch_owner: bool,
    },
    /// `GET /bucket?versions` (Tessera keeps one version per key: the answer is unversioned).
    ListObjectVersions {
        /// The bucket.
        bucket: BucketName,
        /// Prefix, delimiter, page size, encoding.
        listing: KeyListing,
        /// `key-marker`.
        key_marker: Option<String>,
    },
    /// `GET /bucket?uploads`.
    ListMultipartUploads {
        /// The bucket.
        bucket: BucketName,
        /// Prefix, delimiter, page size (`max-uploads`), encoding.
        listing: KeyListing,
        /// `key-marker`.
        key_marker: Option<String>,
        /// `upload-id-marker`.
        upload_id_marker: Option<String>,
    },
    /// `GET /bucket?lifecycle`.
    GetBucketLifecycle {
        /// The bucket.
        bucket: BucketName,
    },
    /// `PUT /bucket?lifecycle` (body: LifecycleConfiguration).
    PutBucketLifecycle {
        /// The bucket.
        bucket: BucketName,
    },
    /// `DELETE /bucket?lifecycle`.
    DeleteBucketLifecycle {
        /// The bucket.
        bucket: BucketName,
    },
    /// `GET /bucket?encryption`.
    GetBucketEncryption {
        /// The bucket.
        bucket: BucketName,
    },
    /// `PUT /bucket?encryption` (body: ServerSideEncryptionConfiguration).
    PutBucketEncryption {
        /// The bucket.
        bucket: BucketName,
    },
    /// `DELETE /bucket?encryption`.
    DeleteBucketEncryption {
        /// The bucket.
        bucket: BucketName,
    },
    /// `GET /bucket?acl`.
    GetBucketAcl {
        /// The bucket.
        bucket: BucketName,
    },
    /// `PUT /bucket?acl` (headers or an AccessControlPolicy body).
    PutBucketAcl {
        /// The bucket.
        bucket: BucketName,
        /// Header form; empty when the body carries the policy.
        acl: AclRequest,
    },
    /// `POST /bucket?delete` (body: Delete).
    DeleteObjects {
        /// The bucket.
        bucket: BucketName,
    },

    // ----- objects
    /// `PUT /bucket/key`.
    PutObject {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// Attributes of the new object.
        attributes: ObjectAttributes,
        /// Conditional write (`If-None-Match: *`, `If-Match`).
        conditions: Conditions,
        /// OSS `x-oss-forbid-overwrite: true`.
        forbid_overwrite: bool,
        /// The decoded body length.
        content_length: u64,
        /// The body came with `Transfer-Encoding: chunked` and no declared length (oss2 sends
        /// bodies so; accepted in every dialect but AWS): `content_length` is then 0 and says
        /// nothing — count the bytes as they stream and stop at 5 GiB.
        length_unknown: bool,
    },
    /// `GET /bucket/key`.
    GetObject {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// `Range`, when valid.
        range: Option<ByteRange>,
        /// `partNumber`.
        part_number: Option<PartNumber>,
        /// Conditional read.
        conditions: Conditions,
        /// `response-*` overrides.
        overrides: ResponseOverrides,
        /// SSE-C key to read an SSE-C object.
        sse_customer: Option<SseRequest>,
    },
    /// `HEAD /bucket/key`.
    HeadObject {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// `Range`, when valid.
        range: Option<ByteRange>,
        /// `partNumber`.
        part_number: Option<PartNumber>,
        /// Conditional read.
        conditions: Conditions,
        /// SSE-C key to read an SSE-C object.
        sse_customer: Option<SseRequest>,
    },
    /// `DELETE /bucket/key`.
    DeleteObject {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// Conditional delete (`If-Match`).
        conditions: Conditions,
    },
    /// `PUT /bucket/key` with `x-*-copy-source`.
    CopyObject {
        /// Destination bucket.
        bucket: BucketName,
        /// Destination key.
        key: ObjectKey,
        /// The source.
        source: CopySource,
        /// `x-*-metadata-directive`.
        metadata_directive: MetadataDirective,
        /// `x-*-tagging-directive` is REPLACE.
        replace_tagging: bool,
        /// Attributes for the new object (used per the directives).
        attributes: ObjectAttributes,
        /// Conditional write on the destination.
        conditions: Conditions,
        /// OSS `x-oss-forbid-overwrite: true`.
        forbid_overwrite: bool,
    },
    /// `GET /bucket/key?tagging`.
    GetObjectTagging {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
    },
    /// `PUT /bucket/key?tagging` (body: Tagging).
    PutObjectTagging {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
    },
    /// `DELETE /bucket/key?tagging`.
    DeleteObjectTagging {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
    },
    /// `GET /bucket/key?acl`.
    GetObjectAcl {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
    },
    /// `PUT /bucket/key?acl` (headers or an AccessControlPolicy body).
    PutObjectAcl {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// Header form; empty when the body carries the policy.
        acl: AclRequest,
    },
    /// `GET /bucket/key?attributes`.
    GetObjectAttributes {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// `x-amz-object-attributes`, as sent (`ETag`, `Checksum`, `ObjectParts`, …).
        attributes: Vec<String>,
        /// `x-amz-max-parts`.
        max_parts: Option<u32>,
        /// `x-amz-part-number-marker`.
        part_number_marker: Option<u32>,
        /// SSE-C key.
        sse_customer: Option<SseRequest>,
    },

    // ----- multipart
    /// `POST /bucket/key?uploads`.
    CreateMultipartUpload {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// Attributes the completed object will have.
        attributes: ObjectAttributes,
        /// OSS `x-oss-forbid-overwrite: true`.
        forbid_overwrite: bool,
        /// `encoding-type=url`.
        encoding_url: bool,
    },
    /// `PUT /bucket/key?partNumber=N&uploadId=…`.
    UploadPart {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// The upload.
        upload_id: UploadId,
        /// The part number.
        part_number: PartNumber,
        /// The decoded body length.
        content_length: u64,
        /// As in [`Operation::PutObject`]: no declared length, count the bytes.
        length_unknown: bool,
        /// SSE request headers sent with the part (SSE-C must repeat the initiate's key; OSS
        /// refuses any).
        sse: Option<SseRequest>,
    },
    /// `PUT /bucket/key?partNumber=N&uploadId=…` with `x-*-copy-source`.
    UploadPartCopy {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// The upload.
        upload_id: UploadId,
        /// The part number.
        part_number: PartNumber,
        /// The source.
        source: CopySource,
        /// `x-*-copy-source-range: bytes=a-b`.
        source_range: Option<(u64, u64)>,
        /// SSE-C key of the destination upload.
        sse: Option<SseRequest>,
    },
    /// `POST /bucket/key?uploadId=…` (body: CompleteMultipartUpload).
    CompleteMultipartUpload {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// The upload.
        upload_id: UploadId,
        /// Conditional write (`If-None-Match: *`, `If-Match`).
        conditions: Conditions,
        /// OSS `x-oss-forbid-overwrite: true`.
        forbid_overwrite: bool,
        /// `encoding-type=url`.
        encoding_url: bool,
        /// OSS `x-oss-complete-all: yes`: complete with every uploaded part, no body.
        complete_all: bool,
    },
    /// `DELETE /bucket/key?uploadId=…`.
    AbortMultipartUpload {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// The upload.
        upload_id: UploadId,
    },
    /// `GET /bucket/key?uploadId=…`.
    ListParts {
        /// The bucket.
        bucket: BucketName,
        /// The key.
        key: ObjectKey,
        /// The upload.
        upload_id: UploadId,
        /// `part-number-marker`.
        part_number_marker: Option<u32>,
        /// `max-parts`.
        max_parts: Option<u32>,
        /// `encoding-type=url`.
        encoding_url: bool,
    },
}

/// The server-side encryption an object or upload has, as responses report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SseResponse {
    /// Server-managed keys.
    S3,
    /// KMS, with the key id used.
    Kms {
        /// The master key id.
        key_id: String,
    },
    /// Customer key: only its MD5 is ever reported.
    Customer {
        /// Base64 MD5 of the customer key.
        key_md5: String,
    },
}

/// What GET and HEAD report about an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHead {
    /// Size of the whole object.
    pub size: u64,
    /// The ETag.
    pub etag: ETag,
    /// Last modification time.
    pub last_modified: Timestamp,
    /// Stored content headers (content type defaulted).
    pub content: ContentHeaders,
    /// User metadata.
    pub metadata: UserMetadata,
    /// Storage class, if not the dialect's default.
    pub storage_class: Option<StorageClass>,
    /// Encryption.
    pub sse: Option<SseResponse>,
    /// Number of tags.
    pub tag_count: usize,
    /// CRC-64/ECMA of the whole object (the vendors' crc64ecma header).
    pub crc64ecma: u64,
    /// Additional checksum, when the object has one, with its type.
    pub checksum: Option<(Checksum, ChecksumType)>,
    /// Part count of a multipart object.
    pub parts_count: Option<u32>,
    /// Website redirect.
    pub website_redirect: Option<String>,
}

/// The result of an [`Operation`], body-free except for object data, which travels beside it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// `200` with no body (DeleteBucket answers `204`: see [`Output::NoContent`]).
    Ok,
    /// `204` with no body.
    NoContent,
    /// An XML document to send with `200`.
    Xml(Document),
    /// HeadBucket: `200` with the bucket's region.
    BucketHead {
        /// The bucket's region.
        region: String,
    },
    /// CreateBucket: `200` with a `Location`.
    BucketCreated {
        /// `/bucket`.
        location: String,
    },
    /// PutObject or a completed copy: ETag and what the object got.
    ObjectWritten {
        /// The ETag.
        etag: ETag,
        /// CRC-64/ECMA of the object.
        crc64ecma: u64,
        /// Additional checksum.
        checksum: Option<Checksum>,
        /// Encryption.
        sse: Option<SseResponse>,
        /// Result document (CopyObject only).
        document: Option<Document>,
    },
    /// UploadPart / UploadPartCopy.
    PartWritten {
        /// The part's ETag.
        etag: ETag,
        /// CRC-64/ECMA of the part.
        crc64ecma: u64,
        /// Additional checksum of the part.
        checksum: Option<Checksum>,
        /// Encryption.
        sse: Option<SseResponse>,
        /// Result document (UploadPartCopy only).
        document: Option<Document>,
    },
    /// CreateMultipartUpload / CompleteMultipartUpload: a document plus headers.
    Multipart {
        /// The result document.
        document: Document,
        /// CRC-64/ECMA of the completed object (Complete only).
        crc64ecma: Option<u64>,
        /// Encryption.
        sse: Option<SseResponse>,
        /// Additional checksum algorithm (Create only).
        checksum_algorithm: Option<ChecksumAlgorithm>,
    },
    /// GET and HEAD of an object: the head, the range served, and whether a body follows.
    Object {
        /// What to report.
        head: ObjectHead,
        /// The range served (`206`), if any.
        range: Option<ResolvedRange>,
        /// `response-*` overrides.
        overrides: ResponseOverrides,
    },
    /// A conditional GET/HEAD found nothing new: `304`.
    NotModified {
        /// ETag of the current object.
        etag: ETag,
        /// Last modification time.
        last_modified: Timestamp,
    },
    /// OBS's `HEAD /?apiversion` preflight: `200` with `x-obs-api: 3.0`.
    ObsApiVersion,
}

macro_rules! documents {
    ($($name:ident),* $(,)?) => {
        /// Every result document an [`Output`] may carry.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Document {
            $(
                #[doc = concat!("`<", stringify!($name), ">`.")]
                $name(xml::$name),
            )*
        }

        impl Document {
            /// The document written as `dialect` writes it.
            pub fn to_xml(&self, dialect: crate::Dialect) -> Vec<u8> {
                match self {
                    $( Document::$name(doc) => xml::to_xml(doc, dialect), )*
                }
            }
        }

        $(
            impl From<xml::$name> for Document {
                fn from(doc: xml::$name) -> Self {
                    Document::$name(doc)
                }
            }
        )*
    };
}

documents!(
    InitiateMultipartUploadResult,
    CompleteMultipartUploadResult,
    ListPartsResult,
    ListMultipartUploadsResult,
    CopyPartResult,
    CopyObjectResult,
    ListBucketResult,
    ListBucketResultV2,
    ListVersionsResult,
    ListAllMyBucketsResult,
    DeleteResult,
    Tagging,
    AccessControlPolicy,
    LocationConstraint,
    LifecycleConfiguration,
    ServerSideEncryptionConfiguration,
    GetObjectAttributesOutput,
);
