//! Buckets: create/delete rules, listings, lifecycle documents, anonymous access.

use bytes::Bytes;
use tessera_engine::RequestBody;
use tessera_proto::ops::{AclRequest, Document, KeyListing, Operation, Output, Principal};
use tessera_proto::values::CannedAcl;
use tessera_proto::{Dialect, ErrorCode, xml};
use tessera_store::Store;

use crate::both;
use crate::multipart::{set_bucket_acl, xml_of};
use crate::util::*;

async fn create_and_delete_rules<S: Store>(h: H<S>) {
    h.mkbucket("one").await;
    let again = h.create_bucket_as("one", &alice()).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::BucketAlreadyOwnedByYou);
    assert_eq!(again.code.status(), 409);
    let taken = h.create_bucket_as("one", &bob()).await.unwrap_err();
    assert_eq!(taken.code, ErrorCode::BucketAlreadyExists);
    // COS answers BucketAlreadyExists to the owner too; OSS lets the owner re-create (and
    // update the ACL), refusing only a change of region.
    let cos = Operation::CreateBucket { bucket: bucket("one"), location: None, acl: AclRequest::default() };
    let err = h.run(cos, &alice(), Dialect::Cos, RequestBody::Empty).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BucketAlreadyExists);
    let public =
        AclRequest { canned: Some(CannedAcl::parse(Dialect::Oss, "public-read").unwrap()), grants: Vec::new() };
    let oss = Operation::CreateBucket { bucket: bucket("one"), location: None, acl: public };
    h.run(oss, &alice(), Dialect::Oss, RequestBody::Empty).await.unwrap();
    let list = list_op_in("one");
    assert!(h.run(list, &Principal::Anonymous, Dialect::Oss, RequestBody::Empty).await.is_ok());
    let moved = Operation::CreateBucket {
        bucket: bucket("one"),
        location: Some("elsewhere".into()),
        acl: AclRequest::default(),
    };
    let err = h.run(moved, &alice(), Dialect::Oss, RequestBody::Empty).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::BucketAlreadyExists);
    let anon = h.create_bucket_as("anon", &Principal::Anonymous).await.unwrap_err();
    assert_eq!(anon.code, ErrorCode::AccessDenied);
    let head = h.op(Operation::HeadBucket { bucket: bucket("one") }).await.unwrap();
    assert_eq!(head.output, Output::BucketHead { region: "us-east-1".into() });
    assert_eq!(h.code(Operation::HeadBucket { bucket: bucket("none") }).await, ErrorCode::NoSuchBucket);
    let loc = h.op(Operation::GetBucketLocation { bucket: bucket("one") }).await.unwrap();
    let Document::LocationConstraint(l) = doc_of(&loc.output) else { panic!() };
    assert_eq!(l.region, "");
    let made = Operation::CreateBucket {
        bucket: bucket("eu"),
        location: Some("eu-west-1".into()),
        acl: AclRequest::default(),
    };
    h.op(made).await.unwrap();
    let loc = h.op(Operation::GetBucketLocation { bucket: bucket("eu") }).await.unwrap();
    let Document::LocationConstraint(l) = doc_of(&loc.output) else { panic!() };
    assert_eq!(l.region, "eu-west-1");

    // Not empty: an object, then an upload.
    h.put("one", "k", b"v").await;
    let delete = Operation::DeleteBucket { bucket: bucket("one") };
    assert_eq!(h.code(delete.clone()).await, ErrorCode::BucketNotEmpty);
    h.op(Operation::DeleteObject { bucket: bucket("one"), key: key("k"), conditions: Default::default() })
        .await
        .unwrap();
    let id = h.create_upload("one", "u").await;
    assert_eq!(h.code(delete.clone()).await, ErrorCode::BucketNotEmpty);
    let bob_delete = h.run(delete.clone(), &bob(), Dialect::Aws, RequestBody::Empty).await.unwrap_err();
    assert_eq!(bob_delete.code, ErrorCode::AccessDenied);
    h.op(Operation::AbortMultipartUpload { bucket: bucket("one"), key: key("u"), upload_id: id }).await.unwrap();
    assert_eq!(h.op(delete.clone()).await.unwrap().output, Output::NoContent);
    assert_eq!(h.code(delete).await, ErrorCode::NoSuchBucket);

    // ListBuckets shows the caller's own buckets.
    h.create_bucket_as("bobs", &bob()).await.unwrap();
    let out = h.op(Operation::ListBuckets).await.unwrap();
    let Document::ListAllMyBucketsResult(list) = doc_of(&out.output) else { panic!() };
    let names: Vec<&str> = list.buckets.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["bkt-eu"]);
    let anon = h.run(Operation::ListBuckets, &Principal::Anonymous, Dialect::Aws, RequestBody::Empty).await;
    assert_eq!(anon.unwrap_err().code, ErrorCode::AccessDenied);
}
both!(create_and_delete_rules);

