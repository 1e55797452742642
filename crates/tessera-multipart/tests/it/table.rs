//! The upload table's commands, one behaviour per test.

use std::time::Duration;

use tessera_multipart::{
    Action, ApiMisuse, AssembleFailed, CompletePart, CompleteRequest, Completion, Config, Crc, InvalidPartReason,
    Limits, MultipartError, PartTicket, StageRef, UploadRecord, UploadState, UploadTable,
};
use tessera_proto::{ChecksumAlgorithm, ChecksumType, Dialect, ETag, ErrorCode};

use crate::util::*;

const MIB: usize = 1024 * 1024;

fn drain(table: &mut UploadTable) -> Vec<Action> {
    std::iter::from_fn(|| table.poll_action()).collect()
}

fn discards(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Discard { stage } => Some(stage.as_str()),
            _ => None,
        })
        .collect()
}

/// A table whose uploads need parts of at least 4 bytes.
fn small_table() -> UploadTable {
    let limits = Limits { min_part_size: 4, ..Limits::for_dialect(Dialect::Aws) };
    UploadTable::new(Config::default().with_all_limits(limits))
}

fn upload_part(table: &mut UploadTable, upload: &str, n: u32, stage: &str, data: &[u8]) -> ETag {
    let ticket = table.begin_part(&id(upload), pn(n), Some(data.len() as u64), t(1)).unwrap();
    table.finish_part(ticket, receipt(stage, data, None), t(2)).unwrap()
}

fn listed(n: u32, data: &[u8]) -> CompletePart {
    CompletePart { number: pn(n), etag: ETag::from_md5(&md5(data)), checksum: None }
}

#[test]
fn create_and_parts_persist_in_order() {
    let mut table = small_table();
    table.create(id("u1"), new_upload("bkt", "k"), t(10)).unwrap();
    let actions = drain(&mut table);
    let [Action::PersistUpload { upload_id, record }] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(upload_id, &id("u1"));
    assert_eq!(record.initiated, t(10));
    assert!(record.parts.is_empty());

    let etag = upload_part(&mut table, "u1", 3, "s1", b"hello");
    assert_eq!(etag, ETag::from_md5(&md5(b"hello")));
    let actions = drain(&mut table);
    let [Action::PersistPart { part, .. }] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!((part.number, part.size, part.stage.as_str()), (pn(3), 5, "s1"));
    assert_eq!(table.upload(&id("u1")).unwrap().part_count(), 1);
}

#[test]
fn the_last_part_to_finish_wins_and_the_loser_is_discarded() {
    let mut table = small_table();
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    drain(&mut table);
    let first = table.begin_part(&id("u"), pn(1), None, t(1)).unwrap();
    let second = table.begin_part(&id("u"), pn(1), None, t(2)).unwrap();
    assert!(second.attempt() > first.attempt());
    // The later attempt finishes first; the earlier one finishes last and wins.
    table.finish_part(second, receipt("late-begun", b"BBBB", None), t(3)).unwrap();
    table.finish_part(first, receipt("early-begun", b"AAAA", None), t(4)).unwrap();
    let actions = drain(&mut table);
    // Persist the winner before discarding the bytes it replaces.
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(matches!(&actions[1], Action::PersistPart { part, .. } if part.stage.as_str() == "early-begun"));
    assert_eq!(actions[2], Action::Discard { stage: StageRef::new("late-begun") });
    let part = table.upload(&id("u")).unwrap().part(pn(1)).unwrap();
    assert_eq!(part.etag, ETag::from_md5(&md5(b"AAAA")));
}

