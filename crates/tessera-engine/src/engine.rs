//! The engine: state, start-up, dispatch, performing the table's actions, timers.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::join_all;
use tessera_multipart::{Action, AssembleFailed, CompletedUpload, UploadRecord, UploadTable, UploadsQuery};
use tessera_proto::ops::{Operation, Principal, S3Error};
use tessera_proto::values::Timestamp;
use tessera_proto::{BucketName, ErrorCode, UploadId};
use tessera_store::{BucketRecord, ObjectWrite, Precondition, StageId, Store, StoreError};

use crate::config::EngineConfig;
use crate::error::{self, access_denied, internal};
use crate::meta::{BucketConfig, ObjectMeta, StoredChecksum, StoredPart, UploadMeta};
use crate::request::{EngineRequest, EngineResponse, IdSource, RequestBody};

/// Converts a protocol timestamp to the table's.
pub(crate) fn mp_time(t: Timestamp) -> tessera_multipart::Timestamp {
    tessera_multipart::Timestamp(t.as_millis())
}

/// How a Complete wants its assembly committed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompleteCtx {
    pub(crate) cond: Precondition,
    pub(crate) forbid_overwrite: bool,
    pub(crate) now: u64,
}

/// Everything behind the engine's one synchronous lock (never held across an await).
pub(crate) struct State {
    pub(crate) table: UploadTable,
    /// The bucket of every upload the table knows or has just forgotten.
    pub(crate) upload_buckets: HashMap<UploadId, BucketName>,
    /// Complete requests whose assembly is queued.
    pub(crate) completing: HashMap<UploadId, CompleteCtx>,
    /// Assembly outcomes waiting for their Complete request.
    pub(crate) outcomes: HashMap<UploadId, Result<CompletedUpload, S3Error>>,
    /// Storage work taken from the table and not yet started, by sequence number.
    pub(crate) pending: BTreeMap<u64, Queued>,
    /// Sequence numbers of the work being performed now.
    pub(crate) in_progress: BTreeSet<u64>,
    /// Groups whose work someone is performing: their queued work waits, so each group's
    /// work is done in queue order.
    busy: BTreeSet<Group>,
    /// Failures of watched work, by sequence number, until the request that queued it looks.
    pub(crate) failures: BTreeMap<u64, S3Error>,
    /// The next sequence number.
    pub(crate) next_seq: u64,
    /// Lifecycle AbortIncompleteMultipartUpload rules with a prefix (bucket-wide rules live in
    /// the table's expiry): bucket → (prefix, after).
    pub(crate) prefix_rules: BTreeMap<BucketName, Vec<(String, Duration)>>,
    /// Lifecycle Expiration rules: bucket → rules.
    pub(crate) expirations: BTreeMap<BucketName, Vec<Expiration>>,
    /// When the next sweep for expired objects is due (none without Expiration rules).
    pub(crate) next_sweep: Option<Timestamp>,
}

/// Most failures of storage work kept for the requests that queued it.
const MAX_FAILURES: usize = 4096;

/// One piece of storage work the table asked for, queued.
#[derive(Debug)]
pub(crate) struct Queued {
    /// Work of one group is performed in order; groups run concurrently.
    group: Group,
    action: Action,
    /// Whether a request waits for its outcome (else a failure is only logged by omission:
    /// what it left behind is found again at the next start).
    watched: bool,
}

/// What orders storage work: everything about one upload in queue order; work tied to no
/// upload on its own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Upload(UploadId),
    Alone(u64),
}

impl State {
    /// Moves the work the table has just asked for into the queue; returns its sequence
    /// numbers. Called under the same lock as the table command that made the work, so the
    /// range is exactly that command's work.
    pub(crate) fn queue(&mut self, watched: bool) -> Range<u64> {
        let start = self.next_seq;
        let mut upload: Option<UploadId> = None;
        while let Some(action) = self.table.poll_action() {
            let group = match &action {
                Action::PersistUpload { upload_id, .. }
                | Action::PersistPart { upload_id, .. }
                | Action::DeleteUpload { upload_id } => Some(upload_id.clone()),
                Action::Assemble(a) => Some(a.upload_id.clone()),
                // A discard belongs after the work of its command that came before it.
                _ => None,
            };
            if group.is_some() {
                upload = group;
            }
            let group = upload.clone().map_or(Group::Alone(self.next_seq), Group::Upload);
            self.pending.insert(self.next_seq, Queued { group, action, watched });
            self.next_seq += 1;
        }
        start..self.next_seq
    }

    /// The outcome of the work `range` once all of it is done (its first failure), or
    /// `None` while some is queued or running.
    fn outcome(&mut self, range: &Range<u64>) -> Option<Result<(), S3Error>> {
        if self.pending.range(range.clone()).next().is_some() || self.in_progress.range(range.clone()).next().is_some()
        {
            return None;
        }
        let failed: Vec<u64> = self.failures.range(range.clone()).map(|(seq, _)| *seq).collect();
        let mut first = None;
        for seq in failed {
            if let Some(e) = self.failures.remove(&seq) {
                first.get_or_insert(e);
            }
        }
        Some(first.map_or(Ok(()), Err))
    }

