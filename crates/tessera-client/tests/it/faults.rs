//! Interrupted uploads resumed from ListParts, injected 500s retried, fatal errors aborted,
//! corrupted answers caught.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tessera_client::{Checksums, Resume, Uploader};
use tessera_proto::Dialect;

use crate::support::{
    self, Counting, EditAnswer, FailAfter, Inject, MIN_PART, data, is_upload_part, server, small_parts,
};

#[tokio::test]
async fn an_interrupted_upload_resumes_from_list_parts_in_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    for dialect in Dialect::ALL {
        let transport = server().await;
        let plain = support::client(dialect, transport.clone());
        plain.create_bucket("resume").await.unwrap();
        // 6 parts; the "process" dies after 3 of them are stored.
        let mut content = data((MIN_PART * 6) as usize, 5);
        let path = dir.path().join(format!("{dialect}.bin"));
        std::fs::write(&path, &content).unwrap();
        let dying =
            support::client(dialect, FailAfter { inner: transport.clone(), allowed: 3, seen: AtomicUsize::new(0) });
        let mut options = small_parts(MIN_PART, 1);
        options.abort_on_failure = false;
        options.retry = support::fast_retry(2);
        let err = Uploader::new(dying, options.clone()).upload_file(&path, "resume", "obj").await.unwrap_err();
        assert!(matches!(err, tessera_client::ClientError::Transport(_)), "{dialect}: {err}");

        // The upload is still there with the three parts.
        let uploads = plain.list_all_multipart_uploads("resume", None).await.unwrap();
        assert_eq!(uploads.len(), 1, "{dialect}");
        let id = tessera_proto::UploadId::new(&uploads[0].upload_id).unwrap();
        assert_eq!(plain.list_all_parts("resume", "obj", &id).await.unwrap().len(), 3, "{dialect}");

        // The file's second part changed meanwhile: it must be sent again, parts 1 and 3 not.
        content[MIN_PART as usize + 10] ^= 0xFF;
        std::fs::write(&path, &content).unwrap();
        let sent = Arc::new(AtomicUsize::new(0));
        let counting = Counting { inner: transport.clone(), matches: is_upload_part, count: Arc::clone(&sent) };
        options.resume = Resume::Latest;
        options.concurrency = 4;
        options.checksums = Checksums::Both;
        let out = Uploader::new(support::client(dialect, counting), options)
            .upload_file(&path, "resume", "obj")
            .await
            .unwrap_or_else(|e| panic!("{dialect}: {e}"));
        assert_eq!(out.upload_id.as_ref(), Some(&id), "{dialect}: the same upload continued");
        assert_eq!(out.parts, 6);
        assert_eq!(out.parts_skipped, 2, "{dialect}");
        assert_eq!(sent.load(Ordering::SeqCst), 4, "{dialect}: parts 2, 4, 5, 6 sent");
        let got = plain.get_object("resume", "obj", None, None).await.unwrap().bytes().await.unwrap();
        assert!(got == content, "{dialect}: the object is the changed file");
        assert!(plain.list_all_multipart_uploads("resume", None).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn an_injected_500_is_retried_in_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    for dialect in Dialect::ALL {
        let transport = server().await;
        support::client(dialect, transport.clone()).create_bucket("retry").await.unwrap();
        let injected = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let counting = Counting { inner: transport.clone(), matches: is_upload_part, count: Arc::clone(&sent) };
        let faulty = Inject {
            inner: counting,
            matches: is_upload_part,
            status: 500,
            code: "InternalError",
            times: 1,
            injected: Arc::clone(&injected),
        };
        let client = support::client(dialect, faulty);
        let content = data((MIN_PART * 3) as usize, 6);
        let path = dir.path().join(format!("{dialect}.bin"));
        std::fs::write(&path, &content).unwrap();
        let out =
            Uploader::new(client.clone(), small_parts(MIN_PART, 2)).upload_file(&path, "retry", "k").await.unwrap();
        assert_eq!(out.parts, 3);
        assert_eq!(injected.load(Ordering::SeqCst), 4, "{dialect}: one 500 answered, three passed");
        assert_eq!(sent.load(Ordering::SeqCst), 3, "{dialect}: the failed part reached the server on its retry");
        let got = client.get_object("retry", "k", None, None).await.unwrap().bytes().await.unwrap();
        assert!(got == content);
    }
}

#[tokio::test]
async fn single_requests_retry_503_slowdown_but_not_404() {
    let transport = server().await;
    support::client(Dialect::Cos, transport.clone()).create_bucket("slow").await.unwrap();
    let injected = Arc::new(AtomicUsize::new(0));
    let client = support::client(
        Dialect::Cos,
        Inject {
            inner: transport,
            matches: |r| r.method() == http::Method::HEAD,
            status: 503,
            code: "SlowDown",
            times: 2,
            injected: Arc::clone(&injected),
        },
    );
    client.head_bucket("slow").await.unwrap();
    assert_eq!(injected.load(Ordering::SeqCst), 3, "two 503s, then through");
    let err = client.head_object("slow", "missing").await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchKey"));
    assert_eq!(injected.load(Ordering::SeqCst), 4, "a 404 is not retried");
}

#[tokio::test]
async fn a_fatal_part_error_aborts_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let transport = server().await;
    let plain = support::client(Dialect::Obs, transport.clone());
    plain.create_bucket("fatal").await.unwrap();
    let injected = Arc::new(AtomicUsize::new(0));
    let client = support::client(
        Dialect::Obs,
        Inject {
            inner: transport,
            matches: is_upload_part,
            status: 403,
            code: "AccessDenied",
            times: 1,
            injected: Arc::clone(&injected),
        },
    );
    let path = dir.path().join("f");
    std::fs::write(&path, data((MIN_PART * 3) as usize, 7)).unwrap();
    let err = Uploader::new(client, small_parts(MIN_PART, 1)).upload_file(&path, "fatal", "k").await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"), "{err}");
    assert!(plain.list_all_multipart_uploads("fatal", None).await.unwrap().is_empty(), "aborted");
    assert_eq!(plain.head_object("fatal", "k").await.unwrap_err().code(), Some("NoSuchKey"));
}

