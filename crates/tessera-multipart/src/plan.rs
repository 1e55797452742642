//! The client side: which request to send next for one multipart upload.
//!
//! An [`UploadPlan`] is built from the object's length, the dialect and a part size (or
//! [`PartSize::Auto`]); the caller asks it for [`Step`]s with [`poll_step`](UploadPlan::poll_step),
//! performs them (HTTP requests, reading byte ranges of the source) and reports each
//! [`Outcome`] with [`handle`](UploadPlan::handle). Retries back off exponentially; the jitter
//! comes from the caller with each failure, so the plan stays deterministic.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use tessera_proto::{Checksum, Dialect, ETag, PartNumber, UploadId};

use crate::{CompletePart, Limits, Timestamp};

const MIB: u64 = 1024 * 1024;

/// The part size s3transfer and most SDKs default to.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;

/// How to cut the object into parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartSize {
    /// [`DEFAULT_PART_SIZE`], or the smallest whole number of MiB that fits the object in the
    /// part limit, whichever is larger (and never below the dialect's minimum).
    Auto,
    /// This many bytes per part (the last part may be smaller).
    Fixed(u64),
}

/// When and how often to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles with each further one.
    pub base_delay: Duration,
    /// Cap on the delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(20) }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1 for the first), with "equal jitter": half the
    /// exponential delay, plus `jitter / u32::MAX` of the other half.
    pub fn delay(&self, retry: u32, jitter: u32) -> Duration {
        let exp = 1u32.checked_shl(retry.saturating_sub(1).min(31)).unwrap_or(u32::MAX);
        let full = self.base_delay.saturating_mul(exp).min(self.max_delay);
        let half = full / 2;
        let extra = half.as_nanos().saturating_mul(u128::from(jitter)) / u128::from(u32::MAX);
        half + Duration::from_nanos(u64::try_from(extra).unwrap_or(u64::MAX))
    }
}

/// What the plan is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanConfig {
    /// The object's length in bytes.
    pub total_size: u64,
    /// The dialect of the server (its minimum part size applies).
    pub dialect: Dialect,
    /// How to cut parts.
    pub part_size: PartSize,
    /// Parts in flight at once (0 counts as 1).
    pub concurrency: usize,
    /// Retries.
    pub retry: RetryPolicy,
    /// The limits to plan within (default: the dialect's).
    pub limits: Limits,
    /// Abort the upload when the plan fails, so the server drops the parts.
    pub abort_on_failure: bool,
}

impl PlanConfig {
    /// A plan of `total_size` bytes for `dialect` with automatic part size, 4 parts in flight.
    pub fn new(total_size: u64, dialect: Dialect) -> PlanConfig {
        PlanConfig {
            total_size,
            dialect,
            part_size: PartSize::Auto,
            concurrency: 4,
            retry: RetryPolicy::default(),
            limits: Limits::for_dialect(dialect),
            abort_on_failure: true,
        }
    }
}

/// A plan that cannot work within the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// The part size is below the minimum and the object needs more than one part.
    PartSizeTooSmall {
        /// The size asked for.
        size: u64,
        /// The minimum.
        min: u64,
    },
    /// The part size is above the maximum.
    PartSizeTooLarge {
        /// The size asked for.
        size: u64,
        /// The maximum.
        max: u64,
    },
    /// The object would need more parts than allowed.
    TooManyParts {
        /// Parts needed.
        parts: u64,
        /// The maximum.
        max: u32,
    },
    /// The object is larger than the maximum object size.
    ObjectTooLarge {
        /// Its size.
        size: u64,
        /// The maximum.
        max: u64,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PartSizeTooSmall { size, min } => write!(f, "part size {size} is below the minimum {min}"),
            Self::PartSizeTooLarge { size, max } => write!(f, "part size {size} is above the maximum {max}"),
            Self::TooManyParts { parts, max } => write!(f, "{parts} parts needed; at most {max} allowed"),
            Self::ObjectTooLarge { size, max } => write!(f, "object of {size} bytes exceeds the maximum {max}"),
        }
    }
}

impl std::error::Error for PlanError {}