    /// Takes the queued work of every group nobody is performing, each group's in queue
    /// order, and marks those groups busy.
    fn take_available(&mut self) -> Vec<VecDeque<(u64, Queued)>> {
        let busy = std::mem::take(&mut self.busy);
        let mut groups: BTreeMap<Group, VecDeque<(u64, Queued)>> = BTreeMap::new();
        for (seq, queued) in self.take_where(|q| !busy.contains(&q.group)) {
            groups.entry(queued.group.clone()).or_default().push_back((seq, queued));
        }
        self.busy = busy;
        self.busy.extend(groups.keys().cloned());
        groups.into_values().collect()
    }

    /// Takes the queued work of `group` that no request waits for (what its work made: a
    /// completion's deletion and discards), for whoever is performing the group.
    fn take_unwatched(&mut self, group: &Group) -> VecDeque<(u64, Queued)> {
        self.take_where(|q| q.group == *group && !q.watched).into()
    }

    /// Moves the queued work `pick` chooses to the work in progress, in queue order.
    fn take_where(&mut self, pick: impl Fn(&Queued) -> bool) -> Vec<(u64, Queued)> {
        let seqs: Vec<u64> = self.pending.iter().filter(|(_, q)| pick(q)).map(|(seq, _)| *seq).collect();
        let mut taken = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(queued) = self.pending.remove(&seq) {
                self.in_progress.insert(seq);
                taken.push((seq, queued));
            }
        }
        taken
    }

    /// Whether no work numbered below `end` is queued or running.
    fn idle_below(&self, end: u64) -> bool {
        self.pending.range(..end).next().is_none() && self.in_progress.range(..end).next().is_none()
    }
}

/// One lifecycle Expiration rule: objects under `prefix` expire `after` their last
/// modification, or once `date` has come.
#[derive(Clone, Debug)]
pub(crate) struct Expiration {
    pub(crate) prefix: String,
    pub(crate) after: Option<Duration>,
    pub(crate) date: Option<Timestamp>,
}

/// S3 semantics over a [`Store`]. See the [crate docs](crate).
pub struct Engine<S: Store> {
    pub(crate) store: Arc<S>,
    pub(crate) config: EngineConfig,
    pub(crate) ids: Box<dyn IdSource>,
    pub(crate) state: Mutex<State>,
    /// Rings after each piece of storage work, and when a group's work is free to take:
    /// requests waiting for their work (or for work to take) look again.
    done: Bell,
}

/// A broadcast without a runtime: futures waiting for the next ring after the one they saw.
#[derive(Debug, Default)]
struct Bell {
    state: Mutex<(u64, Vec<std::task::Waker>)>,
}

impl Bell {
    fn lock(&self) -> MutexGuard<'_, (u64, Vec<std::task::Waker>)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many times it has rung.
    fn rings(&self) -> u64 {
        self.lock().0
    }

    /// Resolves once it has rung more than `seen` times.
    fn after(&self, seen: u64) -> impl std::future::Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            let mut g = self.lock();
            if g.0 != seen {
                return std::task::Poll::Ready(());
            }
            if !g.1.iter().any(|w| w.will_wake(cx.waker())) {
                g.1.push(cx.waker().clone());
            }
            std::task::Poll::Pending
        })
    }

    fn ring(&self) {
        let wakers = {
            let mut g = self.lock();
            g.0 += 1;
            std::mem::take(&mut g.1)
        };
        wakers.into_iter().for_each(std::task::Waker::wake);
    }
}

/// The name a staged part gets in the table: `<bucket>/<stage id>`.
pub(crate) fn stage_ref(bucket: &BucketName, id: StageId) -> tessera_multipart::StageRef {
    tessera_multipart::StageRef::new(format!("{bucket}/{id}"))
}

/// The bucket and id of a [`stage_ref`].
pub(crate) fn parse_stage_ref(r: &tessera_multipart::StageRef) -> Option<(BucketName, StageId)> {
    let (bucket, id) = r.as_str().rsplit_once('/')?;
    let bucket = BucketName::new(bucket).ok()?;
    let id = u64::from_str_radix(id, 16).ok()?;
    Some((bucket, StageId::new(id)))
}

