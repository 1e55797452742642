//! The aws-chunked decoder: the vectors' bodies at every split, framing errors, limits, and the
//! invariant that chunk metadata never reaches object data.

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use tessera_proto::ChecksumAlgorithm;
use tessera_sign::{
    BodyCheck, BodyDigests, ChunkLimits, ChunkSigner, ChunkedDecoder, ChunkedEncoder, Payload, RequestHead,
    ResourceView, Secret, SignError, Signer, SigningScheme, parse, verify,
};

const NOW: u64 = 1_746_100_800;

/// A SigV4 streaming request signed by our client and verified by our server: returns the
/// server's body check and the client's chunk signer.
fn streaming(
    payload: &str,
    decoded_len: usize,
    trailer: Option<ChecksumAlgorithm>,
) -> (BodyCheck, Option<ChunkSigner>) {
    let signer = Signer::new(
        "AKID",
        Secret::new("secret"),
        SigningScheme::SigV4 { region: "us-east-1".into(), service: "s3".into() },
    );
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("s3.local:9000"));
    headers.insert("content-encoding", HeaderValue::from_static("aws-chunked"));
    headers.insert("x-amz-content-sha256", HeaderValue::from_str(payload).unwrap());
    headers.insert("x-amz-decoded-content-length", HeaderValue::from(decoded_len));
    if let Some(alg) = trailer {
        headers.insert("x-amz-trailer", HeaderValue::from_static(alg.header_name()));
    }
    let target = "/bucket/key?partNumber=1&uploadId=abc";
    let signed = signer.sign("PUT", target, &mut headers, &ResourceView::path_style("bucket"), NOW).unwrap();
    let head = RequestHead::new("PUT", target, &headers);
    let auth = parse(&head).unwrap().unwrap();
    let v = verify(&auth, &head, &ResourceView::path_style("bucket"), &Secret::new("secret"), NOW).unwrap();
    (v.body, signed.chunk_signer)
}

fn encode(
    data: &[u8],
    chunk: usize,
    signer: Option<ChunkSigner>,
    trailer: Option<ChecksumAlgorithm>,
    signed_trailer: bool,
) -> Vec<u8> {
    let mut enc = ChunkedEncoder::new(signer, trailer, signed_trailer);
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        enc.chunk(piece, &mut out);
    }
    enc.finish(&mut out);
    out
}

/// Decodes `body` fed in pieces cut at `cuts`; returns the data or the first error.
fn decode(check: &BodyCheck, body: &[u8], cuts: &[usize]) -> Result<Vec<u8>, SignError> {
    let mut dec = check.chunked_decoder(ChunkLimits::default()).expect("aws-chunked");
    let mut out = Vec::new();
    let mut start = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    points.sort_unstable();
    points.push(body.len());
    for end in points {
        if end < start {
            continue;
        }
        dec.decode_all(&body[start..end], |d| out.extend_from_slice(d))?;
        start = end;
    }
    dec.finish()?;
    Ok(out)
}

/// botocore's https upload-part body (aws_sigv4.json), decoded at every single split point
/// and byte by byte.
#[test]
fn botocore_unsigned_trailer_body_at_every_split() {
    let data = "golden-vector part body\n".repeat(8);
    let body = format!("c0\r\n{data}\r\n0\r\nx-amz-checksum-crc32:HoI+Cg==\r\n\r\n");
    let (check, _) = streaming("STREAMING-UNSIGNED-PAYLOAD-TRAILER", 192, Some(ChecksumAlgorithm::Crc32));
    assert_eq!(check.payload, Payload::UnsignedTrailer);
    for cut in 0..=body.len() {
        assert_eq!(decode(&check, body.as_bytes(), &[cut]).unwrap(), data.as_bytes(), "split at {cut}");
    }
    let mut dec = check.chunked_decoder(ChunkLimits::default()).unwrap();
    let mut out = Vec::new();
    for b in body.as_bytes().chunks(1) {
        dec.decode_all(b, |d| out.extend_from_slice(d)).unwrap();
    }
    let summary = dec.finish().unwrap();
    assert_eq!(out, data.as_bytes());
    assert_eq!(summary.decoded_length, 192);
    assert_eq!(summary.trailer_checksum.unwrap().to_base64(), "HoI+Cg==");
}

