use proptest::prelude::*;

use super::*;
use crate::values::{Permission, Tag, Timestamp};
use crate::{ETag, PartNumber};

fn written(doc: &impl XmlDocument, d: Dialect) -> String {
    String::from_utf8(to_xml(doc, d)).unwrap()
}

/// Writes `doc` in every dialect and reads it back: encoded fields come back decoded, so the
/// document read equals the one written.
fn assert_round_trips<T: XmlDocument + PartialEq + fmt::Debug>(doc: &T) {
    for d in Dialect::ALL {
        let xml = to_xml(doc, d);
        let back: T = from_xml(&xml).unwrap_or_else(|e| panic!("{d}: {e}\n{}", String::from_utf8_lossy(&xml)));
        assert_eq!(&back, doc, "{d}: {}", String::from_utf8_lossy(&xml));
    }
}

// ---------------------------------------------------------------------------------------
// Strategies.

fn text() -> impl Strategy<Value = String> {
    // Printable text, with XML's special characters and spaces at both ends likely.
    prop_oneof!["\\PC{0,24}", "[ <>&'\"%+/a-z]{0,12}", Just(" padded ".to_owned())]
}

fn any_key() -> impl Strategy<Value = String> {
    // With `encoding-type=url` keys may hold characters XML 1.0 cannot carry.
    prop_oneof![text(), "[\\x00-\\x1f a-z+%]{1,12}"]
}

fn opt<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>> {
    proptest::option::of(s)
}

fn etag() -> impl Strategy<Value = ETag> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(|m| ETag::from_md5(&m)),
        (any::<[u8; 16]>(), 1usize..4).prop_map(|(m, n)| ETag::multipart(std::iter::repeat_n(&m, n))),
    ]
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0..=Timestamp::MAX.as_millis()).prop_map(Timestamp::from_millis)
}

fn part_number() -> impl Strategy<Value = PartNumber> {
    (1u32..=10_000).prop_map(|n| PartNumber::new(n).unwrap())
}

fn checksum() -> impl Strategy<Value = Option<String>> {
    opt("[A-Za-z0-9+/]{4,12}={0,2}")
}

fn owner() -> impl Strategy<Value = Owner> {
    (opt(text()), opt(text())).prop_map(|(id, display_name)| Owner { id, display_name })
}

fn encoding() -> impl Strategy<Value = Option<EncodingType>> {
    opt(Just(EncodingType::Url))
}

fn completed_part() -> impl Strategy<Value = CompletedPart> {
    (part_number(), etag(), checksum(), checksum(), checksum(), checksum(), checksum(), opt("[0-9]{1,20}")).prop_map(
        |(n, e, a, b, c, d, f, g)| CompletedPart {
            checksum_crc32: a,
            checksum_crc32c: b,
            checksum_crc64nvme: c,
            checksum_sha1: d,
            checksum_sha256: f,
            checksum_crc64ecma: g,
            ..CompletedPart::new(n, e)
        },
    )
}

fn part_entry() -> impl Strategy<Value = PartEntry> {
    (part_number(), timestamp(), etag(), any::<u64>(), opt("[0-9]{1,20}"), checksum(), checksum()).prop_map(
        |(n, t, e, size, crc64, a, b)| PartEntry {
            hash_crc64ecma: crc64.clone(),
            checksum_crc64ecma: crc64,
            checksum_crc32: a,
            checksum_sha256: b,
            ..PartEntry::new(n, t, e, size)
        },
    )
}

fn upload_entry() -> impl Strategy<Value = UploadEntry> {
    (any_key(), "[A-Za-z0-9._~-]{1,32}", opt(owner()), opt(owner()), opt(text()), timestamp(), opt(text())).prop_map(
        |(key, upload_id, initiator, owner, storage_class, initiated, checksum_algorithm)| UploadEntry {
            key,
            upload_id,
            initiator,
            owner,
            storage_class,
            initiated,
            checksum_algorithm,
            checksum_type: None,
        },
    )
}

fn object_entry() -> impl Strategy<Value = ObjectEntry> {
    (
        any_key(),
        timestamp(),
        etag(),
        any::<u64>(),
        opt(text()),
        opt(owner()),
        proptest::collection::vec("[A-Z0-9]{3,9}", 0..2),
    )
        .prop_map(|(key, t, e, size, storage_class, owner, algs)| ObjectEntry {
            storage_class,
            owner,
            checksum_algorithm: algs,
            ..ObjectEntry::new(key, t, e, size)
        })
}

fn common_prefixes() -> impl Strategy<Value = Vec<CommonPrefix>> {
    proptest::collection::vec(any_key().prop_map(|prefix| CommonPrefix { prefix }), 0..3)
}

fn version_entry() -> impl Strategy<Value = VersionListEntry> {
    (any::<bool>(), any_key(), "[A-Za-z0-9]{1,8}", any::<bool>(), timestamp(), etag(), any::<u64>()).prop_map(
        |(marker, key, version_id, is_latest, last_modified, etag, size)| {
            let entry = VersionEntry {
                key,
                version_id,
                is_latest,
                last_modified,
                etag: None,
                size: None,
                storage_class: None,
                owner: None,
            };
            if marker {
                VersionListEntry::DeleteMarker(entry)
            } else {
                VersionListEntry::Version(VersionEntry {
                    etag: Some(etag),
                    size: Some(size),
                    storage_class: Some("STANDARD".into()),
                    ..entry
                })
            }
        },
    )
}

fn grantee() -> impl Strategy<Value = Grantee> {
    prop_oneof![
        (text(), opt(text())).prop_map(|(id, display_name)| Grantee::CanonicalUser { id, display_name }),
        text().prop_map(|uri| Grantee::Group { uri }),
        text().prop_map(|email| Grantee::AmazonCustomerByEmail { email }),
    ]
}

fn permission() -> impl Strategy<Value = Permission> {
    proptest::sample::select(Permission::ALL.to_vec())
}