impl<S: Store> Engine<S> {
    /// Opens the engine over `store`: restores the upload table from the store's upload
    /// records, discards staged parts no upload references (left by a crash or an
    /// interrupted PUT), loads the buckets' lifecycle rules, and expires what is due at `now`.
    pub async fn open(
        store: Arc<S>,
        config: EngineConfig,
        ids: Box<dyn IdSource>,
        now: Timestamp,
    ) -> Result<Self, S3Error> {
        let mut table = UploadTable::new(config.table_config());
        let mut records = Vec::new();
        let mut upload_buckets = HashMap::new();
        let mut referenced: HashSet<String> = HashSet::new();
        for (bucket, id, raw) in store.all_uploads().await.map_err(error::store)? {
            let mut record: UploadRecord = serde_json::from_slice(&raw)
                .map_err(|e| internal(format!("unreadable upload record {bucket}/{id}: {e}")))?;
            for (number, raw) in store.upload_parts(&bucket, &id).await.map_err(error::store)? {
                let part: tessera_multipart::PartRecord = serde_json::from_slice(&raw)
                    .map_err(|e| internal(format!("unreadable part record {bucket}/{id}/{number}: {e}")))?;
                record.apply_part(part);
            }
            for part in &record.parts {
                referenced.insert(part.stage.as_str().to_owned());
            }
            upload_buckets.insert(id, bucket);
            records.push(record);
        }
        table.restore(records).map_err(error::multipart)?;
        let engine = Engine {
            store,
            config,
            ids,
            state: Mutex::new(State {
                table,
                upload_buckets,
                completing: HashMap::new(),
                outcomes: HashMap::new(),
                pending: BTreeMap::new(),
                in_progress: BTreeSet::new(),
                busy: BTreeSet::new(),
                failures: BTreeMap::new(),
                next_seq: 0,
                prefix_rules: BTreeMap::new(),
                expirations: BTreeMap::new(),
                next_sweep: None,
            }),
            done: Bell::default(),
        };
        for (bucket, record) in engine.store.list_buckets().await.map_err(error::store)? {
            for staged in engine.store.list_staged(&bucket).await.map_err(error::store)? {
                if !referenced.contains(stage_ref(&bucket, staged.id).as_str()) {
                    // Best effort: a part that cannot be discarded now is found again next start.
                    let _ = engine.store.discard(&bucket, staged.id).await;
                }
            }
            let config = BucketConfig::decode(&record.config)?;
            engine.apply_lifecycle(&bucket, &config, now);
        }
        engine.handle_timeout(now).await?;
        Ok(engine)
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // Every mutation under this lock checks before it changes, so a poisoned lock holds
        // consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Carries out one request.
    pub async fn execute(&self, request: EngineRequest) -> Result<EngineResponse, S3Error> {
        let EngineRequest { op, principal, dialect, now, body } = request;
        let cx = Cx { principal: &principal, dialect, now };
        match op {
            Operation::ListBuckets => self.list_buckets(&cx).await,
            Operation::CreateBucket { bucket, location, acl } => self.create_bucket(&cx, bucket, location, acl).await,
            Operation::DeleteBucket { bucket } => self.delete_bucket(&cx, &bucket).await,
            Operation::HeadBucket { bucket } => self.head_bucket(&cx, &bucket).await,
            Operation::GetBucketLocation { bucket } => self.bucket_location(&cx, &bucket).await,
            Operation::ListObjects { bucket, listing, start_after, continuation_token, v2, fetch_owner } => {
                self.list_objects(&cx, &bucket, &listing, start_after, continuation_token, v2, fetch_owner).await
            }
            Operation::ListObjectVersions { bucket, listing, key_marker } => {
                self.list_versions(&cx, &bucket, &listing, key_marker).await
            }
            Operation::ListMultipartUploads { bucket, listing, key_marker, upload_id_marker } => {
                self.list_uploads(&cx, &bucket, &listing, key_marker, upload_id_marker).await
            }
            Operation::GetBucketLifecycle { bucket } => self.get_lifecycle(&cx, &bucket).await,
            Operation::PutBucketLifecycle { bucket } => self.put_lifecycle(&cx, &bucket, xml_body(body)?).await,
            Operation::DeleteBucketLifecycle { bucket } => self.delete_lifecycle(&cx, &bucket).await,
            Operation::GetBucketEncryption { bucket } => self.get_encryption(&cx, &bucket).await,
            Operation::PutBucketEncryption { bucket } => self.put_encryption(&cx, &bucket, xml_body(body)?).await,
            Operation::DeleteBucketEncryption { bucket } => self.delete_encryption(&cx, &bucket).await,
            Operation::GetBucketAcl { bucket } => self.get_bucket_acl(&cx, &bucket).await,
            Operation::PutBucketAcl { bucket, acl } => self.put_bucket_acl(&cx, &bucket, acl, body).await,
            Operation::DeleteObjects { bucket } => self.delete_objects(&cx, &bucket, xml_body(body)?).await,
            Operation::PutObject {
                bucket,
                key,
                attributes,
                conditions,
                forbid_overwrite,
                content_length,
                length_unknown,
            } => {
                let payload = match body {
                    RequestBody::Payload(p) => p,
                    _ => return Err(S3Error::code(ErrorCode::MissingContentLength)),
                };
                let length = (!length_unknown).then_some(content_length);
                let put = crate::objects::Put { attributes, conditions, forbid_overwrite, length };
                self.put_object(&cx, &bucket, &key, put, payload).await
            }
            Operation::GetObject { bucket, key, range, part_number, conditions, overrides, sse_customer } => {
                let read = crate::objects::Read { range, part_number, conditions, sse_customer, with_body: true };
                self.get_object(&cx, &bucket, &key, read, overrides).await
            }
            Operation::HeadObject { bucket, key, range, part_number, conditions, sse_customer } => {
                let read = crate::objects::Read { range, part_number, conditions, sse_customer, with_body: false };
                self.get_object(&cx, &bucket, &key, read, Default::default()).await
            }
            Operation::DeleteObject { bucket, key, conditions } => {
                self.delete_object(&cx, &bucket, &key, &conditions).await
            }
            Operation::CopyObject {
                bucket,
                key,
                source,
                metadata_directive,
                replace_tagging,
                attributes,
                conditions,
                forbid_overwrite,
            } => {
                let copy = crate::objects::Copy {
                    source,
                    metadata_directive,
                    replace_tagging,
                    attributes,
                    conditions,
                    forbid_overwrite,
                };
                self.copy_object(&cx, &bucket, &key, copy).await
            }
            Operation::GetObjectTagging { bucket, key } => self.get_tagging(&cx, &bucket, &key).await,
            Operation::PutObjectTagging { bucket, key } => {
                self.put_tagging(&cx, &bucket, &key, Some(xml_body(body)?)).await
            }
            Operation::DeleteObjectTagging { bucket, key } => self.put_tagging(&cx, &bucket, &key, None).await,
            Operation::GetObjectAcl { bucket, key } => self.get_object_acl(&cx, &bucket, &key).await,
            Operation::PutObjectAcl { bucket, key, acl } => self.put_object_acl(&cx, &bucket, &key, acl, body).await,
            Operation::GetObjectAttributes { bucket, key, attributes, max_parts, part_number_marker, sse_customer } => {
                let paging = (max_parts, part_number_marker);
                self.object_attributes(&cx, &bucket, &key, &attributes, paging, sse_customer.as_ref()).await
            }
            Operation::CreateMultipartUpload { bucket, key, attributes, forbid_overwrite, encoding_url } => {
                self.create_upload(&cx, bucket, key, attributes, forbid_overwrite, encoding_url).await
            }
            Operation::UploadPart { bucket, key, upload_id, part_number, content_length, length_unknown, sse } => {
                let payload = match body {
                    RequestBody::Payload(p) => p,
                    _ => return Err(S3Error::code(ErrorCode::MissingContentLength)),
                };
                let length = (!length_unknown).then_some(content_length);
                self.upload_part(&cx, &bucket, &key, &upload_id, part_number, length, sse, payload).await
            }
            Operation::UploadPartCopy { bucket, key, upload_id, part_number, source, source_range, sse } => {
                self.upload_part_copy(&cx, &bucket, &key, &upload_id, part_number, source, source_range, sse).await
            }
            Operation::CompleteMultipartUpload {
                bucket,
                key,
                upload_id,
                conditions,
                forbid_overwrite,
                encoding_url,
                complete_all,
            } => {
                let complete = crate::multipart::Complete {
                    conditions,
                    forbid_overwrite,
                    encoding_url,
                    complete_all,
                    body: match body {
                        RequestBody::Xml(b) => Some(b),
                        _ => None,
                    },
                };
                self.complete_upload(&cx, &bucket, &key, &upload_id, complete).await
            }
            Operation::AbortMultipartUpload { bucket, key, upload_id } => {
                self.abort_upload(&cx, &bucket, &key, &upload_id).await
            }
            Operation::ListParts { bucket, key, upload_id, part_number_marker, max_parts, encoding_url } => {
                self.list_parts(&cx, &bucket, &key, &upload_id, part_number_marker, max_parts, encoding_url).await
            }
            _ => Err(S3Error::new(ErrorCode::NotImplemented, "This operation is not implemented.")),
        }
    }

    // ----- the bucket and its permissions

    /// The bucket's record and configuration, or NoSuchBucket.
    pub(crate) async fn bucket(&self, bucket: &BucketName) -> Result<(BucketRecord, BucketConfig), S3Error> {
        let record = self.store.bucket(bucket).await.map_err(error::store)?;
        let record =
            record.ok_or_else(|| S3Error::code(ErrorCode::NoSuchBucket).with("BucketName", bucket.as_str()))?;
        let config = BucketConfig::decode(&record.config)?;
        Ok((record, config))
    }

    // ----- the table's storage work

    /// Waits until the work `range` is done, performing queued work meanwhile, and returns
    /// the first failure of that work: a request learns the fate of its own work, whoever
    /// performed it.
    ///
    /// One caller at a time performs everything queued: the work of each upload in order,
    /// different uploads concurrently (so a store that groups its syncs can group theirs).
    /// Cancellation-safe: the front-end may drop a request's future at any await (a client
    /// that went away); work taken and not finished is queued again and performed by the
    /// next caller, and performing any work twice is harmless.
    pub(crate) async fn settle(&self, range: Range<u64>) -> Result<(), S3Error> {
        loop {
            let seen = self.done.rings();
            if let Some(outcome) = self.state().outcome(&range) {
                return outcome;
            }
            if !self.perform_available().await {
                self.done.after(seen).await;
            }
        }
    }

    /// Waits until everything queued so far is done, leaving its outcomes to the requests
    /// that queued it.
    pub(crate) async fn settle_all(&self) {
        let end = self.state().next_seq;
        loop {
            let seen = self.done.rings();
            if self.state().idle_below(end) {
                return;
            }
            if !self.perform_available().await {
                self.done.after(seen).await;
            }
        }
    }

    /// Performs the queued work of every group nobody else is performing (different groups
    /// concurrently, so a store that groups its syncs can group theirs); whether there was
    /// any. Callers wait for the bell when there was none: their work is someone else's.
    async fn perform_available(&self) -> bool {
        let groups = self.state().take_available();
        if groups.is_empty() {
            return false;
        }
        // Guards first: a group whose future is dropped before its first poll is queued
        // again too.
        let guards: Vec<InFlight<'_, S>> = groups.into_iter().map(|items| InFlight::new(self, items)).collect();
        join_all(guards.into_iter().map(|group| self.perform_group(group))).await;
        true
    }

    async fn perform_group(&self, mut group: InFlight<'_, S>) {
        loop {
            if group.items.is_empty() {
                // What this work made and nobody waits for is done now, in order, rather
                // than left for the next request.
                group.items = self.state().take_unwatched(&group.group);
            }
            let Some((seq, queued)) = group.items.front() else { break };
            let (seq, watched) = (*seq, queued.watched);
            let result = self.perform(&queued.action).await;
            group.items.pop_front();
            {
                let mut state = self.state();
                state.in_progress.remove(&seq);
                if let Err(e) = result
                    && watched
                {
                    state.failures.insert(seq, e);
                    // A request that went away never collects its failure: keep the newest only.
                    while state.failures.len() > MAX_FAILURES {
                        state.failures.pop_first();
                    }
                }
            }
            // Its request may answer now, whatever the other groups of this batch are doing.
            self.done.ring();
        }
    }

    async fn perform(&self, action: &Action) -> Result<(), S3Error> {
        match action {
            Action::PersistUpload { upload_id, record } => {
                let raw = serde_json::to_vec(record).map_err(|e| internal(e.to_string()))?;
                self.store.put_upload(&record.bucket, upload_id, raw.into()).await.map_err(error::store)
            }
            Action::PersistPart { upload_id, part } => {
                let bucket = self.state().upload_buckets.get(upload_id).cloned();
                let Some(bucket) = bucket else { return Ok(()) };
                let raw = serde_json::to_vec(part).map_err(|e| internal(e.to_string()))?;
                match self.store.put_upload_part(&bucket, upload_id, part.number.get(), raw.into()).await {
                    // Aborted meanwhile: the table has discarded the part's bytes.
                    Ok(()) | Err(StoreError::NoSuchUpload) => Ok(()),
                    Err(e) => Err(error::store(e)),
                }
            }
            Action::Discard { stage } => {
                if let Some((bucket, id)) = parse_stage_ref(stage) {
                    // Already gone is fine; anything left behind is swept at the next start.
                    let _ = self.store.discard(&bucket, id).await;
                }
                Ok(())
            }
            Action::DeleteUpload { upload_id } => {
                let bucket = self.state().upload_buckets.remove(upload_id);
                if let Some(bucket) = bucket {
                    match self.store.delete_upload(&bucket, upload_id).await {
                        Ok(()) | Err(StoreError::NoSuchUpload) | Err(StoreError::NoSuchBucket) => {}
                        Err(e) => return Err(error::store(e)),
                    }
                }
                Ok(())
            }
            Action::Assemble(assembly) => {
                let id = assembly.upload_id.clone();
                let ctx = self.state().completing.get(&id).copied();
                let ctx = ctx.unwrap_or(CompleteCtx { cond: Precondition::Any, forbid_overwrite: false, now: 0 });
                let outcome = self.assemble(assembly, ctx).await;
                let mut state = self.state();
                state.completing.remove(&id);
                if outcome.is_ok() {
                    // The assemble removed the upload's records with the object's commit: the
                    // DeleteUpload that follows has nothing left to do in the store.
                    state.upload_buckets.remove(&id);
                }
                let failure = outcome.as_ref().err().map(|e| AssembleFailed(e.to_string()));
                let handled = state.table.handle_assembled(
                    &id,
                    failure.map_or(Ok(()), Err),
                    tessera_multipart::Timestamp(ctx.now),
                );
                // The upload's deletion and the discards of unlisted parts: nobody waits.
                state.queue(false);
                let result = match (outcome, handled) {
                    (Err(e), _) => Err(e),
                    (Ok(()), Ok(Some(done))) => Ok(done),
                    (Ok(()), Ok(None)) => Err(internal("the assembly was not recorded")),
                    (Ok(()), Err(e)) => Err(error::multipart(e)),
                };
                state.outcomes.insert(id, result);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn assemble(&self, a: &tessera_multipart::Assembly, ctx: CompleteCtx) -> Result<(), S3Error> {
        let upload = UploadMeta::decode(&a.metadata)?;
        let mut stages = Vec::with_capacity(a.parts.len());
        let mut parts = Vec::with_capacity(a.parts.len());
        for p in &a.parts {
            let (_, id) = parse_stage_ref(&p.stage).ok_or_else(|| internal("unreadable stage reference"))?;
            stages.push(id);
            parts.push(StoredPart {
                number: p.number.get(),
                size: p.size,
                md5: Some(hex_md5(&p.md5)),
                checksum: p.checksum.as_ref().map(|c| c.to_base64()),
                crc64ecma: Some(p.crc64ecma),
                data_key: if p.meta.is_empty() {
                    None
                } else {
                    Some(serde_json::from_str(&p.meta).map_err(|e| internal(format!("unreadable part key: {e}")))?)
                },
            });
        }
        let meta = ObjectMeta {
            v: crate::meta::FORMAT,
            etag: a.etag.as_str().to_owned(),
            attributes: upload.attributes,
            crc64ecma: a.crc64ecma,
            checksum: a.checksum.as_ref().map(|c| StoredChecksum::new(&c.checksum, c.kind)),
            parts,
            upload_id: Some(a.upload_id.as_str().to_owned()),
        };
        let write = ObjectWrite { parts: stages, meta: meta.encode(), modified: ctx.now };
        match self.store.assemble(&a.bucket, &a.key, write, ctx.cond, Some(&a.upload_id)).await {
            Ok(_) => Ok(()),
            // Performed again after a cancelled performer: the first attempt may have committed.
            Err(StoreError::NoSuchUpload | StoreError::NoSuchStage) if self.assembled_by(a).await => Ok(()),
            Err(StoreError::PreconditionFailed) if ctx.forbid_overwrite => {
                Err(S3Error::code(ErrorCode::FileAlreadyExists))
            }
            Err(StoreError::PreconditionFailed) => Err(S3Error::code(ErrorCode::PreconditionFailed)),
            Err(e) => Err(error::store(e)),
        }
    }

    /// Whether the object at the assembly's key is the one this upload made.
    async fn assembled_by(&self, a: &tessera_multipart::Assembly) -> bool {
        match self.store.object(&a.bucket, &a.key).await {
            Ok(Some(record)) => ObjectMeta::decode(&record.meta)
                .is_ok_and(|m| m.upload_id.as_deref() == Some(a.upload_id.as_str()) && m.etag == a.etag.as_str()),
            _ => false,
        }
    }

    // ----- timers and lifecycle

    /// When [`handle_timeout`](Self::handle_timeout) next has work: an upload's expiry (the
    /// default expiry or a bucket's AbortIncompleteMultipartUpload rule), or the end of a
    /// completed upload's grace. Requests change the answer (a new upload, a new lifecycle
    /// rule): ask again after each request, or on a periodic tick.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let state = self.state();
        let mut next = state.table.poll_timeout().map(|t| Timestamp::from_millis(t.as_millis()));
        for (bucket, rules) in &state.prefix_rules {
            for (prefix, after) in rules {
                for (initiated, _) in uploads_under(&state.table, bucket, prefix) {
                    let due = Timestamp::from_millis(mp_time_add(initiated, *after));
                    next = Some(next.map_or(due, |n| n.min(due)));
                }
            }
        }
        if let Some(sweep) = state.next_sweep {
            next = Some(next.map_or(sweep, |n| n.min(sweep)));
        }
        next
    }

    /// Expires what is due at `now`: uploads past their expiry are aborted (records deleted,
    /// staged parts discarded), completed uploads past their grace are forgotten, and — once
    /// per [`EngineConfig::lifecycle_sweep_interval`] — objects past a lifecycle Expiration
    /// rule are deleted.
    pub async fn handle_timeout(&self, now: Timestamp) -> Result<(), S3Error> {
        let sweep = {
            let mut state = self.state();
            match state.next_sweep {
                Some(t) if t <= now && !state.expirations.is_empty() => {
                    let next = now.as_millis().saturating_add(duration_ms(self.config.lifecycle_sweep_interval));
                    state.next_sweep = Some(Timestamp::from_millis(next));
                    Some(state.expirations.clone())
                }
                _ => None,
            }
        };
        if let Some(rules) = sweep {
            self.expire_objects(rules, now).await?;
        }
        let work = {
            let mut state = self.state();
            state.table.handle_timeout(mp_time(now));
            let mut due = Vec::new();
            for (bucket, rules) in &state.prefix_rules {
                for (prefix, after) in rules {
                    for (initiated, id) in uploads_under(&state.table, bucket, prefix) {
                        if mp_time_add(initiated, *after) <= now.as_millis() {
                            due.push(id);
                        }
                    }
                }
            }
            for id in due {
                // Already gone or being completed: nothing to expire.
                let _ = state.table.abort(&id);
            }
            state.queue(true)
        };
        self.settle(work).await
    }

    /// Deletes the objects the Expiration rules say are due at `now`. A key written again
    /// since it was listed is left alone (the delete is conditional on its generation).
    async fn expire_objects(
        &self,
        rules: BTreeMap<BucketName, Vec<Expiration>>,
        now: Timestamp,
    ) -> Result<(), S3Error> {
        for (bucket, rules) in rules {
            for rule in rules {
                let mut cursor: Option<tessera_proto::ObjectKey> = None;
                loop {
                    let page = match self.store.list_objects(&bucket, &rule.prefix, cursor.as_ref(), 1000).await {
                        Ok(p) => p,
                        Err(StoreError::NoSuchBucket) => break,
                        Err(e) => return Err(error::store(e)),
                    };
                    let full = page.len() == 1000;
                    for (key, record) in page {
                        let aged = rule
                            .after
                            .is_some_and(|d| record.modified.saturating_add(duration_ms(d)) <= now.as_millis());
                        let dated = rule.date.is_some_and(|d| d <= now);
                        if aged || dated {
                            // Replaced or already gone since the listing: not this object.
                            let cond = Precondition::Generation(record.generation);
                            let _ = self.store.delete_object(&bucket, &key, cond).await;
                        }
                        cursor = Some(key);
                    }
                    if !full {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Feeds a bucket's lifecycle configuration to the expiry of its uploads and to the
    /// object-expiration sweep.
    pub(crate) fn apply_lifecycle(&self, bucket: &BucketName, config: &BucketConfig, now: Timestamp) {
        let mut bucket_wide: Option<Duration> = None;
        let mut prefixed = Vec::new();
        let mut expirations = Vec::new();
        for rule in config.lifecycle().map(|l| l.rules).unwrap_or_default() {
            if rule.status != tessera_proto::xml::LifecycleStatus::Enabled {
                continue;
            }
            if let Some(e) = &rule.expiration
                && (e.days.is_some() || e.date.is_some())
            {
                expirations.push(Expiration {
                    prefix: rule.effective_prefix().to_owned(),
                    after: e.days.map(|d| Duration::from_secs(u64::from(d) * 86_400)),
                    date: e.date,
                });
            }
            let Some(abort) = &rule.abort_incomplete_multipart_upload else { continue };
            let after = Duration::from_secs(u64::from(abort.days_after_initiation) * 86_400);
            let prefix = rule.effective_prefix();
            if prefix.is_empty() {
                bucket_wide = Some(bucket_wide.map_or(after, |b| b.min(after)));
            } else {
                prefixed.push((prefix.to_owned(), after));
            }
        }
        let mut state = self.state();
        state.table.set_bucket_expiry(bucket, bucket_wide);
        if prefixed.is_empty() {
            state.prefix_rules.remove(bucket);
        } else {
            state.prefix_rules.insert(bucket.clone(), prefixed);
        }
        if expirations.is_empty() {
            state.expirations.remove(bucket);
        } else {
            state.expirations.insert(bucket.clone(), expirations);
            // A new rule is looked at by the next sweep, which is due now at the latest.
            state.next_sweep = Some(state.next_sweep.map_or(now, |t| t.min(now)));
        }
        if state.expirations.is_empty() {
            state.next_sweep = None;
        }
    }

    /// A fresh upload id from the id source.
    pub(crate) fn new_upload_id(&self) -> Result<UploadId, S3Error> {
        let raw = self.ids.next_upload_id();
        UploadId::new(&raw).map_err(|_| internal("the id source minted an invalid upload id"))
    }
}

/// The rest of a group of work being performed: queued again if its performer is dropped (a
/// request that went away), and the group freed either way.
struct InFlight<'a, S: Store> {
    engine: &'a Engine<S>,
    /// The group, busy while this lives.
    group: Group,
    items: VecDeque<(u64, Queued)>,
}

impl<'a, S: Store> InFlight<'a, S> {
    /// Takes over a group's work taken with `take_available` (non-empty).
    fn new(engine: &'a Engine<S>, items: VecDeque<(u64, Queued)>) -> Self {
        let group = items.front().map_or(Group::Alone(u64::MAX), |(_, q)| q.group.clone());
        InFlight { engine, group, items }
    }
}

impl<S: Store> Drop for InFlight<'_, S> {
    fn drop(&mut self) {
        {
            let mut state = self.engine.state();
            for (seq, queued) in self.items.drain(..) {
                state.in_progress.remove(&seq);
                state.pending.insert(seq, queued);
            }
            state.busy.remove(&self.group);
        }
        // The group's queued work is free to take.
        self.engine.done.ring();
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn mp_time_add(t: tessera_multipart::Timestamp, d: Duration) -> u64 {
    t.saturating_add(d).as_millis()
}

/// Every upload of `bucket` under `prefix`: (initiated, id).
fn uploads_under(
    table: &UploadTable,
    bucket: &BucketName,
    prefix: &str,
) -> Vec<(tessera_multipart::Timestamp, UploadId)> {
    let mut out = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut id_marker: Option<UploadId> = None;
    loop {
        let query = UploadsQuery {
            prefix,
            delimiter: None,
            key_marker: key_marker.as_deref(),
            upload_id_marker: id_marker.as_ref().map(UploadId::as_str),
            max_uploads: None,
        };
        let page = table.list_uploads(bucket, &query);
        out.extend(page.uploads.iter().map(|u| (u.initiated, u.upload_id.clone())));
        if !page.is_truncated || page.next_key_marker.is_none() {
            break;
        }
        key_marker = page.next_key_marker;
        id_marker = page.next_upload_id_marker;
    }
    out
}

pub(crate) fn hex_md5(md5: &[u8; 16]) -> String {
    tessera_proto::ETag::from_md5(md5).as_str().to_owned()
}

/// The XML body of a request, or MalformedXML / MissingRequestBody.
fn xml_body(body: RequestBody) -> Result<bytes::Bytes, S3Error> {
    match body {
        RequestBody::Xml(b) => Ok(b),
        _ => Err(S3Error::new(ErrorCode::MalformedXML, "The request requires an XML body.")),
    }
}

/// The caller of one request.
pub(crate) struct Cx<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) dialect: tessera_proto::Dialect,
    pub(crate) now: Timestamp,
}

impl Cx<'_> {
    /// The caller's canonical id; empty for anonymous callers.
    pub(crate) fn id(&self) -> &str {
        match self.principal {
            Principal::Anonymous => "",
            Principal::User { id, .. } => id,
        }
    }

    /// Whether the caller owns a bucket.
    pub(crate) fn owns(&self, record: &BucketRecord) -> bool {
        matches!(self.principal, Principal::User { id, .. } if *id == record.owner)
    }

    /// Fails with AccessDenied unless the caller owns the bucket.
    pub(crate) fn require_owner(&self, record: &BucketRecord) -> Result<(), S3Error> {
        if self.owns(record) { Ok(()) } else { Err(access_denied()) }
    }

    /// Whether the caller may add, replace and delete objects in the bucket.
    pub(crate) fn may_write(&self, record: &BucketRecord, config: &BucketConfig) -> bool {
        self.owns(record) || config.acl.grants(self.principal, tessera_proto::values::Permission::Write)
    }

    /// Whether the caller may list the bucket.
    pub(crate) fn may_list(&self, record: &BucketRecord, config: &BucketConfig) -> bool {
        self.owns(record) || config.acl.grants(self.principal, tessera_proto::values::Permission::Read)
    }

    /// Whether the caller may read an object: the bucket owner, the object's owner, a grant
    /// on the object, or — for objects without their own ACL (or `default`) — a READ grant
    /// on the bucket.
    pub(crate) fn may_read_object(&self, record: &BucketRecord, config: &BucketConfig, meta: &ObjectMeta) -> bool {
        use tessera_proto::values::Permission;
        if self.owns(record) {
            return true;
        }
        let attrs = &meta.attributes;
        if !self.id().is_empty() && attrs.owner.id == self.id() {
            return true;
        }
        match &attrs.acl {
            Some(acl) if !acl.is_default() => acl.grants(self.principal, Permission::Read),
            _ => config.acl.grants(self.principal, Permission::Read),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_refs_round_trip() {
        let bucket = BucketName::new("my.bucket-1").unwrap();
        for id in [0, 1, 0xABCD, u64::MAX] {
            let r = stage_ref(&bucket, StageId::new(id));
            assert_eq!(parse_stage_ref(&r), Some((bucket.clone(), StageId::new(id))));
        }
        for bad in ["", "nobucket", "b/zz", "UPPER/01", "ok-bucket/"] {
            assert_eq!(parse_stage_ref(&tessera_multipart::StageRef::new(bad)), None, "{bad}");
        }
    }
}
