//! A request whose future is dropped mid-way (a client that went away) leaves nothing stuck.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tessera_engine::{CounterIds, Engine, EngineConfig, EngineRequest, RequestBody};
use tessera_proto::ops::{Conditions, Operation, Output, S3Error};
use tessera_proto::values::Timestamp;
use tessera_proto::{BucketName, Dialect, ObjectKey, UploadId};
use tessera_store::{
    BucketRecord, ByteStream, MemoryStore, ObjectRecord, ObjectWrite, Precondition, StageId, Staged, Store, StoreError,
};

use crate::util::*;

/// A memory store whose `assemble` hangs while `hang` is set (until `release` is
/// notified), and whose part records of the upload `fail_parts_of` fail to persist.
#[derive(Default)]
struct Gated {
    inner: MemoryStore,
    hang: AtomicBool,
    release: tokio::sync::Notify,
    fail_parts_of: std::sync::Mutex<Option<UploadId>>,
    /// Part records take a while (2 ms) to reach the store.
    slow_parts: AtomicBool,
    /// Record writes as they reach the store: the upload and what was written.
    log: std::sync::Mutex<Vec<(UploadId, &'static str)>>,
}

#[async_trait]
impl Store for Gated {
    async fn create_bucket(&self, name: &BucketName, record: BucketRecord) -> Result<(), StoreError> {
        self.inner.create_bucket(name, record).await
    }
    async fn bucket(&self, name: &BucketName) -> Result<Option<BucketRecord>, StoreError> {
        self.inner.bucket(name).await
    }
    async fn update_bucket(&self, name: &BucketName, record: BucketRecord) -> Result<(), StoreError> {
        self.inner.update_bucket(name, record).await
    }
    async fn delete_bucket(&self, name: &BucketName) -> Result<(), StoreError> {
        self.inner.delete_bucket(name).await
    }
    async fn list_buckets(&self) -> Result<Vec<(BucketName, BucketRecord)>, StoreError> {
        self.inner.list_buckets().await
    }
    async fn stage(&self, bucket: &BucketName, data: ByteStream) -> Result<Staged, StoreError> {
        self.inner.stage(bucket, data).await
    }
    async fn discard(&self, bucket: &BucketName, stage: StageId) -> Result<(), StoreError> {
        self.inner.discard(bucket, stage).await
    }
    async fn list_staged(&self, bucket: &BucketName) -> Result<Vec<Staged>, StoreError> {
        self.inner.list_staged(bucket).await
    }
    async fn assemble(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        write: ObjectWrite,
        cond: Precondition,
        also_delete_upload: Option<&UploadId>,
    ) -> Result<ObjectRecord, StoreError> {
        if self.hang.load(Ordering::SeqCst) {
            self.release.notified().await;
        }
        self.inner.assemble(bucket, key, write, cond, also_delete_upload).await
    }
    async fn object(&self, bucket: &BucketName, key: &ObjectKey) -> Result<Option<ObjectRecord>, StoreError> {
        self.inner.object(bucket, key).await
    }
    async fn read(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        record: &ObjectRecord,
        range: Range<u64>,
    ) -> Result<ByteStream, StoreError> {
        self.inner.read(bucket, key, record, range).await
    }
    async fn delete_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        cond: Precondition,
    ) -> Result<ObjectRecord, StoreError> {
        self.inner.delete_object(bucket, key, cond).await
    }
    async fn list_objects(
        &self,
        bucket: &BucketName,
        prefix: &str,
        start_after: Option<&ObjectKey>,
        limit: usize,
    ) -> Result<Vec<(ObjectKey, ObjectRecord)>, StoreError> {
        self.inner.list_objects(bucket, prefix, start_after, limit).await
    }
    async fn put_upload(&self, bucket: &BucketName, id: &UploadId, record: Bytes) -> Result<(), StoreError> {
        self.log.lock().unwrap().push((id.clone(), "upload"));
        self.inner.put_upload(bucket, id, record).await
    }
    async fn upload(&self, bucket: &BucketName, id: &UploadId) -> Result<Option<Bytes>, StoreError> {
        self.inner.upload(bucket, id).await
    }
    async fn put_upload_part(
        &self,
        bucket: &BucketName,
        id: &UploadId,
        number: u32,
        record: Bytes,
    ) -> Result<(), StoreError> {
        if self.fail_parts_of.lock().unwrap().as_ref() == Some(id) {
            return Err(StoreError::Io(std::io::Error::other("disk failure")));
        }
        if self.slow_parts.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.log.lock().unwrap().push((id.clone(), "part"));
        self.inner.put_upload_part(bucket, id, number, record).await
    }
    async fn upload_parts(&self, bucket: &BucketName, id: &UploadId) -> Result<Vec<(u32, Bytes)>, StoreError> {
        self.inner.upload_parts(bucket, id).await
    }
    async fn delete_upload(&self, bucket: &BucketName, id: &UploadId) -> Result<(), StoreError> {
        self.log.lock().unwrap().push((id.clone(), "delete"));
        self.inner.delete_upload(bucket, id).await
    }
    async fn list_uploads(&self, bucket: &BucketName) -> Result<Vec<(UploadId, Bytes)>, StoreError> {
        self.inner.list_uploads(bucket).await
    }
    async fn all_uploads(&self) -> Result<Vec<(BucketName, UploadId, Bytes)>, StoreError> {
        self.inner.all_uploads().await
    }
}

