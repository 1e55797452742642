//! ListParts and ListMultipartUploads pages, markers included.

use std::ops::Bound;

use tessera_proto::{BucketName, ObjectKey, PartNumber, UploadId};

use crate::record::ChecksumMode;
use crate::table::{IndexEntry, PartInfo, UploadTable};
use crate::{MultipartError, Timestamp};

/// The largest page either listing returns, and the default page size.
pub const MAX_PAGE: u32 = 1000;

/// One page of ListParts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPartsPage {
    /// The upload.
    pub upload_id: UploadId,
    /// The bucket.
    pub bucket: BucketName,
    /// The object key.
    pub key: ObjectKey,
    /// The initiating principal.
    pub owner: String,
    /// The upload's additional checksum.
    pub checksum: Option<ChecksumMode>,
    /// The marker the page starts after (0: from the first part).
    pub part_number_marker: u32,
    /// The marker for the next page: the last part number on this page.
    pub next_part_number_marker: Option<PartNumber>,
    /// The page size used (at most [`MAX_PAGE`]).
    pub max_parts: u32,
    /// Whether more parts follow.
    pub is_truncated: bool,
    /// The parts, ascending.
    pub parts: Vec<PartInfo>,
}

/// The parameters of ListMultipartUploads, as the client sent them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadsQuery<'a> {
    /// Only keys beginning with this.
    pub prefix: &'a str,
    /// Roll keys up to the first occurrence of this after the prefix (empty: none).
    pub delimiter: Option<&'a str>,
    /// Start after this key.
    pub key_marker: Option<&'a str>,
    /// With `key_marker`: start after this upload of that key.
    pub upload_id_marker: Option<&'a str>,
    /// Page size (default and maximum [`MAX_PAGE`]).
    pub max_uploads: Option<u32>,
}

/// One upload as ListMultipartUploads shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSummary {
    /// The object key.
    pub key: ObjectKey,
    /// The upload id.
    pub upload_id: UploadId,
    /// When it was created.
    pub initiated: Timestamp,
    /// The initiating principal.
    pub owner: String,
    /// Its additional checksum.
    pub checksum: Option<ChecksumMode>,
}

/// One page of ListMultipartUploads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadsPage {
    /// The page size used.
    pub max_uploads: u32,
    /// Whether more entries follow.
    pub is_truncated: bool,
    /// With `is_truncated`: the key-marker of the next page.
    pub next_key_marker: Option<String>,
    /// With `is_truncated`: the upload-id-marker of the next page (none after a common prefix).
    pub next_upload_id_marker: Option<UploadId>,
    /// The uploads, ordered by key, then initiation, then id.
    pub uploads: Vec<UploadSummary>,
    /// The common prefixes, ascending (each counts once towards the page size).
    pub common_prefixes: Vec<String>,
}

enum Last<'a> {
    Upload(&'a [u8], &'a str),
    Prefix(String),
}

impl UploadTable {
    /// A ListParts page: parts numbered above `part_number_marker`, at most `max_parts`
    /// (default and cap [`MAX_PAGE`]).
    pub fn list_parts(
        &self,
        id: &UploadId,
        part_number_marker: Option<u32>,
        max_parts: Option<u32>,
    ) -> Result<ListPartsPage, MultipartError> {
        let upload = self.upload(id).ok_or(MultipartError::NoSuchUpload)?;
        let marker = part_number_marker.unwrap_or(0);
        let max = max_parts.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        let start = match PartNumber::new(marker.saturating_add(1)) {
            Ok(n) => Bound::Included(n),
            Err(_) if marker == 0 => Bound::Unbounded,
            // A marker at or past the last possible number: nothing follows.
            Err(_) => Bound::Excluded(PartNumber::MAX),
        };
        let mut range = upload.parts.range((start, Bound::Unbounded));
        let parts: Vec<PartInfo> = range.by_ref().take(max as usize).map(|(_, p)| PartInfo::of(p)).collect();
        let is_truncated = range.next().is_some();
        Ok(ListPartsPage {
            upload_id: upload.id.clone(),
            bucket: upload.bucket.clone(),
            key: upload.key.clone(),
            owner: upload.owner.clone(),
            checksum: upload.checksum,
            part_number_marker: marker,
            next_part_number_marker: parts.last().map(|p| p.number),
            max_parts: max,
            is_truncated,
            parts,
        })
    }