// ---------------------------------------------------------------------------------------
// Round trips.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn initiate_round_trips(bucket in text(), key in any_key(), upload_id in "[A-Za-z0-9._~-]{1,64}", enc in encoding()) {
        let key = if enc.is_none() { key.chars().filter(|c| !c.is_control()).collect() } else { key };
        assert_round_trips(&InitiateMultipartUploadResult { bucket, key, upload_id, encoding_type: enc });
    }

    #[test]
    fn complete_round_trips(parts in proptest::collection::vec(completed_part(), 0..8)) {
        assert_round_trips(&CompleteMultipartUpload { parts });
    }

    #[test]
    fn complete_result_round_trips(
        location in opt(text()), bucket in text(), key in any_key(), e in etag(),
        a in checksum(), b in checksum(), c in checksum(), ty in opt("COMPOSITE|FULL_OBJECT"),
        crc64 in opt("[0-9]{1,20}"), enc in encoding(),
    ) {
        let key = if enc.is_none() { key.chars().filter(|c| !c.is_control()).collect() } else { key };
        assert_round_trips(&CompleteMultipartUploadResult {
            location, bucket, key, etag: e, checksum_crc32: a, checksum_crc32c: b, checksum_crc64nvme: None,
            checksum_sha1: None, checksum_sha256: c, checksum_type: ty, checksum_crc64ecma: crc64, encoding_type: enc,
        });
    }

    #[test]
    fn list_parts_round_trips(
        bucket in text(), key in text(), upload_id in "[A-Za-z0-9]{1,32}", initiator in opt(owner()),
        owner in opt(owner()), storage_class in opt(text()), marker in opt(0u32..10_000),
        next in opt(0u32..10_000), max in opt(any::<u32>()), truncated in any::<bool>(),
        parts in proptest::collection::vec(part_entry(), 0..6), enc in encoding(),
    ) {
        assert_round_trips(&ListPartsResult {
            bucket, key, upload_id, initiator, owner, storage_class, part_number_marker: marker,
            next_part_number_marker: next, max_parts: max, is_truncated: truncated,
            checksum_algorithm: Some("CRC32".into()), checksum_type: None, encoding_type: enc, parts,
        });
    }

    #[test]
    fn list_uploads_round_trips(
        bucket in text(), key_marker in any_key(), upload_id_marker in text(), next_key in opt(any_key()),
        next_id in opt(text()), delimiter in opt(any_key()), prefix in opt(any_key()), max in opt(any::<u32>()),
        truncated in any::<bool>(), uploads in proptest::collection::vec(upload_entry(), 0..5),
        common_prefixes in common_prefixes(),
    ) {
        assert_round_trips(&ListMultipartUploadsResult {
            bucket, key_marker, upload_id_marker, next_key_marker: next_key, next_upload_id_marker: next_id,
            delimiter, prefix, max_uploads: max, is_truncated: truncated, encoding_type: Some(EncodingType::Url),
            uploads, common_prefixes,
        });
    }

    #[test]
    fn list_objects_round_trip(
        name in text(), prefix in any_key(), marker in any_key(), next in opt(any_key()), max in any::<u32>(),
        delimiter in opt(any_key()), truncated in any::<bool>(),
        contents in proptest::collection::vec(object_entry(), 0..5), common_prefixes in common_prefixes(),
        token in opt(text()), next_token in opt(text()), start_after in opt(any_key()), count in any::<u32>(),
    ) {
        assert_round_trips(&ListBucketResult {
            name: name.clone(), prefix: prefix.clone(), marker, next_marker: next, max_keys: max,
            delimiter: delimiter.clone(), is_truncated: truncated, encoding_type: Some(EncodingType::Url),
            contents: contents.clone(), common_prefixes: common_prefixes.clone(),
        });
        assert_round_trips(&ListBucketResultV2 {
            name, prefix, continuation_token: token, next_continuation_token: next_token, start_after,
            key_count: count, max_keys: max, delimiter, is_truncated: truncated,
            encoding_type: Some(EncodingType::Url), contents, common_prefixes,
        });
    }

    #[test]
    fn list_versions_round_trips(
        name in text(), prefix in any_key(), key_marker in any_key(), vid in text(),
        entries in proptest::collection::vec(version_entry(), 0..6), common_prefixes in common_prefixes(),
        truncated in any::<bool>(),
    ) {
        assert_round_trips(&ListVersionsResult {
            name, prefix, key_marker, version_id_marker: vid, next_key_marker: Some("n".into()),
            next_version_id_marker: None, max_keys: 1000, delimiter: Some("/".into()), is_truncated: truncated,
            encoding_type: Some(EncodingType::Url), entries, common_prefixes,
        });
    }

    #[test]
    fn list_buckets_round_trips(
        owner in opt(owner()),
        buckets in proptest::collection::vec((text(), timestamp(), opt(text())), 0..5),
        token in opt(text()),
    ) {
        let buckets = buckets.into_iter().map(|(name, creation_date, bucket_region)| BucketEntry { name, creation_date, bucket_region }).collect();
        assert_round_trips(&ListAllMyBucketsResult { owner, buckets, continuation_token: token, prefix: None });
    }

    #[test]
    fn delete_round_trips(quiet in opt(any::<bool>()), objects in proptest::collection::vec((text(), opt(text())), 0..8)) {
        let objects = objects.into_iter().map(|(key, version_id)| ObjectIdentifier { key, version_id }).collect();
        assert_round_trips(&Delete { quiet, objects });
    }

    #[test]
    fn delete_result_round_trips(
        deleted in proptest::collection::vec((text(), opt(text()), opt(any::<bool>())), 0..5),
        errors in proptest::collection::vec((text(), "[A-Za-z]{1,20}", text()), 0..5),
    ) {
        assert_round_trips(&DeleteResult {
            deleted: deleted.into_iter().map(|(key, version_id, delete_marker)| DeletedObject { key, version_id, delete_marker, delete_marker_version_id: None }).collect(),
            errors: errors.into_iter().map(|(key, code, message)| DeleteError { key, version_id: None, code, message }).collect(),
        });
    }

    #[test]
    fn copy_results_round_trip(t in timestamp(), e in etag(), a in checksum(), ty in opt("COMPOSITE|FULL_OBJECT")) {
        assert_round_trips(&CopyPartResult { checksum_crc32: a.clone(), ..CopyPartResult::new(t, e.clone()) });
        assert_round_trips(&CopyObjectResult { checksum_crc32: a, checksum_type: ty, ..CopyObjectResult::new(t, e) });
    }

    #[test]
    fn tagging_round_trips(tags in proptest::collection::btree_map("\\PC{1,20}", "\\PC{0,30}", 0..=10)) {
        let tags: Vec<Tag> = tags.into_iter().map(|(k, v)| Tag::new(k, v)).collect();
        let doc = Tagging { tags };
        assert_round_trips(&doc);
        prop_assert_eq!(doc.to_object_tags().unwrap().len(), doc.tags.len());
    }

    #[test]
    fn acl_round_trips(owner in owner(), grants in proptest::collection::vec((grantee(), permission()), 0..6)) {
        let grants = grants.into_iter().map(|(grantee, permission)| Grant { grantee, permission }).collect();
        assert_round_trips(&AccessControlPolicy { owner, grants });
    }

    #[test]
    fn bucket_configuration_round_trips(location in opt(text()), region in "[a-z0-9-]{0,20}") {
        assert_round_trips(&CreateBucketConfiguration { location_constraint: location });
        assert_round_trips(&LocationConstraint { region });
    }

    #[test]
    fn lifecycle_round_trips(rules in proptest::collection::vec(
        (opt(text()), opt(text()), opt(opt(text())), any::<bool>(), opt(any::<u32>()), opt(any::<u32>()), opt(timestamp())), 0..5)
    ) {
        let rules = rules.into_iter().map(|(id, prefix, filter, enabled, abort, days, date)| LifecycleRule {
            id,
            prefix,
            filter: filter.map(|prefix| LifecycleFilter { prefix }),
            status: if enabled { LifecycleStatus::Enabled } else { LifecycleStatus::Disabled },
            abort_incomplete_multipart_upload: abort.map(|d| AbortIncompleteMultipartUpload { days_after_initiation: d }),
            expiration: (days.is_some() || date.is_some()).then_some(LifecycleExpiration { days, date, expired_object_delete_marker: None }),
        }).collect();
        assert_round_trips(&LifecycleConfiguration { rules });
    }

    #[test]
    fn sse_configuration_round_trips(rules in proptest::collection::vec((opt(("AES256|aws:kms|KMS", opt(text()))), opt(any::<bool>())), 0..3)) {
        let rules = rules.into_iter().map(|(apply, bucket_key_enabled)| SseRule {
            apply_server_side_encryption_by_default: apply.map(|(sse_algorithm, kms_master_key_id)| ApplyServerSideEncryptionByDefault { sse_algorithm, kms_master_key_id }),
            bucket_key_enabled,
        }).collect();
        assert_round_trips(&ServerSideEncryptionConfiguration { rules });
    }

    #[test]
    fn object_attributes_round_trip(
        e in opt(etag()), a in checksum(), parts in proptest::collection::vec((part_number(), any::<u64>(), checksum()), 0..5),
        total in opt(any::<u32>()), truncated in opt(any::<bool>()), size in opt(any::<u64>()),
    ) {
        assert_round_trips(&GetObjectAttributesOutput {
            etag: e,
            checksum: a.clone().map(|c| GetObjectAttributesChecksum { checksum_crc32: Some(c), checksum_type: Some("COMPOSITE".into()), ..Default::default() }),
            object_parts: Some(GetObjectAttributesParts {
                total_parts_count: total, part_number_marker: Some(0), next_part_number_marker: None, max_parts: Some(1000),
                is_truncated: truncated,
                parts: parts.into_iter().map(|(part_number, size, c)| ObjectPart { part_number, size, checksum_crc32: c, checksum_crc32c: None, checksum_crc64nvme: None, checksum_sha1: None, checksum_sha256: None }).collect(),
            }),
            storage_class: Some("STANDARD".into()),
            object_size: size,
        });
    }

    #[test]
    fn error_round_trips(code in "[A-Za-z]{1,30}", message in text(), resource in opt(text()), request_id in opt(text()),
        host_id in opt(text()), ec in opt(text()), trace_id in opt(text()),
        extras in proptest::collection::vec(("[A-Z][A-Za-z0-9]{0,12}", text()), 0..4)) {
        let mut doc = ErrorDocument::new(ErrorCode::from_code(&code));
        doc.message = message;
        doc.resource = resource;
        doc.request_id = request_id;
        doc.host_id = host_id;
        doc.ec = ec;
        doc.trace_id = trace_id;
        for (name, value) in extras {
            doc.push_extra(&name, value);
        }
        for d in Dialect::ALL {
            let xml = to_xml(&doc, d);
            let back: ErrorDocument = from_xml(&xml).unwrap();
            prop_assert_eq!(back, doc.to_wire(d).into_owned());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        parse_everything(&body);
    }

    #[test]
    fn arbitrary_markup_never_panics(body in "(<(Delete|Object|Key|Error|Code|Tagging|TagSet|Tag|Value|[A-Za-z:]{1,8})( [a-z:]{1,5}=\"[^\"]{0,5}\")?/?>|</(Delete|Object|Key|Error|Code|Tagging|TagSet|Tag|Value|[A-Za-z:]{1,8})>|&[a-z#0-9]{1,5};|[^<&]{0,8}|<!DOCTYPE a>|<!--x-->|<\\?x\\?>){0,24}") {
        parse_everything(body.as_bytes());
    }
}

