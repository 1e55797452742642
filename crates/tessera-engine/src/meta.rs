//! What the engine keeps in the store's opaque blobs: object metadata
//! ([`ObjectRecord::meta`](tessera_store::ObjectRecord)), bucket configuration
//! ([`BucketRecord::config`](tessera_store::BucketRecord)) and the attributes an upload
//! carries to its object (the upload record's metadata).
//!
//! Each is a JSON document with a format number `v`; fields are only ever added (with
//! defaults), so older records stay readable. Field names are the persisted format.

use serde::{Deserialize, Serialize};
use tessera_proto::ops::{AclRequest, ContentHeaders, ObjectAttributes, Principal, SseResponse};
use tessera_proto::values::{Grantee, Permission, StorageClass, Tag, TagSet, UserMetadata};
use tessera_proto::{Checksum, ChecksumAlgorithm, ChecksumType, Dialect, ETag, xml};

use crate::crypto::{CustomerKeyCheck, DataKeyRecord, KeyMaterial};
use crate::error::internal;
use tessera_proto::ops::S3Error;

/// The current format of every record here.
pub(crate) const FORMAT: u32 = 1;

/// The group every caller belongs to.
pub(crate) const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The group every signed caller belongs to.
pub(crate) const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// An owner: canonical id and display name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredOwner {
    pub(crate) id: String,
    pub(crate) name: String,
}

impl StoredOwner {
    pub(crate) fn of(principal: &Principal) -> Self {
        match principal {
            Principal::Anonymous => StoredOwner::default(),
            Principal::User { id, display_name } => StoredOwner { id: id.clone(), name: display_name.clone() },
        }
    }

    pub(crate) fn to_xml(&self) -> xml::Owner {
        xml::Owner { id: Some(self.id.clone()), display_name: Some(self.name.clone()) }
    }
}

/// One grant as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredGrant {
    /// `READ`, `WRITE`, `READ_ACP`, `WRITE_ACP`, `FULL_CONTROL`.
    pub(crate) permission: String,
    /// `id`, `uri` or `email`.
    pub(crate) kind: String,
    pub(crate) value: String,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
}

/// An ACL as stored: the canned name it was set with (if any) and its explicit grants.
/// The owner's FULL_CONTROL is implicit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAcl {
    #[serde(default)]
    pub(crate) canned: Option<String>,
    #[serde(default)]
    pub(crate) grants: Vec<StoredGrant>,
}

impl StoredAcl {
    /// From request headers; `None` when the request set nothing.
    pub(crate) fn from_request(acl: &AclRequest) -> Option<Self> {
        if acl.is_empty() {
            return None;
        }
        let mut out = StoredAcl { canned: acl.canned.map(|c| c.as_str().to_owned()), grants: Vec::new() };
        for (permission, grantees) in &acl.grants {
            for g in grantees {
                let (kind, value) = match g {
                    Grantee::Id(v) => ("id", v),
                    Grantee::Uri(v) => ("uri", v),
                    Grantee::EmailAddress(v) => ("email", v),
                };
                out.grants.push(StoredGrant {
                    permission: permission.as_str().to_owned(),
                    kind: kind.to_owned(),
                    value: value.clone(),
                    display_name: None,
                });
            }
        }
        Some(out)
    }

    /// From an `<AccessControlPolicy>` body.
    pub(crate) fn from_policy(policy: &xml::AccessControlPolicy) -> Self {
        let grants = policy
            .grants
            .iter()
            .map(|g| {
                let (kind, value, display_name) = match &g.grantee {
                    xml::Grantee::CanonicalUser { id, display_name } => ("id", id.clone(), display_name.clone()),
                    xml::Grantee::Group { uri } => ("uri", uri.clone(), None),
                    xml::Grantee::AmazonCustomerByEmail { email } => ("email", email.clone(), None),
                };
                StoredGrant { permission: g.permission.as_str().to_owned(), kind: kind.to_owned(), value, display_name }
            })
            .collect();
        StoredAcl { canned: None, grants }
    }

    /// Whether this ACL is "inherit the bucket's" (COS/OSS `default`).
    pub(crate) fn is_default(&self) -> bool {
        self.canned.as_deref() == Some("default") && self.grants.is_empty()
    }

