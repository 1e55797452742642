//! The borrowed view of a request head that every scheme reads.

use http::HeaderMap;

use crate::util::percent_decode;

/// What a signature covers of a request: method, raw request-target, headers, host.
///
/// Nothing is normalised: the path and query are kept exactly as they came off the wire,
/// because every scheme canonicalises them differently.
#[derive(Clone, Copy, Debug)]
pub struct RequestHead<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a HeaderMap,
    authority: Option<&'a str>,
}

impl<'a> RequestHead<'a> {
    /// A head from the method, the raw request-target (`/path?query`, as sent) and the headers.
    pub fn new(method: &'a str, target: &'a str, headers: &'a HeaderMap) -> RequestHead<'a> {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, q),
            None => (target, ""),
        };
        RequestHead { method, path, query, headers, authority: None }
    }

    /// A head from `http` request parts (hyper keeps the path and query as sent). The URI's
    /// authority stands in for a missing `Host` header (HTTP/2 `:authority`).
    pub fn from_parts(parts: &'a http::request::Parts) -> RequestHead<'a> {
        let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let mut head = RequestHead::new(parts.method.as_str(), target, &parts.headers);
        head.authority = parts.uri.authority().map(|a| a.as_str());
        head
    }

    /// Uses `host` when the request carries no `Host` header.
    pub fn with_authority(mut self, host: &'a str) -> RequestHead<'a> {
        self.authority = Some(host);
        self
    }

    /// The method, as sent.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The raw path, still percent-encoded.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The raw query, without the `?`.
    pub fn query(&self) -> &'a str {
        self.query
    }

    /// The headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The `Host` header, or the URI authority.
    pub fn host(&self) -> Option<&'a str> {
        match self.headers.get(http::header::HOST) {
            Some(v) => v.to_str().ok(),
            None => self.authority,
        }
    }

    /// Every value of header `name`, joined with `,` (None when absent).
    pub(crate) fn header_joined(&self, name: &str) -> Option<Vec<u8>> {
        let mut values = self.headers.get_all(name).iter();
        let first = values.next()?;
        let mut out = first.as_bytes().to_vec();
        for v in values {
            out.push(b',');
            out.extend_from_slice(v.as_bytes());
        }
        Some(out)
    }

    /// The first value of header `name` as text, if it is visible ASCII.
    pub(crate) fn header_str(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The decoded query parameters, in wire order.
    pub(crate) fn params(&self) -> Vec<Param> {
        parse_query(self.query)
    }

    /// The path, percent-decoded once (`+` stays `+`).
    pub(crate) fn decoded_path(&self) -> Vec<u8> {
        percent_decode(self.path.as_bytes(), false)
    }
}

/// Where the bucket of a request came from. Routing is `tessera-http`'s business: it decides
/// the bucket and tells the verifier, which needs it for the canonical resource of the
/// schemes that sign one (SigV2, OBS, KS3, OSS V1/V4). SigV4 and COS sign the wire path and
/// Host as sent, and ignore it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceView<'a> {
    /// The bucket, if the request names one.
    pub bucket: Option<&'a str>,
    /// `true` when the bucket is not the first path segment (virtual-host style, a custom
    /// domain, COS): the whole path is then the key.
    pub virtual_host: bool,
}

impl<'a> ResourceView<'a> {
    /// Path style: the bucket is the first path segment.
    pub fn path_style(bucket: &'a str) -> ResourceView<'a> {
        ResourceView { bucket: Some(bucket), virtual_host: false }
    }

    /// Virtual-host style: the bucket came from the Host header (or a custom domain).
    pub fn virtual_host(bucket: &'a str) -> ResourceView<'a> {
        ResourceView { bucket: Some(bucket), virtual_host: true }
    }

    /// No bucket (service-level requests such as ListBuckets).
    pub fn service() -> ResourceView<'a> {
        ResourceView { bucket: None, virtual_host: false }
    }

    /// The decoded key of `head` (empty for bucket- and service-level requests).
    pub(crate) fn key(&self, head: &RequestHead<'_>) -> Vec<u8> {
        let decoded = head.decoded_path();
        let rest = decoded.strip_prefix(b"/").unwrap_or(&decoded);
        if self.virtual_host || self.bucket.is_none() {
            return rest.to_vec();
        }
        match rest.iter().position(|&b| b == b'/') {
            Some(i) => rest.get(i + 1..).unwrap_or_default().to_vec(),
            None => Vec::new(),
        }
    }
}

/// One query parameter, decoded (`+` → space, then `%XX`).
#[derive(Clone, Debug)]
pub(crate) struct Param {
    pub(crate) name: Vec<u8>,
    /// `None` for a parameter sent without `=` (`?uploads`).
    pub(crate) value: Option<Vec<u8>>,
}

impl Param {
    pub(crate) fn value_or_empty(&self) -> &[u8] {
        self.value.as_deref().unwrap_or_default()
    }
}

pub(crate) fn parse_query(query: &str) -> Vec<Param> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (raw_name, raw_value) = match pair.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (pair, None),
            };
            Param {
                name: percent_decode(raw_name.as_bytes(), true),
                value: raw_value.map(|v| percent_decode(v.as_bytes(), true)),
            }
        })
        .collect()
}

/// The first parameter named `name` (decoded names compared exactly).
pub(crate) fn find_param<'p>(params: &'p [Param], name: &str) -> Option<&'p Param> {
    params.iter().find(|p| p.name == name.as_bytes())
}

/// The value of `name` as UTF-8 text.
pub(crate) fn param_str(params: &[Param], name: &str) -> Option<String> {
    find_param(params, name).and_then(|p| String::from_utf8(p.value_or_empty().to_vec()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_from_paths() {
        let h = HeaderMap::new();
        let head = RequestHead::new("GET", "/examplebucket/a%20b/c%2Bd%25e?uploads", &h);
        assert_eq!(head.query(), "uploads");
        assert_eq!(ResourceView::path_style("examplebucket").key(&head), b"a b/c+d%e");
        assert_eq!(ResourceView::virtual_host("x").key(&head), b"examplebucket/a b/c+d%e");
        let bucket_only = RequestHead::new("GET", "/examplebucket", &h);
        assert_eq!(ResourceView::path_style("examplebucket").key(&bucket_only), b"");
        let params = parse_query("uploads&prefix=photos%2F+2025&x=");
        assert_eq!(params.len(), 3);
        assert!(params[0].value.is_none());
        assert_eq!(params[1].value.as_deref(), Some(&b"photos/ 2025"[..]));
        assert_eq!(params[2].value.as_deref(), Some(&b""[..]));
    }
}

#[cfg(test)]
mod parts_tests {
    use super::*;

    #[test]
    fn from_parts_keeps_the_raw_target_and_falls_back_to_the_authority() {
        let req = http::Request::builder()
            .method("PUT")
            .uri("http://b.s3.local:9000/a%20b/c%2Bd?partNumber=1&uploadId=x")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let head = RequestHead::from_parts(&parts);
        assert_eq!(head.method(), "PUT");
        assert_eq!(head.path(), "/a%20b/c%2Bd");
        assert_eq!(head.query(), "partNumber=1&uploadId=x");
        assert_eq!(head.host(), Some("b.s3.local:9000"));
    }
}