#[test]
fn trailer_checksum_must_match() {
    let data = "golden-vector part body\n".repeat(8);
    let body = format!("c0\r\n{data}\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
    let (check, _) = streaming("STREAMING-UNSIGNED-PAYLOAD-TRAILER", 192, Some(ChecksumAlgorithm::Crc32));
    assert_eq!(decode(&check, body.as_bytes(), &[]), Err(SignError::BadDigest("x-amz-checksum-crc32")));
    // A trailer other than the announced one is refused.
    let other = format!("c0\r\n{data}\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n");
    assert!(matches!(decode(&check, other.as_bytes(), &[]), Err(SignError::MalformedChunk(_))));
    // A missing trailer is refused.
    let none = format!("c0\r\n{data}\r\n0\r\n\r\n");
    assert!(matches!(decode(&check, none.as_bytes(), &[]), Err(SignError::MalformedChunk(_))));
}

#[test]
fn signed_chunks_round_trip_and_tamper() {
    let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (check, signer) = streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data.len(), None);
    let body = encode(&data, 8192, signer.clone(), None, false);
    assert_eq!(body.len() as u64, ChunkedEncoder::encoded_length(data.len() as u64, 8192, true));
    assert_eq!(decode(&check, &body, &[1, 100, 8300, 50_000]).unwrap(), data);
    // Flip one data byte in the third chunk: its signature fails.
    let mut bad = body.clone();
    let pos = body.len() / 3;
    bad[pos] ^= 0x20;
    assert!(decode(&check, &bad, &[]).is_err());
    // Reordering two equal-size chunks breaks the chain.
    let c1 = encode(&data[..8192], 8192, signer.clone(), None, false);
    let c1_len = c1.len() - "0;chunk-signature=".len() - 64 - 4;
    let mut swapped = body[c1_len..2 * c1_len].to_vec();
    swapped.extend_from_slice(&body[..c1_len]);
    swapped.extend_from_slice(&body[2 * c1_len..]);
    assert_eq!(decode(&check, &swapped, &[]), Err(SignError::SignatureDoesNotMatch));
    // Unsigned framing where signatures are required.
    let unsigned = encode(&data, 8192, None, None, false);
    assert!(matches!(decode(&check, &unsigned, &[]), Err(SignError::MalformedChunk(_))));
}

#[test]
fn signed_trailer_round_trip() {
    let data = b"hello trailer".repeat(1000);
    let alg = Some(ChecksumAlgorithm::Crc32c);
    let (check, signer) = streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data.len(), alg);
    let body = encode(&data, 4096, signer.clone(), alg, true);
    assert_eq!(decode(&check, &body, &[5, 4099]).unwrap(), data);
    // Change the trailer signature's last hex digit.
    let text = String::from_utf8(body.clone()).unwrap();
    let i = text.find("x-amz-trailer-signature:").unwrap() + "x-amz-trailer-signature:".len() + 63;
    let mut bad = body.clone();
    bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
    assert_eq!(decode(&check, &bad, &[]), Err(SignError::SignatureDoesNotMatch));
}