    /// The permissions the canned ACL grants, as (group URI, permission).
    fn canned_grants(&self) -> Vec<(&'static str, Permission)> {
        match self.canned.as_deref() {
            Some("public-read") | Some("public-read-delivered") => vec![(ALL_USERS, Permission::Read)],
            Some("public-read-write") | Some("public-read-write-delivered") => {
                vec![(ALL_USERS, Permission::Read), (ALL_USERS, Permission::Write)]
            }
            Some("authenticated-read") => vec![(AUTHENTICATED_USERS, Permission::Read)],
            _ => Vec::new(),
        }
    }

    /// Whether the ACL grants `want` to `principal` (the owner is checked by the caller).
    pub(crate) fn grants(&self, principal: &Principal, want: Permission) -> bool {
        let covers = |have: Permission| have == want || have == Permission::FullControl;
        let group_match = |uri: &str| match principal {
            Principal::Anonymous => uri == ALL_USERS,
            Principal::User { .. } => uri == ALL_USERS || uri == AUTHENTICATED_USERS,
        };
        if self.canned_grants().into_iter().any(|(uri, p)| group_match(uri) && covers(p)) {
            return true;
        }
        self.grants.iter().any(|g| {
            let Some(p) = Permission::from_name(&g.permission) else { return false };
            if !covers(p) {
                return false;
            }
            match (g.kind.as_str(), principal) {
                ("uri", _) => group_match(&g.value),
                ("id", Principal::User { id, .. }) => *id == g.value,
                _ => false,
            }
        })
    }

    /// The `<AccessControlPolicy>` this ACL shows: the owner's FULL_CONTROL, the canned
    /// grants, then the explicit ones.
    pub(crate) fn to_policy(&self, owner: &StoredOwner) -> xml::AccessControlPolicy {
        let mut grants = vec![xml::Grant {
            grantee: xml::Grantee::CanonicalUser { id: owner.id.clone(), display_name: Some(owner.name.clone()) },
            permission: Permission::FullControl,
        }];
        for (uri, permission) in self.canned_grants() {
            grants.push(xml::Grant { grantee: xml::Grantee::Group { uri: uri.to_owned() }, permission });
        }
        for g in &self.grants {
            let Some(permission) = Permission::from_name(&g.permission) else { continue };
            let grantee = match g.kind.as_str() {
                "uri" => xml::Grantee::Group { uri: g.value.clone() },
                "email" => xml::Grantee::AmazonCustomerByEmail { email: g.value.clone() },
                _ => xml::Grantee::CanonicalUser { id: g.value.clone(), display_name: g.display_name.clone() },
            };
            grants.push(xml::Grant { grantee, permission });
        }
        xml::AccessControlPolicy { owner: owner.to_xml(), grants }
    }
}

/// Server-side encryption as recorded with an object or an upload.
///
/// Records written before encryption at rest have only `mode` and friends: their data is
/// plaintext, and they are read as such.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSse {
    /// `AES256` (SSE-S3), `KMS` or `C` (customer key).
    pub(crate) mode: String,
    /// The KMS master key that wraps the data keys (the ring's default when none was named).
    #[serde(default)]
    pub(crate) kms_key_id: Option<String>,
    /// Base64 MD5 of an SSE-C key (what responses echo).
    #[serde(default)]
    pub(crate) customer_key_md5: Option<String>,
    /// Recognises an upload's SSE-C key, which every part must repeat (the key itself is
    /// never stored).
    #[serde(default)]
    pub(crate) customer_check: Option<CustomerKeyCheck>,
    /// The data key of a single-extent object; the parts of a multipart object carry their
    /// own ([`StoredPart::data_key`]).
    #[serde(default)]
    pub(crate) data_key: Option<DataKeyRecord>,
}

impl StoredSse {
    pub(crate) fn response(&self) -> Option<SseResponse> {
        match self.mode.as_str() {
            "AES256" => Some(SseResponse::S3),
            "KMS" => Some(SseResponse::Kms { key_id: self.kms_key_id.clone().unwrap_or_default() }),
            "C" => Some(SseResponse::Customer { key_md5: self.customer_key_md5.clone().unwrap_or_default() }),
            _ => None,
        }
    }

    /// Whether this is SSE-C.
    pub(crate) fn is_customer(&self) -> bool {
        self.mode == "C"
    }

    /// Whether `key` is the SSE-C key this object or upload was written with (`None` if
    /// nothing here recognises keys: a record from before encryption at rest).
    pub(crate) fn customer_matches(&self, key: &[u8; 32]) -> Option<bool> {
        let check = self.customer_check.as_ref().or(match &self.data_key {
            Some(DataKeyRecord { key: KeyMaterial::Customer(c), .. }) => Some(c),
            _ => None,
        })?;
        Some(check.matches(key))
    }
}

