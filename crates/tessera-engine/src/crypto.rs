//! Encryption at rest: envelope encryption with AES-256-CTR.
//!
//! Every object (and every staged part of a multipart upload) is encrypted under its own
//! random 256-bit *data key* and random 16-byte IV. The data key never reaches the store in
//! the clear:
//!
//! - SSE-S3 and SSE-KMS: the data key is *wrapped* by a named master key of the [`KeyRing`]
//!   (AES-256-CTR under a random nonce, then HMAC-SHA256 over the format tag, nonce,
//!   ciphertext and key id — encrypt-then-MAC, the tag checked in constant time). The
//!   encryption and MAC keys are derived from the master key by HMAC-SHA256 with distinct
//!   labels, so the master key itself is never used directly.
//! - SSE-C: the customer's key is never stored. A random per-object salt is; the data key is
//!   HMAC-SHA256(customer key, label ‖ salt) and a second, differently labelled HMAC
//!   recognises the key on later requests ([`CustomerKeyCheck`]).
//!
//! Data is encrypted with AES-256-CTR whose 128-bit big-endian counter block is
//! `IV + offset / 16`, skipping `offset % 16` keystream bytes: a range read decrypts from
//! any offset without reading from the start ([`ctr_stream`]), and encryption streams with
//! the upload, one chunk at a time.
//!
//! Nothing here draws randomness itself: the front-end injects a [`RandomSource`].
//! Key bytes never appear in `Debug` output and are zeroed when dropped.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use aes::Aes256;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::{Bytes, BytesMut};
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tessera_store::{ByteStream, StoreError};
use zeroize::Zeroize;

type HmacSha256 = Hmac<Sha256>;
type Aes256Ctr = Ctr128BE<Aes256>;

/// Length of every key here (AES-256), in bytes.
pub const KEY_LEN: usize = 32;
/// Length of an IV / nonce (one AES block), in bytes.
pub const IV_LEN: usize = 16;
/// The algorithm name persisted for data encrypted here.
pub const DATA_ALGORITHM: &str = "AES256-CTR";
/// The algorithm name persisted for wrapped data keys.
pub const WRAP_ALGORITHM: &str = "AES256-CTR+HMAC-SHA256";
/// The key id under which the SSE-S3 master key is held in a [`KeyRing`]; no KMS key may
/// use it.
pub const SSE_S3_KEY_ID: &str = "tessera:sse-s3";

const LABEL_WRAP_ENC: &[u8] = b"tessera v1 wrap encryption key";
const LABEL_WRAP_MAC: &[u8] = b"tessera v1 wrap mac key";
const LABEL_WRAP_TAG: &[u8] = b"tessera v1 wrapped data key";
const LABEL_SSEC_DATA: &[u8] = b"tessera v1 sse-c data key";
const LABEL_SSEC_CHECK: &[u8] = b"tessera v1 sse-c key check";
const LABEL_ETAG: &[u8] = b"tessera v1 opaque etag";

/// A source of cryptographically secure random bytes, injected by the front-end (the
/// engine reads no random source itself).
pub trait RandomSource: Send + Sync {
    /// Fills `buf` with random bytes. An implementation that cannot must not return weak
    /// bytes: it should abort the process instead.
    fn fill(&self, buf: &mut [u8]);
}

