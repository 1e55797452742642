//! Aliyun OSS V4, `OSS4-HMAC-SHA256` (DIALECTS.md §6): header (both SDKs' spellings) and
//! presigned query with a duration.

use crate::body::Payload;
use crate::head::{Param, RequestHead, ResourceView, find_param, param_str};
use crate::sigv4::{
    check_presign_window, check_skew, comma_fields, derive_key, push_canonical_query, split_credential, string_to_sign,
};
use crate::util::{ct_eq, format_amz_date, hmac_sha256, parse_amz_date, parse_hex, uri_encode_into, uri_encode_str};
use crate::{Secret, SignError};

pub(crate) const ALGORITHM: &str = "OSS4-HMAC-SHA256";
const TERMINATOR: &str = "aliyun_v4_request";
const MAX_EXPIRES: u64 = 7 * 24 * 3600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Oss4Auth {
    pub(crate) access_key: String,
    date: String,
    pub(crate) region: String,
    product: String,
    additional: Vec<String>,
    signature: [u8; 32],
    /// Presigned: `x-oss-date` and `x-oss-expires`.
    pub(crate) presign: Option<(String, u64)>,
}

pub(crate) fn parse_header(value: &str) -> Result<Oss4Auth, SignError> {
    let bad = SignError::AuthorizationHeaderMalformed;
    let rest = value.strip_prefix(ALGORITHM).ok_or(bad("unknown algorithm"))?;
    if !rest.starts_with(' ') {
        return Err(bad("expected a space after the algorithm"));
    }
    let (mut cred, mut sig, mut add) = (None, None, None);
    for field in comma_fields(rest) {
        let (k, v) = field.ok_or(bad("expected name=value fields"))?;
        let slot = match k {
            "Credential" => &mut cred,
            "Signature" => &mut sig,
            "AdditionalHeaders" => &mut add,
            _ => return Err(bad("unknown field")),
        };
        if slot.replace(v).is_some() {
            return Err(bad("repeated field"));
        }
    }
    build(cred.ok_or(bad("missing Credential"))?, sig.ok_or(bad("missing Signature"))?, add.unwrap_or(""), None, bad)
}

pub(crate) fn parse_presigned(params: &[Param]) -> Result<Oss4Auth, SignError> {
    let bad = SignError::AuthorizationQueryParametersError;
    let get = |n: &str| param_str(params, n).ok_or(bad("missing x-oss-* parameter"));
    if get("x-oss-signature-version")? != ALGORITHM {
        return Err(bad("unsupported x-oss-signature-version"));
    }
    let (cred, sig, date, expires) =
        (get("x-oss-credential")?, get("x-oss-signature")?, get("x-oss-date")?, get("x-oss-expires")?);
    let expires: u64 = expires.parse().map_err(|_| bad("x-oss-expires must be a number of seconds"))?;
    if expires > MAX_EXPIRES {
        return Err(bad("x-oss-expires must be at most seven days"));
    }
    if parse_amz_date(&date).is_none() {
        return Err(bad("x-oss-date must be yyyymmddTHHMMSSZ"));
    }
    let add = param_str(params, "x-oss-additional-headers").unwrap_or_default();
    build(&cred, &sig, &add, Some((date, expires)), bad)
}

pub(crate) fn is_presigned(params: &[Param]) -> bool {
    find_param(params, "x-oss-signature").is_some() || find_param(params, "x-oss-signature-version").is_some()
}

