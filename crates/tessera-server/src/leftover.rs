//! What is left of a request body the handler did not read to its end.
//!
//! A response sent before the request body was read (an error found in the head, an upload
//! refused before its bytes) leaves the rest of the body on the connection. hyper then
//! closes the connection after the response, without saying so, and a client that sends
//! its next request on it gets no answer. So the handler gets the unread body back: a small
//! remainder is read and dropped (the connection stays open), a large one makes the response
//! carry `Connection: close`. HTTP/2 needs neither: each request is its own stream.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// The most of an unread body the handler reads to keep a connection open.
pub(crate) const DRAIN_LIMIT: u64 = 1024 * 1024;
/// How long the handler waits for that remainder.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a [`Tracked`] body is put back when dropped before its end, with whether it was
/// ever read from.
#[derive(Clone, Default)]
pub(crate) struct Leftover(Arc<Mutex<Option<(Incoming, bool)>>>);

impl Leftover {
    /// Reads what is left of the body (at most [`DRAIN_LIMIT`] bytes, within a timeout) and
    /// returns whether the connection can carry another request. A body never read from
    /// under `Expect: 100-continue` is not asked for (the client has not sent it; asking
    /// would make it upload what is refused): the connection closes instead.
    pub(crate) async fn settle(&self, expects_continue: bool) -> bool {
        let body = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some((mut body, read_from)) = body else { return true };
        if body.is_end_stream() {
            return true;
        }
        if expects_continue && !read_from {
            return false;
        }
        if body.size_hint().upper().is_none_or(|n| n > DRAIN_LIMIT) {
            return false;
        }
        let drain = async {
            let mut read = 0u64;
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else { return false };
                if let Some(data) = frame.data_ref() {
                    read += data.len() as u64;
                    if read > DRAIN_LIMIT {
                        return false;
                    }
                }
            }
            true
        };
        tokio::time::timeout(DRAIN_TIMEOUT, drain).await.unwrap_or(false)
    }
}

/// A request body that hands itself back to its [`Leftover`] if dropped unfinished.
pub(crate) struct Tracked {
    inner: Option<Incoming>,
    leftover: Leftover,
    read_from: bool,
}

impl Tracked {
    pub(crate) fn new(body: Incoming, leftover: Leftover) -> Self {
        Tracked { inner: Some(body), leftover, read_from: false }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take()
            && !body.is_end_stream()
        {
            *self.leftover.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((body, self.read_from));
        }
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        self.read_from = true;
        match self.inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
