//! The seam between building requests and moving bytes.
//!
//! A [`Transport`] takes a signed request with its whole body in memory (a part is at most
//! the part size) and answers with a response whose body streams. [`HyperTransport`] is the
//! real one: hyper 1 through hyper-util's pooled client, TCP with `TCP_NODELAY`, rustls for
//! `https`. [`InProcess`] hands each request to a hyper service over an in-memory pipe, so
//! tests run the client against a server in the same process with no socket. Wrappers (fault
//! injection, recording) implement the trait around another transport.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use crate::ClientError;
use crate::config::{Timeouts, TlsOptions};

/// Any error a body can fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of a response: streamed, possibly failing part-way.
pub type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

/// A boxed future, as [`Transport::send`] returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Sends one request and returns the response head with a streaming body.
///
/// Implementations do not retry: the client decides (and the multipart plan decides for
/// uploads). Failing to connect, a reset connection or a cut response map to
/// [`ClientError::Transport`]; the response to a request is returned whatever its status.
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` (absolute URI; its `Host` header is the one that was signed).
    fn send(&self, request: Request<Bytes>) -> BoxFuture<Result<Response<ResponseBody>, ClientError>>;
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send(&self, request: Request<Bytes>) -> BoxFuture<Result<Response<ResponseBody>, ClientError>> {
        (**self).send(request)
    }
}

fn transport_error(e: impl std::fmt::Display) -> ClientError {
    ClientError::Transport(e.to_string())
}

/// The real transport: a pool of keep-alive HTTP/1.1 connections, plain or TLS.
#[derive(Clone)]
pub struct HyperTransport {
    client: HyperClient<Connector, Full<Bytes>>,
}

impl HyperTransport {
    /// A pool with `timeouts.connect` on every connection, at most `max_idle_per_host`
    /// idle connections kept, and TLS trusting the Web PKI roots plus `tls.ca_pem` (or
    /// nothing checked at all with `tls.insecure_skip_verify`).
    pub fn new(tls: &TlsOptions, timeouts: &Timeouts, max_idle_per_host: usize) -> Result<HyperTransport, ClientError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeouts.connect));
        let connector = Connector { http, tls: tokio_rustls::TlsConnector::from(Arc::new(tls_config(tls)?)) };
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(max_idle_per_host)
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .build(connector);
        Ok(HyperTransport { client })
    }
}

impl Transport for HyperTransport {
    fn send(&self, request: Request<Bytes>) -> BoxFuture<Result<Response<ResponseBody>, ClientError>> {
        let future = self.client.request(request.map(Full::new));
        Box::pin(async move {
            let response = future.await.map_err(|e| {
                // hyper-util's error says little by itself; its source says what happened.
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    message.push_str(": ");
                    message.push_str(&s.to_string());
                    source = s.source();
                }
                ClientError::Transport(message)
            })?;
            Ok(response.map(|b: Incoming| b.map_err(|e| Box::new(e) as BoxError).boxed_unsync()))
        })
    }
}

fn tls_config(options: &TlsOptions) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::config(format!("TLS: {e}")))?;
    let mut config = if options.insecure_skip_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider))).with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &options.ca_pem {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|i| i.collect::<Result<_, _>>())
                .map_err(|e| ClientError::config(format!("{}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(ClientError::config(format!("{}: no certificate", path.display())));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| ClientError::config(format!("{}: {e}", path.display())))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts any certificate (`insecure_skip_verify`), still checking handshake signatures
/// are well formed for the offered schemes.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// TCP, then TLS for `https` URIs.
#[derive(Clone)]
struct Connector {
    http: HttpConnector,
    tls: tokio_rustls::TlsConnector,
}

/// A connection from [`Connector`].
enum Stream {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>>),
}

impl tower_service::Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = BoxFuture<Result<Stream, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(|e| Box::new(e) as BoxError)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_owned();
        let connecting = self.http.call(uri);
        Box::pin(async move {
            let tcp = connecting.await.map_err(|e| Box::new(e) as BoxError)?;
            if !https {
                return Ok(Stream::Plain(tcp));
            }
            let name = ServerName::try_from(host).map_err(|e| Box::new(e) as BoxError)?;
            let tls = tls.connect(name, tcp.into_inner()).await?;
            Ok(Stream::Tls(Box::new(TokioIo::new(tls))))
        })
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        match self {
            Stream::Plain(s) => s.connected(),
            Stream::Tls(s) => s.inner().get_ref().0.connected(),
        }
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }
}

/// A service answering one request, as [`InProcess`] calls it.
type Service = dyn Fn(Request<Incoming>) -> BoxFuture<Response<ResponseBody>> + Send + Sync;

/// Serves each request with a function of the request, over an in-memory pipe: real HTTP/1.1
/// framing, no socket. For tests of a client against a server in the same process (for
/// Tessera's own, `tessera_server::S3Service` through its `Handler`).
#[derive(Clone)]
pub struct InProcess {
    service: Arc<Service>,
}

impl InProcess {
    /// A transport answering every request with `service`.
    pub fn new<F, Fut, B>(service: F) -> InProcess
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<B>> + Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let service: Arc<Service> = Arc::new(move |req| {
            let answer = service(req);
            Box::pin(async move { answer.await.map(|b| b.map_err(Into::into).boxed_unsync()) })
        });
        InProcess { service }
    }
}

impl Transport for InProcess {
    fn send(&self, request: Request<Bytes>) -> BoxFuture<Result<Response<ResponseBody>, ClientError>> {
        let service = Arc::clone(&self.service);
        Box::pin(async move {
            let (client_io, server_io) = tokio::io::duplex(256 * 1024);
            let serving = hyper::service::service_fn(move |req| {
                let answer = service(req);
                async move { Ok::<_, std::convert::Infallible>(answer.await) }
            });
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(server_io), serving));
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(client_io)).await.map_err(transport_error)?;
            tokio::spawn(connection);
            // A client connection speaks origin-form: the path and query only.
            let (mut parts, body) = request.into_parts();
            let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
            parts.uri = target.parse().map_err(transport_error)?;
            let response =
                sender.send_request(Request::from_parts(parts, Full::new(body))).await.map_err(transport_error)?;
            Ok(response.map(|b| b.map_err(|e| Box::new(e) as BoxError).boxed_unsync()))
        })
    }
}