#[test]
fn abort_deletes_the_record_before_discarding_parts_and_late_parts_are_refused() {
    let mut table = small_table();
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    upload_part(&mut table, "u", 1, "p1", b"1111");
    upload_part(&mut table, "u", 2, "p2", b"2222");
    let in_flight = table.begin_part(&id("u"), pn(3), None, t(3)).unwrap();
    drain(&mut table);

    table.abort(&id("u")).unwrap();
    let actions = drain(&mut table);
    assert_eq!(actions[0], Action::DeleteUpload { upload_id: id("u") });
    assert_eq!(discards(&actions), ["p1", "p2"]);
    assert!(table.upload(&id("u")).is_none());

    let err = table.finish_part(in_flight, receipt("p3", b"3333", None), t(4)).unwrap_err();
    assert_eq!(err, MultipartError::NoSuchUpload);
    assert_eq!(discards(&drain(&mut table)), ["p3"]);
    assert_eq!(table.abort(&id("u")), Err(MultipartError::NoSuchUpload));
    assert_eq!(table.begin_part(&id("u"), pn(1), None, t(5)), Err(MultipartError::NoSuchUpload));
    assert_eq!(table.outstanding_tickets(), 0);
}

#[test]
fn complete_validates_everything_before_any_side_effect() {
    let mut table = small_table();
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    upload_part(&mut table, "u", 1, "p1", b"1111");
    upload_part(&mut table, "u", 2, "p2", b"22");
    upload_part(&mut table, "u", 5, "p5", b"5555");
    drain(&mut table);

    let cases: Vec<(Vec<CompletePart>, MultipartError)> = vec![
        (vec![], MultipartError::EmptyPartList),
        (vec![listed(2, b"22"), listed(1, b"1111")], MultipartError::InvalidPartOrder { number: 1 }),
        (vec![listed(1, b"1111"), listed(1, b"1111")], MultipartError::InvalidPartOrder { number: 1 }),
        (
            vec![listed(1, b"1111"), listed(3, b"x")],
            MultipartError::InvalidPart { number: 3, reason: InvalidPartReason::Missing },
        ),
        (
            vec![listed(1, b"1111"), listed(5, b"wrong")],
            MultipartError::InvalidPart { number: 5, reason: InvalidPartReason::ETagMismatch },
        ),
        (vec![listed(2, b"22"), listed(5, b"5555")], MultipartError::EntityTooSmall { number: 2, size: 2, min: 4 }),
    ];
    for (parts, expected) in cases {
        let got = table.complete(&id("u"), &CompleteRequest::new(parts.clone()), t(5)).unwrap_err();
        assert_eq!(got, expected, "{parts:?}");
        assert!(table.poll_action().is_none(), "a refused complete has no side effect");
        assert_eq!(table.upload(&id("u")).unwrap().state(), UploadState::Open);
    }
    assert_eq!(MultipartError::EmptyPartList.code(), ErrorCode::MalformedXML);

    // Gaps are allowed, the last part may be small, and ETags are matched without regard
    // to quotes or case.
    let shouting = ETag::parse(&format!("\"{}\"", ETag::from_md5(&md5(b"22")).as_str().to_uppercase())).unwrap();
    let parts = vec![listed(1, b"1111"), CompletePart { number: pn(2), etag: shouting, checksum: None }];
    assert_eq!(table.complete(&id("u"), &CompleteRequest::new(parts), t(6)), Ok(Completion::Assembling));
}

