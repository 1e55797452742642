//! Figures for the filesystem backend (not pass/fail): staging throughput against `dd`,
//! assemble latency against part count, GET throughput from the page cache, and tokio::fs
//! against positioned reads on the blocking pool.
//!
//! Run with `cargo bench -p tessera-store-fs --bench fs`. Files go to a temporary directory
//! under the target dir, removed at the end.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::join_all;
use tessera_store::testkit::{bucket, key, record};
use tessera_store::{ByteStream, ObjectWrite, Precondition, Store};
use tessera_store_fs::{FsOptions, FsStore};
use tokio::io::AsyncReadExt;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn gib_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / GIB as f64 / d.as_secs_f64()
}

/// `len` bytes in 1 MiB chunks, all sharing one buffer (generation costs nothing).
fn zeros(len: u64) -> ByteStream {
    let block = Bytes::from(vec![0u8; MIB as usize]);
    let n = len / MIB;
    Box::pin(futures_util::stream::iter((0..n).map(move |_| Ok(block.clone()))))
}

async fn drain(mut s: ByteStream) -> u64 {
    let mut n = 0;
    while let Some(c) = s.next().await {
        n += c.unwrap().len() as u64;
    }
    n
}

fn dd(dir: &Path) -> Option<Duration> {
    let out = dir.join("dd.out");
    let start = Instant::now();
    let status = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", out.display()))
        .args(["bs=1M", "count=1024", "conv=fdatasync", "status=none"])
        .status()
        .ok()?;
    let d = start.elapsed();
    let _ = std::fs::remove_file(out);
    status.success().then_some(d)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::Builder::new().prefix("bench-fs-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    rt.block_on(run(dir.path()));
}

async fn run(dir: &Path) {
    let s = FsStore::open(dir.join("store")).await.unwrap();
    let b = bucket("bench");
    s.create_bucket(&b, record("o")).await.unwrap();

    // 1. Staging 1 GiB vs dd.
    for round in 0..3 {
        if let Some(d) = dd(dir) {
            println!(
                "dd 1 GiB conv=fdatasync (round {round}): {:.2} s, {:.2} GiB/s",
                d.as_secs_f64(),
                gib_per_s(GIB, d)
            );
        }
        let start = Instant::now();
        let p = s.stage(&b, zeros(GIB)).await.unwrap();
        let d = start.elapsed();
        println!("stage 1 GiB (round {round}): {:.2} s, {:.2} GiB/s", d.as_secs_f64(), gib_per_s(GIB, d));
        s.discard(&b, p.id).await.unwrap();
    }

    // 2. Assemble latency against part count (a commit's fsync dominates, so it varies:
    // several runs, all reported).
    for (parts, runs) in [(1_000usize, 5), (10_000, 3)] {
        let mut times = Vec::new();
        let mut setup = Duration::ZERO;
        for run in 0..runs {
            let start = Instant::now();
            let mut ids = Vec::with_capacity(parts);
            for batch in (0..parts).collect::<Vec<_>>().chunks(16) {
                let staged = join_all(batch.iter().map(|_| s.stage(&b, zeros(0)))).await;
                ids.extend(staged.into_iter().map(|p| p.unwrap().id));
            }
            setup += start.elapsed();
            let k = key(&format!("parts-{parts}"));
            let w = ObjectWrite { parts: ids, meta: Bytes::from_static(b"meta"), modified: 0 };
            let start = Instant::now();
            // From the second run on this also replaces (and frees) the previous object.
            s.assemble(&b, &k, w, Precondition::Any, None).await.unwrap();
            times.push(start.elapsed().as_secs_f64() * 1e3);
            if run + 1 == runs {
                let start = Instant::now();
                s.delete_object(&b, &k, Precondition::Any).await.unwrap();
                println!(
                    "delete of a {parts}-part object (unlinks {parts} files): {:.1} ms",
                    start.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "assemble {parts} parts: median {:.1} ms, runs {:?} ms (staging each part: {:.2} ms)",
            sorted[sorted.len() / 2],
            times.iter().map(|t| (t * 10.0).round() / 10.0).collect::<Vec<_>>(),
            setup.as_secs_f64() * 1e3 / (parts * runs) as f64
        );
    }

    // 3. GET of a 1 GiB, 64-part object from the page cache.
    let mut ids = Vec::new();
    for _ in 0..64 {
        ids.push(s.stage(&b, zeros(GIB / 64)).await.unwrap().id);
    }
    let k = key("gib-64");
    let w = ObjectWrite { parts: ids.clone(), meta: Bytes::new(), modified: 0 };
    let rec = s.assemble(&b, &k, w, Precondition::Any, None).await.unwrap();
    drop(s);
    for chunk in [256 << 10, 1 << 20, 2 << 20, 4 << 20] {
        let s = FsStore::open_with(dir.join("store"), FsOptions { read_chunk: chunk, ..FsOptions::default() })
            .await
            .unwrap();
        drain(s.read(&b, &k, &rec, 0..rec.size).await.unwrap()).await; // warm the cache
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            assert_eq!(drain(s.read(&b, &k, &rec, 0..rec.size).await.unwrap()).await, GIB);
            best = best.min(start.elapsed());
        }
        println!(
            "GET 1 GiB / 64 parts, {} KiB reads (spawn_blocking + pread, one ahead): {:.2} GiB/s",
            chunk >> 10,
            gib_per_s(GIB, best)
        );
    }

    // 4. The same files through tokio::fs, 1 MiB reads, for comparison.
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut total = 0u64;
        for e in &rec.layout {
            let id = e.stage.get();
            let path = dir.join("store/data").join(format!("{:02x}", id & 0xff)).join(format!("{id:016x}"));
            let mut f = tokio::fs::File::open(path).await.unwrap();
            let mut buf = vec![0u8; MIB as usize];
            loop {
                let n = f.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
        }
        assert_eq!(total, GIB);
        best = best.min(start.elapsed());
    }
    println!("tokio::fs::File, 1 MiB reads, same 64 files: {:.2} GiB/s", gib_per_s(GIB, best));
}
