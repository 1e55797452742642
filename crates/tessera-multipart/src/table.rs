//! The server side: a table of open multipart uploads.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hasher;
use std::time::Duration;

use tessera_proto::{
    BucketName, Checksum, ChecksumAlgorithm, ChecksumType, Dialect, ETag, ObjectKey, PartNumber, UploadId,
};

use crate::action::{
    Action, AssembleFailed, Assembly, AssemblyPart, CompleteRequest, CompletedUpload, Completion, PartReceipt,
    PartTicket,
};
use crate::digest::{Crc, CrcCombiner, object_checksum};
use crate::error::{ApiMisuse, InvalidPartReason, MultipartError};
use crate::record::{ChecksumMode, PartRecord, StageRef, UploadRecord};
use crate::{Limits, Timestamp};

/// How an [`UploadTable`] behaves where S3 leaves a choice.
#[derive(Clone, Debug)]
pub struct Config {
    /// Abort uploads this long after initiation when their bucket has no
    /// AbortIncompleteMultipartUpload rule; `None` keeps them until aborted.
    pub default_expiry: Option<Duration>,
    /// How long a completed upload keeps answering a retried, identical Complete with the
    /// same success.
    pub completed_grace: Duration,
    limits: [Limits; 5],
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_expiry: None,
            completed_grace: Duration::from_secs(3600),
            limits: Dialect::ALL.map(Limits::for_dialect),
        }
    }
}

impl Config {
    /// The limits new uploads of `dialect` get.
    pub fn limits(&self, dialect: Dialect) -> Limits {
        self.limits.get(dialect as usize).copied().unwrap_or_else(|| Limits::for_dialect(dialect))
    }

    /// Overrides the limits of `dialect` (for uploads created from now on).
    pub fn with_limits(mut self, dialect: Dialect, limits: Limits) -> Config {
        if let Some(slot) = self.limits.get_mut(dialect as usize) {
            *slot = limits;
        }
        self
    }

    /// Sets [`Config::default_expiry`].
    pub fn with_default_expiry(mut self, after: Option<Duration>) -> Config {
        self.default_expiry = after;
        self
    }

    /// Sets [`Config::completed_grace`].
    pub fn with_completed_grace(mut self, grace: Duration) -> Config {
        self.completed_grace = grace;
        self
    }

    /// Overrides the limits of every dialect.
    pub fn with_all_limits(mut self, limits: Limits) -> Config {
        self.limits = [limits; 5];
        self
    }
}

/// The creation data of an upload, as the engine gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUpload {
    /// The bucket.
    pub bucket: BucketName,
    /// The key the object will have.
    pub key: ObjectKey,
    /// The dialect of the request.
    pub dialect: Dialect,
    /// The initiating principal (the engine checks later requests against it).
    pub owner: String,
    /// `x-amz-checksum-algorithm`, if sent.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// `x-amz-checksum-type`, if sent (defaults per algorithm).
    pub checksum_type: Option<ChecksumType>,
    /// Opaque to the machine: content headers, user metadata, encryption settings…; handed
    /// back in [`Assembly::metadata`].
    pub metadata: Vec<u8>,
}

impl NewUpload {
    /// An upload of `key` in `bucket` with no owner, checksum or metadata.
    pub fn new(bucket: BucketName, key: ObjectKey, dialect: Dialect) -> NewUpload {
        NewUpload {
            bucket,
            key,
            dialect,
            owner: String::new(),
            checksum_algorithm: None,
            checksum_type: None,
            metadata: Vec::new(),
        }
    }
}

/// A part as a query answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartInfo {
    /// Its number.
    pub number: PartNumber,
    /// Its ETag.
    pub etag: ETag,
    /// Its length.
    pub size: u64,
    /// When it finished uploading.
    pub last_modified: Timestamp,
    /// Its additional checksum.
    pub checksum: Option<Checksum>,
    /// Its CRC-64/XZ.
    pub crc64ecma: u64,
}

