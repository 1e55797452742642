//! Whole-object checksums from part checksums, without the data: CRC combination and the
//! composite (checksum-of-checksums) form.

use sha1::Digest as _;
use tessera_proto::{Checksum, ChecksumAlgorithm, ChecksumType};

/// A CRC that can be combined from the CRCs of consecutive pieces: the three CRCs of S3's
/// `x-amz-checksum-*` and CRC-64/XZ, which OSS, COS, OBS and KS3 call "crc64ecma".
///
/// All four are reflected and have equal init and xorout, which is what makes zlib's
/// combination (`crc(A‖B) = crc(A)·x^(8|B|) + crc(B)` over GF(2)) apply unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Crc {
    /// CRC-32/ISO-HDLC (zlib's), S3's `CRC32`.
    Crc32,
    /// CRC-32/ISCSI (Castagnoli), S3's `CRC32C`.
    Crc32c,
    /// CRC-64/NVME, S3's `CRC64NVME`.
    Crc64Nvme,
    /// CRC-64/XZ (ECMA-182 polynomial, reflected), the vendors' `crc64ecma`.
    Crc64Xz,
}

impl Crc {
    /// The CRC behind an S3 checksum algorithm, if it is one.
    pub fn of(algorithm: ChecksumAlgorithm) -> Option<Crc> {
        match algorithm {
            ChecksumAlgorithm::Crc32 => Some(Crc::Crc32),
            ChecksumAlgorithm::Crc32c => Some(Crc::Crc32c),
            ChecksumAlgorithm::Crc64Nvme => Some(Crc::Crc64Nvme),
            ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => None,
        }
    }

    /// Width in bits.
    pub fn width(self) -> u32 {
        match self {
            Crc::Crc32 | Crc::Crc32c => 32,
            Crc::Crc64Nvme | Crc::Crc64Xz => 64,
        }
    }

    /// The generator polynomial in reflected form (low `width` bits).
    fn reflected_poly(self) -> u64 {
        let (normal, width): (u64, u32) = match self {
            Crc::Crc32 => (0x04C1_1DB7, 32),
            Crc::Crc32c => (0x1EDC_6F41, 32),
            Crc::Crc64Nvme => (0xAD93_D235_94C9_3659, 64),
            Crc::Crc64Xz => (0x42F0_E1EB_A9EA_3693, 64),
        };
        normal.reverse_bits() >> (64 - width)
    }

    /// The CRC of `data` (for small inputs such as the composite of part checksums; bodies
    /// are digested by the embedder while they stream).
    pub fn checksum(self, data: &[u8]) -> u64 {
        let algorithm = match self {
            Crc::Crc32 => crc_fast::CrcAlgorithm::Crc32IsoHdlc,
            Crc::Crc32c => crc_fast::CrcAlgorithm::Crc32Iscsi,
            Crc::Crc64Nvme => crc_fast::CrcAlgorithm::Crc64Nvme,
            Crc::Crc64Xz => crc_fast::CrcAlgorithm::Crc64Xz,
        };
        crc_fast::checksum(algorithm, data)
    }

    /// `crc(A‖B)` from `crc(A)`, `crc(B)` and `|B|` in bytes.
    pub fn combine(self, crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
        let mut c = CrcCombiner::new(self);
        c.push(crc_a, 0);
        c.push(crc_b, len_b);
        c.value()
    }
}

/// Folds the CRCs of consecutive pieces into the CRC of their concatenation.
///
/// Each push multiplies the running value by `x^(8·len)` modulo the polynomial: `O(log len)`
/// carry-less multiplications to build that factor; when `len` repeats — as it does for every
/// part but the last — the factor is kept and the multiplication becomes eight table lookups.
#[derive(Clone, Debug)]
pub struct CrcCombiner {
    width: u32,
    poly: u64,
    /// `x^(2^k) mod p` for k in 0..67: enough for any `u64` byte length (`8·len < 2^67`).
    x2n: [u64; 67],
    cached: Option<(u64, u64)>,
    /// Multiplication by the cached factor, a byte at a time: built when a length repeats.
    table: Option<Box<[[u64; 256]; 8]>>,
    value: u64,
}

impl CrcCombiner {
    /// A combiner for `crc`, starting from the empty sequence.
    pub fn new(crc: Crc) -> CrcCombiner {
        let mut c = CrcCombiner {
            width: crc.width(),
            poly: crc.reflected_poly(),
            x2n: [0; 67],
            cached: None,
            table: None,
            value: 0,
        };
        // x^1 in reflected form: the bit just below x^0 (which is the top bit).
        let mut p = 1u64 << (c.width - 2);
        for k in 0..c.x2n.len() {
            if let Some(slot) = c.x2n.get_mut(k) {
                *slot = p;
            }
            p = c.multmodp(p, p);
        }
        c
    }