/// Why an encryption operation failed. Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// The key id names no key in the ring.
    UnknownKey(String),
    /// No key is configured for the request (no KMS default, no SSE-S3 key).
    NotConfigured,
    /// A wrapped key failed its integrity check: tampered, or wrapped by another key of the
    /// same name.
    Tampered,
    /// A persisted record is malformed (wrong algorithm, wrong field length).
    Malformed(&'static str),
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::UnknownKey(id) => write!(f, "no master key with id {id:?}"),
            CryptoError::NotConfigured => f.write_str("no master key is configured for this request"),
            CryptoError::Tampered => f.write_str("a wrapped data key failed its integrity check"),
            CryptoError::Malformed(what) => write!(f, "malformed encryption record: {what}"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// Why a key file was refused. Messages name lines, never key bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFileError {
    /// The 1-based line the problem is on (0 for the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "key file: {}", self.message)
        } else {
            write!(f, "key file line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for KeyFileError {}

/// A 256-bit key: zeroed on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        SecretKey(bytes)
    }

    /// Parses 64 hexadecimal digits.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex.as_bytes();
        if hex.len() != 2 * KEY_LEN {
            return None;
        }
        let mut out = [0u8; KEY_LEN];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let (Some(hi), Some(lo)) = (hex_digit(pair[0]), hex_digit(pair[1])) else {
                out.zeroize();
                return None;
            };
            out[i] = (hi << 4) | lo;
        }
        Some(SecretKey(out))
    }

    /// A fresh random key.
    pub fn random(rng: &dyn RandomSource) -> Self {
        let mut out = [0u8; KEY_LEN];
        rng.fill(&mut out);
        SecretKey(out)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn derive(&self, label: &[u8], salt: &[u8]) -> SecretKey {
        SecretKey(hmac_parts(&self.0, &[label, salt]))
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

fn hmac_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = new_mac(key);
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn random_iv(rng: &dyn RandomSource) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    rng.fill(&mut iv);
    iv
}

/// Named master keys, plus the SSE-S3 master key, that wrap and unwrap data keys.
///
/// The default key (the one named `default = "<name>"` in the key file, else the first)
/// wraps data keys of KMS requests that name no key; every key stays available for
/// unwrapping, so adding a new default (rotation) keeps old objects readable.
#[derive(Clone, Default)]
pub struct KeyRing {
    keys: BTreeMap<String, SecretKey>,
    default: Option<String>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("default", &self.default)
            .finish()
    }
}

impl KeyRing {
    /// An empty ring: no KMS, no SSE-S3.
    pub fn new() -> Self {
        KeyRing::default()
    }

