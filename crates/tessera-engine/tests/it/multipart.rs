//! Multipart uploads through the engine, over both backends.

use md5::{Digest, Md5};
use tessera_engine::RequestBody;
use tessera_proto::ops::{Conditions, Document, EtagCondition, KeyListing, ObjectAttributes, Operation, Output};
use tessera_proto::{Dialect, ETag, ErrorCode, UploadId};
use tessera_store::Store;

use crate::both;
use crate::util::*;

async fn happy_path_in_every_dialect<S: Store>(h: H<S>) {
    for dialect in Dialect::ALL {
        let b = format!("mp-{}", dialect.name());
        h.mkbucket(&b).await;
        let min = dialect.spec().min_part_size as usize;
        let parts = [data(min, 1), data(min, 2), data(1000, 3)];
        let id = h.create_upload_as(&b, "big/object", &alice(), dialect, ObjectAttributes::default()).await.unwrap();
        // Parts arrive in any order.
        let mut etags = Vec::new();
        for n in [3u32, 1, 2] {
            let (etag, crc) =
                h.upload_part_as(&b, "big/object", &id, n, &parts[n as usize - 1], &alice(), dialect).await.unwrap();
            assert_eq!(etag, md5_etag(&parts[n as usize - 1]));
            assert_eq!(crc, crc64(&parts[n as usize - 1]));
            etags.push((n, etag));
        }
        etags.sort_by_key(|(n, _)| *n);
        let body = complete_body(&etags);
        let out = h.run(h.complete_op(&b, "big/object", &id), &alice(), dialect, RequestBody::Xml(body)).await.unwrap();
        let whole: Vec<u8> = parts.concat();
        let Output::Multipart { document: Document::CompleteMultipartUploadResult(doc), crc64ecma, .. } = out.output
        else {
            panic!("unexpected output");
        };
        let md5s: Vec<[u8; 16]> = parts.iter().map(|p| Md5::digest(p).into()).collect();
        assert_eq!(doc.etag, ETag::multipart(md5s.iter()), "{dialect}");
        assert!(doc.etag.as_str().ends_with("-3"));
        assert_eq!(crc64ecma, Some(crc64(&whole)), "{dialect}: combined CRC64 is the CRC64 of the data");
        if dialect == Dialect::Ks3 {
            assert_eq!(doc.checksum_crc64ecma, Some(crc64(&whole).to_string()));
        }
        assert_eq!(h.get(&b, "big/object").await, whole, "{dialect}");
        let (head, _) = h.get_as(head_op(&b, "big/object"), &alice()).await.unwrap();
        let Output::Object { head, .. } = head else { panic!() };
        assert_eq!(head.parts_count, Some(3));
        assert_eq!(head.size, whole.len() as u64);
        assert_eq!(head.crc64ecma, crc64(&whole));
        // Every staged part now belongs to the object: nothing is left staged.
        assert!(h.store.list_staged(&bucket(&b)).await.unwrap().is_empty());
    }
}
both!(happy_path_in_every_dialect);

pub(crate) fn head_op(b: &str, k: &str) -> Operation {
    Operation::HeadObject {
        bucket: bucket(b),
        key: key(k),
        range: None,
        part_number: None,
        conditions: Conditions::default(),
        sse_customer: None,
    }
}

async fn reuploaded_part_last_wins<S: Store>(h: H<S>) {
    h.mkbucket("re").await;
    let id = h.create_upload("re", "k").await;
    let (a, b, c) = (data(40, 1), data(50, 2), data(30, 3));
    let etag_a = h.upload_part("re", "k", &id, 1, &a).await;
    let etag_b = h.upload_part("re", "k", &id, 1, &b).await;
    let etag_c = h.upload_part("re", "k", &id, 2, &c).await;
    // The loser's bytes are discarded: two parts, two staged extents.
    assert_eq!(h.store.list_staged(&bucket("re")).await.unwrap().len(), 2);
    let out = h.op(h.list_parts_op("re", "k", &id, None, None)).await.unwrap();
    let Document::ListPartsResult(list) = doc_of(&out.output) else { panic!() };
    assert_eq!(list.parts.len(), 2);
    assert_eq!(list.parts[0].etag, etag_b);
    assert_eq!(list.parts[0].size, 50);
    let err = h.complete("re", "k", &id, &[(1, etag_a), (2, etag_c.clone())]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidPart);
    h.complete("re", "k", &id, &[(1, etag_b), (2, etag_c)]).await.unwrap();
    assert_eq!(h.get("re", "k").await, [b, c].concat());
}
both!(reuploaded_part_last_wins, small_parts());

