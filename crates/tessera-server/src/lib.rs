//! Tessera's server front-end: sockets, TLS, HTTP/1.1 and HTTP/2, streamed bodies and graceful
//! shutdown, over hyper 1 and tokio.
//!
//! It makes no protocol decisions of its own: routing and the wire form of every operation
//! belong to `tessera-http`, signatures to `tessera-sign`, semantics to `tessera-engine`. This
//! crate drives them. Flags, configuration files and logging set-up belong to the `tessera`
//! binary; embed this crate to run the server inside another program.

mod body;
mod header_case;
mod leftover;
mod listener;
mod s3;

pub use listener::{ConnInfo, Handler, Listener, ResponseBody, SHUTDOWN_GRACE, serve, tls_acceptor};
pub use s3::{HEALTH_PATH, S3Config, S3Service, User};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};

/// A response body held in memory.
pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

/// An empty response body.
pub fn empty() -> ResponseBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::{Request, Response};
    use hyper::body::Incoming;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    struct Echo;

    impl Handler for Echo {
        async fn handle(&self, req: Request<Incoming>, _conn: ConnInfo) -> Response<ResponseBody> {
            let path = req.uri().path().to_owned();
            let body = req.into_body().collect().await.map(|b| b.to_bytes().len()).unwrap_or(0);
            Response::new(full(format!("{path} {body}")))
        }
    }

    /// Two requests on one keep-alive connection, the second with `Expect: 100-continue`,
    /// then a graceful shutdown that lets the server task end.
    #[tokio::test]
    async fn keep_alive_expect_continue_and_shutdown() {
        let listener = Listener::bind("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, Arc::new(Echo), async {
            let _ = stopped.await;
        }));

        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let first = read_response(&mut conn).await;
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        assert!(first.ends_with("/one 0"), "{first}");

        conn.write_all(b"PUT /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            .await
            .unwrap();
        let interim = read_response(&mut conn).await;
        assert!(interim.starts_with("HTTP/1.1 100 Continue"), "{interim}");
        conn.write_all(b"hello").await.unwrap();
        let second = read_response(&mut conn).await;
        assert!(second.ends_with("/two 5"), "{second}");

        drop(conn);
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }

    async fn read_response(conn: &mut tokio::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        // Head.
        while !buf.ends_with(b"\r\n\r\n") {
            conn.read_exact(&mut byte).await.unwrap();
            buf.push(byte[0]);
        }
        let head = String::from_utf8(buf.clone()).unwrap();
        let len = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        conn.read_exact(&mut body).await.unwrap();
        head + &String::from_utf8(body).unwrap()
    }
}
