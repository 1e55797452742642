//! Every XML document the five dialects read or write, with one way in and one way out.
//!
//! - Writing: [`to_xml`] writes the declaration, then the document with the dialect's
//!   namespace on its root ([`NamespacePolicy`]): none for OSS and COS, whose SDKs fail on
//!   one, and never on `<Error>`. Timestamps are ISO 8601 with milliseconds, ETags quoted.
//!   Documents with an `encoding_type` of [`EncodingType::Url`] have their keys, prefixes,
//!   markers and delimiters encoded here, in one place ([`crate::encoding::url_encode`]).
//! - Reading: [`from_xml`] accepts documents with or without any namespace or namespace
//!   prefixes. Hostile input gives an [`XmlError`], never a panic or unbounded work: the body
//!   size, nesting depth and element count are capped ([`XmlLimits`]), DOCTYPE and entity
//!   declarations are refused (so nothing is ever expanded), each document caps its lists
//!   (1000 objects in `<Delete>`, 10 000 parts in `<CompleteMultipartUpload>`), and encoded
//!   fields are decoded when the document says `<EncodingType>url</EncodingType>`.
//!
//! Text is written as XML 1.0 character data: `<`, `>` and `&` escaped, CR, NEL and LS as
//! character references (readers would turn them into LF). Other control characters cannot
//! be represented in XML 1.0 at all and are written raw, as S3 does; clients that list such
//! keys ask for `encoding-type=url`, which is exactly why it exists.
//!
//! Reading is two passes: a hand-written pass over quick-xml's events checks the limits and
//! writes a plain copy (local names only, no namespace declarations, no comments), then serde
//! reads that copy. The copy costs one allocation of at most the body size, and lets serde
//! see `<s3:Key>` as `<Key>`.
//!
//! `<CompleteMultipartUpload>`, which can list 10 000 parts, first tries a one-pass reader of
//! the plain form SDKs send ([`XmlDocument::read_plain`]); anything else in it goes the two
//! passes. A property test and the XML fuzz target check the two readers answer alike.

mod config;
mod error;
mod multipart;
mod objects;
mod plain;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use quick_xml::escape::escape;
use quick_xml::events::Event;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dialect::NamespacePolicy;
use crate::{Dialect, ErrorCode, InvalidValue};

pub use crate::encoding::EncodingType;
pub use config::{
    AbortIncompleteMultipartUpload, AccessControlPolicy, ApplyServerSideEncryptionByDefault, CreateBucketConfiguration,
    Grant, Grantee, LifecycleConfiguration, LifecycleExpiration, LifecycleFilter, LifecycleRule, LifecycleStatus,
    LocationConstraint, MAX_ACL_GRANTS, MAX_LIFECYCLE_RULES, ServerSideEncryptionConfiguration, SseRule, Tagging,
};
pub use error::ErrorDocument;
pub use multipart::{
    CompleteMultipartUpload, CompleteMultipartUploadResult, CompletedPart, CopyPartResult,
    InitiateMultipartUploadResult, ListMultipartUploadsResult, ListPartsResult, PartEntry, UploadEntry,
};
pub use objects::{
    BucketEntry, CommonPrefix, CopyObjectResult, Delete, DeleteError, DeleteResult, DeletedObject,
    GetObjectAttributesChecksum, GetObjectAttributesOutput, GetObjectAttributesParts, ListAllMyBucketsResult,
    ListBucketResult, ListBucketResultV2, ListVersionsResult, MAX_DELETE_OBJECTS, ObjectEntry, ObjectIdentifier,
    ObjectPart, Owner, VersionEntry, VersionListEntry,
};

/// A document: its root element and the hooks [`to_xml`] and [`from_xml`] call.
pub trait XmlDocument: Serialize + DeserializeOwned + Clone {
    /// The root element's name.
    const ROOT: &'static str;
    /// Whether the root carries the dialect's namespace (false for `<Error>`).
    const NAMESPACED: bool = true;

