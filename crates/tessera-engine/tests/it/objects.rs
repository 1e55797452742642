//! Objects: put/get/head, ranges and parts, conditions, delete, copy, tagging, ACL, attributes.

use bytes::Bytes;
use tessera_engine::RequestBody;
use tessera_proto::ops::{
    AclRequest, Conditions, CopySource, Document, EtagCondition, MetadataDirective, ObjectAttributes, Operation,
    Output, Principal,
};
use tessera_proto::values::{ByteRange, CannedAcl, SseRequest, StorageClass, TagSet, UserMetadata};
use tessera_proto::{Dialect, ErrorCode};
use tessera_store::Store;

use crate::both;
use crate::multipart::head_op;
use crate::util::*;

async fn put_get_head_keep_every_attribute<S: Store>(h: H<S>) {
    h.mkbucket("attrs").await;
    let body = data(1000, 1);
    let mut attributes = ObjectAttributes::default();
    attributes.content.cache_control = Some("no-cache".into());
    attributes.metadata = UserMetadata::collect(
        Dialect::Cos,
        [("x-cos-meta-note", "ü é 文件".as_bytes()), ("x-cos-meta-raw", &b"\xfc latin1"[..])],
    )
    .unwrap();
    attributes.storage_class = Some(StorageClass::parse(Dialect::Cos, "standard_ia").unwrap());
    attributes.tagging = Some(TagSet::parse_header("a=1&b=two").unwrap());
    attributes.sse = Some(SseRequest::S3);
    let op = Operation::PutObject {
        bucket: bucket("attrs"),
        key: key("dir/obj"),
        attributes,
        conditions: Conditions::default(),
        forbid_overwrite: false,
        content_length: 1000,
        length_unknown: false,
    };
    let out = h.run(op, &alice(), Dialect::Cos, payload(&body)).await.unwrap();
    let Output::ObjectWritten { etag, crc64ecma, sse, .. } = out.output else { panic!() };
    assert_eq!(etag, md5_etag(&body));
    assert_eq!(crc64ecma, crc64(&body));
    assert_eq!(sse, Some(tessera_proto::ops::SseResponse::S3));
    let (out, bytes) = h.get_as(h.get_op("attrs", "dir/obj"), &alice()).await.unwrap();
    assert_eq!(bytes, body);
    let Output::Object { head, range, .. } = out else { panic!() };
    assert_eq!(range, None);
    assert_eq!(head.etag, etag);
    assert_eq!(head.size, 1000);
    assert_eq!(head.content.content_type.as_deref(), Some("binary/octet-stream"));
    assert_eq!(head.content.cache_control.as_deref(), Some("no-cache"));
    assert_eq!(head.metadata.get("note"), Some("ü é 文件".as_bytes()));
    assert_eq!(head.metadata.get("raw"), Some(&b"\xfc latin1"[..]));
    assert_eq!(head.storage_class.map(|s| s.as_str()), Some("STANDARD_IA"));
    assert_eq!(head.tag_count, 2);
    assert_eq!(head.crc64ecma, crc64(&body));
    assert_eq!(head.last_modified.as_millis(), T0);
    assert_eq!(head.parts_count, None);
    let (out, bytes) = h.get_as(head_op("attrs", "dir/obj"), &alice()).await.unwrap();
    assert!(bytes.is_empty());
    assert!(matches!(out, Output::Object { .. }));
    // A customer key on an object that has none.
    let mut op = h.get_op("attrs", "dir/obj");
    if let Operation::GetObject { sse_customer, .. } = &mut op {
        *sse_customer = Some(SseRequest::Customer(tessera_proto::values::CustomerKey::from_key([1; 32])));
    }
    assert_eq!(h.get_as(op, &alice()).await.unwrap_err().code, ErrorCode::InvalidRequest);
    // Missing key, missing bucket.
    assert_eq!(h.get_as(h.get_op("attrs", "nope"), &alice()).await.unwrap_err().code, ErrorCode::NoSuchKey);
    assert_eq!(h.get_as(h.get_op("nobucket", "k"), &alice()).await.unwrap_err().code, ErrorCode::NoSuchBucket);
    // An empty object.
    h.put("attrs", "empty", b"").await;
    assert!(h.get("attrs", "empty").await.is_empty());
}
both!(put_get_head_keep_every_attribute);

