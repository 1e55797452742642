//! From a request head to an [`Operation`]: which operation it is, and every header it honours,
//! in the spelling of the request's dialect.
//!
//! An operation is identified from the method, whether the route names a bucket and a key, and
//! the query's sub-resources (`uploads`, `uploadId`, `partNumber`, `tagging`, `acl`, …), then
//! the vendor headers are read with the dialect's prefix (`x-cos-storage-class`,
//! `x-oss-object-acl`, …). OBS also takes the `x-amz-` spelling of its headers, as its SDK
//! and documents use both. Values are validated here, once, so the engine gets typed values;
//! request bodies (XML documents, object data) are not read here.

use std::str::FromStr;

use http::{HeaderMap, Method};
use tessera_proto::dialect::{MAX_PART_SIZE, MAX_PUT_SIZE};
use tessera_proto::encoding::EncodingType;
use tessera_proto::ops::{
    AclRequest, Conditions, ContentHeaders, CopySource, EtagCondition, KeyListing, MetadataDirective, ObjectAttributes,
    Operation, ResponseOverrides,
};
use tessera_proto::values::{
    ByteRange, CannedAcl, Permission, SseHeaderNames, SseHeaders, SseRequest, StorageClass, TagSet, UserMetadata,
    WebsiteRedirectLocation, parse_grants, parse_http_date,
};
use tessera_proto::{
    BucketName, ChecksumAlgorithm, ChecksumType, Dialect, ETag, ErrorCode, ObjectKey, PartNumber, UploadId,
};

use crate::route::Route;
use crate::{HttpError, Query};

/// Largest request header section accepted, names and values together: S3's 8 KB.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Query sub-resources of S3 and the vendors that Tessera does not serve. A request naming
/// one answers `501 NotImplemented` instead of being mistaken for a plain GET or PUT.
const UNSUPPORTED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "analytics",
    "append",
    "bucketInfo",
    "cname",
    "cors",
    "domain",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "logging",
    "metadata",
    "metrics",
    "mirror",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "position",
    "publicAccessBlock",
    "quota",
    "referer",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "stat",
    "storageinfo",
    "storagepolicy",
    "symlink",
    "torrent",
    "transferAcceleration",
    "versioning",
    "website",
    "worm",
    "x-oss-process",
];

/// What the server must know about a request body before reading it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodyFraming {
    /// `Content-Length` as sent (the length on the wire), when the body is not HTTP-chunked.
    pub wire_length: Option<u64>,
    /// The length of the body once decoded: `x-amz-decoded-content-length` for an aws-chunked
    /// body, else the wire length. `None` for an HTTP-chunked body that declares no length.
    pub decoded_length: Option<u64>,
    /// Whether the body is aws-chunked (`Content-Encoding: aws-chunked`, or a `STREAMING-…`
    /// payload hash): it must go through tessera-sign's chunked decoder before it is stored.
    pub aws_chunked: bool,
    /// Whether the body uses HTTP `Transfer-Encoding: chunked`.
    pub transfer_chunked: bool,
}

/// How a request's body is framed, from its headers. Fails with `400 BadRequest` for a
/// `Content-Length` that is not a number, and `411 MissingContentLength` for an aws-chunked
/// body without `x-amz-decoded-content-length`.
pub fn body_framing(headers: &HeaderMap) -> Result<BodyFraming, HttpError> {
    let mut wire_length = None;
    for value in headers.get_all(http::header::CONTENT_LENGTH) {
        let n = decimal(value.as_bytes())
            .ok_or_else(|| HttpError::bad_request("The Content-Length header is not a number."))?;
        if wire_length.is_some_and(|prev| prev != n) {
            return Err(HttpError::bad_request("The request has conflicting Content-Length headers."));
        }
        wire_length = Some(n);
    }
    let transfer_chunked = headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
    if transfer_chunked {
        // Chunked framing wins over any Content-Length (RFC 9112 §6.3).
        wire_length = None;
    }
    let aws_chunked = headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"aws-chunked"))
        || headers.get("x-amz-content-sha256").is_some_and(|v| v.as_bytes().starts_with(b"STREAMING-"));
    let decoded_length = if aws_chunked {
        let value = headers.get("x-amz-decoded-content-length").ok_or_else(|| {
            HttpError::new(
                ErrorCode::MissingContentLength,
                "An aws-chunked body must declare x-amz-decoded-content-length.",
            )
        })?;
        Some(decimal(value.as_bytes()).ok_or_else(|| {
            HttpError::new(ErrorCode::InvalidArgument, "x-amz-decoded-content-length is not a number.")
        })?)
    } else {
        wire_length
    };
    Ok(BodyFraming { wire_length, decoded_length, aws_chunked, transfer_chunked })
}

/// Whether the request is OBS's unsigned `HEAD /?apiversion` signature-negotiation preflight,
/// to be answered `200` with `x-obs-api: 3.0` ([`tessera_proto::ops::Output::ObsApiVersion`])
/// before any authentication, for any bucket, known or not.
pub fn is_obs_apiversion(method: &Method, route: &Route) -> bool {
    method == Method::HEAD && route.key.is_none() && has(&route.query, "apiversion")
}

