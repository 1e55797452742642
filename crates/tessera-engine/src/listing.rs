//! ListObjects (V1 and V2) and ListObjectVersions over the store's key-ordered listing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use tessera_proto::encoding::EncodingType;
use tessera_proto::ops::{KeyListing, Output, S3Error};
use tessera_proto::values::{StorageClass, Timestamp};
use tessera_proto::{BucketName, ObjectKey, xml};
use tessera_store::{ObjectRecord, Store};

use crate::engine::{Cx, Engine};
use crate::error::{self, access_denied};
use crate::meta::ObjectMeta;
use crate::request::EngineResponse;

/// Most keys one page returns.
const MAX_KEYS: u32 = 1000;

/// One page of keys and common prefixes.
struct Page {
    objects: Vec<(ObjectKey, ObjectRecord, ObjectMeta)>,
    prefixes: Vec<String>,
    truncated: bool,
    /// The last key or common prefix on the page.
    last: Option<String>,
}

/// The common prefix `key` rolls up to, if the delimiter occurs after the prefix.
fn roll_up<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.get(prefix.len()..)?;
    let pos = rest.find(d)?;
    key.get(..prefix.len() + pos + d.len())
}

/// A key just past every key beginning with `cp` (if one can be formed).
fn past(cp: &str) -> Option<ObjectKey> {
    ObjectKey::new(&format!("{cp}\u{10FFFF}")).ok()
}

