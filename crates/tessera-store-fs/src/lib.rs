//! Tessera's crash-safe filesystem backend: a [`Store`] over one data directory.
//!
//! What this crate does **not** do: it knows no S3 rule (that is `tessera-engine`, over any
//! [`Store`]), it does not replicate or spread data over several disks, and it never turns an
//! object key into a file path. Use it through the [`Store`] trait; use `tessera-store`'s
//! `MemoryStore` for tests that need no disk.
//!
//! # Layout
//!
//! ```text
//! <root>/LOCK            held with an exclusive lock while a process has the store open
//! <root>/meta.redb       every record: buckets, objects, staged parts, upload records, and the
//!                        data of small parts (at most `FsOptions::inline_max`, 64 KiB)
//! <root>/tmp/            emptied at open (earlier versions staged there)
//! <root>/data/<xx>/<id>  larger staged parts and objects' extents, named by a 64-bit id (hex),
//!                        fanned out over 256 directories by its low byte
//! ```
//!
//! # Durability
//!
//! - A large part streams into its file in `data/`, which is fsynced (`fdatasync`) with its
//!   directory before the staged entry is committed to redb. A crash before the commit leaves
//!   a file no record names, which start-up recovery removes. A small part's bytes are
//!   committed with its entry: no file at all.
//! - Every record change is one redb write transaction (redb is copy-on-write with a
//!   checksummed commit, fsynced): an assemble consumes its parts, deletes the upload record
//!   and writes the object record in one commit, so an object appears whole or not at all.
//! - Group commit: changes that arrive while a commit is running are applied together in the
//!   next transaction and share its sync. A change is answered after the sync that covers it.
//!   [`Store::stage_pending`] commits without waiting for a sync: the part becomes durable with
//!   the next synced commit, which the caller's own record write is.
//! - An assemble of many parts records them as consumed in one row and removes their staged
//!   entries after it answers, in the background (and at the next open after a crash).
//! - Freed extents are unlinked after the commit that freed them (and after the last open read
//!   of them). A crash in between leaves unreferenced files, which recovery removes. Reads of
//!   small extents read the database snapshot the read began in.
//! - [`FsStore::open`] takes an exclusive lock on `LOCK` (a second process gets
//!   [`StoreError::Locked`]), empties `tmp/` and removes every data file no record references.
//!
//! A full disk or quota gives [`StoreError::InsufficientStorage`] and removes what the failed
//! operation had written.

mod codec;
mod read;
mod write;

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use redb::{Database, ReadableTable, TableDefinition};
use tessera_proto::{BucketName, ObjectKey, UploadId};
use tessera_store::{
    BucketRecord, ByteStream, Extent, ObjectRecord, ObjectWrite, Precondition, StageId, Staged, Store, StoreError,
    check_range,
};

const BUCKETS: TableDefinition<&str, &[u8]> = TableDefinition::new("buckets");
const OBJECTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("objects");
const STAGED: TableDefinition<(&str, u64), u64> = TableDefinition::new("staged");
const UPLOADS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("uploads");
/// Part records of uploads: (bucket, upload id, part number) → record.
const UPLOAD_PARTS: TableDefinition<(&str, &str, u32), &[u8]> = TableDefinition::new("upload_parts");
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// The data of small extents, kept in the database instead of a file of their own: stage id
/// (with [`INLINE`] set) → bytes.
const INLINE_DATA: TableDefinition<u64, &[u8]> = TableDefinition::new("inline_data");

/// Staged entries consumed by an assemble and not yet removed: object generation → bucket and
/// stage ids ([`codec::encode_consumed`]). A large assemble records its parts here in one row
/// instead of removing thousands of entries before it answers; they are removed after, in the
/// background, and at the next open if a crash came first.
const CONSUMED: TableDefinition<u64, &[u8]> = TableDefinition::new("consumed");

/// Set in the id of an extent whose data lives in [`INLINE_DATA`]; never set in a file's id.
pub(crate) const INLINE: u64 = 1 << 63;

/// Whether extent `id` lives in the database.
pub(crate) fn is_inline(id: u64) -> bool {
    id & INLINE != 0
}

/// Freed extents up to this many are unlinked before the operation returns; more go to the
/// background.
const FOREGROUND_UNLINKS: usize = 16;
const DB_FILE: &str = "meta.redb";
const NEXT_GENERATION: &str = "next_generation";
const NEXT_STAGE: &str = "next_stage";

/// Tuning knobs; the defaults are what the benchmarks chose.
#[derive(Clone, Debug)]
pub struct FsOptions {
    /// Bytes per read when streaming an object out (at least 1 MiB: small reads cost
    /// throughput).
    pub read_chunk: usize,
    /// Bytes gathered from the input before each write while staging.
    pub write_batch: usize,
    /// Bytes of metadata pages redb may cache (its own default is 1 GiB).
    pub metadata_cache: usize,
    /// Staged parts of at most this many bytes are kept in the metadata database, committed
    /// with their entry: no file to create, sync and later unlink (what bounds small writes).
    /// 0 keeps every part in a file.
    pub inline_max: usize,
    /// An assemble of more parts than this records them as consumed in one row and removes
    /// their staged entries after it answers (about 1.5 µs each, measured), instead of before.
    pub consume_later_above: usize,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            read_chunk: 1 << 20,
            write_batch: 1 << 20,
            metadata_cache: 8 << 20,
            inline_max: 64 << 10,
            consume_later_above: 256,
        }
    }
}

/// What start-up recovery found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Temporary files removed from `tmp/` (stages a crash interrupted, as earlier versions
    /// made them; stages now live in `data/` from the start and count as orphans).
    pub removed_temp: usize,
    /// Data files (or inline data) no record referenced, removed: a crash between a part's
    /// file and its entry, or between a commit and the unlinks it made due.
    pub removed_orphans: usize,
    /// Data files a record references that do not exist: never expected; reported, not fixed.
    pub missing: Vec<StageId>,
}

/// The filesystem [`Store`]. Cheap to clone; all clones share one open store.
#[derive(Clone, Debug)]
pub struct FsStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    // `None` only while being reopened after an I/O failure.
    db: RwLock<Option<Database>>,
    next_stage: AtomicU64,
    pins: Mutex<Pins>,
    /// Stage ids in [`CONSUMED`]: their entries are not staged any more, whatever the staged
    /// table still says.
    consumed: Mutex<HashSet<u64>>,
    options: FsOptions,
    recovery: RecoveryReport,
    writer: write::Writer,
    // Held for the store's lifetime: the exclusive lock lives as long as this handle.
    _lock: File,
}

/// Extents being read, and freed extents waiting for their last reader.
#[derive(Debug, Default)]
struct Pins {
    readers: HashMap<u64, usize>,
    doomed: HashSet<u64>,
}

fn db_err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Io(e) => StoreError::from_io(e),
        redb::Error::Corrupted(what) => StoreError::Corrupt(what),
        other => StoreError::Io(io::Error::other(other)),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Io(io::Error::other(e)))?
}

