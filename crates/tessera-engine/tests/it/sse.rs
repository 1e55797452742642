//! Encryption at rest through the engine's operations: SSE-S3, SSE-KMS and SSE-C on single
//! and multipart objects, ranged reads across parts, the SSE-C key rules, what reaches the
//! disk, and master-key rotation.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use tessera_engine::{CounterIds, Engine, EngineConfig};
use tessera_proto::ops::{CopySource, MetadataDirective, ObjectAttributes, Operation, Output, SseResponse};
use tessera_proto::values::{ByteRange, CustomerKey, SseRequest, Timestamp};
use tessera_proto::{Dialect, ErrorCode, PartNumber, UploadId};
use tessera_store::Store;
use tessera_store_fs::FsStore;

use crate::both;
use crate::util::*;

const CUSTOMER: [u8; 32] = [0xC5; 32];
const OTHER_CUSTOMER: [u8; 32] = [0x3D; 32];

fn customer(key: [u8; 32]) -> SseRequest {
    SseRequest::Customer(CustomerKey::from_key(key))
}

fn kms(key_id: Option<&str>) -> SseRequest {
    SseRequest::Kms { key_id: key_id.map(str::to_owned) }
}

fn kms_config() -> EngineConfig {
    EngineConfig { encryption: Some(encryption(&[("alpha", 1), ("beta", 2)])), ..small_parts() }
}

impl<S: Store> H<S> {
    async fn put_sse(&self, b: &str, k: &str, body: &[u8], sse: Option<SseRequest>) -> Output {
        let mut op = self.put_op(b, k, body.len());
        if let Operation::PutObject { attributes, .. } = &mut op {
            attributes.sse = sse;
        }
        self.run(op, &alice(), Dialect::Aws, payload(body)).await.unwrap().output
    }

    /// GET (or HEAD) with an SSE-C key and an optional range.
    async fn read_sse(
        &self,
        b: &str,
        k: &str,
        range: Option<ByteRange>,
        key: Option<[u8; 32]>,
        with_body: bool,
    ) -> Result<(Output, Vec<u8>), tessera_proto::ops::S3Error> {
        let sse_customer = key.map(customer);
        let op = if with_body {
            Operation::GetObject {
                bucket: bucket(b),
                key: crate::util::key(k),
                range,
                part_number: None,
                conditions: Default::default(),
                overrides: Default::default(),
                sse_customer,
            }
        } else {
            Operation::HeadObject {
                bucket: bucket(b),
                key: crate::util::key(k),
                range,
                part_number: None,
                conditions: Default::default(),
                sse_customer,
            }
        };
        self.get_as(op, &alice()).await
    }

    async fn create_sse(&self, b: &str, k: &str, sse: Option<SseRequest>) -> (UploadId, Option<SseResponse>) {
        let op = Operation::CreateMultipartUpload {
            bucket: bucket(b),
            key: crate::util::key(k),
            attributes: ObjectAttributes { sse, ..Default::default() },
            forbid_overwrite: false,
            encoding_url: false,
        };
        let out = self.op(op).await.unwrap().output;
        let Output::Multipart { document, sse, .. } = out else { panic!("{out:?}") };
        let tessera_proto::ops::Document::InitiateMultipartUploadResult(d) = document else { panic!() };
        (UploadId::new(&d.upload_id).unwrap(), sse)
    }

    async fn part_sse(
        &self,
        b: &str,
        k: &str,
        id: &UploadId,
        n: u32,
        body: &[u8],
        key: Option<[u8; 32]>,
    ) -> Result<(tessera_proto::ETag, Option<SseResponse>), tessera_proto::ops::S3Error> {
        let op = Operation::UploadPart {
            bucket: bucket(b),
            key: crate::util::key(k),
            upload_id: id.clone(),
            part_number: pn(n),
            content_length: body.len() as u64,
            length_unknown: false,
            sse: key.map(customer),
        };
        let out = self.run(op, &alice(), Dialect::Aws, payload(body)).await?.output;
        let Output::PartWritten { etag, sse, .. } = out else { panic!("{out:?}") };
        Ok((etag, sse))
    }