/// The resource an error names (`/bucket/key`, `/bucket`, `/`), as the `<Resource>` element
/// of error bodies shows it (COS's SDK needs one).
pub fn resource_of(route: &Route) -> String {
    match (&route.bucket, &route.key) {
        (Some(b), Some(k)) => format!("/{}/{}", b.as_str(), k.as_str()),
        (Some(b), None) => format!("/{}", b.as_str()),
        _ => "/".to_owned(),
    }
}

/// A `Content-MD5` must be the base64 of 16 bytes: `400 InvalidDigest` otherwise (whether the
/// body matches is checked while it streams, by tessera-sign's `BodyCheck`).
fn check_content_md5(headers: &HeaderMap) -> Result<(), HttpError> {
    use base64::Engine as _;
    let Some(value) = headers.get("content-md5") else { return Ok(()) };
    match base64::engine::general_purpose::STANDARD.decode(value.as_bytes().trim_ascii()) {
        Ok(digest) if digest.len() == 16 => Ok(()),
        _ => Err(HttpError::new(ErrorCode::InvalidDigest, ErrorCode::InvalidDigest.default_message())),
    }
}

/// Binds a request head to the operation it asks for, in `dialect`.
///
/// Fails with the S3 error the request answers with: `405 MethodNotAllowed` for a method the
/// resource does not take, `501 NotImplemented` for sub-resources Tessera does not serve,
/// `400`/`411` for invalid headers and parameters. Never panics, whatever the input.
pub fn parse_operation(
    method: &Method,
    headers: &HeaderMap,
    route: &Route,
    dialect: Dialect,
) -> Result<Operation, HttpError> {
    let size: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    if size > MAX_HEADER_BYTES {
        return Err(HttpError::new(
            ErrorCode::Custom { code: "RequestHeaderSectionTooLarge".into(), status: 400 },
            "Your request header section exceeds the maximum allowed size.",
        ));
    }
    check_content_md5(headers)?;
    let req = Req { method, head: Head { headers, dialect }, query: &route.query };
    match (&route.bucket, &route.key) {
        (None, _) => req.service(),
        (Some(bucket), None) => req.bucket(bucket.clone()),
        (Some(bucket), Some(key)) => req.object(bucket.clone(), key.clone()),
    }
}

/// The headers of one request, read in one dialect.
struct Head<'a> {
    headers: &'a HeaderMap,
    dialect: Dialect,
}