impl PartInfo {
    pub(crate) fn of(p: &PartRecord) -> PartInfo {
        PartInfo {
            number: p.number,
            etag: ETag::from_md5(&p.md5),
            size: p.size,
            last_modified: p.last_modified,
            checksum: p.checksum.clone(),
            crc64ecma: p.crc64ecma,
        }
    }
}

/// Whether an upload is taking parts or waiting for its assembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadState {
    /// Parts may be added; Complete may start.
    Open,
    /// An assembly is under way; parts and other completions are refused until it ends.
    Completing,
}

#[derive(Clone, Debug)]
struct Pending {
    fingerprint: u64,
    listed: Vec<PartNumber>,
    result: CompletedUpload,
}

/// One open upload, as [`UploadTable::upload`] shows it.
#[derive(Clone, Debug)]
pub struct Upload {
    pub(crate) id: UploadId,
    pub(crate) bucket: BucketName,
    pub(crate) key: ObjectKey,
    pub(crate) dialect: Dialect,
    pub(crate) owner: String,
    pub(crate) initiated: Timestamp,
    pub(crate) checksum: Option<ChecksumMode>,
    pub(crate) limits: Limits,
    pub(crate) metadata: Vec<u8>,
    pub(crate) parts: BTreeMap<PartNumber, PartRecord>,
    deadline: Option<Timestamp>,
    pending: Option<Pending>,
    /// Which incarnation of the id this is: a ticket of an aborted upload must not land in
    /// a new upload that happens to reuse its id.
    serial: u64,
}

impl Upload {
    /// The upload id.
    pub fn id(&self) -> &UploadId {
        &self.id
    }
    /// The bucket.
    pub fn bucket(&self) -> &BucketName {
        &self.bucket
    }
    /// The object key.
    pub fn key(&self) -> &ObjectKey {
        &self.key
    }
    /// The dialect it was created in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
    /// The initiating principal.
    pub fn owner(&self) -> &str {
        &self.owner
    }
    /// When it was created.
    pub fn initiated(&self) -> Timestamp {
        self.initiated
    }
    /// Its additional checksum.
    pub fn checksum(&self) -> Option<ChecksumMode> {
        self.checksum
    }
    /// The limits it is held to.
    pub fn limits(&self) -> Limits {
        self.limits
    }
    /// The engine's opaque metadata.
    pub fn metadata(&self) -> &[u8] {
        &self.metadata
    }
    /// Open or completing.
    pub fn state(&self) -> UploadState {
        if self.pending.is_some() { UploadState::Completing } else { UploadState::Open }
    }
    /// When expiry will abort it, if ever (none while completing).
    pub fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }
    /// The number of parts uploaded.
    pub fn part_count(&self) -> usize {
        self.parts.len()
    }
    /// One part.
    pub fn part(&self, number: PartNumber) -> Option<PartInfo> {
        self.parts.get(&number).map(PartInfo::of)
    }
    /// Whether the upload is `(bucket, key)`'s: requests naming another bucket or key with
    /// this upload id must get NoSuchUpload.
    pub fn is_for(&self, bucket: &BucketName, key: &ObjectKey) -> bool {
        &self.bucket == bucket && &self.key == key
    }

    /// Its persisted form.
    pub fn record(&self) -> UploadRecord {
        UploadRecord {
            format: UploadRecord::FORMAT,
            upload_id: self.id.clone(),
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            dialect: self.dialect,
            owner: self.owner.clone(),
            initiated: self.initiated,
            checksum: self.checksum,
            limits: self.limits,
            metadata: self.metadata.clone(),
            parts: self.parts.values().cloned().collect(),
        }
    }
}

#[derive(Clone, Debug)]
struct Tombstone {
    fingerprint: u64,
    result: CompletedUpload,
}