fn list_op(
    prefix: Option<&str>,
    delimiter: Option<&str>,
    max: Option<u32>,
    start: Option<&str>,
    token: Option<String>,
    v2: bool,
) -> Operation {
    Operation::ListObjects {
        bucket: bucket("ls"),
        listing: KeyListing {
            prefix: prefix.map(str::to_owned),
            delimiter: delimiter.map(str::to_owned),
            max_keys: max,
            encoding_url: false,
        },
        start_after: start.map(str::to_owned),
        continuation_token: token,
        v2,
        fetch_owner: false,
    }
}

async fn object_listings<S: Store>(h: H<S>) {
    h.mkbucket("ls").await;
    let keys = ["a", "b/1", "b/2", "b/c/3", "c", "d/1", "e+f %", "é"];
    for k in keys {
        h.put("ls", k, k.as_bytes()).await;
    }
    // V2 without a delimiter, two at a time: every key once, in order.
    let mut token = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let out = h.op(list_op(None, None, Some(3), None, token.clone(), true)).await.unwrap();
        let Document::ListBucketResultV2(page) = doc_of(&out.output) else { panic!() };
        pages += 1;
        assert_eq!(page.key_count as usize, page.contents.len());
        assert!(page.contents.iter().all(|c| c.owner.is_none()), "no owner without fetch-owner");
        seen.extend(page.contents.iter().map(|c| c.key.clone()));
        if !page.is_truncated {
            assert!(page.next_continuation_token.is_none());
            break;
        }
        token = page.next_continuation_token.clone();
    }
    assert_eq!(seen, keys);
    assert_eq!(pages, 3);
    // Delimiter: prefixes count toward the page.
    let out = h.op(list_op(None, Some("/"), None, None, None, true)).await.unwrap();
    let Document::ListBucketResultV2(page) = doc_of(&out.output) else { panic!() };
    let contents: Vec<&str> = page.contents.iter().map(|c| c.key.as_str()).collect();
    let prefixes: Vec<&str> = page.common_prefixes.iter().map(|p| p.prefix.as_str()).collect();
    assert_eq!(contents, ["a", "c", "e+f %", "é"]);
    assert_eq!(prefixes, ["b/", "d/"]);
    assert_eq!(page.key_count, 6);
    // Prefix and delimiter.
    let out = h.op(list_op(Some("b/"), Some("/"), None, None, None, true)).await.unwrap();
    let Document::ListBucketResultV2(page) = doc_of(&out.output) else { panic!() };
    assert_eq!(page.contents.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["b/1", "b/2"]);
    assert_eq!(page.common_prefixes.iter().map(|p| p.prefix.as_str()).collect::<Vec<_>>(), ["b/c/"]);
    // V1 with a delimiter, paged by NextMarker: a marker on a common prefix skips it.
    let mut marker: Option<String> = None;
    let mut entries = Vec::new();
    loop {
        let out = h.op(list_op(None, Some("/"), Some(2), marker.as_deref(), None, false)).await.unwrap();
        let Document::ListBucketResult(page) = doc_of(&out.output) else { panic!() };
        assert!(page.contents.iter().all(|c| c.owner.is_some()), "V1 shows owners");
        entries.extend(page.contents.iter().map(|c| c.key.clone()));
        entries.extend(page.common_prefixes.iter().map(|p| p.prefix.clone()));
        if !page.is_truncated {
            break;
        }
        marker = page.next_marker.clone();
        assert!(marker.is_some());
    }
    entries.sort();
    assert_eq!(entries, ["a", "b/", "c", "d/", "e+f %", "é"]);
    // start-after.
    let out = h.op(list_op(None, None, None, Some("c"), None, true)).await.unwrap();
    let Document::ListBucketResultV2(page) = doc_of(&out.output) else { panic!() };
    assert_eq!(page.contents.first().map(|c| c.key.as_str()), Some("d/1"));
    // encoding-type=url encodes keys on the wire.
    let mut op = list_op(Some("e"), None, None, None, None, true);
    if let Operation::ListObjects { listing, fetch_owner, .. } = &mut op {
        listing.encoding_url = true;
        *fetch_owner = true;
    }
    let out = h.op(op).await.unwrap();
    let wire = String::from_utf8(xml_of(&out.output)).unwrap();
    assert!(wire.contains("<Key>e%2Bf%20%25</Key>"), "{wire}");
    assert!(wire.contains("<EncodingType>url</EncodingType>"), "{wire}");
    assert!(wire.contains("<Owner>"), "{wire}");
    // max-keys 0 and a bad token.
    let out = h.op(list_op(None, None, Some(0), None, None, true)).await.unwrap();
    let Document::ListBucketResultV2(page) = doc_of(&out.output) else { panic!() };
    assert!(page.contents.is_empty());
    let err = h.code(list_op(None, None, None, None, Some("***".into()), true)).await;
    assert_eq!(err, ErrorCode::InvalidArgument);
    // Versions: every object as its null version.
    let versions = Operation::ListObjectVersions {
        bucket: bucket("ls"),
        listing: KeyListing { max_keys: Some(5), ..Default::default() },
        key_marker: None,
    };
    let out = h.op(versions).await.unwrap();
    let Document::ListVersionsResult(v) = doc_of(&out.output) else { panic!() };
    assert_eq!(v.entries.len(), 5);
    assert!(v.is_truncated);
    assert_eq!(v.next_key_marker.as_deref(), Some("c"));
    let first = v.entries[0].entry();
    assert_eq!((first.version_id.as_str(), first.is_latest), ("null", true));
}
both!(object_listings);

