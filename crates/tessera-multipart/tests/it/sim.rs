//! A deterministic simulation of the upload table in a hostile world: a virtual clock, part
//! uploads that finish late, out of order or not at all, assemblies that fail or are
//! delayed, expiry, and crashes that lose the tail of the action queue before a restore.
//! Invariants are checked after every step.

use std::collections::BTreeMap;
use std::time::Duration;

use tessera_multipart::{
    Action, AssembleFailed, Assembly, CompletePart, CompleteRequest, Completion, Config, Crc, Limits, PartReceipt,
    PartTicket, StageRef, Timestamp, UploadRecord, UploadState, UploadTable,
};
use tessera_proto::{ChecksumAlgorithm, ChecksumType, ETag, UploadId};

use crate::util::*;

const MIN_PART: u64 = 8;

/// xorshift64*: a deterministic random source for the simulation only.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Staged,
    Assembled,
    Discarded,
    /// Orphaned by a crash and collected by the start-up sweep.
    Swept,
}

struct Staging {
    ready_at: u64,
    ticket: PartTicket,
    data: Vec<u8>,
    fails: bool,
    /// Uploads created before a crash: their tickets died with the table.
    epoch: u32,
}

struct Sim {
    rng: Rng,
    now: u64,
    table: UploadTable,
    /// The persisted records, as the embedder's store holds them.
    disk: BTreeMap<UploadId, UploadRecord>,
    stages: BTreeMap<String, (Vec<u8>, Fate)>,
    staging: Vec<Staging>,
    assemblies: Vec<(u64, Box<Assembly>, bool)>,
    /// Records of uploads as they were when their Complete started.
    before_complete: BTreeMap<UploadId, UploadRecord>,
    completed: BTreeMap<UploadId, (CompleteRequest, ETag, u32)>,
    ids: Vec<UploadId>,
    epoch: u32,
    crash_next_drain: bool,
    stats: BTreeMap<&'static str, u64>,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let limits = Limits { min_part_size: MIN_PART, ..Limits::permissive() };
        let config = Config::default().with_all_limits(limits).with_completed_grace(Duration::from_secs(3600));
        let mut table = UploadTable::new(config);
        table.set_bucket_expiry(&bucket("expiring"), Some(Duration::from_millis(900)));
        Sim {
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            now: 0,
            table,
            disk: BTreeMap::new(),
            stages: BTreeMap::new(),
            staging: Vec::new(),
            assemblies: Vec::new(),
            before_complete: BTreeMap::new(),
            completed: BTreeMap::new(),
            ids: Vec::new(),
            epoch: 0,
            crash_next_drain: false,
            stats: BTreeMap::new(),
        }
    }

    fn count(&mut self, what: &'static str) {
        *self.stats.entry(what).or_default() += 1;
    }

    fn now(&self) -> Timestamp {
        Timestamp(self.now)
    }

    fn pick_id(&mut self) -> Option<UploadId> {
        if self.ids.is_empty() {
            return None;
        }
        let i = self.rng.below(self.ids.len() as u64) as usize;
        Some(self.ids[i].clone())
    }

    fn step(&mut self) {
        match self.rng.below(100) {
            0..=7 => self.create(),
            8..=39 => self.begin_part(),
            40..=59 => self.deliver_staging(),
            60..=71 => self.complete(),
            72..=81 => self.deliver_assembly(),
            82..=85 => self.abort(),
            86..=89 => self.retry_completed(),
            90 => {
                self.crash_next_drain = true;
            }
            _ => {
                self.now += self.rng.below(120);
                if self.table.poll_timeout().is_some_and(|t| t.0 <= self.now) {
                    self.table.handle_timeout(self.now());
                    self.count("timeouts");
                }
            }
        }
        self.drain();
        self.check();
    }

    fn create(&mut self) {
        let n = self.ids.len();
        let upload = id(&format!("up{n}"));
        let b = if self.rng.chance(30) { "expiring" } else { "bkt" };
        let mut new = new_upload(b, &format!("key{}", self.rng.below(3)));
        if self.rng.chance(40) {
            new.checksum_algorithm = Some(ChecksumAlgorithm::Crc32);
            new.checksum_type =
                Some(if self.rng.chance(50) { ChecksumType::FullObject } else { ChecksumType::Composite });
        }
        self.table.create(upload.clone(), new, self.now()).unwrap();
        self.ids.push(upload);
        self.count("creates");
    }

    fn begin_part(&mut self) {
        let Some(upload) = self.pick_id() else { return };
        let number = pn(1 + self.rng.below(5) as u32);
        let Ok(ticket) = self.table.begin_part(&upload, number, None, self.now()) else { return };
        let len = if self.rng.chance(15) { self.rng.below(MIN_PART) } else { MIN_PART + self.rng.below(24) };
        let data: Vec<u8> = (0..len).map(|_| self.rng.next() as u8).collect();
        let ready_at = self.now + self.rng.below(300);
        let fails = self.rng.chance(10);
        self.staging.push(Staging { ready_at, ticket, data, fails, epoch: self.epoch });
        self.count("parts begun");
    }

    /// Finishes one staging whose time has come, chosen at random among those due (so they
    /// finish out of order), after moving the clock.
    fn deliver_staging(&mut self) {
        self.now += self.rng.below(60);
        let due: Vec<usize> = (0..self.staging.len()).filter(|&i| self.staging[i].ready_at <= self.now).collect();
        if due.is_empty() {
            return;
        }
        let pick = due[self.rng.below(due.len() as u64) as usize];
        let s = self.staging.swap_remove(pick);
        assert_eq!(s.epoch, self.epoch, "tickets never outlive a crash");
        if s.fails {
            self.table.abandon_part(s.ticket).unwrap();
            self.count("parts abandoned");
            return;
        }
        let name = format!("stage{}", self.stages.len());
        self.stages.insert(name.clone(), (s.data.clone(), Fate::Staged));
        let record = self.disk.get(s.ticket.upload_id());
        let algorithm = record.and_then(|r| r.checksum.map(|m| m.algorithm));
        // Sometimes the embedder forgets the checksum: the part must be refused and discarded.
        let algorithm = if self.rng.chance(5) { None } else { algorithm.or(Some(ChecksumAlgorithm::Crc32)) };
        let receipt = PartReceipt {
            stage: StageRef::new(name.as_str()),
            size: s.data.len() as u64,
            md5: md5(&s.data),
            checksum: algorithm.map(|a| checksum(a, &s.data)),
            crc64ecma: Crc::Crc64Xz.checksum(&s.data),
            meta: String::new(),
        };
        match self.table.finish_part(s.ticket, receipt, self.now()) {
            Ok(etag) => {
                assert_eq!(etag, ETag::from_md5(&md5(&s.data)));
                self.count("parts finished");
            }
            Err(_) => self.count("parts refused"),
        }
    }

    fn complete(&mut self) {
        let Some(upload) = self.pick_id() else { return };
        let Ok(page) = self.table.list_parts(&upload, None, None) else { return };
        let mut parts: Vec<CompletePart> = page
            .parts
            .iter()
            .filter(|_| self.rng.chance(80))
            .map(|p| CompletePart { number: p.number, etag: p.etag.clone(), checksum: p.checksum.clone() })
            .collect();
        if parts.len() > 1 && self.rng.chance(10) {
            parts.swap(0, 1);
        }
        if !parts.is_empty() && self.rng.chance(10) {
            parts[0].etag = ETag::from_md5(&[0xAB; 16]);
        }
        let before = self.table.upload(&upload).map(|u| u.record());
        let request = CompleteRequest::new(parts);
        match self.table.complete(&upload, &request, self.now()) {
            Ok(Completion::Assembling) => {
                self.before_complete.insert(upload.clone(), before.unwrap());
                self.completed.insert(upload, (request, ETag::from_md5(&[0; 16]), self.epoch));
                self.count("completes started");
            }
            Ok(Completion::AlreadyCompleted(_)) => panic!("an open upload is not completed"),
            Err(_) => {
                assert!(self.table.poll_action().is_none(), "a refused complete has no side effect");
                assert_eq!(self.table.upload(&upload).map(|u| u.record()), before, "nor changes the upload");
                self.count("completes refused");
            }
        }
    }

    fn deliver_assembly(&mut self) {
        self.now += self.rng.below(60);
        let due: Vec<usize> = (0..self.assemblies.len()).filter(|&i| self.assemblies[i].0 <= self.now).collect();
        if due.is_empty() {
            return;
        }
        let pick = due[self.rng.below(due.len() as u64) as usize];
        let (_, assembly, fails) = self.assemblies.swap_remove(pick);
        let upload = assembly.upload_id.clone();
        if fails {
            self.table.handle_assembled(&upload, Err(AssembleFailed("injected".into())), self.now()).unwrap();
            // A failed assembly leaves the upload open, exactly as it was: retryable.
            let now = self.table.upload(&upload).expect("failed assembly keeps the upload");
            assert_eq!(now.state(), UploadState::Open);
            assert_eq!(Some(now.record()), self.before_complete.remove(&upload));
            self.completed.remove(&upload);
            self.count("assemblies failed");
            return;
        }
        // The store commits the object and drops the upload's records in one transaction.
        for part in &assembly.parts {
            let fate = &mut self.stages.get_mut(part.stage.as_str()).expect("assembled stage exists").1;
            assert_eq!(*fate, Fate::Staged, "assembling a stage that is {fate:?}");
            *fate = Fate::Assembled;
        }
        self.disk.remove(&upload);
        let done = self.table.handle_assembled(&upload, Ok(()), self.now()).unwrap().expect("success result");
        assert_eq!(done.etag, assembly.etag);
        if let Some(entry) = self.completed.get_mut(&upload) {
            entry.1 = done.etag;
        }
        self.before_complete.remove(&upload);
        self.count("assemblies committed");
    }

    fn abort(&mut self) {
        let Some(upload) = self.pick_id() else { return };
        if self.table.abort(&upload).is_ok() {
            self.count("aborts");
        }
    }

    /// A client retrying a Complete that may already have succeeded.
    fn retry_completed(&mut self) {
        let Some(upload) = self.pick_id() else { return };
        let Some((request, etag, epoch)) = self.completed.get(&upload).cloned() else { return };
        if self.table.upload(&upload).is_some() {
            return;
        }
        match self.table.complete(&upload, &request, self.now()) {
            Ok(Completion::AlreadyCompleted(done)) => {
                assert_eq!(done.etag, etag);
                self.count("retried completes answered");
            }
            // Tombstones are not persisted: after a crash the retry finds nothing.
            Err(e) => assert!(epoch != self.epoch, "retried complete refused without a crash: {e:?}"),
            Ok(Completion::Assembling) => panic!("completed upload assembled again"),
        }
        assert!(self.table.poll_action().is_none());
    }

    /// Performs the queued actions in order; on a crash, only a prefix of them.
    fn drain(&mut self) {
        let actions: Vec<Action> = std::iter::from_fn(|| self.table.poll_action()).collect();
        let crash = std::mem::take(&mut self.crash_next_drain);
        let applied = if crash { self.rng.below(actions.len() as u64 + 1) as usize } else { actions.len() };
        for action in actions.into_iter().take(applied) {
            self.apply(action);
        }
        if crash {
            self.restart();
        }
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::PersistUpload { upload_id, record } => {
                self.disk.insert(upload_id, *record);
            }
            Action::PersistPart { upload_id, part } => {
                self.disk.get_mut(&upload_id).expect("part persisted for a persisted upload").apply_part(part);
            }
            Action::Discard { stage } => {
                // Drain order: nothing persisted still names bytes being discarded.
                let named = self.disk.values().any(|r| r.parts.iter().any(|p| p.stage == stage));
                assert!(!named, "discarding {stage:?} still named by a record");
                let fate = &mut self.stages.get_mut(stage.as_str()).expect("discarded stage exists").1;
                assert_eq!(*fate, Fate::Staged, "discarding {stage:?} that is {fate:?}");
                *fate = Fate::Discarded;
                self.count("discards");
            }
            Action::Assemble(assembly) => {
                check_assembly(&assembly, &self.stages);
                let ready_at = self.now + self.rng.below(200);
                let fails = self.rng.chance(30);
                self.assemblies.push((ready_at, assembly, fails));
            }
            Action::DeleteUpload { upload_id } => {
                self.disk.remove(&upload_id);
            }
            other => panic!("unexpected action {other:?}"),
        }
    }

    /// The process dies (losing the table, tickets in flight and pending assemblies, which
    /// never committed) and restarts from what was persisted, sweeping orphaned stages.
    fn restart(&mut self) {
        self.count("crashes");
        for (_, assembly, _) in self.assemblies.drain(..) {
            self.completed.remove(&assembly.upload_id);
        }
        self.staging.clear();
        self.before_complete.clear();
        self.epoch += 1;
        let config = self.table.config().clone();
        self.table = UploadTable::new(config);
        self.table.set_bucket_expiry(&bucket("expiring"), Some(Duration::from_millis(900)));
        self.table.restore(self.disk.values().cloned()).unwrap();
        for (name, (_, fate)) in self.stages.iter_mut() {
            let named = self.disk.values().any(|r| r.parts.iter().any(|p| p.stage.as_str() == name));
            if *fate == Fate::Staged && !named {
                *fate = Fate::Swept;
            }
        }
        assert!(self.table.poll_action().is_none(), "restore asks for no work");
    }

    fn check(&self) {
        // What the table holds is exactly what is persisted.
        let records = self.table.records();
        let disk: Vec<&UploadRecord> = self.disk.values().collect();
        assert_eq!(records.iter().collect::<Vec<_>>(), disk, "table and disk disagree");
        // Every live part's bytes are staged, and no two parts share bytes.
        let mut seen = std::collections::BTreeSet::new();
        for r in &records {
            for p in &r.parts {
                assert_eq!(self.stages[p.stage.as_str()].1, Fate::Staged, "live part on {:?}", p.stage);
                assert!(seen.insert(p.stage.clone()), "two parts share {:?}", p.stage);
            }
        }
        assert_eq!(self.table.outstanding_tickets(), self.staging.len());
        for (_, a, _) in &self.assemblies {
            assert_eq!(self.table.upload(&a.upload_id).map(|u| u.state()), Some(UploadState::Completing));
        }
    }

    /// Lets everything in flight land, then aborts whatever is left.
    fn finish(&mut self) {
        self.now += 10_000;
        while !self.staging.is_empty() {
            self.deliver_staging();
            self.drain();
            self.check();
        }
        while !self.assemblies.is_empty() {
            self.deliver_assembly();
            self.drain();
            self.check();
        }
        for upload in self.ids.clone() {
            let _ = self.table.abort(&upload);
            self.drain();
            self.check();
        }
        assert!(self.table.is_empty());
        for (name, (_, fate)) in &self.stages {
            assert_ne!(*fate, Fate::Staged, "{name} ended in neither an assembly nor a discard");
            if !self.stats.contains_key("crashes") {
                assert_ne!(*fate, Fate::Swept);
            }
        }
    }
}