/// Entry of the listing index: key bytes, initiation, id. Key bytes (not `str`) so a seek
/// past every key under a prefix can use the byte 0xFF, which no UTF-8 key contains.
pub(crate) type IndexEntry = (Box<[u8]>, Timestamp, Box<str>);

/// The server's table of multipart uploads: a deterministic state machine with no I/O.
///
/// The embedder (the engine, or any HTTP stack) calls commands with `now`, performs the
/// storage work the table asks for, and hands back outcomes:
///
/// 1. Commands: [`create`](Self::create), [`begin_part`](Self::begin_part) →
///    stage bytes → [`finish_part`](Self::finish_part) (or [`abandon_part`](Self::abandon_part)),
///    [`complete`](Self::complete), [`abort`](Self::abort),
///    [`set_bucket_expiry`](Self::set_bucket_expiry), [`restore`](Self::restore).
/// 2. After **every** command, drain [`poll_action`](Self::poll_action) until `None` and
///    perform the actions **in the order given**. The order is chosen so that a crash
///    between any two actions leaves persisted state that restores correctly: a part record is
///    persisted before the bytes it replaces are discarded, and an upload record is deleted
///    before its parts' bytes are, so no record ever names discarded bytes (at worst, staged
///    bytes are orphaned, which the store's start-up sweep collects).
/// 3. Report the outcome of each [`Action::Assemble`] with
///    [`handle_assembled`](Self::handle_assembled) (then drain again).
/// 4. Call [`poll_timeout`](Self::poll_timeout) after draining, and
///    [`handle_timeout`](Self::handle_timeout) when that time comes (then drain again).
///
/// Upload ids are injected: the embedder mints them (from its random source) and passes one
/// to `create`. Every staged part ends in exactly one assembly or one discard.
#[derive(Debug, Default)]
pub struct UploadTable {
    config: Config,
    pub(crate) uploads: HashMap<UploadId, Upload>,
    /// Per bucket, every upload ordered by key, initiation, id (ListMultipartUploads).
    pub(crate) index: BTreeMap<BucketName, BTreeSet<IndexEntry>>,
    deadlines: BTreeSet<(Timestamp, UploadId)>,
    bucket_expiry: HashMap<BucketName, Duration>,
    completed: HashMap<UploadId, Tombstone>,
    purges: BTreeSet<(Timestamp, UploadId)>,
    tickets: HashSet<u64>,
    next_attempt: u64,
    next_serial: u64,
    actions: VecDeque<Action>,
}