/// A request the caller should send now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// CreateMultipartUpload; report [`Outcome::Created`].
    Create,
    /// UploadPart of these bytes of the source; report [`Outcome::PartDone`].
    SendPart {
        /// The part number.
        number: PartNumber,
        /// The byte range of the source.
        range: Range<u64>,
    },
    /// CompleteMultipartUpload with this list; report [`Outcome::Completed`].
    Complete {
        /// The parts, ascending.
        parts: Vec<CompletePart>,
    },
    /// AbortMultipartUpload; report [`Outcome::Aborted`].
    Abort,
    /// Nothing can start before this time (a retry is backing off): poll again then, or when
    /// an outcome arrives.
    Wait(Timestamp),
}

/// Which request an outcome is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// CreateMultipartUpload.
    Create,
    /// UploadPart.
    Part(PartNumber),
    /// CompleteMultipartUpload.
    Complete,
    /// AbortMultipartUpload.
    Abort,
}

/// What came of a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The upload was created.
    Created {
        /// Its id.
        upload_id: UploadId,
    },
    /// A part was stored.
    PartDone {
        /// Its number.
        number: PartNumber,
        /// Its ETag.
        etag: ETag,
        /// Its checksum, if the upload uses one.
        checksum: Option<Checksum>,
    },
    /// The object was assembled.
    Completed {
        /// Its ETag.
        etag: ETag,
    },
    /// The upload was aborted.
    Aborted,
    /// A request failed.
    Failed {
        /// Which.
        op: Op,
        /// Whether trying again may help (timeouts, 5xx, `SlowDown`), or not (4xx).
        retryable: bool,
        /// A uniformly random number from the caller, for the backoff jitter.
        jitter: u32,
        /// For the final report.
        reason: String,
    },
}

/// Where the plan stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Steps remain.
    Running,
    /// The object exists.
    Succeeded {
        /// Its ETag.
        etag: ETag,
    },
    /// The upload failed.
    Failed {
        /// The request that failed last.
        op: Op,
        /// Why.
        reason: String,
        /// The upload, if one was created and is not known to be aborted (clean it up or
        /// resume it).
        upload_id: Option<UploadId>,
    },
}

/// A part as a ListParts page lists it, to resume from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedPart {
    /// Its number.
    pub number: PartNumber,
    /// Its size.
    pub size: u64,
    /// Its ETag.
    pub etag: ETag,
    /// Its checksum, if listed.
    pub checksum: Option<Checksum>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Idle,
    InFlight,
    Backoff(Timestamp),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Single {
    slot: Slot,
    attempts: u32,
}

