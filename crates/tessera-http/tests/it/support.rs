//! Building request heads for the tests.

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use tessera_http::{HttpError, Route, Routing, parse_operation, route};
use tessera_proto::Dialect;
use tessera_proto::ops::Operation;

/// The routing every test uses: the local service domains the vectors were captured with.
pub(crate) fn routing() -> Routing {
    Routing::new(["s3.mock.local", "obs.mock.local", "cos.mock.local"])
}

/// A header map from `(name, value)` pairs; panics on names or values `http` refuses, which
/// only a broken test writes.
pub(crate) fn headers<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("test header name");
        let value = HeaderValue::from_bytes(value).expect("test header value");
        map.append(name, value);
    }
    map
}

/// Routes and parses one request in `dialect`.
pub(crate) fn parse(dialect: Dialect, method: &str, uri: &str, head: &[(&str, &str)]) -> Result<Operation, HttpError> {
    let (_, op) = parse_with_route(dialect, method, uri, head)?;
    Ok(op)
}

/// As [`parse`], also returning the route.
pub(crate) fn parse_with_route(
    dialect: Dialect,
    method: &str,
    uri: &str,
    head: &[(&str, &str)],
) -> Result<(Route, Operation), HttpError> {
    let method = Method::from_bytes(method.as_bytes()).expect("test method");
    let uri: Uri = uri.parse().expect("test uri");
    let mut map = headers(head.iter().map(|(n, v)| (*n, v.as_bytes())));
    if !map.contains_key(http::header::HOST) {
        map.insert(http::header::HOST, HeaderValue::from_static("127.0.0.1:9000"));
    }
    let route = route(&uri, &map, &routing())?;
    let op = parse_operation(&method, &map, &route, dialect)?;
    Ok((route, op))
}

/// The bucket and key an operation names.
pub(crate) fn bucket_key(op: &Operation) -> (Option<&str>, Option<&str>) {
    use Operation as O;
    match op {
        O::ListBuckets => (None, None),
        O::CreateBucket { bucket, .. }
        | O::DeleteBucket { bucket }
        | O::HeadBucket { bucket }
        | O::GetBucketLocation { bucket }
        | O::ListObjects { bucket, .. }
        | O::ListObjectVersions { bucket, .. }
        | O::ListMultipartUploads { bucket, .. }
        | O::GetBucketLifecycle { bucket }
        | O::PutBucketLifecycle { bucket }
        | O::DeleteBucketLifecycle { bucket }
        | O::GetBucketEncryption { bucket }
        | O::PutBucketEncryption { bucket }
        | O::DeleteBucketEncryption { bucket }
        | O::GetBucketAcl { bucket }
        | O::PutBucketAcl { bucket, .. }
        | O::DeleteObjects { bucket } => (Some(bucket.as_str()), None),
        O::PutObject { bucket, key, .. }
        | O::GetObject { bucket, key, .. }
        | O::HeadObject { bucket, key, .. }
        | O::DeleteObject { bucket, key, .. }
        | O::CopyObject { bucket, key, .. }
        | O::GetObjectTagging { bucket, key }
        | O::PutObjectTagging { bucket, key }
        | O::DeleteObjectTagging { bucket, key }
        | O::GetObjectAcl { bucket, key }
        | O::PutObjectAcl { bucket, key, .. }
        | O::GetObjectAttributes { bucket, key, .. }
        | O::CreateMultipartUpload { bucket, key, .. }
        | O::UploadPart { bucket, key, .. }
        | O::UploadPartCopy { bucket, key, .. }
        | O::CompleteMultipartUpload { bucket, key, .. }
        | O::AbortMultipartUpload { bucket, key, .. }
        | O::ListParts { bucket, key, .. } => (Some(bucket.as_str()), Some(key.as_str())),
        _ => panic!("an operation the tests do not know: {op:?}"),
    }
}

/// The variant name of an operation (`"UploadPart"`).
pub(crate) fn name(op: &Operation) -> String {
    let debug = format!("{op:?}");
    debug.split([' ', '{', '(']).next().unwrap_or("").to_owned()
}