async fn complete_errors_leave_the_upload_retryable<S: Store>(h: H<S>) {
    h.mkbucket("ce").await;
    let id = h.create_upload_as("ce", "k", &alice(), Dialect::Oss, ObjectAttributes::default()).await.unwrap();
    let min = Dialect::Oss.spec().min_part_size as usize;
    let (p1, p2, small) = (data(min, 1), data(min, 2), data(10, 3));
    let e1 = h.upload_part_as("ce", "k", &id, 1, &p1, &alice(), Dialect::Oss).await.unwrap().0;
    let e2 = h.upload_part_as("ce", "k", &id, 2, &p2, &alice(), Dialect::Oss).await.unwrap().0;
    let e3 = h.upload_part_as("ce", "k", &id, 3, &small, &alice(), Dialect::Oss).await.unwrap().0;
    let e4 = h.upload_part_as("ce", "k", &id, 4, &small, &alice(), Dialect::Oss).await.unwrap().0;

    let wrong = md5_etag(b"not the part");
    let err = h.complete("ce", "k", &id, &[(1, wrong), (2, e2.clone())]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidPart);
    let err = h.complete("ce", "k", &id, &[(1, e1.clone()), (9, e2.clone())]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidPart);
    let err = h.complete("ce", "k", &id, &[(2, e2.clone()), (1, e1.clone())]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidPartOrder);
    let err = h.complete("ce", "k", &id, &[(1, e1.clone()), (3, e3.clone()), (4, e4)]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::EntityTooSmall);
    let empty = bytes::Bytes::from_static(b"<CompleteMultipartUpload></CompleteMultipartUpload>");
    let err = h.run(h.complete_op("ce", "k", &id), &alice(), Dialect::Oss, RequestBody::Xml(empty)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::MalformedXML);
    let garbage = bytes::Bytes::from_static(b"<CompleteMultipartUpload><Part>");
    let err =
        h.run(h.complete_op("ce", "k", &id), &alice(), Dialect::Oss, RequestBody::Xml(garbage)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::MalformedXML);
    let err = h.run(h.complete_op("ce", "k", &id), &alice(), Dialect::Oss, RequestBody::Empty).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::MalformedXML);
    let bogus = UploadId::new("no-such-upload").unwrap();
    let err = h.complete("ce", "k", &bogus, &[(1, e1.clone())]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NoSuchUpload);
    // The same id under another key is not this upload.
    let err = h.complete("ce", "other", &id, &[(1, e1.clone())]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NoSuchUpload);
    assert!(h.object_absent("ce", "k").await);

    // Every failure left the upload intact: a correct Complete still succeeds, gaps allowed.
    let done = h.complete("ce", "k", &id, &[(1, e1), (2, e2), (3, e3)]).await.unwrap();
    assert!(done.etag.as_str().ends_with("-3"));
    assert_eq!(h.get("ce", "k").await, [p1, p2, small].concat());
    // Part 4 was not listed: its bytes were discarded.
    assert!(h.store.list_staged(&bucket("ce")).await.unwrap().is_empty());
}
both!(complete_errors_leave_the_upload_retryable);

impl<S: Store> H<S> {
    pub(crate) async fn object_absent(&self, b: &str, k: &str) -> bool {
        self.get_as(self.get_op(b, k), &alice()).await.map(|_| ()).unwrap_err().code == ErrorCode::NoSuchKey
    }
}

