//! The HMAC-SHA1 `WORD ak:base64sig` family: AWS SigV2 (§2), Huawei OBS (§3.2), Kingsoft KS3
//! (§7) and Aliyun OSS V1 (§5). One string-to-sign shape, four ways to fill it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::head::{Param, RequestHead, ResourceView, find_param, param_str};
use crate::util::{ct_eq, format_http_date, hmac_sha1, parse_any_date, uri_encode_into, uri_encode_str};
use crate::{Scheme, Secret, SignError};

/// Sub-resources botocore signs (`HmacV1Auth.QSAOfInterest`).
const AWS_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// OBS's list, compared lower-cased (`obs/const.py`); any `x-obs-*` parameter is signed too.
const OBS_SUBRESOURCES: &[&str] = &[
    "acl",
    "append",
    "attname",
    "backtosource",
    "cors",
    "customdomain",
    "delete",
    "deletebucket",
    "directcoldaccess",
    "encryption",
    "inventory",
    "length",
    "lifecycle",
    "location",
    "logging",
    "metadata",
    "modify",
    "name",
    "notification",
    "object-lock",
    "partnumber",
    "policy",
    "position",
    "quota",
    "rename",
    "replication",
    "requestpayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "storageclass",
    "storageinfo",
    "storagepolicy",
    "tagging",
    "torrent",
    "truncate",
    "uploadid",
    "uploads",
    "versionid",
    "versioning",
    "versions",
    "website",
    "x-image-process",
    "x-image-save-bucket",
    "x-image-save-object",
];

/// KS3's list (`ks3/auth.py`).
const KS3_SUBRESOURCES: &[&str] = &[
    "acl",
    "adp",
    "append",
    "asyntask",
    "cors",
    "crr",
    "decompresspolicy",
    "defaultObjectAcl",
    "delete",
    "domain",
    "encryption",
    "fetch",
    "id",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "mirror",
    "notification",
    "partNumber",
    "policy",
    "position",
    "queryadp",
    "querytask",
    "quota",
    "recycle",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "storageClass",
    "tagging",
    "thumbnail",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
    "x-kss-process",
];

/// The union of oss2's and alibabacloud-oss-v2's lists.
const OSS_SUBRESOURCES: &[&str] = &[
    "acl",
    "append",
    "asyncFetch",
    "bucketInfo",
    "callback",
    "callback-var",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "img",
    "inventory",
    "inventoryId",
    "lifecycle",
    "live",
    "location",
    "logging",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "qos",
    "referer",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "udf",
    "udfApplication",
    "udfApplicationLog",
    "udfId",
    "udfImage",
    "udfImageDesc",
    "udfName",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
    "x-oss-ac-forward-allow",
    "x-oss-ac-source-ip",
    "x-oss-ac-subnet-mask",
    "x-oss-ac-vpc-id",
    "x-oss-async-process",
    "x-oss-process",
    "x-oss-request-payer",
    "x-oss-traffic-limit",
];

/// How one member of the family differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flavor {
    pub(crate) word: &'static str,
    pub(crate) prefix: &'static str,
    pub(crate) presign_ak: &'static str,
    scheme: Scheme,
}

pub(crate) const AWS: Flavor =
    Flavor { word: "AWS", prefix: "x-amz-", presign_ak: "AWSAccessKeyId", scheme: Scheme::SigV2 };
pub(crate) const OBS: Flavor = Flavor { word: "OBS", prefix: "x-obs-", presign_ak: "AccessKeyId", scheme: Scheme::Obs };
pub(crate) const KS3: Flavor =
    Flavor { word: "KSS", prefix: "x-kss-", presign_ak: "KSSAccessKeyId", scheme: Scheme::Ks3 };
pub(crate) const OSS: Flavor =
    Flavor { word: "OSS", prefix: "x-oss-", presign_ak: "OSSAccessKeyId", scheme: Scheme::OssV1 };

impl Flavor {
    fn is_subresource(&self, name: &[u8]) -> bool {
        let Ok(name) = std::str::from_utf8(name) else { return false };
        match self.scheme {
            Scheme::Obs => {
                let lower = name.to_ascii_lowercase();
                OBS_SUBRESOURCES.contains(&lower.as_str()) || lower.starts_with("x-obs-")
            }
            Scheme::Ks3 => KS3_SUBRESOURCES.contains(&name),
            Scheme::OssV1 => OSS_SUBRESOURCES.contains(&name) || name.starts_with("response-"),
            _ => AWS_SUBRESOURCES.contains(&name),
        }
    }
}

