//! Fixture tests on what the vendors and their SDKs actually send: the sample bodies printed in
//! the vendor documents (`shared/seeds/`) and the requests captured from the official SDKs
//! (`shared/dialects/vectors/`). Missing fixtures fail the test: they are the point.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tessera_proto::values::{
    CannedAcl, SseHeaders, SseRequest, StorageClass, TagSet, UserMetadata, parse_http_date, parse_iso8601_basic,
};
use tessera_proto::xml::{CompleteMultipartUpload, InitiateMultipartUploadResult, XmlError, from_xml, to_xml};
use tessera_proto::{Dialect, ETag, ErrorCode};

fn shared() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(dir.is_dir(), "shared design material not found at {}", dir.display());
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// Every XML sample printed in a seed document: from `<?xml` to the root's closing tag, or to
/// the end of the paragraph when the document's sample is cut short.
fn seed_samples() -> Vec<(String, String)> {
    let dir = shared().join("seeds");
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("seeds directory").map(|e| e.expect("seed entry").path()).collect();
    names.sort();
    let mut samples = Vec::new();
    for path in names {
        let text = read(&path);
        let mut rest = text.as_str();
        while let Some(start) = rest.find("<?xml") {
            let doc = &rest[start..];
            let after_decl = doc.find("?>").map_or(doc, |i| &doc[i + 2..]);
            let root = after_decl.trim_start().strip_prefix('<').and_then(|r| r.split([' ', '>']).next()).unwrap_or("");
            let close = format!("</{root}>");
            let end = match doc.find(&close) {
                Some(i) => i + close.len(),
                None => doc.find("\n\n").unwrap_or(doc.len()),
            };
            samples.push((path.file_name().unwrap().to_string_lossy().into_owned(), doc[..end].to_owned()));
            rest = &doc[end..];
        }
    }
    samples
}

#[test]
fn seed_samples_parse_or_fail_typed() {
    let samples = seed_samples();
    let mut parsed = Vec::new();
    for (file, body) in &samples {
        match from_xml::<InitiateMultipartUploadResult>(body.as_bytes()) {
            Ok(doc) => parsed.push((doc.bucket, doc.key, doc.upload_id)),
            // KS3's page prints `<InitiateMultipartUploadResult xmlns="">` and stops.
            Err(e) => {
                assert!(matches!(e, XmlError::Syntax(_)), "{file}: {e:?}");
                assert_eq!(e.code(), ErrorCode::MalformedXML);
            }
        }
    }
    let expect = |b: &str, k: &str, u: &str| (b.to_owned(), k.to_owned(), u.to_owned());
    assert_eq!(
        parsed,
        [
            // OSS, with a namespace the OSS SDKs would reject in a response; reading accepts it.
            expect("oss-example", "multipart.data", "0004B9894A22E5B1888A1E29F823****"),
            // OBS, with `standalone="yes"` and the OBS namespace.
            expect("BucketName", "ObjectName", "uploadID"),
            expect("bucket01", "objectkey", "DCD2FC98B4F70000013DF578ACA318E7"),
        ]
    );
    assert_eq!(samples.len(), 4, "seed samples changed: {samples:#?}");
}

#[test]
fn seed_samples_written_back_per_dialect() {
    for (_, body) in seed_samples() {
        let Ok(doc) = from_xml::<InitiateMultipartUploadResult>(body.as_bytes()) else { continue };
        for d in Dialect::ALL {
            let xml = to_xml(&doc, d);
            assert_eq!(from_xml::<InitiateMultipartUploadResult>(&xml).unwrap(), doc);
            if matches!(d, Dialect::Oss | Dialect::Cos) {
                assert!(!String::from_utf8(xml).unwrap().contains("xmlns"));
            }
        }
    }
}

