//! Object and bucket listings, deletes, copies and attributes.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::multipart::MAX_LISTING_ENTRIES;
use super::{XmlDocument, XmlError, cap, decode_field, decode_opt, encode_field, encode_opt, wrapped_list};
use crate::encoding::EncodingType;
use crate::values::Timestamp;
use crate::{Dialect, ETag, PartNumber};

/// Most keys one `<Delete>` request may name.
pub const MAX_DELETE_OBJECTS: usize = 1000;

/// `<Owner>` / `<Initiator>`: a canonical user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The canonical user id.
    #[serde(rename = "ID", skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    /// The display name.
    #[serde(rename = "DisplayName", skip_serializing_if = "Option::is_none", default)]
    pub display_name: Option<String>,
}

/// `<CommonPrefixes><Prefix>…</Prefix></CommonPrefixes>`: keys rolled up by a delimiter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommonPrefix {
    /// The prefix, up to and including the delimiter.
    #[serde(rename = "Prefix")]
    pub prefix: String,
}

/// One object in a `<ListBucketResult>` (`<Contents>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// When the object was written.
    #[serde(rename = "LastModified")]
    pub last_modified: Timestamp,
    /// The object's ETag.
    #[serde(rename = "ETag")]
    pub etag: ETag,
    /// The object's size in bytes.
    #[serde(rename = "Size")]
    pub size: u64,
    /// The object's storage class.
    #[serde(rename = "StorageClass", skip_serializing_if = "Option::is_none", default)]
    pub storage_class: Option<String>,
    /// The owner, when asked for (`fetch-owner=true` in V2; always in V1).
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<Owner>,
    /// The additional checksum algorithms of the object.
    #[serde(rename = "ChecksumAlgorithm", default)]
    pub checksum_algorithm: Vec<String>,
    /// `COMPOSITE` or `FULL_OBJECT`.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none", default)]
    pub checksum_type: Option<String>,
}

impl ObjectEntry {
    /// An entry with no owner or checksum information.
    pub fn new(key: impl Into<String>, last_modified: Timestamp, etag: ETag, size: u64) -> Self {
        ObjectEntry {
            key: key.into(),
            last_modified,
            etag,
            size,
            storage_class: None,
            owner: None,
            checksum_algorithm: Vec::new(),
            checksum_type: None,
        }
    }
}

/// `<ListBucketResult>` of ListObjects (version 1, marker-paged).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListBucketResult {
    /// The bucket.
    #[serde(rename = "Name")]
    pub name: String,
    /// The prefix asked for.
    #[serde(rename = "Prefix", default)]
    pub prefix: String,
    /// The marker this page starts after.
    #[serde(rename = "Marker", default)]
    pub marker: String,
    /// Where the next page starts (only with a delimiter, as S3 does).
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none", default)]
    pub next_marker: Option<String>,
    /// The page size asked for.
    #[serde(rename = "MaxKeys", default)]
    pub max_keys: u32,
    /// The delimiter asked for.
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none", default)]
    pub delimiter: Option<String>,
    /// Whether more keys follow.
    #[serde(rename = "IsTruncated", default)]
    pub is_truncated: bool,
    /// Present when the request asked for `encoding-type=url`.
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none", default)]
    pub encoding_type: Option<EncodingType>,
    /// The objects on this page.
    #[serde(rename = "Contents", default)]
    pub contents: Vec<ObjectEntry>,
    /// Keys rolled up by the delimiter.
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

impl XmlDocument for ListBucketResult {
    const ROOT: &'static str = "ListBucketResult";

    fn to_wire(&self, _: Dialect) -> Cow<'_, Self> {
        if self.encoding_type.is_none() {
            return Cow::Borrowed(self);
        }
        let mut doc = self.clone();
        encode_field(&mut doc.prefix);
        encode_field(&mut doc.marker);
        encode_opt(&mut doc.next_marker);
        encode_opt(&mut doc.delimiter);
        doc.contents.iter_mut().for_each(|o| encode_field(&mut o.key));
        doc.common_prefixes.iter_mut().for_each(|p| encode_field(&mut p.prefix));
        Cow::Owned(doc)
    }

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.contents, "Contents", MAX_LISTING_ENTRIES)?;
        cap(&self.common_prefixes, "CommonPrefixes", MAX_LISTING_ENTRIES)?;
        if self.encoding_type.is_some() {
            decode_field(&mut self.prefix)?;
            decode_field(&mut self.marker)?;
            decode_opt(&mut self.next_marker)?;
            decode_opt(&mut self.delimiter)?;
            for o in &mut self.contents {
                decode_field(&mut o.key)?;
            }
            for p in &mut self.common_prefixes {
                decode_field(&mut p.prefix)?;
            }
        }
        Ok(())
    }
}

