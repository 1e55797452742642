//! Replays an arbitrary sequence of upload-table operations, performing every action the
//! table asks for; checks that no input panics the table and that every staged part ends in
//! exactly one assembly or one discard.
#![no_main]

use std::collections::BTreeMap;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tessera_multipart::{
    Action, AssembleFailed, CompletePart, CompleteRequest, Config, Limits, NewUpload, PartReceipt, PartTicket, StageRef,
    Timestamp, UploadTable, UploadsQuery,
};
use tessera_proto::{BucketName, Checksum, ChecksumAlgorithm, Dialect, ETag, ObjectKey, PartNumber, UploadId};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Staged,
    Gone,
}

struct World {
    table: UploadTable,
    now: u64,
    tickets: Vec<PartTicket>,
    stages: BTreeMap<String, Fate>,
    /// Assemblies asked for and not yet answered: the stages each would consume.
    pending: BTreeMap<UploadId, Vec<String>>,
}

fn upload_id(u: u8) -> UploadId {
    UploadId::new(&format!("u{}", u % 4)).expect("valid id")
}

fn bucket(u: u8) -> BucketName {
    BucketName::new(if u % 2 == 0 { "even" } else { "odd" }).expect("valid bucket")
}

impl World {
    fn drain(&mut self) {
        while let Some(action) = self.table.poll_action() {
            match action {
                Action::Discard { stage } => {
                    let fate = self.stages.get_mut(stage.as_str()).expect("discard of an unknown stage");
                    assert_eq!(*fate, Fate::Staged, "stage discarded twice or after assembly");
                    *fate = Fate::Gone;
                }
                Action::Assemble(a) => {
                    assert!(a.parts.windows(2).all(|w| w[0].number < w[1].number), "parts ascend");
                    let stages: Vec<String> = a.parts.iter().map(|p| p.stage.as_str().to_owned()).collect();
                    for s in &stages {
                        assert_eq!(self.stages.get(s), Some(&Fate::Staged), "assembling a stage that is gone");
                    }
                    assert!(self.pending.insert(a.upload_id.clone(), stages).is_none(), "two assemblies at once");
                }
                _ => {}
            }
        }
    }

    fn outcome(&mut self, ok: bool) {
        let Some(id) = self.pending.keys().next().cloned() else { return };
        let stages = self.pending.remove(&id).unwrap_or_default();
        let outcome = if ok { Ok(()) } else { Err(AssembleFailed(String::new())) };
        if self.table.handle_assembled(&id, outcome, Timestamp(self.now)).expect("upload was assembling").is_some() {
            for s in stages {
                self.stages.insert(s, Fate::Gone);
            }
        }
    }

    fn step(&mut self, op: u8, a: u8, b: u8) {
        let now = Timestamp(self.now);
        match op % 11 {
            0 => {
                let mut new = NewUpload::new(bucket(a), ObjectKey::new(&format!("k/{}", b % 3)).expect("key"), Dialect::Oss);
                if b & 0x80 != 0 {
                    new.checksum_algorithm = Some(ChecksumAlgorithm::Crc32c);
                }
                let _ = self.table.create(upload_id(a), new, now);
            }
            1 => {
                let number = PartNumber::new(1 + u32::from(b % 8)).expect("part number");
                if let Ok(t) = self.table.begin_part(&upload_id(a), number, Some(u64::from(b)), now) {
                    self.tickets.push(t);
                }
            }
            2 if !self.tickets.is_empty() => {
                let ticket = self.tickets.swap_remove(usize::from(a) % self.tickets.len());
                let name = format!("s{}", self.stages.len());
                self.stages.insert(name.clone(), Fate::Staged);
                let receipt = PartReceipt {
                    stage: StageRef::new(name),
                    size: u64::from(b % 16),
                    md5: [b; 16],
                    checksum: (b & 1 == 0).then(|| Checksum::new(ChecksumAlgorithm::Crc32c, &[a, b, 0, 1]).expect("4 bytes")),
                    crc64ecma: u64::from(a),
                    meta: String::new(),
                };
                let _ = self.table.finish_part(ticket, receipt, now);
            }
            3 if !self.tickets.is_empty() => {
                let ticket = self.tickets.swap_remove(usize::from(a) % self.tickets.len());
                let _ = self.table.abandon_part(ticket);
            }
            4 => {
                let id = upload_id(a);
                let Ok(page) = self.table.list_parts(&id, None, None) else { return };
                let mut parts: Vec<CompletePart> = page
                    .parts
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| b & (1 << (i % 8)) != 0)
                    .map(|(_, p)| CompletePart { number: p.number, etag: p.etag.clone(), checksum: None })
                    .collect();
                if a & 0x40 != 0 && parts.len() > 1 {
                    parts.swap(0, 1);
                }
                if a & 0x20 != 0
                    && let Some(p) = parts.first_mut()
                {
                    p.etag = ETag::from_md5(&[a; 16]);
                }
                let _ = self.table.complete(&id, &CompleteRequest::new(parts), now);
            }
            5 => self.outcome(a % 2 == 0),
            6 => {
                let _ = self.table.abort(&upload_id(a));
            }
            7 => {
                self.now += u64::from(a) * 10;
                self.table.handle_timeout(Timestamp(self.now));
            }
            8 => {
                let _ = self.table.list_parts(&upload_id(a), Some(u32::from(b % 9)), Some(u32::from(b % 4)));
                let query = UploadsQuery {
                    prefix: if a & 1 == 0 { "" } else { "k" },
                    delimiter: (a & 2 != 0).then_some("/"),
                    key_marker: (a & 4 != 0).then_some("k/1"),
                    upload_id_marker: (a & 8 != 0).then_some("u2"),
                    max_uploads: Some(u32::from(b % 5)),
                };
                let _ = self.table.list_uploads(&bucket(a), &query);
            }
            9 => self.table.set_bucket_expiry(&bucket(a), (b != 0).then(|| Duration::from_millis(u64::from(b) * 20))),
            10 => {
                // A restart: records survive, tickets and pending assemblies do not.
                let records = self.table.records();
                let mut table = UploadTable::new(self.table.config().clone());
                table.restore(records).expect("own records restore");
                self.table = table;
                self.pending.clear();
                self.tickets.clear();
            }
            _ => {}
        }
        self.drain();
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { min_part_size: 4, ..Limits::permissive() };
    let config = Config::default().with_all_limits(limits).with_default_expiry(Some(Duration::from_secs(5)));
    let mut world = World {
        table: UploadTable::new(config),
        now: 0,
        tickets: Vec::new(),
        stages: BTreeMap::new(),
        pending: BTreeMap::new(),
    };
    for chunk in data.chunks(3) {
        let [op, a, b] = [chunk.first(), chunk.get(1), chunk.get(2)].map(|x| x.copied().unwrap_or(0));
        world.step(op, a, b);
    }
    // Wind down: answer assemblies, give tickets back, abort everything.
    while !world.pending.is_empty() {
        world.outcome(false);
        world.drain();
    }
    for ticket in std::mem::take(&mut world.tickets) {
        let _ = world.table.abandon_part(ticket);
    }
    for u in 0..4 {
        let _ = world.table.abort(&upload_id(u));
        world.drain();
    }
    assert!(world.table.is_empty());
    for (name, fate) in &world.stages {
        assert_eq!(*fate, Fate::Gone, "{name} ended in neither an assembly nor a discard");
    }
});
