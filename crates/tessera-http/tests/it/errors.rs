//! Every error code in every dialect: the status of its code, the dialect's `<Error>` body,
//! no namespace, no body on HEAD and 304, and OSS's `x-oss-err` header for HEAD.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::{Method, Response};
use tessera_http::{HttpError, render_error};
use tessera_proto::ops::S3Error;
use tessera_proto::xml::{ErrorDocument, from_xml};
use tessera_proto::{Dialect, ErrorCode};

const REQUEST_ID: &str = "REQ0123456789ABCDEF";
const HOST_ID: &str = "host-id-2/abc=";

fn error(code: ErrorCode) -> S3Error {
    S3Error::code(code).with_resource("/examplebucket/photos/2025/cat.jpg")
}

fn body_text(r: &Response<Bytes>) -> &str {
    std::str::from_utf8(r.body()).expect("UTF-8 error body")
}

fn header<'a>(r: &'a Response<Bytes>, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().expect("ASCII header"))
}

#[test]
fn every_code_in_every_dialect() {
    let mut rendered = 0;
    for dialect in Dialect::ALL {
        let spec = dialect.spec();
        for code in ErrorCode::NAMED {
            let r = render_error(&error(code.clone()), dialect, &Method::GET, REQUEST_ID, HOST_ID);
            let what = format!("{dialect} {code}");
            assert_eq!(r.status().as_u16(), code.status(), "{what}");
            assert_eq!(header(&r, spec.request_id_header), Some(REQUEST_ID), "{what}");
            if *code == ErrorCode::NotModified {
                assert!(r.body().is_empty(), "{what}: 304 has no body");
                assert_eq!(header(&r, "content-length"), None, "{what}");
                let head = render_error(&error(code.clone()), dialect, &Method::HEAD, REQUEST_ID, HOST_ID);
                assert_eq!((head.status().as_u16(), header(&head, "content-length")), (304, None), "{what}");
                continue;
            }
            assert_eq!(header(&r, "content-type"), Some("application/xml"), "{what}");
            assert_eq!(header(&r, "content-length"), Some(r.body().len().to_string().as_str()), "{what}");
            let text = body_text(&r);
            assert!(text.starts_with("<?xml"), "{what}: {text}");
            assert!(!text.contains("xmlns"), "{what}: <Error> never has a namespace: {text}");
            let doc: ErrorDocument = from_xml(r.body()).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
            assert_eq!(&doc.code, code, "{what}");
            assert_eq!(doc.message, code.default_message(), "{what}");
            assert_eq!(doc.request_id.as_deref(), Some(REQUEST_ID), "{what}");
            let extras = spec.error_extras;
            assert_eq!(
                doc.resource.as_deref(),
                extras.resource.then_some("/examplebucket/photos/2025/cat.jpg"),
                "{what}"
            );
            assert_eq!(doc.host_id.as_deref(), extras.host_id.then_some(HOST_ID), "{what}");
            assert_eq!(doc.ec.is_some(), extras.ec, "{what}");
            assert_eq!(doc.trace_id.is_some(), extras.trace_id, "{what}");
            rendered += 1;
        }
    }
    assert!(rendered >= 5 * 50, "{rendered}");
}

#[test]
fn cos_always_has_its_four_fields() {
    // Even with no resource known: the COS SDK reports "Unknown" unless all four are there.
    let err = S3Error::code(ErrorCode::NoSuchUpload);
    let r = render_error(&err, Dialect::Cos, &Method::POST, REQUEST_ID, "");
    let text = body_text(&r);
    for element in ["<Code>NoSuchUpload</Code>", "<Message>", "<Resource", "<RequestId>REQ0123456789ABCDEF</RequestId>"]
    {
        assert!(text.contains(element), "{element} missing: {text}");
    }
    assert!(text.contains("<TraceId>REQ0123456789ABCDEF</TraceId>"), "{text}");
    assert_eq!(r.status(), 404);
}

