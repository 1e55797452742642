//! Integration tests of tessera-multipart: one binary, one module per concern.

mod example;
mod listing;
mod model;
mod plan_sim;
mod sim;
mod table;
mod util;
