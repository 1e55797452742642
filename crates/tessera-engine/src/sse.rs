//! Server-side encryption in the engine: which encryption a write gets and its data keys,
//! the customer key a read must present, and the decryption of what is read.
//!
//! The rules, as S3 sets them:
//! - a write asks for SSE-S3 (`AES256`), SSE-KMS or SSE-C in headers, or gets the bucket's
//!   default encryption; KMS needs a configured key ring (`KmsServiceNotEnabled`) and a
//!   known key id (`KMS.NotFoundException`);
//! - every part of an SSE-C upload repeats the initiate's key (`InvalidRequest` otherwise);
//! - reads and copies of an SSE-C object must present its key: none is `400 InvalidRequest`,
//!   another is `403 AccessDenied`; a key presented for an object that has none is
//!   `400 InvalidRequest`.

use std::ops::Range;

use tessera_proto::ErrorCode;
use tessera_proto::ops::S3Error;
use tessera_proto::values::{CustomerKey, SseRequest};
use tessera_store::{ByteStream, Store};

use crate::crypto::{
    CipherSegment, CustomerKeyCheck, DataKeyRecord, Encryption, SecretKey, ctr_stream, opaque_etag, segmented_stream,
    split_range,
};
use crate::engine::Engine;
use crate::error::{internal, invalid_request};
use crate::meta::{BucketConfig, ObjectMeta, StoredSse};

/// The encryption a write gets: what is recorded, and the customer's key for SSE-C.
pub(crate) struct WriteSse {
    pub(crate) stored: StoredSse,
    pub(crate) customer: Option<CustomerKey>,
}

/// A fresh data key for one extent being written, and its record.
pub(crate) struct Sealed {
    key: SecretKey,
    pub(crate) record: DataKeyRecord,
}

impl Sealed {
    /// Encrypts an extent's bytes, from its first byte, as they stream.
    pub(crate) fn encrypt(&self, data: ByteStream) -> Result<ByteStream, S3Error> {
        ctr_stream(data, &self.key, &self.record.iv, 0).map_err(|e| internal(e.to_string()))
    }

    /// The ETag of a single-extent object written with it: S3 makes it the MD5 of the data
    /// for SSE-S3, and something else for SSE-C and SSE-KMS.
    pub(crate) fn etag_md5(&self, sse: &StoredSse, md5: &[u8; 16]) -> [u8; 16] {
        if sse.mode == "AES256" { *md5 } else { opaque_etag(&self.key, md5) }
    }
}

/// The SSE-C key a request presents, if any.
fn customer_of(given: Option<&SseRequest>) -> Option<&CustomerKey> {
    match given {
        Some(SseRequest::Customer(k)) => Some(k),
        _ => None,
    }
}

/// The customer key a read of an object (or upload) encrypted as `sse` must present, checked
/// against what `given` presents.
pub(crate) fn read_key(sse: Option<&StoredSse>, given: Option<&SseRequest>) -> Result<Option<SecretKey>, S3Error> {
    match (sse.filter(|s| s.is_customer()), customer_of(given)) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(invalid_request("The encryption parameters are not applicable to this object.")),
        (Some(_), None) => Err(invalid_request(
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
        )),
        (Some(stored), Some(key)) => match stored.customer_matches(key.key()) {
            Some(false) => Err(S3Error::new(
                ErrorCode::AccessDenied,
                "The provided customer key does not match the key the object was stored with.",
            )),
            _ => Ok(Some(SecretKey::from_bytes(*key.key()))),
        },
    }
}

/// Checks the SSE-C headers of an UploadPart (or UploadPartCopy) against the upload's
/// encryption: an SSE-C upload needs its key on every part, and no other upload takes one.
pub(crate) fn part_key(upload: Option<&StoredSse>, given: Option<&SseRequest>) -> Result<Option<CustomerKey>, S3Error> {
    match (upload.filter(|s| s.is_customer()), customer_of(given)) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(invalid_request(
            "The multipart upload initiate did not request customer-provided encryption; parts may not carry a customer key.",
        )),
        (Some(_), None) => Err(invalid_request(
            "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.",
        )),
        (Some(stored), Some(key)) => match stored.customer_matches(key.key()) {
            Some(true) => Ok(Some(key.clone())),
            _ => Err(invalid_request("The provided encryption parameters did not match the ones used originally.")),
        },
    }
}

impl<S: Store> Engine<S> {
    fn encryption(&self) -> Result<&Encryption, S3Error> {
        self.config.encryption.as_ref().ok_or_else(|| {
            S3Error::new(ErrorCode::NotImplemented, "Server-side encryption is not configured on this server.")
        })
    }

    /// The KMS master key a request naming `key_id` (or none: the default) uses.
    pub(crate) fn check_kms(&self, key_id: Option<&str>) -> Result<String, S3Error> {
        let Some(keys) = self.config.encryption.as_ref().map(Encryption::keys) else {
            return Err(S3Error::code(ErrorCode::KmsServiceNotEnabled));
        };
        if keys.default_kms_key().is_none() {
            return Err(S3Error::code(ErrorCode::KmsServiceNotEnabled));
        }
        keys.kms_key_id(key_id).map(str::to_owned).map_err(|_| {
            S3Error::new(ErrorCode::KMSNotFoundException, format!("Invalid keyId {}", key_id.unwrap_or_default()))
        })
    }

