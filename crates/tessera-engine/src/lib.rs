//! S3 semantics over any Tessera store: multipart table, listing, conditional requests, copy, encryption at rest.
