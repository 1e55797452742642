//! proptest: random operation sequences against a deliberately simple reference model give
//! the same observable results (every return value, and every upload's parts after every
//! operation).

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use tessera_multipart::{
    CompletePart, CompleteRequest, Completion, Config, Limits, MultipartError, PartTicket, UploadState, UploadTable,
};
use tessera_proto::{ChecksumAlgorithm, ETag, UploadId};

use crate::util::*;

const MIN: u64 = 4;
const EXPIRY_MS: u64 = 5000;
const GRACE_MS: u64 = 500;

#[derive(Clone, Debug)]
enum Op {
    Create {
        u: u8,
        checksum: bool,
    },
    Begin {
        u: u8,
        n: u32,
    },
    Finish {
        slot: usize,
        len: u8,
        byte: u8,
        with_checksum: bool,
    },
    Abandon {
        slot: usize,
    },
    /// The uploaded parts chosen by the bits of `mask`, ascending; then perhaps two swapped,
    /// one ETag corrupted, or a part never uploaded appended.
    Complete {
        u: u8,
        mask: u8,
        swap: bool,
        corrupt: Option<u8>,
        missing: bool,
    },
    Assembled {
        u: u8,
        ok: bool,
    },
    Abort {
        u: u8,
    },
    Tick {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u8..3, any::<bool>()).prop_map(|(u, checksum)| Op::Create { u, checksum }),
        5 => (0u8..3, 1u32..5).prop_map(|(u, n)| Op::Begin { u, n }),
        5 => (0usize..8, 0u8..9, 0u8..3, prop::bool::weighted(0.9))
            .prop_map(|(slot, len, byte, with_checksum)| Op::Finish { slot, len, byte, with_checksum }),
        1 => (0usize..8).prop_map(|slot| Op::Abandon { slot }),
        3 => (0u8..3, any::<u8>(), prop::bool::weighted(0.1), prop::option::weighted(0.1, 0u8..4), prop::bool::weighted(0.1))
            .prop_map(|(u, mask, swap, corrupt, missing)| Op::Complete { u, mask, swap, corrupt, missing }),
        2 => (0u8..3, prop::bool::weighted(0.7)).prop_map(|(u, ok)| Op::Assembled { u, ok }),
        1 => (0u8..3).prop_map(|u| Op::Abort { u }),
        2 => prop_oneof![1 => Just(GRACE_MS), 1 => Just(EXPIRY_MS), 6 => 0u64..150].prop_map(|ms| Op::Tick { ms }),
    ]
}

/// A Complete's part list as (number, MD5).
type PartList = Vec<(u32, [u8; 16])>;

#[derive(Clone, Debug, PartialEq, Eq)]
struct MPart {
    md5: [u8; 16],
    size: u64,
}

#[derive(Clone, Debug)]
struct MUpload {
    serial: u64,
    checksum: bool,
    initiated: u64,
    parts: BTreeMap<u32, MPart>,
    /// While completing: the (number, md5) list and the ETag it will get.
    completing: Option<(PartList, ETag)>,
}

#[derive(Default)]
struct Model {
    now: u64,
    serials: u64,
    uploads: BTreeMap<u8, MUpload>,
    tombstones: BTreeMap<u8, (PartList, ETag, u64)>,
    /// Live tickets: upload, its serial, part number.
    tickets: Vec<Option<(u8, u64, u32)>>,
}

/// The `pick`-th live ticket (modulo their number), so most picks hit one.
fn live<T>(tickets: &[Option<T>], pick: usize) -> Option<usize> {
    let live: Vec<usize> = (0..tickets.len()).filter(|&i| tickets[i].is_some()).collect();
    if live.is_empty() { None } else { Some(live[pick % live.len()]) }
}

fn data(len: u8, byte: u8) -> Vec<u8> {
    vec![byte; len as usize]
}

fn err(e: MultipartError) -> String {
    e.code().as_str().to_owned()
}