/// `<ListBucketResult>` of ListObjectsV2 (continuation-token-paged). Same root as version 1:
/// the caller knows which it asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListBucketResultV2 {
    /// The bucket.
    #[serde(rename = "Name")]
    pub name: String,
    /// The prefix asked for.
    #[serde(rename = "Prefix", default)]
    pub prefix: String,
    /// The `continuation-token` this page continues from.
    #[serde(rename = "ContinuationToken", skip_serializing_if = "Option::is_none", default)]
    pub continuation_token: Option<String>,
    /// The token for the next page, when truncated.
    #[serde(rename = "NextContinuationToken", skip_serializing_if = "Option::is_none", default)]
    pub next_continuation_token: Option<String>,
    /// The `start-after` asked for.
    #[serde(rename = "StartAfter", skip_serializing_if = "Option::is_none", default)]
    pub start_after: Option<String>,
    /// Keys plus common prefixes on this page.
    #[serde(rename = "KeyCount", default)]
    pub key_count: u32,
    /// The page size asked for.
    #[serde(rename = "MaxKeys", default)]
    pub max_keys: u32,
    /// The delimiter asked for.
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none", default)]
    pub delimiter: Option<String>,
    /// Whether more keys follow.
    #[serde(rename = "IsTruncated", default)]
    pub is_truncated: bool,
    /// Present when the request asked for `encoding-type=url`.
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none", default)]
    pub encoding_type: Option<EncodingType>,
    /// The objects on this page.
    #[serde(rename = "Contents", default)]
    pub contents: Vec<ObjectEntry>,
    /// Keys rolled up by the delimiter.
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

impl XmlDocument for ListBucketResultV2 {
    const ROOT: &'static str = "ListBucketResult";

    fn to_wire(&self, _: Dialect) -> Cow<'_, Self> {
        if self.encoding_type.is_none() {
            return Cow::Borrowed(self);
        }
        let mut doc = self.clone();
        encode_field(&mut doc.prefix);
        encode_opt(&mut doc.start_after);
        encode_opt(&mut doc.delimiter);
        doc.contents.iter_mut().for_each(|o| encode_field(&mut o.key));
        doc.common_prefixes.iter_mut().for_each(|p| encode_field(&mut p.prefix));
        Cow::Owned(doc)
    }

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.contents, "Contents", MAX_LISTING_ENTRIES)?;
        cap(&self.common_prefixes, "CommonPrefixes", MAX_LISTING_ENTRIES)?;
        if self.encoding_type.is_some() {
            decode_field(&mut self.prefix)?;
            decode_opt(&mut self.start_after)?;
            decode_opt(&mut self.delimiter)?;
            for o in &mut self.contents {
                decode_field(&mut o.key)?;
            }
            for p in &mut self.common_prefixes {
                decode_field(&mut p.prefix)?;
            }
        }
        Ok(())
    }
}

/// A `<Version>` or `<DeleteMarker>` in a `<ListVersionsResult>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// The version id (`null` for the unversioned version).
    #[serde(rename = "VersionId")]
    pub version_id: String,
    /// Whether this is the current version.
    #[serde(rename = "IsLatest")]
    pub is_latest: bool,
    /// When the version was written.
    #[serde(rename = "LastModified")]
    pub last_modified: Timestamp,
    /// The version's ETag (absent on delete markers).
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none", default)]
    pub etag: Option<ETag>,
    /// The version's size (absent on delete markers).
    #[serde(rename = "Size", skip_serializing_if = "Option::is_none", default)]
    pub size: Option<u64>,
    /// The version's storage class (absent on delete markers).
    #[serde(rename = "StorageClass", skip_serializing_if = "Option::is_none", default)]
    pub storage_class: Option<String>,
    /// The owner.
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<Owner>,
}

/// An entry of a version listing, in key order: versions and delete markers interleave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionListEntry {
    /// `<Version>`.
    Version(VersionEntry),
    /// `<DeleteMarker>`.
    DeleteMarker(VersionEntry),
}

impl VersionListEntry {
    /// The entry, whichever kind it is.
    pub fn entry(&self) -> &VersionEntry {
        match self {
            VersionListEntry::Version(v) | VersionListEntry::DeleteMarker(v) => v,
        }
    }

    fn entry_mut(&mut self) -> &mut VersionEntry {
        match self {
            VersionListEntry::Version(v) | VersionListEntry::DeleteMarker(v) => v,
        }
    }
}

