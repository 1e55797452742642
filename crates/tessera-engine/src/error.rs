//! Turning the lower layers' errors into the S3 errors clients see.

use std::borrow::Cow;

use tessera_multipart::MultipartError;
use tessera_proto::ErrorCode;
use tessera_proto::ops::S3Error;
use tessera_proto::xml::XmlError;
use tessera_store::StoreError;

/// `500 InternalError`: never the client's fault.
pub(crate) fn internal(message: impl Into<Cow<'static, str>>) -> S3Error {
    S3Error::internal(message)
}

/// The S3 error a store failure answers with.
pub(crate) fn store(e: StoreError) -> S3Error {
    let code = e.code();
    match &e {
        StoreError::Input { .. } => S3Error::new(code, e.to_string()),
        _ if code == ErrorCode::InternalError => S3Error::internal(e.to_string()),
        _ => S3Error::code(code),
    }
}

/// The S3 error a refused multipart command answers with.
pub(crate) fn multipart(e: MultipartError) -> S3Error {
    let err = S3Error::new(e.code(), e.to_string());
    match e {
        MultipartError::InvalidPart { number, .. }
        | MultipartError::InvalidPartOrder { number }
        | MultipartError::EntityTooSmall { number, .. } => err.with("PartNumber", number.to_string()),
        _ => err,
    }
}

/// The S3 error an unreadable XML body answers with.
pub(crate) fn xml(e: XmlError) -> S3Error {
    S3Error::new(e.code(), e.to_string())
}

/// `InvalidRequest` with a message.
pub(crate) fn invalid_request(message: impl Into<Cow<'static, str>>) -> S3Error {
    S3Error::new(ErrorCode::InvalidRequest, message)
}

/// `InvalidArgument` with a message.
pub(crate) fn invalid_argument(message: impl Into<Cow<'static, str>>) -> S3Error {
    S3Error::new(ErrorCode::InvalidArgument, message)
}

/// `AccessDenied`.
pub(crate) fn access_denied() -> S3Error {
    S3Error::code(ErrorCode::AccessDenied)
}

/// `416 InvalidPartNumber`: a `partNumber` read past the object's parts.
pub(crate) fn invalid_part_number() -> S3Error {
    S3Error::new(
        ErrorCode::Custom { code: Cow::Borrowed("InvalidPartNumber"), status: 416 },
        "The requested partnumber is not satisfiable",
    )
}