/// Reads a `T` from `body`; when that succeeds, the document must write and read back to
/// itself in every dialect (the fuzz target's oracle). Returns whether `body` was accepted.
fn accepted_and_round_trips<T: XmlDocument + PartialEq + fmt::Debug>(body: &[u8]) -> bool {
    let Ok(doc) = from_xml::<T>(body) else { return false };
    for d in Dialect::ALL {
        let written = to_xml(&doc, d);
        let back = from_xml::<T>(&written)
            .unwrap_or_else(|e| panic!("{d}: own output rejected: {e}\n{}", String::from_utf8_lossy(&written)));
        assert!(
            back == doc || back == doc.to_wire(d).into_owned(),
            "{d}: {doc:?} became {back:?}\nread from {:?}",
            String::from_utf8_lossy(body)
        );
    }
    true
}

/// Feeds `body` to every parser; returns how many accepted it.
fn parse_everything(body: &[u8]) -> usize {
    [
        accepted_and_round_trips::<InitiateMultipartUploadResult>(body),
        accepted_and_round_trips::<CompleteMultipartUpload>(body),
        accepted_and_round_trips::<CompleteMultipartUploadResult>(body),
        accepted_and_round_trips::<ListPartsResult>(body),
        accepted_and_round_trips::<ListMultipartUploadsResult>(body),
        accepted_and_round_trips::<CopyPartResult>(body),
        accepted_and_round_trips::<CopyObjectResult>(body),
        accepted_and_round_trips::<ErrorDocument>(body),
        accepted_and_round_trips::<ListBucketResult>(body),
        accepted_and_round_trips::<ListBucketResultV2>(body),
        accepted_and_round_trips::<ListVersionsResult>(body),
        accepted_and_round_trips::<ListAllMyBucketsResult>(body),
        accepted_and_round_trips::<Delete>(body),
        accepted_and_round_trips::<DeleteResult>(body),
        accepted_and_round_trips::<Tagging>(body),
        accepted_and_round_trips::<AccessControlPolicy>(body),
        accepted_and_round_trips::<CreateBucketConfiguration>(body),
        accepted_and_round_trips::<LocationConstraint>(body),
        accepted_and_round_trips::<LifecycleConfiguration>(body),
        accepted_and_round_trips::<ServerSideEncryptionConfiguration>(body),
        accepted_and_round_trips::<GetObjectAttributesOutput>(body),
    ]
    .into_iter()
    .filter(|ok| *ok)
    .count()
}

/// Documents each parser accepts, with the text in awkward places: the oracle must hold.
#[test]
fn accepted_documents_round_trip() {
    let bodies = [
        "<Error><Code>C</Code><Message> </Message><Key>&#9;tab&#13;</Key></Error>",
        "<Delete><Object><Key> </Key></Object><Object><Key>&#x1;</Key></Object></Delete>",
        "<Tagging><TagSet><Tag><Key>k</Key><Value>  </Value></Tag></TagSet></Tagging>",
        "<Delete><Object><Key>nel\u{85}ls\u{2028}&#133;&#8232;&#13;</Key></Object></Delete>",
        "<Delete><Object><Key><![CDATA[a\u{85}<b>&amp;]]></Key></Object></Delete>",
        "<LocationConstraint>  eu-west-1 </LocationConstraint>",
        "<LocationConstraint><![CDATA[ ]]></LocationConstraint>",
        "<ListBucketResult><Name>b</Name><EncodingType>url</EncodingType><Prefix>a+b%2F%zz</Prefix></ListBucketResult>",
        "<InitiateMultipartUploadResult><Bucket/><Key>a\r\nb</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>",
    ];
    let accepted: usize = bodies.iter().map(|b| parse_everything(b.as_bytes())).sum();
    assert!(accepted >= bodies.len() - 1, "{accepted}");
}

