//! The conformance suite every [`Store`] backend runs (feature `testkit`).
//!
//! Each case is an async function over a [`Backend`]; [`conformance_tests!`](crate::conformance_tests)
//! expands to one `#[tokio::test]` per case, so the calling crate needs tokio as a
//! dev-dependency. This module itself names no runtime: concurrency inside a case is futures
//! polled together (`join_all`), which a backend doing real I/O turns into real parallelism.
//!
//! The suite checks what the [`Store`] docs promise and nothing of any backend's internals;
//! backends add their own tests for those (files, crashes).

use std::any::Any;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::future::join_all;
use tessera_proto::{BucketName, ErrorCode, ObjectKey, UploadId};

use crate::{BucketRecord, ByteStream, ObjectRecord, ObjectWrite, Precondition, StageId, Store, StoreError};

/// A store under test, with whatever must live as long as it (a temporary directory).
pub struct Backend<S> {
    /// The store.
    pub store: S,
    /// Kept alive for the test's duration, then dropped.
    pub guard: Box<dyn Any + Send + Sync>,
    /// Whether the backend keeps object data in process memory (the memory backend): the
    /// 1 GiB case then allows resident memory to grow by the data's size, and no more.
    pub resident: bool,
}

impl<S: Store> Backend<S> {
    /// A backend with nothing to keep alive.
    pub fn new(store: S, resident: bool) -> Self {
        Backend { store, guard: Box::new(()), resident }
    }
}

/// Expands to one `#[tokio::test]` per conformance case, inside a module `conformance`, each
/// calling `$make.await` (an expression yielding a [`Backend`]) for a fresh store.
///
/// ```text
/// tessera_store::conformance_tests!(async { Backend::new(MemoryStore::new(), true) });
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            buckets,
            bucket_not_empty,
            missing_bucket,
            put_and_get,
            empty_object,
            multipart_assemble,
            range_reads_cross_part_boundaries,
            overwrite_and_stale_reads,
            preconditions,
            failed_assemble_changes_nothing,
            staged_parts,
            input_error_keeps_nothing,
            dropped_stage_keeps_nothing,
            listing_order_and_paging,
            keys_are_not_paths,
            uploads,
            upload_part_records,
            concurrent_stages,
            concurrent_assemble_absent,
            concurrent_assemble_generation,
            concurrent_assemble_and_delete,
            delete_object,
            large_streamed_object,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = $make.await;
                    $crate::testkit::$case(&backend).await;
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A bucket name (panics on an invalid name: test input).
pub fn bucket(name: &str) -> BucketName {
    BucketName::new(name).expect("valid bucket name")
}

/// An object key (panics on an invalid key: test input).
pub fn key(name: &str) -> ObjectKey {
    ObjectKey::new(name).expect("valid key")
}

/// An upload id (panics on an invalid id: test input).
pub fn upload_id(id: &str) -> UploadId {
    UploadId::new(id).expect("valid upload id")
}

/// A bucket record for tests.
pub fn record(owner: &str) -> BucketRecord {
    BucketRecord { created: 1_700_000_000_000, owner: owner.into(), region: "us-east-1".into(), config: Bytes::new() }
}

/// `len` pseudo-random bytes from `seed` (xorshift; deterministic, so a checker can rebuild them).
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A stream yielding `data` in chunks of `chunk` bytes.
pub fn stream_of(data: &[u8], chunk: usize) -> ByteStream {
    let data = Bytes::copy_from_slice(data);
    let chunks: Vec<Result<Bytes, StoreError>> =
        (0..data.len()).step_by(chunk.max(1)).map(|i| Ok(data.slice(i..(i + chunk).min(data.len())))).collect();
    Box::pin(futures_util::stream::iter(chunks))
}

/// Everything a stream yields, or its first error.
pub async fn collect(mut stream: ByteStream) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// Stages `data` (in 64 KiB chunks) and assembles it at `key` with no condition.
pub async fn put<S: Store>(store: &S, b: &BucketName, k: &ObjectKey, data: &[u8]) -> ObjectRecord {
    let staged = store.stage(b, stream_of(data, 64 << 10)).await.expect("stage");
    assert_eq!(staged.len, data.len() as u64);
    store.assemble(b, k, write(vec![staged.id], data.len() as u64), Precondition::Any, None).await.expect("assemble")
}

/// An [`ObjectWrite`] of `parts` whose meta names `tag`.
pub fn write(parts: Vec<StageId>, tag: u64) -> ObjectWrite {
    ObjectWrite { parts, meta: Bytes::from(format!("meta-{tag}")), modified: 1_700_000_000_000 + tag }
}

/// Reads `range` of the object at `k` as it is now.
pub async fn read_range<S: Store>(store: &S, b: &BucketName, k: &ObjectKey, range: Range<u64>) -> Vec<u8> {
    let rec = store.object(b, k).await.expect("object").expect("object exists");
    collect(store.read(b, k, &rec, range).await.expect("read")).await.expect("stream")
}

/// Reads the whole object at `k`.
pub async fn read_all<S: Store>(store: &S, b: &BucketName, k: &ObjectKey) -> Vec<u8> {
    let rec = store.object(b, k).await.expect("object").expect("object exists");
    collect(store.read(b, k, &rec, 0..rec.size).await.expect("read")).await.expect("stream")
}

