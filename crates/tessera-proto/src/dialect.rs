//! The five dialects, and everything that differs between them, as data in one place.
//!
//! Code elsewhere asks a [`Dialect`] for its [`DialectSpec`] instead of matching on the
//! dialect, so adding a quirk means changing one table, not hunting for `match` arms.

use std::fmt;
use std::str::FromStr;

use crate::ErrorCode;

/// One of the five object-storage dialects Tessera speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    /// Amazon S3 (`x-amz-`), signed with SigV4 or SigV2.
    Aws,
    /// Huawei Cloud OBS (`x-obs-`), signed `OBS ak:sig`, or AWS V2/V4 in its fallback modes.
    Obs,
    /// Tencent Cloud COS (`x-cos-`), signed `q-sign-algorithm=sha1&…`.
    Cos,
    /// Aliyun OSS (`x-oss-`), signed `OSS ak:sig` (V1) or `OSS4-HMAC-SHA256` (V4).
    Oss,
    /// Kingsoft Cloud KS3 (`x-kss-`), signed `KSS ak:sig`.
    Ks3,
}

/// How a dialect's result documents treat the XML namespace on their root element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamespacePolicy {
    /// Write this namespace on result documents; accept documents with or without one.
    Emit(&'static str),
    /// Never write a namespace (OSS: both official SDKs fail on one); accept either when parsing.
    Omit,
}

/// Everything that differs per dialect, measured on the official SDKs (DIALECTS.md §8).
#[derive(Debug)]
#[non_exhaustive]
pub struct DialectSpec {
    /// The dialect this row describes.
    pub dialect: Dialect,
    /// Lower-case name used in configuration and logs (`aws`, `obs`, …).
    pub name: &'static str,
    /// Prefix of the vendor's own headers, lower case, with the trailing dash (`x-amz-`).
    pub header_prefix: &'static str,
    /// Prefix of user-metadata headers (`x-amz-meta-`).
    pub meta_prefix: &'static str,
    /// Header carrying the request id on every response.
    pub request_id_header: &'static str,
    /// Second, extended request-id header where the vendor has one (`x-amz-id-2`).
    pub id2_header: Option<&'static str>,
    /// XML namespace policy for result documents.
    pub namespace: NamespacePolicy,
    /// Header carrying the CRC-64/ECMA-182 (XZ) of a body, as a decimal `u64`.
    pub crc64_header: Option<&'static str>,
    /// Minimum size of every part but the last, in bytes. The vendors' "100 KB" and "1 MB"
    /// are binary units in their SDKs (oss2 `min_part_size = 100 * 1024`), and so here.
    pub min_part_size: u64,
    /// Header naming the object's canned ACL (OSS uses `x-oss-object-acl` for objects).
    pub object_acl_header: &'static str,
    /// Storage classes the vendor accepts, in the vendor's canonical spelling.
    pub storage_classes: &'static [&'static str],
    /// Canned ACLs the vendor accepts on objects.
    pub canned_acls: &'static [&'static str],
    /// Spellings of "KMS" in the vendor's server-side-encryption header.
    pub kms_algorithms: &'static [&'static str],
    /// Header naming the KMS master key.
    pub kms_key_id_header: &'static str,
    /// Error code for a storage class the vendor does not know.
    pub invalid_storage_class: ErrorCode,
    /// Extra elements the vendor's error body carries beyond Code and Message.
    pub error_extras: ErrorExtras,
}

/// Which optional elements appear in a dialect's `<Error>` body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorExtras {
    /// `<Resource>` (COS requires it; AWS, OBS, KS3 send it).
    pub resource: bool,
    /// `<HostId>`.
    pub host_id: bool,
    /// `<EC>` (OSS's error-center code, surfaced by alibabacloud-oss-v2).
    pub ec: bool,
    /// `<TraceId>` (COS).
    pub trace_id: bool,
}

/// The S3 namespace, also written by KS3 and accepted by every SDK that ignores namespaces.
pub const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// The namespace OBS samples carry.
pub const OBS_NAMESPACE: &str = "http://obs.myhwclouds.com/doc/2015-06-30/";

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