/// Content headers as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredContent {
    #[serde(default)]
    pub(crate) content_type: Option<String>,
    #[serde(default)]
    pub(crate) cache_control: Option<String>,
    #[serde(default)]
    pub(crate) content_disposition: Option<String>,
    #[serde(default)]
    pub(crate) content_encoding: Option<String>,
    #[serde(default)]
    pub(crate) content_language: Option<String>,
    #[serde(default)]
    pub(crate) expires: Option<String>,
}

/// The default `Content-Type` of objects stored without one.
pub(crate) const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

impl StoredContent {
    fn from_headers(h: &ContentHeaders) -> Self {
        StoredContent {
            content_type: h.content_type.clone(),
            cache_control: h.cache_control.clone(),
            content_disposition: h.content_disposition.clone(),
            content_encoding: h.content_encoding.clone(),
            content_language: h.content_language.clone(),
            expires: h.expires.clone(),
        }
    }

    fn to_headers(&self) -> ContentHeaders {
        ContentHeaders {
            content_type: Some(self.content_type.clone().unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned())),
            cache_control: self.cache_control.clone(),
            content_disposition: self.content_disposition.clone(),
            content_encoding: self.content_encoding.clone(),
            content_language: self.content_language.clone(),
            expires: self.expires.clone(),
        }
    }
}

/// Everything a writer sets on an object, as stored (with an upload until it completes,
/// then with the object).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAttributes {
    /// The dialect the object was written in (storage classes and ACLs are its spellings).
    pub(crate) dialect: String,
    pub(crate) owner: StoredOwner,
    #[serde(default)]
    pub(crate) content: StoredContent,
    /// User metadata: lower-case names, byte-exact values.
    #[serde(default)]
    pub(crate) metadata: Vec<(String, Vec<u8>)>,
    #[serde(default)]
    pub(crate) storage_class: Option<String>,
    #[serde(default)]
    pub(crate) acl: Option<StoredAcl>,
    #[serde(default)]
    pub(crate) tags: Vec<(String, String)>,
    #[serde(default)]
    pub(crate) sse: Option<StoredSse>,
    #[serde(default)]
    pub(crate) website_redirect: Option<String>,
}

impl StoredAttributes {
    pub(crate) fn from_request(attrs: &ObjectAttributes, dialect: Dialect, owner: StoredOwner) -> Self {
        StoredAttributes {
            dialect: dialect.name().to_owned(),
            owner,
            content: StoredContent::from_headers(&attrs.content),
            metadata: attrs.metadata.iter().map(|(n, v)| (n.to_owned(), v.to_vec())).collect(),
            storage_class: attrs.storage_class.map(|s| s.as_str().to_owned()),
            acl: StoredAcl::from_request(&attrs.acl),
            tags: attrs
                .tagging
                .as_ref()
                .map(|t| t.tags().iter().map(|t| (t.key.clone(), t.value.clone())).collect())
                .unwrap_or_default(),
            // Resolved by the engine (bucket default, KMS key, SSE-C check) before writing.
            sse: None,
            website_redirect: attrs.website_redirect.as_ref().map(|w| w.as_str().to_owned()),
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect.parse().unwrap_or(Dialect::Aws)
    }

    pub(crate) fn content_headers(&self) -> ContentHeaders {
        self.content.to_headers()
    }

    pub(crate) fn user_metadata(&self) -> UserMetadata {
        let mut meta = UserMetadata::new();
        for (name, value) in &self.metadata {
            // Stored metadata was validated on the way in; a refused entry is skipped.
            let _ = meta.insert(name, value);
        }
        meta
    }

    pub(crate) fn storage_class(&self) -> Option<StorageClass> {
        let dialect = self.dialect();
        self.storage_class.as_deref().and_then(|s| StorageClass::parse(dialect, s).ok())
    }

    pub(crate) fn tag_set(&self) -> TagSet {
        let tags = self.tags.iter().map(|(k, v)| Tag::new(k.clone(), v.clone())).collect();
        TagSet::new(tags).unwrap_or_default()
    }
}

/// One part of a multipart object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredPart {
    pub(crate) number: u32,
    pub(crate) size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) md5: Option<String>,
    /// The part's additional checksum (base64), in the object's algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) crc64ecma: Option<u64>,
    /// The part's own data key, when the object is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) data_key: Option<DataKeyRecord>,
}