    /// Appends a piece of `len` bytes whose CRC is `crc`.
    pub fn push(&mut self, crc: u64, len: u64) {
        let shifted = match self.cached {
            Some((cached_len, factor)) if cached_len == len => {
                let table = match self.table.take() {
                    Some(t) => t,
                    None => self.byte_table(factor),
                };
                // The product is linear in the value: XOR the products of its bytes.
                let v = self.value;
                let product = table
                    .iter()
                    .enumerate()
                    .fold(0, |acc, (i, row)| acc ^ row.get(((v >> (8 * i)) & 0xFF) as usize).copied().unwrap_or(0));
                self.table = Some(table);
                product
            }
            _ => {
                let factor = self.x8nmodp(len);
                self.cached = Some((len, factor));
                self.table = None;
                self.multmodp(factor, self.value)
            }
        };
        self.value = shifted ^ crc;
    }

    /// `table[i][b] = factor · (b << 8i) mod p`, from the products of the single bits.
    fn byte_table(&self, factor: u64) -> Box<[[u64; 256]; 8]> {
        let mut table = Box::new([[0u64; 256]; 8]);
        for (i, row) in table.iter_mut().enumerate() {
            let bits: Vec<u64> = (0..8).map(|j| self.multmodp(factor, 1u64 << (8 * i + j))).collect();
            for b in 1..256usize {
                let low = b.trailing_zeros() as usize;
                let rest = row.get(b & (b - 1)).copied().unwrap_or(0);
                if let Some(slot) = row.get_mut(b) {
                    *slot = rest ^ bits.get(low).copied().unwrap_or(0);
                }
            }
        }
        table
    }

    /// The CRC of everything pushed so far (0, the CRC of nothing, before any push).
    pub fn value(&self) -> u64 {
        self.value
    }

    /// `a·b mod p`, both in reflected form.
    fn multmodp(&self, a: u64, mut b: u64) -> u64 {
        let mut m = 1u64 << (self.width - 1);
        let mut p = 0;
        while m != 0 {
            if a & m != 0 {
                p ^= b;
                if a & (m - 1) == 0 {
                    break;
                }
            }
            m >>= 1;
            b = if b & 1 != 0 { (b >> 1) ^ self.poly } else { b >> 1 };
        }
        p
    }

    /// `x^(8·n) mod p`.
    fn x8nmodp(&self, mut n: u64) -> u64 {
        let mut p = 1u64 << (self.width - 1);
        let mut k = 3;
        while n != 0 {
            if n & 1 != 0 {
                p = self.multmodp(self.x2n.get(k).copied().unwrap_or(0), p);
            }
            n >>= 1;
            k += 1;
        }
        p
    }
}

/// A multipart object's checksum in the upload's algorithm and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectChecksum {
    /// The value: for [`ChecksumType::FullObject`] the checksum of the whole object, for
    /// [`ChecksumType::Composite`] the checksum of the concatenated part checksums.
    pub checksum: Checksum,
    /// How it was formed.
    pub kind: ChecksumType,
    /// The number of parts.
    pub part_count: u32,
}

impl ObjectChecksum {
    /// The value as a header or XML element carries it: base64, with `-N` when composite.
    pub fn header_value(&self) -> String {
        match self.kind {
            ChecksumType::FullObject => self.checksum.to_base64(),
            ChecksumType::Composite => format!("{}-{}", self.checksum.to_base64(), self.part_count),
        }
    }
}

