//! From an operation's outcome to status, headers and XML, in the request's dialect.
//!
//! [`render`] turns an [`Output`] into a response; [`render_error`] an [`S3Error`];
//! [`add_common_headers`] adds what every response carries (request ids, `Date`, `Server`).
//! Object data is never here: for [`Output::Object`] the response has the status and headers
//! (with the `Content-Length` of the range served) and an empty body the server replaces with
//! the stream.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Response, StatusCode};
use tessera_proto::ops::{ContentHeaders, Document, ObjectHead, Output, ResponseOverrides, S3Error, SseResponse};
use tessera_proto::values::{ResolvedRange, SseHeaderNames, StorageClass};
use tessera_proto::xml::{self, ErrorDocument};
use tessera_proto::{Checksum, ChecksumType, Dialect, ETag, ErrorCode};

/// `Content-Type` of every XML body.
pub const XML_CONTENT_TYPE: &str = "application/xml";

/// The value of the `Server` header.
pub const SERVER: &str = "Tessera";

/// OSS's error-centre code sent in `<EC>` and `x-oss-ec` when no specific one applies.
pub const OSS_DEFAULT_EC: &str = "0000-00000000";

/// A response being built: bodies only where the method allows one.
struct Builder {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Builder {
    fn new(status: StatusCode) -> Self {
        Builder { status, headers: HeaderMap::new(), body: Bytes::new() }
    }

    /// Sets `name` to `value`; values a header cannot carry (control characters) are left out.
    fn set(&mut self, name: &str, value: impl AsRef<[u8]>) {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value.as_ref()))
        {
            self.headers.insert(name, value);
        }
    }

    fn xml(&mut self, body: Vec<u8>) {
        self.set("content-type", XML_CONTENT_TYPE);
        self.body = Bytes::from(body);
    }

    fn finish(mut self, method: &Method) -> Response<Bytes> {
        if method == Method::HEAD || self.status == StatusCode::NOT_MODIFIED || self.status == StatusCode::NO_CONTENT {
            // A HEAD answer keeps the length the GET would have had; 304 and 204 have none.
            if !self.headers.contains_key(header::CONTENT_LENGTH)
                && method == Method::HEAD
                && self.status != StatusCode::NOT_MODIFIED
            {
                self.set("content-length", self.body.len().to_string());
            }
            self.body = Bytes::new();
        } else if !self.headers.contains_key(header::CONTENT_LENGTH) {
            self.set("content-length", self.body.len().to_string());
        }
        let mut response = Response::new(self.body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }

    fn etag(&mut self, etag: &ETag) {
        self.set("etag", etag.quoted());
    }

    fn crc64(&mut self, dialect: Dialect, crc: u64) {
        if let Some(name) = dialect.spec().crc64_header {
            self.set(name, crc.to_string());
        }
    }

    fn checksum(&mut self, checksum: &Checksum, suffix: Option<u32>) {
        let mut value = checksum.to_base64();
        if let Some(n) = suffix {
            value.push_str(&format!("-{n}"));
        }
        self.set(checksum.algorithm().header_name(), value);
    }

    fn sse(&mut self, dialect: Dialect, sse: &SseResponse) {
        let names = SseHeaderNames::for_dialect(dialect);
        match sse {
            SseResponse::S3 => self.set(&names.algorithm, "AES256"),
            SseResponse::Kms { key_id } => {
                if let Some(algorithm) = dialect.spec().kms_algorithms.first() {
                    self.set(&names.algorithm, algorithm);
                }
                if !key_id.is_empty() {
                    self.set(&names.kms_key_id, key_id);
                }
            }
            SseResponse::Customer { key_md5 } => {
                self.set(&names.customer_algorithm, "AES256");
                self.set(&names.customer_key_md5, key_md5);
            }
        }
    }

    fn document(&mut self, dialect: Dialect, document: &Document) {
        self.xml(document.to_xml(dialect));
    }
}