impl Single {
    fn new() -> Single {
        Single { slot: Slot::Idle, attempts: 0 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Creating(Single),
    Uploading,
    Completing(Single),
    Aborting(Single, Op, String),
    Done(Status),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PartSlot {
    attempts: u32,
    in_flight: bool,
    done: Option<(ETag, Option<Checksum>)>,
}

/// The client's state machine for one multipart upload. See the module documentation.
#[derive(Clone, Debug)]
pub struct UploadPlan {
    config: PlanConfig,
    part_size: u64,
    upload_id: Option<UploadId>,
    phase: Phase,
    parts: Vec<PartSlot>,
    /// Parts never sent yet are taken in order from here.
    fresh: usize,
    /// Parts waiting to be retried, by when and number.
    retries: BTreeSet<(Timestamp, usize)>,
    in_flight: usize,
    done: usize,
    bytes_done: u64,
}

impl UploadPlan {
    /// A plan for a new upload.
    pub fn new(config: PlanConfig) -> Result<UploadPlan, PlanError> {
        let (part_size, count) = layout(&config)?;
        let parts = vec![PartSlot { attempts: 0, in_flight: false, done: None }; count];
        Ok(UploadPlan {
            config,
            part_size,
            upload_id: None,
            phase: Phase::Creating(Single::new()),
            parts,
            fresh: 0,
            retries: BTreeSet::new(),
            in_flight: 0,
            done: 0,
            bytes_done: 0,
        })
    }

    /// A plan that continues `upload_id`, keeping every listed part whose size is the
    /// planned one and whose ETag is the MD5 `local_md5` computes for that range of the
    /// source (`None` there means "unknown": send the part again). Pass the parts of every
    /// ListParts page.
    pub fn resume(
        config: PlanConfig,
        upload_id: UploadId,
        listed: impl IntoIterator<Item = ListedPart>,
        mut local_md5: impl FnMut(PartNumber, Range<u64>) -> Option<[u8; 16]>,
    ) -> Result<UploadPlan, PlanError> {
        let mut plan = UploadPlan::new(config)?;
        plan.upload_id = Some(upload_id);
        plan.phase = Phase::Uploading;
        for part in listed {
            let index = part.number.get() as usize - 1;
            let range = plan.range(index);
            let Some(slot) = plan.parts.get_mut(index) else { continue };
            if slot.done.is_some() || part.size != range.end - range.start {
                continue;
            }
            let Some(md5) = part.etag.md5() else { continue };
            if local_md5(part.number, range.clone()) == Some(md5) {
                slot.done = Some((part.etag, part.checksum));
                plan.done += 1;
                plan.bytes_done += range.end - range.start;
            }
        }
        // Fresh parts are taken from the cursor on; skip the ones already done.
        plan.skip_done_fresh();
        Ok(plan)
    }

    /// The part size in use.
    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    /// The number of parts.
    pub fn part_count(&self) -> usize {
        self.parts.len()
    }

    /// The upload id, once created.
    pub fn upload_id(&self) -> Option<&UploadId> {
        self.upload_id.as_ref()
    }

    /// Bytes of parts stored so far.
    pub fn bytes_done(&self) -> u64 {
        self.bytes_done
    }

    /// Where the plan stands.
    pub fn status(&self) -> Status {
        match &self.phase {
            Phase::Done(s) => s.clone(),
            _ => Status::Running,
        }
    }

    /// The byte range of part `index` (0-based).
    fn range(&self, index: usize) -> Range<u64> {
        let start = (index as u64).saturating_mul(self.part_size).min(self.config.total_size);
        let end = start.saturating_add(self.part_size).min(self.config.total_size);
        start..end
    }

    fn skip_done_fresh(&mut self) {
        while self.parts.get(self.fresh).is_some_and(|p| p.done.is_some()) {
            self.fresh += 1;
        }
    }

    /// The next step to take at `now`, or `None` when the plan waits only for outcomes of
    /// steps in flight (or is finished: see [`status`](Self::status)).
    pub fn poll_step(&mut self, now: Timestamp) -> Option<Step> {
        match &mut self.phase {
            Phase::Done(_) => None,
            Phase::Creating(single) => poll_single(single, now, Step::Create),
            Phase::Completing(single) => {
                let parts = self
                    .parts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| {
                        let (etag, checksum) = p.done.clone()?;
                        let number = PartNumber::new(u32::try_from(i + 1).ok()?).ok()?;
                        Some(CompletePart { number, etag, checksum })
                    })
                    .collect();
                poll_single(single, now, Step::Complete { parts })
            }
            Phase::Aborting(single, _, _) => poll_single(single, now, Step::Abort),
            Phase::Uploading => {
                if self.done == self.parts.len() {
                    self.phase = Phase::Completing(Single::new());
                    return self.poll_step(now);
                }
                if self.in_flight >= self.config.concurrency.max(1) {
                    return None;
                }
                let ready = self.retries.first().copied().filter(|(t, _)| *t <= now);
                let index = if let Some(entry) = ready {
                    self.retries.remove(&entry);
                    entry.1
                } else if self.fresh < self.parts.len() {
                    let i = self.fresh;
                    self.fresh += 1;
                    self.skip_done_fresh();
                    i
                } else {
                    return self.retries.first().map(|(t, _)| Step::Wait(*t));
                };
                let number = PartNumber::new(u32::try_from(index + 1).ok()?).ok()?;
                let range = self.range(index);
                let slot = self.parts.get_mut(index)?;
                slot.in_flight = true;
                self.in_flight += 1;
                Some(Step::SendPart { number, range })
            }
        }
    }

    /// Takes the outcome of a step. Outcomes that no longer matter (a part finishing after
    /// the plan failed, a duplicate) are ignored.
    pub fn handle(&mut self, outcome: Outcome, now: Timestamp) {
        match outcome {
            Outcome::Created { upload_id } => {
                if matches!(self.phase, Phase::Creating(_)) {
                    self.upload_id = Some(upload_id);
                    self.phase = Phase::Uploading;
                }
            }
            Outcome::PartDone { number, etag, checksum } => {
                let index = number.get() as usize - 1;
                let size = {
                    let r = self.range(index);
                    r.end - r.start
                };
                let Some(slot) = self.parts.get_mut(index) else { return };
                if !slot.in_flight {
                    return;
                }
                slot.in_flight = false;
                self.in_flight -= 1;
                if slot.done.is_none() {
                    self.done += 1;
                    self.bytes_done += size;
                }
                slot.done = Some((etag, checksum));
            }
            Outcome::Completed { etag } => {
                if matches!(self.phase, Phase::Completing(_)) {
                    self.phase = Phase::Done(Status::Succeeded { etag });
                }
            }
            Outcome::Aborted => {
                if let Phase::Aborting(_, op, reason) = &self.phase {
                    let (op, reason) = (*op, reason.clone());
                    self.phase = Phase::Done(Status::Failed { op, reason, upload_id: None });
                }
            }
            Outcome::Failed { op, retryable, jitter, reason } => self.failed(op, retryable, jitter, reason, now),
        }
    }

    fn failed(&mut self, op: Op, retryable: bool, jitter: u32, reason: String, now: Timestamp) {
        let policy = self.config.retry;
        let retry_at = |attempts: u32| now.saturating_add(policy.delay(attempts, jitter));
        match (&mut self.phase, op) {
            (Phase::Creating(single), Op::Create)
            | (Phase::Completing(single), Op::Complete)
            | (Phase::Aborting(single, _, _), Op::Abort) => {
                if single.slot != Slot::InFlight {
                    return;
                }
                single.attempts += 1;
                if retryable && single.attempts < policy.max_attempts {
                    single.slot = Slot::Backoff(retry_at(single.attempts));
                } else {
                    self.give_up(op, reason);
                }
            }
            (Phase::Uploading, Op::Part(number)) => {
                let index = number.get() as usize - 1;
                let Some(slot) = self.parts.get_mut(index) else { return };
                if !slot.in_flight {
                    return;
                }
                slot.in_flight = false;
                self.in_flight -= 1;
                slot.attempts += 1;
                if retryable && slot.attempts < policy.max_attempts {
                    self.retries.insert((retry_at(slot.attempts), index));
                } else {
                    self.give_up(op, reason);
                }
            }
            _ => {}
        }
    }

    fn give_up(&mut self, op: Op, reason: String) {
        self.phase = match (&self.phase, &self.upload_id) {
            (Phase::Aborting(..), id) | (_, id @ None) => {
                Phase::Done(Status::Failed { op, reason, upload_id: id.clone() })
            }
            (_, Some(id)) if !self.config.abort_on_failure => {
                Phase::Done(Status::Failed { op, reason, upload_id: Some(id.clone()) })
            }
            (_, Some(_)) => Phase::Aborting(Single::new(), op, reason),
        };
        self.retries.clear();
    }
}

fn poll_single(single: &mut Single, now: Timestamp, step: Step) -> Option<Step> {
    match single.slot {
        Slot::InFlight => None,
        Slot::Backoff(until) if until > now => Some(Step::Wait(until)),
        Slot::Idle | Slot::Backoff(_) => {
            single.slot = Slot::InFlight;
            Some(step)
        }
    }
}

/// The part size and count for `config`.
fn layout(config: &PlanConfig) -> Result<(u64, usize), PlanError> {
    let limits = config.limits;
    let total = config.total_size;
    if total > limits.max_object_size {
        return Err(PlanError::ObjectTooLarge { size: total, max: limits.max_object_size });
    }
    let max_parts = u64::from(limits.max_parts.max(1));
    let size = match config.part_size {
        PartSize::Fixed(size) => size,
        PartSize::Auto => {
            let needed = total.div_ceil(max_parts).div_ceil(MIB).saturating_mul(MIB);
            needed.max(DEFAULT_PART_SIZE).max(limits.min_part_size).min(limits.max_part_size)
        }
    };
    if size > limits.max_part_size {
        return Err(PlanError::PartSizeTooLarge { size, max: limits.max_part_size });
    }
    if size == 0 && total > 0 {
        return Err(PlanError::PartSizeTooSmall { size, min: limits.min_part_size.max(1) });
    }
    let count = if total == 0 { 1 } else { total.div_ceil(size) };
    if count > 1 && size < limits.min_part_size {
        return Err(PlanError::PartSizeTooSmall { size, min: limits.min_part_size });
    }
    if count > max_parts {
        return Err(PlanError::TooManyParts { parts: count, max: limits.max_parts });
    }
    let count = usize::try_from(count).map_err(|_| PlanError::TooManyParts { parts: count, max: limits.max_parts })?;
    Ok((size, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pn(n: u32) -> PartNumber {
        PartNumber::new(n).unwrap()
    }

    fn etag(n: u8) -> ETag {
        ETag::from_md5(&[n; 16])
    }

    #[test]
    fn auto_part_size_fits_ten_thousand_parts() {
        let small = UploadPlan::new(PlanConfig::new(20 * MIB, Dialect::Aws)).unwrap();
        assert_eq!(small.part_size(), DEFAULT_PART_SIZE);
        assert_eq!(small.part_count(), 3);

        let huge = 5 * 1024 * 1024 * MIB; // 5 TiB
        let plan = UploadPlan::new(PlanConfig::new(huge, Dialect::Aws)).unwrap();
        assert!(plan.part_count() <= 10_000);
        assert_eq!(plan.part_size() % MIB, 0);
        assert_eq!(plan.part_size(), 525 * MIB);

        let empty = UploadPlan::new(PlanConfig::new(0, Dialect::Oss)).unwrap();
        assert_eq!(empty.part_count(), 1);
    }

    #[test]
    fn fixed_part_sizes_are_checked() {
        let mut c = PlanConfig::new(20 * MIB, Dialect::Aws);
        c.part_size = PartSize::Fixed(MIB);
        assert_eq!(UploadPlan::new(c.clone()).unwrap_err(), PlanError::PartSizeTooSmall { size: MIB, min: 5 * MIB });
        c.dialect = Dialect::Oss;
        c.limits = Limits::for_dialect(Dialect::Oss);
        assert_eq!(UploadPlan::new(c.clone()).unwrap().part_count(), 20);
        c.total_size = 10_001 * MIB;
        assert!(matches!(UploadPlan::new(c.clone()), Err(PlanError::TooManyParts { parts: 10_001, .. })));
        c.part_size = PartSize::Fixed(6 * 1024 * MIB);
        assert!(matches!(UploadPlan::new(c.clone()), Err(PlanError::PartSizeTooLarge { .. })));
        // One small part is fine: the minimum binds only parts that are not last.
        c.total_size = 10;
        c.part_size = PartSize::Fixed(10);
        assert_eq!(UploadPlan::new(c).unwrap().part_count(), 1);
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let p =
            RetryPolicy { max_attempts: 9, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        assert_eq!(p.delay(1, 0), Duration::from_millis(50));
        assert_eq!(p.delay(1, u32::MAX), Duration::from_millis(100));
        assert_eq!(p.delay(2, 0), Duration::from_millis(100));
        assert_eq!(p.delay(8, u32::MAX), Duration::from_secs(1));
        assert_eq!(p.delay(60, 0), Duration::from_millis(500));
    }

    #[test]
    fn happy_path_respects_concurrency() {
        let mut c = PlanConfig::new(20 * MIB, Dialect::Aws);
        c.concurrency = 2;
        let mut plan = UploadPlan::new(c).unwrap();
        let now = Timestamp(0);
        assert_eq!(plan.poll_step(now), Some(Step::Create));
        assert_eq!(plan.poll_step(now), None);
        plan.handle(Outcome::Created { upload_id: UploadId::new("u1").unwrap() }, now);
        assert_eq!(plan.poll_step(now), Some(Step::SendPart { number: pn(1), range: 0..8 * MIB }));
        assert_eq!(plan.poll_step(now), Some(Step::SendPart { number: pn(2), range: 8 * MIB..16 * MIB }));
        assert_eq!(plan.poll_step(now), None, "two in flight");
        plan.handle(Outcome::PartDone { number: pn(2), etag: etag(2), checksum: None }, now);
        assert_eq!(plan.poll_step(now), Some(Step::SendPart { number: pn(3), range: 16 * MIB..20 * MIB }));
        plan.handle(Outcome::PartDone { number: pn(3), etag: etag(3), checksum: None }, now);
        plan.handle(Outcome::PartDone { number: pn(1), etag: etag(1), checksum: None }, now);
        assert_eq!(plan.bytes_done(), 20 * MIB);
        let Some(Step::Complete { parts }) = plan.poll_step(now) else { panic!("expected Complete") };
        assert_eq!(parts.iter().map(|p| p.number.get()).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(parts[1].etag, etag(2));
        plan.handle(Outcome::Completed { etag: etag(9) }, now);
        assert_eq!(plan.status(), Status::Succeeded { etag: etag(9) });
        assert_eq!(plan.poll_step(now), None);
    }

    #[test]
    fn retries_back_off_then_abort_after_the_budget() {
        let mut c = PlanConfig::new(MIB, Dialect::Aws);
        c.retry =
            RetryPolicy { max_attempts: 2, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(8) };
        let mut plan = UploadPlan::new(c).unwrap();
        assert_eq!(plan.poll_step(Timestamp(0)), Some(Step::Create));
        plan.handle(Outcome::Created { upload_id: UploadId::new("u").unwrap() }, Timestamp(0));
        assert!(matches!(plan.poll_step(Timestamp(0)), Some(Step::SendPart { .. })));
        let fail = |jitter| Outcome::Failed { op: Op::Part(pn(1)), retryable: true, jitter, reason: "503".into() };
        plan.handle(fail(0), Timestamp(0));
        assert_eq!(plan.poll_step(Timestamp(10)), Some(Step::Wait(Timestamp(500))));
        assert!(matches!(plan.poll_step(Timestamp(500)), Some(Step::SendPart { .. })));
        plan.handle(fail(0), Timestamp(600));
        assert_eq!(plan.poll_step(Timestamp(600)), Some(Step::Abort));
        plan.handle(Outcome::Aborted, Timestamp(700));
        assert!(matches!(plan.status(), Status::Failed { op: Op::Part(_), upload_id: None, .. }));
    }

    #[test]
    fn fatal_create_fails_without_abort() {
        let mut plan = UploadPlan::new(PlanConfig::new(MIB, Dialect::Cos)).unwrap();
        assert_eq!(plan.poll_step(Timestamp(0)), Some(Step::Create));
        plan.handle(
            Outcome::Failed { op: Op::Create, retryable: false, jitter: 0, reason: "AccessDenied".into() },
            Timestamp(0),
        );
        assert!(matches!(plan.status(), Status::Failed { op: Op::Create, upload_id: None, .. }));
        assert_eq!(plan.poll_step(Timestamp(0)), None);
    }

    #[test]
    fn resume_skips_parts_that_match() {
        let mut c = PlanConfig::new(20 * MIB, Dialect::Aws);
        c.concurrency = 8;
        let md5_of = |n: PartNumber, _r: Range<u64>| Some([n.get() as u8; 16]);
        let listed = vec![
            ListedPart { number: pn(1), size: 8 * MIB, etag: etag(1), checksum: None },
            // Wrong size: sent again.
            ListedPart { number: pn(2), size: 7 * MIB, etag: etag(2), checksum: None },
            // Wrong MD5: sent again.
            ListedPart { number: pn(3), size: 4 * MIB, etag: etag(9), checksum: None },
        ];
        let mut plan = UploadPlan::resume(c, UploadId::new("u").unwrap(), listed, md5_of).unwrap();
        assert_eq!(plan.bytes_done(), 8 * MIB);
        let now = Timestamp(0);
        assert!(matches!(plan.poll_step(now), Some(Step::SendPart { number, .. }) if number == pn(2)));
        assert!(matches!(plan.poll_step(now), Some(Step::SendPart { number, .. }) if number == pn(3)));
        assert_eq!(plan.poll_step(now), None);
        plan.handle(Outcome::PartDone { number: pn(2), etag: etag(2), checksum: None }, now);
        plan.handle(Outcome::PartDone { number: pn(3), etag: etag(3), checksum: None }, now);
        let Some(Step::Complete { parts }) = plan.poll_step(now) else { panic!("expected Complete") };
        assert_eq!(parts.iter().map(|p| p.etag.clone()).collect::<Vec<_>>(), [etag(1), etag(2), etag(3)]);
    }
}
