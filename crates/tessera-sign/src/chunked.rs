//! The aws-chunked body framing (DIALECTS.md §1.6), sans-IO.
//!
//! The decoder is a pipe: feed it whatever bytes arrived (any split, down to one byte at a
//! time) and it hands back slices of those same bytes that are object data, never copying
//! them and never letting a size line, signature or trailer through. Data it hands back is
//! provisional until [`ChunkedDecoder::finish`] succeeds: a chunk's signature can only be
//! checked once the chunk has been read, so the caller stages data and commits it only then.

use sha2::{Digest, Sha256};
use tessera_proto::{Checksum, ChecksumAlgorithm};

use crate::SignError;
use crate::body::ChunkSigner;
use crate::digest::{BodyDigests, DigestSet};
use crate::util::{ct_eq, parse_hex};

/// The longest size line or trailer line accepted, CRLF included. A signed size line is at
/// most 16 hex digits + `;chunk-signature=` + 64 hex digits + CRLF = 99 bytes.
const LINE_CAP: usize = 256;
/// At most this many trailer lines (the checksum and its signature, with room to spare).
const MAX_TRAILER_LINES: usize = 8;

/// Limits applied while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Largest chunk accepted, in bytes. SDKs send 8 KiB to 1 MiB chunks.
    pub max_chunk_size: u64,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits { max_chunk_size: 16 * 1024 * 1024 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    SizeLine,
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    /// After the last (zero-length) chunk: the final CRLF, or trailer lines ending in an empty line.
    Trailer,
    Done,
    Failed,
}

/// What a finished aws-chunked body declared and decoded to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkedSummary {
    /// Decoded length (equals `x-amz-decoded-content-length`).
    pub decoded_length: u64,
    /// The trailer checksum, already checked against the decoded data.
    pub trailer_checksum: Option<Checksum>,
}

/// The sans-IO aws-chunked decoder.
#[derive(Debug)]
pub struct ChunkedDecoder {
    signer: Option<ChunkSigner>,
    expects_trailer: bool,
    trailer_alg: Option<ChecksumAlgorithm>,
    expected_len: Option<u64>,
    limits: ChunkLimits,
    state: State,
    line: [u8; LINE_CAP],
    line_len: usize,
    decoded: u64,
    chunk_hash: Sha256,
    chunk_sig: [u8; 32],
    trailer_digest: Option<BodyDigests>,
    trailer_value: Option<Checksum>,
    trailer_sig: Option<[u8; 32]>,
    trailer_canonical: Vec<u8>,
    trailer_lines: usize,
}

impl ChunkedDecoder {
    /// A decoder. `signer` = the chunk-signature chain and whether a signed trailer follows
    /// (`None` for `STREAMING-UNSIGNED-PAYLOAD-TRAILER`); `trailer` = the algorithm announced
    /// by `x-amz-trailer`; `decoded_length` = `x-amz-decoded-content-length`.
    pub fn new(
        signer: Option<(ChunkSigner, bool)>,
        trailer: Option<ChecksumAlgorithm>,
        decoded_length: Option<u64>,
        limits: ChunkLimits,
    ) -> ChunkedDecoder {
        let expects_trailer = signer.as_ref().is_none_or(|(_, t)| *t);
        let trailer_alg = if expects_trailer { trailer } else { None };
        ChunkedDecoder {
            signer: signer.map(|(s, _)| s),
            expects_trailer,
            trailer_alg,
            expected_len: decoded_length,
            limits,
            state: State::SizeLine,
            line: [0; LINE_CAP],
            line_len: 0,
            decoded: 0,
            chunk_hash: Sha256::new(),
            chunk_sig: [0; 32],
            trailer_digest: trailer_alg.map(|a| BodyDigests::new(DigestSet::NONE.with(a))),
            trailer_value: None,
            trailer_sig: None,
            trailer_canonical: Vec::new(),
            trailer_lines: 0,
        }
    }

    /// Bytes of object data handed out so far.
    pub fn decoded_length(&self) -> u64 {
        self.decoded
    }