async fn retried_complete_succeeds<S: Store>(h: H<S>) {
    h.mkbucket("rc").await;
    let id = h.create_upload("rc", "k").await;
    let e1 = h.upload_part("rc", "k", &id, 1, &data(20, 1)).await;
    let e2 = h.upload_part("rc", "k", &id, 2, &data(20, 2)).await;
    let first = h.complete("rc", "k", &id, &[(1, e1.clone()), (2, e2.clone())]).await.unwrap();
    let again = h.complete("rc", "k", &id, &[(1, e1.clone()), (2, e2.clone())]).await.unwrap();
    assert_eq!(first.etag, again.etag);
    // Even with a condition the finished object no longer meets.
    let mut op = h.complete_op("rc", "k", &id);
    if let Operation::CompleteMultipartUpload { conditions, .. } = &mut op {
        conditions.if_none_match = Some(vec![EtagCondition::Any]);
    }
    let with_cond = h.complete_with(op, &[(1, e1.clone()), (2, e2.clone())], &alice(), Dialect::Aws).await.unwrap();
    assert_eq!(with_cond.etag, first.etag);
    // Another part list is not a retry.
    let err = h.complete("rc", "k", &id, &[(1, e1.clone())]).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NoSuchUpload);
    // Past the table's grace, the object itself still recognises its upload.
    h.advance_days(1);
    h.engine.handle_timeout(h.now()).await.unwrap();
    let late = h.complete("rc", "k", &id, &[(1, e1), (2, e2)]).await.unwrap();
    assert_eq!(late.etag, first.etag);
}
both!(retried_complete_succeeds, small_parts());

async fn abort_then_list_parts_is_no_such_upload<S: Store>(h: H<S>) {
    h.mkbucket("ab").await;
    let id = h.create_upload("ab", "k").await;
    h.upload_part("ab", "k", &id, 1, &data(100, 1)).await;
    h.upload_part("ab", "k", &id, 2, &data(100, 2)).await;
    let out = h
        .op(Operation::AbortMultipartUpload { bucket: bucket("ab"), key: key("k"), upload_id: id.clone() })
        .await
        .unwrap();
    assert_eq!(out.output, Output::NoContent);
    assert_eq!(h.code(h.list_parts_op("ab", "k", &id, None, None)).await, ErrorCode::NoSuchUpload);
    let err = h.upload_part_as("ab", "k", &id, 3, b"x", &alice(), Dialect::Aws).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NoSuchUpload);
    let again = Operation::AbortMultipartUpload { bucket: bucket("ab"), key: key("k"), upload_id: id.clone() };
    assert_eq!(h.code(again).await, ErrorCode::NoSuchUpload);
    assert!(h.store.list_staged(&bucket("ab")).await.unwrap().is_empty());
    assert!(h.store.list_uploads(&bucket("ab")).await.unwrap().is_empty());
    // With nothing left the bucket can go.
    h.op(Operation::DeleteBucket { bucket: bucket("ab") }).await.unwrap();
}
both!(abort_then_list_parts_is_no_such_upload, small_parts());

async fn list_parts_pages<S: Store>(h: H<S>) {
    h.mkbucket("lp").await;
    let id = h.create_upload("lp", "k").await;
    for n in [1, 2, 3, 5, 8] {
        h.upload_part("lp", "k", &id, n, &data(10 + n as usize, n as u8)).await;
    }
    let mut marker = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let out = h.op(h.list_parts_op("lp", "k", &id, marker, Some(2))).await.unwrap();
        let Document::ListPartsResult(page) = doc_of(&out.output) else { panic!() };
        pages += 1;
        assert!(page.parts.len() <= 2);
        seen.extend(page.parts.iter().map(|p| p.part_number.get()));
        if !page.is_truncated {
            break;
        }
        marker = page.next_part_number_marker;
        assert_eq!(marker, page.parts.last().map(|p| p.part_number.get()));
    }
    assert_eq!(seen, [1, 2, 3, 5, 8]);
    assert_eq!(pages, 3);
    // A marker between numbers starts after it.
    let out = h.op(h.list_parts_op("lp", "k", &id, Some(4), None)).await.unwrap();
    let Document::ListPartsResult(page) = doc_of(&out.output) else { panic!() };
    assert_eq!(page.parts.iter().map(|p| p.part_number.get()).collect::<Vec<_>>(), [5, 8]);
    assert_eq!(page.parts[0].size, 15);
}
both!(list_parts_pages, small_parts());

