//! Crash safety: a child process (this test binary, re-executed) stages, assembles,
//! overwrites and deletes while the parent kills it with SIGKILL at random points, reopens the
//! store (running recovery) and checks it against the child's acknowledgement log.
//!
//! The child writes `BEGIN …` before each operation and `ACK …` after it returns, each line
//! fsynced. For every key the store must then hold the state after the last acknowledged
//! operation, or — if the operation in flight touched that key — its outcome; objects must be
//! whole (their bytes rebuilt from the seed in their metadata); staged parts and upload records
//! must match the log; and no file may remain that no record references.
//!
//! `TESSERA_FAULT_CYCLES` sets the number of cycles (default 50).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tessera_store::testkit::{bucket, key, pattern, read_all, record, stream_of, upload_id};
use tessera_store::{ObjectWrite, Precondition, StageId, Store, StoreError};
use tessera_store_fs::{FsOptions, FsStore};

use crate::files::{data_files, files_under, is_inline};

const DIR_ENV: &str = "TESSERA_CRASH_DIR";
const SEED_ENV: &str = "TESSERA_CRASH_SEED";
const KEYS: [&str; 6] = ["a", "a/b", "../x", "dir/", "k \u{fc}", "deep/er/key"];
const BUCKET: &str = "crash";

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> String {
    let bytes: Vec<u8> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
    String::from_utf8(bytes).unwrap()
}

/// Bytes of part `i` of the object written with `seed`.
fn part_bytes(seed: u64, i: usize, len: u64) -> Vec<u8> {
    pattern(seed * 16 + i as u64, len as usize)
}

fn meta_of(seed: u64, lens: &[u64]) -> String {
    let lens: Vec<String> = lens.iter().map(u64::to_string).collect();
    format!("{seed}:{}", lens.join(","))
}

fn parse_meta(meta: &[u8]) -> (u64, Vec<u64>) {
    let s = std::str::from_utf8(meta).unwrap();
    let (seed, lens) = s.split_once(':').unwrap();
    let lens = if lens.is_empty() { vec![] } else { lens.split(',').map(|l| l.parse().unwrap()).collect() };
    (seed.parse().unwrap(), lens)
}

// ---------------------------------------------------------------------------------------------
// The child.

struct Log(std::fs::File);

impl Log {
    fn line(&mut self, s: &str) {
        self.0.write_all(format!("{s}\n").as_bytes()).unwrap();
        self.0.sync_data().unwrap();
    }
}

