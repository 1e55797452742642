//! Tessera's crash-safe filesystem backend: fsync and atomic rename for data, redb for metadata, manifest completes.
