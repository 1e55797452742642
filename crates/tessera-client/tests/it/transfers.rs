//! Every operation and both transfer directions, in every dialect.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::Method;
use tessera_client::{
    Addressing, Checksums, Client, ClientError, CopySource, DownloadOptions, Downloader, InProcess, ObjectOptions,
    Transport, Uploader,
};
use tessera_proto::{ChecksumAlgorithm, Dialect, PartNumber};

use crate::support::{self, MIN_PART, data, server, small_parts};

#[tokio::test]
async fn buckets_objects_and_listings_in_every_dialect() {
    for dialect in Dialect::ALL {
        let transport = server().await;
        let client = support::client(dialect, transport.clone());
        let bucket = format!("b-{dialect}");
        client.create_bucket(&bucket).await.unwrap_or_else(|e| panic!("{dialect}: create: {e}"));
        client.head_bucket(&bucket).await.unwrap();
        let listed = client.list_buckets().await.unwrap();
        assert!(listed.buckets.iter().any(|b| b.name == bucket), "{dialect}");

        let options = ObjectOptions {
            content_type: Some("text/plain".into()),
            metadata: vec![("colour".into(), "blue".into())],
            storage_class: None,
        };
        for key in ["a b/c+d%e.txt", "x/1", "x/2", "文件.txt"] {
            let body = Bytes::from(format!("body of {key}"));
            let out = client.put_object(&bucket, key, body, &options, None).await.unwrap();
            assert!(out.etag.md5().is_some(), "{dialect}: {key}");
            if dialect.spec().crc64_header.is_some() {
                let expected = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Xz, format!("body of {key}").as_bytes());
                assert_eq!(out.crc64ecma, Some(expected), "{dialect}");
            }
        }
        let head = client.head_object(&bucket, "a b/c+d%e.txt").await.unwrap();
        assert_eq!(head.size, "body of a b/c+d%e.txt".len() as u64);
        assert_eq!(head.content_type.as_deref(), Some("text/plain"));
        assert_eq!(head.metadata, vec![("colour".to_owned(), "blue".to_owned())], "{dialect}");

        let ranged = client.get_object(&bucket, "x/1", Some((5, 7)), None).await.unwrap();
        assert_eq!(ranged.info.size, 11);
        assert_eq!(&ranged.bytes().await.unwrap()[..], b"of ");

        // Paging: one key per page.
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = client.list_objects_v2(&bucket, None, None, token.as_deref(), Some(1)).await.unwrap();
            keys.extend(page.contents.iter().map(|o| o.key.clone()));
            if !page.is_truncated {
                break;
            }
            token = page.next_continuation_token;
        }
        assert_eq!(keys, ["a b/c+d%e.txt", "x/1", "x/2", "文件.txt"], "{dialect}");
        let (objects, prefixes) = client.list_all_objects(&bucket, None, Some("/")).await.unwrap();
        assert_eq!(prefixes, ["a b/", "x/"], "{dialect}");
        assert_eq!(objects.len(), 1);

        let copied = client
            .copy_object(&CopySource { bucket: &bucket, key: "x/1", range: None }, &bucket, "copy of x1", None)
            .await
            .unwrap();
        assert_eq!(Some(copied.etag), client.head_object(&bucket, "x/1").await.unwrap().etag);

        // A presigned GET works with no other credentials.
        let url = client.presign(&Method::GET, &bucket, Some("x/2"), &[], std::time::Duration::from_secs(300)).unwrap();
        let fetched = fetch(&transport, &url).await;
        assert_eq!(fetched.0, 200, "{dialect}: {url}");
        assert_eq!(&fetched.1[..], b"body of x/2");

        for key in ["a b/c+d%e.txt", "x/1", "x/2", "文件.txt", "copy of x1"] {
            client.delete_object(&bucket, key).await.unwrap();
        }
        let err = client.head_object(&bucket, "x/1").await.unwrap_err();
        assert_eq!(err.code(), Some("NoSuchKey"), "{dialect}: {err}");
        client.delete_bucket(&bucket).await.unwrap();
        let err = client.head_bucket(&bucket).await.unwrap_err();
        assert_eq!(err.code(), Some("NoSuchBucket"), "{dialect}: {err}");
    }
}