fn list_uploads_op(
    prefix: Option<&str>,
    delimiter: Option<&str>,
    max: Option<u32>,
    km: Option<String>,
    um: Option<String>,
) -> Operation {
    Operation::ListMultipartUploads {
        bucket: bucket("lu"),
        listing: KeyListing {
            prefix: prefix.map(str::to_owned),
            delimiter: delimiter.map(str::to_owned),
            max_keys: max,
            encoding_url: true,
        },
        key_marker: km,
        upload_id_marker: um,
    }
}

async fn list_uploads_pages<S: Store>(h: H<S>) {
    h.mkbucket("lu").await;
    let mut ids = Vec::new();
    for k in ["a/1", "a/2", "b", "b", "c/x", "d%+ e"] {
        ids.push((k, h.create_upload("lu", k).await));
    }
    // Delimiter: a/ and c/ roll up.
    let out = h.op(list_uploads_op(None, Some("/"), None, None, None)).await.unwrap();
    let Document::ListMultipartUploadsResult(page) = doc_of(&out.output) else { panic!() };
    let prefixes: Vec<&str> = page.common_prefixes.iter().map(|p| p.prefix.as_str()).collect();
    assert_eq!(prefixes, ["a/", "c/"]);
    let keys: Vec<&str> = page.uploads.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, ["b", "b", "d%+ e"]);
    assert_eq!(page.encoding_type, Some(tessera_proto::encoding::EncodingType::Url));
    // The wire form encodes keys.
    let wire = String::from_utf8(xml_of(&out.output)).unwrap();
    assert!(wire.contains("<Key>d%25%2B%20e</Key>"), "{wire}");
    // Prefix.
    let out = h.op(list_uploads_op(Some("a/"), None, None, None, None)).await.unwrap();
    let Document::ListMultipartUploadsResult(page) = doc_of(&out.output) else { panic!() };
    assert_eq!(page.uploads.len(), 2);
    // Paging two at a time visits every upload once.
    let (mut km, mut um) = (None, None);
    let mut seen = Vec::new();
    loop {
        let out = h.op(list_uploads_op(None, None, Some(2), km.clone(), um.clone())).await.unwrap();
        let Document::ListMultipartUploadsResult(page) = doc_of(&out.output) else { panic!() };
        seen.extend(page.uploads.iter().map(|u| u.upload_id.clone()));
        if !page.is_truncated {
            break;
        }
        km = page.next_key_marker.clone();
        um = page.next_upload_id_marker.clone();
    }
    let mut all: Vec<String> = ids.iter().map(|(_, id)| id.as_str().to_owned()).collect();
    all.sort();
    seen.sort();
    assert_eq!(seen, all);
}
both!(list_uploads_pages);

pub(crate) fn xml_of(output: &Output) -> Vec<u8> {
    doc_of(output).to_xml(Dialect::Aws)
}

