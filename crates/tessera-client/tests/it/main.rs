//! tessera-client against Tessera's own server in the same process: no sockets, real HTTP/1.1
//! framing over an in-memory pipe, every dialect.

mod faults;
mod support;
mod transfers;