async fn fresh<S: Store>(store: &S, name: &str) -> BucketName {
    let b = bucket(name);
    store.create_bucket(&b, record("owner")).await.expect("create bucket");
    b
}

fn code<T>(r: Result<T, StoreError>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.code(),
    }
}

/// Resident memory of this process in bytes (Linux), for memory-bound checks.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

// ---------------------------------------------------------------------------------------------
// Cases.

/// Buckets: create, duplicate, get, update, list in name order, delete.
pub async fn buckets<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    assert!(s.list_buckets().await.unwrap().is_empty());
    let b2 = fresh(s, "zeta-bucket").await;
    let b1 = fresh(s, "alpha.bucket").await;
    assert!(matches!(s.create_bucket(&b1, record("other")).await, Err(StoreError::BucketExists)));
    assert_eq!(s.bucket(&b1).await.unwrap().unwrap().owner, "owner", "a failed create must not overwrite");
    let names: Vec<_> = s.list_buckets().await.unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec![b1.clone(), b2.clone()]);

    let mut rec = record("owner");
    rec.config = Bytes::from_static(b"<acl/>");
    rec.region = "eu-west-1".into();
    s.update_bucket(&b1, rec.clone()).await.unwrap();
    assert_eq!(s.bucket(&b1).await.unwrap(), Some(rec));

    s.delete_bucket(&b1).await.unwrap();
    assert_eq!(s.bucket(&b1).await.unwrap(), None);
    assert!(matches!(s.delete_bucket(&b1).await, Err(StoreError::NoSuchBucket)));
    assert_eq!(s.list_buckets().await.unwrap().len(), 1);
    // The name is free again.
    fresh(s, "alpha.bucket").await;
}

/// A bucket with an object, a staged part or an upload record cannot be deleted.
pub async fn bucket_not_empty<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "full").await;

    put(s, &b, &key("k"), b"x").await;
    assert_eq!(code(s.delete_bucket(&b).await), ErrorCode::BucketNotEmpty);
    s.delete_object(&b, &key("k"), Precondition::Any).await.unwrap();

    let staged = s.stage(&b, stream_of(b"part", 2)).await.unwrap();
    assert_eq!(code(s.delete_bucket(&b).await), ErrorCode::BucketNotEmpty);
    s.discard(&b, staged.id).await.unwrap();

    s.put_upload(&b, &upload_id("u1"), Bytes::from_static(b"rec")).await.unwrap();
    assert_eq!(code(s.delete_bucket(&b).await), ErrorCode::BucketNotEmpty);
    s.delete_upload(&b, &upload_id("u1")).await.unwrap();

    s.delete_bucket(&b).await.unwrap();
    assert!(s.list_buckets().await.unwrap().is_empty());
}

/// Every bucket-scoped operation on a missing bucket fails with `NoSuchBucket`.
pub async fn missing_bucket<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = bucket("missing");
    let k = key("k");
    let nsb = |e: StoreError| assert!(matches!(e, StoreError::NoSuchBucket), "{e:?}");
    nsb(s.update_bucket(&b, record("o")).await.unwrap_err());
    nsb(s.stage(&b, stream_of(b"abc", 1)).await.unwrap_err());
    nsb(s.stage_pending(&b, stream_of(b"abc", 1)).await.unwrap_err());
    nsb(s.discard(&b, StageId::new(0)).await.unwrap_err());
    nsb(s.list_staged(&b).await.unwrap_err());
    nsb(s.assemble(&b, &k, write(vec![], 0), Precondition::Any, None).await.unwrap_err());
    nsb(s.object(&b, &k).await.unwrap_err());
    nsb(s.delete_object(&b, &k, Precondition::Any).await.unwrap_err());
    nsb(s.list_objects(&b, "", None, 10).await.unwrap_err());
    nsb(s.put_upload(&b, &upload_id("u"), Bytes::new()).await.unwrap_err());
    nsb(s.upload(&b, &upload_id("u")).await.unwrap_err());
    nsb(s.delete_upload(&b, &upload_id("u")).await.unwrap_err());
    nsb(s.list_uploads(&b).await.unwrap_err());
    assert!(s.all_uploads().await.unwrap().is_empty());
}

/// A single-part object round-trips its bytes, meta and time.
pub async fn put_and_get<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "data").await;
    let k = key("photos/2024/cat.jpg");
    let data = pattern(1, 300_001);
    let staged = s.stage(&b, stream_of(&data, 8191)).await.unwrap();
    assert_eq!(staged.len, data.len() as u64);
    let meta = Bytes::from_static(b"\x00etag\xffcontent-type");
    let w = ObjectWrite { parts: vec![staged.id], meta: meta.clone(), modified: 42 };
    let rec = s.assemble(&b, &k, w, Precondition::Absent, None).await.unwrap();
    assert_eq!(rec.size, data.len() as u64);
    assert_eq!(rec.meta, meta);
    assert_eq!(rec.modified, 42);
    assert!(rec.generation > 0);
    assert_eq!(rec.layout.len(), 1);
    assert_eq!(rec.layout[0].stage, staged.id);
    assert_eq!(s.object(&b, &k).await.unwrap(), Some(rec.clone()));
    assert_eq!(read_all(s, &b, &k).await, data);
    assert!(s.list_staged(&b).await.unwrap().is_empty(), "assemble consumes the part");
    assert_eq!(s.object(&b, &key("photos/2024")).await.unwrap(), None);
}