#[test]
fn framing_errors_are_refused() {
    let (check, _) = streaming("STREAMING-UNSIGNED-PAYLOAD-TRAILER", 3, Some(ChecksumAlgorithm::Crc32));
    let crc = {
        let mut d = BodyDigests::new(tessera_sign::DigestSet::NONE.with(ChecksumAlgorithm::Crc32));
        d.update(b"abc");
        d.finish().checksum(ChecksumAlgorithm::Crc32).unwrap().to_base64()
    };
    let good = format!("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n");
    assert_eq!(decode(&check, good.as_bytes(), &[]).unwrap(), b"abc");
    let cases: Vec<(String, &str)> = vec![
        (format!("3\r\nabcX\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n"), "no CRLF after data"),
        (format!("g\r\nabc\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n"), "bad hex"),
        (format!("\r\nabc\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n"), "empty size"),
        (format!("3\nabc\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n"), "bare LF"),
        (format!("3;ext=1\r\nabc\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n"), "extension on unsigned"),
        (format!("{}3\r\nabc\r\n0\r\n\r\n", "0".repeat(300)), "oversize line"),
        (format!("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\nextra"), "data after end"),
        (format!("4\r\nabcd\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n"), "longer than declared"),
        (format!("3\r\nabc\r\n0\r\nx-amz-checksum-crc32{crc}\r\n\r\n"), "trailer without colon"),
    ];
    for (body, why) in cases {
        let r = decode(&check, body.as_bytes(), &[]);
        assert!(matches!(r, Err(SignError::MalformedChunk(_))), "{why}: {r:?}");
    }
    // Truncation anywhere is an incomplete body, never success.
    for cut in 0..good.len() {
        let mut dec = check.chunked_decoder(ChunkLimits::default()).unwrap();
        dec.decode_all(&good.as_bytes()[..cut], |_| {}).unwrap();
        assert_eq!(dec.finish(), Err(SignError::IncompleteBody), "cut at {cut}");
    }
    // Shorter than x-amz-decoded-content-length.
    let (long, _) = streaming("STREAMING-UNSIGNED-PAYLOAD-TRAILER", 4, Some(ChecksumAlgorithm::Crc32));
    assert_eq!(decode(&long, good.as_bytes(), &[]), Err(SignError::IncompleteBody));
}

#[test]
fn chunk_size_limit() {
    let (check, _) = streaming("STREAMING-UNSIGNED-PAYLOAD-TRAILER", 1 << 30, Some(ChecksumAlgorithm::Crc32));
    let mut dec = check.chunked_decoder(ChunkLimits { max_chunk_size: 1024 }).unwrap();
    assert_eq!(dec.decode(b"401\r\n").map(|(n, d)| (n, d.len())), Err(SignError::ChunkTooLarge));
    let mut dec = check.chunked_decoder(ChunkLimits { max_chunk_size: 1024 }).unwrap();
    assert!(dec.decode(b"400\r\n").is_ok());
    let mut dec = check.chunked_decoder(ChunkLimits::default()).unwrap();
    assert!(dec.decode(b"ffffffffffffffffff\r\n").is_err(), "sizes beyond 64 bits");
}

/// Data that looks like framing passes through as data, and nothing else does.
#[test]
fn framing_lookalikes_stay_data() {
    let data = b"0\r\n\r\n3;chunk-signature=abc\r\nx-amz-checksum-crc32:AAAAAA==\r\n".repeat(50);
    let alg = Some(ChecksumAlgorithm::Crc32);
    let (check, _) = streaming("STREAMING-UNSIGNED-PAYLOAD-TRAILER", data.len(), alg);
    let body = encode(&data, 7, None, alg, false);
    assert_eq!(decode(&check, &body, &[3, 9, 1000]).unwrap(), data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the data, chunk size and input splits, the decoder returns exactly the data:
    /// no size line, signature or trailer byte ever leaks into it.
    #[test]
    fn decoded_equals_data(
        data in proptest::collection::vec(any::<u8>(), 0..20_000),
        chunk in 1usize..5000,
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        signed in any::<bool>(),
    ) {
        let (payload, alg) = if signed {
            ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", None)
        } else {
            ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", Some(ChecksumAlgorithm::Crc32c))
        };
        let (check, signer) = streaming(payload, data.len(), alg);
        let body = encode(&data, chunk, if signed { signer } else { None }, alg, false);
        prop_assert_eq!(decode(&check, &body, &cuts).unwrap(), data);
    }

    /// Arbitrary bytes never panic the decoder, whatever the split.
    #[test]
    fn arbitrary_input_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600), cuts in proptest::collection::vec(any::<usize>(), 0..4)) {
        let (check, _) = streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 100, None);
        let _ = decode(&check, &body, &cuts);
    }
}

#[test]
fn decoder_without_signer_or_trailer_accepts_plain_unsigned_chunks() {
    let mut dec = ChunkedDecoder::new(None, None, Some(3), ChunkLimits::default());
    let mut out = Vec::new();
    dec.decode_all(b"3\r\nabc\r\n0\r\n\r\n", |d| out.extend_from_slice(d)).unwrap();
    assert_eq!(dec.finish().unwrap().decoded_length, 3);
    assert_eq!(out, b"abc");
}