async fn ranges_across_part_boundaries_and_part_numbers<S: Store>(h: H<S>) {
    h.mkbucket("rng").await;
    let parts = [data(100, 1), data(100, 2), data(37, 3)];
    let whole = parts.concat();
    let id = h.create_upload("rng", "k").await;
    let mut listed = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as u32 + 1;
        listed.push((n, h.upload_part("rng", "k", &id, n, p).await));
    }
    h.complete("rng", "k", &id, &listed).await.unwrap();
    for (range, first, last) in [
        (ByteRange::FromTo(90, 110), 90, 110),
        (ByteRange::FromTo(99, 200), 99, 200),
        (ByteRange::From(150), 150, 236),
        (ByteRange::Suffix(50), 187, 236),
        (ByteRange::FromTo(0, 10_000), 0, 236),
    ] {
        let (out, bytes) = h.get_range("rng", "k", Some(range), None).await.unwrap();
        assert_eq!(bytes, &whole[first..=last], "{range:?}");
        let Output::Object { range: Some(r), .. } = out else { panic!() };
        assert_eq!((r.first, r.last), (first as u64, last as u64));
    }
    for (n, from, to) in [(1, 0, 99), (2, 100, 199), (3, 200, 236)] {
        let (out, bytes) = h.get_range("rng", "k", None, Some(n)).await.unwrap();
        assert_eq!(bytes, &whole[from..=to], "part {n}");
        let Output::Object { head, range: Some(r), .. } = out else { panic!() };
        assert_eq!(head.parts_count, Some(3));
        assert_eq!((r.first, r.last), (from as u64, to as u64));
    }
    let err = h.get_range("rng", "k", None, Some(4)).await.unwrap_err();
    assert_eq!(err.code.as_str(), "InvalidPartNumber");
    assert_eq!(err.code.status(), 416);
    let err = h.get_range("rng", "k", Some(ByteRange::From(237)), None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRange);
    let err = h.get_range("rng", "k", Some(ByteRange::From(0)), Some(1)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    // A single-part object has one part: itself.
    h.put("rng", "single", b"0123456789").await;
    let (_, bytes) = h.get_range("rng", "single", None, Some(1)).await.unwrap();
    assert_eq!(bytes, b"0123456789");
    assert!(h.get_range("rng", "single", None, Some(2)).await.is_err());
}
both!(ranges_across_part_boundaries_and_part_numbers, small_parts());

fn get_if(c: Conditions) -> Operation {
    Operation::GetObject {
        bucket: bucket("cond"),
        key: key("k"),
        range: None,
        part_number: None,
        conditions: c,
        overrides: Default::default(),
        sse_customer: None,
    }
}