struct Case {
    file: String,
    dialect: Dialect,
    name: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn vector_cases() -> Vec<Case> {
    let dir = shared().join("dialects/vectors");
    let files = [
        ("aws_sigv4.json", Dialect::Aws),
        ("aws_sigv2.json", Dialect::Aws),
        ("obs.json", Dialect::Obs),
        ("cos.json", Dialect::Cos),
        ("oss_v1.json", Dialect::Oss),
        ("oss_v4.json", Dialect::Oss),
        ("ks3.json", Dialect::Ks3),
    ];
    let mut cases = Vec::new();
    for (file, dialect) in files {
        let json: Value = serde_json::from_str(&read(&dir.join(file))).expect("vector JSON");
        let list = json["cases"].as_array().unwrap_or_else(|| panic!("{file}: no cases"));
        for case in list {
            let request = &case["request"];
            let headers = request["headers"]
                .as_array()
                .map(|hs| {
                    hs.iter().filter_map(|h| Some((h[0].as_str()?.to_owned(), h[1].as_str()?.to_owned()))).collect()
                })
                .unwrap_or_default();
            cases.push(Case {
                file: file.to_owned(),
                dialect,
                name: case["name"].as_str().unwrap_or("?").to_owned(),
                headers,
                body: request["body_utf8"].as_str().unwrap_or("").to_owned(),
            });
        }
    }
    assert!(cases.len() >= 100, "expected the vectors' 114 cases, found {}", cases.len());
    cases
}

#[test]
fn complete_bodies_from_every_sdk() {
    let first = ETag::parse("0d2d4b8d1c2b5e0b3c5d7a4c6f8e9a0b").unwrap();
    let second = ETag::parse("1e3e5c9e2d3c6f1c4d6e8b5d7a9f0b1c").unwrap();
    let mut seen = 0;
    for case in vector_cases() {
        if !case.body.contains("<CompleteMultipartUpload") {
            continue;
        }
        seen += 1;
        // botocore's carries the S3 namespace, COS's a declaration and `&quot;`, KS3's
        // indentation, oss2's doubled quotes (`""…""`).
        let doc: CompleteMultipartUpload = from_xml(case.body.as_bytes())
            .unwrap_or_else(|e| panic!("{} {}: {e}\n{}", case.file, case.name, case.body));
        let numbers: Vec<u32> = doc.parts.iter().map(|p| p.part_number.get()).collect();
        assert_eq!(numbers, [1, 2], "{} {}", case.file, case.name);
        assert!(doc.parts[0].etag.matches(&first) && doc.parts[1].etag.matches(&second), "{}", case.name);
        // And what we would send as a client reads back the same in every dialect.
        for d in Dialect::ALL {
            assert_eq!(from_xml::<CompleteMultipartUpload>(&to_xml(&doc, d)).unwrap(), doc);
        }
    }
    assert_eq!(seen, 9, "every SDK's Complete body");
}

/// The vectors' frozen time (2025-05-01T12:00:00Z) and AWS's published chunked-upload example
/// (2013-05-24T00:00:00Z).
const KNOWN_TIMES: [u64; 2] = [1_746_100_800, 1_369_353_600];

fn header<'a>(case: &'a Case, name: &str) -> Option<&'a str> {
    case.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[test]
fn header_values_from_every_sdk_parse() {
    let mut checked = 0;
    for case in vector_cases() {
        let d = case.dialect;
        let ctx = format!("{} {}", case.file, case.name);
        if let Some(v) = header(&case, &d.header("storage-class")) {
            StorageClass::parse(d, v).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            checked += 1;
        }
        if let Some(v) = header(&case, d.spec().object_acl_header) {
            CannedAcl::parse(d, v).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            checked += 1;
        }
        if let Some(v) = header(&case, &d.header("tagging")) {
            let tags = TagSet::parse_header(v).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(tags.get("k2"), Some("v 2"), "{ctx}");
            checked += 1;
        }
        if let Some(v) = header(&case, &d.header("server-side-encryption")) {
            let sse = SseHeaders { algorithm: Some(v), ..SseHeaders::default() };
            assert_eq!(SseRequest::from_headers(d, &sse).unwrap(), Some(SseRequest::S3), "{ctx}");
            checked += 1;
        }
        let meta = UserMetadata::collect(d, case.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        if let Some(author) = meta.get("author") {
            // Double spaces survive: values are byte-exact.
            assert!(author == b"Alice  Smith" || author == b"Alice", "{ctx}");
            checked += 1;
        }
        for date_header in ["x-amz-date", "x-oss-date"] {
            if let Some(v) = header(&case, date_header) {
                let secs = parse_iso8601_basic(v).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                assert!(KNOWN_TIMES.contains(&secs), "{ctx}: {v}");
                checked += 1;
            }
        }
        if let Some(v) = header(&case, "date") {
            let secs = parse_http_date(v).unwrap_or_else(|e| panic!("{ctx}: {v:?}: {e}"));
            assert!(KNOWN_TIMES.contains(&secs), "{ctx}: {v}");
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} header values checked");
}
