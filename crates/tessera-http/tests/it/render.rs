//! Outputs rendered in every dialect: status, the headers each SDK needs (DIALECTS.md §8.1),
//! XML bodies with the dialect's namespace policy.

use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use tessera_http::{add_common_headers, render};
use tessera_proto::ops::{ContentHeaders, Document, ObjectHead, Output, ResponseOverrides, SseResponse};
use tessera_proto::values::{ResolvedRange, StorageClass, Timestamp, UserMetadata};
use tessera_proto::xml::{CompleteMultipartUploadResult, InitiateMultipartUploadResult, from_xml};
use tessera_proto::{Checksum, ChecksumAlgorithm, ChecksumType, Dialect, ETag};

const FROZEN: u64 = 1_746_100_800;
const CRC: u64 = 18_446_744_073_709_551_615;

fn etag() -> ETag {
    ETag::from_md5(&[0xAB; 16])
}

fn header<'a>(r: &'a Response<Bytes>, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().expect("ASCII header"))
}

fn initiate() -> Document {
    Document::from(InitiateMultipartUploadResult {
        bucket: "examplebucket".into(),
        key: "a b/c+d%e".into(),
        upload_id: "UPLOADID".into(),
        encoding_type: None,
    })
}

fn complete(crc: Option<String>) -> Document {
    Document::from(CompleteMultipartUploadResult {
        location: None,
        bucket: "examplebucket".into(),
        key: "photos/2025/cat.jpg".into(),
        etag: ETag::multipart([&[1u8; 16], &[2u8; 16]]),
        checksum_crc32: None,
        checksum_crc32c: None,
        checksum_crc64nvme: None,
        checksum_sha1: None,
        checksum_sha256: None,
        checksum_type: None,
        checksum_crc64ecma: crc,
        encoding_type: None,
    })
}

#[test]
fn result_xml_follows_the_namespace_policy() {
    for dialect in Dialect::ALL {
        let r = render(&Output::Xml(initiate()), dialect, &Method::POST);
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type"), Some("application/xml"));
        let text = std::str::from_utf8(r.body()).expect("UTF-8");
        let namespaced = text.contains("xmlns");
        match dialect {
            Dialect::Oss | Dialect::Cos => assert!(!namespaced, "{dialect}: {text}"),
            _ => assert!(namespaced, "{dialect}: {text}"),
        }
        let doc: InitiateMultipartUploadResult = from_xml(r.body()).expect("reads back");
        assert_eq!(doc.upload_id, "UPLOADID");
        assert_eq!(header(&r, "content-length"), Some(r.body().len().to_string().as_str()));
    }
}

#[test]
fn oss_multipart_results_never_carry_a_namespace() {
    for document in [initiate(), complete(None)] {
        let out = Output::Multipart { document, crc64ecma: Some(7), sse: None, checksum_algorithm: None };
        let r = render(&out, Dialect::Oss, &Method::POST);
        assert!(!std::str::from_utf8(r.body()).expect("UTF-8").contains("xmlns"));
        assert_eq!(header(&r, "x-oss-hash-crc64ecma"), Some("7"));
    }
}

#[test]
fn upload_part_carries_etag_and_the_vendor_crc64() {
    let checksum = Checksum::from_base64(ChecksumAlgorithm::Crc32, "HoI+Cg==").expect("crc32");
    for dialect in Dialect::ALL {
        let out = Output::PartWritten {
            etag: etag(),
            crc64ecma: CRC,
            checksum: Some(checksum.clone()),
            sse: None,
            document: None,
        };
        let r = render(&out, dialect, &Method::PUT);
        assert_eq!(r.status(), 200, "{dialect}");
        assert_eq!(header(&r, "etag"), Some("\"abababababababababababababababab\""), "{dialect}");
        assert_eq!(header(&r, "x-amz-checksum-crc32"), Some("HoI+Cg=="), "{dialect}");
        assert_eq!(header(&r, "content-length"), Some("0"), "{dialect}");
        match dialect.spec().crc64_header {
            Some(name) => assert_eq!(header(&r, name), Some("18446744073709551615"), "{dialect}"),
            None => assert!(!r.headers().keys().any(|k| k.as_str().contains("crc64")), "{dialect}"),
        }
    }
    // ks3sdk converts this header with int() after every part: it must be there.
    let out = Output::PartWritten { etag: etag(), crc64ecma: 42, checksum: None, sse: None, document: None };
    assert_eq!(header(&render(&out, Dialect::Ks3, &Method::PUT), "x-kss-checksum-crc64ecma"), Some("42"));
}