    /// A ListMultipartUploads page of `bucket`.
    pub fn list_uploads(&self, bucket: &BucketName, query: &UploadsQuery<'_>) -> UploadsPage {
        let max = query.max_uploads.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        let mut page = UploadsPage {
            max_uploads: max,
            is_truncated: false,
            next_key_marker: None,
            next_upload_id_marker: None,
            uploads: Vec::new(),
            common_prefixes: Vec::new(),
        };
        let Some(index) = self.index.get(bucket) else { return page };
        let prefix = query.prefix.as_bytes();
        let delimiter = query.delimiter.filter(|d| !d.is_empty()).map(str::as_bytes);
        let seek = |key: Vec<u8>| -> Bound<IndexEntry> { Bound::Included((key.into(), Timestamp::ZERO, "".into())) };

        // Where to begin: after the marker (and past its common prefix, already listed), but
        // never before the prefix.
        let mut start_key: Vec<u8> = prefix.to_vec();
        let mut start = seek(prefix.to_vec());
        // Uploads of the marker key with an id at or below this are skipped (the id-marker
        // names an upload that is gone, so its place in initiation order is unknown).
        let mut skip_ids_of: Option<(&[u8], &str)> = None;
        if let Some(marker) = query.key_marker.map(str::as_bytes) {
            let mut after: Vec<u8> = marker.to_vec();
            let marker_start = match query.upload_id_marker {
                None => {
                    after.push(0);
                    seek(after.clone())
                }
                Some(id_marker) => {
                    let known = index
                        .range((seek(marker.to_vec()), Bound::Unbounded))
                        .take_while(|(k, _, _)| &**k == marker)
                        .find(|(_, _, id)| &**id == id_marker);
                    match known {
                        Some(entry) => Bound::Excluded(entry.clone()),
                        None => {
                            skip_ids_of = Some((marker, id_marker));
                            seek(marker.to_vec())
                        }
                    }
                }
            };
            if after.as_slice() >= start_key.as_slice() {
                start_key = after;
                start = marker_start;
            }
            if let Some(d) = delimiter
                && let Some(rest) = marker.strip_prefix(prefix)
                && let Some(pos) = find(rest, d)
                && let Some(cp) = marker.get(..prefix.len() + pos + d.len())
            {
                let mut past = cp.to_vec();
                past.push(0xFF);
                if past.as_slice() > start_key.as_slice() {
                    start = seek(past);
                }
            }
        }

        let mut last: Option<Last<'_>> = None;
        let mut count = 0u32;
        let mut iter = index.range((start, Bound::Unbounded));
        while let Some((key, _, id)) = iter.next() {
            let key: &[u8] = key;
            if !key.starts_with(prefix) {
                if key > prefix {
                    break;
                }
                continue;
            }
            if let Some((k, below)) = skip_ids_of
                && key == k
                && &**id <= below
            {
                continue;
            }
            if let Some(d) = delimiter
                && let Some(pos) = key.get(prefix.len()..).and_then(|rest| find(rest, d))
                && let Some(cp) = key.get(..prefix.len() + pos + d.len())
            {
                if count == max {
                    page.is_truncated = true;
                    break;
                }
                let cp_str = String::from_utf8_lossy(cp).into_owned();
                page.common_prefixes.push(cp_str.clone());
                count += 1;
                let mut past = cp.to_vec();
                past.push(0xFF);
                iter = index.range((seek(past), Bound::Unbounded));
                last = Some(Last::Prefix(cp_str));
                continue;
            }
            if count == max {
                page.is_truncated = true;
                break;
            }
            let Some(upload) = self.upload_by_str(id) else { continue };
            page.uploads.push(UploadSummary {
                key: upload.key().clone(),
                upload_id: upload.id().clone(),
                initiated: upload.initiated(),
                owner: upload.owner().to_owned(),
                checksum: upload.checksum(),
            });
            count += 1;
            last = Some(Last::Upload(key, id));
        }
        if page.is_truncated {
            match last {
                Some(Last::Upload(key, id)) => {
                    page.next_key_marker = Some(String::from_utf8_lossy(key).into_owned());
                    page.next_upload_id_marker = UploadId::new(id).ok();
                }
                Some(Last::Prefix(cp)) => page.next_key_marker = Some(cp),
                None => {}
            }
        }
        page
    }

    fn upload_by_str(&self, id: &str) -> Option<&crate::Upload> {
        self.uploads.get(id)
    }
}

/// Position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
