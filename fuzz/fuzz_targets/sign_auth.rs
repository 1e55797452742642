//! Every Authorization-header and presigned-query parser, then verification, on arbitrary
//! request heads: nothing may panic, whatever the bytes.
#![no_main]

use tessera_sign::http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tessera_sign::{BodyCheck, Payload, RequestHead, ResourceView, Secret, parse, verify};

const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let target = lines.next().unwrap_or("/");
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_bytes(value.trim().as_bytes())) {
                headers.append(n, v);
            }
        }
    }
    let method = METHODS[usize::from(selector) % METHODS.len()];
    let head = RequestHead::new(method, target, &headers);
    let _ = BodyCheck::declared(&head, Payload::Unsigned);
    let Ok(Some(auth)) = parse(&head) else { return };
    let _ = (auth.scheme(), auth.dialect(), auth.access_key(), auth.is_presigned(), auth.region());
    let resource = match selector % 3 {
        0 => ResourceView::path_style("examplebucket"),
        1 => ResourceView::virtual_host("examplebucket"),
        _ => ResourceView::service(),
    };
    let now = 1_746_100_800 + u64::from(selector) * 97;
    if let Ok(v) = verify(&auth, &head, &resource, &Secret::new("fake/Secret+Key=ForGoldenVectors0000000"), now) {
        let _ = v.body.digests_needed();
    }
});