    /// The form to write in `dialect`: encoded keys when `encoding_type` asks for it, or the
    /// dialect's required elements. Borrowed when nothing changes.
    fn to_wire(&self, _dialect: Dialect) -> Cow<'_, Self> {
        Cow::Borrowed(self)
    }

    /// Checks the document's own limits and decodes encoded fields after reading.
    fn finish_read(&mut self) -> Result<(), XmlError> {
        Ok(())
    }

    /// A reader for the plain form of the document (what SDKs send), for documents read often
    /// and large enough for the general reader's cost to show: the document, or `None` for
    /// anything it does not recognise, which the general reader then reads. Must answer
    /// exactly as the general reader would for whatever it accepts.
    fn read_plain(_text: &str, _limits: XmlLimits) -> Option<Result<Self, XmlError>> {
        None
    }
}

/// Why a body is not a document Tessera accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum XmlError {
    /// The body is longer than [`XmlLimits::max_bytes`].
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Elements nest deeper than [`XmlLimits::max_depth`].
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More elements than [`XmlLimits::max_elements`].
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// A list holds more entries than the document allows (1001 objects in `<Delete>`).
    TooManyItems {
        /// The element repeated.
        element: &'static str,
        /// Most entries allowed.
        limit: usize,
    },
    /// A `<!DOCTYPE>`: refused, so no entity is ever declared or expanded.
    Doctype,
    /// A reference to an entity that is not one of XML's five.
    UnknownEntity(String),
    /// The body is not UTF-8.
    NotUtf8,
    /// The body is not well-formed XML (or ends early).
    Syntax(String),
    /// The root element is not the one expected.
    WrongRoot {
        /// The root the operation expects.
        expected: &'static str,
        /// The root found.
        found: String,
    },
    /// Well-formed, but not the document's schema: a missing element, a wrong type.
    Schema(String),
    /// A value inside the document is invalid, with the code it answers with (`InvalidTag`).
    Invalid(InvalidValue),
}

impl XmlError {
    /// The S3 error this answers with: `MalformedXML`, or the value's own code.
    pub fn code(&self) -> ErrorCode {
        match self {
            XmlError::Invalid(v) => v.code.clone(),
            _ => ErrorCode::MalformedXML,
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::TooLarge { limit } => write!(f, "the XML body is larger than {limit} bytes"),
            XmlError::TooDeep { limit } => write!(f, "the XML nests deeper than {limit} elements"),
            XmlError::TooManyElements { limit } => write!(f, "the XML has more than {limit} elements"),
            XmlError::TooManyItems { element, limit } => write!(f, "more than {limit} <{element}> elements"),
            XmlError::Doctype => f.write_str("DOCTYPE declarations are not allowed"),
            XmlError::UnknownEntity(e) => write!(f, "unknown entity &{e};"),
            XmlError::NotUtf8 => f.write_str("the XML body is not UTF-8"),
            XmlError::Syntax(e) => write!(f, "the XML is not well-formed: {e}"),
            XmlError::WrongRoot { expected, found } => write!(f, "expected root <{expected}>, found <{found}>"),
            XmlError::Schema(e) => write!(f, "the XML does not match the schema: {e}"),
            XmlError::Invalid(v) => fmt::Display::fmt(v, f),
        }
    }
}

impl std::error::Error for XmlError {}

impl From<XmlError> for InvalidValue {
    fn from(e: XmlError) -> Self {
        match e {
            XmlError::Invalid(v) => v,
            other => InvalidValue::new(other.code(), other.to_string()),
        }
    }
}

/// Bounds on the work one body may cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XmlLimits {
    /// Largest body, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of elements (the root is depth 1).
    pub max_depth: usize,
    /// Most elements in the whole document.
    pub max_elements: usize,
}

