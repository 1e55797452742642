//! The [`Client`]: one signed request per operation, in the configured dialect.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use md5::{Digest as _, Md5};
use tessera_proto::encoding::{uri_encode_component, uri_encode_path};
use tessera_proto::xml::{self, ErrorDocument, XmlDocument};
use tessera_proto::{Checksum, ChecksumAlgorithm, ChecksumType, Dialect, ETag, ErrorCode, PartNumber, UploadId};
use tessera_sign::{ResourceView, Signer};

use crate::config::{Addressing, ClientConfig};
use crate::error::{ClientError, ServiceError};
use crate::transport::{HyperTransport, ResponseBody, Transport};

/// Largest XML answer read (a ListParts page of 1000 parts with every checksum is ~300 KB).
const MAX_XML_ANSWER: usize = 16 * 1024 * 1024;
/// Largest error body read.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A client of one service in one dialect. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    signer: Option<Signer>,
    transport: Arc<dyn Transport>,
    /// `scheme://authority` of the endpoint.
    base: String,
    /// The endpoint's `host[:port]`.
    authority: String,
    /// `None` for path style, else the domain under which buckets are hosts.
    virtual_domain: Option<String>,
}

/// Optional attributes of a new object (PutObject, CreateMultipartUpload, CopyObject with
/// `REPLACE`).
#[derive(Clone, Debug, Default)]
pub struct ObjectOptions {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// User metadata, names without the dialect's prefix (`x-amz-meta-` is added).
    pub metadata: Vec<(String, String)>,
    /// Storage class, in the dialect's spelling.
    pub storage_class: Option<String>,
}

/// The object a copy reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopySource<'a> {
    /// Its bucket.
    pub bucket: &'a str,
    /// Its key.
    pub key: &'a str,
    /// For UploadPartCopy: the first and last byte to copy (inclusive); `None` copies it all.
    pub range: Option<(u64, u64)>,
}

impl CopySource<'_> {
    /// `/bucket/key`, the key percent-encoded, as `x-*-copy-source` carries it.
    fn header_value(&self) -> String {
        format!("/{}/{}", self.bucket, uri_encode_path(self.key))
    }
}

/// What PutObject or UploadPart answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOutput {
    /// The ETag.
    pub etag: ETag,
    /// The vendor CRC-64/ECMA header (`x-oss-hash-crc64ecma` …), when the dialect has one.
    pub crc64ecma: Option<u64>,
    /// The `x-amz-checksum-*` value the service answered with, if any.
    pub checksum: Option<Checksum>,
}

/// What HeadObject answered (and the head of a GetObject).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `Content-Length`: the object's size for HEAD, the length of the range for a ranged GET.
    pub content_length: u64,
    /// The object's total size (from `Content-Range` when ranged).
    pub size: u64,
    /// The ETag.
    pub etag: Option<ETag>,
    /// `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The vendor CRC-64/ECMA of the whole object, when the dialect has the header.
    pub crc64ecma: Option<u64>,
    /// The full-object or composite `x-amz-checksum-*` and its type, if stored and not ranged.
    pub checksum: Option<(Checksum, ChecksumType)>,
    /// Parts of a multipart object (`x-*-mp-parts-count`).
    pub parts_count: Option<u32>,
    /// User metadata, names without the prefix.
    pub metadata: Vec<(String, String)>,
}

/// A GetObject answer: the head, and the body still streaming.
pub struct GetObjectOutput {
    /// The head.
    pub info: ObjectInfo,
    /// The body.
    pub body: ResponseBody,
    read_timeout: Duration,
}

impl std::fmt::Debug for GetObjectOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetObjectOutput").field("info", &self.info).finish_non_exhaustive()
    }
}

impl GetObjectOutput {
    /// Reads the whole body into memory (for small objects).
    pub async fn bytes(self) -> Result<Bytes, ClientError> {
        let limit = usize::try_from(self.info.content_length).unwrap_or(usize::MAX);
        collect(self.body, limit, self.read_timeout).await
    }

    /// The next piece of the body, `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        next_chunk(&mut self.body, self.read_timeout).await
    }
}

/// What CompleteMultipartUpload answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompleteOutput {
    /// The object's ETag.
    pub etag: ETag,
    /// The vendor CRC-64/ECMA of the object, from the header (or KS3's XML element).
    pub crc64ecma: Option<u64>,
    /// The result document.
    pub document: xml::CompleteMultipartUploadResult,
}

/// How a new multipart upload checksums its parts (`x-amz-checksum-algorithm` and
/// `x-amz-checksum-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadChecksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// Full-object or composite.
    pub kind: ChecksumType,
}

