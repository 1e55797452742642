//! Additional checksums (`x-amz-checksum-*`) and their multipart type.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::{ErrorCode, InvalidValue};

/// An additional checksum algorithm, as named in `x-amz-checksum-algorithm` and
/// `x-amz-sdk-checksum-algorithm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChecksumAlgorithm {
    /// CRC-32 (ISO-HDLC, as zlib).
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// CRC-64/NVME.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm.
    pub const ALL: [ChecksumAlgorithm; 5] = [Self::Crc32, Self::Crc32c, Self::Crc64Nvme, Self::Sha1, Self::Sha256];

    /// The upper-case name (`CRC32`, `CRC64NVME`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// The header carrying a value of this algorithm (`x-amz-checksum-crc32`).
    pub fn header_name(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Self::Sha1 => "x-amz-checksum-sha1",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The algorithm whose value travels in header `name` (lower case).
    pub fn from_header_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.header_name().eq_ignore_ascii_case(name))
    }

    /// Length of a digest, in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    /// Whether part values can be combined into a full-object value without the data
    /// (the CRCs can; the SHAs only compose).
    pub fn is_crc(self) -> bool {
        matches!(self, Self::Crc32 | Self::Crc32c | Self::Crc64Nvme)
    }

    /// The multipart type S3 uses when the client names none: FULL_OBJECT for CRC64NVME,
    /// COMPOSITE otherwise.
    pub fn default_type(self) -> ChecksumType {
        match self {
            Self::Crc64Nvme => ChecksumType::FullObject,
            _ => ChecksumType::Composite,
        }
    }

    /// Whether S3 allows `ty` for this algorithm (CRC64NVME is FULL_OBJECT only; the SHAs are
    /// COMPOSITE only; the CRC32s may be either).
    pub fn allows(self, ty: ChecksumType) -> bool {
        !matches!(
            (self, ty),
            (Self::Crc64Nvme, ChecksumType::Composite) | (Self::Sha1 | Self::Sha256, ChecksumType::FullObject)
        )
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChecksumAlgorithm {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            InvalidValue::argument("Checksum algorithm must be one of CRC32, CRC32C, CRC64NVME, SHA1, SHA256.")
        })
    }
}

/// How the checksum of a multipart object is formed from its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumType {
    /// The checksum of the part checksums, shown with a `-N` suffix.
    Composite,
    /// The checksum of the whole object, combined from the part CRCs.
    FullObject,
}

impl ChecksumType {
    /// `COMPOSITE` or `FULL_OBJECT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Composite => "COMPOSITE",
            Self::FullObject => "FULL_OBJECT",
        }
    }
}

impl fmt::Display for ChecksumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChecksumType {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "COMPOSITE" => Ok(Self::Composite),
            "FULL_OBJECT" => Ok(Self::FullObject),
            _ => Err(InvalidValue::argument("Checksum type must be COMPOSITE or FULL_OBJECT.")),
        }
    }
}

/// A checksum value: an algorithm and its raw digest bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checksum {
    algorithm: ChecksumAlgorithm,
    digest: Box<[u8]>,
}

impl Checksum {
    /// A value of `algorithm`; fails if `digest` has the wrong length.
    pub fn new(algorithm: ChecksumAlgorithm, digest: &[u8]) -> Result<Self, InvalidValue> {
        if digest.len() != algorithm.digest_len() {
            return Err(InvalidValue::new(
                ErrorCode::InvalidRequest,
                format!("Value for {} checksum is invalid.", algorithm.header_name()),
            ));
        }
        Ok(Checksum { algorithm, digest: digest.into() })
    }

    /// Parses the base64 form a header or XML element carries.
    pub fn from_base64(algorithm: ChecksumAlgorithm, value: &str) -> Result<Self, InvalidValue> {
        let digest = B64.decode(value.trim()).map_err(|_| {
            InvalidValue::new(
                ErrorCode::InvalidRequest,
                format!("Value for {} header is invalid.", algorithm.header_name()),
            )
        })?;
        Self::new(algorithm, &digest)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// The raw digest.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// The base64 form.
    pub fn to_base64(&self) -> String {
        B64.encode(&self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in ChecksumAlgorithm::ALL {
            assert_eq!(a.as_str().parse::<ChecksumAlgorithm>().unwrap(), a);
            assert_eq!(ChecksumAlgorithm::from_header_name(a.header_name()), Some(a));
            assert!(a.allows(a.default_type()));
        }
        assert!("MD4".parse::<ChecksumAlgorithm>().is_err());
    }

    #[test]
    fn base64_values() {
        // botocore's CRC32 of a 192-byte body, as in the vectors: 4 bytes.
        let c = Checksum::from_base64(ChecksumAlgorithm::Crc32, "AAAAAA==").unwrap();
        assert_eq!(c.digest(), &[0, 0, 0, 0]);
        assert_eq!(c.to_base64(), "AAAAAA==");
        assert!(Checksum::from_base64(ChecksumAlgorithm::Crc32, "AAAAAAAA").is_err());
        assert!(Checksum::from_base64(ChecksumAlgorithm::Sha256, "not base64!").is_err());
    }
}
