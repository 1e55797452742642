//! The S3 front-end: one request through routing, authentication, body checking, the engine and
//! rendering. Every decision is made by the layer that owns it; this module only drives them.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{HeaderValue, Method, Request, Response, StatusCode, request::Parts};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use tessera_engine::{Engine, EngineRequest, Payload, RequestBody, SummarySource};
use tessera_http::{HttpError, Route, Routing};
use tessera_proto::Dialect;
use tessera_proto::ops::{Operation, Output, Principal, S3Error};
use tessera_proto::values::Timestamp;
use tessera_sign::{BodyCheck, RequestHead, ResourceView, Secret, SignError};
use tessera_store::Store;

use crate::body::CheckedBody;
use crate::leftover::{Leftover, Tracked};
use crate::listener::{ConnInfo, Handler, ResponseBody};
use crate::{empty, full};

/// The path of the health endpoint. `_` cannot begin a bucket name, so it never shadows one.
pub const HEALTH_PATH: &str = "/_tessera/health";

/// Largest XML request body (a CompleteMultipartUpload of 10 000 parts is about 1 MB).
const MAX_XML_BODY: u64 = 8 * 1024 * 1024;

/// A principal and the secret of its access key.
pub struct User {
    /// The access key.
    pub access_key: String,
    /// Its secret.
    pub secret: Secret,
    /// Who requests signed with it act as.
    pub principal: Principal,
}

/// What the S3 front-end needs besides the engine.
pub struct S3Config {
    /// Virtual-host service domains.
    pub routing: Routing,
    /// Known principals.
    pub users: Vec<User>,
    /// Random bytes that make this process's request ids and host id unique.
    pub instance_seed: u64,
}

/// The S3 front-end over an engine on store `S`.
pub struct S3Service<S: Store> {
    engine: Arc<Engine<S>>,
    routing: Routing,
    users: HashMap<String, (Secret, Principal)>,
    seed: u64,
    counter: AtomicU64,
    host_id: String,
    header_case: tokio::sync::OnceCell<http::Extensions>,
}

/// The current time in whole seconds, as the engine and the verifiers take it. Objects and
/// uploads keep second precision, as S3 does: documents then show `….000Z`, the only fraction
/// oss2's timestamp parser (`%Y-%m-%dT%H:%M:%S.000Z`) accepts.
fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    Timestamp::from_secs(since.as_secs())
}

impl<S: Store> S3Service<S> {
    /// A front-end for `engine`.
    pub fn new(engine: Arc<Engine<S>>, config: S3Config) -> Self {
        let users = config.users.into_iter().map(|u| (u.access_key, (u.secret, u.principal))).collect();
        let host_id = format!("{:016x}{:016x}", config.instance_seed, config.instance_seed.rotate_left(29));
        S3Service {
            engine,
            routing: config.routing,
            users,
            seed: config.instance_seed,
            counter: AtomicU64::new(0),
            host_id,
            header_case: tokio::sync::OnceCell::new(),
        }
    }

