//! End-to-end tests of the `tessera` binary: a real `tessera serve --memory` child process on
//! a free port, driven by the client commands in every dialect.

mod client_commands;
