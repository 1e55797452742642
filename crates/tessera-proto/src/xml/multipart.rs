//! The multipart-upload documents.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::plain::Cursor;
use super::{XmlDocument, XmlError, XmlLimits, cap, decode_field, decode_opt, encode_field, encode_opt};
use crate::dialect::MAX_PARTS;
use crate::encoding::EncodingType;
use crate::values::Timestamp;
use crate::xml::objects::{CommonPrefix, Owner};
use crate::{Dialect, ETag, PartNumber};

/// `<InitiateMultipartUploadResult>`: the answer to `POST /key?uploads`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitiateMultipartUploadResult {
    /// The bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The key (encoded on the wire when `encoding_type` is `url`).
    #[serde(rename = "Key")]
    pub key: String,
    /// The new upload's id.
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    /// Present when the request asked for `encoding-type=url` (OSS SDK v2 always does).
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none", default)]
    pub encoding_type: Option<EncodingType>,
}

impl XmlDocument for InitiateMultipartUploadResult {
    const ROOT: &'static str = "InitiateMultipartUploadResult";

    fn to_wire(&self, _: Dialect) -> Cow<'_, Self> {
        if self.encoding_type.is_none() {
            return Cow::Borrowed(self);
        }
        let mut doc = self.clone();
        encode_field(&mut doc.key);
        Cow::Owned(doc)
    }

    fn finish_read(&mut self) -> Result<(), XmlError> {
        if self.encoding_type.is_some() {
            decode_field(&mut self.key)?;
        }
        Ok(())
    }
}

/// One part in a `<CompleteMultipartUpload>` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedPart {
    /// The part's number.
    #[serde(rename = "PartNumber")]
    pub part_number: PartNumber,
    /// The ETag UploadPart answered with.
    #[serde(rename = "ETag")]
    pub etag: ETag,
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
    /// KS3: decimal CRC-64/ECMA-182 of the part.
    #[serde(rename = "ChecksumCRC64ECMA", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc64ecma: Option<String>,
}

impl CompletedPart {
    /// A part with only its number and ETag.
    pub fn new(part_number: PartNumber, etag: ETag) -> Self {
        CompletedPart {
            part_number,
            etag,
            checksum_crc32: None,
            checksum_crc32c: None,
            checksum_crc64nvme: None,
            checksum_sha1: None,
            checksum_sha256: None,
            checksum_crc64ecma: None,
        }
    }
}

/// `<CompleteMultipartUpload>`: the request body listing the parts to assemble. At most
/// 10 000 parts; order and gaps are checked by `tessera-multipart`, not here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteMultipartUpload {
    /// The parts, in the order the client listed them.
    #[serde(rename = "Part", default)]
    pub parts: Vec<CompletedPart>,
}

impl XmlDocument for CompleteMultipartUpload {
    const ROOT: &'static str = "CompleteMultipartUpload";

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.parts, "Part", MAX_PARTS as usize)
    }

    /// The list as SDKs send it, up to 10 000 parts: read in one pass, about ten times faster
    /// than the general reader (which still reads everything else: comments, references,
    /// prefixes, attributes, unknown or repeated elements, padded values).
    fn read_plain(text: &str, limits: XmlLimits) -> Option<Result<Self, XmlError>> {
        let mut c = Cursor::new(text);
        c.declaration()?;
        c.skip_space();
        c.root_start(Self::ROOT)?;
        let mut parts = Vec::new();
        let mut elements = 1usize;
        loop {
            c.skip_space();
            if c.eat("</CompleteMultipartUpload>") {
                break;
            }
            if !c.eat("<Part>") {
                return None;
            }
            let (mut number, mut etag) = (None, None);
            let mut sums: [Option<String>; 6] = Default::default();
            loop {
                c.skip_space();
                if c.eat("</Part>") {
                    break;
                }
                let (name, value) = c.leaf()?;
                elements += 1;
                let slot = match name {
                    "PartNumber" if number.is_none() => {
                        number = Some(value.parse::<PartNumber>().ok()?);
                        continue;
                    }
                    "ETag" if etag.is_none() => {
                        etag = Some(ETag::parse(value).ok()?);
                        continue;
                    }
                    "ChecksumCRC32" => 0,
                    "ChecksumCRC32C" => 1,
                    "ChecksumCRC64NVME" => 2,
                    "ChecksumSHA1" => 3,
                    "ChecksumSHA256" => 4,
                    "ChecksumCRC64ECMA" => 5,
                    _ => return None,
                };
                if sums[slot].replace(value.to_owned()).is_some() {
                    return None;
                }
            }
            let [crc32, crc32c, crc64nvme, sha1, sha256, crc64ecma] = sums;
            let part = CompletedPart {
                part_number: number?,
                etag: etag?,
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_crc64nvme: crc64nvme,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                checksum_crc64ecma: crc64ecma,
            };
            elements += 1;
            parts.push(part);
        }
        c.skip_space();
        if !c.at_end() || elements > limits.max_elements || limits.max_depth < 3 {
            return None;
        }
        let mut doc = CompleteMultipartUpload { parts };
        Some(doc.finish_read().map(|()| doc))
    }
}