    /// Parses a key file: TOML lines `name = "<64 hex digits>"` (the name bare or quoted),
    /// optionally `default = "<name>"` choosing the default key (else the first key listed
    /// is the default), blank lines and `#` comments.
    pub fn from_key_file(text: &str) -> Result<KeyRing, KeyFileError> {
        let mut ring = KeyRing::new();
        let mut first: Option<String> = None;
        let mut chosen: Option<(usize, String)> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let err = |message: &str| KeyFileError { line: line_no, message: message.to_owned() };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, rest)) = split_key(line) else {
                return Err(err("expected `name = \"<64 hex digits>\"`"));
            };
            let rest = rest.trim_start();
            let Some(rest) = rest.strip_prefix('=') else {
                return Err(err("expected `=` after the key name"));
            };
            let rest = rest.trim_start();
            let Some(rest) = rest.strip_prefix('"') else {
                return Err(err("the value must be a double-quoted string"));
            };
            let Some(end) = rest.find('"') else {
                return Err(err("unterminated string"));
            };
            let value = &rest[..end];
            let tail = rest[end + 1..].trim();
            if !(tail.is_empty() || tail.starts_with('#')) {
                return Err(err("unexpected text after the value"));
            }
            match SecretKey::from_hex(value) {
                Some(key) => {
                    if name == SSE_S3_KEY_ID {
                        return Err(err("this key name is reserved"));
                    }
                    if ring.keys.contains_key(&name) {
                        return Err(err("duplicate key name"));
                    }
                    if first.is_none() {
                        first = Some(name.clone());
                    }
                    ring.keys.insert(name, key);
                }
                None if name == "default" => {
                    if chosen.is_some() {
                        return Err(err("`default` given twice"));
                    }
                    chosen = Some((line_no, value.to_owned()));
                }
                None => return Err(err("a key must be 64 hexadecimal digits (256 bits)")),
            }
        }
        if ring.keys.is_empty() {
            return Err(KeyFileError { line: 0, message: "no keys".to_owned() });
        }
        ring.default = match chosen {
            Some((line, name)) => {
                if !ring.keys.contains_key(&name) {
                    return Err(KeyFileError { line, message: format!("`default` names no key: {name:?}") });
                }
                Some(name)
            }
            None => first,
        };
        Ok(ring)
    }

    /// Adds a named master key; the first key added becomes the default. Refuses the
    /// reserved SSE-S3 id and names already present (a key never changes under its name).
    pub fn insert(&mut self, name: impl Into<String>, key: SecretKey) -> Result<(), CryptoError> {
        let name = name.into();
        if name == SSE_S3_KEY_ID || self.keys.contains_key(&name) {
            return Err(CryptoError::Malformed("key name reserved or already present"));
        }
        if self.default.is_none() {
            self.default = Some(name.clone());
        }
        self.keys.insert(name, key);
        Ok(())
    }

    /// Makes `name` the key that wraps data keys of KMS requests naming no key.
    pub fn set_default(&mut self, name: &str) -> Result<(), CryptoError> {
        if name == SSE_S3_KEY_ID || !self.keys.contains_key(name) {
            return Err(CryptoError::UnknownKey(name.to_owned()));
        }
        self.default = Some(name.to_owned());
        Ok(())
    }

    /// Sets the SSE-S3 master key (kept under [`SSE_S3_KEY_ID`]).
    pub fn set_sse_s3_key(&mut self, key: SecretKey) {
        self.keys.insert(SSE_S3_KEY_ID.to_owned(), key);
    }

    /// Whether an SSE-S3 master key is set.
    pub fn has_sse_s3_key(&self) -> bool {
        self.keys.contains_key(SSE_S3_KEY_ID)
    }

    /// The names of the KMS master keys (not the SSE-S3 key), in order.
    pub fn kms_key_names(&self) -> Vec<String> {
        self.keys.keys().filter(|k| k.as_str() != SSE_S3_KEY_ID).cloned().collect()
    }

    /// The default KMS key's name, if any key is configured.
    pub fn default_kms_key(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// Whether `name` is a KMS key of this ring.
    pub fn has_kms_key(&self, name: &str) -> bool {
        name != SSE_S3_KEY_ID && self.keys.contains_key(name)
    }

    /// The key that wraps data keys for a KMS request naming `key_id` (or the default).
    pub fn kms_key_id<'a>(&'a self, key_id: Option<&'a str>) -> Result<&'a str, CryptoError> {
        match key_id {
            Some(id) if self.has_kms_key(id) => Ok(id),
            Some(id) => Err(CryptoError::UnknownKey(id.to_owned())),
            None => self.default.as_deref().ok_or(CryptoError::NotConfigured),
        }
    }

    /// A fresh data key and IV for SSE-S3 (`key_id = None`) or for the KMS key `key_id`
    /// (`Some(None)` for the default KMS key), wrapped by that master key.
    pub fn seal_new(
        &self,
        rng: &dyn RandomSource,
        kms: Option<Option<&str>>,
    ) -> Result<(SecretKey, DataKeyRecord), CryptoError> {
        let key_id = match kms {
            None => {
                if !self.has_sse_s3_key() {
                    return Err(CryptoError::NotConfigured);
                }
                SSE_S3_KEY_ID
            }
            Some(id) => self.kms_key_id(id)?,
        };
        let data_key = SecretKey::random(rng);
        let wrapped = self.wrap(rng, key_id, &data_key)?;
        let record = DataKeyRecord {
            algorithm: DATA_ALGORITHM.to_owned(),
            iv: random_iv(rng),
            key: KeyMaterial::Wrapped(wrapped),
        };
        Ok((data_key, record))
    }

    /// Wraps `data_key` under the master key `key_id`.
    pub fn wrap(&self, rng: &dyn RandomSource, key_id: &str, data_key: &SecretKey) -> Result<WrappedKey, CryptoError> {
        let master = self.keys.get(key_id).ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        let nonce = random_iv(rng);
        let enc = master.derive(LABEL_WRAP_ENC, &[]);
        let mut ciphertext = *data_key.as_bytes();
        let mut cipher = Aes256Ctr::new(enc.as_bytes().into(), (&nonce).into());
        cipher.apply_keystream(&mut ciphertext);
        let tag = wrap_tag(master, &nonce, &ciphertext, key_id);
        Ok(WrappedKey { algorithm: WRAP_ALGORITHM.to_owned(), key_id: key_id.to_owned(), nonce, ciphertext, tag })
    }

    /// Checks and unwraps a data key. Refuses an unknown key id, another algorithm and a
    /// tag that does not verify (constant-time comparison).
    pub fn unwrap(&self, wrapped: &WrappedKey) -> Result<SecretKey, CryptoError> {
        if wrapped.algorithm != WRAP_ALGORITHM {
            return Err(CryptoError::Malformed("unknown key wrapping algorithm"));
        }
        let master = self.keys.get(&wrapped.key_id).ok_or_else(|| CryptoError::UnknownKey(wrapped.key_id.clone()))?;
        let mut mac = new_mac(master.derive(LABEL_WRAP_MAC, &[]).as_bytes());
        tag_input(&mut mac, &wrapped.nonce, &wrapped.ciphertext, &wrapped.key_id);
        mac.verify_slice(&wrapped.tag).map_err(|_| CryptoError::Tampered)?;
        let enc = master.derive(LABEL_WRAP_ENC, &[]);
        let mut plain = wrapped.ciphertext;
        let mut cipher = Aes256Ctr::new(enc.as_bytes().into(), (&wrapped.nonce).into());
        cipher.apply_keystream(&mut plain);
        let key = SecretKey(plain);
        plain.zeroize();
        Ok(key)
    }

    /// The data key of a persisted record: unwrapped for SSE-S3/KMS; for SSE-C derived from
    /// `customer` after checking it (`None` or a wrong key → [`DataKeyError`]).
    pub fn open(&self, record: &DataKeyRecord, customer: Option<&[u8; KEY_LEN]>) -> Result<SecretKey, DataKeyError> {
        if record.algorithm != DATA_ALGORITHM {
            return Err(DataKeyError::Crypto(CryptoError::Malformed("unknown data algorithm")));
        }
        match (&record.key, customer) {
            (KeyMaterial::Wrapped(w), _) => self.unwrap(w).map_err(DataKeyError::Crypto),
            (KeyMaterial::Customer(_), None) => Err(DataKeyError::CustomerKeyMissing),
            (KeyMaterial::Customer(check), Some(key)) => check.data_key(key).ok_or(DataKeyError::CustomerKeyWrong),
        }
    }
}