    /// Whether the final chunk (and trailer) has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes a prefix of `input`. Returns how many bytes were consumed and the object data
    /// among them (a sub-slice of `input`, possibly empty). Call again with the rest until all
    /// input is consumed; a return of `(0, [])` never happens while input remains.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), SignError> {
        let r = self.step(input);
        if r.is_err() {
            self.state = State::Failed;
        }
        r
    }

    /// Decodes all of `input`, passing each data slice to `sink`.
    pub fn decode_all(&mut self, mut input: &[u8], mut sink: impl FnMut(&[u8])) -> Result<(), SignError> {
        while !input.is_empty() {
            let (n, data) = self.decode(input)?;
            if !data.is_empty() {
                sink(data);
            }
            input = input.get(n..).unwrap_or_default();
        }
        Ok(())
    }

    /// Ends the body: fails if the final chunk or trailer is missing or the decoded length
    /// differs from `x-amz-decoded-content-length`.
    pub fn finish(self) -> Result<ChunkedSummary, SignError> {
        match self.state {
            State::Done => {}
            State::Failed => return Err(SignError::ApiMisuse("finish() after a decoding error")),
            _ => return Err(SignError::IncompleteBody),
        }
        if self.expected_len.is_some_and(|n| n != self.decoded) {
            return Err(SignError::IncompleteBody);
        }
        Ok(ChunkedSummary { decoded_length: self.decoded, trailer_checksum: self.trailer_value })
    }

    fn step<'a>(&mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), SignError> {
        let mut pos = 0;
        while pos < input.len() {
            let rest = input.get(pos..).unwrap_or_default();
            match self.state {
                State::Failed => return Err(SignError::MalformedChunk("the body already failed to decode")),
                State::Done => return Err(SignError::MalformedChunk("data after the final chunk")),
                State::Data { remaining } => {
                    let n = usize::try_from(remaining).unwrap_or(usize::MAX).min(rest.len());
                    let data = rest.get(..n).unwrap_or_default();
                    if self.signer.is_some() {
                        self.chunk_hash.update(data);
                    }
                    if let Some(d) = &mut self.trailer_digest {
                        d.update(data);
                    }
                    self.decoded += n as u64;
                    let remaining = remaining - n as u64;
                    self.state = if remaining == 0 { State::DataCr } else { State::Data { remaining } };
                    if remaining == 0 {
                        self.end_of_chunk_data()?;
                    }
                    return Ok((pos + n, data));
                }
                State::DataCr | State::DataLf => {
                    let want = if self.state == State::DataCr { b'\r' } else { b'\n' };
                    if rest.first() != Some(&want) {
                        return Err(SignError::MalformedChunk("chunk data not followed by CRLF"));
                    }
                    pos += 1;
                    self.state = if self.state == State::DataCr { State::DataLf } else { State::SizeLine };
                }
                State::SizeLine | State::Trailer => {
                    let Some(line_end) = self.take_line(rest)? else { return Ok((input.len(), &[])) };
                    pos += line_end;
                    let line_len = self.line_len;
                    self.line_len = 0;
                    // A stack copy (no allocation) frees `self` for the handlers.
                    let buf = self.line;
                    let line = buf.get(..line_len).unwrap_or_default();
                    if self.state == State::SizeLine {
                        self.size_line(line)?;
                    } else {
                        self.trailer_line(line)?;
                    }
                }
            }
        }
        Ok((pos, &[]))
    }

    /// Appends bytes up to and including the next LF to the line buffer. Returns how many
    /// bytes of `rest` were used once the line is complete (the line, without CRLF, is then
    /// in `self.line[..self.line_len]`).
    fn take_line(&mut self, rest: &[u8]) -> Result<Option<usize>, SignError> {
        let (chunk, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (rest.get(..=i).unwrap_or_default(), true),
            None => (rest, false),
        };
        let end = self.line_len + chunk.len();
        let slot = self.line.get_mut(self.line_len..end).ok_or(SignError::MalformedChunk("line too long"))?;
        slot.copy_from_slice(chunk);
        self.line_len = end;
        if !complete {
            return Ok(None);
        }
        // Strip CRLF; a bare LF is a framing error.
        if self.line_len < 2 || self.line.get(self.line_len - 2) != Some(&b'\r') {
            return Err(SignError::MalformedChunk("line not terminated by CRLF"));
        }
        self.line_len -= 2;
        Ok(Some(chunk.len()))
    }

    fn size_line(&mut self, line: &[u8]) -> Result<(), SignError> {
        let (size_hex, ext) = match line.iter().position(|&b| b == b';') {
            Some(i) => (line.get(..i).unwrap_or_default(), Some(line.get(i + 1..).unwrap_or_default())),
            None => (line, None),
        };
        if size_hex.is_empty() || size_hex.len() > 16 || !size_hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(SignError::MalformedChunk("bad chunk size"));
        }
        let size = size_hex.iter().fold(0u64, |acc, &b| (acc << 4) | u64::from((b as char).to_digit(16).unwrap_or(0)));
        if size > self.limits.max_chunk_size {
            return Err(SignError::ChunkTooLarge);
        }
        match (&self.signer, ext) {
            (Some(_), Some(ext)) => {
                let sig = ext
                    .strip_prefix(b"chunk-signature=")
                    .ok_or(SignError::MalformedChunk("expected chunk-signature"))?;
                let sig = std::str::from_utf8(sig).ok().and_then(parse_hex::<32>);
                self.chunk_sig = sig.ok_or(SignError::MalformedChunk("chunk-signature must be 64 hex digits"))?;
            }
            (Some(_), None) => return Err(SignError::MalformedChunk("missing chunk-signature")),
            (None, Some(_)) => return Err(SignError::MalformedChunk("unexpected chunk extension")),
            (None, None) => {}
        }
        if self.expected_len.is_some_and(|n| self.decoded.saturating_add(size) > n) {
            return Err(SignError::MalformedChunk("body longer than x-amz-decoded-content-length"));
        }
        self.chunk_hash = Sha256::new();
        if size > 0 {
            self.state = State::Data { remaining: size };
        } else {
            self.end_of_chunk_data()?;
            self.state = State::Trailer;
        }
        Ok(())
    }

    fn end_of_chunk_data(&mut self) -> Result<(), SignError> {
        if let Some(signer) = &mut self.signer {
            let hash: [u8; 32] = std::mem::take(&mut self.chunk_hash).finalize().into();
            signer.verify_chunk(&hash, &self.chunk_sig)?;
        }
        Ok(())
    }

    fn trailer_line(&mut self, line: &[u8]) -> Result<(), SignError> {
        if line.is_empty() {
            return self.end_of_trailer();
        }
        if !self.expects_trailer {
            return Err(SignError::MalformedChunk("expected CRLF after the final chunk"));
        }
        self.trailer_lines += 1;
        if self.trailer_lines > MAX_TRAILER_LINES {
            return Err(SignError::MalformedChunk("too many trailer lines"));
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(SignError::MalformedChunk("trailer without ':'"))?;
        let name = line.get(..colon).unwrap_or_default().trim_ascii().to_ascii_lowercase();
        let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
        if name == b"x-amz-trailer-signature" {
            let sig = std::str::from_utf8(value).ok().and_then(parse_hex::<32>);
            let sig = sig.ok_or(SignError::MalformedChunk("x-amz-trailer-signature must be 64 hex digits"))?;
            if self.signer.is_none() || self.trailer_sig.replace(sig).is_some() {
                return Err(SignError::MalformedChunk("unexpected x-amz-trailer-signature"));
            }
            return Ok(());
        }
        let alg = std::str::from_utf8(&name).ok().and_then(ChecksumAlgorithm::from_header_name);
        let alg = alg
            .filter(|a| Some(*a) == self.trailer_alg)
            .ok_or(SignError::MalformedChunk("trailer not announced by x-amz-trailer"))?;
        let text = std::str::from_utf8(value).map_err(|_| SignError::InvalidChecksum(alg))?;
        let checksum = Checksum::from_base64(alg, text).map_err(|_| SignError::InvalidChecksum(alg))?;
        if self.trailer_value.replace(checksum).is_some() {
            return Err(SignError::MalformedChunk("repeated trailer"));
        }
        self.trailer_canonical.extend_from_slice(&name);
        self.trailer_canonical.push(b':');
        self.trailer_canonical.extend_from_slice(value);
        self.trailer_canonical.push(b'\n');
        Ok(())
    }

    fn end_of_trailer(&mut self) -> Result<(), SignError> {
        if let Some(alg) = self.trailer_alg {
            let declared = self.trailer_value.as_ref().ok_or(SignError::MalformedChunk("missing trailer checksum"))?;
            let computed = self.trailer_digest.take().map(|d| d.finish()).and_then(|d| d.checksum(alg));
            let computed = computed.ok_or(SignError::ApiMisuse("trailer digest missing"))?;
            if !ct_eq(computed.digest(), declared.digest()) {
                return Err(SignError::BadDigest(alg.header_name()));
            }
        }
        if self.expects_trailer
            && let Some(signer) = &self.signer
        {
            let sig = self.trailer_sig.ok_or(SignError::MalformedChunk("missing x-amz-trailer-signature"))?;
            if !ct_eq(&signer.trailer_signature(&self.trailer_canonical), &sig) {
                return Err(SignError::SignatureDoesNotMatch);
            }
        }
        self.state = State::Done;
        Ok(())
    }
}

