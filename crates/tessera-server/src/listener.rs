//! Accepting connections: TCP or TLS, HTTP/1.1 with keep-alive or HTTP/2, graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The body of every response: bytes in memory or a stream from the store.
pub type ResponseBody = UnsyncBoxBody<Bytes, io::Error>;

/// What the server knows of a connection when it hands a request over.
#[derive(Clone, Copy, Debug)]
pub struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// Turns a request into a response. The S3 front-end implements it; tests may too.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request. Errors are responses too: this never fails.
    fn handle(&self, req: Request<Incoming>, conn: ConnInfo) -> impl Future<Output = Response<ResponseBody>> + Send;
}

/// How long a client may take to send a request head before the connection is closed.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long in-flight requests may run after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A bound listening socket, with TLS if configured.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
}

impl Listener {
    /// Binds `addr`; with `tls`, every connection is TLS.
    pub async fn bind(addr: SocketAddr, tls: Option<TlsAcceptor>) -> io::Result<Self> {
        Ok(Listener { tcp: TcpListener::bind(addr).await?, tls })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Whether connections are TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// A TLS acceptor from a PEM certificate chain and a PEM private key, offering HTTP/2 and
/// HTTP/1.1 by ALPN.
pub fn tls_acceptor(cert_pem: &Path, key_pem: &Path) -> io::Result<TlsAcceptor> {
    let invalid = |what: &Path, e: rustls::pki_types::pem::Error| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", what.display()))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .map_err(|e| invalid(cert_pem, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(cert_pem, e))?;
    if certs.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{}: no certificate", cert_pem.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| invalid(key_pem, e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves connections from `listener` with `handler` until `shutdown` resolves, then stops
/// accepting and lets in-flight requests finish (up to [`SHUTDOWN_GRACE`]).
pub async fn serve<H: Handler>(
    listener: Listener,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().keep_alive(true).timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.tcp.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Running out of file descriptors must not stop the server: back off briefly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let handler = Arc::clone(&handler);
        let builder = Arc::clone(&builder);
        let tls = listener.tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let info = ConnInfo { peer, tls: tls.is_some() };
            let service = service_fn(move |req| {
                let handler = Arc::clone(&handler);
                async move { Ok::<_, std::convert::Infallible>(handler.handle(req, info).await) }
            });
            let result = match tls {
                None => serve_one(&builder, watcher, stream, service).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls_stream) => serve_one(&builder, watcher, tls_stream, service).await,
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("shutdown grace elapsed; closing remaining connections"),
    }
    Ok(())
}

async fn serve_one<S, Svc>(
    builder: &auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    stream: S,
    service: Svc,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    Svc: hyper::service::Service<Request<Incoming>, Response = Response<ResponseBody>, Error = std::convert::Infallible>
        + Send
        + 'static,
    Svc::Future: Send + 'static,
{
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    watcher.watch(conn.into_owned()).await
}