    /// Uploads `parts` as a multipart object under `sse` and completes it.
    async fn multipart_sse(&self, b: &str, k: &str, parts: &[Vec<u8>], sse: Option<SseRequest>, key: Option<[u8; 32]>) {
        let (id, _) = self.create_sse(b, k, sse).await;
        let mut etags = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let n = i as u32 + 1;
            etags.push((n, self.part_sse(b, k, &id, n, p, key).await.unwrap().0));
        }
        self.complete(b, k, &id, &etags).await.unwrap();
    }

    /// The object's stored bytes, as the store holds them.
    async fn raw(&self, b: &str, k: &str) -> Vec<u8> {
        let record = self.store.object(&bucket(b), &crate::util::key(k)).await.unwrap().unwrap();
        collect(self.store.read(&bucket(b), &crate::util::key(k), &record, 0..record.size).await.unwrap()).await
    }
}

/// Ranges at part boundaries, inside parts, straddling several parts, odd offsets, suffixes.
fn ranges(len: u64, boundaries: &[u64]) -> Vec<(u64, u64)> {
    let mut out = vec![(0, len - 1), (0, 0), (len - 1, len - 1), (1, 16), (15, 17), (5, len - 6)];
    for &b in boundaries {
        out.extend([(b - 1, b), (b, b), (b - 1, b - 1), (b - 17, (b + 33).min(len - 1)), (b, (b + 100).min(len - 1))]);
    }
    if let [first, .., last] = boundaries {
        out.push((first - 3, (last + 5).min(len - 1)));
    }
    out
}

async fn encrypted_multipart_reads_whole_and_ranged<S: Store>(h: H<S>) {
    h.mkbucket("mp").await;
    let parts = vec![data(1000, 1), data(1537, 2), data(777, 3), data(10, 4)];
    let whole = parts.concat();
    let len = whole.len() as u64;
    let mut boundaries = Vec::new();
    let mut at = 0;
    for p in &parts[..parts.len() - 1] {
        at += p.len() as u64;
        boundaries.push(at);
    }
    for (name, sse, key) in [
        ("s3", Some(SseRequest::S3), None),
        ("kms", Some(kms(Some("beta"))), None),
        ("c", Some(customer(CUSTOMER)), Some(CUSTOMER)),
    ] {
        h.multipart_sse("mp", name, &parts, sse, key).await;
        let raw = h.raw("mp", name).await;
        assert_eq!(raw.len(), whole.len());
        assert_ne!(raw, whole, "{name}: the store holds ciphertext");
        // Each part has its own key: equal plaintext parts would not give equal ciphertext.
        let (out, body) = h.read_sse("mp", name, None, key, true).await.unwrap();
        assert_eq!(body, whole, "{name}: whole object");
        let Output::Object { head, .. } = out else { panic!() };
        assert_eq!(head.parts_count, Some(4));
        match name {
            "s3" => assert_eq!(head.sse, Some(SseResponse::S3)),
            "kms" => assert_eq!(head.sse, Some(SseResponse::Kms { key_id: "beta".into() })),
            _ => assert_eq!(
                head.sse,
                Some(SseResponse::Customer { key_md5: CustomerKey::from_key(CUSTOMER).key_md5_base64() })
            ),
        }
        for (first, last) in ranges(len, &boundaries) {
            let range = ByteRange::FromTo(first, last);
            let (_, body) = h.read_sse("mp", name, Some(range), key, true).await.unwrap();
            assert_eq!(body, &whole[first as usize..=last as usize], "{name}: bytes {first}-{last}");
        }
        let range = ByteRange::Suffix(1001);
        let (_, body) = h.read_sse("mp", name, Some(range), key, true).await.unwrap();
        assert_eq!(body, &whole[whole.len() - 1001..], "{name}: suffix");
        // partNumber reads decrypt the part alone.
        let op = Operation::GetObject {
            bucket: bucket("mp"),
            key: crate::util::key(name),
            range: None,
            part_number: Some(PartNumber::new(2).unwrap()),
            conditions: Default::default(),
            overrides: Default::default(),
            sse_customer: key.map(customer),
        };
        assert_eq!(h.get_as(op, &alice()).await.unwrap().1, parts[1], "{name}: part 2");
    }
}
both!(encrypted_multipart_reads_whole_and_ranged, kms_config());

