//! Property tests: sign-then-verify round trips in every scheme, for random keys (unicode
//! included), query parameters and metadata headers; any change to a signed component fails.

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use tessera_sign::{
    BodyDigests, DigestSet, RequestHead, ResourceView, Sdk, Secret, SignError, Signer, SigningScheme, parse, verify,
};

const NOW: u64 = 1_746_100_800;

fn schemes() -> Vec<(SigningScheme, Sdk, &'static str)> {
    let v4 = SigningScheme::SigV4 { region: "us-east-1".into(), service: "s3".into() };
    vec![
        (v4.clone(), Sdk::Botocore, "x-amz-meta-"),
        (v4, Sdk::EsdkObs, "x-amz-meta-"),
        (SigningScheme::SigV2, Sdk::Botocore, "x-amz-meta-"),
        (SigningScheme::SigV2, Sdk::EsdkObs, "x-amz-meta-"),
        (SigningScheme::Obs, Sdk::EsdkObs, "x-obs-meta-"),
        (SigningScheme::Cos { expire_secs: 10_000 }, Sdk::Botocore, "x-cos-meta-"),
        (SigningScheme::OssV1, Sdk::Oss2, "x-oss-meta-"),
        (SigningScheme::OssV4 { region: "cn-hangzhou".into(), product: "oss".into() }, Sdk::Oss2, "x-oss-meta-"),
        (
            SigningScheme::OssV4 { region: "cn-hangzhou".into(), product: "oss".into() },
            Sdk::AlibabaOssV2,
            "x-oss-meta-",
        ),
        (SigningScheme::Ks3, Sdk::Botocore, "x-kss-meta-"),
    ]
}

/// Percent-encodes like the SDKs' key quoting: unreserved and `/` stay.
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Clone, Debug)]
struct Case {
    key: String,
    virtual_host: bool,
    params: Vec<(String, String)>,
    meta: Vec<(String, String)>,
    secret: String,
}

fn case() -> impl Strategy<Value = Case> {
    let key = prop_oneof![
        "[a-zA-Z0-9 ./_~!$&'()*,;=:@+%-]{1,40}",
        "\\PC{1,20}",
        Just("文件/ファイル/ü é.txt".to_owned()),
        Just("a//b/".to_owned()),
    ];
    let param_name = prop_oneof![
        Just("uploadId"),
        Just("partNumber"),
        Just("prefix"),
        Just("max-parts"),
        Just("response-content-type"),
        Just("encoding-type"),
    ];
    let params = proptest::collection::btree_map(param_name, "[a-zA-Z0-9 /._~+-]{0,12}", 0..4);
    let meta = proptest::collection::btree_map("[a-z][a-z0-9-]{0,10}", "[!-~]([ -~]{0,20}[!-~])?", 0..4);
    (key, any::<bool>(), params, meta, "[!-~]{1,40}").prop_map(|(key, virtual_host, params, meta, secret)| Case {
        key,
        virtual_host,
        params: params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        meta: meta.into_iter().collect(),
        secret,
    })
}

impl Case {
    fn target(&self, uploadid_always: bool) -> String {
        let path = if self.virtual_host {
            format!("/{}", encode(&self.key, true))
        } else {
            format!("/bucket/{}", encode(&self.key, true))
        };
        let mut q: Vec<String> = self.params.iter().map(|(k, v)| format!("{k}={}", encode(v, false))).collect();
        if uploadid_always && !self.params.iter().any(|(k, _)| k == "uploadId") {
            q.push("uploadId=abc123".to_owned());
        }
        if q.is_empty() { path } else { format!("{path}?{}", q.join("&")) }
    }

    fn resource(&self) -> ResourceView<'static> {
        if self.virtual_host { ResourceView::virtual_host("bucket") } else { ResourceView::path_style("bucket") }
    }

    fn host(&self) -> &'static str {
        if self.virtual_host { "bucket.s3.local:9000" } else { "s3.local:9000" }
    }
}

