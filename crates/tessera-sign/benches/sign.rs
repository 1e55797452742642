#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Throughput of the hot paths: verifying a SigV4 header, decoding aws-chunked bodies, and
//! one-pass body digests on 16 MiB. Figures, not pass/fail.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use tessera_proto::ChecksumAlgorithm;
use tessera_sign::{
    BodyDigests, ChunkLimits, ChunkedEncoder, DigestSet, RequestHead, ResourceView, Secret, Signer, SigningScheme,
    parse, verify,
};

const NOW: u64 = 1_746_100_800;
const MIB16: usize = 16 * 1024 * 1024;

fn body() -> Vec<u8> {
    (0..MIB16).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3]).collect()
}

fn sigv4_request(
    payload: &str,
    decoded: Option<usize>,
    trailer: Option<ChecksumAlgorithm>,
) -> (HeaderMap, tessera_sign::Signed) {
    let signer = Signer::new(
        "FAKEAKIDEXAMPLE00001",
        Secret::new("fake/Secret+Key=ForGoldenVectors0000000"),
        SigningScheme::SigV4 { region: "us-east-1".into(), service: "s3".into() },
    );
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("s3.mock.local:9000"));
    headers.insert("x-amz-content-sha256", HeaderValue::from_str(payload).unwrap());
    headers.insert("x-amz-meta-author", HeaderValue::from_static("Alice  Smith"));
    if let Some(n) = decoded {
        headers.insert("content-encoding", HeaderValue::from_static("aws-chunked"));
        headers.insert("x-amz-decoded-content-length", HeaderValue::from(n));
    }
    if let Some(alg) = trailer {
        headers.insert("x-amz-trailer", HeaderValue::from_static(alg.header_name()));
    }
    let signed = signer.sign("PUT", TARGET, &mut headers, &ResourceView::path_style("examplebucket"), NOW).unwrap();
    (headers, signed)
}

const TARGET: &str = "/examplebucket/a%20b/c%2Bd%25e?partNumber=2&uploadId=UPLOADID0123456789abcdef.-_~";

fn verify_sigv4(c: &mut Criterion) {
    let (headers, _) = sigv4_request("UNSIGNED-PAYLOAD", None, None);
    let secret = Secret::new("fake/Secret+Key=ForGoldenVectors0000000");
    let res = ResourceView::path_style("examplebucket");
    c.bench_function("verify SigV4 header (parse + verify)", |b| {
        b.iter(|| {
            let head = RequestHead::new("PUT", TARGET, &headers);
            let auth = parse(&head).unwrap().unwrap();
            verify(&auth, &head, &res, &secret, NOW).unwrap()
        })
    });
}

fn chunked(c: &mut Criterion) {
    let data = body();
    let mut g = c.benchmark_group("aws-chunked decode 16 MiB");
    g.throughput(Throughput::Bytes(data.len() as u64)).sample_size(10);
    for (name, payload, chunk) in [
        ("signed, 64 KiB chunks", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 64 * 1024),
        ("unsigned trailer crc32, 64 KiB chunks", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", 64 * 1024),
    ] {
        let signed_mode = payload.starts_with("STREAMING-AWS4");
        let trailer = (!signed_mode).then_some(ChecksumAlgorithm::Crc32);
        let (headers, signed) = sigv4_request(payload, Some(data.len()), trailer);
        let mut enc = ChunkedEncoder::new(if signed_mode { signed.chunk_signer.clone() } else { None }, trailer, false);
        let mut encoded = Vec::with_capacity(data.len() + 4096);
        for piece in data.chunks(chunk) {
            enc.chunk(piece, &mut encoded);
        }
        enc.finish(&mut encoded);
        let head = RequestHead::new("PUT", TARGET, &headers);
        let auth = parse(&head).unwrap().unwrap();
        let secret = Secret::new("fake/Secret+Key=ForGoldenVectors0000000");
        let check = verify(&auth, &head, &ResourceView::path_style("examplebucket"), &secret, NOW).unwrap().body;
        g.bench_with_input(BenchmarkId::from_parameter(name), &encoded, |b, encoded| {
            b.iter(|| {
                let mut dec = check.chunked_decoder(ChunkLimits::default()).unwrap();
                let mut n = 0usize;
                // 256 KiB reads, as a socket would deliver them.
                for piece in encoded.chunks(256 * 1024) {
                    dec.decode_all(piece, |d| n += d.len()).unwrap();
                }
                dec.finish().unwrap();
                n
            })
        });
    }
    g.finish();
}

fn digests(c: &mut Criterion) {
    let data = body();
    let mut g = c.benchmark_group("digests 16 MiB");
    g.throughput(Throughput::Bytes(data.len() as u64)).sample_size(10);
    let sets = [
        ("MD5", DigestSet { md5: true, ..DigestSet::NONE }),
        ("MD5+CRC64ECMA", DigestSet { md5: true, crc64ecma: true, ..DigestSet::NONE }),
        ("CRC64ECMA", DigestSet { crc64ecma: true, ..DigestSet::NONE }),
        ("SHA256", DigestSet { sha256: true, ..DigestSet::NONE }),
        ("MD5+SHA256+CRC32", DigestSet { md5: true, sha256: true, crc32: true, ..DigestSet::NONE }),
    ];
    for (name, set) in sets {
        g.bench_with_input(BenchmarkId::from_parameter(name), &data, |b, data| {
            b.iter(|| {
                let mut d = BodyDigests::new(set);
                for piece in data.chunks(256 * 1024) {
                    d.update(piece);
                }
                d.finish()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    targets = verify_sigv4, chunked, digests
}
criterion_main!(benches);