impl Head<'_> {
    /// The first value of `name`, as text (UTF-8 allowed); `InvalidArgument` if not UTF-8.
    fn text(&self, name: &str) -> Result<Option<&str>, HttpError> {
        match self.headers.get(name) {
            None => Ok(None),
            Some(v) => std::str::from_utf8(v.as_bytes()).map(Some).map_err(|_| {
                HttpError::new(ErrorCode::InvalidArgument, format!("The {name} header is not valid UTF-8."))
            }),
        }
    }

    /// A vendor header: `x-cos-<suffix>` for COS; OBS also takes `x-amz-<suffix>`.
    fn vendor(&self, suffix: &str) -> Result<Option<&str>, HttpError> {
        let own = self.text(&self.dialect.header(suffix))?;
        if own.is_none() && self.dialect == Dialect::Obs {
            return self.text(&Dialect::Aws.header(suffix));
        }
        Ok(own)
    }

    fn has_vendor(&self, suffix: &str) -> bool {
        self.headers.contains_key(self.dialect.header(suffix).as_str())
    }

    fn content(&self) -> Result<ContentHeaders, HttpError> {
        let owned = |name: &str| -> Result<Option<String>, HttpError> { Ok(self.text(name)?.map(str::to_owned)) };
        let content_encoding = self.text("content-encoding")?.and_then(strip_aws_chunked);
        Ok(ContentHeaders {
            content_type: owned("content-type")?,
            cache_control: owned("cache-control")?,
            content_disposition: owned("content-disposition")?,
            content_encoding,
            content_language: owned("content-language")?,
            expires: owned("expires")?,
        })
    }

    fn metadata(&self) -> Result<UserMetadata, HttpError> {
        let pairs = || self.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()));
        let meta = UserMetadata::collect(self.dialect, pairs())?;
        if meta.is_empty() && self.dialect == Dialect::Obs {
            return Ok(UserMetadata::collect_with_prefix(Dialect::Aws.spec().meta_prefix, pairs())?);
        }
        Ok(meta)
    }

    /// A canned ACL from `canned_header` and the grant headers.
    fn acl(&self, canned_header: &str) -> Result<AclRequest, HttpError> {
        let mut acl = AclRequest::default();
        let canned = match self.text(canned_header)? {
            Some(v) => Some(v),
            None if self.dialect == Dialect::Obs => self.text("x-amz-acl")?,
            None => None,
        };
        if let Some(value) = canned {
            acl.canned = Some(CannedAcl::parse(self.dialect, value)?);
        }
        for (name, value) in self.headers {
            let Some(permission) = Permission::from_header_name(self.dialect, name.as_str()) else { continue };
            let value = std::str::from_utf8(value.as_bytes())
                .map_err(|_| HttpError::new(ErrorCode::InvalidArgument, "A grant header is not valid UTF-8."))?;
            let grantees = parse_grants(value)?;
            match acl.grants.iter_mut().find(|(p, _)| *p == permission) {
                Some((_, list)) => list.extend(grantees),
                None => acl.grants.push((permission, grantees)),
            }
        }
        if acl.canned.is_some() && !acl.grants.is_empty() {
            return Err(HttpError::new(
                ErrorCode::InvalidRequest,
                "Specifying both Canned ACLs and Header Grants is not allowed",
            ));
        }
        Ok(acl)
    }

    fn sse(&self) -> Result<Option<SseRequest>, HttpError> {
        let names = SseHeaderNames::for_dialect(self.dialect);
        let found = SseHeaders {
            algorithm: self.text(&names.algorithm)?,
            kms_key_id: self.text(&names.kms_key_id)?,
            customer_algorithm: self.text(&names.customer_algorithm)?,
            customer_key: self.text(&names.customer_key)?,
            customer_key_md5: self.text(&names.customer_key_md5)?,
        };
        let any = found.algorithm.is_some()
            || found.kms_key_id.is_some()
            || found.customer_algorithm.is_some()
            || found.customer_key.is_some()
            || found.customer_key_md5.is_some();
        if !any && self.dialect == Dialect::Obs {
            return Head { headers: self.headers, dialect: Dialect::Aws }.sse_as(Dialect::Obs);
        }
        Ok(SseRequest::from_headers(self.dialect, &found)?)
    }

    /// The SSE headers in this head's spelling, validated as `dialect`'s algorithms.
    fn sse_as(&self, dialect: Dialect) -> Result<Option<SseRequest>, HttpError> {
        let names = SseHeaderNames::for_dialect(self.dialect);
        let found = SseHeaders {
            algorithm: self.text(&names.algorithm)?,
            kms_key_id: self.text(&names.kms_key_id)?,
            customer_algorithm: self.text(&names.customer_algorithm)?,
            customer_key: self.text(&names.customer_key)?,
            customer_key_md5: self.text(&names.customer_key_md5)?,
        };
        // OBS's KMS spelling is `kms`, AWS's `aws:kms`: accept either through the AWS names.
        match SseRequest::from_headers(dialect, &found) {
            Err(e) if e.code == ErrorCode::InvalidEncryptionAlgorithmError => {
                Ok(SseRequest::from_headers(self.dialect, &found)?)
            }
            other => Ok(other?),
        }
    }

    /// Whether any server-side-encryption header is present.
    fn any_sse_header(&self) -> bool {
        let names = SseHeaderNames::for_dialect(self.dialect);
        [&names.algorithm, &names.kms_key_id, &names.customer_algorithm, &names.customer_key, &names.customer_key_md5]
            .iter()
            .any(|n| self.headers.contains_key(n.as_str()))
    }

    /// The SSE-C key of a copy source (`x-*-copy-source-server-side-encryption-customer-*`).
    fn copy_source_sse(&self) -> Result<Option<SseRequest>, HttpError> {
        let name = |suffix: &str| self.dialect.header(&format!("copy-source-server-side-encryption-customer-{suffix}"));
        let found = SseHeaders {
            customer_algorithm: self.text(&name("algorithm"))?,
            customer_key: self.text(&name("key"))?,
            customer_key_md5: self.text(&name("key-MD5"))?,
            ..SseHeaders::default()
        };
        Ok(SseRequest::from_headers(self.dialect, &found)?)
    }

    fn checksum_algorithm(&self) -> Result<Option<ChecksumAlgorithm>, HttpError> {
        for name in ["x-amz-checksum-algorithm", "x-amz-sdk-checksum-algorithm"] {
            if let Some(v) = self.text(name)? {
                return Ok(Some(ChecksumAlgorithm::from_str(v.trim())?));
            }
        }
        if let Some(found) = ChecksumAlgorithm::ALL.into_iter().find(|a| self.headers.contains_key(a.header_name())) {
            return Ok(Some(found));
        }
        match self.text("x-amz-trailer")? {
            Some(v) => Ok(ChecksumAlgorithm::from_header_name(v.trim())),
            None => Ok(None),
        }
    }

    /// Everything a writer sets on a new object.
    fn attributes(&self) -> Result<ObjectAttributes, HttpError> {
        let class = match self.vendor("storage-class")? {
            // KS3's documents also spell it `x-kss-storageClass`.
            None if self.dialect == Dialect::Ks3 => self.text("x-kss-storageclass")?,
            other => other,
        };
        let storage_class = class.map(|v| StorageClass::parse(self.dialect, v)).transpose()?;
        let tagging = self.vendor("tagging")?.map(TagSet::parse_header).transpose()?;
        let website_redirect =
            self.vendor("website-redirect-location")?.map(WebsiteRedirectLocation::parse).transpose()?;
        let checksum_algorithm = self.checksum_algorithm()?;
        let checksum_type = match self.text("x-amz-checksum-type")? {
            None => None,
            Some(v) => {
                let ty = ChecksumType::from_str(v.trim())?;
                match checksum_algorithm {
                    Some(a) if a.allows(ty) => Some(ty),
                    Some(a) => {
                        return Err(HttpError::new(
                            ErrorCode::InvalidRequest,
                            format!("The {} checksum algorithm does not support the {ty} checksum type.", a.as_str()),
                        ));
                    }
                    None => {
                        return Err(HttpError::new(
                            ErrorCode::InvalidRequest,
                            "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
                        ));
                    }
                }
            }
        };
        Ok(ObjectAttributes {
            content: self.content()?,
            metadata: self.metadata()?,
            storage_class,
            acl: self.acl(self.dialect.spec().object_acl_header)?,
            tagging,
            sse: self.sse()?,
            website_redirect,
            checksum_algorithm,
            checksum_type,
        })
    }

    /// `If-Match` and friends, each header name preceded by `prefix` (`x-amz-copy-source-`).
    /// Unparseable dates are ignored, as RFC 9110 §13.1.3 requires.
    fn conditions(&self, prefix: &str) -> Result<Conditions, HttpError> {
        let name = |n: &str| format!("{prefix}{n}");
        let tags = |n: &str| -> Result<Option<Vec<EtagCondition>>, HttpError> {
            Ok(self.text(&name(n))?.map(parse_etag_list))
        };
        let date = |n: &str| -> Result<Option<u64>, HttpError> {
            Ok(self.text(&name(n))?.and_then(|v| parse_http_date(v).ok()))
        };
        Ok(Conditions {
            if_match: tags("if-match")?,
            if_none_match: tags("if-none-match")?,
            if_modified_since: date("if-modified-since")?,
            if_unmodified_since: date("if-unmodified-since")?,
        })
    }

    fn copy_source(&self) -> Result<Option<CopySource>, HttpError> {
        let Some(value) = self.vendor("copy-source")? else { return Ok(None) };
        let (bucket, key, version_id) = parse_copy_source(value, self.dialect)?;
        let prefix = if self.dialect == Dialect::Obs && !self.has_vendor("copy-source") {
            Dialect::Aws.header("copy-source-")
        } else {
            self.dialect.header("copy-source-")
        };
        Ok(Some(CopySource {
            bucket,
            key,
            version_id,
            conditions: self.conditions(&prefix)?,
            sse_customer: self.copy_source_sse()?,
        }))
    }

    /// The decoded length of a PUT body: `(length, length_unknown)`.
    fn put_length(&self) -> Result<(u64, bool), HttpError> {
        let framing = body_framing(self.headers)?;
        match framing.decoded_length {
            Some(n) if n > MAX_PUT_SIZE.max(MAX_PART_SIZE) => Err(HttpError::new(
                ErrorCode::EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size of 5 GiB.",
            )),
            Some(n) => Ok((n, false)),
            // oss2 sends bodies HTTP-chunked without a length; the vendors take them, S3 does not.
            None if framing.transfer_chunked && self.dialect != Dialect::Aws => Ok((0, true)),
            None => {
                Err(HttpError::new(ErrorCode::MissingContentLength, ErrorCode::MissingContentLength.default_message()))
            }
        }
    }

    fn flag(&self, name: &str, yes: &str) -> Result<bool, HttpError> {
        Ok(self.text(name)?.is_some_and(|v| v.trim().eq_ignore_ascii_case(yes)))
    }

    fn forbid_overwrite(&self) -> Result<bool, HttpError> {
        if self.dialect == Dialect::Oss { self.flag("x-oss-forbid-overwrite", "true") } else { Ok(false) }
    }
}

