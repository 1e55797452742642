//! Object operations: put, get, head, delete, copy, tagging, ACL, attributes.

use std::ops::Range;

use bytes::Bytes;
use tessera_proto::dialect::MAX_PUT_SIZE;
use tessera_proto::ops::{
    AclRequest, Conditions, CopySource, EtagCondition, MetadataDirective, ObjectAttributes, ObjectHead, Output,
    ResponseOverrides, S3Error,
};
use tessera_proto::values::{ByteRange, Permission, ResolvedRange, SseRequest, StorageClass, Timestamp};
use tessera_proto::{BucketName, ChecksumAlgorithm, ChecksumType, ETag, ErrorCode, ObjectKey, PartNumber, xml};
use tessera_store::{BucketRecord, ByteStream, ObjectRecord, ObjectWrite, Precondition, Staged, Store, StoreError};

use crate::buckets::acl_from;
use crate::crypto::SecretKey;
use crate::digest::Digester;
use crate::engine::{Cx, Engine};
use crate::error::{self, access_denied, internal, invalid_part_number, invalid_request};
use crate::meta::{ObjectMeta, StoredAttributes, StoredChecksum, StoredOwner, StoredSse};
use crate::request::{EngineResponse, Payload, PayloadSummary, RequestBody, SummarySource};
use crate::sse::{Sealed, WriteSse, read_key};

/// A PutObject's parameters.
pub(crate) struct Put {
    pub(crate) attributes: ObjectAttributes,
    pub(crate) conditions: Conditions,
    pub(crate) forbid_overwrite: bool,
    /// The declared length; `None` for a chunked body without one (counted, capped at 5 GiB).
    pub(crate) length: Option<u64>,
}

/// A GetObject's or HeadObject's parameters.
pub(crate) struct Read {
    pub(crate) range: Option<ByteRange>,
    pub(crate) part_number: Option<PartNumber>,
    pub(crate) conditions: Conditions,
    pub(crate) sse_customer: Option<SseRequest>,
    pub(crate) with_body: bool,
}

/// A CopyObject's parameters.
pub(crate) struct Copy {
    pub(crate) source: CopySource,
    pub(crate) metadata_directive: MetadataDirective,
    pub(crate) replace_tagging: bool,
    pub(crate) attributes: ObjectAttributes,
    pub(crate) conditions: Conditions,
    pub(crate) forbid_overwrite: bool,
}

/// A copy source, looked up and checked: its record and metadata, and its SSE-C key.
pub(crate) struct SourceRead<'a> {
    pub(crate) bucket: &'a BucketName,
    pub(crate) key: &'a ObjectKey,
    pub(crate) record: ObjectRecord,
    pub(crate) meta: ObjectMeta,
    pub(crate) customer: Option<SecretKey>,
}

/// What a single-extent write records of its encryption, and its ETag.
fn written_sse(sse: Option<WriteSse>, sealed: Option<Sealed>, md5: &[u8; 16]) -> (Option<StoredSse>, ETag) {
    match (sse, sealed) {
        (Some(w), Some(sealed)) => {
            let etag = ETag::from_md5(&sealed.etag_md5(&w.stored, md5));
            (Some(StoredSse { data_key: Some(sealed.record), ..w.stored }), etag)
        }
        (sse, _) => (sse.map(|w| w.stored), ETag::from_md5(md5)),
    }
}

/// What conditional read headers decide.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadCheck {
    Proceed,
    NotModified,
    Failed,
}

fn etag_listed(list: &[EtagCondition], etag: &ETag) -> bool {
    list.iter().any(|c| match c {
        EtagCondition::Any => true,
        EtagCondition::Tag(t) => t.matches(etag),
    })
}

/// Evaluates conditional read headers in S3's (RFC 9110's) order: If-Match, else
/// If-Unmodified-Since (412); then If-None-Match, else If-Modified-Since (304).
pub(crate) fn check_read(c: &Conditions, etag: &ETag, modified_secs: u64) -> ReadCheck {
    match &c.if_match {
        Some(list) => {
            if !etag_listed(list, etag) {
                return ReadCheck::Failed;
            }
        }
        None => {
            if let Some(t) = c.if_unmodified_since
                && modified_secs > t
            {
                return ReadCheck::Failed;
            }
        }
    }
    match &c.if_none_match {
        Some(list) => {
            if etag_listed(list, etag) {
                return ReadCheck::NotModified;
            }
        }
        None => {
            if let Some(t) = c.if_modified_since
                && modified_secs <= t
            {
                return ReadCheck::NotModified;
            }
        }
    }
    ReadCheck::Proceed
}