impl Model {
    fn apply(&mut self, op: &Op) -> Result<String, String> {
        match *op {
            Op::Create { u, checksum } => {
                if self.uploads.contains_key(&u) || self.tombstones.contains_key(&u) {
                    return Err("InternalError".into());
                }
                self.serials += 1;
                let upload = MUpload {
                    serial: self.serials,
                    checksum,
                    initiated: self.now,
                    parts: BTreeMap::new(),
                    completing: None,
                };
                self.uploads.insert(u, upload);
                Ok("created".into())
            }
            Op::Begin { u, n } => {
                let upload = self.uploads.get(&u).ok_or("NoSuchUpload")?;
                if upload.completing.is_some() {
                    return Err("OperationAborted".into());
                }
                self.tickets.push(Some((u, upload.serial, n)));
                Ok("ticket".into())
            }
            Op::Finish { slot, len, byte, with_checksum } => {
                let Some((u, serial, n)) = live(&self.tickets, slot).and_then(|i| self.tickets[i].take()) else {
                    return Ok("no ticket".into());
                };
                let upload = self.uploads.get_mut(&u).filter(|x| x.serial == serial).ok_or("NoSuchUpload")?;
                if upload.completing.is_some() {
                    return Err("OperationAborted".into());
                }
                if upload.checksum && !with_checksum {
                    return Err("InvalidRequest".into());
                }
                let d = data(len, byte);
                upload.parts.insert(n, MPart { md5: md5(&d), size: d.len() as u64 });
                Ok(ETag::from_md5(&md5(&d)).to_string())
            }
            Op::Abandon { slot } => match live(&self.tickets, slot).and_then(|i| self.tickets[i].take()) {
                Some(_) => Ok("abandoned".into()),
                None => Ok("no ticket".into()),
            },
            Op::Complete { u, mask, swap, corrupt, missing } => {
                let list = self.request_list(u, mask, swap, corrupt, missing);
                let Some(upload) = self.uploads.get_mut(&u) else {
                    return match self.tombstones.get(&u) {
                        Some((l, etag, _)) if *l == list => Ok(format!("again {etag}")),
                        _ => Err("NoSuchUpload".into()),
                    };
                };
                if upload.completing.is_some() {
                    return Err("OperationAborted".into());
                }
                if list.is_empty() {
                    return Err("MalformedXML".into());
                }
                if list.windows(2).any(|w| w[1].0 <= w[0].0) {
                    return Err("InvalidPartOrder".into());
                }
                for (n, m) in &list {
                    match upload.parts.get(n) {
                        Some(p) if p.md5 == *m => {}
                        _ => return Err("InvalidPart".into()),
                    }
                }
                if list[..list.len() - 1].iter().any(|(n, _)| upload.parts[n].size < MIN) {
                    return Err("EntityTooSmall".into());
                }
                let etag = ETag::multipart(list.iter().map(|(_, m)| m));
                upload.completing = Some((list, etag));
                Ok("assembling".into())
            }
            Op::Assembled { u, ok } => {
                let Some(upload) = self.uploads.get_mut(&u) else { return Err("InternalError".into()) };
                let Some((list, etag)) = upload.completing.take() else { return Err("InternalError".into()) };
                if !ok {
                    return Ok("failed".into());
                }
                self.uploads.remove(&u);
                self.tombstones.insert(u, (list, etag.clone(), self.now + GRACE_MS));
                Ok(etag.to_string())
            }
            Op::Abort { u } => match self.uploads.get(&u) {
                None => Err("NoSuchUpload".into()),
                Some(x) if x.completing.is_some() => Err("OperationAborted".into()),
                Some(_) => {
                    self.uploads.remove(&u);
                    Ok("aborted".into())
                }
            },
            Op::Tick { ms } => {
                self.now += ms;
                let now = self.now;
                self.uploads.retain(|_, x| x.completing.is_some() || x.initiated + EXPIRY_MS > now);
                self.tombstones.retain(|_, (_, _, purge)| *purge > now);
                Ok("tick".into())
            }
        }
    }

    /// The (number, md5) list a Complete op asks for.
    fn request_list(&self, u: u8, mask: u8, swap: bool, corrupt: Option<u8>, missing: bool) -> Vec<(u32, [u8; 16])> {
        let uploaded: Vec<(u32, [u8; 16])> =
            self.uploads.get(&u).map(|x| x.parts.iter().map(|(n, p)| (*n, p.md5)).collect()).unwrap_or_default();
        let mut list: Vec<(u32, [u8; 16])> =
            uploaded.into_iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, p)| p).collect();
        if swap && list.len() > 1 {
            list.swap(0, 1);
        }
        if let Some(i) = corrupt
            && let Some(entry) = list.get_mut(i as usize)
        {
            entry.1 = [0xDD; 16];
        }
        if missing {
            list.push((7, [0xEE; 16]));
        }
        list
    }
}

struct Real {
    table: UploadTable,
    now: u64,
    tickets: Vec<Option<PartTicket>>,
    stages: u64,
}

fn uid(u: u8) -> UploadId {
    id(&format!("u{u}"))
}