async fn conditional_complete<S: Store>(h: H<S>) {
    h.mkbucket("cc").await;
    let old = h.put("cc", "k", b"old").await;
    let id = h.create_upload("cc", "k").await;
    let e1 = h.upload_part("cc", "k", &id, 1, &data(30, 1)).await;
    let parts = [(1, e1)];
    let with = |f: &dyn Fn(&mut Conditions, &mut bool)| {
        let mut op = h.complete_op("cc", "k", &id);
        if let Operation::CompleteMultipartUpload { conditions, forbid_overwrite, .. } = &mut op {
            f(conditions, forbid_overwrite);
        }
        op
    };
    let op = with(&|c, _| c.if_none_match = Some(vec![EtagCondition::Any]));
    let err = h.complete_with(op, &parts, &alice(), Dialect::Aws).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::PreconditionFailed);
    let op = with(&|_, f| *f = true);
    let err = h.complete_with(op, &parts, &alice(), Dialect::Oss).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::FileAlreadyExists);
    assert_eq!(err.code.status(), 409);
    let op = with(&|c, _| c.if_match = Some(vec![EtagCondition::Tag(md5_etag(b"other"))]));
    let err = h.complete_with(op, &parts, &alice(), Dialect::Aws).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::PreconditionFailed);
    assert_eq!(h.get("cc", "k").await, b"old");
    // The upload survived every refusal; If-Match on the current ETag succeeds.
    let op = with(&|c, _| c.if_match = Some(vec![EtagCondition::Tag(old.clone())]));
    h.complete_with(op, &parts, &alice(), Dialect::Aws).await.unwrap();
    assert_eq!(h.get("cc", "k").await, data(30, 1));

    // If-None-Match: * on an absent key completes.
    let id = h.create_upload("cc", "fresh").await;
    let e1 = h.upload_part("cc", "fresh", &id, 1, b"fresh data").await;
    let mut op = h.complete_op("cc", "fresh", &id);
    if let Operation::CompleteMultipartUpload { conditions, .. } = &mut op {
        conditions.if_none_match = Some(vec![EtagCondition::Any]);
    }
    h.complete_with(op, &[(1, e1)], &alice(), Dialect::Aws).await.unwrap();
}
both!(conditional_complete, small_parts());

async fn upload_id_is_bound_to_its_principal<S: Store>(h: H<S>) {
    h.mkbucket("own").await;
    let id = h.create_upload("own", "k").await;
    let e1 = h.upload_part("own", "k", &id, 1, b"alice's part").await;
    // bob may not write the bucket at all.
    let err = h.upload_part_as("own", "k", &id, 2, b"bob", &bob(), Dialect::Aws).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::AccessDenied);
    // Even when the bucket lets everyone write, an upload id is its creator's only.
    set_bucket_acl(&h, "own", "public-read-write").await;
    let err = h.upload_part_as("own", "k", &id, 2, b"bob", &bob(), Dialect::Aws).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::AccessDenied);
    let err = h
        .upload_part_as("own", "k", &id, 2, b"anon", &tessera_proto::ops::Principal::Anonymous, Dialect::Aws)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::AccessDenied);
    let err =
        h.complete_with(h.complete_op("own", "k", &id), &[(1, e1.clone())], &bob(), Dialect::Aws).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::AccessDenied);
    let list = h.list_parts_op("own", "k", &id, None, None);
    assert_eq!(h.run(list, &bob(), Dialect::Aws, RequestBody::Empty).await.unwrap_err().code, ErrorCode::AccessDenied);
    // bob's own upload works.
    let bobs = h.create_upload_as("own", "b", &bob(), Dialect::Aws, ObjectAttributes::default()).await.unwrap();
    let eb = h.upload_part_as("own", "b", &bobs, 1, b"bob's", &bob(), Dialect::Aws).await.unwrap().0;
    h.complete_with(h.complete_op("own", "b", &bobs), &[(1, eb)], &bob(), Dialect::Aws).await.unwrap();
    // alice's upload is untouched.
    h.complete("own", "k", &id, &[(1, e1)]).await.unwrap();
    assert_eq!(h.get("own", "k").await, b"alice's part");
}
both!(upload_id_is_bound_to_its_principal, small_parts());

pub(crate) async fn set_bucket_acl<S: Store>(h: &H<S>, b: &str, canned: &str) {
    let acl = tessera_proto::ops::AclRequest {
        canned: Some(tessera_proto::values::CannedAcl::parse(Dialect::Aws, canned).unwrap()),
        grants: Vec::new(),
    };
    h.op(Operation::PutBucketAcl { bucket: bucket(b), acl }).await.unwrap();
}