fn no_such_key(key: &ObjectKey) -> S3Error {
    S3Error::code(ErrorCode::NoSuchKey).with("Key", key.as_str())
}

fn precondition_failed() -> S3Error {
    S3Error::code(ErrorCode::PreconditionFailed)
}

impl<S: Store> Engine<S> {
    /// The object's record and decoded metadata, or `None`.
    pub(crate) async fn object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<(ObjectRecord, ObjectMeta)>, S3Error> {
        match self.store.object(bucket, key).await.map_err(error::store)? {
            None => Ok(None),
            Some(record) => {
                let meta = ObjectMeta::decode(&record.meta)?;
                Ok(Some((record, meta)))
            }
        }
    }

    /// The atomic condition a write must hold, checked early too so a doomed write stages
    /// nothing: `If-None-Match: *` and OSS forbid-overwrite need an absent key; `If-Match`
    /// needs the current object (404 when there is none) with a listed ETag.
    pub(crate) async fn write_precondition(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        conditions: &Conditions,
        forbid_overwrite: bool,
    ) -> Result<Precondition, S3Error> {
        let wants_absent = conditions.if_none_match.as_ref().is_some_and(|l| l.contains(&EtagCondition::Any));
        let needs_current = conditions.if_match.is_some() || conditions.if_none_match.is_some();
        if !needs_current && !forbid_overwrite {
            return Ok(Precondition::Any);
        }
        let current = self.object(bucket, key).await?;
        if forbid_overwrite && current.is_some() {
            return Err(S3Error::code(ErrorCode::FileAlreadyExists).with("Key", key.as_str()));
        }
        if wants_absent && current.is_some() {
            return Err(precondition_failed());
        }
        let mut cond = if forbid_overwrite || wants_absent { Precondition::Absent } else { Precondition::Any };
        if let Some(list) = &conditions.if_match {
            let Some((record, meta)) = &current else { return Err(no_such_key(key)) };
            if !etag_listed(list, &meta.etag()) {
                return Err(precondition_failed());
            }
            cond = Precondition::Generation(record.generation);
        }
        if let Some(list) = &conditions.if_none_match
            && !wants_absent
        {
            match &current {
                Some((_, meta)) if etag_listed(list, &meta.etag()) => return Err(precondition_failed()),
                Some((record, _)) if cond == Precondition::Any => cond = Precondition::Generation(record.generation),
                None if cond == Precondition::Any => cond = Precondition::Absent,
                _ => {}
            }
        }
        Ok(cond)
    }

    /// Stages a payload and returns it with its digests; refuses a stream whose length is
    /// not `expected`, or (without an expected length) longer than `max`.
    pub(crate) async fn stage_payload(
        &self,
        bucket: &BucketName,
        payload: Payload,
        expected: Option<u64>,
        max: u64,
        algorithm: Option<ChecksumAlgorithm>,
        seal: Option<&Sealed>,
    ) -> Result<(Staged, PayloadSummary), S3Error> {
        let Payload { stream, summary, .. } = payload;
        let stream = match expected {
            Some(_) => stream,
            None => crate::digest::capped(stream, max),
        };
        // Digests are of the plaintext; the store sees only ciphertext when `seal` is given.
        let encrypt = |s: ByteStream| match seal {
            Some(seal) => seal.encrypt(s),
            None => Ok(s),
        };
        let (staged, summary) = match summary {
            SummarySource::Compute => {
                let digester = Digester::new(algorithm);
                let stream = encrypt(digester.wrap(stream))?;
                let staged = self.store.stage_pending(bucket, stream).await.map_err(error::store)?;
                (staged, Some(digester.summary()))
            }
            SummarySource::Provided(cell) => {
                let staged = self.store.stage_pending(bucket, encrypt(stream)?).await.map_err(error::store)?;
                (staged, cell.get().cloned())
            }
        };
        let Some(summary) = summary else {
            let _ = self.store.discard(bucket, staged.id).await;
            return Err(internal("the front-end did not provide the payload's digests"));
        };
        if expected.is_some_and(|e| e != staged.len) {
            let _ = self.store.discard(bucket, staged.id).await;
            return Err(S3Error::code(ErrorCode::IncompleteBody));
        }
        Ok((staged, summary))
    }