#[test]
fn assembly_carries_offsets_etag_and_combined_crcs() {
    let mut table = small_table();
    let mut new = new_upload("bkt", "obj");
    new.checksum_algorithm = Some(ChecksumAlgorithm::Crc32c);
    new.checksum_type = Some(ChecksumType::FullObject);
    new.metadata = b"content-type: text/plain".to_vec();
    table.create(id("u"), new, t(0)).unwrap();
    let data: [&[u8]; 3] = [b"first part ", b"second part ", b"end"];
    for (i, d) in data.iter().enumerate() {
        let ticket = table.begin_part(&id("u"), pn(i as u32 + 1), None, t(1)).unwrap();
        table.finish_part(ticket, receipt(&format!("s{i}"), d, Some(ChecksumAlgorithm::Crc32c)), t(2)).unwrap();
    }
    // An extra part that is not listed gets discarded on success.
    let ticket = table.begin_part(&id("u"), pn(9), None, t(1)).unwrap();
    table.finish_part(ticket, receipt("unlisted", b"zzzz", Some(ChecksumAlgorithm::Crc32c)), t(2)).unwrap();
    drain(&mut table);

    let parts: Vec<CompletePart> = data
        .iter()
        .enumerate()
        .map(|(i, d)| CompletePart {
            number: pn(i as u32 + 1),
            etag: ETag::from_md5(&md5(d)),
            checksum: Some(checksum(ChecksumAlgorithm::Crc32c, d)),
        })
        .collect();
    let whole = data.concat();
    let mut request = CompleteRequest::new(parts);
    request.expected_size = Some(whole.len() as u64);
    request.expected_checksum = Some(checksum(ChecksumAlgorithm::Crc32c, &whole));
    assert_eq!(table.complete(&id("u"), &request, t(3)), Ok(Completion::Assembling));
    let actions = drain(&mut table);
    let [Action::Assemble(assembly)] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(assembly.total_size, whole.len() as u64);
    assert_eq!(assembly.parts.iter().map(|p| p.offset).collect::<Vec<_>>(), [0, 11, 23]);
    assert_eq!(assembly.etag, ETag::multipart(data.iter().map(|d| md5(d)).collect::<Vec<_>>().iter()));
    assert_eq!(assembly.crc64ecma, Crc::Crc64Xz.checksum(&whole));
    let object = assembly.checksum.as_ref().unwrap();
    assert_eq!(object.checksum, checksum(ChecksumAlgorithm::Crc32c, &whole));
    assert_eq!(object.kind, ChecksumType::FullObject);
    assert_eq!(assembly.metadata, b"content-type: text/plain");

    let done = table.handle_assembled(&id("u"), Ok(()), t(4)).unwrap().unwrap();
    assert_eq!(done.etag, assembly.etag);
    let actions = drain(&mut table);
    assert_eq!(actions[0], Action::DeleteUpload { upload_id: id("u") });
    assert_eq!(discards(&actions), ["unlisted"]);
    assert!(table.upload(&id("u")).is_none());

    // A retried identical Complete answers the same success; another list does not.
    assert_eq!(table.complete(&id("u"), &request, t(5)), Ok(Completion::AlreadyCompleted(done.clone())));
    assert!(table.poll_action().is_none());
    let other = CompleteRequest::new(request.parts[..2].to_vec());
    assert_eq!(table.complete(&id("u"), &other, t(5)), Err(MultipartError::NoSuchUpload));
    // Until the grace period is over.
    assert_eq!(table.poll_timeout(), Some(t(4).saturating_add(Config::default().completed_grace)));
    table.handle_timeout(t(4).saturating_add(Config::default().completed_grace));
    assert_eq!(table.complete(&id("u"), &request, t(5)), Err(MultipartError::NoSuchUpload));
    assert_eq!(table.poll_timeout(), None);
}

#[test]
fn composite_checksums_and_declared_mismatches() {
    let mut table = small_table();
    let mut new = new_upload("bkt", "obj");
    new.checksum_algorithm = Some(ChecksumAlgorithm::Sha256);
    table.create(id("u"), new, t(0)).unwrap();
    for (n, d) in [(1u32, &b"aaaa"[..]), (2, b"bb")] {
        let ticket = table.begin_part(&id("u"), pn(n), None, t(1)).unwrap();
        table.finish_part(ticket, receipt(&format!("s{n}"), d, Some(ChecksumAlgorithm::Sha256)), t(1)).unwrap();
    }
    drain(&mut table);
    let parts = vec![listed(1, b"aaaa"), listed(2, b"bb")];
    let mut request = CompleteRequest::new(parts.clone());
    request.expected_size = Some(7);
    assert_eq!(
        table.complete(&id("u"), &request, t(2)),
        Err(MultipartError::ObjectSizeMismatch { declared: 7, actual: 6 })
    );
    let mut request = CompleteRequest::new(parts.clone());
    request.expected_checksum = Some(checksum(ChecksumAlgorithm::Sha256, b"aaaabb"));
    assert_eq!(table.complete(&id("u"), &request, t(2)), Err(MultipartError::ObjectChecksumMismatch));
    let mut wrong_part = parts.clone();
    wrong_part[0].checksum = Some(checksum(ChecksumAlgorithm::Sha256, b"nope"));
    assert!(matches!(
        table.complete(&id("u"), &CompleteRequest::new(wrong_part), t(2)),
        Err(MultipartError::InvalidPart { number: 1, reason: InvalidPartReason::ChecksumMismatch })
    ));

    table.complete(&id("u"), &CompleteRequest::new(parts), t(2)).unwrap();
    let Some(Action::Assemble(assembly)) = table.poll_action() else { panic!() };
    let object = assembly.checksum.clone().unwrap();
    let cat: Vec<u8> = [checksum(ChecksumAlgorithm::Sha256, b"aaaa"), checksum(ChecksumAlgorithm::Sha256, b"bb")]
        .iter()
        .flat_map(|c| c.digest().to_vec())
        .collect();
    assert_eq!(object.checksum, checksum(ChecksumAlgorithm::Sha256, &cat));
    assert_eq!(object.kind, ChecksumType::Composite);
    assert!(object.header_value().ends_with("-2"));
}

