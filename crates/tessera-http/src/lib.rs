//! The REST binding of the five dialects: from an HTTP request head to an operation, and from an
//! operation's outcome to status, headers and XML.
//!
//! This crate does no I/O: no sockets, no request or response bodies, no clock, no runtime, no
//! authentication (signatures are `tessera-sign`'s) and no S3 semantics (whether a bucket
//! exists, what a condition means: that is `tessera-engine`). It is the codec layer of Tessera,
//! plain functions over the `http` crate's types, testable without a server, and the only crate
//! that maps operations to URLs, headers and status codes.
//!
//! A server drives it in this order:
//!
//! 1. [`route()`] finds the bucket, key and query; [`is_obs_apiversion`] says whether the request
//!    is OBS's unsigned preflight, answered at once with [`Output::ObsApiVersion`](tessera_proto::ops::Output);
//! 2. after the signature is checked, [`dialect_of`] gives the dialect and [`parse_operation`]
//!    the [`Operation`](tessera_proto::ops::Operation); [`body_framing`] says how long the body
//!    is and whether it is aws-chunked;
//! 3. the engine's outcome goes through [`render`] or [`render_error`], then
//!    [`add_common_headers`] adds request ids, `Date` and `Server`.
//!
//! ```
//! use http::{HeaderMap, HeaderValue, Method, Uri};
//! use tessera_http::{Routing, add_common_headers, dialect_of, parse_operation, render_error, resource_of, route};
//! use tessera_proto::Dialect;
//! use tessera_proto::ops::S3Error;
//!
//! let routing = Routing::new(["s3.local"]);
//! let uri: Uri = "/photos/cat.jpg?partNumber=0&uploadId=abc".parse().unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert("host", HeaderValue::from_static("examplebucket.cos.local"));
//! headers.insert("content-length", HeaderValue::from_static("5"));
//! let r = route(&uri, &headers, &routing).unwrap();
//! let dialect = dialect_of(None, &headers, &r); // the signature's dialect goes first
//! assert_eq!(dialect, Dialect::Cos);
//! let err = parse_operation(&Method::PUT, &headers, &r, dialect).unwrap_err();
//! let err = S3Error::from(err).with_resource(resource_of(&r));
//! let mut response = render_error(&err, dialect, &Method::PUT, "req-1", "host-1");
//! add_common_headers(response.headers_mut(), dialect, "req-1", "host-1", "Thu, 01 May 2025 12:00:00 GMT");
//! assert_eq!(response.status(), 400);
//! assert_eq!(response.headers()["x-cos-request-id"], "req-1");
//! ```
//!
//! Use `tessera-server` to serve requests, `tessera-client` to send them; use this crate to put
//! the five dialects into another HTTP stack.

use std::borrow::Cow;
use std::fmt;

use tessera_proto::{ErrorCode, InvalidValue};

pub mod query;
pub mod request;
pub mod response;
pub mod route;

pub use query::Query;
pub use request::{
    BodyFraming, MAX_HEADER_BYTES, body_framing, is_obs_apiversion, parse_operation, resource_of, strip_aws_chunked,
};
pub use response::{add_common_headers, render, render_error};
pub use route::{Addressing, Route, Routing, dialect_of, route};

/// A request that cannot be bound to an operation, with the S3 error it answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpError {
    /// The S3 error code.
    pub code: ErrorCode,
    /// A message for the client.
    pub message: Cow<'static, str>,
}

impl HttpError {
    /// An error answering with `code`.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        HttpError { code, message: message.into() }
    }

    /// `400 InvalidURI`.
    pub fn invalid_uri(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Custom { code: Cow::Borrowed("InvalidURI"), status: 400 }, message)
    }

    /// `400 BadRequest`.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
}

impl From<InvalidValue> for HttpError {
    fn from(v: InvalidValue) -> Self {
        HttpError { code: v.code, message: v.message }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for HttpError {}