async fn part_copy_with_ranges<S: Store>(h: H<S>) {
    h.mkbucket("pc").await;
    let source = data(300, 7);
    h.put("pc", "src", &source).await;
    let id = h.create_upload("pc", "dst").await;
    let copy = |n: u32, range: Option<(u64, u64)>| Operation::UploadPartCopy {
        bucket: bucket("pc"),
        key: key("dst"),
        upload_id: id.clone(),
        part_number: pn(n),
        source: tessera_proto::ops::CopySource {
            bucket: bucket("pc"),
            key: key("src"),
            version_id: None,
            conditions: Conditions::default(),
            sse_customer: None,
        },
        source_range: range,
        sse: None,
    };
    let out = h.op(copy(1, Some((0, 99)))).await.unwrap();
    let Output::PartWritten { etag: e1, document: Some(Document::CopyPartResult(doc)), .. } = out.output else {
        panic!()
    };
    assert_eq!(doc.etag, e1);
    assert_eq!(e1, md5_etag(&source[..100]));
    let Output::PartWritten { etag: e2, .. } = h.op(copy(2, Some((100, 299)))).await.unwrap().output else { panic!() };
    assert_eq!(h.code(copy(3, Some((100, 300)))).await, ErrorCode::InvalidRange);
    assert_eq!(h.code(copy(3, Some((5, 4)))).await, ErrorCode::InvalidArgument);
    let Output::PartWritten { etag: e3, .. } = h.op(copy(3, None)).await.unwrap().output else { panic!() };
    h.complete("pc", "dst", &id, &[(1, e1), (2, e2), (3, e3)]).await.unwrap();
    assert_eq!(h.get("pc", "dst").await, [&source[..], &source[..]].concat());
}
both!(part_copy_with_ranges, small_parts());

async fn lifecycle_rule_expires_uploads<S: Store>(h: H<S>) {
    h.mkbucket("lc").await;
    let lifecycle = br#"<LifecycleConfiguration>
        <Rule><ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>
          <AbortIncompleteMultipartUpload><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
        <Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status>
          <AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
        </LifecycleConfiguration>"#;
    let put = Operation::PutBucketLifecycle { bucket: bucket("lc") };
    h.run(put, &alice(), Dialect::Aws, RequestBody::Xml(bytes::Bytes::from_static(lifecycle))).await.unwrap();
    let keep = h.create_upload("lc", "keep/a").await;
    let tmp = h.create_upload("lc", "tmp/a").await;
    h.upload_part("lc", "tmp/a", &tmp, 1, b"bytes").await;
    h.upload_part("lc", "keep/a", &keep, 1, b"bytes").await;
    let first = h.engine.poll_timeout().expect("a deadline");
    assert_eq!(first.as_millis(), T0 + 86_400_000);
    h.advance_days(2);
    h.engine.handle_timeout(h.now()).await.unwrap();
    assert_eq!(h.code(h.list_parts_op("lc", "tmp/a", &tmp, None, None)).await, ErrorCode::NoSuchUpload);
    assert!(h.op(h.list_parts_op("lc", "keep/a", &keep, None, None)).await.is_ok());
    assert_eq!(h.store.list_staged(&bucket("lc")).await.unwrap().len(), 1);
    h.advance_days(2);
    assert!(h.engine.poll_timeout().is_some_and(|t| t <= h.now()));
    h.engine.handle_timeout(h.now()).await.unwrap();
    assert_eq!(h.code(h.list_parts_op("lc", "keep/a", &keep, None, None)).await, ErrorCode::NoSuchUpload);
    assert!(h.store.list_staged(&bucket("lc")).await.unwrap().is_empty());
    assert!(h.store.list_uploads(&bucket("lc")).await.unwrap().is_empty());
    assert_eq!(h.engine.poll_timeout(), None);
}
both!(lifecycle_rule_expires_uploads, small_parts());

async fn default_expiry_applies_without_a_rule<S: Store>(h: H<S>) {
    h.mkbucket("de").await;
    let id = h.create_upload("de", "k").await;
    h.advance_days(1);
    h.engine.handle_timeout(h.now()).await.unwrap();
    assert!(h.op(h.list_parts_op("de", "k", &id, None, None)).await.is_ok());
    h.advance_days(7);
    h.engine.handle_timeout(h.now()).await.unwrap();
    assert_eq!(h.code(h.list_parts_op("de", "k", &id, None, None)).await, ErrorCode::NoSuchUpload);
}
both!(
    default_expiry_applies_without_a_rule,
    tessera_engine::EngineConfig {
        default_upload_expiry: Some(std::time::Duration::from_secs(7 * 86_400)),
        ..tessera_engine::EngineConfig::default()
    }
);