    /// Drives the engine's timers (expiry of stale uploads) until the returned task is
    /// aborted. Wakes at the engine's next deadline, and at least once a minute.
    pub fn spawn_timers(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let current = now();
                let wait = match this.engine.poll_timeout() {
                    Some(at) => Duration::from_millis(at.as_millis().saturating_sub(current.as_millis())),
                    None => Duration::from_secs(60),
                };
                tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
                if let Err(e) = this.engine.handle_timeout(now()).await {
                    tracing::warn!(error = %e, "expiring stale uploads failed; will retry");
                }
            }
        })
    }

    fn request_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:08X}{:08X}", (self.seed >> 32) as u32 ^ (n >> 32) as u32, n as u32)
    }

    async fn serve(
        &self,
        req: Request<Tracked>,
        request_id: &str,
    ) -> (Dialect, Result<Response<ResponseBody>, S3Error>) {
        let (parts, body) = req.into_parts();
        let route = match tessera_http::route(&parts.uri, &parts.headers, &self.routing) {
            Ok(route) => route,
            Err(e) => {
                let dialect = tessera_http::dialect_of(None, &parts.headers, &fallback_route());
                return (dialect, Err(http_error(e)));
            }
        };
        if tessera_http::is_obs_apiversion(&parts.method, &route) {
            return (Dialect::Obs, Ok(self.rendered(&Output::ObsApiVersion, Dialect::Obs, &parts.method)));
        }
        let head = RequestHead::from_parts(&parts);
        let auth = match tessera_sign::parse(&head) {
            Ok(auth) => auth,
            Err(e) => {
                let dialect = tessera_http::dialect_of(None, &parts.headers, &route);
                return (dialect, Err(sign_error(e)));
            }
        };
        let dialect = tessera_http::dialect_of(auth.as_ref().map(|a| a.dialect()), &parts.headers, &route);
        let result = self.authorized(parts, body, route, auth, dialect, request_id).await;
        (dialect, result)
    }

    async fn authorized(
        &self,
        parts: Parts,
        body: Tracked,
        route: Route,
        auth: Option<tessera_sign::Authorization>,
        dialect: Dialect,
        _request_id: &str,
    ) -> Result<Response<ResponseBody>, S3Error> {
        let now = now();
        let head = RequestHead::from_parts(&parts);
        let resource = match &route.bucket {
            None => ResourceView::service(),
            Some(b) if route.addressing == tessera_http::Addressing::VirtualHost => {
                ResourceView::virtual_host(b.as_str())
            }
            Some(b) => ResourceView::path_style(b.as_str()),
        };
        let (principal, check) = match &auth {
            None => {
                let check = BodyCheck::declared(&head, tessera_sign::Payload::Unsigned).map_err(sign_error)?;
                (Principal::Anonymous, check)
            }
            Some(auth) => {
                let (secret, principal) =
                    self.users.get(auth.access_key()).ok_or_else(|| sign_error(SignError::invalid_access_key()))?;
                let verified =
                    tessera_sign::verify(auth, &head, &resource, secret, now.as_secs()).map_err(sign_error)?;
                (principal.clone(), verified.body)
            }
        };
        let op = tessera_http::parse_operation(&parts.method, &parts.headers, &route, dialect).map_err(http_error)?;
        let framing = tessera_http::body_framing(&parts.headers).map_err(http_error)?;
        let body = match &op {
            Operation::PutObject { .. } | Operation::UploadPart { .. } => {
                let (stream, summary) =
                    CheckedBody::new(body, check, framing.decoded_length, tessera_proto::dialect::MAX_PART_SIZE, None);
                RequestBody::Payload(Payload {
                    stream: Box::pin(stream),
                    length: framing.decoded_length.unwrap_or(0),
                    summary: SummarySource::Provided(summary),
                })
            }
            _ if takes_xml(&op) => {
                let stream = CheckedBody::checked_only(body, check, framing.decoded_length, MAX_XML_BODY);
                let bytes: Vec<Bytes> =
                    stream.try_collect().await.map_err(|e| S3Error::new(e.code(), e.to_string()))?;
                if bytes.is_empty() { RequestBody::Empty } else { RequestBody::Xml(bytes.concat().into()) }
            }
            _ => RequestBody::Empty,
        };
        let method = parts.method.clone();
        let response = self.engine.execute(EngineRequest { op, principal, dialect, now, body }).await?;
        let mut rendered = self.rendered(&response.output, dialect, &method);
        if let Some(stream) = response.body
            && method != Method::HEAD
        {
            let frames = stream.map_ok(Frame::data).map_err(|e| io::Error::other(e.to_string()));
            let (parts, _) = rendered.into_parts();
            rendered = Response::from_parts(parts, BodyExt::boxed_unsync(StreamBody::new(frames)));
        }
        Ok(rendered)
    }

    fn rendered(&self, output: &Output, dialect: Dialect, method: &Method) -> Response<ResponseBody> {
        tessera_http::render(output, dialect, method).map(full)
    }
}

/// Operations whose body is a small XML document.
fn takes_xml(op: &Operation) -> bool {
    matches!(
        op,
        Operation::CompleteMultipartUpload { .. }
            | Operation::DeleteObjects { .. }
            | Operation::PutObjectTagging { .. }
            | Operation::PutBucketLifecycle { .. }
            | Operation::PutBucketEncryption { .. }
            | Operation::PutBucketAcl { .. }
            | Operation::PutObjectAcl { .. }
            | Operation::CreateBucket { .. }
    )
}

fn fallback_route() -> Route {
    Route {
        bucket: None,
        key: None,
        addressing: tessera_http::Addressing::Path,
        host_dialect: None,
        host: String::new(),
        query: tessera_http::Query::default(),
    }
}

fn http_error(e: HttpError) -> S3Error {
    S3Error::new(e.code, e.message)
}

fn sign_error(e: SignError) -> S3Error {
    S3Error::new(e.code(), e.to_string())
}

impl<S: Store> Handler for S3Service<S> {
    async fn handle(&self, req: Request<Incoming>, conn: ConnInfo) -> Response<ResponseBody> {
        let started = Instant::now();
        if req.uri().path() == HEALTH_PATH {
            let mut response = Response::new(full("ok\n"));
            response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            return response;
        }
        let request_id = self.request_id();
        let method = req.method().clone();
        let uri = req.uri().clone();
        let leftover = Leftover::default();
        let http1 = req.version() < http::Version::HTTP_2;
        let expects_continue =
            req.headers().get(http::header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let (parts, body) = req.into_parts();
        let req = Request::from_parts(parts, Tracked::new(body, leftover.clone()));
        let (dialect, result) = self.serve(req, &request_id).await;
        let mut response = match result {
            Ok(response) => response,
            Err(mut e) => {
                // COS's SDK needs a non-empty <Resource> to read any error.
                if e.resource.is_none() {
                    e.resource = Some(uri.path().to_owned());
                }
                if e.code.status() >= 500 {
                    tracing::error!(request_id, code = %e.code, message = %e.message, "request failed");
                }
                tessera_http::render_error(&e, dialect, &method, &request_id, &self.host_id)
                    .map(|b| if method == Method::HEAD { empty() } else { full(b) })
            }
        };
        if http1 && !leftover.settle(expects_continue).await {
            response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        let header_case = self.header_case.get_or_init(crate::header_case::canonical_case).await;
        response.extensions_mut().extend(header_case.clone());
        let date = tessera_proto::values::format_http_date(now().as_secs());
        tessera_http::add_common_headers(response.headers_mut(), dialect, &request_id, &self.host_id, &date);
        tracing::info!(
            request_id,
            peer = %conn.peer,
            %dialect,
            %method,
            uri = %uri,
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request",
        );
        if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!(request_id, "answered 500");
        }
        response
    }
}
