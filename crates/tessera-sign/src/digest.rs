//! One-pass body digests: every digest a request may be checked against, computed in a single
//! walk over the bytes, and only the ones asked for.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tessera_proto::{Checksum, ChecksumAlgorithm};

/// Which digests to compute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DigestSet {
    /// MD5 (`Content-MD5`, the ETag).
    pub md5: bool,
    /// SHA-256 (`x-amz-content-sha256`, `x-amz-checksum-sha256`).
    pub sha256: bool,
    /// SHA-1 (`x-amz-checksum-sha1`).
    pub sha1: bool,
    /// CRC-32 (`x-amz-checksum-crc32`).
    pub crc32: bool,
    /// CRC-32C (`x-amz-checksum-crc32c`).
    pub crc32c: bool,
    /// CRC-64/NVME (`x-amz-checksum-crc64nvme`).
    pub crc64nvme: bool,
    /// CRC-64/XZ, which the vendors call crc64ecma (`x-oss-hash-crc64ecma` and kin).
    pub crc64ecma: bool,
}

impl DigestSet {
    /// Nothing.
    pub const NONE: DigestSet = DigestSet {
        md5: false,
        sha256: false,
        sha1: false,
        crc32: false,
        crc32c: false,
        crc64nvme: false,
        crc64ecma: false,
    };

    /// The union of two sets.
    pub fn union(self, other: DigestSet) -> DigestSet {
        DigestSet {
            md5: self.md5 | other.md5,
            sha256: self.sha256 | other.sha256,
            sha1: self.sha1 | other.sha1,
            crc32: self.crc32 | other.crc32,
            crc32c: self.crc32c | other.crc32c,
            crc64nvme: self.crc64nvme | other.crc64nvme,
            crc64ecma: self.crc64ecma | other.crc64ecma,
        }
    }

    /// The set with `algorithm` added.
    pub fn with(mut self, algorithm: ChecksumAlgorithm) -> DigestSet {
        match algorithm {
            ChecksumAlgorithm::Crc32 => self.crc32 = true,
            ChecksumAlgorithm::Crc32c => self.crc32c = true,
            ChecksumAlgorithm::Crc64Nvme => self.crc64nvme = true,
            ChecksumAlgorithm::Sha1 => self.sha1 = true,
            ChecksumAlgorithm::Sha256 => self.sha256 = true,
        }
        self
    }
}

/// A running computation of the digests in a [`DigestSet`].
#[derive(Clone)]
pub struct BodyDigests {
    length: u64,
    md5: Option<Md5>,
    sha256: Option<Sha256>,
    sha1: Option<Sha1>,
    crc32: Option<crc_fast::Digest>,
    crc32c: Option<crc_fast::Digest>,
    crc64nvme: Option<crc_fast::Digest>,
    crc64ecma: Option<crc_fast::Digest>,
}

impl std::fmt::Debug for BodyDigests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyDigests").field("length", &self.length).field("set", &self.set()).finish()
    }
}

impl BodyDigests {
    /// Starts computing the digests of `set`.
    pub fn new(set: DigestSet) -> BodyDigests {
        use crc_fast::CrcAlgorithm as A;
        let crc = |on: bool, alg| on.then(|| crc_fast::Digest::new(alg));
        BodyDigests {
            length: 0,
            md5: set.md5.then(Md5::new),
            sha256: set.sha256.then(Sha256::new),
            sha1: set.sha1.then(Sha1::new),
            crc32: crc(set.crc32, A::Crc32IsoHdlc),
            crc32c: crc(set.crc32c, A::Crc32Iscsi),
            crc64nvme: crc(set.crc64nvme, A::Crc64Nvme),
            crc64ecma: crc(set.crc64ecma, A::Crc64Xz),
        }
    }

    /// What is being computed.
    pub fn set(&self) -> DigestSet {
        DigestSet {
            md5: self.md5.is_some(),
            sha256: self.sha256.is_some(),
            sha1: self.sha1.is_some(),
            crc32: self.crc32.is_some(),
            crc32c: self.crc32c.is_some(),
            crc64nvme: self.crc64nvme.is_some(),
            crc64ecma: self.crc64ecma.is_some(),
        }
    }

    /// Feeds the next bytes of the body.
    pub fn update(&mut self, data: &[u8]) {
        self.length += data.len() as u64;
        if let Some(d) = &mut self.md5 {
            d.update(data);
        }
        if let Some(d) = &mut self.sha256 {
            d.update(data);
        }
        if let Some(d) = &mut self.sha1 {
            d.update(data);
        }
        for d in [&mut self.crc32, &mut self.crc32c, &mut self.crc64nvme, &mut self.crc64ecma].into_iter().flatten() {
            d.update(data);
        }
    }

