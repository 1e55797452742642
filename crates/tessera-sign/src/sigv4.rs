//! AWS Signature Version 4 (DIALECTS.md §1), also OBS's V4 mode (§3.4: the time comes from
//! `Date` when there is no `x-amz-date`).

use sha2::{Digest, Sha256};

use crate::body::{ChunkSigner, Payload};
use crate::head::{Param, RequestHead, find_param, param_str};
use crate::util::{ct_eq, format_amz_date, hmac_sha256, parse_amz_date, parse_hex, parse_http_date, uri_encode_into};
use crate::{Secret, SignError};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub(crate) const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
pub(crate) const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
pub(crate) const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// AWS caps a presigned URL's lifetime at seven days.
const MAX_PRESIGN_EXPIRES: u64 = 7 * 24 * 3600;

/// Headers botocore never signs (`SIGNED_HEADERS_BLACKLIST`), plus the Authorization itself.
const UNSIGNED_HEADERS: &[&str] = &["authorization", "expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"];

/// A parsed SigV4 credential scope and signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct V4Auth {
    pub(crate) access_key: String,
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: [u8; 32],
    /// Presigned: the `X-Amz-Date` and `X-Amz-Expires` of the query.
    pub(crate) presign: Option<(String, u64)>,
}

impl V4Auth {
    pub(crate) fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

/// `AK/yyyymmdd/region/service/aws4_request` → its parts.
pub(crate) fn split_credential(cred: &str, terminator: &str) -> Option<(String, String, String, String)> {
    let mut it = cred.rsplitn(5, '/');
    let (term, service, region, date, ak) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    let date_ok = date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit());
    if term != terminator || !date_ok || ak.is_empty() || region.is_empty() || service.is_empty() {
        return None;
    }
    Some((ak.to_owned(), date.to_owned(), region.to_owned(), service.to_owned()))
}

/// Splits `k=v, k=v,k=v` (any spacing after commas) into pairs.
pub(crate) fn comma_fields(s: &str) -> impl Iterator<Item = Option<(&str, &str)>> {
    s.split(',').map(|f| f.trim()).filter(|f| !f.is_empty()).map(|f| f.split_once('='))
}

pub(crate) fn parse_header(value: &str) -> Result<V4Auth, SignError> {
    let bad = SignError::AuthorizationHeaderMalformed;
    let rest = value.strip_prefix(ALGORITHM).ok_or(bad("unknown algorithm"))?;
    if !rest.starts_with(' ') {
        return Err(bad("expected a space after the algorithm"));
    }
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for field in comma_fields(rest) {
        let (k, v) = field.ok_or(bad("expected name=value fields"))?;
        let slot = match k {
            "Credential" => &mut cred,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            _ => return Err(bad("unknown field")),
        };
        if slot.replace(v).is_some() {
            return Err(bad("repeated field"));
        }
    }
    let (cred, signed, sig) = (
        cred.ok_or(bad("missing Credential"))?,
        signed.ok_or(bad("missing SignedHeaders"))?,
        sig.ok_or(bad("missing Signature"))?,
    );
    build(cred, signed, sig, None, bad)
}

pub(crate) fn parse_presigned(params: &[Param]) -> Result<V4Auth, SignError> {
    let bad = SignError::AuthorizationQueryParametersError;
    let get = |n: &str| param_str(params, n).ok_or(bad("missing X-Amz-* parameter"));
    if get("X-Amz-Algorithm")? != ALGORITHM {
        return Err(bad("unsupported X-Amz-Algorithm"));
    }
    let (cred, signed, sig, date, expires) = (
        get("X-Amz-Credential")?,
        get("X-Amz-SignedHeaders")?,
        get("X-Amz-Signature")?,
        get("X-Amz-Date")?,
        get("X-Amz-Expires")?,
    );
    let expires: u64 = expires.parse().map_err(|_| bad("X-Amz-Expires must be a number of seconds"))?;
    if expires > MAX_PRESIGN_EXPIRES {
        return Err(bad("X-Amz-Expires must be less than a week (in seconds)"));
    }
    if parse_amz_date(&date).is_none() {
        return Err(bad("X-Amz-Date must be in the ISO8601 Long Format"));
    }
    build(&cred, &signed, &sig, Some((date, expires)), bad)
}

fn build(
    cred: &str,
    signed: &str,
    sig: &str,
    presign: Option<(String, u64)>,
    bad: fn(&'static str) -> SignError,
) -> Result<V4Auth, SignError> {
    let (access_key, date, region, service) =
        split_credential(cred, "aws4_request").ok_or(bad("malformed Credential"))?;
    let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
    if signed_headers.iter().any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase())) {
        return Err(bad("SignedHeaders must be lower-case names separated by ';'"));
    }
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(bad("SignedHeaders must include host"));
    }
    let signature = parse_hex::<32>(sig).ok_or(bad("Signature must be 64 hex digits"))?;
    Ok(V4Auth { access_key, date, region, service, signed_headers, signature, presign })
}