/// Sends a presigned URL through the same in-process server, unsigned.
async fn fetch(transport: &InProcess, url: &str) -> (u16, Bytes) {
    let uri: http::Uri = url.parse().unwrap();
    let request = http::Request::builder()
        .method(Method::GET)
        .uri(&uri)
        .header("host", uri.authority().unwrap().as_str())
        .body(Bytes::new())
        .unwrap();
    let response = transport.send(request).await.unwrap();
    let status = response.status().as_u16();
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    (status, body)
}

#[tokio::test]
async fn multipart_upload_and_download_in_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    for dialect in Dialect::ALL {
        let client = support::client(dialect, server().await);
        let bucket = format!("mp-{dialect}");
        client.create_bucket(&bucket).await.unwrap();
        // 3.5 parts of 64 KiB.
        let content = data((MIN_PART * 7 / 2) as usize, 1);
        let path = dir.path().join(format!("{dialect}.bin"));
        std::fs::write(&path, &content).unwrap();
        let done = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&done);
        let mut options = small_parts(MIN_PART, 3);
        options.checksums = Checksums::Both;
        options.progress = Some(Arc::new(move |n| {
            counter.fetch_add(n, Ordering::SeqCst);
        }));
        let out = Uploader::new(client.clone(), options)
            .upload_file(&path, &bucket, "big/object")
            .await
            .unwrap_or_else(|e| panic!("{dialect}: {e}"));
        assert_eq!(out.parts, 4);
        assert_eq!(out.etag.part_count(), Some(4), "{dialect}");
        assert_eq!(done.load(Ordering::SeqCst), content.len() as u64);
        assert_eq!(out.crc32c, Some(crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, &content) as u32));
        if dialect == Dialect::Aws {
            assert_eq!(out.crc64ecma, None);
        } else {
            assert_eq!(out.crc64ecma, Some(crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Xz, &content)));
        }
        assert!(client.list_all_multipart_uploads(&bucket, None).await.unwrap().is_empty());

        let target = dir.path().join(format!("{dialect}.down"));
        let options = DownloadOptions { part_size: 50_000, concurrency: 3, progress: None };
        let got = Downloader::new(client.clone(), options).download_file(&bucket, "big/object", &target).await.unwrap();
        assert_eq!(got.size, content.len() as u64);
        assert!(got.verified.contains(&"crc32c"), "{dialect}: {:?}", got.verified);
        if dialect != Dialect::Aws {
            assert!(got.verified.contains(&"crc64ecma"), "{dialect}: {:?}", got.verified);
        }
        assert!(std::fs::read(&target).unwrap() == content, "{dialect}: downloaded bytes differ");

        // A small file goes in one PutObject, and downloads checked by its MD5.
        let small = dir.path().join("small");
        std::fs::write(&small, b"tiny").unwrap();
        let out =
            Uploader::new(client.clone(), small_parts(MIN_PART, 2)).upload_file(&small, &bucket, "tiny").await.unwrap();
        assert_eq!((out.parts, out.upload_id), (1, None));
        let got = Downloader::new(client.clone(), DownloadOptions::default())
            .download_file(&bucket, "tiny", &dir.path().join("tiny.down"))
            .await
            .unwrap();
        assert!(got.verified.contains(&"md5"), "{dialect}: {:?}", got.verified);
    }
}

#[tokio::test]
async fn virtual_host_addressing_and_reader_uploads() {
    let transport = server().await;
    let mut config = support::config(Dialect::Oss);
    config.addressing = Addressing::VirtualHost { domain: Some("oss.local".into()) };
    let client = Client::with_transport(config, transport.clone()).unwrap();
    client.create_bucket("vhost").await.unwrap();
    let content = data((MIN_PART * 2 + 5) as usize, 9);
    let out = Uploader::new(client.clone(), small_parts(MIN_PART, 2))
        .upload_reader(std::io::Cursor::new(content.clone()), content.len() as u64, "vhost", "from/reader")
        .await
        .unwrap();
    assert_eq!(out.parts, 3);
    let got = client.get_object("vhost", "from/reader", None, None).await.unwrap().bytes().await.unwrap();
    assert!(got == content);
    let url =
        client.presign(&Method::GET, "vhost", Some("from/reader"), &[], std::time::Duration::from_secs(60)).unwrap();
    assert!(url.starts_with("http://vhost.oss.local/from/reader?"), "{url}");
    let (status, body) = fetch(&transport, &url).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(body == content);
}