async fn conditional_reads_in_s3_order<S: Store>(h: H<S>) {
    h.mkbucket("cond").await;
    let etag = h.put("cond", "k", b"hello").await;
    let other = md5_etag(b"other");
    let secs = T0 / 1000;
    let tag = |e: &tessera_proto::ETag| Some(vec![EtagCondition::Tag(e.clone())]);
    let status = |r: Result<(Output, Vec<u8>), tessera_proto::ops::S3Error>| match r {
        Ok((Output::Object { .. }, _)) => 200,
        Ok((Output::NotModified { .. }, _)) => 304,
        Ok(other) => panic!("{other:?}"),
        Err(e) => e.code.status(),
    };
    let cases = [
        (Conditions { if_match: tag(&etag), ..Default::default() }, 200),
        (Conditions { if_match: tag(&other), ..Default::default() }, 412),
        (Conditions { if_match: Some(vec![EtagCondition::Any]), ..Default::default() }, 200),
        (Conditions { if_none_match: tag(&etag), ..Default::default() }, 304),
        (Conditions { if_none_match: tag(&other), ..Default::default() }, 200),
        (Conditions { if_modified_since: Some(secs), ..Default::default() }, 304),
        (Conditions { if_modified_since: Some(secs - 10), ..Default::default() }, 200),
        (Conditions { if_unmodified_since: Some(secs - 10), ..Default::default() }, 412),
        (Conditions { if_unmodified_since: Some(secs + 10), ..Default::default() }, 200),
        // If-Match true wins over If-Unmodified-Since false.
        (Conditions { if_match: tag(&etag), if_unmodified_since: Some(secs - 10), ..Default::default() }, 200),
        // If-None-Match false (no match) wins over If-Modified-Since.
        (Conditions { if_none_match: tag(&other), if_modified_since: Some(secs + 10), ..Default::default() }, 200),
        (Conditions { if_none_match: tag(&etag), if_modified_since: Some(secs - 10), ..Default::default() }, 304),
        // 412 before 304.
        (Conditions { if_match: tag(&other), if_none_match: tag(&etag), ..Default::default() }, 412),
    ];
    for (c, want) in cases {
        assert_eq!(status(h.get_as(get_if(c.clone()), &alice()).await), want, "{c:?}");
    }
}
both!(conditional_reads_in_s3_order);

async fn conditional_writes<S: Store>(h: H<S>) {
    h.mkbucket("cw").await;
    let put = |c: Conditions, forbid: bool, len: usize| Operation::PutObject {
        bucket: bucket("cw"),
        key: key("k"),
        attributes: ObjectAttributes::default(),
        conditions: c,
        forbid_overwrite: forbid,
        content_length: len as u64,
        length_unknown: false,
    };
    let any = Some(vec![EtagCondition::Any]);
    let first = Conditions { if_none_match: any.clone(), ..Default::default() };
    h.run(put(first.clone(), false, 3), &alice(), Dialect::Aws, payload(b"one")).await.unwrap();
    let err = h.run(put(first, false, 3), &alice(), Dialect::Aws, payload(b"two")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::PreconditionFailed);
    let err = h.run(put(Conditions::default(), true, 3), &alice(), Dialect::Oss, payload(b"two")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::FileAlreadyExists);
    let wrong = Conditions { if_match: Some(vec![EtagCondition::Tag(md5_etag(b"x"))]), ..Default::default() };
    let err = h.run(put(wrong, false, 3), &alice(), Dialect::Aws, payload(b"two")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::PreconditionFailed);
    assert_eq!(h.get("cw", "k").await, b"one");
    let right = Conditions { if_match: Some(vec![EtagCondition::Tag(md5_etag(b"one"))]), ..Default::default() };
    h.run(put(right, false, 3), &alice(), Dialect::Aws, payload(b"two")).await.unwrap();
    assert_eq!(h.get("cw", "k").await, b"two");
    // Refused writes left nothing staged.
    assert!(h.store.list_staged(&bucket("cw")).await.unwrap().is_empty());
    // If-Match on a missing key.
    let mut op = h.put_op("cw", "missing", 1);
    if let Operation::PutObject { conditions, .. } = &mut op {
        conditions.if_match = Some(vec![EtagCondition::Any]);
    }
    assert_eq!(h.run(op, &alice(), Dialect::Aws, payload(b"x")).await.unwrap_err().code, ErrorCode::NoSuchKey);
    // A chunked body without a declared length is counted.
    let mut op = h.put_op("cw", "chunked", 0);
    if let Operation::PutObject { length_unknown, .. } = &mut op {
        *length_unknown = true;
    }
    let body = RequestBody::Payload(tessera_engine::Payload {
        stream: stream(b"no length"),
        length: 0,
        summary: tessera_engine::SummarySource::Compute,
    });
    h.run(op, &alice(), Dialect::Oss, body).await.unwrap();
    assert_eq!(h.get("cw", "chunked").await, b"no length");
}
both!(conditional_writes);

