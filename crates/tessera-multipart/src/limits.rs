//! Size and count limits of a multipart upload, per dialect and overridable.

use tessera_proto::Dialect;
use tessera_proto::dialect::{MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS};

/// The limits one upload is held to. Taken from the dialect when the upload is created and
/// stored with it, so a restarted server judges an upload by the rules it began under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Minimum size of every part but the last, in bytes.
    pub min_part_size: u64,
    /// Maximum size of any part, in bytes.
    pub max_part_size: u64,
    /// Highest part number accepted (at most 10 000: part numbers are `PartNumber`s).
    pub max_parts: u32,
    /// Maximum size of the assembled object, in bytes.
    pub max_object_size: u64,
}

impl Limits {
    /// The limits the vendor of `dialect` enforces.
    pub fn for_dialect(dialect: Dialect) -> Limits {
        Limits {
            min_part_size: dialect.spec().min_part_size,
            max_part_size: MAX_PART_SIZE,
            max_parts: MAX_PARTS,
            max_object_size: MAX_OBJECT_SIZE,
        }
    }

    /// Limits that accept anything a `PartNumber` can name: no minimum part size. Useful for
    /// tests and for embedders that impose no vendor rule.
    pub fn permissive() -> Limits {
        Limits { min_part_size: 0, max_part_size: u64::MAX, max_parts: MAX_PARTS, max_object_size: u64::MAX }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_minimums() {
        assert_eq!(Limits::for_dialect(Dialect::Aws).min_part_size, 5 * 1024 * 1024);
        assert_eq!(Limits::for_dialect(Dialect::Cos).min_part_size, 1024 * 1024);
        assert_eq!(Limits::for_dialect(Dialect::Oss).min_part_size, 100 * 1024);
        for d in Dialect::ALL {
            let l = Limits::for_dialect(d);
            assert_eq!(l.max_part_size, 5 * 1024 * 1024 * 1024);
            assert_eq!(l.max_parts, 10_000);
        }
    }
}