/// A request being built.
pub(crate) struct Req<'a> {
    pub(crate) method: Method,
    pub(crate) bucket: Option<&'a str>,
    pub(crate) key: Option<&'a str>,
    /// Parameters, unencoded; `None` values are sent bare (`?uploads`).
    pub(crate) query: Vec<(&'a str, Option<String>)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl<'a> Req<'a> {
    pub(crate) fn new(method: Method, bucket: Option<&'a str>, key: Option<&'a str>) -> Req<'a> {
        Req { method, bucket, key, query: Vec::new(), headers: HeaderMap::new(), body: Bytes::new() }
    }

    pub(crate) fn param(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.query.push((name, Some(value.into())));
        self
    }

    pub(crate) fn flag(mut self, name: &'a str) -> Self {
        self.query.push((name, None));
        self
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Result<Self, ClientError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ClientError::config(format!("{name:?} is not a header name")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| ClientError::config(format!("the value of {name} cannot be sent in a header")))?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// A body, with its `Content-MD5`.
    pub(crate) fn body_with_md5(mut self, body: Bytes, md5: &[u8; 16]) -> Self {
        if let Ok(v) = HeaderValue::from_str(&B64.encode(md5)) {
            self.headers.insert("content-md5", v);
        }
        self.body = body;
        self
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A uniformly random `u32` for retry jitter, from the standard library's per-process keys.
pub(crate) fn jitter() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish() as u32
}

/// The MD5 of `data`.
pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

impl Client {
    /// A client over the real network transport.
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let transport = HyperTransport::new(&config.tls, &config.timeouts, config.max_idle_per_host)?;
        Client::with_transport(config, transport)
    }

    /// A client over `transport` (in-process servers, fault injection, recording).
    pub fn with_transport(config: ClientConfig, transport: impl Transport) -> Result<Client, ClientError> {
        let scheme = config.endpoint.scheme_str().unwrap_or("http").to_owned();
        let authority = config
            .endpoint
            .authority()
            .map(|a| a.as_str().to_owned())
            .ok_or_else(|| ClientError::config("the endpoint has no host"))?;
        let virtual_domain = match (&config.addressing, config.dialect) {
            (Addressing::Path, _) => None,
            (Addressing::VirtualHost { domain: Some(d) }, _) => Some(d.clone()),
            (Addressing::Auto, Dialect::Cos) | (Addressing::VirtualHost { domain: None }, Dialect::Cos) => {
                let host = config.endpoint.host().unwrap_or("");
                if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') || host == "localhost" {
                    Some(format!("cos.{}.myqcloud.com", config.region))
                } else {
                    Some(authority.clone())
                }
            }
            (Addressing::VirtualHost { domain: None }, _) => Some(authority.clone()),
            (Addressing::Auto, _) => None,
        };
        let signer = config
            .credentials
            .as_ref()
            .map(|c| Signer::new(c.access_key.clone(), c.secret.clone(), config.signing_scheme()));
        let base = format!("{scheme}://{authority}");
        Ok(Client {
            inner: Arc::new(Inner { config, signer, transport: Arc::new(transport), base, authority, virtual_domain }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The dialect spoken.
    pub fn dialect(&self) -> Dialect {
        self.inner.config.dialect
    }

    /// The host, request-target and resource view of a request.
    fn locate(&self, bucket: Option<&str>, key: Option<&str>, query: &[(&str, Option<String>)]) -> Located {
        let inner = &self.inner;
        let encoded_key = key.map(uri_encode_path);
        let (host, mut target) = match (bucket, &inner.virtual_domain) {
            (Some(b), Some(domain)) => (format!("{b}.{domain}"), format!("/{}", encoded_key.as_deref().unwrap_or(""))),
            (Some(b), None) => {
                let mut t = format!("/{b}");
                if let Some(k) = &encoded_key {
                    t.push('/');
                    t.push_str(k);
                }
                (inner.authority.clone(), t)
            }
            (None, _) => (inner.authority.clone(), "/".to_owned()),
        };
        for (i, (name, value)) in query.iter().enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(&uri_encode_component(name));
            if let Some(v) = value {
                target.push('=');
                target.push_str(&uri_encode_component(v));
            }
        }
        Located { host, target, virtual_host: inner.virtual_domain.is_some() }
    }

    /// Builds and signs one attempt of `req`.
    fn build(&self, req: &Req<'_>) -> Result<Request<Bytes>, ClientError> {
        let located = self.locate(req.bucket, req.key, &req.query);
        let mut headers = req.headers.clone();
        headers.insert(
            header::HOST,
            HeaderValue::from_str(&located.host).map_err(|_| ClientError::config("the host is not a valid header"))?,
        );
        if !req.body.is_empty() || matches!(req.method, Method::PUT | Method::POST) {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(req.body.len()));
        }
        if let Some(signer) = &self.inner.signer {
            let resource = match req.bucket {
                None => ResourceView::service(),
                Some(b) if located.virtual_host => ResourceView::virtual_host(b),
                Some(b) => ResourceView::path_style(b),
            };
            signer
                .sign(req.method.as_str(), &located.target, &mut headers, &resource, now_secs())
                .map_err(|e| ClientError::config(format!("signing: {e}")))?;
        }
        let uri = format!("{}{}", self.inner.base, located.target);
        let mut request = Request::builder()
            .method(req.method.clone())
            .uri(uri)
            .body(req.body.clone())
            .map_err(|e| ClientError::config(format!("request: {e}")))?;
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// Sends `req` once; a response with an error status becomes [`ClientError::Service`].
    pub(crate) async fn send_once(&self, req: &Req<'_>) -> Result<Response<ResponseBody>, ClientError> {
        let request = self.build(req)?;
        let timeouts = self.inner.config.timeouts;
        let response = tokio::time::timeout(timeouts.response, self.inner.transport.send(request))
            .await
            .map_err(|_| ClientError::Timeout("the response"))??;
        let status = response.status();
        if status.is_success() || (status == StatusCode::NOT_MODIFIED && req.method == Method::GET) {
            return Ok(response);
        }
        Err(self.service_error(response, req).await)
    }

    /// Sends `req`, retrying retryable failures with the configured backoff.
    pub(crate) async fn send(&self, req: &Req<'_>) -> Result<Response<ResponseBody>, ClientError> {
        let policy = self.inner.config.retry;
        let mut attempt = 1;
        loop {
            match self.send_once(req).await {
                Err(e) if e.is_retryable() && attempt < policy.max_attempts.max(1) => {
                    tokio::time::sleep(policy.delay(attempt, jitter())).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Sends `req` and reads a whole XML answer of type `T`.
    pub(crate) async fn send_xml<T: XmlDocument>(&self, req: &Req<'_>) -> Result<(HeaderMap, T), ClientError> {
        let response = self.send(req).await?;
        let (parts, body) = response.into_parts();
        let bytes = collect(body, MAX_XML_ANSWER, self.inner.config.timeouts.read).await?;
        let doc = self.parse_xml::<T>(&bytes, &parts.headers, parts.status)?;
        Ok((parts.headers, doc))
    }

    fn parse_xml<T: XmlDocument>(
        &self,
        bytes: &[u8],
        headers: &HeaderMap,
        status: StatusCode,
    ) -> Result<T, ClientError> {
        match xml::from_xml::<T>(bytes) {
            Ok(doc) => Ok(doc),
            // CompleteMultipartUpload may answer 200 with an <Error> body.
            Err(e) => match xml::from_xml::<ErrorDocument>(bytes) {
                Ok(err) => Err(ClientError::Service(self.service_error_from(status.as_u16(), headers, err))),
                Err(_) => Err(ClientError::invalid(format!("<{}>: {e}", T::ROOT))),
            },
        }
    }

    async fn service_error(&self, response: Response<ResponseBody>, req: &Req<'_>) -> ClientError {
        let (parts, body) = response.into_parts();
        let status = parts.status.as_u16();
        let bytes = match collect(body, MAX_ERROR_BODY, self.inner.config.timeouts.read).await {
            Ok(b) => b,
            Err(e) if status >= 500 => return e,
            Err(_) => Bytes::new(),
        };
        let mut doc = xml::from_xml::<ErrorDocument>(&bytes).ok();
        if doc.is_none() && self.dialect() == Dialect::Oss {
            // OSS puts the error of a body-less answer (HEAD) in base64 in `x-oss-err`.
            doc = parts
                .headers
                .get("x-oss-err")
                .and_then(|v| B64.decode(v.as_bytes()).ok())
                .and_then(|xml| xml::from_xml::<ErrorDocument>(&xml).ok());
        }
        let doc = doc.unwrap_or_else(|| {
            let code = match status {
                404 if req.key.is_some() => ErrorCode::NoSuchKey,
                404 => ErrorCode::NoSuchBucket,
                403 => ErrorCode::AccessDenied,
                412 => ErrorCode::PreconditionFailed,
                _ => {
                    ErrorCode::from_code(parts.status.canonical_reason().unwrap_or("Unknown").replace(' ', "").as_str())
                }
            };
            let mut d = ErrorDocument::new(code);
            d.message = String::new();
            d
        });
        ClientError::Service(self.service_error_from(status, &parts.headers, doc))
    }

    fn service_error_from(&self, status: u16, headers: &HeaderMap, doc: ErrorDocument) -> ServiceError {
        let request_id = header_str(headers, self.dialect().spec().request_id_header)
            .or_else(|| header_str(headers, "x-amz-request-id"))
            .map(str::to_owned)
            .or(doc.request_id.filter(|r| !r.is_empty()));
        ServiceError {
            status,
            code: doc.code,
            message: doc.message,
            request_id,
            resource: doc.resource.filter(|r| !r.is_empty()),
        }
    }

    fn crc64_of(&self, headers: &HeaderMap) -> Option<u64> {
        let name = self.dialect().spec().crc64_header?;
        header_str(headers, name)?.trim().parse().ok()
    }

    fn vendor(&self, suffix: &str) -> String {
        self.dialect().header(suffix)
    }

    fn with_object_options<'r>(&self, mut req: Req<'r>, options: &ObjectOptions) -> Result<Req<'r>, ClientError> {
        if let Some(ct) = &options.content_type {
            req = req.header("content-type", ct)?;
        }
        let prefix = self.dialect().spec().meta_prefix;
        for (name, value) in &options.metadata {
            req = req.header(&format!("{prefix}{}", name.to_ascii_lowercase()), value)?;
        }
        if let Some(class) = &options.storage_class {
            req = req.header(&self.vendor("storage-class"), class)?;
        }
        Ok(req)
    }

    fn write_output(&self, headers: &HeaderMap, sent_md5: Option<&[u8; 16]>) -> Result<WriteOutput, ClientError> {
        let etag = header_str(headers, "etag")
            .and_then(|v| ETag::parse(v).ok())
            .ok_or_else(|| ClientError::invalid("the answer has no ETag"))?;
        if let (Some(sent), Some(got)) = (sent_md5, etag.md5())
            && &got != sent
        {
            return Err(ClientError::Integrity(format!(
                "the service stored MD5 {} but {} was sent",
                hex::encode(got),
                hex::encode(sent)
            )));
        }
        let checksum = ChecksumAlgorithm::ALL
            .into_iter()
            .find_map(|a| header_str(headers, a.header_name()).and_then(|v| Checksum::from_base64(a, v).ok()));
        Ok(WriteOutput { etag, crc64ecma: self.crc64_of(headers), checksum })
    }

    // ---- Buckets ----

    /// ListBuckets.
    pub async fn list_buckets(&self) -> Result<xml::ListAllMyBucketsResult, ClientError> {
        Ok(self.send_xml(&Req::new(Method::GET, None, None)).await?.1)
    }

    /// CreateBucket.
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), ClientError> {
        self.send(&Req::new(Method::PUT, Some(bucket), None)).await.map(drop)
    }

    /// DeleteBucket (it must be empty).
    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), ClientError> {
        self.send(&Req::new(Method::DELETE, Some(bucket), None)).await.map(drop)
    }

    /// HeadBucket: whether the bucket exists and is reachable with these credentials.
    pub async fn head_bucket(&self, bucket: &str) -> Result<(), ClientError> {
        self.send(&Req::new(Method::HEAD, Some(bucket), None)).await.map(drop)
    }

    /// One page of ListObjectsV2.
    pub async fn list_objects_v2(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        delimiter: Option<&str>,
        continuation_token: Option<&str>,
        max_keys: Option<u32>,
    ) -> Result<xml::ListBucketResultV2, ClientError> {
        let mut req = Req::new(Method::GET, Some(bucket), None).param("list-type", "2");
        if let Some(p) = prefix {
            req = req.param("prefix", p);
        }
        if let Some(d) = delimiter {
            req = req.param("delimiter", d);
        }
        if let Some(t) = continuation_token {
            req = req.param("continuation-token", t);
        }
        if let Some(m) = max_keys {
            req = req.param("max-keys", m.to_string());
        }
        Ok(self.send_xml(&req).await?.1)
    }

    /// Every object under `prefix` (all ListObjectsV2 pages), and the common prefixes when
    /// `delimiter` is given.
    pub async fn list_all_objects(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        delimiter: Option<&str>,
    ) -> Result<(Vec<xml::ObjectEntry>, Vec<String>), ClientError> {
        let mut objects = Vec::new();
        let mut prefixes = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.list_objects_v2(bucket, prefix, delimiter, token.as_deref(), None).await?;
            objects.extend(page.contents);
            prefixes.extend(page.common_prefixes.into_iter().map(|p| p.prefix));
            match (page.is_truncated, page.next_continuation_token) {
                (true, Some(next)) if Some(&next) != token.as_ref() => token = Some(next),
                (true, _) => return Err(ClientError::invalid("a truncated listing without a new continuation token")),
                (false, _) => return Ok((objects, prefixes)),
            }
        }
    }

    // ---- Objects ----

    /// PutObject of `body` (at most 5 GiB), with `Content-MD5` and, if asked, an
    /// `x-amz-checksum-*` value. The answer's ETag is checked against the MD5 sent.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        options: &ObjectOptions,
        checksum: Option<ChecksumAlgorithm>,
    ) -> Result<WriteOutput, ClientError> {
        let digest = md5(&body);
        let mut req = self.with_object_options(Req::new(Method::PUT, Some(bucket), Some(key)), options)?;
        if let Some(algorithm) = checksum {
            let value = compute_checksum(algorithm, &body)?;
            req = req.header(algorithm.header_name(), &value.to_base64())?;
        }
        let req = req.body_with_md5(body, &digest);
        let response = self.send(&req).await?;
        self.write_output(response.headers(), Some(&digest))
    }

    /// HeadObject.
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, ClientError> {
        let response = self.send(&Req::new(Method::HEAD, Some(bucket), Some(key))).await?;
        Ok(self.object_info(response.headers()))
    }

    /// GetObject, the whole object or `range` (inclusive first and last byte), only if its
    /// ETag is still `if_match` when given.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
        if_match: Option<&ETag>,
    ) -> Result<GetObjectOutput, ClientError> {
        let mut req = Req::new(Method::GET, Some(bucket), Some(key));
        if let Some((first, last)) = range {
            req = req.header("range", &format!("bytes={first}-{last}"))?;
        }
        if let Some(etag) = if_match {
            req = req.header("if-match", &etag.quoted())?;
        }
        let response = self.send(&req).await?;
        let (parts, body) = response.into_parts();
        Ok(GetObjectOutput {
            info: self.object_info(&parts.headers),
            body,
            read_timeout: self.inner.config.timeouts.read,
        })
    }

    fn object_info(&self, headers: &HeaderMap) -> ObjectInfo {
        let content_length = header_str(headers, "content-length").and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        let size = header_str(headers, "content-range")
            .and_then(|v| v.rsplit_once('/'))
            .and_then(|(_, total)| total.trim().parse().ok())
            .unwrap_or(content_length);
        let kind = header_str(headers, "x-amz-checksum-type").and_then(|v| v.parse::<ChecksumType>().ok());
        let checksum = ChecksumAlgorithm::ALL.into_iter().find_map(|a| {
            let value = header_str(headers, a.header_name())?;
            // A composite value carries `-N`: keep the digest, the type says what it is.
            let (digest, composite) = match value.split_once('-') {
                Some((d, _)) => (d, true),
                None => (value, false),
            };
            let ty = kind.unwrap_or(if composite { ChecksumType::Composite } else { ChecksumType::FullObject });
            Checksum::from_base64(a, digest).ok().map(|c| (c, ty))
        });
        let prefix = self.dialect().spec().meta_prefix;
        let metadata = headers
            .iter()
            .filter_map(|(n, v)| {
                let name = n.as_str().strip_prefix(prefix)?;
                Some((name.to_owned(), v.to_str().ok()?.to_owned()))
            })
            .collect();
        ObjectInfo {
            content_length,
            size,
            etag: header_str(headers, "etag").and_then(|v| ETag::parse(v).ok()),
            last_modified: header_str(headers, "last-modified").map(str::to_owned),
            content_type: header_str(headers, "content-type").map(str::to_owned),
            crc64ecma: self.crc64_of(headers),
            checksum,
            parts_count: header_str(headers, &self.vendor("mp-parts-count")).and_then(|v| v.trim().parse().ok()),
            metadata,
        }
    }

    /// DeleteObject (succeeds for a key that does not exist, as S3 does).
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), ClientError> {
        self.send(&Req::new(Method::DELETE, Some(bucket), Some(key))).await.map(drop)
    }

    /// CopyObject from `source` (server side, at most 5 GiB; `source.range` is ignored); with
    /// `replace` the new object takes `replace`'s attributes instead of the source's.
    pub async fn copy_object(
        &self,
        source: &CopySource<'_>,
        bucket: &str,
        key: &str,
        replace: Option<&ObjectOptions>,
    ) -> Result<xml::CopyObjectResult, ClientError> {
        let source = source.header_value();
        let mut req = Req::new(Method::PUT, Some(bucket), Some(key)).header(&self.vendor("copy-source"), &source)?;
        if let Some(options) = replace {
            req = req.header(&self.vendor("metadata-directive"), "REPLACE")?;
            req = self.with_object_options(req, options)?;
        }
        Ok(self.send_xml(&req).await?.1)
    }

    // ---- Multipart ----

    pub(crate) fn create_upload_req<'r>(
        &self,
        bucket: &'r str,
        key: &'r str,
        options: &ObjectOptions,
        checksum: Option<UploadChecksum>,
    ) -> Result<Req<'r>, ClientError> {
        let mut req =
            self.with_object_options(Req::new(Method::POST, Some(bucket), Some(key)).flag("uploads"), options)?;
        if let Some(c) = checksum {
            req = req.header("x-amz-checksum-algorithm", c.algorithm.as_str())?;
            req = req.header("x-amz-checksum-type", c.kind.as_str())?;
        }
        Ok(req)
    }

    pub(crate) async fn create_upload_with(&self, req: &Req<'_>, once: bool) -> Result<UploadId, ClientError> {
        let response = if once { self.send_once(req).await? } else { self.send(req).await? };
        let (parts, body) = response.into_parts();
        let bytes = collect(body, MAX_XML_ANSWER, self.inner.config.timeouts.read).await?;
        let doc: xml::InitiateMultipartUploadResult = self.parse_xml(&bytes, &parts.headers, parts.status)?;
        UploadId::new(&doc.upload_id).map_err(|e| ClientError::invalid(format!("upload id: {e}")))
    }

    /// CreateMultipartUpload.
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        options: &ObjectOptions,
        checksum: Option<UploadChecksum>,
    ) -> Result<UploadId, ClientError> {
        let req = self.create_upload_req(bucket, key, options, checksum)?;
        self.create_upload_with(&req, false).await
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn upload_part_req<'r>(
        &self,
        bucket: &'r str,
        key: &'r str,
        upload_id: &UploadId,
        number: PartNumber,
        body: Bytes,
        md5: Option<&[u8; 16]>,
        checksum: Option<&Checksum>,
    ) -> Result<Req<'r>, ClientError> {
        let mut req = Req::new(Method::PUT, Some(bucket), Some(key))
            .param("partNumber", number.get().to_string())
            .param("uploadId", upload_id.as_str());
        if let Some(c) = checksum {
            req = req.header(c.algorithm().header_name(), &c.to_base64())?;
        }
        Ok(match md5 {
            Some(m) => req.body_with_md5(body, m),
            None => {
                req.body = body;
                req
            }
        })
    }

    /// UploadPart of `body` (with `Content-MD5`, and the part's `x-amz-checksum-*` value
    /// when the upload has an algorithm). The answer's ETag is checked against the MD5 sent.
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &UploadId,
        number: PartNumber,
        body: Bytes,
        checksum: Option<ChecksumAlgorithm>,
    ) -> Result<WriteOutput, ClientError> {
        let digest = md5(&body);
        let checksum = checksum.map(|a| compute_checksum(a, &body)).transpose()?;
        let req = self.upload_part_req(bucket, key, upload_id, number, body, Some(&digest), checksum.as_ref())?;
        let response = self.send(&req).await?;
        self.write_output(response.headers(), Some(&digest))
    }

    pub(crate) async fn upload_part_once(
        &self,
        req: &Req<'_>,
        md5: Option<&[u8; 16]>,
    ) -> Result<WriteOutput, ClientError> {
        let response = self.send_once(req).await?;
        self.write_output(response.headers(), md5)
    }

    /// UploadPartCopy of `source`: the whole object or `source.range`.
    pub async fn upload_part_copy(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &UploadId,
        number: PartNumber,
        source: &CopySource<'_>,
    ) -> Result<xml::CopyPartResult, ClientError> {
        let mut req = Req::new(Method::PUT, Some(bucket), Some(key))
            .param("partNumber", number.get().to_string())
            .param("uploadId", upload_id.as_str())
            .header(&self.vendor("copy-source"), &source.header_value())?;
        if let Some((first, last)) = source.range {
            req = req.header(&self.vendor("copy-source-range"), &format!("bytes={first}-{last}"))?;
        }
        Ok(self.send_xml(&req).await?.1)
    }

    /// One page of ListParts after `part_number_marker`.
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &UploadId,
        part_number_marker: Option<u32>,
        max_parts: Option<u32>,
    ) -> Result<xml::ListPartsResult, ClientError> {
        let mut req = Req::new(Method::GET, Some(bucket), Some(key)).param("uploadId", upload_id.as_str());
        if let Some(m) = part_number_marker {
            req = req.param("part-number-marker", m.to_string());
        }
        if let Some(m) = max_parts {
            req = req.param("max-parts", m.to_string());
        }
        Ok(self.send_xml(&req).await?.1)
    }

    /// Every part of an upload (all ListParts pages).
    pub async fn list_all_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &UploadId,
    ) -> Result<Vec<xml::PartEntry>, ClientError> {
        let mut parts = Vec::new();
        let mut marker = None;
        loop {
            let page = self.list_parts(bucket, key, upload_id, marker, None).await?;
            parts.extend(page.parts);
            match (page.is_truncated, page.next_part_number_marker) {
                (true, Some(next)) if Some(next) != marker => marker = Some(next),
                (true, _) => return Err(ClientError::invalid("a truncated ListParts page without a new marker")),
                (false, _) => return Ok(parts),
            }
        }
    }

    pub(crate) fn complete_req<'r>(
        &self,
        bucket: &'r str,
        key: &'r str,
        upload_id: &UploadId,
        parts: &[tessera_multipart::CompletePart],
    ) -> Req<'r> {
        let doc = xml::CompleteMultipartUpload {
            parts: parts
                .iter()
                .map(|p| {
                    let mut part = xml::CompletedPart::new(p.number, p.etag.clone());
                    if let Some(c) = &p.checksum {
                        let v = Some(c.to_base64());
                        match c.algorithm() {
                            ChecksumAlgorithm::Crc32 => part.checksum_crc32 = v,
                            ChecksumAlgorithm::Crc32c => part.checksum_crc32c = v,
                            ChecksumAlgorithm::Crc64Nvme => part.checksum_crc64nvme = v,
                            ChecksumAlgorithm::Sha1 => part.checksum_sha1 = v,
                            ChecksumAlgorithm::Sha256 => part.checksum_sha256 = v,
                        }
                    }
                    part
                })
                .collect(),
        };
        let body = Bytes::from(xml::to_xml(&doc, self.dialect()));
        let digest = md5(&body);
        Req::new(Method::POST, Some(bucket), Some(key))
            .param("uploadId", upload_id.as_str())
            .body_with_md5(body, &digest)
    }

    pub(crate) async fn complete_with(&self, req: &Req<'_>, once: bool) -> Result<CompleteOutput, ClientError> {
        let response = if once { self.send_once(req).await? } else { self.send(req).await? };
        let (parts, body) = response.into_parts();
        let bytes = collect(body, MAX_XML_ANSWER, self.inner.config.timeouts.read).await?;
        let document: xml::CompleteMultipartUploadResult = self.parse_xml(&bytes, &parts.headers, parts.status)?;
        let crc64ecma = self
            .crc64_of(&parts.headers)
            .or_else(|| document.checksum_crc64ecma.as_deref().and_then(|v| v.trim().parse().ok()));
        Ok(CompleteOutput { etag: document.etag.clone(), crc64ecma, document })
    }

    /// CompleteMultipartUpload with `parts` (ascending).
    pub async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &UploadId,
        parts: &[tessera_multipart::CompletePart],
    ) -> Result<CompleteOutput, ClientError> {
        let req = self.complete_req(bucket, key, upload_id, parts);
        self.complete_with(&req, false).await
    }

    /// AbortMultipartUpload.
    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &UploadId,
    ) -> Result<(), ClientError> {
        let req = Req::new(Method::DELETE, Some(bucket), Some(key)).param("uploadId", upload_id.as_str());
        self.send(&req).await.map(drop)
    }

    /// One page of ListMultipartUploads.
    pub async fn list_multipart_uploads(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        key_marker: Option<&str>,
        upload_id_marker: Option<&str>,
    ) -> Result<xml::ListMultipartUploadsResult, ClientError> {
        let mut req = Req::new(Method::GET, Some(bucket), None).flag("uploads");
        if let Some(p) = prefix {
            req = req.param("prefix", p);
        }
        if let Some(k) = key_marker {
            req = req.param("key-marker", k);
        }
        if let Some(u) = upload_id_marker {
            req = req.param("upload-id-marker", u);
        }
        Ok(self.send_xml(&req).await?.1)
    }

    /// Every upload in progress under `prefix` (all pages).
    pub async fn list_all_multipart_uploads(
        &self,
        bucket: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<xml::UploadEntry>, ClientError> {
        let mut uploads = Vec::new();
        let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self.list_multipart_uploads(bucket, prefix, key_marker.as_deref(), id_marker.as_deref()).await?;
            uploads.extend(page.uploads);
            if !page.is_truncated {
                return Ok(uploads);
            }
            let next = (page.next_key_marker, page.next_upload_id_marker);
            if next.0.is_none() || (next.0 == key_marker && next.1 == id_marker) {
                return Err(ClientError::invalid("a truncated uploads listing without new markers"));
            }
            (key_marker, id_marker) = next;
        }
    }

    // ---- Presigning ----

    /// A presigned URL for `method` on `bucket`/`key` with the operation's `query`
    /// (unencoded name/value pairs, e.g. `partNumber`, `uploadId`), valid for `expires`.
    pub fn presign(
        &self,
        method: &Method,
        bucket: &str,
        key: Option<&str>,
        query: &[(&str, &str)],
        expires: Duration,
    ) -> Result<String, ClientError> {
        let signer = self.inner.signer.as_ref().ok_or_else(|| ClientError::config("presigning needs credentials"))?;
        let query: Vec<(&str, Option<String>)> = query.iter().map(|(n, v)| (*n, Some((*v).to_owned()))).collect();
        let located = self.locate(Some(bucket), key, &query);
        let resource =
            if located.virtual_host { ResourceView::virtual_host(bucket) } else { ResourceView::path_style(bucket) };
        let target = signer
            .presign(method.as_str(), &located.target, &located.host, &resource, now_secs(), expires.as_secs())
            .map_err(|e| ClientError::config(format!("presigning: {e}")))?;
        let scheme = self.inner.config.endpoint.scheme_str().unwrap_or("http");
        Ok(format!("{scheme}://{}{target}", located.host))
    }
}