fn open_db(root: &Path, cache: usize) -> Result<Database, StoreError> {
    redb::Builder::new().set_cache_size(cache).create(root.join(DB_FILE)).map_err(db_err)
}

fn require_bucket(db: &Database, name: &str) -> Result<redb::ReadTransaction, StoreError> {
    let txn = db.begin_read().map_err(db_err)?;
    let exists = txn.open_table(BUCKETS).map_err(db_err)?.get(name).map_err(db_err)?.is_some();
    if exists { Ok(txn) } else { Err(StoreError::NoSuchBucket) }
}

/// Removes up to `max` part records of upload `id` in `bucket` within `txn`; whether none
/// is left. With `all_or_none`, removes nothing unless that leaves none.
fn remove_upload_parts_slice(
    txn: &redb::WriteTransaction,
    bucket: &str,
    id: &str,
    max: usize,
    all_or_none: bool,
) -> Result<bool, StoreError> {
    let mut t = txn.open_table(UPLOAD_PARTS).map_err(db_err)?;
    // Collected, then removed one by one: measured ~20x faster than `retain_in` here.
    let mut numbers = Vec::new();
    for item in t.range((bucket, id, 0)..=(bucket, id, u32::MAX)).map_err(db_err)?.take(max.saturating_add(1)) {
        numbers.push(item.map_err(db_err)?.0.value().2);
    }
    let done = numbers.len() <= max;
    if done || !all_or_none {
        for n in numbers.into_iter().take(max) {
            t.remove((bucket, id, n)).map_err(db_err)?;
        }
    }
    Ok(done)
}

/// The lengths of the staged entries `by_id` (sorted by id) of `bucket`: one walk over their
/// id range when they are close together (an upload's parts usually are), else one lookup
/// each.
fn staged_lens(
    staged: &redb::Table<(&str, u64), u64>,
    bucket: &str,
    by_id: &[(u64, usize)],
) -> Result<Vec<Option<u64>>, StoreError> {
    let (Some(&(first, _)), Some(&(last, _))) = (by_id.first(), by_id.last()) else { return Ok(Vec::new()) };
    let mut lens = Vec::with_capacity(by_id.len());
    let budget = 4 * by_id.len() + 1024;
    let mut walked = 0;
    let mut wanted = by_id.iter().map(|&(id, _)| id).peekable();
    for item in staged.range((bucket, first)..=(bucket, last)).map_err(db_err)? {
        walked += 1;
        if walked > budget {
            break;
        }
        let (k, v) = item.map_err(db_err)?;
        let id = k.value().1;
        while wanted.next_if(|&w| w < id).is_some() {
            lens.push(None);
        }
        if wanted.next_if(|&w| w == id).is_some() {
            lens.push(Some(v.value()));
        }
        if wanted.peek().is_none() {
            break;
        }
    }
    if walked > budget {
        // Scattered among many other staged parts: look each up.
        return by_id.iter().map(|&(id, _)| Ok(staged.get((bucket, id)).map_err(db_err)?.map(|v| v.value()))).collect();
    }
    lens.resize(by_id.len(), None);
    Ok(lens)
}

/// Uploads of at most this many parts have their part records removed by the assemble that
/// completes them; larger ones in the background, after it answers.
const PARTS_REMOVED_IN_ASSEMBLE: usize = 32;

/// Removes the data of the inline extents among `ids` within `txn` (the transaction that frees
/// them).
fn remove_inline(txn: &redb::WriteTransaction, ids: impl IntoIterator<Item = u64>) -> Result<(), StoreError> {
    let mut t = txn.open_table(INLINE_DATA).map_err(db_err)?;
    for id in ids.into_iter().filter(|&id| is_inline(id)) {
        t.remove(id).map_err(db_err)?;
    }
    Ok(())
}

/// Removes every part record of upload `id` in `bucket` within `txn`.
fn remove_upload_parts(txn: &redb::WriteTransaction, bucket: &str, id: &str) -> Result<(), StoreError> {
    remove_upload_parts_slice(txn, bucket, id, usize::MAX, false).map(drop)
}

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

impl FsStore {
    /// Opens (creating if needed) the store in directory `root` with default options, locks
    /// it, and runs recovery.
    pub async fn open(root: impl AsRef<Path>) -> Result<FsStore, StoreError> {
        Self::open_with(root, FsOptions::default()).await
    }

    /// [`FsStore::open`] with `options`.
    pub async fn open_with(root: impl AsRef<Path>, options: FsOptions) -> Result<FsStore, StoreError> {
        let root = root.as_ref().to_path_buf();
        blocking(move || Self::open_blocking(root, options)).await
    }

    fn open_blocking(root: PathBuf, options: FsOptions) -> Result<FsStore, StoreError> {
        fs::create_dir_all(&root)?;
        let lock = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(root.join("LOCK"))?;
        // A handle of this process that was just dropped may hold the lock for a moment
        // longer (a background task finishing a slice of work): wait briefly before refusing.
        let mut tries = 0;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if tries < 40 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked),
                Err(fs::TryLockError::Error(e)) => return Err(e.into()),
            }
        }
        let mut created = false;
        for dir in ["tmp", "data"] {
            let p = root.join(dir);
            if !p.is_dir() {
                fs::create_dir(&p)?;
                created = true;
            }
        }
        for fan in 0..=255u8 {
            let p = root.join("data").join(format!("{fan:02x}"));
            if !p.is_dir() {
                fs::create_dir(&p)?;
                created = true;
            }
        }
        if created {
            sync_dir(&root.join("data"))?;
            sync_dir(&root)?;
        }
        let db = open_db(&root, options.metadata_cache)?;
        let txn = db.begin_write().map_err(db_err)?;
        {
            txn.open_table(BUCKETS).map_err(db_err)?;
            txn.open_table(OBJECTS).map_err(db_err)?;
            txn.open_table(STAGED).map_err(db_err)?;
            txn.open_table(UPLOADS).map_err(db_err)?;
            txn.open_table(UPLOAD_PARTS).map_err(db_err)?;
            txn.open_table(COUNTERS).map_err(db_err)?;
            txn.open_table(INLINE_DATA).map_err(db_err)?;
            txn.open_table(CONSUMED).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)?;

        // Consumed entries first: their extents may be freed already (the object deleted), and
        // recovery would report them missing.
        finish_consumed(&db)?;
        let (recovery, next_stage) = recover(&root, &db)?;
        forget_orphan_parts(&db)?;
        Ok(FsStore {
            inner: Arc::new(Inner {
                root,
                db: RwLock::new(Some(db)),
                writer: write::Writer::default(),
                next_stage: AtomicU64::new(next_stage),
                pins: Mutex::new(Pins::default()),
                consumed: Mutex::new(HashSet::new()),
                options,
                recovery,
                _lock: lock,
            }),
        })
    }

    /// What recovery did when this store was opened.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Whether the data of staged part or extent `id` lives in the metadata database (a part
    /// of at most [`FsOptions::inline_max`] bytes) rather than in a file under `data/`.
    pub fn is_inline(id: StageId) -> bool {
        is_inline(id.get())
    }
}