#[test]
fn ks3_complete_result_carries_the_crc64_element() {
    let out = Output::Multipart { document: complete(None), crc64ecma: Some(CRC), sse: None, checksum_algorithm: None };
    let r = render(&out, Dialect::Ks3, &Method::POST);
    let doc: CompleteMultipartUploadResult = from_xml(r.body()).expect("reads back");
    assert_eq!(doc.checksum_crc64ecma.as_deref(), Some("18446744073709551615"));
    assert_eq!(header(&r, "x-kss-checksum-crc64ecma"), Some("18446744073709551615"));
    // What the engine filled in is kept.
    let out = Output::Multipart {
        document: complete(Some("5".into())),
        crc64ecma: Some(5),
        sse: None,
        checksum_algorithm: None,
    };
    let doc: CompleteMultipartUploadResult =
        from_xml(render(&out, Dialect::Ks3, &Method::POST).body()).expect("reads back");
    assert_eq!(doc.checksum_crc64ecma.as_deref(), Some("5"));
}

#[test]
fn create_echoes_the_checksum_algorithm_and_sse() {
    let out = Output::Multipart {
        document: initiate(),
        crc64ecma: None,
        sse: Some(SseResponse::Kms { key_id: "key-1".into() }),
        checksum_algorithm: Some(ChecksumAlgorithm::Crc64Nvme),
    };
    let r = render(&out, Dialect::Aws, &Method::POST);
    assert_eq!(header(&r, "x-amz-checksum-algorithm"), Some("CRC64NVME"));
    assert_eq!(header(&r, "x-amz-server-side-encryption"), Some("aws:kms"));
    assert_eq!(header(&r, "x-amz-server-side-encryption-aws-kms-key-id"), Some("key-1"));
    let r = render(&out, Dialect::Cos, &Method::POST);
    assert_eq!(header(&r, "x-cos-server-side-encryption"), Some("cos/kms"));
    assert_eq!(header(&r, "x-cos-server-side-encryption-cos-kms-key-id"), Some("key-1"));
    let r = render(&out, Dialect::Oss, &Method::POST);
    assert_eq!(header(&r, "x-oss-server-side-encryption"), Some("KMS"));
    assert_eq!(header(&r, "x-oss-server-side-encryption-key-id"), Some("key-1"));
}

fn object_head(dialect: Dialect) -> ObjectHead {
    let mut metadata = UserMetadata::new();
    metadata.insert("author", "Alice  Smith".as_bytes()).expect("meta");
    metadata.insert("utf8", "ü é 文件".as_bytes()).expect("meta");
    ObjectHead {
        size: 1000,
        etag: etag(),
        last_modified: Timestamp::from_secs(FROZEN),
        content: ContentHeaders {
            content_type: Some("image/jpeg".into()),
            cache_control: Some("max-age=60".into()),
            content_disposition: None,
            content_encoding: Some("gzip".into()),
            content_language: None,
            expires: Some("Thu, 01 May 2025 13:00:00 GMT".into()),
        },
        metadata,
        storage_class: Some(StorageClass::default_for(dialect)),
        sse: Some(SseResponse::Customer { key_md5: "bWQ1bWQ1bWQ1bWQ1bWQ1bQ==".into() }),
        tag_count: 2,
        crc64ecma: CRC,
        checksum: Some((
            Checksum::from_base64(ChecksumAlgorithm::Crc32, "AAAAAA==").expect("crc"),
            ChecksumType::Composite,
        )),
        parts_count: Some(3),
        website_redirect: Some("/index.html".into()),
    }
}