fn check(
    method: &str,
    target: &str,
    headers: &HeaderMap,
    res: &ResourceView<'_>,
    secret: &str,
    now: u64,
) -> Result<(), SignError> {
    let head = RequestHead::new(method, target, headers);
    let auth = parse(&head)?.ok_or(SignError::ApiMisuse("anonymous"))?;
    let v = verify(&auth, &head, res, &Secret::new(secret), now)?;
    v.body.check(&BodyDigests::new(v.body.digests_needed()).finish())
}

fn mutate_uploadid(target: &str) -> String {
    target.replacen("uploadId=", "uploadId=Z", 1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn header_signatures_round_trip_and_resist_mutation(c in case()) {
        for (scheme, sdk, meta_prefix) in schemes() {
            let signer = Signer::new("AKIDEXAMPLE", Secret::new(c.secret.clone()), scheme.clone()).with_sdk(sdk);
            let target = c.target(true);
            let mut headers = HeaderMap::new();
            headers.insert("host", HeaderValue::from_static(c.host()));
            headers.insert("content-type", HeaderValue::from_static("application/octet-stream"));
            for (k, v) in &c.meta {
                headers.insert(
                    HeaderName::from_bytes(format!("{meta_prefix}{k}").as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            let res = c.resource();
            signer.sign("PUT", &target, &mut headers, &res, NOW).unwrap();
            let ctx = format!("{scheme:?}/{sdk:?} target {target}");
            prop_assert_eq!(check("PUT", &target, &headers, &res, &c.secret, NOW), Ok(()), "{}", ctx);
            prop_assert!(check("PUT", &target, &headers, &res, &format!("{}x", c.secret), NOW).is_err(), "secret {}", ctx);
            prop_assert!(check("POST", &target, &headers, &res, &c.secret, NOW).is_err(), "method {}", ctx);
            let (path, query) = target.split_once('?').unwrap();
            let moved = format!("{path}X?{query}");
            prop_assert!(check("PUT", &moved, &headers, &res, &c.secret, NOW).is_err(), "path {}", ctx);
            prop_assert!(check("PUT", &mutate_uploadid(&target), &headers, &res, &c.secret, NOW).is_err(), "query {}", ctx);
            let mut h2 = headers.clone();
            h2.insert("content-type", HeaderValue::from_static("text/plain"));
            prop_assert!(check("PUT", &target, &h2, &res, &c.secret, NOW).is_err(), "content-type {}", ctx);
            if let Some((k, v)) = c.meta.first() {
                let mut h3 = headers.clone();
                h3.insert(
                    HeaderName::from_bytes(format!("{meta_prefix}{k}").as_bytes()).unwrap(),
                    HeaderValue::from_str(&format!("{v}X")).unwrap(),
                );
                prop_assert!(check("PUT", &target, &h3, &res, &c.secret, NOW).is_err(), "meta {}", ctx);
            }
            prop_assert!(check("PUT", &target, &headers, &res, &c.secret, NOW + 20_000).is_err(), "late {}", ctx);
            // SigV4, COS and OSS V4 sign every parameter; the HMAC-SHA1 family only sub-resources.
            let signs_all = matches!(scheme, SigningScheme::SigV4 { .. } | SigningScheme::Cos { .. } | SigningScheme::OssV4 { .. });
            if let (true, Some((k, _))) = (signs_all, c.params.first()) {
                let moved = target.replacen(&format!("{k}="), &format!("{k}=Z"), 1);
                prop_assert!(check("PUT", &moved, &headers, &res, &c.secret, NOW).is_err(), "param {} {}", k, ctx);
                let added = format!("{target}&extra=1");
                prop_assert!(check("PUT", &added, &headers, &res, &c.secret, NOW).is_err(), "added param {}", ctx);
            }
        }
    }

    #[test]
    fn presigned_urls_round_trip_and_resist_mutation(c in case()) {
        for (scheme, sdk, _) in schemes() {
            let signer = Signer::new("AKIDEXAMPLE", Secret::new(c.secret.clone()), scheme.clone()).with_sdk(sdk);
            let res = c.resource();
            let target = signer.presign("GET", &c.target(true), c.host(), &res, NOW, 3600).unwrap();
            let mut headers = HeaderMap::new();
            headers.insert("host", HeaderValue::from_static(c.host()));
            let ctx = format!("{scheme:?}/{sdk:?} target {target}");
            prop_assert_eq!(check("GET", &target, &headers, &res, &c.secret, NOW + 10), Ok(()), "{}", ctx);
            prop_assert!(check("GET", &target, &headers, &res, &format!("{}x", c.secret), NOW).is_err(), "secret {}", ctx);
            prop_assert!(check("PUT", &target, &headers, &res, &c.secret, NOW).is_err(), "method {}", ctx);
            prop_assert!(check("GET", &mutate_uploadid(&target), &headers, &res, &c.secret, NOW).is_err(), "query {}", ctx);
            let (path, query) = target.split_once('?').unwrap();
            prop_assert!(check("GET", &format!("{path}X?{query}"), &headers, &res, &c.secret, NOW).is_err(), "path {}", ctx);
            prop_assert!(matches!(
                check("GET", &target, &headers, &res, &c.secret, NOW + 3601),
                Err(SignError::Expired)
            ), "expiry {}", ctx);
        }
    }

    /// Garbage after every scheme's opening words never panics a parser or the verifier.
    #[test]
    fn arbitrary_authorization_never_panics(
        word in prop_oneof![
            Just("AWS4-HMAC-SHA256 "), Just("OSS4-HMAC-SHA256 "), Just("q-sign-algorithm=sha1&"),
            Just("AWS "), Just("OBS "), Just("KSS "), Just("OSS "), Just("")
        ],
        rest in "[ -~]{0,200}",
        query in "[ -~]{0,200}",
    ) {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("b.s3.local"));
        if let (Ok(v), false) = (HeaderValue::from_str(&format!("{word}{rest}")), word.is_empty()) {
            headers.insert("authorization", v);
        }
        let target = format!("/b/k?{}", query.replace(['#', ' '], ""));
        let head = RequestHead::new("GET", &target, &headers);
        if let Ok(Some(auth)) = parse(&head) {
            let _ = verify(&auth, &head, &ResourceView::path_style("b"), &Secret::new("s"), NOW);
        }
    }

    /// Digests do not depend on how the body is split.
    #[test]
    fn digests_are_split_invariant(data in proptest::collection::vec(any::<u8>(), 0..5000), cut in any::<usize>()) {
        let all = DigestSet { md5: true, sha256: true, sha1: true, crc32: true, crc32c: true, crc64nvme: true, crc64ecma: true };
        let mut whole = BodyDigests::new(all);
        whole.update(&data);
        let mut split = BodyDigests::new(all);
        let cut = cut % (data.len() + 1);
        split.update(&data[..cut]);
        split.update(&data[cut..]);
        prop_assert_eq!(whole.finish(), split.finish());
    }
}

#[test]
fn payload_hash_is_enforced() {
    let signer = Signer::new("AK", Secret::new("s"), SigningScheme::SigV4 { region: "r".into(), service: "s3".into() });
    let body = b"payload";
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("h"));
    let hash = {
        let mut d = BodyDigests::new(DigestSet { sha256: true, ..DigestSet::NONE });
        d.update(body);
        hex::encode(d.finish().sha256.unwrap())
    };
    headers.insert("x-amz-content-sha256", HeaderValue::from_str(&hash).unwrap());
    headers.insert("content-md5", HeaderValue::from_static("Mhw89IbtUJFk7eweGYH+yA=="));
    signer.sign("PUT", "/b/k", &mut headers, &ResourceView::path_style("b"), NOW).unwrap();
    let head = RequestHead::new("PUT", "/b/k", &headers);
    let auth = parse(&head).unwrap().unwrap();
    let v = verify(&auth, &head, &ResourceView::path_style("b"), &Secret::new("s"), NOW).unwrap();
    let digest_of = |b: &[u8]| {
        let mut d = BodyDigests::new(v.body.digests_needed());
        d.update(b);
        d.finish()
    };
    assert_eq!(v.body.check(&digest_of(body)), Ok(()));
    assert_eq!(v.body.check(&digest_of(b"payloaD")), Err(SignError::XAmzContentSha256Mismatch));
    // Skew in both directions.
    assert!(matches!(
        verify(&auth, &head, &ResourceView::path_style("b"), &Secret::new("s"), NOW + 901),
        Err(SignError::RequestTimeTooSkewed { .. })
    ));
    assert!(matches!(
        verify(&auth, &head, &ResourceView::path_style("b"), &Secret::new("s"), NOW - 901),
        Err(SignError::RequestTimeTooSkewed { .. })
    ));
    assert!(verify(&auth, &head, &ResourceView::path_style("b"), &Secret::new("s"), NOW + 899).is_ok());
}

#[test]
fn declared_digests_are_checked() {
    let mut headers = HeaderMap::new();
    headers.insert("content-md5", HeaderValue::from_static("bad"));
    let head = RequestHead::new("PUT", "/b/k", &headers);
    let r = tessera_sign::BodyCheck::declared(&head, tessera_sign::Payload::Unsigned);
    assert_eq!(r, Err(SignError::InvalidDigest("Content-MD5")));

    let mut headers = HeaderMap::new();
    headers.insert("x-oss-hash-crc64ecma", HeaderValue::from_static("11051210869376104954")); // CRC-64/XZ("123456789")
    headers.insert("content-md5", HeaderValue::from_static("JfnnlDI7RTiF9RgfG2JNCw=="));
    headers.insert("x-amz-checksum-crc32c", HeaderValue::from_static("4waSgw=="));
    let head = RequestHead::new("PUT", "/b/k", &headers);
    let check = tessera_sign::BodyCheck::declared(&head, tessera_sign::Payload::Unsigned).unwrap();
    let set = check.digests_needed();
    assert!(set.md5 && set.crc64ecma && set.crc32c && !set.sha256 && !set.crc32);
    let mut d = BodyDigests::new(set);
    d.update(b"123456789");
    assert_eq!(check.check(&d.finish()), Ok(()));
    let mut d = BodyDigests::new(set);
    d.update(b"123456780");
    assert!(matches!(check.check(&d.finish()), Err(SignError::BadDigest(_))));
    // Forgetting to compute a needed digest is the caller's bug, reported as such.
    assert!(matches!(check.check(&BodyDigests::new(DigestSet::NONE).finish()), Err(SignError::ApiMisuse(_))));

    let mut headers = HeaderMap::new();
    headers.insert("x-cos-hash-crc64ecma", HeaderValue::from_static("-1"));
    let head = RequestHead::new("PUT", "/b/k", &headers);
    assert!(tessera_sign::BodyCheck::declared(&head, tessera_sign::Payload::Unsigned).is_err());
}

#[test]
fn malformed_authorization_is_typed() {
    let cases = [
        ("AWS4-HMAC-SHA256 Credential=a/b/c/d/e", SignError::AuthorizationHeaderMalformed("malformed Credential")),
        ("Bearer x", SignError::AuthorizationHeaderMalformed("unknown scheme")),
        ("AWS nocolon", SignError::AuthorizationHeaderMalformed("expected ACCESSKEY:SIGNATURE")),
    ];
    for (value, want) in cases {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static(value));
        let head = RequestHead::new("GET", "/", &headers);
        let got = parse(&head);
        assert!(got.is_err(), "{value}");
        if value.starts_with("Bearer") || value.starts_with("AWS ") {
            assert_eq!(got, Err(want));
        }
    }
    let headers = HeaderMap::new();
    let head = RequestHead::new("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00", &headers);
    assert!(matches!(parse(&head), Err(SignError::AuthorizationQueryParametersError(_))));
    let head = RequestHead::new("GET", "/b/k?prefix=a", &headers);
    assert_eq!(parse(&head), Ok(None));
}
