//! Tencent COS `q-sign-algorithm=sha1&…` (DIALECTS.md §4): header and presigned query.

use crate::head::{Param, RequestHead, find_param};
use crate::util::{ct_eq, hmac_sha1, parse_hex, sha1_hex, uri_encode, uri_encode_str};
use crate::{Secret, SignError};

/// Headers cos-python-sdk-v5 signs when present (plus every `x-cos-*` and `x-ci-*`).
const SIGNED_HEADERS: &[&str] = &[
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-length",
    "content-md5",
    "content-type",
    "expect",
    "expires",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-unmodified-since",
    "origin",
    "range",
    "transfer-encoding",
    "pic-operations",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CosAuth {
    pub(crate) access_key: String,
    sign_time: String,
    key_time: String,
    start: u64,
    end: u64,
    header_list: Vec<String>,
    param_list: Vec<String>,
    signature: [u8; 20],
    pub(crate) presigned: bool,
}

fn window(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once(';')?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) {
        return None;
    }
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b).then_some((a, b))
}

fn build(
    get: impl Fn(&str) -> Option<String>,
    presigned: bool,
    bad: fn(&'static str) -> SignError,
) -> Result<CosAuth, SignError> {
    if get("q-sign-algorithm").as_deref() != Some("sha1") {
        return Err(bad("q-sign-algorithm must be sha1"));
    }
    let access_key = get("q-ak").filter(|a| !a.is_empty()).ok_or(bad("missing q-ak"))?;
    let sign_time = get("q-sign-time").ok_or(bad("missing q-sign-time"))?;
    let key_time = get("q-key-time").ok_or(bad("missing q-key-time"))?;
    let (start, end) = window(&sign_time).ok_or(bad("q-sign-time must be start;end"))?;
    window(&key_time).ok_or(bad("q-key-time must be start;end"))?;
    let list = |v: String| -> Vec<String> { v.split(';').filter(|s| !s.is_empty()).map(str::to_owned).collect() };
    let header_list = list(get("q-header-list").ok_or(bad("missing q-header-list"))?);
    let param_list = list(get("q-url-param-list").ok_or(bad("missing q-url-param-list"))?);
    let signature =
        get("q-signature").and_then(|s| parse_hex::<20>(&s)).ok_or(bad("q-signature must be 40 hex digits"))?;
    Ok(CosAuth { access_key, sign_time, key_time, start, end, header_list, param_list, signature, presigned })
}

pub(crate) fn parse_header(value: &str) -> Result<CosAuth, SignError> {
    let fields: Vec<(&str, &str)> = value.trim().split('&').filter_map(|f| f.split_once('=')).collect();
    let get = |n: &str| fields.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).to_owned());
    build(get, false, SignError::AuthorizationHeaderMalformed)
}

pub(crate) fn parse_presigned(params: &[Param]) -> Result<CosAuth, SignError> {
    let get = |n: &str| find_param(params, n).and_then(|p| String::from_utf8(p.value_or_empty().to_vec()).ok());
    build(get, true, SignError::AuthorizationQueryParametersError)
}

pub(crate) fn is_presigned(params: &[Param]) -> bool {
    find_param(params, "q-signature").is_some() || find_param(params, "q-sign-algorithm").is_some()
}

/// The format string (§4.3 step 5) for the listed parameters and headers.
fn format_string(head: &RequestHead<'_>, params: &[String], headers: &[String], skip_q: bool) -> Vec<u8> {
    let wire = head.params();
    let pmap: Vec<(String, Vec<u8>)> = wire
        .iter()
        .filter(|p| !(skip_q && p.name.starts_with(b"q-")))
        .map(|p| (uri_encode_str(&p.name, false).to_ascii_lowercase(), uri_encode(p.value_or_empty(), false)))
        .collect();
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(head.method().to_ascii_lowercase().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&head.decoded_path());
    out.push(b'\n');
    for (i, name) in params.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        if let Some((_, v)) = pmap.iter().find(|(k, _)| k == name) {
            out.extend_from_slice(v);
        }
    }
    out.push(b'\n');
    for (i, name) in headers.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        let value = if name == "host" {
            // The SDK signs the URL's host name, never the port.
            let host = head.host().unwrap_or_default();
            host_without_port(host).as_bytes().to_vec()
        } else {
            head.header_joined(name).unwrap_or_default()
        };
        out.extend_from_slice(&uri_encode(&value, false));
    }
    out.push(b'\n');
    out
}

fn host_without_port(host: &str) -> &str {
    // The SDK signs `urlparse(url).hostname`: no port, and no brackets around an IPv6 literal.
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h)
}

