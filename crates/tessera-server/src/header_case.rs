//! The vendors' header-name case on HTTP/1.1 responses.
//!
//! The vendors' servers send `Content-Length` and `ETag` in canonical case and their own
//! headers (`x-cos-request-id`) in lower case, and some SDKs depend on it: COS's SDK copies a
//! response's headers into a plain `dict` and looks up `Content-Length` and `ETag` by exact
//! spelling. hyper writes lower-case names unless a response carries a header-case map in its
//! extensions. That map's type is private to hyper, but hyper records one for every request it
//! parses with `preserve_header_case`, so we have it parse one request, once, whose header
//! names are spelt the way responses should be, and attach a clone of its extensions to every
//! response.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Extensions, Request, Response};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;

/// Response headers written in canonical case; all others keep hyper's lower case, as the
/// vendors write their `x-…` headers.
const CANONICAL: &[&str] = &[
    "Accept-Ranges",
    "Cache-Control",
    "Connection",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Range",
    "Content-Type",
    "Date",
    "ETag",
    "Expires",
    "Last-Modified",
    "Location",
    "Server",
];

/// Extensions that make hyper write [`CANONICAL`] names in their canonical case. Empty (hyper's
/// lower case) if hyper could not parse the template, which only a hyper change could cause.
pub(crate) async fn canonical_case() -> Extensions {
    let mut request = String::from("GET / HTTP/1.1\r\n");
    for name in CANONICAL {
        if *name != "Content-Length" {
            request.push_str(name);
            request.push_str(": x\r\n");
        }
    }
    request.push_str("Content-Length: 0\r\n\r\n");

    let (client, server) = tokio::io::duplex(4096);
    let (tx, rx) = oneshot::channel::<Extensions>();
    let tx = std::sync::Mutex::new(Some(tx));
    let service = service_fn(move |req: Request<Incoming>| {
        if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
            let _ = tx.send(req.extensions().clone());
        }
        async { Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new())) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(TokioIo::new(server), service);
    let task = tokio::spawn(conn);
    let mut client = client;
    if client.write_all(request.as_bytes()).await.is_err() {
        return Extensions::new();
    }
    let extensions = rx.await.unwrap_or_default();
    drop(client);
    task.abort();
    extensions
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::{Request, Response};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::{ConnInfo, Handler, Listener, ResponseBody, full, serve};

    struct Cased(Extensions);

    impl Handler for Cased {
        async fn handle(&self, _req: Request<Incoming>, _conn: ConnInfo) -> Response<ResponseBody> {
            let mut response = Response::new(full("hello"));
            response.headers_mut().insert("etag", "\"abc\"".parse().unwrap());
            response.headers_mut().insert("x-cos-request-id", "id".parse().unwrap());
            response.extensions_mut().extend(self.0.clone());
            response
        }
    }

    #[tokio::test]
    async fn responses_use_the_vendors_header_case() {
        let extensions = canonical_case().await;
        let listener = Listener::bind("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, Arc::new(Cased(extensions)), async {
            let _ = stopped.await;
        }));
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut text = String::new();
        conn.read_to_string(&mut text).await.unwrap();
        assert!(text.contains("\r\nETag: \"abc\"\r\n"), "{text}");
        assert!(text.contains("\r\nContent-Length: 5\r\n"), "{text}");
        assert!(text.contains("\r\nx-cos-request-id: id\r\n"), "{text}");
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
