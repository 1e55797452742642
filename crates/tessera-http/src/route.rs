//! Where a request goes: which bucket and key, addressed how, and in which dialect.
//!
//! A bucket is found in the Host header when the host is `<bucket>.<service domain>` for a
//! configured domain or one of the vendors' public endpoint patterns (COS, for one, always sends
//! `Host: <bucket>.cos.<region>.myqcloud.com` with no bucket in the path); otherwise it is the
//! first path segment (path style). The path is percent-decoded once; `+` in a path is a plus.

use http::HeaderMap;
use tessera_proto::{BucketName, Dialect, ObjectKey};

use crate::HttpError;
use crate::query::{Query, percent_decode_utf8};

/// How the bucket was addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    /// `/bucket/key`.
    Path,
    /// `Host: bucket.<domain>`, path `/key`.
    VirtualHost,
}

/// Routing configuration: the service domains under which virtual-host buckets live.
#[derive(Clone, Debug, Default)]
pub struct Routing {
    domains: Vec<String>,
}

impl Routing {
    /// Routing for the given service domains (`s3.local`, `cos.local`, …), lower-cased, no port.
    pub fn new<I, S>(domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut domains: Vec<String> = domains
            .into_iter()
            .map(|d| d.as_ref().trim().trim_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        // Longest first, so `s3.eu.local` wins over `local`.
        domains.sort_by_key(|d| std::cmp::Reverse(d.len()));
        Routing { domains }
    }

    /// The configured service domains.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The bucket, if the request names one.
    pub bucket: Option<BucketName>,
    /// The key, if the request names one.
    pub key: Option<ObjectKey>,
    /// How the bucket was addressed (path style when there is no bucket).
    pub addressing: Addressing,
    /// The dialect the host name implies, if it is a vendor's public endpoint.
    pub host_dialect: Option<Dialect>,
    /// The host name, lower case, without port.
    pub host: String,
    /// The decoded query.
    pub query: Query,
}

/// Finds the bucket, key and query of a request from its URI and headers.
pub fn route(uri: &http::Uri, headers: &HeaderMap, routing: &Routing) -> Result<Route, HttpError> {
    let host = host_of(uri, headers);
    let query = Query::parse(uri.query().unwrap_or(""))?;
    let path = percent_decode_utf8(uri.path())?;
    let path = path.strip_prefix('/').unwrap_or(&path);

    let (host_bucket, host_dialect) = bucket_from_host(&host, routing);
    let (bucket, key, addressing) = match host_bucket {
        Some(bucket) => (Some(bucket), path, Addressing::VirtualHost),
        None => match path.split_once('/') {
            Some((bucket, key)) => (Some(bucket), key, Addressing::Path),
            None => (Some(path).filter(|b| !b.is_empty()), "", Addressing::Path),
        },
    };
    let bucket = bucket.map(|b| BucketName::new(b).map_err(HttpError::from)).transpose()?;
    let key = if key.is_empty() { None } else { Some(ObjectKey::new(key)?) };
    if bucket.is_none() && key.is_some() {
        return Err(HttpError::invalid_uri("A key was given without a bucket."));
    }
    Ok(Route { bucket, key, addressing, host_dialect, host, query })
}

/// The Host header (or the URI's authority, as HTTP/2 sends it), lower case, without port.
pub fn host_of(uri: &http::Uri, headers: &HeaderMap) -> String {
    let raw = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    strip_port(raw).to_ascii_lowercase()
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest.split_once(']').map_or(host, |(addr, _)| addr);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The bucket named by a virtual-host name, and the vendor the host belongs to.
fn bucket_from_host<'h>(host: &'h str, routing: &Routing) -> (Option<&'h str>, Option<Dialect>) {
    if host.is_empty() || host.parse::<std::net::IpAddr>().is_ok() {
        return (None, None);
    }
    for domain in &routing.domains {
        if host == domain {
            return (None, vendor_of_endpoint(host));
        }
        if let Some(bucket) = host.strip_suffix(domain.as_str()).and_then(|b| b.strip_suffix('.')) {
            return (Some(bucket), vendor_of_endpoint(domain));
        }
    }
    if let Some(dialect) = vendor_of_endpoint(host) {
        return (None, Some(dialect));
    }
    // `<bucket>.<vendor endpoint>`: the bucket is everything before the endpoint's first label.
    let mut rest = host;
    while let Some((_, tail)) = rest.split_once('.') {
        if let Some(dialect) = vendor_of_endpoint(tail) {
            let bucket = &host[..host.len() - tail.len() - 1];
            return (Some(bucket), Some(dialect));
        }
        rest = tail;
    }
    (None, None)
}

/// Whether `host` is a vendor's public service endpoint (no bucket in it), and whose.
fn vendor_of_endpoint(host: &str) -> Option<Dialect> {
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        ["s3", "amazonaws", "com"] | ["s3", _, "amazonaws", "com"] => Some(Dialect::Aws),
        [s3, "amazonaws", "com"] if s3.starts_with("s3-") || s3.starts_with("s3.") => Some(Dialect::Aws),
        ["s3", "dualstack", _, "amazonaws", "com"] => Some(Dialect::Aws),
        ["cos", _, "myqcloud", "com"] | ["cos", _, "tencentcos", "cn"] => Some(Dialect::Cos),
        [oss, "aliyuncs", "com"] if oss.starts_with("oss-") || *oss == "oss" => Some(Dialect::Oss),
        ["obs", _, "myhuaweicloud", "com"] | ["obs", "myhuaweicloud", "com"] => Some(Dialect::Obs),
        [ks3, "ksyuncs", "com"] if ks3.starts_with("ks3-") || ks3.starts_with("kss") => Some(Dialect::Ks3),
        // Names a local stand-in commonly uses: `cos.local`, `oss.local`, `obs.local`, …
        [first, ..] => match *first {
            "s3" => Some(Dialect::Aws),
            "obs" => Some(Dialect::Obs),
            "cos" => Some(Dialect::Cos),
            "oss" => Some(Dialect::Oss),
            "ks3" => Some(Dialect::Ks3),
            _ => None,
        },
        [] => None,
    }
}