#[test]
fn get_object_headers_in_every_dialect() {
    for dialect in Dialect::ALL {
        let what = dialect.to_string();
        let p = dialect.header_prefix();
        let out = Output::Object { head: object_head(dialect), range: None, overrides: ResponseOverrides::default() };
        let r = render(&out, dialect, &Method::GET);
        assert_eq!(r.status(), 200, "{what}");
        assert!(r.body().is_empty(), "{what}: the server streams the body");
        assert_eq!(header(&r, "content-length"), Some("1000"), "{what}");
        assert_eq!(header(&r, "accept-ranges"), Some("bytes"), "{what}");
        assert_eq!(header(&r, "last-modified"), Some("Thu, 01 May 2025 12:00:00 GMT"), "{what}");
        assert_eq!(header(&r, "etag"), Some("\"abababababababababababababababab\""), "{what}");
        assert_eq!(header(&r, "content-type"), Some("image/jpeg"), "{what}");
        assert_eq!(header(&r, "content-encoding"), Some("gzip"), "{what}");
        assert_eq!(header(&r, "expires"), Some("Thu, 01 May 2025 13:00:00 GMT"), "{what}");
        assert_eq!(header(&r, &format!("{p}meta-author")), Some("Alice  Smith"), "{what}");
        let utf8 = r.headers().get(format!("{p}meta-utf8")).expect("non-ASCII metadata is kept");
        assert_eq!(utf8.as_bytes(), "ü é 文件".as_bytes(), "{what}");
        let class = header(&r, &format!("{p}storage-class"));
        if dialect == Dialect::Aws {
            assert_eq!(class, None, "S3 leaves STANDARD out");
        } else {
            assert_eq!(class, Some(StorageClass::default_for(dialect).as_str()), "{what}");
        }
        assert_eq!(header(&r, &format!("{p}server-side-encryption-customer-algorithm")), Some("AES256"), "{what}");
        assert_eq!(
            header(&r, &format!("{p}server-side-encryption-customer-key-md5")),
            Some("bWQ1bWQ1bWQ1bWQ1bWQ1bQ=="),
            "{what}"
        );
        assert_eq!(header(&r, "x-amz-checksum-crc32"), Some("AAAAAA==-3"), "{what}: composite shows -N");
        assert_eq!(header(&r, "x-amz-checksum-type"), Some("COMPOSITE"), "{what}");
        assert_eq!(header(&r, &format!("{p}tagging-count")), Some("2"), "{what}");
        assert_eq!(header(&r, &format!("{p}mp-parts-count")), Some("3"), "{what}");
        assert_eq!(header(&r, &format!("{p}website-redirect-location")), Some("/index.html"), "{what}");
        if let Some(name) = dialect.spec().crc64_header {
            assert_eq!(header(&r, name), Some("18446744073709551615"), "{what}");
        }
    }
}

#[test]
fn ranges_and_overrides() {
    let overrides = ResponseOverrides {
        content_type: Some("text/plain".into()),
        content_disposition: Some("attachment; filename=\"x y.txt\"".into()),
        ..ResponseOverrides::default()
    };
    let range = Some(ResolvedRange { first: 10, last: 19 });
    let out = Output::Object { head: object_head(Dialect::Aws), range, overrides };
    let r = render(&out, Dialect::Aws, &Method::GET);
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-length"), Some("10"));
    assert_eq!(header(&r, "content-range"), Some("bytes 10-19/1000"));
    assert_eq!(header(&r, "content-type"), Some("text/plain"));
    assert_eq!(header(&r, "content-disposition"), Some("attachment; filename=\"x y.txt\""));
    assert_eq!(header(&r, "cache-control"), Some("max-age=60"), "not overridden: stored value");
    assert_eq!(header(&r, "x-amz-checksum-crc32"), None, "a range has no whole-object checksum");
    let head = render(&out, Dialect::Aws, &Method::HEAD);
    assert_eq!(head.status(), 206);
    assert!(head.body().is_empty());
    assert_eq!(header(&head, "content-length"), Some("10"));
}

#[test]
fn oss_reports_the_object_type() {
    let mut head = object_head(Dialect::Oss);
    let out = Output::Object { head: head.clone(), range: None, overrides: ResponseOverrides::default() };
    assert_eq!(header(&render(&out, Dialect::Oss, &Method::HEAD), "x-oss-object-type"), Some("Multipart"));
    head.parts_count = None;
    head.checksum =
        Some((Checksum::from_base64(ChecksumAlgorithm::Crc32, "AAAAAA==").expect("crc"), ChecksumType::FullObject));
    let out = Output::Object { head, range: None, overrides: ResponseOverrides::default() };
    let r = render(&out, Dialect::Oss, &Method::HEAD);
    assert_eq!(header(&r, "x-oss-object-type"), Some("Normal"));
    assert_eq!(header(&r, "x-amz-checksum-crc32"), Some("AAAAAA=="));
}

