//! What the body must still satisfy once the head has been verified.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use tessera_proto::{Checksum, ChecksumAlgorithm, Dialect};

use crate::SignError;
use crate::chunked::{ChunkLimits, ChunkedDecoder};
use crate::digest::{DigestSet, Digests};
use crate::head::RequestHead;
use crate::util::{ct_eq, hmac_sha256};

/// SHA-256 of the empty string, hex.
pub(crate) const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How the payload was signed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload {
    /// Not signed (`UNSIGNED-PAYLOAD`, presigned URLs, and every HMAC-SHA1 scheme).
    Unsigned,
    /// The body's SHA-256 must equal this (`x-amz-content-sha256` / `x-oss-content-sha256` hex).
    Sha256([u8; 32]),
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`: aws-chunked, every chunk signed.
    SignedChunks {
        /// The chain of chunk signatures, seeded with the request's signature.
        signer: ChunkSigner,
        /// Whether a signed trailer follows the last chunk (`-TRAILER`).
        trailer: bool,
    },
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: aws-chunked, unsigned, a trailer checksum at the end.
    UnsignedTrailer,
}

impl Payload {
    /// Whether the body is aws-chunked.
    pub fn is_chunked(&self) -> bool {
        matches!(self, Payload::SignedChunks { .. } | Payload::UnsignedTrailer)
    }
}

/// The SigV4 streaming context: signs (client) or checks (server) each chunk in turn, each
/// signature chaining the previous one (§1.6).
#[derive(Clone, PartialEq, Eq)]
pub struct ChunkSigner {
    key: [u8; 32],
    amz_date: String,
    scope: String,
    previous: [u8; 32],
}

impl std::fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signing key is a secret derivative: never printed.
        f.debug_struct("ChunkSigner").field("amz_date", &self.amz_date).field("scope", &self.scope).finish()
    }
}

impl ChunkSigner {
    /// A chain starting from the seed signature of the request.
    pub(crate) fn new(key: [u8; 32], amz_date: String, scope: String, seed: [u8; 32]) -> ChunkSigner {
        ChunkSigner { key, amz_date, scope, previous: seed }
    }

    /// The previous signature in the chain (the seed before any chunk).
    pub fn previous_signature(&self) -> [u8; 32] {
        self.previous
    }

    /// Signs the next chunk, given the SHA-256 of its data, and advances the chain.
    pub fn next_chunk(&mut self, data_sha256: &[u8; 32]) -> [u8; 32] {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(self.previous),
            hex::encode(data_sha256)
        );
        self.previous = hmac_sha256(&self.key, sts.as_bytes());
        self.previous
    }

    /// Checks the next chunk's signature in constant time; advances the chain only on success.
    pub fn verify_chunk(&mut self, data_sha256: &[u8; 32], signature: &[u8; 32]) -> Result<(), SignError> {
        let mut next = self.clone();
        if ct_eq(&next.next_chunk(data_sha256), signature) {
            *self = next;
            Ok(())
        } else {
            Err(SignError::SignatureDoesNotMatch)
        }
    }

    /// Signs the trailer: `canonical` is the trailer headers as `name:value\n` lines.
    pub fn trailer_signature(&self, canonical: &[u8]) -> [u8; 32] {
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(self.previous),
            hex::encode(Sha256::digest(canonical))
        );
        hmac_sha256(&self.key, sts.as_bytes())
    }
}

/// Everything the body must satisfy: how its payload was signed and the digests the request
/// declared. Get one from [`crate::verify`] (or [`BodyCheck::declared`] for anonymous requests),
/// compute [`BodyCheck::digests_needed`] while the body streams, then call [`BodyCheck::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BodyCheck {
    /// How the payload was signed.
    pub payload: Payload,
    /// The declared `Content-MD5`.
    pub content_md5: Option<[u8; 16]>,
    /// Declared `x-amz-checksum-*` headers.
    pub checksums: Vec<Checksum>,
    /// Declared vendor CRC-64/ECMA header (`x-oss-hash-crc64ecma`, `x-cos-hash-crc64ecma`,
    /// `x-obs-checksum-crc64ecma`, `x-kss-checksum-crc64ecma`), decimal.
    pub crc64ecma: Option<u64>,
    /// `x-amz-decoded-content-length` (aws-chunked bodies).
    pub decoded_length: Option<u64>,
    /// The checksum announced by `x-amz-trailer`, to arrive after the last chunk.
    pub trailer: Option<ChecksumAlgorithm>,
}

impl BodyCheck {
    /// The declared digests of `head`, with `payload` as the payload rule.
    pub fn declared(head: &RequestHead<'_>, payload: Payload) -> Result<BodyCheck, SignError> {
        let content_md5 = match head.headers().get("content-md5") {
            None => None,
            Some(v) => {
                let bytes =
                    B64.decode(v.as_bytes().trim_ascii()).map_err(|_| SignError::InvalidDigest("Content-MD5"))?;
                Some(<[u8; 16]>::try_from(bytes).map_err(|_| SignError::InvalidDigest("Content-MD5"))?)
            }
        };
        let mut checksums = Vec::new();
        for alg in ChecksumAlgorithm::ALL {
            if let Some(v) = head.headers().get(alg.header_name()) {
                let text = v.to_str().map_err(|_| SignError::InvalidChecksum(alg))?;
                checksums.push(Checksum::from_base64(alg, text).map_err(|_| SignError::InvalidChecksum(alg))?);
            }
        }
        let mut crc64ecma = None;
        for d in Dialect::ALL {
            let Some(name) = d.spec().crc64_header else { continue };
            if let Some(v) = head.headers().get(name) {
                let text = std::str::from_utf8(v.as_bytes().trim_ascii()).unwrap_or("x");
                let n: u64 = text.parse().map_err(|_| SignError::InvalidDigest("CRC-64 header"))?;
                if crc64ecma.is_some_and(|prev| prev != n) {
                    return Err(SignError::InvalidDigest("CRC-64 header"));
                }
                crc64ecma = Some(n);
            }
        }
        let decoded_length = match head.header_str("x-amz-decoded-content-length") {
            None => None,
            Some(v) => {
                Some(v.trim().parse().map_err(|_| SignError::MalformedChunk("bad x-amz-decoded-content-length"))?)
            }
        };
        let trailer = match head.header_str("x-amz-trailer") {
            None => None,
            Some(v) => Some(
                ChecksumAlgorithm::from_header_name(v.trim())
                    .ok_or(SignError::MalformedChunk("x-amz-trailer must name an x-amz-checksum-* header"))?,
            ),
        };
        if payload.is_chunked() && decoded_length.is_none() {
            return Err(SignError::MalformedChunk("aws-chunked body without x-amz-decoded-content-length"));
        }
        if matches!(payload, Payload::UnsignedTrailer) && trailer.is_none() {
            return Err(SignError::MalformedChunk("STREAMING-UNSIGNED-PAYLOAD-TRAILER without x-amz-trailer"));
        }
        Ok(BodyCheck { payload, content_md5, checksums, crc64ecma, decoded_length, trailer })
    }

    /// The digests [`BodyCheck::check`] needs, computed over the (decoded) body.
    pub fn digests_needed(&self) -> DigestSet {
        let mut set = DigestSet {
            md5: self.content_md5.is_some(),
            sha256: matches!(self.payload, Payload::Sha256(_)),
            crc64ecma: self.crc64ecma.is_some(),
            ..DigestSet::NONE
        };
        for c in &self.checksums {
            set = set.with(c.algorithm());
        }
        set
    }

    /// The aws-chunked decoder for this body, or `None` when the body is not aws-chunked.
    pub fn chunked_decoder(&self, limits: ChunkLimits) -> Option<ChunkedDecoder> {
        let signer = match &self.payload {
            Payload::SignedChunks { signer, trailer } => Some((signer.clone(), *trailer)),
            Payload::UnsignedTrailer => None,
            _ => return None,
        };
        Some(ChunkedDecoder::new(signer, self.trailer, self.decoded_length, limits))
    }

    /// Checks the digests of the whole (decoded) body against everything declared. The SHA-256
    /// payload hash is checked first, as S3 does.
    pub fn check(&self, digests: &Digests) -> Result<(), SignError> {
        let missing = SignError::ApiMisuse("a digest named by digests_needed() was not computed");
        if let Payload::Sha256(want) = &self.payload
            && !ct_eq(&digests.sha256.ok_or(missing.clone())?, want)
        {
            return Err(SignError::XAmzContentSha256Mismatch);
        }
        if let Some(length) = self.decoded_length
            && self.payload.is_chunked()
            && length != digests.length
        {
            return Err(SignError::IncompleteBody);
        }
        if let Some(want) = &self.content_md5
            && !ct_eq(&digests.md5.ok_or(missing.clone())?, want)
        {
            return Err(SignError::BadDigest("Content-MD5"));
        }
        for c in &self.checksums {
            let got = digests.checksum(c.algorithm()).ok_or(missing.clone())?;
            if !ct_eq(got.digest(), c.digest()) {
                return Err(SignError::BadDigest(c.algorithm().header_name()));
            }
        }
        if let Some(want) = self.crc64ecma
            && digests.crc64ecma.ok_or(missing)? != want
        {
            return Err(SignError::BadDigest("CRC-64/ECMA"));
        }
        Ok(())
    }
}
