//! Properties over random request heads, and the vendor spellings of every header family.

use http::{HeaderName, HeaderValue, Method, Uri};
use proptest::prelude::*;
use tessera_http::{parse_operation, route};
use tessera_proto::ops::{MetadataDirective, Operation};
use tessera_proto::values::{Permission, SseRequest};
use tessera_proto::{Dialect, ErrorCode};

use crate::support::{parse, routing};

const KEY_B64: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const KEY_MD5: &str = "cLyPS3KoaSFGi/joRB3OUQ==";

/// Header names a request may carry, in every vendor's spelling.
fn header_names() -> Vec<String> {
    let suffixes = [
        "acl",
        "object-acl",
        "grant-read",
        "grant-full-control",
        "storage-class",
        "meta-a",
        "meta-",
        "tagging",
        "server-side-encryption",
        "server-side-encryption-aws-kms-key-id",
        "server-side-encryption-customer-algorithm",
        "server-side-encryption-customer-key",
        "server-side-encryption-customer-key-MD5",
        "website-redirect-location",
        "copy-source",
        "copy-source-range",
        "copy-source-if-match",
        "copy-source-if-modified-since",
        "metadata-directive",
        "tagging-directive",
        "forbid-overwrite",
        "complete-all",
        "checksum-algorithm",
        "checksum-type",
        "sdk-checksum-algorithm",
        "checksum-crc32",
        "decoded-content-length",
        "content-sha256",
        "object-attributes",
        "max-parts",
        "trailer",
    ];
    let mut names: Vec<String> = ["x-amz-", "x-obs-", "x-cos-", "x-oss-", "x-kss-"]
        .iter()
        .flat_map(|p| suffixes.iter().map(move |s| format!("{p}{s}")))
        .collect();
    for plain in [
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "range",
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "expires",
        "cache-control",
        "content-disposition",
    ] {
        names.push(plain.to_owned());
    }
    names
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        prop_oneof![
            Just("AES256"),
            Just("aws:kms"),
            Just("bytes=0-9"),
            Just("bytes=-5"),
            Just("aws-chunked"),
            Just("chunked"),
            Just("/src/k?versionId=null"),
            Just("STANDARD"),
            Just("private"),
            Just("id=\"1\""),
            Just("CRC32"),
            Just("COMPOSITE"),
            Just("10"),
            Just("6442450944"),
            Just("-1"),
            Just("*"),
            Just("Thu, 01 May 2025 12:00:00 GMT"),
            Just("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            Just("true"),
        ]
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("examplebucket".to_owned()),
        Just("..".to_owned()),
        Just("%2F".to_owned()),
        Just("%zz".to_owned()),
        Just("%E6%96%87".to_owned()),
        "[a-zA-Z0-9._~+-]{0,12}",
    ];
    proptest::collection::vec(segment, 0..5).prop_map(|s| format!("/{}", s.join("/")))
}