/// One request being bound.
struct Req<'a> {
    method: &'a Method,
    head: Head<'a>,
    query: &'a Query,
}

impl Req<'_> {
    fn not_allowed(&self) -> HttpError {
        HttpError::new(ErrorCode::MethodNotAllowed, ErrorCode::MethodNotAllowed.default_message())
    }

    fn unsupported_subresource(&self) -> Result<(), HttpError> {
        match UNSUPPORTED_SUBRESOURCES.iter().find(|s| has(self.query, s)) {
            Some(s) => Err(HttpError::new(
                ErrorCode::NotImplemented,
                format!("The {s} sub-resource is not implemented by this server."),
            )),
            None => Ok(()),
        }
    }

    fn service(&self) -> Result<Operation, HttpError> {
        match *self.method {
            Method::GET => Ok(Operation::ListBuckets),
            _ => Err(self.not_allowed()),
        }
    }

    fn bucket(&self, bucket: BucketName) -> Result<Operation, HttpError> {
        let q = self.query;
        let h = &self.head;
        if *self.method != Method::HEAD {
            self.unsupported_subresource()?;
        }
        let op = match *self.method {
            Method::HEAD => Operation::HeadBucket { bucket },
            Method::GET if has(q, "acl") => Operation::GetBucketAcl { bucket },
            Method::GET if has(q, "location") => Operation::GetBucketLocation { bucket },
            Method::GET if has(q, "lifecycle") => Operation::GetBucketLifecycle { bucket },
            Method::GET if has(q, "encryption") => Operation::GetBucketEncryption { bucket },
            Method::GET if has(q, "tagging") => return Err(not_implemented("tagging")),
            Method::GET if has(q, "uploads") => Operation::ListMultipartUploads {
                bucket,
                listing: key_listing(q, "max-uploads")?,
                key_marker: non_empty(q, "key-marker"),
                upload_id_marker: non_empty(q, "upload-id-marker"),
            },
            Method::GET if has(q, "versions") => Operation::ListObjectVersions {
                bucket,
                listing: key_listing(q, "max-keys")?,
                key_marker: non_empty(q, "key-marker"),
            },
            Method::GET => {
                let v2 = match param(q, "list-type").map(str::trim) {
                    None | Some("" | "1") => false,
                    Some("2") => true,
                    Some(_) => return Err(invalid_argument("Invalid list-type: it must be 1 or 2.")),
                };
                let (start_after, continuation_token) = if v2 {
                    (non_empty(q, "start-after"), non_empty(q, "continuation-token"))
                } else {
                    (non_empty(q, "marker"), None)
                };
                let fetch_owner = v2 && param(q, "fetch-owner").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
                Operation::ListObjects {
                    bucket,
                    listing: key_listing(q, "max-keys")?,
                    start_after,
                    continuation_token,
                    v2,
                    fetch_owner,
                }
            }
            Method::PUT if has(q, "acl") => Operation::PutBucketAcl { bucket, acl: h.acl(&h.dialect.header("acl"))? },
            Method::PUT if has(q, "lifecycle") => Operation::PutBucketLifecycle { bucket },
            Method::PUT if has(q, "encryption") => Operation::PutBucketEncryption { bucket },
            Method::PUT if has(q, "tagging") => return Err(not_implemented("tagging")),
            Method::PUT => Operation::CreateBucket { bucket, location: None, acl: h.acl(&h.dialect.header("acl"))? },
            Method::DELETE if has(q, "lifecycle") => Operation::DeleteBucketLifecycle { bucket },
            Method::DELETE if has(q, "encryption") => Operation::DeleteBucketEncryption { bucket },
            Method::DELETE if has(q, "tagging") => return Err(not_implemented("tagging")),
            Method::DELETE => Operation::DeleteBucket { bucket },
            Method::POST if has(q, "delete") => Operation::DeleteObjects { bucket },
            Method::POST => {
                return Err(HttpError::new(
                    ErrorCode::NotImplemented,
                    "POST uploads (browser forms) are not implemented by this server.",
                ));
            }
            _ => return Err(self.not_allowed()),
        };
        Ok(op)
    }

    fn object(&self, bucket: BucketName, key: ObjectKey) -> Result<Operation, HttpError> {
        let q = self.query;
        let h = &self.head;
        if *self.method != Method::HEAD {
            self.unsupported_subresource()?;
        }
        check_version_id(q)?;
        let upload_id = || -> Result<UploadId, HttpError> { Ok(UploadId::new(param(q, "uploadId").unwrap_or(""))?) };
        let part_number = || -> Result<Option<PartNumber>, HttpError> {
            param(q, "partNumber").map(|v| PartNumber::from_str(v).map_err(HttpError::from)).transpose()
        };
        let encoding_url = || encoding_url(q);
        let op = match *self.method {
            Method::PUT if has(q, "uploadId") => {
                let part_number =
                    part_number()?.ok_or_else(|| invalid_argument("A partNumber is required to upload a part."))?;
                let upload_id = upload_id()?;
                match h.copy_source()? {
                    Some(source) => {
                        let source_range = match h.vendor("copy-source-range")? {
                            None => None,
                            Some(v) => match ByteRange::parse_copy_source(v)? {
                                ByteRange::FromTo(a, b) => Some((a, b)),
                                _ => return Err(invalid_argument("The copy-source range must be bytes=first-last.")),
                            },
                        };
                        Operation::UploadPartCopy {
                            bucket,
                            key,
                            upload_id,
                            part_number,
                            source,
                            source_range,
                            sse: self.part_sse()?,
                        }
                    }
                    None => {
                        let (content_length, length_unknown) = h.put_length()?;
                        Operation::UploadPart {
                            bucket,
                            key,
                            upload_id,
                            part_number,
                            content_length,
                            length_unknown,
                            sse: self.part_sse()?,
                        }
                    }
                }
            }
            Method::PUT if has(q, "partNumber") => {
                return Err(invalid_argument("An uploadId is required to upload a part."));
            }
            Method::PUT if has(q, "tagging") => Operation::PutObjectTagging { bucket, key },
            Method::PUT if has(q, "acl") => {
                Operation::PutObjectAcl { bucket, key, acl: h.acl(h.dialect.spec().object_acl_header)? }
            }
            Method::PUT => match h.copy_source()? {
                Some(source) => Operation::CopyObject {
                    bucket,
                    key,
                    source,
                    metadata_directive: match h.vendor("metadata-directive")?.map(str::trim) {
                        None => MetadataDirective::Copy,
                        Some(v) if v.eq_ignore_ascii_case("COPY") => MetadataDirective::Copy,
                        Some(v) if v.eq_ignore_ascii_case("REPLACE") => MetadataDirective::Replace,
                        Some(_) => return Err(invalid_argument("Unknown metadata directive.")),
                    },
                    replace_tagging: match h.vendor("tagging-directive")?.map(str::trim) {
                        None => false,
                        Some(v) if v.eq_ignore_ascii_case("COPY") => false,
                        Some(v) if v.eq_ignore_ascii_case("REPLACE") => true,
                        Some(_) => return Err(invalid_argument("Unknown tagging directive.")),
                    },
                    attributes: h.attributes()?,
                    conditions: h.conditions("")?,
                    forbid_overwrite: h.forbid_overwrite()?,
                },
                None => {
                    let (content_length, length_unknown) = h.put_length()?;
                    Operation::PutObject {
                        bucket,
                        key,
                        attributes: h.attributes()?,
                        conditions: h.conditions("")?,
                        forbid_overwrite: h.forbid_overwrite()?,
                        content_length,
                        length_unknown,
                    }
                }
            },
            Method::GET if has(q, "uploadId") => Operation::ListParts {
                bucket,
                key,
                upload_id: upload_id()?,
                part_number_marker: int_param(q, "part-number-marker")?,
                max_parts: int_param(q, "max-parts")?,
                encoding_url: encoding_url()?,
            },
            Method::GET if has(q, "tagging") => Operation::GetObjectTagging { bucket, key },
            Method::GET if has(q, "acl") => Operation::GetObjectAcl { bucket, key },
            Method::GET if has(q, "attributes") => Operation::GetObjectAttributes {
                bucket,
                key,
                attributes: object_attribute_names(h)?,
                max_parts: int_header(h, "x-amz-max-parts")?,
                part_number_marker: int_header(h, "x-amz-part-number-marker")?,
                sse_customer: h.sse()?,
            },
            Method::GET => {
                let (range, part_number) = self.range_and_part(part_number()?)?;
                Operation::GetObject {
                    bucket,
                    key,
                    range,
                    part_number,
                    conditions: h.conditions("")?,
                    overrides: overrides(q),
                    sse_customer: h.sse()?,
                }
            }
            Method::HEAD => {
                let (range, part_number) = self.range_and_part(part_number()?)?;
                Operation::HeadObject {
                    bucket,
                    key,
                    range,
                    part_number,
                    conditions: h.conditions("")?,
                    sse_customer: h.sse()?,
                }
            }
            Method::DELETE if has(q, "uploadId") => {
                Operation::AbortMultipartUpload { bucket, key, upload_id: upload_id()? }
            }
            Method::DELETE if has(q, "tagging") => Operation::DeleteObjectTagging { bucket, key },
            Method::DELETE => Operation::DeleteObject { bucket, key, conditions: h.conditions("")? },
            Method::POST if has(q, "uploads") => Operation::CreateMultipartUpload {
                bucket,
                key,
                attributes: h.attributes()?,
                forbid_overwrite: h.forbid_overwrite()?,
                encoding_url: encoding_url()?,
            },
            Method::POST if has(q, "uploadId") => Operation::CompleteMultipartUpload {
                bucket,
                key,
                upload_id: upload_id()?,
                conditions: h.conditions("")?,
                forbid_overwrite: h.forbid_overwrite()?,
                encoding_url: encoding_url()?,
                complete_all: h.dialect == Dialect::Oss && h.flag("x-oss-complete-all", "yes")?,
            },
            _ => return Err(self.not_allowed()),
        };
        Ok(op)
    }

    /// The SSE headers of UploadPart / UploadPartCopy: OSS refuses any; the others may repeat
    /// the SSE-C key of the upload.
    fn part_sse(&self) -> Result<Option<SseRequest>, HttpError> {
        if self.head.dialect == Dialect::Oss && self.head.any_sse_header() {
            return Err(invalid_argument("Server-side encryption headers are not allowed on UploadPart."));
        }
        self.head.sse()
    }

    /// `Range` (ignored when invalid, as S3 does) and `partNumber`, which exclude each other.
    fn range_and_part(&self, part: Option<PartNumber>) -> Result<(Option<ByteRange>, Option<PartNumber>), HttpError> {
        let range = self.head.text("range")?.and_then(ByteRange::parse);
        if range.is_some() && part.is_some() {
            return Err(HttpError::new(
                ErrorCode::InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter",
            ));
        }
        Ok((range, part))
    }
}

