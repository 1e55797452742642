//! Arbitrary text into every header-value parser of tessera-proto: storage classes, ACLs,
//! grants, tags, metadata, SSE, dates, ranges, the percent-decoders and the names. Nothing may
//! panic, and values that parse must format and parse back to themselves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_proto::encoding;
use tessera_proto::values::{
    ByteRange, CannedAcl, SseHeaders, SseRequest, StorageClass, TagSet, Timestamp, UserMetadata,
    WebsiteRedirectLocation, format_http_date, parse_grants, parse_http_date, parse_iso8601_basic,
};
use tessera_proto::{BucketName, ChecksumAlgorithm, Dialect, ETag, ObjectKey, PartNumber, UploadId};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let text = text.as_ref();
    let dialect = Dialect::ALL[usize::from(selector) % Dialect::ALL.len()];

    let _ = StorageClass::parse(dialect, text);
    let _ = CannedAcl::parse(dialect, text);
    let _ = WebsiteRedirectLocation::parse(text);
    let _ = parse_grants(text);
    let _ = encoding::EncodingType::parse(text);
    let _ = text.parse::<ChecksumAlgorithm>();
    let _ = BucketName::new(text);
    let _ = UploadId::new(text);
    let _ = text.parse::<PartNumber>();
    let _ = encoding::percent_decode(text);
    let _ = encoding::form_decode(text);

    if let Ok(key) = ObjectKey::new(text) {
        assert_eq!(encoding::url_decode(&encoding::url_encode(key.as_str())).unwrap(), key.as_str());
    }
    if let Ok(etag) = ETag::parse(text) {
        assert!(ETag::parse(&etag.quoted()).unwrap().matches(&etag));
    }
    if let Ok(tags) = TagSet::parse_header(text) {
        assert_eq!(TagSet::parse_header(&tags.to_header()).unwrap(), tags);
    }
    if let Ok(secs) = parse_http_date(text) {
        assert_eq!(parse_http_date(&format_http_date(secs)).unwrap(), secs);
    }
    if let Ok(secs) = parse_iso8601_basic(text) {
        assert_eq!(Timestamp::from_secs(secs).as_secs(), secs);
    }
    if let Ok(t) = Timestamp::parse_iso8601(text) {
        assert_eq!(Timestamp::parse_iso8601(&t.to_string()).unwrap(), t);
    }
    if let Some(range) = ByteRange::parse(text) {
        assert_eq!(ByteRange::parse(&range.to_header()), Some(range));
        for len in [0, 1, 100, u64::MAX] {
            if let Ok(r) = range.resolve(len) {
                assert!(r.first <= r.last && r.last < len);
            }
        }
    }
    let _ = ByteRange::parse_copy_source(text);

    // Lines as `name: value` headers, for metadata and SSE.
    let headers: Vec<(&str, &[u8])> =
        text.lines().filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim(), v.trim().as_bytes())).collect();
    if let Ok(meta) = UserMetadata::collect(dialect, headers.iter().copied()) {
        assert!(meta.size() <= 2048);
    }
    let mut fields = text.split('\n').map(|f| (!f.is_empty()).then_some(f));
    let sse = SseHeaders {
        algorithm: fields.next().flatten(),
        kms_key_id: fields.next().flatten(),
        customer_algorithm: fields.next().flatten(),
        customer_key: fields.next().flatten(),
        customer_key_md5: fields.next().flatten(),
    };
    let _ = SseRequest::from_headers(dialect, &sse);
});