/// Path of the data file of stage `id`.
fn data_path(root: &Path, id: u64) -> PathBuf {
    root.join("data").join(format!("{:02x}", id & 0xff)).join(format!("{id:016x}"))
}

/// Removes part records whose upload record is gone (a crash before their removal after a
/// completion).
fn forget_orphan_parts(db: &Database) -> Result<(), StoreError> {
    let orphans: HashSet<(String, String)> = {
        let txn = db.begin_read().map_err(db_err)?;
        let uploads = txn.open_table(UPLOADS).map_err(db_err)?;
        let mut orphans = HashSet::new();
        for item in txn.open_table(UPLOAD_PARTS).map_err(db_err)?.iter().map_err(db_err)? {
            let (k, _) = item.map_err(db_err)?;
            let (b, u, _) = k.value();
            if !orphans.contains(&(b.to_owned(), u.to_owned())) && uploads.get((b, u)).map_err(db_err)?.is_none() {
                orphans.insert((b.to_owned(), u.to_owned()));
            }
        }
        orphans
    };
    if orphans.is_empty() {
        return Ok(());
    }
    let txn = db.begin_write().map_err(db_err)?;
    for (b, u) in &orphans {
        remove_upload_parts(&txn, b, u)?;
    }
    txn.commit().map_err(db_err)
}

/// Removes the staged entries that assembles recorded as consumed (a crash before their
/// removal in the background), and the records.
fn finish_consumed(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(db_err)?;
    {
        let mut consumed = txn.open_table(CONSUMED).map_err(db_err)?;
        let mut staged = txn.open_table(STAGED).map_err(db_err)?;
        let mut done = Vec::new();
        for item in consumed.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            let (bucket, ids) = codec::decode_consumed(v.value())?;
            for id in ids {
                staged.remove((bucket.as_str(), id)).map_err(db_err)?;
            }
            done.push(k.value());
        }
        for k in done {
            consumed.remove(k).map_err(db_err)?;
        }
    }
    txn.commit().map_err(db_err)
}

/// Start-up recovery: empties `tmp/`, removes data files and inline data no record references,
/// and finds the next free stage id.
fn recover(root: &Path, db: &Database) -> Result<(RecoveryReport, u64), StoreError> {
    let mut report = RecoveryReport::default();
    let mut max_seen = 0u64;
    for entry in fs::read_dir(root.join("tmp"))? {
        let entry = entry?;
        if let Some(id) = parse_id(&entry.file_name().to_string_lossy().replace(".tmp", "")) {
            max_seen = max_seen.max(id + 1);
        }
        fs::remove_file(entry.path())?;
        report.removed_temp += 1;
    }

    let txn = db.begin_read().map_err(db_err)?;
    let mut referenced: HashSet<u64> = HashSet::new();
    for item in txn.open_table(STAGED).map_err(db_err)?.iter().map_err(db_err)? {
        let (k, _) = item.map_err(db_err)?;
        referenced.insert(k.value().1);
    }
    for item in txn.open_table(OBJECTS).map_err(db_err)?.iter().map_err(db_err)? {
        let (_, v) = item.map_err(db_err)?;
        referenced.extend(codec::object_extents(v.value())?);
    }
    let persisted = txn.open_table(COUNTERS).map_err(db_err)?.get(NEXT_STAGE).map_err(db_err)?.map(|g| g.value());
    let mut present: HashSet<u64> = HashSet::with_capacity(referenced.len());
    let mut unreferenced_inline = Vec::new();
    for item in txn.open_table(INLINE_DATA).map_err(db_err)?.iter().map_err(db_err)? {
        let id = item.map_err(db_err)?.0.value();
        if referenced.contains(&id) {
            present.insert(id);
        } else {
            unreferenced_inline.push(id);
        }
    }
    drop(txn);
    if !unreferenced_inline.is_empty() {
        // Never expected (inline data is written and removed with the entry naming it), but
        // a leak is worse than a write at start-up.
        let txn = db.begin_write().map_err(db_err)?;
        {
            let mut t = txn.open_table(INLINE_DATA).map_err(db_err)?;
            for &id in &unreferenced_inline {
                t.remove(id).map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)?;
        report.removed_orphans += unreferenced_inline.len();
    }

    for fan in fs::read_dir(root.join("data"))? {
        let fan = fan?;
        if !fan.file_type()?.is_dir() {
            continue;
        }
        for entry in fs::read_dir(fan.path())? {
            let entry = entry?;
            // Only names this store writes; anything else is left alone.
            let Some(id) = parse_id(&entry.file_name().to_string_lossy()).filter(|&id| !is_inline(id)) else {
                continue;
            };
            max_seen = max_seen.max(id + 1);
            if referenced.contains(&id) {
                present.insert(id);
            } else {
                fs::remove_file(entry.path())?;
                report.removed_orphans += 1;
            }
        }
    }
    let mut missing: Vec<StageId> = referenced.difference(&present).map(|&id| StageId::new(id)).collect();
    missing.sort();
    report.missing = missing;
    let max_ref = referenced.iter().map(|&id| id & !INLINE).max().map_or(0, |m| m + 1);
    Ok((report, max_seen.max(max_ref).max(persisted.unwrap_or(0))))
}

fn parse_id(name: &str) -> Option<u64> {
    if name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        u64::from_str_radix(name, 16).ok()
    } else {
        None
    }
}

impl Inner {
    fn pins(&self) -> MutexGuard<'_, Pins> {
        self.pins.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Unlinks the data of freed extents now, or when their last reader is done.
    /// Inline extents are not this function's: their data goes in the transaction that frees
    /// them ([`remove_inline`]), and open reads keep seeing it through their snapshot.
    fn free(&self, ids: impl IntoIterator<Item = u64>) {
        let mut now = Vec::new();
        {
            let mut pins = self.pins();
            for id in ids.into_iter().filter(|&id| !is_inline(id)) {
                if pins.readers.contains_key(&id) {
                    pins.doomed.insert(id);
                } else {
                    now.push(id);
                }
            }
        }
        self.unlink(now);
    }

    /// Removes data files of freed extents. Many files (a large multipart object) are removed
    /// in the background, so an overwrite or delete answers without waiting for thousands of
    /// unlinks. A failure or a crash leaves unreferenced files, which recovery removes.
    fn unlink(&self, ids: Vec<u64>) {
        let many = ids.len() > FOREGROUND_UNLINKS;
        let root = self.root.clone();
        let unlink_all = move || {
            for id in ids {
                let _ = fs::remove_file(data_path(&root, id));
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) if many => drop(rt.spawn_blocking(unlink_all)),
            _ => unlink_all(),
        }
    }

    /// Removes the part records of an upload whose record is gone, in the background when
    /// there is a runtime (a completion need not wait for thousands of removals). The task
    /// does not keep the store open: once the last handle is dropped it stops, and recovery
    /// removes what is left at the next open.
    fn forget_upload_parts(self: &Arc<Self>, bucket: String, id: String) {
        self.in_slices(move |inner| {
            let (bucket, id) = (bucket.clone(), id.clone());
            let done = inner.write(true, move |txn| remove_upload_parts_slice(txn, &bucket, &id, 2048, false));
            matches!(done, Ok(false))
        });
    }