async fn anonymous_access_follows_the_acl<S: Store>(h: H<S>) {
    h.mkbucket("pub").await;
    h.put("pub", "k", b"public?").await;
    let anon = Principal::Anonymous;
    let list = list_op_in("pub");
    assert_eq!(h.get_as(h.get_op("pub", "k"), &anon).await.unwrap_err().code, ErrorCode::AccessDenied);
    assert_eq!(
        h.run(list.clone(), &anon, Dialect::Aws, RequestBody::Empty).await.unwrap_err().code,
        ErrorCode::AccessDenied
    );
    set_bucket_acl(&h, "pub", "public-read").await;
    assert_eq!(h.get_as(h.get_op("pub", "k"), &anon).await.unwrap().1, b"public?");
    // response-* overrides are for signed requests only.
    let mut op = h.get_op("pub", "k");
    if let Operation::GetObject { overrides, .. } = &mut op {
        overrides.content_type = Some("text/html".into());
    }
    assert_eq!(h.get_as(op.clone(), &anon).await.unwrap_err().code, ErrorCode::InvalidRequest);
    let (out, _) = h.get_as(op, &alice()).await.unwrap();
    let Output::Object { overrides, .. } = out else { panic!() };
    assert_eq!(overrides.content_type.as_deref(), Some("text/html"));
    assert!(h.run(list, &anon, Dialect::Aws, RequestBody::Empty).await.is_ok());
    let put = h.run(h.put_op("pub", "w", 1), &anon, Dialect::Aws, payload(b"w")).await.unwrap_err();
    assert_eq!(put.code, ErrorCode::AccessDenied);
    // An object with its own private ACL stays private under a public-read bucket.
    let mut op = h.put_op("pub", "secret", 1);
    if let Operation::PutObject { attributes, .. } = &mut op {
        attributes.acl.canned = Some(CannedAcl::parse(Dialect::Aws, "private").unwrap());
    }
    h.run(op, &alice(), Dialect::Aws, payload(b"s")).await.unwrap();
    assert_eq!(h.get_as(h.get_op("pub", "secret"), &anon).await.unwrap_err().code, ErrorCode::AccessDenied);
    set_bucket_acl(&h, "pub", "public-read-write").await;
    h.run(h.put_op("pub", "w", 1), &anon, Dialect::Aws, payload(b"w")).await.unwrap();
    assert_eq!(h.get("pub", "w").await, b"w");
    // Bucket configuration stays the owner's.
    let acl = Operation::GetBucketAcl { bucket: bucket("pub") };
    let out = h.op(acl.clone()).await.unwrap();
    let Document::AccessControlPolicy(p) = doc_of(&out.output) else { panic!() };
    assert_eq!(p.grants.len(), 3);
    assert_eq!(h.run(acl, &anon, Dialect::Aws, RequestBody::Empty).await.unwrap_err().code, ErrorCode::AccessDenied);
    let lifecycle = Operation::GetBucketLifecycle { bucket: bucket("pub") };
    assert_eq!(
        h.run(lifecycle, &bob(), Dialect::Aws, RequestBody::Empty).await.unwrap_err().code,
        ErrorCode::AccessDenied
    );
}
both!(anonymous_access_follows_the_acl);