fn check_assembly(a: &Assembly, stages: &BTreeMap<String, (Vec<u8>, Fate)>) {
    assert!(!a.parts.is_empty());
    let mut whole = Vec::new();
    let mut md5s = Vec::new();
    for (i, part) in a.parts.iter().enumerate() {
        if let Some(next) = a.parts.get(i + 1) {
            assert!(next.number > part.number, "parts ascend");
            assert!(part.size >= MIN_PART, "only the last part may be small");
        }
        assert_eq!(part.offset, whole.len() as u64);
        let (data, fate) = &stages[part.stage.as_str()];
        assert_eq!(*fate, Fate::Staged);
        assert_eq!(part.size, data.len() as u64);
        md5s.push(md5(data));
        whole.extend_from_slice(data);
    }
    assert_eq!(a.total_size, whole.len() as u64);
    assert_eq!(a.etag, ETag::multipart(md5s.iter()));
    assert_eq!(a.crc64ecma, Crc::Crc64Xz.checksum(&whole));
    if let Some(c) = &a.checksum
        && c.kind == ChecksumType::FullObject
    {
        assert_eq!(c.checksum, checksum(ChecksumAlgorithm::Crc32, &whole));
    }
}

#[test]
fn simulated_uploads_keep_every_invariant() {
    let mut totals: BTreeMap<&'static str, u64> = BTreeMap::new();
    for seed in 1..=48 {
        let mut sim = Sim::new(seed);
        for _ in 0..600 {
            sim.step();
        }
        sim.finish();
        for (k, v) in sim.stats {
            *totals.entry(k).or_default() += v;
        }
    }
    eprintln!("simulation totals: {totals:?}");
    // The simulation must actually reach the interesting paths.
    for what in [
        "assemblies committed",
        "assemblies failed",
        "completes refused",
        "parts refused",
        "parts abandoned",
        "crashes",
        "discards",
        "retried completes answered",
        "timeouts",
        "aborts",
    ] {
        assert!(totals.get(what).copied().unwrap_or(0) > 0, "never reached: {what} ({totals:?})");
    }
}
