//! The filesystem backend against the reference: the same random operation sequences on
//! `MemoryStore` and `FsStore` give the same answers (errors by code, records with stage ids
//! mapped to the order they were staged in), and the same bytes.

use bytes::Bytes;
use tessera_store::testkit::{bucket, collect, key, pattern, record, upload_id};
use tessera_store::{MemoryStore, ObjectRecord, ObjectWrite, Precondition, StageId, Store, StoreError};
use tessera_store_fs::{FsOptions, FsStore};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One backend and the ids it gave, in staging order (ops name parts by that index).
struct Side<S> {
    store: S,
    ids: Vec<StageId>,
}

/// An object record as compared: size, generation, modified, layout (staging index, length),
/// meta.
type Comparable = (u64, u64, u64, Vec<(usize, u64)>, Bytes);

/// An answer with backend-specific ids replaced by staging order.
#[derive(Debug, PartialEq)]
enum Answer {
    Err(String),
    Unit,
    Record(Option<Comparable>),
    Staged(Vec<(usize, u64)>),
    Keys(Vec<(String, u64)>),
    Data(Vec<u8>),
    Uploads(Vec<(String, Bytes)>),
}

impl<S: Store> Side<S> {
    fn index(&self, id: StageId) -> usize {
        self.ids.iter().position(|&i| i == id).expect("a stage id this side gave")
    }

    fn record(&self, r: Option<ObjectRecord>) -> Answer {
        Answer::Record(r.map(|r| {
            let layout = r.layout.iter().map(|e| (self.index(e.stage), e.len)).collect();
            (r.size, r.generation, r.modified, layout, r.meta)
        }))
    }

    fn err(e: StoreError) -> Answer {
        Answer::Err(e.code().as_str().to_owned())
    }

    async fn apply(&mut self, op: &Op) -> Answer {
        let b = bucket("diff");
        let s = &self.store;
        let r = match op {
            Op::Stage { seed, len, fail } => {
                let mut items: Vec<Result<Bytes, StoreError>> = vec![Ok(Bytes::from(pattern(*seed, *len)))];
                if *fail {
                    items.push(Err(StoreError::input(tessera_proto::ErrorCode::BadDigest, "bad")));
                }
                match s.stage(&b, Box::pin(futures_util::stream::iter(items))).await {
                    Ok(p) => {
                        self.ids.push(p.id);
                        Ok(Answer::Unit)
                    }
                    Err(e) => Err(e),
                }
            }
            Op::Discard(i) => match self.ids.get(*i) {
                Some(&id) => s.discard(&b, id).await.map(|()| Answer::Unit),
                None => Ok(Answer::Unit),
            },
            Op::ListStaged => s.list_staged(&b).await.map(|v| {
                let mut v: Vec<(usize, u64)> = v.into_iter().map(|p| (self.index(p.id), p.len)).collect();
                v.sort();
                Answer::Staged(v)
            }),
            Op::Assemble { key: k, parts, cond, upload } => {
                let parts = parts.iter().map(|&i| self.ids.get(i).copied().unwrap_or(StageId::new(u64::MAX))).collect();
                let w = ObjectWrite { parts, meta: Bytes::from(format!("m{k}")), modified: 7 };
                let u = upload.map(|n| upload_id(&format!("u{n}")));
                s.assemble(&b, &key(k), w, *cond, u.as_ref()).await.map(|r| self.record(Some(r)))
            }
            Op::Delete { key: k, cond } => s.delete_object(&b, &key(k), *cond).await.map(|r| self.record(Some(r))),
            Op::Object(k) => s.object(&b, &key(k)).await.map(|r| self.record(r)),
            Op::Read { key: k, from, len } => match s.object(&b, &key(k)).await {
                Ok(Some(rec)) => {
                    let start = from.min(&rec.size);
                    let end = (start + len).min(rec.size);
                    match s.read(&b, &key(k), &rec, *start..end).await {
                        Ok(stream) => collect(stream).await.map(Answer::Data),
                        Err(e) => Err(e),
                    }
                }
                Ok(None) => Ok(Answer::Record(None)),
                Err(e) => Err(e),
            },
            Op::List { prefix, after, limit } => {
                let after = after.as_deref().map(key);
                s.list_objects(&b, prefix, after.as_ref(), *limit)
                    .await
                    .map(|v| Answer::Keys(v.into_iter().map(|(k, r)| (k.as_str().to_owned(), r.generation)).collect()))
            }
            Op::PutUpload(n) => {
                s.put_upload(&b, &upload_id(&format!("u{n}")), Bytes::from(vec![*n; 3])).await.map(|()| Answer::Unit)
            }
            Op::DeleteUpload(n) => s.delete_upload(&b, &upload_id(&format!("u{n}"))).await.map(|()| Answer::Unit),
            Op::ListUploads => s
                .list_uploads(&b)
                .await
                .map(|v| Answer::Uploads(v.into_iter().map(|(id, r)| (id.as_str().to_owned(), r)).collect())),
            Op::DeleteBucket => s.delete_bucket(&b).await.map(|()| Answer::Unit),
            Op::CreateBucket => s.create_bucket(&b, record("o")).await.map(|()| Answer::Unit),
        };
        r.unwrap_or_else(Self::err)
    }
}