impl Real {
    fn apply(&mut self, op: &Op, model: &Model) -> Result<String, String> {
        let now = t(self.now);
        let result = match *op {
            Op::Create { u, checksum } => {
                let mut new = new_upload("bkt", "key");
                new.checksum_algorithm = checksum.then_some(ChecksumAlgorithm::Crc32);
                self.table.create(uid(u), new, now).map(|()| "created".to_owned()).map_err(err)
            }
            Op::Begin { u, n } => self.table.begin_part(&uid(u), pn(n), None, now).map_err(err).map(|ticket| {
                self.tickets.push(Some(ticket));
                "ticket".to_owned()
            }),
            Op::Finish { slot, len, byte, with_checksum } => {
                let Some(ticket) = live(&self.tickets, slot).and_then(|i| self.tickets[i].take()) else {
                    return Ok("no ticket".into());
                };
                self.stages += 1;
                let algorithm = with_checksum.then_some(ChecksumAlgorithm::Crc32);
                let r = receipt(&format!("s{}", self.stages), &data(len, byte), algorithm);
                self.table.finish_part(ticket, r, now).map(|e| e.to_string()).map_err(err)
            }
            Op::Abandon { slot } => match live(&self.tickets, slot).and_then(|i| self.tickets[i].take()) {
                Some(ticket) => self.table.abandon_part(ticket).map(|()| "abandoned".to_owned()).map_err(err),
                None => Ok("no ticket".into()),
            },
            Op::Complete { u, mask, swap, corrupt, missing } => {
                // The same request the model judged, with the ETags in upper case and quoted.
                let list = model.request_list(u, mask, swap, corrupt, missing);
                let parts = list
                    .iter()
                    .map(|(n, m)| CompletePart {
                        number: pn(*n),
                        etag: ETag::parse(&format!("\"{}\"", ETag::from_md5(m).as_str().to_uppercase())).unwrap(),
                        checksum: None,
                    })
                    .collect();
                match self.table.complete(&uid(u), &CompleteRequest::new(parts), now) {
                    Ok(Completion::Assembling) => Ok("assembling".into()),
                    Ok(Completion::AlreadyCompleted(done)) => Ok(format!("again {}", done.etag)),
                    Err(e) => Err(err(e)),
                }
            }
            Op::Assembled { u, ok } => {
                let outcome = if ok { Ok(()) } else { Err(tessera_multipart::AssembleFailed("no".into())) };
                match self.table.handle_assembled(&uid(u), outcome, now) {
                    Ok(Some(done)) => Ok(done.etag.to_string()),
                    Ok(None) => Ok("failed".into()),
                    Err(e) => Err(err(e)),
                }
            }
            Op::Abort { u } => self.table.abort(&uid(u)).map(|()| "aborted".to_owned()).map_err(err),
            Op::Tick { ms } => {
                self.now += ms;
                self.table.handle_timeout(t(self.now));
                Ok("tick".into())
            }
        };
        while self.table.poll_action().is_some() {}
        result
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn table_agrees_with_the_reference_model(ops in prop::collection::vec(op(), 1..150)) {
        let limits = Limits { min_part_size: MIN, ..Limits::permissive() };
        let config = Config::default()
            .with_all_limits(limits)
            .with_default_expiry(Some(Duration::from_millis(EXPIRY_MS)))
            .with_completed_grace(Duration::from_millis(GRACE_MS));
        let mut real = Real { table: UploadTable::new(config), now: 0, tickets: Vec::new(), stages: 0 };
        let mut model = Model::default();
        for op in &ops {
            // The real side reads the model's state to build the same request, so apply it first.
            let got = real.apply(op, &model);
            let want = model.apply(op);
            prop_assert_eq!(&got, &want, "after {:?}", op);
            for u in 0..3u8 {
                let real_view = real.table.upload(&uid(u)).map(|x| {
                    let parts: Vec<(u32, u64, String)> = (1..5)
                        .filter_map(|n| x.part(pn(n)))
                        .map(|p| (p.number.get(), p.size, p.etag.to_string()))
                        .collect();
                    (x.state() == UploadState::Completing, parts)
                });
                let model_view = model.uploads.get(&u).map(|x| {
                    let parts: Vec<(u32, u64, String)> = x
                        .parts
                        .iter()
                        .map(|(n, p)| (*n, p.size, ETag::from_md5(&p.md5).to_string()))
                        .collect();
                    (x.completing.is_some(), parts)
                });
                prop_assert_eq!(real_view, model_view, "upload {} after {:?}", u, op);
            }
            let live = model.tickets.iter().filter(|t| t.is_some()).count();
            prop_assert_eq!(real.table.outstanding_tickets(), live);
        }
    }
}