static SPECS: [DialectSpec; 5] = [
    DialectSpec {
        dialect: Dialect::Aws,
        name: "aws",
        header_prefix: "x-amz-",
        meta_prefix: "x-amz-meta-",
        request_id_header: "x-amz-request-id",
        id2_header: Some("x-amz-id-2"),
        namespace: NamespacePolicy::Emit(S3_NAMESPACE),
        crc64_header: None,
        min_part_size: 5 * MIB,
        object_acl_header: "x-amz-acl",
        storage_classes: &[
            "STANDARD",
            "REDUCED_REDUNDANCY",
            "STANDARD_IA",
            "ONEZONE_IA",
            "INTELLIGENT_TIERING",
            "GLACIER",
            "DEEP_ARCHIVE",
            "GLACIER_IR",
            "OUTPOSTS",
            "SNOW",
            "EXPRESS_ONEZONE",
        ],
        canned_acls: &[
            "private",
            "public-read",
            "public-read-write",
            "authenticated-read",
            "aws-exec-read",
            "bucket-owner-read",
            "bucket-owner-full-control",
        ],
        kms_algorithms: &["aws:kms", "aws:kms:dsse"],
        kms_key_id_header: "x-amz-server-side-encryption-aws-kms-key-id",
        invalid_storage_class: ErrorCode::InvalidStorageClass,
        error_extras: ErrorExtras { resource: true, host_id: true, ec: false, trace_id: false },
    },
    DialectSpec {
        dialect: Dialect::Obs,
        name: "obs",
        header_prefix: "x-obs-",
        meta_prefix: "x-obs-meta-",
        request_id_header: "x-obs-request-id",
        id2_header: Some("x-obs-id-2"),
        namespace: NamespacePolicy::Emit(OBS_NAMESPACE),
        crc64_header: Some("x-obs-checksum-crc64ecma"),
        min_part_size: 100 * KIB,
        object_acl_header: "x-obs-acl",
        storage_classes: &["STANDARD", "WARM", "COLD", "DEEP_ARCHIVE"],
        canned_acls: &[
            "private",
            "public-read",
            "public-read-write",
            "public-read-delivered",
            "public-read-write-delivered",
            "bucket-owner-full-control",
        ],
        kms_algorithms: &["kms"],
        kms_key_id_header: "x-obs-server-side-encryption-kms-key-id",
        invalid_storage_class: ErrorCode::InvalidStorageClass,
        error_extras: ErrorExtras { resource: true, host_id: true, ec: false, trace_id: false },
    },
    DialectSpec {
        dialect: Dialect::Cos,
        name: "cos",
        header_prefix: "x-cos-",
        meta_prefix: "x-cos-meta-",
        request_id_header: "x-cos-request-id",
        id2_header: Some("x-cos-trace-id"),
        namespace: NamespacePolicy::Omit,
        crc64_header: Some("x-cos-hash-crc64ecma"),
        min_part_size: MIB,
        object_acl_header: "x-cos-acl",
        storage_classes: &[
            "STANDARD",
            "STANDARD_IA",
            "INTELLIGENT_TIERING",
            "ARCHIVE",
            "DEEP_ARCHIVE",
            "MAZ_STANDARD",
            "MAZ_STANDARD_IA",
            "MAZ_INTELLIGENT_TIERING",
            "MAZ_ARCHIVE",
        ],
        canned_acls: &["default", "private", "public-read"],
        kms_algorithms: &["cos/kms"],
        kms_key_id_header: "x-cos-server-side-encryption-cos-kms-key-id",
        invalid_storage_class: ErrorCode::InvalidStorageClass,
        error_extras: ErrorExtras { resource: true, host_id: false, ec: false, trace_id: true },
    },
    DialectSpec {
        dialect: Dialect::Oss,
        name: "oss",
        header_prefix: "x-oss-",
        meta_prefix: "x-oss-meta-",
        request_id_header: "x-oss-request-id",
        id2_header: None,
        namespace: NamespacePolicy::Omit,
        crc64_header: Some("x-oss-hash-crc64ecma"),
        min_part_size: 100 * KIB,
        object_acl_header: "x-oss-object-acl",
        storage_classes: &["Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"],
        canned_acls: &["default", "private", "public-read", "public-read-write"],
        kms_algorithms: &["KMS"],
        kms_key_id_header: "x-oss-server-side-encryption-key-id",
        invalid_storage_class: ErrorCode::InvalidArgument,
        error_extras: ErrorExtras { resource: false, host_id: true, ec: true, trace_id: false },
    },
    DialectSpec {
        dialect: Dialect::Ks3,
        name: "ks3",
        header_prefix: "x-kss-",
        meta_prefix: "x-kss-meta-",
        request_id_header: "x-kss-request-id",
        id2_header: None,
        namespace: NamespacePolicy::Emit(S3_NAMESPACE),
        crc64_header: Some("x-kss-checksum-crc64ecma"),
        min_part_size: 100 * KIB,
        object_acl_header: "x-kss-acl",
        storage_classes: &["STANDARD", "STANDARD_IA", "ARCHIVE", "DEEP_IA", "EXTREME_PFM"],
        canned_acls: &["private", "public-read", "public-read-write"],
        kms_algorithms: &["KMS", "kms"],
        kms_key_id_header: "x-kss-server-side-encryption-kms-key-id",
        invalid_storage_class: ErrorCode::InvalidStorageClass,
        error_extras: ErrorExtras { resource: true, host_id: false, ec: false, trace_id: false },
    },
];