fn build(
    cred: &str,
    sig: &str,
    add: &str,
    presign: Option<(String, u64)>,
    bad: fn(&'static str) -> SignError,
) -> Result<Oss4Auth, SignError> {
    let (access_key, date, region, product) = split_credential(cred, TERMINATOR).ok_or(bad("malformed Credential"))?;
    let signature = parse_hex::<32>(sig).ok_or(bad("Signature must be 64 hex digits"))?;
    // Keep the order given: oss2 signs its list sorted by first character only (§6.2).
    let additional = add.split(';').filter(|s| !s.is_empty()).map(|s| s.to_ascii_lowercase()).collect();
    Ok(Oss4Auth { access_key, date, region, product, additional, signature, presign })
}

fn canonical_request(head: &RequestHead<'_>, res: &ResourceView<'_>, additional: &[String], payload: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(head.method().as_bytes());
    out.push(b'\n');
    let mut uri = Vec::new();
    if let Some(bucket) = res.bucket {
        uri.push(b'/');
        uri.extend_from_slice(bucket.as_bytes());
    }
    uri.push(b'/');
    uri.extend_from_slice(&res.key(head));
    uri_encode_into(&mut out, &uri, true);
    out.push(b'\n');
    // An empty value is written as the bare name (`uploads`, not `uploads=`).
    push_canonical_query(&mut out, head, b"x-oss-signature", true);
    out.push(b'\n');
    let mut names: Vec<&str> = head
        .headers()
        .keys()
        .map(|k| k.as_str())
        .filter(|k| {
            k.starts_with("x-oss-") || *k == "content-type" || *k == "content-md5" || additional.iter().any(|a| a == k)
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, v) in head.headers().get_all(name).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(v.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(additional.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload.as_bytes());
    out
}

fn scope(date: &str, region: &str, product: &str) -> String {
    format!("{date}/{region}/{product}/{TERMINATOR}")
}

fn payload_literal(head: &RequestHead<'_>) -> String {
    head.header_str("x-oss-content-sha256").unwrap_or(crate::sigv4::UNSIGNED_PAYLOAD).trim().to_owned()
}

pub(crate) fn verify(
    auth: &Oss4Auth,
    head: &RequestHead<'_>,
    res: &ResourceView<'_>,
    secret: &Secret,
    now: u64,
) -> Result<Payload, SignError> {
    let (date_time, payload) = match &auth.presign {
        Some((date, expires)) => {
            let start = parse_amz_date(date).ok_or(SignError::AuthorizationQueryParametersError("bad x-oss-date"))?;
            check_presign_window(start, *expires, now)?;
            (date.clone(), crate::sigv4::UNSIGNED_PAYLOAD.to_owned())
        }
        None => {
            let d = head.header_str("x-oss-date").map(str::trim).ok_or(SignError::MissingDate)?;
            check_skew(parse_amz_date(d).ok_or(SignError::MissingDate)?, now)?;
            (d.to_owned(), payload_literal(head))
        }
    };
    if date_time.get(..8) != Some(auth.date.as_str()) {
        return Err(SignError::AuthorizationHeaderMalformed("the credential date does not match x-oss-date"));
    }
    let body = match payload.as_str() {
        crate::sigv4::UNSIGNED_PAYLOAD => Payload::Unsigned,
        hex => Payload::Sha256(parse_hex::<32>(hex).ok_or(SignError::InvalidContentSha256)?),
    };
    let canonical = canonical_request(head, res, &auth.additional, &payload);
    let sts = string_to_sign(ALGORITHM, &date_time, &scope(&auth.date, &auth.region, &auth.product), &canonical);
    let key = derive_key("aliyun_v4", secret, &auth.date, &auth.region, &auth.product, TERMINATOR);
    if ct_eq(&hmac_sha256(&key, sts.as_bytes()), &auth.signature) {
        Ok(body)
    } else {
        Err(SignError::SignatureDoesNotMatch)
    }
}

// ---- client side

/// Which SDK's layout to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Oss4Layout {
    /// oss2: `Credential=…, Signature=…`; presign `x-oss-date, x-oss-expires, x-oss-signature-version, x-oss-credential`.
    Oss2,
    /// alibabacloud-oss-v2: `Credential=…,Signature=…`; presign `x-oss-signature-version, x-oss-date, x-oss-expires, x-oss-credential`.
    V2Sdk,
}

/// The Authorization value; the caller has set `x-oss-date` and `x-oss-content-sha256`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn authorization(
    head: &RequestHead<'_>,
    res: &ResourceView<'_>,
    access_key: &str,
    secret: &Secret,
    region: &str,
    product: &str,
    layout: Oss4Layout,
) -> Result<String, SignError> {
    let date_time = head.header_str("x-oss-date").map(str::trim).ok_or(SignError::MissingDate)?.to_owned();
    let date = date_time.get(..8).unwrap_or_default();
    let canonical = canonical_request(head, res, &[], &payload_literal(head));
    let scope = scope(date, region, product);
    let sts = string_to_sign(ALGORITHM, &date_time, &scope, &canonical);
    let key = derive_key("aliyun_v4", secret, date, region, product, TERMINATOR);
    let sig = hex::encode(hmac_sha256(&key, sts.as_bytes()));
    let sep = if layout == Oss4Layout::Oss2 { ", " } else { "," };
    Ok(format!("{ALGORITHM} Credential={access_key}/{scope}{sep}Signature={sig}"))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn presign_query(
    head: &RequestHead<'_>,
    res: &ResourceView<'_>,
    access_key: &str,
    secret: &Secret,
    region: &str,
    product: &str,
    now: u64,
    expires: u64,
    layout: Oss4Layout,
) -> String {
    let date_time = format_amz_date(now);
    let date = date_time.get(..8).unwrap_or_default();
    let scope = scope(date, region, product);
    let cred = uri_encode_str(format!("{access_key}/{scope}").as_bytes(), false);
    let auth = match layout {
        Oss4Layout::Oss2 => format!(
            "x-oss-date={date_time}&x-oss-expires={expires}&x-oss-signature-version={ALGORITHM}&x-oss-credential={cred}"
        ),
        Oss4Layout::V2Sdk => format!(
            "x-oss-signature-version={ALGORITHM}&x-oss-date={date_time}&x-oss-expires={expires}&x-oss-credential={cred}"
        ),
    };
    let query = if head.query().is_empty() { auth } else { format!("{}&{auth}", head.query()) };
    let target = format!("{}?{query}", head.path());
    let signing_head = RequestHead::new(head.method(), &target, head.headers());
    let canonical = canonical_request(&signing_head, res, &[], crate::sigv4::UNSIGNED_PAYLOAD);
    let sts = string_to_sign(ALGORITHM, &date_time, &scope, &canonical);
    let key = derive_key("aliyun_v4", secret, date, region, product, TERMINATOR);
    format!("{query}&x-oss-signature={}", hex::encode(hmac_sha256(&key, sts.as_bytes())))
}
