//! The REST binding of the five dialects: from an HTTP request head to an operation, and from an
//! operation's outcome to status, headers and XML.
//!
//! This crate does no I/O: no sockets, no bodies, no clock, no runtime. It is the codec layer of
//! Tessera, plain functions over the `http` crate's types, testable without a server. It is the
//! only crate that maps operations to URLs, headers and status codes.
//!
//! Use `tessera-server` to serve requests, `tessera-client` to send them; use this crate to put
//! the five dialects into another HTTP stack.

use std::borrow::Cow;
use std::fmt;

use tessera_proto::{ErrorCode, InvalidValue};

pub mod query;
pub mod route;

pub use query::Query;
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
