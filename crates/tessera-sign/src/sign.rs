//! The client side: sign a request, or presign a URL, the way each vendor's SDK does.

use http::{HeaderMap, HeaderValue};

use crate::body::ChunkSigner;
use crate::cos;
use crate::head::{RequestHead, ResourceView};
use crate::oss4::{self, Oss4Layout};
use crate::sigv4::{self, V4Layout};
use crate::util::{format_amz_date, format_http_date};
use crate::v2::{self, V2Layout};
use crate::{Secret, SignError};

/// Which scheme to sign with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigningScheme {
    /// AWS SigV4 with this region and service (`s3`).
    SigV4 {
        /// Signing region.
        region: String,
        /// Service name, `s3`.
        service: String,
    },
    /// AWS SigV2 (`AWS ak:sig`).
    SigV2,
    /// OBS native (`OBS ak:sig`).
    Obs,
    /// COS; header signatures are valid for `expire_secs` (the SDK's default is 10000).
    Cos {
        /// Lifetime of a header signature, seconds.
        expire_secs: u64,
    },
    /// OSS V1 (`OSS ak:sig`).
    OssV1,
    /// OSS V4 with this region and product (`oss`).
    OssV4 {
        /// Signing region (`cn-hangzhou`).
        region: String,
        /// Product, `oss` (`oss-cloudbox` for cloud box).
        product: String,
    },
    /// KS3 (`KSS ak:sig`).
    Ks3,
}

/// Whose byte layout to reproduce where the SDKs differ (field separators, date header,
/// presigned-parameter order and encoding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sdk {
    /// boto3 / botocore (and the default for every scheme).
    #[default]
    Botocore,
    /// esdk-obs-python: V4 takes its time from `Date`; V2 presigned order `Expires, AccessKeyId, Signature`.
    EsdkObs,
    /// oss2.
    Oss2,
    /// alibabacloud-oss-v2.
    AlibabaOssV2,
}

/// What signing a request produced.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Signed {
    /// The Authorization header value (also inserted into the headers).
    pub authorization: String,
    /// For SigV4: the chunk-signature chain seeded with this signature, for a
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body ([`crate::ChunkedEncoder`]).
    pub chunk_signer: Option<ChunkSigner>,
}

/// Signs requests for one access key with one scheme.
#[derive(Clone, Debug)]
pub struct Signer {
    access_key: String,
    secret: Secret,
    scheme: SigningScheme,
    sdk: Sdk,
}

fn value(s: &str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(s).map_err(|_| SignError::ApiMisuse("a signing value is not a valid header value"))
}

impl Signer {
    /// A signer producing botocore's layout for the AWS schemes and the vendor SDK's otherwise.
    pub fn new(access_key: impl Into<String>, secret: Secret, scheme: SigningScheme) -> Signer {
        Signer { access_key: access_key.into(), secret, scheme, sdk: Sdk::default() }
    }

    /// Reproduces `sdk`'s byte layout.
    pub fn with_sdk(mut self, sdk: Sdk) -> Signer {
        self.sdk = sdk;
        self
    }

    /// The scheme.
    pub fn scheme(&self) -> &SigningScheme {
        &self.scheme
    }

    fn v2_layout(&self) -> V2Layout {
        match (&self.scheme, self.sdk) {
            (SigningScheme::Obs, _) | (SigningScheme::SigV2, Sdk::EsdkObs) => V2Layout::ObsSdk,
            (SigningScheme::OssV1, _) => V2Layout::OssSdk,
            (SigningScheme::Ks3, _) => V2Layout::Ks3Sdk,
            _ => V2Layout::Botocore,
        }
    }

    fn flavor(&self) -> Option<v2::Flavor> {
        match self.scheme {
            SigningScheme::SigV2 => Some(v2::AWS),
            SigningScheme::Obs => Some(v2::OBS),
            SigningScheme::OssV1 => Some(v2::OSS),
            SigningScheme::Ks3 => Some(v2::KS3),
            _ => None,
        }
    }

