//! Arbitrary bytes into every XML document parser of tessera-proto. Nothing may panic; a
//! document that parses must write and read back to itself in every dialect; the plain-form
//! reader of `<CompleteMultipartUpload>` must answer as the general reader does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_proto::Dialect;
use tessera_proto::xml::{self, XmlDocument};

fn check<T: XmlDocument + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(doc) = xml::from_xml::<T>(data) else { return };
    for d in Dialect::ALL {
        let written = xml::to_xml(&doc, d);
        let back = xml::from_xml::<T>(&written)
            .unwrap_or_else(|e| panic!("{d}: own output rejected: {e}\n{}", String::from_utf8_lossy(&written)));
        // Reading decodes what writing encoded; `<Error>` comes back with the elements the
        // dialect always writes.
        if back != doc && back != doc.to_wire(d).into_owned() {
            panic!("{d}: round trip changed the document\n{doc:?}\n{back:?}");
        }
    }
}

/// The plain-form reader and the general one: the same document, or errors of one code.
fn plain_agrees(data: &[u8]) {
    let limits = xml::XmlLimits::DEFAULT;
    let fast = xml::from_xml_with_limits::<xml::CompleteMultipartUpload>(data, limits);
    let general = xml::from_xml_general::<xml::CompleteMultipartUpload>(data, limits);
    match (&fast, &general) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.code(), b.code()),
        _ => panic!("plain {fast:?}, general {general:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    plain_agrees(data);
    check::<xml::InitiateMultipartUploadResult>(data);
    check::<xml::CompleteMultipartUpload>(data);
    check::<xml::CompleteMultipartUploadResult>(data);
    check::<xml::ListPartsResult>(data);
    check::<xml::ListMultipartUploadsResult>(data);
    check::<xml::CopyPartResult>(data);
    check::<xml::CopyObjectResult>(data);
    check::<xml::ErrorDocument>(data);
    check::<xml::ListBucketResult>(data);
    check::<xml::ListBucketResultV2>(data);
    check::<xml::ListVersionsResult>(data);
    check::<xml::ListAllMyBucketsResult>(data);
    check::<xml::Delete>(data);
    check::<xml::DeleteResult>(data);
    check::<xml::Tagging>(data);
    check::<xml::AccessControlPolicy>(data);
    check::<xml::CreateBucketConfiguration>(data);
    check::<xml::LocationConstraint>(data);
    check::<xml::LifecycleConfiguration>(data);
    check::<xml::ServerSideEncryptionConfiguration>(data);
    check::<xml::GetObjectAttributesOutput>(data);
});