/// `value` trimmed, inner whitespace runs collapsed to one space.
fn push_collapsed(out: &mut Vec<u8>, value: &[u8]) {
    let mut first = true;
    for word in value.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        if !first {
            out.push(b' ');
        }
        out.extend_from_slice(word);
        first = false;
    }
}

/// The canonical request (§1.3 steps 2–6). Presigned requests exclude `X-Amz-Signature`.
pub(crate) fn canonical_request(head: &RequestHead<'_>, signed_headers: &[String], payload: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(head.method().as_bytes());
    out.push(b'\n');
    uri_encode_into(&mut out, &head.decoded_path(), true);
    out.push(b'\n');
    push_canonical_query(&mut out, head, b"X-Amz-Signature", false);
    out.push(b'\n');
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut values = head.headers().get_all(name.as_str()).iter().peekable();
        if values.peek().is_none() && name == "host" {
            push_collapsed(&mut out, head.host().unwrap_or_default().as_bytes());
        }
        let mut first = true;
        for v in values {
            if !first {
                out.push(b',');
            }
            push_collapsed(&mut out, v.as_bytes());
            first = false;
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload.as_bytes());
    out
}

pub(crate) fn derive_key(
    prefix: &str,
    secret: &Secret,
    date: &str,
    region: &str,
    service: &str,
    term: &str,
) -> [u8; 32] {
    let mut k = format!("{prefix}{}", secret.expose()).into_bytes();
    let mut key = hmac_sha256(&k, date.as_bytes());
    k.fill(0);
    for part in [region, service, term] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    key
}

pub(crate) fn string_to_sign(algorithm: &str, amz_date: &str, scope: &str, canonical: &[u8]) -> String {
    format!("{algorithm}\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical)))
}

/// The request time: `x-amz-date`, else `Date` (OBS V4 mode), as `yyyymmddTHHMMSSZ`.
fn request_amz_date(head: &RequestHead<'_>) -> Result<(String, u64), SignError> {
    if let Some(v) = head.header_str("x-amz-date") {
        let t = parse_amz_date(v.trim()).ok_or(SignError::MissingDate)?;
        return Ok((v.trim().to_owned(), t));
    }
    let t = head.header_str("date").and_then(parse_http_date).ok_or(SignError::MissingDate)?;
    Ok((format_amz_date(t), t))
}

pub(crate) fn check_skew(request_time: u64, now: u64) -> Result<(), SignError> {
    if request_time.abs_diff(now) > crate::MAX_SKEW_SECS {
        return Err(SignError::RequestTimeTooSkewed { request_time, server_time: now });
    }
    Ok(())
}

/// Checks a presigned URL's validity window: not before its date (with the skew allowance),
/// not after date + expires.
pub(crate) fn check_presign_window(start: u64, expires: u64, now: u64) -> Result<(), SignError> {
    if now.saturating_add(crate::MAX_SKEW_SECS) < start {
        return Err(SignError::NotYetValid);
    }
    if now > start.saturating_add(expires) {
        return Err(SignError::Expired);
    }
    Ok(())
}

/// What `x-amz-content-sha256` asks of the body.
pub(crate) fn classify_payload(value: &str) -> Result<Payload, SignError> {
    Ok(match value {
        UNSIGNED_PAYLOAD => Payload::Unsigned,
        STREAMING_UNSIGNED_TRAILER => Payload::UnsignedTrailer,
        STREAMING_SIGNED | STREAMING_SIGNED_TRAILER => Payload::Unsigned, // replaced by the caller
        hex => Payload::Sha256(parse_hex::<32>(hex).ok_or(SignError::InvalidContentSha256)?),
    })
}

pub(crate) fn verify(auth: &V4Auth, head: &RequestHead<'_>, secret: &Secret, now: u64) -> Result<Payload, SignError> {
    let (amz_date, payload_literal) = match &auth.presign {
        Some((date, expires)) => {
            let start = parse_amz_date(date).ok_or(SignError::AuthorizationQueryParametersError("bad X-Amz-Date"))?;
            check_presign_window(start, *expires, now)?;
            (date.clone(), UNSIGNED_PAYLOAD.to_owned())
        }
        None => {
            let (date, t) = request_amz_date(head)?;
            check_skew(t, now)?;
            let payload = head.header_str("x-amz-content-sha256").unwrap_or(UNSIGNED_PAYLOAD).trim().to_owned();
            (date, payload)
        }
    };
    if amz_date.get(..8) != Some(auth.date.as_str()) {
        return Err(SignError::AuthorizationHeaderMalformed("the credential date does not match the request date"));
    }
    let payload = classify_payload(&payload_literal)?;
    let canonical = canonical_request(head, &auth.signed_headers, &payload_literal);
    let scope = auth.scope();
    let sts = string_to_sign(ALGORITHM, &amz_date, &scope, &canonical);
    let key = derive_key("AWS4", secret, &auth.date, &auth.region, &auth.service, "aws4_request");
    let sig = hmac_sha256(&key, sts.as_bytes());
    if !ct_eq(&sig, &auth.signature) {
        return Err(SignError::SignatureDoesNotMatch);
    }
    Ok(match payload_literal.as_str() {
        STREAMING_SIGNED => {
            Payload::SignedChunks { signer: ChunkSigner::new(key, amz_date, scope, sig), trailer: false }
        }
        STREAMING_SIGNED_TRAILER => {
            Payload::SignedChunks { signer: ChunkSigner::new(key, amz_date, scope, sig), trailer: true }
        }
        _ => payload,
    })
}

// ---- client side

/// Which SDK's byte layout to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum V4Layout {
    /// botocore: `x-amz-date`, fields separated by `, `, presign credential `%2F`-encoded.
    Aws,
    /// esdk-obs-python: `Date`, fields separated by `,`, presign credential with raw `/`.
    Obs,
}