/// One valid document of each kind, to mutate.
const SEEDS: [&str; 20] = [
    r##"<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"##,
    r##"<GetObjectAttributesResponse><ETag>x</ETag><ObjectParts><TotalPartsCount>1</TotalPartsCount><Part><PartNumber>1</PartNumber><Size>1</Size></Part></ObjectParts><ObjectSize>1</ObjectSize></GetObjectAttributesResponse>"##,
    r##"<ListAllMyBucketsResult><Owner><ID>o</ID></Owner><Buckets><Bucket><Name>b</Name><CreationDate>2025-05-01T12:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"##,
    r##"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"0d2d4b8d1c2b5e0b3c5d7a4c6f8e9a0b"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><PartNumber>2</PartNumber><ETag>&quot;1e3e5c9e2d3c6f1c4d6e8b5d7a9f0b1c&quot;</ETag></Part></CompleteMultipartUpload>"##,
    r##"<CopyObjectResult><LastModified>2025-05-01T12:00:00.000Z</LastModified><ETag>"x"</ETag></CopyObjectResult>"##,
    r##"<CopyPartResult><LastModified>2025-05-01T12:00:00.000Z</LastModified><ETag>"x"</ETag></CopyPartResult>"##,
    r##"<CreateBucketConfiguration><LocationConstraint>eu</LocationConstraint></CreateBucketConfiguration>"##,
    r##"<Delete><Quiet>true</Quiet><Object><Key> k </Key><VersionId>v</VersionId></Object></Delete>"##,
    r##"<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>c</Code><Message>m</Message></Error></DeleteResult>"##,
    r##"<Error><Code>NoSuchKey</Code><Message>m</Message><Key>k</Key><RequestId>r</RequestId><EC>0</EC></Error>"##,
    r##"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>a%20b</Key><UploadId>u</UploadId><EncodingType>url</EncodingType></InitiateMultipartUploadResult>"##,
    r##"<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>p</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>"##,
    r##"<ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>1</NextPartNumberMarker><MaxParts>1</MaxParts><IsTruncated>true</IsTruncated><Part><PartNumber>1</PartNumber><LastModified>2025-05-01T12:00:00.000Z</LastModified><ETag>"x"</ETag><Size>5</Size><HashCrc64ecma>1</HashCrc64ecma></Part></ListPartsResult>"##,
    r##"<ListBucketResult><Name>b</Name><Prefix/><Marker/><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>k</Key><LastModified>2025-05-01T12:00:00.000Z</LastModified><ETag>"x"</ETag><Size>1</Size><Owner><ID>o</ID></Owner></Contents><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>"##,
    r##"<LocationConstraint>eu-west-1</LocationConstraint>"##,
    r##"<s3:Delete xmlns:s3="urn:x"><s3:Object><s3:Key>k&#13;</s3:Key></s3:Object></s3:Delete>"##,
    r##"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"##,
    r##"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"##,
    r##"<ListMultipartUploadsResult><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker/><EncodingType>url</EncodingType><Upload><Key>a+b</Key><UploadId>u</UploadId><Initiated>2025-05-01T12:00:00Z</Initiated></Upload><CommonPrefixes><Prefix>p%2F</Prefix></CommonPrefixes></ListMultipartUploadsResult>"##,
    r##"<ListVersionsResult><Name>b</Name><Version><Key>k</Key><VersionId>1</VersionId><IsLatest>true</IsLatest><LastModified>2025-05-01T12:00:00.000Z</LastModified><ETag>"x"</ETag><Size>1</Size></Version><DeleteMarker><Key>k</Key><VersionId>2</VersionId><IsLatest>false</IsLatest><LastModified>2025-05-01T12:00:00.000Z</LastModified></DeleteMarker></ListVersionsResult>"##,
];

#[test]
fn every_seed_is_accepted_by_its_parser() {
    for seed in SEEDS {
        assert_eq!(parse_everything(seed.as_bytes()), 1 + usize::from(seed.starts_with("<ListBucketResult")), "{seed}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Coverage-blind fuzzing that runs with the tests: valid documents with bytes flipped,
    /// inserted and removed. Nothing panics; whatever still parses round-trips.
    #[test]
    fn mutated_documents_never_panic(
        seed in proptest::sample::select(SEEDS.to_vec()),
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), 0u8..3, prop_oneof![any::<u8>(), proptest::sample::select(b"<>/&;\"'= #x0123456789:".to_vec())]), 1..8),
    ) {
        let mut body = seed.as_bytes().to_vec();
        for (at, op, byte) in edits {
            let i = at.index(body.len() + 1);
            match op {
                0 if i < body.len() => body[i] = byte,
                1 => body.insert(i, byte),
                _ if i < body.len() => { body.remove(i); }
                _ => {}
            }
        }
        parse_everything(&body);
    }
}

// ---------------------------------------------------------------------------------------
// Namespaces, encoding, element spellings.

fn sample_initiate() -> InitiateMultipartUploadResult {
    InitiateMultipartUploadResult {
        bucket: "examplebucket".into(),
        key: "a b/c+d%e".into(),
        upload_id: "UPLOADID0123456789abcdef.-_~".into(),
        encoding_type: None,
    }
}

#[test]
fn namespaces_per_dialect() {
    let doc = sample_initiate();
    for (d, ns) in [
        (Dialect::Aws, Some("http://s3.amazonaws.com/doc/2006-03-01/")),
        (Dialect::Ks3, Some("http://s3.amazonaws.com/doc/2006-03-01/")),
        (Dialect::Obs, Some("http://obs.myhwclouds.com/doc/2015-06-30/")),
        (Dialect::Oss, None),
        (Dialect::Cos, None),
    ] {
        let xml = written(&doc, d);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult"), "{xml}");
        match ns {
            Some(ns) => assert!(xml.contains(&format!("<InitiateMultipartUploadResult xmlns=\"{ns}\">")), "{xml}"),
            None => assert!(!xml.contains("xmlns"), "{d} must not carry a namespace: {xml}"),
        }
    }
    // Error bodies never carry one.
    for d in Dialect::ALL {
        assert!(!written(&ErrorDocument::new(ErrorCode::NoSuchUpload), d).contains("xmlns"));
    }
}

#[test]
fn oss_documents_have_no_namespace_anywhere() {
    let acl = AccessControlPolicy {
        owner: Owner::default(),
        grants: vec![Grant { grantee: Grantee::Group { uri: "u".into() }, permission: Permission::Read }],
    };
    // The only namespace an OSS document carries is the xsi one a Grantee needs.
    let xml = written(&acl, Dialect::Oss);
    assert!(!xml.contains("xmlns=\""), "{xml}");
    let parts = ListPartsResult { bucket: "b".into(), key: "k".into(), upload_id: "u".into(), ..Default::default() };
    assert!(!written(&parts, Dialect::Oss).contains("xmlns"));
}

