//! A request body on its way to the store: HTTP framing already undone by hyper, then
//! aws-chunked framing undone here, every byte digested once, and every declared digest checked
//! before the stream ends — so a store never commits data that fails a check.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body;
use hyper::body::Incoming;
use tessera_engine::PayloadSummary;
use tessera_proto::{ChecksumAlgorithm, ErrorCode};
use tessera_sign::{BodyCheck, BodyDigests, ChunkLimits, ChunkedDecoder, DigestSet, SignError};
use tessera_store::StoreError;

/// The decoded, digested, checked body of a request, as a stream of bytes for the store.
pub(crate) struct CheckedBody<B = Incoming> {
    body: B,
    decoder: Option<ChunkedDecoder>,
    digests: Option<BodyDigests>,
    check: BodyCheck,
    /// The algorithm whose checksum the engine records (declared header or trailer).
    record: Option<ChecksumAlgorithm>,
    /// Decoded bytes the client declared (`Content-Length` or `x-amz-decoded-content-length`);
    /// `None` when it declared none (a chunked body without a length).
    expected: Option<u64>,
    /// Most bytes accepted when nothing was declared.
    limit: u64,
    seen: u64,
    summary: Arc<OnceLock<PayloadSummary>>,
    /// Decoded data of the current frame not yet handed out: slices of the frame, never copies.
    pending: VecDeque<Bytes>,
    done: bool,
    /// Whether to make a [`PayloadSummary`] (MD5, CRC-64) for the store.
    summarize: bool,
}

impl<B> CheckedBody<B> {
    /// Wraps `body`. `extra` names the additional checksum the engine should record even if the
    /// request did not declare it.
    pub(crate) fn new(
        body: B,
        check: BodyCheck,
        expected: Option<u64>,
        limit: u64,
        extra: Option<ChecksumAlgorithm>,
    ) -> (Self, Arc<OnceLock<PayloadSummary>>) {
        Self::with_summary(body, check, expected, limit, extra, true)
    }

    /// Wraps a body that is only checked (a small XML document): only the digests its request
    /// declares are computed, and no summary is made.
    pub(crate) fn checked_only(body: B, check: BodyCheck, expected: Option<u64>, limit: u64) -> Self {
        Self::with_summary(body, check, expected, limit, None, false).0
    }

    fn with_summary(
        body: B,
        check: BodyCheck,
        expected: Option<u64>,
        limit: u64,
        extra: Option<ChecksumAlgorithm>,
        summarize: bool,
    ) -> (Self, Arc<OnceLock<PayloadSummary>>) {
        let decoder = check.chunked_decoder(ChunkLimits::default());
        let record =
            if summarize { check.checksums.first().map(|c| c.algorithm()).or(check.trailer).or(extra) } else { None };
        let always =
            if summarize { DigestSet { md5: true, crc64ecma: true, ..DigestSet::NONE } } else { DigestSet::NONE };
        let mut set = check.digests_needed().union(always);
        if let Some(alg) = record {
            set = set.with(alg);
        }
        let summary = Arc::new(OnceLock::new());
        let this = CheckedBody {
            body,
            decoder,
            digests: Some(BodyDigests::new(set)),
            check,
            record,
            expected,
            limit,
            seen: 0,
            summary: Arc::clone(&summary),
            pending: VecDeque::new(),
            done: false,
            summarize,
        };
        (this, summary)
    }

    fn fail(&mut self, e: StoreError) -> Poll<Option<Result<Bytes, StoreError>>> {
        // Nothing after an error: queued data of a frame that failed to decode is dropped.
        self.pending.clear();
        self.done = true;
        Poll::Ready(Some(Err(e)))
    }

    fn accept(&mut self, data: Bytes) -> Result<Bytes, StoreError> {
        self.seen += data.len() as u64;
        let cap = self.expected.unwrap_or(self.limit);
        if self.seen > cap {
            return Err(match self.expected {
                Some(_) => StoreError::input(ErrorCode::BadRequest, "the body is longer than its declared length"),
                None => StoreError::input(ErrorCode::EntityTooLarge, "the body exceeds the maximum size"),
            });
        }
        if let Some(d) = &mut self.digests {
            d.update(&data);
        }
        Ok(data)
    }

    /// Ends the body: framing complete, length as declared, every digest as declared.
    fn finish(&mut self) -> Result<(), StoreError> {
        let mut trailer = None;
        if let Some(decoder) = self.decoder.take() {
            trailer = decoder.finish().map_err(sign_error)?.trailer_checksum;
        }
        if let Some(expected) = self.expected
            && expected != self.seen
        {
            return Err(StoreError::input(ErrorCode::IncompleteBody, "the body is shorter than its declared length"));
        }
        let digests = self.digests.take().map(BodyDigests::finish).unwrap_or_default();
        self.check.check(&digests).map_err(sign_error)?;
        let checksum = match (trailer, self.record) {
            (Some(t), _) => Some(t),
            (None, Some(alg)) => digests.checksum(alg),
            (None, None) => None,
        };
        if !self.summarize {
            return Ok(());
        }
        let (Some(md5), Some(crc64ecma)) = (digests.md5, digests.crc64ecma) else {
            return Err(StoreError::input(ErrorCode::InternalError, "body digests were not computed"));
        };
        let _ = self.summary.set(PayloadSummary { md5, crc64ecma, checksum });
        Ok(())
    }
}