/// Empty streams and empty objects.
pub async fn empty_object<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "empty").await;
    let staged = s.stage(&b, Box::pin(futures_util::stream::empty())).await.unwrap();
    assert_eq!(staged.len, 0);
    let rec = s.assemble(&b, &key("e"), write(vec![staged.id], 0), Precondition::Any, None).await.unwrap();
    assert_eq!(rec.size, 0);
    assert!(read_all(s, &b, &key("e")).await.is_empty());
    // No parts at all is an empty object too.
    let rec = s.assemble(&b, &key("none"), write(vec![], 1), Precondition::Any, None).await.unwrap();
    assert_eq!((rec.size, rec.layout.len()), (0, 0));
    assert!(read_all(s, &b, &key("none")).await.is_empty());
    assert_eq!(code(s.read(&b, &key("none"), &rec, 0..1).await), ErrorCode::InvalidRange);
}

/// Several parts assemble in the order given, not the order staged.
pub async fn multipart_assemble<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "multi").await;
    let parts: Vec<Vec<u8>> = vec![pattern(10, 100_000), pattern(11, 1), pattern(12, 0), pattern(13, 77_777)];
    let mut ids = Vec::new();
    for p in &parts {
        ids.push(s.stage(&b, stream_of(p, 4096)).await.unwrap().id);
    }
    let order = [3usize, 0, 2, 1];
    let chosen: Vec<StageId> = order.iter().map(|&i| ids[i]).collect();
    let u = upload_id("upload-1");
    s.put_upload(&b, &u, Bytes::from_static(b"state")).await.unwrap();
    let rec = s.assemble(&b, &key("big"), write(chosen.clone(), 7), Precondition::Any, Some(&u)).await.unwrap();
    let expected: Vec<u8> = order.iter().flat_map(|&i| parts[i].clone()).collect();
    assert_eq!(rec.size, expected.len() as u64);
    let lens: Vec<u64> = rec.layout.iter().map(|e| e.len).collect();
    assert_eq!(lens, order.iter().map(|&i| parts[i].len() as u64).collect::<Vec<_>>());
    assert_eq!(read_all(s, &b, &key("big")).await, expected);
    assert_eq!(s.upload(&b, &u).await.unwrap(), None, "the upload record went in the same step");
    assert!(s.list_staged(&b).await.unwrap().is_empty());
    // Consumed parts cannot be assembled again.
    let again = s.assemble(&b, &key("other"), write(vec![chosen[0]], 8), Precondition::Any, None).await;
    assert!(matches!(again, Err(StoreError::NoSuchStage)));
}

/// Range reads anywhere, including across and exactly at part boundaries.
pub async fn range_reads_cross_part_boundaries<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "ranges").await;
    let sizes = [1usize << 20, 3, 1, 2_500_000, 65_536];
    let mut ids = Vec::new();
    let mut all = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let p = pattern(100 + i as u64, n);
        ids.push(s.stage(&b, stream_of(&p, 100_000)).await.unwrap().id);
        all.extend_from_slice(&p);
    }
    let k = key("r");
    let rec = s.assemble(&b, &k, write(ids, 1), Precondition::Any, None).await.unwrap();
    let size = all.len() as u64;
    let mut edges = vec![0u64];
    for &n in &sizes {
        edges.push(edges.last().unwrap() + n as u64);
    }
    let mut ranges: Vec<Range<u64>> = vec![0..size, 0..0, size..size, size - 1..size, 0..1];
    for &e in &edges[1..edges.len() - 1] {
        ranges.extend([e - 1..e + 1, e..e + 1, e - 1..e, e..e, e.saturating_sub(5000)..(e + 5000).min(size)]);
    }
    // Spans of several parts, and a deterministic scatter.
    ranges.push(edges[1] - 10..edges[4] + 10);
    let mut x = 12345u64;
    for _ in 0..40 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let a = (x >> 11) % size;
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let c = (x >> 11) % size;
        ranges.push(a.min(c)..a.max(c));
    }
    for r in ranges {
        let got = collect(s.read(&b, &k, &rec, r.clone()).await.unwrap()).await.unwrap();
        assert!(got == all[r.start as usize..r.end as usize], "range {r:?} differs");
    }
    for bad in [0..size + 1, size + 1..size + 2] {
        assert_eq!(code(s.read(&b, &k, &rec, bad).await), ErrorCode::InvalidRange);
    }
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 5..4;
    assert_eq!(code(s.read(&b, &k, &rec, backwards).await), ErrorCode::InvalidRange);
}