#[test]
fn element_spellings() {
    let t = Timestamp::from_secs(1_746_100_800);
    let etag = ETag::parse("0d2d4b8d1c2b5e0b3c5d7a4c6f8e9a0b").unwrap();
    let mut part = PartEntry::new(PartNumber::new(3).unwrap(), t, etag.clone(), 102_400);
    part.hash_crc64ecma = Some("12345".into());
    let doc = ListPartsResult {
        bucket: "b".into(),
        key: "k".into(),
        upload_id: "u".into(),
        part_number_marker: Some(0),
        next_part_number_marker: Some(3),
        max_parts: Some(1000),
        is_truncated: false,
        parts: vec![part],
        ..Default::default()
    };
    let xml = written(&doc, Dialect::Oss);
    for needle in [
        "<PartNumberMarker>0</PartNumberMarker>",
        "<NextPartNumberMarker>3</NextPartNumberMarker>",
        "<IsTruncated>false</IsTruncated>",
        "<LastModified>2025-05-01T12:00:00.000Z</LastModified>",
        "<ETag>\"0d2d4b8d1c2b5e0b3c5d7a4c6f8e9a0b\"</ETag>",
        "<HashCrc64ecma>12345</HashCrc64ecma>",
        "<Size>102400</Size>",
    ] {
        assert!(xml.contains(needle), "{needle} missing from {xml}");
    }
    let complete = CompleteMultipartUploadResult {
        location: None,
        bucket: "b".into(),
        key: "k".into(),
        etag: ETag::parse("0d2d4b8d1c2b5e0b3c5d7a4c6f8e9a0b-2").unwrap(),
        checksum_crc32: None,
        checksum_crc32c: None,
        checksum_crc64nvme: None,
        checksum_sha1: None,
        checksum_sha256: None,
        checksum_type: None,
        checksum_crc64ecma: Some("987654321".into()),
        encoding_type: None,
    };
    let xml = written(&complete, Dialect::Ks3);
    assert!(xml.contains("<ChecksumCRC64ECMA>987654321</ChecksumCRC64ECMA>"), "{xml}");
    assert!(xml.contains("<ETag>\"0d2d4b8d1c2b5e0b3c5d7a4c6f8e9a0b-2\"</ETag>"), "{xml}");
    let attrs = GetObjectAttributesOutput { etag: Some(etag), ..Default::default() };
    assert!(written(&attrs, Dialect::Aws).contains("<ETag>0d2d4b8d1c2b5e0b3c5d7a4c6f8e9a0b</ETag>"));
    let cos_error = written(&ErrorDocument::new(ErrorCode::NoSuchUpload), Dialect::Cos);
    for needle in ["<Code>NoSuchUpload</Code>", "<Message>", "<Resource/>", "<RequestId/>"] {
        assert!(cos_error.contains(needle), "{needle} missing from {cos_error}");
    }
    let mut oss_error = ErrorDocument::new(ErrorCode::AccessDenied);
    oss_error.ec = Some("0002-00000001".into());
    let xml = written(&oss_error, Dialect::Oss);
    assert!(xml.contains("<EC>0002-00000001</EC>") && xml.contains("<HostId/>") && !xml.contains("<Resource"), "{xml}");
}

#[test]
fn url_encoding_is_applied_once_by_the_writer() {
    let mut doc = sample_initiate();
    doc.encoding_type = Some(EncodingType::Url);
    let xml = written(&doc, Dialect::Oss);
    assert!(xml.contains("<Key>a%20b/c%2Bd%25e</Key>"), "{xml}");
    assert!(xml.contains("<EncodingType>url</EncodingType>"), "{xml}");
    assert_eq!(from_xml::<InitiateMultipartUploadResult>(xml.as_bytes()).unwrap(), doc);
    // Without the element nothing is encoded (OSS SDKs decode only when it is present).
    doc.encoding_type = None;
    assert!(written(&doc, Dialect::Oss).contains("<Key>a b/c+d%e</Key>"));

    let listing = ListMultipartUploadsResult {
        bucket: "b".into(),
        key_marker: "m m".into(),
        prefix: Some("p+".into()),
        delimiter: Some("/".into()),
        encoding_type: Some(EncodingType::Url),
        uploads: vec![UploadEntry {
            key: "文件".into(),
            upload_id: "u".into(),
            initiator: None,
            owner: None,
            storage_class: None,
            initiated: Timestamp::from_secs(0),
            checksum_algorithm: None,
            checksum_type: None,
        }],
        common_prefixes: vec![CommonPrefix { prefix: "a b/".into() }],
        ..Default::default()
    };
    let xml = written(&listing, Dialect::Cos);
    for needle in [
        "<KeyMarker>m%20m</KeyMarker>",
        "<Prefix>p%2B</Prefix>",
        "<Key>%E6%96%87%E4%BB%B6</Key>",
        "<Prefix>a%20b/</Prefix>",
        "<Delimiter>/</Delimiter>",
    ] {
        assert!(xml.contains(needle), "{needle} missing from {xml}");
    }
    // A server that writes a space as `+` (S3) is read correctly too.
    let s3_style = "<ListBucketResult><Name>b</Name><EncodingType>url</EncodingType><Contents><Key>a+b%2Bc</Key><LastModified>2025-05-01T12:00:00.000Z</LastModified><ETag>\"x\"</ETag><Size>1</Size></Contents></ListBucketResult>";
    let parsed: ListBucketResult = from_xml(s3_style.as_bytes()).unwrap();
    assert_eq!(parsed.contents[0].key, "a b+c");
}