/// An object's checksum as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredChecksum {
    pub(crate) algorithm: String,
    /// `COMPOSITE` or `FULL_OBJECT`.
    pub(crate) kind: String,
    /// Base64 digest.
    pub(crate) value: String,
}

impl StoredChecksum {
    pub(crate) fn new(checksum: &Checksum, kind: ChecksumType) -> Self {
        StoredChecksum {
            algorithm: checksum.algorithm().as_str().to_owned(),
            kind: kind.as_str().to_owned(),
            value: checksum.to_base64(),
        }
    }

    pub(crate) fn parse(&self) -> Option<(Checksum, ChecksumType)> {
        let algorithm: ChecksumAlgorithm = self.algorithm.parse().ok()?;
        let kind: ChecksumType = self.kind.parse().ok()?;
        Some((Checksum::from_base64(algorithm, &self.value).ok()?, kind))
    }
}

/// Everything the engine keeps about an object besides its data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    pub(crate) v: u32,
    /// The ETag, unquoted.
    pub(crate) etag: String,
    pub(crate) attributes: StoredAttributes,
    /// CRC-64/XZ of the whole object (combined from the parts' for multipart objects).
    pub(crate) crc64ecma: u64,
    #[serde(default)]
    pub(crate) checksum: Option<StoredChecksum>,
    /// The parts of a multipart object, in order; empty for a single PUT or a copy.
    #[serde(default)]
    pub(crate) parts: Vec<StoredPart>,
    /// The upload that made it, so a retried Complete is recognised after a restart.
    #[serde(default)]
    pub(crate) upload_id: Option<String>,
}

impl ObjectMeta {
    pub(crate) fn encode(&self) -> bytes::Bytes {
        serde_json::to_vec(self).map(bytes::Bytes::from).unwrap_or_default()
    }

    pub(crate) fn decode(raw: &[u8]) -> Result<Self, S3Error> {
        serde_json::from_slice(raw).map_err(|e| internal(format!("unreadable object metadata: {e}")))
    }

    /// The metadata of a single-extent object (a PUT or a copy), whose checksum is of the
    /// full object.
    pub(crate) fn single(
        etag: &ETag,
        attributes: StoredAttributes,
        crc64ecma: u64,
        checksum: Option<&Checksum>,
    ) -> Self {
        ObjectMeta {
            v: FORMAT,
            etag: etag.as_str().to_owned(),
            attributes,
            crc64ecma,
            checksum: checksum.map(|c| StoredChecksum::new(c, ChecksumType::FullObject)),
            parts: Vec::new(),
            upload_id: None,
        }
    }

    pub(crate) fn etag(&self) -> ETag {
        ETag::parse(&self.etag).unwrap_or_else(|_| ETag::from_md5(&[0; 16]))
    }
}

/// A bucket's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BucketConfig {
    pub(crate) v: u32,
    #[serde(default)]
    pub(crate) owner_name: String,
    #[serde(default)]
    pub(crate) acl: StoredAcl,
    /// The lifecycle configuration, as AWS-dialect XML.
    #[serde(default)]
    pub(crate) lifecycle: Option<String>,
    /// The default encryption, as AWS-dialect XML.
    #[serde(default)]
    pub(crate) encryption: Option<String>,
}

impl BucketConfig {
    pub(crate) fn encode(&self) -> bytes::Bytes {
        serde_json::to_vec(self).map(bytes::Bytes::from).unwrap_or_default()
    }

    pub(crate) fn decode(raw: &[u8]) -> Result<Self, S3Error> {
        if raw.is_empty() {
            return Ok(BucketConfig { v: FORMAT, ..BucketConfig::default() });
        }
        serde_json::from_slice(raw).map_err(|e| internal(format!("unreadable bucket configuration: {e}")))
    }

    pub(crate) fn lifecycle(&self) -> Option<xml::LifecycleConfiguration> {
        self.lifecycle.as_deref().and_then(|x| xml::from_xml(x.as_bytes()).ok())
    }

    pub(crate) fn encryption(&self) -> Option<xml::ServerSideEncryptionConfiguration> {
        self.encryption.as_deref().and_then(|x| xml::from_xml(x.as_bytes()).ok())
    }
}

/// What an upload record's opaque metadata holds: the object's attributes to be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UploadMeta {
    pub(crate) v: u32,
    pub(crate) attributes: StoredAttributes,
}

impl UploadMeta {
    pub(crate) fn decode(raw: &[u8]) -> Result<Self, S3Error> {
        serde_json::from_slice(raw).map_err(|e| internal(format!("unreadable upload metadata: {e}")))
    }
}