async fn single_puts_encrypt_and_follow_s3_etags<S: Store>(h: H<S>) {
    h.mkbucket("one").await;
    let body = data(70_001, 9);
    let md5 = md5_etag(&body);
    for (name, sse, key) in [
        ("s3", Some(SseRequest::S3), None),
        ("kms", Some(kms(None)), None),
        ("c", Some(customer(CUSTOMER)), Some(CUSTOMER)),
    ] {
        let out = h.put_sse("one", name, &body, sse).await;
        let Output::ObjectWritten { etag, crc64ecma, sse, .. } = out else { panic!() };
        assert_eq!(crc64ecma, crc64(&body), "{name}: the CRC is of the plaintext");
        match name {
            "s3" => {
                assert_eq!(etag, md5, "SSE-S3 keeps the MD5 ETag");
                assert_eq!(sse, Some(SseResponse::S3));
            }
            "kms" => {
                assert_ne!(etag, md5, "SSE-KMS ETags are not the MD5");
                assert_eq!(sse, Some(SseResponse::Kms { key_id: "alpha".into() }), "the default key is reported");
            }
            _ => assert_ne!(etag, md5, "SSE-C ETags are not the MD5"),
        }
        assert_eq!(etag.as_str().trim_matches('"').len(), 32);
        assert_ne!(h.raw("one", name).await, body, "{name}: the store holds ciphertext");
        let (out, got) = h.read_sse("one", name, None, key, true).await.unwrap();
        assert_eq!(got, body, "{name}");
        let Output::Object { head, .. } = out else { panic!() };
        assert_eq!(head.etag, etag);
        for (first, last) in [(0, 0), (15, 16), (16, 16), (12_345, 54_321), (70_000, 70_000)] {
            let range = ByteRange::FromTo(first, last);
            let (_, got) = h.read_sse("one", name, Some(range), key, true).await.unwrap();
            assert_eq!(got, &body[first as usize..=last as usize], "{name}: {first}-{last}");
        }
    }
    // The same bytes twice under KMS: two data keys, two ciphertexts, two ETags.
    let Output::ObjectWritten { etag: again, .. } = h.put_sse("one", "kms2", &body, Some(kms(None))).await else {
        panic!()
    };
    assert_ne!(h.raw("one", "kms").await, h.raw("one", "kms2").await);
    let Output::Object { head, .. } = h.read_sse("one", "kms", None, None, false).await.unwrap().0 else { panic!() };
    assert_ne!(head.etag, again);
    // Unknown KMS key.
    let mut op = h.put_op("one", "x", 1);
    if let Operation::PutObject { attributes, .. } = &mut op {
        attributes.sse = Some(kms(Some("gamma")));
    }
    let err = h.run(op, &alice(), Dialect::Aws, payload(b"x")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::KMSNotFoundException);
    assert_eq!(err.code.status(), 400);
}
both!(single_puts_encrypt_and_follow_s3_etags, kms_config());