#[test]
fn namespaces_and_prefixes_are_ignored_when_reading() {
    let bodies = [
        "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>",
        "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>",
        "<InitiateMultipartUploadResult xmlns=\"\"><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>",
        "<ns2:InitiateMultipartUploadResult xmlns:ns2=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ns2:Bucket>b</ns2:Bucket><ns2:Key>k</ns2:Key><ns2:UploadId>u</ns2:UploadId></ns2:InitiateMultipartUploadResult>",
        "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<!-- c --><InitiateMultipartUploadResult>\n  <Bucket>b</Bucket>\n  <Key><![CDATA[k]]></Key>\n  <UploadId>u</UploadId>\n  <Unknown><Nested/></Unknown>\n</InitiateMultipartUploadResult>\n",
    ];
    for body in bodies {
        let doc: InitiateMultipartUploadResult = from_xml(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!((doc.bucket.as_str(), doc.key.as_str(), doc.upload_id.as_str()), ("b", "k", "u"), "{body}");
    }
}

#[test]
fn text_is_kept_exactly() {
    let body = "<Delete><Quiet>true</Quiet><Object><Key>  two  spaces  </Key></Object><Object><Key>a&amp;b&lt;&#x6587;&#25991;</Key><VersionId>v1</VersionId></Object></Delete>";
    let doc: Delete = from_xml(body.as_bytes()).unwrap();
    assert_eq!(doc.quiet, Some(true));
    assert_eq!(doc.objects[0].key, "  two  spaces  ");
    assert_eq!(doc.objects[1].key, "a&b<文文");
    assert_eq!(doc.objects[1].version_id.as_deref(), Some("v1"));
    // XML 1.0 keeps NEL and LS (quick-xml alone would turn them into LF); CR is normalised.
    let body = "<Delete><Object><Key>a\u{85}b\u{2028}c\r\nd</Key></Object><Object><Key><![CDATA[x\u{85}<y>]]></Key></Object></Delete>";
    let doc: Delete = from_xml(body.as_bytes()).unwrap();
    assert_eq!(doc.objects[0].key, "a\u{85}b\u{2028}c\nd");
    assert_eq!(doc.objects[1].key, "x\u{85}<y>");
}

#[test]
fn acl_reads_the_xsi_type() {
    let body = r#"<AccessControlPolicy><Owner><ID>o</ID><DisplayName>n</DisplayName></Owner><AccessControlList>
        <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>
        <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>
        </AccessControlList></AccessControlPolicy>"#;
    let acl: AccessControlPolicy = from_xml(body.as_bytes()).unwrap();
    assert_eq!(acl.grants.len(), 2);
    assert_eq!(acl.grants[1].grantee, Grantee::Group { uri: "http://acs.amazonaws.com/groups/global/AllUsers".into() });
    assert_eq!(acl.grants[0].permission, Permission::FullControl);
    let xml = written(&acl, Dialect::Aws);
    assert!(
        xml.contains(r#"<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">"#),
        "{xml}"
    );
}

#[test]
fn lifecycle_rule_forms() {
    let body = "<LifecycleConfiguration><Rule><ID>a</ID><Prefix>logs/</Prefix><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule><Rule><Filter><Prefix>tmp/</Prefix></Filter><Status>Disabled</Status><Expiration><Days>30</Days></Expiration></Rule><Rule><Filter/><Status>Enabled</Status></Rule></LifecycleConfiguration>";
    let cfg: LifecycleConfiguration = from_xml(body.as_bytes()).unwrap();
    assert_eq!(cfg.rules[0].effective_prefix(), "logs/");
    assert_eq!(
        cfg.rules[0].abort_incomplete_multipart_upload,
        Some(AbortIncompleteMultipartUpload { days_after_initiation: 7 })
    );
    assert_eq!(cfg.rules[1].effective_prefix(), "tmp/");
    assert_eq!(cfg.rules[1].status, LifecycleStatus::Disabled);
    assert_eq!(cfg.rules[1].expiration.as_ref().and_then(|e| e.days), Some(30));
    assert_eq!(cfg.rules[2].effective_prefix(), "");
    let bad = "<LifecycleConfiguration><Rule><Status>Maybe</Status></Rule></LifecycleConfiguration>";
    assert_eq!(from_xml::<LifecycleConfiguration>(bad.as_bytes()).unwrap_err().code(), ErrorCode::MalformedXML);
}

#[test]
fn interleaved_delete_results_are_read() {
    let body = "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code><Message>no</Message></Error><Deleted><Key>c</Key><DeleteMarker>true</DeleteMarker></Deleted></DeleteResult>";
    let doc: DeleteResult = from_xml(body.as_bytes()).unwrap();
    assert_eq!(doc.deleted.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    assert_eq!(doc.errors[0].code, "AccessDenied");
}

#[test]
fn error_bodies_from_the_vendors() {
    let oss = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>SignatureDoesNotMatch</Code>\n  <Message>The request signature we calculated does not match the signature you provided.</Message>\n  <RequestId>5C3D9175B6FC201293AD****</RequestId>\n  <HostId>test.oss-cn-hangzhou.aliyuncs.com</HostId>\n  <OSSAccessKeyId>LTAI****</OSSAccessKeyId>\n  <SignatureProvided>xx</SignatureProvided>\n  <StringToSign>GET\n\n\nSat, 01 Jan 2000 00:00:00 GMT\n/b/k</StringToSign>\n  <EC>0002-00000040</EC>\n  <RecommendDoc>https://api.aliyun.com/troubleshoot?q=0002-00000040</RecommendDoc>\n</Error>";
    let e: ErrorDocument = from_xml(oss.as_bytes()).unwrap();
    assert_eq!(e.code, ErrorCode::SignatureDoesNotMatch);
    assert_eq!(e.ec.as_deref(), Some("0002-00000040"));
    assert_eq!(e.extra("StringToSign"), Some("GET\n\n\nSat, 01 Jan 2000 00:00:00 GMT\n/b/k"));
    assert_eq!(e.extras().len(), 4);
    let custom = "<Error><Code>InvalidObjectState</Code><Message>m</Message><Key>k</Key></Error>";
    let e: ErrorDocument = from_xml(custom.as_bytes()).unwrap();
    assert_eq!(e.code.as_str(), "InvalidObjectState");
    assert_eq!(e.extra("Key"), Some("k"));
    assert!(from_xml::<ErrorDocument>(b"<Error><Message>m</Message></Error>").is_err());
    let from_value = ErrorDocument::from(InvalidValue::new(ErrorCode::InvalidTag, "bad tag"));
    assert_eq!((from_value.code.as_str(), from_value.message.as_str()), ("InvalidTag", "bad tag"));
    let from_xml_error = ErrorDocument::from(XmlError::Doctype);
    assert_eq!(from_xml_error.code, ErrorCode::MalformedXML);
    let mut doc = ErrorDocument::new(ErrorCode::NoSuchUpload);
    assert!(doc.push_extra("UploadId", "u"));
    assert!(!doc.push_extra("Code", "x"));
    assert!(!doc.push_extra("bad name", "x"));
    assert!(!doc.push_extra("", "x"));
}

// ---------------------------------------------------------------------------------------
// Hostile and malformed input.

fn complete_body(parts: usize) -> String {
    let mut body = String::from("<CompleteMultipartUpload>");
    for n in 1..=parts {
        body.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>\"0d2d4b8d1c2b5e0b3c5d7a4c6f8e9a0b\"</ETag></Part>",
            n.min(10_000)
        ));
    }
    body.push_str("</CompleteMultipartUpload>");
    body
}

fn delete_body(objects: usize) -> String {
    let mut body = String::from("<Delete>");
    for n in 0..objects {
        body.push_str(&format!("<Object><Key>k{n}</Key></Object>"));
    }
    body.push_str("</Delete>");
    body
}

#[test]
fn hostile_documents_give_typed_errors() {
    let deep = format!("<Delete>{}{}</Delete>", "<a>".repeat(100), "</a>".repeat(100));
    let very_deep = "<a>".repeat(1_000_000);
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Delete><Object><Key>&lol9;</Key></Object></Delete>"#;
    let external =
        r#"<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&xxe;</Key></Object></Delete>"#;
    type Case = (&'static str, Vec<u8>, fn(&XmlError) -> bool);
    let cases: Vec<Case> = vec![
        ("deep nesting", deep.into_bytes(), |e| matches!(e, XmlError::TooDeep { .. })),
        ("a million open elements", very_deep.into_bytes(), |e| {
            matches!(e, XmlError::TooLarge { .. } | XmlError::TooDeep { .. })
        }),
        ("billion laughs", laughs.as_bytes().to_vec(), |e| matches!(e, XmlError::Doctype)),
        ("external entity", external.as_bytes().to_vec(), |e| matches!(e, XmlError::Doctype)),
        (
            "undeclared entity",
            b"<Delete><Object><Key>&lol;</Key></Object></Delete>".to_vec(),
            |e| matches!(e, XmlError::UnknownEntity(n) if n == "lol"),
        ),
        ("entity in an attribute", b"<Delete a=\"&x;\"></Delete>".to_vec(), |e| {
            matches!(e, XmlError::UnknownEntity(_))
        }),
        ("1001 objects", delete_body(1001).into_bytes(), |e| {
            matches!(e, XmlError::TooManyItems { element: "Object", limit: 1000 })
        }),
        (
            "wrong root",
            b"<Tagging><TagSet/></Tagging>".to_vec(),
            |e| matches!(e, XmlError::WrongRoot { expected: "Delete", found } if found == "Tagging"),
        ),
        ("two roots", b"<Delete></Delete><Delete></Delete>".to_vec(), |e| matches!(e, XmlError::Syntax(_))),
        ("text after the root", b"<Delete></Delete>junk".to_vec(), |e| matches!(e, XmlError::Syntax(_))),
        ("truncated", b"<Delete><Object><Key>k</Key>".to_vec(), |e| matches!(e, XmlError::Syntax(_))),
        ("mismatched end", b"<Delete><Object></Delete></Object>".to_vec(), |e| matches!(e, XmlError::Syntax(_))),
        ("empty body", Vec::new(), |e| matches!(e, XmlError::Syntax(_))),
        ("only a declaration", b"<?xml version=\"1.0\"?>".to_vec(), |e| matches!(e, XmlError::Syntax(_))),
        ("not UTF-8", b"<Delete><Object><Key>\xff</Key></Object></Delete>".to_vec(), |e| {
            matches!(e, XmlError::NotUtf8)
        }),
        ("NUL character reference", b"<Delete><Object><Key>&#0;</Key></Object></Delete>".to_vec(), |e| {
            matches!(e, XmlError::Syntax(_))
        }),
        ("huge character reference", b"<Delete><Object><Key>&#99999999999;</Key></Object></Delete>".to_vec(), |e| {
            matches!(e, XmlError::Syntax(_))
        }),
        ("object without key", b"<Delete><Object><VersionId>v</VersionId></Object></Delete>".to_vec(), |e| {
            matches!(e, XmlError::Schema(_))
        }),
        ("non-boolean Quiet", b"<Delete><Quiet>perhaps</Quiet></Delete>".to_vec(), |e| {
            matches!(e, XmlError::Schema(_))
        }),
    ];
    for (name, body, expected) in cases {
        let err = from_xml::<Delete>(&body).expect_err(name);
        assert!(expected(&err), "{name}: got {err:?}");
        assert_eq!(err.code(), ErrorCode::MalformedXML, "{name}");
    }
}

#[test]
fn hostile_complete_requests() {
    let ok: CompleteMultipartUpload = from_xml(complete_body(10_000).as_bytes()).unwrap();
    assert_eq!(ok.parts.len(), 10_000);
    let cases: Vec<(&str, String)> = vec![
        ("10 001 parts", complete_body(10_001)),
        ("non-numeric part number", "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>\"e\"</ETag></Part></CompleteMultipartUpload>".into()),
        ("part number 0", "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>\"e\"</ETag></Part></CompleteMultipartUpload>".into()),
        ("part number 10 001", "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>\"e\"</ETag></Part></CompleteMultipartUpload>".into()),
        ("negative part number", "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>\"e\"</ETag></Part></CompleteMultipartUpload>".into()),
        ("missing ETag", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>".into()),
        ("empty ETag", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag></ETag></Part></CompleteMultipartUpload>".into()),
        ("nested part number", "<CompleteMultipartUpload><Part><PartNumber><x>1</x></PartNumber><ETag>\"e\"</ETag></Part></CompleteMultipartUpload>".into()),
        ("wrong root", "<CompleteMultipartUploadResult/>".into()),
    ];
    for (name, body) in cases {
        let err = from_xml::<CompleteMultipartUpload>(body.as_bytes()).expect_err(name);
        assert_eq!(err.code(), ErrorCode::MalformedXML, "{name}: {err:?}");
    }
}

#[test]
fn every_truncation_of_a_valid_document_is_an_error() {
    let body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><PartNumber>1</PartNumber><ETag>\"0d2d4b8d1c2b5e0b3c5d7a4c6f8e9a0b\"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>";
    assert!(from_xml::<CompleteMultipartUpload>(body.as_bytes()).is_ok());
    for end in 0..body.len() {
        assert!(from_xml::<CompleteMultipartUpload>(&body.as_bytes()[..end]).is_err(), "accepted {:?}", &body[..end]);
    }
}

#[test]
fn many_attributes_are_refused_quickly() {
    // quick-xml's duplicate-attribute check is quadratic; four hundred thousand (under the size cap) must not be.
    let attrs: String = (0..400_000).map(|i| format!(" a{i}=\"\"")).collect();
    let body = format!("<Delete{attrs}></Delete>");
    let started = std::time::Instant::now();
    let err = from_xml::<Delete>(body.as_bytes()).unwrap_err();
    assert!(matches!(err, XmlError::Syntax(_)), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(from_xml::<Delete>(b"<Delete a=\"1\" b=\"2\"><Object><Key>k</Key></Object></Delete>").is_ok());
}

#[test]
fn limits_are_enforced() {
    let small = XmlLimits { max_bytes: 64, max_depth: 3, max_elements: 4 };
    let err = from_xml_with_limits::<Delete>(delete_body(3).as_bytes(), small).unwrap_err();
    assert_eq!(err, XmlError::TooLarge { limit: 64 });
    let roomy = XmlLimits { max_bytes: 1 << 20, ..small };
    let err = from_xml_with_limits::<Delete>(delete_body(3).as_bytes(), roomy).unwrap_err();
    assert_eq!(err, XmlError::TooManyElements { limit: 4 });
    assert!(from_xml_with_limits::<Delete>(delete_body(1).as_bytes(), roomy).is_ok());
    let err = from_xml::<Delete>(&vec![b' '; XmlLimits::DEFAULT.max_bytes + 1]).unwrap_err();
    assert!(matches!(err, XmlError::TooLarge { .. }));
}

#[test]
fn invalid_tags_answer_invalid_tag() {
    let many = (0..51).map(|i| format!("<Tag><Key>k{i}</Key><Value>v</Value></Tag>")).collect::<String>();
    let body = format!("<Tagging><TagSet>{many}</TagSet></Tagging>");
    assert_eq!(from_xml::<Tagging>(body.as_bytes()).unwrap_err().code(), ErrorCode::InvalidTag);
    let dup = "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>";
    assert_eq!(from_xml::<Tagging>(dup.as_bytes()).unwrap_err().code(), ErrorCode::InvalidTag);
    let eleven = (0..11).map(|i| format!("<Tag><Key>k{i}</Key><Value>v</Value></Tag>")).collect::<String>();
    let doc: Tagging = from_xml(format!("<Tagging><TagSet>{eleven}</TagSet></Tagging>").as_bytes()).unwrap();
    assert_eq!(doc.to_object_tags().unwrap_err().code, ErrorCode::InvalidTag);
    let err: InvalidValue = from_xml::<Tagging>(dup.as_bytes()).unwrap_err().into();
    assert_eq!(err.code, ErrorCode::InvalidTag);
}

// ---------------------------------------------------------------------------------------
// The plain-form reader of <CompleteMultipartUpload> answers as the general reader does.

/// Both readers on `body`: the same document, or errors with the same code.
fn assert_plain_agrees(body: &[u8], limits: XmlLimits) {
    let fast = from_xml_with_limits::<CompleteMultipartUpload>(body, limits);
    let general = from_xml_general::<CompleteMultipartUpload>(body, limits);
    match (&fast, &general) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", String::from_utf8_lossy(body)),
        (Err(a), Err(b)) => assert_eq!(a.code(), b.code(), "{a} / {b}: {}", String::from_utf8_lossy(body)),
        _ => panic!("plain {fast:?}, general {general:?}: {:?}", String::from_utf8_lossy(body)),
    }
}

fn plain_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,6}",
        Just("0007".to_owned()),
        Just(" 12 ".to_owned()),
        "\"[0-9a-f]{32}\"",
        "\"[0-9a-f]{32}-[0-9]{1,3}\"",
        "[0-9a-f]{32}",
        "[A-Za-z0-9+/]{6,12}={0,2}",
        Just("&quot;0123456789abcdef0123456789abcdef&quot;".to_owned()),
        Just(String::new()),
        "\\PC{0,8}",
        "[ \t\r\n<>&'\"a-z0-9]{0,10}",
    ]
}

fn child() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        4 => Just("PartNumber"),
        4 => Just("ETag"),
        1 => Just("ChecksumCRC32"),
        1 => Just("ChecksumCRC32C"),
        1 => Just("ChecksumCRC64NVME"),
        1 => Just("ChecksumSHA1"),
        1 => Just("ChecksumSHA256"),
        1 => Just("ChecksumCRC64ECMA"),
        1 => Just("Other"),
        1 => Just("partnumber"),
    ];
    (name.prop_map(str::to_owned), plain_value())
}