    /// Runs `slice` until it says there is no more to do (or the store is closed), in the
    /// background when there is a runtime. Between slices it holds only a weak handle, so a
    /// closing store is held open for one slice at most.
    fn in_slices(self: &Arc<Self>, mut slice: impl FnMut(&Arc<Inner>) -> bool + Send + 'static) {
        let weak = Arc::downgrade(self);
        let mut run = move || {
            while let Some(inner) = weak.upgrade() {
                if !slice(&inner) {
                    return;
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(run)),
            Err(_) => run(),
        }
    }

    fn consumed(&self) -> MutexGuard<'_, HashSet<u64>> {
        self.consumed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Removes the staged entries the assemble of `generation` consumed, in slices, in the
    /// background when there is a runtime; like [`Inner::forget_upload_parts`], it does not
    /// keep the store open, and the next open finishes what is left.
    fn forget_consumed(self: &Arc<Self>, generation: u64) {
        self.in_slices(move |inner| {
            let removed = inner.write(true, move |txn| {
                let mut table = txn.open_table(CONSUMED).map_err(db_err)?;
                let Some(record) = table.get(generation).map_err(db_err)?.map(|v| v.value().to_vec()) else {
                    return Ok(None);
                };
                let (bucket, mut ids) = codec::decode_consumed(&record)?;
                let rest = ids.split_off(ids.len().min(2048));
                let mut staged = txn.open_table(STAGED).map_err(db_err)?;
                for &id in &ids {
                    staged.remove((bucket.as_str(), id)).map_err(db_err)?;
                }
                if rest.is_empty() {
                    table.remove(generation).map_err(db_err)?;
                } else {
                    table.insert(generation, codec::encode_consumed(&bucket, &rest).as_slice()).map_err(db_err)?;
                }
                Ok(Some((ids, rest.is_empty())))
            });
            match removed {
                Ok(Some((ids, done))) => {
                    inner.unconsume(&ids);
                    !done
                }
                _ => false,
            }
        });
    }

    /// Forgets that `ids` are consumed: their entries are removed, or were never consumed
    /// (an assemble whose commit failed).
    fn unconsume(&self, ids: &[u64]) {
        let mut consumed = self.consumed();
        for id in ids {
            consumed.remove(id);
        }
    }

    fn pin(&self, ids: &[u64]) {
        let mut pins = self.pins();
        for &id in ids.iter().filter(|&&id| !is_inline(id)) {
            *pins.readers.entry(id).or_insert(0) += 1;
        }
    }

    fn unpin(&self, ids: &[u64]) {
        let mut now = Vec::new();
        {
            let mut pins = self.pins();
            for &id in ids {
                if let Some(n) = pins.readers.get_mut(&id) {
                    *n -= 1;
                    if *n == 0 {
                        pins.readers.remove(&id);
                        if pins.doomed.remove(&id) {
                            now.push(id);
                        }
                    }
                }
            }
        }
        self.unlink(now);
    }

    /// Runs `f` on the metadata database. After an I/O failure (a commit on a full disk),
    /// redb refuses every later transaction until it is reopened; this reopens it, so the
    /// store recovers as soon as space is freed instead of failing until restart.
    fn with_db<T>(&self, f: impl FnOnce(&Database) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let result = {
            let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
            match guard.as_ref() {
                Some(db) => f(db),
                None => Err(StoreError::Io(io::Error::other("metadata database is being reopened"))),
            }
        };
        if matches!(result, Err(StoreError::InsufficientStorage | StoreError::Io(_))) {
            self.reopen_if_poisoned();
        }
        result
    }

    fn reopen_if_poisoned(&self) {
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        let healthy = match guard.as_ref() {
            // With the write lock held no other transaction is open, so this does not wait.
            Some(db) => {
                !matches!(db.begin_write(), Err(redb::TransactionError::Storage(redb::StorageError::PreviousIo)))
            }
            None => false,
        };
        if !healthy {
            // Close first: redb locks its file, and a second handle would be refused.
            *guard = None;
            *guard = open_db(&self.root, self.options.metadata_cache).ok();
        }
    }

    /// Runs `change` in a write transaction, possibly shared with concurrent changes (group
    /// commit, [`write`]), and returns its result once committed: synced if `durable`, else
    /// [pending](Store::stage_pending), durable with the next synced commit (redb persists
    /// every earlier commit with it). Nothing is acknowledged before its sync; callers free
    /// extents only after this returns.
    fn write<T: Send + 'static>(
        &self,
        durable: bool,
        change: impl FnOnce(&redb::WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.writer.write(durable, change, |run, durable| {
            self.with_db(|db| {
                let mut txn = db.begin_write().map_err(db_err)?;
                run(&txn);
                if !durable {
                    txn.set_durability(redb::Durability::None);
                }
                txn.commit().map_err(db_err)
            })
        })
    }

    /// Makes a staged part's file durable (its data, then its directory entry) and commits
    /// its entry (durably, or [pending](Self::commit_pending)); removes the file if anything
    /// fails.
    fn finish_stage(&self, bucket: &str, id: u64, len: u64, file: File, durable: bool) -> Result<Staged, StoreError> {
        file.sync_data()?;
        drop(file);
        let dest = data_path(&self.root, id);
        let result = sync_dir(dest.parent().unwrap_or(&self.root))
            .map_err(StoreError::from)
            .and_then(|()| self.commit_stage(bucket, id, len, None, durable));
        match result {
            Ok(()) => Ok(Staged { id: StageId::new(id), len }),
            Err(e) => {
                let _ = fs::remove_file(&dest);
                Err(e)
            }
        }
    }

    /// Commits the entry of staged part `id`, with its data when it is inline.
    fn commit_stage(
        &self,
        bucket: &str,
        id: u64,
        len: u64,
        inline: Option<Vec<u8>>,
        durable: bool,
    ) -> Result<(), StoreError> {
        let bucket = bucket.to_owned();
        self.write(durable, move |txn| {
            let bucket = bucket.as_str();
            if txn.open_table(BUCKETS).map_err(db_err)?.get(bucket).map_err(db_err)?.is_none() {
                return Err(StoreError::NoSuchBucket);
            }
            txn.open_table(STAGED).map_err(db_err)?.insert((bucket, id), len).map_err(db_err)?;
            if let Some(data) = inline {
                txn.open_table(INLINE_DATA).map_err(db_err)?.insert(id, data.as_slice()).map_err(db_err)?;
            }
            let mut counters = txn.open_table(COUNTERS).map_err(db_err)?;
            let next = counters.get(NEXT_STAGE).map_err(db_err)?.map_or(0, |g| g.value());
            let n = id & !INLINE;
            if next <= n {
                counters.insert(NEXT_STAGE, n + 1).map_err(db_err)?;
            }
            Ok(())
        })
    }
}

impl FsStore {
    /// Writes a bucket's record: a new bucket ([`StoreError::BucketExists`] if the name is
    /// taken), or an existing one when `existing` ([`StoreError::NoSuchBucket`] if not).
    async fn put_bucket(&self, name: &BucketName, record: BucketRecord, existing: bool) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let name = name.clone();
        blocking(move || {
            inner.write(true, move |txn| {
                let mut t = txn.open_table(BUCKETS).map_err(db_err)?;
                match (t.get(name.as_str()).map_err(db_err)?.is_some(), existing) {
                    (true, false) => return Err(StoreError::BucketExists),
                    (false, true) => return Err(StoreError::NoSuchBucket),
                    _ => {}
                }
                t.insert(name.as_str(), codec::encode_bucket(&record).as_slice()).map_err(db_err)?;
                Ok(())
            })
        })
        .await
    }

