//! In-process tests of tessera-http: requests the official SDKs sent, malformed requests,
//! rendering of outputs and errors in every dialect. No sockets.

mod errors;
mod malformed;
mod props;
mod render;
mod support;
mod vectors;