/// Why [`KeyRing::open`] gave no data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataKeyError {
    /// The object is SSE-C encrypted and the request carried no customer key.
    CustomerKeyMissing,
    /// The request's customer key is not the one the object was stored with.
    CustomerKeyWrong,
    /// A master-key problem (unknown id, tampered wrapping, malformed record).
    Crypto(CryptoError),
}

fn tag_input(mac: &mut HmacSha256, nonce: &[u8; IV_LEN], ciphertext: &[u8; KEY_LEN], key_id: &str) {
    mac.update(LABEL_WRAP_TAG);
    mac.update(nonce);
    mac.update(ciphertext);
    mac.update(&(key_id.len() as u64).to_be_bytes());
    mac.update(key_id.as_bytes());
}

fn wrap_tag(master: &SecretKey, nonce: &[u8; IV_LEN], ciphertext: &[u8; KEY_LEN], key_id: &str) -> [u8; 32] {
    let mut mac = new_mac(master.derive(LABEL_WRAP_MAC, &[]).as_bytes());
    tag_input(&mut mac, nonce, ciphertext, key_id);
    mac.finalize().into_bytes().into()
}

/// A data key wrapped by a named master key, as persisted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// [`WRAP_ALGORITHM`].
    #[serde(rename = "alg")]
    pub algorithm: String,
    /// The master key's id in the [`KeyRing`] ([`SSE_S3_KEY_ID`] for SSE-S3).
    #[serde(rename = "kid")]
    pub key_id: String,
    /// The wrapping nonce (initial counter block).
    #[serde(with = "b64_array")]
    pub nonce: [u8; IV_LEN],
    /// The encrypted data key.
    #[serde(rename = "ct", with = "b64_array")]
    pub ciphertext: [u8; KEY_LEN],
    /// HMAC-SHA256 over the label, nonce, ciphertext and key id.
    #[serde(with = "b64_array")]
    pub tag: [u8; 32],
}

