//! Routing and operation binding on arbitrary request heads: a random method, URI and headers
//! go through `route`, `dialect_of`, `is_obs_apiversion`, `parse_operation` in every dialect and
//! `body_framing`; nothing may panic, and every refusal must be a client error (or 501), never
//! a 500. Errors are rendered too, so the error path is covered end to end.
//!
//! Input: byte 0 picks the method, then lines: the request target, then `name: value` headers.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use libfuzzer_sys::fuzz_target;
use tessera_http::{Routing, body_framing, dialect_of, is_obs_apiversion, parse_operation, render_error, route};
use tessera_proto::Dialect;
use tessera_proto::ops::S3Error;

const METHODS: [&str; 8] = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS", "COPY"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(method) = Method::from_bytes(METHODS[usize::from(selector) % METHODS.len()].as_bytes()) else { return };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let target = lines.next().unwrap_or("/");
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if let (Ok(n), Ok(v)) =
                (HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_bytes(value.trim().as_bytes()))
            {
                headers.append(n, v);
            }
        }
    }
    let Ok(uri) = target.parse::<Uri>() else { return };
    let routing = Routing::new(["s3.local", "obs.local", "cos.local"]);
    let _ = body_framing(&headers);
    let route = match route(&uri, &headers, &routing) {
        Ok(r) => r,
        Err(e) => {
            assert!((400..500).contains(&e.code.status()), "{e}");
            return;
        }
    };
    let _ = is_obs_apiversion(&method, &route);
    let signed = Dialect::ALL.get(usize::from(selector / 8) % 6).copied();
    let resolved = dialect_of(signed, &headers, &route);
    for dialect in Dialect::ALL.into_iter().chain([resolved]) {
        if let Err(e) = parse_operation(&method, &headers, &route, dialect) {
            let status = e.code.status();
            assert!((400..500).contains(&status) || status == 501, "{dialect} {e}");
            let response = render_error(&S3Error::from(e), dialect, &method, "rid", "hid");
            assert_eq!(response.status().as_u16(), status);
        }
    }
});