impl UploadTable {
    /// An empty table.
    pub fn new(config: Config) -> UploadTable {
        UploadTable { config, ..UploadTable::default() }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One open or completing upload.
    pub fn upload(&self, id: &UploadId) -> Option<&Upload> {
        self.uploads.get(id)
    }

    /// The upload `id` if it belongs to `(bucket, key)`; NoSuchUpload otherwise.
    pub fn lookup(&self, bucket: &BucketName, key: &ObjectKey, id: &UploadId) -> Result<&Upload, MultipartError> {
        self.uploads.get(id).filter(|u| u.is_for(bucket, key)).ok_or(MultipartError::NoSuchUpload)
    }

    /// The number of open or completing uploads.
    pub fn len(&self) -> usize {
        self.uploads.len()
    }

    /// Whether no upload is open or completing.
    pub fn is_empty(&self) -> bool {
        self.uploads.is_empty()
    }

    /// The number of tickets issued and not yet finished or abandoned.
    pub fn outstanding_tickets(&self) -> usize {
        self.tickets.len()
    }

    /// Every upload's persisted form, ordered by id.
    pub fn records(&self) -> Vec<UploadRecord> {
        let mut records: Vec<UploadRecord> = self.uploads.values().map(Upload::record).collect();
        records.sort_by(|a, b| a.upload_id.cmp(&b.upload_id));
        records
    }

    /// The next storage action to perform, in order; `None` when there is nothing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Creates an upload with the id the embedder minted.
    pub fn create(&mut self, id: UploadId, new: NewUpload, now: Timestamp) -> Result<(), MultipartError> {
        if self.uploads.contains_key(&id) || self.completed.contains_key(&id) {
            return Err(ApiMisuse::DuplicateUploadId.into());
        }
        let checksum = match (new.checksum_algorithm, new.checksum_type) {
            (None, None) => None,
            (None, Some(_)) => return Err(MultipartError::InvalidChecksumType),
            (Some(algorithm), kind) => {
                let kind = kind.unwrap_or_else(|| algorithm.default_type());
                if !algorithm.allows(kind) {
                    return Err(MultipartError::InvalidChecksumType);
                }
                Some(ChecksumMode { algorithm, kind })
            }
        };
        let upload = Upload {
            id: id.clone(),
            bucket: new.bucket,
            key: new.key,
            dialect: new.dialect,
            owner: new.owner,
            initiated: now,
            checksum,
            limits: self.config.limits(new.dialect),
            metadata: new.metadata,
            parts: BTreeMap::new(),
            deadline: None,
            pending: None,
            serial: 0,
        };
        self.actions.push_back(Action::PersistUpload { upload_id: id.clone(), record: Box::new(upload.record()) });
        self.insert(upload);
        Ok(())
    }

    /// Starts a part upload: checks the upload takes parts and issues the ticket naming
    /// where to stage the bytes. `declared_size` (Content-Length, or the decoded length of
    /// an aws-chunked body) lets an oversized part be refused before any byte is read.
    pub fn begin_part(
        &mut self,
        id: &UploadId,
        number: PartNumber,
        declared_size: Option<u64>,
        now: Timestamp,
    ) -> Result<PartTicket, MultipartError> {
        let upload = self.uploads.get(id).ok_or(MultipartError::NoSuchUpload)?;
        if upload.pending.is_some() {
            return Err(MultipartError::Completing);
        }
        if number.get() > upload.limits.max_parts {
            return Err(MultipartError::PartNumberTooHigh { number: number.get(), max: upload.limits.max_parts });
        }
        if let Some(size) = declared_size.filter(|&s| s > upload.limits.max_part_size) {
            return Err(MultipartError::PartTooLarge { size, max: upload.limits.max_part_size });
        }
        let attempt = self.next_attempt;
        // Restore refuses attempt numbers near the end of the range, so this never saturates.
        self.next_attempt = self.next_attempt.saturating_add(1);
        self.tickets.insert(attempt);
        Ok(PartTicket { upload_id: id.clone(), part_number: number, attempt, began: now, serial: upload.serial })
    }

    /// Records a staged part. The last part to finish under a number wins; the bytes it
    /// replaces are discarded. On any error the staged bytes are discarded too.
    pub fn finish_part(
        &mut self,
        ticket: PartTicket,
        receipt: PartReceipt,
        now: Timestamp,
    ) -> Result<ETag, MultipartError> {
        let result = self.accept_part(&ticket, &receipt, now);
        match result {
            Ok(replaced) => {
                let part = self.uploads.get(&ticket.upload_id).and_then(|u| u.parts.get(&ticket.part_number)).cloned();
                if let Some(part) = part {
                    self.actions.push_back(Action::PersistPart { upload_id: ticket.upload_id.clone(), part });
                }
                if let Some(old) = replaced {
                    self.actions.push_back(Action::Discard { stage: old });
                }
                Ok(ETag::from_md5(&receipt.md5))
            }
            Err(e) => {
                self.actions.push_back(Action::Discard { stage: receipt.stage });
                Err(e)
            }
        }
    }

    /// Validates and inserts; returns the stage of the part replaced, if any.
    fn accept_part(
        &mut self,
        ticket: &PartTicket,
        receipt: &PartReceipt,
        now: Timestamp,
    ) -> Result<Option<StageRef>, MultipartError> {
        if !self.tickets.remove(&ticket.attempt) {
            return Err(ApiMisuse::UnknownTicket.into());
        }
        let upload = self
            .uploads
            .get_mut(&ticket.upload_id)
            .filter(|u| u.serial == ticket.serial)
            .ok_or(MultipartError::NoSuchUpload)?;
        if upload.pending.is_some() {
            return Err(MultipartError::Completing);
        }
        if receipt.size > upload.limits.max_part_size {
            return Err(MultipartError::PartTooLarge { size: receipt.size, max: upload.limits.max_part_size });
        }
        if let Some(mode) = upload.checksum {
            match &receipt.checksum {
                None => return Err(MultipartError::PartChecksumMissing { expected: mode.algorithm }),
                Some(c) if c.algorithm() != mode.algorithm => {
                    return Err(MultipartError::PartChecksumMismatch { expected: mode.algorithm, got: c.algorithm() });
                }
                Some(_) => {}
            }
        }
        let part = PartRecord {
            number: ticket.part_number,
            stage: receipt.stage.clone(),
            size: receipt.size,
            md5: receipt.md5,
            checksum: receipt.checksum.clone(),
            crc64ecma: receipt.crc64ecma,
            attempt: ticket.attempt,
            last_modified: now,
            meta: receipt.meta.clone(),
        };
        Ok(upload.parts.insert(ticket.part_number, part).map(|old| old.stage))
    }

    /// Gives a ticket back when staging failed; nothing was recorded, nothing to discard.
    pub fn abandon_part(&mut self, ticket: PartTicket) -> Result<(), MultipartError> {
        if self.tickets.remove(&ticket.attempt) { Ok(()) } else { Err(ApiMisuse::UnknownTicket.into()) }
    }

    /// Completes an upload. Everything is validated before any side effect: a refused
    /// Complete leaves the upload exactly as it was.
    pub fn complete(
        &mut self,
        id: &UploadId,
        request: &CompleteRequest,
        now: Timestamp,
    ) -> Result<Completion, MultipartError> {
        let _ = now;
        let Some(upload) = self.uploads.get(id) else {
            return match self.completed.get(id) {
                Some(t) if fingerprint_of_request(request) == Some(t.fingerprint) => {
                    Ok(Completion::AlreadyCompleted(t.result.clone()))
                }
                _ => Err(MultipartError::NoSuchUpload),
            };
        };
        if upload.pending.is_some() {
            return Err(MultipartError::Completing);
        }
        let (assembly, pending) = plan_assembly(upload, request)?;
        if let Some(upload) = self.uploads.get_mut(id) {
            upload.pending = Some(pending);
            if let Some(deadline) = upload.deadline.take() {
                self.deadlines.remove(&(deadline, id.clone()));
            }
        }
        self.actions.push_back(Action::Assemble(Box::new(assembly)));
        Ok(Completion::Assembling)
    }

    /// Takes the outcome of an [`Action::Assemble`]. On success the upload is gone (a
    /// retried identical Complete still answers the same success for
    /// [`Config::completed_grace`]) and parts not listed are discarded; on failure the upload
    /// is open again, every part intact, and the client may retry.
    pub fn handle_assembled(
        &mut self,
        id: &UploadId,
        outcome: Result<(), AssembleFailed>,
        now: Timestamp,
    ) -> Result<Option<CompletedUpload>, MultipartError> {
        let Some(upload) = self.uploads.get_mut(id) else {
            return Err(ApiMisuse::NotAssembling.into());
        };
        let Some(pending) = upload.pending.take() else {
            return Err(ApiMisuse::NotAssembling.into());
        };
        if outcome.is_err() {
            self.schedule_expiry(id);
            return Ok(None);
        }
        let Some(upload) = self.remove(id) else { return Err(ApiMisuse::NotAssembling.into()) };
        self.actions.push_back(Action::DeleteUpload { upload_id: id.clone() });
        for (number, part) in upload.parts {
            if pending.listed.binary_search(&number).is_err() {
                self.actions.push_back(Action::Discard { stage: part.stage });
            }
        }
        let purge_at = now.saturating_add(self.config.completed_grace);
        self.purges.insert((purge_at, id.clone()));
        let result = pending.result;
        self.completed.insert(id.clone(), Tombstone { fingerprint: pending.fingerprint, result: result.clone() });
        Ok(Some(result))
    }

    /// Aborts an upload: its records are deleted and every staged part discarded. Parts
    /// still staging will be discarded when they finish.
    pub fn abort(&mut self, id: &UploadId) -> Result<(), MultipartError> {
        match self.uploads.get(id) {
            None => Err(MultipartError::NoSuchUpload),
            Some(u) if u.pending.is_some() => Err(MultipartError::Completing),
            Some(_) => {
                self.abort_now(id);
                Ok(())
            }
        }
    }

    fn abort_now(&mut self, id: &UploadId) {
        if let Some(upload) = self.remove(id) {
            self.actions.push_back(Action::DeleteUpload { upload_id: id.clone() });
            for part in upload.parts.into_values() {
                self.actions.push_back(Action::Discard { stage: part.stage });
            }
        }
    }

    /// Sets (`Some`) or clears (`None`: the configured default applies) the bucket's
    /// AbortIncompleteMultipartUpload rule; existing uploads are rescheduled.
    pub fn set_bucket_expiry(&mut self, bucket: &BucketName, after: Option<Duration>) {
        match after {
            Some(d) => self.bucket_expiry.insert(bucket.clone(), d),
            None => self.bucket_expiry.remove(bucket),
        };
        let ids: Vec<UploadId> = self
            .index
            .get(bucket)
            .into_iter()
            .flatten()
            .filter_map(|(_, _, id)| self.uploads.get_key_value(&**id).map(|(k, _)| k.clone()))
            .collect();
        for id in ids {
            self.schedule_expiry(&id);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work: the earliest expiry of an
    /// upload or of a completed upload's grace.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let deadline = self.deadlines.first().map(|(t, _)| *t);
        let purge = self.purges.first().map(|(t, _)| *t);
        match (deadline, purge) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Aborts every open upload whose expiry has come, and forgets completed uploads whose
    /// grace has passed.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        while let Some((t, id)) = self.deadlines.first().cloned() {
            if t > now {
                break;
            }
            self.deadlines.remove(&(t, id.clone()));
            self.abort_now(&id);
        }
        while let Some((t, id)) = self.purges.first().cloned() {
            if t > now {
                break;
            }
            self.purges.remove(&(t, id.clone()));
            self.completed.remove(&id);
        }
    }

    /// Rebuilds uploads from persisted records (each with its part records applied), as after
    /// a restart. All records are checked before any is added; uploads that were completing
    /// come back open. Tickets issued before the restart are unknown afterwards.
    pub fn restore(&mut self, records: impl IntoIterator<Item = UploadRecord>) -> Result<(), MultipartError> {
        let mut uploads = Vec::new();
        let mut seen = HashSet::new();
        let mut max_attempt = None;
        for record in records {
            check_record(&record)?;
            if self.uploads.contains_key(&record.upload_id) || !seen.insert(record.upload_id.clone()) {
                return Err(MultipartError::CorruptRecord { reason: "two records with one upload id".into() });
            }
            let top = record.parts.iter().map(|p| p.attempt).max();
            max_attempt = max_attempt.max(top);
            uploads.push(Upload {
                id: record.upload_id,
                bucket: record.bucket,
                key: record.key,
                dialect: record.dialect,
                owner: record.owner,
                initiated: record.initiated,
                checksum: record.checksum,
                limits: record.limits,
                metadata: record.metadata,
                parts: record.parts.into_iter().map(|p| (p.number, p)).collect(),
                deadline: None,
                pending: None,
                serial: 0,
            });
        }
        if let Some(top) = max_attempt {
            self.next_attempt = self.next_attempt.max(top.saturating_add(1));
        }
        for upload in uploads {
            self.insert(upload);
        }
        Ok(())
    }

    fn insert(&mut self, mut upload: Upload) {
        upload.serial = self.next_serial;
        self.next_serial += 1;
        let id = upload.id.clone();
        let entry: IndexEntry = (upload.key.as_str().as_bytes().into(), upload.initiated, id.as_str().into());
        self.index.entry(upload.bucket.clone()).or_default().insert(entry);
        self.uploads.insert(id.clone(), upload);
        self.schedule_expiry(&id);
    }

    fn remove(&mut self, id: &UploadId) -> Option<Upload> {
        let upload = self.uploads.remove(id)?;
        if let Some(deadline) = upload.deadline {
            self.deadlines.remove(&(deadline, id.clone()));
        }
        if let Some(set) = self.index.get_mut(&upload.bucket) {
            set.remove(&(upload.key.as_str().as_bytes().into(), upload.initiated, id.as_str().into()));
            if set.is_empty() {
                self.index.remove(&upload.bucket);
            }
        }
        Some(upload)
    }

    /// (Re)computes an open upload's deadline from its bucket's rule or the default.
    fn schedule_expiry(&mut self, id: &UploadId) {
        let Some(upload) = self.uploads.get_mut(id) else { return };
        if let Some(old) = upload.deadline.take() {
            self.deadlines.remove(&(old, id.clone()));
        }
        if upload.pending.is_some() {
            return;
        }
        let rule = self.bucket_expiry.get(&upload.bucket).copied().or(self.config.default_expiry);
        if let Some(after) = rule {
            let deadline = upload.initiated.saturating_add(after);
            upload.deadline = Some(deadline);
            self.deadlines.insert((deadline, id.clone()));
        }
    }
}

/// Validates a Complete against an upload and computes everything the assembly needs.
fn plan_assembly(upload: &Upload, request: &CompleteRequest) -> Result<(Assembly, Pending), MultipartError> {
    let listed = &request.parts;
    if listed.is_empty() {
        return Err(MultipartError::EmptyPartList);
    }
    for pair in listed.windows(2) {
        if let [a, b] = pair
            && b.number <= a.number
        {
            return Err(MultipartError::InvalidPartOrder { number: b.number.get() });
        }
    }
    let mut parts = Vec::with_capacity(listed.len());
    for want in listed {
        let number = want.number.get();
        let have = upload
            .parts
            .get(&want.number)
            .ok_or(MultipartError::InvalidPart { number, reason: InvalidPartReason::Missing })?;
        if want.etag.md5() != Some(have.md5) {
            return Err(MultipartError::InvalidPart { number, reason: InvalidPartReason::ETagMismatch });
        }
        if want.checksum.is_some() && want.checksum != have.checksum {
            return Err(MultipartError::InvalidPart { number, reason: InvalidPartReason::ChecksumMismatch });
        }
        parts.push(have);
    }
    let min = upload.limits.min_part_size;
    if let Some((_, init)) = parts.split_last()
        && let Some(small) = init.iter().find(|p| p.size < min)
    {
        return Err(MultipartError::EntityTooSmall { number: small.number.get(), size: small.size, min });
    }
    let total = parts.iter().try_fold(0u64, |acc, p| acc.checked_add(p.size));
    let total = match total {
        Some(t) if t <= upload.limits.max_object_size => t,
        _ => {
            let size = total.unwrap_or(u64::MAX);
            return Err(MultipartError::ObjectTooLarge { size, max: upload.limits.max_object_size });
        }
    };
    if let Some(declared) = request.expected_size
        && declared != total
    {
        return Err(MultipartError::ObjectSizeMismatch { declared, actual: total });
    }

    let checksum = match upload.checksum {
        None => None,
        Some(mode) => {
            let sums = parts.iter().map(|p| p.checksum.as_ref().map(|c| (c, p.size)));
            let sums: Option<Vec<(&Checksum, u64)>> = sums.collect();
            let computed = sums.and_then(|s| object_checksum(mode.algorithm, mode.kind, s.into_iter()));
            Some(
                computed
                    .ok_or(MultipartError::CorruptRecord { reason: "a part lacks the upload's checksum".into() })?,
            )
        }
    };
    if let Some(expected) = &request.expected_checksum
        && checksum.as_ref().map(|c| &c.checksum) != Some(expected)
    {
        return Err(MultipartError::ObjectChecksumMismatch);
    }

    let mut crc64 = CrcCombiner::new(Crc::Crc64Xz);
    let mut offset = 0u64;
    let mut assembly_parts = Vec::with_capacity(parts.len());
    for p in &parts {
        crc64.push(p.crc64ecma, p.size);
        assembly_parts.push(AssemblyPart {
            number: p.number,
            stage: p.stage.clone(),
            size: p.size,
            offset,
            md5: p.md5,
            checksum: p.checksum.clone(),
            crc64ecma: p.crc64ecma,
            meta: p.meta.clone(),
        });
        offset += p.size;
    }
    let etag = ETag::multipart(parts.iter().map(|p| &p.md5));
    let fingerprint = fingerprint(parts.iter().map(|p| (p.number, p.md5)));
    let result = CompletedUpload {
        upload_id: upload.id.clone(),
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        etag: etag.clone(),
        checksum: checksum.clone(),
        crc64ecma: crc64.value(),
        size: total,
    };
    let assembly = Assembly {
        upload_id: upload.id.clone(),
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        dialect: upload.dialect,
        owner: upload.owner.clone(),
        parts: assembly_parts,
        total_size: total,
        etag,
        checksum,
        crc64ecma: crc64.value(),
        metadata: upload.metadata.clone(),
    };
    let listed = listed.iter().map(|p| p.number).collect();
    Ok((assembly, Pending { fingerprint, listed, result }))
}

/// A hash of a part list (numbers and MD5s) to recognise a retried Complete. Not persisted,
/// so the hasher's stability across Rust releases does not matter.
fn fingerprint(parts: impl Iterator<Item = (PartNumber, [u8; 16])>) -> u64 {
    let mut h = DefaultHasher::new();
    for (number, md5) in parts {
        h.write_u32(number.get());
        h.write(&md5);
    }
    h.finish()
}

fn fingerprint_of_request(request: &CompleteRequest) -> Option<u64> {
    let parts: Option<Vec<(PartNumber, [u8; 16])>> =
        request.parts.iter().map(|p| p.etag.md5().map(|m| (p.number, m))).collect();
    Some(fingerprint(parts?.into_iter()))
}

fn check_record(record: &UploadRecord) -> Result<(), MultipartError> {
    let bad = |reason: &'static str| Err(MultipartError::CorruptRecord { reason: reason.into() });
    if record.format != UploadRecord::FORMAT {
        return bad("unknown record format");
    }
    if let Some(mode) = record.checksum
        && !mode.algorithm.allows(mode.kind)
    {
        return bad("checksum type not allowed for its algorithm");
    }
    for pair in record.parts.windows(2) {
        if let [a, b] = pair
            && b.number <= a.number
        {
            return bad("parts not strictly ascending");
        }
    }
    for part in &record.parts {
        if part.attempt >= u64::MAX / 2 {
            return bad("attempt number out of range");
        }
        if part.number.get() > record.limits.max_parts || part.size > record.limits.max_part_size {
            return bad("part outside the upload's limits");
        }
        if let Some(mode) = record.checksum
            && part.checksum.as_ref().map(Checksum::algorithm) != Some(mode.algorithm)
        {
            return bad("part lacks the upload's checksum");
        }
    }
    Ok(())
}