    /// [`Store::stage`], committing the entry durably or [pending](Inner::commit_pending).
    async fn stage_with(&self, bucket: &BucketName, mut data: ByteStream, durable: bool) -> Result<Staged, StoreError> {
        let inner = Arc::clone(&self.inner);
        let id = inner.next_stage.fetch_add(1, Ordering::Relaxed);
        let path = data_path(&inner.root, id);
        // The file is made where it will stay: until its row commits nothing refers to it,
        // and recovery removes such files after a crash. If this future is dropped (the
        // client went away), the file goes with it.
        let cancelled = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut cancel_guard = RemoveOnDrop { path: Some(path.clone()), cancelled: Arc::clone(&cancelled) };
        let b = bucket.as_str().to_owned();
        // The file is opened by the first blocking step (with the bucket check), so a small
        // part costs one trip to the blocking pool in all.
        let opener = {
            let (inner, b, path) = (Arc::clone(&inner), b.clone(), path.clone());
            move || -> Result<File, StoreError> {
                inner.with_db(|db| require_bucket(db, &b).map(drop))?;
                let file = OpenOptions::new().write(true).create_new(true).open(&path)?;
                if cancelled.load(Ordering::SeqCst) {
                    let _ = fs::remove_file(&path);
                    return Err(StoreError::Io(io::Error::other("the stage was dropped")));
                }
                Ok(file)
            }
        };

        // Pull the input while the previous batch is being written: at most two batches are
        // in memory, whatever the part's size.
        let batch_size = inner.options.write_batch;
        let mut file: Option<File> = None;
        let mut writing: Option<tokio::task::JoinHandle<Result<File, StoreError>>> = None;
        let mut batch: Vec<Bytes> = Vec::new();
        let mut batch_len = 0usize;
        let mut small = BytesMut::new();
        let mut len = 0u64;
        let outcome: Result<Vec<Bytes>, StoreError> = async {
            loop {
                let next = data.next().await;
                let end = next.is_none();
                if let Some(chunk) = next {
                    let chunk = chunk?;
                    len += chunk.len() as u64;
                    batch_len += chunk.len();
                    if chunk.len() < COALESCE_BELOW {
                        small.extend_from_slice(&chunk);
                        if small.len() >= COALESCE_BELOW {
                            batch.push(small.split().freeze());
                        }
                    } else {
                        if !small.is_empty() {
                            batch.push(small.split().freeze());
                        }
                        batch.push(chunk);
                    }
                }
                if !small.is_empty() && (end || batch_len >= batch_size) {
                    batch.push(small.split().freeze());
                }
                if end {
                    // The last batch is written by the finishing step.
                    return Ok(std::mem::take(&mut batch));
                }
                if batch_len >= batch_size {
                    if let Some(w) = writing.take() {
                        file = Some(w.await.map_err(|e| StoreError::Io(io::Error::other(e)))??);
                    }
                    let (f, open) = (file.take(), opener.clone());
                    let full = std::mem::take(&mut batch);
                    batch_len = 0;
                    writing = Some(tokio::task::spawn_blocking(move || {
                        let f = match f {
                            Some(f) => f,
                            None => open()?,
                        };
                        write_batch(f, full)
                    }));
                }
            }
        }
        .await;
        // Whatever happened, wait for the write in flight: the file must be closed before it
        // is removed.
        let written = match writing.take() {
            Some(w) => w.await.map_err(|e| StoreError::Io(io::Error::other(e))).and_then(|r| r).map(Some),
            None => Ok(None),
        };
        let inner2 = Arc::clone(&inner);
        // From here the blocking task owns the cleanup: it runs to the end even if this future
        // is dropped.
        cancel_guard.path = None;
        let inline_max = inner.options.inline_max as u64;
        blocking(move || {
            let result = match (outcome, written) {
                // Small and not yet in a file: the data goes in with the entry.
                (Ok(last), Ok(None)) if file.is_none() && inline_max > 0 && len <= inline_max => {
                    let data = last.concat();
                    let id = id | INLINE;
                    inner2.commit_stage(&b, id, len, Some(data), durable).map(|()| Staged { id: StageId::new(id), len })
                }
                (Ok(last), Ok(f)) => {
                    let f = match f.or(file) {
                        Some(f) => f,
                        None => opener()?,
                    };
                    write_batch(f, last).and_then(|f| inner2.finish_stage(&b, id, len, f, durable))
                }
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
            };
            if result.is_err() {
                let _ = fs::remove_file(&path);
            }
            result
        })
        .await
    }
}

/// Removes a staged file when dropped (a stage whose future was dropped), unless disarmed.
/// The file may not exist yet: its opener checks `cancelled` after creating it.
struct RemoveOnDrop {
    path: Option<PathBuf>,
    cancelled: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Flag first, then remove: an opener that creates the file after the removal
            // sees the flag and removes it itself.
            self.cancelled.store(true, Ordering::SeqCst);
            let _ = fs::remove_file(path);
        }
    }
}

fn write_batch(mut file: File, batch: Vec<Bytes>) -> Result<File, StoreError> {
    for chunk in &batch {
        file.write_all(chunk)?;
    }
    Ok(file)
}

// Chunks smaller than this are coalesced before writing, so tiny body frames do not become
// tiny writes.
const COALESCE_BELOW: usize = 64 << 10;

#[async_trait]
impl Store for FsStore {
    async fn create_bucket(&self, name: &BucketName, record: BucketRecord) -> Result<(), StoreError> {
        self.put_bucket(name, record, false).await
    }