/// A digest as a big-endian integer (how S3 writes CRCs), or `None` if longer than 8 bytes.
pub(crate) fn digest_u64(digest: &[u8]) -> Option<u64> {
    if digest.len() > 8 {
        return None;
    }
    Some(digest.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// The last `n` bytes of a big-endian `u64` (a 32-bit CRC is the low four).
fn low_bytes(bytes: &[u8; 8], n: usize) -> Vec<u8> {
    bytes.get(8usize.saturating_sub(n)..).unwrap_or(bytes).to_vec()
}

/// The checksum of `data` in `algorithm`.
pub(crate) fn hash(algorithm: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
    match (algorithm, Crc::of(algorithm)) {
        (_, Some(crc)) => {
            let bytes = crc.checksum(data).to_be_bytes();
            low_bytes(&bytes, algorithm.digest_len())
        }
        (ChecksumAlgorithm::Sha1, None) => sha1::Sha1::digest(data).to_vec(),
        (_, None) => sha2::Sha256::digest(data).to_vec(),
    }
}

/// The object checksum of parts given as (checksum, length), in order. `None` if a part's
/// checksum is of another algorithm or the type is not allowed for the algorithm (the table
/// checks both before it gets here).
pub(crate) fn object_checksum<'a>(
    algorithm: ChecksumAlgorithm,
    kind: ChecksumType,
    parts: impl ExactSizeIterator<Item = (&'a Checksum, u64)>,
) -> Option<ObjectChecksum> {
    let part_count = u32::try_from(parts.len()).ok()?;
    let digest = match (kind, Crc::of(algorithm)) {
        (ChecksumType::FullObject, Some(crc)) => {
            let mut combiner = CrcCombiner::new(crc);
            for (checksum, len) in parts {
                if checksum.algorithm() != algorithm {
                    return None;
                }
                combiner.push(digest_u64(checksum.digest())?, len);
            }
            low_bytes(&combiner.value().to_be_bytes(), algorithm.digest_len())
        }
        (ChecksumType::FullObject, None) => return None,
        (ChecksumType::Composite, _) => {
            let mut cat = Vec::with_capacity(parts.len() * algorithm.digest_len());
            for (checksum, _) in parts {
                if checksum.algorithm() != algorithm {
                    return None;
                }
                cat.extend_from_slice(checksum.digest());
            }
            hash(algorithm, &cat)
        }
    };
    Some(ObjectChecksum { checksum: Checksum::new(algorithm, &digest).ok()?, kind, part_count })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [Crc; 4] = [Crc::Crc32, Crc::Crc32c, Crc::Crc64Nvme, Crc::Crc64Xz];

    #[test]
    fn check_values() {
        // The catalogue's check values over "123456789".
        assert_eq!(Crc::Crc32.checksum(b"123456789"), 0xCBF4_3926);
        assert_eq!(Crc::Crc32c.checksum(b"123456789"), 0xE306_9283);
        assert_eq!(Crc::Crc64Nvme.checksum(b"123456789"), 0xAE8B_1486_0A79_9888);
        assert_eq!(Crc::Crc64Xz.checksum(b"123456789"), 0x995D_C9BB_DF19_39FA);
    }

    #[test]
    fn combine_matches_concatenation_and_crc_fast() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for crc in ALL {
            for split in [0, 1, 7, 8, 1000, 4999, 5000] {
                let (a, b) = data.split_at(split);
                let got = crc.combine(crc.checksum(a), crc.checksum(b), b.len() as u64);
                assert_eq!(got, crc.checksum(&data), "{crc:?} split {split}");
            }
        }
        let fast = crc_fast::checksum_combine(crc_fast::CrcAlgorithm::Crc64Xz, 0x1234, 0x5678, 77);
        assert_eq!(Crc::Crc64Xz.combine(0x1234, 0x5678, 77), fast);
        // A huge length exercises the whole x^(2^k) table without overflow.
        let fast = crc_fast::checksum_combine(crc_fast::CrcAlgorithm::Crc32IsoHdlc, 1, 2, u64::MAX);
        assert_eq!(Crc::Crc32.combine(1, 2, u64::MAX), fast);
    }

    #[test]
    fn composite_and_full_object() {
        let parts: [&[u8]; 3] = [b"hello ", b"multipart ", b"world"];
        let sums: Vec<Checksum> = parts
            .iter()
            .map(|p| Checksum::new(ChecksumAlgorithm::Crc32, &hash(ChecksumAlgorithm::Crc32, p)).unwrap())
            .collect();
        let full = object_checksum(
            ChecksumAlgorithm::Crc32,
            ChecksumType::FullObject,
            sums.iter().zip(parts.iter().map(|p| p.len() as u64)),
        )
        .unwrap();
        assert_eq!(full.checksum.digest(), &hash(ChecksumAlgorithm::Crc32, b"hello multipart world")[..]);
        assert_eq!(full.header_value(), full.checksum.to_base64());

        let composite =
            object_checksum(ChecksumAlgorithm::Crc32, ChecksumType::Composite, sums.iter().map(|c| (c, 0))).unwrap();
        let cat: Vec<u8> = sums.iter().flat_map(|c| c.digest().to_vec()).collect();
        assert_eq!(composite.checksum.digest(), &hash(ChecksumAlgorithm::Crc32, &cat)[..]);
        assert!(composite.header_value().ends_with("-3"));

        let sha = Checksum::new(ChecksumAlgorithm::Sha256, &hash(ChecksumAlgorithm::Sha256, b"x")).unwrap();
        assert!(
            object_checksum(ChecksumAlgorithm::Sha256, ChecksumType::FullObject, [(&sha, 1)].into_iter()).is_none()
        );
        assert!(object_checksum(ChecksumAlgorithm::Crc32, ChecksumType::Composite, [(&sha, 1)].into_iter()).is_none());
    }

    #[test]
    fn equal_pieces_use_the_byte_table_and_agree() {
        let data: Vec<u8> = (0..(37 * 60 + 5) as u32).map(|i| (i * 13 + 7) as u8).collect();
        for crc in ALL {
            let mut c = CrcCombiner::new(crc);
            for piece in data.chunks(37) {
                c.push(crc.checksum(piece), piece.len() as u64);
            }
            assert_eq!(c.value(), crc.checksum(&data), "{crc:?}");
        }
    }

    proptest! {
        #[test]
        fn combining_many_pieces_equals_crc_of_concatenation(
            pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..12),
        ) {
            let whole: Vec<u8> = pieces.concat();
            for crc in ALL {
                let mut c = CrcCombiner::new(crc);
                for p in &pieces {
                    c.push(crc.checksum(p), p.len() as u64);
                }
                prop_assert_eq!(c.value(), crc.checksum(&whole));
            }
        }
    }
}