/// The names to sign: every header present except botocore's blacklist, plus `host`.
pub(crate) fn headers_to_sign(head: &RequestHead<'_>) -> Vec<String> {
    let mut names: Vec<String> = head
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| !UNSIGNED_HEADERS.contains(&k.as_str()))
        .collect();
    if !names.iter().any(|n| n == "host") {
        names.push("host".to_owned());
    }
    names.sort();
    names.dedup();
    names
}

/// The Authorization value for `head`, whose date header the caller has already set.
pub(crate) fn authorization(
    head: &RequestHead<'_>,
    access_key: &str,
    secret: &Secret,
    region: &str,
    service: &str,
    layout: V4Layout,
) -> Result<(String, ChunkSigner), SignError> {
    let (amz_date, _) = request_amz_date(head)?;
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    let payload = head.header_str("x-amz-content-sha256").unwrap_or(UNSIGNED_PAYLOAD).trim().to_owned();
    let signed = headers_to_sign(head);
    let canonical = canonical_request(head, &signed, &payload);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let sts = string_to_sign(ALGORITHM, &amz_date, &scope, &canonical);
    let key = derive_key("AWS4", secret, &date, region, service, "aws4_request");
    let sig = hmac_sha256(&key, sts.as_bytes());
    let sep = if layout == V4Layout::Aws { ", " } else { "," };
    let value = format!(
        "{ALGORITHM} Credential={access_key}/{scope}{sep}SignedHeaders={}{sep}Signature={}",
        signed.join(";"),
        hex::encode(sig)
    );
    Ok((value, ChunkSigner::new(key, amz_date, scope, sig)))
}

/// The presigned query: the operation's own query, then the `X-Amz-*` parameters.
#[allow(clippy::too_many_arguments)]
pub(crate) fn presign_query(
    head: &RequestHead<'_>,
    access_key: &str,
    secret: &Secret,
    region: &str,
    service: &str,
    now: u64,
    expires: u64,
    layout: V4Layout,
) -> String {
    let amz_date = format_amz_date(now);
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let signed = headers_to_sign(head);
    let cred = format!("{access_key}/{scope}");
    let cred_wire = match layout {
        V4Layout::Aws => crate::util::uri_encode_str(cred.as_bytes(), false),
        V4Layout::Obs => crate::util::uri_encode_str(cred.as_bytes(), true),
    };
    let mut query = String::from(head.query());
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&format!(
        "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={cred_wire}&X-Amz-Date={amz_date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders={}",
        crate::util::uri_encode_str(signed.join(";").as_bytes(), false)
    ));
    let target = format!("{}?{query}", head.path());
    let signing_head = RequestHead::new(head.method(), &target, head.headers());
    let signing_head = match head.host() {
        Some(h) => signing_head.with_authority(h),
        None => signing_head,
    };
    let canonical = canonical_request(&signing_head, &signed, UNSIGNED_PAYLOAD);
    let sts = string_to_sign(ALGORITHM, &amz_date, &scope, &canonical);
    let key = derive_key("AWS4", secret, &date, region, service, "aws4_request");
    let sig = hmac_sha256(&key, sts.as_bytes());
    format!("{query}&X-Amz-Signature={}", hex::encode(sig))
}

/// The `x-amz-*` query parameter `name`, if present (used by parse to detect presigning).
pub(crate) fn has_presign_params(params: &[Param]) -> bool {
    find_param(params, "X-Amz-Signature").is_some() || find_param(params, "X-Amz-Credential").is_some()
}

/// The canonical query of SigV4 and OSS V4: every parameter but the signature, name and value
/// RFC 3986-encoded (`/` too), sorted, joined by `&`. `bare_empty` writes a parameter without a
/// value as its bare name (OSS V4: `uploads`) rather than `name=` (SigV4: `uploads=`).
pub(crate) fn push_canonical_query(out: &mut Vec<u8>, head: &RequestHead<'_>, signature: &[u8], bare_empty: bool) {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = head
        .params()
        .into_iter()
        .filter(|p| p.name != signature)
        .map(|p| {
            let mut k = Vec::new();
            uri_encode_into(&mut k, &p.name, false);
            let mut v = Vec::new();
            uri_encode_into(&mut v, p.value_or_empty(), false);
            (k, v)
        })
        .collect();
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(k);
        if !(bare_empty && v.is_empty()) {
            out.push(b'=');
            out.extend_from_slice(v);
        }
    }
}