fn space() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        8 => proptest::sample::select(vec!["", " ", "\n  ", "\r\n\t"]),
        1 => proptest::sample::select(vec!["\u{a0}", "<!-- c -->", "x", "&amp;"]),
    ]
}

/// The children of a part as SDKs write them: a number, an ETag, maybe checksums, in any
/// order.
fn plain_children() -> impl Strategy<Value = Vec<(String, String)>> {
    let number = prop_oneof!["[1-9][0-9]{0,3}", "0{0,2}[1-9]{1,3}", Just("10000".to_owned()), Just("0".to_owned())];
    let etag = prop_oneof!["\"[0-9a-f]{32}\"", "\"[0-9a-f]{32}-[0-9]{1,2}\"", "[0-9a-f]{32}", "W/\"[0-9a-f]{8}\""];
    let sums = proptest::collection::vec(
        (
            proptest::sample::select(vec!["ChecksumCRC32", "ChecksumSHA256", "ChecksumCRC64ECMA", "ChecksumCRC32C"]),
            "[A-Za-z0-9+/]{6,12}={0,2}",
        ),
        0..3,
    );
    (number, etag, sums, any::<prop::sample::Index>()).prop_map(|(number, etag, sums, at)| {
        let mut children = vec![("PartNumber".to_owned(), number), ("ETag".to_owned(), etag)];
        children.extend(sums.into_iter().map(|(n, v)| (n.to_owned(), v)));
        let len = children.len();
        children.rotate_left(at.index(len));
        children
    })
}

