//! Bucket and object configuration documents: tags, ACLs, location, lifecycle, encryption.

use serde::{Deserialize, Serialize};

use super::objects::Owner;
use super::{XmlDocument, XmlError, cap, wrapped_list};
use crate::InvalidValue;
use crate::values::{MAX_BUCKET_TAGS, Permission, Tag, TagSet, Timestamp};

wrapped_list!(tag_list, "Tag", Tag);

/// `<Tagging><TagSet><Tag>…</Tag></TagSet></Tagging>`: an object's or a bucket's tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tagging {
    /// The tags.
    #[serde(rename = "TagSet", with = "tag_list", default)]
    pub tags: Vec<Tag>,
}

impl Tagging {
    /// The tags as an object's tag set (at most 10); fails with `InvalidTag`.
    pub fn to_object_tags(&self) -> Result<TagSet, InvalidValue> {
        TagSet::new(self.tags.clone())
    }
}

impl From<TagSet> for Tagging {
    fn from(set: TagSet) -> Self {
        Tagging { tags: set.into_tags() }
    }
}

impl XmlDocument for Tagging {
    const ROOT: &'static str = "Tagging";

    /// Checks S3's tag rules with the bucket limit (50); objects check 10 with
    /// [`Tagging::to_object_tags`].
    fn finish_read(&mut self) -> Result<(), XmlError> {
        TagSet::with_limit(self.tags.clone(), MAX_BUCKET_TAGS).map_err(XmlError::Invalid)?;
        Ok(())
    }
}

const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// `<Grantee xsi:type="…">`: whom a grant names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "GranteeWire", try_from = "GranteeWire")]
pub enum Grantee {
    /// `CanonicalUser`: a user by canonical id.
    CanonicalUser {
        /// The canonical id.
        id: String,
        /// The display name.
        display_name: Option<String>,
    },
    /// `Group`: a predefined group by URI.
    Group {
        /// The group's URI.
        uri: String,
    },
    /// `AmazonCustomerByEmail`: a user by e-mail address.
    AmazonCustomerByEmail {
        /// The address.
        email: String,
    },
}

#[derive(Clone, Serialize, Deserialize)]
struct GranteeWire {
    #[serde(rename(serialize = "@xmlns:xsi", deserialize = "@xmlns_xsi"), skip_deserializing)]
    xmlns_xsi: &'static str,
    // The reading pass drops namespace prefixes, so `xsi:type` arrives as `type`.
    #[serde(rename(serialize = "@xsi:type", deserialize = "@type"))]
    kind: String,
    #[serde(rename = "ID", skip_serializing_if = "Option::is_none", default)]
    id: Option<String>,
    #[serde(rename = "DisplayName", skip_serializing_if = "Option::is_none", default)]
    display_name: Option<String>,
    #[serde(rename = "URI", skip_serializing_if = "Option::is_none", default)]
    uri: Option<String>,
    #[serde(rename = "EmailAddress", skip_serializing_if = "Option::is_none", default)]
    email: Option<String>,
}

impl From<Grantee> for GranteeWire {
    fn from(g: Grantee) -> Self {
        let mut wire = GranteeWire {
            xmlns_xsi: XSI_NAMESPACE,
            kind: String::new(),
            id: None,
            display_name: None,
            uri: None,
            email: None,
        };
        match g {
            Grantee::CanonicalUser { id, display_name } => {
                wire.kind = "CanonicalUser".into();
                wire.id = Some(id);
                wire.display_name = display_name;
            }
            Grantee::Group { uri } => {
                wire.kind = "Group".into();
                wire.uri = Some(uri);
            }
            Grantee::AmazonCustomerByEmail { email } => {
                wire.kind = "AmazonCustomerByEmail".into();
                wire.email = Some(email);
            }
        }
        wire
    }
}

impl TryFrom<GranteeWire> for Grantee {
    type Error = String;

    fn try_from(w: GranteeWire) -> Result<Self, String> {
        match (w.kind.as_str(), w.id, w.uri, w.email) {
            ("CanonicalUser", Some(id), _, _) => Ok(Grantee::CanonicalUser { id, display_name: w.display_name }),
            ("Group", _, Some(uri), _) => Ok(Grantee::Group { uri }),
            ("AmazonCustomerByEmail", _, _, Some(email)) => Ok(Grantee::AmazonCustomerByEmail { email }),
            (kind, ..) => Err(format!("grantee of type {kind:?} lacks its identifying element or is unknown")),
        }
    }
}

/// One `<Grant>`: a grantee and a permission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Whom.
    #[serde(rename = "Grantee")]
    pub grantee: Grantee,
    /// What.
    #[serde(rename = "Permission")]
    pub permission: Permission,
}

wrapped_list!(grant_list, "Grant", Grant);

/// `<AccessControlPolicy>`: an object's or a bucket's ACL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessControlPolicy {
    /// The owner.
    #[serde(rename = "Owner", default)]
    pub owner: Owner,
    /// The grants (`<AccessControlList><Grant>…</Grant></AccessControlList>`), at most 100.
    #[serde(rename = "AccessControlList", with = "grant_list", default)]
    pub grants: Vec<Grant>,
}

/// Most grants in one ACL, as S3 allows.
pub const MAX_ACL_GRANTS: usize = 100;

