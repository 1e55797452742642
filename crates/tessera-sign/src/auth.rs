//! Parsing a request's authentication, and verifying it once the caller has the secret.

use tessera_proto::Dialect;

use crate::body::{BodyCheck, Payload};
use crate::cos::{self, CosAuth};
use crate::head::{RequestHead, ResourceView};
use crate::oss4::{self, Oss4Auth};
use crate::sigv4::{self, V4Auth};
use crate::v2::{self, Flavor, V2Auth};
use crate::{Secret, SignError};

/// A signature scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// AWS Signature Version 4 (`AWS4-HMAC-SHA256`), also OBS in its `signature="v4"` mode.
    SigV4,
    /// AWS Signature Version 2 (`AWS ak:sig`), also OBS SDK in path style.
    SigV2,
    /// Huawei OBS native (`OBS ak:sig`).
    Obs,
    /// Tencent COS (`q-sign-algorithm=sha1&…`).
    Cos,
    /// Aliyun OSS V1 (`OSS ak:sig`).
    OssV1,
    /// Aliyun OSS V4 (`OSS4-HMAC-SHA256`).
    OssV4,
    /// Kingsoft KS3 (`KSS ak:sig`).
    Ks3,
}

impl Scheme {
    /// The dialect a request signed this way speaks. SigV4 and SigV2 say AWS; an OBS client in
    /// its AWS-compatible modes is told apart only by routing (`tessera-http`).
    pub fn dialect(self) -> Dialect {
        match self {
            Scheme::SigV4 | Scheme::SigV2 => Dialect::Aws,
            Scheme::Obs => Dialect::Obs,
            Scheme::Cos => Dialect::Cos,
            Scheme::OssV1 | Scheme::OssV4 => Dialect::Oss,
            Scheme::Ks3 => Dialect::Ks3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Parsed {
    V4(V4Auth),
    V2(Flavor, V2Auth),
    Cos(CosAuth),
    Oss4(Oss4Auth),
}

/// A request's parsed authentication: which scheme, where it was carried, and the access key
/// whose secret the caller must look up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    scheme: Scheme,
    presigned: bool,
    parsed: Parsed,
}

impl Authorization {
    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The dialect the scheme implies ([`Scheme::dialect`]).
    pub fn dialect(&self) -> Dialect {
        self.scheme.dialect()
    }

    /// Whether the signature came in the query (a presigned URL) rather than a header.
    pub fn is_presigned(&self) -> bool {
        self.presigned
    }

    /// The access key id to look the secret up by.
    pub fn access_key(&self) -> &str {
        match &self.parsed {
            Parsed::V4(a) => &a.access_key,
            Parsed::V2(_, a) => &a.access_key,
            Parsed::Cos(a) => &a.access_key,
            Parsed::Oss4(a) => &a.access_key,
        }
    }

    /// The signing region, for the schemes that have one (SigV4, OSS V4).
    pub fn region(&self) -> Option<&str> {
        match &self.parsed {
            Parsed::V4(a) => Some(&a.region),
            Parsed::Oss4(a) => Some(&a.region),
            _ => None,
        }
    }
}

/// Reads which scheme signed `head` and the access key it needs. `Ok(None)`: anonymous.
///
/// An `Authorization` header wins over query parameters. Nothing is verified yet.
pub fn parse(head: &RequestHead<'_>) -> Result<Option<Authorization>, SignError> {
    if let Some(value) = head.headers().get(http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| SignError::AuthorizationHeaderMalformed("not visible ASCII"))?;
        return parse_header(value.trim()).map(Some);
    }
    let params = head.params();
    let auth = |scheme, parsed| Some(Authorization { scheme, presigned: true, parsed });
    Ok(if sigv4::has_presign_params(&params) {
        auth(Scheme::SigV4, Parsed::V4(sigv4::parse_presigned(&params)?))
    } else if oss4::is_presigned(&params) {
        auth(Scheme::OssV4, Parsed::Oss4(oss4::parse_presigned(&params)?))
    } else if cos::is_presigned(&params) {
        auth(Scheme::Cos, Parsed::Cos(cos::parse_presigned(&params)?))
    } else if let Some(f) = [v2::OSS, v2::KS3, v2::AWS, v2::OBS].into_iter().find(|f| v2::is_presigned(*f, &params)) {
        auth(scheme_of(f), Parsed::V2(f, v2::parse_presigned(f, &params)?))
    } else {
        None
    })
}

fn scheme_of(f: Flavor) -> Scheme {
    match f.word {
        "OBS" => Scheme::Obs,
        "KSS" => Scheme::Ks3,
        "OSS" => Scheme::OssV1,
        _ => Scheme::SigV2,
    }
}

fn parse_header(value: &str) -> Result<Authorization, SignError> {
    let header = |scheme, parsed| Ok(Authorization { scheme, presigned: false, parsed });
    if value.starts_with(sigv4::ALGORITHM) {
        return header(Scheme::SigV4, Parsed::V4(sigv4::parse_header(value)?));
    }
    if value.starts_with(oss4::ALGORITHM) {
        return header(Scheme::OssV4, Parsed::Oss4(oss4::parse_header(value)?));
    }
    if value.starts_with("q-sign-algorithm=") {
        return header(Scheme::Cos, Parsed::Cos(cos::parse_header(value)?));
    }
    let (word, rest) = value.split_once(' ').ok_or(SignError::AuthorizationHeaderMalformed("unknown scheme"))?;
    let flavor = [v2::AWS, v2::OBS, v2::KS3, v2::OSS]
        .into_iter()
        .find(|f| f.word == word)
        .ok_or(SignError::AuthorizationHeaderMalformed("unknown scheme"))?;
    header(scheme_of(flavor), Parsed::V2(flavor, v2::parse_header(rest.trim())?))
}

/// The longest a request's time may be from the server's, either way: 15 minutes.
pub const MAX_SKEW_SECS: u64 = 15 * 60;

/// A verified request: who signed it and what its body must still satisfy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The access key that signed the request.
    pub access_key: String,
    /// The scheme.
    pub scheme: Scheme,
    /// What the body must satisfy.
    pub body: BodyCheck,
}

/// Verifies `auth` (from [`parse`] on the same `head`) with the caller's `secret` at `now`
/// (Unix seconds). `resource` says where the bucket came from (routing's decision).
///
/// Checks, in order: time window (15 minutes either way for header auth; expiry for presigned
/// URLs and COS windows), the signature (constant-time), then the declared digests' syntax.
pub fn verify(
    auth: &Authorization,
    head: &RequestHead<'_>,
    resource: &ResourceView<'_>,
    secret: &Secret,
    now: u64,
) -> Result<Verified, SignError> {
    let payload = match &auth.parsed {
        Parsed::V4(a) => sigv4::verify(a, head, secret, now)?,
        Parsed::V2(f, a) => {
            v2::verify(*f, a, head, resource, secret, now)?;
            Payload::Unsigned
        }
        Parsed::Cos(a) => {
            cos::verify(a, head, secret, now)?;
            Payload::Unsigned
        }
        Parsed::Oss4(a) => oss4::verify(a, head, resource, secret, now)?,
    };
    let body = BodyCheck::declared(head, payload)?;
    Ok(Verified { access_key: auth.access_key().to_owned(), scheme: auth.scheme, body })
}