/// Overwrites raise the generation; a stream opened before an overwrite still yields the old
/// bytes; `read` of a replaced record fails with `NoSuchKey`.
pub async fn overwrite_and_stale_reads<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "over").await;
    let k = key("k");
    let old = pattern(20, 3 << 20);
    let first = put(s, &b, &k, &old).await;
    let stream = s.read(&b, &k, &first, 0..first.size).await.unwrap();
    let new = pattern(21, 1000);
    let second = put(s, &b, &k, &new).await;
    assert!(second.generation > first.generation);
    assert_eq!(read_all(s, &b, &k).await, new);
    assert!(collect(stream).await.unwrap() == old, "an open stream finishes with the old data");
    assert!(matches!(s.read(&b, &k, &first, 0..10).await, Err(StoreError::NoSuchKey)));
    // Also across a delete.
    let stream = s.read(&b, &k, &second, 0..second.size).await.unwrap();
    s.delete_object(&b, &k, Precondition::Any).await.unwrap();
    assert_eq!(collect(stream).await.unwrap(), new);
    // Generations keep increasing across a delete and re-create.
    let third = put(s, &b, &k, b"again").await;
    assert!(third.generation > second.generation);
}

/// `Absent` and `Generation` are checked atomically with the change.
pub async fn preconditions<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "cond").await;
    let k = key("k");
    let first = put(s, &b, &k, b"one").await;

    let p = s.stage(&b, stream_of(b"two", 1)).await.unwrap();
    let r = s.assemble(&b, &k, write(vec![p.id], 2), Precondition::Absent, None).await;
    assert!(matches!(r, Err(StoreError::PreconditionFailed)));
    let r = s.assemble(&b, &k, write(vec![p.id], 2), Precondition::Generation(first.generation + 1000), None).await;
    assert!(matches!(r, Err(StoreError::PreconditionFailed)));
    assert_eq!(s.list_staged(&b).await.unwrap().len(), 1, "a failed assemble keeps its parts");
    assert_eq!(read_all(s, &b, &k).await, b"one");

    let second =
        s.assemble(&b, &k, write(vec![p.id], 2), Precondition::Generation(first.generation), None).await.unwrap();
    assert_eq!(read_all(s, &b, &k).await, b"two");

    let r = s.delete_object(&b, &k, Precondition::Generation(first.generation)).await;
    assert!(matches!(r, Err(StoreError::PreconditionFailed)));
    let r = s.delete_object(&b, &k, Precondition::Absent).await;
    assert!(matches!(r, Err(StoreError::PreconditionFailed)));
    let gone = s.delete_object(&b, &k, Precondition::Generation(second.generation)).await.unwrap();
    assert_eq!(gone.generation, second.generation);

    // Absent succeeds on an absent key; Generation fails on one.
    let p = s.stage(&b, stream_of(b"three", 1)).await.unwrap();
    let r = s.assemble(&b, &k, write(vec![p.id], 3), Precondition::Generation(second.generation), None).await;
    assert!(matches!(r, Err(StoreError::PreconditionFailed)));
    s.assemble(&b, &k, write(vec![p.id], 3), Precondition::Absent, None).await.unwrap();
    assert_eq!(read_all(s, &b, &k).await, b"three");
}

/// An assemble that fails on any check leaves parts, upload record and object untouched.
pub async fn failed_assemble_changes_nothing<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "atomic").await;
    let other = fresh(s, "elsewhere").await;
    let k = key("k");
    put(s, &b, &k, b"original").await;
    let u = upload_id("u");
    s.put_upload(&b, &u, Bytes::from_static(b"upload-state")).await.unwrap();
    let p1 = s.stage(&b, stream_of(b"aaa", 2)).await.unwrap();
    let p2 = s.stage(&b, stream_of(b"bbb", 2)).await.unwrap();
    let foreign = s.stage(&other, stream_of(b"ccc", 2)).await.unwrap();

    let attempts: Vec<(Vec<StageId>, Option<UploadId>, ErrorCode)> = vec![
        (vec![p1.id, StageId::new(u64::MAX)], Some(u.clone()), ErrorCode::InternalError),
        (vec![p1.id, p1.id], Some(u.clone()), ErrorCode::InternalError),
        (vec![p1.id, foreign.id], Some(u.clone()), ErrorCode::InternalError),
        (vec![p1.id, p2.id], Some(upload_id("not-there")), ErrorCode::NoSuchUpload),
    ];
    for (parts, upload, expected) in attempts {
        let r = s.assemble(&b, &k, write(parts.clone(), 9), Precondition::Any, upload.as_ref()).await;
        assert_eq!(code(r), expected, "{parts:?}");
        assert_eq!(read_all(s, &b, &k).await, b"original");
        let mut staged: Vec<StageId> = s.list_staged(&b).await.unwrap().iter().map(|p| p.id).collect();
        staged.sort();
        assert_eq!(staged, vec![p1.id, p2.id]);
        assert_eq!(s.upload(&b, &u).await.unwrap().as_deref(), Some(&b"upload-state"[..]));
        assert_eq!(s.list_staged(&other).await.unwrap().len(), 1);
    }
    // And the same assemble, correctly named, then succeeds.
    s.assemble(&b, &k, write(vec![p1.id, p2.id], 9), Precondition::Any, Some(&u)).await.unwrap();
    assert_eq!(read_all(s, &b, &k).await, b"aaabbb");
    assert_eq!(s.upload(&b, &u).await.unwrap(), None);
}