impl XmlDocument for AccessControlPolicy {
    const ROOT: &'static str = "AccessControlPolicy";

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.grants, "Grant", MAX_ACL_GRANTS)
    }
}

/// `<CreateBucketConfiguration>`: the optional CreateBucket body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateBucketConfiguration {
    /// The region to create the bucket in.
    #[serde(rename = "LocationConstraint", skip_serializing_if = "Option::is_none", default)]
    pub location_constraint: Option<String>,
}

impl XmlDocument for CreateBucketConfiguration {
    const ROOT: &'static str = "CreateBucketConfiguration";
}

/// `<LocationConstraint>region</LocationConstraint>`: the answer to GetBucketLocation
/// (empty for us-east-1, as S3 answers).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationConstraint {
    /// The region; empty for the default one.
    #[serde(rename = "$text", default)]
    pub region: String,
}

impl XmlDocument for LocationConstraint {
    const ROOT: &'static str = "LocationConstraint";
}

/// Whether a lifecycle rule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LifecycleStatus {
    /// `Enabled`.
    Enabled,
    /// `Disabled`.
    Disabled,
}

/// `<Filter>` of a lifecycle rule (the prefix form).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleFilter {
    /// Keys the rule applies to.
    #[serde(rename = "Prefix", skip_serializing_if = "Option::is_none", default)]
    pub prefix: Option<String>,
}

/// `<AbortIncompleteMultipartUpload>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortIncompleteMultipartUpload {
    /// Days after initiation an upload in progress is aborted.
    #[serde(rename = "DaysAfterInitiation")]
    pub days_after_initiation: u32,
}

/// `<Expiration>` of a lifecycle rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleExpiration {
    /// Days after creation objects expire.
    #[serde(rename = "Days", skip_serializing_if = "Option::is_none", default)]
    pub days: Option<u32>,
    /// The date objects expire.
    #[serde(rename = "Date", skip_serializing_if = "Option::is_none", default)]
    pub date: Option<Timestamp>,
    /// Whether to remove expired delete markers.
    #[serde(rename = "ExpiredObjectDeleteMarker", skip_serializing_if = "Option::is_none", default)]
    pub expired_object_delete_marker: Option<bool>,
}

/// One `<Rule>` of a lifecycle configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    /// The rule's id.
    #[serde(rename = "ID", skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    /// The legacy prefix form (OSS, COS and old S3 clients).
    #[serde(rename = "Prefix", skip_serializing_if = "Option::is_none", default)]
    pub prefix: Option<String>,
    /// The filter form.
    #[serde(rename = "Filter", skip_serializing_if = "Option::is_none", default)]
    pub filter: Option<LifecycleFilter>,
    /// Whether the rule applies.
    #[serde(rename = "Status")]
    pub status: LifecycleStatus,
    /// Abort uploads in progress after a number of days.
    #[serde(rename = "AbortIncompleteMultipartUpload", skip_serializing_if = "Option::is_none", default)]
    pub abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
    /// Expire objects.
    #[serde(rename = "Expiration", skip_serializing_if = "Option::is_none", default)]
    pub expiration: Option<LifecycleExpiration>,
}

impl LifecycleRule {
    /// The prefix the rule applies to, from either form (empty: every key).
    pub fn effective_prefix(&self) -> &str {
        self.filter.as_ref().and_then(|f| f.prefix.as_deref()).or(self.prefix.as_deref()).unwrap_or("")
    }
}

/// `<LifecycleConfiguration>`: at most 1000 rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConfiguration {
    /// The rules.
    #[serde(rename = "Rule", default)]
    pub rules: Vec<LifecycleRule>,
}

/// Most rules in one lifecycle configuration.
pub const MAX_LIFECYCLE_RULES: usize = 1000;

impl XmlDocument for LifecycleConfiguration {
    const ROOT: &'static str = "LifecycleConfiguration";

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.rules, "Rule", MAX_LIFECYCLE_RULES)
    }
}

/// `<ApplyServerSideEncryptionByDefault>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyServerSideEncryptionByDefault {
    /// `AES256`, or the dialect's KMS spelling.
    #[serde(rename = "SSEAlgorithm")]
    pub sse_algorithm: String,
    /// The KMS master key.
    #[serde(rename = "KMSMasterKeyID", skip_serializing_if = "Option::is_none", default)]
    pub kms_master_key_id: Option<String>,
}

/// One `<Rule>` of a default-encryption configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SseRule {
    /// The default encryption.
    #[serde(rename = "ApplyServerSideEncryptionByDefault", skip_serializing_if = "Option::is_none", default)]
    pub apply_server_side_encryption_by_default: Option<ApplyServerSideEncryptionByDefault>,
    /// S3 Bucket Keys.
    #[serde(rename = "BucketKeyEnabled", skip_serializing_if = "Option::is_none", default)]
    pub bucket_key_enabled: Option<bool>,
}

/// `<ServerSideEncryptionConfiguration>`: a bucket's default encryption.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSideEncryptionConfiguration {
    /// The rules (S3 allows one).
    #[serde(rename = "Rule", default)]
    pub rules: Vec<SseRule>,
}

impl XmlDocument for ServerSideEncryptionConfiguration {
    const ROOT: &'static str = "ServerSideEncryptionConfiguration";

    fn finish_read(&mut self) -> Result<(), XmlError> {
        cap(&self.rules, "Rule", 100)
    }
}