    async fn bucket(&self, name: &BucketName) -> Result<Option<BucketRecord>, StoreError> {
        // On the caller's thread: every request looks its bucket up, the table is small and
        // stays in redb's cache, so the lookup costs microseconds, less than a trip to the
        // blocking pool and back.
        self.inner.with_db(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            let t = txn.open_table(BUCKETS).map_err(db_err)?;
            let v = t.get(name.as_str()).map_err(db_err)?;
            v.map(|v| codec::decode_bucket(v.value())).transpose()
        })
    }

    async fn update_bucket(&self, name: &BucketName, record: BucketRecord) -> Result<(), StoreError> {
        self.put_bucket(name, record, true).await
    }

    async fn delete_bucket(&self, name: &BucketName) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let name = name.clone();
        blocking(move || {
            let job_inner = Arc::clone(&inner);
            inner.write(true, move |txn| {
                let n = name.as_str();
                {
                    let mut buckets = txn.open_table(BUCKETS).map_err(db_err)?;
                    if buckets.get(n).map_err(db_err)?.is_none() {
                        return Err(StoreError::NoSuchBucket);
                    }
                    let objects = txn.open_table(OBJECTS).map_err(db_err)?;
                    let has_object = match objects.range((n, "")..).map_err(db_err)?.next() {
                        Some(item) => item.map_err(db_err)?.0.value().0 == n,
                        None => false,
                    };
                    let staged = txn.open_table(STAGED).map_err(db_err)?;
                    // Entries an assemble consumed do not count: they are being removed.
                    let consumed = job_inner.consumed();
                    let mut has_staged = false;
                    for item in staged.range((n, 0u64)..=(n, u64::MAX)).map_err(db_err)? {
                        if !consumed.contains(&item.map_err(db_err)?.0.value().1) {
                            has_staged = true;
                            break;
                        }
                    }
                    drop(consumed);
                    let uploads = txn.open_table(UPLOADS).map_err(db_err)?;
                    let has_upload = match uploads.range((n, "")..).map_err(db_err)?.next() {
                        Some(item) => item.map_err(db_err)?.0.value().0 == n,
                        None => false,
                    };
                    if has_object || has_staged || has_upload {
                        return Err(StoreError::BucketNotEmpty);
                    }
                    buckets.remove(n).map_err(db_err)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn list_buckets(&self) -> Result<Vec<(BucketName, BucketRecord)>, StoreError> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            inner.with_db(|db| {
                let txn = db.begin_read().map_err(db_err)?;
                let t = txn.open_table(BUCKETS).map_err(db_err)?;
                let mut out = Vec::new();
                for item in t.iter().map_err(db_err)? {
                    let (k, v) = item.map_err(db_err)?;
                    let name = BucketName::new(k.value()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    out.push((name, codec::decode_bucket(v.value())?));
                }
                Ok(out)
            })
        })
        .await
    }

    async fn stage(&self, bucket: &BucketName, data: ByteStream) -> Result<Staged, StoreError> {
        self.stage_with(bucket, data, true).await
    }

    async fn stage_pending(&self, bucket: &BucketName, data: ByteStream) -> Result<Staged, StoreError> {
        self.stage_with(bucket, data, false).await
    }

    async fn discard(&self, bucket: &BucketName, stage: StageId) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let bucket = bucket.clone();
        blocking(move || {
            let job_inner = Arc::clone(&inner);
            inner.write(true, move |txn| {
                if txn.open_table(BUCKETS).map_err(db_err)?.get(bucket.as_str()).map_err(db_err)?.is_none() {
                    return Err(StoreError::NoSuchBucket);
                }
                // An entry an assemble consumed is not staged, though not yet removed.
                if job_inner.consumed().contains(&stage.get()) {
                    return Err(StoreError::NoSuchStage);
                }
                let mut staged = txn.open_table(STAGED).map_err(db_err)?;
                if staged.remove((bucket.as_str(), stage.get())).map_err(db_err)?.is_none() {
                    return Err(StoreError::NoSuchStage);
                }
                drop(staged);
                remove_inline(txn, [stage.get()])
            })?;
            inner.free([stage.get()]);
            Ok(())
        })
        .await
    }

    async fn list_staged(&self, bucket: &BucketName) -> Result<Vec<Staged>, StoreError> {
        let inner = Arc::clone(&self.inner);
        let bucket = bucket.clone();
        blocking(move || {
            inner.with_db(|db| {
                let b = bucket.as_str();
                // Entries an assemble consumed and the background has not removed yet are
                // left out. The set is taken before the snapshot: an entry removed after the
                // snapshot began is still in it.
                let consumed = inner.consumed();
                let txn = require_bucket(db, b)?;
                let t = txn.open_table(STAGED).map_err(db_err)?;
                let mut out = Vec::new();
                for item in t.range((b, 0u64)..=(b, u64::MAX)).map_err(db_err)? {
                    let (k, v) = item.map_err(db_err)?;
                    let id = k.value().1;
                    if !consumed.contains(&id) {
                        out.push(Staged { id: StageId::new(id), len: v.value() });
                    }
                }
                Ok(out)
            })
        })
        .await
    }

    async fn assemble(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        write: ObjectWrite,
        cond: Precondition,
        also_delete_upload: Option<&UploadId>,
    ) -> Result<ObjectRecord, StoreError> {
        let inner = Arc::clone(&self.inner);
        let (bucket, key, upload) = (bucket.clone(), key.clone(), also_delete_upload.cloned());
        blocking(move || {
            let (b, u) = (bucket.clone(), upload.clone());
            let later = write.parts.len() > inner.options.consume_later_above;
            let ids: Vec<u64> = write.parts.iter().map(|p| p.get()).collect();
            // Whether this assemble marked its parts consumed (undone if its commit fails).
            let marked = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (job_inner, job_marked) = (Arc::clone(&inner), Arc::clone(&marked));
            let written = inner.write(true, move |txn| {
                let inner = job_inner;
                let (b, k) = (bucket.as_str(), key.as_str());
                // The transaction may be shared (group commit): everything is checked before
                // anything is written, and the one check made while writing (each part is
                // staged) undoes what it removed.
                if txn.open_table(BUCKETS).map_err(db_err)?.get(b).map_err(db_err)?.is_none() {
                    return Err(StoreError::NoSuchBucket);
                }
                let mut objects = txn.open_table(OBJECTS).map_err(db_err)?;
                let old = objects.get((b, k)).map_err(db_err)?.map(|v| v.value().to_vec());
                let current = old.as_deref().map(codec::object_generation).transpose()?;
                if !cond.holds(current) {
                    return Err(StoreError::PreconditionFailed);
                }
                let freed = old.as_deref().map(codec::object_extents).transpose()?.unwrap_or_default();
                let upload_gone = match &upload {
                    Some(id) => {
                        txn.open_table(UPLOADS).map_err(db_err)?.get((b, id.as_str())).map_err(db_err)?.is_none()
                    }
                    None => false,
                };
                let mut staged = txn.open_table(STAGED).map_err(db_err)?;
                // Taken in id order (the B-tree is walked once, leaf by leaf), laid out in
                // part order. A part listed twice is gone the second time.
                let mut by_id: Vec<(u64, usize)> =
                    write.parts.iter().enumerate().map(|(i, stage)| (stage.get(), i)).collect();
                by_id.sort_unstable();
                let mut lens = vec![0u64; write.parts.len()];
                let mut consumed = inner.consumed();
                if later {
                    // Only looked up: the entries are removed after the commit.
                    if by_id.windows(2).any(|w| w[0].0 == w[1].0) {
                        return Err(StoreError::NoSuchStage);
                    }
                    for (&(id, i), len) in by_id.iter().zip(staged_lens(&staged, b, &by_id)?) {
                        match len {
                            Some(len) if !consumed.contains(&id) => lens[i] = len,
                            _ => return Err(StoreError::NoSuchStage),
                        }
                    }
                    if upload_gone {
                        return Err(StoreError::NoSuchUpload);
                    }
                } else {
                    for (n, &(id, i)) in by_id.iter().enumerate() {
                        let removed = if consumed.contains(&id) {
                            None
                        } else {
                            staged.remove((b, id)).map_err(db_err)?.map(|len| len.value())
                        };
                        match removed {
                            Some(len) => lens[i] = len,
                            None => {
                                for &(id, i) in &by_id[..n] {
                                    staged.insert((b, id), lens[i]).map_err(db_err)?;
                                }
                                return Err(StoreError::NoSuchStage);
                            }
                        }
                    }
                    if upload_gone {
                        // Checked after the parts, as the trait orders the errors.
                        for &(id, i) in &by_id {
                            staged.insert((b, id), lens[i]).map_err(db_err)?;
                        }
                        return Err(StoreError::NoSuchUpload);
                    }
                }
                drop(staged);
                let layout: Vec<Extent> =
                    write.parts.iter().zip(lens).map(|(&stage, len)| Extent { stage, len }).collect();
                let mut parts_left = false;
                if let Some(id) = &upload {
                    txn.open_table(UPLOADS).map_err(db_err)?.remove((b, id.as_str())).map_err(db_err)?;
                    // Many part records are removed after the commit (below): without their
                    // upload record nothing reads them, and recovery removes any a crash
                    // leaves. A few go now, saving a transaction.
                    parts_left = !remove_upload_parts_slice(txn, b, id.as_str(), PARTS_REMOVED_IN_ASSEMBLE, true)?;
                }
                let mut counters = txn.open_table(COUNTERS).map_err(db_err)?;
                let generation = counters.get(NEXT_GENERATION).map_err(db_err)?.map_or(0, |g| g.value()) + 1;
                counters.insert(NEXT_GENERATION, generation).map_err(db_err)?;
                if later {
                    let ids: Vec<u64> = by_id.iter().map(|&(id, _)| id).collect();
                    txn.open_table(CONSUMED)
                        .map_err(db_err)?
                        .insert(generation, codec::encode_consumed(b, &ids).as_slice())
                        .map_err(db_err)?;
                    consumed.extend(ids);
                    job_marked.store(true, Ordering::SeqCst);
                }
                drop(consumed);
                let record = ObjectRecord {
                    size: layout.iter().map(|e| e.len).sum(),
                    generation,
                    modified: write.modified,
                    layout,
                    meta: write.meta,
                };
                objects.insert((b, k), codec::encode_object(&record).as_slice()).map_err(db_err)?;
                drop(objects);
                remove_inline(txn, freed.iter().copied())?;
                Ok((record, freed, parts_left))
            });
            let (record, freed, parts_left) = match written {
                Ok(done) => done,
                Err(e) => {
                    if marked.load(Ordering::SeqCst) {
                        // Not committed: the parts are staged again.
                        inner.unconsume(&ids);
                    }
                    return Err(e);
                }
            };
            inner.free(freed);
            if later {
                inner.forget_consumed(record.generation);
            }
            if let Some(id) = u.filter(|_| parts_left) {
                inner.forget_upload_parts(b.as_str().to_owned(), id.as_str().to_owned());
            }
            Ok(record)
        })
        .await
    }

    async fn object(&self, bucket: &BucketName, key: &ObjectKey) -> Result<Option<ObjectRecord>, StoreError> {
        let inner = Arc::clone(&self.inner);
        let (bucket, key) = (bucket.clone(), key.clone());
        blocking(move || {
            inner.with_db(|db| {
                let txn = require_bucket(db, bucket.as_str())?;
                let t = txn.open_table(OBJECTS).map_err(db_err)?;
                let v = t.get((bucket.as_str(), key.as_str())).map_err(db_err)?;
                v.map(|v| codec::decode_object(v.value())).transpose()
            })
        })
        .await
    }

    async fn read(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        record: &ObjectRecord,
        range: Range<u64>,
    ) -> Result<ByteStream, StoreError> {
        check_range(&range, record.size)?;
        let segments = read::segments(&record.layout, range);
        let ids: Vec<u64> = segments.iter().map(|s| s.id).collect();
        // Pin first, then check the record is current: an extent freed before the pin fails
        // the check; one freed after it waits for this read to finish.
        self.inner.pin(&ids);
        let pins = read::PinGuard::new(Arc::clone(&self.inner), ids);
        let inner = Arc::clone(&self.inner);
        let (b, k, generation) = (bucket.clone(), key.clone(), record.generation);
        let any_inline = segments.iter().any(|s| is_inline(s.id));
        let (current, snapshot) = blocking(move || {
            inner.with_db(|db| {
                let txn = require_bucket(db, b.as_str())?;
                let t = txn.open_table(OBJECTS).map_err(db_err)?;
                let v = t.get((b.as_str(), k.as_str())).map_err(db_err)?;
                let current = v.map(|v| codec::object_generation(v.value())).transpose()?;
                drop(t);
                // Inline data is read from this snapshot, where the record is current: a
                // later overwrite removes it from the database but not from the snapshot.
                Ok((current, any_inline.then(|| Arc::new(txn))))
            })
        })
        .await?;
        if current != Some(generation) {
            return Err(StoreError::NoSuchKey);
        }
        let source = read::Source { root: self.inner.root.clone(), snapshot, _pins: pins };
        Ok(read::stream(source, segments, self.inner.options.read_chunk))
    }

    async fn delete_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        cond: Precondition,
    ) -> Result<ObjectRecord, StoreError> {
        let inner = Arc::clone(&self.inner);
        let (bucket, key) = (bucket.clone(), key.clone());
        blocking(move || {
            let old = inner.write(true, move |txn| {
                let (b, k) = (bucket.as_str(), key.as_str());
                {
                    if txn.open_table(BUCKETS).map_err(db_err)?.get(b).map_err(db_err)?.is_none() {
                        return Err(StoreError::NoSuchBucket);
                    }
                    let mut objects = txn.open_table(OBJECTS).map_err(db_err)?;
                    let old =
                        objects.get((b, k)).map_err(db_err)?.map(|v| codec::decode_object(v.value())).transpose()?;
                    if !cond.holds(old.as_ref().map(|o| o.generation)) {
                        return Err(StoreError::PreconditionFailed);
                    }
                    let old = old.ok_or(StoreError::NoSuchKey)?;
                    objects.remove((b, k)).map_err(db_err)?;
                    drop(objects);
                    remove_inline(txn, old.layout.iter().map(|e| e.stage.get()))?;
                    Ok(old)
                }
            })?;
            inner.free(old.layout.iter().map(|e| e.stage.get()));
            Ok(old)
        })
        .await
    }

    async fn list_objects(
        &self,
        bucket: &BucketName,
        prefix: &str,
        start_after: Option<&ObjectKey>,
        limit: usize,
    ) -> Result<Vec<(ObjectKey, ObjectRecord)>, StoreError> {
        let inner = Arc::clone(&self.inner);
        let (bucket, prefix, after) = (bucket.clone(), prefix.to_owned(), start_after.cloned());
        blocking(move || {
            inner.with_db(|db| {
                let b = bucket.as_str();
                let txn = require_bucket(db, b)?;
                let t = txn.open_table(OBJECTS).map_err(db_err)?;
                let mut out = Vec::new();
                if limit == 0 {
                    return Ok(out);
                }
                let (from, skip_first) = match &after {
                    Some(a) if a.as_str() >= prefix.as_str() => (a.as_str(), true),
                    _ => (prefix.as_str(), false),
                };
                for item in t.range((b, from)..).map_err(db_err)? {
                    let (kg, v) = item.map_err(db_err)?;
                    let (kb, kk) = kg.value();
                    if kb != b || !kk.starts_with(prefix.as_str()) {
                        break;
                    }
                    if skip_first && kk == from {
                        continue;
                    }
                    let key = ObjectKey::new(kk).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    out.push((key, codec::decode_object(v.value())?));
                    if out.len() == limit {
                        break;
                    }
                }
                Ok(out)
            })
        })
        .await
    }

    async fn put_upload(&self, bucket: &BucketName, id: &UploadId, record: Bytes) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let (bucket, id) = (bucket.clone(), id.clone());
        blocking(move || {
            inner.write(true, move |txn| {
                if txn.open_table(BUCKETS).map_err(db_err)?.get(bucket.as_str()).map_err(db_err)?.is_none() {
                    return Err(StoreError::NoSuchBucket);
                }
                let mut t = txn.open_table(UPLOADS).map_err(db_err)?;
                let created = t.insert((bucket.as_str(), id.as_str()), &record[..]).map_err(db_err)?.is_none();
                drop(t);
                if created {
                    // A new upload starts with no parts, whatever an old one of the same
                    // id left to be removed.
                    remove_upload_parts(txn, bucket.as_str(), id.as_str())?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn upload(&self, bucket: &BucketName, id: &UploadId) -> Result<Option<Bytes>, StoreError> {
        let inner = Arc::clone(&self.inner);
        let (bucket, id) = (bucket.clone(), id.clone());
        blocking(move || {
            inner.with_db(|db| {
                let txn = require_bucket(db, bucket.as_str())?;
                let t = txn.open_table(UPLOADS).map_err(db_err)?;
                let v = t.get((bucket.as_str(), id.as_str())).map_err(db_err)?;
                Ok(v.map(|v| Bytes::copy_from_slice(v.value())))
            })
        })
        .await
    }

    async fn delete_upload(&self, bucket: &BucketName, id: &UploadId) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let (bucket, id) = (bucket.clone(), id.clone());
        blocking(move || {
            inner.with_db(|db| {
                // Checked in a read transaction first: deleting what is gone (an upload its
                // completion already removed) takes no writer's turn.
                {
                    let read = require_bucket(db, bucket.as_str())?;
                    let t = read.open_table(UPLOADS).map_err(db_err)?;
                    if t.get((bucket.as_str(), id.as_str())).map_err(db_err)?.is_none() {
                        return Err(StoreError::NoSuchUpload);
                    }
                }
                Ok(())
            })?;
            inner.write(true, move |txn| {
                if txn.open_table(BUCKETS).map_err(db_err)?.get(bucket.as_str()).map_err(db_err)?.is_none() {
                    return Err(StoreError::NoSuchBucket);
                }
                let mut t = txn.open_table(UPLOADS).map_err(db_err)?;
                if t.remove((bucket.as_str(), id.as_str())).map_err(db_err)?.is_none() {
                    return Err(StoreError::NoSuchUpload);
                }
                drop(t);
                remove_upload_parts(txn, bucket.as_str(), id.as_str())
            })
        })
        .await
    }

    async fn put_upload_part(
        &self,
        bucket: &BucketName,
        id: &UploadId,
        number: u32,
        record: Bytes,
    ) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let (bucket, id) = (bucket.clone(), id.clone());
        blocking(move || {
            inner.write(true, move |txn| {
                if txn.open_table(BUCKETS).map_err(db_err)?.get(bucket.as_str()).map_err(db_err)?.is_none() {
                    return Err(StoreError::NoSuchBucket);
                }
                if txn
                    .open_table(UPLOADS)
                    .map_err(db_err)?
                    .get((bucket.as_str(), id.as_str()))
                    .map_err(db_err)?
                    .is_none()
                {
                    return Err(StoreError::NoSuchUpload);
                }
                let mut t = txn.open_table(UPLOAD_PARTS).map_err(db_err)?;
                t.insert((bucket.as_str(), id.as_str(), number), &record[..]).map_err(db_err)?;
                Ok(())
            })
        })
        .await
    }

    async fn upload_parts(&self, bucket: &BucketName, id: &UploadId) -> Result<Vec<(u32, Bytes)>, StoreError> {
        let inner = Arc::clone(&self.inner);
        let (bucket, id) = (bucket.clone(), id.clone());
        blocking(move || {
            inner.with_db(|db| {
                let (b, u) = (bucket.as_str(), id.as_str());
                let txn = require_bucket(db, b)?;
                // Records of an upload that is gone are not its parts (they await removal).
                if txn.open_table(UPLOADS).map_err(db_err)?.get((b, u)).map_err(db_err)?.is_none() {
                    return Ok(Vec::new());
                }
                let t = txn.open_table(UPLOAD_PARTS).map_err(db_err)?;
                let mut out = Vec::new();
                for item in t.range((b, u, 0)..=(b, u, u32::MAX)).map_err(db_err)? {
                    let (k, v) = item.map_err(db_err)?;
                    out.push((k.value().2, Bytes::copy_from_slice(v.value())));
                }
                Ok(out)
            })
        })
        .await
    }

    async fn list_uploads(&self, bucket: &BucketName) -> Result<Vec<(UploadId, Bytes)>, StoreError> {
        let inner = Arc::clone(&self.inner);
        let bucket = bucket.clone();
        blocking(move || {
            inner.with_db(|db| {
                let b = bucket.as_str();
                let txn = require_bucket(db, b)?;
                let t = txn.open_table(UPLOADS).map_err(db_err)?;
                let mut out = Vec::new();
                for item in t.range((b, "")..).map_err(db_err)? {
                    let (k, v) = item.map_err(db_err)?;
                    let (kb, id) = k.value();
                    if kb != b {
                        break;
                    }
                    let id = UploadId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    out.push((id, Bytes::copy_from_slice(v.value())));
                }
                Ok(out)
            })
        })
        .await
    }

    async fn all_uploads(&self) -> Result<Vec<(BucketName, UploadId, Bytes)>, StoreError> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            inner.with_db(|db| {
                let txn = db.begin_read().map_err(db_err)?;
                let t = txn.open_table(UPLOADS).map_err(db_err)?;
                let mut out = Vec::new();
                for item in t.iter().map_err(db_err)? {
                    let (k, v) = item.map_err(db_err)?;
                    let (b, id) = k.value();
                    let corrupt = |e: tessera_proto::InvalidValue| StoreError::Corrupt(e.to_string());
                    out.push((
                        BucketName::new(b).map_err(corrupt)?,
                        UploadId::new(id).map_err(corrupt)?,
                        Bytes::copy_from_slice(v.value()),
                    ));
                }
                Ok(out)
            })
        })
        .await
    }
}