/// Renders a successful outcome as `dialect` answers it.
///
/// For [`Output::Object`] the body is empty and `Content-Length` is the length of what the
/// server must stream (the range served, or the whole object); for HEAD it is the same
/// header and no body. Every other output is complete, XML bodies with
/// `Content-Type: application/xml`. The caller adds [`add_common_headers`].
pub fn render(output: &Output, dialect: Dialect, method: &Method) -> Response<Bytes> {
    let mut b = Builder::new(StatusCode::OK);
    match output {
        Output::Ok => {}
        Output::NoContent => b.status = StatusCode::NO_CONTENT,
        Output::Xml(document) => b.document(dialect, document),
        Output::BucketHead { region } => {
            let name = if dialect == Dialect::Obs { "bucket-location" } else { "bucket-region" };
            b.set(&dialect.header(name), region);
        }
        Output::BucketCreated { location } => b.set("location", location),
        Output::ObjectWritten { etag, crc64ecma, checksum, sse, document } => {
            b.etag(etag);
            b.crc64(dialect, *crc64ecma);
            if let Some(c) = checksum {
                b.checksum(c, None);
            }
            if let Some(s) = sse {
                b.sse(dialect, s);
            }
            if let Some(d) = document {
                b.document(dialect, d);
            }
        }
        Output::PartWritten { etag, crc64ecma, checksum, sse, document } => {
            b.etag(etag);
            b.crc64(dialect, *crc64ecma);
            if let Some(c) = checksum {
                b.checksum(c, None);
            }
            if let Some(s) = sse {
                b.sse(dialect, s);
            }
            if let Some(d) = document {
                b.document(dialect, d);
            }
        }
        Output::Multipart { document, crc64ecma, sse, checksum_algorithm } => {
            if let Some(crc) = crc64ecma {
                b.crc64(dialect, *crc);
            }
            if let Some(s) = sse {
                b.sse(dialect, s);
            }
            if let Some(a) = checksum_algorithm {
                b.set("x-amz-checksum-algorithm", a.as_str());
            }
            // oss2 reads the completed object's ETag from the header only (OSS sends both).
            if let Document::CompleteMultipartUploadResult(doc) = document {
                b.etag(&doc.etag);
            }
            match (document, crc64ecma) {
                // ks3sdk fails on a Complete result without <ChecksumCRC64ECMA>.
                (Document::CompleteMultipartUploadResult(doc), Some(crc))
                    if dialect == Dialect::Ks3 && doc.checksum_crc64ecma.is_none() =>
                {
                    let mut doc = doc.clone();
                    doc.checksum_crc64ecma = Some(crc.to_string());
                    b.xml(xml::to_xml(&doc, dialect));
                }
                _ => b.document(dialect, document),
            }
        }
        Output::Object { head, range, overrides } => object(&mut b, dialect, head, *range, overrides),
        Output::NotModified { etag, last_modified } => {
            b.status = StatusCode::NOT_MODIFIED;
            b.etag(etag);
            b.set("last-modified", last_modified.to_http_date());
        }
        Output::ObsApiVersion => b.set("x-obs-api", "3.0"),
        // An output this version does not know: a server bug, never the client's.
        _ => {
            let err = S3Error::internal("The server produced an outcome it cannot render.");
            return render_error(&err, dialect, method, "", "");
        }
    }
    b.finish(method)
}

/// The headers of a GET or HEAD of an object.
fn object(b: &mut Builder, dialect: Dialect, head: &ObjectHead, range: Option<ResolvedRange>, o: &ResponseOverrides) {
    match range {
        Some(r) => {
            b.status = StatusCode::PARTIAL_CONTENT;
            b.set("content-length", r.len().to_string());
            b.set("content-range", r.content_range(head.size));
        }
        None => b.set("content-length", head.size.to_string()),
    }
    b.set("accept-ranges", "bytes");
    b.etag(&head.etag);
    b.set("last-modified", head.last_modified.to_http_date());
    let c: &ContentHeaders = &head.content;
    let pick = |over: &Option<String>, stored: &Option<String>| over.clone().or_else(|| stored.clone());
    let content = [
        ("content-type", pick(&o.content_type, &c.content_type)),
        ("cache-control", pick(&o.cache_control, &c.cache_control)),
        ("content-disposition", pick(&o.content_disposition, &c.content_disposition)),
        ("content-encoding", pick(&o.content_encoding, &c.content_encoding)),
        ("content-language", pick(&o.content_language, &c.content_language)),
        ("expires", pick(&o.expires, &c.expires)),
    ];
    for (name, value) in content {
        if let Some(v) = value {
            b.set(name, v);
        }
    }
    for (name, value) in head.metadata.headers(dialect) {
        b.set(&name, value);
    }
    if let Some(class) = head.storage_class {
        // S3 leaves the header out for STANDARD; the vendors always say it.
        if !(dialect == Dialect::Aws && class == StorageClass::default_for(Dialect::Aws)) {
            b.set(&dialect.header("storage-class"), class.as_str());
        }
    }
    if let Some(sse) = &head.sse {
        b.sse(dialect, sse);
    }
    b.crc64(dialect, head.crc64ecma);
    if let (Some((checksum, ty)), None) = (&head.checksum, range) {
        let suffix = match ty {
            ChecksumType::Composite => head.parts_count,
            ChecksumType::FullObject => None,
        };
        b.checksum(checksum, suffix);
        b.set("x-amz-checksum-type", ty.as_str());
    }
    if head.tag_count > 0 {
        b.set(&dialect.header("tagging-count"), head.tag_count.to_string());
    }
    if let Some(n) = head.parts_count {
        b.set(&dialect.header("mp-parts-count"), n.to_string());
    }
    if let Some(location) = &head.website_redirect {
        b.set(&dialect.header("website-redirect-location"), location);
    }
    if dialect == Dialect::Oss {
        b.set("x-oss-object-type", if head.parts_count.is_some() { "Multipart" } else { "Normal" });
    }
}

