//! Digesting a stream as it passes (for copies and embedders without a digesting front-end).

use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::StreamExt;
use md5::{Digest as _, Md5};
use tessera_proto::{Checksum, ChecksumAlgorithm};
use tessera_store::ByteStream;

use crate::request::PayloadSummary;

enum Extra {
    Crc(crc_fast::Digest, ChecksumAlgorithm),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

struct Hashers {
    md5: Md5,
    crc64: crc_fast::Digest,
    extra: Option<Extra>,
}

impl Hashers {
    fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.crc64.update(data);
        match &mut self.extra {
            Some(Extra::Crc(d, _)) => d.update(data),
            Some(Extra::Sha1(h)) => h.update(data),
            Some(Extra::Sha256(h)) => h.update(data),
            None => {}
        }
    }
}

/// A digest running over a stream: wrap the stream with [`Digester::wrap`], drain it, then
/// read [`Digester::summary`].
#[derive(Clone)]
pub(crate) struct Digester {
    hashers: Arc<Mutex<Hashers>>,
}

impl Digester {
    /// MD5, CRC-64/XZ, and `algorithm` if given.
    pub(crate) fn new(algorithm: Option<ChecksumAlgorithm>) -> Self {
        let extra = algorithm.map(|a| match a {
            ChecksumAlgorithm::Crc32 => Extra::Crc(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32IsoHdlc), a),
            ChecksumAlgorithm::Crc32c => Extra::Crc(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi), a),
            ChecksumAlgorithm::Crc64Nvme => Extra::Crc(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme), a),
            ChecksumAlgorithm::Sha1 => Extra::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => Extra::Sha256(sha2::Sha256::new()),
        });
        let hashers = Hashers { md5: Md5::new(), crc64: crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Xz), extra };
        Digester { hashers: Arc::new(Mutex::new(hashers)) }
    }

    fn lock(&self) -> MutexGuard<'_, Hashers> {
        self.hashers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `stream`, digested as it is read.
    pub(crate) fn wrap(&self, stream: ByteStream) -> ByteStream {
        let me = self.clone();
        Box::pin(stream.map(move |chunk| {
            if let Ok(c) = &chunk {
                me.lock().update(c);
            }
            chunk
        }))
    }

    /// The digests of everything read so far.
    pub(crate) fn summary(&self) -> PayloadSummary {
        let h = self.lock();
        let md5: [u8; 16] = h.md5.clone().finalize().into();
        let crc64ecma = h.crc64.finalize();
        let checksum = h.extra.as_ref().and_then(|e| match e {
            Extra::Crc(d, a) => {
                let v = d.finalize().to_be_bytes();
                let len = a.digest_len();
                v.get(8usize.saturating_sub(len)..).and_then(|bytes| Checksum::new(*a, bytes).ok())
            }
            Extra::Sha1(s) => Checksum::new(ChecksumAlgorithm::Sha1, &s.clone().finalize()).ok(),
            Extra::Sha256(s) => Checksum::new(ChecksumAlgorithm::Sha256, &s.clone().finalize()).ok(),
        });
        PayloadSummary { md5, crc64ecma, checksum }
    }
}

/// `stream`, failing with `EntityTooLarge` once it has yielded more than `max` bytes (for
/// bodies sent without a declared length).
pub(crate) fn capped(stream: ByteStream, max: u64) -> ByteStream {
    let mut seen = 0u64;
    Box::pin(stream.map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > max {
            return Err(tessera_store::StoreError::input(
                tessera_proto::ErrorCode::EntityTooLarge,
                "the body is larger than the maximum allowed",
            ));
        }
        Ok(chunk)
    }))
}