async fn sse_c_keys_are_required_and_checked<S: Store>(h: H<S>) {
    h.mkbucket("ssec").await;
    let body = data(5000, 3);
    h.put_sse("ssec", "obj", &body, Some(customer(CUSTOMER))).await;
    for with_body in [true, false] {
        let err = h.read_sse("ssec", "obj", None, None, with_body).await.unwrap_err();
        assert_eq!((err.code.clone(), err.code.status()), (ErrorCode::InvalidRequest, 400), "missing key");
        let err = h.read_sse("ssec", "obj", None, Some(OTHER_CUSTOMER), with_body).await.unwrap_err();
        assert_eq!((err.code.clone(), err.code.status()), (ErrorCode::AccessDenied, 403), "wrong key");
        let (out, got) = h.read_sse("ssec", "obj", None, Some(CUSTOMER), with_body).await.unwrap();
        assert_eq!(got.len(), if with_body { 5000 } else { 0 });
        let Output::Object { head, .. } = out else { panic!() };
        assert_eq!(head.sse, Some(SseResponse::Customer { key_md5: CustomerKey::from_key(CUSTOMER).key_md5_base64() }));
    }
    // A key for an object that has none.
    h.put("ssec", "plain", b"plain").await;
    let err = h.read_sse("ssec", "plain", None, Some(CUSTOMER), true).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest);

    // Multipart: every part repeats the initiate's key.
    let (id, sse) = h.create_sse("ssec", "mp", Some(customer(CUSTOMER))).await;
    assert!(matches!(sse, Some(SseResponse::Customer { .. })));
    let err = h.part_sse("ssec", "mp", &id, 1, &data(100, 1), None).await.unwrap_err();
    assert_eq!((err.code.clone(), err.code.status()), (ErrorCode::InvalidRequest, 400), "part without the key");
    let err = h.part_sse("ssec", "mp", &id, 1, &data(100, 1), Some(OTHER_CUSTOMER)).await.unwrap_err();
    assert_eq!((err.code.clone(), err.code.status()), (ErrorCode::InvalidRequest, 400), "part with another key");
    // Refused parts stage nothing.
    assert!(h.store.list_staged(&bucket("ssec")).await.unwrap().is_empty());
    let (e1, psse) = h.part_sse("ssec", "mp", &id, 1, &data(100, 1), Some(CUSTOMER)).await.unwrap();
    assert!(matches!(psse, Some(SseResponse::Customer { .. })));
    let (e2, _) = h.part_sse("ssec", "mp", &id, 2, &data(30, 2), Some(CUSTOMER)).await.unwrap();
    // A plaintext upload takes no customer key on its parts.
    let (plain_id, _) = h.create_sse("ssec", "plainmp", None).await;
    let err = h.part_sse("ssec", "plainmp", &plain_id, 1, b"0123456789", Some(CUSTOMER)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    h.complete("ssec", "mp", &id, &[(1, e1), (2, e2)]).await.unwrap();
    let err = h.read_sse("ssec", "mp", None, Some(OTHER_CUSTOMER), true).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::AccessDenied);
    let (_, got) = h.read_sse("ssec", "mp", None, Some(CUSTOMER), true).await.unwrap();
    assert_eq!(got, [data(100, 1), data(30, 2)].concat());

    // Copies of an SSE-C source need its key; the copy may take a key of its own.
    let source = |key: Option<[u8; 32]>| CopySource {
        bucket: bucket("ssec"),
        key: crate::util::key("obj"),
        version_id: None,
        conditions: Default::default(),
        sse_customer: key.map(customer),
    };
    let copy = |src: CopySource, dest_key: Option<[u8; 32]>| Operation::CopyObject {
        bucket: bucket("ssec"),
        key: crate::util::key("copy"),
        source: src,
        metadata_directive: MetadataDirective::Copy,
        replace_tagging: false,
        attributes: ObjectAttributes { sse: dest_key.map(customer), ..Default::default() },
        conditions: Default::default(),
        forbid_overwrite: false,
    };
    assert_eq!(h.code(copy(source(None), None)).await, ErrorCode::InvalidRequest);
    assert_eq!(h.code(copy(source(Some(OTHER_CUSTOMER)), None)).await, ErrorCode::AccessDenied);
    h.op(copy(source(Some(CUSTOMER)), Some(OTHER_CUSTOMER))).await.unwrap();
    assert_eq!(h.read_sse("ssec", "copy", None, Some(CUSTOMER), true).await.unwrap_err().code, ErrorCode::AccessDenied);
    assert_eq!(h.read_sse("ssec", "copy", None, Some(OTHER_CUSTOMER), true).await.unwrap().1, body);
    // Copied to plaintext, the copy reads without a key.
    h.op(copy(source(Some(CUSTOMER)), None)).await.unwrap();
    assert_eq!(h.read_sse("ssec", "copy", None, None, true).await.unwrap().1, body);

    // UploadPartCopy from the SSE-C object into an SSE-S3 upload.
    let (id, _) = h.create_sse("ssec", "pc", Some(SseRequest::S3)).await;
    let part_copy = |src: CopySource| Operation::UploadPartCopy {
        bucket: bucket("ssec"),
        key: crate::util::key("pc"),
        upload_id: id.clone(),
        part_number: pn(1),
        source: src,
        source_range: Some((100, 1099)),
        sse: None,
    };
    assert_eq!(h.code(part_copy(source(None))).await, ErrorCode::InvalidRequest);
    assert_eq!(h.code(part_copy(source(Some(OTHER_CUSTOMER)))).await, ErrorCode::AccessDenied);
    let out = h.op(part_copy(source(Some(CUSTOMER)))).await.unwrap().output;
    let Output::PartWritten { etag, sse, .. } = out else { panic!() };
    assert_eq!(sse, Some(SseResponse::S3));
    h.complete("ssec", "pc", &id, &[(1, etag)]).await.unwrap();
    assert_eq!(h.read_sse("ssec", "pc", None, None, true).await.unwrap().1, &body[100..1100]);
}
both!(sse_c_keys_are_required_and_checked, small_parts());