/// Staged parts: listed per bucket, discarded once, never visible from another bucket.
pub async fn staged_parts<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let a = fresh(s, "stage-a").await;
    let b = fresh(s, "stage-b").await;
    let p1 = s.stage(&a, stream_of(&pattern(1, 5000), 999)).await.unwrap();
    // A pending stage is a stage like any other, once it returns.
    let p2 = s.stage_pending(&a, stream_of(&pattern(2, 7), 3)).await.unwrap();
    let p3 = s.stage(&b, stream_of(&pattern(3, 11), 3)).await.unwrap();
    assert!(p1.id != p2.id && p2.id != p3.id && p1.id != p3.id);
    let mut listed = s.list_staged(&a).await.unwrap();
    listed.sort_by_key(|p| p.id);
    let mut expected = vec![p1, p2];
    expected.sort_by_key(|p| p.id);
    assert_eq!(listed, expected);
    assert_eq!(s.list_staged(&b).await.unwrap(), vec![p3]);

    assert!(matches!(s.discard(&b, p1.id).await, Err(StoreError::NoSuchStage)));
    s.discard(&a, p1.id).await.unwrap();
    assert!(matches!(s.discard(&a, p1.id).await, Err(StoreError::NoSuchStage)));
    assert_eq!(s.list_staged(&a).await.unwrap(), vec![p2]);
    let r = s.assemble(&a, &key("k"), write(vec![p1.id], 1), Precondition::Any, None).await;
    assert!(matches!(r, Err(StoreError::NoSuchStage)));
    s.assemble(&a, &key("k"), write(vec![p2.id], 1), Precondition::Any, None).await.unwrap();
    assert_eq!(read_all(s, &a, &key("k")).await, pattern(2, 7));
}

/// A stream that fails mid-way: staging returns its error unchanged and keeps nothing.
pub async fn input_error_keeps_nothing<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "badinput").await;
    let good = Bytes::from(pattern(5, 3 << 20));
    let items: Vec<Result<Bytes, StoreError>> = vec![
        Ok(good.slice(..1 << 20)),
        Ok(good.slice(1 << 20..)),
        Err(StoreError::input(ErrorCode::BadDigest, "digest mismatch")),
        Ok(Bytes::from_static(b"never read")),
    ];
    let r = s.stage(&b, Box::pin(futures_util::stream::iter(items))).await;
    match r {
        Err(StoreError::Input { code, source }) => {
            assert_eq!(code, ErrorCode::BadDigest);
            assert_eq!(source.to_string(), "digest mismatch");
        }
        other => panic!("expected the input error, got {other:?}"),
    }
    assert!(s.list_staged(&b).await.unwrap().is_empty());
    // An error before any data, too.
    let items = vec![Err(StoreError::input(ErrorCode::IncompleteBody, "short"))];
    let r = s.stage(&b, Box::pin(futures_util::stream::iter(items))).await;
    assert_eq!(code(r), ErrorCode::IncompleteBody);
    assert!(s.list_staged(&b).await.unwrap().is_empty());
    s.delete_bucket(&b).await.unwrap();
}

/// A stage dropped before its input ends (the client went away) keeps nothing.
pub async fn dropped_stage_keeps_nothing<S: Store>(t: &Backend<S>) {
    use std::sync::atomic::AtomicBool;
    use std::task::{Context, Poll};

    let s = &t.store;
    let b = fresh(s, "dropped").await;
    let reached = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&reached);
    let body = futures_util::stream::iter((0..3).map(|i| Ok(Bytes::from(pattern(i, 1 << 20))))).chain(
        futures_util::stream::poll_fn(move |_| {
            flag.store(true, Ordering::SeqCst);
            Poll::Pending
        }),
    );
    let mut stage = s.stage(&b, Box::pin(body));
    // Poll by hand until the store has taken all the data and waits for more.
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    while !reached.load(Ordering::SeqCst) {
        if let Poll::Ready(r) = stage.as_mut().poll(&mut cx) {
            panic!("a body that never ends cannot finish staging: {r:?}");
        }
        std::thread::yield_now();
    }
    drop(stage);
    assert!(s.list_staged(&b).await.unwrap().is_empty());
    s.delete_bucket(&b).await.unwrap();
}