    /// Stages `range` of a copy source, decrypted (with `source.key` for SSE-C), digested, and
    /// encrypted again under `seal` when given.
    pub(crate) async fn stage_copy(
        &self,
        source: &SourceRead<'_>,
        range: Range<u64>,
        dest_bucket: &BucketName,
        algorithm: Option<ChecksumAlgorithm>,
        seal: Option<&Sealed>,
    ) -> Result<(Staged, PayloadSummary), S3Error> {
        let length = range.end - range.start;
        let stream = self.read_range(source.bucket, source.key, &source.record, range.clone()).await?;
        let stream = self.decrypt(&source.meta, stream, range, source.customer.clone())?;
        let payload = Payload { stream, length, summary: SummarySource::Compute };
        self.stage_payload(dest_bucket, payload, Some(length), length, algorithm, seal).await
    }

    async fn read_range(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        record: &ObjectRecord,
        range: Range<u64>,
    ) -> Result<ByteStream, S3Error> {
        match self.store.read(bucket, key, record, range).await {
            Ok(s) => Ok(s),
            // Replaced or deleted since it was looked up.
            Err(StoreError::NoSuchKey) => Err(no_such_key(key)),
            Err(e) => Err(error::store(e)),
        }
    }

    /// Commits one staged extent as the object; discards it on failure.
    #[allow(clippy::too_many_arguments)]
    async fn commit_single(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        staged: Staged,
        meta: &ObjectMeta,
        cond: Precondition,
        forbid_overwrite: bool,
        now: Timestamp,
    ) -> Result<ObjectRecord, S3Error> {
        let write = ObjectWrite { parts: vec![staged.id], meta: meta.encode(), modified: now.as_millis() };
        match self.store.assemble(bucket, key, write, cond, None).await {
            Ok(r) => Ok(r),
            Err(e) => {
                let _ = self.store.discard(bucket, staged.id).await;
                Err(match e {
                    StoreError::PreconditionFailed if forbid_overwrite => {
                        S3Error::code(ErrorCode::FileAlreadyExists).with("Key", key.as_str())
                    }
                    StoreError::PreconditionFailed => precondition_failed(),
                    other => error::store(other),
                })
            }
        }
    }