/// Whether the query names `name` (sub-resource names compared without regard to case:
/// OBS and COS lower-case some when signing, and a few clients send them so).
fn has(q: &Query, name: &str) -> bool {
    q.params().iter().any(|p| p.name.eq_ignore_ascii_case(name))
}

/// The value of `name` (any case).
fn param<'q>(q: &'q Query, name: &str) -> Option<&'q str> {
    q.get(name).or_else(|| q.get_ignore_case(name))
}

/// The value of `name` when present and not empty (COS sends `delimiter=&key-marker=`).
fn non_empty(q: &Query, name: &str) -> Option<String> {
    param(q, name).filter(|v| !v.is_empty()).map(str::to_owned)
}

fn invalid_argument(message: &'static str) -> HttpError {
    HttpError::new(ErrorCode::InvalidArgument, message)
}

fn not_implemented(what: &str) -> HttpError {
    HttpError::new(ErrorCode::NotImplemented, format!("The {what} sub-resource is not implemented by this server."))
}

/// A decimal `u64` of at most 20 digits, surrounded by optional whitespace.
fn decimal(bytes: &[u8]) -> Option<u64> {
    let digits = bytes.trim_ascii();
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A non-negative 32-bit integer parameter (`max-keys`, `part-number-marker`, …). S3 answers
/// `InvalidArgument` for anything that is not an integer in `0..=i32::MAX`.
fn parse_count(name: &str, value: &str) -> Result<Option<u32>, HttpError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(n) if (0..=i64::from(i32::MAX)).contains(&n) => Ok(u32::try_from(n).ok()),
        Ok(_) => Err(HttpError::new(
            ErrorCode::InvalidArgument,
            format!("Argument {name} must be an integer between 0 and 2147483647"),
        )),
        Err(_) => Err(HttpError::new(
            ErrorCode::InvalidArgument,
            format!("Provided {name} not an integer or within integer range"),
        )),
    }
}