/// Largest part any dialect accepts: 5 GiB (vendors that say "5 GB" mean the same limit).
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// Largest number of parts in one upload, in every dialect.
pub const MAX_PARTS: u32 = 10_000;
/// Largest single PUT, in every dialect.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * MIB;
/// Largest object, in every dialect: 5 TiB.
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * MIB;
/// Largest total size of user metadata names and values, in bytes.
pub const MAX_USER_METADATA: usize = 2 * 1024;

impl Dialect {
    /// All five dialects, in a fixed order.
    pub const ALL: [Dialect; 5] = [Dialect::Aws, Dialect::Obs, Dialect::Cos, Dialect::Oss, Dialect::Ks3];

    /// The table row for this dialect.
    pub fn spec(self) -> &'static DialectSpec {
        &SPECS[self as usize]
    }

    /// Lower-case name (`aws`, `obs`, `cos`, `oss`, `ks3`).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Prefix of the vendor's headers, e.g. `x-oss-`.
    pub fn header_prefix(self) -> &'static str {
        self.spec().header_prefix
    }

    /// The full name of a vendor header: `dialect.header("storage-class")` is
    /// `x-cos-storage-class` for COS.
    pub fn header(self, suffix: &str) -> String {
        let prefix = self.header_prefix();
        let mut name = String::with_capacity(prefix.len() + suffix.len());
        name.push_str(prefix);
        name.push_str(suffix);
        name
    }

    /// Which dialect a vendor header prefix belongs to (`x-obs-acl` → OBS).
    pub fn from_header_name(name: &str) -> Option<Dialect> {
        let lower = name.get(..6)?.to_ascii_lowercase();
        Dialect::ALL.into_iter().find(|d| d.header_prefix() == lower)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown dialect name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownDialect(pub String);

impl fmt::Display for UnknownDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown dialect {:?}: expected one of aws, obs, cos, oss, ks3", self.0)
    }
}

impl std::error::Error for UnknownDialect {}

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL.into_iter().find(|d| d.name().eq_ignore_ascii_case(s)).ok_or_else(|| UnknownDialect(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_are_in_enum_order() {
        for d in Dialect::ALL {
            assert_eq!(d.spec().dialect, d);
            assert!(d.spec().meta_prefix.starts_with(d.header_prefix()));
            assert_eq!(d.name().parse::<Dialect>().unwrap(), d);
        }
    }

    #[test]
    fn oss_never_emits_a_namespace() {
        assert_eq!(Dialect::Oss.spec().namespace, NamespacePolicy::Omit);
    }

    #[test]
    fn header_prefix_lookup() {
        assert_eq!(Dialect::from_header_name("X-Obs-Meta-a"), Some(Dialect::Obs));
        assert_eq!(Dialect::from_header_name("x-kss-acl"), Some(Dialect::Ks3));
        assert_eq!(Dialect::from_header_name("content-type"), None);
        assert_eq!(Dialect::from_header_name("x-a"), None);
    }

    #[test]
    fn part_minimums() {
        assert_eq!(Dialect::Aws.spec().min_part_size, 5 * 1024 * 1024);
        assert_eq!(Dialect::Cos.spec().min_part_size, 1024 * 1024);
        assert_eq!(Dialect::Ks3.spec().min_part_size, 100 * 1024);
    }
}