#[test]
fn small_outputs() {
    let r = render(&Output::ObsApiVersion, Dialect::Obs, &Method::HEAD);
    assert_eq!((r.status().as_u16(), header(&r, "x-obs-api")), (200, Some("3.0")));
    let r = render(&Output::NoContent, Dialect::Aws, &Method::DELETE);
    assert_eq!(r.status(), 204);
    assert!(r.body().is_empty());
    let r = render(&Output::Ok, Dialect::Cos, &Method::DELETE);
    assert_eq!((r.status().as_u16(), header(&r, "content-length")), (200, Some("0")));
    let r = render(
        &Output::NotModified { etag: etag(), last_modified: Timestamp::from_secs(FROZEN) },
        Dialect::Oss,
        &Method::GET,
    );
    assert_eq!(r.status(), 304);
    assert!(r.body().is_empty());
    assert_eq!(header(&r, "last-modified"), Some("Thu, 01 May 2025 12:00:00 GMT"));
    assert!(header(&r, "etag").is_some());
    let r = render(&Output::BucketHead { region: "us-east-1".into() }, Dialect::Aws, &Method::HEAD);
    assert_eq!(header(&r, "x-amz-bucket-region"), Some("us-east-1"));
    assert_eq!(header(&r, "content-length"), Some("0"));
    let r = render(&Output::BucketHead { region: "cn-north-4".into() }, Dialect::Obs, &Method::HEAD);
    assert_eq!(header(&r, "x-obs-bucket-location"), Some("cn-north-4"));
    let r = render(&Output::BucketCreated { location: "/examplebucket".into() }, Dialect::Aws, &Method::PUT);
    assert_eq!(header(&r, "location"), Some("/examplebucket"));
    let out = Output::ObjectWritten {
        etag: etag(),
        crc64ecma: 9,
        checksum: None,
        sse: Some(SseResponse::S3),
        document: None,
    };
    let r = render(&out, Dialect::Obs, &Method::PUT);
    assert_eq!(header(&r, "x-obs-checksum-crc64ecma"), Some("9"));
    assert_eq!(header(&r, "x-obs-server-side-encryption"), Some("AES256"));
}

#[test]
fn common_headers_per_dialect() {
    let date = "Thu, 01 May 2025 12:00:00 GMT";
    let expected: [(Dialect, &str, Option<&str>); 5] = [
        (Dialect::Aws, "x-amz-request-id", Some("x-amz-id-2")),
        (Dialect::Obs, "x-obs-request-id", Some("x-obs-id-2")),
        (Dialect::Cos, "x-cos-request-id", Some("x-cos-trace-id")),
        (Dialect::Oss, "x-oss-request-id", None),
        (Dialect::Ks3, "x-kss-request-id", None),
    ];
    for (dialect, id, id2) in expected {
        let mut headers = HeaderMap::new();
        add_common_headers(&mut headers, dialect, "RID", "HID", date);
        add_common_headers(&mut headers, dialect, "RID", "HID", date);
        assert_eq!(headers.get_all(id).iter().count(), 1, "{dialect}: idempotent");
        assert_eq!(headers.get(id).map(|v| v.as_bytes()), Some(&b"RID"[..]), "{dialect}");
        if let Some(id2) = id2 {
            assert_eq!(headers.get(id2).map(|v| v.as_bytes()), Some(&b"HID"[..]), "{dialect}");
        }
        assert_eq!(headers.get("date").map(|v| v.as_bytes()), Some(date.as_bytes()));
        assert_eq!(headers.get("server").map(|v| v.as_bytes()), Some(&b"Tessera"[..]));
        let others = Dialect::ALL.iter().filter(|d| **d != dialect).map(|d| d.spec().request_id_header);
        for other in others {
            assert!(!headers.contains_key(other), "{dialect}: {other}");
        }
    }
}

proptest::proptest! {
    /// Whatever the engine stored (any metadata bytes, any content strings), rendering an
    /// object answers 200/206 with the right length and never panics; values a header cannot
    /// carry are left out.
    #[test]
    fn object_rendering_never_panics(
        meta in proptest::collection::vec(("[a-z0-9-]{1,10}", proptest::collection::vec(proptest::prelude::any::<u8>(), 0..30)), 0..6),
        content_type in proptest::option::of("\\PC{0,30}"),
        overridden in proptest::option::of("[ -~\\n\\r]{0,30}"),
        size in 0u64..u64::MAX,
        range in proptest::option::of((0u64..1000, 0u64..1000)),
        dialect in proptest::sample::select(Dialect::ALL.to_vec()),
    ) {
        let mut metadata = UserMetadata::new();
        for (name, value) in &meta {
            let _ = metadata.insert(name, value);
        }
        let mut head = object_head(dialect);
        head.size = size;
        head.metadata = metadata;
        head.content.content_type = content_type;
        let range = range.map(|(a, b)| ResolvedRange { first: a.min(b), last: a.max(b) });
        let overrides = ResponseOverrides { content_type: overridden, ..ResponseOverrides::default() };
        let out = Output::Object { head, range, overrides };
        for method in [Method::GET, Method::HEAD] {
            let r = render(&out, dialect, &method);
            let want = range.map_or(size, |r| r.len()).to_string();
            proptest::prop_assert_eq!(header(&r, "content-length"), Some(want.as_str()));
            proptest::prop_assert!(r.body().is_empty());
        }
    }
}
