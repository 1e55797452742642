//! Every request the official SDKs sent (`shared/dialects/vectors/*.json`) binds to the
//! operation the SDK call meant, with the bucket, key and headers it carried.

use std::path::PathBuf;

use http::{HeaderValue, Method, Uri};
use serde_json::Value;
use tessera_http::{body_framing, dialect_of, parse_operation, route};
use tessera_proto::ops::{EtagCondition, Operation};
use tessera_proto::{Dialect, ErrorCode};

use crate::support::{bucket_key, headers, name, routing};

const FILES: [&str; 7] =
    ["aws_sigv4.json", "aws_sigv2.json", "obs.json", "cos.json", "oss_v1.json", "oss_v4.json", "ks3.json"];

const UPLOAD_ID: &str = "UPLOADID0123456789abcdef.-_~";

fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/dialects/vectors");
    assert!(
        dir.join("aws_sigv4.json").is_file(),
        "the SDK vectors are missing: expected them in {} (the shared design folder beside the repository)",
        dir.display()
    );
    dir
}

/// The dialect the request's signature or presign parameters belong to (what tessera-sign
/// reports to the server).
fn signature_dialect(headers: &[(String, String)], query: &str) -> Dialect {
    let auth = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.as_str());
    match auth {
        Some(a) if a.starts_with("AWS4-HMAC-SHA256") || a.starts_with("AWS ") => Dialect::Aws,
        Some(a) if a.starts_with("OBS ") => Dialect::Obs,
        Some(a) if a.starts_with("q-sign-algorithm") => Dialect::Cos,
        Some(a) if a.starts_with("OSS") => Dialect::Oss,
        Some(a) if a.starts_with("KSS ") => Dialect::Ks3,
        Some(a) => panic!("unknown authorization scheme {a}"),
        None if query.contains("X-Amz-") || query.contains("AWSAccessKeyId") => Dialect::Aws,
        None if query.contains("AccessKeyId=") && !query.contains("OSSAccessKeyId") && !query.contains("KSS") => {
            Dialect::Obs
        }
        None if query.contains("q-signature") => Dialect::Cos,
        None if query.contains("OSSAccessKeyId") || query.contains("x-oss-signature") => Dialect::Oss,
        None if query.contains("KSSAccessKeyId") => Dialect::Ks3,
        // The signed-chunk examples record the seed signature beside the request.
        None if header(headers, "x-amz-content-sha256").is_some() => Dialect::Aws,
        None => panic!("a vector without a signature: {query}"),
    }
}

/// The operation each SDK call meant, from the case's name.
fn expected_operation(case: &str) -> &'static str {
    const TABLE: [(&str, &str); 9] = [
        ("initiate", "CreateMultipartUpload"),
        ("upload_part", "UploadPart"),
        ("list_parts", "ListParts"),
        ("complete", "CompleteMultipartUpload"),
        ("abort", "AbortMultipartUpload"),
        ("list_multipart_uploads", "ListMultipartUploads"),
        ("put_object", "PutObject"),
        ("streaming_signed_chunks_aws_doc_example", "PutObject"),
        ("presigned_get", "GetObject"),
    ];
    TABLE.iter().find(|(k, _)| case.contains(k)).map(|(_, v)| *v).unwrap_or_else(|| panic!("no expectation for {case}"))
}

/// The raw query of a captured request.
fn query_of(request: &Value) -> &str {
    match request["query"].as_str() {
        Some(q) => q,
        None => request["target"].as_str().and_then(|t| t.split_once('?')).map_or("", |(_, q)| q),
    }
}

