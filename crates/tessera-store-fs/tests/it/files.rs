//! What the filesystem backend does with files: names, reclamation, recovery, locking, a full
//! disk.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use tessera_store::testkit::{bucket, collect, key, pattern, put, read_all, record, stream_of, upload_id, write};
use tessera_store::{ObjectWrite, Precondition, StageId, Store, StoreError};
use tessera_store_fs::{FsOptions, FsStore};

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("files-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Every regular file under `root`, relative to it, sorted.
pub(crate) fn files_under(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(&path, root, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Whether extent `id` is kept in the database, not in a file.
pub(crate) fn is_inline(id: u64) -> bool {
    FsStore::is_inline(StageId::new(id))
}

/// A store that keeps every part in a file, for the tests of what happens to files.
async fn files_only(root: &Path) -> FsStore {
    FsStore::open_with(root, FsOptions { inline_max: 0, ..FsOptions::default() }).await.unwrap()
}

/// The data files under `root`, as stage ids.
pub(crate) fn data_files(root: &Path) -> Vec<u64> {
    let mut ids: Vec<u64> = files_under(root)
        .iter()
        .filter_map(|f| f.strip_prefix("data/"))
        .filter_map(|f| u64::from_str_radix(f.rsplit('/').next()?, 16).ok())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn keys_never_become_paths() {
    let dir = temp_dir();
    let s = files_only(dir.path()).await;
    let b = bucket("names");
    s.create_bucket(&b, record("o")).await.unwrap();
    let keys = ["../../escape", "a", "a/b", "a/b/", "/", "x".repeat(1024).as_str(), "con", "é/ü"].map(String::from);
    for (i, k) in keys.iter().enumerate() {
        put(&s, &b, &key(k), &pattern(i as u64, 10)).await;
    }
    for f in files_under(dir.path()) {
        let ok = f == "LOCK"
            || f == "meta.redb"
            || (f.starts_with("data/")
                && f.len() == "data/xx/".len() + 16
                && f[8..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(ok, "unexpected file {f:?}");
    }
    assert_eq!(data_files(dir.path()).len(), keys.len());
    // The fan-out directory is the id's low byte.
    for f in files_under(dir.path()).iter().filter(|f| f.starts_with("data/")) {
        assert_eq!(&f[5..7], &f[f.len() - 2..], "{f}");
    }
}

#[tokio::test]
async fn overwrite_delete_and_discard_free_their_files() {
    let dir = temp_dir();
    let s = files_only(dir.path()).await;
    let b = bucket("reclaim");
    s.create_bucket(&b, record("o")).await.unwrap();
    let first = put(&s, &b, &key("k"), &pattern(1, 1000)).await;
    assert_eq!(data_files(dir.path()), vec![first.layout[0].stage.get()]);

    let p1 = s.stage(&b, stream_of(&pattern(2, 3000), 100)).await.unwrap();
    let p2 = s.stage(&b, stream_of(&pattern(3, 3000), 100)).await.unwrap();
    assert_eq!(data_files(dir.path()).len(), 3);
    let second = s.assemble(&b, &key("k"), write(vec![p1.id, p2.id], 2), Precondition::Any, None).await.unwrap();
    assert_eq!(data_files(dir.path()), vec![p1.id.get(), p2.id.get()], "the overwritten extent is gone");

    let p3 = s.stage(&b, stream_of(b"staged", 2)).await.unwrap();
    s.discard(&b, p3.id).await.unwrap();
    assert_eq!(data_files(dir.path()).len(), 2);

    // A read open across a delete keeps the files until it is dropped.
    let mut stream = s.read(&b, &key("k"), &second, 0..second.size).await.unwrap();
    let head = stream.next().await.unwrap().unwrap();
    s.delete_object(&b, &key("k"), Precondition::Any).await.unwrap();
    assert_eq!(data_files(dir.path()).len(), 2, "files stay while a read is open");
    let mut rest = head.to_vec();
    rest.extend(collect(stream).await.unwrap());
    let mut expected = pattern(2, 3000);
    expected.extend(pattern(3, 3000));
    assert_eq!(rest, expected);
    assert!(data_files(dir.path()).is_empty(), "and go when it is done");
    assert!(files_under(&dir.path().join("tmp")).is_empty());
}

#[tokio::test]
async fn records_and_data_survive_reopen() {
    let dir = temp_dir();
    let b = bucket("persist");
    let (rec, staged_id) = {
        let s = FsStore::open(dir.path()).await.unwrap();
        s.create_bucket(&b, record("o")).await.unwrap();
        let rec = put(&s, &b, &key("k"), &pattern(9, 2 << 20)).await;
        s.put_upload(&b, &upload_id("u"), Bytes::from_static(b"upload")).await.unwrap();
        let staged = s.stage(&b, stream_of(b"pending", 3)).await.unwrap();
        (rec, staged.id)
    };
    let s = FsStore::open(dir.path()).await.unwrap();
    assert_eq!(s.recovery().removed_orphans, 0);
    assert_eq!(s.object(&b, &key("k")).await.unwrap(), Some(rec.clone()));
    assert_eq!(read_all(&s, &b, &key("k")).await, pattern(9, 2 << 20));
    assert_eq!(s.upload(&b, &upload_id("u")).await.unwrap().as_deref(), Some(&b"upload"[..]));
    assert_eq!(s.list_staged(&b).await.unwrap()[0].id, staged_id);
    // New ids never reuse old ones, and generations keep rising.
    let next = s.stage(&b, stream_of(b"new", 3)).await.unwrap();
    assert!(next.id > staged_id && next.id > rec.layout[0].stage);
    let again = put(&s, &b, &key("k"), b"v2").await;
    assert!(again.generation > rec.generation);
}

#[tokio::test]
async fn recovery_removes_temporary_and_unreferenced_files_only() {
    let dir = temp_dir();
    let b = bucket("recover");
    let (kept, staged) = {
        let s = files_only(dir.path()).await;
        s.create_bucket(&b, record("o")).await.unwrap();
        let kept = put(&s, &b, &key("k"), &pattern(4, 5000)).await;
        let staged = s.stage(&b, stream_of(b"staged", 2)).await.unwrap();
        (kept, staged)
    };
    // What a crash leaves: a half-written temp file, a renamed file never committed, and a
    // freed extent never unlinked (id far above any in use).
    std::fs::write(dir.path().join("tmp/00000000000000ff.tmp"), b"half").unwrap();
    let orphan = 0x0000_0001_0000_0042u64;
    let orphan_path = dir.path().join(format!("data/42/{orphan:016x}"));
    std::fs::write(&orphan_path, b"never committed").unwrap();
    let foreign = dir.path().join("data/00/README");
    std::fs::write(&foreign, b"not ours").unwrap();

    let s = files_only(dir.path()).await;
    let report = s.recovery().clone();
    assert_eq!((report.removed_temp, report.removed_orphans), (1, 1), "{report:?}");
    assert!(report.missing.is_empty());
    assert!(!orphan_path.exists());
    assert!(foreign.exists(), "files with names the store never writes are left alone");
    assert_eq!(data_files(dir.path()), {
        let mut v = vec![kept.layout[0].stage.get(), staged.id.get()];
        v.sort();
        v
    });
    assert_eq!(read_all(&s, &b, &key("k")).await, pattern(4, 5000));
    // The orphan's id is above the counter; a new stage must not collide with it.
    let next = s.stage(&b, stream_of(b"n", 1)).await.unwrap();
    assert!(next.id.get() > orphan);
}

#[tokio::test]
async fn a_second_open_is_refused_while_the_first_lives() {
    let dir = temp_dir();
    let first = FsStore::open(dir.path()).await.unwrap();
    assert!(matches!(FsStore::open(dir.path()).await, Err(StoreError::Locked)));
    drop(first);
    FsStore::open(dir.path()).await.unwrap();
}

#[tokio::test]
async fn small_input_chunks_are_coalesced_and_large_ones_kept() {
    let dir = temp_dir();
    let s = FsStore::open_with(dir.path(), FsOptions { write_batch: 1 << 20, ..FsOptions::default() }).await.unwrap();
    let b = bucket("chunks");
    s.create_bucket(&b, record("o")).await.unwrap();
    let data = pattern(6, 5_000_000);
    // Mixed chunk sizes: 1 byte, 7 KiB, 300 KiB, 2 MiB.
    let mut chunks = Vec::new();
    let mut at = 0;
    for size in [1usize, 7 << 10, 300 << 10, 2 << 20].iter().cycle() {
        if at >= data.len() {
            break;
        }
        let end = (at + size).min(data.len());
        chunks.push(Ok(Bytes::copy_from_slice(&data[at..end])));
        at = end;
    }
    let staged = s.stage(&b, Box::pin(futures_util::stream::iter(chunks))).await.unwrap();
    assert_eq!(staged.len, data.len() as u64);
    s.assemble(&b, &key("k"), write(vec![staged.id], 1), Precondition::Any, None).await.unwrap();
    assert!(read_all(&s, &b, &key("k")).await == data);
    let on_disk =
        std::fs::read(dir.path().join(format!("data/{:02x}/{:016x}", staged.id.get() & 0xff, staged.id.get())))
            .unwrap();
    assert!(on_disk == data);
}

// ---------------------------------------------------------------------------------------------
// A full disk: run in a private mount namespace (`unshare`), on a small tmpfs.

const FULL_DISK_ENV: &str = "TESSERA_FULL_DISK_DIR";

#[test]
fn a_full_disk_gives_insufficient_storage_and_leaves_nothing_torn() {
    let exe = std::env::current_exe().unwrap();
    let dir = temp_dir();
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "--"])
        .arg(&exe)
        .args(["--exact", "files::full_disk_child", "--nocapture", "--test-threads=1"])
        .env(FULL_DISK_ENV, dir.path())
        .output()
        .expect("unshare (util-linux) must be installed to run the full-disk test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("full-disk checks passed"), "the child did not run its checks:\n{stdout}");
}

/// The body of the full-disk test, run only inside the namespace the parent made.
#[test]
fn full_disk_child() {
    let Some(dir) = std::env::var_os(FULL_DISK_ENV) else { return };
    let dir = PathBuf::from(dir);
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "cannot mount a tmpfs in the private namespace");
    tokio::runtime::Runtime::new().unwrap().block_on(full_disk_checks(&dir));
    println!("full-disk checks passed");
}

async fn full_disk_checks(dir: &Path) {
    let s = FsStore::open(dir).await.unwrap();
    let b = bucket("full");
    s.create_bucket(&b, record("o")).await.unwrap();
    let kept = put(&s, &b, &key("kept"), &pattern(1, 3 << 20)).await;
    let before = data_files(dir);

    // A part bigger than the disk.
    let big = futures_util::stream::iter((0..64u64).map(|i| Ok(Bytes::from(pattern(i, 1 << 20)))));
    let r = s.stage(&b, Box::pin(big)).await;
    assert!(matches!(r, Err(StoreError::InsufficientStorage)), "{r:?}");
    assert_eq!(r.unwrap_err().code().status(), 507);
    assert!(files_under(&dir.join("tmp")).is_empty(), "the partial temp file is removed");
    assert_eq!(data_files(dir), before);
    assert!(s.list_staged(&b).await.unwrap().is_empty());
    assert_eq!(read_all(&s, &b, &key("kept")).await, pattern(1, 3 << 20));

    // Space came back: the store works on.
    let small = put(&s, &b, &key("after"), &pattern(2, 1 << 20)).await;
    assert_eq!(read_all(&s, &b, &key("after")).await, pattern(2, 1 << 20));
    assert_eq!(s.object(&b, &key("kept")).await.unwrap(), Some(kept));

    // Fill the disk with staged parts, then fail a metadata commit on it.
    let mut staged = Vec::new();
    loop {
        match s.stage(&b, stream_of(&pattern(3, 1 << 20), 256 << 10)).await {
            Ok(p) => staged.push(p.id),
            Err(StoreError::InsufficientStorage) => break,
            Err(e) => panic!("{e:?}"),
        }
        assert!(staged.len() < 64, "the disk never filled");
    }
    let r = s.put_upload(&b, &upload_id("u"), Bytes::from(vec![7u8; 8 << 20])).await;
    assert!(matches!(r, Err(StoreError::InsufficientStorage)), "{r:?}");
    // Freeing space must work in the same process: redb refuses all transactions after a
    // failed commit until reopened, which the store does by itself.
    s.discard(&b, staged[0]).await.unwrap();
    assert_eq!(s.upload(&b, &upload_id("u")).await.unwrap(), None, "the failed record left no trace");
    s.put_upload(&b, &upload_id("u2"), Bytes::from_static(b"small")).await.unwrap();
    assert_eq!(read_all(&s, &b, &key("kept")).await, pattern(1, 3 << 20));
    drop(s);
    let s = FsStore::open(dir).await.unwrap();
    assert!(s.recovery().missing.is_empty());
    assert_eq!(s.recovery().removed_orphans + s.recovery().removed_temp, 0, "{:?}", s.recovery());
    for id in staged.iter().skip(1) {
        s.discard(&b, *id).await.unwrap();
    }
    assert_eq!(s.upload(&b, &upload_id("u2")).await.unwrap().as_deref(), Some(&b"small"[..]));
    assert_eq!(s.upload(&b, &upload_id("u")).await.unwrap(), None);
    assert_eq!(s.object(&b, &key("after")).await.unwrap(), Some(small));
    assert_eq!(read_all(&s, &b, &key("kept")).await, pattern(1, 3 << 20));
}

#[tokio::test]
async fn a_stage_dropped_mid_stream_leaves_no_file() {
    let dir = temp_dir();
    let s = FsStore::open(dir.path()).await.unwrap();
    let b = bucket("cancel");
    s.create_bucket(&b, record("o")).await.unwrap();
    // A body that sends 3 MiB, says so, and then never ends (a client that went quiet).
    let (told, reached) = tokio::sync::oneshot::channel::<()>();
    let mut told = Some(told);
    let body = futures_util::stream::iter((0..3).map(|i| Ok(Bytes::from(pattern(i, 1 << 20))))).chain(
        futures_util::stream::poll_fn(move |_| {
            if let Some(t) = told.take() {
                let _ = t.send(());
            }
            std::task::Poll::Pending
        }),
    );
    let mut stage = s.stage(&b, Box::pin(body));
    tokio::select! {
        r = &mut stage => panic!("a body that never ends cannot finish staging: {r:?}"),
        _ = reached => {}
    }
    // The first batches are being written to the part's file (opened by the first write).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while data_files(dir.path()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the part is being written");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(data_files(dir.path()).len(), 1);
    drop(stage);
    assert!(data_files(dir.path()).is_empty(), "dropping the stage removes its file");
    assert!(s.list_staged(&b).await.unwrap().is_empty());
    assert!(files_under(&dir.path().join("tmp")).is_empty());
}

/// Many writers at once share metadata syncs (group commit); every write they were told was
/// done is there after the store is closed and opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_syncs_and_every_acknowledged_write_survives() {
    let dir = temp_dir();
    let s = FsStore::open(dir.path()).await.unwrap();
    let b = bucket("group");
    s.create_bucket(&b, record("o")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..48u32 {
        let (s, b) = (s.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            let id = upload_id(&format!("u{i:02}"));
            s.put_upload(&b, &id, Bytes::from(format!("header {i}"))).await.unwrap();
            s.put_upload_part(&b, &id, 1, Bytes::from(format!("part {i}"))).await.unwrap();
            put(&s, &b, &key(&format!("k{i:02}")), &pattern(i as u64, 1000 + i as usize)).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    drop(s);
    let s = FsStore::open(dir.path()).await.unwrap();
    assert_eq!(s.list_uploads(&b).await.unwrap().len(), 48);
    for i in 0..48u32 {
        let id = upload_id(&format!("u{i:02}"));
        assert_eq!(s.upload_parts(&b, &id).await.unwrap(), vec![(1, Bytes::from(format!("part {i}")))]);
        assert_eq!(read_all(&s, &b, &key(&format!("k{i:02}"))).await, pattern(i as u64, 1000 + i as usize));
    }
    assert_eq!(s.recovery().removed_orphans, 0);
}

/// A completion leaves its upload's part records to be removed after it answers; nothing
/// reads them meanwhile, and a restart finds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_records_of_a_completed_upload_are_gone_after_a_restart() {
    let dir = temp_dir();
    let s = FsStore::open(dir.path()).await.unwrap();
    let b = bucket("parts-gone");
    s.create_bucket(&b, record("o")).await.unwrap();
    let u = upload_id("u");
    s.put_upload(&b, &u, Bytes::from_static(b"h")).await.unwrap();
    let mut ids = Vec::new();
    for n in 1..=300u32 {
        ids.push(s.stage(&b, stream_of(b"x", 1)).await.unwrap().id);
        s.put_upload_part(&b, &u, n, Bytes::from(format!("part {n}"))).await.unwrap();
    }
    s.assemble(&b, &key("k"), write(ids, 1), Precondition::Any, Some(&u)).await.unwrap();
    assert!(s.upload_parts(&b, &u).await.unwrap().is_empty());
    // A new upload under the same id starts empty even if the removal has not run yet.
    s.put_upload(&b, &u, Bytes::from_static(b"again")).await.unwrap();
    assert!(s.upload_parts(&b, &u).await.unwrap().is_empty());
    s.delete_upload(&b, &u).await.unwrap();
    drop(s);
    let s = FsStore::open(dir.path()).await.unwrap();
    s.put_upload(&b, &u, Bytes::from_static(b"third")).await.unwrap();
    assert!(s.upload_parts(&b, &u).await.unwrap().is_empty());
    assert_eq!(read_all(&s, &b, &key("k")).await, vec![b'x'; 300]);
}

// ---------------------------------------------------------------------------------------------
// Small parts kept in the database.

#[tokio::test]
async fn small_parts_live_in_the_database_and_mix_with_files() {
    let dir = temp_dir();
    let b = bucket("inline");
    let sizes = [10usize, 64 << 10, (64 << 10) + 1, 0, 3000, 200_000, 1];
    let data: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| pattern(100 + i as u64, n)).collect();
    let whole: Vec<u8> = data.concat();
    let rec = {
        let s = FsStore::open(dir.path()).await.unwrap();
        s.create_bucket(&b, record("o")).await.unwrap();
        let mut ids = Vec::new();
        for d in &data {
            let p = s.stage_pending(&b, stream_of(d, 777)).await.unwrap();
            assert_eq!(p.len, d.len() as u64);
            assert_eq!(FsStore::is_inline(p.id), d.len() <= 64 << 10, "a part of {} bytes", d.len());
            ids.push(p.id);
        }
        let files: Vec<u64> = ids.iter().map(|id| id.get()).filter(|&id| !is_inline(id)).collect();
        assert_eq!(data_files(dir.path()), files, "only the large parts have files");
        let rec = s.assemble(&b, &key("k"), write(ids, 1), Precondition::Any, None).await.unwrap();
        assert_eq!(rec.size, whole.len() as u64);
        rec
    };
    // After a reopen: whole, and every range that starts or ends at or next to a boundary.
    let s = FsStore::open(dir.path()).await.unwrap();
    assert_eq!(s.recovery().removed_orphans, 0);
    assert!(s.recovery().missing.is_empty());
    assert!(read_all(&s, &b, &key("k")).await == whole);
    let mut cuts = vec![0u64];
    for &n in &sizes {
        cuts.push(cuts.last().unwrap() + n as u64);
    }
    let mut points: Vec<u64> = cuts.iter().flat_map(|&c| [c.saturating_sub(1), c, c + 1]).collect();
    points.retain(|&p| p <= rec.size);
    points.sort();
    points.dedup();
    for &from in &points {
        for &to in points.iter().filter(|&&t| t >= from) {
            let got = collect(s.read(&b, &key("k"), &rec, from..to).await.unwrap()).await.unwrap();
            assert!(got == whole[from as usize..to as usize], "range {from}..{to}");
        }
    }
}

#[tokio::test]
async fn many_inline_extents_are_read_in_few_chunks() {
    let dir = temp_dir();
    let s = FsStore::open_with(dir.path(), FsOptions { read_chunk: 1 << 20, ..FsOptions::default() }).await.unwrap();
    let b = bucket("many");
    s.create_bucket(&b, record("o")).await.unwrap();
    let mut ids = Vec::new();
    let mut whole = Vec::new();
    for i in 0..300u64 {
        let d = pattern(i, 10_000);
        ids.push(s.stage(&b, stream_of(&d, 10_000)).await.unwrap().id);
        whole.extend(d);
    }
    let rec = s.assemble(&b, &key("k"), write(ids, 1), Precondition::Any, None).await.unwrap();
    let mut stream = s.read(&b, &key("k"), &rec, 0..rec.size).await.unwrap();
    let mut chunks = 0;
    let mut got = Vec::new();
    while let Some(c) = stream.next().await {
        got.extend_from_slice(&c.unwrap());
        chunks += 1;
    }
    assert!(got == whole);
    // 3,000,000 bytes in 1 MiB chunks of whole extents.
    assert_eq!(chunks, 3, "one trip per chunk, not per extent");
    assert!(data_files(dir.path()).is_empty());
}

#[tokio::test]
async fn freed_inline_data_goes_with_its_record_and_open_reads_keep_it() {
    let dir = temp_dir();
    let b = bucket("reclaim-inline");
    {
        let s = FsStore::open(dir.path()).await.unwrap();
        s.create_bucket(&b, record("o")).await.unwrap();
        let first = put(&s, &b, &key("k"), &pattern(1, 1000)).await;
        assert!(FsStore::is_inline(first.layout[0].stage));
        // A read open across an overwrite and a delete still yields the old bytes.
        let stream = s.read(&b, &key("k"), &first, 0..first.size).await.unwrap();
        let second = put(&s, &b, &key("k"), &pattern(2, 2000)).await;
        let reread = s.read(&b, &key("k"), &second, 0..second.size).await.unwrap();
        s.delete_object(&b, &key("k"), Precondition::Any).await.unwrap();
        assert_eq!(collect(stream).await.unwrap(), pattern(1, 1000));
        assert_eq!(collect(reread).await.unwrap(), pattern(2, 2000));
        assert!(matches!(s.read(&b, &key("k"), &second, 0..1).await, Err(StoreError::NoSuchKey)));
        // A discarded part, and a multipart object overwritten by a single PUT.
        let p = s.stage(&b, stream_of(b"gone", 1)).await.unwrap();
        s.discard(&b, p.id).await.unwrap();
        assert!(matches!(s.discard(&b, p.id).await, Err(StoreError::NoSuchStage)));
        let u = upload_id("u");
        s.put_upload(&b, &u, Bytes::from_static(b"up")).await.unwrap();
        let parts =
            [s.stage(&b, stream_of(b"one", 1)).await.unwrap(), s.stage(&b, stream_of(b"two", 2)).await.unwrap()];
        let w = ObjectWrite { parts: parts.iter().map(|p| p.id).collect(), meta: Bytes::new(), modified: 1 };
        s.assemble(&b, &key("m"), w, Precondition::Any, Some(&u)).await.unwrap();
        assert_eq!(read_all(&s, &b, &key("m")).await, b"onetwo");
        put(&s, &b, &key("m"), b"single").await;
        s.delete_object(&b, &key("m"), Precondition::Any).await.unwrap();
        s.delete_bucket(&b).await.unwrap();
    }
    // Recovery counts inline data no record names as an orphan: none may be left.
    let s = FsStore::open(dir.path()).await.unwrap();
    assert_eq!(s.recovery().removed_orphans, 0, "{:?}", s.recovery());
    assert!(data_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_pending_stage_becomes_durable_with_the_next_write() {
    let dir = temp_dir();
    let b = bucket("pending");
    let (p, q) = {
        let s = FsStore::open(dir.path()).await.unwrap();
        s.create_bucket(&b, record("o")).await.unwrap();
        let p = s.stage_pending(&b, stream_of(b"small", 5)).await.unwrap();
        let q = s.stage_pending(&b, stream_of(&pattern(9, 100_000), 4096)).await.unwrap();
        s.put_upload(&b, &upload_id("u"), Bytes::from_static(b"r")).await.unwrap();
        (p, q)
    };
    let s = FsStore::open(dir.path()).await.unwrap();
    let listed: Vec<StageId> = s.list_staged(&b).await.unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(listed, vec![q.id, p.id], "file ids sort before inline ids");
    let w = ObjectWrite { parts: vec![p.id, q.id], meta: Bytes::new(), modified: 1 };
    s.assemble(&b, &key("k"), w, Precondition::Any, None).await.unwrap();
    let mut expected = b"small".to_vec();
    expected.extend(pattern(9, 100_000));
    assert!(read_all(&s, &b, &key("k")).await == expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_assembles_in_a_shared_commit_change_nothing() {
    // Many assembles at once share transactions; the ones naming a part that is not staged
    // (or an upload that is gone) must leave their other parts staged and no object.
    let dir = temp_dir();
    let s = FsStore::open(dir.path()).await.unwrap();
    let b = bucket("shared");
    s.create_bucket(&b, record("o")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..48u64 {
        let (s, b) = (s.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            let p1 = s.stage(&b, stream_of(&pattern(i, 100), 50)).await.unwrap();
            let p2 = s.stage(&b, stream_of(&pattern(i + 1000, 70_000), 4096)).await.unwrap();
            let u = upload_id(&format!("u{i}"));
            if i % 4 != 3 {
                s.put_upload(&b, &u, Bytes::from_static(b"r")).await.unwrap();
            }
            let parts = match i % 4 {
                0 => vec![p1.id, p2.id],
                1 => vec![p1.id, p2.id, StageId::new(p2.id.get() + (1 << 40))],
                2 => vec![p2.id, p1.id, p1.id],
                _ => vec![p1.id, p2.id],
            };
            let w = ObjectWrite { parts, meta: Bytes::new(), modified: i };
            let r = s.assemble(&b, &key(&format!("k{i}")), w, Precondition::Any, Some(&u)).await;
            (i, p1, p2, r)
        }));
    }
    for t in tasks {
        let (i, p1, p2, r) = t.await.unwrap();
        let staged: Vec<StageId> = s.list_staged(&b).await.unwrap().into_iter().map(|p| p.id).collect();
        match i % 4 {
            0 => {
                r.unwrap();
                let mut expected = pattern(i, 100);
                expected.extend(pattern(i + 1000, 70_000));
                assert!(read_all(&s, &b, &key(&format!("k{i}"))).await == expected);
                assert!(!staged.contains(&p1.id) && !staged.contains(&p2.id));
            }
            n => {
                let expected = if n == 3 { StoreError::NoSuchUpload } else { StoreError::NoSuchStage };
                assert_eq!(r.unwrap_err().to_string(), expected.to_string(), "task {i}");
                assert!(s.object(&b, &key(&format!("k{i}"))).await.unwrap().is_none());
                assert!(staged.contains(&p1.id) && staged.contains(&p2.id), "task {i}: parts stay staged");
                if n != 3 {
                    assert!(s.upload(&b, &upload_id(&format!("u{i}"))).await.unwrap().is_some(), "task {i}");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_assemble_consumes_its_parts_at_once_and_removes_their_entries_later() {
    let dir = temp_dir();
    let b = bucket("later");
    let options = FsOptions { consume_later_above: 4, ..FsOptions::default() };
    let (parts, whole) = {
        let s = FsStore::open_with(dir.path(), options.clone()).await.unwrap();
        s.create_bucket(&b, record("o")).await.unwrap();
        let mut parts = Vec::new();
        let mut whole = Vec::new();
        for i in 0..40u64 {
            let d = pattern(i, if i % 7 == 0 { 70_000 } else { 300 });
            parts.push(s.stage_pending(&b, stream_of(&d, 4096)).await.unwrap().id);
            whole.extend(d);
        }
        let other = s.stage(&b, stream_of(b"unrelated", 3)).await.unwrap();
        let u = upload_id("u");
        s.put_upload(&b, &u, Bytes::from_static(b"r")).await.unwrap();
        // A part listed twice, or one missing: nothing consumed.
        let mut twice = parts.clone();
        twice.push(parts[3]);
        let w = ObjectWrite { parts: twice, meta: Bytes::new(), modified: 1 };
        assert!(matches!(
            s.assemble(&b, &key("k"), w, Precondition::Any, Some(&u)).await,
            Err(StoreError::NoSuchStage)
        ));
        let mut missing = parts.clone();
        missing.push(StageId::new(other.id.get() + 1000));
        let w = ObjectWrite { parts: missing, meta: Bytes::new(), modified: 1 };
        assert!(matches!(
            s.assemble(&b, &key("k"), w, Precondition::Any, Some(&u)).await,
            Err(StoreError::NoSuchStage)
        ));
        assert_eq!(s.list_staged(&b).await.unwrap().len(), 41);

        let w = ObjectWrite { parts: parts.clone(), meta: Bytes::new(), modified: 1 };
        s.assemble(&b, &key("k"), w, Precondition::Any, Some(&u)).await.unwrap();
        // At once: the parts are no longer staged, whatever the background has done.
        let staged: Vec<StageId> = s.list_staged(&b).await.unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(staged, vec![other.id]);
        assert!(matches!(s.discard(&b, parts[0]).await, Err(StoreError::NoSuchStage)));
        let w = ObjectWrite { parts: parts[..5].to_vec(), meta: Bytes::new(), modified: 2 };
        assert!(matches!(s.assemble(&b, &key("k2"), w, Precondition::Any, None).await, Err(StoreError::NoSuchStage)));
        let w = ObjectWrite { parts: vec![parts[1]], meta: Bytes::new(), modified: 2 };
        assert!(matches!(s.assemble(&b, &key("k2"), w, Precondition::Any, None).await, Err(StoreError::NoSuchStage)));
        assert!(read_all(&s, &b, &key("k")).await == whole);
        (parts, whole)
        // Dropped here, perhaps before the background removal is done: the next open finishes it.
    };
    let s = FsStore::open_with(dir.path(), options).await.unwrap();
    assert!(s.recovery().missing.is_empty(), "{:?}", s.recovery());
    assert_eq!(s.recovery().removed_orphans, 0, "{:?}", s.recovery());
    assert_eq!(s.list_staged(&b).await.unwrap().len(), 1);
    assert!(matches!(s.discard(&b, parts[0]).await, Err(StoreError::NoSuchStage)));
    assert!(read_all(&s, &b, &key("k")).await == whole);
    // The object deleted, the unrelated part discarded: the bucket is empty.
    s.delete_object(&b, &key("k"), Precondition::Any).await.unwrap();
    let other = s.list_staged(&b).await.unwrap()[0].id;
    s.discard(&b, other).await.unwrap();
    s.delete_bucket(&b).await.unwrap();
}
