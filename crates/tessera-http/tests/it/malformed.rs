//! Malformed requests: each gets the right 4xx (never a 500, never a panic), and what S3
//! accepts despite looking odd (invalid `Range`, unparseable condition dates, traversal-looking
//! keys) is accepted.

use http::Method;
use tessera_http::render_error;
use tessera_proto::ops::{Operation, S3Error};
use tessera_proto::{Dialect, ErrorCode};

use crate::support::{bucket_key, parse};

const PART: &str = "/examplebucket/k?partNumber=1&uploadId=UPLOADID";
const LEN: (&str, &str) = ("content-length", "10");

/// One malformed request and the code it must answer with.
struct Row {
    what: &'static str,
    dialect: Dialect,
    method: &'static str,
    uri: String,
    headers: Vec<(&'static str, String)>,
    code: ErrorCode,
}

fn row(
    what: &'static str,
    dialect: Dialect,
    method: &'static str,
    uri: &str,
    headers: &[(&'static str, &str)],
    code: ErrorCode,
) -> Row {
    Row {
        what,
        dialect,
        method,
        uri: uri.to_owned(),
        headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
        code,
    }
}

fn custom(code: &'static str, status: u16) -> ErrorCode {
    ErrorCode::Custom { code: code.into(), status }
}

fn table() -> Vec<Row> {
    use Dialect::{Aws, Cos, Ks3, Obs, Oss};
    use ErrorCode as E;
    let big_meta = "v".repeat(2100);
    let huge_header = "h".repeat(9000);
    let mut rows = vec![
        // Part numbers.
        row("part 0", Aws, "PUT", "/examplebucket/k?partNumber=0&uploadId=U", &[LEN], E::InvalidArgument),
        row("part 10001", Cos, "PUT", "/examplebucket/k?partNumber=10001&uploadId=U", &[LEN], E::InvalidArgument),
        row("part -1", Oss, "PUT", "/examplebucket/k?partNumber=-1&uploadId=U", &[LEN], E::InvalidArgument),
        row("part abc", Ks3, "PUT", "/examplebucket/k?partNumber=abc&uploadId=U", &[LEN], E::InvalidArgument),
        row(
            "part 99999999999",
            Obs,
            "PUT",
            "/examplebucket/k?partNumber=99999999999&uploadId=U",
            &[LEN],
            E::InvalidArgument,
        ),
        row("part missing", Aws, "PUT", "/examplebucket/k?uploadId=U", &[LEN], E::InvalidArgument),
        row("part without upload", Aws, "PUT", "/examplebucket/k?partNumber=1", &[LEN], E::InvalidArgument),
        row("GET part 0", Aws, "GET", "/examplebucket/k?partNumber=0", &[], E::InvalidArgument),
        row(
            "upload id with slash",
            Aws,
            "PUT",
            "/examplebucket/k?partNumber=1&uploadId=a%2Fb",
            &[LEN],
            E::NoSuchUpload,
        ),
        row("empty upload id", Oss, "DELETE", "/examplebucket/k?uploadId=", &[], E::NoSuchUpload),
        // Ranges.
        row(
            "range and partNumber",
            Aws,
            "GET",
            "/examplebucket/k?partNumber=2",
            &[("range", "bytes=0-9")],
            E::InvalidRequest,
        ),
        row(
            "copy range open",
            Aws,
            "PUT",
            PART,
            &[("x-amz-copy-source", "/src/k"), ("x-amz-copy-source-range", "bytes=0-")],
            E::InvalidArgument,
        ),
        row(
            "copy range reversed",
            Oss,
            "PUT",
            PART,
            &[("x-oss-copy-source", "/src/k"), ("x-oss-copy-source-range", "bytes=9-0")],
            E::InvalidArgument,
        ),
        row(
            "copy range garbage",
            Cos,
            "PUT",
            PART,
            &[
                ("x-cos-copy-source", "src-1250000000.cos.ap-guangzhou.myqcloud.com/k"),
                ("x-cos-copy-source-range", "0-9"),
            ],
            E::InvalidArgument,
        ),
        // Copy sources.
        row(
            "copy source without key",
            Aws,
            "PUT",
            "/examplebucket/k",
            &[("x-amz-copy-source", "/src")],
            E::InvalidArgument,
        ),
        row(
            "copy source bad bucket",
            Ks3,
            "PUT",
            "/examplebucket/k",
            &[("x-kss-copy-source", "/Bad_Bucket/k")],
            E::InvalidArgument,
        ),
        row(
            "copy source bad escape",
            Obs,
            "PUT",
            "/examplebucket/k",
            &[("x-obs-copy-source", "/src/%zz")],
            E::InvalidArgument,
        ),
        row("copy source empty", Aws, "PUT", PART, &[("x-amz-copy-source", "")], E::InvalidArgument),
        row(
            "metadata directive",
            Aws,
            "PUT",
            "/examplebucket/k",
            &[("x-amz-copy-source", "/src/k"), ("x-amz-metadata-directive", "MOVE")],
            E::InvalidArgument,
        ),
        // Sizes.
        row(
            "header section",
            Aws,
            "GET",
            "/examplebucket/k",
            &[("x-amz-meta-a", &huge_header)],
            custom("RequestHeaderSectionTooLarge", 400),
        ),
        row(
            "metadata 2 KB",
            Cos,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-cos-meta-big", &big_meta)],
            E::MetadataTooLarge,
        ),
        row("metadata name", Aws, "PUT", "/examplebucket/k", &[LEN, ("x-amz-meta-", "v")], E::InvalidArgument),
        row("part 6 GiB", Aws, "PUT", PART, &[("content-length", "6442450944")], E::EntityTooLarge),
        row("put 6 GiB", Oss, "PUT", "/examplebucket/k", &[("content-length", "6442450944")], E::EntityTooLarge),
        row(
            "decoded 6 GiB",
            Aws,
            "PUT",
            PART,
            &[
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "6442450944"),
                ("content-length", "10"),
            ],
            E::EntityTooLarge,
        ),
        row("no length", Aws, "PUT", PART, &[], E::MissingContentLength),
        row("no length put", Ks3, "PUT", "/examplebucket/k", &[], E::MissingContentLength),
        row(
            "chunked without length in S3",
            Aws,
            "PUT",
            "/examplebucket/k",
            &[("transfer-encoding", "chunked")],
            E::MissingContentLength,
        ),
        row(
            "aws-chunked without decoded length",
            Aws,
            "PUT",
            PART,
            &[("content-encoding", "aws-chunked"), ("content-length", "10")],
            E::MissingContentLength,
        ),
        row(
            "bad decoded length",
            Aws,
            "PUT",
            PART,
            &[
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                ("x-amz-decoded-content-length", "ten"),
                LEN,
            ],
            E::InvalidArgument,
        ),
        row("bad content length", Aws, "PUT", PART, &[("content-length", "ten")], E::BadRequest),
        row(
            "conflicting lengths",
            Aws,
            "PUT",
            PART,
            &[("content-length", "10"), ("content-length", "11")],
            E::BadRequest,
        ),
        row("content-md5 not base64", Ks3, "PUT", PART, &[LEN, ("content-md5", "not base64!")], E::InvalidDigest),
        row("content-md5 short", Cos, "PUT", "/examplebucket/k", &[LEN, ("content-md5", "AAAA")], E::InvalidDigest),
        // Storage classes, per vendor.
        row(
            "class aws",
            Aws,
            "PUT",
            "/examplebucket/k",
            &[LEN, ("x-amz-storage-class", "WARM")],
            E::InvalidStorageClass,
        ),
        row(
            "class obs",
            Obs,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-obs-storage-class", "GLACIER")],
            E::InvalidStorageClass,
        ),
        row(
            "class cos",
            Cos,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-cos-storage-class", "WARM")],
            E::InvalidStorageClass,
        ),
        row(
            "class oss",
            Oss,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-oss-storage-class", "STANDARD_IA")],
            E::InvalidArgument,
        ),
        row(
            "class ks3",
            Ks3,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-kss-storage-class", "COLD")],
            E::InvalidStorageClass,
        ),
        // Encryption.
        row(
            "sse algorithm",
            Aws,
            "PUT",
            "/examplebucket/k",
            &[LEN, ("x-amz-server-side-encryption", "AES128")],
            E::InvalidEncryptionAlgorithmError,
        ),
        row(
            "sse cos spelling",
            Cos,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-cos-server-side-encryption", "aws:kms")],
            E::InvalidEncryptionAlgorithmError,
        ),
        row(
            "kms key without kms",
            Aws,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-amz-server-side-encryption-aws-kms-key-id", "k")],
            E::InvalidArgument,
        ),
        row(
            "sse-c without md5",
            Ks3,
            "POST",
            "/examplebucket/k?uploads",
            &[
                ("x-kss-server-side-encryption-customer-algorithm", "AES256"),
                ("x-kss-server-side-encryption-customer-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ],
            E::InvalidArgument,
        ),
        row(
            "sse-c short key",
            Cos,
            "GET",
            "/examplebucket/k",
            &[
                ("x-cos-server-side-encryption-customer-algorithm", "AES256"),
                ("x-cos-server-side-encryption-customer-key", "AAAA"),
                ("x-cos-server-side-encryption-customer-key-MD5", "AAAA"),
            ],
            E::InvalidArgument,
        ),
        row(
            "oss sse on part",
            Oss,
            "PUT",
            PART,
            &[LEN, ("x-oss-server-side-encryption", "AES256")],
            E::InvalidArgument,
        ),
        // ACLs, tags, redirects, checksums.
        row("canned acl", Aws, "PUT", "/examplebucket/k", &[LEN, ("x-amz-acl", "everyone")], E::InvalidArgument),
        row(
            "oss object acl",
            Oss,
            "PUT",
            "/examplebucket/k?acl",
            &[("x-oss-object-acl", "authenticated-read")],
            E::InvalidArgument,
        ),
        row(
            "canned and grants",
            Cos,
            "PUT",
            "/examplebucket",
            &[("x-cos-acl", "private"), ("x-cos-grant-read", "id=\"1\"")],
            E::InvalidRequest,
        ),
        row(
            "bad grant",
            Ks3,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-kss-grant-read", "name=\"x\"")],
            E::InvalidArgument,
        ),
        row("tagging", Oss, "POST", "/examplebucket/k?uploads", &[("x-oss-tagging", "a=1&a=2")], E::InvalidTag),
        row(
            "redirect",
            Obs,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-obs-website-redirect-location", "ftp://x")],
            E::InvalidArgument,
        ),
        row(
            "checksum algorithm",
            Aws,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-amz-checksum-algorithm", "MD4")],
            E::InvalidArgument,
        ),
        row(
            "checksum type alone",
            Aws,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-amz-checksum-type", "FULL_OBJECT")],
            E::InvalidRequest,
        ),
        row(
            "checksum type mismatch",
            Aws,
            "POST",
            "/examplebucket/k?uploads",
            &[("x-amz-checksum-algorithm", "CRC64NVME"), ("x-amz-checksum-type", "COMPOSITE")],
            E::InvalidRequest,
        ),
        row("object attributes", Aws, "GET", "/examplebucket/k?attributes", &[], E::InvalidArgument),
        row(
            "object attribute name",
            Aws,
            "GET",
            "/examplebucket/k?attributes",
            &[("x-amz-object-attributes", "ETag,Colour")],
            E::InvalidArgument,
        ),
        // Listing parameters.
        row("max-keys -1", Aws, "GET", "/examplebucket?max-keys=-1", &[], E::InvalidArgument),
        row("max-keys abc", Cos, "GET", "/examplebucket?list-type=2&max-keys=abc", &[], E::InvalidArgument),
        row("max-uploads -5", Oss, "GET", "/examplebucket?uploads&max-uploads=-5", &[], E::InvalidArgument),
        row("max-parts", Ks3, "GET", "/examplebucket/k?uploadId=U&max-parts=1e3", &[], E::InvalidArgument),
        row(
            "part-number-marker",
            Obs,
            "GET",
            "/examplebucket/k?uploadId=U&part-number-marker=-1",
            &[],
            E::InvalidArgument,
        ),
        row("encoding type", Aws, "GET", "/examplebucket?encoding-type=base64", &[], E::InvalidArgument),
        row("list type", Aws, "GET", "/examplebucket?list-type=3", &[], E::InvalidArgument),
        row(
            "version id",
            Aws,
            "GET",
            "/examplebucket/k?versionId=3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
            &[],
            E::InvalidArgument,
        ),
        // Names and URIs.
        row("bucket name", Aws, "GET", "/Bad_Bucket/k", &[], E::InvalidBucketName),
        row("key too long", Aws, "GET", "/examplebucket/KEY", &[], E::KeyTooLongError),
        row("bad escape", Aws, "GET", "/examplebucket/%zz", &[], custom("InvalidURI", 400)),
        row("header not UTF-8", Aws, "PUT", "/examplebucket/k", &[LEN], E::InvalidArgument),
        // Methods.
        row("PATCH object", Aws, "PATCH", "/examplebucket/k", &[], E::MethodNotAllowed),
        row("POST object", Aws, "POST", "/examplebucket/k", &[], E::MethodNotAllowed),
        row("DELETE service", Aws, "DELETE", "/", &[], E::MethodNotAllowed),
    ];
    for r in &mut rows {
        if r.what == "key too long" {
            r.uri = format!("/examplebucket/{}", "k".repeat(1025));
        }
    }
    rows
}

#[test]
fn each_malformed_request_gets_its_4xx() {
    let rows = table();
    assert!(rows.len() >= 60);
    for r in rows {
        let mut head: Vec<(&str, String)> = r.headers.clone();
        if r.what == "header not UTF-8" {
            head.push(("content-type", String::new()));
        }
        let pairs: Vec<(&str, &str)> = head.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let result =
            if r.what == "header not UTF-8" { not_utf8(r.dialect) } else { parse(r.dialect, r.method, &r.uri, &pairs) };
        let err = match result {
            Err(e) => e,
            Ok(op) => panic!("{}: accepted as {op:?}", r.what),
        };
        assert_eq!(err.code, r.code, "{}: {}", r.what, err.message);
        let status = err.code.status();
        assert!((400..500).contains(&status), "{}: {status}", r.what);
        let method = Method::from_bytes(r.method.as_bytes()).expect("method");
        let response = render_error(&S3Error::from(err), r.dialect, &method, "rid", "hid");
        assert_eq!(response.status().as_u16(), status, "{}", r.what);
    }
}

/// A Content-Type that is neither ASCII nor UTF-8.
fn not_utf8(dialect: Dialect) -> Result<Operation, tessera_http::HttpError> {
    let mut headers = crate::support::headers([("content-length", &b"10"[..]), ("content-type", &b"text/\xff"[..])]);
    headers.insert(http::header::HOST, http::HeaderValue::from_static("127.0.0.1"));
    let uri: http::Uri = "/examplebucket/k".parse().expect("uri");
    let route = tessera_http::route(&uri, &headers, &crate::support::routing())?;
    tessera_http::parse_operation(&Method::PUT, &headers, &route, dialect)
}

#[test]
fn what_s3_accepts_despite_appearances() {
    // An invalid Range is ignored: the whole object is served.
    for range in ["bytes=9-0", "bytes=a-b", "items=0-1", "bytes=0-1,5-6", ""] {
        match parse(Dialect::Aws, "GET", "/examplebucket/k", &[("range", range)]) {
            Ok(Operation::GetObject { range: None, .. }) => {}
            other => panic!("{range}: {other:?}"),
        }
    }
    // Unparseable condition dates are ignored (RFC 9110 §13.1.3); ETag lists are kept.
    match parse(
        Dialect::Oss,
        "GET",
        "/examplebucket/k",
        &[
            ("if-modified-since", "yesterday"),
            ("if-unmodified-since", "Thu, 01 May 2025 12:00:00 GMT"),
            ("if-none-match", "\"abc\""),
        ],
    ) {
        Ok(Operation::GetObject { conditions, .. }) => {
            assert_eq!(conditions.if_modified_since, None);
            assert_eq!(conditions.if_unmodified_since, Some(1_746_100_800));
            assert_eq!(conditions.if_none_match.map(|l| l.len()), Some(1));
        }
        other => panic!("{other:?}"),
    }
    // Keys are names, never paths.
    for (uri, key) in [
        ("/examplebucket/../../etc/passwd", "../../etc/passwd"),
        ("/examplebucket//leading", "/leading"),
        ("/examplebucket/a/./b/", "a/./b/"),
        ("/examplebucket/%2E%2E%2F%2E%2E", "../.."),
        ("/examplebucket/C:%5Cwindows", "C:\\windows"),
    ] {
        let op = parse(Dialect::Aws, "PUT", uri, &[LEN]).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(bucket_key(&op), (Some("examplebucket"), Some(key)), "{uri}");
    }
    // oss2 sends empty bodies HTTP-chunked: the vendors take them.
    for dialect in [Dialect::Oss, Dialect::Cos, Dialect::Obs, Dialect::Ks3] {
        match parse(dialect, "PUT", PART, &[("transfer-encoding", "chunked")]) {
            Ok(Operation::UploadPart { length_unknown: true, content_length: 0, .. }) => {}
            other => panic!("{dialect}: {other:?}"),
        }
    }
}

#[test]
fn sub_resources_tessera_does_not_serve_are_501() {
    for (method, uri) in [
        ("GET", "/examplebucket?policy"),
        ("PUT", "/examplebucket?versioning"),
        ("GET", "/examplebucket?tagging"),
        ("POST", "/examplebucket/k?restore"),
        ("POST", "/examplebucket/k?append&position=0"),
        ("GET", "/examplebucket/k?x-oss-process=image/resize"),
    ] {
        let err = parse(Dialect::Aws, method, uri, &[]).expect_err(uri);
        assert_eq!(err.code, ErrorCode::NotImplemented, "{uri}");
    }
}