/// What recognises an SSE-C customer key without storing it: a random salt and
/// HMAC-SHA256(key, label ‖ salt).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerKeyCheck {
    /// The random per-object (per-part) salt.
    #[serde(with = "b64_array")]
    pub salt: [u8; IV_LEN],
    /// The salted HMAC of the customer key.
    #[serde(with = "b64_array")]
    pub mac: [u8; 32],
}

impl CustomerKeyCheck {
    /// A check for `customer_key` under a fresh salt.
    pub fn new(rng: &dyn RandomSource, customer_key: &[u8; KEY_LEN]) -> Self {
        let salt = random_iv(rng);
        CustomerKeyCheck { salt, mac: hmac_parts(customer_key, &[LABEL_SSEC_CHECK, &salt]) }
    }

    /// Whether `customer_key` is the key this check was made for (constant-time).
    pub fn matches(&self, customer_key: &[u8; KEY_LEN]) -> bool {
        let mut mac = new_mac(customer_key);
        mac.update(LABEL_SSEC_CHECK);
        mac.update(&self.salt);
        mac.verify_slice(&self.mac).is_ok()
    }

    /// The data key derived from `customer_key`, if it is the right key.
    pub fn data_key(&self, customer_key: &[u8; KEY_LEN]) -> Option<SecretKey> {
        self.matches(customer_key).then(|| SecretKey(*customer_key).derive(LABEL_SSEC_DATA, &self.salt))
    }
}

/// How a persisted data key is recovered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyMaterial {
    /// SSE-S3 or SSE-KMS: wrapped by a master key.
    Wrapped(WrappedKey),
    /// SSE-C: derived from the customer's key, recognised by a salted HMAC.
    Customer(CustomerKeyCheck),
}

/// The key material of one encrypted object or staged part, as persisted in its record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataKeyRecord {
    /// [`DATA_ALGORITHM`].
    #[serde(rename = "alg")]
    pub algorithm: String,
    /// The initial counter block; byte `n` is encrypted with block `iv + n / 16`.
    #[serde(with = "b64_array")]
    pub iv: [u8; IV_LEN],
    /// How the data key is recovered.
    pub key: KeyMaterial,
}

impl DataKeyRecord {
    /// A fresh SSE-C record for `customer_key`: a random salt and IV; the data key is
    /// derived from the customer key and the salt and returned beside the record.
    pub fn new_customer(rng: &dyn RandomSource, customer_key: &[u8; KEY_LEN]) -> (SecretKey, DataKeyRecord) {
        let check = CustomerKeyCheck::new(rng, customer_key);
        let data_key = SecretKey(*customer_key).derive(LABEL_SSEC_DATA, &check.salt);
        let record = DataKeyRecord {
            algorithm: DATA_ALGORITHM.to_owned(),
            iv: random_iv(rng),
            key: KeyMaterial::Customer(check),
        };
        (data_key, record)
    }

    /// The master key id, for wrapped keys.
    pub fn key_id(&self) -> Option<&str> {
        match &self.key {
            KeyMaterial::Wrapped(w) => Some(&w.key_id),
            KeyMaterial::Customer(_) => None,
        }
    }
}

/// A keystream positioned at byte `offset` of data encrypted under `key` and `iv`: counter
/// block `iv + offset / 16`, `offset % 16` keystream bytes skipped.
pub struct Keystream {
    cipher: Aes256Ctr,
}

impl fmt::Debug for Keystream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keystream(<redacted>)")
    }
}

impl Keystream {
    /// The keystream at byte `offset`.
    pub fn at(key: &SecretKey, iv: &[u8; IV_LEN], offset: u64) -> Result<Self, CryptoError> {
        let mut cipher = Aes256Ctr::new(key.as_bytes().into(), iv.into());
        cipher.try_seek(offset).map_err(|_| CryptoError::Malformed("offset beyond the keystream"))?;
        Ok(Keystream { cipher })
    }

    /// Encrypts or decrypts `data` in place and advances.
    pub fn apply(&mut self, data: &mut [u8]) {
        self.cipher.apply_keystream(data);
    }
}