fn int_param(q: &Query, name: &str) -> Result<Option<u32>, HttpError> {
    match param(q, name) {
        None => Ok(None),
        Some(v) => parse_count(name, v),
    }
}

fn int_header(h: &Head<'_>, name: &str) -> Result<Option<u32>, HttpError> {
    match h.text(name)? {
        None => Ok(None),
        Some(v) => parse_count(name, v),
    }
}

fn encoding_url(q: &Query) -> Result<bool, HttpError> {
    match param(q, "encoding-type") {
        None => Ok(false),
        Some(v) if v.trim().is_empty() => Ok(false),
        Some(v) => Ok(EncodingType::parse(v).map(|_| true)?),
    }
}

fn key_listing(q: &Query, max_name: &str) -> Result<KeyListing, HttpError> {
    Ok(KeyListing {
        prefix: non_empty(q, "prefix"),
        delimiter: non_empty(q, "delimiter"),
        max_keys: int_param(q, max_name)?,
        encoding_url: encoding_url(q)?,
    })
}

/// A `versionId` other than `null` names a version Tessera cannot have (it keeps one
/// unversioned object per key).
fn check_version_id(q: &Query) -> Result<(), HttpError> {
    match param(q, "versionId").map(str::trim) {
        None | Some("" | "null") => Ok(()),
        Some(_) => Err(invalid_argument("Invalid version id specified")),
    }
}