#[derive(Debug)]
enum Op {
    Stage { seed: u64, len: usize, fail: bool },
    Discard(usize),
    ListStaged,
    Assemble { key: &'static str, parts: Vec<usize>, cond: Precondition, upload: Option<u8> },
    Delete { key: &'static str, cond: Precondition },
    Object(&'static str),
    Read { key: &'static str, from: u64, len: u64 },
    List { prefix: &'static str, after: Option<&'static str>, limit: usize },
    PutUpload(u8),
    DeleteUpload(u8),
    ListUploads,
    DeleteBucket,
    CreateBucket,
}

const KEYS: [&str; 5] = ["a", "a/b", "ab", "b", "a/"];

fn random_op(rng: &mut Rng, staged: usize) -> Op {
    let pick = |rng: &mut Rng| KEYS[rng.below(KEYS.len() as u64) as usize];
    // Part indices: mostly real ones, sometimes one past the end (never staged).
    let part = |rng: &mut Rng| rng.below(staged as u64 + 1) as usize;
    match rng.below(26) {
        0..=5 => Op::Stage { seed: rng.below(1000), len: rng.below(300_000) as usize, fail: rng.below(8) == 0 },
        6 => Op::Discard(part(rng)),
        7 => Op::ListStaged,
        8..=12 => {
            let n = rng.below(4) as usize;
            let cond = match rng.below(4) {
                0 => Precondition::Absent,
                1 => Precondition::Generation(rng.below(8)),
                _ => Precondition::Any,
            };
            Op::Assemble {
                key: pick(rng),
                parts: (0..n).map(|_| part(rng)).collect(),
                cond,
                upload: (rng.below(3) == 0).then(|| rng.below(3) as u8),
            }
        }
        13..=14 => Op::Delete {
            key: pick(rng),
            cond: if rng.below(3) == 0 { Precondition::Generation(rng.below(8)) } else { Precondition::Any },
        },
        15 => Op::Object(pick(rng)),
        16..=18 => Op::Read { key: pick(rng), from: rng.below(400_000), len: rng.below(400_000) },
        19..=20 => Op::List {
            prefix: ["", "a", "a/", "b", "z"][rng.below(5) as usize],
            after: [None, Some("a"), Some("a/"), Some("ab")][rng.below(4) as usize],
            limit: rng.below(4) as usize,
        },
        21 => Op::PutUpload(rng.below(3) as u8),
        22 => Op::DeleteUpload(rng.below(3) as u8),
        23 => Op::ListUploads,
        24 => Op::DeleteBucket,
        _ => Op::CreateBucket,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_answers_like_the_memory_backend() {
    let (mut assembled, mut bytes_read, mut errors) = (0, 0, 0);
    for seed in 1..=10u64 {
        let dir = tempfile::Builder::new().prefix("diff-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let mut mem = Side { store: MemoryStore::new(), ids: vec![] };
        // Odd seeds consume every assemble's parts later (the path of large assembles).
        let options = FsOptions { consume_later_above: if seed % 2 == 1 { 0 } else { 256 }, ..FsOptions::default() };
        let mut fs = Side { store: FsStore::open_with(dir.path(), options).await.unwrap(), ids: vec![] };
        assert_eq!(mem.apply(&Op::CreateBucket).await, fs.apply(&Op::CreateBucket).await);
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for step in 0..70 {
            let op = random_op(&mut rng, mem.ids.len());
            let (m, f) = (mem.apply(&op).await, fs.apply(&op).await);
            assert_eq!(m, f, "seed {seed} step {step}: {op:?}");
            match (&op, &m) {
                (Op::Assemble { .. }, Answer::Record(Some(_))) => assembled += 1,
                (_, Answer::Data(d)) => bytes_read += d.len(),
                (_, Answer::Err(_)) => errors += 1,
                _ => {}
            }
        }
    }
    // The sequences must reach the interesting paths, not only fail early.
    eprintln!("differential: {assembled} assembles, {bytes_read} bytes read, {errors} errors agreed");
    assert!(assembled >= 20 && bytes_read >= 100_000 && errors >= 50, "{assembled} {bytes_read} {errors}");
}
