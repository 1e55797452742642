//! Upload (stage) and GET (read) throughput over `MemoryStore`, plaintext and with
//! AES-256-CTR encryption at rest, in the same run: the cost of encryption (the
//! plaintext rows copy each chunk once, as the encrypting rows do).

#![allow(missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use tessera_engine::{KeyRing, RandomSource, SecretKey, ctr_stream};
use tessera_proto::{BucketName, ObjectKey};
use tessera_store::{BucketRecord, ByteStream, MemoryStore, ObjectWrite, Precondition, Store, StoreError};

const SIZE: usize = 32 << 20;
const CHUNK: usize = 1 << 20;

struct FixedRandom;

impl RandomSource for FixedRandom {
    fn fill(&self, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
    }
}

fn body(chunk: &Bytes) -> ByteStream {
    let chunks: Vec<Result<Bytes, StoreError>> = (0..SIZE / CHUNK).map(|_| Ok(chunk.clone())).collect();
    Box::pin(futures_util::stream::iter(chunks))
}

/// The plaintext baseline copies each chunk into a fresh buffer, as receiving it from a
/// socket would (`MemoryStore` keeps `Bytes` by reference, so a bare baseline costs nothing).
fn copied(s: ByteStream) -> ByteStream {
    Box::pin(s.map(|c| c.map(|c| Bytes::copy_from_slice(&c))))
}

async fn drain(mut s: ByteStream) -> usize {
    let mut n = 0;
    while let Some(c) = s.next().await {
        n += c.map(|c| c.len()).unwrap_or(0);
    }
    n
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let rng = FixedRandom;
    let mut ring = KeyRing::new();
    ring.set_sse_s3_key(SecretKey::random(&rng));
    let chunk = Bytes::from(vec![0x61u8; CHUNK]);
    let store = MemoryStore::new();
    let bucket = BucketName::new("bench").expect("bucket");
    let record = BucketRecord { created: 0, owner: "o".into(), region: "r".into(), config: Bytes::new() };
    rt.block_on(store.create_bucket(&bucket, record)).expect("create");

    let mut g = c.benchmark_group("sse");
    g.throughput(Throughput::Bytes(SIZE as u64)).sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("upload/plain", |b| {
        b.iter(|| {
            rt.block_on(async {
                let s = store.stage(&bucket, copied(body(&chunk))).await.expect("stage");
                store.discard(&bucket, s.id).await.expect("discard");
            })
        })
    });
    g.bench_function("upload/sse-s3", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (dk, rec) = ring.seal_new(&rng, None).expect("seal");
                let enc = ctr_stream(body(&chunk), &dk, &rec.iv, 0).expect("stream");
                let s = store.stage(&bucket, enc).await.expect("stage");
                store.discard(&bucket, s.id).await.expect("discard");
            })
        })
    });

    // One stored object per mode, read back whole.
    let (dk, rec) = ring.seal_new(&rng, None).expect("seal");
    let mut objects = Vec::new();
    for (name, encrypt) in [("plain", false), ("enc", true)] {
        let key = ObjectKey::new(name).expect("key");
        let data = if encrypt { ctr_stream(body(&chunk), &dk, &rec.iv, 0).expect("stream") } else { body(&chunk) };
        let object = rt.block_on(async {
            let s = store.stage(&bucket, data).await.expect("stage");
            let write = ObjectWrite { parts: vec![s.id], meta: Bytes::new(), modified: 0 };
            store.assemble(&bucket, &key, write, Precondition::Any, None).await.expect("assemble")
        });
        objects.push((key, object));
    }
    g.bench_function("get/plain", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (key, obj) = &objects[0];
                let s = store.read(&bucket, key, obj, 0..SIZE as u64).await.expect("read");
                assert_eq!(drain(copied(s)).await, SIZE);
            })
        })
    });
    g.bench_function("get/sse-s3", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (key, obj) = &objects[1];
                let dk = ring.open(&rec, None).expect("open");
                let s = store.read(&bucket, key, obj, 0..SIZE as u64).await.expect("read");
                let s = ctr_stream(s, &dk, &rec.iv, 0).expect("stream");
                assert_eq!(drain(s).await, SIZE);
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