    /// Signs a request at `now` (Unix seconds): sets the date header the scheme uses
    /// (`x-amz-date`, `Date`, `x-oss-date`) and the payload header (`UNSIGNED-PAYLOAD` unless
    /// the caller set `x-amz-content-sha256` / `x-oss-content-sha256`), then `Authorization`.
    ///
    /// `target` is the request-target exactly as it will be sent (percent-encoded path and
    /// query); `headers` must hold `Host` for the schemes that sign it (SigV4, COS). SigV4 signs
    /// every header present except `user-agent`, `expect`, `transfer-encoding`, so add
    /// headers that a proxy may rewrite only after signing.
    pub fn sign(
        &self,
        method: &str,
        target: &str,
        headers: &mut HeaderMap,
        resource: &ResourceView<'_>,
        now: u64,
    ) -> Result<Signed, SignError> {
        headers.remove(http::header::AUTHORIZATION);
        let mut chunk_signer = None;
        let authorization = match &self.scheme {
            SigningScheme::SigV4 { region, service } => {
                if !headers.contains_key(http::header::HOST) {
                    return Err(SignError::ApiMisuse("SigV4 signs the Host header: set it before signing"));
                }
                let layout = if self.sdk == Sdk::EsdkObs { V4Layout::Obs } else { V4Layout::Aws };
                match layout {
                    V4Layout::Aws => headers.insert("x-amz-date", value(&format_amz_date(now))?),
                    V4Layout::Obs => headers.insert(http::header::DATE, value(&format_http_date(now))?),
                };
                if !headers.contains_key("x-amz-content-sha256") {
                    headers.insert("x-amz-content-sha256", value(sigv4::UNSIGNED_PAYLOAD)?);
                }
                let head = RequestHead::new(method, target, headers);
                let (auth, signer) =
                    sigv4::authorization(&head, &self.access_key, &self.secret, region, service, layout)?;
                chunk_signer = Some(signer);
                auth
            }
            SigningScheme::Cos { expire_secs } => {
                if !headers.contains_key(http::header::HOST) {
                    return Err(SignError::ApiMisuse("COS signs the Host header: set it before signing"));
                }
                let head = RequestHead::new(method, target, headers);
                cos::authorization(&head, &self.access_key, &self.secret, now, *expire_secs)
            }
            SigningScheme::OssV4 { region, product } => {
                headers.insert("x-oss-date", value(&format_amz_date(now))?);
                if !headers.contains_key("x-oss-content-sha256") {
                    headers.insert("x-oss-content-sha256", value(sigv4::UNSIGNED_PAYLOAD)?);
                }
                if self.sdk == Sdk::AlibabaOssV2 {
                    headers.insert(http::header::DATE, value(&format_http_date(now))?);
                }
                let layout = if self.sdk == Sdk::AlibabaOssV2 { Oss4Layout::V2Sdk } else { Oss4Layout::Oss2 };
                let head = RequestHead::new(method, target, headers);
                oss4::authorization(&head, resource, &self.access_key, &self.secret, region, product, layout)?
            }
            SigningScheme::SigV2 | SigningScheme::Obs | SigningScheme::OssV1 | SigningScheme::Ks3 => {
                let flavor = self.flavor().ok_or(SignError::ApiMisuse("not an HMAC-SHA1 scheme"))?;
                headers.insert(http::header::DATE, value(&format_http_date(now))?);
                let head = RequestHead::new(method, target, headers);
                v2::authorization(flavor, &head, resource, &self.access_key, &self.secret, now)
            }
        };
        headers.insert(http::header::AUTHORIZATION, value(&authorization)?);
        Ok(Signed { authorization, chunk_signer })
    }

    /// A presigned request-target valid for `expires_secs` from `now`: `target`'s path with
    /// the operation's query and the scheme's authentication parameters, in the SDK's order.
    /// `host` is the Host the URL will be fetched with (signed by SigV4 and COS).
    pub fn presign(
        &self,
        method: &str,
        target: &str,
        host: &str,
        resource: &ResourceView<'_>,
        now: u64,
        expires_secs: u64,
    ) -> Result<String, SignError> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, value(host)?);
        let head = RequestHead::new(method, target, &headers);
        let query = match &self.scheme {
            SigningScheme::SigV4 { region, service } => {
                let layout = if self.sdk == Sdk::EsdkObs { V4Layout::Obs } else { V4Layout::Aws };
                sigv4::presign_query(&head, &self.access_key, &self.secret, region, service, now, expires_secs, layout)
            }
            SigningScheme::Cos { .. } => cos::presign_query(&head, &self.access_key, &self.secret, now, expires_secs),
            SigningScheme::OssV4 { region, product } => {
                let layout = if self.sdk == Sdk::AlibabaOssV2 { Oss4Layout::V2Sdk } else { Oss4Layout::Oss2 };
                let no_host = HeaderMap::new();
                let head = RequestHead::new(method, target, &no_host);
                oss4::presign_query(
                    &head,
                    resource,
                    &self.access_key,
                    &self.secret,
                    region,
                    product,
                    now,
                    expires_secs,
                    layout,
                )
            }
            SigningScheme::SigV2 | SigningScheme::Obs | SigningScheme::OssV1 | SigningScheme::Ks3 => {
                let flavor = self.flavor().ok_or(SignError::ApiMisuse("not an HMAC-SHA1 scheme"))?;
                let no_host = HeaderMap::new();
                let head = RequestHead::new(method, target, &no_host);
                let expires_at = now.saturating_add(expires_secs);
                v2::presign_query(flavor, &head, resource, &self.access_key, &self.secret, expires_at, self.v2_layout())
            }
        };
        Ok(format!("{}?{query}", head.path()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_holds_the_secret_or_signing_key() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let signer = Signer::new(
            "AKID",
            Secret::new(secret),
            SigningScheme::SigV4 { region: "us-east-1".into(), service: "s3".into() },
        );
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_static("s3.local"));
        let signed = signer.sign("GET", "/b/k", &mut headers, &ResourceView::path_style("b"), 1_746_100_800).unwrap();
        let printed = format!("{signer:?} {signed:?}");
        assert!(!printed.contains(secret), "{printed}");
        assert!(printed.contains("Secret(..)"));
        let key = crate::sigv4::derive_key("AWS4", &Secret::new(secret), "20250501", "us-east-1", "s3", "aws4_request");
        assert!(!printed.contains(&hex::encode(key)));
    }

    #[test]
    fn signing_needs_a_host_where_the_scheme_signs_it() {
        let signer = Signer::new("AK", Secret::new("s"), SigningScheme::Cos { expire_secs: 60 });
        let mut headers = HeaderMap::new();
        let r = signer.sign("GET", "/k", &mut headers, &ResourceView::virtual_host("b"), 0);
        assert!(matches!(r, Err(SignError::ApiMisuse(_))));
    }
}