/// `<CompleteMultipartUploadResult>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteMultipartUploadResult {
    /// URL of the new object.
    #[serde(rename = "Location", skip_serializing_if = "Option::is_none", default)]
    pub location: Option<String>,
    /// The bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The key (encoded on the wire when `encoding_type` is `url`).
    #[serde(rename = "Key")]
    pub key: String,
    /// The object's ETag (`"…-N"`).
    #[serde(rename = "ETag")]
    pub etag: ETag,
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
    /// `COMPOSITE` or `FULL_OBJECT`.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none", default)]
    pub checksum_type: Option<String>,
    /// KS3: decimal CRC-64/ECMA-182 of the whole object. ks3sdk fails without it.
    #[serde(rename = "ChecksumCRC64ECMA", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc64ecma: Option<String>,
    /// Present when the request asked for `encoding-type=url`.
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none", default)]
    pub encoding_type: Option<EncodingType>,
}

impl XmlDocument for CompleteMultipartUploadResult {
    const ROOT: &'static str = "CompleteMultipartUploadResult";

    fn to_wire(&self, _: Dialect) -> Cow<'_, Self> {
        if self.encoding_type.is_none() {
            return Cow::Borrowed(self);
        }
        let mut doc = self.clone();
        encode_field(&mut doc.key);
        Cow::Owned(doc)
    }

    fn finish_read(&mut self) -> Result<(), XmlError> {
        if self.encoding_type.is_some() {
            decode_field(&mut self.key)?;
        }
        Ok(())
    }
}

/// One part in a `<ListPartsResult>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    /// The part's number.
    #[serde(rename = "PartNumber")]
    pub part_number: PartNumber,
    /// When the part was uploaded.
    #[serde(rename = "LastModified")]
    pub last_modified: Timestamp,
    /// The part's ETag.
    #[serde(rename = "ETag")]
    pub etag: ETag,
    /// The part's size in bytes.
    #[serde(rename = "Size")]
    pub size: u64,
    /// OSS: decimal CRC-64/ECMA-182 of the part (SDK v2 resumes with it).
    #[serde(rename = "HashCrc64ecma", skip_serializing_if = "Option::is_none", default)]
    pub hash_crc64ecma: Option<String>,
    /// KS3: decimal CRC-64/ECMA-182 of the part.
    #[serde(rename = "ChecksumCRC64ECMA", skip_serializing_if = "Option::is_none", default)]
    pub checksum_crc64ecma: Option<String>,
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

impl PartEntry {
    /// A part with no additional checksums.
    pub fn new(part_number: PartNumber, last_modified: Timestamp, etag: ETag, size: u64) -> Self {
        PartEntry {
            part_number,
            last_modified,
            etag,
            size,
            hash_crc64ecma: None,
            checksum_crc64ecma: None,
            checksum_crc32: None,
            checksum_crc32c: None,
            checksum_crc64nvme: None,
            checksum_sha1: None,
            checksum_sha256: None,
        }
    }
}

/// `<ListPartsResult>`: one page of an upload's parts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPartsResult {
    /// The bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The key (encoded on the wire when `encoding_type` is `url`; COS always asks).
    #[serde(rename = "Key")]
    pub key: String,
    /// The upload id.
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    /// Who started the upload.
    #[serde(rename = "Initiator", skip_serializing_if = "Option::is_none", default)]
    pub initiator: Option<Owner>,
    /// Who will own the object.
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<Owner>,
    /// The upload's storage class.
    #[serde(rename = "StorageClass", skip_serializing_if = "Option::is_none", default)]
    pub storage_class: Option<String>,
    /// The `part-number-marker` this page starts after.
    #[serde(rename = "PartNumberMarker", skip_serializing_if = "Option::is_none", default)]
    pub part_number_marker: Option<u32>,
    /// Where the next page starts, when truncated.
    #[serde(rename = "NextPartNumberMarker", skip_serializing_if = "Option::is_none", default)]
    pub next_part_number_marker: Option<u32>,
    /// The page size asked for.
    #[serde(rename = "MaxParts", skip_serializing_if = "Option::is_none", default)]
    pub max_parts: Option<u32>,
    /// Whether more parts follow.
    #[serde(rename = "IsTruncated", default)]
    pub is_truncated: bool,
    /// The additional checksum algorithm of the upload.
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none", default)]
    pub checksum_algorithm: Option<String>,
    /// `COMPOSITE` or `FULL_OBJECT`.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none", default)]
    pub checksum_type: Option<String>,
    /// Present when the request asked for `encoding-type=url`.
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none", default)]
    pub encoding_type: Option<EncodingType>,
    /// The parts on this page, ascending.
    #[serde(rename = "Part", default)]
    pub parts: Vec<PartEntry>,
}

impl XmlDocument for ListPartsResult {
    const ROOT: &'static str = "ListPartsResult";

