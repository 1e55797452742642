//! One error type for everything the client can fail at.

use std::fmt;

use tessera_proto::ErrorCode;

/// An error answered by the service: the S3 error code and what came with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    /// The HTTP status.
    pub status: u16,
    /// The S3 error code (`NoSuchBucket`, `SlowDown`, …); for a body-less answer (HEAD), the
    /// code the status implies (`NoSuchKey` for 404, …).
    pub code: ErrorCode,
    /// The message, if the body had one.
    pub message: String,
    /// The request id, from the dialect's request-id header or the body.
    pub request_id: Option<String>,
    /// The resource the error is about, if the body named it.
    pub resource: Option<String>,
}

impl ServiceError {
    /// Whether trying again may succeed: 5xx answers, `SlowDown`, request timeouts and
    /// throttling.
    pub fn is_retryable(&self) -> bool {
        self.status >= 500
            || self.status == 429
            || matches!(
                self.code.as_str(),
                "SlowDown" | "RequestTimeout" | "Throttling" | "ThrottlingException" | "RequestTimeTooSkewed"
            )
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code.as_str())?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        write!(f, " (status {}", self.status)?;
        if let Some(id) = &self.request_id {
            write!(f, ", request id {id}")?;
        }
        f.write_str(")")
    }
}

/// Why a client operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The service answered with an error.
    Service(ServiceError),
    /// The request could not be sent or its answer not received (connection refused or
    /// reset, TLS failure, a body cut short). Retryable.
    Transport(String),
    /// No answer within the configured time. Retryable.
    Timeout(&'static str),
    /// A local file or reader failed.
    Io(std::io::Error),
    /// The data or an answer failed an integrity check (ETag, CRC-64, CRC-32C, size).
    Integrity(String),
    /// The service answered something this client cannot read (bad XML, a missing header).
    InvalidResponse(String),
    /// The configuration or the arguments cannot work (a bad endpoint, a key that is not
    /// valid, a part size outside the dialect's limits).
    Config(String),
}

impl ClientError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Service(e) => e.is_retryable(),
            ClientError::Transport(_) | ClientError::Timeout(_) => true,
            // A corrupted transfer is worth sending again.
            ClientError::Integrity(_) => true,
            ClientError::Io(_) | ClientError::InvalidResponse(_) | ClientError::Config(_) => false,
        }
    }

    /// The S3 error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Service(e) => Some(e.code.as_str()),
            _ => None,
        }
    }

    /// The service error, if this is one.
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            ClientError::Service(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ClientError {
        ClientError::InvalidResponse(message.into())
    }

    pub(crate) fn config(message: impl Into<String>) -> ClientError {
        ClientError::Config(message.into())
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Service(e) => fmt::Display::fmt(e, f),
            ClientError::Transport(m) => write!(f, "transport: {m}"),
            ClientError::Timeout(what) => write!(f, "timed out waiting for {what}"),
            ClientError::Io(e) => write!(f, "local I/O: {e}"),
            ClientError::Integrity(m) => write!(f, "integrity check failed: {m}"),
            ClientError::InvalidResponse(m) => write!(f, "unreadable answer: {m}"),
            ClientError::Config(m) => write!(f, "configuration: {m}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        ClientError::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, code: &str) -> ClientError {
        ClientError::Service(ServiceError {
            status,
            code: ErrorCode::from_code(code),
            message: String::new(),
            request_id: Some("R1".into()),
            resource: None,
        })
    }

    #[test]
    fn retryable_classes() {
        assert!(service(500, "InternalError").is_retryable());
        assert!(service(503, "SlowDown").is_retryable());
        assert!(!service(404, "NoSuchKey").is_retryable());
        assert!(!service(403, "SignatureDoesNotMatch").is_retryable());
        assert!(ClientError::Transport("reset".into()).is_retryable());
        assert!(!ClientError::Config("x".into()).is_retryable());
        assert_eq!(service(404, "NoSuchBucket").code(), Some("NoSuchBucket"));
        assert_eq!(service(404, "NoSuchBucket").to_string(), "NoSuchBucket (status 404, request id R1)");
    }
}