/// A parsed `WORD ak:sig` header or presigned query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct V2Auth {
    pub(crate) access_key: String,
    /// The decoded signature; `None` when it was not base64 of 20 bytes (it can then never match).
    signature: Option<[u8; 20]>,
    /// Presigned: the `Expires` value as sent (it is the Date line of the string to sign).
    pub(crate) expires: Option<String>,
}

fn decode_sig(s: &str) -> Option<[u8; 20]> {
    let v = B64.decode(s.trim()).ok()?;
    v.try_into().ok()
}

/// `WORD ak:sig`, after the word and its space have been recognised by the caller.
pub(crate) fn parse_header(credentials: &str) -> Result<V2Auth, SignError> {
    let (ak, sig) =
        credentials.rsplit_once(':').ok_or(SignError::AuthorizationHeaderMalformed("expected ACCESSKEY:SIGNATURE"))?;
    if ak.is_empty() {
        return Err(SignError::AuthorizationHeaderMalformed("empty access key"));
    }
    Ok(V2Auth { access_key: ak.trim().to_owned(), signature: decode_sig(sig), expires: None })
}

pub(crate) fn parse_presigned(flavor: Flavor, params: &[Param]) -> Result<V2Auth, SignError> {
    let bad = SignError::AuthorizationQueryParametersError;
    let ak = param_str(params, flavor.presign_ak).ok_or(bad("missing access key id"))?;
    let sig = param_str(params, "Signature").ok_or(bad("missing Signature"))?;
    let expires = param_str(params, "Expires").ok_or(bad("missing Expires"))?;
    if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) || expires.parse::<u64>().is_err() {
        return Err(bad("Expires must be a Unix time in seconds"));
    }
    if ak.is_empty() {
        return Err(bad("empty access key id"));
    }
    Ok(V2Auth { access_key: ak, signature: decode_sig(&sig), expires: Some(expires) })
}

/// Whether the query carries this flavour's presigned parameters.
pub(crate) fn is_presigned(flavor: Flavor, params: &[Param]) -> bool {
    find_param(params, flavor.presign_ak).is_some()
}

/// The candidate canonical resources (a bucket-level request has two spellings, §2.1/§3.2).
fn resources(flavor: Flavor, head: &RequestHead<'_>, res: &ResourceView<'_>) -> Vec<Vec<u8>> {
    let key = res.key(head);
    let mut out = Vec::with_capacity(2);
    match (flavor.scheme, res.bucket) {
        (_, None) => out.push(b"/".to_vec()),
        (Scheme::SigV2, Some(bucket)) => {
            // botocore: the raw wire path, with the bucket prepended for virtual-host style.
            let mut r = Vec::new();
            if res.virtual_host {
                r.push(b'/');
                r.extend_from_slice(bucket.as_bytes());
            }
            r.extend_from_slice(head.path().as_bytes());
            if key.is_empty() && !r.ends_with(b"/") {
                let mut slash = r.clone();
                slash.push(b'/');
                out.push(slash);
            }
            out.push(r);
        }
        (Scheme::OssV1, Some(bucket)) => {
            let mut r = format!("/{bucket}/").into_bytes();
            r.extend_from_slice(&key);
            out.push(r);
        }
        (_, Some(bucket)) => {
            // OBS and KS3 re-encode the decoded key, keeping `/` (KS3 spells `//` as `/%2F`).
            let mut r = format!("/{bucket}/").into_bytes();
            let mut enc = Vec::new();
            uri_encode_into(&mut enc, &key, true);
            if flavor.scheme == Scheme::Ks3 {
                enc = replace_double_slash(&enc);
            }
            r.extend_from_slice(&enc);
            out.push(r);
            if key.is_empty() {
                out.push(format!("/{bucket}").into_bytes());
            }
        }
    }
    out
}