fn header<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[test]
fn every_sdk_request_binds_to_its_operation() {
    let dir = vectors_dir();
    let mut checked = 0;
    let mut per_dialect = std::collections::BTreeMap::<Dialect, usize>::new();
    for file in FILES {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let cases = json["cases"].as_array().unwrap_or_else(|| panic!("{file}: no cases"));
        assert!(!cases.is_empty(), "{file}");
        for case in cases {
            let case_name = case["name"].as_str().expect("case name");
            let what = format!("{file} {case_name}");
            let request = &case["request"];
            let method = Method::from_bytes(request["method"].as_str().expect("method").as_bytes()).expect("method");
            let target = request["target"].as_str().expect("target");
            let query = query_of(request);
            let mut pairs: Vec<(String, String)> = request["headers"]
                .as_array()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h[0].as_str().unwrap_or("").to_owned(), h[1].as_str().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            if header(&pairs, "host").is_none()
                && let Some(host) = request["host"].as_str()
            {
                pairs.push(("Host".into(), host.into()));
            }
            // Presigned URLs were captured as URLs: the HTTP client adds the length.
            if method == Method::PUT
                && header(&pairs, "content-length").is_none()
                && header(&pairs, "transfer-encoding").is_none()
            {
                let len = request["body_length"].as_u64().unwrap_or(0);
                pairs.push(("Content-Length".into(), len.to_string()));
            }
            let map = headers(pairs.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
            let uri: Uri = target.parse().unwrap_or_else(|e| panic!("{what}: {e}"));
            let signed_as = signature_dialect(&pairs, query);

            // COS presigned URLs in IP mode carry no bucket at all (DIALECTS.md §4.1): the
            // first path segment is taken for one, as for any path-style request.
            let cos_ip_presign = file == "cos.json" && header(&pairs, "host") == Some("127.0.0.1:9000");
            let routed = route(&uri, &map, &routing());
            if cos_ip_presign && case_name.contains("unicode") {
                let err = routed.expect_err(&what);
                assert_eq!(err.code, ErrorCode::InvalidBucketName, "{what}");
                checked += 1;
                continue;
            }
            let route = routed.unwrap_or_else(|e| panic!("{what}: {e}"));
            let dialect = dialect_of(Some(signed_as), &map, &route);
            assert_eq!(dialect, signed_as, "{what}");
            let op = parse_operation(&method, &map, &route, dialect).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(name(&op), expected_operation(case_name), "{what}: {op:?}");

            let (bucket, key) = bucket_key(&op);
            if cos_ip_presign {
                assert_eq!((bucket, key), (Some("photos"), Some("2025/cat.jpg")), "{what}");
            } else {
                let want_bucket = case["bucket"].as_str().unwrap_or("examplebucket");
                let want_key = match case["key"].as_str() {
                    Some(k) => Some(k),
                    None if case_name.contains("list_multipart_uploads") => None,
                    // The signed-chunk examples name their object in the path only.
                    None if case_name.contains("aws_doc_example") => Some("chunkObject.txt"),
                    None => Some("photos/2025/cat.jpg"),
                };
                assert_eq!(bucket, Some(want_bucket), "{what}");
                assert_eq!(key, want_key, "{what}");
            }
            check_details(&what, &op, &pairs, request, dialect);
            *per_dialect.entry(dialect).or_default() += 1;
            checked += 1;
        }
    }
    assert_eq!(checked, 114, "every vector of DIALECTS.md §0.1 is checked");
    for d in Dialect::ALL {
        assert!(per_dialect.get(&d).copied().unwrap_or(0) >= 10, "{d}: {per_dialect:?}");
    }
}

/// What each operation must have taken from the request's headers and query.
fn check_details(what: &str, op: &Operation, pairs: &[(String, String)], request: &Value, dialect: Dialect) {
    let prefix = dialect.header_prefix();
    let vendor = |suffix: &str| header(pairs, &format!("{prefix}{suffix}"));
    let map = headers(pairs.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    let framing = body_framing(&map).expect(what);
    match op {
        Operation::CreateMultipartUpload { attributes, encoding_url, .. } => {
            for meta in ["author", "note", "Note"] {
                if let Some(v) = header(pairs, &format!("{prefix}meta-{meta}")) {
                    assert_eq!(attributes.metadata.get(meta), Some(v.as_bytes()), "{what}: {meta}");
                }
            }
            if !pairs.iter().any(|(n, _)| n.to_ascii_lowercase().starts_with(&format!("{prefix}meta-"))) {
                assert!(attributes.metadata.is_empty() || dialect == Dialect::Aws, "{what}");
            }
            match vendor("storage-class") {
                Some(v) => {
                    let class = attributes.storage_class.expect(what);
                    assert!(class.as_str().eq_ignore_ascii_case(v), "{what}: {class} vs {v}");
                }
                None => assert_eq!(attributes.storage_class, None, "{what}"),
            }
            let acl_header = dialect.spec().object_acl_header;
            match header(pairs, acl_header) {
                Some(v) => assert_eq!(attributes.acl.canned.map(|c| c.as_str()), Some(v), "{what}"),
                None => assert!(attributes.acl.is_empty(), "{what}"),
            }
            assert_eq!(attributes.sse.is_some(), vendor("server-side-encryption").is_some(), "{what}");
            assert_eq!(attributes.tagging.is_some(), vendor("tagging").is_some(), "{what}");
            if let Some(tags) = &attributes.tagging {
                assert!(!tags.is_empty(), "{what}");
            }
            assert_eq!(
                attributes.content.content_type.as_deref(),
                header(pairs, "content-type"),
                "{what}: Content-Type is stored as sent"
            );
            assert_eq!(*encoding_url, query_of(request).contains("encoding-type=url"), "{what}");
        }
        Operation::UploadPart { upload_id, part_number, content_length, length_unknown, sse, .. } => {
            assert_eq!(upload_id.as_str(), UPLOAD_ID, "{what}");
            let query = query_of(request);
            let n: u32 =
                query.split('&').find_map(|p| p.strip_prefix("partNumber=")).and_then(|v| v.parse().ok()).expect(what);
            assert_eq!(part_number.get(), n, "{what}");
            assert_eq!(*sse, None, "{what}");
            if framing.aws_chunked {
                let decoded = header(pairs, "x-amz-decoded-content-length").expect(what);
                assert_eq!(content_length.to_string(), decoded, "{what}");
            } else if *length_unknown {
                assert_eq!(header(pairs, "transfer-encoding"), Some("chunked"), "{what}");
                assert_ne!(dialect, Dialect::Aws, "{what}");
            } else {
                assert_eq!(Some(*content_length), request["body_length"].as_u64().or(Some(0)), "{what}");
            }
        }
        Operation::PutObject { attributes, content_length, length_unknown, .. } => {
            if framing.aws_chunked {
                assert_eq!(attributes.content.content_encoding, None, "{what}: aws-chunked is stripped");
                let decoded = header(pairs, "x-amz-decoded-content-length").expect(what);
                assert_eq!(content_length.to_string(), decoded, "{what}");
            } else if !*length_unknown {
                assert_eq!(Some(*content_length), request["body_length"].as_u64(), "{what}");
            }
            if let Some(v) = header(pairs, "x-amz-storage-class") {
                assert_eq!(attributes.storage_class.map(|c| c.as_str()), Some(v), "{what}");
            }
            if header(pairs, "x-amz-checksum-crc32").is_some() {
                assert_eq!(attributes.checksum_algorithm, Some(tessera_proto::ChecksumAlgorithm::Crc32), "{what}");
            }
        }
        Operation::ListParts { upload_id, max_parts, part_number_marker, encoding_url, .. } => {
            assert_eq!(upload_id.as_str(), UPLOAD_ID, "{what}");
            let query = query_of(request);
            assert_eq!(*max_parts, query.contains("max-parts=2").then_some(2), "{what}");
            assert_eq!(*part_number_marker, query.contains("part-number-marker=1").then_some(1), "{what}");
            assert_eq!(*encoding_url, query.contains("encoding-type=url"), "{what}");
        }
        Operation::ListMultipartUploads { listing, key_marker, upload_id_marker, .. } => {
            assert_eq!(listing.prefix.as_deref(), Some("photos/ 2025"), "{what}");
            assert_eq!(listing.max_keys, Some(10), "{what}");
            assert_eq!(listing.delimiter, None, "{what}: an empty delimiter is no delimiter");
            let query = query_of(request);
            assert_eq!(key_marker.as_deref(), query.contains("key-marker=a%2Bb").then_some("a+b"), "{what}");
            assert_eq!(*upload_id_marker, None, "{what}");
            assert_eq!(listing.encoding_url, query.contains("encoding-type=url"), "{what}");
        }
        Operation::CompleteMultipartUpload { upload_id, conditions, complete_all, forbid_overwrite, .. } => {
            assert_eq!(upload_id.as_str(), UPLOAD_ID, "{what}");
            assert_eq!(
                conditions.if_none_match.as_deref(),
                header(pairs, "if-none-match").map(|_| &[EtagCondition::Any][..])
            );
            assert!(!complete_all && !forbid_overwrite, "{what}");
        }
        Operation::AbortMultipartUpload { upload_id, .. } => assert_eq!(upload_id.as_str(), UPLOAD_ID, "{what}"),
        Operation::GetObject { range, part_number, overrides, .. } => {
            assert_eq!((*range, *part_number), (None, None), "{what}");
            let query = query_of(request);
            if query.contains("response-content-disposition") {
                assert_eq!(
                    overrides.content_disposition.as_deref(),
                    Some("attachment; filename=\"x y.txt\""),
                    "{what}"
                );
            } else {
                assert_eq!(overrides.content_disposition, None, "{what}");
            }
        }
        other => panic!("{what}: unexpected {other:?}"),
    }
}

#[test]
fn obs_preflight_is_recognised_for_any_bucket() {
    let map = headers([("Host", &b"examplebucket.obs.mock.local:9000"[..])]);
    let uri: Uri = "/?apiversion".parse().expect("uri");
    let r = route(&uri, &map, &routing()).expect("route");
    assert!(tessera_http::is_obs_apiversion(&Method::HEAD, &r));
    assert!(!tessera_http::is_obs_apiversion(&Method::GET, &r));
    let map = headers([("Host", &b"obs.mock.local:9000"[..])]);
    let r = route(&uri, &map, &routing()).expect("route");
    assert!(r.bucket.is_none());
    assert!(tessera_http::is_obs_apiversion(&Method::HEAD, &r));
    let plain: Uri = "/".parse().expect("uri");
    let r = route(&plain, &map, &routing()).expect("route");
    assert!(!tessera_http::is_obs_apiversion(&Method::HEAD, &r));
    let mut map = map;
    map.insert(http::header::HOST, HeaderValue::from_static("127.0.0.1"));
    let key: Uri = "/examplebucket/k?apiversion".parse().expect("uri");
    let r = route(&key, &map, &routing()).expect("route");
    assert!(!tessera_http::is_obs_apiversion(&Method::HEAD, &r), "an object HEAD is a HeadObject");
}