    fn to_wire(&self, _: Dialect) -> Cow<'_, Self> {
        if self.encoding_type.is_none() {
            return Cow::Borrowed(self);
        }
        let mut doc = self.clone();
        encode_field(&mut doc.key);
        Cow::Owned(doc)
    }

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.parts, "Part", MAX_PARTS as usize)?;
        if self.encoding_type.is_some() {
            decode_field(&mut self.key)?;
        }
        Ok(())
    }
}

/// One upload in a `<ListMultipartUploadsResult>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadEntry {
    /// The key (encoded on the wire when the listing's `encoding_type` is `url`).
    #[serde(rename = "Key")]
    pub key: String,
    /// The upload id.
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    /// Who started the upload.
    #[serde(rename = "Initiator", skip_serializing_if = "Option::is_none", default)]
    pub initiator: Option<Owner>,
    /// Who will own the object.
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<Owner>,
    /// The upload's storage class.
    #[serde(rename = "StorageClass", skip_serializing_if = "Option::is_none", default)]
    pub storage_class: Option<String>,
    /// When the upload was started.
    #[serde(rename = "Initiated")]
    pub initiated: Timestamp,
    /// The additional checksum algorithm of the upload.
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none", default)]
    pub checksum_algorithm: Option<String>,
    /// `COMPOSITE` or `FULL_OBJECT`.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none", default)]
    pub checksum_type: Option<String>,
}

/// `<ListMultipartUploadsResult>`: one page of a bucket's uploads in progress.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMultipartUploadsResult {
    /// The bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The `key-marker` this page starts after.
    #[serde(rename = "KeyMarker", default)]
    pub key_marker: String,
    /// The `upload-id-marker` this page starts after.
    #[serde(rename = "UploadIdMarker", default)]
    pub upload_id_marker: String,
    /// Where the next page starts, when truncated.
    #[serde(rename = "NextKeyMarker", skip_serializing_if = "Option::is_none", default)]
    pub next_key_marker: Option<String>,
    /// Where the next page starts, when truncated.
    #[serde(rename = "NextUploadIdMarker", skip_serializing_if = "Option::is_none", default)]
    pub next_upload_id_marker: Option<String>,
    /// The delimiter asked for.
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none", default)]
    pub delimiter: Option<String>,
    /// The prefix asked for.
    #[serde(rename = "Prefix", skip_serializing_if = "Option::is_none", default)]
    pub prefix: Option<String>,
    /// The page size asked for.
    #[serde(rename = "MaxUploads", skip_serializing_if = "Option::is_none", default)]
    pub max_uploads: Option<u32>,
    /// Whether more uploads follow.
    #[serde(rename = "IsTruncated", default)]
    pub is_truncated: bool,
    /// Present when the request asked for `encoding-type=url` (COS always asks).
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none", default)]
    pub encoding_type: Option<EncodingType>,
    /// The uploads on this page.
    #[serde(rename = "Upload", default)]
    pub uploads: Vec<UploadEntry>,
    /// Keys rolled up by the delimiter.
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

/// Most entries one listing page may carry when read.
pub(crate) const MAX_LISTING_ENTRIES: usize = 10_000;

impl XmlDocument for ListMultipartUploadsResult {
    const ROOT: &'static str = "ListMultipartUploadsResult";

    fn to_wire(&self, _: Dialect) -> Cow<'_, Self> {
        if self.encoding_type.is_none() {
            return Cow::Borrowed(self);
        }
        let mut doc = self.clone();
        encode_field(&mut doc.key_marker);
        encode_opt(&mut doc.next_key_marker);
        encode_opt(&mut doc.delimiter);
        encode_opt(&mut doc.prefix);
        doc.uploads.iter_mut().for_each(|u| encode_field(&mut u.key));
        doc.common_prefixes.iter_mut().for_each(|p| encode_field(&mut p.prefix));
        Cow::Owned(doc)
    }

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.uploads, "Upload", MAX_LISTING_ENTRIES)?;
        cap(&self.common_prefixes, "CommonPrefixes", MAX_LISTING_ENTRIES)?;
        if self.encoding_type.is_some() {
            decode_field(&mut self.key_marker)?;
            decode_opt(&mut self.next_key_marker)?;
            decode_opt(&mut self.delimiter)?;
            decode_opt(&mut self.prefix)?;
            for u in &mut self.uploads {
                decode_field(&mut u.key)?;
            }
            for p in &mut self.common_prefixes {
                decode_field(&mut p.prefix)?;
            }
        }
        Ok(())
    }
}

/// `<CopyPartResult>`: the answer to UploadPartCopy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyPartResult {
    /// When the part was written.
    #[serde(rename = "LastModified")]
    pub last_modified: Timestamp,
    /// The new part's ETag.
    #[serde(rename = "ETag")]
    pub etag: ETag,
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

impl CopyPartResult {
    /// A result with no additional checksums.
    pub fn new(last_modified: Timestamp, etag: ETag) -> Self {
        CopyPartResult {
            last_modified,
            etag,
            checksum_crc32: None,
            checksum_crc32c: None,
            checksum_crc64nvme: None,
            checksum_sha1: None,
            checksum_sha256: None,
        }
    }
}

impl XmlDocument for CopyPartResult {
    const ROOT: &'static str = "CopyPartResult";
}
