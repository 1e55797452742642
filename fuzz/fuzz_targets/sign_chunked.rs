//! The aws-chunked decoder on arbitrary bodies cut at arbitrary points, in each of its modes:
//! it may refuse, never panic, and never hand out more bytes than it was given.
#![no_main]

use tessera_sign::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tessera_sign::{BodyCheck, ChunkLimits, RequestHead, ResourceView, Secret, Signer, SigningScheme, parse, verify};

const TARGET: &str = "/bucket/key?partNumber=1&uploadId=abc";

fn check(payload: &'static str, trailer: bool) -> BodyCheck {
    let signer = Signer::new("AKID", Secret::new("secret"), SigningScheme::SigV4 { region: "us-east-1".into(), service: "s3".into() });
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("s3.local"));
    headers.insert("x-amz-content-sha256", HeaderValue::from_static(payload));
    headers.insert("x-amz-decoded-content-length", HeaderValue::from_static("64"));
    if trailer {
        headers.insert("x-amz-trailer", HeaderValue::from_static("x-amz-checksum-crc32"));
    }
    let res = ResourceView::path_style("bucket");
    signer.sign("PUT", TARGET, &mut headers, &res, 1_746_100_800).expect("sign");
    let head = RequestHead::new("PUT", TARGET, &headers);
    let auth = parse(&head).expect("parse").expect("signed");
    verify(&auth, &head, &res, &Secret::new("secret"), 1_746_100_800).expect("verify").body
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Some((&cut_seed, body)) = rest.split_first() else { return };
    let check = match mode % 3 {
        0 => check("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", false),
        1 => check("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", true),
        _ => check("STREAMING-UNSIGNED-PAYLOAD-TRAILER", true),
    };
    let limits = ChunkLimits { max_chunk_size: 1 + u64::from(mode) * 8 };
    let Some(mut dec) = check.chunked_decoder(limits) else { return };
    let step = usize::from(cut_seed).max(1);
    let mut out = 0usize;
    for piece in body.chunks(step) {
        if dec.decode_all(piece, |d| out += d.len()).is_err() {
            return;
        }
    }
    assert!(out <= body.len());
    let _ = dec.finish();
});