/// The client side: frames data as aws-chunked, signing each chunk when given a signer.
#[derive(Debug)]
pub struct ChunkedEncoder {
    signer: Option<ChunkSigner>,
    trailer: Option<(ChecksumAlgorithm, BodyDigests)>,
    signed_trailer: bool,
}

impl ChunkedEncoder {
    /// An encoder. `signer` from [`crate::Signed::chunk_signer`] for `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`
    /// (`signed_trailer` selects the `-TRAILER` form), `None` for the unsigned form; `trailer`
    /// adds a trailer checksum of that algorithm.
    pub fn new(signer: Option<ChunkSigner>, trailer: Option<ChecksumAlgorithm>, signed_trailer: bool) -> Self {
        ChunkedEncoder {
            signer,
            trailer: trailer.map(|a| (a, BodyDigests::new(DigestSet::NONE.with(a)))),
            signed_trailer,
        }
    }

    /// The encoded length of a body of `len` bytes cut into `chunk`-byte chunks (for
    /// `Content-Length`), without a trailer.
    pub fn encoded_length(len: u64, chunk: u64, signed: bool) -> u64 {
        let chunk = chunk.max(1);
        let ext = if signed { 17 + 64 } else { 0 };
        let line = |n: u64| format!("{n:x}").len() as u64 + ext + 2;
        let full = len / chunk;
        let last = len % chunk;
        let mut total = full * (line(chunk) + chunk + 2);
        if last > 0 {
            total += line(last) + last + 2;
        }
        total + line(0) + 2
    }

    fn frame(&mut self, data: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{:x}", data.len()).as_bytes());
        if let Some(signer) = &mut self.signer {
            let sig = signer.next_chunk(&Sha256::digest(data).into());
            out.extend_from_slice(b";chunk-signature=");
            out.extend_from_slice(hex::encode(sig).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Appends one chunk holding `data` (which must not be empty: an empty chunk ends the body).
    pub fn chunk(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        if let Some((_, d)) = &mut self.trailer {
            d.update(data);
        }
        self.frame(data, out);
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }

    /// Appends the final chunk and the trailer.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.frame(&[], out);
        if let Some((alg, d)) = self.trailer.take() {
            let value = d.finish().checksum(alg).map(|c| c.to_base64()).unwrap_or_default();
            let line = format!("{}:{value}", alg.header_name());
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
            if let (Some(signer), true) = (&self.signer, self.signed_trailer) {
                let sig = signer.trailer_signature(format!("{line}\n").as_bytes());
                out.extend_from_slice(b"x-amz-trailer-signature:");
                out.extend_from_slice(hex::encode(sig).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}