async fn provided_digests_and_short_bodies<S: Store>(h: H<S>) {
    h.mkbucket("pd").await;
    let id = h.create_upload("pd", "k").await;
    let bytes = data(64, 9);
    let op = Operation::UploadPart {
        bucket: bucket("pd"),
        key: key("k"),
        upload_id: id.clone(),
        part_number: pn(1),
        content_length: 64,
        length_unknown: false,
        sse: None,
    };
    let out = h.run(op.clone(), &alice(), Dialect::Aws, provided_payload(&bytes)).await.unwrap();
    let Output::PartWritten { etag, .. } = out.output else { panic!() };
    assert_eq!(etag, md5_etag(&bytes));
    // A body shorter than declared is refused and leaves nothing staged.
    let short = tessera_engine::Payload {
        stream: stream(&bytes[..10]),
        length: 64,
        summary: tessera_engine::SummarySource::Compute,
    };
    let err = h.run(op, &alice(), Dialect::Aws, RequestBody::Payload(short)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::IncompleteBody);
    assert_eq!(h.store.list_staged(&bucket("pd")).await.unwrap().len(), 1);
    // A part number past the limit.
    let err = h.upload_part_as("pd", "k", &id, 10_000, b"x", &alice(), Dialect::Aws).await;
    assert!(err.is_ok(), "10000 is the last valid part number");
}
both!(provided_digests_and_short_bodies, small_parts());

async fn concurrent_identical_completes_both_succeed<S: Store>(h: H<S>) {
    h.mkbucket("cic").await;
    let id = h.create_upload("cic", "k").await;
    let e1 = h.upload_part("cic", "k", &id, 1, &data(40, 1)).await;
    let e2 = h.upload_part("cic", "k", &id, 2, &data(40, 2)).await;
    let parts = [(1, e1), (2, e2)];
    let (a, b) = tokio::join!(h.complete("cic", "k", &id, &parts), h.complete("cic", "k", &id, &parts));
    assert_eq!(a.unwrap().etag, b.unwrap().etag);
    assert_eq!(h.get("cic", "k").await, [data(40, 1), data(40, 2)].concat());
}
both!(concurrent_identical_completes_both_succeed, small_parts());

async fn crc64nvme_is_full_object_and_crc32_composite<S: Store>(h: H<S>) {
    use tessera_proto::{ChecksumAlgorithm, ChecksumType};
    h.mkbucket("ck").await;
    let parts = [data(64, 1), data(64, 2), data(10, 3)];
    let whole = parts.concat();
    for (algorithm, kind) in
        [(ChecksumAlgorithm::Crc64Nvme, None), (ChecksumAlgorithm::Crc32, Some(ChecksumType::Composite))]
    {
        let attributes =
            ObjectAttributes { checksum_algorithm: Some(algorithm), checksum_type: kind, ..Default::default() };
        let k = algorithm.as_str();
        let id = h.create_upload_as("ck", k, &alice(), Dialect::Aws, attributes).await.unwrap();
        let mut listed = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            listed.push((i as u32 + 1, h.upload_part("ck", k, &id, i as u32 + 1, p).await));
        }
        let out = h.op(h.list_parts_op("ck", k, &id, None, None)).await.unwrap();
        let Document::ListPartsResult(list) = doc_of(&out.output) else { panic!() };
        assert_eq!(list.checksum_algorithm.as_deref(), Some(k));
        let done = h.complete("ck", k, &id, &listed).await.unwrap();
        match algorithm {
            ChecksumAlgorithm::Crc64Nvme => {
                let full = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, &whole);
                let b64 = tessera_proto::Checksum::new(algorithm, &full.to_be_bytes()).unwrap().to_base64();
                assert_eq!(done.checksum_crc64nvme, Some(b64), "CRC64NVME is the full object's");
                assert_eq!(done.checksum_type.as_deref(), Some("FULL_OBJECT"));
            }
            _ => {
                let value = done.checksum_crc32.expect("a CRC32");
                assert!(value.ends_with("-3"), "{value}");
                assert_eq!(done.checksum_type.as_deref(), Some("COMPOSITE"));
            }
        }
        let (out, _) = h.get_as(head_op("ck", k), &alice()).await.unwrap();
        let Output::Object { head, .. } = out else { panic!() };
        assert_eq!(head.checksum.map(|(c, _)| c.algorithm()), Some(algorithm));
    }
    // CRC64NVME cannot be composite.
    let attributes = ObjectAttributes {
        checksum_algorithm: Some(ChecksumAlgorithm::Crc64Nvme),
        checksum_type: Some(ChecksumType::Composite),
        ..Default::default()
    };
    let err = h.create_upload_as("ck", "bad", &alice(), Dialect::Aws, attributes).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest);
}
both!(crc64nvme_is_full_object_and_crc32_composite, small_parts());