/// `<ListVersionsResult>` of ListObjectVersions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListVersionsResult {
    /// The bucket.
    #[serde(rename = "Name")]
    pub name: String,
    /// The prefix asked for.
    #[serde(rename = "Prefix", default)]
    pub prefix: String,
    /// The key marker this page starts after.
    #[serde(rename = "KeyMarker", default)]
    pub key_marker: String,
    /// The version-id marker this page starts after.
    #[serde(rename = "VersionIdMarker", default)]
    pub version_id_marker: String,
    /// Where the next page starts, when truncated.
    #[serde(rename = "NextKeyMarker", skip_serializing_if = "Option::is_none", default)]
    pub next_key_marker: Option<String>,
    /// Where the next page starts, when truncated.
    #[serde(rename = "NextVersionIdMarker", skip_serializing_if = "Option::is_none", default)]
    pub next_version_id_marker: Option<String>,
    /// The page size asked for.
    #[serde(rename = "MaxKeys", default)]
    pub max_keys: u32,
    /// The delimiter asked for.
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none", default)]
    pub delimiter: Option<String>,
    /// Whether more entries follow.
    #[serde(rename = "IsTruncated", default)]
    pub is_truncated: bool,
    /// Present when the request asked for `encoding-type=url`.
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none", default)]
    pub encoding_type: Option<EncodingType>,
    /// Versions and delete markers, in key order.
    #[serde(rename = "$value", default)]
    pub entries: Vec<VersionListEntry>,
    /// Keys rolled up by the delimiter.
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

impl XmlDocument for ListVersionsResult {
    const ROOT: &'static str = "ListVersionsResult";

    fn to_wire(&self, _: Dialect) -> Cow<'_, Self> {
        if self.encoding_type.is_none() {
            return Cow::Borrowed(self);
        }
        let mut doc = self.clone();
        encode_field(&mut doc.prefix);
        encode_field(&mut doc.key_marker);
        encode_opt(&mut doc.next_key_marker);
        encode_opt(&mut doc.delimiter);
        doc.entries.iter_mut().for_each(|e| encode_field(&mut e.entry_mut().key));
        doc.common_prefixes.iter_mut().for_each(|p| encode_field(&mut p.prefix));
        Cow::Owned(doc)
    }

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.entries, "Version", MAX_LISTING_ENTRIES)?;
        cap(&self.common_prefixes, "CommonPrefixes", MAX_LISTING_ENTRIES)?;
        if self.encoding_type.is_some() {
            decode_field(&mut self.prefix)?;
            decode_field(&mut self.key_marker)?;
            decode_opt(&mut self.next_key_marker)?;
            decode_opt(&mut self.delimiter)?;
            for e in &mut self.entries {
                decode_field(&mut e.entry_mut().key)?;
            }
            for p in &mut self.common_prefixes {
                decode_field(&mut p.prefix)?;
            }
        }
        Ok(())
    }
}

/// One bucket in `<ListAllMyBucketsResult>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketEntry {
    /// The bucket's name.
    #[serde(rename = "Name")]
    pub name: String,
    /// When the bucket was created.
    #[serde(rename = "CreationDate")]
    pub creation_date: Timestamp,
    /// The bucket's region.
    #[serde(rename = "BucketRegion", skip_serializing_if = "Option::is_none", default)]
    pub bucket_region: Option<String>,
}

wrapped_list!(bucket_list, "Bucket", BucketEntry);

/// `<ListAllMyBucketsResult>` of ListBuckets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAllMyBucketsResult {
    /// The caller.
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<Owner>,
    /// The buckets (`<Buckets><Bucket>…</Bucket></Buckets>`).
    #[serde(rename = "Buckets", with = "bucket_list", default)]
    pub buckets: Vec<BucketEntry>,
    /// The token for the next page, when paged.
    #[serde(rename = "ContinuationToken", skip_serializing_if = "Option::is_none", default)]
    pub continuation_token: Option<String>,
    /// The prefix asked for.
    #[serde(rename = "Prefix", skip_serializing_if = "Option::is_none", default)]
    pub prefix: Option<String>,
}

impl XmlDocument for ListAllMyBucketsResult {
    const ROOT: &'static str = "ListAllMyBucketsResult";

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.buckets, "Bucket", MAX_LISTING_ENTRIES)
    }
}

/// One key in a `<Delete>` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectIdentifier {
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// The version to delete.
    #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none", default)]
    pub version_id: Option<String>,
}

/// `<Delete>`: the DeleteObjects request. At most 1000 objects (more is `MalformedXML`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delete {
    /// Only report errors.
    #[serde(rename = "Quiet", skip_serializing_if = "Option::is_none", default)]
    pub quiet: Option<bool>,
    /// The keys to delete.
    #[serde(rename = "Object", default)]
    pub objects: Vec<ObjectIdentifier>,
}

