//! The REST binding of the five dialects: routing, request to operation, output to status, headers and XML; no sockets.
