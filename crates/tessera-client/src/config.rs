//! What a [`Client`](crate::Client) is built from.

use std::path::PathBuf;
use std::time::Duration;

use tessera_multipart::plan::RetryPolicy;
use tessera_proto::Dialect;
use tessera_sign::{Secret, SigningScheme};

use crate::ClientError;

/// An access key and its secret.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The access key (AWS access key id, COS SecretId, …).
    pub access_key: String,
    /// Its secret; never printed.
    pub secret: Secret,
}

impl Credentials {
    /// Credentials from an access key and a secret.
    pub fn new(access_key: impl Into<String>, secret: impl Into<String>) -> Credentials {
        Credentials { access_key: access_key.into(), secret: Secret::new(secret.into()) }
    }
}

/// Where the bucket goes in a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Addressing {
    /// The dialect's usual choice: virtual host for COS (whose SDK has no path style),
    /// path style for the others (as their SDKs do with an IP endpoint).
    #[default]
    Auto,
    /// `/bucket/key` on the endpoint.
    Path,
    /// `Host: bucket.<domain>`, path `/key`. The connection still goes to the endpoint's
    /// address, so no DNS entry is needed for the bucket names. `domain` defaults to the
    /// endpoint's host and port (for COS with an IP endpoint: `cos.<region>.myqcloud.com`,
    /// as cos-python-sdk-v5 sends it).
    VirtualHost {
        /// The service domain (`s3.local`, `cos.local:9000`).
        domain: Option<String>,
    },
}

/// How to trust the server's certificate on `https` endpoints.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// Also trust the CA certificates in this PEM file (a local or private CA).
    pub ca_pem: Option<PathBuf>,
    /// Accept any certificate. Only for local test servers with self-signed certificates:
    /// this removes all protection against an active attacker.
    pub insecure_skip_verify: bool,
}

/// Time limits on one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// From sending the request to receiving the response head (includes sending the body).
    pub response: Duration,
    /// Between two pieces of a response body.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(10), response: Duration::from_secs(300), read: Duration::from_secs(60) }
    }
}

/// Everything a [`Client`](crate::Client) needs.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `http://host:port` or `https://host:port` of the service; any path is ignored.
    pub endpoint: http::Uri,
    /// The dialect to speak.
    pub dialect: Dialect,
    /// Whose key signs the requests; `None` sends them anonymously.
    pub credentials: Option<Credentials>,
    /// The region signed by the schemes that sign one (SigV4, OSS V4); COS uses it for its
    /// default virtual-host domain.
    pub region: String,
    /// The signing scheme; `None` picks the dialect's usual one (see [`default_scheme`]).
    pub scheme: Option<SigningScheme>,
    /// Where the bucket goes.
    pub addressing: Addressing,
    /// Certificate trust for `https`.
    pub tls: TlsOptions,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Retries of single requests (multipart uploads follow their plan's own policy).
    pub retry: RetryPolicy,
    /// Idle connections kept per host.
    pub max_idle_per_host: usize,
}

impl ClientConfig {
    /// A configuration for `endpoint` in `dialect` with defaults for everything else
    /// (region `us-east-1`, or the vendor's usual default region; no credentials).
    pub fn new(endpoint: &str, dialect: Dialect) -> Result<ClientConfig, ClientError> {
        let endpoint: http::Uri =
            endpoint.parse().map_err(|e| ClientError::config(format!("endpoint {endpoint:?}: {e}")))?;
        match endpoint.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err(ClientError::config("the endpoint must start with http:// or https://")),
        }
        if endpoint.authority().is_none() {
            return Err(ClientError::config("the endpoint has no host"));
        }
        let region = match dialect {
            Dialect::Aws => "us-east-1",
            Dialect::Obs => "cn-north-4",
            Dialect::Cos => "ap-guangzhou",
            Dialect::Oss => "cn-hangzhou",
            Dialect::Ks3 => "cn-beijing",
        };
        Ok(ClientConfig {
            endpoint,
            dialect,
            credentials: None,
            region: region.to_owned(),
            scheme: None,
            addressing: Addressing::Auto,
            tls: TlsOptions::default(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            max_idle_per_host: 32,
        })
    }

    /// Signs with `credentials`.
    pub fn with_credentials(mut self, credentials: Credentials) -> ClientConfig {
        self.credentials = Some(credentials);
        self
    }

    /// The scheme requests are signed with.
    pub fn signing_scheme(&self) -> SigningScheme {
        self.scheme.clone().unwrap_or_else(|| default_scheme(self.dialect, &self.region))
    }
}

/// The signing scheme each dialect's official SDK uses by default: SigV4 for AWS, the native
/// `OBS ak:sig`, COS's `q-sign-algorithm`, OSS V4, `KSS ak:sig`.
pub fn default_scheme(dialect: Dialect, region: &str) -> SigningScheme {
    match dialect {
        Dialect::Aws => SigningScheme::SigV4 { region: region.to_owned(), service: "s3".to_owned() },
        Dialect::Obs => SigningScheme::Obs,
        Dialect::Cos => SigningScheme::Cos { expire_secs: 10_000 },
        Dialect::Oss => SigningScheme::OssV4 { region: region.to_owned(), product: "oss".to_owned() },
        Dialect::Ks3 => SigningScheme::Ks3,
    }
}