async fn run(e: &Engine<Gated>, op: Operation, body: RequestBody) -> Result<Output, S3Error> {
    let request =
        EngineRequest { op, principal: alice(), dialect: Dialect::Aws, now: Timestamp::from_millis(T0), body };
    e.execute(request).await.map(|r| r.output)
}

#[tokio::test]
async fn a_complete_dropped_mid_assembly_can_be_retried() {
    let store = Arc::new(Gated::default());
    let config = EngineConfig::default().with_min_part_size(1);
    let ids = Box::new(CounterIds::new("g", 1));
    let engine = Engine::open(store.clone(), config, ids, Timestamp::from_millis(T0)).await.unwrap();
    let create = Operation::CreateBucket { bucket: bucket("gate"), location: None, acl: Default::default() };
    run(&engine, create, RequestBody::Empty).await.unwrap();
    let op = Operation::CreateMultipartUpload {
        bucket: bucket("gate"),
        key: key("k"),
        attributes: Default::default(),
        forbid_overwrite: false,
        encoding_url: false,
    };
    let out = run(&engine, op, RequestBody::Empty).await.unwrap();
    let tessera_proto::ops::Document::InitiateMultipartUploadResult(doc) = doc_of(&out) else { panic!() };
    let id = UploadId::new(&doc.upload_id).unwrap();
    let part = Operation::UploadPart {
        bucket: bucket("gate"),
        key: key("k"),
        upload_id: id.clone(),
        part_number: pn(1),
        content_length: 5,
        length_unknown: false,
        sse: None,
    };
    let Output::PartWritten { etag, .. } = run(&engine, part, payload(b"hello")).await.unwrap() else { panic!() };
    let complete = complete_operation("gate", "k", &id);
    let body = complete_body(&[(1, etag)]);

    store.hang.store(true, Ordering::SeqCst);
    let first = tokio::time::timeout(
        Duration::from_millis(200),
        run(&engine, complete.clone(), RequestBody::Xml(body.clone())),
    )
    .await;
    assert!(first.is_err(), "the assembly hangs, and the request is dropped");
    store.hang.store(false, Ordering::SeqCst);

    // The retry finishes the interrupted assembly and answers its success.
    let out = run(&engine, complete, RequestBody::Xml(body)).await.unwrap();
    let tessera_proto::ops::Document::CompleteMultipartUploadResult(done) = doc_of(&out) else { panic!() };
    assert!(done.etag.as_str().ends_with("-1"));
    let get = Operation::GetObject {
        bucket: bucket("gate"),
        key: key("k"),
        range: None,
        part_number: None,
        conditions: Conditions::default(),
        overrides: Default::default(),
        sse_customer: None,
    };
    let request = EngineRequest {
        op: get,
        principal: alice(),
        dialect: Dialect::Aws,
        now: Timestamp::from_millis(T0),
        body: RequestBody::Empty,
    };
    let r = engine.execute(request).await.unwrap();
    assert_eq!(collect(r.body.unwrap()).await, b"hello");
    assert!(store.list_uploads(&bucket("gate")).await.unwrap().is_empty());
}

