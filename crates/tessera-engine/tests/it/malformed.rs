//! Hostile or broken bodies get a 4xx, never a 500 or a panic.

use bytes::Bytes;
use tessera_engine::RequestBody;
use tessera_proto::Dialect;
use tessera_proto::ops::{AclRequest, Operation};
use tessera_store::Store;

use crate::both;
use crate::util::*;

async fn broken_bodies_are_client_errors<S: Store>(h: H<S>) {
    h.mkbucket("bad").await;
    h.put("bad", "k", b"v").await;
    let id = h.create_upload("bad", "k").await;
    let ops = [
        Operation::PutBucketLifecycle { bucket: bucket("bad") },
        Operation::PutBucketEncryption { bucket: bucket("bad") },
        Operation::DeleteObjects { bucket: bucket("bad") },
        Operation::PutObjectTagging { bucket: bucket("bad"), key: key("k") },
        Operation::PutBucketAcl { bucket: bucket("bad"), acl: AclRequest::default() },
        Operation::PutObjectAcl { bucket: bucket("bad"), key: key("k"), acl: AclRequest::default() },
        h.complete_op("bad", "k", &id),
    ];
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    let bodies: Vec<Option<Bytes>> = vec![
        None,
        Some(Bytes::new()),
        Some(Bytes::from_static(b"<")),
        Some(Bytes::from_static(b"not xml at all")),
        Some(Bytes::from_static(b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>")),
        Some(Bytes::from_static(b"<WrongRoot/>")),
        Some(Bytes::from(deep)),
        Some(Bytes::from_static(b"\xff\xfe<\x00")),
        Some(Bytes::from_static(b"<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>")),
        Some(Bytes::from_static(b"<CompleteMultipartUpload><Part><PartNumber>99999</PartNumber><ETag>\"\"</ETag></Part></CompleteMultipartUpload>")),
        Some(Bytes::from_static(b"<Tagging><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>")),
        Some(Bytes::from_static(b"<AccessControlPolicy><AccessControlList><Grant><Grantee type=\"Nobody\"/><Permission>ALL</Permission></Grant></AccessControlList></AccessControlPolicy>")),
        Some(Bytes::from_static(b"<LifecycleConfiguration><Rule><Status>Maybe</Status></Rule></LifecycleConfiguration>")),
    ];
    for op in &ops {
        for body in &bodies {
            let request_body = body.clone().map_or(RequestBody::Empty, RequestBody::Xml);
            match h.run(op.clone(), &alice(), Dialect::Aws, request_body).await {
                Ok(_) => panic!("{op:?} accepted {body:?}"),
                Err(e) => {
                    let status = e.code.status();
                    assert!((400..500).contains(&status), "{op:?} with {body:?}: {e:?}");
                }
            }
        }
    }
    // The upload survived every broken Complete.
    assert!(h.op(h.list_parts_op("bad", "k", &id, None, None)).await.is_ok());
}
both!(broken_bodies_are_client_errors);