    pub(crate) async fn put_object(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        put: Put,
        payload: Payload,
    ) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        if !cx.may_write(&record, &config) {
            return Err(access_denied());
        }
        let expected = put.length.map(|_| payload.length);
        if put.length.is_some_and(|l| l > MAX_PUT_SIZE) || expected.is_some_and(|l| l > MAX_PUT_SIZE) {
            return Err(S3Error::code(ErrorCode::EntityTooLarge));
        }
        let mut attrs = StoredAttributes::from_request(&put.attributes, cx.dialect, StoredOwner::of(cx.principal));
        let sse = self.resolve_sse(put.attributes.sse.as_ref(), &config)?;
        let cond = self.write_precondition(bucket, key, &put.conditions, put.forbid_overwrite).await?;
        let sealed = sse.as_ref().map(|w| self.seal(&w.stored, w.customer.as_ref())).transpose()?;
        let algorithm = put.attributes.checksum_algorithm;
        let (staged, summary) =
            self.stage_payload(bucket, payload, expected, MAX_PUT_SIZE, algorithm, sealed.as_ref()).await?;
        let checksum = summary.checksum.as_ref().filter(|c| algorithm.is_none_or(|a| a == c.algorithm()));
        let etag;
        (attrs.sse, etag) = written_sse(sse, sealed, &summary.md5);
        let sse = attrs.sse.as_ref().and_then(StoredSse::response);
        let meta = ObjectMeta::single(&etag, attrs, summary.crc64ecma, checksum);
        self.commit_single(bucket, key, staged, &meta, cond, put.forbid_overwrite, cx.now).await?;
        Ok(EngineResponse::new(Output::ObjectWritten {
            etag,
            crc64ecma: summary.crc64ecma,
            checksum: checksum.cloned(),
            sse,
            document: None,
        }))
    }

    pub(crate) async fn get_object(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        read: Read,
        overrides: ResponseOverrides,
    ) -> Result<EngineResponse, S3Error> {
        let (brecord, config) = self.bucket(bucket).await?;
        if matches!(cx.principal, tessera_proto::ops::Principal::Anonymous) && overrides != ResponseOverrides::default()
        {
            return Err(invalid_request(
                "Request specific response headers cannot be used for anonymous GET requests.",
            ));
        }
        if read.range.is_some() && read.part_number.is_some() {
            return Err(invalid_request("Cannot specify both Range header and partNumber query parameter."));
        }
        // A reader racing a writer may find its record replaced between lookup and read:
        // look up again (a few times) rather than fail.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let Some((record, meta)) = self.object(bucket, key).await? else {
                return Err(if cx.may_list(&brecord, &config) { no_such_key(key) } else { access_denied() });
            };
            if !cx.may_read_object(&brecord, &config, &meta) {
                return Err(access_denied());
            }
            let customer = read_key(meta.attributes.sse.as_ref(), read.sse_customer.as_ref())?;
            let etag = meta.etag();
            let last_modified = Timestamp::from_millis(record.modified);
            match check_read(&read.conditions, &etag, last_modified.as_secs()) {
                ReadCheck::Proceed => {}
                ReadCheck::NotModified => {
                    return Ok(EngineResponse::new(Output::NotModified { etag, last_modified }));
                }
                ReadCheck::Failed => return Err(precondition_failed()),
            }
            let range = self.served_range(&record, &meta, read.range, read.part_number)?;
            let body = if read.with_body {
                let bytes = range.map_or(0..record.size, |r| r.first..r.last + 1);
                match self.store.read(bucket, key, &record, bytes.clone()).await {
                    Ok(s) => Some(self.decrypt(&meta, s, bytes, customer)?),
                    Err(StoreError::NoSuchKey) if attempts < 3 => continue,
                    Err(StoreError::NoSuchKey) => return Err(no_such_key(key)),
                    Err(e) => return Err(error::store(e)),
                }
            } else {
                None
            };
            let head = object_head(&record, &meta, read.part_number.is_none());
            return Ok(EngineResponse { output: Output::Object { head, range, overrides }, body });
        }
    }

    /// The range a GET serves: a `Range` header resolved against the object, or the bytes of
    /// part `partNumber` (a single-part object has one part, the whole object).
    fn served_range(
        &self,
        record: &ObjectRecord,
        meta: &ObjectMeta,
        range: Option<ByteRange>,
        part_number: Option<PartNumber>,
    ) -> Result<Option<ResolvedRange>, S3Error> {
        if let Some(r) = range {
            return r
                .resolve(record.size)
                .map(Some)
                .map_err(|e| S3Error::from(e).with("ActualObjectSize", record.size.to_string()));
        }
        let Some(n) = part_number else { return Ok(None) };
        let n = n.get();
        if meta.parts.is_empty() {
            if n != 1 {
                return Err(invalid_part_number());
            }
            return Ok((record.size > 0).then(|| ResolvedRange { first: 0, last: record.size - 1 }));
        }
        let mut offset = 0u64;
        for p in &meta.parts {
            if p.number == n {
                return Ok((p.size > 0).then(|| ResolvedRange { first: offset, last: offset + p.size - 1 }));
            }
            offset += p.size;
        }
        Err(invalid_part_number())
    }

    pub(crate) async fn delete_object(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        conditions: &Conditions,
    ) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        if !cx.may_write(&record, &config) {
            return Err(access_denied());
        }
        let cond = match &conditions.if_match {
            None => Precondition::Any,
            Some(list) => match self.object(bucket, key).await? {
                None => return Err(no_such_key(key)),
                Some((r, meta)) if etag_listed(list, &meta.etag()) => Precondition::Generation(r.generation),
                Some(_) => return Err(precondition_failed()),
            },
        };
        match self.store.delete_object(bucket, key, cond).await {
            Ok(_) | Err(StoreError::NoSuchKey) => Ok(EngineResponse::new(Output::NoContent)),
            Err(StoreError::PreconditionFailed) => Err(precondition_failed()),
            Err(e) => Err(error::store(e)),
        }
    }

    pub(crate) async fn delete_objects(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        body: Bytes,
    ) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        let request: xml::Delete = xml::from_xml(&body).map_err(error::xml)?;
        if request.objects.is_empty() {
            return Err(S3Error::new(ErrorCode::MalformedXML, "The Delete request names no object."));
        }
        let quiet = request.quiet.unwrap_or(false);
        let allowed = cx.may_write(&record, &config);
        let mut result = xml::DeleteResult::default();
        for object in request.objects {
            let fail = |code: &ErrorCode, message: &str, key: &str| xml::DeleteError {
                key: key.to_owned(),
                version_id: object.version_id.clone(),
                code: code.as_str().to_owned(),
                message: message.to_owned(),
            };
            if !allowed {
                let code = ErrorCode::AccessDenied;
                result.errors.push(fail(&code, code.default_message(), &object.key));
                continue;
            }
            if object.version_id.as_deref().is_some_and(|v| v != "null") {
                let code = ErrorCode::Custom { code: "NoSuchVersion".into(), status: 404 };
                result.errors.push(fail(&code, "The specified version does not exist.", &object.key));
                continue;
            }
            let key = match ObjectKey::new(&object.key) {
                Ok(k) => k,
                Err(e) => {
                    result.errors.push(fail(&e.code, &e.message, &object.key));
                    continue;
                }
            };
            match self.store.delete_object(bucket, &key, Precondition::Any).await {
                Ok(_) | Err(StoreError::NoSuchKey) => {
                    if !quiet {
                        result.deleted.push(xml::DeletedObject {
                            key: object.key.clone(),
                            version_id: object.version_id.clone(),
                            ..xml::DeletedObject::default()
                        });
                    }
                }
                Err(e) => {
                    let err = error::store(e);
                    result.errors.push(fail(&err.code, &err.message, &object.key));
                }
            }
        }
        Ok(EngineResponse::new(Output::Xml(result.into())))
    }

    /// The source object of a copy, its bucket checked for read access and its copy
    /// conditions evaluated (any failed condition is 412, as S3 answers copies).
    pub(crate) async fn copy_source<'a>(&self, cx: &Cx<'_>, source: &'a CopySource) -> Result<SourceRead<'a>, S3Error> {
        let (brecord, config) = self.bucket(&source.bucket).await?;
        if source.version_id.as_deref().is_some_and(|v| v != "null") {
            return Err(error::invalid_argument("Invalid version id specified"));
        }
        let Some((record, meta)) = self.object(&source.bucket, &source.key).await? else {
            return Err(if cx.may_list(&brecord, &config) { no_such_key(&source.key) } else { access_denied() });
        };
        if !cx.may_read_object(&brecord, &config, &meta) {
            return Err(access_denied());
        }
        let customer = read_key(meta.attributes.sse.as_ref(), source.sse_customer.as_ref())?;
        let modified = Timestamp::from_millis(record.modified).as_secs();
        if check_read(&source.conditions, &meta.etag(), modified) != ReadCheck::Proceed {
            return Err(precondition_failed());
        }
        Ok(SourceRead { bucket: &source.bucket, key: &source.key, record, meta, customer })
    }

    pub(crate) async fn copy_object(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        copy: Copy,
    ) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        if !cx.may_write(&record, &config) {
            return Err(access_denied());
        }
        let src = self.copy_source(cx, &copy.source).await?;
        let (src_record, src_meta) = (&src.record, &src.meta);
        let request = &copy.attributes;
        let same = copy.source.bucket == *bucket && copy.source.key == *key;
        let changes = copy.metadata_directive == MetadataDirective::Replace
            || copy.replace_tagging
            || request.storage_class.is_some()
            || request.sse.is_some()
            || request.website_redirect.is_some();
        if same && !changes {
            return Err(invalid_request(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            ));
        }
        if src_record.size > MAX_PUT_SIZE {
            return Err(invalid_request(
                "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120",
            ));
        }
        let owner = StoredOwner::of(cx.principal);
        let mut attrs = match copy.metadata_directive {
            MetadataDirective::Replace => StoredAttributes::from_request(request, cx.dialect, owner),
            MetadataDirective::Copy => {
                let mut a = src_meta.attributes.clone();
                a.owner = owner;
                a.dialect = cx.dialect.name().to_owned();
                // Keep the source's storage class spelling only if this dialect knows it.
                a.storage_class = a.storage_class.filter(|s| StorageClass::parse(cx.dialect, s).is_ok());
                a.acl = crate::meta::StoredAcl::from_request(&request.acl);
                a
            }
        };
        if let Some(class) = request.storage_class {
            attrs.storage_class = Some(class.as_str().to_owned());
        }
        if let Some(w) = &request.website_redirect {
            attrs.website_redirect = Some(w.as_str().to_owned());
        }
        attrs.tags = if copy.replace_tagging {
            request
                .tagging
                .as_ref()
                .map(|t| t.tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect())
                .unwrap_or_default()
        } else {
            src_meta.attributes.tags.clone()
        };
        let sse = self.resolve_sse(request.sse.as_ref(), &config)?;
        let cond = self.write_precondition(bucket, key, &copy.conditions, copy.forbid_overwrite).await?;
        let algorithm = src_meta.checksum.as_ref().and_then(|c| c.parse()).map(|(c, _)| c.algorithm());
        let algorithm = request.checksum_algorithm.or(algorithm);
        let sealed = sse.as_ref().map(|w| self.seal(&w.stored, w.customer.as_ref())).transpose()?;
        let (staged, summary) = self.stage_copy(&src, 0..src_record.size, bucket, algorithm, sealed.as_ref()).await?;
        let etag;
        (attrs.sse, etag) = written_sse(sse, sealed, &summary.md5);
        let sse = attrs.sse.as_ref().and_then(StoredSse::response);
        let meta = ObjectMeta::single(&etag, attrs, summary.crc64ecma, summary.checksum.as_ref());
        let written = self.commit_single(bucket, key, staged, &meta, cond, copy.forbid_overwrite, cx.now).await?;
        let mut document = xml::CopyObjectResult::new(Timestamp::from_millis(written.modified), etag.clone());
        if let Some(c) = &summary.checksum {
            set_checksum_field(&mut document, c);
            document.checksum_type = Some(ChecksumType::FullObject.as_str().to_owned());
        }
        Ok(EngineResponse::new(Output::ObjectWritten {
            etag,
            crc64ecma: summary.crc64ecma,
            checksum: summary.checksum,
            sse,
            document: Some(document.into()),
        }))
    }

    /// Rewrites an object's metadata (tags, ACL) without changing its data or ETag. The store
    /// has no metadata-only update, so the data is copied into a new extent and committed
    /// only if the object is still the same generation (retried on a race).
    async fn rewrite_meta(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        edit: impl Fn(&mut ObjectMeta),
    ) -> Result<(), S3Error> {
        for _ in 0..3 {
            let Some((record, mut meta)) = self.object(bucket, key).await? else { return Err(no_such_key(key)) };
            edit(&mut meta);
            let stream = match self.store.read(bucket, key, &record, 0..record.size).await {
                Ok(s) => s,
                Err(StoreError::NoSuchKey) => continue,
                Err(e) => return Err(error::store(e)),
            };
            let staged = self.store.stage_pending(bucket, stream).await.map_err(error::store)?;
            let write = ObjectWrite { parts: vec![staged.id], meta: meta.encode(), modified: record.modified };
            match self.store.assemble(bucket, key, write, Precondition::Generation(record.generation), None).await {
                Ok(_) => return Ok(()),
                Err(StoreError::PreconditionFailed) => {
                    let _ = self.store.discard(bucket, staged.id).await;
                }
                Err(e) => {
                    let _ = self.store.discard(bucket, staged.id).await;
                    return Err(error::store(e));
                }
            }
        }
        Err(S3Error::new(
            ErrorCode::Custom { code: "OperationAborted".into(), status: 409 },
            "The object changed while its metadata was being updated; try again.",
        ))
    }

    /// The bucket and object, checked for the caller's `permission` on the object (the bucket
    /// owner and the object's owner have every permission).
    async fn object_for(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        permission: Permission,
    ) -> Result<(BucketRecord, ObjectRecord, ObjectMeta), S3Error> {
        let (brecord, config) = self.bucket(bucket).await?;
        let Some((record, meta)) = self.object(bucket, key).await? else {
            return Err(if cx.may_list(&brecord, &config) { no_such_key(key) } else { access_denied() });
        };
        let owner = cx.owns(&brecord) || (!cx.id().is_empty() && meta.attributes.owner.id == cx.id());
        let granted = match permission {
            Permission::Read => cx.may_read_object(&brecord, &config, &meta),
            p => meta.attributes.acl.as_ref().is_some_and(|a| a.grants(cx.principal, p)),
        };
        if !owner && !granted {
            return Err(access_denied());
        }
        Ok((brecord, record, meta))
    }

    pub(crate) async fn get_tagging(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<EngineResponse, S3Error> {
        let (_, _, meta) = self.object_for(cx, bucket, key, Permission::Read).await?;
        let tagging: xml::Tagging = meta.attributes.tag_set().into();
        Ok(EngineResponse::new(Output::Xml(tagging.into())))
    }

    /// PutObjectTagging (`Some(body)`) or DeleteObjectTagging (`None`).
    pub(crate) async fn put_tagging(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        body: Option<Bytes>,
    ) -> Result<EngineResponse, S3Error> {
        let (brecord, config) = self.bucket(bucket).await?;
        if !cx.may_write(&brecord, &config) {
            return Err(access_denied());
        }
        let tags: Vec<(String, String)> = match &body {
            Some(b) => {
                let tagging: xml::Tagging = xml::from_xml(b).map_err(error::xml)?;
                let set = tagging.to_object_tags().map_err(S3Error::from)?;
                set.tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect()
            }
            None => Vec::new(),
        };
        self.rewrite_meta(bucket, key, |m| m.attributes.tags = tags.clone()).await?;
        Ok(EngineResponse::new(if body.is_some() { Output::Ok } else { Output::NoContent }))
    }

    pub(crate) async fn get_object_acl(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<EngineResponse, S3Error> {
        let (_, _, meta) = self.object_for(cx, bucket, key, Permission::ReadAcp).await?;
        let acl = meta.attributes.acl.clone().unwrap_or_default();
        Ok(EngineResponse::new(Output::Xml(acl.to_policy(&meta.attributes.owner).into())))
    }

    pub(crate) async fn put_object_acl(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        acl: AclRequest,
        body: RequestBody,
    ) -> Result<EngineResponse, S3Error> {
        self.object_for(cx, bucket, key, Permission::WriteAcp).await?;
        let stored = acl_from(&acl, body)?;
        self.rewrite_meta(bucket, key, |m| m.attributes.acl = Some(stored.clone())).await?;
        Ok(EngineResponse::new(Output::Ok))
    }

    pub(crate) async fn object_attributes(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        key: &ObjectKey,
        wanted: &[String],
        (max_parts, part_number_marker): (Option<u32>, Option<u32>),
        sse_customer: Option<&SseRequest>,
    ) -> Result<EngineResponse, S3Error> {
        let (_, record, meta) = self.object_for(cx, bucket, key, Permission::Read).await?;
        read_key(meta.attributes.sse.as_ref(), sse_customer)?;
        let wants = |name: &str| wanted.iter().any(|w| w.trim().eq_ignore_ascii_case(name));
        let mut out = xml::GetObjectAttributesOutput::default();
        if wants("ETag") {
            out.etag = Some(meta.etag());
        }
        if wants("ObjectSize") {
            out.object_size = Some(record.size);
        }
        if wants("StorageClass") {
            let dialect = meta.attributes.dialect();
            let class = meta.attributes.storage_class().unwrap_or_else(|| StorageClass::default_for(dialect));
            out.storage_class = Some(class.as_str().to_owned());
        }
        if wants("Checksum")
            && let Some((c, kind)) = meta.checksum.as_ref().and_then(StoredChecksum::parse)
        {
            let mut sum = xml::GetObjectAttributesChecksum {
                checksum_type: Some(kind.as_str().to_owned()),
                ..Default::default()
            };
            let value = c.to_base64();
            match c.algorithm() {
                ChecksumAlgorithm::Crc32 => sum.checksum_crc32 = Some(value),
                ChecksumAlgorithm::Crc32c => sum.checksum_crc32c = Some(value),
                ChecksumAlgorithm::Crc64Nvme => sum.checksum_crc64nvme = Some(value),
                ChecksumAlgorithm::Sha1 => sum.checksum_sha1 = Some(value),
                ChecksumAlgorithm::Sha256 => sum.checksum_sha256 = Some(value),
            }
            out.checksum = Some(sum);
        }
        if wants("ObjectParts") && !meta.parts.is_empty() {
            let marker = part_number_marker.unwrap_or(0);
            let max = max_parts.unwrap_or(1000).min(1000);
            let algorithm = meta.checksum.as_ref().and_then(StoredChecksum::parse).map(|(c, _)| c.algorithm());
            let after: Vec<_> = meta.parts.iter().filter(|p| p.number > marker).collect();
            let page: Vec<_> = after.iter().take(max as usize).collect();
            let is_truncated = after.len() > page.len();
            let parts = page
                .iter()
                .filter_map(|p| {
                    let mut part = xml::ObjectPart {
                        part_number: PartNumber::new(p.number).ok()?,
                        size: p.size,
                        checksum_crc32: None,
                        checksum_crc32c: None,
                        checksum_crc64nvme: None,
                        checksum_sha1: None,
                        checksum_sha256: None,
                    };
                    if let (Some(a), Some(v)) = (algorithm, p.checksum.clone()) {
                        match a {
                            ChecksumAlgorithm::Crc32 => part.checksum_crc32 = Some(v),
                            ChecksumAlgorithm::Crc32c => part.checksum_crc32c = Some(v),
                            ChecksumAlgorithm::Crc64Nvme => part.checksum_crc64nvme = Some(v),
                            ChecksumAlgorithm::Sha1 => part.checksum_sha1 = Some(v),
                            ChecksumAlgorithm::Sha256 => part.checksum_sha256 = Some(v),
                        }
                    }
                    Some(part)
                })
                .collect::<Vec<_>>();
            out.object_parts = Some(xml::GetObjectAttributesParts {
                total_parts_count: u32::try_from(meta.parts.len()).ok(),
                part_number_marker: Some(marker),
                next_part_number_marker: parts.last().map(|p| p.part_number.get()),
                max_parts: Some(max),
                is_truncated: Some(is_truncated),
                parts,
            });
        }
        Ok(EngineResponse::new(Output::Xml(out.into())))
    }
}

/// Sets the element of `doc` that carries `c`'s algorithm.
fn set_checksum_field(doc: &mut xml::CopyObjectResult, c: &tessera_proto::Checksum) {
    let v = Some(c.to_base64());
    match c.algorithm() {
        ChecksumAlgorithm::Crc32 => doc.checksum_crc32 = v,
        ChecksumAlgorithm::Crc32c => doc.checksum_crc32c = v,
        ChecksumAlgorithm::Crc64Nvme => doc.checksum_crc64nvme = v,
        ChecksumAlgorithm::Sha1 => doc.checksum_sha1 = v,
        ChecksumAlgorithm::Sha256 => doc.checksum_sha256 = v,
    }
}

/// What GET and HEAD report. `whole` is false for a `partNumber` read (no object checksum).
pub(crate) fn object_head(record: &ObjectRecord, meta: &ObjectMeta, whole: bool) -> ObjectHead {
    let attrs = &meta.attributes;
    let dialect = attrs.dialect();
    ObjectHead {
        size: record.size,
        etag: meta.etag(),
        last_modified: Timestamp::from_millis(record.modified),
        content: attrs.content_headers(),
        metadata: attrs.user_metadata(),
        storage_class: attrs.storage_class().filter(|c| *c != StorageClass::default_for(dialect)),
        sse: attrs.sse.as_ref().and_then(StoredSse::response),
        tag_count: attrs.tags.len(),
        crc64ecma: meta.crc64ecma,
        checksum: if whole { meta.checksum.as_ref().and_then(StoredChecksum::parse) } else { None },
        parts_count: (!meta.parts.is_empty()).then(|| u32::try_from(meta.parts.len()).unwrap_or(u32::MAX)),
        website_redirect: attrs.website_redirect.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_conditions_follow_rfc_precedence() {
        let etag = ETag::from_md5(&[1; 16]);
        let other = ETag::from_md5(&[2; 16]);
        let tag = |e: &ETag| Some(vec![EtagCondition::Tag(e.clone())]);
        let c = |m, n, ims, ius| Conditions {
            if_match: m,
            if_none_match: n,
            if_modified_since: ims,
            if_unmodified_since: ius,
        };
        assert_eq!(check_read(&Conditions::default(), &etag, 100), ReadCheck::Proceed);
        assert_eq!(check_read(&c(tag(&other), None, None, None), &etag, 100), ReadCheck::Failed);
        assert_eq!(check_read(&c(tag(&etag), None, None, Some(50)), &etag, 100), ReadCheck::Proceed);
        assert_eq!(check_read(&c(None, None, None, Some(50)), &etag, 100), ReadCheck::Failed);
        assert_eq!(check_read(&c(None, tag(&etag), Some(50), None), &etag, 100), ReadCheck::NotModified);
        assert_eq!(check_read(&c(None, tag(&other), Some(150), None), &etag, 100), ReadCheck::Proceed);
        assert_eq!(check_read(&c(None, None, Some(100), None), &etag, 100), ReadCheck::NotModified);
        assert_eq!(check_read(&c(tag(&other), tag(&etag), None, None), &etag, 100), ReadCheck::Failed);
        let any = Some(vec![EtagCondition::Any]);
        assert_eq!(check_read(&c(any.clone(), None, None, None), &etag, 100), ReadCheck::Proceed);
        assert_eq!(check_read(&c(None, any, None, None), &etag, 100), ReadCheck::NotModified);
    }
}