async fn bucket_default_encryption_applies_at_initiate<S: Store>(h: H<S>) {
    h.mkbucket("dflt").await;
    let body = "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>";
    let put = Operation::PutBucketEncryption { bucket: bucket("dflt") };
    h.run(put, &alice(), Dialect::Aws, tessera_engine::RequestBody::Xml(body.into())).await.unwrap();
    let (id, sse) = h.create_sse("dflt", "mp", None).await;
    assert_eq!(sse, Some(SseResponse::Kms { key_id: "alpha".into() }));
    let (etag, psse) = h.part_sse("dflt", "mp", &id, 1, &data(64, 1), None).await.unwrap();
    assert_eq!(psse, Some(SseResponse::Kms { key_id: "alpha".into() }));
    h.complete("dflt", "mp", &id, &[(1, etag)]).await.unwrap();
    assert_ne!(h.raw("dflt", "mp").await, data(64, 1));
    assert_eq!(h.get("dflt", "mp").await, data(64, 1));
    // A request's own choice wins over the default.
    let Output::ObjectWritten { sse, .. } = h.put_sse("dflt", "s3", b"abc", Some(SseRequest::S3)).await else {
        panic!()
    };
    assert_eq!(sse, Some(SseResponse::S3));
}
both!(bucket_default_encryption_applies_at_initiate, kms_config());

