//! The plain storage trait under Tessera, its memory backend and a conformance suite every backend runs.