/// Listing: key byte order, prefixes, `start_after`, limits, paging to the end.
pub async fn listing_order_and_paging<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "list").await;
    let names = ["a", "a/b", "a/", "a0", "a/b/c", "b", "Z", "é", "z", "a-", "a.b", "ab", "\u{1}ctl", "~"];
    for (i, n) in names.iter().enumerate() {
        put(s, &b, &key(n), &pattern(i as u64, i)).await;
    }
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
    let all: Vec<String> =
        s.list_objects(&b, "", None, 1000).await.unwrap().into_iter().map(|(k, _)| k.as_str().to_owned()).collect();
    assert_eq!(all, sorted);

    for page in [1usize, 2, 3, 5, 100] {
        let mut got = Vec::new();
        let mut after: Option<ObjectKey> = None;
        loop {
            let batch = s.list_objects(&b, "", after.as_ref(), page).await.unwrap();
            assert!(batch.len() <= page);
            if batch.is_empty() {
                break;
            }
            after = Some(batch.last().unwrap().0.clone());
            got.extend(batch.into_iter().map(|(k, _)| k.as_str().to_owned()));
        }
        assert_eq!(got, sorted, "page size {page}");
    }
    let with_prefix = |prefix: &str, after: Option<&str>| {
        let expected: Vec<String> = sorted
            .iter()
            .filter(|k| k.starts_with(prefix) && after.is_none_or(|a| k.as_bytes() > a.as_bytes()))
            .map(|k| k.to_string())
            .collect();
        (prefix.to_owned(), after.map(key), expected)
    };
    for (prefix, after, expected) in [
        with_prefix("a/", None),
        with_prefix("a", Some("a/")),
        with_prefix("a", Some("0")),
        with_prefix("a", Some("zz")),
        with_prefix("q", None),
        with_prefix("", Some("b")),
        with_prefix("a/b", None),
    ] {
        let got: Vec<String> = s
            .list_objects(&b, &prefix, after.as_ref(), 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k.as_str().to_owned())
            .collect();
        assert_eq!(got, expected, "prefix {prefix:?} after {after:?}");
    }
    let recs = s.list_objects(&b, "a/b", None, 1).await.unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].1, s.object(&b, &key("a/b")).await.unwrap().unwrap());
    assert!(s.list_objects(&b, "", None, 0).await.unwrap().is_empty());
}

/// Keys that would be dangerous or impossible as file paths are just names.
pub async fn keys_are_not_paths<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "paths").await;
    let long = "x".repeat(1024);
    let names = ["../../etc/passwd", "/abs", "dir/", "dir", "dir/file", ".", "..", "a//b", "nul\0byte", &long];
    for (i, n) in names.iter().enumerate() {
        put(s, &b, &key(n), &pattern(50 + i as u64, 100 + i)).await;
    }
    for (i, n) in names.iter().enumerate() {
        assert_eq!(read_all(s, &b, &key(n)).await, pattern(50 + i as u64, 100 + i), "{n:?}");
    }
    assert_eq!(s.list_objects(&b, "", None, 100).await.unwrap().len(), names.len());
    s.delete_object(&b, &key("dir"), Precondition::Any).await.unwrap();
    assert_eq!(read_all(s, &b, &key("dir/")).await, pattern(52, 102));
}

/// Upload records: write, rewrite, read, list, delete.
pub async fn uploads<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let a = fresh(s, "up-a").await;
    let b = fresh(s, "up-b").await;
    let (u1, u2) = (upload_id("u1"), upload_id("u2"));
    assert_eq!(s.upload(&a, &u1).await.unwrap(), None);
    s.put_upload(&a, &u2, Bytes::from_static(b"two")).await.unwrap();
    s.put_upload(&a, &u1, Bytes::from_static(b"one")).await.unwrap();
    s.put_upload(&a, &u1, Bytes::from(vec![7u8; 100_000])).await.unwrap();
    s.put_upload(&b, &u1, Bytes::from_static(b"b-one")).await.unwrap();
    assert_eq!(s.upload(&a, &u1).await.unwrap(), Some(Bytes::from(vec![7u8; 100_000])));
    let listed: Vec<UploadId> = s.list_uploads(&a).await.unwrap().into_iter().map(|(id, _)| id).collect();
    assert_eq!(listed, vec![u1.clone(), u2.clone()]);
    let all: Vec<(String, String)> = s
        .all_uploads()
        .await
        .unwrap()
        .into_iter()
        .map(|(bk, id, _)| (bk.as_str().to_owned(), id.as_str().to_owned()))
        .collect();
    assert_eq!(all, [("up-a", "u1"), ("up-a", "u2"), ("up-b", "u1")].map(|(x, y)| (x.to_owned(), y.to_owned())));
    s.delete_upload(&a, &u1).await.unwrap();
    assert!(matches!(s.delete_upload(&a, &u1).await, Err(StoreError::NoSuchUpload)));
    assert_eq!(s.upload(&b, &u1).await.unwrap().as_deref(), Some(&b"b-one"[..]));
    assert_eq!(s.list_uploads(&a).await.unwrap().len(), 1);
}