#[test]
fn part_checksums_must_be_of_the_uploads_algorithm() {
    let mut table = small_table();
    let mut new = new_upload("bkt", "obj");
    new.checksum_algorithm = Some(ChecksumAlgorithm::Crc32);
    table.create(id("u"), new, t(0)).unwrap();
    drain(&mut table);
    let ticket = table.begin_part(&id("u"), pn(1), None, t(1)).unwrap();
    let err = table.finish_part(ticket, receipt("a", b"data", None), t(1)).unwrap_err();
    assert_eq!(err, MultipartError::PartChecksumMissing { expected: ChecksumAlgorithm::Crc32 });
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    let ticket = table.begin_part(&id("u"), pn(1), None, t(1)).unwrap();
    let err = table.finish_part(ticket, receipt("b", b"data", Some(ChecksumAlgorithm::Crc32c)), t(1)).unwrap_err();
    assert!(matches!(err, MultipartError::PartChecksumMismatch { .. }));
    assert_eq!(discards(&drain(&mut table)), ["a", "b"]);
    assert_eq!(table.upload(&id("u")).unwrap().part_count(), 0);

    // Types the algorithm does not allow, or a type without an algorithm, are refused.
    for (alg, ty) in [
        (Some(ChecksumAlgorithm::Crc64Nvme), Some(ChecksumType::Composite)),
        (Some(ChecksumAlgorithm::Sha1), Some(ChecksumType::FullObject)),
        (None, Some(ChecksumType::Composite)),
    ] {
        let mut new = new_upload("bkt", "obj");
        new.checksum_algorithm = alg;
        new.checksum_type = ty;
        assert_eq!(table.create(id("bad"), new, t(0)), Err(MultipartError::InvalidChecksumType));
    }
    let mut new = new_upload("bkt", "obj");
    new.checksum_algorithm = Some(ChecksumAlgorithm::Crc64Nvme);
    table.create(id("nvme"), new, t(0)).unwrap();
    let mode = table.upload(&id("nvme")).unwrap().checksum().unwrap();
    assert_eq!(mode.kind, ChecksumType::FullObject, "CRC64NVME defaults to FULL_OBJECT");
}

#[test]
fn while_completing_parts_aborts_and_second_completes_are_refused() {
    let mut table = small_table();
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    upload_part(&mut table, "u", 1, "p1", b"1111");
    let straggler = table.begin_part(&id("u"), pn(2), None, t(1)).unwrap();
    drain(&mut table);
    let request = CompleteRequest::new(vec![listed(1, b"1111")]);
    table.complete(&id("u"), &request, t(2)).unwrap();
    drain(&mut table);
    assert_eq!(table.upload(&id("u")).unwrap().state(), UploadState::Completing);

    assert_eq!(table.complete(&id("u"), &request, t(3)), Err(MultipartError::Completing));
    assert_eq!(MultipartError::Completing.code().status(), 409);
    assert_eq!(table.begin_part(&id("u"), pn(3), None, t(3)), Err(MultipartError::Completing));
    assert_eq!(table.abort(&id("u")), Err(MultipartError::Completing));
    let err = table.finish_part(straggler, receipt("late", b"2222", None), t(3)).unwrap_err();
    assert_eq!(err, MultipartError::Completing);
    assert_eq!(discards(&drain(&mut table)), ["late"]);

    // The assembly fails: the upload is open again with its parts, and a retry works.
    assert_eq!(table.handle_assembled(&id("u"), Err(AssembleFailed("disk full".into())), t(4)), Ok(None));
    assert!(table.poll_action().is_none(), "a failed assembly discards nothing");
    assert_eq!(table.upload(&id("u")).unwrap().state(), UploadState::Open);
    assert_eq!(table.upload(&id("u")).unwrap().part_count(), 1);
    assert_eq!(table.complete(&id("u"), &request, t(5)), Ok(Completion::Assembling));
    assert!(matches!(table.poll_action(), Some(Action::Assemble(_))));
}