fn signature(secret: &Secret, key_time: &str, sign_time: &str, format: &[u8]) -> [u8; 20] {
    let sts = format!("sha1\n{sign_time}\n{}\n", sha1_hex(format));
    let sign_key = hex::encode(hmac_sha1(secret.expose().as_bytes(), key_time.as_bytes()));
    hmac_sha1(sign_key.as_bytes(), sts.as_bytes())
}

pub(crate) fn verify(auth: &CosAuth, head: &RequestHead<'_>, secret: &Secret, now: u64) -> Result<(), SignError> {
    if now < auth.start.saturating_sub(crate::MAX_SKEW_SECS) {
        return Err(SignError::NotYetValid);
    }
    if now > auth.end {
        return Err(SignError::Expired);
    }
    // Every parameter must be signed and every signed parameter present: otherwise a renamed
    // `uploads=` would still sign as `uploads=`, and unsigned parameters could change the operation.
    let mut wire: Vec<String> = head
        .params()
        .iter()
        .filter(|p| !(auth.presigned && p.name.starts_with(b"q-")))
        .map(|p| uri_encode_str(&p.name, false).to_ascii_lowercase())
        .collect();
    wire.sort();
    wire.dedup();
    let mut listed = auth.param_list.clone();
    listed.sort();
    if wire != listed {
        return Err(SignError::SignatureDoesNotMatch);
    }
    let format = format_string(head, &auth.param_list, &auth.header_list, auth.presigned);
    let sig = signature(secret, &auth.key_time, &auth.sign_time, &format);
    if ct_eq(&sig, &auth.signature) { Ok(()) } else { Err(SignError::SignatureDoesNotMatch) }
}

// ---- client side

/// Lower-case names of the parameters to sign: all of them, sorted.
fn params_to_sign(head: &RequestHead<'_>) -> Vec<String> {
    let mut names: Vec<String> =
        head.params().iter().map(|p| uri_encode_str(&p.name, false).to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    names
}

fn headers_to_sign(head: &RequestHead<'_>) -> Vec<String> {
    let mut names: Vec<String> = head
        .headers()
        .keys()
        .map(|k| k.as_str())
        .filter(|k| {
            SIGNED_HEADERS.contains(k) || k.starts_with("x-cos-") || k.starts_with("x-ci-") || k.starts_with("if-")
        })
        .map(str::to_owned)
        .collect();
    if !names.iter().any(|n| n == "host") && head.host().is_some() {
        names.push("host".to_owned());
    }
    names.sort();
    names.dedup();
    names
}

fn fields(
    access_key: &str,
    window: &str,
    headers: &[String],
    params: &[String],
    sig: &[u8; 20],
) -> Vec<(&'static str, String)> {
    vec![
        ("q-sign-algorithm", "sha1".to_owned()),
        ("q-ak", access_key.to_owned()),
        ("q-sign-time", window.to_owned()),
        ("q-key-time", window.to_owned()),
        ("q-header-list", headers.join(";")),
        ("q-url-param-list", params.join(";")),
        ("q-signature", hex::encode(sig)),
    ]
}

/// The Authorization value: window `now - 60 ; now + expire` (the SDK's habit).
pub(crate) fn authorization(
    head: &RequestHead<'_>,
    access_key: &str,
    secret: &Secret,
    now: u64,
    expire: u64,
) -> String {
    let window = format!("{};{}", now.saturating_sub(60), now.saturating_add(expire));
    let (params, headers) = (params_to_sign(head), headers_to_sign(head));
    let format = format_string(head, &params, &headers, false);
    let sig = signature(secret, &window, &window, &format);
    let f = fields(access_key, &window, &headers, &params, &sig);
    f.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The presigned query: the `q-*` fields first, then the operation's parameters. Only `host`
/// is signed, as `get_presigned_url` does without extra headers.
pub(crate) fn presign_query(
    head: &RequestHead<'_>,
    access_key: &str,
    secret: &Secret,
    now: u64,
    expires: u64,
) -> String {
    let window = format!("{};{}", now.saturating_sub(60), now.saturating_add(expires));
    let params = params_to_sign(head);
    let headers = vec!["host".to_owned()];
    let format = format_string(head, &params, &headers, false);
    let sig = signature(secret, &window, &window, &format);
    let mut q: Vec<String> = fields(access_key, &window, &headers, &params, &sig)
        .into_iter()
        .map(|(k, v)| format!("{k}={}", uri_encode_str(v.as_bytes(), false)))
        .collect();
    if !head.query().is_empty() {
        q.push(head.query().to_owned());
    }
    q.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_dropped_from_the_signed_host() {
        assert_eq!(host_without_port("b.cos.local:9000"), "b.cos.local");
        assert_eq!(host_without_port("b.cos.local"), "b.cos.local");
        assert_eq!(host_without_port("[::1]:9000"), "::1");
    }
}