/// The workload, run only when re-executed by the parent with its environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else { return };
    let dir = PathBuf::from(dir);
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut log = Log(std::fs::OpenOptions::new().create(true).append(true).open(dir.join("acks")).unwrap());
    // Assembles of three parts or more consume them later: both paths are killed mid-way.
    let options = FsOptions { consume_later_above: 2, ..FsOptions::default() };
    let s = FsStore::open_with(dir.join("store"), options).await.unwrap();
    let b = bucket(BUCKET);
    log.line("READY");
    for op in 0u64.. {
        let op_seed = seed * 1_000_000 + op;
        let k = KEYS[rng.below(KEYS.len() as u64) as usize];
        match rng.below(20) {
            0..=11 => {
                let n = 1 + rng.below(4) as usize;
                let lens: Vec<u64> = (0..n)
                    .map(|_| match rng.below(4) {
                        0 => rng.below(100),
                        1 => rng.below(64 << 10),
                        _ => rng.below(3 << 20),
                    })
                    .collect();
                let with_upload = n > 1;
                log.line(&format!("BEGIN PUT {} {}", hex(k), meta_of(op_seed, &lens)));
                let u = upload_id(&format!("up-{op_seed}"));
                if with_upload {
                    s.put_upload(&b, &u, Bytes::from_static(b"upload")).await.unwrap();
                    log.line(&format!("UPLOAD {}", u.as_str()));
                }
                let mut ids = Vec::new();
                for (i, &len) in lens.iter().enumerate() {
                    let chunk = 1 + rng.below(1 << 20) as usize;
                    // As the engine stages: durable with the assemble that names the part.
                    let p = s.stage_pending(&b, stream_of(&part_bytes(op_seed, i, len), chunk)).await.unwrap();
                    assert_eq!(p.len, len);
                    log.line(&format!("STAGED {} {}", p.id.get(), p.len));
                    ids.push(p.id);
                }
                let w = ObjectWrite { parts: ids, meta: Bytes::from(meta_of(op_seed, &lens)), modified: op_seed };
                let rec = s.assemble(&b, &key(k), w, Precondition::Any, with_upload.then_some(&u)).await.unwrap();
                log.line(&format!("ACK PUT {} {}", hex(k), rec.generation));
            }
            12..=16 => {
                log.line(&format!("BEGIN DEL {}", hex(k)));
                match s.delete_object(&b, &key(k), Precondition::Any).await {
                    Ok(_) | Err(StoreError::NoSuchKey) => {}
                    Err(e) => panic!("{e:?}"),
                }
                log.line(&format!("ACK DEL {}", hex(k)));
            }
            _ => {
                // A staged part no upload will use (a re-uploaded part, an abort).
                let len = rng.below(1 << 20);
                log.line(&format!("BEGIN STAGE {op_seed} {len}"));
                let p = s.stage(&b, stream_of(&pattern(op_seed, len as usize), 65_536)).await.unwrap();
                log.line(&format!("STAGED {} {}", p.id.get(), p.len));
                log.line("ACK STAGE");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The parent.

/// What a key holds: the object's metadata (unique per write) and generation, or nothing.
type KeyState = Option<(String, u64)>;

#[derive(Debug)]
enum InFlight {
    Put { key: String, meta: String, stages: Vec<(u64, u64)>, upload: Option<String> },
    Del { key: String },
    Stage { stages: Vec<(u64, u64)> },
}

#[derive(Debug, Default)]
struct Replay {
    ready: bool,
    ops_acked: usize,
    in_flight: Option<InFlight>,
    // Staged parts acknowledged and not consumed by an acknowledged assemble.
    staged: BTreeMap<u64, u64>,
}

/// Applies the log to `model`; returns what is left in flight.
fn replay(log: &str, model: &mut BTreeMap<String, KeyState>) -> Replay {
    let mut r = Replay::default();
    // Only whole lines: a line cut by the kill was never acknowledged.
    let complete = &log[..log.rfind('\n').map_or(0, |i| i + 1)];
    for line in complete.lines() {
        let w: Vec<&str> = line.split(' ').collect();
        match w[..] {
            ["READY"] => r.ready = true,
            ["BEGIN", "PUT", k, meta] => {
                r.in_flight =
                    Some(InFlight::Put { key: unhex(k), meta: meta.to_owned(), stages: vec![], upload: None });
            }
            ["BEGIN", "DEL", k] => r.in_flight = Some(InFlight::Del { key: unhex(k) }),
            ["BEGIN", "STAGE", _, _] => r.in_flight = Some(InFlight::Stage { stages: vec![] }),
            ["UPLOAD", id] => match &mut r.in_flight {
                Some(InFlight::Put { upload, .. }) => *upload = Some(id.to_owned()),
                other => panic!("UPLOAD outside a PUT: {other:?}"),
            },
            ["STAGED", id, len] => {
                let part = (id.parse().unwrap(), len.parse().unwrap());
                match &mut r.in_flight {
                    Some(InFlight::Put { stages, .. } | InFlight::Stage { stages }) => stages.push(part),
                    other => panic!("STAGED outside an operation: {other:?}"),
                }
            }
            ["ACK", "PUT", k, generation] => {
                let Some(InFlight::Put { key, meta, .. }) = r.in_flight.take() else { panic!("ACK without BEGIN") };
                assert_eq!(key, unhex(k));
                model.insert(key, Some((meta, generation.parse().unwrap())));
                r.ops_acked += 1;
            }
            ["ACK", "DEL", k] => {
                let Some(InFlight::Del { key }) = r.in_flight.take() else { panic!("ACK without BEGIN") };
                assert_eq!(key, unhex(k));
                model.insert(key, None);
                r.ops_acked += 1;
            }
            ["ACK", "STAGE"] => {
                let Some(InFlight::Stage { stages }) = r.in_flight.take() else { panic!("ACK without BEGIN") };
                r.staged.extend(stages);
                r.ops_acked += 1;
            }
            _ => panic!("unparsable log line {line:?}"),
        }
    }
    r
}

/// Opens the store after a kill and checks it against the model and the replayed log; then
/// collects leftover staged parts and uploads (as the engine would) and updates the model to
/// what the store holds.
async fn check(root: &Path, model: &mut BTreeMap<String, KeyState>, r: &Replay, cycle: u64) -> (usize, usize) {
    let s = FsStore::open(root).await.unwrap();
    let report = s.recovery().clone();
    assert!(report.missing.is_empty(), "cycle {cycle}: records name missing files: {report:?}");
    assert!(files_under(&root.join("tmp")).is_empty(), "cycle {cycle}: recovery left temp files");
    let b = bucket(BUCKET);

    // The in-flight PUT is all-or-nothing: did it land?
    let mut inflight_put_landed = None;
    let mut live_extents = BTreeSet::new();
    for k in KEYS {
        let acked = model.get(k).cloned().flatten();
        let observed = s.object(&b, &key(k)).await.unwrap();
        let observed_meta = observed.as_ref().map(|o| String::from_utf8(o.meta.to_vec()).unwrap());
        if let Some(rec) = &observed {
            // Whole: every byte is where its metadata says.
            let (seed, lens) = parse_meta(&rec.meta);
            let expected: Vec<u8> = lens.iter().enumerate().flat_map(|(i, &l)| part_bytes(seed, i, l)).collect();
            assert_eq!(rec.size, expected.len() as u64, "cycle {cycle}: {k:?} has the wrong size");
            assert!(read_all(&s, &b, &key(k)).await == expected, "cycle {cycle}: {k:?} is torn");
            live_extents.extend(rec.layout.iter().map(|e| e.stage.get()));
        }
        let matches_acked = observed_meta == acked.as_ref().map(|(m, _)| m.clone());
        if let (true, Some(rec), Some((_, generation))) = (matches_acked, &observed, &acked) {
            assert_eq!(rec.generation, *generation, "cycle {cycle}: {k:?} generation");
        }
        let matches_inflight = match &r.in_flight {
            Some(InFlight::Put { key: fk, meta, .. }) if fk == k => {
                let landed = observed_meta.as_deref() == Some(meta.as_str());
                inflight_put_landed = Some(landed);
                landed
            }
            Some(InFlight::Del { key: fk }) if fk == k => observed.is_none(),
            _ => false,
        };
        assert!(
            matches_acked || matches_inflight,
            "cycle {cycle}: {k:?} holds {observed_meta:?}; acknowledged {acked:?}, in flight {:?}",
            r.in_flight
        );
        model.insert(k.to_owned(), observed.map(|o| (observed_meta.unwrap_or_default(), o.generation)));
    }

    // Staged parts: every acknowledged one is there with its length; the in-flight operation's
    // are there unless its assemble landed; at most one more (staged, not yet logged).
    let listed: BTreeMap<u64, u64> =
        s.list_staged(&b).await.unwrap().into_iter().map(|p| (p.id.get(), p.len)).collect();
    let mut expected = r.staged.clone();
    let mut inflight_upload = None;
    match &r.in_flight {
        Some(InFlight::Put { stages, upload, .. }) if inflight_put_landed != Some(true) => {
            // Staged pending their assemble: each may be gone, but not changed.
            for (id, len) in stages {
                assert!(listed.get(id).is_none_or(|l| l == len), "cycle {cycle}: staged part {id} changed");
            }
            expected.extend(stages.iter().filter(|(id, _)| listed.contains_key(id)).copied());
            inflight_upload = upload.clone();
        }
        Some(InFlight::Stage { stages }) => expected.extend(stages.iter().copied()),
        _ => {}
    }
    for (id, len) in &expected {
        assert_eq!(listed.get(id), Some(len), "cycle {cycle}: acknowledged staged part {id} lost");
    }
    let unlogged: Vec<_> = listed.keys().filter(|id| !expected.contains_key(id)).collect();
    let may_have_unlogged =
        matches!(r.in_flight, Some(InFlight::Put { .. } | InFlight::Stage { .. })) && inflight_put_landed != Some(true);
    assert!(
        unlogged.is_empty() || (unlogged.len() == 1 && may_have_unlogged),
        "cycle {cycle}: unexpected staged parts {unlogged:?} (in flight {:?})",
        r.in_flight
    );

    // Upload records: only the in-flight one, and only if its assemble did not land.
    let uploads: Vec<String> =
        s.list_uploads(&b).await.unwrap().into_iter().map(|(id, _)| id.as_str().to_owned()).collect();
    let put_pending = matches!(r.in_flight, Some(InFlight::Put { .. })) && inflight_put_landed != Some(true);
    match &inflight_upload {
        Some(id) => assert_eq!(uploads, vec![id.clone()], "cycle {cycle}: upload record"),
        // Written but not yet logged, at most.
        None if put_pending => assert!(uploads.len() <= 1, "cycle {cycle}: stale upload records {uploads:?}"),
        None => assert!(uploads.is_empty(), "cycle {cycle}: upload records outlived their assemble: {uploads:?}"),
    }

    // No orphans: every data file is an object's extent or a staged part, and vice versa
    // (small ones live in the database, not in files).
    let live_extents: BTreeSet<u64> = live_extents.into_iter().filter(|&id| !is_inline(id)).collect();
    let mut referenced: BTreeSet<u64> = live_extents.clone();
    referenced.extend(listed.keys().copied().filter(|&id| !is_inline(id)));
    let on_disk: BTreeSet<u64> = data_files(root).into_iter().collect();
    assert_eq!(on_disk, referenced, "cycle {cycle}: files on disk differ from what records reference");

    // Collect what the dead child left behind, as the engine would.
    for id in listed.keys() {
        s.discard(&b, StageId::new(*id)).await.unwrap();
    }
    for id in uploads {
        s.delete_upload(&b, &upload_id(&id)).await.unwrap();
    }
    let on_disk: BTreeSet<u64> = data_files(root).into_iter().collect();
    assert_eq!(on_disk, live_extents, "cycle {cycle}: discarded parts left files");
    (report.removed_temp, report.removed_orphans)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_no_acknowledged_write() {
    let cycles: u64 = std::env::var("TESSERA_FAULT_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let dir = tempfile::Builder::new().prefix("crash-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = dir.path().join("store");
    {
        let s = FsStore::open(&root).await.unwrap();
        s.create_bucket(&bucket(BUCKET), record("o")).await.unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(0x5EED_CAFE);
    let mut model: BTreeMap<String, KeyState> = BTreeMap::new();
    let (mut total_acked, mut killed_before_ready, mut temps, mut orphans, mut in_flight) = (0, 0, 0, 0, 0);
    for cycle in 0..cycles {
        let acks = dir.path().join("acks");
        let _ = std::fs::remove_file(&acks);
        let mut child = Command::new(&exe)
            .args(["--exact", "crash::crash_child", "--nocapture", "--test-threads=1"])
            .env(DIR_ENV, dir.path())
            .env(SEED_ENV, (cycle + 1).to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Half the kills land anywhere from start-up on (recovery included); half after the
        // child is working, deep enough to catch assembles and overwrites.
        if cycle % 2 == 1 {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !std::fs::read_to_string(&acks).unwrap_or_default().contains("READY") {
                assert!(Instant::now() < deadline, "child never became ready");
                if let Ok(Some(status)) = child.try_wait() {
                    let mut err = String::new();
                    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
                    panic!("child exited ({status}) before it was killed:\n{err}");
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("child exited ({status}) before it was killed:\n{err}");
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let log = std::fs::read_to_string(&acks).unwrap_or_default();
        let r = replay(&log, &mut model);
        total_acked += r.ops_acked;
        killed_before_ready += usize::from(!r.ready);
        in_flight += usize::from(r.in_flight.is_some());
        let (t, o) = check(&root, &mut model, &r, cycle).await;
        temps += t;
        orphans += o;
    }
    eprintln!(
        "{cycles} kill cycles: {total_acked} acknowledged operations checked, {in_flight} kills with an operation \
         in flight, {killed_before_ready} during start-up; recovery removed {temps} temp files and {orphans} \
         unreferenced data files"
    );
    assert!(total_acked > cycles as usize, "the child did too little work to test anything");
}