/// Every file under `dir`, recursively, as bytes.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_holds_no_plaintext_and_no_customer_key() {
    let h = fs(kms_config()).await;
    let dir = h._dir.as_ref().unwrap().path().to_owned();
    h.mkbucket("scan").await;
    let marker = b"TESSERA-KNOWN-PLAINTEXT-PATTERN-0123456789";
    let body: Vec<u8> = marker.iter().copied().cycle().take(200_000).collect();
    let parts = [body[..70_000].to_vec(), body[70_000..].to_vec()];
    h.put_sse("scan", "s3", &body, Some(SseRequest::S3)).await;
    h.put_sse("scan", "kms", &body, Some(kms(Some("beta")))).await;
    h.put_sse("scan", "c", &body, Some(customer(CUSTOMER))).await;
    h.multipart_sse("scan", "mp-s3", &parts, Some(SseRequest::S3), None).await;
    h.multipart_sse("scan", "mp-c", &parts, Some(customer(CUSTOMER)), Some(CUSTOMER)).await;
    // An upload left open keeps its staged parts and its record on disk too.
    let (id, _) = h.create_sse("scan", "open", Some(customer(CUSTOMER))).await;
    h.part_sse("scan", "open", &id, 1, &parts[0], Some(CUSTOMER)).await.unwrap();

    let b64 = base64::engine::general_purpose::STANDARD;
    let key_b64 = b64.encode(CUSTOMER);
    let all = files(&dir);
    assert!(all.len() > 5, "{all:?}");
    for (path, bytes) in &all {
        assert!(!contains(bytes, &marker[..24]), "{} holds plaintext", path.display());
        assert!(!contains(bytes, &CUSTOMER), "{} holds the SSE-C key", path.display());
        assert!(!contains(bytes, key_b64.as_bytes()), "{} holds the SSE-C key in base64", path.display());
        assert!(!contains(bytes, &[1; 32]) && !contains(bytes, &[2; 32]), "{} holds a master key", path.display());
    }
    // The scan finds plaintext when there is some: the check above can fail.
    h.put("scan", "plain", &body).await;
    assert!(files(&dir).iter().any(|(_, bytes)| contains(bytes, &marker[..24])));
    for (k, key) in [("s3", None), ("kms", None), ("c", Some(CUSTOMER)), ("mp-s3", None), ("mp-c", Some(CUSTOMER))] {
        assert_eq!(h.read_sse("scan", k, None, key, true).await.unwrap().1, body, "{k}");
    }
}

async fn open_with(store: Arc<FsStore>, kms: &[(&str, u8)]) -> Engine<FsStore> {
    let config = EngineConfig { encryption: Some(encryption(kms)), ..small_parts() };
    Engine::open(store, config, Box::new(CounterIds::new("r", 1)), Timestamp::from_millis(T0)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_master_key_keeps_old_objects_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).await.unwrap());
    let h = |engine| H { engine, store: store.clone(), clock: std::sync::atomic::AtomicU64::new(T0), _dir: None };
    let old = h(open_with(store.clone(), &[("k-2025", 1)]).await);
    old.mkbucket("rot").await;
    old.put_sse("rot", "before", &data(3000, 1), Some(kms(None))).await;
    old.multipart_sse("rot", "mp-before", &[data(100, 2), data(50, 3)], Some(kms(None)), None).await;
    old.put_sse("rot", "s3", &data(10, 4), Some(SseRequest::S3)).await;
    drop(old);

    // Rotation: a new default key; the old one stays in the ring to unwrap old data keys.
    let new = h(open_with(store.clone(), &[("k-2026", 7), ("k-2025", 1)]).await);
    assert_eq!(new.get("rot", "before").await, data(3000, 1));
    assert_eq!(new.get("rot", "mp-before").await, [data(100, 2), data(50, 3)].concat());
    assert_eq!(new.get("rot", "s3").await, data(10, 4));
    let Output::ObjectWritten { sse, .. } = new.put_sse("rot", "after", &data(500, 5), Some(kms(None))).await else {
        panic!()
    };
    assert_eq!(sse, Some(SseResponse::Kms { key_id: "k-2026".into() }));
    let (out, _) = new.read_sse("rot", "before", None, None, false).await.unwrap();
    let Output::Object { head, .. } = out else { panic!() };
    assert_eq!(head.sse, Some(SseResponse::Kms { key_id: "k-2025".into() }));
    drop(new);

    // The old key retired from the ring: its objects cannot be read, and say why.
    let retired = h(open_with(store.clone(), &[("k-2026", 7)]).await);
    let err = retired.get_as(retired.get_op("rot", "before"), &alice()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::KMSNotFoundException);
    assert!(err.message.contains("k-2025"), "{}", err.message);
    assert_eq!(retired.get("rot", "after").await, data(500, 5));
}