fn list_op_in(b: &str) -> Operation {
    Operation::ListObjects {
        bucket: bucket(b),
        listing: KeyListing::default(),
        start_after: None,
        continuation_token: None,
        v2: true,
        fetch_owner: false,
    }
}

async fn lifecycle_documents<S: Store>(h: H<S>) {
    h.mkbucket("lcd").await;
    let get = Operation::GetBucketLifecycle { bucket: bucket("lcd") };
    assert_eq!(h.code(get.clone()).await, ErrorCode::NoSuchLifecycleConfiguration);
    let put = Operation::PutBucketLifecycle { bucket: bucket("lcd") };
    let body = "<LifecycleConfiguration><Rule><ID>r</ID><Prefix>logs/</Prefix><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>";
    h.run(put.clone(), &alice(), Dialect::Aws, RequestBody::Xml(Bytes::from(body))).await.unwrap();
    let out = h.op(get.clone()).await.unwrap();
    let Document::LifecycleConfiguration(l) = doc_of(&out.output) else { panic!() };
    assert_eq!(l.rules.len(), 1);
    assert_eq!(l.rules[0].effective_prefix(), "logs/");
    assert_eq!(
        l.rules[0].abort_incomplete_multipart_upload,
        Some(xml::AbortIncompleteMultipartUpload { days_after_initiation: 7 })
    );
    let zero = body.replace(">7<", ">0<");
    let err = h.run(put.clone(), &alice(), Dialect::Aws, RequestBody::Xml(zero.into())).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    let err = h.run(put.clone(), &alice(), Dialect::Aws, RequestBody::Xml(Bytes::from_static(b"<Lifecycle"))).await;
    assert_eq!(err.unwrap_err().code, ErrorCode::MalformedXML);
    let err = h.run(put, &alice(), Dialect::Aws, RequestBody::Empty).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::MalformedXML);
    assert_eq!(
        h.op(Operation::DeleteBucketLifecycle { bucket: bucket("lcd") }).await.unwrap().output,
        Output::NoContent
    );
    assert_eq!(h.code(get).await, ErrorCode::NoSuchLifecycleConfiguration);
}
both!(lifecycle_documents);

async fn lifecycle_expiration_deletes_objects<S: Store>(h: H<S>) {
    h.mkbucket("exp").await;
    for k in ["logs/a", "keep/b", "old/c"] {
        h.put("exp", k, k.as_bytes()).await;
    }
    let body = "<LifecycleConfiguration>\
        <Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>\
        <Rule><ID>old</ID><Filter><Prefix>old/</Prefix></Filter><Status>Enabled</Status><Expiration><Date>2025-01-01T00:00:00.000Z</Date></Expiration></Rule>\
        <Rule><ID>off</ID><Filter><Prefix>keep/</Prefix></Filter><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
        </LifecycleConfiguration>";
    let put = Operation::PutBucketLifecycle { bucket: bucket("exp") };
    h.run(put, &alice(), Dialect::Aws, RequestBody::Xml(body.into())).await.unwrap();
    assert!(h.engine.poll_timeout().is_some_and(|t| t <= h.now()), "a new rule is swept at once");
    h.advance_days(1);
    h.engine.handle_timeout(h.now()).await.unwrap();
    assert!(h.object_absent("exp", "old/c").await, "past its date");
    assert_eq!(h.get("exp", "logs/a").await, b"logs/a", "one day old of two");
    assert!(h.engine.poll_timeout().is_some_and(|t| t > h.now()));
    h.advance_days(2);
    assert!(h.engine.poll_timeout().is_some_and(|t| t <= h.now()));
    h.engine.handle_timeout(h.now()).await.unwrap();
    assert!(h.object_absent("exp", "logs/a").await);
    assert_eq!(h.get("exp", "keep/b").await, b"keep/b", "disabled rules do nothing");
    h.op(Operation::DeleteBucketLifecycle { bucket: bucket("exp") }).await.unwrap();
    assert_eq!(h.engine.poll_timeout(), None);
}
both!(lifecycle_expiration_deletes_objects);
