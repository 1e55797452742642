//! Tessera's hyper front-end: connections, streamed bodies, authentication, timers, graceful shutdown.