#[tokio::test]
async fn low_level_multipart_operations() {
    let client = support::client(Dialect::Aws, server().await);
    client.create_bucket("low").await.unwrap();
    client
        .put_object(
            "low",
            "src",
            Bytes::from(data(100_000, 3)),
            &ObjectOptions::default(),
            Some(ChecksumAlgorithm::Crc32c),
        )
        .await
        .unwrap();
    let id = client.create_multipart_upload("low", "dst", &ObjectOptions::default(), None).await.unwrap();
    let part1 = Bytes::from(data(MIN_PART as usize, 4));
    let p1 = client.upload_part("low", "dst", &id, PartNumber::new(1).unwrap(), part1.clone(), None).await.unwrap();
    let p2 = client
        .upload_part_copy(
            "low",
            "dst",
            &id,
            PartNumber::new(2).unwrap(),
            &CopySource { bucket: "low", key: "src", range: Some((0, 9_999)) },
        )
        .await
        .unwrap();
    let uploads = client.list_multipart_uploads("low", Some("d"), None, None).await.unwrap();
    assert_eq!(uploads.uploads.len(), 1);
    assert_eq!(uploads.uploads[0].upload_id, id.as_str());
    let page = client.list_parts("low", "dst", &id, None, Some(1)).await.unwrap();
    assert!(page.is_truncated);
    let all = client.list_all_parts("low", "dst", &id).await.unwrap();
    assert_eq!(all.iter().map(|p| p.size).collect::<Vec<_>>(), [MIN_PART, 10_000]);
    let parts = [
        tessera_multipart::CompletePart { number: PartNumber::new(1).unwrap(), etag: p1.etag, checksum: None },
        tessera_multipart::CompletePart { number: PartNumber::new(2).unwrap(), etag: p2.etag, checksum: None },
    ];
    let done = client.complete_multipart_upload("low", "dst", &id, &parts).await.unwrap();
    assert_eq!(done.etag.part_count(), Some(2));
    let head = client.head_object("low", "dst").await.unwrap();
    assert_eq!(head.size, MIN_PART + 10_000);
    assert_eq!(head.parts_count, Some(2));

    // Abort, and the upload is gone.
    let id = client.create_multipart_upload("low", "gone", &ObjectOptions::default(), None).await.unwrap();
    client.abort_multipart_upload("low", "gone", &id).await.unwrap();
    let err = client.list_parts("low", "gone", &id, None, None).await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchUpload"), "{err}");
}

#[tokio::test]
async fn errors_carry_code_status_and_request_id_in_every_dialect() {
    for dialect in Dialect::ALL {
        let transport = server().await;
        let client = support::client(dialect, transport.clone());
        let err = client.get_object("nobucket", "k", None, None).await.unwrap_err();
        let ClientError::Service(e) = &err else { panic!("{dialect}: {err}") };
        assert_eq!((e.status, e.code.as_str()), (404, "NoSuchBucket"), "{dialect}");
        assert!(e.request_id.as_deref().is_some_and(|r| !r.is_empty()), "{dialect}: {e:?}");

        let mut config = support::config(dialect);
        config.credentials = Some(tessera_client::Credentials::new(support::ACCESS_KEY, "wrong secret"));
        let bad = Client::with_transport(config, transport).unwrap();
        let err = bad.create_bucket("denied").await.unwrap_err();
        let service = err.service().unwrap_or_else(|| panic!("{dialect}: {err}"));
        assert_eq!(service.status, 403, "{dialect}: {err}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn presigned_url_of_a_missing_object_answers_404() {
    let transport = server().await;
    let client = support::client(Dialect::Ks3, transport.clone());
    client.create_bucket("pre").await.unwrap();
    let url = client.presign(&Method::GET, "pre", Some("missing"), &[], std::time::Duration::from_secs(60)).unwrap();
    assert!(url.contains("KSSAccessKeyId="), "{url}");
    assert_eq!(fetch(&transport, &url).await.0, 404);
}