fn overrides(q: &Query) -> ResponseOverrides {
    let get = |name: &str| param(q, name).map(str::to_owned);
    ResponseOverrides {
        content_type: get("response-content-type"),
        content_language: get("response-content-language"),
        expires: get("response-expires"),
        cache_control: get("response-cache-control"),
        content_disposition: get("response-content-disposition"),
        content_encoding: get("response-content-encoding"),
    }
}

/// `x-amz-object-attributes`: a non-empty comma list of the five names S3 knows.
fn object_attribute_names(h: &Head<'_>) -> Result<Vec<String>, HttpError> {
    const KNOWN: [&str; 5] = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"];
    let mut names = Vec::new();
    for value in h.headers.get_all("x-amz-object-attributes") {
        let value = std::str::from_utf8(value.as_bytes()).unwrap_or("?");
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let known = KNOWN
                .iter()
                .find(|k| k.eq_ignore_ascii_case(name))
                .ok_or_else(|| invalid_argument("Invalid attribute name specified."))?;
            if !names.iter().any(|n: &String| n == known) {
                names.push((*known).to_owned());
            }
        }
    }
    if names.is_empty() {
        return Err(invalid_argument(
            "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty",
        ));
    }
    Ok(names)
}

/// An `If-Match`/`If-None-Match` list. Entries that are not entity tags are dropped, so a
/// list of nothing valid matches nothing.
fn parse_etag_list(value: &str) -> Vec<EtagCondition> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .filter_map(|t| if t == "*" { Some(EtagCondition::Any) } else { ETag::parse(t).ok().map(EtagCondition::Tag) })
        .collect()
}

/// Removes the `aws-chunked` token from a `Content-Encoding` value; `None` when nothing is left.
pub fn strip_aws_chunked(value: &str) -> Option<String> {
    let kept: Vec<&str> =
        value.split(',').map(str::trim).filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("aws-chunked")).collect();
    if kept.is_empty() { None } else { Some(kept.join(", ")) }
}

