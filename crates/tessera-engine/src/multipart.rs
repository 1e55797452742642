//! Multipart operations, through the upload table: initiate, upload part (and copy), complete,
//! abort, list parts, list uploads.

use bytes::Bytes;
use tessera_multipart::{
    CompletePart, CompleteRequest, CompletedUpload, Completion, MultipartError, NewUpload, ObjectChecksum, PartReceipt,
    UploadsQuery,
};
use tessera_proto::encoding::EncodingType;
use tessera_proto::ops::{Conditions, CopySource, KeyListing, ObjectAttributes, Output, S3Error, SseResponse};
use tessera_proto::values::{SseRequest, StorageClass};
use tessera_proto::{
    BucketName, Checksum, ChecksumAlgorithm, Dialect, ETag, ErrorCode, ObjectKey, PartNumber, UploadId, xml,
};
use tessera_store::Store;

use crate::engine::{CompleteCtx, Cx, Engine, mp_time, stage_ref};
use crate::error::{self, access_denied, internal};
use crate::meta::{FORMAT, ObjectMeta, StoredAttributes, StoredOwner, StoredSse, UploadMeta};
use crate::request::{EngineResponse, Payload, PayloadSummary};
use crate::sse::{Sealed, part_key};

/// A CompleteMultipartUpload's parameters.
pub(crate) struct Complete {
    pub(crate) conditions: Conditions,
    pub(crate) forbid_overwrite: bool,
    pub(crate) encoding_url: bool,
    pub(crate) complete_all: bool,
    pub(crate) body: Option<Bytes>,
}

fn encoding(url: bool) -> Option<EncodingType> {
    url.then_some(EncodingType::Url)
}

/// What the engine needs of an upload it is about to touch.
struct UploadView {
    owner: String,
    meta: Option<UploadMeta>,
    checksum_algorithm: Option<ChecksumAlgorithm>,
}

impl UploadView {
    fn sse(&self) -> Option<SseResponse> {
        self.meta.as_ref().and_then(|m| m.attributes.sse.as_ref()).and_then(StoredSse::response)
    }
}

/// The part checksum a `<Part>` of CompleteMultipartUpload lists, if any.
fn listed_checksum(p: &xml::CompletedPart) -> Result<Option<Checksum>, S3Error> {
    let fields = [
        (ChecksumAlgorithm::Crc32, &p.checksum_crc32),
        (ChecksumAlgorithm::Crc32c, &p.checksum_crc32c),
        (ChecksumAlgorithm::Crc64Nvme, &p.checksum_crc64nvme),
        (ChecksumAlgorithm::Sha1, &p.checksum_sha1),
        (ChecksumAlgorithm::Sha256, &p.checksum_sha256),
    ];
    for (algorithm, value) in fields {
        if let Some(v) = value {
            return Checksum::from_base64(algorithm, v).map(Some).map_err(S3Error::from);
        }
    }
    Ok(None)
}

/// Fills the checksum elements of a Complete result.
fn set_complete_checksum(doc: &mut xml::CompleteMultipartUploadResult, c: &ObjectChecksum) {
    let v = Some(c.header_value());
    match c.checksum.algorithm() {
        ChecksumAlgorithm::Crc32 => doc.checksum_crc32 = v,
        ChecksumAlgorithm::Crc32c => doc.checksum_crc32c = v,
        ChecksumAlgorithm::Crc64Nvme => doc.checksum_crc64nvme = v,
        ChecksumAlgorithm::Sha1 => doc.checksum_sha1 = v,
        ChecksumAlgorithm::Sha256 => doc.checksum_sha256 = v,
    }
    doc.checksum_type = Some(c.kind.as_str().to_owned());
}

/// Fills the checksum elements of a ListParts entry.
fn set_part_checksum(entry: &mut xml::PartEntry, c: &Checksum) {
    let v = Some(c.to_base64());
    match c.algorithm() {
        ChecksumAlgorithm::Crc32 => entry.checksum_crc32 = v,
        ChecksumAlgorithm::Crc32c => entry.checksum_crc32c = v,
        ChecksumAlgorithm::Crc64Nvme => entry.checksum_crc64nvme = v,
        ChecksumAlgorithm::Sha1 => entry.checksum_sha1 = v,
        ChecksumAlgorithm::Sha256 => entry.checksum_sha256 = v,
    }
}

