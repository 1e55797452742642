//! The two halves together: a client `UploadPlan` drives a server `UploadTable` over a
//! simulated network that delays, reorders, drops requests and loses responses (so the
//! server may have acted when the client saw a failure). Deterministic per seed.

use std::collections::BTreeMap;
use std::time::Duration;

use tessera_multipart::plan::{Op, Outcome, PartSize, PlanConfig, RetryPolicy, Status, Step};
use tessera_multipart::{
    Action, AssembleFailed, CompleteRequest, Completion, Config, Crc, NewUpload, PartReceipt, StageRef, Timestamp,
    UploadPlan, UploadTable,
};
use tessera_proto::{Dialect, ETag, UploadId};

use crate::util::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The server: a table, staged bytes, and committed objects.
struct Server {
    table: UploadTable,
    staged: BTreeMap<String, Vec<u8>>,
    objects: BTreeMap<String, (Vec<u8>, ETag)>,
    ids: u64,
}

impl Server {
    /// Performs one request; `Err(retryable)` on failure.
    fn serve(&mut self, step: &Step, source: &[u8], rng: &mut Rng, now: Timestamp) -> Result<Outcome, bool> {
        match step {
            Step::Create => {
                self.ids += 1;
                let upload_id = id(&format!("up{}", self.ids));
                let new = NewUpload::new(bucket("bkt"), key("object"), Dialect::Oss);
                self.table.create(upload_id.clone(), new, now).map_err(|_| false)?;
                self.drain(rng, now);
                Ok(Outcome::Created { upload_id })
            }
            Step::SendPart { number, range } => {
                let upload_id = self.current().ok_or(false)?;
                let ticket =
                    self.table.begin_part(&upload_id, *number, None, now).map_err(|e| e.code().status() >= 409)?;
                let data = source[range.start as usize..range.end as usize].to_vec();
                let name = format!("{}-{}-{}", upload_id, number, ticket.attempt());
                self.staged.insert(name.clone(), data.clone());
                let receipt = PartReceipt {
                    stage: StageRef::new(name),
                    size: data.len() as u64,
                    md5: md5(&data),
                    checksum: None,
                    crc64ecma: Crc::Crc64Xz.checksum(&data),
                    meta: String::new(),
                };
                let etag = self.table.finish_part(ticket, receipt, now);
                self.drain(rng, now);
                let etag = etag.map_err(|e| e.code().status() >= 409)?;
                Ok(Outcome::PartDone { number: *number, etag, checksum: None })
            }
            Step::Complete { parts } => {
                let upload_id = self.current().ok_or(false)?;
                match self.table.complete(&upload_id, &CompleteRequest::new(parts.clone()), now) {
                    Ok(Completion::AlreadyCompleted(done)) => Ok(Outcome::Completed { etag: done.etag }),
                    Ok(Completion::Assembling) => match self.drain(rng, now) {
                        Some(etag) => Ok(Outcome::Completed { etag }),
                        None => Err(true),
                    },
                    Err(e) => Err(e.code().status() >= 409),
                }
            }
            Step::Abort => {
                let upload_id = self.current().ok_or(false)?;
                self.table.abort(&upload_id).map_err(|_| false)?;
                self.drain(rng, now);
                Ok(Outcome::Aborted)
            }
            Step::Wait(_) => unreachable!("waits are not sent"),
        }
    }

    /// The upload the plan works on: the one it last created (lost Create responses leave
    /// orphans behind, as they do against real servers).
    fn current(&self) -> Option<UploadId> {
        (self.ids > 0).then(|| id(&format!("up{}", self.ids)))
    }

    fn drain(&mut self, rng: &mut Rng, now: Timestamp) -> Option<ETag> {
        let mut etag = None;
        while let Some(action) = self.table.poll_action() {
            match action {
                Action::Discard { stage } => {
                    self.staged.remove(stage.as_str()).expect("discarded bytes existed");
                }
                Action::Assemble(a) => {
                    let outcome = if rng.chance(25) {
                        Err(AssembleFailed("injected".into()))
                    } else {
                        let bytes: Vec<u8> =
                            a.parts.iter().flat_map(|p| self.staged[p.stage.as_str()].clone()).collect();
                        assert_eq!(a.crc64ecma, Crc::Crc64Xz.checksum(&bytes));
                        for p in &a.parts {
                            self.staged.remove(p.stage.as_str());
                        }
                        self.objects.insert(a.key.to_string(), (bytes, a.etag.clone()));
                        Ok(())
                    };
                    etag = self.table.handle_assembled(&a.upload_id, outcome, now).unwrap().map(|d| d.etag);
                }
                _ => {}
            }
        }
        etag
    }
}