/// Encrypts (or decrypts: CTR is its own inverse) a stream whose first byte is byte
/// `offset` of the object or part, chunk by chunk, holding nothing beyond the chunk in hand.
pub fn ctr_stream(
    data: ByteStream,
    key: &SecretKey,
    iv: &[u8; IV_LEN],
    offset: u64,
) -> Result<ByteStream, CryptoError> {
    let mut keystream = Keystream::at(key, iv, offset)?;
    let mut arena = Arena::default();
    Ok(Box::pin(data.map(move |chunk| {
        chunk.map(|c| match c.try_into_mut() {
            // Nobody else holds the chunk: transform it where it lies.
            Ok(mut buf) => {
                keystream.apply(&mut buf);
                buf.freeze()
            }
            Err(shared) => {
                let mut buf = arena.copy_of(&shared);
                keystream.apply(&mut buf);
                buf.freeze()
            }
        })
    })))
}

/// Output buffers carved from a few large blocks that are reused once every piece cut from
/// them has been dropped: a transformed stream of small shared chunks (slices of the
/// socket's buffer) costs no allocation, and no fresh page faults, per chunk.
#[derive(Default)]
struct Arena {
    block: BytesMut,
}

/// Size of one arena block.
const ARENA_BLOCK: usize = 1 << 20;

impl Arena {
    fn copy_of(&mut self, data: &[u8]) -> BytesMut {
        if self.block.capacity() < data.len() {
            // Reclaims the block's storage when every earlier piece is gone, else allocates.
            self.block.reserve(data.len().max(ARENA_BLOCK));
        }
        self.block.extend_from_slice(data);
        self.block.split()
    }
}

/// An ETag for an SSE-C or SSE-KMS object, which S3 does not make the MD5 of the data:
/// HMAC-SHA256(data key, label ‖ MD5) cut to 16 bytes. Stable for the object, different for
/// every upload of the same bytes, and it reveals nothing of the plaintext's MD5.
pub fn opaque_etag(data_key: &SecretKey, md5: &[u8; 16]) -> [u8; 16] {
    let full = hmac_parts(data_key.as_bytes(), &[LABEL_ETAG, md5]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Master keys and the random source that together encrypt data at rest: what an engine
/// needs to serve SSE-S3, SSE-KMS and SSE-C. Cheap to clone.
#[derive(Clone)]
pub struct Encryption {
    keys: Arc<KeyRing>,
    random: SharedRandom,
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryption").field("keys", &self.keys).finish_non_exhaustive()
    }
}

impl Encryption {
    /// Encryption with `keys` (its SSE-S3 key, if set, serves `AES256`; its named keys serve
    /// KMS) drawing data keys, IVs and salts from `random`.
    pub fn new(keys: KeyRing, random: SharedRandom) -> Self {
        Encryption { keys: Arc::new(keys), random }
    }

    /// The master keys.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The random source.
    pub fn random(&self) -> &dyn RandomSource {
        self.random.as_ref()
    }

    /// A shared handle on the master keys.
    pub fn shared_keys(&self) -> Arc<KeyRing> {
        Arc::clone(&self.keys)
    }
}

/// One stretch of a stream under one data key: `len` bytes starting at byte `offset` of the
/// extent that `record` encrypted.
#[derive(Clone, Debug)]
pub struct CipherSegment {
    /// How many bytes of the stream this segment covers.
    pub len: u64,
    /// The extent's key material.
    pub record: DataKeyRecord,
    /// Where the stretch starts within the extent (the keystream position).
    pub offset: u64,
}

/// Decrypts (or encrypts) a stream that runs through `segments` in order, each under its own
/// data key, opened from `keys` (with `customer` for SSE-C) only when the stream reaches it.
/// Chunks may straddle segments. A key that cannot be opened, or a stream longer than its
/// segments, ends the stream with an error.
pub fn segmented_stream(
    data: ByteStream,
    keys: Arc<KeyRing>,
    customer: Option<SecretKey>,
    segments: Vec<CipherSegment>,
) -> ByteStream {
    Box::pin(Segmented {
        inner: data,
        keys,
        customer,
        segments: segments.into_iter(),
        current: None,
        done: false,
        arena: Arena::default(),
    })
}

struct Segmented {
    inner: ByteStream,
    keys: Arc<KeyRing>,
    customer: Option<SecretKey>,
    segments: std::vec::IntoIter<CipherSegment>,
    /// The keystream of the segment in hand and the bytes it still covers.
    current: Option<(Keystream, u64)>,
    done: bool,
    arena: Arena,
}

impl Segmented {
    fn apply(&mut self, buf: &mut [u8]) -> Result<(), StoreError> {
        let mut pos = 0usize;
        while pos < buf.len() {
            if self.current.as_ref().is_none_or(|(_, left)| *left == 0) {
                let segment = self
                    .segments
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("the stored data is longer than its key records".into()))?;
                let key = self
                    .keys
                    .open(&segment.record, self.customer.as_ref().map(SecretKey::as_bytes))
                    .map_err(|e| StoreError::Corrupt(format!("cannot open a data key: {e:?}")))?;
                let keystream = Keystream::at(&key, &segment.record.iv, segment.offset)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                self.current = Some((keystream, segment.len));
            }
            let Some((keystream, left)) = self.current.as_mut() else {
                return Err(StoreError::Corrupt("no keystream".into()));
            };
            let n = usize::try_from(*left).unwrap_or(usize::MAX).min(buf.len() - pos);
            keystream.apply(&mut buf[pos..pos + n]);
            pos += n;
            *left -= n as u64;
        }
        Ok(())
    }
}