/// A `<CompleteMultipartUpload>` of the plain form SDKs send, with every kind of deviation
/// from it likely, then perhaps one byte changed.
fn complete_document() -> impl Strategy<Value = Vec<u8>> {
    let head = prop_oneof![
        4 => proptest::sample::select(vec!["", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<?xml version='1.0'?>\n"]),
        1 => proptest::sample::select(vec!["\u{feff}", " <?xml version=\"1.0\"?>", "<?xml?>", "<!DOCTYPE x>", "<?xml-x?>"]),
    ];
    let root = prop_oneof![
        4 => proptest::sample::select(vec![
            "<CompleteMultipartUpload>",
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
        ]),
        1 => proptest::sample::select(vec![
            "<CompleteMultipartUpload xmlns=\"\">",
            "<s3:CompleteMultipartUpload xmlns:s3=\"urn:x\">",
            "<CompleteMultipartUpload a=\"b\">",
            "<CompleteMultipartUpload  xmlns=\"x\" >",
            "<Complete>",
        ]),
    ];
    let children = prop_oneof![
        3 => (plain_children(), space()).prop_map(|(c, sp)| c.into_iter().map(|c| (sp, c)).collect::<Vec<_>>()),
        1 => proptest::collection::vec((space(), child()), 0..5),
    ];
    let part = (children, space(), prop::bool::weighted(0.05));
    let parts = proptest::collection::vec(part, 0..6);
    let mutation = prop_oneof![
        2 => Just(None),
        1 => any::<(prop::sample::Index, u8, bool)>().prop_map(Some),
    ];
    (head, root, parts, space(), mutation).prop_map(|(head, root, parts, tail, mutation)| {
        let mut doc = format!("{head}{root}");
        for (children, close_space, attr) in parts {
            doc.push_str(if attr { "<Part x=\"1\">" } else { "<Part>" });
            for (sp, (name, value)) in children {
                doc.push_str(sp);
                doc.push_str(&format!("<{name}>{value}</{name}>"));
            }
            doc.push_str(close_space);
            doc.push_str("</Part>");
        }
        let close = if root.starts_with("<s3:") {
            "</s3:CompleteMultipartUpload>"
        } else if root == "<Complete>" {
            "</Complete>"
        } else {
            "</CompleteMultipartUpload>"
        };
        doc.push_str(tail);
        doc.push_str(close);
        let mut bytes = doc.into_bytes();
        if let Some((at, byte, insert)) = mutation {
            let i = at.index(bytes.len() + 1);
            if insert {
                bytes.insert(i, byte);
            } else if i < bytes.len() {
                bytes[i] = byte;
            }
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn plain_complete_reader_agrees_with_the_general_reader(body in complete_document()) {
        assert_plain_agrees(&body, XmlLimits::DEFAULT);
        // Tight limits: the plain reader must leave their errors to the general reader.
        assert_plain_agrees(&body, XmlLimits { max_bytes: 200, max_depth: 2, max_elements: 5 });
    }
}

#[test]
fn the_plain_reader_takes_what_sdks_send() {
    let etag = "\"0123456789abcdef0123456789abcdef\"";
    let compact = format!(
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><ETag>{etag}</ETag><PartNumber>1</PartNumber></Part><Part><ETag>{etag}</ETag><PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>"
    );
    let pretty = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUpload>\n  <Part>\n    <PartNumber>1</PartNumber>\n    <ETag>{etag}</ETag>\n  </Part>\n</CompleteMultipartUpload>\n"
    );
    for doc in [&compact, &pretty] {
        let plain = CompleteMultipartUpload::read_plain(doc, XmlLimits::DEFAULT);
        let plain = plain.expect("the plain reader recognises it").unwrap();
        assert_eq!(plain, from_xml_general::<CompleteMultipartUpload>(doc.as_bytes(), XmlLimits::DEFAULT).unwrap());
        assert_eq!(plain.parts[0].part_number, PartNumber::new(1).unwrap());
    }
    // 10 001 parts: the list's own limit, the same error either way.
    let mut big = String::from("<CompleteMultipartUpload>");
    for n in 1..=10_001 {
        big.push_str(&format!("<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>", n.min(10_000)));
    }
    big.push_str("</CompleteMultipartUpload>");
    assert!(CompleteMultipartUpload::read_plain(&big, XmlLimits::DEFAULT).is_some());
    assert_plain_agrees(big.as_bytes(), XmlLimits::DEFAULT);
}
