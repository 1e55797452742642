//! Bucket operations: create, delete, head, list, location, lifecycle, default encryption, ACL.

use bytes::Bytes;
use tessera_multipart::UploadsQuery;
use tessera_proto::ops::{AclRequest, Output, S3Error};
use tessera_proto::values::{Permission, Timestamp};
use tessera_proto::{BucketName, Dialect, ErrorCode, xml};
use tessera_store::{BucketRecord, Store, StoreError};

use crate::engine::{Cx, Engine};
use crate::error::{self, access_denied};
use crate::meta::{BucketConfig, FORMAT, StoredAcl, StoredOwner};
use crate::request::{EngineResponse, RequestBody};

fn ok(output: Output) -> Result<EngineResponse, S3Error> {
    Ok(EngineResponse::new(output))
}

fn doc(d: impl Into<tessera_proto::ops::Document>) -> Result<EngineResponse, S3Error> {
    ok(Output::Xml(d.into()))
}

impl<S: Store> Engine<S> {
    pub(crate) async fn list_buckets(&self, cx: &Cx<'_>) -> Result<EngineResponse, S3Error> {
        if cx.id().is_empty() {
            return Err(access_denied());
        }
        let buckets = self.store.list_buckets().await.map_err(error::store)?;
        let buckets = buckets
            .into_iter()
            .filter(|(_, r)| r.owner == cx.id())
            .map(|(name, r)| xml::BucketEntry {
                name: name.as_str().to_owned(),
                creation_date: Timestamp::from_millis(r.created),
                bucket_region: Some(r.region),
            })
            .collect();
        let owner = StoredOwner::of(cx.principal).to_xml();
        doc(xml::ListAllMyBucketsResult { owner: Some(owner), buckets, continuation_token: None, prefix: None })
    }

    pub(crate) async fn create_bucket(
        &self,
        cx: &Cx<'_>,
        bucket: BucketName,
        location: Option<String>,
        acl: AclRequest,
    ) -> Result<EngineResponse, S3Error> {
        let owner = StoredOwner::of(cx.principal);
        if owner.id.is_empty() {
            return Err(access_denied());
        }
        let location_given = location.filter(|l| !l.is_empty());
        let region = location_given.clone().unwrap_or_else(|| self.config.region.clone());
        let config = BucketConfig {
            v: FORMAT,
            owner_name: owner.name.clone(),
            acl: StoredAcl::from_request(&acl).unwrap_or_default(),
            ..BucketConfig::default()
        };
        let record =
            BucketRecord { created: cx.now.as_millis(), owner: owner.id.clone(), region, config: config.encode() };
        match self.store.create_bucket(&bucket, record).await {
            Ok(()) => ok(Output::BucketCreated { location: format!("/{bucket}") }),
            Err(StoreError::BucketExists) => {
                let existing = self.store.bucket(&bucket).await.map_err(error::store)?;
                let exists = || S3Error::code(ErrorCode::BucketAlreadyExists).with("BucketName", bucket.as_str());
                let Some(mut existing) = existing.filter(|r| r.owner == owner.id) else { return Err(exists()) };
                match cx.dialect {
                    // OSS: the owner's repeated PutBucket succeeds and updates the ACL; only a
                    // change of region is refused.
                    Dialect::Oss => {
                        if location_given.is_some_and(|l| l != existing.region) {
                            return Err(exists());
                        }
                        if let Some(acl) = StoredAcl::from_request(&acl) {
                            let mut config = BucketConfig::decode(&existing.config)?;
                            config.acl = acl;
                            existing.config = config.encode();
                            self.store.update_bucket(&bucket, existing).await.map_err(error::store)?;
                        }
                        ok(Output::BucketCreated { location: format!("/{bucket}") })
                    }
                    // COS answers BucketAlreadyExists even to the owner.
                    Dialect::Cos => Err(exists()),
                    Dialect::Aws | Dialect::Obs | Dialect::Ks3 => {
                        Err(S3Error::code(ErrorCode::BucketAlreadyOwnedByYou).with("BucketName", bucket.as_str()))
                    }
                }
            }
            Err(e) => Err(error::store(e)),
        }
    }