/// Fills the checksum elements of an UploadPartCopy result.
fn set_copy_part_checksum(doc: &mut xml::CopyPartResult, c: &Checksum) {
    let v = Some(c.to_base64());
    match c.algorithm() {
        ChecksumAlgorithm::Crc32 => doc.checksum_crc32 = v,
        ChecksumAlgorithm::Crc32c => doc.checksum_crc32c = v,
        ChecksumAlgorithm::Crc64Nvme => doc.checksum_crc64nvme = v,
        ChecksumAlgorithm::Sha1 => doc.checksum_sha1 = v,
        ChecksumAlgorithm::Sha256 => doc.checksum_sha256 = v,
    }
}

impl<S: Store> Engine<S> {
    /// The upload `id` of `(bucket, key)`, checked for the caller: only the principal that
    /// created it, and may still write the bucket, may use it (the bucket owner may also
    /// abort it and list its parts when `owner_too`).
    async fn upload_access(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &UploadId,
        owner_too: bool,
    ) -> Result<UploadView, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        let view = {
            let state = self.state();
            let upload = state.table.lookup(bucket, key, id).map_err(error::multipart)?;
            UploadView {
                owner: upload.owner().to_owned(),
                meta: UploadMeta::decode(upload.metadata()).ok(),
                checksum_algorithm: upload.checksum().map(|c| c.algorithm),
            }
        };
        let creator = view.owner == cx.id() && cx.may_write(&record, &config);
        if creator || (owner_too && cx.owns(&record)) { Ok(view) } else { Err(access_denied()) }
    }

    pub(crate) async fn create_upload(
        &self,
        cx: &Cx<'_>,
        bucket: BucketName,
        key: ObjectKey,
        attributes: ObjectAttributes,
        forbid_overwrite: bool,
        encoding_url: bool,
    ) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(&bucket).await?;
        if !cx.may_write(&record, &config) {
            return Err(access_denied());
        }
        let mut attrs = StoredAttributes::from_request(&attributes, cx.dialect, StoredOwner::of(cx.principal));
        let sse = self.resolve_sse(attributes.sse.as_ref(), &config)?;
        attrs.sse = sse.map(|w| self.upload_sse(w)).transpose()?;
        if forbid_overwrite && self.object(&bucket, &key).await?.is_some() {
            return Err(S3Error::code(ErrorCode::FileAlreadyExists).with("Key", key.as_str()));
        }
        let sse = attrs.sse.as_ref().and_then(StoredSse::response);
        let metadata =
            serde_json::to_vec(&UploadMeta { v: FORMAT, attributes: attrs }).map_err(|e| internal(e.to_string()))?;
        let id = self.new_upload_id()?;
        let new = NewUpload {
            bucket: bucket.clone(),
            key: key.clone(),
            dialect: cx.dialect,
            owner: cx.id().to_owned(),
            checksum_algorithm: attributes.checksum_algorithm,
            checksum_type: attributes.checksum_type,
            metadata,
        };
        let work = {
            let mut state = self.state();
            state.table.create(id.clone(), new, mp_time(cx.now)).map_err(error::multipart)?;
            state.upload_buckets.insert(id.clone(), bucket.clone());
            state.queue(true)
        };
        if let Err(e) = self.settle(work).await {
            // Not durable: take the upload back rather than hand out an id a restart loses.
            let work = {
                let mut state = self.state();
                let _ = state.table.abort(&id);
                state.queue(true)
            };
            let _ = self.settle(work).await;
            return Err(e);
        }
        let document = xml::InitiateMultipartUploadResult {
            bucket: bucket.as_str().to_owned(),
            key: key.as_str().to_owned(),
            upload_id: id.as_str().to_owned(),
            encoding_type: encoding(encoding_url),
        };
        Ok(EngineResponse::new(Output::Multipart {
            document: document.into(),
            crc64ecma: None,
            sse,
            checksum_algorithm: attributes.checksum_algorithm,
        }))
    }

    /// Stages a part's bytes under a ticket and records it; the loser of a race on one part
    /// number is discarded by the table. `meta` is the part's key record text.
    #[allow(clippy::too_many_arguments)]
    async fn put_part(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        id: &UploadId,
        number: PartNumber,
        declared: Option<u64>,
        meta: String,
        stage: impl std::future::Future<Output = Result<(tessera_store::Staged, PayloadSummary), S3Error>>,
    ) -> Result<(ETag, PayloadSummary), S3Error> {
        let ticket = self.state().table.begin_part(id, number, declared, mp_time(cx.now));
        let ticket = ticket.map_err(error::multipart)?;
        let (staged, summary) = match stage.await {
            Ok(s) => s,
            Err(e) => {
                let _ = self.state().table.abandon_part(ticket);
                return Err(e);
            }
        };
        let receipt = PartReceipt {
            stage: stage_ref(bucket, staged.id),
            size: staged.len,
            md5: summary.md5,
            checksum: summary.checksum.clone(),
            crc64ecma: summary.crc64ecma,
            meta,
        };
        let (finished, work) = {
            let mut state = self.state();
            let finished = state.table.finish_part(ticket, receipt, mp_time(cx.now));
            (finished, state.queue(true))
        };
        let settled = self.settle(work).await;
        let etag = finished.map_err(error::multipart)?;
        settled?;
        Ok((etag, summary))
    }

    /// A fresh data key for a part of an encrypted upload, and the part's record text (its
    /// key record as JSON; empty for a plaintext upload). SSE-C parts must repeat the
    /// initiate's key.
    fn seal_part(&self, view: &UploadView, given: Option<&SseRequest>) -> Result<(Option<Sealed>, String), S3Error> {
        let upload = view.meta.as_ref().and_then(|m| m.attributes.sse.as_ref());
        let customer = part_key(upload, given)?;
        let Some(upload) = upload else { return Ok((None, String::new())) };
        let sealed = self.seal(upload, customer.as_ref())?;
        let meta = serde_json::to_string(&sealed.record).map_err(|e| internal(e.to_string()))?;
        Ok((Some(sealed), meta))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn upload_part(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &UploadId,
        number: PartNumber,
        length: Option<u64>,
        sse: Option<SseRequest>,
        payload: Payload,
    ) -> Result<EngineResponse, S3Error> {
        let view = self.upload_access(cx, bucket, key, id, false).await?;
        if sse.is_some() && cx.dialect == Dialect::Oss {
            return Err(error::invalid_argument("Server-side encryption headers are not allowed on UploadPart."));
        }
        let (sealed, meta) = self.seal_part(&view, sse.as_ref())?;
        let expected = length.map(|_| payload.length);
        let max = self.config.max_part_size;
        let stage = self.stage_payload(bucket, payload, expected, max, view.checksum_algorithm, sealed.as_ref());
        let (etag, summary) = self.put_part(cx, bucket, id, number, expected, meta, stage).await?;
        Ok(EngineResponse::new(Output::PartWritten {
            etag,
            crc64ecma: summary.crc64ecma,
            checksum: summary.checksum,
            sse: view.sse(),
            document: None,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn upload_part_copy(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &UploadId,
        number: PartNumber,
        source: CopySource,
        source_range: Option<(u64, u64)>,
        sse: Option<SseRequest>,
    ) -> Result<EngineResponse, S3Error> {
        let view = self.upload_access(cx, bucket, key, id, false).await?;
        let (sealed, meta) = self.seal_part(&view, sse.as_ref())?;
        let src = self.copy_source(cx, &source).await?;
        let record = &src.record;
        let range = match source_range {
            None => 0..record.size,
            Some((first, last)) if first > last => {
                return Err(error::invalid_argument(
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                ));
            }
            Some((_, last)) if last >= record.size => {
                return Err(S3Error::new(ErrorCode::InvalidRange, "The requested range is not satisfiable")
                    .with("ActualObjectSize", record.size.to_string()));
            }
            Some((first, last)) => first..last + 1,
        };
        let len = range.end - range.start;
        if len > self.config.max_part_size {
            return Err(S3Error::code(ErrorCode::EntityTooLarge));
        }
        let stage = self.stage_copy(&src, range, bucket, view.checksum_algorithm, sealed.as_ref());
        let (etag, summary) = self.put_part(cx, bucket, id, number, Some(len), meta, stage).await?;
        let mut document = xml::CopyPartResult::new(cx.now, etag.clone());
        if let Some(c) = &summary.checksum {
            set_copy_part_checksum(&mut document, c);
        }
        Ok(EngineResponse::new(Output::PartWritten {
            etag,
            crc64ecma: summary.crc64ecma,
            checksum: summary.checksum,
            sse: view.sse(),
            document: Some(document.into()),
        }))
    }

    pub(crate) async fn complete_upload(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &UploadId,
        complete: Complete,
    ) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        if !cx.may_write(&record, &config) {
            return Err(access_denied());
        }
        // The part list: from the body, or (OSS complete-all) every uploaded part.
        let parts = if complete.complete_all {
            let state = self.state();
            let page = state.table.list_parts(id, None, Some(tessera_multipart::MAX_PAGE));
            let mut parts = Vec::new();
            let mut marker = None;
            let mut page = page.map_err(error::multipart)?;
            loop {
                parts.extend(page.parts.iter().map(|p| CompletePart {
                    number: p.number,
                    etag: p.etag.clone(),
                    checksum: None,
                }));
                if !page.is_truncated {
                    break;
                }
                marker = page.next_part_number_marker.map(|n| n.get()).or(marker);
                page = state.table.list_parts(id, marker, None).map_err(error::multipart)?;
            }
            parts
        } else {
            let body =
                complete.body.as_ref().filter(|b| !b.is_empty()).ok_or_else(|| {
                    S3Error::new(ErrorCode::MalformedXML, "CompleteMultipartUpload needs a part list.")
                })?;
            let doc: xml::CompleteMultipartUpload = xml::from_xml(body).map_err(error::xml)?;
            let mut parts = Vec::with_capacity(doc.parts.len());
            for p in &doc.parts {
                parts.push(CompletePart { number: p.part_number, etag: p.etag.clone(), checksum: listed_checksum(p)? });
            }
            parts
        };
        let request = CompleteRequest::new(parts);

        // A retried Complete of a finished upload answers the same success, whatever the
        // conditions now say about the object it made.
        let known = self.state().table.upload(id).is_some();
        if !known {
            return self.completed_again(cx, bucket, key, id, &request, complete.encoding_url).await;
        }
        let view = self.upload_access(cx, bucket, key, id, false).await?;
        let cond = self.write_precondition(bucket, key, &complete.conditions, complete.forbid_overwrite).await?;
        let ctx = CompleteCtx { cond, forbid_overwrite: complete.forbid_overwrite, now: cx.now.as_millis() };
        let mut attempt = 0;
        let (started, work) = loop {
            attempt += 1;
            let started = {
                let mut state = self.state();
                let started = state.table.complete(id, &request, mp_time(cx.now));
                if matches!(started, Ok(Completion::Assembling)) {
                    // Under the same lock as the queued Assemble: its performer reads it.
                    state.completing.insert(id.clone(), ctx);
                    // An outcome left by a cancelled Complete of this upload is stale.
                    state.outcomes.remove(id);
                }
                (started, state.queue(true))
            };
            let (started, work) = started;
            match started {
                // Another Complete is assembling (or a cancelled one left its work queued):
                // finish that work, then ask again — an identical list then answers its success.
                Err(MultipartError::Completing) if attempt == 1 => {
                    self.settle_all().await;
                    self.state().outcomes.remove(id);
                }
                other => break (other, work),
            }
        };
        let done = match started.map_err(error::multipart)? {
            Completion::AlreadyCompleted(done) => done,
            Completion::Assembling => {
                let drained = self.settle(work).await;
                let outcome = self.state().outcomes.remove(id);
                match outcome {
                    Some(Ok(done)) => done,
                    Some(Err(e)) => return Err(e),
                    None => {
                        drained?;
                        return Err(internal("the assembly's outcome was lost"));
                    }
                }
            }
        };
        Ok(self.complete_output(cx, &done, view.sse(), complete.encoding_url))
    }

    /// Complete for an upload the table no longer has: the table's memory of a recent
    /// success, else the object itself if this upload made it with this very part list
    /// (after a restart or once the grace has passed).
    async fn completed_again(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &UploadId,
        request: &CompleteRequest,
        encoding_url: bool,
    ) -> Result<EngineResponse, S3Error> {
        let remembered = self.state().table.complete(id, request, mp_time(cx.now));
        match remembered {
            Ok(Completion::AlreadyCompleted(done)) if done.bucket == *bucket && done.key == *key => {
                let sse =
                    self.object(bucket, key).await?.and_then(|(_, m)| m.attributes.sse.and_then(|s| s.response()));
                return Ok(self.complete_output(cx, &done, sse, encoding_url));
            }
            Ok(_) | Err(MultipartError::NoSuchUpload) => {}
            Err(e) => return Err(error::multipart(e)),
        }
        let md5s: Option<Vec<[u8; 16]>> = request.parts.iter().map(|p| p.etag.md5()).collect();
        let expected = md5s.filter(|m| !m.is_empty()).map(|m| ETag::multipart(m.iter()));
        if let (Some(expected), Some((record, meta))) = (expected, self.object(bucket, key).await?)
            && meta.upload_id.as_deref() == Some(id.as_str())
            && meta.etag().matches(&expected)
        {
            let done = completed_from_meta(id, bucket, key, &record, &meta);
            let sse = meta.attributes.sse.as_ref().and_then(StoredSse::response);
            return Ok(self.complete_output(cx, &done, sse, encoding_url));
        }
        Err(S3Error::code(ErrorCode::NoSuchUpload).with("UploadId", id.as_str()))
    }

    fn complete_output(
        &self,
        cx: &Cx<'_>,
        done: &CompletedUpload,
        sse: Option<SseResponse>,
        encoding_url: bool,
    ) -> EngineResponse {
        let mut document = xml::CompleteMultipartUploadResult {
            location: Some(format!("/{}/{}", done.bucket, done.key)),
            bucket: done.bucket.as_str().to_owned(),
            key: done.key.as_str().to_owned(),
            etag: done.etag.clone(),
            checksum_crc32: None,
            checksum_crc32c: None,
            checksum_crc64nvme: None,
            checksum_sha1: None,
            checksum_sha256: None,
            checksum_type: None,
            checksum_crc64ecma: (cx.dialect == Dialect::Ks3).then(|| done.crc64ecma.to_string()),
            encoding_type: encoding(encoding_url),
        };
        if let Some(c) = &done.checksum {
            set_complete_checksum(&mut document, c);
        }
        EngineResponse::new(Output::Multipart {
            document: document.into(),
            crc64ecma: Some(done.crc64ecma),
            sse,
            checksum_algorithm: None,
        })
    }

    pub(crate) async fn abort_upload(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &UploadId,
    ) -> Result<EngineResponse, S3Error> {
        self.upload_access(cx, bucket, key, id, true).await?;
        let work = {
            let mut state = self.state();
            state.table.abort(id).map_err(error::multipart)?;
            state.queue(true)
        };
        self.settle(work).await?;
        Ok(EngineResponse::new(Output::NoContent))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn list_parts(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &UploadId,
        part_number_marker: Option<u32>,
        max_parts: Option<u32>,
        encoding_url: bool,
    ) -> Result<EngineResponse, S3Error> {
        let view = self.upload_access(cx, bucket, key, id, true).await?;
        let page = self.state().table.list_parts(id, part_number_marker, max_parts).map_err(error::multipart)?;
        let owner_name = view.meta.as_ref().map(|m| m.attributes.owner.name.clone()).unwrap_or_default();
        let owner = xml::Owner { id: Some(page.owner.clone()), display_name: Some(owner_name) };
        let storage_class = view.meta.as_ref().map(|m| {
            let a = &m.attributes;
            a.storage_class().unwrap_or_else(|| StorageClass::default_for(a.dialect())).as_str().to_owned()
        });
        let parts: Vec<xml::PartEntry> = page
            .parts
            .iter()
            .map(|p| {
                let mut entry = xml::PartEntry::new(p.number, ms_to_ts(p.last_modified), p.etag.clone(), p.size);
                match cx.dialect {
                    Dialect::Oss => entry.hash_crc64ecma = Some(p.crc64ecma.to_string()),
                    Dialect::Ks3 => entry.checksum_crc64ecma = Some(p.crc64ecma.to_string()),
                    _ => {}
                }
                if let Some(c) = &p.checksum {
                    set_part_checksum(&mut entry, c);
                }
                entry
            })
            .collect();
        let document = xml::ListPartsResult {
            bucket: bucket.as_str().to_owned(),
            key: key.as_str().to_owned(),
            upload_id: id.as_str().to_owned(),
            initiator: Some(owner.clone()),
            owner: Some(owner),
            storage_class,
            part_number_marker: Some(page.part_number_marker),
            // S3 sends the last listed part (or the marker) even when the page is complete,
            // and oss2 fails to parse a ListPartsResult without it.
            next_part_number_marker: Some(
                page.next_part_number_marker
                    .map(|n| n.get())
                    .or_else(|| parts.last().map(|p| p.part_number.get()))
                    .unwrap_or(page.part_number_marker),
            ),
            max_parts: Some(page.max_parts),
            is_truncated: page.is_truncated,
            checksum_algorithm: page.checksum.map(|c| c.algorithm.as_str().to_owned()),
            checksum_type: page.checksum.map(|c| c.kind.as_str().to_owned()),
            encoding_type: encoding(encoding_url),
            parts,
        };
        Ok(EngineResponse::new(Output::Xml(document.into())))
    }

    pub(crate) async fn list_uploads(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        listing: &KeyListing,
        key_marker: Option<String>,
        upload_id_marker: Option<String>,
    ) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        if !cx.may_list(&record, &config) {
            return Err(access_denied());
        }
        let prefix = listing.prefix.clone().unwrap_or_default();
        let query = UploadsQuery {
            prefix: &prefix,
            delimiter: listing.delimiter.as_deref(),
            key_marker: key_marker.as_deref().filter(|k| !k.is_empty()),
            upload_id_marker: upload_id_marker.as_deref().filter(|k| !k.is_empty()),
            max_uploads: listing.max_keys,
        };
        let document = {
            let state = self.state();
            let page = state.table.list_uploads(bucket, &query);
            let uploads = page
                .uploads
                .iter()
                .map(|u| {
                    let meta = state.table.upload(&u.upload_id).and_then(|up| UploadMeta::decode(up.metadata()).ok());
                    let name = meta.as_ref().map(|m| m.attributes.owner.name.clone()).unwrap_or_default();
                    let owner = xml::Owner { id: Some(u.owner.clone()), display_name: Some(name) };
                    let storage_class = meta.as_ref().map(|m| {
                        let a = &m.attributes;
                        a.storage_class().unwrap_or_else(|| StorageClass::default_for(a.dialect())).as_str().to_owned()
                    });
                    xml::UploadEntry {
                        key: u.key.as_str().to_owned(),
                        upload_id: u.upload_id.as_str().to_owned(),
                        initiator: Some(owner.clone()),
                        owner: Some(owner),
                        storage_class,
                        initiated: ms_to_ts(u.initiated),
                        checksum_algorithm: u.checksum.map(|c| c.algorithm.as_str().to_owned()),
                        checksum_type: u.checksum.map(|c| c.kind.as_str().to_owned()),
                    }
                })
                .collect();
            xml::ListMultipartUploadsResult {
                bucket: bucket.as_str().to_owned(),
                key_marker: key_marker.unwrap_or_default(),
                upload_id_marker: upload_id_marker.unwrap_or_default(),
                // S3 always sends both next markers (empty when the listing is complete), and
                // oss2 fails to parse a result without them.
                next_key_marker: Some(page.next_key_marker.clone().unwrap_or_default()),
                next_upload_id_marker: Some(
                    page.next_upload_id_marker.as_ref().map(|i| i.as_str().to_owned()).unwrap_or_default(),
                ),
                delimiter: listing.delimiter.clone(),
                prefix: listing.prefix.clone(),
                max_uploads: Some(page.max_uploads),
                is_truncated: page.is_truncated,
                encoding_type: encoding(listing.encoding_url),
                uploads,
                common_prefixes: page.common_prefixes.iter().map(|p| xml::CommonPrefix { prefix: p.clone() }).collect(),
            }
        };
        Ok(EngineResponse::new(Output::Xml(document.into())))
    }
}

fn ms_to_ts(t: tessera_multipart::Timestamp) -> tessera_proto::values::Timestamp {
    tessera_proto::values::Timestamp::from_millis(t.as_millis())
}

/// A Complete's answer rebuilt from the object it made.
fn completed_from_meta(
    id: &UploadId,
    bucket: &BucketName,
    key: &ObjectKey,
    record: &tessera_store::ObjectRecord,
    meta: &ObjectMeta,
) -> CompletedUpload {
    let checksum = meta.checksum.as_ref().and_then(|c| c.parse()).map(|(checksum, kind)| ObjectChecksum {
        checksum,
        kind,
        part_count: u32::try_from(meta.parts.len()).unwrap_or(u32::MAX),
    });
    CompletedUpload {
        upload_id: id.clone(),
        bucket: bucket.clone(),
        key: key.clone(),
        etag: meta.etag(),
        checksum,
        crc64ecma: meta.crc64ecma,
        size: record.size,
    }
}