async fn initiate(engine: &Engine<Gated>, k: &str) -> UploadId {
    let op = Operation::CreateMultipartUpload {
        bucket: bucket("gate"),
        key: key(k),
        attributes: Default::default(),
        forbid_overwrite: false,
        encoding_url: false,
    };
    let out = run(engine, op, RequestBody::Empty).await.unwrap();
    let tessera_proto::ops::Document::InitiateMultipartUploadResult(doc) = doc_of(&out) else { panic!() };
    UploadId::new(&doc.upload_id).unwrap()
}

fn part_op(k: &str, id: &UploadId, n: u32) -> Operation {
    Operation::UploadPart {
        bucket: bucket("gate"),
        key: key(k),
        upload_id: id.clone(),
        part_number: pn(n),
        content_length: 5,
        length_unknown: false,
        sse: None,
    }
}

/// A request learns the fate of its own storage work even when another request performed it:
/// a part whose record could not be persisted is never acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_whose_record_failed_is_refused_whoever_persisted_it() {
    let store = Arc::new(Gated::default());
    let config = EngineConfig::default().with_min_part_size(1);
    let engine = Arc::new(
        Engine::open(store.clone(), config, Box::new(CounterIds::new("g", 1)), Timestamp::from_millis(T0))
            .await
            .unwrap(),
    );
    let create = Operation::CreateBucket { bucket: bucket("gate"), location: None, acl: Default::default() };
    run(&engine, create, RequestBody::Empty).await.unwrap();
    let (good, bad) = (initiate(&engine, "g").await, initiate(&engine, "b").await);
    *store.fail_parts_of.lock().unwrap() = Some(bad.clone());

    for round in 0..4 {
        let blocker = initiate(&engine, "c").await;
        let Output::PartWritten { etag, .. } =
            run(&engine, part_op("c", &blocker, 1), payload(b"hello")).await.unwrap()
        else {
            panic!()
        };
        // A Complete whose assembly hangs meanwhile; two parts' records are persisted by
        // whichever request takes their work.
        store.hang.store(true, Ordering::SeqCst);
        let complete = complete_operation("gate", "c", &blocker);
        let body = RequestBody::Xml(complete_body(&[(1, etag.clone())]));
        let e = Arc::clone(&engine);
        let holder = tokio::spawn(async move { run(&e, complete, body).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (first, second) = if round % 2 == 0 { (&good, &bad) } else { (&bad, &good) };
        let mut tasks = Vec::new();
        for id in [first, second] {
            let (e, id) = (Arc::clone(&engine), id.clone());
            let k = if id == good { "g" } else { "b" };
            tasks.push(tokio::spawn(async move { (id.clone(), run(&e, part_op(k, &id, 1), payload(b"hello")).await) }));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        store.hang.store(false, Ordering::SeqCst);
        store.release.notify_waiters();
        holder.await.unwrap().expect("the blocking Complete finishes once released");
        for task in tasks {
            let (id, result) = task.await.unwrap();
            if id == bad {
                let err = result.expect_err("the part's record was never persisted");
                assert_eq!(err.code.status(), 500, "round {round}: {err:?}");
            } else {
                assert!(result.is_ok(), "round {round}: {result:?}");
            }
        }
    }
    // The good upload's part is recorded; the bad one's is not.
    assert_eq!(store.upload_parts(&bucket("gate"), &good).await.unwrap().len(), 1);
    assert!(store.upload_parts(&bucket("gate"), &bad).await.unwrap().is_empty());
}

/// A request's storage work does not wait for other uploads' work: a part answers while two
/// other uploads' assemblies hang in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_answers_while_other_uploads_assemblies_hang() {
    let store = Arc::new(Gated::default());
    let config = EngineConfig::default().with_min_part_size(1);
    let engine = Arc::new(
        Engine::open(store.clone(), config, Box::new(CounterIds::new("q", 1)), Timestamp::from_millis(T0))
            .await
            .unwrap(),
    );
    let create = Operation::CreateBucket { bucket: bucket("gate"), location: None, acl: Default::default() };
    run(&engine, create, RequestBody::Empty).await.unwrap();
    let mut completes = Vec::new();
    let uploads = [initiate(&engine, "first").await, initiate(&engine, "second").await];
    for (k, id) in ["first", "second"].iter().zip(&uploads) {
        let Output::PartWritten { etag, .. } = run(&engine, part_op(k, id, 1), payload(b"hello")).await.unwrap() else {
            panic!()
        };
        completes.push((complete_operation("gate", k, id), RequestBody::Xml(complete_body(&[(1, etag)]))));
    }
    let other = initiate(&engine, "other").await;

    store.hang.store(true, Ordering::SeqCst);
    let mut holders = Vec::new();
    for (op, body) in completes {
        let e = Arc::clone(&engine);
        holders.push(tokio::spawn(async move { run(&e, op, body).await }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = Arc::clone(&engine);
    let part = tokio::spawn(async move { run(&e, part_op("other", &other, 1), payload(b"hello")).await });
    let answered = tokio::time::timeout(Duration::from_secs(5), part).await;
    let answered = answered.expect("the part answers while both assemblies hang");
    assert!(answered.unwrap().is_ok());
    assert!(holders.iter().all(|h| !h.is_finished()), "the assemblies are still held");

    store.hang.store(false, Ordering::SeqCst);
    for mut holder in holders {
        // Released until done: an assembly that had not yet begun to wait misses one notice.
        let done = loop {
            store.release.notify_waiters();
            if let Ok(done) = tokio::time::timeout(Duration::from_millis(100), &mut holder).await {
                break done;
            }
        };
        done.unwrap().expect("each Complete finishes once released");
    }
}

/// Each upload's storage work is performed in the order it was queued, though requests
/// perform the work of different uploads concurrently: a part record that was queued before
/// an abort's deletion reaches the store before it, never after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploads_records_reach_the_store_in_queue_order() {
    let store = Arc::new(Gated::default());
    let config = EngineConfig::default().with_min_part_size(1);
    let engine = Arc::new(
        Engine::open(store.clone(), config, Box::new(CounterIds::new("o", 1)), Timestamp::from_millis(T0))
            .await
            .unwrap(),
    );
    let create = Operation::CreateBucket { bucket: bucket("gate"), location: None, acl: Default::default() };
    run(&engine, create, RequestBody::Empty).await.unwrap();
    store.slow_parts.store(true, Ordering::SeqCst);
    let mut aborted = Vec::new();
    for round in 0..24u64 {
        let k = format!("k{round}");
        let id = initiate(&engine, &k).await;
        let mut tasks = Vec::new();
        for n in 1..=4 {
            let (e, id, k) = (Arc::clone(&engine), id.clone(), k.clone());
            tasks.push(tokio::spawn(async move { run(&e, part_op(&k, &id, n), payload(b"hello")).await }));
        }
        // The abort lands among the parts: some queued their records before it, some are
        // refused.
        tokio::time::sleep(Duration::from_micros(500 * (round % 6))).await;
        let abort = Operation::AbortMultipartUpload { bucket: bucket("gate"), key: key(&k), upload_id: id.clone() };
        run(&engine, abort, RequestBody::Empty).await.unwrap();
        for t in tasks {
            let _ = t.await.unwrap();
        }
        aborted.push(id);
    }
    let log = store.log.lock().unwrap().clone();
    let mut deletions = 0;
    for id in &aborted {
        let events: Vec<&str> = log.iter().filter(|(u, _)| u == id).map(|(_, e)| *e).collect();
        assert_eq!(events.first(), Some(&"upload"), "{id:?}: {events:?}");
        if let Some(at) = events.iter().position(|e| *e == "delete") {
            deletions += 1;
            assert!(!events[at..].contains(&"part"), "{id:?}: a part record after the deletion: {events:?}");
        }
    }
    assert_eq!(deletions, aborted.len(), "every abort deleted its upload");
}