    /// Bytes fed so far.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The digests of everything fed.
    pub fn finish(self) -> Digests {
        // crc-fast returns the CRC widened to u64; the 32-bit ones fit in the low half.
        let crc32 = |d: Option<crc_fast::Digest>| d.map(|d| (d.finalize() & 0xffff_ffff) as u32);
        Digests {
            length: self.length,
            md5: self.md5.map(|d| d.finalize().into()),
            sha256: self.sha256.map(|d| d.finalize().into()),
            sha1: self.sha1.map(|d| d.finalize().into()),
            crc32: crc32(self.crc32),
            crc32c: crc32(self.crc32c),
            crc64nvme: self.crc64nvme.map(|d| d.finalize()),
            crc64ecma: self.crc64ecma.map(|d| d.finalize()),
        }
    }
}

/// The finished digests of a body; `None` for those not computed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Digests {
    /// Body length in bytes.
    pub length: u64,
    /// MD5.
    pub md5: Option<[u8; 16]>,
    /// SHA-256.
    pub sha256: Option<[u8; 32]>,
    /// SHA-1.
    pub sha1: Option<[u8; 20]>,
    /// CRC-32.
    pub crc32: Option<u32>,
    /// CRC-32C.
    pub crc32c: Option<u32>,
    /// CRC-64/NVME.
    pub crc64nvme: Option<u64>,
    /// CRC-64/XZ (vendors' crc64ecma).
    pub crc64ecma: Option<u64>,
}

impl Digests {
    /// The additional checksum of `algorithm`, if computed.
    pub fn checksum(&self, algorithm: ChecksumAlgorithm) -> Option<Checksum> {
        let bytes: Vec<u8> = match algorithm {
            ChecksumAlgorithm::Crc32 => self.crc32?.to_be_bytes().to_vec(),
            ChecksumAlgorithm::Crc32c => self.crc32c?.to_be_bytes().to_vec(),
            ChecksumAlgorithm::Crc64Nvme => self.crc64nvme?.to_be_bytes().to_vec(),
            ChecksumAlgorithm::Sha1 => self.sha1?.to_vec(),
            ChecksumAlgorithm::Sha256 => self.sha256?.to_vec(),
        };
        Checksum::new(algorithm, &bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: DigestSet =
        DigestSet { md5: true, sha256: true, sha1: true, crc32: true, crc32c: true, crc64nvme: true, crc64ecma: true };

    #[test]
    fn check_values() {
        let mut d = BodyDigests::new(ALL);
        d.update(b"1234");
        d.update(b"56789");
        let g = d.finish();
        assert_eq!(g.length, 9);
        assert_eq!(g.crc64ecma, Some(0x995D_C9BB_DF19_39FA));
        assert_eq!(g.crc32, Some(0xCBF4_3926));
        assert_eq!(g.crc32c, Some(0xE306_9283));
        assert_eq!(g.crc64nvme, Some(0xAE8B_1486_0A79_9888));
        assert_eq!(hex::encode(g.md5.unwrap()), "25f9e794323b453885f5181f1b624d0b");
        assert_eq!(hex::encode(g.sha1.unwrap()), "f7c3bc1d808e04732adf679965ccc34ca7ae3441");
        assert_eq!(hex::encode(g.sha256.unwrap()), "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225");
    }

    #[test]
    fn only_what_is_asked() {
        let mut d = BodyDigests::new(DigestSet { md5: true, ..DigestSet::NONE });
        d.update(b"abc");
        let g = d.finish();
        assert!(g.md5.is_some());
        assert!(g.sha256.is_none() && g.crc32.is_none() && g.crc64ecma.is_none());
        assert!(g.checksum(ChecksumAlgorithm::Crc32).is_none());
    }

    #[test]
    fn golden_vector_body_crc32() {
        // aws_sigv2.json: the 192-byte part body declares x-amz-checksum-crc32: HoI+Cg==.
        let body = "golden-vector part body\n".repeat(8);
        let mut d = BodyDigests::new(DigestSet::NONE.with(ChecksumAlgorithm::Crc32));
        d.update(body.as_bytes());
        assert_eq!(d.finish().checksum(ChecksumAlgorithm::Crc32).unwrap().to_base64(), "HoI+Cg==");
    }
}