fn query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("uploads"),
        Just("uploadId"),
        Just("partNumber"),
        Just("tagging"),
        Just("acl"),
        Just("location"),
        Just("lifecycle"),
        Just("encryption"),
        Just("delete"),
        Just("versions"),
        Just("list-type"),
        Just("attributes"),
        Just("max-keys"),
        Just("max-parts"),
        Just("max-uploads"),
        Just("part-number-marker"),
        Just("encoding-type"),
        Just("versionId"),
        Just("apiversion"),
        Just("policy"),
        Just("response-content-type"),
        Just("prefix"),
    ];
    let value = prop_oneof![
        Just(String::new()),
        Just("2".to_owned()),
        Just("url".to_owned()),
        Just("-1".to_owned()),
        Just("UPLOADID".to_owned()),
        "[a-zA-Z0-9%+=.-]{0,10}",
    ];
    proptest::collection::vec((name, proptest::option::of(value)), 0..5).prop_map(|params| {
        params
            .into_iter()
            .map(|(n, v)| match v {
                Some(v) => format!("{n}={v}"),
                None => n.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::PUT),
        Just(Method::POST),
        Just(Method::DELETE),
        Just(Method::HEAD),
        Just(Method::PATCH),
        Just(Method::OPTIONS),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the head, routing and binding answer an operation or a client error: never a
    /// panic, never a 500.
    #[test]
    fn parse_operation_never_panics(
        method in method(),
        path in path(),
        query in query(),
        host in prop_oneof![Just("127.0.0.1:9000"), Just("examplebucket.s3.mock.local"), Just("b.cos.ap-guangzhou.myqcloud.com"), Just("")],
        picks in proptest::collection::vec((any::<prop::sample::Index>(), header_value()), 0..12),
    ) {
        let names = header_names();
        let mut headers = http::HeaderMap::new();
        if let Ok(h) = HeaderValue::from_str(host) {
            headers.insert(http::header::HOST, h);
        }
        for (index, value) in picks {
            let name = index.get(&names);
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(&value)) {
                headers.append(n, v);
            }
        }
        let target = if query.is_empty() { path } else { format!("{path}?{query}") };
        let Ok(uri) = target.parse::<Uri>() else { return Ok(()) };
        let route = match route(&uri, &headers, &routing()) {
            Ok(r) => r,
            Err(e) => {
                prop_assert!((400..500).contains(&e.code.status()), "{e}");
                return Ok(());
            }
        };
        for dialect in Dialect::ALL {
            if let Err(e) = parse_operation(&method, &headers, &route, dialect) {
                let status = e.code.status();
                prop_assert!((400..500).contains(&status) || status == 501, "{dialect} {e}");
            }
        }
    }
}

#[test]
fn every_header_family_in_every_spelling() {
    let cases: [(Dialect, &str, &str); 5] = [
        (Dialect::Aws, "x-amz-", "x-amz-acl"),
        (Dialect::Obs, "x-obs-", "x-obs-acl"),
        (Dialect::Cos, "x-cos-", "x-cos-acl"),
        (Dialect::Oss, "x-oss-", "x-oss-object-acl"),
        (Dialect::Ks3, "x-kss-", "x-kss-acl"),
    ];
    for (dialect, p, acl) in cases {
        let n = |s: &str| format!("{p}{s}");
        let class = dialect.spec().storage_classes.get(1).copied().unwrap_or("STANDARD");
        let head = [
            (n("meta-Author"), "Alice  Smith".to_owned()),
            (n("storage-class"), class.to_owned()),
            (acl.to_owned(), "public-read".to_owned()),
            (n("tagging"), "k1=v1&k2=v%202".to_owned()),
            (n("server-side-encryption-customer-algorithm"), "AES256".to_owned()),
            (n("server-side-encryption-customer-key"), KEY_B64.to_owned()),
            (n("server-side-encryption-customer-key-MD5"), KEY_MD5.to_owned()),
            (n("website-redirect-location"), "/index.html".to_owned()),
            ("content-type".to_owned(), "image/jpeg".to_owned()),
            ("cache-control".to_owned(), "no-cache".to_owned()),
            ("content-disposition".to_owned(), "attachment; filename=\"ü.txt\"".to_owned()),
            ("content-encoding".to_owned(), "gzip,aws-chunked".to_owned()),
            ("expires".to_owned(), "Thu, 01 May 2025 12:00:00 GMT".to_owned()),
            ("x-oss-forbid-overwrite".to_owned(), "true".to_owned()),
        ];
        let pairs: Vec<(&str, &str)> = head.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let op =
            parse(dialect, "POST", "/examplebucket/k?uploads", &pairs).unwrap_or_else(|e| panic!("{dialect}: {e}"));
        let Operation::CreateMultipartUpload { attributes: a, forbid_overwrite, .. } = op else {
            panic!("{dialect}: {op:?}")
        };
        assert_eq!(a.metadata.get("author"), Some(&b"Alice  Smith"[..]), "{dialect}");
        assert_eq!(a.storage_class.map(|c| c.as_str()), Some(class), "{dialect}");
        assert_eq!(a.acl.canned.map(|c| c.as_str()), Some("public-read"), "{dialect}");
        assert_eq!(a.tagging.as_ref().and_then(|t| t.get("k2")), Some("v 2"), "{dialect}");
        assert!(matches!(a.sse, Some(SseRequest::Customer(_))), "{dialect}: {:?}", a.sse);
        assert_eq!(a.website_redirect.as_ref().map(|w| w.as_str()), Some("/index.html"), "{dialect}");
        assert_eq!(a.content.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(a.content.cache_control.as_deref(), Some("no-cache"));
        assert_eq!(a.content.content_disposition.as_deref(), Some("attachment; filename=\"ü.txt\""));
        assert_eq!(a.content.content_encoding.as_deref(), Some("gzip"), "aws-chunked is stripped");
        assert_eq!(a.content.expires.as_deref(), Some("Thu, 01 May 2025 12:00:00 GMT"));
        assert_eq!(forbid_overwrite, dialect == Dialect::Oss, "{dialect}");
    }
}

#[test]
fn grants_kms_and_the_obs_aws_spellings() {
    let op = parse(
        Dialect::Cos,
        "PUT",
        "/examplebucket/k?acl",
        &[("x-cos-grant-read", "id=\"100000000001\",id=\"100000000002\""), ("x-cos-grant-full-control", "id=\"1\"")],
    )
    .expect("grants");
    let Operation::PutObjectAcl { acl, .. } = op else { panic!("{op:?}") };
    assert_eq!(acl.grants.len(), 2);
    assert_eq!(acl.grants.iter().find(|(p, _)| *p == Permission::Read).map(|(_, g)| g.len()), Some(2));

    let op = parse(
        Dialect::Oss,
        "PUT",
        "/examplebucket/k",
        &[
            ("content-length", "3"),
            ("x-oss-server-side-encryption", "KMS"),
            ("x-oss-server-side-encryption-key-id", "kid"),
        ],
    )
    .expect("kms");
    let Operation::PutObject { attributes, .. } = op else { panic!("{op:?}") };
    assert_eq!(attributes.sse, Some(SseRequest::Kms { key_id: Some("kid".into()) }));

    // KS3's documents spell the storage class header both ways.
    let op = parse(Dialect::Ks3, "POST", "/examplebucket/k?uploads", &[("x-kss-storageClass", "STANDARD_IA")])
        .expect("ks3 storageClass");
    let Operation::CreateMultipartUpload { attributes, .. } = op else { panic!("{op:?}") };
    assert_eq!(attributes.storage_class.map(|c| c.as_str()), Some("STANDARD_IA"));

    // OBS in its AWS-compatible spelling.
    let op = parse(
        Dialect::Obs,
        "POST",
        "/examplebucket/k?uploads",
        &[
            ("x-amz-meta-author", "a"),
            ("x-amz-storage-class", "WARM"),
            ("x-amz-acl", "private"),
            ("x-amz-server-side-encryption", "kms"),
        ],
    )
    .expect("obs x-amz");
    let Operation::CreateMultipartUpload { attributes, .. } = op else { panic!("{op:?}") };
    assert_eq!(attributes.metadata.get("author"), Some(&b"a"[..]));
    assert_eq!(attributes.storage_class.map(|c| c.as_str()), Some("WARM"));
    assert_eq!(attributes.acl.canned.map(|c| c.as_str()), Some("private"));
    assert_eq!(attributes.sse, Some(SseRequest::Kms { key_id: None }));
}

#[test]
fn copies_and_conditions() {
    let op = parse(
        Dialect::Aws,
        "PUT",
        "/examplebucket/k?partNumber=3&uploadId=UPLOADID",
        &[
            ("x-amz-copy-source", "/src-bucket/a%20b?versionId=null"),
            ("x-amz-copy-source-range", "bytes=0-5242879"),
            ("x-amz-copy-source-if-match", "\"abc\""),
            ("x-amz-copy-source-if-unmodified-since", "Thu, 01 May 2025 12:00:00 GMT"),
            ("x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-copy-source-server-side-encryption-customer-key", KEY_B64),
            ("x-amz-copy-source-server-side-encryption-customer-key-MD5", KEY_MD5),
        ],
    )
    .expect("upload part copy");
    let Operation::UploadPartCopy { part_number, source, source_range, .. } = op else { panic!("{op:?}") };
    assert_eq!(part_number.get(), 3);
    assert_eq!((source.bucket.as_str(), source.key.as_str()), ("src-bucket", "a b"));
    assert_eq!(source.version_id.as_deref(), Some("null"));
    assert_eq!(source_range, Some((0, 5_242_879)));
    assert_eq!(source.conditions.if_match.map(|l| l.len()), Some(1));
    assert_eq!(source.conditions.if_unmodified_since, Some(1_746_100_800));
    assert!(matches!(source.sse_customer, Some(SseRequest::Customer(_))));

    let op = parse(
        Dialect::Oss,
        "PUT",
        "/examplebucket/k",
        &[
            ("x-oss-copy-source", "/src-bucket/k"),
            ("x-oss-metadata-directive", "REPLACE"),
            ("x-oss-tagging-directive", "Replace"),
            ("x-oss-forbid-overwrite", "true"),
        ],
    )
    .expect("copy object");
    let Operation::CopyObject { metadata_directive, replace_tagging, forbid_overwrite, .. } = op else {
        panic!("{op:?}")
    };
    assert_eq!(metadata_directive, MetadataDirective::Replace);
    assert!(replace_tagging && forbid_overwrite);

    let op = parse(
        Dialect::Oss,
        "POST",
        "/examplebucket/k?uploadId=UPLOADID&encoding-type=url",
        &[("if-none-match", "*"), ("x-oss-forbid-overwrite", "true"), ("x-oss-complete-all", "yes")],
    )
    .expect("complete");
    let Operation::CompleteMultipartUpload { conditions, forbid_overwrite, complete_all, encoding_url, .. } = op else {
        panic!("{op:?}")
    };
    assert!(forbid_overwrite && complete_all && encoding_url);
    assert_eq!(conditions.if_none_match.map(|l| l.len()), Some(1));
}

#[test]
fn bucket_and_service_operations() {
    let expect = |method: &str, uri: &str, want: &str| {
        let op = parse(Dialect::Aws, method, uri, &[]).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(crate::support::name(&op), want, "{method} {uri}");
        op
    };
    expect("GET", "/", "ListBuckets");
    expect("PUT", "/examplebucket", "CreateBucket");
    expect("HEAD", "/examplebucket", "HeadBucket");
    expect("DELETE", "/examplebucket", "DeleteBucket");
    expect("GET", "/examplebucket?location", "GetBucketLocation");
    expect("GET", "/examplebucket?acl", "GetBucketAcl");
    expect("PUT", "/examplebucket?acl", "PutBucketAcl");
    expect("GET", "/examplebucket?lifecycle", "GetBucketLifecycle");
    expect("PUT", "/examplebucket?lifecycle", "PutBucketLifecycle");
    expect("DELETE", "/examplebucket?lifecycle", "DeleteBucketLifecycle");
    expect("GET", "/examplebucket?encryption", "GetBucketEncryption");
    expect("PUT", "/examplebucket?encryption", "PutBucketEncryption");
    expect("DELETE", "/examplebucket?encryption", "DeleteBucketEncryption");
    expect("POST", "/examplebucket?delete", "DeleteObjects");
    expect("GET", "/examplebucket?versions&key-marker=a", "ListObjectVersions");
    expect("GET", "/examplebucket/k?tagging", "GetObjectTagging");
    expect("PUT", "/examplebucket/k?tagging", "PutObjectTagging");
    expect("DELETE", "/examplebucket/k?tagging", "DeleteObjectTagging");
    expect("GET", "/examplebucket/k?acl", "GetObjectAcl");
    expect("DELETE", "/examplebucket/k", "DeleteObject");
    expect("DELETE", "/examplebucket/k?versionId=null", "DeleteObject");
    expect("HEAD", "/examplebucket/k?partNumber=1", "HeadObject");
    let op = expect(
        "GET",
        "/examplebucket?list-type=2&prefix=a%2F&delimiter=%2F&max-keys=5&start-after=a&continuation-token=t&fetch-owner=true&encoding-type=url",
        "ListObjects",
    );
    let Operation::ListObjects { listing, start_after, continuation_token, v2, fetch_owner, .. } = op else { panic!() };
    assert!(v2 && fetch_owner && listing.encoding_url);
    assert_eq!(
        (listing.prefix.as_deref(), listing.delimiter.as_deref(), listing.max_keys),
        (Some("a/"), Some("/"), Some(5))
    );
    assert_eq!((start_after.as_deref(), continuation_token.as_deref()), (Some("a"), Some("t")));
    let op = expect("GET", "/examplebucket?marker=m&max-keys=0", "ListObjects");
    let Operation::ListObjects { start_after, v2, listing, .. } = op else { panic!() };
    assert_eq!((start_after.as_deref(), v2, listing.max_keys), (Some("m"), false, Some(0)));
    let op = parse(
        Dialect::Aws,
        "GET",
        "/examplebucket/k?attributes",
        &[("x-amz-object-attributes", "ETag, ObjectParts,objectsize"), ("x-amz-max-parts", "5")],
    )
    .expect("attributes");
    let Operation::GetObjectAttributes { attributes, max_parts, .. } = op else { panic!() };
    assert_eq!(attributes, ["ETag", "ObjectParts", "ObjectSize"]);
    assert_eq!(max_parts, Some(5));
    let op = parse(Dialect::Cos, "PUT", "/examplebucket", &[("x-cos-acl", "public-read")]).expect("create");
    let Operation::CreateBucket { acl, location, .. } = op else { panic!() };
    assert_eq!((acl.canned.map(|c| c.as_str()), location), (Some("public-read"), None));
    let op = parse(Dialect::Oss, "PUT", "/examplebucket", &[("x-oss-acl", "public-read")]).expect("oss create");
    let Operation::CreateBucket { acl, .. } = op else { panic!() };
    assert_eq!(acl.canned.map(|c| c.as_str()), Some("public-read"), "OSS bucket ACL is x-oss-acl");
}

#[test]
fn get_object_parameters() {
    let op = parse(
        Dialect::Aws,
        "GET",
        "/examplebucket/k?response-content-type=text%2Fplain&response-cache-control=no-cache&response-expires=x&response-content-language=fr&response-content-encoding=br",
        &[("range", "bytes=10-"), ("if-match", "\"a\", \"b\""), ("if-modified-since", "Thu, 01 May 2025 12:00:00 GMT")],
    )
    .expect("get");
    let Operation::GetObject { range, overrides, conditions, .. } = op else { panic!("{op:?}") };
    assert_eq!(range, Some(tessera_proto::values::ByteRange::From(10)));
    assert_eq!(overrides.content_type.as_deref(), Some("text/plain"));
    assert_eq!(overrides.cache_control.as_deref(), Some("no-cache"));
    assert_eq!(overrides.content_language.as_deref(), Some("fr"));
    assert_eq!(overrides.content_encoding.as_deref(), Some("br"));
    assert_eq!(overrides.expires.as_deref(), Some("x"));
    assert_eq!(conditions.if_match.map(|l| l.len()), Some(2));
    assert_eq!(conditions.if_modified_since, Some(1_746_100_800));
    let op = parse(Dialect::Ks3, "GET", "/examplebucket/k?partNumber=2", &[]).expect("part get");
    let Operation::GetObject { part_number, .. } = op else { panic!() };
    assert_eq!(part_number.map(|p| p.get()), Some(2));
    // 2 KB of metadata exactly is fine; the limit is on names plus values.
    let value = "v".repeat(2048 - 4);
    let op = parse(Dialect::Aws, "PUT", "/examplebucket/k", &[("content-length", "1"), ("x-amz-meta-name", &value)]);
    assert!(op.is_ok(), "{op:?}");
    let err = parse(
        Dialect::Aws,
        "PUT",
        "/examplebucket/k",
        &[("content-length", "1"), ("x-amz-meta-name", &format!("{value}v"))],
    )
    .expect_err("2 KB + 1");
    assert_eq!(err.code, ErrorCode::MetadataTooLarge);
}