async fn deletes_are_idempotent<S: Store>(h: H<S>) {
    h.mkbucket("del").await;
    h.put("del", "a", b"a").await;
    let del =
        |k: &str| Operation::DeleteObject { bucket: bucket("del"), key: key(k), conditions: Conditions::default() };
    assert_eq!(h.op(del("a")).await.unwrap().output, Output::NoContent);
    assert_eq!(h.op(del("a")).await.unwrap().output, Output::NoContent);
    assert!(h.object_absent("del", "a").await);
    for k in ["x", "y", "z"] {
        h.put("del", k, k.as_bytes()).await;
    }
    let body = br#"<Delete><Object><Key>x</Key></Object><Object><Key>y</Key></Object><Object><Key>never</Key></Object><Object><Key>z</Key><VersionId>v9</VersionId></Object></Delete>"#;
    let op = Operation::DeleteObjects { bucket: bucket("del") };
    let out = h.run(op.clone(), &alice(), Dialect::Aws, RequestBody::Xml(Bytes::from_static(body))).await.unwrap();
    let Document::DeleteResult(result) = doc_of(&out.output) else { panic!() };
    let deleted: Vec<&str> = result.deleted.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(deleted, ["x", "y", "never"]);
    assert_eq!(result.errors.len(), 1);
    assert_eq!(result.errors[0].code, "NoSuchVersion");
    assert!(h.object_absent("del", "x").await);
    assert_eq!(h.get("del", "z").await, b"z");
    let quiet = br#"<Delete><Quiet>true</Quiet><Object><Key>z</Key></Object></Delete>"#;
    let out = h.run(op.clone(), &alice(), Dialect::Aws, RequestBody::Xml(Bytes::from_static(quiet))).await.unwrap();
    let Document::DeleteResult(result) = doc_of(&out.output) else { panic!() };
    assert!(result.deleted.is_empty() && result.errors.is_empty());
    assert!(h.object_absent("del", "z").await);
    let many = format!("<Delete>{}</Delete>", "<Object><Key>k</Key></Object>".repeat(1001));
    let err = h.run(op.clone(), &alice(), Dialect::Aws, RequestBody::Xml(many.into())).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::MalformedXML);
    let err = h.run(op, &bob(), Dialect::Aws, RequestBody::Xml(Bytes::from_static(quiet))).await.unwrap();
    let Document::DeleteResult(result) = doc_of(&err.output) else { panic!() };
    assert_eq!(result.errors[0].code, "AccessDenied");
}
both!(deletes_are_idempotent);

fn copy_op(src: &str, dst: &str, directive: MetadataDirective, attributes: ObjectAttributes) -> Operation {
    Operation::CopyObject {
        bucket: bucket("cp"),
        key: key(dst),
        source: CopySource {
            bucket: bucket("cp"),
            key: key(src),
            version_id: None,
            conditions: Conditions::default(),
            sse_customer: None,
        },
        metadata_directive: directive,
        replace_tagging: false,
        attributes,
        conditions: Conditions::default(),
        forbid_overwrite: false,
    }
}