impl<S: Store> Engine<S> {
    /// Lists keys after `start` (exclusive) under the listing's prefix, rolling keys up at
    /// its delimiter, at most `max_keys` entries.
    async fn page(&self, bucket: &BucketName, listing: &KeyListing, start: Option<&str>) -> Result<Page, S3Error> {
        let prefix = listing.prefix.as_deref().unwrap_or("");
        let delimiter = listing.delimiter.as_deref();
        let max = listing.max_keys.unwrap_or(MAX_KEYS).min(MAX_KEYS) as usize;
        let mut page = Page { objects: Vec::new(), prefixes: Vec::new(), truncated: false, last: None };
        let mut cursor: Option<ObjectKey> = start.and_then(|s| ObjectKey::new(s).ok());
        let mut last_cp: Option<String> = None;
        // A marker inside a common prefix already listed skips the rest of that prefix.
        if let Some(s) = start
            && let Some(cp) = roll_up(s, prefix, delimiter)
        {
            last_cp = Some(cp.to_owned());
            if let Some(p) = past(cp) {
                cursor = Some(p);
            }
        }
        let batch_size = (max + 1).clamp(2, 1001);
        'fetch: loop {
            let batch =
                self.store.list_objects(bucket, prefix, cursor.as_ref(), batch_size).await.map_err(error::store)?;
            let full = batch.len() == batch_size;
            if batch.is_empty() {
                break;
            }
            for (key, record) in batch {
                cursor = Some(key.clone());
                if let Some(cp) = roll_up(key.as_str(), prefix, delimiter) {
                    if last_cp.as_deref() == Some(cp) {
                        continue;
                    }
                    if page.objects.len() + page.prefixes.len() == max {
                        page.truncated = true;
                        break 'fetch;
                    }
                    page.prefixes.push(cp.to_owned());
                    page.last = Some(cp.to_owned());
                    last_cp = Some(cp.to_owned());
                    if let Some(p) = past(cp) {
                        cursor = Some(p);
                        continue 'fetch;
                    }
                    continue;
                }
                if page.objects.len() + page.prefixes.len() == max {
                    page.truncated = true;
                    break 'fetch;
                }
                let meta = ObjectMeta::decode(&record.meta)?;
                page.last = Some(key.as_str().to_owned());
                page.objects.push((key, record, meta));
            }
            if !full {
                break;
            }
        }
        Ok(page)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn list_objects(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        listing: &KeyListing,
        start_after: Option<String>,
        continuation_token: Option<String>,
        v2: bool,
        fetch_owner: bool,
    ) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        if !cx.may_list(&record, &config) {
            return Err(access_denied());
        }
        let token_key = match continuation_token.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => Some(
                TOKEN
                    .decode(t)
                    .ok()
                    .and_then(|raw| String::from_utf8(raw).ok())
                    .ok_or_else(|| error::invalid_argument("The continuation token provided is incorrect"))?,
            ),
        };
        let start = if v2 { token_key.clone().or(start_after.clone()) } else { start_after.clone() };
        let page = self.page(bucket, listing, start.as_deref().filter(|s| !s.is_empty())).await?;
        let show_owner = !v2 || fetch_owner;
        let contents: Vec<xml::ObjectEntry> = page
            .objects
            .iter()
            .map(|(key, record, meta)| {
                let mut entry = xml::ObjectEntry::new(
                    key.as_str(),
                    Timestamp::from_millis(record.modified),
                    meta.etag(),
                    record.size,
                );
                entry.storage_class = Some(storage_class(meta));
                if show_owner {
                    entry.owner = Some(meta.attributes.owner.to_xml());
                }
                if let Some((c, kind)) = meta.checksum.as_ref().and_then(|c| c.parse()) {
                    entry.checksum_algorithm = vec![c.algorithm().as_str().to_owned()];
                    entry.checksum_type = Some(kind.as_str().to_owned());
                }
                entry
            })
            .collect();
        let common_prefixes: Vec<xml::CommonPrefix> =
            page.prefixes.iter().map(|p| xml::CommonPrefix { prefix: p.clone() }).collect();
        let max_keys = listing.max_keys.unwrap_or(MAX_KEYS).min(MAX_KEYS);
        let encoding_type = listing.encoding_url.then_some(EncodingType::Url);
        let document: tessera_proto::ops::Document = if v2 {
            let key_count = u32::try_from(contents.len() + common_prefixes.len()).unwrap_or(u32::MAX);
            xml::ListBucketResultV2 {
                name: bucket.as_str().to_owned(),
                prefix: listing.prefix.clone().unwrap_or_default(),
                continuation_token: continuation_token.filter(|t| !t.is_empty()),
                next_continuation_token: if page.truncated {
                    page.last.as_ref().map(|l| TOKEN.encode(l.as_bytes()))
                } else {
                    None
                },
                start_after: start_after.filter(|s| !s.is_empty()),
                key_count,
                max_keys,
                delimiter: listing.delimiter.clone(),
                is_truncated: page.truncated,
                encoding_type,
                contents,
                common_prefixes,
            }
            .into()
        } else {
            xml::ListBucketResult {
                name: bucket.as_str().to_owned(),
                prefix: listing.prefix.clone().unwrap_or_default(),
                marker: start_after.unwrap_or_default(),
                // S3 gives NextMarker only with a delimiter; clients use the last key otherwise.
                next_marker: if page.truncated && listing.delimiter.is_some() { page.last.clone() } else { None },
                max_keys,
                delimiter: listing.delimiter.clone(),
                is_truncated: page.truncated,
                encoding_type,
                contents,
                common_prefixes,
            }
            .into()
        };
        Ok(EngineResponse::new(Output::Xml(document)))
    }

    pub(crate) async fn list_versions(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        listing: &KeyListing,
        key_marker: Option<String>,
    ) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        if !cx.may_list(&record, &config) {
            return Err(access_denied());
        }
        let page = self.page(bucket, listing, key_marker.as_deref().filter(|s| !s.is_empty())).await?;
        let entries = page
            .objects
            .iter()
            .map(|(key, record, meta)| {
                xml::VersionListEntry::Version(xml::VersionEntry {
                    key: key.as_str().to_owned(),
                    version_id: "null".to_owned(),
                    is_latest: true,
                    last_modified: Timestamp::from_millis(record.modified),
                    etag: Some(meta.etag()),
                    size: Some(record.size),
                    storage_class: Some(storage_class(meta)),
                    owner: Some(meta.attributes.owner.to_xml()),
                })
            })
            .collect();
        let document = xml::ListVersionsResult {
            name: bucket.as_str().to_owned(),
            prefix: listing.prefix.clone().unwrap_or_default(),
            key_marker: key_marker.unwrap_or_default(),
            version_id_marker: String::new(),
            next_key_marker: if page.truncated { page.last.clone() } else { None },
            next_version_id_marker: page.truncated.then(|| "null".to_owned()),
            max_keys: listing.max_keys.unwrap_or(MAX_KEYS).min(MAX_KEYS),
            delimiter: listing.delimiter.clone(),
            is_truncated: page.truncated,
            encoding_type: listing.encoding_url.then_some(EncodingType::Url),
            entries,
            common_prefixes: page.prefixes.iter().map(|p| xml::CommonPrefix { prefix: p.clone() }).collect(),
        };
        Ok(EngineResponse::new(Output::Xml(document.into())))
    }
}

fn storage_class(meta: &ObjectMeta) -> String {
    let a = &meta.attributes;
    a.storage_class().unwrap_or_else(|| StorageClass::default_for(a.dialect())).as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roll_up_at_the_first_delimiter_after_the_prefix() {
        assert_eq!(roll_up("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(roll_up("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(roll_up("a/b", "a/b", Some("/")), None);
        assert_eq!(roll_up("abc", "", Some("")), None);
        assert_eq!(roll_up("abc", "", None), None);
        assert_eq!(roll_up("x--y--z", "", Some("--")), Some("x--"));
        // Multi-byte keys and delimiters split on character boundaries.
        assert_eq!(roll_up("é/文/x", "é/", Some("/")), Some("é/文/"));
        assert_eq!(roll_up("a文b文", "", Some("文")), Some("a文"));
    }

    #[test]
    fn past_sorts_after_every_key_under_the_prefix() {
        let p = past("b/").unwrap();
        assert!(p.as_str() > "b/zzzz");
        assert!(p.as_str() < "c");
        assert!(past(&"k".repeat(1024)).is_none());
    }
}