/// Parses `x-*-copy-source`: `/bucket/key` or `bucket/key`, URL-encoded, with an optional
/// `?versionId=`. COS also sends `<bucket>.cos.<region>.myqcloud.com/key`.
fn parse_copy_source(value: &str, dialect: Dialect) -> Result<(BucketName, ObjectKey, Option<String>), HttpError> {
    let bad = || {
        HttpError::new(
            ErrorCode::InvalidArgument,
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    };
    let value = value.trim();
    let (path, query) = value.split_once('?').unwrap_or((value, ""));
    let path = crate::query::percent_decode_utf8(path).map_err(|_| bad())?;
    let path = path.strip_prefix('/').unwrap_or(&path);
    let (bucket, key) = path.split_once('/').ok_or_else(bad)?;
    // COS names the source by its host: the bucket is the first label.
    let bucket = match bucket.split_once('.') {
        Some((first, _)) if dialect == Dialect::Cos => first,
        _ => bucket,
    };
    let bucket = BucketName::new(bucket).map_err(|_| bad())?;
    if key.is_empty() {
        return Err(bad());
    }
    let key = ObjectKey::new(key)?;
    let query = Query::parse(query).map_err(|_| bad())?;
    let version_id = query.get("versionId").map(str::to_owned);
    Ok((bucket, key, version_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_is_stripped() {
        assert_eq!(strip_aws_chunked("aws-chunked"), None);
        assert_eq!(strip_aws_chunked("aws-chunked,gzip"), Some("gzip".to_owned()));
        assert_eq!(strip_aws_chunked("gzip, AWS-Chunked , br"), Some("gzip, br".to_owned()));
        assert_eq!(strip_aws_chunked(""), None);
    }

    #[test]
    fn copy_sources() {
        let (b, k, v) = parse_copy_source("/src-bucket/a%20b/c%2Bd?versionId=null", Dialect::Aws).unwrap();
        assert_eq!((b.as_str(), k.as_str(), v.as_deref()), ("src-bucket", "a b/c+d", Some("null")));
        let (b, k, _) = parse_copy_source("src-bucket/k+1", Dialect::Aws).unwrap();
        assert_eq!((b.as_str(), k.as_str()), ("src-bucket", "k+1"));
        let (b, k, _) =
            parse_copy_source("examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/exampleobject", Dialect::Cos)
                .unwrap();
        assert_eq!((b.as_str(), k.as_str()), ("examplebucket-1250000000", "exampleobject"));
        for bad in ["", "/", "/bucket", "/bucket/", "/Bad_Bucket/k", "/bucket/%zz", "bucket"] {
            assert_eq!(parse_copy_source(bad, Dialect::Aws).unwrap_err().code, ErrorCode::InvalidArgument, "{bad}");
        }
    }

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in pairs {
            m.append(http::HeaderName::from_bytes(n.as_bytes()).unwrap(), http::HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn framing() {
        let f = body_framing(&map(&[("content-length", "10")])).unwrap();
        assert_eq!(
            (f.wire_length, f.decoded_length, f.aws_chunked, f.transfer_chunked),
            (Some(10), Some(10), false, false)
        );
        let f = body_framing(&map(&[("content-length", "10"), ("transfer-encoding", "gzip, chunked")])).unwrap();
        assert_eq!((f.wire_length, f.decoded_length, f.transfer_chunked), (None, None, true));
        let f = body_framing(&map(&[
            ("transfer-encoding", "chunked"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "192"),
        ]))
        .unwrap();
        assert_eq!((f.wire_length, f.decoded_length, f.aws_chunked), (None, Some(192), true));
        let f = body_framing(&map(&[
            ("content-length", "9863"),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ("x-amz-decoded-content-length", "9600"),
        ]))
        .unwrap();
        assert_eq!((f.wire_length, f.decoded_length, f.aws_chunked), (Some(9863), Some(9600), true));
        assert_eq!(body_framing(&HeaderMap::new()).unwrap(), BodyFraming::default());
        let err = body_framing(&map(&[("content-encoding", "aws-chunked")])).unwrap_err();
        assert_eq!(err.code, ErrorCode::MissingContentLength);
        assert_eq!(body_framing(&map(&[("content-length", "-1")])).unwrap_err().code, ErrorCode::BadRequest);
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("max-keys", "10").unwrap(), Some(10));
        assert_eq!(parse_count("max-keys", "").unwrap(), None);
        assert_eq!(parse_count("max-keys", "2147483647").unwrap(), Some(2_147_483_647));
        for bad in ["-1", "abc", "1.5", "2147483648", "99999999999999999999999"] {
            assert_eq!(parse_count("max-keys", bad).unwrap_err().code, ErrorCode::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn etag_lists() {
        assert_eq!(parse_etag_list("*"), vec![EtagCondition::Any]);
        let list = parse_etag_list("\"abc\", W/\"def\" ,");
        assert_eq!(list.len(), 2);
        assert!(parse_etag_list("\"\"").is_empty());
    }
}