/// A body error as the store's input error, keeping its S3 code.
pub(crate) fn sign_error(e: SignError) -> StoreError {
    StoreError::input(e.code(), e)
}

impl<B> Stream for CheckedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Item = Result<Bytes, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(data) = this.pending.pop_front() {
                return match this.accept(data) {
                    Ok(data) => Poll::Ready(Some(Ok(data))),
                    Err(e) => this.fail(e),
                };
            }
            if this.done {
                return Poll::Ready(None);
            }
            let frame = ready!(Pin::new(&mut this.body).poll_frame(cx));
            match frame {
                None => {
                    this.done = true;
                    return match this.finish() {
                        Ok(()) => Poll::Ready(None),
                        Err(e) => Poll::Ready(Some(Err(e))),
                    };
                }
                Some(Err(e)) => {
                    return this.fail(StoreError::input(ErrorCode::IncompleteBody, e));
                }
                Some(Ok(frame)) => {
                    let Ok(raw) = frame.into_data() else { continue };
                    match &mut this.decoder {
                        None => this.pending.push_back(raw),
                        Some(decoder) => {
                            // The decoder's data slices are sub-slices of the frame: share them.
                            let pending = &mut this.pending;
                            if let Err(e) = decoder.decode_all(&raw, |d| pending.push_back(raw.slice_ref(d))) {
                                return this.fail(sign_error(e));
                            }
                        }
                    }
                    this.pending.retain(|b| !b.is_empty());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::StreamExt;
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    use md5::{Digest, Md5};
    use tessera_sign::{Payload, RequestHead};

    use super::*;

    type Frames = StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

    fn frames(pieces: &[&[u8]]) -> Frames {
        let frames: Vec<Result<Frame<Bytes>, Infallible>> =
            pieces.iter().map(|p| Ok(Frame::data(Bytes::copy_from_slice(p)))).collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    fn check_for(headers: &[(&str, &str)], payload: Payload) -> BodyCheck {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let head = RequestHead::new("PUT", "/b/k", &map);
        BodyCheck::declared(&head, payload).unwrap()
    }

    async fn drain(body: CheckedBody<Frames>) -> (Vec<u8>, Option<ErrorCode>) {
        let mut body = Box::pin(body);
        let mut out = Vec::new();
        while let Some(item) = body.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => return (out, Some(e.code())),
            }
        }
        (out, None)
    }

    #[tokio::test]
    async fn plain_body_is_digested_and_summarised() {
        let check = check_for(&[], Payload::Unsigned);
        let (body, summary) = CheckedBody::new(frames(&[b"hello ", b"world"]), check, Some(11), 100, None);
        let (data, err) = drain(body).await;
        assert_eq!((data.as_slice(), err), (&b"hello world"[..], None));
        let s = summary.get().unwrap();
        assert_eq!(s.md5, <[u8; 16]>::from(Md5::digest(b"hello world")));
        assert_eq!(s.checksum, None);
    }

    #[tokio::test]
    async fn wrong_content_md5_fails_before_the_end() {
        let md5 = base64_md5(b"other");
        let check = check_for(&[("content-md5", &md5)], Payload::Unsigned);
        let (body, summary) = CheckedBody::new(frames(&[b"hello"]), check, Some(5), 100, None);
        let (_, err) = drain(body).await;
        assert_eq!(err, Some(ErrorCode::BadDigest));
        assert!(summary.get().is_none(), "no summary for a failed body");
    }

    #[tokio::test]
    async fn short_and_long_bodies_are_refused() {
        let (body, _) = CheckedBody::new(frames(&[b"abc"]), check_for(&[], Payload::Unsigned), Some(5), 100, None);
        assert_eq!(drain(body).await.1, Some(ErrorCode::IncompleteBody));
        let (body, _) = CheckedBody::new(frames(&[b"abcdef"]), check_for(&[], Payload::Unsigned), Some(5), 100, None);
        assert_eq!(drain(body).await.1, Some(ErrorCode::BadRequest));
        let (body, _) = CheckedBody::new(frames(&[b"abcdef"]), check_for(&[], Payload::Unsigned), None, 4, None);
        assert_eq!(drain(body).await.1, Some(ErrorCode::EntityTooLarge));
    }

    #[tokio::test]
    async fn unsigned_trailer_body_is_decoded_split_anywhere() {
        // botocore over https: aws-chunked with an x-amz-checksum-crc32 trailer.
        let data = b"0123456789abcdef";
        let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, data) as u32;
        let trailer = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, crc.to_be_bytes());
        let wire = format!("10\r\n0123456789abcdef\r\n0\r\nx-amz-checksum-crc32:{trailer}\r\n\r\n");
        let check = check_for(
            &[("x-amz-trailer", "x-amz-checksum-crc32"), ("x-amz-decoded-content-length", "16")],
            Payload::UnsignedTrailer,
        );
        let bytes = wire.as_bytes();
        let pieces: Vec<&[u8]> = bytes.chunks(3).collect();
        let (body, summary) = CheckedBody::new(frames(&pieces), check, Some(16), 100, None);
        let (out, err) = drain(body).await;
        assert_eq!((out.as_slice(), err), (&data[..], None));
        let s = summary.get().unwrap();
        assert_eq!(s.checksum.as_ref().map(|c| c.to_base64()), Some(trailer));
    }

    fn base64_md5(data: &[u8]) -> String {
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, Md5::digest(data))
    }
}
