//! Tessera's client front-end: any of the five dialects, parallel and resumable multipart transfers.