#[test]
fn the_vendor_extras_and_no_more() {
    let err = S3Error::code(ErrorCode::AccessDenied).with_resource("/b/k").with("UploadId", "abc");
    let oss = render_error(&err, Dialect::Oss, &Method::GET, REQUEST_ID, HOST_ID);
    let text = body_text(&oss);
    for element in ["<EC>", "<HostId>host-id-2/abc=</HostId>", "<RequestId>", "<UploadId>abc</UploadId>"] {
        assert!(text.contains(element), "{element} missing: {text}");
    }
    assert!(!text.contains("<Resource>"), "OSS has no Resource: {text}");
    let aws = render_error(&err, Dialect::Aws, &Method::GET, REQUEST_ID, HOST_ID);
    let text = body_text(&aws);
    for element in ["<Resource>/b/k</Resource>", "<RequestId>", "<HostId>"] {
        assert!(text.contains(element), "{element} missing: {text}");
    }
    assert!(!text.contains("<EC>") && !text.contains("<TraceId>"), "{text}");
    assert_eq!(header(&aws, "x-amz-id-2"), Some(HOST_ID));
    let ks3 = render_error(&err, Dialect::Ks3, &Method::GET, REQUEST_ID, HOST_ID);
    assert_eq!(header(&ks3, "x-kss-request-id"), Some(REQUEST_ID));
    assert!(!body_text(&ks3).contains("<HostId>"));
    let obs = render_error(&err, Dialect::Obs, &Method::GET, REQUEST_ID, HOST_ID);
    assert_eq!(header(&obs, "x-obs-request-id"), Some(REQUEST_ID));
    assert_eq!(header(&obs, "x-obs-id-2"), Some(HOST_ID));
}

#[test]
fn head_errors_have_no_body_but_oss_says_it_in_a_header() {
    for dialect in Dialect::ALL {
        let r = render_error(&error(ErrorCode::NoSuchKey), dialect, &Method::HEAD, REQUEST_ID, HOST_ID);
        assert_eq!(r.status(), 404, "{dialect}");
        assert!(r.body().is_empty(), "{dialect}");
        assert_eq!(header(&r, "content-length"), Some("0"), "{dialect}");
        let err_header = header(&r, "x-oss-err");
        if dialect == Dialect::Oss {
            let xml = B64.decode(err_header.expect("x-oss-err")).expect("base64");
            let doc: ErrorDocument = from_xml(&xml).expect("error XML in x-oss-err");
            assert_eq!(doc.code, ErrorCode::NoSuchKey);
            assert_eq!(doc.request_id.as_deref(), Some(REQUEST_ID));
            assert!(header(&r, "x-oss-ec").is_some());
        } else {
            assert_eq!(err_header, None, "{dialect}");
        }
    }
}

#[test]
fn custom_codes_keep_their_status_and_http_errors_convert() {
    let err = S3Error::new(ErrorCode::Custom { code: "RequestHeaderSectionTooLarge".into(), status: 400 }, "big");
    let r = render_error(&err, Dialect::Aws, &Method::PUT, REQUEST_ID, HOST_ID);
    assert_eq!(r.status(), 400);
    assert!(body_text(&r).contains("<Code>RequestHeaderSectionTooLarge</Code>"));
    let from_http: S3Error = HttpError::new(ErrorCode::InvalidArgument, "Part number must be an integer").into();
    assert_eq!(from_http.code, ErrorCode::InvalidArgument);
    assert_eq!(from_http.message, "Part number must be an integer");
    // A status no HTTP response can have is a server bug: 500, not a panic.
    let odd = S3Error::new(ErrorCode::Custom { code: "Odd".into(), status: 42 }, "odd");
    assert_eq!(render_error(&odd, Dialect::Cos, &Method::GET, REQUEST_ID, HOST_ID).status(), 500);
}

#[test]
fn ids_a_header_cannot_carry_are_left_out() {
    let r = render_error(&error(ErrorCode::InternalError), Dialect::Aws, &Method::GET, "bad\nid", HOST_ID);
    assert_eq!(r.status(), 500);
    assert_eq!(header(&r, "x-amz-request-id"), None);
}

#[test]
fn the_resource_of_a_route() {
    use crate::support::parse_with_route;
    let (r, _) = parse_with_route(Dialect::Cos, "GET", "/examplebucket/a%20b/c", &[]).expect("route");
    assert_eq!(tessera_http::resource_of(&r), "/examplebucket/a b/c");
    let (r, _) = parse_with_route(Dialect::Cos, "GET", "/examplebucket?uploads", &[]).expect("route");
    assert_eq!(tessera_http::resource_of(&r), "/examplebucket");
    let (r, _) = parse_with_route(Dialect::Aws, "GET", "/", &[]).expect("route");
    assert_eq!(tessera_http::resource_of(&r), "/");
    let err = S3Error::from(HttpError::new(ErrorCode::NoSuchKey, "gone")).with_resource(tessera_http::resource_of(&r));
    let response = render_error(&err, Dialect::Cos, &Method::GET, REQUEST_ID, "");
    assert!(body_text(&response).contains("<Resource>/</Resource>"));
}