impl XmlDocument for Delete {
    const ROOT: &'static str = "Delete";

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.objects, "Object", MAX_DELETE_OBJECTS)
    }
}

/// A `<Deleted>` entry of `<DeleteResult>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedObject {
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// The version deleted.
    #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none", default)]
    pub version_id: Option<String>,
    /// Whether a delete marker was involved.
    #[serde(rename = "DeleteMarker", skip_serializing_if = "Option::is_none", default)]
    pub delete_marker: Option<bool>,
    /// The delete marker's version.
    #[serde(rename = "DeleteMarkerVersionId", skip_serializing_if = "Option::is_none", default)]
    pub delete_marker_version_id: Option<String>,
}

/// An `<Error>` entry of `<DeleteResult>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteError {
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// The version.
    #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none", default)]
    pub version_id: Option<String>,
    /// The error code.
    #[serde(rename = "Code")]
    pub code: String,
    /// The error message.
    #[serde(rename = "Message", default)]
    pub message: String,
}

/// Either kind of `<DeleteResult>` entry; S3 may interleave them.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum DeleteResultEntry {
    Deleted(DeletedObject),
    Error(DeleteError),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct DeleteResultWire {
    #[serde(rename = "$value", default)]
    entries: Vec<DeleteResultEntry>,
}

/// `<DeleteResult>`: the answer to DeleteObjects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "DeleteResultWire", into = "DeleteResultWire")]
pub struct DeleteResult {
    /// Keys deleted (omitted in quiet mode).
    pub deleted: Vec<DeletedObject>,
    /// Keys that could not be deleted.
    pub errors: Vec<DeleteError>,
}

impl From<DeleteResultWire> for DeleteResult {
    fn from(wire: DeleteResultWire) -> Self {
        let mut out = DeleteResult::default();
        for entry in wire.entries {
            match entry {
                DeleteResultEntry::Deleted(d) => out.deleted.push(d),
                DeleteResultEntry::Error(e) => out.errors.push(e),
            }
        }
        out
    }
}

impl From<DeleteResult> for DeleteResultWire {
    fn from(r: DeleteResult) -> Self {
        let entries = r
            .deleted
            .into_iter()
            .map(DeleteResultEntry::Deleted)
            .chain(r.errors.into_iter().map(DeleteResultEntry::Error))
            .collect();
        DeleteResultWire { entries }
    }
}

impl XmlDocument for DeleteResult {
    const ROOT: &'static str = "DeleteResult";

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.deleted, "Deleted", MAX_DELETE_OBJECTS)?;
        cap(&self.errors, "Error", MAX_DELETE_OBJECTS)
    }
}

/// `<CopyObjectResult>`: the answer to CopyObject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyObjectResult {
    /// When the copy was written.
    #[serde(rename = "LastModified")]
    pub last_modified: Timestamp,
    /// The copy's ETag.
    #[serde(rename = "ETag")]
    pub etag: ETag,
    /// `COMPOSITE` or `FULL_OBJECT`.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none", default)]
    pub checksum_type: Option<String>,
    /// Base64 CRC-32 of the object.
    #[serde(rename = "ChecksumCRC32", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc32: Option<String>,
    /// Base64 CRC-32C of the object.
    #[serde(rename = "ChecksumCRC32C", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc32c: Option<String>,
    /// Base64 CRC-64/NVME of the object.
    #[serde(rename = "ChecksumCRC64NVME", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc64nvme: Option<String>,
    /// Base64 SHA-1 of the object.
    #[serde(rename = "ChecksumSHA1", skip_serializing_if = "Option::is_none", default)]
    pub checksum_sha1: Option<String>,
    /// Base64 SHA-256 of the object.
    #[serde(rename = "ChecksumSHA256", skip_serializing_if = "Option::is_none", default)]
    pub checksum_sha256: Option<String>,
}

impl CopyObjectResult {
    /// A result with no checksum information.
    pub fn new(last_modified: Timestamp, etag: ETag) -> Self {
        CopyObjectResult {
            last_modified,
            etag,
            checksum_type: None,
            checksum_crc32: None,
            checksum_crc32c: None,
            checksum_crc64nvme: None,
            checksum_sha1: None,
            checksum_sha256: None,
        }
    }
}

impl XmlDocument for CopyObjectResult {
    const ROOT: &'static str = "CopyObjectResult";
}