fn replace_double_slash(enc: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(enc.len());
    let mut i = 0;
    while let Some(&b) = enc.get(i) {
        if b == b'/' && enc.get(i + 1) == Some(&b'/') {
            out.extend_from_slice(b"/%2F");
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// `?name&name=value…` of the signed sub-resources, sorted by name then value.
fn subresources(flavor: Flavor, head: &RequestHead<'_>) -> Vec<u8> {
    let params = head.params();
    let mut subs: Vec<(&[u8], Option<&[u8]>)> = params
        .iter()
        .filter(|p| flavor.is_subresource(&p.name) && !is_auth_param(flavor, &p.name))
        .map(|p| (p.name.as_slice(), p.value.as_deref()))
        .collect();
    subs.sort();
    let mut out = Vec::new();
    for (i, (name, value)) in subs.iter().enumerate() {
        out.push(if i == 0 { b'?' } else { b'&' });
        out.extend_from_slice(name);
        // OBS keeps `name=` when the wire had `=`; the others drop an empty value.
        match value {
            Some(v) if !v.is_empty() || flavor.scheme == Scheme::Obs => {
                out.push(b'=');
                out.extend_from_slice(v);
            }
            _ => {}
        }
    }
    out
}

fn is_auth_param(flavor: Flavor, name: &[u8]) -> bool {
    name == flavor.presign_ak.as_bytes() || name == b"Signature" || name == b"Expires"
}

/// `x-…-date` present → its value is the request time and (except for OSS) the Date line is empty.
fn date_line_and_time(flavor: Flavor, head: &RequestHead<'_>) -> (Vec<u8>, Option<u64>) {
    let vendor_date = head.header_str(&format!("{}date", flavor.prefix));
    let http_date = head.header_str("date");
    let time = vendor_date.or(http_date).and_then(parse_any_date);
    let line = match (flavor.scheme, vendor_date) {
        (Scheme::OssV1, Some(d)) => d.as_bytes().to_vec(),
        (_, Some(_)) => Vec::new(),
        (_, None) => http_date.unwrap_or_default().as_bytes().to_vec(),
    };
    (line, time)
}

/// The string to sign, one per candidate resource.
fn strings_to_sign(flavor: Flavor, head: &RequestHead<'_>, res: &ResourceView<'_>, date_line: &[u8]) -> Vec<Vec<u8>> {
    let mut prefix = Vec::with_capacity(256);
    prefix.extend_from_slice(head.method().as_bytes());
    prefix.push(b'\n');
    prefix.extend_from_slice(&head.header_joined("content-md5").unwrap_or_default());
    prefix.push(b'\n');
    prefix.extend_from_slice(&head.header_joined("content-type").unwrap_or_default());
    prefix.push(b'\n');
    prefix.extend_from_slice(date_line);
    prefix.push(b'\n');
    let mut names: Vec<&str> =
        head.headers().keys().map(|k| k.as_str()).filter(|k| k.starts_with(flavor.prefix)).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        prefix.extend_from_slice(name.as_bytes());
        prefix.push(b':');
        // botocore trims every value; OBS trims user metadata; KS3 and OSS sign the value as is.
        let trim = flavor.scheme == Scheme::SigV2 || (flavor.scheme == Scheme::Obs && name.starts_with("x-obs-meta-"));
        for (i, v) in head.headers().get_all(name).iter().enumerate() {
            if i > 0 {
                prefix.push(b',');
            }
            prefix.extend_from_slice(if trim { v.as_bytes().trim_ascii() } else { v.as_bytes() });
        }
        prefix.push(b'\n');
    }
    let subs = subresources(flavor, head);
    resources(flavor, head, res)
        .into_iter()
        .map(|r| {
            let mut s = prefix.clone();
            s.extend_from_slice(&r);
            s.extend_from_slice(&subs);
            s
        })
        .collect()
}

pub(crate) fn verify(
    flavor: Flavor,
    auth: &V2Auth,
    head: &RequestHead<'_>,
    res: &ResourceView<'_>,
    secret: &Secret,
    now: u64,
) -> Result<(), SignError> {
    let date_line = match &auth.expires {
        Some(expires) => {
            let exp: u64 = expires.parse().map_err(|_| SignError::AuthorizationQueryParametersError("bad Expires"))?;
            if now > exp {
                return Err(SignError::Expired);
            }
            expires.as_bytes().to_vec()
        }
        None => {
            let (line, time) = date_line_and_time(flavor, head);
            crate::sigv4::check_skew(time.ok_or(SignError::MissingDate)?, now)?;
            line
        }
    };
    let Some(want) = auth.signature else { return Err(SignError::SignatureDoesNotMatch) };
    // Try every candidate and compare each in constant time; the count of candidates is public.
    let mut ok = false;
    for sts in strings_to_sign(flavor, head, res, &date_line) {
        ok |= ct_eq(&hmac_sha1(secret.expose().as_bytes(), &sts), &want);
    }
    if ok { Ok(()) } else { Err(SignError::SignatureDoesNotMatch) }
}

// ---- client side

/// The signature of `head` (Date header already set) with the first candidate resource.
fn signature(
    flavor: Flavor,
    head: &RequestHead<'_>,
    res: &ResourceView<'_>,
    secret: &Secret,
    date_line: &[u8],
) -> String {
    let sts = strings_to_sign(flavor, head, res, date_line).into_iter().next().unwrap_or_default();
    B64.encode(hmac_sha1(secret.expose().as_bytes(), &sts))
}

/// The `WORD ak:sig` Authorization value; the caller has set `Date`.
pub(crate) fn authorization(
    flavor: Flavor,
    head: &RequestHead<'_>,
    res: &ResourceView<'_>,
    access_key: &str,
    secret: &Secret,
    now: u64,
) -> String {
    let (line, _) = date_line_and_time(flavor, head);
    let line = if line.is_empty() && head.header_str(&format!("{}date", flavor.prefix)).is_none() {
        format_http_date(now).into_bytes()
    } else {
        line
    };
    format!("{} {access_key}:{}", flavor.word, signature(flavor, head, res, secret, &line))
}

/// Which SDK's presigned-URL layout to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum V2Layout {
    /// botocore: `AWSAccessKeyId, Signature, Expires`, signature fully encoded.
    Botocore,
    /// esdk-obs-python: `Expires, AccessKeyId, Signature`, `/` left raw in the signature.
    ObsSdk,
    /// oss2 / alibabacloud-oss-v2: `OSSAccessKeyId, Expires, Signature`.
    OssSdk,
    /// ks3sdk: `Signature, Expires, KSSAccessKeyId`, *before* the operation's parameters.
    Ks3Sdk,
}

pub(crate) fn presign_query(
    flavor: Flavor,
    head: &RequestHead<'_>,
    res: &ResourceView<'_>,
    access_key: &str,
    secret: &Secret,
    expires_at: u64,
    layout: V2Layout,
) -> String {
    let exp = expires_at.to_string();
    let sig = signature(flavor, head, res, secret, exp.as_bytes());
    let sig_wire = uri_encode_str(sig.as_bytes(), layout == V2Layout::ObsSdk);
    let ak = uri_encode_str(access_key.as_bytes(), false);
    let akp = flavor.presign_ak;
    let auth = match layout {
        V2Layout::Botocore => format!("{akp}={ak}&Signature={sig_wire}&Expires={exp}"),
        V2Layout::ObsSdk => format!("Expires={exp}&{akp}={ak}&Signature={sig_wire}"),
        V2Layout::OssSdk => format!("{akp}={ak}&Expires={exp}&Signature={sig_wire}"),
        V2Layout::Ks3Sdk => format!("Signature={sig_wire}&Expires={exp}&{akp}={ak}"),
    };
    let op = head.query();
    match (op.is_empty(), layout) {
        (true, _) => auth,
        (false, V2Layout::Ks3Sdk) => format!("{auth}&{op}"),
        (false, _) => format!("{op}&{auth}"),
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::*;

    fn resource_of(flavor: Flavor, target: &str, res: ResourceView<'_>) -> Vec<String> {
        let mut h = HeaderMap::new();
        h.insert("date", HeaderValue::from_static("Thu, 01 May 2025 12:00:00 GMT"));
        let head = RequestHead::new("GET", target, &h);
        resources(flavor, &head, &res).into_iter().map(|r| String::from_utf8(r).unwrap()).collect()
    }

    #[test]
    fn canonical_resources() {
        // KS3 spells `//` in a key as `/%2F`.
        assert_eq!(resource_of(KS3, "/a//b", ResourceView::virtual_host("bk")), ["/bk/a/%2Fb"]);
        // botocore signs `/bucket/` for a bucket-level path-style request; OBS signs `/bucket`.
        assert_eq!(resource_of(AWS, "/bk", ResourceView::path_style("bk")), ["/bk/", "/bk"]);
        assert_eq!(resource_of(OBS, "/bk", ResourceView::path_style("bk")), ["/bk/", "/bk"]);
        // OSS V1 signs the decoded key as raw UTF-8.
        assert_eq!(resource_of(OSS, "/%E6%96%87%2Fx", ResourceView::virtual_host("bk")), ["/bk/文/x"]);
        // AWS V2 signs the wire path, with the bucket prepended for virtual-host style.
        assert_eq!(resource_of(AWS, "/a%20b", ResourceView::virtual_host("bk")), ["/bk/a%20b"]);
        assert_eq!(resource_of(AWS, "/", ResourceView::service()), ["/"]);
    }

    #[test]
    fn obs_keeps_empty_values_others_drop_them() {
        let h = HeaderMap::new();
        let head = RequestHead::new("POST", "/k?uploads=&prefix=x&uploadId=1", &h);
        assert_eq!(subresources(OBS, &head), b"?uploadId=1&uploads=");
        assert_eq!(subresources(AWS, &head), b"?uploadId=1&uploads");
        assert_eq!(subresources(OSS, &head), b"?uploadId=1&uploads");
    }
}