/// The dialect of a request: the one its signature implies, else the one its vendor headers
/// name (`x-obs-…`), else the host's vendor, else AWS.
pub fn dialect_of(signature_dialect: Option<Dialect>, headers: &HeaderMap, route: &Route) -> Dialect {
    if let Some(d) = signature_dialect {
        return d;
    }
    let from_headers =
        headers.keys().filter_map(|name| Dialect::from_header_name(name.as_str())).find(|d| *d != Dialect::Aws);
    from_headers.or(route.host_dialect).unwrap_or(Dialect::Aws)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(uri: &str, host: &str, routing: &Routing) -> Result<Route, HttpError> {
        let uri: http::Uri = uri.parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, host.parse().unwrap());
        route(&uri, &headers, routing)
    }

    fn bk(r: &Route) -> (Option<&str>, Option<&str>) {
        (r.bucket.as_ref().map(|b| b.as_str()), r.key.as_ref().map(|k| k.as_str()))
    }

    #[test]
    fn path_style() {
        let none = Routing::default();
        let r = go("/examplebucket/photos/2025/cat.jpg?uploads", "127.0.0.1:9000", &none).unwrap();
        assert_eq!(bk(&r), (Some("examplebucket"), Some("photos/2025/cat.jpg")));
        assert_eq!(r.addressing, Addressing::Path);
        assert!(r.query.has("uploads"));
        let r = go("/examplebucket", "127.0.0.1:9000", &none).unwrap();
        assert_eq!(bk(&r), (Some("examplebucket"), None));
        let r = go("/examplebucket/", "127.0.0.1:9000", &none).unwrap();
        assert_eq!(bk(&r), (Some("examplebucket"), None));
        let r = go("/", "127.0.0.1:9000", &none).unwrap();
        assert_eq!(bk(&r), (None, None));
    }

    #[test]
    fn keys_decode_once_and_plus_is_plus() {
        let none = Routing::default();
        // oss2 encodes `/` inside keys.
        let r = go("/examplebucket/a%20b%2Fc%2Bd%25e", "127.0.0.1", &none).unwrap();
        assert_eq!(bk(&r).1, Some("a b/c+d%e"));
        let r = go("/examplebucket/a+b", "127.0.0.1", &none).unwrap();
        assert_eq!(bk(&r).1, Some("a+b"));
        let r = go("/examplebucket/%E6%96%87%E4%BB%B6/%C3%BC%20%C3%A9.txt", "127.0.0.1", &none).unwrap();
        assert_eq!(bk(&r).1, Some("文件/ü é.txt"));
        // A leading slash and dot segments are part of the key, never resolved.
        let r = go("/examplebucket//etc/../passwd", "127.0.0.1", &none).unwrap();
        assert_eq!(bk(&r).1, Some("/etc/../passwd"));
    }

    #[test]
    fn configured_domains() {
        let routing = Routing::new(["s3.local", "cos.local"]);
        let r = go("/photos/cat.jpg", "examplebucket.s3.local:9000", &routing).unwrap();
        assert_eq!(bk(&r), (Some("examplebucket"), Some("photos/cat.jpg")));
        assert_eq!(r.addressing, Addressing::VirtualHost);
        let r = go("/examplebucket/k", "s3.local:9000", &routing).unwrap();
        assert_eq!(bk(&r), (Some("examplebucket"), Some("k")));
        assert_eq!(r.addressing, Addressing::Path);
        let r = go("/", "my.dotted.bucket.s3.local", &routing).unwrap();
        assert_eq!(bk(&r), (Some("my.dotted.bucket"), None));
    }

    #[test]
    fn vendor_hosts_without_configuration() {
        let none = Routing::default();
        // COS in IP mode: the TCP connection goes to 127.0.0.1, the bucket is only in Host.
        let r =
            go("/photos/cat.jpg?uploads=", "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com", &none).unwrap();
        assert_eq!(bk(&r), (Some("examplebucket-1250000000"), Some("photos/cat.jpg")));
        assert_eq!(r.host_dialect, Some(Dialect::Cos));
        let r = go("/k", "examplebucket.oss-cn-hangzhou.aliyuncs.com:9000", &none).unwrap();
        assert_eq!((bk(&r).0, r.host_dialect), (Some("examplebucket"), Some(Dialect::Oss)));
        let r = go("/examplebucket/k", "oss-cn-hangzhou.aliyuncs.com:9000", &none).unwrap();
        assert_eq!((bk(&r).0, r.addressing), (Some("examplebucket"), Addressing::Path));
        let r = go("/k", "examplebucket.ks3-cn-beijing.ksyuncs.com", &none).unwrap();
        assert_eq!(r.host_dialect, Some(Dialect::Ks3));
        let r = go("/k", "examplebucket.obs.mock.local:9000", &Routing::new(["obs.mock.local"])).unwrap();
        assert_eq!((bk(&r).0, r.host_dialect), (Some("examplebucket"), Some(Dialect::Obs)));
        let r = go("/k", "examplebucket.s3.us-east-1.amazonaws.com", &none).unwrap();
        assert_eq!((bk(&r).0, r.host_dialect), (Some("examplebucket"), Some(Dialect::Aws)));
    }

    #[test]
    fn bad_uris_are_client_errors() {
        let none = Routing::default();
        assert!(go("/examplebucket/%zz", "127.0.0.1", &none).is_err());
        assert!(go("/examplebucket/%ff", "127.0.0.1", &none).is_err());
        assert!(go("/Bad_Bucket/k", "127.0.0.1", &none).is_err());
        let long = format!("/examplebucket/{}", "a".repeat(1025));
        let err = go(&long, "127.0.0.1", &none).unwrap_err();
        assert_eq!(err.code, tessera_proto::ErrorCode::KeyTooLongError);
    }

    #[test]
    fn dialect_resolution() {
        let none = Routing::default();
        let r = go("/bkt/k", "127.0.0.1", &none).unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(dialect_of(None, &headers, &r), Dialect::Aws);
        headers.insert("x-obs-acl", "private".parse().unwrap());
        assert_eq!(dialect_of(None, &headers, &r), Dialect::Obs);
        assert_eq!(dialect_of(Some(Dialect::Ks3), &headers, &r), Dialect::Ks3);
        let cos = go("/k", "examplebucket.cos.ap-guangzhou.myqcloud.com", &none).unwrap();
        assert_eq!(dialect_of(None, &HeaderMap::new(), &cos), Dialect::Cos);
    }
}
