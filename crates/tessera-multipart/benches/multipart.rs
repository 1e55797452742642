//! Criterion benches of the upload table's hot paths at the 10 000-part limit.
//!
//! `cargo bench -p tessera-multipart --bench multipart`
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::time::Duration;

use criterion::{BatchSize, Criterion, black_box, criterion_group, criterion_main};
use tessera_multipart::{
    Action, AssembleFailed, CompletePart, CompleteRequest, Config, Crc, CrcCombiner, NewUpload, PartReceipt, StageRef,
    Timestamp, UploadTable,
};
use tessera_proto::{
    BucketName, Checksum, ChecksumAlgorithm, ChecksumType, Dialect, ETag, ObjectKey, PartNumber, UploadId,
};

const PARTS: u32 = 10_000;
const PART_SIZE: u64 = 8 * 1024 * 1024;

fn md5_of(n: u32) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[..4].copy_from_slice(&n.to_be_bytes());
    m[15] = 0x5A;
    m
}

/// A table holding one upload of 10 000 parts (digests made up: only lengths and digests
/// ever reach the table), and the Complete request listing them all.
fn table_with_parts(checksum: Option<ChecksumAlgorithm>) -> (UploadTable, UploadId, CompleteRequest) {
    let mut table = UploadTable::new(Config::default());
    let id = UploadId::new("bench-upload").unwrap();
    let mut new =
        NewUpload::new(BucketName::new("bench").unwrap(), ObjectKey::new("big/object").unwrap(), Dialect::Aws);
    new.checksum_algorithm = checksum;
    new.checksum_type = checksum.map(|_| ChecksumType::FullObject);
    table.create(id.clone(), new, Timestamp(0)).unwrap();
    let mut parts = Vec::new();
    for n in 1..=PARTS {
        let number = PartNumber::new(n).unwrap();
        let ticket = table.begin_part(&id, number, Some(PART_SIZE), Timestamp(1)).unwrap();
        let receipt = PartReceipt {
            stage: StageRef::new(format!("staging/bench-upload/{n}/{}", ticket.attempt())),
            size: PART_SIZE,
            md5: md5_of(n),
            checksum: checksum.map(|a| Checksum::new(a, &n.to_be_bytes()).unwrap()),
            crc64ecma: u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            meta: String::new(),
        };
        table.finish_part(ticket, receipt, Timestamp(2)).unwrap();
        parts.push(CompletePart { number, etag: ETag::from_md5(&md5_of(n)), checksum: None });
    }
    while table.poll_action().is_some() {}
    (table, id, CompleteRequest::new(parts))
}

fn complete(c: &mut Criterion) {
    for (name, checksum) in
        [("complete_10000_parts", None), ("complete_10000_parts_crc32_full_object", Some(ChecksumAlgorithm::Crc32))]
    {
        let (mut table, id, request) = table_with_parts(checksum);
        c.bench_function(name, |b| {
            b.iter(|| {
                table.complete(&id, black_box(&request), Timestamp(3)).unwrap();
                let Some(Action::Assemble(assembly)) = table.poll_action() else { panic!("no assembly") };
                black_box(&assembly);
                // Fail the assembly so the upload is open again for the next iteration.
                table.handle_assembled(&id, Err(AssembleFailed(String::new())), Timestamp(4)).unwrap();
            })
        });
    }
}

fn list_parts(c: &mut Criterion) {
    let (table, id, _) = table_with_parts(None);
    c.bench_function("list_parts_page_1000_of_10000", |b| {
        b.iter(|| black_box(table.list_parts(&id, black_box(Some(5000)), Some(1000)).unwrap()))
    });
}

fn parts(c: &mut Criterion) {
    let (mut table, id, _) = table_with_parts(None);
    let number = PartNumber::new(77).unwrap();
    c.bench_function("begin_finish_part_in_10000_part_upload", |b| {
        b.iter_batched(
            || (),
            |()| {
                let ticket = table.begin_part(&id, number, Some(PART_SIZE), Timestamp(5)).unwrap();
                let receipt = PartReceipt {
                    stage: StageRef::new("staging/again"),
                    size: PART_SIZE,
                    md5: md5_of(77),
                    checksum: None,
                    crc64ecma: 1,
                    meta: String::new(),
                };
                table.finish_part(ticket, receipt, Timestamp(6)).unwrap();
                while let Some(a) = table.poll_action() {
                    black_box(a);
                }
            },
            BatchSize::SmallInput,
        )
    });
}

fn crc_combine(c: &mut Criterion) {
    c.bench_function("crc64_combine_10000_equal_parts", |b| {
        b.iter(|| {
            let mut combiner = CrcCombiner::new(Crc::Crc64Xz);
            for n in 0..u64::from(PARTS) {
                combiner.push(n, black_box(PART_SIZE));
            }
            black_box(combiner.value())
        })
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = complete, list_parts, parts, crc_combine }
criterion_main!(benches);