/// `<Checksum>` of GetObjectAttributes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetObjectAttributesChecksum {
    /// Base64 CRC-32.
    #[serde(rename = "ChecksumCRC32", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc32: Option<String>,
    /// Base64 CRC-32C.
    #[serde(rename = "ChecksumCRC32C", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc32c: Option<String>,
    /// Base64 CRC-64/NVME.
    #[serde(rename = "ChecksumCRC64NVME", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc64nvme: Option<String>,
    /// Base64 SHA-1.
    #[serde(rename = "ChecksumSHA1", skip_serializing_if = "Option::is_none", default)]
    pub checksum_sha1: Option<String>,
    /// Base64 SHA-256.
    #[serde(rename = "ChecksumSHA256", skip_serializing_if = "Option::is_none", default)]
    pub checksum_sha256: Option<String>,
    /// `COMPOSITE` or `FULL_OBJECT`.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none", default)]
    pub checksum_type: Option<String>,
}

/// One `<Part>` of GetObjectAttributes' `<ObjectParts>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectPart {
    /// The part's number.
    #[serde(rename = "PartNumber")]
    pub part_number: PartNumber,
    /// The part's size.
    #[serde(rename = "Size")]
    pub size: u64,
    /// Base64 CRC-32 of the part.
    #[serde(rename = "ChecksumCRC32", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc32: Option<String>,
    /// Base64 CRC-32C of the part.
    #[serde(rename = "ChecksumCRC32C", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc32c: Option<String>,
    /// Base64 CRC-64/NVME of the part.
    #[serde(rename = "ChecksumCRC64NVME", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc64nvme: Option<String>,
    /// Base64 SHA-1 of the part.
    #[serde(rename = "ChecksumSHA1", skip_serializing_if = "Option::is_none", default)]
    pub checksum_sha1: Option<String>,
    /// Base64 SHA-256 of the part.
    #[serde(rename = "ChecksumSHA256", skip_serializing_if = "Option::is_none", default)]
    pub checksum_sha256: Option<String>,
}

/// `<ObjectParts>` of GetObjectAttributes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetObjectAttributesParts {
    /// Parts in the object.
    #[serde(rename = "TotalPartsCount", skip_serializing_if = "Option::is_none", default)]
    pub total_parts_count: Option<u32>,
    /// The marker this page starts after.
    #[serde(rename = "PartNumberMarker", skip_serializing_if = "Option::is_none", default)]
    pub part_number_marker: Option<u32>,
    /// Where the next page starts, when truncated.
    #[serde(rename = "NextPartNumberMarker", skip_serializing_if = "Option::is_none", default)]
    pub next_part_number_marker: Option<u32>,
    /// The page size asked for.
    #[serde(rename = "MaxParts", skip_serializing_if = "Option::is_none", default)]
    pub max_parts: Option<u32>,
    /// Whether more parts follow.
    #[serde(rename = "IsTruncated", skip_serializing_if = "Option::is_none", default)]
    pub is_truncated: Option<bool>,
    /// The parts on this page.
    #[serde(rename = "Part", default)]
    pub parts: Vec<ObjectPart>,
}

/// `<GetObjectAttributesResponse>`: the answer to GetObjectAttributes. S3 writes this ETag
/// without quotes, and so does Tessera.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetObjectAttributesOutput {
    /// The object's ETag, written unquoted.
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none", serialize_with = "unquoted", default)]
    pub etag: Option<ETag>,
    /// The object's checksum.
    #[serde(rename = "Checksum", skip_serializing_if = "Option::is_none", default)]
    pub checksum: Option<GetObjectAttributesChecksum>,
    /// The object's parts.
    #[serde(rename = "ObjectParts", skip_serializing_if = "Option::is_none", default)]
    pub object_parts: Option<GetObjectAttributesParts>,
    /// The object's storage class.
    #[serde(rename = "StorageClass", skip_serializing_if = "Option::is_none", default)]
    pub storage_class: Option<String>,
    /// The object's size.
    #[serde(rename = "ObjectSize", skip_serializing_if = "Option::is_none", default)]
    pub object_size: Option<u64>,
}

fn unquoted<S: serde::Serializer>(etag: &Option<ETag>, s: S) -> Result<S::Ok, S::Error> {
    match etag {
        Some(e) => s.serialize_str(e.as_str()),
        None => s.serialize_none(),
    }
}

impl XmlDocument for GetObjectAttributesOutput {
    const ROOT: &'static str = "GetObjectAttributesResponse";

    fn finish_read(&mut self) -> Result<(), XmlError> {
        match &self.object_parts {
            Some(p) => cap(&p.parts, "Part", crate::dialect::MAX_PARTS as usize),
            None => Ok(()),
        }
    }
}