impl futures_core::Stream for Segmented {
    type Item = Result<Bytes, StoreError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(Ok(chunk))) => {
                // A chunk nobody else holds is transformed where it lies; a shared one is copied.
                let mut buf = match chunk.try_into_mut() {
                    Ok(buf) => buf,
                    Err(shared) => this.arena.copy_of(&shared),
                };
                match this.apply(&mut buf) {
                    Ok(()) => Poll::Ready(Some(Ok(buf.freeze()))),
                    Err(e) => {
                        this.done = true;
                        Poll::Ready(Some(Err(e)))
                    }
                }
            }
        }
    }
}

/// A shared, thread-safe handle on a random source.
pub type SharedRandom = Arc<dyn RandomSource>;

mod b64_array {
    use super::B64;
    use base64::Engine as _;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = B64.decode(text.as_bytes()).map_err(D::Error::custom)?;
        bytes.try_into().map_err(|_| D::Error::custom("wrong length"))
    }
}

/// Splits `name = …` into the name (bare or double-quoted) and the rest of the line.
fn split_key(line: &str) -> Option<(String, &str)> {
    if let Some(rest) = line.strip_prefix('"') {
        let end = rest.find('"')?;
        let name = &rest[..end];
        if name.is_empty() || name.contains('\\') {
            return None;
        }
        return Some((name.to_owned(), &rest[end + 1..]));
    }
    let end = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(line.len());
    if end == 0 {
        return None;
    }
    Some((line[..end].to_owned(), &line[end..]))
}

/// The piece of one part that a range read of an object covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartSlice {
    /// The part's index in the object's layout.
    pub index: usize,
    /// The bytes to read, as offsets into the object.
    pub object_range: std::ops::Range<u64>,
    /// Where `object_range` starts within the part: the keystream offset to decrypt from.
    pub part_offset: u64,
}

/// Splits the object range `range` over parts of lengths `part_lens` (in object order), so
/// each piece is read and decrypted with its own part's key from the right offset. Empty
/// parts and pieces are skipped; a range beyond the parts is cut at their end.
pub fn split_range(part_lens: &[u64], range: std::ops::Range<u64>) -> Vec<PartSlice> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for (index, &len) in part_lens.iter().enumerate() {
        let end = start.saturating_add(len);
        let lo = range.start.max(start);
        let hi = range.end.min(end);
        if lo < hi {
            out.push(PartSlice { index, object_range: lo..hi, part_offset: lo - start });
        }
        start = end;
    }
    out
}