/// Renders an error as `dialect` answers it: the status of its code, an `<Error>` body (no
/// namespace) with Code, Message and the dialect's extras — COS gets Code, Message, Resource
/// and RequestId always (its SDK reports "Unknown" otherwise) plus TraceId; OSS gets
/// RequestId, HostId and EC; AWS, OBS and KS3 Resource and RequestId, and AWS and OBS HostId.
///
/// HEAD answers and `304` carry no body. OSS SDKs read a bodiless error from the base64 XML in
/// `x-oss-err` (and the EC from `x-oss-ec`), so OSS HEAD errors carry both headers. The
/// response also has the dialect's request-id headers.
pub fn render_error(
    err: &S3Error,
    dialect: Dialect,
    method: &Method,
    request_id: &str,
    host_id: &str,
) -> Response<Bytes> {
    let status = StatusCode::from_u16(err.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut b = Builder::new(status);
    let extras = dialect.spec().error_extras;
    let mut doc = ErrorDocument::new(err.code.clone());
    doc.message = err.message.to_string();
    for (name, value) in &err.extra {
        doc.push_extra(name, value.clone());
    }
    if extras.resource {
        doc.resource = Some(err.resource.clone().unwrap_or_default());
    }
    doc.request_id = Some(request_id.to_owned());
    if extras.host_id {
        doc.host_id = Some(host_id.to_owned());
    }
    if extras.ec {
        doc.ec = Some(OSS_DEFAULT_EC.to_owned());
    }
    if extras.trace_id {
        doc.trace_id = Some(if host_id.is_empty() { request_id.to_owned() } else { host_id.to_owned() });
    }
    let body = xml::to_xml(&doc, dialect);
    if dialect == Dialect::Oss && method == Method::HEAD {
        b.set("x-oss-err", B64.encode(&body));
        b.set("x-oss-ec", OSS_DEFAULT_EC);
    }
    if err.code != ErrorCode::NotModified {
        b.xml(body);
    }
    request_ids(&mut b.headers, dialect, request_id, host_id);
    let mut response = b.finish(method);
    if method == Method::HEAD && status != StatusCode::NOT_MODIFIED {
        // The length of a body that was never sent would only mislead.
        response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    response
}

/// Adds the headers every response carries: the dialect's request-id header (and its second
/// id header: `x-amz-id-2`, `x-obs-id-2`, COS's `x-cos-trace-id`), `Date` (formatted by the
/// caller, RFC 1123: no clock here) and `Server: Tessera`. Replaces existing values, so it is
/// safe to call on a response [`render_error`] already gave ids.
pub fn add_common_headers(headers: &mut HeaderMap, dialect: Dialect, request_id: &str, host_id: &str, date: &str) {
    request_ids(headers, dialect, request_id, host_id);
    if let Ok(v) = HeaderValue::from_str(date) {
        headers.insert(header::DATE, v);
    }
    headers.insert(header::SERVER, HeaderValue::from_static(SERVER));
}

fn request_ids(headers: &mut HeaderMap, dialect: Dialect, request_id: &str, host_id: &str) {
    let spec = dialect.spec();
    let mut put = |name: &str, value: &str| {
        if value.is_empty() {
            return;
        }
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.insert(n, v);
        }
    };
    put(spec.request_id_header, request_id);
    if let Some(id2) = spec.id2_header {
        put(id2, if host_id.is_empty() { request_id } else { host_id });
    }
}

impl From<crate::HttpError> for S3Error {
    fn from(e: crate::HttpError) -> Self {
        S3Error::new(e.code, e.message)
    }
}