/// Part records: per upload, replaced by number, listed in number order, gone with their
/// upload (delete or assemble), refused for an upload that has no record.
pub async fn upload_part_records<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "up-parts").await;
    let (u1, u2) = (upload_id("u1"), upload_id("u2"));
    assert!(matches!(s.put_upload_part(&b, &u1, 1, Bytes::from_static(b"p")).await, Err(StoreError::NoSuchUpload)));
    s.put_upload(&b, &u1, Bytes::from_static(b"header-1")).await.unwrap();
    s.put_upload(&b, &u2, Bytes::from_static(b"header-2")).await.unwrap();
    for n in [10_000u32, 2, 1, 300] {
        s.put_upload_part(&b, &u1, n, Bytes::from(format!("u1-{n}"))).await.unwrap();
    }
    s.put_upload_part(&b, &u1, 2, Bytes::from_static(b"u1-2-again")).await.unwrap();
    s.put_upload_part(&b, &u2, 1, Bytes::from_static(b"u2-1")).await.unwrap();
    let parts = s.upload_parts(&b, &u1).await.unwrap();
    let shown: Vec<(u32, &[u8])> = parts.iter().map(|(n, r)| (*n, &r[..])).collect();
    assert_eq!(shown, [(1, &b"u1-1"[..]), (2, b"u1-2-again"), (300, b"u1-300"), (10_000, b"u1-10000")]);
    assert_eq!(s.upload(&b, &u1).await.unwrap().as_deref(), Some(&b"header-1"[..]), "the header is untouched");
    assert!(s.upload_parts(&b, &upload_id("none")).await.unwrap().is_empty());
    // Deleting an upload deletes its parts, not another upload's.
    s.delete_upload(&b, &u1).await.unwrap();
    assert!(s.upload_parts(&b, &u1).await.unwrap().is_empty());
    assert_eq!(s.upload_parts(&b, &u2).await.unwrap().len(), 1);
    // A new upload under the old id starts with no parts.
    s.put_upload(&b, &u1, Bytes::from_static(b"header-again")).await.unwrap();
    assert!(s.upload_parts(&b, &u1).await.unwrap().is_empty());
    s.delete_upload(&b, &u1).await.unwrap();
    // Assembling with the upload deletes its part records in the same step.
    let staged = s.stage(&b, stream_of(b"abc", 2)).await.unwrap();
    s.assemble(&b, &key("k"), write(vec![staged.id], 1), Precondition::Any, Some(&u2)).await.unwrap();
    assert!(s.upload_parts(&b, &u2).await.unwrap().is_empty());
    assert!(s.list_uploads(&b).await.unwrap().is_empty());
    s.delete_object(&b, &key("k"), Precondition::Any).await.unwrap();
    s.delete_bucket(&b).await.unwrap();
}

/// Many stages at once (the same part uploaded twice, parallel parts): distinct ids, each
/// with its own bytes.
pub async fn concurrent_stages<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "parallel").await;
    let datas: Vec<Vec<u8>> = (0..16).map(|i| pattern(200 + i, 200_000 + 1000 * i as usize)).collect();
    let staged = join_all(datas.iter().map(|d| s.stage(&b, stream_of(d, 16_384)))).await;
    let staged: Vec<_> = staged.into_iter().map(|r| r.unwrap()).collect();
    let mut ids: Vec<StageId> = staged.iter().map(|p| p.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16);
    assert_eq!(s.list_staged(&b).await.unwrap().len(), 16);
    for (i, p) in staged.iter().enumerate() {
        let k = key(&format!("k{i}"));
        s.assemble(&b, &k, write(vec![p.id], i as u64), Precondition::Any, None).await.unwrap();
        assert!(read_all(s, &b, &k).await == datas[i], "part {i}");
    }
}

/// Racing create-if-absent on one key: exactly one wins; the losers' parts stay staged.
pub async fn concurrent_assemble_absent<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "race").await;
    let k = key("contended");
    let mut parts = Vec::new();
    for i in 0..8 {
        parts.push(s.stage(&b, stream_of(&pattern(300 + i, 10_000), 4096)).await.unwrap());
    }
    let results = join_all(
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| s.assemble(&b, &k, write(vec![p.id], i as u64), Precondition::Absent, None)),
    )
    .await;
    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, StoreError::PreconditionFailed), "{e:?}");
        }
    }
    let w = winners[0];
    assert_eq!(read_all(s, &b, &k).await, pattern(300 + w as u64, 10_000));
    assert_eq!(s.list_staged(&b).await.unwrap().len(), 7);
}

/// Racing compare-and-swap on one key's generation: exactly one wins per round.
pub async fn concurrent_assemble_generation<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "cas").await;
    let k = key("counter");
    let mut current = put(s, &b, &k, b"start").await;
    for round in 0..4u64 {
        let mut parts = Vec::new();
        for i in 0..4u64 {
            parts.push(s.stage(&b, stream_of(&pattern(round * 10 + i, 999), 100)).await.unwrap());
        }
        let results =
            join_all(parts.iter().map(|p| {
                s.assemble(&b, &k, write(vec![p.id], round), Precondition::Generation(current.generation), None)
            }))
            .await;
        let won: Vec<&ObjectRecord> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        current = won[0].clone();
        for p in &parts {
            if p.id != current.layout[0].stage {
                s.discard(&b, p.id).await.unwrap();
            }
        }
    }
    assert_eq!(s.object(&b, &k).await.unwrap(), Some(current));
    assert!(s.list_staged(&b).await.unwrap().is_empty());
}

/// Overwrites and deletes racing on one key: the key always ends whole — absent, or exactly
/// one of the writes — and every successful write consumed its parts.
pub async fn concurrent_assemble_and_delete<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let (b, k) = (&fresh(s, "churn").await, &key("hot"));
    for round in 0..6u64 {
        let mut parts = Vec::new();
        for i in 0..4u64 {
            let seed = 1000 + round * 10 + i;
            parts.push((seed, s.stage(b, stream_of(&pattern(seed, 50_000 + i as usize), 8192)).await.unwrap()));
        }
        let writes = parts.iter().map(|(seed, p)| async move {
            s.assemble(b, k, write(vec![p.id], *seed), Precondition::Any, None).await.map(|_| ())
        });
        let deletes = (0..2).map(|_| async {
            match s.delete_object(b, k, Precondition::Any).await {
                Ok(_) | Err(StoreError::NoSuchKey) => Ok(()),
                Err(e) => Err(e),
            }
        });
        let (w, d) = futures_util::future::join(join_all(writes), join_all(deletes)).await;
        assert!(w.iter().chain(d.iter()).all(|r| r.is_ok()), "{w:?} {d:?}");
        assert!(s.list_staged(b).await.unwrap().is_empty());
        if let Some(rec) = s.object(b, k).await.unwrap() {
            let seed: u64 = std::str::from_utf8(&rec.meta).unwrap().trim_start_matches("meta-").parse().unwrap();
            let i = (seed - 1000 - round * 10) as usize;
            assert_eq!(rec.size, 50_000 + i as u64);
            assert!(read_all(s, b, k).await == pattern(seed, 50_000 + i), "round {round}: torn object");
        }
    }
}