async fn copies_and_their_directives<S: Store>(h: H<S>) {
    h.mkbucket("cp").await;
    let body = data(5000, 4);
    let mut attributes = ObjectAttributes::default();
    attributes.content.content_type = Some("text/plain".into());
    attributes.metadata = UserMetadata::collect(Dialect::Aws, [("x-amz-meta-a", &b"1"[..])]).unwrap();
    attributes.tagging = Some(TagSet::parse_header("t=1").unwrap());
    let mut op = h.put_op("cp", "src", body.len());
    if let Operation::PutObject { attributes: a, .. } = &mut op {
        *a = attributes;
    }
    h.run(op, &alice(), Dialect::Aws, payload(&body)).await.unwrap();

    let out = h.op(copy_op("src", "dst", MetadataDirective::Copy, ObjectAttributes::default())).await.unwrap();
    let Output::ObjectWritten { etag, document: Some(Document::CopyObjectResult(doc)), .. } = out.output else {
        panic!()
    };
    assert_eq!(etag, md5_etag(&body));
    assert_eq!(doc.etag, etag);
    assert_eq!(h.get("cp", "dst").await, body);
    let (out, _) = h.get_as(head_op("cp", "dst"), &alice()).await.unwrap();
    let Output::Object { head, .. } = out else { panic!() };
    assert_eq!(head.content.content_type.as_deref(), Some("text/plain"));
    assert_eq!(head.metadata.get("a"), Some(&b"1"[..]));
    assert_eq!(head.tag_count, 1);

    let replace = ObjectAttributes {
        metadata: UserMetadata::collect(Dialect::Aws, [("x-amz-meta-b", &b"2"[..])]).unwrap(),
        ..Default::default()
    };
    h.op(copy_op("src", "dst", MetadataDirective::Replace, replace.clone())).await.unwrap();
    let (out, _) = h.get_as(head_op("cp", "dst"), &alice()).await.unwrap();
    let Output::Object { head, .. } = out else { panic!() };
    assert_eq!(head.metadata.get("a"), None);
    assert_eq!(head.metadata.get("b"), Some(&b"2"[..]));
    assert_eq!(head.content.content_type.as_deref(), Some("binary/octet-stream"));

    // Onto itself: only with a change.
    let err = h.op(copy_op("src", "src", MetadataDirective::Copy, ObjectAttributes::default())).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    h.op(copy_op("src", "src", MetadataDirective::Replace, replace)).await.unwrap();
    assert_eq!(h.get("cp", "src").await, body);
    assert_eq!(
        h.code(copy_op("nothing", "x", MetadataDirective::Copy, ObjectAttributes::default())).await,
        ErrorCode::NoSuchKey
    );
    // Copy-source conditions.
    let mut op = copy_op("src", "dst2", MetadataDirective::Copy, ObjectAttributes::default());
    if let Operation::CopyObject { source, .. } = &mut op {
        source.conditions.if_match = Some(vec![EtagCondition::Tag(md5_etag(b"other"))]);
    }
    assert_eq!(h.code(op).await, ErrorCode::PreconditionFailed);
}
both!(copies_and_their_directives);

