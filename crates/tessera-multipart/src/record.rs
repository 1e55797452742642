//! What the embedder persists, and what `restore` reads back after a restart.
//!
//! The types here are serde-serialisable; the format is the embedder's choice (JSON, CBOR,
//! bincode…). Field names are part of the persisted format: rename nothing without bumping
//! [`UploadRecord::FORMAT`].

use serde::{Deserialize, Serialize};
use tessera_proto::{BucketName, Checksum, ChecksumAlgorithm, ChecksumType, Dialect, ObjectKey, PartNumber, UploadId};

use crate::{Limits, Timestamp};

/// Where the embedder staged a part's bytes: an opaque name of its choosing (a file name, an
/// object key in a remote store…). The machine only hands it back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StageRef(pub Box<str>);

impl StageRef {
    /// A reference named `s`.
    pub fn new(s: impl Into<Box<str>>) -> StageRef {
        StageRef(s.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How an upload's objects are checksummed beyond MD5: the algorithm and whether the object
/// value is composite or full-object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecksumMode {
    /// The algorithm every part carries.
    #[serde(with = "algorithm_name")]
    pub algorithm: ChecksumAlgorithm,
    /// How the object value is formed.
    #[serde(with = "type_name")]
    pub kind: ChecksumType,
}

/// One upload as persisted: its creation data and its parts.
///
/// The machine emits it whole in [`Action::PersistUpload`](crate::Action::PersistUpload) when
/// the upload is created (with no parts) and then each part in
/// [`Action::PersistPart`](crate::Action::PersistPart), so that persisting stays `O(1)` per
/// part. Before [`restore`](crate::UploadTable::restore), attach the part records to their
/// upload with [`UploadRecord::apply_part`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UploadRecord {
    /// The format version ([`UploadRecord::FORMAT`]).
    pub format: u32,
    /// The upload id.
    pub upload_id: UploadId,
    /// The bucket.
    pub bucket: BucketName,
    /// The key the object will have.
    pub key: ObjectKey,
    /// The dialect it was created in.
    #[serde(with = "dialect_name")]
    pub dialect: Dialect,
    /// The initiating principal, as the engine names it.
    pub owner: String,
    /// When it was created.
    pub initiated: Timestamp,
    /// Its additional checksum, if any.
    pub checksum: Option<ChecksumMode>,
    /// The limits it is held to.
    pub limits: Limits,
    /// The engine's opaque metadata (content headers, user metadata, encryption…).
    pub metadata: Vec<u8>,
    /// Its parts, ascending by number.
    pub parts: Vec<PartRecord>,
}

impl UploadRecord {
    /// The current format version.
    pub const FORMAT: u32 = 1;

    /// Sets `part`, replacing any part with the same number; keeps parts ascending.
    pub fn apply_part(&mut self, part: PartRecord) {
        match self.parts.binary_search_by_key(&part.number, |p| p.number) {
            Ok(i) => {
                if let Some(slot) = self.parts.get_mut(i) {
                    *slot = part;
                }
            }
            Err(i) => self.parts.insert(i, part),
        }
    }
}

/// One uploaded part as persisted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    /// Its number.
    #[serde(with = "part_number")]
    pub number: PartNumber,
    /// Where its bytes are staged.
    pub stage: StageRef,
    /// Its length in bytes.
    pub size: u64,
    /// The MD5 of its bytes (its ETag).
    pub md5: [u8; 16],
    /// Its additional checksum.
    #[serde(with = "optional_checksum")]
    pub checksum: Option<Checksum>,
    /// Its CRC-64/XZ ("crc64ecma").
    pub crc64ecma: u64,
    /// The staging attempt that produced it.
    pub attempt: u64,
    /// When it finished uploading.
    pub last_modified: Timestamp,
    /// The embedder's text about the part ([`PartReceipt::meta`](crate::PartReceipt::meta)).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub meta: String,
}

mod algorithm_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use tessera_proto::ChecksumAlgorithm;

    pub(super) fn serialize<S: Serializer>(a: &ChecksumAlgorithm, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(a.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ChecksumAlgorithm, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod part_number {
    use serde::{Deserialize, Deserializer, Serializer};
    use tessera_proto::PartNumber;

    // A plain integer (tessera-proto's own impl reads numbers only as XML text).
    pub(super) fn serialize<S: Serializer>(n: &PartNumber, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(n.get())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PartNumber, D::Error> {
        PartNumber::new(u32::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod type_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use tessera_proto::ChecksumType;

    pub(super) fn serialize<S: Serializer>(t: &ChecksumType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ChecksumType, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod dialect_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use tessera_proto::Dialect;

    pub(super) fn serialize<S: Serializer>(d: &Dialect, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(d.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Dialect, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod optional_checksum {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use tessera_proto::{Checksum, ChecksumAlgorithm};

    #[derive(Serialize, Deserialize)]
    struct Repr {
        #[serde(with = "super::algorithm_name")]
        algorithm: ChecksumAlgorithm,
        digest: Vec<u8>,
    }

    pub(super) fn serialize<S: Serializer>(c: &Option<Checksum>, s: S) -> Result<S::Ok, S::Error> {
        c.as_ref().map(|c| Repr { algorithm: c.algorithm(), digest: c.digest().to_vec() }).serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Checksum>, D::Error> {
        match Option::<Repr>::deserialize(d)? {
            None => Ok(None),
            Some(r) => Checksum::new(r.algorithm, &r.digest).map(Some).map_err(serde::de::Error::custom),
        }
    }
}