#[test]
fn api_misuse_is_reported_not_panicked() {
    let mut table = small_table();
    let mut other = small_table();
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    other.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    drain(&mut table);
    assert_eq!(table.create(id("u"), new_upload("bkt", "k"), t(0)), Err(ApiMisuse::DuplicateUploadId.into()));
    let foreign: PartTicket = other.begin_part(&id("u"), pn(1), None, t(0)).unwrap();
    // `other` issued attempt 0 too, so spend this table's attempt 0 first.
    let own = table.begin_part(&id("u"), pn(1), None, t(0)).unwrap();
    table.abandon_part(own).unwrap();
    let err = table.finish_part(foreign, receipt("x", b"xxxx", None), t(1)).unwrap_err();
    assert_eq!(err, MultipartError::ApiMisuse(ApiMisuse::UnknownTicket));
    assert_eq!(err.code(), ErrorCode::InternalError);
    assert_eq!(discards(&drain(&mut table)), ["x"]);
    assert_eq!(table.handle_assembled(&id("u"), Ok(()), t(1)), Err(ApiMisuse::NotAssembling.into()));
    assert_eq!(table.handle_assembled(&id("nope"), Ok(()), t(1)), Err(ApiMisuse::NotAssembling.into()));
}

#[test]
fn limits_come_from_the_dialect_and_can_be_overridden() {
    let mut table = UploadTable::new(Config::default());
    let mut new = new_upload("bkt", "k");
    new.dialect = Dialect::Oss;
    table.create(id("oss"), new, t(0)).unwrap();
    table.create(id("aws"), new_upload("bkt", "k"), t(0)).unwrap();
    drain(&mut table);
    assert_eq!(table.upload(&id("oss")).unwrap().limits().min_part_size, 100 * 1024);
    let too_big = 5 * 1024 * 1024 * 1024 + 1;
    assert_eq!(
        table.begin_part(&id("aws"), pn(1), Some(too_big), t(0)),
        Err(MultipartError::PartTooLarge { size: too_big, max: too_big - 1 })
    );

    // 1 MiB parts: fine for OSS (100 KiB minimum), too small for AWS (5 MiB).
    let chunk = vec![7u8; MIB];
    for upload in ["oss", "aws"] {
        upload_part(&mut table, upload, 1, &format!("{upload}1"), &chunk);
        upload_part(&mut table, upload, 2, &format!("{upload}2"), b"tail");
    }
    let request = CompleteRequest::new(vec![listed(1, &chunk), listed(2, b"tail")]);
    assert_eq!(table.complete(&id("oss"), &request, t(1)), Ok(Completion::Assembling));
    assert!(matches!(table.complete(&id("aws"), &request, t(1)), Err(MultipartError::EntityTooSmall { .. })));

    let limits = Limits { max_parts: 3, max_part_size: 10, ..Limits::permissive() };
    let mut table = UploadTable::new(Config::default().with_limits(Dialect::Aws, limits));
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    assert_eq!(
        table.begin_part(&id("u"), pn(4), None, t(0)),
        Err(MultipartError::PartNumberTooHigh { number: 4, max: 3 })
    );
    let ticket = table.begin_part(&id("u"), pn(3), None, t(0)).unwrap();
    assert!(matches!(
        table.finish_part(ticket, receipt("big", &[0; 11], None), t(0)),
        Err(MultipartError::PartTooLarge { size: 11, max: 10 })
    ));
}

