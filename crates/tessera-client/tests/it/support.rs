//! An in-process Tessera server, clients of it, and transports that misbehave on purpose.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use tessera_client::transport::{BoxFuture, ResponseBody};
use tessera_client::{
    Client, ClientConfig, ClientError, Credentials, InProcess, Limits, RetryPolicy, Transport, UploadOptions,
};
use tessera_engine::{CounterIds, Engine, EngineConfig};
use tessera_proto::Dialect;
use tessera_proto::ops::Principal;
use tessera_proto::values::Timestamp;
use tessera_server::{ConnInfo, Handler, S3Config, S3Service, User};
use tessera_sign::Secret;
use tessera_store::MemoryStore;

pub(crate) const ACCESS_KEY: &str = "TESSERAACCESSKEY";
pub(crate) const SECRET_KEY: &str = "tessera/secret/key/for/tests";
/// The smallest part the test server accepts in every dialect, so tests stay small.
pub(crate) const MIN_PART: u64 = 64 * 1024;

/// A fresh in-memory server, reached without a socket.
pub(crate) async fn server() -> InProcess {
    let config = EngineConfig {
        min_part_size: Dialect::ALL.into_iter().map(|d| (d, MIN_PART)).collect::<BTreeMap<_, _>>(),
        ..EngineConfig::default()
    };
    let now = Timestamp::from_secs(1_760_000_000);
    let engine = Engine::open(Arc::new(MemoryStore::new()), config, Box::new(CounterIds::new("up", 1)), now)
        .await
        .expect("engine");
    let users = vec![User {
        access_key: ACCESS_KEY.into(),
        secret: Secret::new(SECRET_KEY),
        principal: Principal::User { id: "tester".into(), display_name: "tester".into() },
    }];
    let service = Arc::new(S3Service::new(
        Arc::new(engine),
        S3Config { routing: tessera_http::Routing::new(["s3.local", "oss.local"]), users, instance_seed: 7 },
    ));
    let info = ConnInfo { peer: "127.0.0.1:40000".parse().expect("addr"), tls: false };
    InProcess::new(move |req| {
        let service = Arc::clone(&service);
        async move { service.handle(req, info).await }
    })
}

/// A client configuration for `dialect` with fast retries.
pub(crate) fn config(dialect: Dialect) -> ClientConfig {
    let mut config = ClientConfig::new("http://127.0.0.1:9000", dialect)
        .expect("config")
        .with_credentials(Credentials::new(ACCESS_KEY, SECRET_KEY));
    config.retry = fast_retry(4);
    config
}

pub(crate) fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: std::time::Duration::from_millis(2),
        max_delay: std::time::Duration::from_millis(20),
    }
}

pub(crate) fn client(dialect: Dialect, transport: impl Transport) -> Client {
    Client::with_transport(config(dialect), transport).expect("client")
}

/// Upload options with small parts the test server accepts.
pub(crate) fn small_parts(part_size: u64, concurrency: usize) -> UploadOptions {
    UploadOptions {
        part_size: tessera_client::PartSize::Fixed(part_size),
        concurrency,
        retry: fast_retry(3),
        multipart_threshold: part_size,
        limits: Some(Limits { min_part_size: MIN_PART, ..Limits::for_dialect(Dialect::Aws) }),
        ..UploadOptions::default()
    }
}

/// Deterministic bytes that differ from part to part.
pub(crate) fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Whether a request is an UploadPart.
pub(crate) fn is_upload_part(req: &Request<Bytes>) -> bool {
    req.method() == http::Method::PUT && req.uri().query().is_some_and(|q| q.contains("uploadId="))
}

/// Counts the requests that match.
pub(crate) struct Counting<T> {
    pub(crate) inner: T,
    pub(crate) matches: fn(&Request<Bytes>) -> bool,
    pub(crate) count: Arc<AtomicUsize>,
}

impl<T: Transport> Transport for Counting<T> {
    fn send(&self, request: Request<Bytes>) -> BoxFuture<Result<Response<ResponseBody>, ClientError>> {
        if (self.matches)(&request) {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.send(request)
    }
}

/// Lets `allowed` matching requests through, then fails every later one as a dropped
/// connection would: the process "died" after that many parts.
pub(crate) struct FailAfter<T> {
    pub(crate) inner: T,
    pub(crate) allowed: usize,
    pub(crate) seen: AtomicUsize,
}

impl<T: Transport> Transport for FailAfter<T> {
    fn send(&self, request: Request<Bytes>) -> BoxFuture<Result<Response<ResponseBody>, ClientError>> {
        if is_upload_part(&request) && self.seen.fetch_add(1, Ordering::SeqCst) >= self.allowed {
            return Box::pin(async { Err(ClientError::Transport("connection reset (injected)".into())) });
        }
        self.inner.send(request)
    }
}

/// Answers the first `times` matching requests itself with `status` and an S3 error body,
/// without passing them on.
pub(crate) struct Inject<T> {
    pub(crate) inner: T,
    pub(crate) matches: fn(&Request<Bytes>) -> bool,
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) times: usize,
    pub(crate) injected: Arc<AtomicUsize>,
}

impl<T: Transport> Transport for Inject<T> {
    fn send(&self, request: Request<Bytes>) -> BoxFuture<Result<Response<ResponseBody>, ClientError>> {
        if (self.matches)(&request) && self.injected.fetch_add(1, Ordering::SeqCst) < self.times {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>injected</Message><RequestId>INJECTED</RequestId></Error>",
                self.code
            );
            let response = Response::builder()
                .status(self.status)
                .header("content-type", "application/xml")
                .body(http_body_util::Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync())
                .expect("response");
            return Box::pin(async move { Ok(response) });
        }
        self.inner.send(request)
    }
}

/// Passes requests on and rewrites the first matching answer's headers with `edit`.
pub(crate) struct EditAnswer<T> {
    pub(crate) inner: Arc<T>,
    pub(crate) matches: fn(&Request<Bytes>) -> bool,
    pub(crate) edit: fn(&mut http::HeaderMap),
    pub(crate) times: usize,
    pub(crate) edited: Arc<AtomicUsize>,
}

impl<T: Transport> Transport for EditAnswer<T> {
    fn send(&self, request: Request<Bytes>) -> BoxFuture<Result<Response<ResponseBody>, ClientError>> {
        let hit = (self.matches)(&request) && self.edited.fetch_add(1, Ordering::SeqCst) < self.times;
        let answer = self.inner.send(request);
        let edit = self.edit;
        Box::pin(async move {
            let mut response = answer.await?;
            if hit {
                edit(response.headers_mut());
            }
            Ok(response)
        })
    }
}