async fn oss_complete_all_uses_every_part<S: Store>(h: H<S>) {
    h.mkbucket("all").await;
    let id = h.create_upload_as("all", "k", &alice(), Dialect::Oss, ObjectAttributes::default()).await.unwrap();
    for n in [1u32, 2, 4] {
        h.upload_part_as("all", "k", &id, n, &data(20, n as u8), &alice(), Dialect::Oss).await.unwrap();
    }
    let mut op = h.complete_op("all", "k", &id);
    if let Operation::CompleteMultipartUpload { complete_all, .. } = &mut op {
        *complete_all = true;
    }
    let out = h.run(op, &alice(), Dialect::Oss, RequestBody::Empty).await.unwrap();
    let Document::CompleteMultipartUploadResult(done) = doc_of(&out.output) else { panic!() };
    assert!(done.etag.as_str().ends_with("-3"));
    assert_eq!(h.get("all", "k").await, [data(20, 1), data(20, 2), data(20, 4)].concat());
}
both!(oss_complete_all_uses_every_part, small_parts());

async fn initiate_attributes_reach_the_object<S: Store>(h: H<S>) {
    use tessera_proto::values::{StorageClass, TagSet, UserMetadata, WebsiteRedirectLocation};
    h.mkbucket("ia").await;
    let mut attributes = ObjectAttributes::default();
    attributes.content.content_type = Some("video/mp4".into());
    attributes.content.content_disposition = Some("attachment".into());
    attributes.metadata = UserMetadata::collect(Dialect::Obs, [("x-obs-meta-who", "ü".as_bytes())]).unwrap();
    attributes.storage_class = Some(StorageClass::parse(Dialect::Obs, "WARM").unwrap());
    attributes.tagging = Some(TagSet::parse_header("a=b").unwrap());
    attributes.website_redirect = Some(WebsiteRedirectLocation::parse("/index.html").unwrap());
    let id = h.create_upload_as("ia", "k", &alice(), Dialect::Obs, attributes).await.unwrap();
    let e1 = h.upload_part_as("ia", "k", &id, 1, b"video bytes", &alice(), Dialect::Obs).await.unwrap().0;
    let out = h.op(h.list_parts_op("ia", "k", &id, None, None)).await.unwrap();
    let Document::ListPartsResult(list) = doc_of(&out.output) else { panic!() };
    assert_eq!(list.storage_class.as_deref(), Some("WARM"));
    assert_eq!(list.initiator.as_ref().and_then(|o| o.id.as_deref()), Some("alice-id"));
    h.complete_with(h.complete_op("ia", "k", &id), &[(1, e1)], &alice(), Dialect::Obs).await.unwrap();
    let (out, _) = h.get_as(head_op("ia", "k"), &alice()).await.unwrap();
    let Output::Object { head, .. } = out else { panic!() };
    assert_eq!(head.content.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(head.content.content_disposition.as_deref(), Some("attachment"));
    assert_eq!(head.metadata.get("who"), Some("ü".as_bytes()));
    assert_eq!(head.storage_class.map(|s| s.as_str()), Some("WARM"));
    assert_eq!(head.tag_count, 1);
    assert_eq!(head.website_redirect.as_deref(), Some("/index.html"));
}
both!(initiate_attributes_reach_the_object, small_parts());
