//! A new engine over the same data directory continues where the old one stopped.

use std::sync::Arc;

use tessera_engine::{CounterIds, Engine, EngineConfig, EngineRequest, RequestBody};
use tessera_proto::ops::{Conditions, Operation, Output};
use tessera_proto::values::Timestamp;
use tessera_proto::{Dialect, ErrorCode, xml};
use tessera_store::Store;
use tessera_store_fs::FsStore;

use crate::util::*;

async fn open(dir: &std::path::Path, prefix: &str) -> Engine<FsStore> {
    let store = Arc::new(FsStore::open(dir).await.unwrap());
    let config = EngineConfig::default().with_min_part_size(10);
    Engine::open(store, config, Box::new(CounterIds::new(prefix, 1)), Timestamp::from_millis(T0)).await.unwrap()
}

async fn run(e: &Engine<FsStore>, op: Operation, body: RequestBody) -> Result<Output, tessera_proto::ops::S3Error> {
    let request =
        EngineRequest { op, principal: alice(), dialect: Dialect::Aws, now: Timestamp::from_millis(T0), body };
    e.execute(request).await.map(|r| r.output)
}

fn part_op(id: &tessera_proto::UploadId, n: u32, len: usize) -> Operation {
    Operation::UploadPart {
        bucket: bucket("rs"),
        key: key("k"),
        upload_id: id.clone(),
        part_number: pn(n),
        content_length: len as u64,
        length_unknown: false,
        sse: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_engine_continues_an_upload() {
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2) = (data(100, 1), data(50, 2));
    let (id, e1) = {
        let engine = open(dir.path(), "a").await;
        let create = Operation::CreateBucket { bucket: bucket("rs"), location: None, acl: Default::default() };
        run(&engine, create, RequestBody::Empty).await.unwrap();
        let op = Operation::CreateMultipartUpload {
            bucket: bucket("rs"),
            key: key("k"),
            attributes: Default::default(),
            forbid_overwrite: false,
            encoding_url: false,
        };
        let out = run(&engine, op, RequestBody::Empty).await.unwrap();
        let tessera_proto::ops::Document::InitiateMultipartUploadResult(doc) = doc_of(&out) else { panic!() };
        let id = tessera_proto::UploadId::new(&doc.upload_id).unwrap();
        let Output::PartWritten { etag, .. } = run(&engine, part_op(&id, 1, 100), payload(&p1)).await.unwrap() else {
            panic!()
        };
        // A part re-uploaded, and bytes staged by a PUT that never committed (a crash).
        run(&engine, part_op(&id, 2, 5), payload(b"loser")).await.unwrap();
        engine.store().stage(&bucket("rs"), stream(b"orphan")).await.unwrap();
        (id, etag)
    };
    let engine = open(dir.path(), "b").await;
    // The orphan is gone; the upload's two parts are still staged.
    assert_eq!(engine.store().list_staged(&bucket("rs")).await.unwrap().len(), 2);
    let Output::PartWritten { etag: e2, .. } = run(&engine, part_op(&id, 2, 50), payload(&p2)).await.unwrap() else {
        panic!()
    };
    let list = Operation::ListParts {
        bucket: bucket("rs"),
        key: key("k"),
        upload_id: id.clone(),
        part_number_marker: None,
        max_parts: None,
        encoding_url: false,
    };
    let out = run(&engine, list, RequestBody::Empty).await.unwrap();
    let tessera_proto::ops::Document::ListPartsResult(parts) = doc_of(&out) else { panic!() };
    assert_eq!(parts.parts.len(), 2);
    assert_eq!(parts.parts[1].size, 50);
    let complete = Operation::CompleteMultipartUpload {
        bucket: bucket("rs"),
        key: key("k"),
        upload_id: id.clone(),
        conditions: Conditions::default(),
        forbid_overwrite: false,
        encoding_url: false,
        complete_all: false,
    };
    let body = complete_body(&[(1, e1.clone()), (2, e2.clone())]);
    let out = run(&engine, complete.clone(), RequestBody::Xml(body.clone())).await.unwrap();
    let tessera_proto::ops::Document::CompleteMultipartUploadResult(done) = doc_of(&out) else { panic!() };
    let done: xml::CompleteMultipartUploadResult = done.clone();
    drop(engine);

    // After another restart the retried Complete is still a success, and the object reads back.
    let engine = open(dir.path(), "c").await;
    let out = run(&engine, complete, RequestBody::Xml(body)).await.unwrap();
    let tessera_proto::ops::Document::CompleteMultipartUploadResult(again) = doc_of(&out) else { panic!() };
    assert_eq!(again.etag, done.etag);
    let get = Operation::GetObject {
        bucket: bucket("rs"),
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
    assert_eq!(collect(r.body.unwrap()).await, [p1, p2].concat());
    assert!(engine.store().list_staged(&bucket("rs")).await.unwrap().is_empty());
    let other = Operation::AbortMultipartUpload { bucket: bucket("rs"), key: key("k"), upload_id: id };
    assert_eq!(run(&engine, other, RequestBody::Empty).await.unwrap_err().code, ErrorCode::NoSuchUpload);
}

/// The server shares one engine between tasks: the engine and its request futures are `Send`.
#[test]
fn engine_and_its_futures_are_send() {
    fn is_send_sync<T: Send + Sync>(_: &T) {}
    fn is_send<T: Send>(_: T) {}
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let engine = runtime.block_on(async {
        let store = Arc::new(tessera_store::MemoryStore::new());
        Engine::open(store, EngineConfig::default(), Box::new(CounterIds::new("s", 1)), Timestamp::from_millis(T0))
            .await
            .unwrap()
    });
    is_send_sync(&engine);
    let request = EngineRequest {
        op: Operation::ListBuckets,
        principal: alice(),
        dialect: Dialect::Aws,
        now: Timestamp::from_millis(T0),
        body: RequestBody::Empty,
    };
    is_send(engine.execute(request));
    is_send(engine.handle_timeout(Timestamp::from_millis(T0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_parts_all_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let engine = Arc::new(open(dir.path(), "p").await);
        let create = Operation::CreateBucket { bucket: bucket("rs"), location: None, acl: Default::default() };
        run(&engine, create, RequestBody::Empty).await.unwrap();
        let op = Operation::CreateMultipartUpload {
            bucket: bucket("rs"),
            key: key("k"),
            attributes: Default::default(),
            forbid_overwrite: false,
            encoding_url: false,
        };
        let out = run(&engine, op, RequestBody::Empty).await.unwrap();
        let tessera_proto::ops::Document::InitiateMultipartUploadResult(doc) = doc_of(&out) else { panic!() };
        let id = tessera_proto::UploadId::new(&doc.upload_id).unwrap();
        let mut tasks = Vec::new();
        for n in 1..=24u32 {
            let (engine, id) = (engine.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let bytes = data(1000 + n as usize, n as u8);
                run(&engine, part_op(&id, n, bytes.len()), payload(&bytes)).await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        id
    };
    let engine = open(dir.path(), "q").await;
    let list = Operation::ListParts {
        bucket: bucket("rs"),
        key: key("k"),
        upload_id: id,
        part_number_marker: None,
        max_parts: None,
        encoding_url: false,
    };
    let out = run(&engine, list, RequestBody::Empty).await.unwrap();
    let tessera_proto::ops::Document::ListPartsResult(parts) = doc_of(&out) else { panic!() };
    assert_eq!(parts.parts.len(), 24, "every acknowledged part was persisted");
    assert_eq!(engine.store().list_staged(&bucket("rs")).await.unwrap().len(), 24);
}