#[tokio::test]
async fn a_wrong_crc64_answer_is_caught_and_the_part_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let transport = Arc::new(server().await);
    support::client(Dialect::Oss, Arc::clone(&transport)).create_bucket("crc").await.unwrap();
    let edited = Arc::new(AtomicUsize::new(0));
    let client = support::client(
        Dialect::Oss,
        EditAnswer {
            inner: transport,
            matches: is_upload_part,
            edit: |h| {
                h.insert("x-oss-hash-crc64ecma", http::HeaderValue::from_static("12345"));
            },
            times: 1,
            edited: Arc::clone(&edited),
        },
    );
    let path = dir.path().join("c");
    std::fs::write(&path, data((MIN_PART * 2) as usize, 8)).unwrap();
    let out = Uploader::new(client, small_parts(MIN_PART, 1)).upload_file(&path, "crc", "k").await.unwrap();
    assert_eq!(out.parts, 2);
    assert_eq!(edited.load(Ordering::SeqCst), 3, "one part answered with a wrong CRC and was sent again");

    // Without retries, the same corruption fails the upload with an integrity error.
    let transport = Arc::new(server().await);
    support::client(Dialect::Oss, Arc::clone(&transport)).create_bucket("crc").await.unwrap();
    let client = support::client(
        Dialect::Oss,
        EditAnswer {
            inner: transport,
            matches: is_upload_part,
            edit: |h| {
                h.insert("x-oss-hash-crc64ecma", http::HeaderValue::from_static("12345"));
            },
            times: usize::MAX,
            edited: Arc::new(AtomicUsize::new(0)),
        },
    );
    let mut options = small_parts(MIN_PART, 1);
    options.retry = support::fast_retry(1);
    let err = Uploader::new(client, options).upload_file(&path, "crc", "k").await.unwrap_err();
    assert!(matches!(err, tessera_client::ClientError::Integrity(_)), "{err}");
}

#[tokio::test]
async fn without_checksums_a_part_etag_that_is_not_its_md5_fails_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let transport = Arc::new(server().await);
    support::client(Dialect::Aws, Arc::clone(&transport)).create_bucket("md5").await.unwrap();
    let client = support::client(
        Dialect::Aws,
        EditAnswer {
            inner: transport,
            matches: is_upload_part,
            edit: |h| {
                h.insert("etag", http::HeaderValue::from_static("\"00000000000000000000000000000000\""));
            },
            times: usize::MAX,
            edited: Arc::new(AtomicUsize::new(0)),
        },
    );
    let path = dir.path().join("m");
    std::fs::write(&path, data((MIN_PART * 2) as usize, 9)).unwrap();
    let mut options = small_parts(MIN_PART, 1);
    options.checksums = Checksums::None;
    options.retry = support::fast_retry(1);
    let err = Uploader::new(client, options).upload_file(&path, "md5", "k").await.unwrap_err();
    assert!(matches!(err, tessera_client::ClientError::Integrity(ref m) if m.contains("MD5")), "{err}");
}