#[test]
fn expiry_follows_bucket_rules_and_the_default() {
    let config = Config::default().with_default_expiry(Some(Duration::from_secs(100)));
    let mut table = UploadTable::new(config.with_all_limits(Limits::permissive()));
    table.create(id("a"), new_upload("default", "k"), t(0)).unwrap();
    table.create(id("b"), new_upload("ruled", "k"), t(1_000)).unwrap();
    upload_part(&mut table, "a", 1, "a1", b"x");
    drain(&mut table);
    assert_eq!(table.poll_timeout(), Some(t(100_000)));
    table.set_bucket_expiry(&bucket("ruled"), Some(Duration::from_secs(10)));
    assert_eq!(table.poll_timeout(), Some(t(11_000)));
    assert_eq!(table.upload(&id("b")).unwrap().deadline(), Some(t(11_000)));

    table.handle_timeout(t(10_999));
    assert!(table.upload(&id("b")).is_some());
    table.handle_timeout(t(11_000));
    assert!(table.upload(&id("b")).is_none());
    assert_eq!(drain(&mut table), [Action::DeleteUpload { upload_id: id("b") }]);

    // A completing upload is not expired; if its assembly fails it is rescheduled.
    table.complete(&id("a"), &CompleteRequest::new(vec![listed(1, b"x")]), t(50_000)).unwrap();
    drain(&mut table);
    assert_eq!(table.poll_timeout(), None);
    table.handle_timeout(t(200_000));
    assert!(table.upload(&id("a")).is_some());
    table.handle_assembled(&id("a"), Err(AssembleFailed("io".into())), t(200_000)).unwrap();
    assert_eq!(table.poll_timeout(), Some(t(100_000)));
    table.handle_timeout(t(200_000));
    assert!(table.upload(&id("a")).is_none());
    let actions = drain(&mut table);
    assert_eq!(actions[0], Action::DeleteUpload { upload_id: id("a") });
    assert_eq!(discards(&actions), ["a1"]);

    // Clearing a rule falls back to the default.
    table.create(id("c"), new_upload("ruled", "k"), t(0)).unwrap();
    assert_eq!(table.upload(&id("c")).unwrap().deadline(), Some(t(10_000)));
    table.set_bucket_expiry(&bucket("ruled"), None);
    assert_eq!(table.upload(&id("c")).unwrap().deadline(), Some(t(100_000)));
}

#[test]
fn restore_rebuilds_uploads_from_persisted_records() {
    let mut table = small_table();
    let mut new = new_upload("bkt", "k");
    new.checksum_algorithm = Some(ChecksumAlgorithm::Crc32);
    new.owner = "alice".into();
    table.create(id("u"), new, t(0)).unwrap();
    for (n, d) in [(1u32, &b"1111"[..]), (2, b"22")] {
        let ticket = table.begin_part(&id("u"), pn(n), None, t(1)).unwrap();
        table.finish_part(ticket, receipt(&format!("s{n}"), d, Some(ChecksumAlgorithm::Crc32)), t(2)).unwrap();
    }

    // Persist the actions the way an embedder would: one record, part records beside it.
    let mut record: Option<UploadRecord> = None;
    let mut parts = Vec::new();
    for action in drain(&mut table) {
        match action {
            Action::PersistUpload { record: r, .. } => {
                record = Some(serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap())
            }
            Action::PersistPart { part, .. } => {
                parts.push(serde_json::from_str(&serde_json::to_string(&part).unwrap()).unwrap())
            }
            other => panic!("{other:?}"),
        }
    }
    let mut record = record.unwrap();
    for p in parts {
        record.apply_part(p);
    }
    assert_eq!(record, table.records()[0]);

    let mut restored = small_table();
    restored.restore([record.clone()]).unwrap();
    let upload = restored.upload(&id("u")).unwrap();
    assert_eq!((upload.owner(), upload.part_count()), ("alice", 2));
    // New attempts never reuse an attempt number a persisted part was staged under.
    let ticket = restored.begin_part(&id("u"), pn(3), None, t(3)).unwrap();
    assert!(record.parts.iter().all(|p| p.attempt < ticket.attempt()));
    restored.abandon_part(ticket).unwrap();
    let request = CompleteRequest::new(vec![listed(1, b"1111"), listed(2, b"22")]);
    assert_eq!(restored.complete(&id("u"), &request, t(4)), Ok(Completion::Assembling));

    // Corrupt or duplicate records are refused as a whole.
    let mut fresh = small_table();
    let mut corrupt = record.clone();
    corrupt.upload_id = id("v");
    corrupt.parts[0].checksum = None;
    assert!(matches!(fresh.restore([record.clone(), corrupt]), Err(MultipartError::CorruptRecord { .. })));
    assert!(fresh.is_empty(), "nothing restored from a refused batch");
    assert!(matches!(fresh.restore([record.clone(), record.clone()]), Err(MultipartError::CorruptRecord { .. })));
    assert!(fresh.is_empty());
    let mut exhausted = record;
    exhausted.parts[0].attempt = u64::MAX;
    assert!(matches!(fresh.restore([exhausted]), Err(MultipartError::CorruptRecord { .. })));
}