impl XmlLimits {
    /// Room for the largest legitimate request: 10 000 parts with every checksum, or 1000
    /// keys of 1 KiB to delete.
    pub const DEFAULT: XmlLimits = XmlLimits { max_bytes: 8 * 1024 * 1024, max_depth: 32, max_elements: 200_000 };
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Writes `doc` as `dialect` does: declaration, root with the dialect's namespace (unless the
/// document never carries one), encoded fields when the document asks for `url` encoding.
pub fn to_xml<T: XmlDocument>(doc: &T, dialect: Dialect) -> Vec<u8> {
    let wire = doc.to_wire(dialect);
    let namespace = match dialect.spec().namespace {
        NamespacePolicy::Emit(ns) if T::NAMESPACED => Some(ns),
        _ => None,
    };
    match serialize(&*wire, T::ROOT, namespace) {
        Ok(xml) => xml,
        // Only a bug in a document type can fail to serialize (an invalid element name);
        // answer with an error document rather than a broken body.
        Err(e) => {
            let mut fallback = ErrorDocument::new(ErrorCode::InternalError);
            fallback.message = format!("could not write <{}>: {e}", T::ROOT);
            serialize(&fallback, ErrorDocument::ROOT, None).unwrap_or_default()
        }
    }
}

/// [`to_xml`] as a `String`.
pub fn to_xml_string<T: XmlDocument>(doc: &T, dialect: Dialect) -> String {
    String::from_utf8(to_xml(doc, dialect)).unwrap_or_default()
}

fn serialize<T: Serialize>(doc: &T, root: &str, namespace: Option<&str>) -> Result<Vec<u8>, quick_xml::SeError> {
    let mut body = String::new();
    let mut ser = quick_xml::se::Serializer::with_root(&mut body, Some(root))?;
    ser.set_quote_level(quick_xml::se::QuoteLevel::Partial);
    doc.serialize(ser)?;
    // Readers normalise a raw CR (and quick-xml also NEL and LS) to LF: keys may hold them,
    // so write them as references. Markup never contains these characters, only text does.
    if body.contains(LINE_ENDS) {
        body = body.replace('\r', "&#13;").replace('\u{85}', "&#133;").replace('\u{2028}', "&#8232;");
    }
    let mut out = Vec::with_capacity(body.len() + 100);
    out.extend_from_slice(br#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push(b'\n');
    // The serializer starts with `<Root` followed by `>` or `/>`: the namespace goes between.
    let split = 1 + root.len();
    match (namespace, body.get(..split), body.get(split..)) {
        (Some(ns), Some(head), Some(tail)) => {
            out.extend_from_slice(head.as_bytes());
            out.extend_from_slice(b" xmlns=\"");
            out.extend_from_slice(escape(ns).as_bytes());
            out.push(b'"');
            out.extend_from_slice(tail.as_bytes());
        }
        _ => out.extend_from_slice(body.as_bytes()),
    }
    Ok(out)
}

/// Most attributes on one element (S3 documents use at most two).
const MAX_ATTRIBUTES: usize = 16;

/// Characters an XML reader may turn into LF.
const LINE_ENDS: [char; 3] = ['\r', '\u{85}', '\u{2028}'];

/// Appends escaped character data, keeping NEL and LS: XML 1.0 keeps them, but quick-xml's
/// deserializer normalises them as XML 1.1 does, so they travel as references.
fn push_text(out: &mut String, escaped: &str) {
    if escaped.contains(['\u{85}', '\u{2028}']) {
        out.push_str(&escaped.replace('\u{85}', "&#133;").replace('\u{2028}', "&#8232;"));
    } else {
        out.push_str(escaped);
    }
}

/// Reads a `T` from `body` under the default [`XmlLimits`].
pub fn from_xml<T: XmlDocument>(body: &[u8]) -> Result<T, XmlError> {
    from_xml_with_limits(body, XmlLimits::DEFAULT)
}

/// Reads a `T` from `body` under `limits`.
pub fn from_xml_with_limits<T: XmlDocument>(body: &[u8], limits: XmlLimits) -> Result<T, XmlError> {
    if body.len() <= limits.max_bytes
        && let Ok(text) = std::str::from_utf8(body)
        && let Some(read) = T::read_plain(text.strip_prefix('\u{feff}').unwrap_or(text), limits)
    {
        return read;
    }
    from_xml_general(body, limits)
}

/// [`from_xml_with_limits`] without the plain-form reader ([`XmlDocument::read_plain`]):
/// every document through the limit-checking pass and serde. For differential tests.
pub fn from_xml_general<T: XmlDocument>(body: &[u8], limits: XmlLimits) -> Result<T, XmlError> {
    let (root, plain) = sanitize(body, limits)?;
    if root != T::ROOT {
        return Err(XmlError::WrongRoot { expected: T::ROOT, found: root });
    }
    let mut doc: T = quick_xml::de::from_str(&plain).map_err(|e| XmlError::Schema(e.to_string()))?;
    doc.finish_read()?;
    Ok(doc)
}

fn syntax(e: impl fmt::Display) -> XmlError {
    XmlError::Syntax(e.to_string())
}

/// The limit-checking pass: returns the root's local name and a copy of the document with
/// local names only, no namespace declarations, comments, processing instructions or XML
/// declaration, and only the predefined and character entity references.
fn sanitize(body: &[u8], limits: XmlLimits) -> Result<(String, String), XmlError> {
    if body.len() > limits.max_bytes {
        return Err(XmlError::TooLarge { limit: limits.max_bytes });
    }
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    // A UTF-8 byte-order mark is allowed before the declaration.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut root: Option<String> = None;
    loop {
        let event = reader.read_event().map_err(syntax)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                if depth == 0 && root.is_some() {
                    return Err(XmlError::Syntax("more than one root element".into()));
                }
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements { limit: limits.max_elements });
                }
                if depth + 1 > limits.max_depth {
                    return Err(XmlError::TooDeep { limit: limits.max_depth });
                }
                let name = std::str::from_utf8(e.local_name().into_inner()).map_err(|_| XmlError::NotUtf8)?;
                check_name(name)?;
                if root.is_none() {
                    root = Some(name.to_owned());
                }
                out.push('<');
                out.push_str(name);
                // quick-xml checks attribute names for duplicates pairwise: cap the count so
                // that check stays cheap.
                for (i, attr) in e.attributes().enumerate() {
                    if i == MAX_ATTRIBUTES {
                        return Err(XmlError::Syntax(format!("more than {MAX_ATTRIBUTES} attributes on <{name}>")));
                    }
                    let attr = attr.map_err(syntax)?;
                    let key = attr.key;
                    if key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let local = std::str::from_utf8(key.local_name().into_inner()).map_err(|_| XmlError::NotUtf8)?;
                    check_name(local)?;
                    let value = attr.unescape_value().map_err(|e| match e {
                        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
                            XmlError::UnknownEntity(name)
                        }
                        other => syntax(other),
                    })?;
                    out.push(' ');
                    out.push_str(local);
                    out.push_str("=\"");
                    out.push_str(&escape(value.as_ref()));
                    out.push('"');
                }
                if empty {
                    out.push_str("/>");
                } else {
                    out.push('>');
                    depth += 1;
                }
            }
            Event::End(ref e) => {
                let name = std::str::from_utf8(e.local_name().into_inner()).map_err(|_| XmlError::NotUtf8)?;
                out.push_str("</");
                out.push_str(name);
                out.push('>');
                depth = depth.checked_sub(1).ok_or_else(|| XmlError::Syntax("unmatched end tag".into()))?;
            }
            Event::Text(ref t) => {
                let raw = std::str::from_utf8(t).map_err(|_| XmlError::NotUtf8)?;
                if depth == 0 {
                    if !raw.trim().is_empty() {
                        return Err(XmlError::Syntax("text outside the root element".into()));
                    }
                } else {
                    push_text(&mut out, raw);
                }
            }
            Event::CData(ref t) => {
                if depth == 0 {
                    return Err(XmlError::Syntax("CDATA outside the root element".into()));
                }
                // Written back as escaped text, so that NEL and LS can travel as references.
                let raw = std::str::from_utf8(t).map_err(|_| XmlError::NotUtf8)?;
                push_text(&mut out, &escape(raw));
            }
            Event::GeneralRef(ref r) => {
                let name = std::str::from_utf8(r).map_err(|_| XmlError::NotUtf8)?;
                if depth == 0 {
                    return Err(XmlError::Syntax("reference outside the root element".into()));
                }
                if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(_)) => {}
                        _ => return Err(XmlError::Syntax(format!("invalid character reference &{name};"))),
                    }
                } else if !matches!(name, "lt" | "gt" | "amp" | "apos" | "quot") {
                    return Err(XmlError::UnknownEntity(name.to_owned()));
                }
                out.push('&');
                out.push_str(name);
                out.push(';');
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if depth != 0 {
        return Err(XmlError::Syntax("the document ends before its root element is closed".into()));
    }
    let root = root.ok_or_else(|| XmlError::Syntax("no root element".into()))?;
    Ok((root, out))
}

