//! `<Error>`: the error body, whose elements differ per dialect.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{XmlDocument, XmlError};
use crate::{Dialect, ErrorCode, InvalidValue};

/// Most extra elements kept when reading an error body.
const MAX_EXTRAS: usize = 64;

/// `<Error>`: Code and Message, the dialect's extras (Resource, RequestId, HostId, OSS's EC,
/// COS's TraceId), and any other elements (`Key`, `BucketName`, `UploadId`, `StringToSign`…)
/// in order. Never carries a namespace.
///
/// Written for a dialect, the elements its SDK needs are always present, empty if unknown:
/// COS's SDK cannot read an error without Code, Message, Resource and RequestId.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDocument {
    /// The code.
    pub code: ErrorCode,
    /// The message.
    pub message: String,
    /// The resource (bucket or key path) the request named.
    pub resource: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// The extended request id.
    pub host_id: Option<String>,
    /// OSS's error-centre code.
    pub ec: Option<String>,
    /// COS's trace id.
    pub trace_id: Option<String>,
    extras: Vec<(String, String)>,
}

const KNOWN: [&str; 7] = ["Code", "Message", "Resource", "RequestId", "HostId", "EC", "TraceId"];

impl ErrorDocument {
    /// An error with `code` and its default message.
    pub fn new(code: ErrorCode) -> Self {
        let message = code.default_message().to_owned();
        ErrorDocument {
            code,
            message,
            resource: None,
            request_id: None,
            host_id: None,
            ec: None,
            trace_id: None,
            extras: Vec::new(),
        }
    }

    /// Adds an extra element (`Key`, `UploadId`, `StringToSign`…). Names must be ASCII
    /// letters and digits and not one of the named fields; returns whether it was added.
    pub fn push_extra(&mut self, name: &str, value: impl Into<String>) -> bool {
        let ok = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric())
            && name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && !KNOWN.contains(&name);
        if ok {
            self.extras.push((name.to_owned(), value.into()));
        }
        ok
    }

    /// The extra elements, in order.
    pub fn extras(&self) -> &[(String, String)] {
        &self.extras
    }

    /// The value of extra element `name`.
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extras.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl From<InvalidValue> for ErrorDocument {
    /// The error body answering a value that failed validation: its code and message.
    fn from(v: InvalidValue) -> Self {
        let mut doc = ErrorDocument::new(v.code);
        doc.message = v.message.into_owned();
        doc
    }
}

impl From<XmlError> for ErrorDocument {
    /// The error body answering a request body that could not be read.
    fn from(e: XmlError) -> Self {
        InvalidValue::from(e).into()
    }
}

impl XmlDocument for ErrorDocument {
    const ROOT: &'static str = "Error";
    const NAMESPACED: bool = false;

    fn to_wire(&self, dialect: Dialect) -> Cow<'_, Self> {
        let extras = dialect.spec().error_extras;
        let missing = (extras.resource && self.resource.is_none())
            || self.request_id.is_none()
            || (extras.host_id && self.host_id.is_none());
        if !missing {
            return Cow::Borrowed(self);
        }
        let mut doc = self.clone();
        if extras.resource {
            doc.resource.get_or_insert_with(String::new);
        }
        doc.request_id.get_or_insert_with(String::new);
        if extras.host_id {
            doc.host_id.get_or_insert_with(String::new);
        }
        Cow::Owned(doc)
    }
}

impl Serialize for ErrorDocument {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("Code", self.code.as_str())?;
        map.serialize_entry("Message", &self.message)?;
        for (name, value) in &self.extras {
            map.serialize_entry(name, value)?;
        }
        let optional = [
            ("Resource", &self.resource),
            ("RequestId", &self.request_id),
            ("HostId", &self.host_id),
            ("EC", &self.ec),
            ("TraceId", &self.trace_id),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                map.serialize_entry(name, v)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ErrorDocument {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ErrorVisitor;

        impl<'de> Visitor<'de> for ErrorVisitor {
            type Value = ErrorDocument;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an <Error> element")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ErrorDocument, A::Error> {
                let mut doc = ErrorDocument::new(ErrorCode::InternalError);
                let mut code = None;
                let mut message = None;
                while let Some(name) = map.next_key::<String>()? {
                    let value: String = map.next_value()?;
                    match name.as_str() {
                        "Code" => code = Some(value),
                        "Message" => message = Some(value),
                        "Resource" => doc.resource = Some(value),
                        "RequestId" => doc.request_id = Some(value),
                        "HostId" => doc.host_id = Some(value),
                        "EC" => doc.ec = Some(value),
                        "TraceId" => doc.trace_id = Some(value),
                        // Attributes (`@…`) and text between the elements (`$text`).
                        _ if name.starts_with(['@', '$']) => {}
                        // Kept only when it could be written back (`push_extra`'s rules).
                        _ if doc.extras.len() < MAX_EXTRAS => {
                            doc.push_extra(&name, value);
                        }
                        _ => {}
                    }
                }
                let code = code.ok_or_else(|| serde::de::Error::missing_field("Code"))?;
                doc.code = ErrorCode::from_code(code.trim());
                doc.message = message.unwrap_or_default();
                Ok(doc)
            }
        }

        d.deserialize_map(ErrorVisitor)
    }
}