struct Located {
    host: String,
    target: String,
    virtual_host: bool,
}

pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `x-amz-checksum-*` value of `data` (CRC algorithms only).
pub(crate) fn compute_checksum(algorithm: ChecksumAlgorithm, data: &[u8]) -> Result<Checksum, ClientError> {
    let (crc, width) = match algorithm {
        ChecksumAlgorithm::Crc32 => (crc_fast::CrcAlgorithm::Crc32IsoHdlc, 4),
        ChecksumAlgorithm::Crc32c => (crc_fast::CrcAlgorithm::Crc32Iscsi, 4),
        ChecksumAlgorithm::Crc64Nvme => (crc_fast::CrcAlgorithm::Crc64Nvme, 8),
        ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => {
            return Err(ClientError::config("only CRC checksums are computed by this client"));
        }
    };
    let value = crc_fast::checksum(crc, data);
    let bytes = value.to_be_bytes();
    let digest = bytes.get(8 - width..).unwrap_or(&bytes);
    Checksum::new(algorithm, digest).map_err(|e| ClientError::config(e.to_string()))
}

/// The next piece of `body`, waiting at most `timeout`.
pub(crate) async fn next_chunk(body: &mut ResponseBody, timeout: Duration) -> Result<Option<Bytes>, ClientError> {
    loop {
        let frame = tokio::time::timeout(timeout, body.frame()).await.map_err(|_| ClientError::Timeout("the body"))?;
        match frame {
            None => return Ok(None),
            Some(Err(e)) => return Err(ClientError::Transport(format!("reading the body: {e}"))),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data()
                    && !data.is_empty()
                {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// Reads a whole body of at most `limit` bytes.
pub(crate) async fn collect(mut body: ResponseBody, limit: usize, timeout: Duration) -> Result<Bytes, ClientError> {
    let mut out = BytesMut::new();
    while let Some(chunk) = next_chunk(&mut body, timeout).await? {
        if out.len() + chunk.len() > limit {
            return Err(ClientError::invalid(format!("the answer is longer than {limit} bytes")));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Credentials;

    fn client(dialect: Dialect, endpoint: &str, addressing: Addressing) -> Client {
        let mut config = ClientConfig::new(endpoint, dialect).unwrap().with_credentials(Credentials::new("AK", "SK"));
        config.addressing = addressing;
        Client::new(config).unwrap()
    }

    #[test]
    fn path_and_virtual_host_targets() {
        let c = client(Dialect::Aws, "http://127.0.0.1:9000", Addressing::Auto);
        let l = c.locate(Some("b"), Some("a b/c+d"), &[("uploadId", Some("x/y".into())), ("uploads", None)]);
        assert_eq!(l.host, "127.0.0.1:9000");
        assert_eq!(l.target, "/b/a%20b/c%2Bd?uploadId=x%2Fy&uploads");
        assert!(!l.virtual_host);

        let c = client(
            Dialect::Oss,
            "http://127.0.0.1:9000",
            Addressing::VirtualHost { domain: Some("oss.local:9000".into()) },
        );
        let l = c.locate(Some("b"), Some("k"), &[]);
        assert_eq!((l.host.as_str(), l.target.as_str()), ("b.oss.local:9000", "/k"));

        // COS: always a virtual host; with an IP endpoint, the SDK's public host name.
        let c = client(Dialect::Cos, "http://127.0.0.1:9000", Addressing::Auto);
        let l = c.locate(Some("b"), None, &[]);
        assert_eq!((l.host.as_str(), l.target.as_str()), ("b.cos.ap-guangzhou.myqcloud.com", "/"));
        assert_eq!(c.locate(None, None, &[]).host, "127.0.0.1:9000");
    }

    #[test]
    fn every_dialect_signs_with_its_scheme() {
        let words = [
            (Dialect::Aws, "AWS4-HMAC-SHA256 "),
            (Dialect::Obs, "OBS AK:"),
            (Dialect::Cos, "q-sign-algorithm=sha1&"),
            (Dialect::Oss, "OSS4-HMAC-SHA256 "),
            (Dialect::Ks3, "KSS AK:"),
        ];
        for (dialect, word) in words {
            let c = client(dialect, "http://127.0.0.1:9000", Addressing::Auto);
            let req = Req::new(Method::PUT, Some("b"), Some("k")).body_with_md5(Bytes::from_static(b"x"), &md5(b"x"));
            let built = c.build(&req).unwrap();
            let auth = built.headers().get("authorization").unwrap().to_str().unwrap();
            assert!(auth.starts_with(word), "{dialect}: {auth}");
            assert_eq!(built.headers().get("content-length").unwrap(), "1");
        }
    }

    #[test]
    fn checksums_have_their_widths() {
        let c = compute_checksum(ChecksumAlgorithm::Crc32c, b"123456789").unwrap();
        // CRC-32C check value 0xE3069283.
        assert_eq!(c.digest(), &[0xE3, 0x06, 0x92, 0x83]);
        assert!(compute_checksum(ChecksumAlgorithm::Sha256, b"").is_err());
    }

    #[test]
    fn presigned_urls_carry_the_scheme_parameters() {
        let c = client(Dialect::Aws, "http://127.0.0.1:9000", Addressing::Auto);
        let url = c.presign(&Method::GET, "b", Some("k"), &[], Duration::from_secs(60)).unwrap();
        assert!(url.starts_with("http://127.0.0.1:9000/b/k?"), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
        let c = client(Dialect::Oss, "http://127.0.0.1:9000", Addressing::Auto);
        let url = c.presign(&Method::GET, "b", Some("k"), &[], Duration::from_secs(60)).unwrap();
        assert!(url.contains("x-oss-signature="), "{url}");
    }
}