/// Fails unless `name` is an XML name (without a prefix): quick-xml's reader is lenient
/// about the characters in a tag, its writer is not.
fn check_name(name: &str) -> Result<(), XmlError> {
    let mut chars = name.chars();
    let start_ok = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic());
    let rest_ok = chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '\u{b7}'));
    if start_ok && rest_ok {
        Ok(())
    } else {
        Err(XmlError::Syntax(format!("invalid element or attribute name {name:?}")))
    }
}

/// Encodes `field` in place with [`crate::encoding::url_encode`].
fn encode_field(field: &mut String) {
    // Not `Cow::Owned`-matching: a one-byte key encodes to a borrowed static `%XX`.
    let encoded = crate::encoding::url_encode(field);
    if encoded != field.as_str() {
        *field = encoded.into_owned();
    }
}

/// Encodes an optional field in place.
fn encode_opt(field: &mut Option<String>) {
    if let Some(f) = field {
        encode_field(f);
    }
}

/// Decodes a field written with `encoding-type=url`.
fn decode_field(field: &mut String) -> Result<(), XmlError> {
    *field = crate::encoding::url_decode(field).map_err(XmlError::Invalid)?;
    Ok(())
}

/// Decodes an optional field.
fn decode_opt(field: &mut Option<String>) -> Result<(), XmlError> {
    match field {
        Some(f) => decode_field(f),
        None => Ok(()),
    }
}

/// Fails with [`XmlError::TooManyItems`] when `items` is longer than `limit`.
fn cap<T>(items: &[T], element: &'static str, limit: usize) -> Result<(), XmlError> {
    if items.len() > limit { Err(XmlError::TooManyItems { element, limit }) } else { Ok(()) }
}

/// Serde helpers for lists wrapped in a container element (`<Buckets><Bucket/>…</Buckets>`).
macro_rules! wrapped_list {
    ($module:ident, $item_name:literal, $item:ty) => {
        mod $module {
            use super::*;
            use serde::{Deserialize, Deserializer, Serialize, Serializer};

            #[derive(Serialize)]
            struct Out<'a> {
                #[serde(rename = $item_name)]
                items: &'a [$item],
            }

            #[derive(Deserialize)]
            struct In {
                #[serde(rename = $item_name, default)]
                items: Vec<$item>,
            }

            pub(super) fn serialize<S: Serializer>(items: &[$item], s: S) -> Result<S::Ok, S::Error> {
                Out { items }.serialize(s)
            }

            pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<$item>, D::Error> {
                Ok(In::deserialize(d)?.items)
            }
        }
    };
}
pub(crate) use wrapped_list;
