//! Helpers shared by the integration tests.

use md5::{Digest, Md5};
use tessera_multipart::{Crc, NewUpload, PartReceipt, StageRef, Timestamp};
use tessera_proto::{BucketName, Checksum, ChecksumAlgorithm, Dialect, ObjectKey, PartNumber, UploadId};

pub(crate) fn bucket(s: &str) -> BucketName {
    BucketName::new(s).unwrap()
}

pub(crate) fn key(s: &str) -> ObjectKey {
    ObjectKey::new(s).unwrap()
}

pub(crate) fn id(s: &str) -> UploadId {
    UploadId::new(s).unwrap()
}

pub(crate) fn pn(n: u32) -> PartNumber {
    PartNumber::new(n).unwrap()
}

pub(crate) fn t(ms: u64) -> Timestamp {
    Timestamp(ms)
}

pub(crate) fn new_upload(b: &str, k: &str) -> NewUpload {
    NewUpload::new(bucket(b), key(k), Dialect::Aws)
}

pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// The CRC in `algorithm` of `data`, as a checksum value.
pub(crate) fn checksum(algorithm: ChecksumAlgorithm, data: &[u8]) -> Checksum {
    let digest = match algorithm {
        ChecksumAlgorithm::Crc32 => Crc::Crc32.checksum(data).to_be_bytes()[4..].to_vec(),
        ChecksumAlgorithm::Crc32c => Crc::Crc32c.checksum(data).to_be_bytes()[4..].to_vec(),
        ChecksumAlgorithm::Crc64Nvme => Crc::Crc64Nvme.checksum(data).to_be_bytes().to_vec(),
        ChecksumAlgorithm::Sha1 => {
            use sha1::Digest as _;
            sha1::Sha1::digest(data).to_vec()
        }
        ChecksumAlgorithm::Sha256 => {
            use sha2::Digest as _;
            sha2::Sha256::digest(data).to_vec()
        }
    };
    Checksum::new(algorithm, &digest).unwrap()
}

/// What an embedder would report after staging `data` at `stage`.
pub(crate) fn receipt(stage: &str, data: &[u8], algorithm: Option<ChecksumAlgorithm>) -> PartReceipt {
    PartReceipt {
        stage: StageRef::new(stage),
        size: data.len() as u64,
        md5: md5(data),
        checksum: algorithm.map(|a| checksum(a, data)),
        crc64ecma: Crc::Crc64Xz.checksum(data),
        meta: String::new(),
    }
}