    pub(crate) async fn delete_bucket(&self, cx: &Cx<'_>, bucket: &BucketName) -> Result<EngineResponse, S3Error> {
        let (record, _) = self.bucket(bucket).await?;
        cx.require_owner(&record)?;
        let has_uploads = {
            let state = self.state();
            let query = UploadsQuery { max_uploads: Some(1), ..UploadsQuery::default() };
            !state.table.list_uploads(bucket, &query).uploads.is_empty()
        };
        if has_uploads {
            return Err(S3Error::code(ErrorCode::BucketNotEmpty).with("BucketName", bucket.as_str()));
        }
        match self.store.delete_bucket(bucket).await {
            Ok(()) => {}
            Err(StoreError::BucketNotEmpty) => {
                return Err(S3Error::code(ErrorCode::BucketNotEmpty).with("BucketName", bucket.as_str()));
            }
            Err(e) => return Err(error::store(e)),
        }
        let mut state = self.state();
        state.table.set_bucket_expiry(bucket, None);
        state.prefix_rules.remove(bucket);
        state.expirations.remove(bucket);
        if state.expirations.is_empty() {
            state.next_sweep = None;
        }
        ok(Output::NoContent)
    }

    pub(crate) async fn head_bucket(&self, cx: &Cx<'_>, bucket: &BucketName) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        if !cx.may_list(&record, &config) {
            return Err(access_denied());
        }
        ok(Output::BucketHead { region: record.region })
    }

    pub(crate) async fn bucket_location(&self, cx: &Cx<'_>, bucket: &BucketName) -> Result<EngineResponse, S3Error> {
        let (record, _) = self.bucket(bucket).await?;
        cx.require_owner(&record)?;
        // S3 answers an empty constraint for us-east-1.
        let region = if record.region == "us-east-1" { String::new() } else { record.region };
        doc(xml::LocationConstraint { region })
    }

    async fn update_config(
        &self,
        bucket: &BucketName,
        mut record: BucketRecord,
        config: &BucketConfig,
    ) -> Result<(), S3Error> {
        record.config = config.encode();
        self.store.update_bucket(bucket, record).await.map_err(error::store)
    }

    pub(crate) async fn get_lifecycle(&self, cx: &Cx<'_>, bucket: &BucketName) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        cx.require_owner(&record)?;
        match config.lifecycle() {
            Some(l) => doc(l),
            None => Err(S3Error::code(ErrorCode::NoSuchLifecycleConfiguration).with("BucketName", bucket.as_str())),
        }
    }

    pub(crate) async fn put_lifecycle(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        body: Bytes,
    ) -> Result<EngineResponse, S3Error> {
        let (record, mut config) = self.bucket(bucket).await?;
        cx.require_owner(&record)?;
        let lifecycle: xml::LifecycleConfiguration = xml::from_xml(&body).map_err(error::xml)?;
        if lifecycle.rules.is_empty() {
            return Err(S3Error::new(ErrorCode::MalformedXML, "A lifecycle configuration needs at least one rule."));
        }
        for rule in &lifecycle.rules {
            if let Some(a) = &rule.abort_incomplete_multipart_upload
                && a.days_after_initiation == 0
            {
                return Err(error::invalid_argument("DaysAfterInitiation must be a positive integer."));
            }
            if let Some(e) = &rule.expiration {
                if e.days == Some(0) {
                    return Err(error::invalid_argument("Expiration days must be a positive integer."));
                }
                if e.days.is_some() && e.date.is_some() {
                    return Err(S3Error::new(ErrorCode::MalformedXML, "Expiration takes Days or Date, not both."));
                }
            }
            if rule.abort_incomplete_multipart_upload.is_none() && rule.expiration.is_none() {
                return Err(S3Error::new(ErrorCode::MalformedXML, "A lifecycle rule needs at least one action."));
            }
        }
        config.lifecycle = Some(xml::to_xml_string(&lifecycle, Dialect::Aws));
        self.update_config(bucket, record, &config).await?;
        self.apply_lifecycle(bucket, &config, cx.now);
        ok(Output::Ok)
    }

    pub(crate) async fn delete_lifecycle(&self, cx: &Cx<'_>, bucket: &BucketName) -> Result<EngineResponse, S3Error> {
        let (record, mut config) = self.bucket(bucket).await?;
        cx.require_owner(&record)?;
        config.lifecycle = None;
        self.update_config(bucket, record, &config).await?;
        self.apply_lifecycle(bucket, &config, cx.now);
        ok(Output::NoContent)
    }

    pub(crate) async fn get_encryption(&self, cx: &Cx<'_>, bucket: &BucketName) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        cx.require_owner(&record)?;
        match config.encryption() {
            Some(e) => doc(e),
            None => Err(S3Error::code(ErrorCode::ServerSideEncryptionConfigurationNotFoundError)
                .with("BucketName", bucket.as_str())),
        }
    }

    pub(crate) async fn put_encryption(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        body: Bytes,
    ) -> Result<EngineResponse, S3Error> {
        let (record, mut config) = self.bucket(bucket).await?;
        cx.require_owner(&record)?;
        let sse: xml::ServerSideEncryptionConfiguration = xml::from_xml(&body).map_err(error::xml)?;
        if sse.rules.is_empty() {
            return Err(S3Error::new(ErrorCode::MalformedXML, "An encryption configuration needs a rule."));
        }
        for rule in &sse.rules {
            let Some(default) = &rule.apply_server_side_encryption_by_default else { continue };
            let algorithm = default.sse_algorithm.trim();
            if algorithm == "AES256" {
                self.sse_s3_ready()?;
                continue;
            }
            let is_kms = Dialect::ALL.iter().any(|d| d.spec().kms_algorithms.contains(&algorithm));
            if !is_kms {
                return Err(S3Error::new(ErrorCode::MalformedXML, "The SSEAlgorithm is not valid."));
            }
            self.check_kms(default.kms_master_key_id.as_deref().filter(|k| !k.is_empty()))?;
        }
        config.encryption = Some(xml::to_xml_string(&sse, Dialect::Aws));
        self.update_config(bucket, record, &config).await?;
        ok(Output::Ok)
    }

    pub(crate) async fn delete_encryption(&self, cx: &Cx<'_>, bucket: &BucketName) -> Result<EngineResponse, S3Error> {
        let (record, mut config) = self.bucket(bucket).await?;
        cx.require_owner(&record)?;
        config.encryption = None;
        self.update_config(bucket, record, &config).await?;
        ok(Output::NoContent)
    }

    pub(crate) async fn get_bucket_acl(&self, cx: &Cx<'_>, bucket: &BucketName) -> Result<EngineResponse, S3Error> {
        let (record, config) = self.bucket(bucket).await?;
        if !cx.owns(&record) && !config.acl.grants(cx.principal, Permission::ReadAcp) {
            return Err(access_denied());
        }
        let owner = StoredOwner { id: record.owner.clone(), name: config.owner_name.clone() };
        doc(config.acl.to_policy(&owner))
    }

    pub(crate) async fn put_bucket_acl(
        &self,
        cx: &Cx<'_>,
        bucket: &BucketName,
        acl: AclRequest,
        body: RequestBody,
    ) -> Result<EngineResponse, S3Error> {
        let (record, mut config) = self.bucket(bucket).await?;
        if !cx.owns(&record) && !config.acl.grants(cx.principal, Permission::WriteAcp) {
            return Err(access_denied());
        }
        config.acl = acl_from(&acl, body)?;
        self.update_config(bucket, record, &config).await?;
        ok(Output::Ok)
    }
}

/// An ACL from headers, or else from an `<AccessControlPolicy>` body.
pub(crate) fn acl_from(acl: &AclRequest, body: RequestBody) -> Result<StoredAcl, S3Error> {
    if let Some(stored) = StoredAcl::from_request(acl) {
        return Ok(stored);
    }
    match body {
        RequestBody::Xml(b) if !b.is_empty() => {
            let policy: xml::AccessControlPolicy = xml::from_xml(&b).map_err(error::xml)?;
            Ok(StoredAcl::from_policy(&policy))
        }
        _ => Err(S3Error::new(ErrorCode::MalformedXML, "The ACL request has neither ACL headers nor a policy body.")),
    }
}