async fn tagging_and_acl_round_trips<S: Store>(h: H<S>) {
    h.mkbucket("tag").await;
    let etag = h.put("tag", "k", b"tagged").await;
    let get = Operation::GetObjectTagging { bucket: bucket("tag"), key: key("k") };
    let out = h.op(get.clone()).await.unwrap();
    let Document::Tagging(t) = doc_of(&out.output) else { panic!() };
    assert!(t.tags.is_empty());
    let body = r#"<Tagging><TagSet><Tag><Key>env</Key><Value>prod</Value></Tag><Tag><Key>文</Key><Value></Value></Tag></TagSet></Tagging>"#;
    let put = Operation::PutObjectTagging { bucket: bucket("tag"), key: key("k") };
    h.run(put.clone(), &alice(), Dialect::Aws, RequestBody::Xml(body.into())).await.unwrap();
    let out = h.op(get.clone()).await.unwrap();
    let Document::Tagging(t) = doc_of(&out.output) else { panic!() };
    assert_eq!(t.tags.len(), 2);
    assert_eq!(t.tags[0].key, "env");
    assert_eq!(t.tags[1].key, "文");
    // Tagging changes neither data nor ETag.
    assert_eq!(h.get("tag", "k").await, b"tagged");
    let (out, _) = h.get_as(head_op("tag", "k"), &alice()).await.unwrap();
    let Output::Object { head, .. } = out else { panic!() };
    assert_eq!(head.etag, etag);
    assert_eq!(head.tag_count, 2);
    let eleven: String = (0..11).map(|i| format!("<Tag><Key>k{i}</Key><Value>v</Value></Tag>")).collect();
    let too_many = format!("<Tagging><TagSet>{eleven}</TagSet></Tagging>");
    let err = h.run(put, &alice(), Dialect::Aws, RequestBody::Xml(too_many.into())).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidTag);
    h.op(Operation::DeleteObjectTagging { bucket: bucket("tag"), key: key("k") }).await.unwrap();
    let out = h.op(get).await.unwrap();
    let Document::Tagging(t) = doc_of(&out.output) else { panic!() };
    assert!(t.tags.is_empty());

    // ACL: private by default; public-read lets anyone read.
    let anon = Principal::Anonymous;
    assert_eq!(h.get_as(h.get_op("tag", "k"), &anon).await.unwrap_err().code, ErrorCode::AccessDenied);
    let acl = AclRequest { canned: Some(CannedAcl::parse(Dialect::Aws, "public-read").unwrap()), grants: Vec::new() };
    h.op(Operation::PutObjectAcl { bucket: bucket("tag"), key: key("k"), acl }).await.unwrap();
    assert_eq!(h.get_as(h.get_op("tag", "k"), &anon).await.unwrap().1, b"tagged");
    let out = h.op(Operation::GetObjectAcl { bucket: bucket("tag"), key: key("k") }).await.unwrap();
    let Document::AccessControlPolicy(policy) = doc_of(&out.output) else { panic!() };
    assert_eq!(policy.owner.id.as_deref(), Some("alice-id"));
    assert_eq!(policy.grants.len(), 2);
    assert_eq!(policy.grants[1].permission, tessera_proto::values::Permission::Read);
    // A policy body with a grant to bob.
    let body = r#"<AccessControlPolicy><Owner><ID>alice-id</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>bob-id</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"#;
    let op = Operation::PutObjectAcl { bucket: bucket("tag"), key: key("k"), acl: AclRequest::default() };
    h.run(op, &alice(), Dialect::Aws, RequestBody::Xml(body.into())).await.unwrap();
    assert_eq!(h.get_as(h.get_op("tag", "k"), &bob()).await.unwrap().1, b"tagged");
    assert_eq!(h.get_as(h.get_op("tag", "k"), &anon).await.unwrap_err().code, ErrorCode::AccessDenied);
    // bob may read but not change the ACL.
    let acl = AclRequest { canned: Some(CannedAcl::parse(Dialect::Aws, "private").unwrap()), grants: Vec::new() };
    let op = Operation::PutObjectAcl { bucket: bucket("tag"), key: key("k"), acl };
    assert_eq!(h.run(op, &bob(), Dialect::Aws, RequestBody::Empty).await.unwrap_err().code, ErrorCode::AccessDenied);
}
both!(tagging_and_acl_round_trips);

async fn object_attributes<S: Store>(h: H<S>) {
    h.mkbucket("oa").await;
    let id = h.create_upload("oa", "k").await;
    let e1 = h.upload_part("oa", "k", &id, 1, &data(20, 1)).await;
    let e2 = h.upload_part("oa", "k", &id, 2, &data(30, 2)).await;
    let done = h.complete("oa", "k", &id, &[(1, e1), (2, e2)]).await.unwrap();
    let op = Operation::GetObjectAttributes {
        bucket: bucket("oa"),
        key: key("k"),
        attributes: vec!["ETag".into(), "ObjectSize".into(), "ObjectParts".into(), "StorageClass".into()],
        max_parts: Some(1),
        part_number_marker: None,
        sse_customer: None,
    };
    let out = h.op(op).await.unwrap();
    let Document::GetObjectAttributesOutput(attrs) = doc_of(&out.output) else { panic!() };
    assert_eq!(attrs.etag.as_ref(), Some(&done.etag));
    assert_eq!(attrs.object_size, Some(50));
    assert_eq!(attrs.storage_class.as_deref(), Some("STANDARD"));
    let parts = attrs.object_parts.as_ref().unwrap();
    assert_eq!(parts.total_parts_count, Some(2));
    assert_eq!(parts.parts.len(), 1);
    assert_eq!(parts.is_truncated, Some(true));
    assert_eq!(parts.next_part_number_marker, Some(1));
}
both!(object_attributes, small_parts());