    /// The encryption a write gets: the request's, else the bucket's default, checked
    /// against what this server can do.
    pub(crate) fn resolve_sse(
        &self,
        requested: Option<&SseRequest>,
        config: &BucketConfig,
    ) -> Result<Option<WriteSse>, S3Error> {
        let stored = |mode: &str| StoredSse { mode: mode.to_owned(), ..StoredSse::default() };
        match requested {
            Some(SseRequest::Customer(key)) => {
                self.encryption()?;
                let stored = StoredSse { customer_key_md5: Some(key.key_md5_base64()), ..stored("C") };
                Ok(Some(WriteSse { stored, customer: Some(key.clone()) }))
            }
            Some(SseRequest::Kms { key_id }) => {
                let key_id = self.check_kms(key_id.as_deref())?;
                Ok(Some(WriteSse { stored: StoredSse { kms_key_id: Some(key_id), ..stored("KMS") }, customer: None }))
            }
            Some(SseRequest::S3) => {
                self.sse_s3_ready()?;
                Ok(Some(WriteSse { stored: stored("AES256"), customer: None }))
            }
            None => {
                let default = config
                    .encryption()
                    .and_then(|e| e.rules.into_iter().find_map(|r| r.apply_server_side_encryption_by_default));
                let Some(default) = default else { return Ok(None) };
                if default.sse_algorithm.trim() == "AES256" {
                    self.sse_s3_ready()?;
                    return Ok(Some(WriteSse { stored: stored("AES256"), customer: None }));
                }
                let key_id = self.check_kms(default.kms_master_key_id.as_deref().filter(|k| !k.is_empty()))?;
                Ok(Some(WriteSse { stored: StoredSse { kms_key_id: Some(key_id), ..stored("KMS") }, customer: None }))
            }
        }
    }

    /// Fails unless an SSE-S3 master key is configured.
    pub(crate) fn sse_s3_ready(&self) -> Result<(), S3Error> {
        if self.encryption()?.keys().has_sse_s3_key() {
            Ok(())
        } else {
            Err(S3Error::new(ErrorCode::NotImplemented, "No SSE-S3 master key is configured on this server."))
        }
    }

    /// What an upload records of its encryption: for SSE-C, a salted check of the key that
    /// every part must repeat.
    pub(crate) fn upload_sse(&self, sse: WriteSse) -> Result<StoredSse, S3Error> {
        let mut stored = sse.stored;
        if let Some(key) = &sse.customer {
            stored.customer_check = Some(CustomerKeyCheck::new(self.encryption()?.random(), key.key()));
        }
        Ok(stored)
    }

    /// A fresh data key for one extent written under `sse` (`customer`: the SSE-C key).
    pub(crate) fn seal(&self, sse: &StoredSse, customer: Option<&CustomerKey>) -> Result<Sealed, S3Error> {
        let enc = self.encryption()?;
        if let Some(key) = customer {
            let (key, record) = DataKeyRecord::new_customer(enc.random(), key.key());
            return Ok(Sealed { key, record });
        }
        let kms = match sse.mode.as_str() {
            "KMS" => Some(sse.kms_key_id.as_deref()),
            "AES256" => None,
            _ => return Err(internal("a customer-key write without its key")),
        };
        let (key, record) = enc.keys().seal_new(enc.random(), kms).map_err(|e| match e {
            crate::crypto::CryptoError::UnknownKey(id) => {
                S3Error::new(ErrorCode::KMSNotFoundException, format!("Invalid keyId {id}"))
            }
            crate::crypto::CryptoError::NotConfigured => S3Error::code(ErrorCode::KmsServiceNotEnabled),
            other => internal(other.to_string()),
        })?;
        Ok(Sealed { key, record })
    }

    /// `stream`, the stored bytes `range` of the object `meta` describes, decrypted when the
    /// object is encrypted (`customer`: its SSE-C key, already checked).
    pub(crate) fn decrypt(
        &self,
        meta: &ObjectMeta,
        stream: ByteStream,
        range: Range<u64>,
        customer: Option<SecretKey>,
    ) -> Result<ByteStream, S3Error> {
        let segments = if meta.parts.iter().any(|p| p.data_key.is_some()) {
            let lens: Vec<u64> = meta.parts.iter().map(|p| p.size).collect();
            let mut segments = Vec::new();
            for slice in split_range(&lens, range) {
                let record = meta.parts[slice.index]
                    .data_key
                    .clone()
                    .ok_or_else(|| internal("an encrypted object has a part without a data key"))?;
                let len = slice.object_range.end - slice.object_range.start;
                segments.push(CipherSegment { len, record, offset: slice.part_offset });
            }
            segments
        } else if let Some(record) = meta.attributes.sse.as_ref().and_then(|s| s.data_key.clone()) {
            vec![CipherSegment { len: range.end - range.start, record, offset: range.start }]
        } else {
            return Ok(stream);
        };
        let keys = self
            .config
            .encryption
            .as_ref()
            .ok_or_else(|| internal("the object is encrypted but no master keys are configured"))?
            .shared_keys();
        // Fail before the response starts if the first key cannot be opened (a master key
        // removed from the ring, a tampered record).
        if let Some(first) = segments.first() {
            keys.open(&first.record, customer.as_ref().map(SecretKey::as_bytes)).map_err(|e| match e {
                crate::crypto::DataKeyError::Crypto(crate::crypto::CryptoError::UnknownKey(id)) => S3Error::new(
                    ErrorCode::KMSNotFoundException,
                    format!("The master key {id} that encrypted this object is not configured."),
                ),
                other => internal(format!("cannot open the object's data key: {other:?}")),
            })?;
        }
        Ok(segmented_stream(stream, keys, customer, segments))
    }
}