fn run(seed: u64) -> (u64, u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let total = 7 * 100 * 1024 + rng.below(100_000);
    let source: Vec<u8> = (0..total).map(|i| (i.wrapping_mul(31) ^ seed) as u8).collect();
    let mut config = PlanConfig::new(total, Dialect::Oss);
    config.part_size = PartSize::Fixed(100 * 1024);
    config.concurrency = 1 + rng.below(4) as usize;
    config.retry =
        RetryPolicy { max_attempts: 12, base_delay: Duration::from_millis(10), max_delay: Duration::from_secs(1) };
    let mut plan = UploadPlan::new(config).unwrap();
    let mut server = Server {
        table: UploadTable::new(Config::default()),
        staged: BTreeMap::new(),
        objects: BTreeMap::new(),
        ids: 0,
    };

    let mut now = 0u64;
    let mut in_flight: Vec<(u64, Step)> = Vec::new();
    let (mut sent, mut failures) = (0, 0);
    for _ in 0..100_000 {
        let mut wake = None;
        while let Some(step) = plan.poll_step(Timestamp(now)) {
            if let Step::Wait(t) = step {
                wake = Some(t.0);
                break;
            }
            in_flight.push((now + 1 + rng.below(50), step));
            sent += 1;
        }
        if plan.status() != Status::Running {
            break;
        }
        let next = in_flight.iter().map(|(t, _)| *t).min().into_iter().chain(wake).min().expect("something pending");
        now = now.max(next);
        // Deliver everything due, in random order.
        while let Some(i) = {
            let due: Vec<usize> = (0..in_flight.len()).filter(|&i| in_flight[i].0 <= now).collect();
            (!due.is_empty()).then(|| due[rng.below(due.len() as u64) as usize])
        } {
            let (_, step) = in_flight.swap_remove(i);
            let op = match &step {
                Step::Create => Op::Create,
                Step::SendPart { number, .. } => Op::Part(*number),
                Step::Complete { .. } => Op::Complete,
                Step::Abort | Step::Wait(_) => Op::Abort,
            };
            let dropped_request = rng.chance(10);
            let result =
                if dropped_request { Err(true) } else { server.serve(&step, &source, &mut rng, Timestamp(now)) };
            let lost_response = rng.chance(10);
            let outcome = match result {
                Ok(outcome) if !lost_response => outcome,
                Ok(_) | Err(true) => {
                    Outcome::Failed { op, retryable: true, jitter: rng.next() as u32, reason: "net".into() }
                }
                Err(false) => Outcome::Failed { op, retryable: false, jitter: 0, reason: "refused".into() },
            };
            if matches!(outcome, Outcome::Failed { .. }) {
                failures += 1;
            }
            plan.handle(outcome, Timestamp(now));
        }
    }
    let Status::Succeeded { etag } = plan.status() else { panic!("seed {seed}: {:?}", plan.status()) };
    let (bytes, stored_etag) = &server.objects["object"];
    assert!(bytes == &source, "seed {seed}: object bytes differ");
    assert_eq!(&etag, stored_etag);
    let md5s: Vec<[u8; 16]> = source.chunks(100 * 1024).map(md5).collect();
    assert_eq!(etag, ETag::multipart(md5s.iter()));
    (sent, failures)
}

#[test]
fn a_plan_uploads_through_a_lossy_network_to_the_table() {
    let (mut sent, mut failures) = (0, 0);
    for seed in 1..=40 {
        let (s, f) = run(seed);
        sent += s;
        failures += f;
    }
    // The network really was hostile.
    assert!(failures * 10 > sent, "{failures} failures in {sent} requests");
}