#[test]
fn lookup_binds_an_upload_to_its_bucket_and_key() {
    let mut table = small_table();
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    assert!(table.lookup(&bucket("bkt"), &key("k"), &id("u")).is_ok());
    assert_eq!(table.lookup(&bucket("bkt"), &key("other"), &id("u")).unwrap_err(), MultipartError::NoSuchUpload);
    assert_eq!(table.lookup(&bucket("bkz"), &key("k"), &id("u")).unwrap_err(), MultipartError::NoSuchUpload);
}

#[test]
fn a_ticket_of_an_aborted_upload_never_lands_in_a_new_upload_with_its_id() {
    let mut table = small_table();
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    let stale = table.begin_part(&id("u"), pn(1), None, t(1)).unwrap();
    table.abort(&id("u")).unwrap();
    table.create(id("u"), new_upload("bkt", "k"), t(2)).unwrap();
    drain(&mut table);
    let err = table.finish_part(stale, receipt("stale", b"old bytes", None), t(3)).unwrap_err();
    assert_eq!(err, MultipartError::NoSuchUpload);
    assert_eq!(discards(&drain(&mut table)), ["stale"]);
    assert_eq!(table.upload(&id("u")).unwrap().part_count(), 0);
}

#[test]
fn a_parts_own_text_is_persisted_restored_and_handed_to_the_assembly() {
    let mut table = small_table();
    table.create(id("u"), new_upload("bkt", "k"), t(0)).unwrap();
    let mut record = match &drain(&mut table)[..] {
        [Action::PersistUpload { record, .. }] => (**record).clone(),
        other => panic!("{other:?}"),
    };
    for (n, meta) in [(1, "key-of-part-1"), (2, "")] {
        let ticket = table.begin_part(&id("u"), pn(n), None, t(1)).unwrap();
        let mut r = receipt(&format!("s{n}"), b"0123456789", None);
        r.meta = meta.to_owned();
        table.finish_part(ticket, r, t(2)).unwrap();
    }
    for action in drain(&mut table) {
        let Action::PersistPart { part, .. } = action else { panic!("{action:?}") };
        record.apply_part(part);
    }
    // The record survives serialization (an empty text is left out) and a restart.
    let json = serde_json::to_string(&record).unwrap();
    assert_eq!(json.matches("\"meta\"").count(), 1, "{json}");
    let record: UploadRecord = serde_json::from_str(&json).unwrap();
    let mut restored = small_table();
    restored.restore([record]).unwrap();
    let request = CompleteRequest::new(vec![listed(1, b"0123456789"), listed(2, b"0123456789")]);
    assert_eq!(restored.complete(&id("u"), &request, t(3)), Ok(Completion::Assembling));
    let actions = drain(&mut restored);
    let [Action::Assemble(assembly)] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(assembly.parts.iter().map(|p| p.meta.as_str()).collect::<Vec<_>>(), ["key-of-part-1", ""]);
}