/// Delete: returns the record, is gone from reads and listings, second delete fails.
pub async fn delete_object<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "del").await;
    let k = key("k");
    let rec = put(s, &b, &k, b"bytes").await;
    put(s, &b, &key("k2"), b"other").await;
    let gone = s.delete_object(&b, &k, Precondition::Any).await.unwrap();
    assert_eq!(gone, rec);
    assert_eq!(s.object(&b, &k).await.unwrap(), None);
    assert!(matches!(s.read(&b, &k, &rec, 0..1).await, Err(StoreError::NoSuchKey)));
    assert!(matches!(s.delete_object(&b, &k, Precondition::Any).await, Err(StoreError::NoSuchKey)));
    let left = s.list_objects(&b, "", None, 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, key("k2"));
}

const MIB: usize = 1 << 20;
const BIG_BLOCKS: u64 = 1024;

/// Block `i` of the large object: a shared pseudo-random MiB stamped with its index at both
/// ends, so a misplaced, repeated or missing block shows.
fn big_block(base: &[u8], i: u64) -> Bytes {
    let mut b = BytesMut::from(base);
    b[..8].copy_from_slice(&i.to_le_bytes());
    b[MIB - 8..].copy_from_slice(&(!i).to_le_bytes());
    b.freeze()
}

/// A 1 GiB object streamed in and out with memory bounded: the input is generated lazily,
/// the output checked as it streams, and resident memory sampled throughout.
pub async fn large_streamed_object<S: Store>(t: &Backend<S>) {
    let s = &t.store;
    let b = fresh(s, "large").await;
    let k = key("gigabyte");
    let base = Arc::new(pattern(77, MIB));
    let start = resident_bytes();
    let peak = Arc::new(AtomicU64::new(start.unwrap_or(0)));
    let sample = {
        let peak = Arc::clone(&peak);
        move || {
            if let Some(now) = resident_bytes() {
                peak.fetch_max(now, Ordering::Relaxed);
            }
        }
    };

    // Two parts, so the object also crosses a part boundary inside a block: part one ends a
    // third of a MiB before block `split` begins, part two starts there.
    let split = BIG_BLOCKS / 2;
    let back = MIB / 3;
    let mut parts = Vec::new();
    for (blocks, part) in [(0..split, 0), (split - 1..BIG_BLOCKS, 1)] {
        let (base, sample) = (Arc::clone(&base), sample.clone());
        let first = blocks.start;
        let last = blocks.end - 1;
        let stream = futures_util::stream::iter(blocks).map(move |i| {
            if i.is_multiple_of(64) {
                sample();
            }
            let block = big_block(&base, i);
            Ok(match part {
                0 if i == last => block.slice(..MIB - back),
                1 if i == first => block.slice(MIB - back..),
                _ => block,
            })
        });
        parts.push(s.stage(&b, Box::pin(stream)).await.unwrap());
    }
    assert_eq!(parts[0].len, split * MIB as u64 - back as u64);
    assert_eq!(parts[0].len + parts[1].len, BIG_BLOCKS * MIB as u64);

    let rec = s.assemble(&b, &k, write(vec![parts[0].id, parts[1].id], 1), Precondition::Any, None).await.unwrap();
    assert_eq!(rec.size, BIG_BLOCKS * MIB as u64);

    // Read it all back, comparing as it streams.
    let mut stream = s.read(&b, &k, &rec, 0..rec.size).await.unwrap();
    let mut offset = 0u64;
    let mut block_no = u64::MAX;
    let mut block = Bytes::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let i = offset / MIB as u64;
            if i != block_no {
                block_no = i;
                block = big_block(&base, i);
                if i.is_multiple_of(64) {
                    sample();
                }
            }
            let within = (offset % MIB as u64) as usize;
            let n = rest.len().min(MIB - within);
            assert!(rest[..n] == block[within..within + n], "mismatch in block {i} at offset {offset}");
            rest = &rest[n..];
            offset += n as u64;
        }
    }
    assert_eq!(offset, rec.size);
    drop(stream);
    sample();

    if let Some(start) = start {
        let growth = peak.load(Ordering::Relaxed).saturating_sub(start);
        let allowed = if t.resident { rec.size + 256 * MIB as u64 } else { 256 * MIB as u64 };
        assert!(growth <= allowed, "resident memory grew by {} MiB (allowed {} MiB)", growth >> 20, allowed >> 20);
    }
    s.delete_object(&b, &k, Precondition::Any).await.unwrap();
}