async fn encryption_requests<S: Store>(h: H<S>) {
    h.mkbucket("sse").await;
    let with_sse = |sse: SseRequest| {
        let mut op = h.put_op("sse", "k", 1);
        if let Operation::PutObject { attributes, .. } = &mut op {
            attributes.sse = Some(sse);
        }
        op
    };
    let kms = SseRequest::Kms { key_id: None };
    let err = h.run(with_sse(kms.clone()), &alice(), Dialect::Oss, payload(b"x")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::KmsServiceNotEnabled);
    assert_eq!(err.code.status(), 403);
    let err = h
        .run(
            Operation::CreateMultipartUpload {
                bucket: bucket("sse"),
                key: key("m"),
                attributes: ObjectAttributes { sse: Some(kms), ..Default::default() },
                forbid_overwrite: false,
                encoding_url: false,
            },
            &alice(),
            Dialect::Aws,
            RequestBody::Empty,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::KmsServiceNotEnabled);
    // Nothing was staged or recorded by the refused requests.
    assert!(h.store.list_staged(&bucket("sse")).await.unwrap().is_empty());
    assert!(h.store.list_uploads(&bucket("sse")).await.unwrap().is_empty());

    // Bucket default encryption: applied to objects written without a request.
    let get = Operation::GetBucketEncryption { bucket: bucket("sse") };
    assert_eq!(h.code(get.clone()).await, ErrorCode::ServerSideEncryptionConfigurationNotFoundError);
    let body = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
    let put = Operation::PutBucketEncryption { bucket: bucket("sse") };
    h.run(put.clone(), &alice(), Dialect::Aws, RequestBody::Xml(body.into())).await.unwrap();
    let out = h.op(get.clone()).await.unwrap();
    let Document::ServerSideEncryptionConfiguration(c) = doc_of(&out.output) else { panic!() };
    assert_eq!(c.rules.len(), 1);
    let out = h.run(h.put_op("sse", "d", 1), &alice(), Dialect::Aws, payload(b"d")).await.unwrap();
    let Output::ObjectWritten { sse, .. } = out.output else { panic!() };
    assert_eq!(sse, Some(tessera_proto::ops::SseResponse::S3));
    let kms_body = body.replace("AES256", "aws:kms");
    let err = h.run(put, &alice(), Dialect::Aws, RequestBody::Xml(kms_body.into())).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::KmsServiceNotEnabled);
    h.op(Operation::DeleteBucketEncryption { bucket: bucket("sse") }).await.unwrap();
    assert_eq!(h.code(get).await, ErrorCode::ServerSideEncryptionConfigurationNotFoundError);
}
both!(encryption_requests);

async fn kms_with_configured_keys<S: Store>(h: H<S>) {
    h.mkbucket("kms").await;
    let with_key = |k: &str| {
        let mut op = h.put_op("kms", "k", 1);
        if let Operation::PutObject { attributes, .. } = &mut op {
            attributes.sse = Some(SseRequest::Kms { key_id: Some(k.to_owned()) });
        }
        op
    };
    let out = h.run(with_key("key-1"), &alice(), Dialect::Aws, payload(b"x")).await.unwrap();
    let Output::ObjectWritten { sse, .. } = out.output else { panic!() };
    assert_eq!(sse, Some(tessera_proto::ops::SseResponse::Kms { key_id: "key-1".into() }));
    let err = h.run(with_key("unknown"), &alice(), Dialect::Aws, payload(b"x")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::KMSNotFoundException);
}
both!(
    kms_with_configured_keys,
    tessera_engine::EngineConfig { encryption: Some(encryption(&[("key-1", 1)])), ..config() }
);
